package attack

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/golang-jwt/jwt/v5"
)

func forge(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestForgedTokensNeverReachTheDatabase sends forged tokens through real HTTP and counts the
// database statements they cause: none. A valid token costs one look-up, then none.
func TestForgedTokensNeverReachTheDatabase(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		var queries atomic.Int64
		e := testenv.Start(t, db, testenv.Settings{Store: store.Options{Queries: &queries}})
		admin := e.SignIn("admin@example.com", true)
		good := e.CreateToken(admin, map[string]any{"subject": "ci"})
		_, claims := parts(t, good.AccessToken)
		now := testenv.Epoch.Unix()
		other := []byte("another-deployment-signing-key-0123456789")
		forged := map[string]string{
			"alg none":          b64(`{"alg":"none","typ":"JWT"}`) + "." + b64json(t, claims) + ".",
			"another key":       forge(t, jwt.SigningMethodHS256, other, map[string]any{"kid": kidOf(t, good.AccessToken)}, claims),
			"expired":           forge(t, jwt.SigningMethodHS256, []byte(testenv.SigningKey), map[string]any{"kid": kidOf(t, good.AccessToken)}, with(claims, "exp", now-1)),
			"wrong audience":    forge(t, jwt.SigningMethodHS256, []byte(testenv.SigningKey), map[string]any{"kid": kidOf(t, good.AccessToken)}, with(claims, "aud", "other")),
			"kid SQL injection": forge(t, jwt.SigningMethodHS256, []byte(testenv.SigningKey), map[string]any{"kid": "' OR 1=1 --"}, claims),
			"kid path":          forge(t, jwt.SigningMethodHS256, []byte(""), map[string]any{"kid": "../../../../dev/null"}, claims),
			"garbage":           "eyJ.eyJ.sig",
		}
		queries.Store(0)
		for name, tok := range forged {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401", name, r.Status)
			}
		}
		if n := queries.Load(); n != 0 {
			t.Errorf("forged tokens caused %d database statements, want 0", n)
		}
		// Steady state: the first use looks the id up once; the next hundred cost nothing.
		for range 101 {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(good.AccessToken)); r.Status != http.StatusOK {
				t.Fatalf("valid token: %d", r.Status)
			}
		}
		if n := queries.Load(); n != 1 {
			t.Errorf("101 authenticated requests made %d database statements, want 1 (the first look-up)", n)
		}
	})
}
