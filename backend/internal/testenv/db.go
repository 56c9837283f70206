// Package testenv starts whole CodeMetrics servers for tests, on SQLite and on MariaDB/MySQL,
// with an injected clock and captured logs.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/go-sql-driver/mysql"
)

// DB is a database for one test: a driver and a DSN.
type DB struct {
	Driver string
	DSN    string
}

// Databases returns the databases every storage and HTTP test runs on, by name: "sqlite"
// always, and "mysql" when TEST_MYSQL_DSN is set or CI=true (where a missing or unreachable
// MySQL then fails the test instead of skipping it).
func Databases() map[string]func(testing.TB) DB {
	dbs := map[string]func(testing.TB) DB{"sqlite": SQLite}
	if os.Getenv("TEST_MYSQL_DSN") != "" || os.Getenv("CI") == "true" {
		dbs["mysql"] = MySQL
	}
	return dbs
}

// ForEachDB runs f as a subtest per database, each with a fresh database.
func ForEachDB(t *testing.T, f func(t *testing.T, db DB)) {
	for _, name := range []string{"sqlite", "mysql"} {
		mk, ok := Databases()[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) { f(t, mk(t)) })
	}
}

// ForEachServer runs f as a subtest per database (ForEachDB), each on a server of its own
// (Start, default settings) with admin@example.com signed in as an administrator.
func ForEachServer(t *testing.T, f func(t *testing.T, e *Env, admin Session)) {
	ForEachServerWith(t, Settings{}, f)
}

// ForEachServerWith is ForEachServer on servers started with set.
func ForEachServerWith(t *testing.T, set Settings, f func(t *testing.T, e *Env, admin Session)) {
	ForEachDB(t, func(t *testing.T, db DB) {
		e := Start(t, db, set)
		f(t, e, e.SignIn("admin@example.com", true))
	})
}

// ForEachStore runs f as a subtest per database (ForEachDB), each with a store of its own,
// opened and migrated (Store): for the tests of the store, and of the services over it, that
// need nothing else of the database.
func ForEachStore(t *testing.T, f func(t *testing.T, st *store.Store)) {
	ForEachDB(t, func(t *testing.T, db DB) { f(t, Store(t, db)) })
}

// SQLite returns a fresh SQLite database file in the test's temporary directory.
func SQLite(t testing.TB) DB {
	return DB{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "codemetrics.db")}
}

// MySQLServer is the configuration of TEST_MYSQL_DSN, the MariaDB server the tests use: the
// test is skipped without it, and fails under CI=true.
func MySQLServer(t testing.TB) *mysql.Config {
	t.Helper()
	base := os.Getenv("TEST_MYSQL_DSN")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but TEST_MYSQL_DSN is not set: the MySQL tests cannot be skipped in CI")
		}
		t.Skip("TEST_MYSQL_DSN is not set")
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("TEST_MYSQL_DSN: %v", err)
	}
	return cfg
}

// MySQL creates a database of its own on the server of TEST_MYSQL_DSN and drops it when the
// test ends.
func MySQL(t testing.TB) DB {
	t.Helper()
	cfg := MySQLServer(t)
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("open MySQL: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	if err := admin.Ping(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("MySQL at TEST_MYSQL_DSN is unreachable (CI=true, so this fails): %v", err)
		}
		t.Skipf("MySQL at TEST_MYSQL_DSN is unreachable: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "cm_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return DB{Driver: "mysql", DSN: cfg.FormatDSN()}
}

// SQL opens the database directly, as an operator with a SQL client would (to edit rows by
// hand, restore a backup or read every row), and closes it when the test ends.
func (db DB) SQL(t testing.TB) *sql.DB {
	t.Helper()
	dsn := db.DSN
	if db.Driver == store.SQLite {
		dsn += "?_pragma=busy_timeout(10000)"
	}
	conn, err := sql.Open(db.Driver, dsn)
	return closedAtEnd(t, conn, err)
}

// OpenStore opens a store on db without migrating it, closed when the test ends: for tests
// that migrate it themselves, in steps, as an older release left it.
func OpenStore(t testing.TB, db DB, opts ...store.Options) *store.Store {
	t.Helper()
	st, err := store.Open(db.Driver, db.DSN, opts...)
	return closedAtEnd(t, st, err)
}

// Store opens and migrates the store on db, as a server does at start, and closes it when the
// test ends: for the tests of the store, and of the services over it.
func Store(t testing.TB, db DB, opts ...store.Options) *store.Store {
	t.Helper()
	st := OpenStore(t, db, opts...)
	if err := st.Migrate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	return st
}

// closedAtEnd returns c, opened with err, and closes it when the test ends; an error fails
// the test.
func closedAtEnd[C io.Closer](t testing.TB, c C, err error) C {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Exec runs the statements on conn in order, as an operator at a SQL client would, and fails
// the test at the first that fails.
func Exec(t testing.TB, conn *sql.DB, statements ...string) {
	t.Helper()
	for _, q := range statements {
		if _, err := conn.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TableRows returns every row of table, each as its column values: what a backup holds of it,
// or what a test scans for secrets.
func TableRows(t testing.TB, conn *sql.DB, table string) [][]any {
	t.Helper()
	rows, err := conn.Query("SELECT * FROM " + table)
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	return out
}

// DumpTables returns every row of the tables as text: what a backup of them holds.
func DumpTables(t testing.TB, db DB, tables ...string) string {
	t.Helper()
	conn := db.SQL(t)
	var out strings.Builder
	for _, table := range tables {
		for _, vals := range TableRows(t, conn, table) {
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&out, "%v\t", v)
			}
			out.WriteString("\n")
		}
	}
	return out.String()
}

// ClusterDBs makes a fresh database on the Galera cluster whose nodes CLUSTER_NODES names
// (host:port, comma-separated; make test-cluster sets it) and returns it as seen through each
// node, after each node has it; it is dropped when the test ends. Without CLUSTER_NODES the
// test is skipped: the cluster scenarios need a cluster.
func ClusterDBs(t testing.TB) []DB {
	t.Helper()
	v := os.Getenv("CLUSTER_NODES")
	if v == "" {
		t.Skip("CLUSTER_NODES not set: make test-cluster runs this on a Galera cluster")
	}
	nodes := strings.Split(v, ",")
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "cm_cluster_" + hex.EncodeToString(b)
	conns := make([]*sql.DB, len(nodes))
	for i, addr := range nodes {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Net, cfg.Addr = "root", "tcp", addr
		// A causal read waits until the node applied what the cluster committed before it.
		cfg.Params = map[string]string{"wsrep_sync_wait": "1"}
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		conns[i] = db
	}
	if _, err := conns[0].Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conns[0].Exec("DROP DATABASE IF EXISTS " + name) })
	dbs := make([]DB, len(nodes))
	for i, addr := range nodes {
		var got string
		err := conns[i].QueryRow("SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&got)
		if err != nil {
			t.Fatalf("node %s does not show database %s: %v", addr, name, err)
		}
		dbs[i] = DB{Driver: store.MySQL, DSN: "root@tcp(" + addr + ")/" + name + "?parseTime=true"}
	}
	return dbs
}
