package token

import (
	"context"
	"errors"
	"log/slog"
	"slices"
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
	// RecheckInterval is how long a verified token is trusted from the cache before its row is
	// read again (default 5 minutes), so a row deleted or revoked by hand, outside the feed,
	// stops the token within the interval.
	RecheckInterval time.Duration
}

// recheckRetry is how soon a re-check that could not reach the database is tried again.
const recheckRetry = time.Second

// feedPage is how many revocations one read of the feed returns at most.
const feedPage = 1000

// Guard verifies bearer tokens on the request path. In the steady state a service token costs
// no database round trip: a verified token is cached by its value (and its row read again once
// per RecheckInterval), revocations arrive through a feed polled from the database (Sync), and
// last-use times are written in batches (Flush).
type Guard struct {
	keys     *Keyring
	store    Store
	now      func() time.Time
	log      *slog.Logger
	maxStale time.Duration
	recheck  time.Duration

	verified *lru.Cache[string, *verifiedToken]
	// revoked holds id -> ending of the unexpired tokens refused now (revoked, or rotated and
	// past their grace period) or from a known moment on (rotated, in their grace period). It
	// is checked on every request and never evicted, so no cache order or race can let a
	// revoked token by.
	revoked sync.Map

	syncMu sync.Mutex // one Sync at a time; guards the fields up to syncedAt
	// cursor is the last feed entry read (zero before the feed had one). Each read starts at
	// it, inclusive: if the database no longer holds that very entry there, it was restored or
	// replaced, and the feed is read again from the start.
	cursor Revocation
	// readAll makes the next Sync read the feed from the start: at start-up and after a reset.
	readAll bool
	// compare makes that read report tokens this instance refuses that the database no longer
	// has revoked (after a reset).
	compare  bool
	syncedAt atomic.Int64
	// high is the latest clock reading (unix ns) Sync acted on when dropping revocations of
	// expired tokens. Expiry decisions never go behind it, so a clock stepped back cannot make
	// a token whose revocation was dropped look unexpired again.
	high      atomic.Int64
	resets    atomic.Int64
	lastReset atomic.Int64 // unix ns

	// dirty are the tokens counted since the last flush (usage.go); ended the counters of
	// tokens presented after they stopped working, by id.
	dirtyMu sync.Mutex
	dirty   []*usage
	ended   sync.Map

	// users are the service users as this instance knows them, kept by the service-user feed
	// (its cursor is Sync's, under syncMu).
	users users
}

// ending is what the guard knows of a token that stops working before its expiry.
type ending struct {
	expires int64 // unix seconds: the token's expiry, after which the entry can go
	from    int64 // unix nanoseconds: refused from this moment on (0: at once, a revocation)
	rotated bool  // the end of a rotation's grace period, not a revocation
}

// earlier reports whether e refuses the token before o does (a revocation before a grace end
// at the same moment), so that no late or stale news can make a token live longer.
func (e ending) earlier(o ending) bool {
	return e.from < o.from || (e.from == o.from && o.rotated && !e.rotated)
}

var (
	errRevoked = apperr.New(apperr.TokenRevoked, "the token has been revoked")
	errRotated = apperr.New(apperr.TokenRotated, "the token was rotated and its grace period has ended: use its successor")
	errUnknown = apperr.New(apperr.TokenUnknown, "the token is not recognised")
)

// cannotCheck is the answer when the database that would confirm a token is unreachable.
func cannotCheck(err error) error {
	return apperr.Wrap(err, apperr.DatabaseUnavailable, "the token cannot be checked right now: the database is unreachable; try again shortly")
}

type verifiedToken struct {
	claims    *Claims
	user      *userEntry   // the token's service user, as known now
	expires   atomic.Int64 // unix ns: the earlier of the claim's and the row's expiry
	checkedAt atomic.Int64 // unix ns: when the row was last read
	checking  atomic.Bool  // a re-check is under way; other requests keep using the entry
	use       usage        // its requests since the last flush
}

