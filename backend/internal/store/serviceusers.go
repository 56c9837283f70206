package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"gorm.io/gorm"
)

type userRow struct {
	ID          int64 `gorm:"primaryKey;autoIncrement"`
	Name        string
	Description string
	Scopes      string
	Workloads   string
	// AllowedCidrs are the service user's networks, space-separated; "" for anywhere.
	AllowedCidrs string
	Disabled     bool
	NeedsReview  bool
	CreatedMS    int64 `gorm:"column:created_at"`
	CreatedBy    string
	UpdatedMS    int64 `gorm:"column:updated_at"`
	UpdatedBy    string
	ChangeSeq    int64
	// DeletedSeq is 0 while the service user is live, then the feed number its deletion took.
	DeletedSeq int64
}

func (userRow) TableName() string { return "service_users" }

func toUserRow(u token.ServiceUser) userRow {
	return userRow{
		ID: u.ID, Name: u.Name, Description: u.Description, Scopes: strings.Join(u.Scopes, " "),
		Workloads: strings.Join(u.Workloads, " "), AllowedCidrs: strings.Join(u.AllowedCIDRs, " "), Disabled: u.Disabled, NeedsReview: u.NeedsReview,
		CreatedMS: ms(u.CreatedAt), CreatedBy: u.CreatedBy, UpdatedMS: ms(u.UpdatedAt), UpdatedBy: u.UpdatedBy,
		ChangeSeq: u.Seq,
	}
}

func (r userRow) toUser() token.ServiceUser {
	return token.ServiceUser{
		ID: r.ID, Name: r.Name, Description: r.Description, Scopes: strings.Fields(r.Scopes),
		Workloads: strings.Fields(r.Workloads), AllowedCIDRs: strings.Fields(r.AllowedCidrs), Disabled: r.Disabled, NeedsReview: r.NeedsReview,
		CreatedAt: fromMS(r.CreatedMS), CreatedBy: r.CreatedBy, UpdatedAt: fromMS(r.UpdatedMS), UpdatedBy: r.UpdatedBy,
		Seq: r.ChangeSeq, Deleted: r.DeletedSeq != 0,
	}
}

// userFeedRow is the service-user feed's counter, its one row (id 1).
type userFeedRow struct {
	ID  int64 `gorm:"primaryKey"`
	Seq int64
}

func (userFeedRow) TableName() string { return "service_user_feed" }

// nextUserSeq takes the next number of the service-user feed. Its row lock serialises changes
// of service users until commit: feed order is commit order.
func nextUserSeq(tx *gorm.DB) (int64, error) {
	if err := tx.Model(&userFeedRow{ID: 1}).Update("seq", gorm.Expr("seq + 1")).Error; err != nil {
		return 0, err
	}
	var seq int64
	err := tx.Model(&userFeedRow{}).Select("seq").Where("id = 1").Scan(&seq).Error
	return seq, err
}

// insertUser stores a new service user under the next feed number.
func insertUser(tx *gorm.DB, u token.ServiceUser) (token.ServiceUser, error) {
	seq, err := nextUserSeq(tx)
	if err != nil {
		return token.ServiceUser{}, err
	}
	u.Seq = seq
	row := toUserRow(u)
	row.ID = 0
	if err := tx.Create(&row).Error; err != nil {
		return token.ServiceUser{}, err
	}
	u.ID = row.ID
	return u, nil
}

func liveUser(tx *gorm.DB, id int64) (userRow, error) {
	var row userRow
	err := tx.Where("id = ? AND deleted_seq = 0", id).Take(&row).Error
	return row, err
}

// IssueToken stores a token for the live service user named name, creating the user when issue
// says so, in one transaction. Two requests creating the same new service user at once: the
// second finds the first's user when it tries again.
func (s *Store) IssueToken(ctx context.Context, name string, issue func(*token.ServiceUser) (token.Issue, error)) (token.ServiceUser, error) {
	for attempt := 0; ; attempt++ {
		var user token.ServiceUser
		err := s.writeTx(ctx, func(tx *gorm.DB) error {
			var existing *token.ServiceUser
			var row userRow
			switch err := tx.Where("name = ? AND deleted_seq = 0", name).Take(&row).Error; {
			case err == nil:
				u := row.toUser()
				existing = &u
			case !errors.Is(err, gorm.ErrRecordNotFound):
				return err
			}
			is, err := issue(existing)
			if err != nil {
				return err
			}
			if is.NewUser != nil {
				if user, err = insertUser(tx, *is.NewUser); err != nil {
					return err
				}
				if is.UserEvent != nil {
					if err := insertEvent(tx, is.UserEvent(user)); err != nil {
						return err
					}
				}
			} else {
				user = *existing
			}
			t := is.Token
			t.ServiceUserID = user.ID
			trow := toTokenRow(t)
			if err := tx.Create(&trow).Error; err != nil {
				return err
			}
			for _, ev := range is.Events {
				if err := insertEvent(tx, ev); err != nil {
					return err
				}
			}
			return nil
		})
		if attempt == 0 && isDuplicate(err) {
			continue // the same new service user, created meanwhile by another request
		}
		return user, translate(err, "token")
	}
}

