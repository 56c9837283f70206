// Package auth holds who is calling: administrator sessions (started by the OIDC sign-in),
// session tokens taken from them, CSRF tokens, and the principal of a request.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/names"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/golang-jwt/jwt/v5"
)

// Session is a signed-in person's server-side session. Its secret lives only in their cookie;
// the database keeps a hash of it. Its ID is no secret (session tokens carry it): knowing it
// authenticates nobody.
type Session struct {
	ID string
	// Issuer and Subject are the identity provider's iss and sub: together, who this is.
	Issuer  string
	Subject string
	Email   string
	// EmailVerified is the provider's email_verified: an unverified email names nobody.
	EmailVerified bool
	Name          string
	IsAdmin       bool
	// AdminReason says why the person is an administrator ("group codemetrics-admins").
	AdminReason string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	// LastSeenAt is when the session was last used, written at most once per SeenGranularity.
	LastSeenAt time.Time
	// SignInAddress and LastAddress are the client addresses at sign-in and when last seen.
	SignInAddress string
	LastAddress   string
	// LastCookieUseAt and LastTokenUseAt are the last uses by the session cookie and by a
	// session token taken from it (zero when never), as coarse as LastSeenAt.
	LastCookieUseAt time.Time
	LastTokenUseAt  time.Time
	// SessionTokensIssued counts the session tokens taken from the session.
	SessionTokensIssued int
}

// IdentityKey is who the session belongs to, the same for every session of that person:
// issuer and subject, never the email. "" for a session without a subject.
func (s Session) IdentityKey() string { return identityKey(s.Issuer, s.Subject) }

// Actor names the person in the audit log and the portal: the email, marked when the
// provider has not verified it, so it can never pass for the address's real owner.
func (s Session) Actor() string { return actor(s.Email, s.EmailVerified) }

// Identity is who the identity provider says signed in.
type Identity struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	IsAdmin       bool
	// Reason says why IsAdmin is what it is, for the portal and the audit log.
	Reason string
}

// IdentityKey is the key of this identity: issuer and subject (see Session.IdentityKey).
func (id Identity) IdentityKey() string { return identityKey(id.Issuer, id.Subject) }

// Actor names the person in the audit log (see Session.Actor).
func (id Identity) Actor() string { return actor(id.Email, id.EmailVerified) }

func identityKey(issuer, subject string) string {
	if subject == "" {
		return ""
	}
	return issuer + " " + subject
}

// UnverifiedMark follows an email the identity provider has not verified, wherever it names
// someone.
const UnverifiedMark = " (unverified)"

func actor(email string, verified bool) string {
	if verified {
		return email
	}
	return email + UnverifiedMark
}

// Via says how a session was used.
type Via int

// How a session is used: by its cookie, or by a bearer session token taken from it.
const (
	ViaCookie Via = iota
	ViaToken
)

// SessionStore is what sessions need from persistence.
type SessionStore interface {
	InsertSession(ctx context.Context, s Session, secretHash string) error
	SessionBySecretHash(ctx context.Context, secretHash string) (Session, error)
	SessionByID(ctx context.Context, id string) (Session, error)
	DeleteSession(ctx context.Context, id string) error
	// DeleteSessionsOf deletes every session of issuer and subject and returns how many.
	DeleteSessionsOf(ctx context.Context, issuer, subject string) (int64, error)
	// ListSessions returns the sessions live at now and seen since idleSince, newest first.
	ListSessions(ctx context.Context, now, idleSince time.Time, limit int) ([]Session, error)
	// TouchSession records a use at now from addr, unless one was recorded since notBefore.
	TouchSession(ctx context.Context, id string, via Via, addr string, now, notBefore time.Time) error
	// CountSessionToken records that a session token was taken from the session.
	CountSessionToken(ctx context.Context, id string) error
	// PurgeSessions deletes sessions that expired before now or were last seen before idleSince,
	// and the sign-in states that expired before now.
	PurgeSessions(ctx context.Context, now, idleSince time.Time) (int64, error)
}

