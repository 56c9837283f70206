package token

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
	"github.com/golang-jwt/jwt/v5"
)

var testKey = []byte("unit-test-signing-key-0123456789abcdef")

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// memStore is an in-memory Store that counts the calls the request path makes.
type memStore struct {
	mu     sync.Mutex
	tokens map[string]Token
	events []audit.Event
	seq    int64
	revs   []Revocation
	gets   int
	// feedReads and fullReads count reads of the feed from the cursor and from the start.
	feedReads, fullReads int
	failAll              error
	users                memUsers // memusers_test.go
	uses                 []Use    // every use SaveUsage was given
}

func newMemStore() *memStore { return &memStore{tokens: map[string]Token{}} }

func (m *memStore) InsertToken(_ context.Context, t Token, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAll != nil {
		return m.failAll
	}
	m.tokens[t.ID] = t
	m.events = append(m.events, ev)
	return nil
}

func (m *memStore) RevokeTokens(ctx context.Context, ids []string, at time.Time, by, reason string, dryRun bool, event func(Token) audit.Event) ([]RevokeOutcome, error) {
	var out []RevokeOutcome
	for _, id := range ids {
		t, err := m.RevokeToken(ctx, id, at, by, reason, event)
		o := RevokeOutcome{ID: id, Status: RevokeDone, Token: t}
		if err != nil {
			o.Status = RevokeNotFound
		}
		out = append(out, o)
	}
	return out, nil
}

func (m *memStore) RevokeToken(_ context.Context, id string, at time.Time, by, reason string, event func(Token) audit.Event) (Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[id]
	if !ok || !t.Active(at) {
		return Token{}, apperr.New(apperr.NotFound, "no active token")
	}
	t.RevokedAt, t.RevokedBy, t.RevocationReason = &at, by, reason
	m.tokens[id] = t
	m.seq++
	// A token has one entry: revoking a rotated token moves its entry to the new number.
	m.revs = slices.DeleteFunc(m.revs, func(r Revocation) bool { return r.TokenID == id })
	m.revs = append(m.revs, Revocation{Seq: m.seq, TokenID: id, ExpiresAt: t.ExpiresAt, RevokedAt: at})
	m.events = append(m.events, event(t))
	return t, nil
}

func (m *memStore) GetToken(_ context.Context, id string) (Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if m.failAll != nil {
		return Token{}, m.failAll
	}
	t, ok := m.tokens[id]
	if !ok {
		return Token{}, apperr.New(apperr.NotFound, "token not found")
	}
	return t, nil
}

func (m *memStore) ListTokens(context.Context, ListQuery) ([]Token, error) { return nil, nil }

func (m *memStore) CountTokens(context.Context, ListQuery) (int64, error) { return 0, nil }

// RotateToken rotates as the database does: a successor, and the old token's entry in the feed
// with the end of its grace period.
func (m *memStore) RotateToken(_ context.Context, id string, at time.Time, rotate func(Token, ServiceUser) (Rotation, error)) (Rotation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[id]
	switch {
	case !ok || !t.Active(at):
		return Rotation{}, apperr.New(apperr.NotFound, "no active token")
	case t.ReplacedBy != "":
		return Rotation{}, apperr.New(apperr.TokenAlreadyRotated, "already rotated: its successor is %s", t.ReplacedBy)
	}
	rot, err := rotate(t, ServiceUser{ID: t.ServiceUserID, Name: t.Subject})
	if err != nil {
		return Rotation{}, err
	}
	ends := rot.GraceEndsAt
	t.ReplacedBy, t.GraceEndsAt = rot.Successor.ID, &ends
	m.tokens[id], m.tokens[rot.Successor.ID] = t, rot.Successor
	m.seq++
	m.revs = append(m.revs, Revocation{Seq: m.seq, TokenID: id, ExpiresAt: t.ExpiresAt, EndsAt: ends})
	m.events = append(m.events, rot.Events...)
	rot.Old = t
	return rot, nil
}

