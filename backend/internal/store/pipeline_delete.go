package store

import (
	"context"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// DeleteRun deletes one run, takes it out of its rollup and stores the event made of it, in one
// transaction: the counts and the coverage sum exactly, and its duration from the sketch's bin,
// also exactly (the day's sketch is then the one its remaining runs would have made). A run the
// rollups do not count yet (the backfill has not reached it) is only deleted. The workload
// stays, even when this was its last run.
func (s *Store) DeleteRun(ctx context.Context, workload, id string, event func(pipeline.Run) audit.Event) (pipeline.Run, error) {
	var run pipeline.Run
	err := s.upsertTx(ctx, func(tx *gorm.DB) error {
		counted, err := s.countedNow(tx)
		if err != nil {
			return err
		}
		var w workloadRow
		if err := tx.Where("name = ?", workload).Take(&w).Error; err != nil {
			return err
		}
		var row runRow
		q := tx.Where("workload_id = ? AND run_id = ?", w.ID, id)
		if s.driver == MySQL {
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
		if err := q.Take(&row).Error; err != nil {
			return err
		}
		run = row.toRun(workload)
		if err := tx.Where("workload_id = ? AND run_id = ?", w.ID, id).Delete(&runRow{}).Error; err != nil {
			return err
		}
		if counted(backfillKey{w.ID, row.StartedMS, id}) {
			if err := removeFromRollup(tx, s.driver, w.ID, run); err != nil {
				return err
			}
		}
		return insertEvent(tx, event(run))
	})
	if err != nil {
		return pipeline.Run{}, translate(err, "pipeline run")
	}
	return run, nil
}
