package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// startWithIDPEnv is startWithIDP with more environment variables (ADMIN_EMAILS…).
func startWithIDPEnv(t *testing.T, db testenv.DB, extra map[string]string) (*testenv.Env, *idp) {
	p := startIDP(t)
	cfg := p.Config()
	env := map[string]string{
		"OIDC_ISSUER_URL": cfg.Issuer, "OIDC_CLIENT_ID": cfg.ClientID, "OIDC_CLIENT_SECRET": cfg.ClientSecret,
		"ADMIN_GROUPS": "codemetrics-admins", "ADMIN_EMAILS": "boss@example.com",
	}
	for k, v := range extra {
		env[k] = v
	}
	e := testenv.Start(t, db, testenv.Settings{Clock: testenv.NewClockAt(time.Now()), Env: env})
	return e, p
}

// signIn runs the whole sign-in of user in browser b and returns the callback's answer.
func (b *browser) signIn(e *testenv.Env, p *idp, user *mockoidc.MockUser) *http.Response {
	b.t.Helper()
	p.QueueUser(user)
	return b.get(b.atProvider(b.toProvider(e, "/")))
}

// sessionToken takes a session token with the browser's cookie and CSRF token.
func (b *browser) sessionToken(e *testenv.Env) string {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/auth/session-token", nil)
	req.Header.Set("X-CSRF-Token", b.csrf(e))
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ SessionToken string }
	_ = json.NewDecoder(resp.Body).Decode(&st)
	if resp.StatusCode != http.StatusOK || st.SessionToken == "" {
		b.t.Fatalf("session token: %d", resp.StatusCode)
	}
	return st.SessionToken
}

func auditOf(t *testing.T, e *testenv.Env, action string) []audit.Event {
	t.Helper()
	evs, err := e.Server.Audit.List(context.Background(), audit.Query{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestWithdrawnAdministratorLosesEverySession: an administrator signed in on two browsers and
// took a session token; then the identity provider took them out of the administrators'
// group. Their next sign-in is denied, and that ends every session of theirs and every token
// taken from one, at once. Another identity with the same email keeps its session.
func TestWithdrawnAdministratorLosesEverySession(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := startWithIDP(t, db)
		laptop, desktop := newBrowser(t), newBrowser(t)
		laptop.signIn(e, p, admin())
		desktop.signIn(e, p, admin())
		tok := laptop.sessionToken(e)
		// The same email, but another identity (another issuer): not the same person.
		namesake := e.SignIn("ada@example.com", true)

		withdrawn := admin()
		withdrawn.Groups = []string{"staff"}
		if resp := newBrowser(t).signIn(e, p, withdrawn); resp.Header.Get("Location") != "/access-denied" {
			t.Fatalf("sign-in after withdrawal: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		for name, b := range map[string]*browser{"laptop": laptop, "desktop": desktop} {
			if status, _ := b.me(e); status != http.StatusUnauthorized {
				t.Errorf("%s: the withdrawn administrator's cookie still works: %d", name, status)
			}
		}
		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(tok)); r.Status != http.StatusUnauthorized {
			t.Errorf("the withdrawn administrator's session token still works: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(namesake)); r.Status != http.StatusOK {
			t.Errorf("another identity with the same email lost its session: %d", r.Status)
		}
		evs := auditOf(t, e, "auth.sessions_ended")
		if len(evs) != 1 || evs[0].Actor != "ada@example.com" || evs[0].Details["count"] != float64(2) ||
			!strings.Contains(evs[0].Details["reason"].(string), "sign-in denied") {
			t.Errorf("sessions_ended audit events: %+v", evs)
		}
	})
}

// TestViewerSignInReplacesAdministratorSession: a person who is not an administrator signs in
// on a browser that holds an administrator's session. That session ends on the server and its
// cookies are cleared: nothing of it survives.
func TestViewerSignInReplacesAdministratorSession(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := startWithIDP(t, db)
		b := newBrowser(t)
		b.signIn(e, p, admin())
		old := b.cookie(e.URL, "codemetrics_session")
		if old == "" {
			t.Fatal("no administrator session")
		}
		resp := b.signIn(e, p, &mockoidc.MockUser{Subject: "v", Email: "viewer@example.com", EmailVerified: true, Groups: []string{"engineering"}})
		if resp.Header.Get("Location") != "/access-denied" {
			t.Fatalf("viewer's callback: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		cleared := false
		for _, c := range resp.Cookies() {
			if c.Name == "codemetrics_session" && c.Value == "" && c.MaxAge < 0 {
				cleared = true
			}
		}
		if !cleared {
			t.Error("the callback did not clear the administrator's session cookie")
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(testenv.Session{Cookie: &http.Cookie{Name: "codemetrics_session", Value: old}})); r.Status != http.StatusUnauthorized {
			t.Errorf("the replaced administrator session still works: %d", r.Status)
		}
		if status, _ := b.me(e); status != http.StatusUnauthorized {
			t.Errorf("/api/auth/me in the viewer's browser: %d, want 401", status)
		}
		// The viewer's sign-in acted (credential oidc); the administrator's session is its target.
		if evs := auditOf(t, e, "auth.session_ended"); len(evs) != 1 || evs[0].Actor != "viewer@example.com" || evs[0].Target != "ada@example.com" || evs[0].Credential != "oidc" {
			t.Errorf("session_ended audit events: %+v", evs)
		}
	})
}

// TestUnverifiedEmailNeverNamesTheAdministrator: a member of the administrators' group whose
// provider sends someone else's address, unverified, is admitted as a group member, but every
// audit event and token names them with the address marked unverified.
func TestUnverifiedEmailNeverNamesTheAdministrator(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := startWithIDP(t, db)
		b := newBrowser(t)
		b.signIn(e, p, &mockoidc.MockUser{Subject: "impostor", Email: "boss@example.com", EmailVerified: false, Groups: []string{"codemetrics-admins"}})
		const marked = "boss@example.com (unverified)"
		if evs := auditOf(t, e, "auth.signed_in"); len(evs) != 1 || evs[0].Actor != marked {
			t.Fatalf("sign-in audit events: %+v", evs)
		}
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/tokens", strings.NewReader(`{"subject":"ci"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", b.csrf(e))
		req.Header.Set("Origin", e.URL)
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create token: %d", resp.StatusCode)
		}
		if evs := auditOf(t, e, "token.created"); len(evs) != 1 || evs[0].Actor != marked {
			t.Errorf("token audit events name the impostor as %+v", evs)
		}
		_, claims := jwtParts(t, b.sessionToken(e))
		if claims["sub"] != marked {
			t.Errorf("session token sub = %v", claims["sub"])
		}
	})
}

