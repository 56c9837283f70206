package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// IDP is an in-process OpenID Provider (mockoidc) whose token responses a test can tamper with.
// mockoidc signs in the user queued with QueueUser at once, without a login page.
type IDP struct {
	*mockoidc.MockOIDC
	t      testing.TB
	mu     sync.Mutex
	tamper func(t testing.TB, idToken string) string
}

// StartIDP starts a provider and stops it when the test ends.
func StartIDP(t testing.TB) *IDP {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &IDP{MockOIDC: m, t: t}
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

// Tamper has the provider pass every ID token it issues through f (nil: no longer).
func (p *IDP) Tamper(f func(t testing.TB, idToken string) string) {
	p.mu.Lock()
	p.tamper = f
	p.mu.Unlock()
}

// Resign is a tampering that changes the ID token's claims and signs it again with the
// provider's own key.
func (p *IDP) Resign(change func(jwt.MapClaims)) func(testing.TB, string) string {
	return func(t testing.TB, raw string) string {
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
			t.Error(err)
			return raw
		}
		change(claims)
		s, err := p.Keypair.SignJWT(claims)
		if err != nil {
			t.Error(err)
			return raw
		}
		return s
	}
}

// StartWithIDP starts a server that signs people in through a provider of its own: members of
// the group codemetrics-admins and boss@example.com (ADMIN_EMAILS) are administrators. env
// adds or replaces variables.
func StartWithIDP(t testing.TB, db DB, env map[string]string) (*Env, *IDP) {
	t.Helper()
	p := StartIDP(t)
	cfg := p.Config()
	vars := map[string]string{
		"OIDC_ISSUER_URL": cfg.Issuer, "OIDC_CLIENT_ID": cfg.ClientID, "OIDC_CLIENT_SECRET": cfg.ClientSecret,
		"ADMIN_GROUPS": "codemetrics-admins", "ADMIN_EMAILS": "boss@example.com",
	}
	maps.Copy(vars, env)
	// go-oidc checks ID token times against the server's clock; the provider uses the real one.
	e := Start(t, db, Settings{Clock: NewClockAt(time.Now()), Env: vars})
	return e, p
}

// ForEachIDP runs f as a subtest per database (ForEachDB), each on a server of its own that
// signs people in through its own provider (StartWithIDP, no extra variables), with a browser
// that has no cookies yet.
func ForEachIDP(t *testing.T, f func(t *testing.T, e *Env, p *IDP, b *Browser)) {
	ForEachDB(t, func(t *testing.T, db DB) {
		e, p := StartWithIDP(t, db, nil)
		f(t, e, p, NewBrowser(t))
	})
}

// AdminUser is ada@example.com, verified, a member of the administrators' group.
func AdminUser() *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "u1", Email: "ada@example.com", EmailVerified: true, Groups: []string{"staff", "codemetrics-admins"}}
}

// Browser is a cookie-keeping HTTP client that does not follow redirects, so each hop of a
// sign-in is seen. Its exchanges are checked against the OpenAPI document.
type Browser struct {
	T      testing.TB
	Client *http.Client
}

// NewBrowser returns a browser with no cookies.
func NewBrowser(t testing.TB) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{T: t, Client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       20 * time.Second,
		Transport:     Validating(t, nil),
	}}
}

// Get fetches u and returns the answer, its body read and closed.
func (b *Browser) Get(u string) *http.Response {
	b.T.Helper()
	resp, err := b.Client.Get(u)
	if err != nil {
		b.T.Fatalf("GET %s: %v", u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// Cookie returns the value of the browser's cookie name for base, "" when it has none.
func (b *Browser) Cookie(base, name string) string {
	u, _ := url.Parse(base)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Plant puts a cookie for base into the browser, as another site or an attacker could.
func (b *Browser) Plant(base, name, value string) {
	u, _ := url.Parse(base)
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// ToProvider starts a sign-in and returns the provider's authorization URL.
func (b *Browser) ToProvider(e *Env, redirect string) *url.URL {
	b.T.Helper()
	resp := b.Get(e.URL + "/auth/login?redirect=" + url.QueryEscape(redirect))
	if resp.StatusCode != http.StatusFound {
		b.T.Fatalf("/auth/login: %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		b.T.Fatal(err)
	}
	return loc
}

// AtProvider lets the provider authenticate (the queued user, at once) and returns the
// callback URL it sends the browser back to.
func (b *Browser) AtProvider(auth *url.URL) string {
	b.T.Helper()
	resp := b.Get(auth.String())
	if resp.StatusCode != http.StatusFound {
		b.T.Fatalf("provider: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// SignIn runs the whole sign-in of user, back to /, and returns the callback's answer.
func (b *Browser) SignIn(e *Env, p *IDP, user *mockoidc.MockUser) *http.Response {
	b.T.Helper()
	p.QueueUser(user)
	return b.Get(b.AtProvider(b.ToProvider(e, "/")))
}

// Me returns GET /api/auth/me's status and body.
func (b *Browser) Me(e *Env) (int, map[string]any) {
	b.T.Helper()
	resp, err := b.Client.Get(e.URL + "/api/auth/me")
	if err != nil {
		b.T.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// CSRF is the CSRF token the portal holds: GET /api/auth/me's csrfToken.
func (b *Browser) CSRF(e *Env) string {
	b.T.Helper()
	status, me := b.Me(e)
	tok, _ := me["csrfToken"].(string)
	if status != http.StatusOK || tok == "" {
		b.T.Fatalf("me: %d %v, want the CSRF token", status, me)
	}
	return tok
}

// Send makes a request from the browser with the CSRF token csrf and the page's Origin, as the
// portal does, body as JSON unless nil. The caller closes the answer's body.
func (b *Browser) Send(method, u, csrf string, body any) *http.Response {
	b.T.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			b.T.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		b.T.Fatal(err)
	}
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host) // what a browser sends with a POST
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.T.Fatalf("%s %s: %v", method, u, err)
	}
	return resp
}

// SessionToken takes a session token with the browser's cookie and CSRF token.
func (b *Browser) SessionToken(e *Env) string {
	b.T.Helper()
	resp := b.Send(http.MethodPost, e.URL+"/api/auth/session-token", b.CSRF(e), nil)
	defer resp.Body.Close()
	var st struct {
		SessionToken string `json:"sessionToken"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&st)
	if resp.StatusCode != http.StatusOK || st.SessionToken == "" {
		b.T.Fatalf("session token: %d", resp.StatusCode)
	}
	return st.SessionToken
}
