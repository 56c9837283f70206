package store

import (
	"context"
	"maps"
	"slices"
	"strings"
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
	ServiceUser  string // the service user whose token recorded it; "" for an administrator
}

func (runRow) TableName() string { return "pipeline_runs" }

func (r runRow) toRun(workload string) pipeline.Run {
	run := pipeline.Run{
		ID: r.RunID, Workload: workload, Pipeline: r.Pipeline, Kind: r.Kind, Status: r.Status,
		Branch: r.Branch, Commit: r.CommitSHA, StartedAt: fromMS(r.StartedMS), FinishedAt: fromMS(r.FinishedMS),
		Coverage: r.Coverage, RecordedAt: fromMS(r.RecordedMS), RecordedBy: r.RecordedBy,
	}
	run.ServiceUser = r.ServiceUser
	if r.TestsPassed != nil && r.TestsFailed != nil && r.TestsSkipped != nil {
		run.Tests = &pipeline.Tests{Passed: *r.TestsPassed, Failed: *r.TestsFailed, Skipped: *r.TestsSkipped}
	}
	return run
}

func toRunRow(wid int64, r pipeline.Run) runRow {
	row := runRow{
		WorkloadID: wid, RunID: r.ID, Pipeline: r.Pipeline, Kind: r.Kind, Status: r.Status, Branch: r.Branch,
		CommitSHA: r.Commit, StartedMS: ms(r.StartedAt), FinishedMS: ms(r.FinishedAt), Coverage: r.Coverage,
		RecordedMS: ms(r.RecordedAt), RecordedBy: r.RecordedBy, ServiceUser: r.ServiceUser,
	}
	if r.Tests != nil {
		row.TestsPassed, row.TestsFailed, row.TestsSkipped = &r.Tests.Passed, &r.Tests.Failed, &r.Tests.Skipped
	}
	return row
}

// runKey is a run's primary key.
type runKey struct {
	workloadID int64
	runID      string
}

// workloadIDs returns the ids of the named workloads, creating those that do not exist yet.
func workloadIDs(tx *gorm.DB, names []string, now time.Time) (map[string]int64, error) {
	ids := map[string]int64{}
	find := func(names []string) error {
		var rows []workloadRow
		if err := tx.Where("name IN ?", names).Find(&rows).Error; err != nil {
			return err
		}
		for _, w := range rows {
			ids[w.Name] = w.ID
		}
		return nil
	}
	if err := find(names); err != nil {
		return nil, err
	}
	var missing []string
	var rows []workloadRow
	for _, n := range names {
		if _, ok := ids[n]; !ok {
			missing = append(missing, n)
			rows = append(rows, workloadRow{Name: n, CreatedMS: ms(now)})
		}
	}
	if len(missing) == 0 {
		return ids, nil
	}
	// Another transaction may be creating the same workload: whoever is first wins.
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return nil, err
	}
	return ids, find(missing)
}

// whereRuns selects the runs of keys: (workload_id = ? AND run_id IN (…)) OR …, one term per
// workload, each served by the primary key.
func whereRuns(tx *gorm.DB, ids map[int64][]string) *gorm.DB {
	var sql strings.Builder
	var args []any
	for i, wid := range slices.Sorted(maps.Keys(ids)) {
		if i > 0 {
			sql.WriteString(" OR ")
		}
		sql.WriteString("(workload_id = ? AND run_id IN ?)")
		args = append(args, wid, ids[wid])
	}
	return tx.Where(sql.String(), args...)
}

// runChunk is how many runs one transaction of InsertRuns writes: a whole batch
// (pipeline.MaxBatch), so that a batch commits once; a multi-row insert of 15 columns each
// stays far below MySQL's limit on a statement's parameters (65,535).
const runChunk = 1000

// rowsPerInsert is how many rows of cols columns one multi-row INSERT carries: all of a chunk
// on MySQL; on SQLite about 1,000 parameters, as its driver looks each parameter up among all
// of a statement's (a cost that grows with their square).
func rowsPerInsert(driver string, cols int) int {
	if driver == MySQL {
		return runChunk
	}
	return max(1, 1000/cols)
}

