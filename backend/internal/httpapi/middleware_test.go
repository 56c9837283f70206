package httpapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

var (
	methodLabel = regexp.MustCompile(`codemetrics_http_requests_total\{method="([^"]*)"`)
	logMethod   = regexp.MustCompile(`"method":"([^"]*)"`)
)

// series returns the request series of a scrape and the method label values in it.
func series(t *testing.T, e *testenv.Env) (int, map[string]bool) {
	t.Helper()
	methods := map[string]bool{}
	n := 0
	for _, line := range strings.Split(e.Metrics(), "\n") {
		if m := methodLabel.FindStringSubmatch(line); m != nil {
			n++
			methods[m[1]] = true
		}
	}
	return n, methods
}

func randomMethod(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + rand.IntN(26))
	}
	return string(b)
}

// A client choosing the method chooses nothing in the metrics: every method outside the known
// set is OTHER, so random methods grow no series, and none is echoed back either.
func TestRandomMethodsGrowNoSeries(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	paths := []string{"/api/tokens", "/api/no-such-thing", "/healthz", "/"}
	send := func(count, size int) {
		for i := range count {
			m := randomMethod(size)
			r := e.Do(m, paths[i%len(paths)], nil)
			if strings.Contains(string(r.Body), m[:64]) {
				t.Fatalf("%s answered %d echoing the method: %.200s", paths[i%len(paths)], r.Status, r.Body)
			}
		}
	}
	send(20, 1000)
	before, _ := series(t, e)
	send(280, 1000)
	send(8, 30_000)
	after, methods := series(t, e)
	if after != before {
		t.Errorf("%d request series after 20 random methods, %d after 308", before, after)
	}
	for m := range methods {
		if !strings.Contains(" GET HEAD POST PUT PATCH DELETE OPTIONS OTHER ", " "+m+" ") {
			t.Errorf("method label %.40q is not in the known set", m)
		}
	}
	if !methods["OTHER"] {
		t.Error("no OTHER series")
	}
	for _, m := range logMethod.FindAllStringSubmatch(e.Logs.String(), -1) {
		if len(m[1]) > 20 {
			t.Fatalf("a log line carries a %d-byte method", len(m[1]))
		}
	}
	// Known methods keep their own label; a 405 names only a known method.
	r := e.Do(http.MethodPut, "/api/tokens", nil)
	if p := testenv.WantProblem(t, r, http.StatusMethodNotAllowed); !strings.Contains(p.Detail, "PUT") {
		t.Errorf("405 detail %q does not name PUT", p.Detail)
	}
	if _, methods := series(t, e); !methods["PUT"] {
		t.Error("no PUT series")
	}
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

	out := e.Metrics()
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

// refusedOrLimited is the status of a client's i-th (from 0) request with a bad credential
// when its failure budget is budget: 401 within the budget, 429 beyond it.
func refusedOrLimited(i, budget int) int {
	if i >= budget {
		return http.StatusTooManyRequests
	}
	return http.StatusUnauthorized
}

// A client rotating X-Forwarded-For or X-Real-IP gets no fresh budget when no proxy is trusted.
func TestForwardedHeadersCannotDodgeTheFailureLimit(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "2"}})
	for i := range 20 {
		fake := fmt.Sprintf("198.51.100.%d", i+1)
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"),
			testenv.Header("X-Forwarded-For", fake), testenv.Header("X-Real-IP", fake))
		testenv.WantProblem(t, r, refusedOrLimited(i, 2))
	}
}

func TestTrustedProxyGivesEachClientItsOwnBudget(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.1"}})
	for range 2 {
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", "203.0.113.9")), http.StatusUnauthorized)
	}
	testenv.WantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", "203.0.113.9")), http.StatusTooManyRequests)
	// Behind the trusted proxy, another client is another address...
	testenv.WantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", "198.51.100.7")), http.StatusUnauthorized)
	// ...and what a client put before the proxy's own entry is not believed.
	testenv.WantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("bad"), testenv.Header("X-Forwarded-For", "192.0.2.55, 203.0.113.9")), http.StatusTooManyRequests)
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
		testenv.WantProblem(t, r, refusedOrLimited(i, 2))
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

// TestSecurityHeaders checks every kind of response carries the security headers and that no
// foreign origin is granted CORS access.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
	evil := testenv.Header("Origin", "https://evil.example")

	responses := []struct {
		name string
		r    *testenv.Response
	}{
		{"SPA index", e.Do(http.MethodGet, "/", nil)},
		{"SPA deep link", e.Do(http.MethodGet, "/admin/service-tokens", nil)},
		{"SPA asset", e.Do(http.MethodGet, "/assets/app.js", nil)},
		{"healthz", e.Do(http.MethodGet, "/healthz", nil)},
		{"readyz", e.Do(http.MethodGet, "/readyz", nil)},
		{"API list", e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin), evil)},
		{"API create", e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "x"}, e.As(admin))},
		{"API config", e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken), evil)},
		{"API 401", e.Do(http.MethodGet, "/api/tokens", nil, evil)},
		{"API 403 cross-origin", e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "x"}, e.As(admin), evil)},
		{"API 404", e.Do(http.MethodGet, "/api/whatever", nil, evil)},
		{"API 405", e.Do(http.MethodPut, "/api/tokens", nil)},
		{"preflight", e.Do(http.MethodOptions, "/api/tokens", nil, evil, testenv.Header("Access-Control-Request-Method", "POST"), testenv.Header("Access-Control-Request-Headers", "authorization, x-csrf-token"))},
	}
	for _, c := range responses {
		h := c.r.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s (%d): Content-Security-Policy %q", c.name, c.r.Status, csp)
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: Content-Security-Policy allows unsafe script: %q", c.name, csp)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s (%d): X-Content-Type-Options %q", c.name, c.r.Status, got)
		}
		if h.Get("Referrer-Policy") == "" {
			t.Errorf("%s (%d): no Referrer-Policy", c.name, c.r.Status)
		}
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers"} {
			if v := h.Get(k); v != "" {
				t.Errorf("%s: %s: %q granted to a foreign origin", c.name, k, v)
			}
		}
	}
}

