package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
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
	Description      string
	// Replaces and ReplacedBy link a token and its successor by rotation.
	Replaces   *string
	ReplacedBy *string
	// EndsMS is when a rotated token's grace period ends; EndedMS when the token stops working
	// (the earliest of its expiry, grace end and revocation).
	EndsMS  *int64 `gorm:"column:ends_at"`
	EndedMS int64  `gorm:"column:ended_at"`
	// The client of the last use, and the presentations after the token stopped working
	// (usage.go writes them).
	LastUsedAddress   *string
	LastUsedUserAgent *string
	EndedUses         int64
	EndedLastSeenMS   *int64 `gorm:"column:ended_last_seen"`
	EndedLastAddress  *string
	EndedNotifiedMS   *int64 `gorm:"column:ended_notified_at"`
}

func (tokenRow) TableName() string { return "service_tokens" }

func toTokenRow(t token.Token) tokenRow {
	r := tokenRow{
		ID: t.ID, Subject: t.Subject, Scopes: strings.Join(t.Scopes, " "), ServiceUserID: t.ServiceUserID,
		CreatedMS: ms(t.CreatedAt), ExpiresMS: ms(t.ExpiresAt), CreatedBy: t.CreatedBy,
		Description: t.Description, EndedMS: ms(t.StopsAt()),
	}
	if t.Replaces != "" {
		r.Replaces = &t.Replaces
	}
	return r
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
	t.Description = r.Description
	if r.Replaces != nil {
		t.Replaces = *r.Replaces
	}
	if r.ReplacedBy != nil {
		t.ReplacedBy = *r.ReplacedBy
	}
	t.GraceEndsAt = fromMSPtr(r.EndsMS)
	t.LastUsedAddress, t.LastUsedUserAgent = deref(r.LastUsedAddress), deref(r.LastUsedUserAgent)
	t.StillPresented = stillPresented(r.EndedUses, fromMSPtr(r.EndedLastSeenMS), deref(r.EndedLastAddress))
	return t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// stillPresented is what the row says of presentations after the token stopped working.
func stillPresented(times int64, last *time.Time, from string) *token.StillPresented {
	if times == 0 || last == nil {
		return nil
	}
	return &token.StillPresented{Times: times, LastSeen: *last, LastAddress: from}
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
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		row := toTokenRow(t)
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
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		t, err := revokeIn(tx, id, at, by, reason, event, kind)
		if errors.Is(err, errNotActive) {
			return apperr.New(apperr.NotFound, "no active token with that id: it may have been revoked already or have expired")
		}
		out = t
		return err
	})
	return out, translate(err, "token")
}

// errNotActive is revokeIn's answer for a token that is not active (or does not exist).
var errNotActive = errors.New("no active token with that id")

// revokeIn revokes the active token id in tx: the next revocation sequence number (the feed
// entry every instance reads), the audit event made by event and the notification kind.
// errNotActive when there is no active token with that id.
func revokeIn(tx *gorm.DB, id string, at time.Time, by, reason string, event func(token.Token) audit.Event, kind string) (token.Token, error) {
	seq, err := nextRevocationSeq(tx)
	if err != nil {
		return token.Token{}, err
	}
	set := map[string]any{"revoked_at": ms(at), "revoked_by": by, "revocation_seq": seq, "ended_at": ms(at)}
	if reason != "" {
		set["revocation_reason"] = reason
	}
	// A rotated token in its grace period may be revoked: that ends the grace period early.
	res := tx.Model(&tokenRow{}).
		Where("id = ? AND revoked_at IS NULL AND expires_at > ? AND (ends_at IS NULL OR ends_at > ?)", id, ms(at), ms(at)).
		Updates(set)
	if res.Error != nil {
		return token.Token{}, res.Error
	}
	if res.RowsAffected != 1 {
		return token.Token{}, errNotActive
	}
	var row tokenRow
	if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
		return token.Token{}, err
	}
	out := row.toToken()
	if err := insertEvent(tx, event(out)); err != nil {
		return token.Token{}, err
	}
	// The service user is the subject until tokens belong to service users.
	return out, enqueueNotification(tx, notify.Event{
		Kind: kind, TokenID: out.ID, Subject: out.Subject, ServiceUser: out.Subject,
		Expires: out.ExpiresAt, Actor: by, Reason: reason, CreatedAt: at,
	})
}

// revokeChunk is how many ids RevokeTokens revokes per transaction.
const revokeChunk = 100

