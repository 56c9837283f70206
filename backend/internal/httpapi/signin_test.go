package httpapi_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

func TestSignInThroughTheProvider(t *testing.T) {
	testenv.ForEachIDP(t, func(t *testing.T, e *testenv.Env, p *testenv.IDP, b *testenv.Browser) {
		p.QueueUser(testenv.AdminUser())

		auth := b.ToProvider(e, "/admin/service-tokens?x=1")
		q := auth.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" ||
			q.Get("nonce") == "" || !strings.Contains(q.Get("scope"), "openid") || q.Get("redirect_uri") != e.URL+"/auth/callback" {
			t.Fatalf("authorization request lacks PKCE, state or nonce: %s", auth)
		}
		if strings.Contains(auth.String(), p.ClientSecret) {
			t.Fatal("the client secret is in the browser's URL")
		}
		resp := b.Get(b.AtProvider(auth))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/service-tokens?x=1" {
			t.Fatalf("callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		var session *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "codemetrics_session" && c.Value != "" {
				session = c
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
			t.Fatalf("session cookie = %+v", session)
		}
		status, me := b.Me(e)
		if status != http.StatusOK || me["email"] != "ada@example.com" || me["isAdmin"] != true ||
			!strings.Contains(me["adminReason"].(string), "codemetrics-admins") {
			t.Fatalf("/api/auth/me: %d %v", status, me)
		}

		evs := e.AuditEvents("auth.signed_in")
		if len(evs) != 1 || evs[0].Actor != "ada@example.com" {
			t.Errorf("sign-in audit events: %+v", evs)
		}
	})
}

func TestAdministratorByVerifiedEmail(t *testing.T) {
	e, p := testenv.StartWithIDP(t, testenv.SQLite(t), nil)
	b := testenv.NewBrowser(t)
	resp := b.SignIn(e, p, &mockoidc.MockUser{Subject: "b", Email: "Boss@Example.com", EmailVerified: true})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("callback: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, me := b.Me(e); status != http.StatusOK || me["isAdmin"] != true || !strings.Contains(me["adminReason"].(string), "ADMIN_EMAILS") {
		t.Fatalf("me: %d %v", status, me)
	}
}