func (m *memStore) PurgeEndedTokens(context.Context, time.Time, time.Time, int, func([]string) audit.Event) ([]string, error) {
	return nil, nil
}

func (m *memStore) PurgeNotifications(context.Context, time.Time, int) (int, error) { return 0, nil }

func (m *memStore) RevocationsFrom(_ context.Context, seq int64, limit int) (FeedPage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.feedReads++
	if m.failAll != nil {
		return FeedPage{}, m.failAll
	}
	page := FeedPage{Counter: m.seq, UserCounter: m.users.seq}
	for _, r := range m.revs {
		if r.Seq >= seq && len(page.Entries) < limit {
			page.Entries = append(page.Entries, r)
		}
	}
	return page, nil
}

func (m *memStore) UnexpiredRevocations(_ context.Context, now time.Time) (Revocation, []Revocation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fullReads++
	if m.failAll != nil {
		return Revocation{}, nil, m.failAll
	}
	var last Revocation
	var live []Revocation
	for _, r := range m.revs {
		last = r
		if now.Before(r.ExpiresAt) {
			live = append(live, r)
		}
	}
	return last, live, nil
}

// restore puts the store back to when the feed held its first n entries, as restoring an
// older dump does: later revocations are undone and the counter goes back to n.
func (m *memStore) restore(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.revs[n:] {
		t := m.tokens[r.TokenID]
		t.RevokedAt, t.RevokedBy = nil, ""
		m.tokens[r.TokenID] = t
	}
	m.revs = m.revs[:n]
	m.seq = int64(n)
}

func (m *memStore) SaveUsage(_ context.Context, uses []Use, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAll != nil {
		return m.failAll
	}
	for _, u := range uses {
		t := m.tokens[u.TokenID]
		if at := u.LastUsed; !at.IsZero() && (t.LastUsedAt == nil || t.LastUsedAt.Before(at)) {
			t.LastUsedAt, t.LastUsedAddress, t.LastUsedUserAgent = &at, u.Last.Address, u.Last.UserAgent
		}
		if u.Ended > 0 {
			if t.StillPresented == nil {
				t.StillPresented = &StillPresented{}
			}
			t.StillPresented.Times += u.Ended
			t.StillPresented.LastSeen, t.StillPresented.LastAddress = u.EndedAt, u.EndedFrom
		}
		m.tokens[u.TokenID] = t
		m.uses = append(m.uses, u)
	}
	return nil
}

func (m *memStore) TokenUsage(context.Context, string, time.Time, time.Time) ([]DayUse, []ClientUse, error) {
	return nil, nil, nil
}

func (m *memStore) RecentRequests(context.Context, []string, time.Time) (map[string][]DayUse, error) {
	return nil, nil
}

func (m *memStore) PurgeUsage(context.Context, time.Time, int) (int, error) { return 0, nil }

type fixture struct {
	clk   *clock
	store *memStore
	keys  *Keyring
	guard *Guard
	svc   *Service
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{clk: &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}, store: newMemStore()}
	f.keys = NewKeyring("codemetrics", f.clk.Now, testKey)
	f.guard = NewGuard(f.keys, f.store, f.clk.Now, slog.New(slog.NewTextHandler(io.Discard, nil)), GuardOptions{})
	f.svc = NewService(f.store, f.keys, f.guard, 30*24*time.Hour, f.clk.Now)
	if err := f.guard.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

