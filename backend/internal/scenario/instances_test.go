package attack

import (
	"net/http"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestRevocationAcrossInstances runs two servers on one database: a token revoked through one
// is refused by it at once and by the other after it reads the revocation feed.
func TestRevocationAcrossInstances(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		clock := testenv.NewClock()
		a := testenv.Start(t, db, testenv.Settings{Clock: clock})
		b := testenv.Start(t, db, testenv.Settings{Clock: clock})
		admin := a.SignIn("admin@example.com", true)
		config := func(e *testenv.Env, tok string) *testenv.Response {
			t.Helper()
			return e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok))
		}

		// Minted on A, accepted on B at its first use there.
		tok := a.CreateToken(admin, map[string]any{"subject": "shared"})
		if r := config(b, tok.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("B refuses a token minted on A: %d %s", r.Status, r.Body)
		}
		if r := config(a, tok.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("A refuses its own token: %d %s", r.Status, r.Body)
		}

		// Revoked through A: A refuses at once, without reading the feed.
		a.Revoke(admin, tok.TokenID)
		testenv.WantInvalidToken(t, config(a, tok.AccessToken), tok.AccessToken)
		// B, which has the token cached, refuses it once it has read the feed.
		b.Sync()
		testenv.WantInvalidToken(t, config(b, tok.AccessToken), tok.AccessToken)
		// And keeps refusing it on later reads of the feed.
		clock.Advance(5 * time.Second)
		b.Sync()
		testenv.WantInvalidToken(t, config(b, tok.AccessToken), tok.AccessToken)

		// A token minted and revoked on A that B has never seen: refused by B even before
		// B reads the feed.
		clock.Advance(time.Second)
		a.Sync()
		other := a.CreateToken(admin, map[string]any{"subject": "never-seen-by-b"})
		a.Revoke(admin, other.TokenID)
		testenv.WantInvalidToken(t, config(b, other.AccessToken), other.AccessToken)

		// Revoked through B while A has it cached: the same the other way round.
		third := a.CreateToken(admin, map[string]any{"subject": "third"})
		if r := config(a, third.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("A refuses a new token: %d %s", r.Status, r.Body)
		}
		b.Revoke(admin, third.TokenID)
		testenv.WantInvalidToken(t, config(b, third.AccessToken), third.AccessToken)
		a.Sync()
		testenv.WantInvalidToken(t, config(a, third.AccessToken), third.AccessToken)
	})
}

// TestFailClosed checks that a server which has not read the revocation feed for more than ten
// seconds refuses service tokens with 503 instead of trusting its cache, and recovers.
func TestFailClosed(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		used := e.CreateToken(admin, map[string]any{"subject": "used"})
		unused := e.CreateToken(admin, map[string]any{"subject": "unused"})
		health := func() {
			t.Helper()
			if r := e.Do(http.MethodGet, "/healthz", nil); r.Status != http.StatusOK {
				t.Errorf("/healthz: %d %s, want 200", r.Status, r.Body)
			}
		}
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(used.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("fresh: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/readyz", nil); r.Status != http.StatusOK {
			t.Errorf("/readyz when fresh: %d %s", r.Status, r.Body)
		}
		health()

		e.Clock.Advance(11 * time.Second)
		for name, tok := range map[string]string{"cached": used.AccessToken, "never used": unused.AccessToken} {
			r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok))
			if r.Status != http.StatusServiceUnavailable {
				t.Errorf("%s token with a stale revocation feed: %d %s, want 503", name, r.Status, r.Body)
				continue
			}
			testenv.WantProblem(t, r, http.StatusServiceUnavailable)
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
		}
		if r := e.Do(http.MethodGet, "/readyz", nil); r.Status != http.StatusServiceUnavailable {
			t.Errorf("/readyz with a stale revocation feed: %d %s, want 503", r.Status, r.Body)
		}
		health()

		e.Sync()
		for name, tok := range map[string]string{"cached": used.AccessToken, "never used": unused.AccessToken} {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusOK {
				t.Errorf("%s token after the feed was read again: %d %s", name, r.Status, r.Body)
			}
		}
		if r := e.Do(http.MethodGet, "/readyz", nil); r.Status != http.StatusOK {
			t.Errorf("/readyz after the feed was read again: %d %s", r.Status, r.Body)
		}
		health()
	})
}
