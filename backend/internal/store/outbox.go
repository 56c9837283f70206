package store

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The notification outbox (see package notify): events, once per token, event and threshold,
// and their deliveries, once per event and destination. Every write that could race another
// instance is either an insert that a unique key turns into nothing when it lost, or a
// conditional UPDATE whose affected-row count says who won: both hold on SQLite, MySQL and a
// Galera cluster alike.

type notificationEventRow struct {
	ID            int64 `gorm:"primaryKey;autoIncrement"`
	Event         string
	TokenID       *string
	ThresholdDays int
	Subject       string
	ServiceUser   string
	ExpiresMS     int64 `gorm:"column:expires_at"`
	Actor         string
	Reason        string
	ClientAddress string
	CreatedMS     int64 `gorm:"column:created_at"`
}

func (notificationEventRow) TableName() string { return "notification_events" }

func toEventRow(ev notify.Event) notificationEventRow {
	r := notificationEventRow{
		Event: ev.Kind, ThresholdDays: ev.ThresholdDays, Subject: ev.Subject, ServiceUser: ev.ServiceUser,
		ExpiresMS: ms(ev.Expires), Actor: ev.Actor, Reason: ev.Reason, ClientAddress: ev.Address, CreatedMS: ms(ev.CreatedAt),
	}
	if ev.TokenID != "" {
		id := ev.TokenID
		r.TokenID = &id
	}
	return r
}

type deliveryRow struct {
	ID             int64 `gorm:"primaryKey;autoIncrement"`
	EventID        int64
	DestinationKey string
	Destination    string
	Kind           string
	Status         string
	Attempts       int
	NextAttemptMS  int64 `gorm:"column:next_attempt_at"`
	ClaimedBy      *string
	ClaimUntilMS   *int64 `gorm:"column:claim_until"`
	LastError      string
	CreatedMS      int64  `gorm:"column:created_at"`
	LastAttemptMS  *int64 `gorm:"column:last_attempt_at"`
	DeliveredMS    *int64 `gorm:"column:delivered_at"`
}

func (deliveryRow) TableName() string { return "notification_deliveries" }

// enqueueNotification writes ev into the outbox inside tx, unless that token already has the
// event (at that threshold): a change that causes an event (revoking, rotating a token) calls
// it in its own transaction, so the event exists exactly when the change does.
func enqueueNotification(tx *gorm.DB, ev notify.Event) error {
	row := toEventRow(ev)
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
}

const day = 24 * time.Hour

