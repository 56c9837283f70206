package httpapi_test

import (
	"database/sql"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// neverSent lists documented response properties that no test can make the server send, each
// with the reason. Keep it empty: a property here is one the tests do not guard.
var neverSent = map[string]string{}

// TestMain runs the package's tests, whose every exchange testenv validates against
// openapi.json, and then fails if a documented response property was never sent: a field
// documented but dropped from its handler, or one no test looks at. The check needs the whole
// package to have run, so it is skipped under -run or -skip (a filtered run sees only part of
// the API), and when a test already failed.
func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || flag.Lookup("test.skip").Value.String() != "" {
		os.Exit(code)
	}
	unseen, err := testenv.UnseenProperties()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var missing []string
	for _, p := range unseen {
		if neverSent[p] == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: openapi.json documents response properties that no test's response sent (drop them from the document, send them, or test the answer that sends them):")
		for _, p := range missing {
			fmt.Fprintln(os.Stderr, "\t"+p)
		}
		os.Exit(1)
	}
	os.Exit(code)
}

// TestReadinessAfterTheFeedWasReplaced restores the database from a backup taken before the
// only revocation: /readyz then counts the reset and says when it was, which no other test of
// this package makes it send.
func TestReadinessAfterTheFeedWasReplaced(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
		if r := e.Do(http.MethodDelete, "/api/tokens/"+tok.TokenID, nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		e.Sync()
		conn, err := sql.Open(db.Driver, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, q := range []string{"DELETE FROM service_tokens", "UPDATE revocation_feed SET seq = 0"} {
			if _, err := conn.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		e.Sync()
		var ready map[string]any
		r := e.Do(http.MethodGet, "/readyz", nil)
		r.JSON(t, &ready)
		if r.Status != http.StatusOK || ready["revocationFeedResets"] != float64(1) || ready["revocationFeedLastReset"] != testenv.Epoch.Format(time.RFC3339) {
			t.Errorf("/readyz after the feed was replaced: %d %s, want 200, revocationFeedResets 1 and the time", r.Status, r.Body)
		}
	})
}

// TestFieldNamesAreCaseSensitive sends bodies whose field names differ from the document's
// only in case, at the top level and nested: encoding/json took them (201 for "suBjeCt"), and
// the document's names are exact.
func TestFieldNamesAreCaseSensitive(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		tok := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
		runBody := `{"id":"r1","workload":"team","pipeline":"ci","kind":"build","status":"success","branch":"main","commit":"abcdef1",` +
			`"startedAt":"2026-02-10T08:00:00Z","finishedAt":"2026-02-10T08:05:00Z","tests":{"passed":1,"failed":0,"Skipped":0}}`
		for _, c := range []struct {
			path, body, key string
			opt             testenv.Opt
		}{
			{"/api/tokens", `{"suBjeCt":"ci"}`, `suBjeCt`, e.As(admin)},
			{"/api/tokens", `{"subject":"ci","Scopes":["metrics:read"]}`, `Scopes`, e.As(admin)},
			{"/api/pipeline/runs", runBody, `Skipped`, testenv.Bearer(tok.AccessToken)},
			{"/api/query", `{"queries":["code-coverage"],"workloads":["team"],"dateRange":{"START":"2026-02-10","end":"2026-02-12"}}`, `START`, testenv.Bearer(tok.AccessToken)},
		} {
			r := e.Do(http.MethodPost, c.path, c.body, c.opt)
			if p := wantProblem(t, r, http.StatusBadRequest); !strings.Contains(p.Detail, c.key) || !strings.Contains(p.Detail, "case-sensitive") {
				t.Errorf("POST %s %s: detail %q does not name %s", c.path, c.body, p.Detail, c.key)
			}
		}
		if l := listTokens(t, e, admin); len(l) != 1 {
			t.Errorf("a token was made from a misspelled body: %+v", l)
		}
	})
}
