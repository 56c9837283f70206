package store

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// The migration lock on MySQL is a row, not a named lock: GET_LOCK is local to the server it
// is taken on, so on a Galera cluster instances talking to different nodes would each get
// "the" lock. A row is written through the cluster: of two instances inserting it at once on
// different nodes, one wins and the other gets a duplicate key or a certification conflict
// (1213), both of which mean "held, try again". The table is created outside goose, because it
// guards goose's own version table.
const migrationLockTable = "codemetrics_migration_lock"

const (
	// migrationLockTTL is how long the lock row holds without a refresh: a holder that died
	// leaves it behind, and another instance takes it over once it expired.
	migrationLockTTL = 30 * time.Second
	// migrationLockWait bounds the wait for a lock another instance holds (and refreshes).
	migrationLockWait = 2 * time.Minute
	// migrationLockPoll is the mean wait between two tries, jittered by half either way.
	migrationLockPoll = 200 * time.Millisecond
)

// lockConfig is how Migrate takes the lock row; tests shorten it.
type lockConfig struct {
	ttl   time.Duration                                    // the row's lifetime, refreshed every ttl/3 while held
	wait  time.Duration                                    // how long to try before giving up
	sleep func(ctx context.Context, d time.Duration) error // sleepCtx unless a test set it
}

// takeMigrationLock takes the lock that serialises migrations across instances; the whole of
// goose's work (version table included) happens under it. It returns the context to migrate
// under, which ends if the lock is lost while held (its row taken over after a refresh failed
// for longer than its lifetime), and the function that releases it.
func (s *Store) takeMigrationLock(ctx context.Context, log *slog.Logger) (context.Context, func(), error) {
	switch {
	case s.driver == MySQL:
		return s.lockRow(ctx, log)
	case s.path != "":
		lctx, cancel := context.WithTimeout(ctx, migrationLockWait)
		defer cancel()
		lock := flock.New(s.path + ".migrate-lock")
		locked, err := lock.TryLockContext(lctx, 50*time.Millisecond)
		if err != nil || !locked {
			return nil, nil, fmt.Errorf("take the migration lock %s: %v", lock.Path(), err)
		}
		return ctx, func() { _ = lock.Unlock() }, nil
	default:
		return ctx, func() {}, nil // an in-memory database has one user
	}
}

// lockRow takes the lock row (see migrationLockTable): it inserts it, or takes it over when
// it expired, retrying with jitter until lockConfig.wait has passed; then it keeps it alive
// until released.
func (s *Store) lockRow(ctx context.Context, log *slog.Logger) (context.Context, func(), error) {
	holder := lockHolder()
	cfg := s.lock
	deadline := time.Now().Add(cfg.wait)
	created := false
	for {
		var won bool
		var err error
		if !created {
			// IF NOT EXISTS: the instances starting together all send it; DDL is replicated in
			// total order on Galera, so each sees the table afterwards.
			_, err = s.sql.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+migrationLockTable+
				" (id INT NOT NULL PRIMARY KEY, holder VARCHAR(64) NOT NULL, expires_at BIGINT NOT NULL) ENGINE=InnoDB")
			created = err == nil
		}
		if created {
			won, err = s.tryLockRow(ctx, log, holder, cfg.ttl)
		}
		if err != nil && !retryable(err, true) {
			return nil, nil, fmt.Errorf("take the migration lock: %w", err)
		}
		if won {
			break
		}
		if time.Now().After(deadline) {
			by, until := s.lockHolderNow(ctx)
			return nil, nil, fmt.Errorf("take the migration lock: held by %s (until %s) for over %s; "+
				"a holder that died leaves it to expire by itself (row id 1 of table %s)", by, until, cfg.wait, migrationLockTable)
		}
		jitter := migrationLockPoll/2 + rand.N(migrationLockPoll+1)
		if err := cfg.sleep(ctx, jitter); err != nil {
			return nil, nil, fmt.Errorf("take the migration lock: %w", err)
		}
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { s.keepLockRow(mctx, log, holder, cfg.ttl, done, cancel) })
	release := func() {
		close(done)
		wg.Wait()
		cancel()
		// Not the cancelled context: the lock must go even if the migration was interrupted.
		// If this fails, the row expires by itself.
		_, err := s.sql.ExecContext(context.WithoutCancel(ctx), "DELETE FROM "+migrationLockTable+" WHERE id = 1 AND holder = ?", holder)
		if err != nil {
			log.Warn("could not release the migration lock: it expires by itself", "holder", holder, "error", err)
		}
	}
	return mctx, release, nil
}

