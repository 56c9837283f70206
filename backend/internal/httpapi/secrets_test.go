package httpapi_test

import (
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
// take a session token, create, use, refuse and revoke tokens, notify a webhook and an email
// address of it, send a test notification, sign out), then scans the logs, every database row,
// the audit log, the notification API's answers and every webhook request and email sent for any
// secret: none may appear.
func TestNoSecretLeaks(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		recv := testenv.NewReceiver(t)
		recv.Fail("/echo"+hookPath, -1, http.StatusBadRequest, "unknown hook "+hookPath+" for secret "+hookSecret)
		mail := testenv.NewMailServer(t, "mailer", "smtp-pa55-Lk2")
		env := notifyEnv(recv.URL+hookPath, recv.URL+"/echo"+hookPath)
		env["SMTP_URL"], env["NOTIFY_EMAILS"] = "smtp://mailer:smtp-pa55-Lk2@"+mail.Addr, "ops@example.com"
		e, p := startWithIDPEnv(t, db, env)
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
		e.Notify()
		notified := e.Do(http.MethodPost, "/api/notifications/test", nil, session)
		destinations := e.Do(http.MethodGet, "/api/notifications/destinations", nil, session)
		delivered := e.Do(http.MethodGet, "/api/notifications/deliveries", nil, session)
		if len(recv.Hits(hookPath)) != 2 || len(mail.Mail()) != 2 || !strings.Contains(string(delivered.Body), "the receiver answered HTTP 400") {
			t.Fatalf("notifications: %d webhook requests, %d mails, deliveries %s; want the revocation and the test each", len(recv.Hits(hookPath)), len(mail.Mail()), delivered.Body)
		}
		req, _ = http.NewRequest(http.MethodPost, e.URL+"/auth/logout", nil)
		req.Header.Set("X-CSRF-Token", csrf)
		if resp, err := b.client.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout: %v", err)
		}

		secrets := map[string]string{
			"signing key": testenv.SigningKey, "OIDC client secret": p.ClientSecret,
			"session cookie": cookie, "CSRF token": csrf, "session token": st.SessionToken,
			"webhook secret": hookSecret, "webhook path": hookPath[strings.LastIndex(hookPath, "/"):], "SMTP password": "smtp-pa55-Lk2",
		}
		for i, c := range toks {
			secrets[fmt.Sprintf("token %d", i)] = c.AccessToken
			secrets[fmt.Sprintf("token %d signature", i)] = c.AccessToken[strings.LastIndex(c.AccessToken, ".")+1:]
		}
		r := e.Do(http.MethodGet, "/api/audit-events?limit=500", nil, testenv.Bearer(mustSessionToken(t, e)))
		var sent strings.Builder
		for _, h := range recv.Hits("") {
			fmt.Fprintf(&sent, "%s %v %s\n", h.Path[:min(len(h.Path), 6)], h.Header, h.Body)
		}
		for _, m := range mail.Mail() {
			sent.WriteString(m.Data)
		}
		places := map[string]string{"logs": e.Logs.String(), "database": dump(t, db), "audit log": string(r.Body),
			"notification API": string(notified.Body) + string(destinations.Body) + string(delivered.Body), "notifications sent": sent.String()}
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
	return dumpTables(t, db, "service_tokens", "audit_events", "admin_sessions", "login_states_used", "revocation_feed", "goose_db_version",
		"notification_events", "notification_deliveries")
}

func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
