package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

const proxyWarning = "requests arrive through a proxy that is not in TRUSTED_PROXIES"

// Behind https with no TRUSTED_PROXIES, a request from a loopback or private address carrying
// X-Forwarded-For is a proxy nobody listed: every client then shares its address. The
// operator is told once in the log and in /readyz, which stays ready.
func TestUnlistedProxyIsReported(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"PUBLIC_URL": "https://codemetrics.example.com"}})
	if !strings.Contains(e.Logs.String(), "PUBLIC_URL is https but TRUSTED_PROXIES is unset") {
		t.Error("no start-up hint for https without TRUSTED_PROXIES")
	}
	readyz := func() map[string]any {
		t.Helper()
		r := e.Do(http.MethodGet, "/readyz", nil)
		var body map[string]any
		r.JSON(t, &body)
		if r.Status != http.StatusOK || body["status"] != "ready" {
			t.Fatalf("/readyz: %d %v", r.Status, body)
		}
		return body
	}
	e.Do(http.MethodGet, "/healthz", nil)
	if _, ok := readyz()["proxy"]; ok || strings.Contains(e.Logs.String(), proxyWarning) {
		t.Fatal("a proxy reported before any request came through one")
	}
	for range 3 {
		e.Do(http.MethodGet, "/healthz", nil, testenv.Header("X-Forwarded-For", "203.0.113.9"))
	}
	if got := strings.Count(e.Logs.String(), proxyWarning); got != 1 {
		t.Errorf("the warning was logged %d times, want once", got)
	}
	if !strings.Contains(e.Logs.String(), `"proxy":"127.0.0.1"`) {
		t.Error("the warning does not name the proxy's address")
	}
	if msg, _ := readyz()["proxy"].(string); !strings.HasPrefix(msg, proxyWarning) {
		t.Errorf("/readyz proxy = %q", msg)
	}
}

func TestNoProxyWarningWhenNotNeeded(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"proxy listed": {"PUBLIC_URL": "https://codemetrics.example.com", "TRUSTED_PROXIES": "127.0.0.1"},
		"plain http":   {},
	} {
		t.Run(name, func(t *testing.T) {
			e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: env})
			e.Do(http.MethodGet, "/healthz", nil, testenv.Header("X-Forwarded-For", "203.0.113.9"))
			r := e.Do(http.MethodGet, "/readyz", nil)
			if strings.Contains(string(r.Body), "proxy") || strings.Contains(e.Logs.String(), proxyWarning) ||
				strings.Contains(e.Logs.String(), "TRUSTED_PROXIES is unset") {
				t.Errorf("warned needlessly: %s", r.Body)
			}
		})
	}
}
