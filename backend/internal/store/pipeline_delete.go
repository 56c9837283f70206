package store

import (
	"context"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"gorm.io/gorm"
)

// DeleteRun deletes one run and stores the event made of it, in one transaction. The workload
// stays, even when this was its last run.
func (s *Store) DeleteRun(ctx context.Context, workload, id string, event func(pipeline.Run) audit.Event) (pipeline.Run, error) {
	var out pipeline.Run
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row runRow
		err := tx.Table("pipeline_runs AS r").Select("r.*, w.name AS workload_name").
			Joins("JOIN workloads w ON w.id = r.workload_id").
			Where("w.name = ? AND r.run_id = ?", workload, id).Take(&row).Error
		if err != nil {
			return err
		}
		out = row.toRun()
		if err := tx.Where("workload_id = ? AND run_id = ?", row.WorkloadID, row.RunID).Delete(&runRow{}).Error; err != nil {
			return err
		}
		// rollups: subtract — the run's day in the daily rollups must lose this run, here, in
		// this transaction, once the rollups exist.
		return insertEvent(tx, event(out))
	})
	return out, translate(err, "pipeline run")
}
