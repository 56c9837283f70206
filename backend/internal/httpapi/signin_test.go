package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// idp is an in-process OpenID Provider whose token responses a test can tamper with.
type idp struct {
	*mockoidc.MockOIDC
	mu     sync.Mutex
	tamper func(t *testing.T, idToken string) string
}

func startIDP(t *testing.T) *idp {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{MockOIDC: m}
	err = m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			tamper := p.tamper
			p.mu.Unlock()
			if r.URL.Path != mockoidc.TokenEndpoint || tamper == nil {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &body) == nil && body["id_token"] != nil {
				body["id_token"] = tamper(t, body["id_token"].(string))
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.Code)
			_ = json.NewEncoder(w).Encode(body)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

func (p *idp) setTamper(f func(t *testing.T, idToken string) string) {
	p.mu.Lock()
	p.tamper = f
	p.mu.Unlock()
}

// resign changes the ID token's claims and signs it again with the provider's own key.
func (p *idp) resign(change func(jwt.MapClaims)) func(*testing.T, string) string {
	return func(t *testing.T, raw string) string {
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
			t.Fatal(err)
		}
		change(claims)
		s, err := p.Keypair.SignJWT(claims)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// browser is a cookie-keeping HTTP client that does not follow redirects, so each hop is seen.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       20 * time.Second,
		Transport:     testenv.Validating(t, nil),
	}}
}