// RevokeTokens revokes the active tokens among ids as RevokeToken does each (see token.Store),
// revokeChunk ids per transaction; with dryRun it changes nothing and says what it would do.
func (s *Store) RevokeTokens(ctx context.Context, ids []string, at time.Time, by, reason string, dryRun bool, event func(token.Token) audit.Event) ([]token.RevokeOutcome, error) {
	out := make([]token.RevokeOutcome, 0, len(ids))
	for chunk := range slices.Chunk(ids, revokeChunk) {
		var part []token.RevokeOutcome
		err := s.writeTx(ctx, func(tx *gorm.DB) error {
			part = part[:0]
			var rows []tokenRow
			if err := tx.Where("id IN ?", chunk).Find(&rows).Error; err != nil {
				return err
			}
			found := make(map[string]token.Token, len(rows))
			for _, r := range rows {
				found[r.ID] = r.toToken()
			}
			for _, id := range chunk {
				t, ok := found[id]
				o := token.RevokeOutcome{ID: id, Status: token.RevokeNotFound}
				switch {
				case !ok:
				case !t.Active(at):
					o.Status = token.RevokeAlreadyEnded
				case dryRun:
					o.Status, o.Token = token.RevokeDone, t
				default:
					rt, err := revokeIn(tx, id, at, by, reason, event, notify.TokenRevoked)
					switch {
					case errors.Is(err, errNotActive):
						o.Status = token.RevokeAlreadyEnded
					case err != nil:
						return err
					default:
						o.Status, o.Token = token.RevokeDone, rt
					}
				}
				part = append(part, o)
			}
			return nil
		})
		if err != nil {
			return out, translate(err, "token")
		}
		out = append(out, part...)
	}
	return out, nil
}

// nextRevocationSeq increments the revocation feed's counter and returns it. Its row lock
// serialises the revocations and rotations of tx's caller until commit.
func nextRevocationSeq(tx *gorm.DB) (int64, error) {
	if err := tx.Model(&feedRow{ID: 1}).Update("seq", gorm.Expr("seq + 1")).Error; err != nil {
		return 0, err
	}
	var seq int64
	err := tx.Model(&feedRow{}).Select("seq").Where("id = 1").Scan(&seq).Error
	return seq, err
}

// RotateToken rotates the active token id (see token.Store). The first statement increments
// the revocation feed's counter, as a revocation does: its row lock serialises rotations and
// revocations until commit, so of two rotations of one token the second finds the first's
// successor and changes nothing (and the unique index on replaces would refuse a second
// successor anyway).
func (s *Store) RotateToken(ctx context.Context, id string, at time.Time, rotate func(token.Token, token.ServiceUser) (token.Rotation, error)) (token.Rotation, error) {
	var out token.Rotation
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		seq, err := nextRevocationSeq(tx)
		if err != nil {
			return err
		}
		var row tokenRow
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return apperr.New(apperr.NotFound, "no active token with that id")
			}
			return err
		}
		old := row.toToken()
		switch {
		case old.ReplacedBy != "":
			return errAlreadyRotated(old)
		case !old.Active(at):
			return apperr.New(apperr.NotFound, "no active token with that id: it was revoked or has expired, so there is nothing to rotate; create a new token")
		}
		var urow userRow
		if err := tx.Where("id = ?", old.ServiceUserID).Take(&urow).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return apperr.New(apperr.NotFound, "no active token with that id")
			}
			return err
		}
		rot, err := rotate(old, urow.toUser())
		if err != nil {
			return err
		}
		ends := ms(rot.GraceEndsAt)
		res := tx.Model(&tokenRow{}).Where("id = ? AND replaced_by IS NULL AND revoked_at IS NULL", id).Updates(map[string]any{
			"replaced_by": rot.Successor.ID, "ends_at": ends, "ended_at": min(ends, row.EndedMS), "revocation_seq": seq,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return apperr.New(apperr.Conflict, "the token was rotated or revoked meanwhile: read it again")
		}
		next := toTokenRow(rot.Successor)
		if err := tx.Create(&next).Error; err != nil {
			return err
		}
		for _, ev := range rot.Events {
			if err := insertEvent(tx, ev); err != nil {
				return err
			}
		}
		rot.Old.ReplacedBy, rot.Old.GraceEndsAt = rot.Successor.ID, &rot.GraceEndsAt
		out = rot
		return enqueueNotification(tx, notify.Event{
			Kind: notify.TokenRotated, TokenID: old.ID, Subject: old.Subject, ServiceUser: urow.Name,
			Expires: rot.GraceEndsAt, Actor: rot.Successor.CreatedBy, CreatedAt: at,
		})
	})
	if isDuplicate(err) { // a second successor, refused by the unique index on replaces
		if t, gerr := s.GetToken(ctx, id); gerr == nil && t.ReplacedBy != "" {
			return token.Rotation{}, errAlreadyRotated(t)
		}
	}
	return out, translate(err, "token")
}

