package store

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Token usage: requests per token and UTC day, and each token's recent clients, written by the
// guard's flushes (token.Guard.Flush), never on the request path.

type usageDayRow struct {
	TokenID  string `gorm:"primaryKey"`
	Day      int64  `gorm:"primaryKey"`
	Requests int64
	Refused  int64
}

func (usageDayRow) TableName() string { return "token_usage_days" }

type usageClientRow struct {
	TokenID     string `gorm:"primaryKey"`
	Address     string `gorm:"primaryKey"`
	UserAgent   string `gorm:"primaryKey"`
	FirstSeenMS int64  `gorm:"column:first_seen"`
	LastSeenMS  int64  `gorm:"column:last_seen"`
	Requests    int64
}

func (usageClientRow) TableName() string { return "token_usage_clients" }

func dayNumber(t time.Time) int64 { return t.Unix() / 86400 }

func dayOfNumber(n int64) time.Time { return time.Unix(n*86400, 0).UTC() }

// SaveUsage writes what the flushes counted, in one transaction (retried on a deadlock):
// last-use times and their clients (an older time never overwrites a newer), requests by day
// and by client added to what is stored, each token's clients cut to the token.MaxClients most
// recently seen, and the presentations of ended tokens added, with a token.ended_token_used
// notification for each such token that had none in the hour before now.
func (s *Store) SaveUsage(ctx context.Context, uses []token.Use, now time.Time) error {
	days := map[[2]any]*usageDayRow{}
	clients := map[[3]string]*usageClientRow{}
	for _, u := range uses {
		for _, d := range u.Days {
			k := [2]any{u.TokenID, dayNumber(d.Day)}
			r := days[k]
			if r == nil {
				r = &usageDayRow{TokenID: u.TokenID, Day: dayNumber(d.Day)}
				days[k] = r
			}
			r.Requests += d.Requests
			r.Refused += d.Refused
		}
		for _, c := range u.Clients {
			k := [3]string{u.TokenID, c.Address, c.UserAgent}
			r := clients[k]
			if r == nil {
				r = &usageClientRow{TokenID: u.TokenID, Address: c.Address, UserAgent: c.UserAgent, FirstSeenMS: ms(c.FirstSeen)}
				clients[k] = r
			}
			r.Requests += c.Requests
			r.FirstSeenMS = min(r.FirstSeenMS, ms(c.FirstSeen))
			r.LastSeenMS = max(r.LastSeenMS, ms(c.LastSeen))
		}
	}
	// Keys in one order on every instance, so that concurrent flushes lock rows alike.
	dayRows := slices.SortedFunc(maps.Values(days), func(a, b *usageDayRow) int {
		return cmp.Or(strings.Compare(a.TokenID, b.TokenID), cmp.Compare(a.Day, b.Day))
	})
	clientRows := slices.SortedFunc(maps.Values(clients), func(a, b *usageClientRow) int {
		return cmp.Or(strings.Compare(a.TokenID, b.TokenID), strings.Compare(a.Address, b.Address), strings.Compare(a.UserAgent, b.UserAgent))
	})
	excluded := func(col string) string {
		if s.driver == MySQL {
			return "VALUES(" + col + ")"
		}
		return "excluded." + col
	}
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		for _, u := range uses {
			if err := saveUse(tx, u, now); err != nil {
				return err
			}
		}
		if len(dayRows) > 0 {
			err := tx.Clauses(clause.OnConflict{
				Columns: []clause.Column{{Name: "token_id"}, {Name: "day"}},
				DoUpdates: clause.Assignments(map[string]any{
					"requests": gorm.Expr("requests + " + excluded("requests")),
					"refused":  gorm.Expr("refused + " + excluded("refused")),
				}),
			}).CreateInBatches(dayRows, 200).Error
			if err != nil {
				return err
			}
		}
		if len(clientRows) == 0 {
			return nil
		}
		err := tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "token_id"}, {Name: "address"}, {Name: "user_agent"}},
			DoUpdates: clause.Assignments(map[string]any{
				"requests":   gorm.Expr("requests + " + excluded("requests")),
				"first_seen": gorm.Expr("CASE WHEN " + excluded("first_seen") + " < first_seen THEN " + excluded("first_seen") + " ELSE first_seen END"),
				"last_seen":  gorm.Expr("CASE WHEN " + excluded("last_seen") + " > last_seen THEN " + excluded("last_seen") + " ELSE last_seen END"),
			}),
		}).CreateInBatches(clientRows, 200).Error
		if err != nil {
			return err
		}
		return trimClients(tx, clientRows)
	})
	return translate(err, "token usage")
}

