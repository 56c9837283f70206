package httpapi_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	_ "github.com/glebarez/go-sqlite"
	_ "github.com/go-sql-driver/mysql"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestNoSecretLeaks walks through everything a deployment does (sign in through the provider,
// take a session token, create, use, refuse and revoke tokens, sign out), then scans the logs,
// every database row and the audit log for any secret: none may appear.
func TestNoSecretLeaks(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := startWithIDP(t, db)
		b := newBrowser(t)
		p.QueueUser(admin())
		b.get(b.atProvider(b.toProvider(e, "/")))
		cookie := b.cookie(e.URL, "codemetrics_session")
		if cookie == "" {
			t.Fatal("no session")
		}
		csrf := b.csrf(e)
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/auth/session-token", nil)
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ SessionToken string }
		if err := jsonDecode(resp, &st); err != nil || st.SessionToken == "" {
			t.Fatalf("session token: %v", err)
		}
		session := testenv.Bearer(st.SessionToken)
		var toks []testenv.CreatedToken
		for _, s := range []string{"ci", "monitoring"} {
			r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": s}, session)
			var c testenv.CreatedToken
			r.JSON(t, &c)
			toks = append(toks, c)
		}
		e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(toks[0].AccessToken))
		e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(toks[0].AccessToken+"x"))
		e.Do(http.MethodPost, "/api/tokens", `{"subject": "`+toks[1].AccessToken+`"`, session) // a token pasted into bad JSON
		e.Do(http.MethodDelete, "/api/tokens/"+toks[1].TokenID, nil, session)
		e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(toks[1].AccessToken))
		e.Do(http.MethodGet, "/api/tokens", nil, testenv.Cookie(testenv.Session{Cookie: &http.Cookie{Name: "codemetrics_session", Value: cookie}}))
		e.Flush()
		req, _ = http.NewRequest(http.MethodPost, e.URL+"/auth/logout", nil)
		req.Header.Set("X-CSRF-Token", csrf)
		if resp, err := b.client.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout: %v", err)
		}

		secrets := map[string]string{
			"signing key": testenv.SigningKey, "OIDC client secret": p.ClientSecret,
			"session cookie": cookie, "CSRF token": csrf, "session token": st.SessionToken,
		}
		for i, c := range toks {
			secrets[fmt.Sprintf("token %d", i)] = c.AccessToken
			secrets[fmt.Sprintf("token %d signature", i)] = c.AccessToken[strings.LastIndex(c.AccessToken, ".")+1:]
		}
		r := e.Do(http.MethodGet, "/api/audit-events?limit=500", nil, testenv.Bearer(mustSessionToken(t, e)))
		places := map[string]string{"logs": e.Logs.String(), "database": dump(t, db), "audit log": string(r.Body)}
		for where, text := range places {
			if len(text) < 100 {
				t.Fatalf("%s is suspiciously empty: %q", where, text)
			}
			for what, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Errorf("the %s appears in the %s", what, where)
				}
			}
		}
		if !strings.Contains(places["logs"], toks[0].TokenID) {
			t.Error("the logs do not name the token that called (token usage cannot be tracked)")
		}
	})
}

func mustSessionToken(t *testing.T, e *testenv.Env) string {
	s := e.SignIn("auditor@example.com", true)
	tok, _, err := e.Server.Sessions.IssueToken(s.Session)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// dump returns every row of every table as text.
func dump(t *testing.T, db testenv.DB) string {
	t.Helper()
	conn, err := sql.Open(db.Driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out strings.Builder
	for _, table := range []string{"service_tokens", "audit_events", "admin_sessions", "login_states_used", "revocation_feed", "service_users", "service_user_feed", "goose_db_version"} {
		for _, vals := range testenv.TableRows(t, conn, table) {
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&out, "%v\t", v)
			}
			out.WriteString("\n")
		}
	}
	return out.String()
}

func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
