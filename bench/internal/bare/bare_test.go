package bare

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestBaseline: the baseline answers a valid service token that may read metrics with the
// configured bytes, and refuses what CodeMetrics refuses without a database: another key,
// another audience, an expired token, a missing scope.
func TestBaseline(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"version":"dev","tokenIssuer":"codemetrics"}`)
	h, err := NewRouter(Config{Key: key, Issuer: "codemetrics", PublicURL: "http://127.0.0.1:8080", SystemConfig: body}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	sign := func(k []byte, change func(jwt.MapClaims)) string {
		c := jwt.MapClaims{"jti": "t1", "sub": "ci", "iss": "codemetrics", "aud": audience, "token_use": "service",
			"scope": "metrics:read", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
		if change != nil {
			change(c)
		}
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	get := func(tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/system/config", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, got := get(sign(key, nil)); status != http.StatusOK || got != string(body) {
		t.Fatalf("valid token: %d %s", status, got)
	}
	for name, tok := range map[string]string{
		"other key":      sign([]byte("another-key-another-key-another-key"), nil),
		"other audience": sign(key, func(c jwt.MapClaims) { c["aud"] = "elsewhere" }),
		"expired":        sign(key, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }),
		"no scope":       sign(key, func(c jwt.MapClaims) { c["scope"] = "pipeline:write" }),
		"session token":  sign(key, func(c jwt.MapClaims) { c["token_use"] = "session" }),
	} {
		if status, _ := get(tok); status != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, status)
		}
	}
}

// BenchmarkBareJWTRouter is the baseline in-process, as httpapi's BenchmarkAuthMiddleware*
// measure CodeMetrics (make bench runs both): GET /api/system/config with a service token.
func BenchmarkBareJWTRouter(b *testing.B) {
	key := []byte("benchmark-signing-key-not-secret-0123456789abcdef")
	body := []byte(`{"version":"bench","databaseDriver":"sqlite","serviceTokenTtl":"8760h0m0s","serviceTokenTtlSeconds":31536000,` +
		`"tokenIssuer":"codemetrics","publicUrl":"http://127.0.0.1:8080","sessionTtl":"8h0m0s","sessionTtlSeconds":28800,"identityProvider":""}`)
	h, err := NewRouter(Config{Key: key, Issuer: "codemetrics", PublicURL: "http://127.0.0.1:8080", SystemConfig: body},
		slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"jti": "AAAAAAAAAAAAAAAAAAAAAA", "sub": "bench", "iss": "codemetrics",
		"aud": audience, "token_use": useService, "scope": metricsRead, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).SignedString(key)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/system/config", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