// saveUse writes one token's last use and its presentations after it ended.
func saveUse(tx *gorm.DB, u token.Use, now time.Time) error {
	if !u.LastUsed.IsZero() {
		v := ms(u.LastUsed)
		err := tx.Model(&tokenRow{}).Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", u.TokenID, v).
			Updates(map[string]any{"last_used_at": v, "last_used_address": u.Last.Address, "last_used_user_agent": u.Last.UserAgent}).Error
		if err != nil {
			return err
		}
	}
	if u.Ended == 0 {
		return nil
	}
	at := ms(u.EndedAt)
	later := "ended_last_seen IS NULL OR ended_last_seen <= ?"
	err := tx.Model(&tokenRow{}).Where("id = ?", u.TokenID).Updates(map[string]any{
		"ended_uses":         gorm.Expr("ended_uses + ?", u.Ended),
		"ended_last_address": gorm.Expr("CASE WHEN "+later+" THEN ? ELSE ended_last_address END", at, u.EndedFrom),
		"ended_last_seen":    gorm.Expr("CASE WHEN "+later+" THEN ? ELSE ended_last_seen END", at, at),
	}).Error
	if err != nil {
		return err
	}
	// At most one notification per token an hour, whichever instance flushes: the conditional
	// write decides, and the event is written in the same transaction.
	res := tx.Model(&tokenRow{}).
		Where("id = ? AND (ended_notified_at IS NULL OR ended_notified_at <= ?)", u.TokenID, ms(now.Add(-token.EndedNoticeEvery))).
		Update("ended_notified_at", ms(now))
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	var t tokenRow
	if err := tx.Where("id = ?", u.TokenID).Take(&t).Error; err != nil {
		return err
	}
	var user string
	if err := tx.Model(&userRow{}).Where("id = ?", t.ServiceUserID).Pluck("name", &user).Error; err != nil {
		return err
	}
	return enqueueNotification(tx, notify.Event{
		Kind: notify.TokenEndedUsed, TokenID: t.ID, Subject: t.Subject, ServiceUser: cmp.Or(user, t.Subject),
		Expires: fromMS(t.EndedMS), Address: u.EndedFrom, CreatedAt: now,
		// The unique key allows one event per token and threshold: the hour keeps them apart.
		ThresholdDays: int(now.Unix() / 3600),
	})
}