func errAlreadyRotated(t token.Token) error {
	return apperr.New(apperr.TokenAlreadyRotated, "token %s was already rotated: its successor is %s. Nothing was changed (a retried rotation never ends the token the first one made); rotate the successor instead",
		t.ID, t.ReplacedBy)
}

// GetToken returns a token whatever its state.
func (s *Store) GetToken(ctx context.Context, id string) (token.Token, error) {
	var row tokenRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return token.Token{}, translate(err, "token")
	}
	return row.toToken(), nil
}

// ListTokens returns the tokens whose status at q.Now is one of q's, in the order q asks, from
// q's cursor on. Lists can be long (the portal pages, the docs' array does not), so the rows
// come from GORM's Rows() and are scanned by hand rather than by GORM's reflection: several
// times faster on 10,000 tokens.
func (s *Store) ListTokens(ctx context.Context, q token.ListQuery) ([]token.Token, error) {
	col, dir, _ := sortKey(q.Sort)
	db := s.tokensOf(ctx, q).
		Select("id, subject, scopes, created_at, expires_at, created_by, last_used_at, service_user_id, " +
			"revoked_at, revoked_by, revocation_reason, description, replaces, replaced_by, ends_at, " +
			"last_used_address, last_used_user_agent, ended_uses, ended_last_seen, ended_last_address").
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
		var lastUsed, revoked, ends sql.NullInt64
		var revokedBy, reason, replaces, replacedBy, lastAddress, lastAgent, endedFrom sql.NullString
		var endedUses int64
		var endedLast sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Subject, &scopes, &created, &expires, &t.CreatedBy, &lastUsed, &t.ServiceUserID,
			&revoked, &revokedBy, &reason, &t.Description, &replaces, &replacedBy, &ends,
			&lastAddress, &lastAgent, &endedUses, &endedLast, &endedFrom); err != nil {
			return nil, translate(err, "tokens")
		}
		t.LastUsedAddress, t.LastUsedUserAgent = lastAddress.String, lastAgent.String
		t.StillPresented = stillPresented(endedUses, nullTime(endedLast), endedFrom.String)
		t.Scopes, t.CreatedAt, t.ExpiresAt = strings.Fields(scopes), fromMS(created), fromMS(expires)
		t.LastUsedAt, t.RevokedAt, t.GraceEndsAt = nullTime(lastUsed), nullTime(revoked), nullTime(ends)
		t.RevokedBy, t.RevocationReason, t.Replaces, t.ReplacedBy = revokedBy.String, reason.String, replaces.String, replacedBy.String
		out = append(out, t)
	}
	return out, translate(rows.Err(), "tokens")
}

func nullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// CountTokens counts the tokens ListTokens would return without a limit.
func (s *Store) CountTokens(ctx context.Context, q token.ListQuery) (int64, error) {
	var n int64
	err := s.tokensOf(ctx, q).Count(&n).Error
	return n, translate(err, "tokens")
}

// statusCondition is the condition of one status at now (token.Token.Status, in SQL). Revoked
// and rotated tokens all hold a revocation_seq: saying so lets those filters use its index.
func statusCondition(status string, now int64) (string, []any) {
	switch status {
	case token.StatusRevoked:
		return "revocation_seq IS NOT NULL AND revoked_at IS NOT NULL", nil
	case token.StatusRotated:
		return "revocation_seq IS NOT NULL AND revoked_at IS NULL AND replaced_by IS NOT NULL", nil
	case token.StatusExpired:
		return "revoked_at IS NULL AND replaced_by IS NULL AND expires_at <= ?", []any{now}
	}
	return "revoked_at IS NULL AND replaced_by IS NULL AND expires_at > ?", []any{now}
}

