package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"gorm.io/gorm"
)

type tokenRow struct {
	ID            string `gorm:"primaryKey"`
	Subject       string
	Scopes        string
	CreatedMS     int64 `gorm:"column:created_at"`
	ExpiresMS     int64 `gorm:"column:expires_at"`
	CreatedBy     string
	LastUsedMS    *int64 `gorm:"column:last_used_at"`
	RevokedMS     *int64 `gorm:"column:revoked_at"`
	RevokedBy     *string
	RevocationSeq *int64
	ServiceUserID int64
	// RevocationReason is why it was revoked, as the administrator wrote it; nil without one.
	RevocationReason *string
}

func (tokenRow) TableName() string { return "service_tokens" }

func toTokenRow(t token.Token) tokenRow {
	return tokenRow{
		ID: t.ID, Subject: t.Subject, Scopes: strings.Join(t.Scopes, " "), ServiceUserID: t.ServiceUserID,
		CreatedMS: ms(t.CreatedAt), ExpiresMS: ms(t.ExpiresAt), CreatedBy: t.CreatedBy,
	}
}

func (r tokenRow) toToken() token.Token {
	t := token.Token{
		ID: r.ID, Subject: r.Subject, Scopes: strings.Fields(r.Scopes), ServiceUserID: r.ServiceUserID,
		CreatedAt: fromMS(r.CreatedMS), ExpiresAt: fromMS(r.ExpiresMS), CreatedBy: r.CreatedBy,
		LastUsedAt: fromMSPtr(r.LastUsedMS), RevokedAt: fromMSPtr(r.RevokedMS),
	}
	if r.RevokedBy != nil {
		t.RevokedBy = *r.RevokedBy
	}
	if r.RevocationReason != nil {
		t.RevocationReason = *r.RevocationReason
	}
	return t
}

type auditRow struct {
	ID            int64 `gorm:"primaryKey;autoIncrement"`
	OccurredMS    int64 `gorm:"column:occurred_at"`
	Actor         string
	Action        string
	Target        string
	Details       string
	ActorID       string
	Credential    string
	ClientAddress string
	RequestID     string
}

func (auditRow) TableName() string { return "audit_events" }

func toAuditRow(ev audit.Event) (auditRow, error) {
	details := []byte("{}")
	if len(ev.Details) > 0 {
		var err error
		if details, err = json.Marshal(ev.Details); err != nil {
			return auditRow{}, apperr.Wrap(err, apperr.Internal, "encode audit details")
		}
	}
	return auditRow{
		OccurredMS: ms(ev.At), Actor: ev.Actor, Action: ev.Action, Target: ev.Target, Details: string(details),
		ActorID: ev.ActorID, Credential: ev.Credential, ClientAddress: ev.ClientAddress, RequestID: ev.RequestID,
	}, nil
}

func (r auditRow) toEvent() audit.Event {
	ev := audit.Event{
		ID: r.ID, At: fromMS(r.OccurredMS), Actor: r.Actor, Action: r.Action, Target: r.Target,
		ActorID: r.ActorID, Credential: r.Credential, ClientAddress: r.ClientAddress, RequestID: r.RequestID,
	}
	_ = json.Unmarshal([]byte(r.Details), &ev.Details) // written by toAuditRow; never malformed
	return ev
}

func insertEvent(tx *gorm.DB, ev audit.Event) error {
	row, err := toAuditRow(ev)
	if err != nil {
		return err
	}
	return tx.Create(&row).Error
}

// InsertToken stores a token and its audit event in one transaction.
func (s *Store) InsertToken(ctx context.Context, t token.Token, ev audit.Event) error {
	row := toTokenRow(t)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return insertEvent(tx, ev)
	})
	return translate(err, "token")
}

// RevokeToken revokes an active token, recording why when reason is not empty, and writes the
// token.revoked notification with it. The first statement increments the revocation feed's
// counter, whose row lock serialises revocations until commit: sequence order is commit order.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time, by, reason string, event func(token.Token) audit.Event) (token.Token, error) {
	return s.revokeToken(ctx, id, at, by, reason, event, notify.TokenRevoked)
}