// TestLookalikeEmailsDoNotMatchAdminEmails: ADMIN_EMAILS names kim@example.com; a verified
// address spelled with the Kelvin sign (U+212A, which strings.ToLower turns into "k") or a
// fullwidth k is someone else.
func TestLookalikeEmailsDoNotMatchAdminEmails(t *testing.T) {
	e, p := startWithIDPEnv(t, testenv.SQLite(t), map[string]string{"ADMIN_EMAILS": "kim@example.com"})
	for _, email := range []string{"\u212Aim@example.com", "\uFF4Bim@example.com", "kim@example.com\u200B"} {
		t.Run(email, func(t *testing.T) {
			b := newBrowser(t)
			resp := b.signIn(e, p, &mockoidc.MockUser{Subject: "s-" + email, Email: email, EmailVerified: true})
			if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/" {
				t.Fatalf("%+q signed in as the administrator kim@example.com", email)
			}
			if status, _ := b.me(e); status != http.StatusUnauthorized {
				t.Errorf("me: %d", status)
			}
		})
	}
	// The real address still is an administrator.
	b := newBrowser(t)
	if resp := b.signIn(e, p, &mockoidc.MockUser{Subject: "kim", Email: "Kim@Example.com", EmailVerified: true}); resp.Header.Get("Location") != "/" {
		t.Fatalf("kim@example.com: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestInvisibleCharactersInClaims: a subject that reorders or hides text is refused with a
// page saying why; a display name loses such characters.
func TestInvisibleCharactersInClaims(t *testing.T) {
	e, p := startWithIDP(t, testenv.SQLite(t))
	for _, sub := range []string{"u1\u202E", "u\u200B1"} {
		b := newBrowser(t)
		resp := b.signIn(e, p, &mockoidc.MockUser{Subject: sub, Email: "ada@example.com", EmailVerified: true, Groups: []string{"codemetrics-admins"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("subject %+q: callback %d, want 403", sub, resp.StatusCode)
		}
	}
	p.setTamper(p.resign(func(c jwt.MapClaims) { c["name"] = "Ad\u200Ba \u202Eecalevol" }))
	b := newBrowser(t)
	b.signIn(e, p, admin())
	if status, me := b.me(e); status != http.StatusOK || me["name"] != "Ada ecalevol" {
		t.Errorf("me: %d %+q", status, me["name"])
	}
}

// TestLongClaims: a 500-character name and a 400-character email from the provider fail the
// same way on every database (MySQL enforces column lengths, SQLite does not): the name is cut
// on a character boundary; the email is refused with a page saying so, never a 503.
func TestLongClaims(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := startWithIDP(t, db)
		long := strings.Repeat("é", 500)
		p.setTamper(p.resign(func(c jwt.MapClaims) { c["name"] = long }))
		b := newBrowser(t)
		if resp := b.signIn(e, p, admin()); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in with a 500-character name: %d", resp.StatusCode)
		}
		status, me := b.me(e)
		name, _ := me["name"].(string)
		if status != http.StatusOK || utf8.RuneCountInString(name) != 400 || !utf8.ValidString(name) {
			t.Errorf("me: %d, name of %d characters", status, utf8.RuneCountInString(name))
		}

		p.setTamper(nil)
		b = newBrowser(t)
		u := admin()
		u.Email = strings.Repeat("a", 400) + "@example.com"
		p.QueueUser(u)
		resp, err := b.client.Get(b.atProvider(b.toProvider(e, "/")))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(page), "at most 254") {
			t.Errorf("sign-in with a 412-character email: %d %s", resp.StatusCode, page)
		}
		if status, _ := b.me(e); status != http.StatusUnauthorized {
			t.Errorf("a session was made: %d", status)
		}
	})
}

// TestServiceTokenSubjectMustBeVisible: a subject with a bidirectional override or a
// zero-width space would show something other than what it holds.
func TestServiceTokenSubjectMustBeVisible(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	for _, sub := range []string{"ci-\u202Eyolped", "ci\u200B-deploy", "ci\u2066-deploy", "\uFEFFci", "ci\u00AD-deploy"} {
		r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": sub}, e.As(admin))
		if wantProblem(t, r, http.StatusBadRequest); !strings.Contains(problemDetail(r), "visible") {
			t.Errorf("subject %+q: %s", sub, r.Body)
		}
	}
	wantNoTokens(t, e, admin)
}