// tryLockRow tries once to take the lock row for holder: true when it did. A duplicate key or
// a conflict comes back as the error, to be retried.
func (s *Store) tryLockRow(ctx context.Context, log *slog.Logger, holder string, ttl time.Duration) (bool, error) {
	now := time.Now()
	exp := now.Add(ttl).UnixMilli()
	_, err := s.sql.ExecContext(ctx, "INSERT INTO "+migrationLockTable+" (id, holder, expires_at) VALUES (1, ?, ?)", holder, exp)
	if err == nil {
		return true, nil
	}
	if !isDuplicate(err) {
		return false, err
	}
	// Held: taken over if it expired (its holder died, or lost its connection for longer than
	// the lock's lifetime).
	var was string
	var until int64
	if err := s.sql.QueryRowContext(ctx, "SELECT holder, expires_at FROM "+migrationLockTable+" WHERE id = 1").Scan(&was, &until); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil // released meanwhile: insert again
		}
		return false, err
	}
	if until >= now.UnixMilli() {
		return false, nil
	}
	res, err := s.sql.ExecContext(ctx, "UPDATE "+migrationLockTable+" SET holder = ?, expires_at = ? WHERE id = 1 AND holder = ? AND expires_at = ?",
		holder, exp, was, until)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err // another instance took it over first
	}
	log.Warn("took over an expired migration lock: its holder stopped without releasing it", "holder", was, "expired", fromMS(until).Format(time.RFC3339Nano))
	return true, nil
}

// keepLockRow refreshes the lock row every ttl/3 until done is closed. If the row is no longer
// holder's, or cannot be refreshed until it expires, the lock is lost: it cancels the migration.
func (s *Store) keepLockRow(ctx context.Context, log *slog.Logger, holder string, ttl time.Duration, done <-chan struct{}, cancel func()) {
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	held := time.Now().Add(ttl)
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		next := time.Now().Add(ttl)
		res, err := s.sql.ExecContext(ctx, "UPDATE "+migrationLockTable+" SET expires_at = ? WHERE id = 1 AND holder = ?", next.UnixMilli(), holder)
		var n int64
		if err == nil {
			n, err = res.RowsAffected()
		}
		switch {
		case err == nil && n == 1:
			held = next
		case err == nil:
			log.Error("lost the migration lock: another instance took it over; stopping the migration", "holder", holder)
			cancel()
			return
		case time.Now().After(held):
			log.Error("lost the migration lock: it could not be refreshed before it expired; stopping the migration", "holder", holder, "error", err)
			cancel()
			return
		}
	}
}

// lockHolderNow names the lock row's holder and expiry, for an error message.
func (s *Store) lockHolderNow(ctx context.Context) (string, string) {
	var holder string
	var until int64
	if err := s.sql.QueryRowContext(ctx, "SELECT holder, expires_at FROM "+migrationLockTable+" WHERE id = 1").Scan(&holder, &until); err != nil {
		return "another instance", "unknown"
	}
	return fmt.Sprintf("%q", holder), fromMS(until).Format(time.RFC3339)
}

// lockHolder names this instance in the lock row: host, process and a random part (two stores
// of one process are two holders). At most 64 characters.
func lockHolder() string {
	host, _ := os.Hostname()
	if len(host) > 40 {
		host = host[:40]
	}
	b := make([]byte, 4)
	_, _ = crand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}