// revokeToken is RevokeToken writing the notification kind (token.revoked, or token.leaked for
// a leak report).
func (s *Store) revokeToken(ctx context.Context, id string, at time.Time, by, reason string, event func(token.Token) audit.Event, kind string) (token.Token, error) {
	var out token.Token
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&feedRow{ID: 1}).Update("seq", gorm.Expr("seq + 1")).Error; err != nil {
			return err
		}
		var seq int64
		if err := tx.Model(&feedRow{}).Select("seq").Where("id = 1").Scan(&seq).Error; err != nil {
			return err
		}
		set := map[string]any{"revoked_at": ms(at), "revoked_by": by, "revocation_seq": seq}
		if reason != "" {
			set["revocation_reason"] = reason
		}
		res := tx.Model(&tokenRow{}).
			Where("id = ? AND revoked_at IS NULL AND expires_at > ?", id, ms(at)).
			Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return apperr.New(apperr.NotFound, "no active token with that id: it may have been revoked already or have expired")
		}
		var row tokenRow
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			return err
		}
		out = row.toToken()
		if err := insertEvent(tx, event(out)); err != nil {
			return err
		}
		// The service user is the subject until tokens belong to service users.
		return enqueueNotification(tx, notify.Event{
			Kind: kind, TokenID: out.ID, Subject: out.Subject, ServiceUser: out.Subject,
			Expires: out.ExpiresAt, Actor: by, Reason: reason, CreatedAt: at,
		})
	})
	return out, translate(err, "token")
}

// GetToken returns a token whatever its state.
func (s *Store) GetToken(ctx context.Context, id string) (token.Token, error) {
	var row tokenRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return token.Token{}, translate(err, "token")
	}
	return row.toToken(), nil
}

// ListActiveTokens returns tokens neither revoked nor expired, in the order q asks, from q's
// cursor on. Lists can be long (the portal pages, the docs' array does not), so the rows come
// from GORM's Rows() and are scanned by hand rather than by GORM's reflection: several times
// faster on 10,000 tokens.
func (s *Store) ListActiveTokens(ctx context.Context, q token.ListQuery) ([]token.Token, error) {
	col, dir, _ := sortKey(q.Sort)
	db := s.activeTokens(ctx, q).
		Select("id, subject, scopes, created_at, expires_at, created_by, last_used_at, service_user_id").
		Order(col + " " + dir + ", id " + dir)
	if q.Limit > 0 {
		db = db.Limit(q.Limit)
	}
	rows, err := db.Rows()
	if err != nil {
		return nil, translate(err, "tokens")
	}
	defer rows.Close()
	out := make([]token.Token, 0, max(q.Limit, 64))
	for rows.Next() {
		var t token.Token
		var scopes string
		var created, expires int64
		var lastUsed sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Subject, &scopes, &created, &expires, &t.CreatedBy, &lastUsed, &t.ServiceUserID); err != nil {
			return nil, translate(err, "tokens")
		}
		t.Scopes, t.CreatedAt, t.ExpiresAt = strings.Fields(scopes), fromMS(created), fromMS(expires)
		if lastUsed.Valid {
			lu := fromMS(lastUsed.Int64)
			t.LastUsedAt = &lu
		}
		out = append(out, t)
	}
	return out, translate(rows.Err(), "tokens")
}

// CountActiveTokens counts the tokens ListActiveTokens would return without a limit.
func (s *Store) CountActiveTokens(ctx context.Context, q token.ListQuery) (int64, error) {
	var n int64
	err := s.activeTokens(ctx, q).Count(&n).Error
	return n, translate(err, "tokens")
}

// activeTokens is the one filter behind the token list and its count: tokens neither revoked
// nor expired at q.Now, whose subject matches q's, after q's cursor when it has one.
func (s *Store) activeTokens(ctx context.Context, q token.ListQuery) *gorm.DB {
	db := s.db.WithContext(ctx).Model(&tokenRow{}).Where("revoked_at IS NULL AND expires_at > ?", ms(q.Now))
	if q.Subject != "" {
		db = db.Where("LOWER(subject) LIKE ? ESCAPE '!'", containsPattern(q.Subject))
	}
	if q.ServiceUserID != 0 {
		db = db.Where("service_user_id = ?", q.ServiceUserID)
	}
	if q.After != nil {
		col, _, op := sortKey(q.Sort)
		at := ms(q.After.At)
		db = db.Where("("+col+" "+op+" ? OR ("+col+" = ? AND id "+op+" ?))", at, at, q.After.ID)
	}
	return db
}

// sortKey is the column a list sorted by sort is ordered by, its direction, and the comparison
// that means "after" in it.
func sortKey(sort string) (col, dir, after string) {
	if sort == token.SortExpiring {
		return "expires_at", "ASC", ">"
	}
	return "created_at", "DESC", "<"
}

var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// containsPattern is the LIKE pattern (with ESCAPE '!') of "contains q, ignoring case", for a
// column compared as LOWER(column): SQLite's LIKE ignores ASCII case, MySQL's binary collation
// does not.
func containsPattern(q string) string {
	return "%" + likeEscaper.Replace(strings.ToLower(q)) + "%"
}

