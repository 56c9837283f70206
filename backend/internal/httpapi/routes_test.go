package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/codemetrics/codemetrics/backend/internal/config"
	"github.com/codemetrics/codemetrics/backend/internal/server"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

const spaIndexMarker = "<div id=root>"

// TestRouting checks unknown API paths, wrong methods and the SPA's deep links.
func TestRouting(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)

	problems := []struct {
		method, path string
		opts         []testenv.Opt
		status       int
	}{
		{http.MethodGet, "/api/whatever", nil, 404},
		{http.MethodPost, "/api/whatever", nil, 404},
		{http.MethodGet, "/api/whatever", []testenv.Opt{e.As(admin)}, 404},
		{http.MethodGet, "/api", nil, 404},
		{http.MethodGet, "/api/tokens/x/y", []testenv.Opt{e.As(admin)}, 404},
		{http.MethodGet, "/auth/whatever", nil, 404},
		{http.MethodPut, "/api/tokens", nil, 405},
		{http.MethodPut, "/api/tokens", []testenv.Opt{e.As(admin)}, 405},
		{http.MethodPatch, "/api/tokens", nil, 405},
		{http.MethodGet, "/auth/logout", nil, 405},
	}
	for _, p := range problems {
		r := e.Do(p.method, p.path, nil, p.opts...)
		if r.Status != p.status {
			t.Errorf("%s %s: %d %s, want %d", p.method, p.path, r.Status, r.Body, p.status)
			continue
		}
		wantProblem(t, r, p.status)
		if p.status == 405 && p.path == "/api/tokens" {
			if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
				t.Errorf("%s %s: Allow %q, want GET and POST", p.method, p.path, allow)
			}
		}
	}

	for _, path := range []string{"/", "/admin/service-tokens", "/admin/service-tokens/abc", "/index.html", "/.keep"} {
		r := e.Do(http.MethodGet, path, nil)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Body), spaIndexMarker) {
			t.Errorf("GET %s: %d %q %s, want the SPA index as text/html", path, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	}
	if r := e.Do(http.MethodGet, "/assets/app.js", nil); r.Status != http.StatusOK || string(r.Body) != "console.log(1)" {
		t.Errorf("GET /assets/app.js: %d %s", r.Status, r.Body)
	}
}

// TestHiddenFilesNotServed starts a server whose web files include dot files, as a build may,
// and checks none of them is served.
func TestHiddenFilesNotServed(t *testing.T) {
	t.Parallel()
	db := testenv.SQLite(t)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"DATABASE_DRIVER": db.Driver, "DATABASE_DSN": db.DSN, "TOKEN_SIGNING_KEY": testenv.SigningKey}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "HIDDEN-FILE-CONTENT"
	srv, err := server.New(context.Background(), cfg, server.Options{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SPA: fstest.MapFS{
			"index.html":        {Data: []byte("<!doctype html><title>CodeMetrics</title>" + spaIndexMarker + "</div>")},
			".keep":             {Data: []byte(secret)},
			".env":              {Data: []byte("TOKEN_SIGNING_KEY=" + secret)},
			".git/config":       {Data: []byte(secret)},
			"assets/.gitignore": {Data: []byte(secret)},
			"assets/app.js":     {Data: []byte("console.log(1)")},
		},
		Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler)
	t.Cleanup(func() { hs.Close(); srv.Close() })

	for _, path := range []string{"/.keep", "/.env", "/.git/config", "/assets/.gitignore", "/assets/../.env", "/%2ekeep", "/assets/%2e%2e/.env", "/x/../.keep"} {
		resp, err := hs.Client().Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), secret) {
			t.Errorf("GET %s serves a hidden file: %d %s", path, resp.StatusCode, b)
		}
		if resp.StatusCode == http.StatusOK && !strings.Contains(string(b), spaIndexMarker) {
			t.Errorf("GET %s: 200 but not the index: %s", path, b)
		}
	}
	resp, err := hs.Client().Get(hs.URL + "/assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "console.log(1)" {
		t.Errorf("GET /assets/app.js: %d %s", resp.StatusCode, b)
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

	r := e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(admin))
	var st struct {
		SessionToken string `json:"sessionToken"`
	}
	r.JSON(t, &st)
	created := e.CreateToken(admin, map[string]any{"subject": "ci-pipeline"})
	steps := []struct {
		method, path string
		body         any
		opt          testenv.Opt
	}{
		{http.MethodGet, "/api/auth/me", nil, testenv.Cookie(admin)},
		{http.MethodGet, "/api/tokens", nil, testenv.Bearer(st.SessionToken)},
		{http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken)},
		{http.MethodPost, "/api/tokens", map[string]any{"subject": "x"}, testenv.Bearer(created.AccessToken)},
		{http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken + "x")},
		{http.MethodPost, "/api/tokens", map[string]any{"subject": "forged"}, testenv.Cookie(admin)},
		{http.MethodDelete, "/api/tokens/" + created.TokenID, nil, e.As(admin)},
		{http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken)},
		{http.MethodPost, "/auth/logout", nil, e.As(admin)},
		{http.MethodGet, "/api/tokens", nil, testenv.Bearer(st.SessionToken)},
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
		"session token":           st.SessionToken,
		"session token signature": strings.Split(st.SessionToken, ".")[2],
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