// trimClients keeps the token.MaxClients most recently seen clients of each token written.
func trimClients(tx *gorm.DB, written []*usageClientRow) error {
	var ids []string
	for _, r := range written {
		if len(ids) == 0 || ids[len(ids)-1] != r.TokenID {
			ids = append(ids, r.TokenID)
		}
	}
	var over []string
	err := tx.Model(&usageClientRow{}).Where("token_id IN ?", ids).Group("token_id").
		Having("COUNT(*) > ?", token.MaxClients).Pluck("token_id", &over).Error
	if err != nil {
		return err
	}
	for _, id := range over {
		var old []usageClientRow
		err := tx.Select("token_id, address, user_agent").Where("token_id = ?", id).
			Order("last_seen DESC, address, user_agent").Offset(token.MaxClients).Limit(1000).Find(&old).Error
		if err != nil {
			return err
		}
		for _, r := range old {
			if err := tx.Where("token_id = ? AND address = ? AND user_agent = ?", r.TokenID, r.Address, r.UserAgent).Delete(&usageClientRow{}).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// TokenUsage returns token id's requests on the days from from to to that have any, in order,
// and its clients, most recently seen first.
func (s *Store) TokenUsage(ctx context.Context, id string, from, to time.Time) ([]token.DayUse, []token.ClientUse, error) {
	var dayRows []usageDayRow
	err := s.db.WithContext(ctx).Where("token_id = ? AND day BETWEEN ? AND ?", id, dayNumber(from), dayNumber(to)).
		Order("day").Find(&dayRows).Error
	if err != nil {
		return nil, nil, translate(err, "token usage")
	}
	var clientRows []usageClientRow
	err = s.db.WithContext(ctx).Where("token_id = ?", id).Order("last_seen DESC, address, user_agent").
		Limit(token.MaxClients).Find(&clientRows).Error
	if err != nil {
		return nil, nil, translate(err, "token usage")
	}
	days := make([]token.DayUse, len(dayRows))
	for i, r := range dayRows {
		days[i] = token.DayUse{Day: dayOfNumber(r.Day), Requests: r.Requests, Refused: r.Refused}
	}
	clients := make([]token.ClientUse, len(clientRows))
	for i, r := range clientRows {
		clients[i] = token.ClientUse{
			Client:    token.Client{Address: r.Address, UserAgent: r.UserAgent},
			FirstSeen: fromMS(r.FirstSeenMS), LastSeen: fromMS(r.LastSeenMS), Requests: r.Requests,
		}
	}
	return days, clients, nil
}

// RecentRequests returns the requests by day, from the day of from on, of the tokens ids (a
// token without any is left out): for the sparklines of a page of the token list. A long list
// (the unpaged array) reads the days' rows whole rather than name thousands of ids.
func (s *Store) RecentRequests(ctx context.Context, ids []string, from time.Time) (map[string][]token.DayUse, error) {
	out := map[string][]token.DayUse{}
	if len(ids) == 0 {
		return out, nil
	}
	db := s.db.WithContext(ctx).Model(&usageDayRow{}).Select("token_id, day, requests").Where("day >= ?", dayNumber(from))
	const named = 500
	wanted := map[string]bool{}
	if len(ids) <= named {
		db = db.Where("token_id IN ?", ids)
	} else {
		for _, id := range ids {
			wanted[id] = true
		}
	}
	rows, err := db.Rows()
	if err != nil {
		return nil, translate(err, "token usage")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var d, n int64
		if err := rows.Scan(&id, &d, &n); err != nil {
			return nil, translate(err, "token usage")
		}
		if len(wanted) == 0 || wanted[id] {
			out[id] = append(out[id], token.DayUse{Day: dayOfNumber(d), Requests: n})
		}
	}
	return out, translate(rows.Err(), "token usage")
}

// PurgeUsage deletes the usage older than before of up to limit tokens at a time: days before
// its day, clients last seen before it, in short transactions. It returns how many rows it
// deleted.
func (s *Store) PurgeUsage(ctx context.Context, before time.Time, limit int) (int, error) {
	n := 0
	for _, q := range []struct {
		model any
		where string
		arg   int64
	}{
		{&usageDayRow{}, "day < ?", dayNumber(before)},
		{&usageClientRow{}, "last_seen < ?", ms(before)},
	} {
		for {
			var ids []string
			err := s.db.WithContext(ctx).Model(q.model).Distinct("token_id").Where(q.where, q.arg).Limit(limit).Pluck("token_id", &ids).Error
			if err != nil {
				return n, translate(err, "token usage")
			}
			if len(ids) == 0 {
				break
			}
			var deleted int
			err = s.writeOne(ctx, func(db *gorm.DB) error {
				res := db.Where("token_id IN ?", ids).Where(q.where, q.arg).Delete(q.model)
				deleted = int(res.RowsAffected)
				return res.Error
			})
			if err != nil {
				return n, translate(err, "token usage")
			}
			n += deleted
			if len(ids) < limit {
				break
			}
		}
	}
	return n, nil
}