// create issues the token req asks for through f's service, failing the test on an error.
func (f *fixture) create(t testing.TB, req CreateRequest) Created {
	t.Helper()
	c, err := f.svc.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// otherInstance is the guard of another instance on f's store, with opt, synced once.
func (f *fixture) otherInstance(t testing.TB, opt GuardOptions) *Guard {
	t.Helper()
	g := NewGuard(f.keys, f.store, f.clk.Now, slog.New(slog.NewTextHandler(io.Discard, nil)), opt)
	if err := g.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestIssueCarriesTheDocumentedClaims(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, CreateRequest{Subject: "  ci  ", CreatedBy: "admin@example.com"})
	h, p := jwttest.Parts(t, c.Value)
	iat, exp := jwttest.Num(t, p, "iat"), jwttest.Num(t, p, "exp")
	if p["jti"] != c.Token.ID || p["sub"] != "ci" || p["iss"] != "codemetrics" || p["aud"] != Audience ||
		p["token_use"] != "service" || p["scope"] != "metrics:read" || exp-iat != 30*24*3600 || iat != f.clk.t.Unix() {
		t.Errorf("claims = %v", p)
	}
	if h["alg"] != "HS256" || h["typ"] != "JWT" || h["kid"] != KeyID(testKey) {
		t.Errorf("header = %v", h)
	}
	// The subject's service user is created with the token: its event, then the token's.
	if len(f.store.events) != 2 || f.store.events[0].Action != ActionUserCreated || f.store.events[1].Action != ActionCreated ||
		strings.Contains(toJSON(f.store.events), c.Value) {
		t.Errorf("audit events = %+v", f.store.events)
	}
	if _, err := f.guard.Verify(context.Background(), c.Value); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestFailedStoreReturnsNoToken(t *testing.T) {
	f := newFixture(t)
	f.store.failAll = errors.New("disk full")
	c, err := f.svc.Create(context.Background(), CreateRequest{Subject: "ci", CreatedBy: "a"})
	if err == nil || c.Value != "" {
		t.Fatalf("Create = %+v, %v; want an error and no token value", c, err)
	}
}

func TestExpiryFollowsTheInjectedClock(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, CreateRequest{Subject: "ci", CreatedBy: "a", TTL: time.Hour})
	f.clk.t = f.clk.t.Add(time.Hour - time.Second)
	_ = f.guard.Sync(context.Background())
	if _, err := f.guard.Verify(context.Background(), c.Value); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	f.clk.t = f.clk.t.Add(time.Second)
	if _, err := f.guard.Verify(context.Background(), c.Value); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("at expiry: %v, want unauthorized", err)
	}
}

func TestForgedTokensAreRefusedBeforeTheDatabase(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, CreateRequest{Subject: "ci", CreatedBy: "a"})
	_, good := jwttest.Parts(t, c.Value)
	with := func(k string, v any) map[string]any { return jwttest.With(good, map[string]any{k: v}) }
	kid := map[string]any{"kid": KeyID(testKey)}
	parts := strings.Split(c.Value, ".")
	noneHeader := jwttest.Segment(t, map[string]any{"alg": "none", "typ": "JWT"})
	now := f.clk.t.Unix()
	cases := map[string]string{
		"alg none":           noneHeader + "." + parts[1] + ".",
		"HS384":              jwttest.Sign(t, jwt.SigningMethodHS384, testKey, kid, good),
		"HS512":              jwttest.Sign(t, jwt.SigningMethodHS512, testKey, kid, good),
		"wrong key":          jwttest.Sign(t, jwt.SigningMethodHS256, []byte("another-deployment-key-0123456789abc"), kid, good),
		"no kid":             jwttest.Sign(t, jwt.SigningMethodHS256, testKey, nil, good),
		"unknown kid":        jwttest.Sign(t, jwt.SigningMethodHS256, testKey, map[string]any{"kid": "../../etc/passwd"}, good),
		"changed sub":        parts[0] + "." + jwttest.Segment(t, with("sub", "root")) + "." + parts[2],
		"stripped signature": parts[0] + "." + parts[1] + ".",
		"expired":            jwttest.Sign(t, jwt.SigningMethodHS256, testKey, kid, with("exp", now-1)),
		"no exp":             jwttest.Sign(t, jwt.SigningMethodHS256, testKey, kid, with("exp", nil)),
		"iat in the future":  jwttest.Sign(t, jwt.SigningMethodHS256, testKey, kid, with("iat", now+3600)),
		"nbf in the future":  jwttest.Sign(t, jwt.SigningMethodHS256, testKey, kid, with("nbf", now+3600)),
		"wrong iss":          jwttest.Sign(t, jwt.SigningMethodHS256, testKey, kid, with("iss", "https://evil.example")),
		"wrong aud":          jwttest.Sign(t, jwt.SigningMethodHS256, testKey, kid, with("aud", "other-api")),
		"aud array":          jwttest.Sign(t, jwt.SigningMethodHS256, testKey, kid, with("aud", []string{"other", Audience})),
		"wrong token_use":    jwttest.Sign(t, jwt.SigningMethodHS256, testKey, kid, with("token_use", "admin")),
		"no token_use":       jwttest.Sign(t, jwt.SigningMethodHS256, testKey, kid, with("token_use", nil)),
		"no jti":             jwttest.Sign(t, jwt.SigningMethodHS256, testKey, kid, with("jti", nil)),
		"garbage":            "not.a.jwt",
		"empty":              "",
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			before := f.store.gets
			_, err := f.guard.Verify(context.Background(), raw)
			if !apperr.Is(err, apperr.Unauthorized) {
				t.Fatalf("Verify = %v, want unauthorized", err)
			}
			if f.store.gets != before {
				t.Errorf("a forged token reached the database")
			}
		})
	}
	// A correctly signed token whose jti was never issued: one look-up, then refused.
	unknown := jwttest.Sign(t, jwt.SigningMethodHS256, testKey, kid, with("jti", "never-issued"))
	if _, err := f.guard.Verify(context.Background(), unknown); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("unknown jti: %v", err)
	}
}

