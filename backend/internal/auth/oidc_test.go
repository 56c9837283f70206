package auth_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// signInFixture is auth.SignIn against a provider of its own, its used states in a real store.
type signInFixture struct {
	*auth.SignIn
	idp   *testenv.IDP
	clock *testenv.Clock
}

func newSignIn(t *testing.T) signInFixture {
	t.Helper()
	p := testenv.StartIDP(t)
	cfg := p.Config()
	// go-oidc checks the ID token's times against this clock; the provider uses the real one.
	clock := testenv.NewClockAt(time.Now())
	si := auth.NewSignIn(auth.OIDCConfig{
		Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: "http://codemetrics.test/auth/callback",
		AdminEmails: []string{"Boss@Example.com"}, AdminGroups: []string{"codemetrics-admins"},
		StateKey: []byte("state-key-0123456789-abcdefghijklmnop"), Now: clock.Now,
	}, testenv.Store(t, testenv.SQLite(t)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	return signInFixture{SignIn: si, idp: p, clock: clock}
}

// callback is a sign-in that went to the provider as user and came back: the login-state
// cookie, and the state and code of the callback.
type callback struct{ cookie, state, code string }

func (f signInFixture) toProviderAndBack(t *testing.T, user *mockoidc.MockUser, redirect string) callback {
	t.Helper()
	authURL, cookie, err := f.Begin(context.Background(), redirect)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("authorization URL without PKCE, nonce or state: %s", authURL)
	}
	f.idp.QueueUser(user)
	back, err := url.Parse(testenv.NewBrowser(t).AtProvider(u))
	if err != nil {
		t.Fatal(err)
	}
	return callback{cookie: cookie, state: back.Query().Get("state"), code: back.Query().Get("code")}
}

// TestFinishDecidesWhoIsAnAdministrator: a group of ADMIN_GROUPS (the claim a list or one
// string) or a verified email of ADMIN_EMAILS makes an administrator, with the reason shown to
// them; an unverified email of ADMIN_EMAILS does not, and the reason says why.
func TestFinishDecidesWhoIsAnAdministrator(t *testing.T) {
	f := newSignIn(t)
	for _, tc := range []struct {
		name    string
		user    *mockoidc.MockUser
		groups  any // the groups claim as the provider sends it, when not the user's list
		admin   bool
		because string
	}{
		{"group member", testenv.AdminUser(), nil, true, "member of group codemetrics-admins (ADMIN_GROUPS)"},
		{"groups as one string", &mockoidc.MockUser{Subject: "g", Email: "g@example.com", EmailVerified: true}, "codemetrics-admins", true, "member of group codemetrics-admins"},
		{"verified email of ADMIN_EMAILS", &mockoidc.MockUser{Subject: "b", Email: "boss@example.COM", EmailVerified: true}, nil, true, "email boss@example.COM is in ADMIN_EMAILS"},
		{"unverified email of ADMIN_EMAILS", &mockoidc.MockUser{Subject: "x", Email: "boss@example.com"}, nil, false, "has not verified it"},
		{"anyone else", &mockoidc.MockUser{Subject: "v", Email: "viewer@example.com", EmailVerified: true, Groups: []string{"engineering"}}, nil, false, "not in ADMIN_EMAILS and in no group of ADMIN_GROUPS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.idp.Tamper(nil)
			if tc.groups != nil {
				f.idp.Tamper(f.idp.Resign(func(c jwt.MapClaims) { c["groups"] = tc.groups }))
			}
			cb := f.toProviderAndBack(t, tc.user, "/admin?tab=1")
			out, err := f.Finish(context.Background(), cb.cookie, cb.state, cb.code)
			if err != nil {
				t.Fatal(err)
			}
			id := out.Identity
			if out.Redirect != "/admin?tab=1" || id.IsAdmin != tc.admin || !strings.Contains(id.Reason, tc.because) ||
				id.Subject != tc.user.Subject || id.Email != tc.user.Email || id.EmailVerified != tc.user.EmailVerified || id.Issuer != f.idp.Config().Issuer {
				t.Errorf("Finish = %+v, want admin %v because %q", out, tc.admin, tc.because)
			}
		})
	}
}

