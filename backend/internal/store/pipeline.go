package store

import (
	"context"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

type workloadRow struct {
	ID        int64 `gorm:"primaryKey;autoIncrement"`
	Name      string
	CreatedMS int64 `gorm:"column:created_at"`
}

func (workloadRow) TableName() string { return "workloads" }

type runRow struct {
	WorkloadID   int64  `gorm:"primaryKey;autoIncrement:false"`
	RunID        string `gorm:"primaryKey"`
	Pipeline     string
	Kind         string
	Status       string
	Branch       string
	CommitSHA    string `gorm:"column:commit_sha"`
	StartedMS    int64  `gorm:"column:started_at"`
	FinishedMS   int64  `gorm:"column:finished_at"`
	Coverage     *float64
	TestsPassed  *int
	TestsFailed  *int
	TestsSkipped *int
	RecordedMS   int64 `gorm:"column:recorded_at"`
	RecordedBy   string
	ServiceUser  string
	// Filled by the joins of the queries below, never written.
	WorkloadName string `gorm:"column:workload_name;->"`
}

func (runRow) TableName() string { return "pipeline_runs" }

func (r runRow) toRun() pipeline.Run {
	run := pipeline.Run{
		ID: r.RunID, Workload: r.WorkloadName, Pipeline: r.Pipeline, Kind: r.Kind, Status: r.Status,
		Branch: r.Branch, Commit: r.CommitSHA, StartedAt: fromMS(r.StartedMS), FinishedAt: fromMS(r.FinishedMS),
		Coverage: r.Coverage, RecordedAt: fromMS(r.RecordedMS), RecordedBy: r.RecordedBy,
	}
	run.ServiceUser = r.ServiceUser
	if r.TestsPassed != nil && r.TestsFailed != nil && r.TestsSkipped != nil {
		run.Tests = &pipeline.Tests{Passed: *r.TestsPassed, Failed: *r.TestsFailed, Skipped: *r.TestsSkipped}
	}
	return run
}

// workloadID returns the id of the named workload, creating it on first use.
func workloadID(tx *gorm.DB, name string, now time.Time) (int64, error) {
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&workloadRow{Name: name, CreatedMS: ms(now)}).Error; err != nil {
		return 0, err
	}
	var w workloadRow
	if err := tx.Where("name = ?", name).Take(&w).Error; err != nil {
		return 0, err
	}
	return w.ID, nil
}

// InsertRun stores a new run; Conflict when its workload already has a run with its id.
func (s *Store) InsertRun(ctx context.Context, r pipeline.Run) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		wid, err := workloadID(tx, r.Workload, r.RecordedAt)
		if err != nil {
			return err
		}
		row := runRow{
			WorkloadID: wid, RunID: r.ID, Pipeline: r.Pipeline, Kind: r.Kind, Status: r.Status, Branch: r.Branch,
			CommitSHA: r.Commit, StartedMS: ms(r.StartedAt), FinishedMS: ms(r.FinishedAt), Coverage: r.Coverage,
			RecordedMS: ms(r.RecordedAt), RecordedBy: r.RecordedBy,
		}
		row.ServiceUser = r.ServiceUser
		if r.Tests != nil {
			row.TestsPassed, row.TestsFailed, row.TestsSkipped = &r.Tests.Passed, &r.Tests.Failed, &r.Tests.Skipped
		}
		return tx.Omit("workload_name").Create(&row).Error
	})
	if isDuplicate(err) {
		return apperr.New(apperr.Conflict, "run already recorded")
	}
	return translate(err, "pipeline run")
}

func (s *Store) runs(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Table("pipeline_runs AS r").
		Select("r.*, w.name AS workload_name").
		Joins("JOIN workloads w ON w.id = r.workload_id")
}

// GetRun returns one run.
func (s *Store) GetRun(ctx context.Context, workload, id string) (pipeline.Run, error) {
	var row runRow
	err := s.runs(ctx).Where("w.name = ? AND r.run_id = ?", workload, id).Take(&row).Error
	if err != nil {
		return pipeline.Run{}, translate(err, "pipeline run")
	}
	return row.toRun(), nil
}

// ListRuns returns runs newest first (by start, then workload name and run id).
func (s *Store) ListRuns(ctx context.Context, q pipeline.ListQuery) ([]pipeline.Run, error) {
	db := s.runs(ctx).Order("r.started_at DESC, w.name DESC, r.run_id DESC").Limit(q.Limit)
	if q.Workload != "" {
		db = db.Where("w.name = ?", q.Workload)
	}
	if q.Only != nil {
		db = db.Where("w.name IN ?", q.Only)
	}
	if q.ServiceUser != "" {
		db = db.Where("r.service_user = ?", q.ServiceUser)
	}
	if c := q.After; c != nil {
		at := ms(c.StartedAt)
		db = db.Where("r.started_at < ? OR (r.started_at = ? AND (w.name < ? OR (w.name = ? AND r.run_id < ?)))", at, at, c.Workload, c.Workload, c.ID)
	}
	var rows []runRow
	if err := db.Find(&rows).Error; err != nil {
		return nil, translate(err, "pipeline runs")
	}
	out := make([]pipeline.Run, len(rows))
	for i, r := range rows {
		out[i] = r.toRun()
	}
	return out, nil
}

// RunsBetween returns the runs of the named workloads that started in [from, to).
func (s *Store) RunsBetween(ctx context.Context, workloads []string, from, to time.Time) ([]pipeline.Run, error) {
	var rows []runRow
	err := s.runs(ctx).Where("w.name IN ? AND r.started_at >= ? AND r.started_at < ?", workloads, ms(from), ms(to)).Find(&rows).Error
	if err != nil {
		return nil, translate(err, "pipeline runs")
	}
	out := make([]pipeline.Run, len(rows))
	for i, r := range rows {
		out[i] = r.toRun()
	}
	return out, nil
}

// Workloads returns which of names exist.
func (s *Store) Workloads(ctx context.Context, names []string) ([]string, error) {
	var out []string
	err := s.db.WithContext(ctx).Model(&workloadRow{}).Where("name IN ?", names).Pluck("name", &out).Error
	return out, translate(err, "workloads")
}
