package token

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	lru "github.com/hashicorp/golang-lru/v2"
)

// GuardOptions tune a Guard; zero values take the defaults.
type GuardOptions struct {
	// CacheSize bounds the verified-token cache (default 50,000 tokens).
	CacheSize int
	// MaxStaleness is how old the last successful revocation-feed read may be before service
	// tokens are refused with 503: the guard fails closed when it cannot know of revocations.
	MaxStaleness time.Duration
}

// Guard verifies bearer tokens on the request path. In the steady state a service token costs
// no database round trip: a verified token is cached by its value, revocations arrive through
// a feed polled from the database (Sync), and last-use times are written in batches (Flush).
type Guard struct {
	keys     *Keyring
	store    Store
	now      func() time.Time
	log      *slog.Logger
	maxStale time.Duration

	verified *lru.Cache[string, *verifiedToken]
	// revoked holds id -> expiry (unix seconds) of revoked, unexpired tokens. It is checked on
	// every request and never evicted, so no cache order or race can let a revoked token by.
	revoked sync.Map

	syncMu   sync.Mutex // one Sync at a time
	feedSeq  int64      // guarded by syncMu
	syncedAt atomic.Int64

	dirtyMu sync.Mutex
	dirty   []*verifiedToken
}

type verifiedToken struct {
	claims   *Claims
	expires  time.Time
	lastUsed atomic.Int64 // unix nanoseconds
	isDirty  atomic.Bool
}

// NewGuard returns a guard. It refuses service tokens until the first successful Sync.
func NewGuard(keys *Keyring, store Store, now func() time.Time, log *slog.Logger, opt GuardOptions) *Guard {
	if opt.CacheSize <= 0 {
		opt.CacheSize = 50_000
	}
	if opt.MaxStaleness <= 0 {
		opt.MaxStaleness = 10 * time.Second
	}
	cache, err := lru.New[string, *verifiedToken](opt.CacheSize)
	if err != nil {
		panic(err) // only for a non-positive size
	}
	return &Guard{keys: keys, store: store, now: now, log: log, maxStale: opt.MaxStaleness, verified: cache}
}

// Errors of Verify; each carries an apperr code.
var (
	errStale = apperr.New(apperr.Unavailable, "token revocation status cannot be checked right now: the database is unreachable; try again shortly")
)

// Verify checks a bearer token and returns its claims. Service tokens are checked completely:
// signature, claims, that the id was issued, and that it is neither revoked nor expired. Session
// tokens are checked by signature and claims only; their session is the caller's to check.
func (g *Guard) Verify(ctx context.Context, raw string) (*Claims, error) {
	now := g.now()
	v, ok := g.verified.Get(raw)
	if !ok {
		c, err := g.keys.Parse(raw)
		if err != nil {
			return nil, apperr.Wrap(err, apperr.Unauthorized, "the bearer token is invalid: %s", reasonText(err))
		}
		// The parser's leeway is for iat and nbf; a token is dead the second it expires.
		if !now.Before(c.ExpiresAt.Time) {
			return nil, apperr.New(apperr.Unauthorized, "the token has expired")
		}
		if c.TokenUse != UseService {
			return c, nil
		}
		if err := g.fresh(now); err != nil {
			return nil, err
		}
		if g.isRevoked(c.ID) {
			return nil, apperr.New(apperr.Unauthorized, "the token has been revoked")
		}
		if v, err = g.lookup(ctx, c, now); err != nil {
			return nil, err
		}
		g.verified.Add(raw, v)
	} else if err := g.fresh(now); err != nil {
		return nil, err
	}
	if !now.Before(v.expires) {
		return nil, apperr.New(apperr.Unauthorized, "the token has expired: ask an administrator for a new one")
	}
	if g.isRevoked(v.claims.ID) {
		return nil, apperr.New(apperr.Unauthorized, "the token has been revoked")
	}
	g.touch(v, now)
	return v.claims, nil
}

// lookup confirms with the database that a correctly signed token was issued and is active.
// It runs once per token value and instance, then the token is cached.
func (g *Guard) lookup(ctx context.Context, c *Claims, now time.Time) (*verifiedToken, error) {
	t, err := g.store.GetToken(ctx, c.ID)
	switch {
	case apperr.Is(err, apperr.NotFound):
		g.log.Warn("correctly signed token with an unknown id", "token_id", c.ID, "subject", c.Subject)
		return nil, apperr.New(apperr.Unauthorized, "the token is not recognised")
	case err != nil:
		return nil, apperr.Wrap(err, apperr.Unavailable, "the token cannot be checked right now: the database is unreachable; try again shortly")
	case t.RevokedAt != nil:
		g.MarkRevoked(t.ID, t.ExpiresAt)
		return nil, apperr.New(apperr.Unauthorized, "the token has been revoked")
	}
	// The parser allows clock-skew leeway on exp; expiry itself is exact, whichever of the
	// claim and the row comes first (they agree for tokens we issued).
	expires := t.ExpiresAt
	if claimExp := c.ExpiresAt.Time; claimExp.Before(expires) {
		expires = claimExp
	}
	if !now.Before(expires) {
		return nil, apperr.New(apperr.Unauthorized, "the token has expired: ask an administrator for a new one")
	}
	return &verifiedToken{claims: c, expires: expires}, nil
}