// EnqueueDue writes the time-driven events due at now, in one read of the tokens: each token
// expired since expiredSince, or expiring within the farthest threshold, is given the event it is
// due (the CASE): token.expired, or token.expiring at the nearest threshold it is inside (with
// 5 days left: 7). The NOT EXISTS leaves out the tokens that have that event already, so a
// steady state writes nothing; the unique key keeps two instances from writing one twice.
// A rotated token gets neither: it was replaced, and its end is token.grace_ended, which a
// second read gives each rotated token whose grace period ended since expiredSince (and that
// was not revoked meanwhile: that was token.revoked). token.rotated is written by the
// rotation's transaction, as token.revoked is by the revocation's.
func (s *Store) EnqueueDue(ctx context.Context, now time.Time, thresholdDays []int, expiredSince time.Time) (int, error) {
	bands := slices.Sorted(slices.Values(thresholdDays))
	if len(bands) == 0 {
		return 0, nil
	}
	// CASE WHEN expires_at <= now THEN 0 WHEN expires_at <= now + 1 day THEN 1 … ELSE 30 END
	threshold, args := "CASE WHEN t.expires_at <= ? THEN 0", []any{ms(now)}
	for _, d := range bands[:len(bands)-1] {
		threshold += " WHEN t.expires_at <= ? THEN ?"
		args = append(args, ms(now.Add(time.Duration(d)*day)), d)
	}
	threshold += " ELSE ? END"
	args = append(args, bands[len(bands)-1])
	event := "CASE WHEN t.expires_at <= ? THEN '" + notify.TokenExpired + "' ELSE '" + notify.TokenExpiring + "' END"
	type candidate struct {
		ID        string
		Subject   string
		ExpiresAt int64
		Threshold int
	}
	var cs []candidate
	q := append(append([]any{}, args...), ms(expiredSince), ms(now.Add(time.Duration(bands[len(bands)-1])*day)), ms(now))
	q = append(q, args...)
	err := s.db.WithContext(ctx).Raw("SELECT t.id, t.subject, t.expires_at, "+threshold+" AS threshold FROM service_tokens t "+
		"WHERE t.revoked_at IS NULL AND t.replaced_by IS NULL AND t.expires_at > ? AND t.expires_at <= ? "+
		"AND NOT EXISTS (SELECT 1 FROM notification_events e WHERE e.token_id = t.id AND e.event = "+event+" AND e.threshold_days = "+threshold+") "+
		"ORDER BY t.expires_at LIMIT 10000", q...).Scan(&cs).Error
	if err != nil {
		return 0, translate(err, "tokens")
	}
	var ended []candidate
	err = s.db.WithContext(ctx).Raw("SELECT t.id, t.subject, t.ends_at AS expires_at, 0 AS threshold FROM service_tokens t "+
		"WHERE t.replaced_by IS NOT NULL AND t.revoked_at IS NULL AND t.ends_at > ? AND t.ends_at <= ? "+
		"AND NOT EXISTS (SELECT 1 FROM notification_events e WHERE e.token_id = t.id AND e.event = ? AND e.threshold_days = 0) "+
		"ORDER BY t.ends_at LIMIT 10000", ms(expiredSince), ms(now), notify.TokenGraceEnded).Scan(&ended).Error
	if err != nil {
		return 0, translate(err, "tokens")
	}
	if len(cs) == 0 && len(ended) == 0 {
		return 0, nil
	}
	due := make([]notificationEventRow, 0, len(cs)+len(ended))
	for _, c := range ended {
		due = append(due, toEventRow(notify.Event{
			Kind: notify.TokenGraceEnded, TokenID: c.ID, Subject: c.Subject, ServiceUser: c.Subject,
			Expires: fromMS(c.ExpiresAt), CreatedAt: now,
		}))
	}
	for _, c := range cs {
		kind := notify.TokenExpiring
		if c.Threshold == 0 {
			kind = notify.TokenExpired
		}
		// The service user is the subject until tokens belong to service users.
		due = append(due, toEventRow(notify.Event{
			Kind: kind, TokenID: c.ID, Subject: c.Subject, ServiceUser: c.Subject,
			Expires: fromMS(c.ExpiresAt), ThresholdDays: c.Threshold, CreatedAt: now,
		}))
	}
	n, err := insertIgnoring(ctx, s, &due)
	return n, translate(err, "notification")
}

// insertIgnoring inserts rows, skipping those a unique key already holds, and returns how many
// it inserted. InnoDB may pick such an insert as a deadlock victim when another instance
// inserts the same keys at once, and a Galera node reports a conflicting commit of another
// node the same way: writeOne runs it again (the rows inserted meanwhile are skipped).
func insertIgnoring[T any](ctx context.Context, s *Store, rows *[]T) (int, error) {
	var n int
	err := s.writeOne(ctx, func(db *gorm.DB) error {
		// A fresh copy each run: a failed run may have given some rows ids it rolled back.
		batch := slices.Clone(*rows)
		res := db.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&batch, 200)
		n = int(res.RowsAffected)
		if res.Error == nil {
			*rows = batch
		}
		return res.Error
	})
	return n, err
}

