package scenario

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// TestRevocationAcrossInstances runs two servers on one database: a token revoked through one
// is refused by it at once and by the other after it reads the revocation feed.
func TestRevocationAcrossInstances(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		a, b := testenv.StartTwo(t, db)
		admin := a.SignIn("admin@example.com", true)
		config := func(e *testenv.Env, tok string) *testenv.Response {
			t.Helper()
			return e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok))
		}

		// revokeThrough revokes tok through one instance, which refuses it at once, without
		// reading the feed; the other, which has it cached, refuses it once it has read the feed.
		revokeThrough := func(one, other *testenv.Env, tok testenv.CreatedToken) {
			t.Helper()
			one.Revoke(admin, tok.TokenID)
			testenv.WantInvalidToken(t, config(one, tok.AccessToken), tok.AccessToken)
			other.Sync()
			testenv.WantInvalidToken(t, config(other, tok.AccessToken), tok.AccessToken)
		}

		// Minted on A, accepted on B at its first use there.
		tok := a.CreateToken(admin, map[string]any{"subject": "shared"})
		if r := config(b, tok.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("B refuses a token minted on A: %d %s", r.Status, r.Body)
		}
		if r := config(a, tok.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("A refuses its own token: %d %s", r.Status, r.Body)
		}

		// Revoked through A, which refuses it at once; B, which has it cached, after its read.
		revokeThrough(a, b, tok)
		// And keeps refusing it on later reads of the feed.
		a.Clock.Advance(5 * time.Second)
		b.Sync()
		testenv.WantInvalidToken(t, config(b, tok.AccessToken), tok.AccessToken)

		// A token minted and revoked on A that B has never seen: refused by B even before
		// B reads the feed.
		a.Clock.Advance(time.Second)
		a.Sync()
		other := a.CreateToken(admin, map[string]any{"subject": "never-seen-by-b"})
		a.Revoke(admin, other.TokenID)
		testenv.WantInvalidToken(t, config(b, other.AccessToken), other.AccessToken)

		// Revoked through B while A has it cached: the same the other way round.
		third := a.CreateToken(admin, map[string]any{"subject": "third"})
		if r := config(a, third.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("A refuses a new token: %d %s", r.Status, r.Body)
		}
		revokeThrough(b, a, third)
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
			a.Revoke(admin, tok.TokenID)
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

// TestSigningKeyRotation follows the README's procedure: the new key signs, the old one still
// verifies until it is dropped, and then its tokens are refused.
func TestSigningKeyRotation(t *testing.T) {
	db := testenv.SQLite(t)
	const oldKey, newKey = testenv.SigningKey, "rotated-signing-key-0123456789-abcdefghijklmn"
	clock := testenv.NewClock()

	before := testenv.Start(t, db, testenv.Settings{Clock: clock})
	admin := before.SignIn("admin@example.com", true)
	old := before.CreateToken(admin, map[string]any{"subject": "made-before-rotation"})

	// Step 1: the new key signs; the old one is listed as previous.
	during := testenv.Start(t, db, testenv.Settings{Clock: clock, Env: map[string]string{
		"TOKEN_SIGNING_KEY": newKey, "TOKEN_SIGNING_KEYS_PREVIOUS": oldKey,
	}})
	if r := during.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(old.AccessToken)); r.Status != http.StatusOK {
		t.Fatalf("token signed with the previous key: %d %s", r.Status, r.Body)
	}
	admin2 := during.SignIn("admin@example.com", true)
	fresh := during.CreateToken(admin2, map[string]any{"subject": "made-after-rotation"})
	header, _ := jwttest.Parts(t, fresh.AccessToken)
	if header["kid"] != token.KeyID([]byte(newKey)) || header["kid"] == token.KeyID([]byte(oldKey)) {
		t.Errorf("new tokens carry kid %v, want the new key's", header["kid"])
	}

	// Step 2, once old tokens are replaced: the previous key is dropped and its tokens stop working.
	after := testenv.Start(t, db, testenv.Settings{Clock: clock, Env: map[string]string{"TOKEN_SIGNING_KEY": newKey}})
	r := after.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(old.AccessToken))
	testenv.WantProblem(t, r, http.StatusUnauthorized)
	if r := after.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(fresh.AccessToken)); r.Status != http.StatusOK {
		t.Fatalf("token signed with the new key: %d", r.Status)
	}
	if strings.Contains(after.Logs.String(), newKey) || strings.Contains(during.Logs.String(), oldKey) {
		t.Error("a signing key appears in the logs")
	}
}