// SeenGranularity is how often, at most, a session's last use is written: the idle timeout
// is decided to within it.
const SeenGranularity = time.Minute

// MaxListedSessions caps the sessions list (live administrator sessions are few).
const MaxListedSessions = 500

// Sessions starts, finds and ends administrator sessions.
type Sessions struct {
	store   SessionStore
	keys    *token.Keyring
	csrfKey []byte
	ttl     time.Duration
	idle    time.Duration
	seen    time.Duration
	now     func() time.Time
}

// NewSessions returns the session service. cookieKey signs CSRF tokens; a session ends ttl
// after it started, or idle after it was last used.
func NewSessions(store SessionStore, keys *token.Keyring, cookieKey []byte, ttl, idle time.Duration, now func() time.Time) *Sessions {
	// Writing last use once a minute is fine for an idle timeout of an hour; a short one
	// (tests, strict sites) is written more often, so it stays accurate to a quarter of itself.
	seen := min(SeenGranularity, max(idle/4, time.Second))
	return &Sessions{store: store, keys: keys, csrfKey: cookieKey, ttl: ttl, idle: idle, seen: seen, now: now}
}

// IdleTimeout is how long a session may go unused.
func (s *Sessions) IdleTimeout() time.Duration { return s.idle }

var errNoSession = apperr.New(apperr.SessionEnded, "you are not signed in, or your session has ended: sign in again")

// Start begins a new session for id and returns the secret for the session cookie. Every
// sign-in calls it, so every sign-in gets a new session id.
func (s *Sessions) Start(ctx context.Context, id Identity) (string, Session, error) {
	return s.StartFrom(ctx, id, "")
}

// StartFrom is Start for a sign-in from the client address addr.
func (s *Sessions) StartFrom(ctx context.Context, id Identity, addr string) (string, Session, error) {
	secret, err := randomString(32)
	if err != nil {
		return "", Session{}, apperr.Wrap(err, apperr.Internal, "generate session secret")
	}
	sid, err := randomString(16)
	if err != nil {
		return "", Session{}, apperr.Wrap(err, apperr.Internal, "generate session id")
	}
	now := s.now().UTC()
	addr = names.Truncate(addr, 64)
	sess := Session{
		ID: sid, Issuer: id.Issuer, Subject: id.Subject, Email: id.Email, EmailVerified: id.EmailVerified, Name: id.Name,
		IsAdmin: id.IsAdmin, AdminReason: id.Reason, CreatedAt: now, ExpiresAt: now.Add(s.ttl), LastSeenAt: now,
		SignInAddress: addr, LastAddress: addr, LastCookieUseAt: now, // the sign-in hands over the cookie
	}
	if err := s.store.InsertSession(ctx, sess, hashSecret(secret)); err != nil {
		return "", Session{}, err
	}
	return secret, sess, nil
}

// FromCookie returns the live session whose secret is in the cookie.
func (s *Sessions) FromCookie(ctx context.Context, secret string) (Session, error) {
	if secret == "" || len(secret) > 128 {
		return Session{}, errNoSession
	}
	sess, err := s.store.SessionBySecretHash(ctx, hashSecret(secret))
	return s.live(sess, err)
}

// FromToken returns the live session a verified session token was taken from.
func (s *Sessions) FromToken(ctx context.Context, c *token.Claims) (Session, error) {
	if c.TokenUse != token.UseSession || c.SessionID == "" {
		return Session{}, errNoSession
	}
	sess, err := s.store.SessionByID(ctx, c.SessionID)
	return s.live(sess, err)
}

func (s *Sessions) live(sess Session, err error) (Session, error) {
	if apperr.Is(err, apperr.NotFound) {
		return Session{}, errNoSession
	}
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(s.idle)) {
		return Session{}, errNoSession
	}
	return sess, nil
}

