package store

import (
	"cmp"
	"context"
	"database/sql"
	"maps"
	"slices"
	"strings"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Rollups: one row per workload, UTC day and kind, summing the day's runs (pipeline.Rollup),
// written in the transaction that writes the runs it counts. A writer locks the rows it
// changes (MySQL: SELECT … FOR UPDATE, and a plain INSERT of those that are missing; SQLite: one
// writer at a time) and writes their new values back, the duration sketch merged in Go.

type rollupRow struct {
	WorkloadID    int64  `gorm:"primaryKey;autoIncrement:false"`
	Day           int64  `gorm:"primaryKey;autoIncrement:false"`
	Kind          string `gorm:"primaryKey"`
	Succeeded     int64
	Failed        int64
	Cancelled     int64
	CoverageCount int64
	CoverageSum   int64
	Durations     []byte
	DurationP50   float64 `gorm:"column:duration_p50"`
	DurationP95   float64 `gorm:"column:duration_p95"`
}

func (rollupRow) TableName() string { return "pipeline_rollups" }

// rollupKey is a rollup row's primary key.
type rollupKey struct {
	workloadID int64
	day        int64
	kind       string
}

func (k rollupKey) compare(o rollupKey) int {
	return cmp.Or(cmp.Compare(k.workloadID, o.workloadID), cmp.Compare(k.day, o.day), strings.Compare(k.kind, o.kind))
}

func (r rollupRow) toRollup(withDurations bool) (pipeline.Rollup, error) {
	out := pipeline.Rollup{
		Succeeded: r.Succeeded, Failed: r.Failed, Cancelled: r.Cancelled,
		CoverageCount: r.CoverageCount, CoverageSum: r.CoverageSum, P50: r.DurationP50, P95: r.DurationP95,
	}
	if withDurations {
		d, err := pipeline.DecodeDurations(r.Durations)
		if err != nil {
			return out, apperr.Wrap(err, apperr.Internal, "a stored rollup cannot be read")
		}
		out.Durations = d
	}
	return out, nil
}

func toRollupRow(k rollupKey, r pipeline.Rollup) rollupRow {
	row := rollupRow{
		WorkloadID: k.workloadID, Day: k.day, Kind: k.kind,
		Succeeded: r.Succeeded, Failed: r.Failed, Cancelled: r.Cancelled,
		CoverageCount: r.CoverageCount, CoverageSum: r.CoverageSum,
	}
	if r.Durations != nil {
		row.Durations = r.Durations.Encode()
	}
	r.Settle()
	row.DurationP50, row.DurationP95 = r.P50, r.P95
	return row
}

// addTo counts run in its rollup among deltas.
func addTo(deltas map[rollupKey]*pipeline.Rollup, wid int64, run pipeline.Run) {
	k := rollupKey{wid, pipeline.DayOf(run.StartedAt), run.Kind}
	d := deltas[k]
	if d == nil {
		d = &pipeline.Rollup{}
		deltas[k] = d
	}
	d.Add(run)
}

// lockRollups returns the rollup rows of keys (those that exist), locked for this transaction:
// on MySQL a locking read (in key order, so two writers wait rather than deadlock), which gets
// the latest committed values whatever the transaction read before; SQLite has one writer at a
// time, a plain read. The rows that do not exist yet are not locked: writeRollups inserts them
// with a plain INSERT, so a transaction that created one first makes this one fail on the
// duplicate key and run again (upsertTx), finding it.
func lockRollups(tx *gorm.DB, driver string, keys []rollupKey) (map[rollupKey]rollupRow, error) {
	slices.SortFunc(keys, rollupKey.compare)
	days := map[int64][]int64{}
	for _, k := range keys {
		days[k.workloadID] = append(days[k.workloadID], k.day)
	}
	rows, err := lockByWorkload[rollupRow](tx, driver, "day", days, "workload_id, day, kind")
	if err != nil {
		return nil, err
	}
	out := make(map[rollupKey]rollupRow, len(rows))
	for _, r := range rows {
		out[rollupKey{r.WorkloadID, r.Day, r.Kind}] = r
	}
	return out, nil
}

// lockForUpdate is a MySQL locking read's clause.
var lockForUpdate = clause.Locking{Strength: clause.LockingStrengthUpdate}

// addRollups adds deltas to their rollup rows.
func addRollups(tx *gorm.DB, driver string, deltas map[rollupKey]*pipeline.Rollup) error {
	if len(deltas) == 0 {
		return nil
	}
	keys := slices.Collect(maps.Keys(deltas))
	current, err := lockRollups(tx, driver, keys)
	if err != nil {
		return err
	}
	var existing, created []rollupRow
	for _, k := range keys { // sorted by lockRollups
		row, ok := current[k]
		r, err := row.toRollup(true)
		if err != nil {
			return err
		}
		if err := r.Merge(*deltas[k]); err != nil {
			return err
		}
		if ok {
			existing = append(existing, toRollupRow(k, r))
		} else {
			created = append(created, toRollupRow(k, r))
		}
	}
	return writeRollups(tx, driver, existing, created)
}

// writeRollups writes existing, rows whose locks this transaction holds, and created, rows it
// found missing, and then their blocks (writeBlocks).
func writeRollups(tx *gorm.DB, driver string, existing, created []rollupRow) error {
	err := writeLocked(tx, driver, existing, created, []string{"workload_id", "day", "kind"},
		[]string{"succeeded", "failed", "cancelled", "coverage_count", "coverage_sum", "durations", "duration_p50", "duration_p95"})
	if err != nil {
		return err
	}
	return writeBlocks(tx, driver, append(existing, created...))
}

// writeLocked writes existing, rows whose locks this transaction holds, and created, rows it
// found missing, in multi-row statements: on MySQL the existing ones in upserts of cols and the
// created ones in plain INSERTs (a duplicate key means another transaction created the row
// first: upsertTx runs this one again); on SQLite, one writer at a time, all in upserts.
func writeLocked[R any](tx *gorm.DB, driver string, existing, created []R, key, cols []string) error {
	if driver != MySQL {
		existing, created = append(existing, created...), nil
	}
	perInsert := rowsPerInsert(driver, len(key)+len(cols))
	if len(created) > 0 {
		if err := tx.CreateInBatches(&created, perInsert).Error; err != nil {
			return err
		}
	}
	if len(existing) == 0 {
		return nil
	}
	conflict := make([]clause.Column, len(key))
	for i, c := range key {
		conflict[i] = clause.Column{Name: c}
	}
	return tx.Clauses(clause.OnConflict{Columns: conflict, DoUpdates: clause.AssignmentColumns(cols)}).
		CreateInBatches(&existing, perInsert).Error
}

// removeFromRollup takes run out of its rollup.
func removeFromRollup(tx *gorm.DB, driver string, wid int64, run pipeline.Run) error {
	k := rollupKey{wid, pipeline.DayOf(run.StartedAt), run.Kind}
	current, err := lockRollups(tx, driver, []rollupKey{k})
	if err != nil {
		return err
	}
	r, err := current[k].toRollup(true)
	if err != nil {
		return err
	}
	if !r.Remove(run) {
		return apperr.New(apperr.Internal, "the rollup of run %q of workload %q does not count it", run.ID, run.Workload)
	}
	return writeRollups(tx, driver, []rollupRow{toRollupRow(k, r)}, nil)
}

// Rollups calls each with the rollups q selects, workload by workload in the order of
// q.Workloads, each workload's by day and kind, sending no statement for a workload that does
// not exist. Without q.WithDurations (every query) it reads the rollup blocks: one statement per
// workload, prepared once, a row per block in the primary key's order. With it (the tests that
// check the sketches) it reads the daily rows, sketches included, the same way.
func (s *Store) Rollups(ctx context.Context, q pipeline.RollupQuery, each func(pipeline.RollupKey, pipeline.Rollup) error) error {
	var found []workloadRow
	if err := s.db.WithContext(ctx).Select("id", "name").Where("name IN ?", q.Workloads).Find(&found).Error; err != nil {
		return translate(err, "rollups")
	}
	ids := make(map[string]int64, len(found))
	for _, w := range found {
		ids[w.Name] = w.ID
	}
	if !q.WithDurations {
		return s.rollupBlocks(ctx, q, ids, each)
	}
	var stmt strings.Builder
	stmt.WriteString("SELECT day, kind = 'deploy', succeeded, failed, cancelled, coverage_count, coverage_sum, duration_p50, duration_p95")
	if q.WithDurations {
		stmt.WriteString(", durations")
	}
	stmt.WriteString(" FROM pipeline_rollups WHERE workload_id = ? AND day >= ? AND day <= ?")
	args := []any{int64(0), q.From, q.To}
	if len(q.Kinds) > 0 {
		stmt.WriteString(" AND kind IN (?" + strings.Repeat(", ?", len(q.Kinds)-1) + ")")
		for _, k := range q.Kinds {
			args = append(args, k)
		}
	}
	stmt.WriteString(" ORDER BY day, kind")
	prepared, err := s.sql.PrepareContext(ctx, stmt.String())
	if err != nil {
		return translate(err, "rollups")
	}
	defer prepared.Close()
	for _, name := range q.Workloads {
		id, ok := ids[name]
		if !ok {
			continue
		}
		args[0] = id
		if err := s.eachRollup(ctx, prepared, args, name, q.WithDurations, each); err != nil {
			return err
		}
	}
	return nil
}

// eachRollup reads one workload's rollups with the statement of Rollups.
func (s *Store) eachRollup(ctx context.Context, stmt *sql.Stmt, args []any, workload string, withDurations bool, each func(pipeline.RollupKey, pipeline.Rollup) error) error {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return translate(err, "rollups")
	}
	defer rows.Close()
	k := pipeline.RollupKey{Workload: workload}
	var deploy bool
	var r pipeline.Rollup
	var sketch []byte
	dst := []any{&k.Day, &deploy, &r.Succeeded, &r.Failed, &r.Cancelled, &r.CoverageCount, &r.CoverageSum, &r.P50, &r.P95}
	if withDurations {
		dst = append(dst, &sketch)
	}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return translate(err, "rollups")
		}
		k.Kind = pipeline.KindBuild
		if deploy {
			k.Kind = pipeline.KindDeploy
		}
		out := r
		if withDurations {
			d, err := pipeline.DecodeDurations(sketch)
			if err != nil {
				return apperr.Wrap(err, apperr.Internal, "a stored rollup cannot be read")
			}
			out.Durations = d
		}
		if err := each(k, out); err != nil {
			return err
		}
	}
	return translate(rows.Err(), "rollups")
}