// TestLogsNameCallersNotSecrets goes through the whole token workflow and reads the logs: they
// name each caller and never hold a secret.
func TestLogsNameCallersNotSecrets(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)

	sessionToken := e.SessionToken(admin)
	created := e.CreateToken(admin, map[string]any{"subject": "ci-pipeline"})
	steps := []struct {
		method, path string
		body         any
		opt          testenv.Opt
	}{
		{http.MethodGet, "/api/auth/me", nil, testenv.Cookie(admin)},
		{http.MethodGet, "/api/tokens", nil, testenv.Bearer(sessionToken)},
		{http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken)},
		{http.MethodPost, "/api/tokens", map[string]any{"subject": "x"}, testenv.Bearer(created.AccessToken)},
		{http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken + "x")},
		{http.MethodPost, "/api/tokens", map[string]any{"subject": "forged"}, testenv.Cookie(admin)},
		{http.MethodDelete, "/api/tokens/" + created.TokenID, nil, e.As(admin)},
		{http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken)},
		{http.MethodPost, "/auth/logout", nil, e.As(admin)},
		{http.MethodGet, "/api/tokens", nil, testenv.Bearer(sessionToken)},
	}
	for _, s := range steps {
		e.Do(s.method, s.path, s.body, s.opt)
	}
	e.Flush()

	logs := e.Logs.String()
	if !strings.Contains(logs, created.TokenID) {
		t.Errorf("the logs never name the token id %s", created.TokenID)
	}
	secrets := map[string]string{
		"service token":           created.AccessToken,
		"service token payload":   strings.Split(created.AccessToken, ".")[1],
		"service token signature": strings.Split(created.AccessToken, ".")[2],
		"session token":           sessionToken,
		"session token signature": strings.Split(sessionToken, ".")[2],
		"session cookie":          admin.Cookie.Value,
		"CSRF token":              admin.CSRF,
		"signing key":             testenv.SigningKey,
	}
	for name, v := range secrets {
		if strings.Contains(logs, v) {
			t.Errorf("the logs hold the %s", name)
		}
	}

	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	requests := 0
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("log line is not JSON: %s", sc.Text())
			continue
		}
		if line["msg"] != "request" {
			continue
		}
		requests++
		status, _ := line["status"].(float64)
		path, _ := line["path"].(string)
		// Every call that got past authentication (success, or 403) names its caller.
		if !strings.HasPrefix(path, "/api/") || (status >= 400 && status != http.StatusForbidden) {
			continue
		}
		switch {
		case line["token_id"] != nil:
			if line["token_id"] != created.TokenID || line["subject"] != "ci-pipeline" {
				t.Errorf("log line of a service-token call names the wrong token or subject: %s", sc.Text())
			}
		case line["user"] != nil:
			if line["user"] != "admin@example.com" {
				t.Errorf("log line of an administrator's call names the wrong user: %s", sc.Text())
			}
		default:
			t.Errorf("log line does not name the caller: %s", sc.Text())
		}
		if path == "/api/system/config" && line["token_id"] == nil {
			t.Errorf("log line of a service-token call does not name the token: %s", sc.Text())
		}
	}
	if requests < len(steps) {
		t.Errorf("%d request log lines for at least %d requests", requests, len(steps))
	}
	if !strings.Contains(logs, `"status":403`) || !strings.Contains(logs, `"status":401`) {
		t.Errorf("refused requests are not logged with their status")
	}
}

// statementsMetric is codemetrics_database_statements_total in a scrape of e.
func statementsMetric(t *testing.T, e *testenv.Env) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^codemetrics_database_statements_total (\d+)$`).FindStringSubmatch(e.Metrics())
	if m == nil {
		t.Fatal("no codemetrics_database_statements_total in the metrics")
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDatabaseStatementsMetric: codemetrics_database_statements_total counts what an instance
// sends its database (what docs/scaling.md's figures are read from): a creation adds to it, a
// request with a cached service token adds nothing.
func TestDatabaseStatementsMetric(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		before := statementsMetric(t, e)
		c := e.CreateToken(admin, map[string]any{"subject": "ci"})
		created := statementsMetric(t, e)
		if created <= before {
			t.Fatalf("statements %d before a token's creation, %d after", before, created)
		}
		e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(c.AccessToken)) // now cached
		warm := statementsMetric(t, e)
		for range 20 {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(c.AccessToken)); r.Status != http.StatusOK {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}
		if n := statementsMetric(t, e); n != warm {
			t.Errorf("20 requests with a cached token sent %d statements, want none", n-warm)
		}
	})
}