func (v *verifiedToken) expiry() time.Time { return time.Unix(0, v.expires.Load()) }

// NewGuard returns a guard. It refuses service tokens until the first successful Sync.
func NewGuard(keys *Keyring, store Store, now func() time.Time, log *slog.Logger, opt GuardOptions) *Guard {
	if opt.CacheSize <= 0 {
		opt.CacheSize = 50_000
	}
	if opt.MaxStaleness <= 0 {
		opt.MaxStaleness = 10 * time.Second
	}
	if opt.RecheckInterval <= 0 {
		opt.RecheckInterval = 5 * time.Minute
	}
	cache, err := lru.New[string, *verifiedToken](opt.CacheSize)
	if err != nil {
		panic(err) // only for a non-positive size
	}
	return &Guard{
		keys: keys, store: store, now: now, log: log, maxStale: opt.MaxStaleness, recheck: opt.RecheckInterval,
		verified: cache, readAll: true,
	}
}

// Errors of Verify; each carries an apperr code.
var (
	errStale = apperr.New(apperr.FeedStale, "token revocation status cannot be checked right now: the database is unreachable; try again shortly")
)

// Verify checks a bearer token and returns its claims. Service tokens are checked completely:
// signature, claims, that the id was issued, that it is neither revoked nor expired, and that
// its service user is neither deleted nor disabled. Session tokens are checked by signature and
// claims only; their session is the caller's to check.
func (g *Guard) Verify(ctx context.Context, raw string) (*Claims, error) {
	c, _, err := g.VerifyAccess(ctx, raw)
	return c, err
}

// VerifyAccess is Verify, also returning what a service token may do as its service user is
// known now (the zero Access for a session token).
func (g *Guard) VerifyAccess(ctx context.Context, raw string) (*Claims, Access, error) {
	clock := g.now()
	now := g.notBehind(clock)
	v, cached := g.verified.Get(raw)
	if !cached {
		c, err := g.keys.Parse(raw)
		if err != nil {
			return nil, Access{}, err
		}
		// The parser's leeway is for iat and nbf; a token is dead the second it expires.
		if !now.Before(c.ExpiresAt.Time) {
			err := apperr.New(apperr.TokenExpired, "the token has expired")
			if c.TokenUse == UseService {
				return nil, Access{}, ended(c.ID, err)
			}
			return nil, Access{}, err
		}
		if c.TokenUse != UseService {
			return c, Access{}, nil
		}
		if err := g.fresh(clock); err != nil {
			return nil, Access{}, err
		}
		if _, err := g.refusal(c.ID, now); err != nil {
			return nil, Access{}, ended(c.ID, err)
		}
		if v, err = g.lookup(ctx, c, now); err != nil {
			return nil, Access{}, endedUnlessUnknown(c.ID, err)
		}
		g.verified.Add(raw, v)
	} else if err := g.fresh(clock); err != nil {
		return nil, Access{}, err
	}
	id := v.claims.ID
	if !now.Before(v.expiry()) {
		return nil, Access{}, ended(id, apperr.New(apperr.TokenExpired, "the token has expired: ask an administrator for a new one"))
	}
	ends, err := g.refusal(id, now)
	if err != nil {
		return nil, Access{}, ended(id, err)
	}
	if cached {
		if err := g.recheckIfDue(ctx, v, now); err != nil {
			return nil, Access{}, endedUnlessUnknown(id, err)
		}
	}
	acc, err := v.access()
	if err != nil {
		return nil, Access{}, endedUnlessUnknown(id, err)
	}
	acc.ends, acc.v, acc.at = ends, v, now.UnixNano()
	return v.claims, acc, nil
}

// notBehind returns clock, or the latest time Sync acted on if the clock is behind it.
func (g *Guard) notBehind(clock time.Time) time.Time {
	if high := g.high.Load(); clock.UnixNano() < high {
		return time.Unix(0, high)
	}
	return clock
}

