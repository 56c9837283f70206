package store_test

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// migrationCount is how many migrations the store has for driver.
func migrationCount(t *testing.T, driver string) int {
	t.Helper()
	files, err := os.ReadDir("migrations/" + driver)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f.Name(), ".sql") {
			n++
		}
	}
	return n
}

// wantMigratedOnce checks goose's version table: every migration applied exactly once, in
// order, after the zero version.
func wantMigratedOnce(t *testing.T, db testenv.DB) {
	t.Helper()
	rows, err := db.SQL(t).Query("SELECT version_id, is_applied FROM goose_db_version ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int64
	for rows.Next() {
		var v int64
		var applied bool
		if err := rows.Scan(&v, &applied); err != nil {
			t.Fatal(err)
		}
		if !applied {
			t.Errorf("version %d is recorded as not applied", v)
		}
		got = append(got, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	n := migrationCount(t, db.Driver)
	if len(got) != n+1 {
		t.Fatalf("goose_db_version holds versions %v; want 0 to %d, each once", got, n)
	}
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("goose_db_version holds versions %v; want 0 to %d, each once, in order", got, n)
		}
	}
}

// TestManyInstancesOpenOneFreshDatabase opens and migrates many stores at once on one empty
// database, as instances starting together do: each succeeds, every migration is recorded
// once, and the lock is released. The lock row lives for a second here, shorter than the
// migrations take on MySQL, so that a holder that did not refresh it would lose it midway
// to the next instance and the two would migrate together.
func TestManyInstancesOpenOneFreshDatabase(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		const n = 12
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				st, err := store.Open(db.Driver, db.DSN)
				if err != nil {
					errs[i] = err
					return
				}
				defer st.Close()
				st.SetMigrationLock(time.Second, time.Minute)
				if errs[i] = st.Migrate(context.Background(), quiet); errs[i] != nil {
					return
				}
				_, errs[i] = st.RevocationsFrom(context.Background(), 0, 1) // the schema is there
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
		}
		wantMigratedOnce(t, db)
		if db.Driver == store.MySQL {
			var held int
			if err := db.SQL(t).QueryRow("SELECT COUNT(*) FROM " + store.MigrationLockTable).Scan(&held); err != nil || held != 0 {
				t.Fatalf("the migration lock is still held after every instance migrated: %d rows, %v", held, err)
			}
		}
	})
}

// lockedBy creates the lock table with a row for holder that expires at expires, as an
// instance that stopped while holding it leaves it.
func lockedBy(t *testing.T, conn *sql.DB, holder string, expires time.Time) {
	t.Helper()
	_, err := conn.Exec("CREATE TABLE " + store.MigrationLockTable + " (id INT NOT NULL PRIMARY KEY, holder VARCHAR(64) NOT NULL, expires_at BIGINT NOT NULL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec("INSERT INTO "+store.MigrationLockTable+" VALUES (1, ?, ?)", holder, expires.UnixMilli()); err != nil {
		t.Fatal(err)
	}
}

// TestStaleMigrationLockIsTakenOver leaves a lock row whose holder died (it expired a minute
// ago): the next instance takes it over at once, says so, migrates and releases it.
func TestStaleMigrationLockIsTakenOver(t *testing.T) {
	db := testenv.MySQL(t)
	conn := db.SQL(t)
	lockedBy(t, conn, "crashed-host/42/0badf00d", time.Now().Add(-time.Minute))
	st := testenv.OpenStore(t, db)
	st.SetMigrationLock(time.Minute, 5*time.Second) // a wait, should it come to one, shorter than the go test timeout
	var logs testenv.Buffer
	if err := st.Migrate(t.Context(), slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "took over an expired migration lock") || !strings.Contains(logs.String(), "crashed-host/42/0badf00d") {
		t.Errorf("the log does not name the stale lock taken over: %s", logs.String())
	}
	wantMigratedOnce(t, db)
	var held int
	if err := conn.QueryRow("SELECT COUNT(*) FROM " + store.MigrationLockTable).Scan(&held); err != nil || held != 0 {
		t.Fatalf("lock rows after the migration: %d, %v; want 0", held, err)
	}
}

// TestLiveMigrationLockIsWaitedFor leaves a lock row that has not expired: the instance waits
// for it until its bound and then fails, naming the holder, without migrating.
func TestLiveMigrationLockIsWaitedFor(t *testing.T) {
	db := testenv.MySQL(t)
	conn := db.SQL(t)
	lockedBy(t, conn, "busy-host/7/cafe0001", time.Now().Add(time.Hour))
	st := testenv.OpenStore(t, db)
	st.SetMigrationLock(time.Minute, 500*time.Millisecond)
	err := st.Migrate(t.Context(), quiet)
	if err == nil || !strings.Contains(err.Error(), "busy-host/7/cafe0001") {
		t.Fatalf("Migrate under another instance's live lock: %v; want an error naming the holder", err)
	}
	var tables int
	if err := conn.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'goose_db_version'").Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("migrated without the lock: %d version tables, %v", tables, err)
	}
}

// TestEmptyVersionTableIsRepaired: an instance that died after goose created its version table
// and before it recorded the zero version (on MySQL the CREATE commits on its own) leaves an
// empty table, which goose refuses ever after ("missing zero version migration"). The next
// instance records the zero version and migrates.
func TestEmptyVersionTableIsRepaired(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		table := "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))"
		if db.Driver == store.MySQL {
			table = "CREATE TABLE goose_db_version (id bigint(20) unsigned NOT NULL AUTO_INCREMENT, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id))"
		}
		testenv.Exec(t, db.SQL(t), table)
		st := testenv.OpenStore(t, db)
		if err := st.Migrate(t.Context(), quiet); err != nil {
			t.Fatalf("Migrate over an empty version table: %v", err)
		}
		wantMigratedOnce(t, db)
	})
}