// TestFinishRefusesWhatIsNotThisSignIn: a callback whose state, login cookie or code is not
// this sign-in's, one that comes back too late, and one used twice are each refused with
// their reason, before a session could be started.
func TestFinishRefusesWhatIsNotThisSignIn(t *testing.T) {
	f := newSignIn(t)
	ctx := context.Background()
	cb := f.toProviderAndBack(t, testenv.AdminUser(), "/")
	other := f.toProviderAndBack(t, testenv.AdminUser(), "/")
	for _, tc := range []struct {
		name                string
		cookie, state, code string
		reason              apperr.Reason
	}{
		{"another sign-in's state", cb.cookie, other.state, cb.code, apperr.SignInExpired},
		{"no state", cb.cookie, "", cb.code, apperr.SignInExpired},
		{"another browser's cookie", other.cookie, cb.state, cb.code, apperr.SignInExpired},
		{"a cookie altered", cb.cookie[:len(cb.cookie)-2] + "xx", cb.state, cb.code, apperr.SignInExpired},
		{"no cookie", "", cb.state, cb.code, apperr.SignInExpired},
		{"no code", cb.cookie, cb.state, "", apperr.SignInIncomplete},
	} {
		if _, err := f.Finish(ctx, tc.cookie, tc.state, tc.code); apperr.ReasonOf(err) != tc.reason {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.reason)
		}
	}
	if _, err := f.Finish(ctx, cb.cookie, cb.state, cb.code); err != nil {
		t.Fatalf("the sign-in itself after the refusals: %v", err)
	}
	if _, err := f.Finish(ctx, cb.cookie, cb.state, cb.code); apperr.ReasonOf(err) != apperr.SignInReplayed {
		t.Errorf("the same callback again: %v, want sign_in_replayed", err)
	}
	f.clock.Advance(auth.LoginStateTTL)
	if _, err := f.Finish(ctx, other.cookie, other.state, other.code); apperr.ReasonOf(err) != apperr.SignInExpired {
		t.Errorf("a callback after LoginStateTTL: %v, want sign_in_expired", err)
	}
}

// TestBeginSaysWhenTheProviderCannotBeReached: sign-in is unavailable, not broken, while the
// provider is down, and says so.
func TestBeginSaysWhenTheProviderCannotBeReached(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	si := auth.NewSignIn(auth.OIDCConfig{Issuer: dead, ClientID: "c", StateKey: []byte("k"), Now: time.Now}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, _, err := si.Begin(context.Background(), "/"); apperr.ReasonOf(err) != apperr.IdPUnavailable || !strings.Contains(apperr.MessageOf(err), dead) {
		t.Errorf("Begin with the provider down: %v, want idp_unavailable naming %s", err, dead)
	}
}

// TestSafeRedirect: only a path on this site comes back; whatever a browser would take to
// another host, or back into the sign-in, becomes "/".
func TestSafeRedirect(t *testing.T) {
	for target, want := range map[string]string{
		"/admin/service-tokens?x=1#top": "/admin/service-tokens?x=1#top",
		"/":                             "/",
		"":                              "/",
		"admin":                         "/",
		"//evil.example":                "/",
		"/\\evil.example":               "/",
		"/%2F%2Fevil.example":           "/",
		"/%5Cevil.example":              "/",
		"https://evil.example/":         "/",
		"https:evil.example":            "/",
		"javascript:alert(1)":           "/",
		"/\t/evil.example":              "/",
		"/ok\r\nSet-Cookie: x=y":        "/",
		"/auth/login":                   "/",
		"/" + strings.Repeat("a", 2048): "/",
	} {
		if got := auth.SafeRedirect(target); got != want {
			t.Errorf("SafeRedirect(%.40q) = %q, want %q", target, got, want)
		}
	}
}
