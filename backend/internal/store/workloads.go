package store

import (
	"context"

	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"gorm.io/gorm"
)

// lastRunStart is a workload's newest run start, NULL without runs: one step backwards on the
// index pipeline_runs_started (workload_id, started_at) per workload, however many runs it has
// (MAX() in a correlated subquery is not always read that way by MySQL).
const lastRunStart = "(SELECT r.started_at FROM pipeline_runs r WHERE r.workload_id = w.id ORDER BY r.started_at DESC LIMIT 1)"

// ListWorkloads lists the names q selects: by name, or by their newest run's start (newest
// first; ties and workloads without runs, which both databases sort last in DESC, by name).
func (s *Store) ListWorkloads(ctx context.Context, q pipeline.WorkloadQuery) ([]string, error) {
	db := s.workloads(ctx, q)
	if q.Sort == pipeline.WorkloadsByRecent {
		db = db.Order(lastRunStart + " DESC")
	}
	db = db.Order("w.name")
	if q.Limit > 0 {
		db = db.Limit(q.Limit)
	}
	var out []string
	err := db.Pluck("w.name", &out).Error
	return out, translate(err, "workloads")
}

// CountWorkloads counts the workloads ListWorkloads would return without a limit.
func (s *Store) CountWorkloads(ctx context.Context, q pipeline.WorkloadQuery) (int64, error) {
	var n int64
	err := s.workloads(ctx, q).Count(&n).Error
	return n, translate(err, "workloads")
}

// workloads is the one filter behind the workload list and its count.
func (s *Store) workloads(ctx context.Context, q pipeline.WorkloadQuery) *gorm.DB {
	db := s.db.WithContext(ctx).Table("workloads AS w")
	if q.Only != nil {
		if len(q.Only) == 0 {
			return db.Where("1 = 0")
		}
		db = db.Where("w.name IN ?", q.Only)
	}
	if q.Search != "" {
		db = db.Where("LOWER(w.name) LIKE ? ESCAPE '!'", containsPattern(q.Search))
	}
	return db
}
