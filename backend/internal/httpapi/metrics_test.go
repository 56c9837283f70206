package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

func scrape(t *testing.T, e *testenv.Env) string {
	t.Helper()
	rec := httptest.NewRecorder()
	e.Server.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestPrometheusMetrics(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"RATE_LIMIT_PER_MINUTE": "1"}})
	admin := e.SignIn("admin@example.com", true)
	c := e.CreateToken(admin, map[string]any{"subject": "ci"})
	e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(c.AccessToken))
	e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(c.AccessToken)) // over the limit
	e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("not-a-token"))
	e.Do(http.MethodDelete, "/api/tokens/"+c.TokenID, nil, e.As(admin))
	e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(c.AccessToken))

	out := scrape(t, e)
	for _, want := range []string{
		`codemetrics_http_requests_total{method="GET",route="/api/system/config",status="200"} 1`,
		`codemetrics_http_requests_total{method="POST",route="/api/tokens",status="201"} 1`,
		`codemetrics_auth_failures_total{reason="token_malformed"} 1`,
		`codemetrics_auth_failures_total{reason="token_revoked"} 1`,
		`codemetrics_tokens_issued_total 1`,
		`codemetrics_tokens_revoked_total 1`,
		`codemetrics_rate_limited_total{limit="token"} 1`,
		`codemetrics_database_errors_total 0`,
		`codemetrics_revocation_feed_age_seconds`,
		`codemetrics_http_request_duration_seconds_bucket{route="/api/system/config"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(out, c.AccessToken) || strings.Contains(out, admin.Cookie.Value) {
		t.Error("a secret appears in the metrics")
	}
	// Never on the public port.
	r := e.Do(http.MethodGet, "/metrics", nil)
	if r.Status != http.StatusNotFound || strings.Contains(string(r.Body), "codemetrics_") {
		t.Errorf("/metrics on the public port: %d", r.Status)
	}
}