// FanOut gives each event made since since, tests excepted, a pending delivery to each target
// that lacks one, due at now: one statement per target to find them, one to write them.
func (s *Store) FanOut(ctx context.Context, since, now time.Time, targets []notify.Target) (int, error) {
	db := s.db.WithContext(ctx)
	made := 0
	for _, t := range targets {
		var ids []int64
		err := db.Model(&notificationEventRow{}).
			Where("created_at >= ? AND event <> ?", ms(since), notify.Test).
			Where("NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.event_id = notification_events.id AND d.destination_key = ?)", t.Key).
			Order("id").Limit(1000).Pluck("id", &ids).Error
		if err != nil {
			return made, translate(err, "notifications")
		}
		if len(ids) == 0 {
			continue
		}
		rows := make([]deliveryRow, len(ids))
		for i, id := range ids {
			rows[i] = newDelivery(id, t, now)
		}
		n, err := insertIgnoring(ctx, s, &rows)
		if err != nil {
			return made, translate(err, "notification delivery")
		}
		made += n
	}
	return made, nil
}

func newDelivery(eventID int64, t notify.Target, now time.Time) deliveryRow {
	return deliveryRow{
		EventID: eventID, DestinationKey: t.Key, Destination: t.Label, Kind: t.Kind,
		Status: notify.Pending, NextAttemptMS: ms(now), CreatedMS: ms(now),
	}
}

// dueAndFree is the condition of a delivery any instance may claim at now.
const dueAndFree = "status = ? AND next_attempt_at <= ? AND (claim_until IS NULL OR claim_until <= ?)"

// DueDeliveries returns up to limit deliveries due at now that nobody holds, soonest first.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	var ids []int64
	err := s.db.WithContext(ctx).Model(&deliveryRow{}).Where(dueAndFree, notify.Pending, ms(now), ms(now)).
		Order("next_attempt_at, id").Limit(limit).Pluck("id", &ids).Error
	return ids, translate(err, "notification deliveries")
}

// ClaimDelivery takes the lease on a due, free delivery: the UPDATE's condition repeats what
// made it due and free, so of two instances claiming at once exactly one changes the row.
func (s *Store) ClaimDelivery(ctx context.Context, id int64, by string, now, until time.Time) (notify.Delivery, bool, error) {
	var claimed int64
	err := s.writeOne(ctx, func(db *gorm.DB) error {
		res := db.Model(&deliveryRow{}).Where("id = ? AND "+dueAndFree, id, notify.Pending, ms(now), ms(now)).
			Updates(map[string]any{"claimed_by": by, "claim_until": ms(until)})
		claimed = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return notify.Delivery{}, false, translate(err, "notification delivery")
	}
	if claimed != 1 {
		return notify.Delivery{}, false, nil
	}
	ds, err := s.deliveries(ctx, func(db *gorm.DB) *gorm.DB { return db.Where("d.id = ?", id) })
	if err != nil || len(ds) != 1 {
		return notify.Delivery{}, false, translate(err, "notification delivery")
	}
	return ds[0], true, nil
}

// FinishDelivery records an attempt and releases the claim, if by still holds it. InnoDB may
// pick it as a deadlock victim (another instance's claim, locking the due index as it reads
// it, then waiting for this row, which this update holds while it waits for the due index):
// it is tried again (writeOne), for left unrecorded a delivery the receiver got would stay
// pending, and be sent again by whoever claims it when the lease ends.
func (s *Store) FinishDelivery(ctx context.Context, id int64, by string, o notify.Outcome) error {
	set := map[string]any{
		"status": o.Status, "attempts": gorm.Expr("attempts + 1"), "last_attempt_at": ms(o.At),
		"claimed_by": nil, "claim_until": nil,
	}
	if o.Error != "" {
		set["last_error"] = o.Error
	}
	switch o.Status {
	case notify.Delivered:
		set["delivered_at"] = ms(o.At)
	case notify.Pending:
		set["next_attempt_at"] = ms(o.Next)
	}
	var recorded int64
	err := s.writeOne(ctx, func(db *gorm.DB) error {
		res := db.Model(&deliveryRow{}).Where("id = ? AND claimed_by = ?", id, by).Updates(set)
		recorded = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return translate(err, "notification delivery")
	}
	if recorded != 1 {
		return apperr.New(apperr.Conflict, "the claim on notification delivery %d was lost (it outlived its lease)", id)
	}
	return nil
}

// InsertTest stores a test event and its deliveries, already claimed by by, in one transaction.
func (s *Store) InsertTest(ctx context.Context, ev notify.Event, targets []notify.Target, by string, until time.Time) ([]notify.Delivery, error) {
	var row notificationEventRow
	rows := make([]deliveryRow, len(targets))
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		row = toEventRow(ev) // afresh on every run: Create sets its id
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		for i, t := range targets {
			rows[i] = newDelivery(row.ID, t, ev.CreatedAt)
			claim, untilMS := by, ms(until)
			rows[i].ClaimedBy, rows[i].ClaimUntilMS = &claim, &untilMS
		}
		if len(rows) == 0 {
			return nil
		}
		return tx.Create(&rows).Error
	})
	if err != nil {
		return nil, translate(err, "test notification")
	}
	ev.ID = row.ID
	out := make([]notify.Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.toDelivery(ev)
	}
	return out, nil
}