// lookup confirms with the database that a correctly signed token was issued and is active.
// It runs once per token value and instance, then the token is cached.
func (g *Guard) lookup(ctx context.Context, c *Claims, now time.Time) (*verifiedToken, error) {
	t, err := g.store.GetToken(ctx, c.ID)
	switch {
	case apperr.Is(err, apperr.NotFound):
		g.log.Warn("correctly signed token with an unknown id", "token_id", c.ID, "subject", c.Subject)
		return nil, errUnknown
	case err != nil:
		return nil, cannotCheck(err)
	case t.RevokedAt != nil:
		g.MarkRevoked(t.ID, t.ExpiresAt)
		return nil, errRevoked
	case t.GraceEndsAt != nil:
		g.MarkEnding(t.ID, t.ExpiresAt, *t.GraceEndsAt)
		if !now.Before(*t.GraceEndsAt) {
			return nil, errRotated
		}
	}
	// The parser allows clock-skew leeway on exp; expiry itself is exact, whichever of the
	// claim and the row comes first (they agree for tokens we issued).
	expires := t.ExpiresAt
	if claimExp := c.ExpiresAt.Time; claimExp.Before(expires) {
		expires = claimExp
	}
	if !now.Before(expires) {
		return nil, apperr.New(apperr.TokenExpired, "the token has expired: ask an administrator for a new one")
	}
	user, err := g.userOf(ctx, t)
	if err != nil {
		return nil, err
	}
	v := &verifiedToken{claims: c, user: user}
	v.use.id, v.use.pending.TokenID = c.ID, c.ID
	v.expires.Store(expires.UnixNano())
	v.checkedAt.Store(now.UnixNano())
	return v, nil
}

// recheckIfDue reads a cached token's row again once it has been trusted for the re-check
// interval: one request re-checks while the others keep using the entry. A row found deleted
// or revoked refuses the token from then on. A database that cannot be reached leaves the
// entry trusted and the re-check is retried a second later: if the outage lasts, the feed goes
// stale and every service token is refused with 503 after MaxStaleness anyway.
func (g *Guard) recheckIfDue(ctx context.Context, v *verifiedToken, now time.Time) error {
	due := func() bool {
		// Also due when the clock went back by more than an interval, so that a clock reset
		// cannot postpone the re-check for as long as it stepped.
		d := now.UnixNano() - v.checkedAt.Load()
		return d >= int64(g.recheck) || d < -int64(g.recheck)
	}
	if !due() || !v.checking.CompareAndSwap(false, true) {
		return nil
	}
	defer v.checking.Store(false)
	if !due() { // another request re-checked between the two looks
		return nil
	}
	id := v.claims.ID
	t, err := g.store.GetToken(ctx, id)
	switch {
	case apperr.Is(err, apperr.NotFound):
		g.log.Warn("a cached token's row is gone from the database: refusing the token from now on", "token_id", id)
		g.MarkRevoked(id, v.expiry())
		return errUnknown
	case err != nil:
		v.checkedAt.Store(now.Add(recheckRetry - g.recheck).UnixNano())
		g.log.Warn("cannot re-check a cached token: still trusting it until the revocation feed goes stale; will retry", "token_id", id, "err", err)
		return nil
	case t.RevokedAt != nil:
		g.MarkRevoked(t.ID, t.ExpiresAt)
		return errRevoked
	case t.GraceEndsAt != nil:
		g.MarkEnding(t.ID, t.ExpiresAt, *t.GraceEndsAt)
		if !now.Before(*t.GraceEndsAt) {
			return errRotated
		}
	}
	if t.ExpiresAt.Before(v.expiry()) { // shortened by hand
		v.expires.Store(t.ExpiresAt.UnixNano())
		if !now.Before(t.ExpiresAt) {
			return apperr.New(apperr.TokenExpired, "the token has expired: ask an administrator for a new one")
		}
	}
	v.checkedAt.Store(now.UnixNano())
	return nil
}

