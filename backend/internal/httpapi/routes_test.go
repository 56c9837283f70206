package httpapi_test

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestRouting checks unknown API paths, wrong methods and the SPA's deep links.
func TestRouting(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)

	problems := []struct {
		method, path string
		opts         []testenv.Opt
		status       int
	}{
		{http.MethodGet, "/api/whatever", nil, 404},
		{http.MethodPost, "/api/whatever", nil, 404},
		{http.MethodGet, "/api/whatever", []testenv.Opt{e.As(admin)}, 404},
		{http.MethodGet, "/api", nil, 404},
		{http.MethodGet, "/api/tokens/x/y", []testenv.Opt{e.As(admin)}, 404},
		{http.MethodGet, "/auth/whatever", nil, 404},
		{http.MethodPut, "/api/tokens", nil, 405},
		{http.MethodPut, "/api/tokens", []testenv.Opt{e.As(admin)}, 405},
		{http.MethodPatch, "/api/tokens", nil, 405},
		{http.MethodGet, "/auth/logout", nil, 405},
	}
	for _, p := range problems {
		r := e.Do(p.method, p.path, nil, p.opts...)
		if r.Status != p.status {
			t.Errorf("%s %s: %d %s, want %d", p.method, p.path, r.Status, r.Body, p.status)
			continue
		}
		testenv.WantProblem(t, r, p.status)
		if p.status == 405 && p.path == "/api/tokens" {
			if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
				t.Errorf("%s %s: Allow %q, want GET and POST", p.method, p.path, allow)
			}
		}
	}

	for _, path := range []string{"/", "/admin/service-tokens", "/admin/service-tokens/abc", "/index.html", "/.keep"} {
		r := e.Do(http.MethodGet, path, nil)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Body), spaIndexMarker) {
			t.Errorf("GET %s: %d %q %s, want the SPA index as text/html", path, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	}
	if r := e.Do(http.MethodGet, "/assets/app.js", nil); r.Status != http.StatusOK || string(r.Body) != "console.log(1)" {
		t.Errorf("GET /assets/app.js: %d %s", r.Status, r.Body)
	}
}

// TestReadinessAfterTheFeedWasReplaced restores the database from a backup taken before the
// only revocation: /readyz then counts the reset and says when it was, which no other test of
// this package makes it send.
func TestReadinessAfterTheFeedWasReplaced(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
		e.Revoke(admin, tok.TokenID)
		e.Sync()
		conn, err := sql.Open(e.DB.Driver, e.DB.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		testenv.Exec(t, conn, "DELETE FROM service_tokens", "UPDATE revocation_feed SET seq = 0")
		e.Sync()
		var ready map[string]any
		r := e.Do(http.MethodGet, "/readyz", nil)
		r.JSON(t, &ready)
		if r.Status != http.StatusOK || ready["revocationFeedResets"] != float64(1) || ready["revocationFeedLastReset"] != testenv.Epoch.Format(time.RFC3339) {
			t.Errorf("/readyz after the feed was replaced: %d %s, want 200, revocationFeedResets 1 and the time", r.Status, r.Body)
		}
	})
}
