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