// TestSignInRefusals tries what an attacker, or a misbehaving provider, would: every case is
// refused and no session is made.
func TestSignInRefusals(t *testing.T) {
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	type attempt struct {
		user   *mockoidc.MockUser
		tamper func(p *testenv.IDP) func(testing.TB, string) string
		// alter changes the authorization URL (before the provider) or the callback URL (after).
		alterAuth     func(u *url.URL)
		alterCallback func(u *url.URL)
		wantStatus    int    // of the callback
		wantLocation  string // for 303s
		wantReason    string // in the callback's log line, for refusals
	}
	noneAlg := func(p *testenv.IDP) func(testing.TB, string) string {
		return func(t testing.TB, raw string) string {
			parts := strings.Split(raw, ".")
			return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
		}
	}
	cases := map[string]attempt{
		"wrong state":      {user: testenv.AdminUser(), alterCallback: func(u *url.URL) { setQuery(u, "state", "forged-state") }, wantStatus: 400, wantReason: "sign_in_expired"},
		"missing state":    {user: testenv.AdminUser(), alterCallback: func(u *url.URL) { setQuery(u, "state", "") }, wantStatus: 400, wantReason: "sign_in_expired"},
		"no code":          {user: testenv.AdminUser(), alterCallback: func(u *url.URL) { setQuery(u, "code", "") }, wantStatus: 400, wantReason: "sign_in_incomplete"},
		"provider says no": {user: testenv.AdminUser(), alterCallback: func(u *url.URL) { setQuery(u, "error", "access_denied") }, wantStatus: 400, wantReason: "sign_in_refused"},
		"wrong nonce":      {user: testenv.AdminUser(), alterAuth: func(u *url.URL) { setQuery(u, "nonce", "attacker-nonce") }, wantStatus: 400, wantReason: "id_token_invalid"},
		"other audience": {user: testenv.AdminUser(), tamper: func(p *testenv.IDP) func(testing.TB, string) string {
			return p.Resign(func(c jwt.MapClaims) { c["aud"] = "some-other-client" })
		}, wantStatus: 400, wantReason: "id_token_invalid"},
		"expired ID token": {user: testenv.AdminUser(), tamper: func(p *testenv.IDP) func(testing.TB, string) string {
			return p.Resign(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
		}, wantStatus: 400, wantReason: "id_token_invalid"},
		"other issuer": {user: testenv.AdminUser(), tamper: func(p *testenv.IDP) func(testing.TB, string) string {
			return p.Resign(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })
		}, wantStatus: 400, wantReason: "id_token_invalid"},
		"unsigned ID token": {user: testenv.AdminUser(), tamper: noneAlg, wantStatus: 400, wantReason: "id_token_invalid"},
		"wrongly signed ID token": {user: testenv.AdminUser(), tamper: func(p *testenv.IDP) func(testing.TB, string) string {
			return func(t testing.TB, raw string) string {
				claims := jwt.MapClaims{}
				tok, _, _ := jwt.NewParser().ParseUnverified(raw, claims)
				forged := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
				forged.Header["kid"] = tok.Header["kid"]
				s, err := forged.SignedString(otherKey)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
		}, wantStatus: 400, wantReason: "id_token_invalid"},
		"unverified email in ADMIN_EMAILS": {user: &mockoidc.MockUser{Subject: "x", Email: "boss@example.com", EmailVerified: false}, wantStatus: 303, wantLocation: "/access-denied"},
		"not an administrator":             {user: &mockoidc.MockUser{Subject: "v", Email: "viewer@example.com", EmailVerified: true, Groups: []string{"engineering"}}, wantStatus: 303, wantLocation: "/access-denied"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e, p := testenv.StartWithIDP(t, testenv.SQLite(t), nil)
			if tc.tamper != nil {
				p.Tamper(tc.tamper(p))
			}
			b := testenv.NewBrowser(t)
			p.QueueUser(tc.user)
			auth := b.ToProvider(e, "/admin")
			if tc.alterAuth != nil {
				tc.alterAuth(auth)
			}
			cb, _ := url.Parse(b.AtProvider(auth))
			if tc.alterCallback != nil {
				tc.alterCallback(cb)
			}
			resp := b.Get(cb.String())
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("callback answered %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if got := e.RequestLog(resp.Header.Get("X-Request-Id"))["reason"]; tc.wantReason != "" && got != tc.wantReason {
				t.Errorf("the callback's log line gives reason %v, want %s", got, tc.wantReason)
			}
			if tc.wantLocation != "" && resp.Header.Get("Location") != tc.wantLocation {
				t.Errorf("callback sent the browser to %q, want %q", resp.Header.Get("Location"), tc.wantLocation)
			}
			for _, c := range resp.Cookies() {
				if c.Name == "codemetrics_session" && c.Value != "" {
					t.Errorf("a session cookie was set")
				}
			}
			if status, _ := b.Me(e); status != http.StatusUnauthorized {
				t.Errorf("/api/auth/me = %d after a refused sign-in, want 401", status)
			}
			if tc.wantLocation == "/access-denied" {
				evs := e.AuditEvents("auth.sign_in_denied")
				want := tc.user.Email
				if !tc.user.EmailVerified {
					want += " (unverified)" // never the address's real owner
				}
				if len(evs) != 1 || evs[0].Actor != want {
					t.Errorf("denied sign-in not audited: %+v", evs)
				}
			}
		})
	}
}

func setQuery(u *url.URL, k, v string) {
	q := u.Query()
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
}

