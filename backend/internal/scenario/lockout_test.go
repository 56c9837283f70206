package attack

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestGarbageTokensCannotLockOutAValidToken streams garbage tokens from one address, as
// anyone sharing the address (an office NAT, a proxy not in TRUSTED_PROXIES) could, while a
// CI job at the same address calls with its valid service token and an administrator with a
// session token: the garbage is refused, 401 and then 429, and every valid call succeeds.
func TestGarbageTokensCannotLockOutAValidToken(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		const budget = 5
		e := testenv.Start(t, db, testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": fmt.Sprint(budget)}})
		admin := e.SignIn("admin@example.com", true)
		ci := e.CreateToken(admin, map[string]any{"subject": "ci"})
		r := e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(admin))
		var st struct{ SessionToken string }
		r.JSON(t, &st)

		for i := range 60 {
			garbage := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(fmt.Sprintf("garbage.%d.sig", i)))
			want := http.StatusUnauthorized
			if i >= budget {
				want = http.StatusTooManyRequests
			}
			if garbage.Status != want {
				t.Fatalf("garbage token %d: %d, want %d", i+1, garbage.Status, want)
			}
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(ci.AccessToken)); r.Status != http.StatusOK {
				t.Fatalf("valid service token after %d garbage tokens: %d %s", i+1, r.Status, r.Body)
			}
			if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(st.SessionToken)); r.Status != http.StatusOK {
				t.Fatalf("valid session token after %d garbage tokens: %d %s", i+1, r.Status, r.Body)
			}
		}
	})
}
