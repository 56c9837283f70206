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
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/golang-jwt/jwt/v5"
)

// Session is a signed-in person's server-side session. Its secret lives only in their cookie;
// the database keeps a hash of it.
type Session struct {
	ID      string
	Email   string
	Name    string
	IsAdmin bool
	// AdminReason says why the person is an administrator ("group codemetrics-admins").
	AdminReason string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Identity is who the identity provider says signed in.
type Identity struct {
	Email   string
	Name    string
	IsAdmin bool
	// Reason says why IsAdmin is what it is, for the portal and the audit log.
	Reason string
}

// SessionStore is what sessions need from persistence.
type SessionStore interface {
	InsertSession(ctx context.Context, s Session, secretHash string) error
	SessionBySecretHash(ctx context.Context, secretHash string) (Session, error)
	SessionByID(ctx context.Context, id string) (Session, error)
	DeleteSession(ctx context.Context, id string) error
}

// Sessions starts, finds and ends administrator sessions.
type Sessions struct {
	store   SessionStore
	keys    *token.Keyring
	csrfKey []byte
	ttl     time.Duration
	now     func() time.Time
}

// NewSessions returns the session service. cookieKey signs CSRF tokens.
func NewSessions(store SessionStore, keys *token.Keyring, cookieKey []byte, ttl time.Duration, now func() time.Time) *Sessions {
	return &Sessions{store: store, keys: keys, csrfKey: cookieKey, ttl: ttl, now: now}
}

// TTL is how long a session lasts.
func (s *Sessions) TTL() time.Duration { return s.ttl }

var errNoSession = apperr.New(apperr.Unauthorized, "you are not signed in, or your session has ended: sign in again")

// Start begins a new session for id and returns the secret for the session cookie. Every
// sign-in calls it, so every sign-in gets a new session id.
func (s *Sessions) Start(ctx context.Context, id Identity) (string, Session, error) {
	secret, err := randomString(32)
	if err != nil {
		return "", Session{}, apperr.Wrap(err, apperr.Internal, "generate session secret")
	}
	sid, err := randomString(16)
	if err != nil {
		return "", Session{}, apperr.Wrap(err, apperr.Internal, "generate session id")
	}
	now := s.now().UTC()
	sess := Session{ID: sid, Email: id.Email, Name: id.Name, IsAdmin: id.IsAdmin, AdminReason: id.Reason, CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
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
	if !s.now().Before(sess.ExpiresAt) {
		return Session{}, errNoSession
	}
	return sess, nil
}

// End deletes the session: its cookie and every session token taken from it stop working.
func (s *Sessions) End(ctx context.Context, id string) error {
	err := s.store.DeleteSession(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	return err
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
		ID: jti, Subject: sess.Email, Issuer: s.keys.Issuer(), Audience: token.Audience,
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
