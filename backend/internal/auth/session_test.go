package auth_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

const (
	ttl  = 8 * time.Hour
	idle = time.Hour
)

var ada = auth.Identity{Issuer: testenv.TestIssuer, Subject: "u1", Email: "ada@example.com", EmailVerified: true, Name: "Ada", IsAdmin: true, Reason: "test"}

// sessionsFixture is auth.Sessions over a real store whose statements are counted.
type sessionsFixture struct {
	*auth.Sessions
	clock      *testenv.Clock
	keys       *token.Keyring
	statements *atomic.Int64
}

func newSessions(t *testing.T, db testenv.DB) sessionsFixture {
	t.Helper()
	f := sessionsFixture{clock: testenv.NewClock(), statements: &atomic.Int64{}}
	st := testenv.Store(t, db, store.Options{Queries: f.statements})
	f.keys = token.NewKeyring("codemetrics", f.clock.Now, []byte(testenv.SigningKey))
	f.Sessions = auth.NewSessions(st, f.keys, []byte("cookie-key-0123456789-abcdefghijklmnop"), ttl, idle, f.clock.Now)
	return f
}

// forEachSessions runs f as a subtest per database (testenv.ForEachDB), each with sessions of
// their own (newSessions).
func forEachSessions(t *testing.T, f func(t *testing.T, f sessionsFixture)) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) { f(t, newSessions(t, db)) })
}

