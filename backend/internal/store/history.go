package store

import (
	"context"
	"errors"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"gorm.io/gorm"
)

// The token history's retention (TOKEN_HISTORY_RETENTION): tokens that stopped working long
// ago are deleted in small batches, with their notifications, and the notification outbox
// sheds what was delivered or given up long ago.

var errPurgedElsewhere = errors.New("purged by another instance")

// PurgeEndedTokens deletes up to limit tokens that stopped working before before (see
// token.Store). A token is taken only when it is also past its expiry: until then its value
// would still pass the signature check, and its row keeps it refused as revoked or rotated
// rather than merely unknown (an unknown id is refused too). The row holding the revocation
// feed's last entry stays, so that no instance's cursor loses its entry (which would read as a
// database restored from an older dump).
func (s *Store) PurgeEndedTokens(ctx context.Context, now, before time.Time, limit int, event func(ids []string) audit.Event) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cut := ms(before)
		// ended_at finds them by its index; the exact condition is checked as well.
		err := tx.Model(&tokenRow{}).
			Where("ended_at < ? AND expires_at <= ?", cut, ms(now)).
			Where("(revoked_at < ? OR ends_at < ? OR expires_at < ?)", cut, cut, cut).
			Where("(revocation_seq IS NULL OR revocation_seq < (SELECT MAX(f.seq) FROM revocation_feed f WHERE f.id = 1))").
			Order("ended_at, id").Limit(limit).Pluck("id", &ids).Error
		if err != nil || len(ids) == 0 {
			return err
		}
		var events []int64
		if err := tx.Model(&notificationEventRow{}).Where("token_id IN ?", ids).Pluck("id", &events).Error; err != nil {
			return err
		}
		if len(events) > 0 {
			if err := tx.Where("event_id IN ?", events).Delete(&deliveryRow{}).Error; err != nil {
				return err
			}
			if err := tx.Where("id IN ?", events).Delete(&notificationEventRow{}).Error; err != nil {
				return err
			}
		}
		for _, usage := range []any{&usageDayRow{}, &usageClientRow{}} {
			if err := tx.Where("token_id IN ?", ids).Delete(usage).Error; err != nil {
				return err
			}
		}
		res := tx.Where("id IN ?", ids).Delete(&tokenRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errPurgedElsewhere // another instance's purge took them first
		}
		return insertEvent(tx, event(ids))
	})
	if errors.Is(err, errPurgedElsewhere) {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err, "token history")
	}
	return ids, nil
}

// PurgeNotifications deletes up to limit deliveries delivered or failed before before, then the
// events made before before that are left without a delivery and whose token is gone (or that
// never had one: tests). An event of a token still kept stays, so that the due check never
// makes it again (it exists once per token, event and threshold).
func (s *Store) PurgeNotifications(ctx context.Context, before time.Time, limit int) (int, error) {
	cut := ms(before)
	n := 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []int64
		err := tx.Model(&deliveryRow{}).Where("status IN ? AND created_at < ?", []string{notify.Delivered, notify.Failed}, cut).
			Order("id").Limit(limit).Pluck("id", &ids).Error
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			if err := tx.Where("id IN ?", ids).Delete(&deliveryRow{}).Error; err != nil {
				return err
			}
		}
		n = len(ids)
		var events []int64
		err = tx.Model(&notificationEventRow{}).Where("created_at < ?", cut).
			Where("NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.event_id = notification_events.id)").
			Where("(token_id IS NULL OR NOT EXISTS (SELECT 1 FROM service_tokens t WHERE t.id = notification_events.token_id))").
			Order("id").Limit(limit).Pluck("id", &events).Error
		if err != nil || len(events) == 0 {
			return err
		}
		return tx.Where("id IN ?", events).Delete(&notificationEventRow{}).Error
	})
	return n, translate(err, "notifications")
}