func TestCallbackReplayAndCodeReuse(t *testing.T) {
	testenv.ForEachIDP(t, func(t *testing.T, e *testenv.Env, p *testenv.IDP, b *testenv.Browser) {
		p.QueueUser(testenv.AdminUser())
		auth := b.ToProvider(e, "/")
		loginCookie := b.Cookie(e.URL, "codemetrics_login")
		cb := b.AtProvider(auth)
		if resp := b.Get(cb); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first callback: %d", resp.StatusCode)
		}

		// An attacker who captured the callback URL and the login cookie replays both.
		attacker := testenv.NewBrowser(t)
		attacker.Plant(e.URL, "codemetrics_login", loginCookie)
		if resp := attacker.Get(cb); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("replayed callback: %d, want 400", resp.StatusCode)
		}
		if status, _ := attacker.Me(e); status != http.StatusUnauthorized {
			t.Fatalf("replay made a session")
		}

		// The code itself, with a fresh sign-in state: the provider refuses a used code.
		attacker2 := testenv.NewBrowser(t)
		p.QueueUser(testenv.AdminUser())
		fresh := attacker2.ToProvider(e, "/")
		oldCode, _ := url.Parse(cb)
		reuse, _ := url.Parse(e.URL + "/auth/callback")
		reuse.RawQuery = url.Values{"code": {oldCode.Query().Get("code")}, "state": {fresh.Query().Get("state")}}.Encode()
		if resp := attacker2.Get(reuse.String()); resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("reused code: %d, want 401/400", resp.StatusCode)
		}
		if status, _ := attacker2.Me(e); status != http.StatusUnauthorized {
			t.Fatalf("code reuse made a session")
		}
	})
}

func TestOpenRedirectsAreRefused(t *testing.T) {
	e, p := testenv.StartWithIDP(t, testenv.SQLite(t), nil)
	for _, target := range []string{"//evil.example", "/\\evil.example", "https:evil.example", "https://evil.example/",
		"/%2F%2Fevil.example", "%2F%2Fevil.example", "/\t/evil.example", "javascript:alert(1)", "/auth/login"} {
		t.Run(target, func(t *testing.T) {
			b := testenv.NewBrowser(t)
			p.QueueUser(testenv.AdminUser())
			resp := b.Get(b.AtProvider(b.ToProvider(e, target)))
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
				t.Fatalf("redirect=%q sent the browser to %q (%d), want /", target, resp.Header.Get("Location"), resp.StatusCode)
			}
		})
	}
}

func TestPlantedSessionCookieIsReplacedAndSignOutEndsEverything(t *testing.T) {
	testenv.ForEachIDP(t, func(t *testing.T, e *testenv.Env, p *testenv.IDP, b *testenv.Browser) {
		// The attacker signs in as themselves and plants their session cookie in the victim's browser.
		planted := e.SignIn("mallory@example.com", true)
		b.Plant(e.URL, "codemetrics_session", planted.Cookie.Value)

		b.SignIn(e, p, testenv.AdminUser())
		got := b.Cookie(e.URL, "codemetrics_session")
		if got == "" || got == planted.Cookie.Value {
			t.Fatalf("the session id was not renewed at sign-in")
		}
		if status, me := b.Me(e); status != http.StatusOK || me["email"] != "ada@example.com" {
			t.Fatalf("me: %d %v", status, me)
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(planted)); r.Status != http.StatusUnauthorized {
			t.Errorf("the planted session still works: %d", r.Status)
		}

		// Take a session token, then sign out: the cookie and the token both stop working.
		st := b.SessionToken(e)
		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(st)); r.Status != http.StatusOK {
			t.Fatalf("session token refused while signed in: %d", r.Status)
		}
		resp := b.Send(http.MethodPost, e.URL+"/auth/logout", b.CSRF(e), nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		if status, _ := b.Me(e); status != http.StatusUnauthorized {
			t.Errorf("cookie still works after sign-out: %d", status)
		}
		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(st)); r.Status != http.StatusUnauthorized {
			t.Errorf("session token still works after sign-out: %d", r.Status)
		}
		evs := e.AuditEvents("auth.signed_out")
		if len(evs) != 1 || evs[0].Actor != "ada@example.com" {
			t.Errorf("sign-out audit events: %+v", evs)
		}
	})
}

func TestProviderDownAtStartIsNotFatal(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{
		"OIDC_ISSUER_URL": dead, "OIDC_CLIENT_ID": "c", "OIDC_CLIENT_SECRET": "s", "ADMIN_GROUPS": "a",
	}})
	r := e.Do(http.MethodGet, "/auth/login", nil)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "cannot be reached") {
		t.Fatalf("/auth/login with the provider down: %d %s", r.Status, r.Body)
	}
	if r := e.Do(http.MethodGet, "/healthz", nil); r.Status != http.StatusOK {
		t.Fatalf("healthz: %d", r.Status)
	}
}