// refusal refuses a token revoked, or rotated and past its grace period, at now; for a rotated
// token in its grace period it returns when that ends (zero for any other token). One map
// read: no database statement.
func (g *Guard) refusal(id string, now time.Time) (ends time.Time, err error) {
	v, ok := g.revoked.Load(id)
	if !ok {
		return time.Time{}, nil
	}
	e := v.(ending)
	switch {
	case now.UnixNano() < e.from:
		return time.Unix(0, e.from), nil
	case e.rotated:
		return time.Time{}, errRotated
	}
	return time.Time{}, errRevoked
}

// fresh fails when the feed was last read more than MaxStaleness ago, and also when the clock
// is more than MaxStaleness behind that read: after a clock stepped back, the age of the last
// read is unknown until the next one.
func (g *Guard) fresh(clock time.Time) error {
	if age := clock.Sub(time.Unix(0, g.syncedAt.Load())); age > g.maxStale || age < -g.maxStale {
		return errStale
	}
	return nil
}

// Fresh reports whether the revocation feed was read recently enough to admit service tokens.
func (g *Guard) Fresh() bool { return g.fresh(g.now()) == nil }

// MarkRevoked makes this instance refuse the token at once.
func (g *Guard) MarkRevoked(id string, expires time.Time) {
	g.mark(id, ending{expires: expires.Unix()})
}

// MarkEnding makes this instance refuse the rotated token from the end of its grace period on
// (token_rotated), unless it already refuses it earlier.
func (g *Guard) MarkEnding(id string, expires, graceEnds time.Time) {
	g.mark(id, ending{expires: expires.Unix(), from: max(graceEnds.UnixNano(), 1), rotated: true})
}

// mark records e for id unless what is recorded already refuses the token no later.
func (g *Guard) mark(id string, e ending) {
	for {
		old, loaded := g.revoked.LoadOrStore(id, e)
		if !loaded || !e.earlier(old.(ending)) || g.revoked.CompareAndSwap(id, old, e) {
			return
		}
	}
}

// markEntry records what a feed entry says of its token.
func (g *Guard) markEntry(r Revocation) {
	if r.rotation() {
		g.MarkEnding(r.TokenID, r.ExpiresAt, r.EndsAt)
		return
	}
	g.MarkRevoked(r.TokenID, r.ExpiresAt)
}

// Sync reads the revocation feed once: every revocation committed since the last read (and the
// service-user feed: every service user changed since, see readUsers). The
// feed is ordered by a sequence number that revocations take under a lock, in commit order, so
// reading on from the last entry seen never skips one. Each read starts at that entry itself:
// when the database no longer has it (a restore from an older dump, a failover to another
// database), the counter has gone back or been reused, and the feed is read again from the
// start. The first read, and such a re-read, take only revocations of unexpired tokens.
func (g *Guard) Sync(ctx context.Context) error {
	g.syncMu.Lock()
	defer g.syncMu.Unlock()
	clock := g.now()
	if clock.UnixNano() > g.high.Load() {
		g.high.Store(clock.UnixNano()) // only Sync stores, under syncMu
	}
	now := g.notBehind(clock)
	g.users.counterRead = false
	if err := g.read(ctx, now); err != nil {
		return err
	}
	if err := g.readUsers(ctx); err != nil {
		return err
	}
	// Expired tokens are refused on their expiry; their revocation entries can go.
	g.revoked.Range(func(k, v any) bool {
		if v.(ending).expires <= now.Unix() {
			g.revoked.Delete(k)
		}
		return true
	})
	g.syncedAt.Store(clock.UnixNano())
	return nil
}