// feedRow is the revocation feed's counter, its one row (id 1).
type feedRow struct {
	ID  int64 `gorm:"primaryKey"`
	Seq int64
}

func (feedRow) TableName() string { return "revocation_feed" }

// RevocationsFrom returns the feed's counter and the revocations from seq on, inclusive, in
// one statement: the counter row joined to the entries, so an empty feed still gives a row;
// and the service-user feed's counter, so that a poll with no service user changed costs this
// one statement.
func (s *Store) RevocationsFrom(ctx context.Context, seq int64, limit int) (token.FeedPage, error) {
	rows, err := s.db.WithContext(ctx).Table("revocation_feed f").
		Select("f.seq, (SELECT u.seq FROM service_user_feed u WHERE u.id = 1), t.revocation_seq, t.id, t.expires_at, t.revoked_at").
		Joins("LEFT JOIN service_tokens t ON t.revocation_seq >= ?", seq).
		Where("f.id = 1").Order("t.revocation_seq").Limit(limit).Rows()
	if err != nil {
		return token.FeedPage{}, translate(err, "revocations")
	}
	defer rows.Close()
	var page token.FeedPage
	for rows.Next() {
		var seq, expires, revoked sql.NullInt64
		var id sql.NullString
		if err := rows.Scan(&page.Counter, &page.UserCounter, &seq, &id, &expires, &revoked); err != nil {
			return token.FeedPage{}, translate(err, "revocations")
		}
		if seq.Valid {
			page.Entries = append(page.Entries, token.Revocation{
				Seq: seq.Int64, TokenID: id.String, ExpiresAt: fromMS(expires.Int64), RevokedAt: fromMS(revoked.Int64),
			})
		}
	}
	return page, translate(rows.Err(), "revocations")
}

// UnexpiredRevocations returns the feed's last entry, then the revocations of tokens that
// expire after now, from the (expires_at, revocation_seq, id) index: revocations of expired
// tokens, however many, are never read. In that order, so that a revocation committed in
// between is read twice rather than not at all.
func (s *Store) UnexpiredRevocations(ctx context.Context, now time.Time) (token.Revocation, []token.Revocation, error) {
	var last token.Revocation
	var expires, revoked int64
	err := s.db.WithContext(ctx).Model(&tokenRow{}).Select("revocation_seq, id, expires_at, revoked_at").
		Where("revocation_seq IS NOT NULL").Order("revocation_seq DESC").Limit(1).Row().
		Scan(&last.Seq, &last.TokenID, &expires, &revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		last = token.Revocation{}
	case err != nil:
		return token.Revocation{}, nil, translate(err, "revocations")
	default:
		last.ExpiresAt, last.RevokedAt = fromMS(expires), fromMS(revoked)
	}
	rows, err := s.db.WithContext(ctx).Model(&tokenRow{}).Select("revocation_seq, id, expires_at").
		Where("expires_at > ? AND revocation_seq IS NOT NULL", ms(now)).Rows()
	if err != nil {
		return token.Revocation{}, nil, translate(err, "revocations")
	}
	defer rows.Close()
	var live []token.Revocation
	for rows.Next() {
		var r token.Revocation
		if err := rows.Scan(&r.Seq, &r.TokenID, &expires); err != nil {
			return token.Revocation{}, nil, translate(err, "revocations")
		}
		r.ExpiresAt = fromMS(expires)
		live = append(live, r)
	}
	return last, live, translate(rows.Err(), "revocations")
}

// SaveLastUsed writes last-use times in one transaction; an older time never overwrites a newer.
func (s *Store) SaveLastUsed(ctx context.Context, uses map[string]time.Time) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for id, at := range uses {
			v := ms(at)
			err := tx.Model(&tokenRow{}).
				Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, v).
				Update("last_used_at", v).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	return translate(err, "token")
}

// AppendEvent stores an audit event on its own.
func (s *Store) AppendEvent(ctx context.Context, ev audit.Event) error {
	return translate(insertEvent(s.db.WithContext(ctx), ev), "audit event")
}

// ListEvents returns audit events, newest first.
func (s *Store) ListEvents(ctx context.Context, q audit.Query) ([]audit.Event, error) {
	db := s.db.WithContext(ctx).Order("id DESC").Limit(q.Limit)
	if q.Action != "" {
		db = db.Where("action = ?", q.Action)
	}
	if q.Before > 0 {
		db = db.Where("id < ?", q.Before)
	}
	var rows []auditRow
	if err := db.Find(&rows).Error; err != nil {
		return nil, translate(err, "audit events")
	}
	out := make([]audit.Event, len(rows))
	for i, r := range rows {
		out[i] = r.toEvent()
	}
	return out, nil
}
