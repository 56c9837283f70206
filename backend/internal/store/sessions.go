package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
)

type sessionRow struct {
	ID          string `gorm:"primaryKey"`
	SecretHash  string
	Email       string
	Name        string
	IsAdmin     bool
	AdminReason string
	CreatedMS   int64 `gorm:"column:created_at"`
	ExpiresMS   int64 `gorm:"column:expires_at"`
}

func (sessionRow) TableName() string { return "admin_sessions" }

func (r sessionRow) toSession() auth.Session {
	return auth.Session{ID: r.ID, Email: r.Email, Name: r.Name, IsAdmin: r.IsAdmin, AdminReason: r.AdminReason, CreatedAt: fromMS(r.CreatedMS), ExpiresAt: fromMS(r.ExpiresMS)}
}

// InsertSession stores a new session; only the hash of its secret.
func (s *Store) InsertSession(ctx context.Context, sess auth.Session, secretHash string) error {
	row := sessionRow{
		ID: sess.ID, SecretHash: secretHash, Email: sess.Email, Name: sess.Name, IsAdmin: sess.IsAdmin, AdminReason: sess.AdminReason,
		CreatedMS: ms(sess.CreatedAt), ExpiresMS: ms(sess.ExpiresAt),
	}
	return translate(s.db.WithContext(ctx).Create(&row).Error, "session")
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
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&sessionRow{})
	if res.Error != nil {
		return translate(res.Error, "session")
	}
	if res.RowsAffected == 0 {
		return apperr.New(apperr.NotFound, "session not found")
	}
	return nil
}

// DeleteExpiredSessions removes sessions that ended before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	return translate(s.db.WithContext(ctx).Where("expires_at < ?", ms(now)).Delete(&sessionRow{}).Error, "session")
}

type loginStateRow struct {
	StateHash string `gorm:"primaryKey"`
	ExpiresMS int64  `gorm:"column:expires_at"`
}

func (loginStateRow) TableName() string { return "login_states_used" }

// MarkLoginStateUsed records that a sign-in state was used; Conflict if it already was.
func (s *Store) MarkLoginStateUsed(ctx context.Context, stateHash string, expires, now time.Time) error {
	db := s.db.WithContext(ctx)
	if err := db.Where("expires_at < ?", ms(now)).Delete(&loginStateRow{}).Error; err != nil {
		return translate(err, "sign-in state")
	}
	err := db.Create(&loginStateRow{StateHash: stateHash, ExpiresMS: ms(expires)}).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) || isUniqueViolation(err) {
		return apperr.New(apperr.Conflict, "this sign-in response was already used")
	}
	return translate(err, "sign-in state")
}