// InsertRuns stores the runs that are new and counts them in their rollups, a transaction per
// chunk of runChunk runs; for each run it says whether it was created or which run its
// workload and id already name. The runs' keys must be distinct.
func (s *Store) InsertRuns(ctx context.Context, runs []pipeline.Run) ([]pipeline.Recorded, error) {
	out := make([]pipeline.Recorded, 0, len(runs))
	for chunk := range slices.Chunk(runs, runChunk) {
		var res []pipeline.Recorded
		err := s.upsertTx(ctx, func(tx *gorm.DB) error {
			var err error
			res, err = s.insertRuns(tx, chunk)
			return err
		})
		if err != nil {
			return out, translate(err, "pipeline runs")
		}
		out = append(out, res...)
	}
	return out, nil
}

func (s *Store) insertRuns(tx *gorm.DB, runs []pipeline.Run) ([]pipeline.Recorded, error) {
	// First the backfill's position (a shared lock while it runs), then workloads, runs and
	// rollups: every writer takes its locks in this order.
	counted, err := s.countedNow(tx)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, r := range runs {
		names[r.Workload] = true
	}
	ids, err := workloadIDs(tx, slices.Sorted(maps.Keys(names)), runs[0].RecordedAt)
	if err != nil {
		return nil, err
	}
	byWorkload := map[int64][]string{}
	for _, r := range runs {
		byWorkload[ids[r.Workload]] = append(byWorkload[ids[r.Workload]], r.ID)
	}
	var found []runRow
	if err := whereRuns(tx, byWorkload).Find(&found).Error; err != nil {
		return nil, err
	}
	existing := make(map[runKey]runRow, len(found))
	for _, row := range found {
		existing[runKey{row.WorkloadID, row.RunID}] = row
	}
	out := make([]pipeline.Recorded, len(runs))
	var rows []runRow
	deltas := map[rollupKey]*pipeline.Rollup{}
	for i, r := range runs {
		k := runKey{ids[r.Workload], r.ID}
		if row, ok := existing[k]; ok {
			out[i] = pipeline.Recorded{Existing: row.toRun(r.Workload)}
			continue
		}
		out[i] = pipeline.Recorded{Created: true}
		rows = append(rows, toRunRow(k.workloadID, r))
		if counted(backfillKey{k.workloadID, ms(r.StartedAt), r.ID}) {
			addTo(deltas, k.workloadID, r)
		}
	}
	if len(rows) == 0 {
		return out, nil
	}
	// A run another transaction inserted meanwhile is a duplicate key: upsertTx tries again,
	// and then finds it.
	if err := tx.CreateInBatches(&rows, rowsPerInsert(s.driver, 15)).Error; err != nil {
		return nil, err
	}
	return out, addRollups(tx, s.driver, deltas)
}

// workloadID finds a workload's id; ok is false when it does not exist.
func (s *Store) workloadID(ctx context.Context, name string) (id int64, ok bool, err error) {
	var ids []int64
	if err := s.db.WithContext(ctx).Model(&workloadRow{}).Where("name = ?", name).Limit(1).Pluck("id", &ids).Error; err != nil {
		return 0, false, translate(err, "workload")
	}
	if len(ids) == 0 {
		return 0, false, nil
	}
	return ids[0], true, nil
}

// GetRun returns one run.
func (s *Store) GetRun(ctx context.Context, workload, id string) (pipeline.Run, error) {
	wid, ok, err := s.workloadID(ctx, workload)
	if err != nil {
		return pipeline.Run{}, err
	}
	if !ok {
		return pipeline.Run{}, apperr.New(apperr.NotFound, "pipeline run not found")
	}
	var row runRow
	if err := s.db.WithContext(ctx).Where("workload_id = ? AND run_id = ?", wid, id).Take(&row).Error; err != nil {
		return pipeline.Run{}, translate(err, "pipeline run")
	}
	return row.toRun(workload), nil
}

// ListRuns returns runs newest first: by start, then workload (in order of creation) and run
// id, the order of the indexes pipeline_runs_newest and, for one workload,
// pipeline_runs_workload_newest, so that a page reads its rows and no more, sorting nothing.
func (s *Store) ListRuns(ctx context.Context, q pipeline.ListQuery) ([]pipeline.Run, error) {
	var rows []runRow
	db, ok, err := s.listRunsQuery(ctx, s.db.WithContext(ctx), q)
	if err != nil || !ok {
		return nil, err
	}
	if err := db.Find(&rows).Error; err != nil {
		return nil, translate(err, "pipeline runs")
	}
	names, err := s.workloadNames(ctx, rows)
	if err != nil {
		return nil, err
	}
	out := make([]pipeline.Run, len(rows))
	for i, r := range rows {
		out[i] = r.toRun(names[r.WorkloadID])
	}
	return out, nil
}

