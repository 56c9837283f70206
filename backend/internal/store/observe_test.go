package store_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// TestEveryStatementIsCountedOnce sends statements every way the store's database can be
// reached: database/sql directly (with and without arguments, which MySQL's driver sends as
// a prepared statement), an explicitly prepared statement, GORM, and transactions of both. Each
// statement, BEGIN, COMMIT and ROLLBACK counts once; failures call OnError, except "no rows"
// and a duplicate key. Before, statements sent around GORM's callbacks and transactions'
// BEGIN and COMMIT were not counted, so a "zero statements" test could pass with some.
func TestEveryStatementIsCountedOnce(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		var queries, failures atomic.Int64
		st := testenv.Store(t, db, store.Options{Queries: &queries, OnError: func() { failures.Add(1) }})
		ctx := t.Context()
		if failures.Load() != 0 {
			t.Fatalf("opening and migrating reported %d failures", failures.Load())
		}
		step := func(name string, wantQueries, wantFailures int64, do func() error, wantErr bool) {
			t.Helper()
			queries.Store(0)
			failures.Store(0)
			if err := do(); (err != nil) != wantErr {
				t.Errorf("%s: error %v, want error: %v", name, err, wantErr)
			}
			if n := queries.Load(); n != wantQueries {
				t.Errorf("%s: %d statements counted, want %d", name, n, wantQueries)
			}
			if n := failures.Load(); n != wantFailures {
				t.Errorf("%s: OnError called %d times, want %d", name, n, wantFailures)
			}
		}
		raw := st.SQL()
		step("database/sql Exec with an argument", 1, 0, func() error {
			_, err := raw.ExecContext(ctx, "UPDATE revocation_feed SET seq = seq WHERE id = ?", 1)
			return err
		}, false)
		step("database/sql QueryRow without arguments", 1, 0, func() error {
			var seq int64
			return raw.QueryRowContext(ctx, "SELECT seq FROM revocation_feed WHERE id = 1").Scan(&seq)
		}, false)
		step("database/sql Query with an argument", 1, 0, func() error {
			rows, err := raw.QueryContext(ctx, "SELECT seq FROM revocation_feed WHERE id = ?", 1)
			if err != nil {
				return err
			}
			return rows.Close()
		}, false)
		step("a prepared statement run twice", 2, 0, func() error {
			stmt, err := raw.PrepareContext(ctx, "UPDATE revocation_feed SET seq = seq WHERE id = ?")
			if err != nil {
				return err
			}
			defer stmt.Close()
			for range 2 {
				if _, err := stmt.ExecContext(ctx, 1); err != nil {
					return err
				}
			}
			return nil
		}, false)
		step("a database/sql transaction", 3, 0, func() error {
			tx, err := raw.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE revocation_feed SET seq = seq WHERE id = ?", 1); err != nil {
				tx.Rollback()
				return err
			}
			return tx.Commit()
		}, false)
		step("a database/sql transaction rolled back", 3, 0, func() error {
			tx, err := raw.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE revocation_feed SET seq = seq WHERE id = 1"); err != nil {
				return err
			}
			return tx.Rollback()
		}, false)
		step("a failing statement without arguments", 1, 1, func() error {
			_, err := raw.ExecContext(ctx, "DELETE FROM no_such_table")
			return err
		}, true)
		step("a failing statement with an argument", 1, 1, func() error {
			rows, err := raw.QueryContext(ctx, "SELECT id FROM no_such_table WHERE id = ?", 1)
			if err == nil {
				rows.Close()
			}
			return err
		}, true)

		now := time.Now().UTC().Truncate(time.Millisecond)
		created := audit.Event{At: now, Actor: "a", Action: "token.created", Target: "t1"}
		step("a GORM query finding no row", 1, 0, func() error {
			if _, err := st.GetToken(ctx, "t1"); !apperr.Is(err, apperr.NotFound) {
				return err
			}
			return nil
		}, false)
		step("a GORM transaction: BEGIN, two inserts, COMMIT", 4, 0, func() error {
			return st.InsertToken(ctx, newToken("t1", now), created)
		}, false)
		step("a duplicate key: BEGIN, the failing insert, ROLLBACK", 3, 0, func() error {
			if err := st.InsertToken(ctx, newToken("t1", now), created); !apperr.Is(err, apperr.Conflict) {
				return err
			}
			return nil
		}, false)
		step("the token list", 1, 0, func() error {
			_, err := st.ListTokens(ctx, token.ListQuery{Now: now, Limit: 10})
			return err
		}, false)
		step("the token count", 1, 0, func() error {
			_, err := st.CountTokens(ctx, token.ListQuery{Now: now})
			return err
		}, false)
		step("a revocation: BEGIN, six statements (the last its notification), COMMIT", 8, 0, func() error {
			_, err := st.RevokeToken(ctx, "t1", now, "a", "", func(token.Token) audit.Event { return created })
			return err
		}, false)
		step("a read of the feed", 1, 0, func() error {
			_, err := st.RevocationsFrom(ctx, 0, 10)
			return err
		}, false)
		step("the start-up read of the feed", 2, 0, func() error {
			_, _, err := st.UnexpiredRevocations(ctx, now)
			return err
		}, false)
		step("a ping", 0, 0, func() error { return st.Ping(ctx) }, false)
	})
}

// TestUnreachableDatabaseIsReported: a database that cannot be reached calls OnError, once, for
// the operation that needed it (here Open's first statement): a failure to connect happens
// before any statement, so it is reported where connections are made.
func TestUnreachableDatabaseIsReported(t *testing.T) {
	var failures atomic.Int64
	st, err := store.Open(store.MySQL, "nobody@tcp(127.0.0.1:1)/none?timeout=2s", store.Options{OnError: func() { failures.Add(1) }})
	if err == nil {
		st.Close()
		t.Fatal("opened a database that cannot be reached")
	}
	if failures.Load() != 1 {
		t.Errorf("the failed connection called OnError %d times, want 1", failures.Load())
	}
}