// Seen records that sess was just used via cookie or token from addr. It writes only when the
// last recorded use (of that kind) is older than the granularity, so a busy session costs one
// write a minute, not one a request.
func (s *Sessions) Seen(ctx context.Context, sess *Session, via Via, addr string) error {
	now := s.now().UTC()
	notBefore := now.Add(-s.seen)
	last := sess.LastCookieUseAt
	if via == ViaToken {
		last = sess.LastTokenUseAt
	}
	if sess.LastSeenAt.After(notBefore) && last.After(notBefore) {
		return nil
	}
	addr = names.Truncate(addr, 64)
	if err := s.store.TouchSession(ctx, sess.ID, via, addr, now, notBefore); err != nil {
		return err
	}
	sess.LastSeenAt, sess.LastAddress = now, addr
	if via == ViaToken {
		sess.LastTokenUseAt = now
	} else {
		sess.LastCookieUseAt = now
	}
	return nil
}

// End deletes the session: its cookie and every session token taken from it stop working.
func (s *Sessions) End(ctx context.Context, id string) error {
	err := s.store.DeleteSession(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	return err
}

// EndIdentity ends every session of the identity key (see Session.IdentityKey) and returns
// how many there were.
func (s *Sessions) EndIdentity(ctx context.Context, key string) (int64, error) {
	issuer, subject, ok := strings.Cut(key, " ")
	if !ok || subject == "" {
		return 0, apperr.New(apperr.InvalidParameter, "identity must be an identity key as the sessions list gives it (issuer, a space, subject)")
	}
	return s.store.DeleteSessionsOf(ctx, issuer, subject)
}

// Get returns the live session with the given id; NotFound when there is none.
func (s *Sessions) Get(ctx context.Context, id string) (Session, error) {
	sess, err := s.live(s.store.SessionByID(ctx, id))
	if apperr.Is(err, apperr.Unauthorized) {
		return Session{}, apperr.New(apperr.NotFound, "no live session with that id: it may have ended already")
	}
	return sess, err
}

// List returns the live sessions, newest first.
func (s *Sessions) List(ctx context.Context) ([]Session, error) {
	now := s.now().UTC()
	return s.store.ListSessions(ctx, now, now.Add(-s.idle), MaxListedSessions)
}

// TokenIssued records that a session token was taken from sess.
func (s *Sessions) TokenIssued(ctx context.Context, sess Session) error {
	return s.store.CountSessionToken(ctx, sess.ID)
}

// Purge deletes the sessions that have ended (expired or idle) and the used sign-in states
// that have expired; the background loop calls it, tests call it after moving the clock.
func (s *Sessions) Purge(ctx context.Context) (int64, error) {
	now := s.now().UTC()
	return s.store.PurgeSessions(ctx, now, now.Add(-s.idle))
}

// IssueToken returns a bearer session token for sess, expiring with it.
func (s *Sessions) IssueToken(sess Session) (string, time.Time, error) {
	jti, err := token.NewID()
	if err != nil {
		return "", time.Time{}, apperr.Wrap(err, apperr.Internal, "generate token id")
	}
	now := s.now().UTC().Truncate(time.Second)
	exp := sess.ExpiresAt.UTC().Truncate(time.Second)
	raw, err := s.keys.Sign(&token.Claims{
		ID: jti, Subject: sess.Actor(), Issuer: s.keys.Issuer(), Audience: token.Audience,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		TokenUse: token.UseSession, SessionID: sess.ID,
	})
	if err != nil {
		return "", time.Time{}, apperr.Wrap(err, apperr.Internal, "sign session token")
	}
	return raw, exp, nil
}

// CSRFToken is the double-submit token of a session: an HMAC of its id, so it needs no storage
// and cannot be made without the cookie key.
func (s *Sessions) CSRFToken(sess Session) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("csrf\x00" + sess.ID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports whether got is the session's CSRF token, in constant time.
func (s *Sessions) CheckCSRF(sess Session, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRFToken(sess))) == 1
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