// TestCookiesBehindHTTPS signs in with PUBLIC_URL on https (TLS ends at a proxy): the session
// cookie takes the __Host- prefix and Secure, and HSTS is sent.
func TestCookiesBehindHTTPS(t *testing.T) {
	e, p := testenv.StartWithIDP(t, testenv.SQLite(t), map[string]string{"PUBLIC_URL": "https://codemetrics.example.com"})
	p.QueueUser(testenv.AdminUser())
	b := testenv.NewBrowser(t)
	resp := b.Get(e.URL + "/auth/login")
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS header behind https")
	}
	var login *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-codemetrics_login" {
			login = c
		}
	}
	if login == nil || !login.Secure || !login.HttpOnly || login.Path != "/" {
		t.Fatalf("login-state cookie = %+v", login)
	}
	auth, _ := url.Parse(resp.Header.Get("Location"))
	if auth.Query().Get("redirect_uri") != "https://codemetrics.example.com/auth/callback" {
		t.Errorf("redirect_uri = %q", auth.Query().Get("redirect_uri"))
	}
	// The proxy would bring the browser back to the https URL; here it reaches the server directly.
	cb, _ := url.Parse(b.AtProvider(auth))
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/auth/callback?"+cb.RawQuery, nil)
	req.AddCookie(&http.Cookie{Name: login.Name, Value: login.Value})
	res, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session, csrf *http.Cookie
	for _, c := range res.Cookies() {
		switch c.Name {
		case "__Host-codemetrics_session":
			session = c
		case "codemetrics_csrf", "__Host-codemetrics_csrf":
			csrf = c
		}
	}
	if res.StatusCode != http.StatusSeeOther || session == nil || !session.Secure || !session.HttpOnly || session.Path != "/" || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("callback %d, session cookie %+v", res.StatusCode, session)
	}
	if csrf != nil && csrf.Value != "" {
		t.Errorf("a CSRF cookie was set (%+v): the token is only in GET /api/auth/me", csrf)
	}
}

// TestWithdrawnAdministratorLosesEverySession: an administrator signed in on two browsers and
// took a session token; then the identity provider took them out of the administrators'
// group. Their next sign-in is denied, and that ends every session of theirs and every token
// taken from one, at once. Another identity with the same email keeps its session.
func TestWithdrawnAdministratorLosesEverySession(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := testenv.StartWithIDP(t, db, nil)
		laptop, desktop := testenv.NewBrowser(t), testenv.NewBrowser(t)
		laptop.SignIn(e, p, testenv.AdminUser())
		desktop.SignIn(e, p, testenv.AdminUser())
		tok := laptop.SessionToken(e)
		// The same email, but another identity (another issuer): not the same person.
		namesake := e.SignIn("ada@example.com", true)

		withdrawn := testenv.AdminUser()
		withdrawn.Groups = []string{"staff"}
		if resp := testenv.NewBrowser(t).SignIn(e, p, withdrawn); resp.Header.Get("Location") != "/access-denied" {
			t.Fatalf("sign-in after withdrawal: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		for name, b := range map[string]*testenv.Browser{"laptop": laptop, "desktop": desktop} {
			if status, _ := b.Me(e); status != http.StatusUnauthorized {
				t.Errorf("%s: the withdrawn administrator's cookie still works: %d", name, status)
			}
		}
		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(tok)); r.Status != http.StatusUnauthorized {
			t.Errorf("the withdrawn administrator's session token still works: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(namesake)); r.Status != http.StatusOK {
			t.Errorf("another identity with the same email lost its session: %d", r.Status)
		}
		evs := e.AuditEvents("auth.sessions_ended")
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
	testenv.ForEachIDP(t, func(t *testing.T, e *testenv.Env, p *testenv.IDP, b *testenv.Browser) {
		b.SignIn(e, p, testenv.AdminUser())
		old := b.Cookie(e.URL, "codemetrics_session")
		if old == "" {
			t.Fatal("no administrator session")
		}
		resp := b.SignIn(e, p, &mockoidc.MockUser{Subject: "v", Email: "viewer@example.com", EmailVerified: true, Groups: []string{"engineering"}})
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
		if status, _ := b.Me(e); status != http.StatusUnauthorized {
			t.Errorf("/api/auth/me in the viewer's browser: %d, want 401", status)
		}
		// The viewer's sign-in acted (credential oidc); the administrator's session is its target.
		if evs := e.AuditEvents("auth.session_ended"); len(evs) != 1 || evs[0].Actor != "viewer@example.com" || evs[0].Target != "ada@example.com" || evs[0].Credential != "oidc" {
			t.Errorf("session_ended audit events: %+v", evs)
		}
	})
}

// TestUnverifiedEmailNeverNamesTheAdministrator: a member of the administrators' group whose
// provider sends someone else's address, unverified, is admitted as a group member, but every
// audit event and token names them with the address marked unverified.
func TestUnverifiedEmailNeverNamesTheAdministrator(t *testing.T) {
	testenv.ForEachIDP(t, func(t *testing.T, e *testenv.Env, p *testenv.IDP, b *testenv.Browser) {
		b.SignIn(e, p, &mockoidc.MockUser{Subject: "impostor", Email: "boss@example.com", EmailVerified: false, Groups: []string{"codemetrics-admins"}})
		const marked = "boss@example.com (unverified)"
		if evs := e.AuditEvents("auth.signed_in"); len(evs) != 1 || evs[0].Actor != marked {
			t.Fatalf("sign-in audit events: %+v", evs)
		}
		resp := b.Send(http.MethodPost, e.URL+"/api/tokens", b.CSRF(e), map[string]any{"subject": "ci"})
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create token: %d", resp.StatusCode)
		}
		if evs := e.AuditEvents("token.created"); len(evs) != 1 || evs[0].Actor != marked {
			t.Errorf("token audit events name the impostor as %+v", evs)
		}
		_, claims := jwttest.Parts(t, b.SessionToken(e))
		if claims["sub"] != marked {
			t.Errorf("session token sub = %v", claims["sub"])
		}
	})
}

