package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// startLimitedIDP starts a server with a provider and a sign-in limit of perMinute failures.
func startLimitedIDP(t *testing.T, db testenv.DB, perMinute string) (*testenv.Env, *idp) {
	p := startIDP(t)
	cfg := p.Config()
	e := testenv.Start(t, db, testenv.Settings{
		Clock: testenv.NewClockAt(time.Now()),
		Env: map[string]string{
			"OIDC_ISSUER_URL": cfg.Issuer, "OIDC_CLIENT_ID": cfg.ClientID, "OIDC_CLIENT_SECRET": cfg.ClientSecret,
			"ADMIN_GROUPS": "codemetrics-admins", "AUTH_RATE_LIMIT_PER_MINUTE": perMinute,
		},
	})
	return e, p
}

// signInWorks signs the administrator in through the provider with browser b.
func signInWorks(t *testing.T, e *testenv.Env, p *idp, b *browser) {
	t.Helper()
	p.QueueUser(admin())
	resp := b.get(b.atProvider(b.toProvider(e, "/admin")))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("a good sign-in from the address: callback %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, me := b.me(e); status != http.StatusOK || me["email"] != "ada@example.com" {
		t.Fatalf("signed in, yet /api/auth/me = %d %v", status, me)
	}
}

// /auth/login is a redirect that gains an attacker nothing: hammering it from an address
// must not stop an administrator at that address (a shared office NAT, a proxy) signing in.
func TestLoginIsNotLimitedPerAddress(t *testing.T) {
	e, p := startLimitedIDP(t, testenv.SQLite(t), "3")
	anon := newBrowser(t)
	for i := range 100 {
		if resp := anon.get(e.URL + "/auth/login"); resp.StatusCode != http.StatusFound {
			t.Fatalf("/auth/login %d: %d", i+1, resp.StatusCode)
		}
	}
	signInWorks(t, e, p, newBrowser(t))
}

// Failed callbacks are counted per address and refused past the budget; a callback whose
// login state is valid and whose code the provider accepts always succeeds.
func TestFailedCallbacksAreLimitedButAGoodSignInIsNot(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := startLimitedIDP(t, db, "3")
		attacker := newBrowser(t)
		for i, u := range []string{
			"/auth/callback?state=x&code=y",
			"/auth/callback?error=access_denied",
			"/auth/callback",
			"/auth/callback?state=x&code=y",
			"/auth/callback?error=access_denied",
		} {
			resp := attacker.get(e.URL + u)
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
		b := newBrowser(t)
		p.QueueUser(admin())
		cb, _ := url.Parse(b.atProvider(b.toProvider(e, "/")))
		setQuery(cb, "code", "not-the-code")
		if resp := b.get(cb.String()); resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("a refused code over the budget: %d, want 429", resp.StatusCode)
		}
		// The administrator at the same address still signs in, more than once.
		signInWorks(t, e, p, newBrowser(t))
		signInWorks(t, e, p, newBrowser(t))
		if resp := attacker.get(e.URL + "/auth/callback?state=x&code=y"); resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("the attacker after the good sign-ins: %d, want 429", resp.StatusCode)
		}
	})
}
