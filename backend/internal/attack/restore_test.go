package attack

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// sqlDB opens the test database directly, as an operator with a SQL client would.
func sqlDB(t *testing.T, db testenv.DB) *sql.DB {
	t.Helper()
	dsn := db.DSN
	if db.Driver == "sqlite" {
		dsn += "?_pragma=busy_timeout(10000)"
	}
	conn, err := sql.Open(db.Driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dumpTables is what a backup holds of some tables: every row.
type dumpTables map[string][][]any

func takeDump(t *testing.T, conn *sql.DB, tables ...string) dumpTables {
	t.Helper()
	d := dumpTables{}
	for _, table := range tables {
		d[table] = testenv.TableRows(t, conn, table)
	}
	return d
}

// restore empties the tables and puts the dumped rows back, as restoring the backup does.
func (d dumpTables) restore(t *testing.T, conn *sql.DB) {
	t.Helper()
	tx, err := conn.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for table, rows := range d {
		if _, err := tx.Exec("DELETE FROM " + table); err != nil {
			t.Fatalf("restore %s: %v", table, err)
		}
		for _, r := range rows {
			q := "INSERT INTO " + table + " VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(r)), ", ") + ")"
			if _, err := tx.Exec(q, r...); err != nil {
				t.Fatalf("restore %s: %v", table, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestRevocationAfterARestoreIsEnforced restores the database from a backup taken before three
// revocations, then revokes three other tokens, through the API and the command line's path:
// the feed's counter is back where it was and its last entry is another token's. Instance B,
// which had read the feed up to the lost revocations, must notice, read the feed again and
// refuse the new revocations within one read; it keeps refusing what it knew was revoked and
// names those tokens for the operator. Before, B read "above 4" for ever and never saw them.
func TestRevocationAfterARestoreIsEnforced(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		clock := testenv.NewClock()
		var bQueries atomic.Int64
		a := testenv.Start(t, db, testenv.Settings{Clock: clock})
		b := testenv.Start(t, db, testenv.Settings{Clock: clock, Store: store.Options{Queries: &bQueries}})
		conn := sqlDB(t, db)
		admin := a.SignIn("admin@example.com", true)
		use := func(e *testenv.Env, tok testenv.CreatedToken) int {
			t.Helper()
			return e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status
		}
		revoke := func(tok testenv.CreatedToken) {
			t.Helper()
			if r := a.Do(http.MethodDelete, "/api/tokens/"+tok.TokenID, nil, a.As(admin)); r.Status != http.StatusNoContent {
				t.Fatalf("revoke: %d %s", r.Status, r.Body)
			}
		}
		mk := func(subject string) testenv.CreatedToken {
			return a.CreateToken(admin, map[string]any{"subject": subject})
		}
		early, x, y, z := mk("early"), mk("x"), mk("y"), mk("z")
		lost := []testenv.CreatedToken{mk("lost-1"), mk("lost-2"), mk("lost-3")}
		revoke(early) // seq 1
		for _, tok := range []testenv.CreatedToken{x, y, z} {
			if s := use(b, tok); s != http.StatusOK {
				t.Fatalf("B refuses %s before anything happened: %d", tok.TokenID, s)
			}
		}

		backup := takeDump(t, conn, "service_tokens", "revocation_feed")
		for _, tok := range lost {
			revoke(tok) // seq 2, 3, 4
		}
		b.Sync()
		late := mk("minted-after-the-backup")
		if s := use(b, late); s != http.StatusOK {
			t.Fatalf("B refuses a new token: %d", s)
		}

		backup.restore(t, conn) // the counter is 1 again; lost-1..3 are active; late is gone
		revoke(x)               // seq 2 again, through the API of instance A
		// seq 3 through what `codemetrics tokens revoke` runs: server.New, then Tokens.Revoke.
		cli := testenv.Start(t, db, testenv.Settings{Clock: clock})
		if _, err := cli.Server.Tokens.Revoke(context.Background(), y.TokenID, audit.CLI("ops"), ""); err != nil {
			t.Fatal(err)
		}
		revoke(z) // seq 4: the counter is back where B's cursor is, with another token there

		b.Sync()
		for name, tok := range map[string]testenv.CreatedToken{"x (API)": x, "y (command line)": y, "z (API)": z, "minted after the backup": late} {
			if s := use(b, tok); s != http.StatusUnauthorized {
				t.Errorf("B after the restore and one feed read: %s: %d, want 401", name, s)
			}
		}
		// Fail safe: what B knew was revoked stays refused on B, and B names it for the operator.
		for _, tok := range append(lost, early) {
			if s := use(b, tok); s != http.StatusUnauthorized {
				t.Errorf("B accepts %s, revoked before the restore: %d", tok.TokenID, s)
			}
		}
		logs := b.Logs.String()
		if !strings.Contains(logs, `"level":"ERROR","msg":"the revocation feed went backwards or was replaced`) ||
			!strings.Contains(logs, `"cursor_seq":4`) || !strings.Contains(logs, `"database_seq":4`) {
			t.Errorf("B did not log the replaced feed with its cursor and the database's counter:\n%s", logs)
		}
		for _, tok := range lost {
			if !strings.Contains(logs, "revoke them again") || !strings.Contains(logs, tok.TokenID) {
				t.Errorf("B does not name %s, revoked before the restore and active again", tok.TokenID)
			}
		}
		var ready map[string]any
		b.Do(http.MethodGet, "/readyz", nil).JSON(t, &ready)
		if ready["revocationFeedResets"] != float64(1) || ready["revocationFeedLastReset"] == nil {
			t.Errorf("/readyz on B = %v, want revocationFeedResets 1 and the time", ready)
		}

		// Back to the steady state: one statement per read of the feed, no further reset.
		bQueries.Store(0)
		b.Sync()
		if n := bQueries.Load(); n != 1 {
			t.Errorf("a read of the feed after the reset made %d statements, want 1", n)
		}
		if n, _ := b.Server.Guard.FeedResets(); n != 1 {
			t.Errorf("B counted %d resets, want 1", n)
		}
		// And a revocation after all that reaches B the ordinary way.
		other := mk("after")
		if s := use(b, other); s != http.StatusOK {
			t.Fatalf("B refuses a new token: %d", s)
		}
		revoke(other)
		b.Sync()
		if s := use(b, other); s != http.StatusUnauthorized {
			t.Errorf("B accepts a token revoked after the reset: %d", s)
		}
	})
}