func TestSteadyStateNeedsNoDatabase(t *testing.T) {
	f := newFixture(t)
	c, _ := f.svc.Create(context.Background(), CreateRequest{Subject: "ci", CreatedBy: "a"})
	for range 100 {
		if _, err := f.guard.Verify(context.Background(), c.Value); err != nil {
			t.Fatal(err)
		}
	}
	if f.store.gets != 1 {
		t.Errorf("100 verifications made %d database look-ups, want 1", f.store.gets)
	}
}

func TestRevocationThroughTheFeedAndFailClosed(t *testing.T) {
	a := newFixture(t)
	// b is another instance on the same store.
	b := &fixture{clk: a.clk, store: a.store, keys: a.keys, guard: a.otherInstance(t, GuardOptions{MaxStaleness: 5 * time.Second})}
	c, _ := a.svc.Create(context.Background(), CreateRequest{Subject: "ci", CreatedBy: "a"})
	if _, err := b.guard.Verify(context.Background(), c.Value); err != nil {
		t.Fatalf("b: %v", err)
	}
	if _, err := a.svc.Revoke(context.Background(), c.Token.ID, audit.Context{Actor: "admin"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.guard.Verify(context.Background(), c.Value); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("a after revoke: %v", err)
	}
	if err := b.guard.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.guard.Verify(context.Background(), c.Value); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("b after sync: %v", err)
	}

	// The database goes away: once the feed is older than the bound, tokens get 503.
	c2, _ := a.svc.Create(context.Background(), CreateRequest{Subject: "ci2", CreatedBy: "a"})
	if _, err := b.guard.Verify(context.Background(), c2.Value); err != nil {
		t.Fatal(err)
	}
	a.store.failAll = errors.New("connection refused")
	a.clk.t = a.clk.t.Add(6 * time.Second)
	if err := b.guard.Sync(context.Background()); err == nil {
		t.Fatal("sync should fail while the database is down")
	}
	if _, err := b.guard.Verify(context.Background(), c2.Value); !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("stale feed: %v, want unavailable", err)
	}
	a.store.failAll = nil
	if err := b.guard.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.guard.Verify(context.Background(), c2.Value); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestLastUsedIsBatched(t *testing.T) {
	f := newFixture(t)
	c, _ := f.svc.Create(context.Background(), CreateRequest{Subject: "ci", CreatedBy: "a"})
	use := func() {
		t.Helper()
		_, acc, err := f.guard.VerifyAccess(context.Background(), c.Value)
		if err != nil {
			t.Fatal(err)
		}
		f.guard.Count(acc, NewClient("10.0.0.1", "ci/1"), false)
	}
	use()
	if f.store.tokens[c.Token.ID].LastUsedAt != nil {
		t.Fatal("last used written on the request path")
	}
	f.clk.t = f.clk.t.Add(time.Minute)
	_ = f.guard.Sync(context.Background())
	use()
	// A failed flush keeps the times for the next one.
	f.store.failAll = errors.New("down")
	if err := f.guard.Flush(context.Background()); err == nil {
		t.Fatal("flush should fail")
	}
	f.store.failAll = nil
	if err := f.guard.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := f.store.tokens[c.Token.ID].LastUsedAt
	if got == nil || !got.Equal(f.clk.t) {
		t.Errorf("last used = %v, want %v", got, f.clk.t)
	}
}

