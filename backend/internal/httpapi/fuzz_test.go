package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// fuzzServer starts one server for a whole fuzz target, with an administrator and a token that
// may do everything.
func fuzzServer(f *testing.F) (*testenv.Env, testenv.Session, string) {
	e := testenv.Start(f, testenv.SQLite(f))
	admin := e.SignIn("admin@example.com", true)
	tok := e.CreateToken(admin, map[string]any{"subject": "fuzz", "scopes": []string{"metrics:read", "pipeline:write"}})
	return e, admin, tok.AccessToken
}

// post sends body as JSON and checks what every answer must be: never 5xx, always JSON, and
// errors as problem+json.
func post(t *testing.T, e *testenv.Env, path string, body []byte, set func(*http.Request)) (int, []byte) {
	return send(t, e, path, body, set, false)
}

// send is post; lenient skips the OpenAPI check of the request itself (see
// testenv.WithoutRequestCheck), the answer being checked as ever.
func send(t *testing.T, e *testenv.Env, path string, body []byte, set func(*http.Request), lenient bool) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, e.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	set(req)
	if lenient {
		req = testenv.WithoutRequestCheck(req)
	}
	resp, err := e.HTTP.Client().Do(testenv.ReportTo(t, req))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		t.Fatalf("%s answered %d to %q: %s", path, resp.StatusCode, body, out)
	}
	if !json.Valid(out) {
		t.Fatalf("%s answered non-JSON to %q: %s", path, body, out)
	}
	if resp.StatusCode >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("%s error without problem+json: %d", path, resp.StatusCode)
	}
	return resp.StatusCode, out
}

func FuzzCreateTokenBody(f *testing.F) {
	e, admin, _ := fuzzServer(f)
	for _, s := range []string{`{"subject":"ci"}`, `{"subject":" x ","scopes":["pipeline:write"]}`, `{"subject":"\u0000"}`, `{"subject":"\ud800"}`,
		`{"subject":5}`, `[]`, `{"subject":"a"}{}`, `{"subject":"<script>alert(1)</script>"}`, `{"scopes":null,"subject":"é"}`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		status, out := post(t, e, "/api/tokens", body, func(r *http.Request) {
			r.AddCookie(admin.Cookie)
			r.Header.Set("X-CSRF-Token", admin.CSRF)
		})
		if status == http.StatusCreated {
			var req struct{ Subject string }
			_ = json.Unmarshal(body, &req)
			s := strings.TrimSpace(req.Subject)
			if !utf8.Valid(body) || s == "" || utf8.RuneCountInString(s) > 100 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) {
				t.Fatalf("accepted a subject the rules refuse: %q -> %s", body, out)
			}
		}
	})
}

func FuzzRecordRunBody(f *testing.F) {
	e, _, tok := fuzzServer(f)
	f.Add([]byte(`{"id":"r1","workload":"team","pipeline":"ci","kind":"build","status":"success","branch":"main","commit":"abcdef0","startedAt":"2026-01-01T10:00:00Z","finishedAt":"2026-01-01T10:05:00Z","coverage":80,"tests":{"passed":1,"failed":0,"skipped":0}}`))
	f.Add([]byte(`{"id":"r1","workload":"team","kind":"deploy","startedAt":"x"}`))
	f.Add([]byte(`{"coverage":1e400}`))
	f.Add([]byte(`{"tests":{"passed":-1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		post(t, e, "/api/pipeline/runs", body, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) })
	})
}

func FuzzQueryBody(f *testing.F) {
	e, _, tok := fuzzServer(f)
	f.Add([]byte(`{"queries":["code-coverage"],"workloads":["team"],"dateRange":{"start":"2026-01-01","end":"2026-01-31"}}`))
	f.Add([]byte(`{"queries":["build-duration","build-duration"],"workloads":["a","b"],"dateRange":{"start":"9999-12-31","end":"0001-01-01"}}`))
	f.Add([]byte(`{"dateRange":{}}`))
	f.Add([]byte(`{"queries":["code-coverage","code-coverage"],"workloads":["team","team"],"dateRange":{"start":"2026-01-01","end":"2026-01-31"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		post(t, e, "/api/query", body, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) })
	})
}

func FuzzRecordRunBatchBody(f *testing.F) {
	e, _, tok := fuzzServer(f)
	run := `{"id":"r1","workload":"team","pipeline":"ci","kind":"build","status":"success","branch":"main","commit":"abcdef0","startedAt":"2026-01-01T10:00:00Z","finishedAt":"2026-01-01T10:05:00Z","coverage":80}`
	f.Add([]byte(`{"runs":[` + run + `]}`))
	f.Add([]byte(`{"runs":[` + run + `,` + run + `,{"id":"r1","workload":"team"}]}`))
	f.Add([]byte(`{"runs":[1,"x",null,[],{"id":"a","id":"b"}]}`))
	f.Add([]byte(`{"runs":[{"startedAt":"9999-12-31T23:59:59Z","finishedAt":"0001-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"runs":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		// Bad runs inside a good body are answered one by one (200): only the answer is checked
		// against the OpenAPI document.
		status, out := send(t, e, "/api/pipeline/runs/batch", body, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }, true)
		if status != http.StatusOK {
			return
		}
		// One result per run, in order, each with a known status.
		var req struct{ Runs []json.RawMessage }
		var res struct{ Results []struct{ Status string } }
		if json.Unmarshal(body, &req) != nil || json.Unmarshal(out, &res) != nil || len(res.Results) != len(req.Runs) {
			t.Fatalf("%q answered %s", body, out)
		}
		for _, r := range res.Results {
			if r.Status != "created" && r.Status != "unchanged" && r.Status != "conflict" && r.Status != "invalid" {
				t.Fatalf("%q: status %q", body, r.Status)
			}
		}
	})
}
