package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestAmbiguousJSONKeysAreRefused: encoding/json matches keys ignoring case and lets the last
// duplicate win, so {"subject":"a","Subject":"b"} reads as "b" to the handler while a reviewer,
// a proxy or a log filter may read "a". Every body that could be read two ways is a 400 naming
// the key, at any depth; nothing is stored.
func TestAmbiguousJSONKeysAreRefused(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	writer := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
	const run = `"id":"r1","workload":"team","pipeline":"ci","kind":"build","status":"success","branch":"main","commit":"abcdef0","startedAt":"2026-01-01T10:00:00Z","finishedAt":"2026-01-01T10:05:00Z"`
	const rng = `"dateRange":{"start":"2026-01-01","end":"2026-01-31"}`
	for _, tc := range []struct {
		name, path, body, want string
		as                     testenv.Opt
	}{
		{"token: duplicate", "/api/tokens", `{"subject":"a","subject":"b"}`, `"subject" appears twice`, e.As(admin)},
		{"token: case twin", "/api/tokens", `{"subject":"a","Subject":"b"}`, `"subject" and "Subject" differ only in case`, e.As(admin)},
		{"token: wrong case alone", "/api/tokens", `{"SUBJECT":"b"}`, `"SUBJECT" must be spelled "subject"`, e.As(admin)},
		{"token: Unicode fold (long s)", "/api/tokens", `{"ſubject":"b"}`, `must be spelled "subject"`, e.As(admin)},
		{"token: escaped duplicate", "/api/tokens", `{"subject":"a","\u0073ubject":"b"}`, `"subject" appears twice`, e.As(admin)},
		{"token: scopes twice", "/api/tokens", `{"subject":"a","scopes":["metrics:read"],"scopes":["pipeline:write"]}`, `"scopes" appears twice`, e.As(admin)},
		{"run: duplicate", "/api/pipeline/runs", `{` + run + `,"status":"failure"}`, `"status" appears twice`, testenv.Bearer(writer.AccessToken)},
		{"run: nested case twin", "/api/pipeline/runs", `{` + run + `,"tests":{"passed":1,"Passed":2}}`, `"tests.passed" and "tests.Passed" differ only in case`, testenv.Bearer(writer.AccessToken)},
		{"run: nested wrong case", "/api/pipeline/runs", `{` + run + `,"tests":{"Failed":2}}`, `"tests.Failed" must be spelled "tests.failed"`, testenv.Bearer(writer.AccessToken)},
		{"query: duplicate", "/api/query", `{"queries":["code-coverage"],"workloads":["team"],"workloads":["other"],` + rng + `}`, `"workloads" appears twice`, testenv.Bearer(writer.AccessToken)},
		{"query: nested duplicate", "/api/query", `{"queries":["code-coverage"],"workloads":["team"],"dateRange":{"start":"2026-01-01","end":"2026-01-31","end":"2026-12-31"}}`, `"dateRange.end" appears twice`, testenv.Bearer(writer.AccessToken)},
		{"query: wrong case", "/api/query", `{"queries":["code-coverage"],"workloads":["team"],"DateRange":{"start":"2026-01-01","end":"2026-01-31"}}`, `"DateRange" must be spelled "dateRange"`, testenv.Bearer(writer.AccessToken)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, e.Do(http.MethodPost, tc.path, tc.body, tc.as), http.StatusBadRequest)
			if !strings.Contains(p.Detail, tc.want) {
				t.Errorf("detail %q, want it to say %s", p.Detail, tc.want)
			}
		})
	}
	// Nothing slipped through: the one token is the writer's, no run was recorded.
	if l := listTokens(t, e, admin); len(l) != 1 {
		t.Errorf("tokens after the refusals: %+v", l)
	}
	if r := e.Do(http.MethodGet, "/api/pipeline/runs", nil, testenv.Bearer(writer.AccessToken)); r.Status == http.StatusOK && strings.Contains(string(r.Body), `"r1"`) {
		t.Errorf("a run was recorded: %s", r.Body)
	}
	// The same keys spelled once and as documented still work.
	if r := e.Do(http.MethodPost, "/api/pipeline/runs", `{`+run+`,"tests":{"passed":1,"failed":0,"skipped":0}}`, testenv.Bearer(writer.AccessToken)); r.Status != http.StatusCreated {
		t.Errorf("a well-formed run: %d %s", r.Status, r.Body)
	}
	if r := e.Do(http.MethodPost, "/api/query", `{"queries":["code-coverage"],"workloads":["team"],`+rng+`}`, testenv.Bearer(writer.AccessToken)); r.Status != http.StatusOK {
		t.Errorf("a well-formed query: %d %s", r.Status, r.Body)
	}
}