// CreateServiceUser stores a new service user and its event; Conflict for a live name.
func (s *Store) CreateServiceUser(ctx context.Context, u token.ServiceUser, event func(token.ServiceUser) audit.Event) (token.ServiceUser, error) {
	var out token.ServiceUser
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		var err error
		if out, err = insertUser(tx, u); err != nil {
			return err
		}
		return insertEvent(tx, event(out))
	})
	return out, translate(err, "service user")
}

// changeLiveUser runs f in one transaction with the live service user id, under the next number
// of the service-user feed (taken first, before any other lock: see DeleteServiceUser).
func (s *Store) changeLiveUser(ctx context.Context, id int64, f func(tx *gorm.DB, seq int64, row userRow) error) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		seq, err := nextUserSeq(tx)
		if err != nil {
			return err
		}
		row, err := liveUser(tx, id)
		if err != nil {
			return err
		}
		return f(tx, seq, row)
	})
}

// UpdateServiceUser changes a live service user under the next feed number.
func (s *Store) UpdateServiceUser(ctx context.Context, id int64, change func(token.ServiceUser) (token.ServiceUser, audit.Event, error)) (token.ServiceUser, error) {
	var out token.ServiceUser
	err := s.changeLiveUser(ctx, id, func(tx *gorm.DB, seq int64, row userRow) error {
		u, ev, err := change(row.toUser())
		if err != nil {
			return err
		}
		u.ID, u.Seq = id, seq
		next := toUserRow(u)
		err = tx.Model(&userRow{}).Where("id = ?", id).Updates(map[string]any{
			"description": next.Description, "scopes": next.Scopes, "workloads": next.Workloads,
			"disabled": next.Disabled, "needs_review": next.NeedsReview, "allowed_cidrs": next.AllowedCidrs,
			"updated_at": next.UpdatedMS, "updated_by": next.UpdatedBy, "change_seq": seq,
		}).Error
		if err != nil {
			return err
		}
		out = u
		return insertEvent(tx, ev)
	})
	return out, translate(err, "service user")
}

// DeleteServiceUser marks a live service user deleted under the next feed number, revoking its
// active tokens first if events allows it. The service-user feed's lock is taken before the
// revocation feed's, never the other way round.
func (s *Store) DeleteServiceUser(ctx context.Context, id int64, at time.Time, by string, events func(token.ServiceUser, []token.Token) ([]audit.Event, error)) (token.ServiceUser, []token.Token, error) {
	var out token.ServiceUser
	var revoked []token.Token
	err := s.changeLiveUser(ctx, id, func(tx *gorm.DB, seq int64, row userRow) error {
		var trows []tokenRow
		if err := tx.Where("service_user_id = ? AND revoked_at IS NULL AND expires_at > ? AND (ends_at IS NULL OR ends_at > ?)", id, ms(at), ms(at)).Order("id").Find(&trows).Error; err != nil {
			return err
		}
		active := make([]token.Token, len(trows))
		for i, r := range trows {
			active[i] = r.toToken()
		}
		evs, err := events(row.toUser(), active)
		if err != nil {
			return err
		}
		if n := int64(len(active)); n > 0 {
			if err := tx.Model(&feedRow{ID: 1}).Update("seq", gorm.Expr("seq + ?", n)).Error; err != nil {
				return err
			}
			var last int64
			if err := tx.Model(&feedRow{}).Select("seq").Where("id = 1").Scan(&last).Error; err != nil {
				return err
			}
			for i, t := range active {
				err := tx.Model(&tokenRow{}).Where("id = ? AND revoked_at IS NULL", t.ID).
					Updates(map[string]any{"revoked_at": ms(at), "revoked_by": by, "revocation_seq": last - n + 1 + int64(i), "ended_at": ms(at)}).Error
				if err != nil {
					return err
				}
				rt := at
				active[i].RevokedAt, active[i].RevokedBy = &rt, by
			}
		}
		err = tx.Model(&userRow{}).Where("id = ?", id).Updates(map[string]any{
			"deleted_seq": seq, "change_seq": seq, "updated_at": ms(at), "updated_by": by,
		}).Error
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := insertEvent(tx, ev); err != nil {
				return err
			}
		}
		out = row.toUser()
		out.Seq, out.Deleted, out.UpdatedAt, out.UpdatedBy = seq, true, fromMS(ms(at)), by
		revoked = active
		return nil
	})
	if err != nil {
		return token.ServiceUser{}, nil, translate(err, "service user")
	}
	return out, revoked, nil
}

// userListRow is a service user with the summary of its tokens.
type userListRow struct {
	Row        userRow `gorm:"embedded"`
	TokenCount int64
	LastUsedMS *int64 `gorm:"column:last_used"`
}

