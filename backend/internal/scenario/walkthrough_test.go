package scenario

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestSeedWalkthrough follows the API documentation: create a token, list it with the exact
// field names, call /api/system/config with it, revoke it, and see it refused.
func TestSeedWalkthrough(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {

		created := e.CreateToken(admin, map[string]any{"subject": "ci-pipeline"})
		if created.AccessToken == "" || created.TokenID == "" || created.Expires == "" {
			t.Fatalf("create returned %+v", created)
		}

		r := e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin))
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var list []map[string]any
		r.JSON(t, &list)
		if len(list) != 1 {
			t.Fatalf("list has %d tokens, want 1: %s", len(list), r.Body)
		}
		for _, f := range []string{"tokenId", "created", "expires", "sub", "createdBy", "lastUsed", "scopes"} {
			if _, ok := list[0][f]; !ok {
				t.Errorf("list entry lacks %q: %s", f, r.Body)
			}
		}
		if list[0]["tokenId"] != created.TokenID || list[0]["sub"] != "ci-pipeline" || list[0]["createdBy"] != "admin@example.com" || list[0]["lastUsed"] != nil {
			t.Errorf("list entry = %v", list[0])
		}

		r = e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken))
		if r.Status != http.StatusOK {
			t.Fatalf("system config with the token: %d %s", r.Status, r.Body)
		}

		r = e.Do(http.MethodDelete, "/api/tokens/"+created.TokenID, nil, e.As(admin))
		if r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		r = e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken))
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("revoked token: %d %s, want 401", r.Status, r.Body)
		}
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
	})
}

// TestNoSecretLeaks walks through everything a deployment does (sign in through the provider,
// take a session token, create, use, refuse and revoke tokens, notify a webhook and an email
// address of it, send a test notification, sign out), then scans the logs, every database row,
// the audit log, the notification API's answers and every webhook request and email sent for any
// secret: none may appear.
func TestNoSecretLeaks(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		recv := testenv.NewReceiver(t)
		recv.Fail("/echo"+testenv.HookPath, -1, http.StatusBadRequest, "unknown hook "+testenv.HookPath+" for secret "+testenv.HookSecret)
		mail := testenv.NewMailServer(t, "mailer", "smtp-pa55-Lk2")
		env := testenv.NotifyEnv(recv.URL+testenv.HookPath, recv.URL+"/echo"+testenv.HookPath)
		env["SMTP_URL"], env["NOTIFY_EMAILS"] = "smtp://mailer:smtp-pa55-Lk2@"+mail.Addr, "ops@example.com"
		e, p := testenv.StartWithIDP(t, db, env)
		b := testenv.NewBrowser(t)
		b.SignIn(e, p, testenv.AdminUser())
		cookie := b.Cookie(e.URL, "codemetrics_session")
		if cookie == "" {
			t.Fatal("no session")
		}
		csrf := b.CSRF(e)
		sessionToken := b.SessionToken(e)
		session := testenv.Bearer(sessionToken)
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
		// The revocation, the revoked token presented again (token.ended_token_used) and the test.
		if len(recv.Hits(testenv.HookPath)) != 3 || len(mail.Mail()) != 3 || !strings.Contains(string(delivered.Body), "the receiver answered HTTP 400") {
			t.Fatalf("notifications: %d webhook requests, %d mails, deliveries %s; want the revocation, the ended token's use and the test each", len(recv.Hits(testenv.HookPath)), len(mail.Mail()), delivered.Body)
		}
		resp := b.Send(http.MethodPost, e.URL+"/auth/logout", csrf, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout: %d", resp.StatusCode)
		}

		secrets := map[string]string{
			"signing key": testenv.SigningKey, "OIDC client secret": p.ClientSecret,
			"session cookie": cookie, "CSRF token": csrf, "session token": sessionToken,
			"webhook secret": testenv.HookSecret, "webhook path": testenv.HookPath[strings.LastIndex(testenv.HookPath, "/"):], "SMTP password": "smtp-pa55-Lk2",
		}
		for i, c := range toks {
			secrets[fmt.Sprintf("token %d", i)] = c.AccessToken
			secrets[fmt.Sprintf("token %d signature", i)] = c.AccessToken[strings.LastIndex(c.AccessToken, ".")+1:]
		}
		r := e.Do(http.MethodGet, "/api/audit-events?limit=500", nil, e.As(e.SignIn("auditor@example.com", true)))
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

// dump returns every row of every table as text.
func dump(t *testing.T, db testenv.DB) string {
	t.Helper()
	return testenv.DumpTables(t, db, "service_tokens", "audit_events", "admin_sessions", "login_states_used", "revocation_feed",
		"service_users", "service_user_feed", "goose_db_version", "notification_events", "notification_deliveries")
}