func (g *Guard) isRevoked(id string) bool {
	_, ok := g.revoked.Load(id)
	return ok
}

func (g *Guard) fresh(now time.Time) error {
	if now.Sub(time.Unix(0, g.syncedAt.Load())) > g.maxStale {
		return errStale
	}
	return nil
}

// Fresh reports whether the revocation feed was read recently enough to admit service tokens.
func (g *Guard) Fresh() bool { return g.fresh(g.now()) == nil }

// MarkRevoked makes this instance refuse the token at once.
func (g *Guard) MarkRevoked(id string, expires time.Time) {
	g.revoked.Store(id, expires.Unix())
}

// Sync reads the revocation feed once: every revocation committed since the last read. The
// feed is ordered by a sequence number that revocations take under a lock, in commit order, so
// reading "above the last number seen" never skips one.
func (g *Guard) Sync(ctx context.Context) error {
	g.syncMu.Lock()
	defer g.syncMu.Unlock()
	started := g.now()
	for {
		revs, err := g.store.RevocationsSince(ctx, g.feedSeq, 1000)
		if err != nil {
			return err
		}
		for _, r := range revs {
			if started.Before(r.ExpiresAt) {
				g.MarkRevoked(r.TokenID, r.ExpiresAt)
			}
			g.feedSeq = r.Seq
		}
		if len(revs) < 1000 {
			break
		}
	}
	// Expired tokens are refused on their expiry; their revocation entries can go.
	g.revoked.Range(func(k, v any) bool {
		if v.(int64) <= started.Unix() {
			g.revoked.Delete(k)
		}
		return true
	})
	g.syncedAt.Store(started.UnixNano())
	return nil
}

// SyncedAt is when the revocation feed was last read successfully (zero if never).
func (g *Guard) SyncedAt() time.Time {
	n := g.syncedAt.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// touch records a use in memory; Flush writes it. Only the first use since the last flush takes
// a lock; the rest are one atomic store.
func (g *Guard) touch(v *verifiedToken, now time.Time) {
	v.lastUsed.Store(now.UnixNano())
	if v.isDirty.CompareAndSwap(false, true) {
		g.dirtyMu.Lock()
		g.dirty = append(g.dirty, v)
		g.dirtyMu.Unlock()
	}
}

// Flush writes the last-use times recorded since the previous flush, in one batch.
func (g *Guard) Flush(ctx context.Context) error {
	g.dirtyMu.Lock()
	batch := g.dirty
	g.dirty = nil
	g.dirtyMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	uses := make(map[string]time.Time, len(batch))
	for _, v := range batch {
		v.isDirty.Store(false)
		uses[v.claims.ID] = time.Unix(0, v.lastUsed.Load()).UTC()
	}
	if err := g.store.SaveLastUsed(ctx, uses); err != nil {
		// Keep them for the next flush rather than lose them.
		for _, v := range batch {
			g.touch(v, time.Unix(0, v.lastUsed.Load()))
		}
		return err
	}
	return nil
}

// Run reads the revocation feed every poll interval and flushes last-use times every flush
// interval until ctx ends, then flushes once more.
func (g *Guard) Run(ctx context.Context, poll, flush time.Duration) {
	pollT := time.NewTicker(poll)
	flushT := time.NewTicker(flush)
	defer pollT.Stop()
	defer flushT.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := g.Flush(fctx); err != nil {
				g.log.Error("could not write last-use times at shutdown", "err", err)
			}
			cancel()
			return
		case <-pollT.C:
			pctx, cancel := context.WithTimeout(ctx, max(poll*4, 2*time.Second))
			err := g.Sync(pctx)
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) && !failing {
				g.log.Error("cannot read the revocation feed; service tokens will be refused with 503 if this lasts", "err", err, "max_staleness", g.maxStale.String())
			} else if err == nil && failing {
				g.log.Info("revocation feed readable again")
			}
			failing = err != nil
		case <-flushT.C:
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := g.Flush(fctx); err != nil {
				g.log.Error("could not write last-use times; will retry", "err", err)
			}
			cancel()
		}
	}
}

// reasonText gives the client-safe phrase of a Parse error.
func reasonText(err error) string {
	msg := err.Error()
	if len(msg) > len(ErrInvalid.Error())+2 {
		return msg[len(ErrInvalid.Error())+2:]
	}
	return msg
}