func (r userListRow) toUser() token.ServiceUser {
	u := r.Row.toUser()
	u.TokenCount, u.LastUsedAt = r.TokenCount, fromMSPtr(r.LastUsedMS)
	return u
}

// withTokenSummary selects service users with their active tokens' count (at now) and their
// tokens' latest use, from the (service_user_id, expires_at) index.
func (s *Store) withTokenSummary(ctx context.Context, now time.Time) *gorm.DB {
	return s.db.WithContext(ctx).Table("service_users u").Select(
		"u.*, (SELECT COUNT(*) FROM service_tokens t WHERE t.service_user_id = u.id AND t.revoked_at IS NULL AND t.expires_at > ? AND (t.ends_at IS NULL OR t.ends_at > ?)) AS token_count, "+
			"(SELECT MAX(t.last_used_at) FROM service_tokens t WHERE t.service_user_id = u.id) AS last_used", ms(now), ms(now))
}

// GetServiceUser returns a live service user with its token summary.
func (s *Store) GetServiceUser(ctx context.Context, id int64, now time.Time) (token.ServiceUser, error) {
	var row userListRow
	err := s.withTokenSummary(ctx, now).Where("u.id = ? AND u.deleted_seq = 0", id).Take(&row).Error
	if err != nil {
		return token.ServiceUser{}, translate(err, "service user")
	}
	return row.toUser(), nil
}

// ListServiceUsers returns live service users by name, from q's cursor on.
func (s *Store) ListServiceUsers(ctx context.Context, q token.UserListQuery) ([]token.ServiceUser, error) {
	db := s.withTokenSummary(ctx, q.Now).Where("u.deleted_seq = 0").Order("u.name ASC, u.id ASC")
	if q.Name != "" {
		db = db.Where("LOWER(u.name) LIKE ? ESCAPE '!'", containsPattern(q.Name))
	}
	if c := q.After; c != nil {
		db = db.Where("(u.name > ? OR (u.name = ? AND u.id > ?))", c.Name, c.Name, c.ID)
	}
	if q.Limit > 0 {
		db = db.Limit(q.Limit)
	}
	return findAll(db, "service users", userListRow.toUser)
}

// CountServiceUsers counts the live service users q's filter selects.
func (s *Store) CountServiceUsers(ctx context.Context, q token.UserListQuery) (int64, error) {
	db := s.db.WithContext(ctx).Model(&userRow{}).Where("deleted_seq = 0")
	if q.Name != "" {
		db = db.Where("LOWER(name) LIKE ? ESCAPE '!'", containsPattern(q.Name))
	}
	var n int64
	err := db.Count(&n).Error
	return n, translate(err, "service users")
}

// LoadServiceUser returns a service user's row, deleted or not.
func (s *Store) LoadServiceUser(ctx context.Context, id int64) (token.ServiceUser, error) {
	var row userRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return token.ServiceUser{}, translate(err, "service user")
	}
	return row.toUser(), nil
}

const userColumns = "u.id, u.name, u.description, u.scopes, u.workloads, u.disabled, u.needs_review, u.created_at, u.created_by, u.updated_at, u.updated_by, u.change_seq, u.deleted_seq, u.allowed_cidrs"

// ServiceUserChanges returns the feed's counter and the service users changed after seq, in
// one statement: the counter row joined to them, so an empty feed still gives a row.
func (s *Store) ServiceUserChanges(ctx context.Context, after int64, limit int) (token.UserFeedPage, error) {
	rows, err := s.db.WithContext(ctx).Table("service_user_feed f").
		Select("f.seq, "+userColumns).
		Joins("LEFT JOIN service_users u ON u.change_seq > ?", after).
		Where("f.id = 1").Order("u.change_seq").Limit(limit).Rows()
	if err != nil {
		return token.UserFeedPage{}, translate(err, "service users")
	}
	defer rows.Close()
	var page token.UserFeedPage
	for rows.Next() {
		var id, created, updated, seq, deleted sql.NullInt64
		var name, desc, scopes, workloads, createdBy, updatedBy, cidrs sql.NullString
		var disabled, review sql.NullBool
		if err := rows.Scan(&page.Counter, &id, &name, &desc, &scopes, &workloads, &disabled, &review, &created, &createdBy, &updated, &updatedBy, &seq, &deleted, &cidrs); err != nil {
			return token.UserFeedPage{}, translate(err, "service users")
		}
		if !id.Valid {
			continue
		}
		page.Users = append(page.Users, userRow{
			ID: id.Int64, Name: name.String, Description: desc.String, Scopes: scopes.String, Workloads: workloads.String,
			Disabled: disabled.Bool, NeedsReview: review.Bool, CreatedMS: created.Int64, CreatedBy: createdBy.String,
			UpdatedMS: updated.Int64, UpdatedBy: updatedBy.String, ChangeSeq: seq.Int64, DeletedSeq: deleted.Int64,
			AllowedCidrs: cidrs.String,
		}.toUser())
	}
	return page, translate(rows.Err(), "service users")
}
