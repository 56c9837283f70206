package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

var (
	deadlock    = &mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock; try restarting transaction"}
	lockTimeout = &mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded; try restarting transaction"}
	duplicate   = &mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'x' for key 'PRIMARY'"}
)

// TestRetryableErrors checks which errors make a write transaction run again: a deadlock or
// Galera certification conflict (1213) and a lock wait timeout (1205), however wrapped; a
// duplicate key only where asked for (upserts); nothing else.
func TestRetryableErrors(t *testing.T) {
	for _, c := range []struct {
		err        error
		duplicates bool
		want       bool
	}{
		{deadlock, false, true},
		{fmt.Errorf("commit: %w", deadlock), false, true},
		{lockTimeout, false, true},
		{duplicate, false, false},
		{duplicate, true, true},
		{gorm.ErrDuplicatedKey, true, true},
		{gorm.ErrDuplicatedKey, false, false},
		{&mysql.MySQLError{Number: 1146, Message: "Table 'x' doesn't exist"}, true, false},
		{&mysql.MySQLError{Number: 1047, Message: "WSREP has not yet prepared node for application use"}, false, false},
		{apperr.New(apperr.NotFound, "no active token with that id"), true, false},
		{context.Canceled, false, false},
		{errors.New("driver: bad connection"), false, false},
	} {
		if got := store.Retryable(c.err, c.duplicates); got != c.want {
			t.Errorf("Retryable(%v, duplicates=%v) = %v, want %v", c.err, c.duplicates, got, c.want)
		}
	}
}

// eventCount counts the audit events of action.
func eventCount(t *testing.T, st *store.Store, action string) int {
	t.Helper()
	evs, err := st.ListEvents(t.Context(), audit.Query{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestWriteTxRunsAgainOnConflict makes a write transaction fail with a deadlock (how Galera
// reports a certification conflict too) on its first runs: writeTx runs it again, the failed
// runs' writes are rolled back, and the last run's commit. A transaction that keeps failing is
// run TxAttempts times and its error reported; any other error is reported at once.
func TestWriteTxRunsAgainOnConflict(t *testing.T) {
	testenv.ForEachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		retried := 0
		st.SetTxRetry(0, func(error) { retried++ })
		st.NoTxWaits()
		ev := func(action string) audit.Event {
			return audit.Event{At: time.Now().UTC(), Actor: "a", Action: action, Target: "t"}
		}

		runs := 0
		err := st.WriteTxEvent(ctx, ev("test.twice"), func(run int) error {
			runs = run
			if run < 3 {
				return deadlock
			}
			return nil
		})
		if err != nil || runs != 3 || retried != 2 {
			t.Fatalf("two deadlocks then success: err %v after %d runs, %d retries; want nil after 3", err, runs, retried)
		}
		if n := eventCount(t, st, "test.twice"); n != 1 {
			t.Fatalf("%d events stored by a transaction that committed once; want 1", n)
		}

		runs = 0
		err = st.WriteTxEvent(ctx, ev("test.always"), func(run int) error { runs = run; return deadlock })
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1213 || runs != store.TxAttempts {
			t.Fatalf("always a deadlock: err %v after %d runs; want the deadlock after %d", err, runs, store.TxAttempts)
		}
		if n := eventCount(t, st, "test.always"); n != 0 {
			t.Fatalf("%d events stored by a transaction that never committed", n)
		}

		runs = 0
		refused := apperr.New(apperr.Conflict, "refused")
		err = st.WriteTxEvent(ctx, ev("test.refused"), func(run int) error { runs = run; return refused })
		if !errors.Is(err, refused) || runs != 1 {
			t.Fatalf("a refusal: err %v after %d runs; want it after 1", err, runs)
		}

		runs = 0
		err = st.WriteTxEvent(ctx, ev("test.duplicate"), func(run int) error { runs = run; return duplicate })
		if err == nil || runs != 1 {
			t.Fatalf("a duplicate key: err %v after %d runs; want it after 1 (a Conflict, not retried)", err, runs)
		}
	})
}

// TestConcurrentRevocationsNeverFail revokes tokens two at a time, each of the pair from its
// own goroutine, many rounds: the two take the revocation feed's counter row one after the
// other (on a cluster: conflict), and neither may fail. The feed then holds every revocation
// once, gap-free.
func TestConcurrentRevocationsNeverFail(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		a, b := testenv.Store(t, db), testenv.OpenStore(t, db) // two instances
		ctx := t.Context()
		now := time.Now().UTC().Truncate(time.Millisecond)
		ok := audit.Event{At: now, Actor: "a", Action: "token.revoked", Target: "t"}
		const rounds = 100
		for i := range 2 * rounds {
			if err := a.InsertToken(ctx, newToken(fmt.Sprintf("r%03d", i), now), ok); err != nil {
				t.Fatal(err)
			}
		}
		for round := range rounds {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, st := range []*store.Store{a, b} {
				wg.Go(func() {
					_, errs[i] = st.RevokeToken(ctx, fmt.Sprintf("r%03d", 2*round+i), now, "x", "", func(token.Token) audit.Event { return ok })
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d, instance %d: %v", round, i, err)
				}
			}
		}
		page, err := a.RevocationsFrom(ctx, 0, 1000)
		if err != nil || len(page.Entries) != 2*rounds || page.Counter != 2*rounds {
			t.Fatalf("feed: %d entries, counter %d, %v; want %d", len(page.Entries), page.Counter, err, 2*rounds)
		}
		for i, e := range page.Entries {
			if e.Seq != int64(i+1) {
				t.Fatalf("feed entry %d has seq %d", i, e.Seq)
			}
		}
	})
}

// TestSQLiteWritersTakeTurns holds one write transaction open far longer than SQLite's busy
// timeout (here 50 ms) while a batch of runs is recorded from another goroutine of the same
// process: the batch waits for its turn and is stored, where SQLite alone would give up with
// "database is locked" once the busy timeout passed. The wait is real time: the busy timeout is
// SQLite's own clock.
func TestSQLiteWritersTakeTurns(t *testing.T) {
	db := testenv.SQLite(t)
	st := testenv.Store(t, testenv.DB{Driver: db.Driver, DSN: db.DSN + "?_pragma=busy_timeout(50)"})
	ctx := context.Background()
	holding, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- st.WriteTxEvent(ctx, audit.Event{At: time.Now().UTC(), Actor: "a", Action: "test.hold", Target: "t"}, func(int) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	recorded := make(chan error, 1)
	go func() {
		at := time.Now().UTC().Truncate(time.Millisecond)
		_, err := st.InsertRuns(ctx, []pipeline.Run{{ID: "r1", Workload: "team", Pipeline: "ci", Kind: pipeline.KindBuild,
			Status: pipeline.StatusSuccess, Branch: "main", Commit: "abc", StartedAt: at.Add(-time.Minute), FinishedAt: at,
			RecordedAt: at, RecordedBy: "test"}})
		recorded <- err
	}()
	select {
	case err := <-recorded:
		t.Fatalf("the batch finished (%v) while another write transaction held SQLite's lock", err)
	case <-time.After(300 * time.Millisecond): // six busy timeouts
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatalf("the transaction holding the lock: %v", err)
	}
	if err := <-recorded; err != nil {
		t.Fatalf("the batch that waited for its turn: %v", err)
	}
	if _, err := st.GetRun(ctx, "team", "r1"); err != nil {
		t.Fatalf("the batch's run is not stored: %v", err)
	}
}