// tokensOf is the one filter behind the token list and its count: tokens whose status at q.Now
// is one of q's (active when it names none), whose subject matches q's, after q's cursor when
// it has one.
func (s *Store) tokensOf(ctx context.Context, q token.ListQuery) *gorm.DB {
	db := s.db.WithContext(ctx).Model(&tokenRow{})
	statuses := q.Statuses
	if len(statuses) == 0 {
		statuses = []string{token.StatusActive}
	}
	if len(statuses) < len(token.Statuses) {
		var conds []string
		var args []any
		for _, st := range statuses {
			c, a := statusCondition(st, ms(q.Now))
			conds, args = append(conds, "("+c+")"), append(args, a...)
		}
		db = db.Where("("+strings.Join(conds, " OR ")+")", args...)
	}
	if q.Subject != "" {
		db = db.Where("LOWER(subject) LIKE ? ESCAPE '!'", containsPattern(q.Subject))
	}
	if q.ServiceUserID != 0 {
		db = db.Where("service_user_id = ?", q.ServiceUserID)
	}
	if q.Scope != "" {
		// scopes is space-separated: match the whole name, first, last, in between or alone.
		sc := likeEscaper.Replace(q.Scope)
		db = db.Where("(scopes = ? OR scopes LIKE ? ESCAPE '!' OR scopes LIKE ? ESCAPE '!' OR scopes LIKE ? ESCAPE '!')",
			q.Scope, sc+" %", "% "+sc, "% "+sc+" %")
	}
	if q.ExpiresBefore != nil {
		db = db.Where("expires_at < ?", ms(*q.ExpiresBefore))
	}
	if q.UnusedSince != nil {
		db = db.Where("(last_used_at IS NULL OR last_used_at < ?)", ms(*q.UnusedSince))
	}
	if q.Stale != nil {
		// token.Token.Stale in SQL: active, and unused since StaleBefore.
		active, args := statusCondition(token.StatusActive, ms(q.Now))
		// COALESCE, not OR IS NULL: under NOT, a NULL comparison would drop the never-used.
		stale := "(" + active + ") AND COALESCE(last_used_at, created_at) < ?"
		args = append(args, ms(q.StaleBefore))
		if *q.Stale {
			db = db.Where("("+stale+")", args...)
		} else {
			db = db.Where("NOT ("+stale+")", args...)
		}
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
		Select("f.seq, (SELECT u.seq FROM service_user_feed u WHERE u.id = 1), t.revocation_seq, t.id, t.expires_at, t.revoked_at, t.ends_at").
		Joins("LEFT JOIN service_tokens t ON t.revocation_seq >= ?", seq).
		Where("f.id = 1").Order("t.revocation_seq").Limit(limit).Rows()
	if err != nil {
		return token.FeedPage{}, translate(err, "revocations")
	}
	defer rows.Close()
	var page token.FeedPage
	for rows.Next() {
		var seq, expires, revoked, ends sql.NullInt64
		var id sql.NullString
		if err := rows.Scan(&page.Counter, &page.UserCounter, &seq, &id, &expires, &revoked, &ends); err != nil {
			return token.FeedPage{}, translate(err, "revocations")
		}
		if seq.Valid {
			page.Entries = append(page.Entries, feedEntry(seq.Int64, id.String, expires.Int64, revoked, ends))
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
	var seq, expires int64
	var id string
	var revoked, ends sql.NullInt64
	err := s.db.WithContext(ctx).Model(&tokenRow{}).Select("revocation_seq, id, expires_at, revoked_at, ends_at").
		Where("revocation_seq IS NOT NULL").Order("revocation_seq DESC").Limit(1).Row().
		Scan(&seq, &id, &expires, &revoked, &ends)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		last = token.Revocation{}
	case err != nil:
		return token.Revocation{}, nil, translate(err, "revocations")
	default:
		last = feedEntry(seq, id, expires, revoked, ends)
	}
	rows, err := s.db.WithContext(ctx).Model(&tokenRow{}).Select("revocation_seq, id, expires_at, revoked_at, ends_at").
		Where("expires_at > ? AND revocation_seq IS NOT NULL", ms(now)).Rows()
	if err != nil {
		return token.Revocation{}, nil, translate(err, "revocations")
	}
	defer rows.Close()
	var live []token.Revocation
	for rows.Next() {
		if err := rows.Scan(&seq, &id, &expires, &revoked, &ends); err != nil {
			return token.Revocation{}, nil, translate(err, "revocations")
		}
		live = append(live, feedEntry(seq, id, expires, revoked, ends))
	}
	return last, live, translate(rows.Err(), "revocations")
}

// feedEntry is one entry of the revocation feed: a revocation (revoked set), or a rotation
// (revoked NULL), whose token is refused from the end of its grace period on.
func feedEntry(seq int64, id string, expires int64, revoked, ends sql.NullInt64) token.Revocation {
	r := token.Revocation{Seq: seq, TokenID: id, ExpiresAt: fromMS(expires)}
	if revoked.Valid {
		r.RevokedAt = fromMS(revoked.Int64)
	} else if ends.Valid {
		r.EndsAt = fromMS(ends.Int64)
	}
	return r
}

// AppendEvent stores an audit event on its own.
func (s *Store) AppendEvent(ctx context.Context, ev audit.Event) error {
	return translate(s.writeOne(ctx, func(db *gorm.DB) error { return insertEvent(db, ev) }), "audit event")
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
	return findAll(db, "audit events", auditRow.toEvent)
}