// listRunsQuery builds ListRuns' statement on db; ok is false when it can select nothing (an
// unknown workload). Workload names become ids first, so the statement reads pipeline_runs
// alone, in its index's order.
func (s *Store) listRunsQuery(ctx context.Context, db *gorm.DB, q pipeline.ListQuery) (_ *gorm.DB, ok bool, _ error) {
	db = db.Model(&runRow{}).Limit(q.Limit)
	var wid int64
	if q.Workload != "" {
		id, ok, err := s.workloadID(ctx, q.Workload)
		if err != nil || !ok {
			return nil, false, err
		}
		wid = id
		db = db.Where("workload_id = ?", wid).Order("started_at DESC, run_id DESC")
	} else {
		db = db.Order("started_at DESC, workload_id DESC, run_id DESC")
	}
	if q.Only != nil { // a service user's workloads
		db = db.Where("workload_id IN (?)", s.db.WithContext(ctx).Model(&workloadRow{}).Select("id").Where("name IN ?", q.Only))
	}
	if q.ServiceUser != "" {
		db = db.Where("service_user = ?", q.ServiceUser)
	}
	if c := q.After; c != nil {
		cw := wid
		if c.Workload != q.Workload {
			id, ok, err := s.workloadID(ctx, c.Workload)
			if err != nil {
				return nil, false, err
			}
			if !ok {
				return nil, false, apperr.New(apperr.InvalidCursor, "the cursor names a workload that does not exist: start again without it")
			}
			cw = id
		}
		at := ms(c.StartedAt)
		// (started_at, workload_id, run_id) < the cursor's, with the first column's bound
		// spelled out for the range scan.
		db = db.Where("started_at <= ? AND (started_at < ? OR workload_id < ? OR (workload_id = ? AND run_id < ?))", at, at, cw, cw, c.ID)
	}
	return db, true, nil
}

// workloadNames maps the workload ids of rows to their names.
func (s *Store) workloadNames(ctx context.Context, rows []runRow) (map[int64]string, error) {
	ids := map[int64]bool{}
	for _, r := range rows {
		ids[r.WorkloadID] = true
	}
	names := map[int64]string{}
	if len(ids) == 0 {
		return names, nil
	}
	var ws []workloadRow
	if err := s.db.WithContext(ctx).Where("id IN ?", slices.Collect(maps.Keys(ids))).Find(&ws).Error; err != nil {
		return nil, translate(err, "workloads")
	}
	for _, w := range ws {
		names[w.ID] = w.Name
	}
	return names, nil
}

// Workloads returns which of names exist.
func (s *Store) Workloads(ctx context.Context, names []string) ([]string, error) {
	var out []string
	err := s.db.WithContext(ctx).Model(&workloadRow{}).Where("name IN ?", names).Pluck("name", &out).Error
	return out, translate(err, "workloads")
}

// DeleteRunsStartedBefore deletes up to limit of the oldest runs that started before t, in one
// short transaction. Their rollups stay: the daily metrics keep the days the run list forgets.
func (s *Store) DeleteRunsStartedBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	n := 0
	err := s.upsertTx(ctx, func(tx *gorm.DB) error {
		var keys []runRow
		q := tx.Model(&runRow{}).Select("workload_id", "run_id").Where("started_at < ?", ms(t)).Order("started_at").Limit(limit)
		if s.driver == MySQL {
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
		if err := q.Find(&keys).Error; err != nil {
			return err
		}
		n = len(keys)
		if n == 0 {
			return nil
		}
		ids := map[int64][]string{}
		for _, k := range keys {
			ids[k.WorkloadID] = append(ids[k.WorkloadID], k.RunID)
		}
		return whereRuns(tx, ids).Delete(&runRow{}).Error
	})
	if err != nil {
		return 0, translate(err, "pipeline runs")
	}
	return n, nil
}
