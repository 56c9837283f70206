package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// Every write transaction of the store goes through writeTx (or upsertTx), which runs it again
// when the database gave up on it for a reason that a second run does not meet: a deadlock, a
// lock wait timeout, or, on a Galera cluster, a certification conflict with a transaction
// committed on another node (which MariaDB reports as a deadlock, 1213). Each fn must therefore
// be safe to repeat: it changes nothing outside the transaction (its results go into variables
// it sets afresh on every run, and the caller acts on them after writeTx returned nil).

// txAttempts bounds how often writeTx runs a transaction. Enough for the worst case measured:
// 100 revocations at once spread over three Galera nodes, every one of which takes the
// revocation feed's counter row (with 8 runs and waits of at most 200 ms, a quarter of them
// still failed). The waits add up to 4.6 s at most, 2.3 s on average, before the error.
const txAttempts = 16

// txBackoff is the wait before the second run; it doubles for each further run, up to
// txBackoffMax, and each wait is drawn at random between none and all of it (full jitter), so
// that transactions that conflicted once do not meet again at the same instant.
const (
	txBackoff    = 5 * time.Millisecond
	txBackoffMax = 500 * time.Millisecond
)

// MySQL's and MariaDB's errors that mean "run the transaction again".
const (
	erLockWaitTimeout = 1205
	erLockDeadlock    = 1213 // a deadlock, or a Galera certification conflict or brute-force abort
)

// writeTx runs fn in a transaction and commits it, again (up to txAttempts runs in all) when
// the transaction failed on a conflict with another (retryable). On MySQL it runs at READ
// COMMITTED (no gap locks, so writers of different keys do not wait for one another). SQLite
// runs one writer at a time and never reports such a conflict. The error is the last run's.
func (s *Store) writeTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.retry(ctx, false, s.inTx(ctx, fn))
}

// upsertTx is writeTx that also runs fn again on a duplicate key, for transactions that insert
// rows (runs, workloads, rollups) a concurrent transaction may insert first: the next run finds
// them. Elsewhere a duplicate key is an answer (Conflict), not something to retry.
func (s *Store) upsertTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.retry(ctx, true, s.inTx(ctx, fn))
}

// writeOne runs fn, a write of a single statement, on its own (autocommit: no BEGIN or COMMIT
// of its own), again on a conflict as writeTx does: on Galera a statement that conflicts with
// one committed on another node fails as a transaction does.
func (s *Store) writeOne(ctx context.Context, fn func(db *gorm.DB) error) error {
	return s.retry(ctx, false, func() error { return fn(s.db.WithContext(ctx)) })
}

// inTx is fn run in a transaction, at READ COMMITTED on MySQL; on SQLite after this process's
// other write transactions (Store.writer).
func (s *Store) inTx(ctx context.Context, fn func(tx *gorm.DB) error) func() error {
	var opts []*sql.TxOptions
	if s.driver == MySQL {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	}
	return func() error {
		if s.writer != nil {
			select {
			case s.writer <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			defer func() { <-s.writer }()
		}
		return s.db.WithContext(ctx).Transaction(fn, opts...)
	}
}

// retry calls run until it succeeds, fails for a reason retryable does not recognise, or ran
// txAttempts times, waiting backoff between runs.
func (s *Store) retry(ctx context.Context, duplicates bool, run func() error) error {
	attempts := s.tx.attempts
	if attempts < 1 {
		attempts = txAttempts
	}
	for attempt := 1; ; attempt++ {
		err := run()
		if err == nil || attempt >= attempts || ctx.Err() != nil || !retryable(err, duplicates && s.driver == MySQL) {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("after %d attempts: %w", attempt, err)
			}
			return err
		}
		if s.tx.retried != nil {
			s.tx.retried(err)
		}
		if werr := s.tx.wait(ctx, backoff(attempt)); werr != nil {
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		}
	}
}

// txRetry is how writeTx waits and counts; tests replace wait and set attempts.
type txRetry struct {
	attempts int                                              // 0: txAttempts
	wait     func(ctx context.Context, d time.Duration) error // sleepCtx unless a test set it
	retried  func(err error)                                  // called before each further run, when set
}

// backoff is the wait after the attempt-th run failed: txBackoff doubled attempt-1 times, at
// most txBackoffMax, drawn at random up to it.
func backoff(attempt int) time.Duration {
	d := txBackoff << min(attempt-1, 10)
	d = min(d, txBackoffMax)
	return rand.N(d + 1)
}

// sleepCtx waits for d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryable recognises MySQL's deadlock (1213, which is also how MariaDB Galera reports a
// certification conflict) and lock wait timeout (1205), and, when duplicates is set, a
// duplicate key, which a concurrent insert of the same key causes.
func retryable(err error, duplicates bool) bool {
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) && (me.Number == erLockDeadlock || me.Number == erLockWaitTimeout) {
		return true
	}
	return duplicates && isDuplicate(err)
}