func (f sessionsFixture) start(t *testing.T, id auth.Identity) (string, auth.Session) {
	t.Helper()
	secret, s, err := f.Start(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return secret, s
}

// wantEnded checks err is what a caller shows as "sign in again".
func wantEnded(t *testing.T, what string, err error) {
	t.Helper()
	if apperr.ReasonOf(err) != apperr.SessionEnded {
		t.Errorf("%s: %v, want session_ended", what, err)
	}
}

// TestSessionsEndAtTheirLifetimeOrWhenIdle: a session lives until SESSION_TTL after sign-in,
// however busy, and ends sooner when unused for SESSION_IDLE_TIMEOUT; each to the second.
func TestSessionsEndAtTheirLifetimeOrWhenIdle(t *testing.T) {
	forEachSessions(t, func(t *testing.T, f sessionsFixture) {
		ctx := context.Background()
		busySecret, _ := f.start(t, ada)
		idleSecret, _ := f.start(t, ada)
		use := func(secret string) error {
			s, err := f.FromCookie(ctx, secret)
			if err == nil {
				err = f.Seen(ctx, &s, auth.ViaCookie, "192.0.2.1")
			}
			return err
		}
		f.clock.Advance(idle - time.Second)
		if err := use(busySecret); err != nil {
			t.Fatalf("busy session, a second before the idle timeout: %v", err)
		}
		if _, err := f.FromCookie(ctx, idleSecret); err != nil {
			t.Fatalf("idle session, a second before the idle timeout: %v", err)
		}
		f.clock.Advance(time.Second)
		_, err := f.FromCookie(ctx, idleSecret)
		wantEnded(t, "idle session at the idle timeout", err)
		for f.clock.Now().Before(testenv.Epoch.Add(ttl - time.Second)) {
			f.clock.Advance(min(50*time.Minute, testenv.Epoch.Add(ttl-time.Second).Sub(f.clock.Now())))
			if err := use(busySecret); err != nil {
				t.Fatalf("busy session at %v: %v", f.clock.Now().Sub(testenv.Epoch), err)
			}
		}
		f.clock.Advance(time.Second)
		wantEnded(t, "busy session at its lifetime's end", use(busySecret))
	})
}

// TestSeenWritesOncePerGranularity: a session used on every request costs one write per
// SeenGranularity for its cookie and one for its session tokens, not one per request.
func TestSeenWritesOncePerGranularity(t *testing.T) {
	f := newSessions(t, testenv.SQLite(t))
	ctx := context.Background()
	_, s := f.start(t, ada)
	f.clock.Advance(auth.SeenGranularity)
	writes := func(via auth.Via, n int) int64 {
		f.statements.Store(0)
		for range n {
			if err := f.Seen(ctx, &s, via, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
		}
		return f.statements.Load()
	}
	if n := writes(auth.ViaCookie, 20); n != 1 {
		t.Errorf("20 cookie uses a minute after sign-in: %d statements, want 1", n)
	}
	if n := writes(auth.ViaToken, 20); n != 1 {
		t.Errorf("then 20 session-token uses: %d statements, want 1 (the token's first use)", n)
	}
	f.clock.Advance(auth.SeenGranularity - time.Second)
	if n := writes(auth.ViaCookie, 5) + writes(auth.ViaToken, 5); n != 0 {
		t.Errorf("uses within the granularity: %d statements, want 0", n)
	}
	f.clock.Advance(time.Second)
	if n := writes(auth.ViaToken, 5); n != 1 {
		t.Errorf("uses a granularity later: %d statements, want 1", n)
	}
	stored, err := f.Get(ctx, s.ID)
	if err != nil || !stored.LastTokenUseAt.Equal(f.clock.Now()) || stored.LastAddress != "192.0.2.1" {
		t.Errorf("stored session %+v, %v; want the last token use now, from 192.0.2.1", stored, err)
	}
}

// TestOnlyTheCookieSecretFindsASession: an empty, oversized or wrong secret, and the session's
// id (which is no secret), all find nothing.
func TestOnlyTheCookieSecretFindsASession(t *testing.T) {
	f := newSessions(t, testenv.SQLite(t))
	ctx := context.Background()
	secret, s := f.start(t, ada)
	if got, err := f.FromCookie(ctx, secret); err != nil || got.ID != s.ID || got.Actor() != "ada@example.com" {
		t.Fatalf("FromCookie(secret) = %+v, %v", got, err)
	}
	for name, v := range map[string]string{"empty": "", "oversized": strings.Repeat("a", 129), "wrong": secret[:len(secret)-1] + "x", "the session id": s.ID} {
		_, err := f.FromCookie(ctx, v)
		wantEnded(t, name, err)
	}
}

// TestEveryStartIsANewSessionAndEndIdentityEndsThemAll: each sign-in gets its own id and
// secret; ending one leaves the other; ending the identity ends every session of it, and an
// identity key that is not one is refused.
func TestEveryStartIsANewSessionAndEndIdentityEndsThemAll(t *testing.T) {
	forEachSessions(t, func(t *testing.T, f sessionsFixture) {
		ctx := context.Background()
		s1, a := f.start(t, ada)
		s2, b := f.start(t, ada)
		s3, c := f.start(t, ada)
		other := ada
		other.Issuer = "https://other.example" // the same email from another provider: another person
		s4, _ := f.start(t, other)
		if a.ID == b.ID || s1 == s2 || a.IdentityKey() != b.IdentityKey() || a.IdentityKey() == "" {
			t.Fatalf("two sign-ins: ids %s %s, keys %q %q", a.ID, b.ID, a.IdentityKey(), b.IdentityKey())
		}
		if err := f.End(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		_, err := f.FromCookie(ctx, s1)
		wantEnded(t, "ended session", err)
		if _, err := f.Get(ctx, a.ID); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("Get of an ended session: %v, want not found", err)
		}
		if err := f.End(ctx, a.ID); err != nil {
			t.Errorf("ending an ended session again: %v", err)
		}
		if _, err := f.FromCookie(ctx, s2); err != nil {
			t.Errorf("the other session ended too: %v", err)
		}
		if _, err := f.EndIdentity(ctx, "no-space"); apperr.ReasonOf(err) != apperr.InvalidParameter {
			t.Errorf("EndIdentity of a malformed key: %v, want invalid_parameter", err)
		}
		if n, err := f.EndIdentity(ctx, c.IdentityKey()); err != nil || n != 2 {
			t.Errorf("EndIdentity = %d, %v; want 2", n, err)
		}
		for _, secret := range []string{s2, s3} {
			_, err := f.FromCookie(ctx, secret)
			wantEnded(t, "a session of the ended identity", err)
		}
		if _, err := f.FromCookie(ctx, s4); err != nil {
			t.Errorf("the namesake from another provider lost their session: %v", err)
		}
		if l, err := f.List(ctx); err != nil || len(l) != 1 || l[0].Issuer != other.Issuer {
			t.Errorf("live sessions %+v, %v; want the namesake's only", l, err)
		}
	})
}

// TestSessionTokens: a session token names the person as the audit log does, carries its
// session and ends with it; a service token's claims never stand for a session.
func TestSessionTokens(t *testing.T) {
	f := newSessions(t, testenv.SQLite(t))
	ctx := context.Background()
	f.clock.Advance(1500 * time.Millisecond)
	unverified := ada
	unverified.EmailVerified = false
	_, s := f.start(t, unverified)
	raw, exp, err := f.IssueToken(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.ExpiresAt.Truncate(time.Second); !exp.Equal(want) {
		t.Errorf("expires %v, want the session's end %v to the second", exp, want)
	}
	c, err := f.keys.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenUse != token.UseSession || c.SessionID != s.ID || c.Subject != "ada@example.com"+auth.UnverifiedMark || c.ExpiresAt.Unix() != exp.Unix() {
		t.Errorf("claims %+v, want a session token of %s for %q", c, s.ID, "ada@example.com"+auth.UnverifiedMark)
	}
	if got, err := f.FromToken(ctx, c); err != nil || got.ID != s.ID {
		t.Errorf("FromToken = %+v, %v", got, err)
	}
	service := *c
	service.TokenUse = token.UseService
	_, err = f.FromToken(ctx, &service)
	wantEnded(t, "service token claims with a session id", err)
	if err := f.End(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.FromToken(ctx, c)
	wantEnded(t, "a token of an ended session", err)
}

// TestCSRFToken: the token of a session is checked against that session alone, and cannot be
// made without the cookie key.
func TestCSRFToken(t *testing.T) {
	f := newSessions(t, testenv.SQLite(t))
	_, a := f.start(t, ada)
	_, b := f.start(t, ada)
	tok := f.CSRFToken(a)
	if !f.CheckCSRF(a, tok) {
		t.Fatal("a session's own CSRF token is refused")
	}
	altered := tok[:len(tok)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(tok, "A")] // never the token itself
	for name, got := range map[string]string{"empty": "", "another session's": f.CSRFToken(b), "altered": altered, "with a suffix": tok + "x"} {
		if f.CheckCSRF(a, got) {
			t.Errorf("%s CSRF token accepted", name)
		}
	}
	otherKey := auth.NewSessions(nil, f.keys, []byte("another-cookie-key-0123456789-abcdefghij"), ttl, idle, f.clock.Now)
	if otherKey.CSRFToken(a) == tok {
		t.Error("another cookie key makes the same CSRF token")
	}
}

// TestActorAndIdentityKey: an unverified email is always marked, so it never names the
// address's owner; the identity key is issuer and subject, never the email.
func TestActorAndIdentityKey(t *testing.T) {
	id := auth.Identity{Issuer: "https://idp.example", Subject: "s-1", Email: "boss@example.com"}
	if id.Actor() != "boss@example.com (unverified)" || id.IdentityKey() != "https://idp.example s-1" {
		t.Errorf("unverified: actor %q, key %q", id.Actor(), id.IdentityKey())
	}
	id.EmailVerified = true
	if id.Actor() != "boss@example.com" {
		t.Errorf("verified: actor %q", id.Actor())
	}
	if k := (auth.Identity{Issuer: "https://idp.example", Email: "x@example.com"}).IdentityKey(); k != "" {
		t.Errorf("no subject: key %q, want none", k)
	}
}