// TestLookalikeEmailsDoNotMatchAdminEmails: ADMIN_EMAILS names kim@example.com; a verified
// address spelled with the Kelvin sign (U+212A, which strings.ToLower turns into "k") or a
// fullwidth k is someone else.
func TestLookalikeEmailsDoNotMatchAdminEmails(t *testing.T) {
	e, p := testenv.StartWithIDP(t, testenv.SQLite(t), map[string]string{"ADMIN_EMAILS": "kim@example.com"})
	for _, email := range []string{"\u212Aim@example.com", "\uFF4Bim@example.com", "kim@example.com\u200B"} {
		t.Run(email, func(t *testing.T) {
			b := testenv.NewBrowser(t)
			resp := b.SignIn(e, p, &mockoidc.MockUser{Subject: "s-" + email, Email: email, EmailVerified: true})
			if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/" {
				t.Fatalf("%+q signed in as the administrator kim@example.com", email)
			}
			if status, _ := b.Me(e); status != http.StatusUnauthorized {
				t.Errorf("me: %d", status)
			}
		})
	}
	// The real address still is an administrator.
	b := testenv.NewBrowser(t)
	if resp := b.SignIn(e, p, &mockoidc.MockUser{Subject: "kim", Email: "Kim@Example.com", EmailVerified: true}); resp.Header.Get("Location") != "/" {
		t.Fatalf("kim@example.com: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestInvisibleCharactersInClaims: a subject that reorders or hides text is refused with a
// page saying why; a display name loses such characters.
func TestInvisibleCharactersInClaims(t *testing.T) {
	e, p := testenv.StartWithIDP(t, testenv.SQLite(t), nil)
	for _, sub := range []string{"u1\u202E", "u\u200B1"} {
		b := testenv.NewBrowser(t)
		resp := b.SignIn(e, p, &mockoidc.MockUser{Subject: sub, Email: "ada@example.com", EmailVerified: true, Groups: []string{"codemetrics-admins"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("subject %+q: callback %d, want 403", sub, resp.StatusCode)
		}
	}
	p.Tamper(p.Resign(func(c jwt.MapClaims) { c["name"] = "Ad\u200Ba \u202Eecalevol" }))
	b := testenv.NewBrowser(t)
	b.SignIn(e, p, testenv.AdminUser())
	if status, me := b.Me(e); status != http.StatusOK || me["name"] != "Ada ecalevol" {
		t.Errorf("me: %d %+q", status, me["name"])
	}
}

// TestLongClaims: a 500-character name and a 400-character email from the provider fail the
// same way on every database (MySQL enforces column lengths, SQLite does not): the name is cut
// on a character boundary; the email is refused with a page saying so, never a 503.
func TestLongClaims(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := testenv.StartWithIDP(t, db, nil)
		long := strings.Repeat("é", 500)
		p.Tamper(p.Resign(func(c jwt.MapClaims) { c["name"] = long }))
		b := testenv.NewBrowser(t)
		if resp := b.SignIn(e, p, testenv.AdminUser()); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in with a 500-character name: %d", resp.StatusCode)
		}
		status, me := b.Me(e)
		name, _ := me["name"].(string)
		if status != http.StatusOK || utf8.RuneCountInString(name) != 400 || !utf8.ValidString(name) {
			t.Errorf("me: %d, name of %d characters", status, utf8.RuneCountInString(name))
		}

		p.Tamper(nil)
		b = testenv.NewBrowser(t)
		u := testenv.AdminUser()
		u.Email = strings.Repeat("a", 400) + "@example.com"
		p.QueueUser(u)
		resp, err := b.Client.Get(b.AtProvider(b.ToProvider(e, "/")))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(page), "at most 254") {
			t.Errorf("sign-in with a 412-character email: %d %s", resp.StatusCode, page)
		}
		if status, _ := b.Me(e); status != http.StatusUnauthorized {
			t.Errorf("a session was made: %d", status)
		}
	})
}