func TestSubjectAndScopeValidation(t *testing.T) {
	for _, ok := range []string{"ci", strings.Repeat("é", 100), "<b>x</b>", "  padded  "} {
		if _, err := NormalizeSubject(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "   ", strings.Repeat("a", 101), "a\nb", "a\x00b", "a\u0085b", "a\u2028b", "\xff"} {
		if _, err := NormalizeSubject(bad); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%q accepted", bad)
		}
	}
	if s, err := NormalizeScopes(nil); err != nil || strings.Join(s, " ") != "metrics:read" {
		t.Errorf("default scopes = %v, %v", s, err)
	}
	if s, _ := NormalizeScopes([]string{"pipeline:write", "metrics:read", "pipeline:write"}); strings.Join(s, " ") != "metrics:read pipeline:write" {
		t.Errorf("scopes = %v", s)
	}
	if _, err := NormalizeScopes([]string{"admin"}); !apperr.Is(err, apperr.Invalid) {
		t.Error("unknown scope accepted")
	}
}

// TestFeedReplacedIsNoticed restores the store to an older feed, twice: once with the counter
// left below the cursor, once with it caught up and the cursor's sequence number taken by the
// same token revoked again (only the revocation time tells the entries apart). Each time the
// other instance reads the feed again, refuses what was revoked after the restore, keeps
// refusing what was revoked before it, and names those tokens.
func TestFeedReplacedIsNoticed(t *testing.T) {
	ctx := context.Background()
	a := newFixture(t)
	var logs strings.Builder
	var mu sync.Mutex
	b := NewGuard(a.keys, a.store, a.clk.Now, slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil)), GuardOptions{})
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	mk := func() Created {
		c := a.create(t, CreateRequest{Subject: "ci", CreatedBy: "a"})
		return c
	}
	revoke := func(c Created) {
		a.clk.t = a.clk.t.Add(time.Second)
		if _, err := a.svc.Revoke(ctx, c.Token.ID, audit.Context{Actor: "admin"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	sync := func() {
		if err := b.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := func(c Created, ok bool, what string) {
		t.Helper()
		_, err := b.Verify(ctx, c.Value)
		if ok && err != nil || !ok && !apperr.Is(err, apperr.Unauthorized) {
			t.Errorf("%s: Verify = %v, want ok=%v", what, err, ok)
		}
	}
	t1, t2, t3, t4, t5, t6 := mk(), mk(), mk(), mk(), mk(), mk()
	revoke(t1)
	revoke(t2)
	revoke(t3)
	sync() // cursor: seq 3, t3
	want(t4, true, "t4 before")
	a.store.restore(1) // counter 1, below the cursor
	revoke(t4)         // seq 2
	sync()
	want(t4, false, "t4 revoked after the restore")
	want(t2, false, "t2 revoked before the restore")
	if n, at := b.FeedResets(); n != 1 || !at.Equal(a.clk.t) {
		t.Errorf("FeedResets = %d, %v; want 1 now", n, at)
	}
	mu.Lock()
	got := logs.String()
	mu.Unlock()
	if !strings.Contains(got, `"level":"ERROR","msg":"the revocation feed went backwards`) ||
		!strings.Contains(got, `"cursor_seq":3`) || !strings.Contains(got, `"database_seq":2`) {
		t.Errorf("the reset is not logged with the cursor and the counter:\n%s", got)
	}
	var named string
	for _, line := range strings.Split(got, "\n") {
		if strings.Contains(line, "revoke them again") {
			named = line
		}
	}
	if !strings.Contains(named, t2.Token.ID) || !strings.Contains(named, t3.Token.ID) ||
		strings.Contains(named, t1.Token.ID) || strings.Contains(named, t4.Token.ID) {
		t.Errorf("want t2 and t3 named as revoked here and active in the database, not t1 or t4: %s", named)
	}

	// Cursor now seq 2, t4. Revoke t5 (seq 3): the cursor moves to t5.
	revoke(t5)
	sync()
	if n, _ := b.FeedResets(); n != 1 {
		t.Errorf("an ordinary read counted as a reset: %d", n)
	}
	want(t6, true, "t6 before")
	a.store.restore(2) // t5's revocation lost
	revoke(t6)         // seq 3: another token where the cursor was
	sync()
	want(t6, false, "t6 revoked where the cursor was")
	a.store.restore(2)
	revoke(t5) // seq 3 again: t5 itself, revoked again at another time
	sync()
	if n, _ := b.FeedResets(); n != 3 {
		t.Errorf("FeedResets = %d, want 3 (the re-revocation at the same number is another entry)", n)
	}
	// Steady again: one read from the cursor per Sync, none from the start.
	full := a.store.fullReads
	sync()
	sync()
	if a.store.fullReads != full {
		t.Errorf("steady Syncs read the feed from the start")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestRecheckWhenTheDatabaseIsDown: a re-check that cannot reach the database leaves the
// cached token trusted (the feed's staleness limit governs outages) and is retried a second
// later, not on every request.
func TestRecheckWhenTheDatabaseIsDown(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c, _ := f.svc.Create(ctx, CreateRequest{Subject: "ci", CreatedBy: "a"})
	if _, err := f.guard.Verify(ctx, c.Value); err != nil {
		t.Fatal(err)
	}
	step := func(d time.Duration) {
		f.clk.t = f.clk.t.Add(d)
		f.store.mu.Lock()
		down := f.store.failAll
		f.store.failAll = nil
		f.store.mu.Unlock()
		if err := f.guard.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		f.store.mu.Lock()
		f.store.failAll = down
		f.store.mu.Unlock()
	}
	gets := func() int { f.store.mu.Lock(); defer f.store.mu.Unlock(); return f.store.gets }
	step(5 * time.Minute)
	f.store.failAll = errors.New("connection refused")
	before := gets()
	for range 10 {
		if _, err := f.guard.Verify(ctx, c.Value); err != nil {
			t.Fatalf("a failed re-check refused the token: %v", err)
		}
	}
	if n := gets() - before; n != 1 {
		t.Errorf("10 requests with the database down made %d re-checks, want 1", n)
	}
	step(time.Second)
	f.store.failAll = nil
	_, _ = f.guard.Verify(ctx, c.Value)
	_, _ = f.guard.Verify(ctx, c.Value)
	if n := gets() - before; n != 2 {
		t.Errorf("re-checks after the retry delay: %d, want 2", n)
	}
	// Revoked by hand, outside the feed: the next re-check refuses it.
	f.store.mu.Lock()
	tok := f.store.tokens[c.Token.ID]
	at := f.clk.t
	tok.RevokedAt = &at
	f.store.tokens[c.Token.ID] = tok
	f.store.mu.Unlock()
	step(5*time.Minute - time.Second)
	if _, err := f.guard.Verify(ctx, c.Value); err != nil {
		t.Errorf("before the interval: %v", err)
	}
	step(time.Second)
	if _, err := f.guard.Verify(ctx, c.Value); !apperr.Is(err, apperr.Unauthorized) {
		t.Errorf("after the interval: %v, want unauthorized", err)
	}
}
