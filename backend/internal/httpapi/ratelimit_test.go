package httpapi_test

import (
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
	// The attacker is now slowed down, whatever X-Forwarded-For it claims (no trusted proxies).
	for _, xff := range []string{"", "203.0.113.9", "10.0.0.1, 198.51.100.7"} {
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(good.AccessToken), testenv.Header("X-Forwarded-For", xff))
		wantProblem(t, r, http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	// Successful requests do not spend the failure budget; it refills with time.
	e.Clock.Advance(20 * time.Second)
	e.Sync()
	for range 3 {
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(good.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("after the wait: %d", r.Status)
		}
	}
}

func TestTrustedProxyGivesEachClientItsOwnBudget(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.1"}})
	for range 2 {
		wantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", "203.0.113.9")), http.StatusUnauthorized)
	}
	wantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", "203.0.113.9")), http.StatusTooManyRequests)
	// Behind the trusted proxy, another client is another address.
	wantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", "198.51.100.7")), http.StatusUnauthorized)
}

func TestSignInAttemptsAreLimited(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "2"}})
	for i := range 2 {
		if r := e.Do(http.MethodGet, "/auth/login", nil); r.Status == http.StatusTooManyRequests {
			t.Fatalf("attempt %d limited too early", i+1)
		}
	}
	if r := e.Do(http.MethodGet, "/auth/callback?state=x&code=y", nil); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third attempt: %d", r.Status)
	}
}