// signInWorks signs the administrator in through the provider with browser b.
func signInWorks(t *testing.T, e *testenv.Env, p *testenv.IDP, b *testenv.Browser) {
	t.Helper()
	p.QueueUser(testenv.AdminUser())
	resp := b.Get(b.AtProvider(b.ToProvider(e, "/admin")))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("a good sign-in from the address: callback %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, me := b.Me(e); status != http.StatusOK || me["email"] != "ada@example.com" {
		t.Fatalf("signed in, yet /api/auth/me = %d %v", status, me)
	}
}

// /auth/login is a redirect that gains an attacker nothing: hammering it from an address
// must not stop an administrator at that address (a shared office NAT, a proxy) signing in.
func TestLoginIsNotLimitedPerAddress(t *testing.T) {
	e, p := testenv.StartWithIDP(t, testenv.SQLite(t), map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "3"})
	anon := testenv.NewBrowser(t)
	for i := range 100 {
		if resp := anon.Get(e.URL + "/auth/login"); resp.StatusCode != http.StatusFound {
			t.Fatalf("/auth/login %d: %d", i+1, resp.StatusCode)
		}
	}
	signInWorks(t, e, p, testenv.NewBrowser(t))
}

// Failed callbacks are counted per address and refused past the budget; a callback whose
// login state is valid and whose code the provider accepts always succeeds.
func TestFailedCallbacksAreLimitedButAGoodSignInIsNot(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := testenv.StartWithIDP(t, db, map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "3"})
		attacker := testenv.NewBrowser(t)
		for i, u := range []string{
			"/auth/callback?state=x&code=y",
			"/auth/callback?error=access_denied",
			"/auth/callback",
			"/auth/callback?state=x&code=y",
			"/auth/callback?error=access_denied",
		} {
			resp := attacker.Get(e.URL + u)
			want := http.StatusBadRequest
			if i >= 3 {
				want = http.StatusTooManyRequests
			}
			if resp.StatusCode != want {
				t.Fatalf("failed callback %d (%s): %d, want %d", i+1, u, resp.StatusCode, want)
			}
			if want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
		// A callback with a valid state whose code the provider refuses is a failure too.
		b := testenv.NewBrowser(t)
		p.QueueUser(testenv.AdminUser())
		cb, _ := url.Parse(b.AtProvider(b.ToProvider(e, "/")))
		setQuery(cb, "code", "not-the-code")
		if resp := b.Get(cb.String()); resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("a refused code over the budget: %d, want 429", resp.StatusCode)
		}
		// The administrator at the same address still signs in, more than once.
		signInWorks(t, e, p, testenv.NewBrowser(t))
		signInWorks(t, e, p, testenv.NewBrowser(t))
		if resp := attacker.Get(e.URL + "/auth/callback?state=x&code=y"); resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("the attacker after the good sign-ins: %d, want 429", resp.StatusCode)
		}
	})
}
