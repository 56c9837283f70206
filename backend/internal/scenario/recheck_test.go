package attack

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestHandEditsAreEnforcedWithinTheRecheckInterval deletes one token's row and sets another's
// revoked_at by hand, with SQL, bypassing the revocation feed: both are still accepted from
// the cache before TOKEN_RECHECK_INTERVAL and refused after it. The statement counter shows
// the price: none per request, and exactly one re-check per token per interval, even with many
// requests at once. Before, a cached token was trusted until it expired.
func TestHandEditsAreEnforcedWithinTheRecheckInterval(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		var queries atomic.Int64
		e := testenv.Start(t, db, testenv.Settings{Store: store.Options{Queries: &queries}, Env: map[string]string{"TOKEN_RECHECK_INTERVAL": "5m"}})
		conn := sqlDB(t, db)
		admin := e.SignIn("admin@example.com", true)
		deleted := e.CreateToken(admin, map[string]any{"subject": "deleted-by-hand"})
		revoked := e.CreateToken(admin, map[string]any{"subject": "revoked-by-hand"})
		kept := e.CreateToken(admin, map[string]any{"subject": "kept"})
		all := []testenv.CreatedToken{deleted, revoked, kept}
		use := func(tok testenv.CreatedToken) int {
			t.Helper()
			return e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status
		}
		// advance moves the clock and reads the feed (one statement), then zeroes the count.
		advance := func(d time.Duration) {
			e.Clock.Advance(d)
			e.Sync()
			queries.Store(0)
		}
		queries.Store(0)
		for _, tok := range all {
			if s := use(tok); s != http.StatusOK {
				t.Fatalf("first use: %d", s)
			}
		}
		if n := queries.Load(); n != 3 {
			t.Errorf("first use of 3 tokens: %d statements, want 3 look-ups", n)
		}

		if _, err := conn.Exec("DELETE FROM service_tokens WHERE id = ?", deleted.TokenID); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec("UPDATE service_tokens SET revoked_at = ?, revoked_by = 'dba' WHERE id = ?", e.Clock.Now().UnixMilli(), revoked.TokenID); err != nil {
			t.Fatal(err)
		}
		advance(5*time.Minute - time.Second)
		for range 20 {
			for _, tok := range all {
				if s := use(tok); s != http.StatusOK {
					t.Fatalf("within the interval the cache answers: %d, want 200", s)
				}
			}
		}
		if n := queries.Load(); n != 0 {
			t.Errorf("60 requests within the interval: %d statements, want 0", n)
		}

		// Past the interval, 30 requests per token at once: one re-check each.
		advance(time.Second)
		client := e.HTTP.Client()
		var wg sync.WaitGroup
		for range 30 {
			for _, tok := range all {
				wg.Go(func() {
					req, _ := http.NewRequest(http.MethodGet, e.URL+"/api/system/config", nil)
					req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
					resp, err := client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
						t.Errorf("concurrent request: %d", resp.StatusCode)
					}
				})
			}
		}
		wg.Wait()
		if n := queries.Load(); n != 3 {
			t.Errorf("90 concurrent requests past the interval: %d statements, want 3 (one re-check per token)", n)
		}
		if s := use(deleted); s != http.StatusUnauthorized {
			t.Errorf("row deleted by hand, after the interval: %d, want 401", s)
		}
		if s := use(revoked); s != http.StatusUnauthorized {
			t.Errorf("revoked_at set by hand, after the interval: %d, want 401", s)
		}
		if s := use(kept); s != http.StatusOK {
			t.Errorf("untouched token: %d, want 200", s)
		}
		if n := queries.Load(); n != 3 {
			t.Errorf("refusing what a re-check found: %d more statements, want 0", n-3)
		}

		// The next interval: one statement for the one token still in use, whatever the traffic.
		advance(5 * time.Minute)
		for range 50 {
			if s := use(kept); s != http.StatusOK {
				t.Fatalf("untouched token, next interval: %d", s)
			}
		}
		if n := queries.Load(); n != 1 {
			t.Errorf("50 requests in the next interval: %d statements, want 1", n)
		}
	})
}

// TestClockSteppedBackDoesNotResurrect: a revoked token's entry is dropped once the token has
// expired; a clock then stepped back to before its expiry must not make it valid again on the
// instance that cached it. Before, it was accepted again (a cached, unexpired-looking token
// with no revocation entry left).
func TestClockSteppedBackDoesNotResurrect(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		clock := testenv.NewClock()
		short := testenv.Settings{Clock: clock, Env: map[string]string{"SERVICE_TOKEN_TTL": "1m"}}
		a := testenv.Start(t, db, short)
		b := testenv.Start(t, db, short)
		admin := a.SignIn("admin@example.com", true)
		cached := a.CreateToken(admin, map[string]any{"subject": "cached-on-b"})
		unseen := a.CreateToken(admin, map[string]any{"subject": "never-used-on-b"})
		use := func(tok testenv.CreatedToken) int {
			t.Helper()
			return b.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status
		}
		if s := use(cached); s != http.StatusOK {
			t.Fatalf("B: %d", s)
		}
		for _, tok := range []testenv.CreatedToken{cached, unseen} {
			if r := a.Do(http.MethodDelete, "/api/tokens/"+tok.TokenID, nil, a.As(admin)); r.Status != http.StatusNoContent {
				t.Fatalf("revoke: %d %s", r.Status, r.Body)
			}
		}
		b.Sync()
		if s := use(cached); s != http.StatusUnauthorized {
			t.Fatalf("revoked: %d, want 401", s)
		}
		clock.Set(testenv.Epoch.Add(2 * time.Minute))
		b.Sync() // both have expired: their revocation entries are dropped
		clock.Set(testenv.Epoch.Add(30 * time.Second))
		// The clock is 90 s behind B's last read of the feed: how old that read is cannot be
		// told, so B fails closed until it reads the feed again.
		if s := use(cached); s != http.StatusServiceUnavailable {
			t.Errorf("right after the clock stepped back: %d, want 503", s)
		}
		b.Sync()
		for name, tok := range map[string]testenv.CreatedToken{"cached": cached, "never used on B": unseen} {
			if s := use(tok); s != http.StatusUnauthorized {
				t.Errorf("%s, clock stepped back before its expiry: %d, want 401", name, s)
			}
		}
	})
}