// ListDeliveries returns deliveries newest first, below q.Before when set.
func (s *Store) ListDeliveries(ctx context.Context, q notify.DeliveryQuery) ([]notify.Delivery, error) {
	return s.deliveries(ctx, func(db *gorm.DB) *gorm.DB {
		if q.Before > 0 {
			db = db.Where("d.id < ?", q.Before)
		}
		return db.Order("d.id DESC").Limit(q.Limit)
	})
}

func (r deliveryRow) toDelivery(ev notify.Event) notify.Delivery {
	return notify.Delivery{
		ID: r.ID, Event: ev, DestinationKey: r.DestinationKey, Destination: r.Destination, Kind: r.Kind,
		Status: r.Status, Attempts: r.Attempts, NextAttemptAt: fromMS(r.NextAttemptMS), LastError: r.LastError,
		CreatedAt: fromMS(r.CreatedMS), LastAttemptAt: fromMSPtr(r.LastAttemptMS), DeliveredAt: fromMSPtr(r.DeliveredMS),
	}
}

// deliveries reads deliveries with their events, as scope selects them.
func (s *Store) deliveries(ctx context.Context, scope func(*gorm.DB) *gorm.DB) ([]notify.Delivery, error) {
	db := s.db.WithContext(ctx).Table("notification_deliveries d").
		Select("d.id, d.destination_key, d.destination, d.kind, d.status, d.attempts, d.next_attempt_at, d.last_error, " +
			"d.created_at, d.last_attempt_at, d.delivered_at, e.id, e.event, e.token_id, e.threshold_days, e.subject, " +
			"e.service_user, e.expires_at, e.actor, e.reason, e.client_address, e.created_at").
		Joins("JOIN notification_events e ON e.id = d.event_id")
	rows, err := scope(db).Rows()
	if err != nil {
		return nil, translate(err, "notification deliveries")
	}
	defer rows.Close()
	var out []notify.Delivery
	for rows.Next() {
		var r deliveryRow
		var e notificationEventRow
		var tokenID sql.NullString
		if err := rows.Scan(&r.ID, &r.DestinationKey, &r.Destination, &r.Kind, &r.Status, &r.Attempts, &r.NextAttemptMS,
			&r.LastError, &r.CreatedMS, &r.LastAttemptMS, &r.DeliveredMS, &e.ID, &e.Event, &tokenID, &e.ThresholdDays,
			&e.Subject, &e.ServiceUser, &e.ExpiresMS, &e.Actor, &e.Reason, &e.ClientAddress, &e.CreatedMS); err != nil {
			return nil, translate(err, "notification deliveries")
		}
		out = append(out, r.toDelivery(notify.Event{
			ID: e.ID, Kind: e.Event, TokenID: tokenID.String, Subject: e.Subject, ServiceUser: e.ServiceUser,
			Expires: fromMS(e.ExpiresMS), ThresholdDays: e.ThresholdDays, Actor: e.Actor, Reason: e.Reason,
			Address: e.ClientAddress, CreatedAt: fromMS(e.CreatedMS),
		}))
	}
	return out, translate(rows.Err(), "notification deliveries")
}