func (g *Guard) read(ctx context.Context, now time.Time) error {
	if g.readAll {
		return g.readFromStart(ctx, now)
	}
	for {
		page, err := g.store.RevocationsFrom(ctx, g.cursor.Seq, feedPage)
		if err != nil {
			return err
		}
		g.users.counter, g.users.counterRead = page.UserCounter, true
		entries := page.Entries
		if g.cursor.Seq > 0 {
			switch {
			case page.Counter < g.cursor.Seq:
				g.feedReplaced(page)
				return g.readFromStart(ctx, now)
			case len(entries) > 0 && entries[0].same(g.cursor):
				entries = entries[1:]
			case g.cursor.movedIn(entries):
				// The cursor was a rotation whose grace period was then ended by a revocation:
				// its entry moved on to the revocation's number, read below.
			default:
				g.feedReplaced(page)
				return g.readFromStart(ctx, now)
			}
		}
		for _, r := range entries {
			if now.Before(r.ExpiresAt) {
				g.markEntry(r)
			}
			g.cursor = r
		}
		if len(page.Entries) < feedPage {
			return nil
		}
	}
}

// feedReplaced reacts to a feed that no longer holds the cursor: every cached verification is
// dropped (a token may have lost its row, or been revoked in a history this instance never
// read), and the next read starts from the beginning. The revocations already known stay:
// a token revoked before the restore stays refused here.
func (g *Guard) feedReplaced(page FeedPage) {
	g.verified.Purge()
	n := g.resets.Add(1)
	g.lastReset.Store(g.now().UnixNano())
	found := "none"
	if len(page.Entries) > 0 {
		found = page.Entries[0].TokenID
	}
	g.log.Error("the revocation feed went backwards or was replaced (was the database restored or failed over?): reading it again from the start and dropping the verified-token cache",
		"cursor_seq", g.cursor.Seq, "cursor_token_id", g.cursor.TokenID, "database_seq", page.Counter,
		"token_id_at_cursor", found, "resets", n)
	g.readAll, g.compare = true, true
	g.users.readAll = true
}

// readFromStart reads the revocations of unexpired tokens and takes the feed's last entry as
// the cursor. After a reset it also reports the tokens this instance refuses that the database
// does not have revoked, so that an operator can revoke them again.
func (g *Guard) readFromStart(ctx context.Context, now time.Time) error {
	last, live, err := g.store.UnexpiredRevocations(ctx, now)
	if err != nil {
		return err
	}
	if g.compare {
		inDB := make(map[string]bool, len(live))
		for _, r := range live {
			inDB[r.TokenID] = true
		}
		var lost []string
		g.revoked.Range(func(k, v any) bool {
			if id := k.(string); !inDB[id] && v.(ending).expires > now.Unix() {
				lost = append(lost, id)
			}
			return true
		})
		if len(lost) > 0 {
			slices.Sort(lost)
			const show = 100
			g.log.Error("tokens revoked before the database was replaced are active in it again: this instance keeps refusing them, others may not; revoke them again",
				"count", len(lost), "token_ids", lost[:min(len(lost), show)])
		}
	}
	for _, r := range live {
		if now.Before(r.ExpiresAt) {
			g.markEntry(r)
		}
	}
	g.cursor, g.readAll, g.compare = last, false, false
	return nil
}

// FeedResets reports how often this instance found the revocation feed gone backwards or
// replaced, and when it last did (zero if never).
func (g *Guard) FeedResets() (n int64, last time.Time) {
	n = g.resets.Load()
	if n > 0 {
		last = time.Unix(0, g.lastReset.Load())
	}
	return n, last
}

// SyncedAt is when the revocation feed was last read successfully (zero if never).
func (g *Guard) SyncedAt() time.Time {
	n := g.syncedAt.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
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

// endedUnlessUnknown marks a refusal of token id as the refusal of a token that has stopped
// working (revoked, rotated past its grace period, expired, its service user deleted), not
// when it is unknown, disabled or could not be checked.
func endedUnlessUnknown(id string, err error) error {
	switch apperr.ReasonOf(err) {
	case apperr.TokenRevoked, apperr.TokenRotated, apperr.TokenExpired:
		return ended(id, err)
	}
	return err
}