// The backfill: migration 00007 made the rollups table empty beside runs recorded before it.
// The runs are counted after start-up, in batches in the order of pipeline_runs_workload_newest
// (workload, start, id: a batch's runs fall on few days, so it rewrites few rollups), the
// position kept in pipeline_rollup_backfill (done from the start on a database without runs).
// A run recorded meanwhile is counted at once when the backfill has passed its position, else
// left to it. Each batch locks the position row for writing and each recording transaction for
// reading (SQLite: one writer at a time), so a run is never counted twice nor missed.

type backfillRow struct {
	ID              int `gorm:"primaryKey"`
	Done            bool
	AfterWorkloadID int64
	AfterStartedMS  int64 `gorm:"column:after_started_at"`
	AfterRunID      string
}

func (backfillRow) TableName() string { return "pipeline_rollup_backfill" }

// backfillKey is a run's place in the backfill's order.
type backfillKey struct {
	workloadID int64
	startedMS  int64
	runID      string
}

func (k backfillKey) compare(o backfillKey) int {
	return cmp.Or(cmp.Compare(k.workloadID, o.workloadID), cmp.Compare(k.startedMS, o.startedMS), strings.Compare(k.runID, o.runID))
}

// countedNow reads the backfill's position and returns which new runs this transaction must
// count itself: all of them once the backfill is done (remembered, it is never undone).
func (s *Store) countedNow(tx *gorm.DB) (func(backfillKey) bool, error) {
	all := func(backfillKey) bool { return true }
	if s.rollupsDone.Load() {
		return all, nil
	}
	lock := ""
	if s.driver == MySQL {
		lock = " LOCK IN SHARE MODE" // MariaDB knows no FOR SHARE
	}
	var b backfillRow
	if err := tx.Raw("SELECT id, done, after_workload_id, after_started_at, after_run_id FROM pipeline_rollup_backfill WHERE id = 1" + lock).Scan(&b).Error; err != nil {
		return nil, err
	}
	if b.Done || b.ID == 0 {
		s.rollupsDone.Store(b.Done)
		return all, nil
	}
	pos := backfillKey{b.AfterWorkloadID, b.AfterStartedMS, b.AfterRunID}
	return func(k backfillKey) bool { return k.compare(pos) <= 0 }, nil
}

