package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

func TestPerTokenRateLimit(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db, testenv.Settings{Env: map[string]string{"RATE_LIMIT_PER_MINUTE": "3"}})
		admin := e.SignIn("admin@example.com", true)
		busy := e.CreateToken(admin, map[string]any{"subject": "busy"})
		calm := e.CreateToken(admin, map[string]any{"subject": "calm"})

		for i, want := range []string{"remaining=2", "remaining=1", "remaining=0"} {
			r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(busy.AccessToken))
			if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("RateLimit"), want) || r.Header.Get("RateLimit-Policy") != "3;w=60" {
				t.Fatalf("request %d: %d RateLimit=%q Policy=%q", i+1, r.Status, r.Header.Get("RateLimit"), r.Header.Get("RateLimit-Policy"))
			}
		}
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(busy.AccessToken))
		wantProblem(t, r, http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") != "20" {
			t.Errorf("Retry-After %q, want 20 (one request every 20 s at 3 a minute)", r.Header.Get("Retry-After"))
		}
		// Another token has its own budget; administrators are not limited by tokens' budgets.
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(calm.AccessToken)); r.Status != http.StatusOK {
			t.Errorf("another token: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin)); r.Status != http.StatusOK {
			t.Errorf("administrator: %d", r.Status)
		}

		e.Clock.Advance(20 * time.Second)
		e.Sync()
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(busy.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("after waiting Retry-After: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(busy.AccessToken)); r.Status != http.StatusTooManyRequests {
			t.Fatalf("one request refilled, not two: %d", r.Status)
		}
	})
}

func TestFailedAuthenticationsAreLimitedPerAddress(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "3"}})
	admin := e.SignIn("admin@example.com", true)
	good := e.CreateToken(admin, map[string]any{"subject": "ci"})

	for i := range 3 {
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("forged."+strings.Repeat("x", i+1)+".sig"))
		wantProblem(t, r, http.StatusUnauthorized)
	}
	// The guesser is now slowed down, whatever X-Forwarded-For or X-Real-IP it claims (no
	// trusted proxies)...
	for _, h := range [][2]string{{"X-Forwarded-For", ""}, {"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-For", "10.0.0.1, 198.51.100.7"}, {"X-Real-IP", "198.51.100.8"}} {
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("forged.again.sig"), testenv.Header(h[0], h[1]))
		wantProblem(t, r, http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	// ...but a valid token from the same address is never refused for others' failures, and
	// its successes do not spend the failure budget.
	for range 5 {
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(good.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("valid token from the failing address: %d %s", r.Status, r.Body)
		}
	}
	// The failure budget refills with time.
	e.Clock.Advance(20 * time.Second)
	e.Sync()
	wantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("forged.later.sig")), http.StatusUnauthorized)
	wantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("forged.later.sig")), http.StatusTooManyRequests)
}

// A client rotating X-Forwarded-For or X-Real-IP gets no fresh budget when no proxy is trusted.
func TestForwardedHeadersCannotDodgeTheFailureLimit(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "2"}})
	for i := range 20 {
		fake := fmt.Sprintf("198.51.100.%d", i+1)
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"),
			testenv.Header("X-Forwarded-For", fake), testenv.Header("X-Real-IP", fake))
		want := http.StatusUnauthorized
		if i >= 2 {
			want = http.StatusTooManyRequests
		}
		wantProblem(t, r, want)
	}
}

func TestTrustedProxyGivesEachClientItsOwnBudget(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.1"}})
	for range 2 {
		wantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", "203.0.113.9")), http.StatusUnauthorized)
	}
	wantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", "203.0.113.9")), http.StatusTooManyRequests)
	// Behind the trusted proxy, another client is another address...
	wantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", "198.51.100.7")), http.StatusUnauthorized)
	// ...and what a client put before the proxy's own entry is not believed.
	wantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", "192.0.2.55, 203.0.113.9")), http.StatusTooManyRequests)
	if !strings.Contains(e.Logs.String(), `"client_ip":"198.51.100.7"`) {
		t.Error("the log does not name the client the proxy forwarded for")
	}
}

// X-Real-IP is believed from nobody: proxies that append X-Forwarded-For commonly pass a
// client's own X-Real-IP through, so even through a trusted proxy it is client input.
func TestXRealIPIsNotBelievedEvenFromATrustedProxy(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.1"}})
	for i := range 5 {
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Real-IP", fmt.Sprintf("198.51.100.%d", i+1)))
		want := http.StatusUnauthorized
		if i >= 2 {
			want = http.StatusTooManyRequests
		}
		wantProblem(t, r, want)
	}
}

// An IPv6 client has a whole /64 to pick addresses from: it is one client.
func TestIPv6ClientsAreLimitedByTheirSlash64(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.1"}})
	for i, c := range []struct {
		addr string
		want int
	}{
		{"2001:db8:1:2::1", http.StatusUnauthorized},
		{"2001:db8:1:2::2", http.StatusUnauthorized},
		{"2001:db8:1:2:ffff:1:2:3", http.StatusTooManyRequests}, // same /64
		{"2001:db8:1:3::1", http.StatusUnauthorized},            // next /64
		{"::ffff:192.0.2.1", http.StatusUnauthorized},
		{"192.0.2.1", http.StatusUnauthorized}, // the same IPv4 client: its second failure
		{"::ffff:192.0.2.1", http.StatusTooManyRequests},
	} {
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", c.addr))
		if r.Status != c.want {
			t.Errorf("%d: from %s: %d, want %d", i+1, c.addr, r.Status, c.want)
		}
	}
}

// Session tokens have a budget per session, as service tokens have one per token: minting
// more session tokens from one session adds no budget.
func TestSessionTokensAreRateLimited(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db, testenv.Settings{Env: map[string]string{"RATE_LIMIT_PER_MINUTE": "3"}})
		sessionToken := func(s testenv.Session) string {
			t.Helper()
			r := e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(s))
			if r.Status != http.StatusOK {
				t.Fatalf("session token: %d %s", r.Status, r.Body)
			}
			var out struct{ SessionToken string }
			r.JSON(t, &out)
			return out.SessionToken
		}
		admin := e.SignIn("admin@example.com", true)
		first, second := sessionToken(admin), sessionToken(admin)
		for i, want := range []string{"remaining=2", "remaining=1"} {
			r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(first))
			if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("RateLimit"), want) || r.Header.Get("RateLimit-Policy") != "3;w=60" {
				t.Fatalf("request %d: %d RateLimit=%q Policy=%q", i+1, r.Status, r.Header.Get("RateLimit"), r.Header.Get("RateLimit-Policy"))
			}
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(second)); r.Status != http.StatusOK || !strings.Contains(r.Header.Get("RateLimit"), "remaining=0") {
			t.Fatalf("the second token of the session: %d %q", r.Status, r.Header.Get("RateLimit"))
		}
		r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(first))
		wantProblem(t, r, http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") != "20" {
			t.Errorf("Retry-After %q, want 20", r.Header.Get("Retry-After"))
		}
		wantProblem(t, e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(sessionToken(admin))), http.StatusTooManyRequests)
		// Another person's session has its own budget; the portal's cookie is not limited.
		other := e.SignIn("other@example.com", true)
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(sessionToken(other))); r.Status != http.StatusOK {
			t.Errorf("another session: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, e.As(admin)); r.Status != http.StatusOK {
			t.Errorf("the portal's cookie: %d", r.Status)
		}
		e.Clock.Advance(20 * time.Second)
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(second)); r.Status != http.StatusOK {
			t.Errorf("after Retry-After: %d", r.Status)
		}
	})
}
