package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
)

type sessionRow struct {
	ID                  string `gorm:"primaryKey"`
	SecretHash          string
	Issuer              string
	Subject             string
	Email               string
	EmailVerified       bool
	Name                string
	IsAdmin             bool
	AdminReason         string
	CreatedMS           int64 `gorm:"column:created_at"`
	ExpiresMS           int64 `gorm:"column:expires_at"`
	LastSeenMS          int64 `gorm:"column:last_seen_at"`
	SignInAddress       string
	LastAddress         string
	LastCookieUseMS     int64 `gorm:"column:last_cookie_use_at"`
	LastTokenUseMS      int64 `gorm:"column:last_token_use_at"`
	SessionTokensIssued int
}

func (sessionRow) TableName() string { return "admin_sessions" }

func (r sessionRow) toSession() auth.Session {
	return auth.Session{
		ID: r.ID, Issuer: r.Issuer, Subject: r.Subject, Email: r.Email, EmailVerified: r.EmailVerified, Name: r.Name,
		IsAdmin: r.IsAdmin, AdminReason: r.AdminReason, CreatedAt: fromMS(r.CreatedMS), ExpiresAt: fromMS(r.ExpiresMS),
		LastSeenAt: fromMS(r.LastSeenMS), SignInAddress: r.SignInAddress, LastAddress: r.LastAddress,
		LastCookieUseAt: fromOptionalMS(r.LastCookieUseMS), LastTokenUseAt: fromOptionalMS(r.LastTokenUseMS),
		SessionTokensIssued: r.SessionTokensIssued,
	}
}

// fromOptionalMS reads a time column whose 0 means never.
func fromOptionalMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}

func optionalMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

// InsertSession stores a new session; only the hash of its secret.
func (s *Store) InsertSession(ctx context.Context, sess auth.Session, secretHash string) error {
	row := sessionRow{
		ID: sess.ID, SecretHash: secretHash, Issuer: sess.Issuer, Subject: sess.Subject, Email: sess.Email, EmailVerified: sess.EmailVerified,
		Name: sess.Name, IsAdmin: sess.IsAdmin, AdminReason: sess.AdminReason,
		CreatedMS: ms(sess.CreatedAt), ExpiresMS: ms(sess.ExpiresAt), LastSeenMS: ms(sess.LastSeenAt),
		SignInAddress: sess.SignInAddress, LastAddress: sess.LastAddress, LastCookieUseMS: optionalMS(sess.LastCookieUseAt),
	}
	return translate(s.writeOne(ctx, func(db *gorm.DB) error { return db.Create(&row).Error }), "session")
}

// SessionBySecretHash finds a session by the hash of its cookie secret.
func (s *Store) SessionBySecretHash(ctx context.Context, secretHash string) (auth.Session, error) {
	var row sessionRow
	if err := s.db.WithContext(ctx).Where("secret_hash = ?", secretHash).Take(&row).Error; err != nil {
		return auth.Session{}, translate(err, "session")
	}
	return row.toSession(), nil
}

// SessionByID finds a session by its id.
func (s *Store) SessionByID(ctx context.Context, id string) (auth.Session, error) {
	var row sessionRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return auth.Session{}, translate(err, "session")
	}
	return row.toSession(), nil
}

// DeleteSession removes a session; NotFound if there was none.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	var deleted int64
	err := s.writeOne(ctx, func(db *gorm.DB) error {
		res := db.Where("id = ?", id).Delete(&sessionRow{})
		deleted = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return translate(err, "session")
	}
	if deleted == 0 {
		return apperr.New(apperr.NotFound, "session not found")
	}
	return nil
}

// DeleteSessionsOf removes every session of one identity (issuer and subject).
func (s *Store) DeleteSessionsOf(ctx context.Context, issuer, subject string) (int64, error) {
	var deleted int64
	err := s.writeOne(ctx, func(db *gorm.DB) error {
		res := db.Where("subject = ? AND issuer = ?", subject, issuer).Delete(&sessionRow{})
		deleted = res.RowsAffected
		return res.Error
	})
	return deleted, translate(err, "session")
}

// ListSessions returns the sessions live at now and last seen after idleSince, newest first.
func (s *Store) ListSessions(ctx context.Context, now, idleSince time.Time, limit int) ([]auth.Session, error) {
	db := s.db.WithContext(ctx).Where("expires_at > ? AND last_seen_at > ?", ms(now), ms(idleSince)).
		Order("created_at DESC").Order("id").Limit(limit)
	return findAll(db, "session", sessionRow.toSession)
}

// TouchSession records a use of the session at now from addr, unless both its last use and
// its last use of that kind were recorded after notBefore (another request, another replica).
func (s *Store) TouchSession(ctx context.Context, id string, via auth.Via, addr string, now, notBefore time.Time) error {
	col := "last_cookie_use_at"
	if via == auth.ViaToken {
		col = "last_token_use_at"
	}
	err := s.writeOne(ctx, func(db *gorm.DB) error {
		return db.Model(&sessionRow{}).
			Where("id = ? AND (last_seen_at <= ? OR "+col+" <= ?)", id, ms(notBefore), ms(notBefore)).
			Updates(map[string]any{"last_seen_at": ms(now), col: ms(now), "last_address": addr}).Error
	})
	return translate(err, "session")
}

// CountSessionToken adds one to the session tokens taken from the session.
func (s *Store) CountSessionToken(ctx context.Context, id string) error {
	// A failed statement changed nothing: it may be sent again.
	err := s.writeOne(ctx, func(db *gorm.DB) error {
		return db.Model(&sessionRow{}).Where("id = ?", id).
			Update("session_tokens_issued", gorm.Expr("session_tokens_issued + 1")).Error
	})
	return translate(err, "session")
}

// PurgeSessions removes the sessions that expired before now or were last seen at or before
// idleSince, and the used sign-in states that expired before now. It returns how many sessions
// went.
func (s *Store) PurgeSessions(ctx context.Context, now, idleSince time.Time) (int64, error) {
	var purged int64
	err := s.writeOne(ctx, func(db *gorm.DB) error {
		res := db.Where("expires_at <= ? OR last_seen_at <= ?", ms(now), ms(idleSince)).Delete(&sessionRow{})
		purged = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, translate(err, "session")
	}
	err = s.writeOne(ctx, func(db *gorm.DB) error { return db.Where("expires_at < ?", ms(now)).Delete(&loginStateRow{}).Error })
	return purged, translate(err, "sign-in state")
}

type loginStateRow struct {
	StateHash string `gorm:"primaryKey"`
	ExpiresMS int64  `gorm:"column:expires_at"`
}

func (loginStateRow) TableName() string { return "login_states_used" }

// MarkLoginStateUsed records that a sign-in state was used; Conflict if it already was. A
// state is only used before it expires, so an expired row left until the purge changes nothing.
func (s *Store) MarkLoginStateUsed(ctx context.Context, stateHash string, expires, _ time.Time) error {
	// Expired states are purged in the background (PurgeSessions), not on every sign-in.
	// Replicas receiving one response at once on different Galera nodes conflict (1213) rather
	// than meet the duplicate key: run again, the state is found used.
	err := s.writeOne(ctx, func(db *gorm.DB) error {
		return db.Create(&loginStateRow{StateHash: stateHash, ExpiresMS: ms(expires)}).Error
	})
	if isDuplicate(err) {
		return apperr.New(apperr.Conflict, "this sign-in response was already used")
	}
	return translate(err, "sign-in state")
}
