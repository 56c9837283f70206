package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"gorm.io/gorm"
)

// SQL is the wrapped database/sql handle under the store's GORM, for tests that send
// statements around GORM.
func (s *Store) SQL() *sql.DB { return s.sql }

// FailNextUpdate makes the next UPDATE of table fail with err before it is sent: a deadlock
// the database broke, say.
func (s *Store) FailNextUpdate(table string, err error) {
	var done atomic.Bool
	if rerr := s.db.Callback().Update().Before("gorm:update").Register("test:fail_next_update", func(db *gorm.DB) {
		if db.Statement.Table == table && done.CompareAndSwap(false, true) {
			_ = db.AddError(err)
		}
	}); rerr != nil {
		panic(rerr)
	}
}

// MigrateTo applies the migrations up to version only: a database as an older CodeMetrics left it.
func (s *Store) MigrateTo(ctx context.Context, version int64) error {
	p, err := s.migrationProvider()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// InsertRunsBeforeRollups writes runs as a CodeMetrics without rollups did: the rows alone.
func (s *Store) InsertRunsBeforeRollups(ctx context.Context, runs []pipeline.Run) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var names []string
		for _, r := range runs {
			names = append(names, r.Workload)
		}
		slices.Sort(names)
		ids, err := workloadIDs(tx, slices.Compact(names), runs[0].RecordedAt)
		if err != nil {
			return err
		}
		rows := make([]runRow, len(runs))
		for i, r := range runs {
			rows[i] = toRunRow(ids[r.Workload], r)
		}
		return tx.Omit("service_user").CreateInBatches(&rows, 500).Error // a column of a later release
	})
}

// ResetRollups empties the rollups and puts their backfill back at its start: what migration
// 00007 leaves of a database that holds runs.
func (s *Store) ResetRollups(ctx context.Context) error {
	s.rollupsDone.Store(false)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM pipeline_rollups").Error; err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM pipeline_rollup_blocks").Error; err != nil {
			return err
		}
		return tx.Exec("UPDATE pipeline_rollup_backfill SET done = ?, after_workload_id = 0, after_started_at = 0, after_run_id = ''", false).Error
	})
}

// DropRollupBlocks empties the rollup blocks and marks them unbuilt: what migration 00013 leaves
// of a database that holds daily rollups.
func (s *Store) DropRollupBlocks(ctx context.Context) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM pipeline_rollup_blocks").Error; err != nil {
			return err
		}
		return tx.Exec("UPDATE pipeline_rollup_backfill SET blocks_done = ?", false).Error
	})
}

// ExplainListRuns returns the database's plan of the statement ListRuns sends for q, one line per
// step: SQLite's EXPLAIN QUERY PLAN details, or MySQL's EXPLAIN as "table key type Extra".
func (s *Store) ExplainListRuns(ctx context.Context, q pipeline.ListQuery) (string, error) {
	var qerr error
	stmt := s.db.ToSQL(func(tx *gorm.DB) *gorm.DB {
		db, _, err := s.listRunsQuery(ctx, tx, q)
		if err != nil {
			qerr = err
			return tx
		}
		var rows []runRow
		return db.Find(&rows)
	})
	if qerr != nil {
		return "", qerr
	}
	var lines []string
	if s.driver == MySQL {
		rows, err := s.sql.QueryContext(ctx, "EXPLAIN "+stmt)
		if err != nil {
			return "", err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return "", err
			}
			m := map[string]string{}
			for i, c := range cols {
				if b, ok := vals[i].([]byte); ok {
					m[c] = string(b)
				} else if vals[i] != nil {
					m[c] = fmt.Sprint(vals[i])
				}
			}
			lines = append(lines, fmt.Sprintf("table=%s key=%s type=%s Extra=%s", m["table"], m["key"], m["type"], m["Extra"]))
		}
		return strings.Join(lines, "\n"), rows.Err()
	}
	rows, err := s.sql.QueryContext(ctx, "EXPLAIN QUERY PLAN "+stmt)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return "", err
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// SetMigrationLock shortens the lock row's lifetime and the wait for it (MySQL).
func (s *Store) SetMigrationLock(ttl, wait time.Duration) { s.lock.ttl, s.lock.wait = ttl, wait }

// MigrationLockTable is the lock row's table.
const MigrationLockTable = migrationLockTable

// TxAttempts is how often writeTx runs a transaction at most.
const TxAttempts = txAttempts

// Retryable is writeTx's decision to run a failed transaction again.
func Retryable(err error, duplicates bool) bool { return retryable(err, duplicates) }

// SetTxRetry sets how often writeTx runs a transaction at most (0: TxAttempts) and calls
// retried, when set, before each further run.
func (s *Store) SetTxRetry(attempts int, retried func(error)) {
	s.tx.attempts, s.tx.retried = attempts, retried
}

// NoTxWaits drops writeTx's waits between runs.
func (s *Store) NoTxWaits() {
	s.tx.wait = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
}

// WriteTxEvent runs, through writeTx, a transaction that stores ev and then fails with
// fail(run), run counting from 1.
func (s *Store) WriteTxEvent(ctx context.Context, ev audit.Event, fail func(run int) error) error {
	run := 0
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		run++
		if err := insertEvent(tx, ev); err != nil {
			return err
		}
		return fail(run)
	})
}