func (b *browser) get(u string) *http.Response {
	b.t.Helper()
	resp, err := b.client.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func (b *browser) cookie(base, name string) string {
	u, _ := url.Parse(base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// toProvider starts a sign-in and returns the provider's authorization URL.
func (b *browser) toProvider(e *testenv.Env, redirect string) *url.URL {
	b.t.Helper()
	resp := b.get(e.URL + "/auth/login?redirect=" + url.QueryEscape(redirect))
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("/auth/login: %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	return loc
}

// atProvider lets the provider authenticate (mockoidc signs in the queued user at once) and
// returns the callback URL it sends the browser back to.
func (b *browser) atProvider(auth *url.URL) string {
	b.t.Helper()
	resp := b.get(auth.String())
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("provider: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func (b *browser) me(e *testenv.Env) (int, map[string]any) {
	b.t.Helper()
	resp, err := b.client.Get(e.URL + "/api/auth/me")
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// csrf is the CSRF token the portal holds: GET /api/auth/me's csrfToken.
func (b *browser) csrf(e *testenv.Env) string {
	b.t.Helper()
	status, me := b.me(e)
	tok, _ := me["csrfToken"].(string)
	if status != http.StatusOK || tok == "" {
		b.t.Fatalf("me: %d %v, want the CSRF token", status, me)
	}
	return tok
}

func startWithIDP(t *testing.T, db testenv.DB) (*testenv.Env, *idp) {
	p := startIDP(t)
	cfg := p.Config()
	e := testenv.Start(t, db, testenv.Settings{
		// go-oidc checks ID token times against this clock; the provider uses the real one.
		Clock: testenv.NewClockAt(time.Now()),
		Env: map[string]string{
			"OIDC_ISSUER_URL": cfg.Issuer, "OIDC_CLIENT_ID": cfg.ClientID, "OIDC_CLIENT_SECRET": cfg.ClientSecret,
			"ADMIN_GROUPS": "codemetrics-admins", "ADMIN_EMAILS": "boss@example.com",
		},
	})
	return e, p
}

func admin() *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "u1", Email: "ada@example.com", EmailVerified: true, Groups: []string{"staff", "codemetrics-admins"}}
}

func TestSignInThroughTheProvider(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := startWithIDP(t, db)
		b := newBrowser(t)
		p.QueueUser(admin())

		auth := b.toProvider(e, "/admin/service-tokens?x=1")
		q := auth.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" ||
			q.Get("nonce") == "" || !strings.Contains(q.Get("scope"), "openid") || q.Get("redirect_uri") != e.URL+"/auth/callback" {
			t.Fatalf("authorization request lacks PKCE, state or nonce: %s", auth)
		}
		if strings.Contains(auth.String(), p.ClientSecret) {
			t.Fatal("the client secret is in the browser's URL")
		}
		resp := b.get(b.atProvider(auth))
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
		status, me := b.me(e)
		if status != http.StatusOK || me["email"] != "ada@example.com" || me["isAdmin"] != true ||
			!strings.Contains(me["adminReason"].(string), "codemetrics-admins") {
			t.Fatalf("/api/auth/me: %d %v", status, me)
		}

		evs, _ := e.Server.Audit.List(context.Background(), audit.Query{Action: "auth.signed_in"})
		if len(evs) != 1 || evs[0].Actor != "ada@example.com" {
			t.Errorf("sign-in audit events: %+v", evs)
		}
	})
}

func TestAdministratorByVerifiedEmail(t *testing.T) {
	e, p := startWithIDP(t, testenv.SQLite(t))
	b := newBrowser(t)
	p.QueueUser(&mockoidc.MockUser{Subject: "b", Email: "Boss@Example.com", EmailVerified: true})
	resp := b.get(b.atProvider(b.toProvider(e, "/")))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("callback: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, me := b.me(e); status != http.StatusOK || me["isAdmin"] != true || !strings.Contains(me["adminReason"].(string), "ADMIN_EMAILS") {
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
		tamper func(p *idp) func(*testing.T, string) string
		// alter changes the authorization URL (before the provider) or the callback URL (after).
		alterAuth     func(u *url.URL)
		alterCallback func(u *url.URL)
		wantStatus    int    // of the callback
		wantLocation  string // for 303s
		wantReason    string // in the callback's log line, for refusals
	}
	noneAlg := func(p *idp) func(*testing.T, string) string {
		return func(t *testing.T, raw string) string {
			parts := strings.Split(raw, ".")
			return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
		}
	}
	cases := map[string]attempt{
		"wrong state":      {user: admin(), alterCallback: func(u *url.URL) { setQuery(u, "state", "forged-state") }, wantStatus: 400, wantReason: "sign_in_expired"},
		"missing state":    {user: admin(), alterCallback: func(u *url.URL) { setQuery(u, "state", "") }, wantStatus: 400, wantReason: "sign_in_expired"},
		"no code":          {user: admin(), alterCallback: func(u *url.URL) { setQuery(u, "code", "") }, wantStatus: 400, wantReason: "sign_in_incomplete"},
		"provider says no": {user: admin(), alterCallback: func(u *url.URL) { setQuery(u, "error", "access_denied") }, wantStatus: 400, wantReason: "sign_in_refused"},
		"wrong nonce":      {user: admin(), alterAuth: func(u *url.URL) { setQuery(u, "nonce", "attacker-nonce") }, wantStatus: 400, wantReason: "id_token_invalid"},
		"other audience": {user: admin(), tamper: func(p *idp) func(*testing.T, string) string {
			return p.resign(func(c jwt.MapClaims) { c["aud"] = "some-other-client" })
		}, wantStatus: 400, wantReason: "id_token_invalid"},
		"expired ID token": {user: admin(), tamper: func(p *idp) func(*testing.T, string) string {
			return p.resign(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
		}, wantStatus: 400, wantReason: "id_token_invalid"},
		"other issuer": {user: admin(), tamper: func(p *idp) func(*testing.T, string) string {
			return p.resign(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })
		}, wantStatus: 400, wantReason: "id_token_invalid"},
		"unsigned ID token": {user: admin(), tamper: noneAlg, wantStatus: 400, wantReason: "id_token_invalid"},
		"wrongly signed ID token": {user: admin(), tamper: func(p *idp) func(*testing.T, string) string {
			return func(t *testing.T, raw string) string {
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
			e, p := startWithIDP(t, testenv.SQLite(t))
			if tc.tamper != nil {
				p.setTamper(tc.tamper(p))
			}
			b := newBrowser(t)
			p.QueueUser(tc.user)
			auth := b.toProvider(e, "/admin")
			if tc.alterAuth != nil {
				tc.alterAuth(auth)
			}
			cb, _ := url.Parse(b.atProvider(auth))
			if tc.alterCallback != nil {
				tc.alterCallback(cb)
			}
			resp := b.get(cb.String())
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("callback answered %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if got := requestLog(t, e, resp.Header.Get("X-Request-Id"))["reason"]; tc.wantReason != "" && got != tc.wantReason {
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
			if status, _ := b.me(e); status != http.StatusUnauthorized {
				t.Errorf("/api/auth/me = %d after a refused sign-in, want 401", status)
			}
			if tc.wantLocation == "/access-denied" {
				evs, _ := e.Server.Audit.List(context.Background(), audit.Query{Action: "auth.sign_in_denied"})
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
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := startWithIDP(t, db)
		b := newBrowser(t)
		p.QueueUser(admin())
		auth := b.toProvider(e, "/")
		loginCookie := b.cookie(e.URL, "codemetrics_login")
		cb := b.atProvider(auth)
		if resp := b.get(cb); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first callback: %d", resp.StatusCode)
		}

		// An attacker who captured the callback URL and the login cookie replays both.
		attacker := newBrowser(t)
		u, _ := url.Parse(e.URL)
		attacker.client.Jar.SetCookies(u, []*http.Cookie{{Name: "codemetrics_login", Value: loginCookie, Path: "/"}})
		if resp := attacker.get(cb); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("replayed callback: %d, want 400", resp.StatusCode)
		}
		if status, _ := attacker.me(e); status != http.StatusUnauthorized {
			t.Fatalf("replay made a session")
		}

		// The code itself, with a fresh sign-in state: the provider refuses a used code.
		attacker2 := newBrowser(t)
		p.QueueUser(admin())
		fresh := attacker2.toProvider(e, "/")
		oldCode, _ := url.Parse(cb)
		reuse, _ := url.Parse(e.URL + "/auth/callback")
		reuse.RawQuery = url.Values{"code": {oldCode.Query().Get("code")}, "state": {fresh.Query().Get("state")}}.Encode()
		if resp := attacker2.get(reuse.String()); resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("reused code: %d, want 401/400", resp.StatusCode)
		}
		if status, _ := attacker2.me(e); status != http.StatusUnauthorized {
			t.Fatalf("code reuse made a session")
		}
	})
}

func TestOpenRedirectsAreRefused(t *testing.T) {
	e, p := startWithIDP(t, testenv.SQLite(t))
	for _, target := range []string{"//evil.example", "/\\evil.example", "https:evil.example", "https://evil.example/",
		"/%2F%2Fevil.example", "%2F%2Fevil.example", "/\t/evil.example", "javascript:alert(1)", "/auth/login"} {
		t.Run(target, func(t *testing.T) {
			b := newBrowser(t)
			p.QueueUser(admin())
			resp := b.get(b.atProvider(b.toProvider(e, target)))
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
				t.Fatalf("redirect=%q sent the browser to %q (%d), want /", target, resp.Header.Get("Location"), resp.StatusCode)
			}
		})
	}
}

func TestPlantedSessionCookieIsReplacedAndSignOutEndsEverything(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := startWithIDP(t, db)
		// The attacker signs in as themselves and plants their session cookie in the victim's browser.
		planted := e.SignIn("mallory@example.com", true)
		b := newBrowser(t)
		u, _ := url.Parse(e.URL)
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "codemetrics_session", Value: planted.Cookie.Value, Path: "/"}})

		p.QueueUser(admin())
		b.get(b.atProvider(b.toProvider(e, "/")))
		got := b.cookie(e.URL, "codemetrics_session")
		if got == "" || got == planted.Cookie.Value {
			t.Fatalf("the session id was not renewed at sign-in")
		}
		if status, me := b.me(e); status != http.StatusOK || me["email"] != "ada@example.com" {
			t.Fatalf("me: %d %v", status, me)
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(planted)); r.Status != http.StatusUnauthorized {
			t.Errorf("the planted session still works: %d", r.Status)
		}

		// Take a session token, then sign out: the cookie and the token both stop working.
		csrf := b.csrf(e)
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/auth/session-token", nil)
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ SessionToken string }
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || st.SessionToken == "" {
			t.Fatalf("session token: %d", resp.StatusCode)
		}
		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(st.SessionToken)); r.Status != http.StatusOK {
			t.Fatalf("session token refused while signed in: %d", r.Status)
		}
		req, _ = http.NewRequest(http.MethodPost, e.URL+"/auth/logout", bytes.NewReader(nil))
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err = b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		if status, _ := b.me(e); status != http.StatusUnauthorized {
			t.Errorf("cookie still works after sign-out: %d", status)
		}
		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(st.SessionToken)); r.Status != http.StatusUnauthorized {
			t.Errorf("session token still works after sign-out: %d", r.Status)
		}
		evs, _ := e.Server.Audit.List(context.Background(), audit.Query{Action: "auth.signed_out"})
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
	p := startIDP(t)
	cfg := p.Config()
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{
		Clock: testenv.NewClockAt(time.Now()),
		Env: map[string]string{
			"OIDC_ISSUER_URL": cfg.Issuer, "OIDC_CLIENT_ID": cfg.ClientID, "OIDC_CLIENT_SECRET": cfg.ClientSecret,
			"ADMIN_GROUPS": "codemetrics-admins", "PUBLIC_URL": "https://codemetrics.example.com",
		},
	})
	p.QueueUser(admin())
	b := newBrowser(t)
	resp := b.get(e.URL + "/auth/login")
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
	cb, _ := url.Parse(b.atProvider(auth))
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/auth/callback?"+cb.RawQuery, nil)
	req.AddCookie(&http.Cookie{Name: login.Name, Value: login.Value})
	res, err := b.client.Do(req)
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