// RollupsComplete reports whether the rollups count every stored run.
func (s *Store) RollupsComplete(ctx context.Context) (bool, error) {
	if s.rollupsDone.Load() {
		return true, nil
	}
	var b backfillRow
	if err := s.db.WithContext(ctx).Take(&b, 1).Error; err != nil {
		return false, translate(err, "rollup backfill")
	}
	s.rollupsDone.Store(b.Done)
	return b.Done, nil
}

// BackfillBatch is how many runs one backfill transaction counts: a batch holds up recording
// (the position row; SQLite: the write lock) for well under a second.
const BackfillBatch = 2000

// BackfillRollups counts the next batch of up to limit runs recorded before the rollups
// existed, in one transaction, and reports whether none are left.
func (s *Store) BackfillRollups(ctx context.Context, limit int) (done bool, counted int, err error) {
	if s.rollupsDone.Load() {
		return true, 0, nil
	}
	err = s.upsertTx(ctx, func(tx *gorm.DB) error {
		var b backfillRow
		q := tx.Where("id = 1")
		if s.driver == MySQL {
			q = q.Clauses(lockForUpdate)
		}
		if err := q.Take(&b).Error; err != nil {
			return err
		}
		if done = b.Done; done {
			return nil
		}
		var runs []runRow
		// (workload_id, started_at, run_id) after the position, the first column's bound
		// spelled out for the range scan.
		err := tx.Model(&runRow{}).Select("workload_id", "run_id", "kind", "status", "started_at", "finished_at", "coverage").
			Where("workload_id >= ? AND (workload_id > ? OR started_at > ? OR (started_at = ? AND run_id > ?))",
				b.AfterWorkloadID, b.AfterWorkloadID, b.AfterStartedMS, b.AfterStartedMS, b.AfterRunID).
			Order("workload_id, started_at, run_id").Limit(limit).Find(&runs).Error
		if err != nil {
			return err
		}
		deltas := map[rollupKey]*pipeline.Rollup{}
		for _, r := range runs {
			addTo(deltas, r.WorkloadID, r.toRun(""))
		}
		if err := addRollups(tx, s.driver, deltas); err != nil {
			return err
		}
		counted = len(runs)
		done = len(runs) < limit
		if counted > 0 {
			last := runs[len(runs)-1]
			b.AfterWorkloadID, b.AfterStartedMS, b.AfterRunID = last.WorkloadID, last.StartedMS, last.RunID
		}
		b.Done = done
		return tx.Save(&b).Error
	})
	if err != nil {
		return false, 0, translate(err, "rollup backfill")
	}
	if done {
		s.rollupsDone.Store(true)
	}
	return done, counted, nil
}
