package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// sessionEntry is what these tests check of an entry of GET /api/admin/sessions (the OpenAPI
// validation of every response checks the whole entry).
type sessionEntry struct {
	ID                  string  `json:"id"`
	Identity            string  `json:"identity"`
	Email               string  `json:"email"`
	EmailVerified       bool    `json:"emailVerified"`
	Actor               string  `json:"actor"`
	SignedIn            string  `json:"signedIn"`
	LastSeen            string  `json:"lastSeen"`
	LastAddress         string  `json:"lastAddress"`
	LastTokenUse        *string `json:"lastTokenUse"`
	SessionTokensIssued int     `json:"sessionTokensIssued"`
	Current             bool    `json:"current"`
}

func listSessions(t *testing.T, e *testenv.Env, as testenv.Session) ([]sessionEntry, *testenv.Response) {
	t.Helper()
	var list []sessionEntry
	r := e.GetJSON("/api/admin/sessions", &list, e.As(as))
	return list, r
}

// TestUserAccessSessions: an administrator lists the live sessions, ends one (its cookie and
// its session token stop at once) and ends every session of one person; both are audited.
// Nothing secret is listed, and knowing a session's id authenticates nobody.
func TestUserAccessSessions(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		ada := e.SignIn("ada@example.com", true)
		bob1 := e.SignIn("bob@example.com", true)
		bob2 := e.SignIn("bob@example.com", true)
		e.Clock.Advance(time.Second)
		bobTok := e.SessionToken(bob1)
		e.Clock.Advance(2 * time.Minute)
		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(bobTok)); r.Status != http.StatusOK {
			t.Fatalf("bob's session token: %d", r.Status)
		}

		list, r := listSessions(t, e, ada)
		if len(list) != 3 {
			t.Fatalf("sessions: %+v", list)
		}
		for _, secret := range []string{ada.Cookie.Value, bob1.Cookie.Value, bob2.Cookie.Value} {
			h := sha256.Sum256([]byte(secret))
			if strings.Contains(string(r.Body), secret) || strings.Contains(string(r.Body), hex.EncodeToString(h[:])) {
				t.Fatal("the sessions list shows a session secret or its hash")
			}
		}
		byID := map[string]sessionEntry{}
		for _, s := range list {
			byID[s.ID] = s
		}
		if s := byID[ada.ID]; !s.Current || s.Email != "ada@example.com" || !s.EmailVerified || s.Identity != testenv.TestIssuer+" ada@example.com" {
			t.Errorf("ada's own session: %+v", s)
		}
		if s := byID[bob1.ID]; s.Current || s.SessionTokensIssued != 1 || s.LastTokenUse == nil || s.LastSeen == s.SignedIn || s.LastAddress != "127.0.0.1" {
			t.Errorf("bob's first session, used by a session token: %+v", s)
		}

		// Without the CSRF token, by a non-administrator, by a service token: refused.
		if r := e.Do(http.MethodDelete, "/api/admin/sessions/"+bob1.ID, nil, testenv.Cookie(ada)); r.Status != http.StatusForbidden {
			t.Errorf("end without CSRF: %d", r.Status)
		}
		viewer := e.SignIn("viewer@example.com", false)
		if r := e.Do(http.MethodDelete, "/api/admin/sessions/"+bob1.ID, nil, e.As(viewer)); r.Status != http.StatusForbidden {
			t.Errorf("end by a non-administrator: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/admin/sessions", nil, e.As(viewer)); r.Status != http.StatusForbidden {
			t.Errorf("list by a non-administrator: %d", r.Status)
		}
		e.Sync() // the clock moved: the revocation feed is read again, as the background loop would
		svc := e.CreateToken(ada, map[string]any{"subject": "ci"})
		if r := e.Do(http.MethodGet, "/api/admin/sessions", nil, testenv.Bearer(svc.AccessToken)); r.Status != http.StatusForbidden {
			t.Errorf("list by a service token: %d", r.Status)
		}
		// A session id is no credential, as a cookie or as a bearer token.
		idCookie := testenv.Session{Cookie: &http.Cookie{Name: "codemetrics_session", Value: bob1.ID}}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(idCookie)); r.Status != http.StatusUnauthorized {
			t.Errorf("a session id as the cookie: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(bob1.ID)); r.Status != http.StatusUnauthorized {
			t.Errorf("a session id as a bearer token: %d", r.Status)
		}

		if r := e.Do(http.MethodDelete, "/api/admin/sessions/"+bob1.ID, nil, e.As(ada)); r.Status != http.StatusNoContent {
			t.Fatalf("end bob's session: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(bob1)); r.Status != http.StatusUnauthorized {
			t.Errorf("the ended session's cookie: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(bobTok)); r.Status != http.StatusUnauthorized {
			t.Errorf("the ended session's token: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(bob2)); r.Status != http.StatusOK {
			t.Errorf("bob's other session ended too: %d", r.Status)
		}
		testenv.WantProblem(t, e.Do(http.MethodDelete, "/api/admin/sessions/"+bob1.ID, nil, e.As(ada)), http.StatusNotFound)
		if evs := e.AuditEvents("auth.session_ended"); len(evs) != 1 || evs[0].Actor != "ada@example.com" ||
			evs[0].Target != "bob@example.com" || evs[0].Details["session"] != bob1.ID[:8] {
			t.Errorf("session_ended audit events: %+v", evs)
		}

		testenv.WantProblem(t, e.Do(http.MethodDelete, "/api/admin/sessions", nil, e.As(ada)), http.StatusBadRequest)
		key := testenv.TestIssuer + " bob@example.com"
		r = e.Do(http.MethodDelete, "/api/admin/sessions?identity="+url.QueryEscape(key), nil, e.As(ada))
		var ended struct{ Ended int }
		if r.JSON(t, &ended); r.Status != http.StatusOK || ended.Ended != 1 {
			t.Fatalf("end bob's sessions: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(bob2)); r.Status != http.StatusUnauthorized {
			t.Errorf("bob's second session survived: %d", r.Status)
		}
		if evs := e.AuditEvents("auth.sessions_ended"); len(evs) != 1 || evs[0].Actor != "ada@example.com" || evs[0].Details["count"] != float64(1) {
			t.Errorf("sessions_ended audit events: %+v", evs)
		}
		if list, _ := listSessions(t, e, ada); len(list) != 2 { // ada and the viewer
			t.Errorf("sessions left: %+v", list)
		}
	})
}

func TestAdminAccessExplainsWhoAndWhy(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{
		"ADMIN_GROUPS": "codemetrics-admins", "ADMIN_EMAILS": "boss@example.com",
		"OIDC_ISSUER_URL": "https://idp.example", "OIDC_CLIENT_ID": "c", "OIDC_CLIENT_SECRET": "never-shown",
	}})
	admin := e.SignIn("admin@example.com", true)
	for _, who := range []string{"ada@example.com", "bob@example.com", "ada@example.com"} {
		if err := e.Server.Audit.Record(t.Context(), audit.Context{Actor: who}, "auth.signed_in", who, map[string]any{"name": who, "reason": "member of group codemetrics-admins (ADMIN_GROUPS)"}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
	}
	r := e.Do(http.MethodGet, "/api/admin/access", nil, e.As(admin))
	var got struct {
		IdentityProvider string   `json:"identityProvider"`
		AdminGroups      []string `json:"adminGroups"`
		AdminEmails      []string `json:"adminEmails"`
		RecentAdmins     []struct {
			Email, Reason, LastSignIn string
		} `json:"recentAdmins"`
	}
	r.JSON(t, &got)
	if r.Status != http.StatusOK || got.IdentityProvider != "https://idp.example" || strings.Join(got.AdminGroups, ",") != "codemetrics-admins" ||
		strings.Join(got.AdminEmails, ",") != "boss@example.com" || len(got.RecentAdmins) != 2 || got.RecentAdmins[0].Email != "ada@example.com" ||
		got.RecentAdmins[0].LastSignIn != testenv.Epoch.Add(2*time.Minute).Format(testenv.TimeFormat) || !strings.Contains(got.RecentAdmins[0].Reason, "ADMIN_GROUPS") {
		t.Fatalf("access: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "never-shown") {
		t.Error("the client secret is shown")
	}
	e.Sync() // the clock moved on: read the revocation feed, as the background loop would
	svc := e.CreateToken(admin, map[string]any{"subject": "reader"})
	testenv.WantProblem(t, e.Do(http.MethodGet, "/api/admin/access", nil, testenv.Bearer(svc.AccessToken)), http.StatusForbidden)
}
