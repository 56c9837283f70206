// Package scenario is what make bench measures. A scenario is a function that measures one
// thing and writes its figures into the results (package results); the report renders each
// scenario's figures in a section of its template. Database scenarios run once per database,
// in the order of Databases; the others once, after them.
//
// To add a scenario: add its figures to results (a field of results.Database or
// results.Results), a function here that fills them, an entry in Databases or Once, and a
// section in the report's template (and, for a goal, a row in the report's goals and a note
// in docs/benchmarks-notes.md).
package scenario

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/go-sql-driver/mysql"

	"github.com/codemetrics/codemetrics/bench/internal/results"
	"github.com/codemetrics/codemetrics/bench/internal/signin"
)

// Settings are the knobs of a run, from BENCH_* environment variables.
type Settings struct {
	Duration     time.Duration `env:"BENCH_DURATION" envDefault:"4s"` // each measured load
	Warmup       time.Duration `env:"BENCH_WARMUP" envDefault:"1s"`   // unmeasured load before it
	Rounds       int           `env:"BENCH_ROUNDS" envDefault:"3"`    // interleaved rounds of the loads
	Rate         float64       `env:"BENCH_RATE" envDefault:"10000"`  // offered requests/s of the open loop
	GoBenchTime  string        `env:"BENCH_GOBENCHTIME" envDefault:"500ms"`
	GoCount      int           `env:"BENCH_GOCOUNT" envDefault:"5"`
	MySQLDSN     string        `env:"BENCH_MYSQL_DSN" envDefault:"root@tcp(127.0.0.1:3306)/"` // a fresh database is made there and dropped
	Browser      bool          `env:"BENCH_BROWSER" envDefault:"true"`                        // 0: no tokens page in Chromium
	BrowserLoads int           `env:"BENCH_BROWSER_LOADS" envDefault:"5"`
	ChromiumPath string        `env:"CHROMIUM_PATH" envDefault:"/usr/bin/chromium"`
	DBs          []string      `env:"BENCH_DATABASES" envDefault:"sqlite,mysql"`
	Only         []string      `env:"BENCH_SCENARIOS"` // names of the scenarios to run (all when empty)
}

// LoadSettings reads the settings from the environment.
func LoadSettings() (Settings, error) {
	var s Settings
	if err := env.Parse(&s); err != nil {
		return s, err
	}
	for _, d := range s.DBs {
		if d != "sqlite" && d != "mysql" {
			return s, fmt.Errorf("BENCH_DATABASES: %q is neither sqlite nor mysql", d)
		}
	}
	for _, n := range s.Only {
		if !slices.Contains(Names(), n) {
			return s, fmt.Errorf("BENCH_SCENARIOS: no scenario %q (there are %s)", n, strings.Join(Names(), ", "))
		}
	}
	return s, nil
}

// Database is a scenario measured on each database.
type Database struct {
	Name string
	// TwoInstances scenarios need two servers sharing one database: MariaDB only.
	TwoInstances bool
	// Explicit scenarios run only when BENCH_SCENARIOS names them (make bench-scale), not in a
	// plain make bench.
	Explicit bool
	Run      func(ctx context.Context, db *DB) error
}

// Once is a scenario measured once.
type Once struct {
	Name string
	// Explicit: as Database.Explicit (make bench-cluster).
	Explicit bool
	Run      func(ctx context.Context, b *Bench) error
}

// Databases are the database scenarios, in the order they run: start-up first (it needs the
// database empty), then the loads, then what adds data (the token list seeds tokens).
var Databases = []Database{
	{Name: "startup", Run: startup},
	{Name: "throughput", Run: throughput},
	{Name: "openloop", Run: openLoop},
	{Name: "statements", TwoInstances: true, Run: statements},
	{Name: "revocation", TwoInstances: true, Run: revocation},
	{Name: "tokens", Run: tokens},
	{Name: "pipeline", Run: pipeline},
	{Name: "dashboard", Explicit: true, Run: dashboard},
	{Name: "scale", Explicit: true, Run: scale},
}

// Onces are the scenarios measured once, after the databases.
var Onces = []Once{
	{Name: "gobench", Run: goBench},
	{Name: "profile", Run: profile},
	{Name: "cluster", Explicit: true, Run: cluster},
}

// Names are the names of every scenario.
func Names() []string {
	var n []string
	for _, s := range Databases {
		n = append(n, s.Name)
	}
	for _, s := range Onces {
		n = append(n, s.Name)
	}
	return n
}

// Bench is one run of the benchmarks.
type Bench struct {
	Settings
	Root    string // the repository
	Bin     string // the codemetrics binary measured
	Self    string // this program (it serves the bare-JWT baseline)
	Work    string // logs and databases of this run
	Results *results.Results

	idp *signin.Provider
}

// Logf says what the run is doing, on standard error.
func (b *Bench) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func (b *Bench) wants(name string) bool { return len(b.Only) == 0 || slices.Contains(b.Only, name) }

// Run runs every selected scenario.
func (b *Bench) Run(ctx context.Context) error {
	if err := b.machine(ctx); err != nil {
		return err
	}
	idp, err := signin.StartProvider()
	if err != nil {
		return err
	}
	defer idp.Close()
	b.idp = idp
	if b.anyDatabaseScenario() {
		for _, name := range b.DBs {
			if err := b.database(ctx, name); err != nil {
				return err
			}
		}
	}
	for _, s := range Onces {
		if b.wants(s.Name) && (!s.Explicit || slices.Contains(b.Only, s.Name)) {
			b.Logf("\n== %s", s.Name)
			if err := s.Run(ctx, b); err != nil {
				return fmt.Errorf("%s: %w", s.Name, err)
			}
		}
	}
	b.Results.Run.LoadEnd = loadAverage()
	return nil
}

// anyDatabaseScenario says whether a database scenario is selected: make bench-cluster selects
// none, and needs no database made for them.
func (b *Bench) anyDatabaseScenario() bool {
	for _, s := range Databases {
		if b.wants(s.Name) && (!s.Explicit || slices.Contains(b.Only, s.Name)) {
			return true
		}
	}
	return false
}

func (b *Bench) database(ctx context.Context, name string) error {
	db := &DB{Bench: b, Name: name, R: b.Results.Database(name)}
	switch name {
	case "sqlite":
		dir := filepath.Join(b.Work, "sqlite")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		db.Driver, db.DSN = "sqlite", filepath.Join(dir, "codemetrics.db")
	case "mysql":
		drop, err := b.freshMySQL(ctx, db)
		if err != nil {
			return err
		}
		defer drop()
	}
	defer db.stop()
	for _, s := range Databases {
		if !b.wants(s.Name) || (s.Explicit && !slices.Contains(b.Only, s.Name)) || (s.TwoInstances && name != "mysql") {
			continue
		}
		b.Logf("\n== %s: %s", name, s.Name)
		if err := s.Run(ctx, db); err != nil {
			return fmt.Errorf("%s on %s: %w", s.Name, name, err)
		}
	}
	return nil
}

// mariaDBVersion is the version of the MariaDB at BENCH_MYSQL_DSN.
func (b *Bench) mariaDBVersion(ctx context.Context) (string, error) {
	conn, err := sql.Open("mysql", b.MySQLDSN)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var v string
	err = conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v)
	return v, err
}

func durationOf(d time.Duration) results.Duration { return results.Duration(d) }

// freshMySQL makes an empty database for db, and returns what drops it.
func (b *Bench) freshMySQL(ctx context.Context, db *DB) (drop func(), err error) {
	cfg, err := mysql.ParseDSN(b.MySQLDSN)
	if err != nil {
		return nil, fmt.Errorf("BENCH_MYSQL_DSN: %w", err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	dsn, dropDB, err := b.mysqlDatabase(ctx, admin, "")
	if err != nil {
		admin.Close()
		return nil, err
	}
	db.Driver, db.DSN, db.mysql = "mysql", dsn, admin
	return func() {
		dropDB()
		admin.Close()
	}, nil
}

// scratchMySQL is another empty MariaDB database beside db's (name in its name).
func (db *DB) scratchMySQL(ctx context.Context, name string) (dsn string, drop func(), err error) {
	return db.mysqlDatabase(ctx, db.mysql, name+"_")
}

// mysqlDatabase creates an empty database through admin and returns its DSN and what drops it.
func (b *Bench) mysqlDatabase(ctx context.Context, admin *sql.DB, infix string) (dsn string, drop func(), err error) {
	cfg, err := mysql.ParseDSN(b.MySQLDSN)
	if err != nil {
		return "", nil, fmt.Errorf("BENCH_MYSQL_DSN: %w", err)
	}
	name := fmt.Sprintf("cm_bench_%s%d", infix, time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return "", nil, fmt.Errorf("MariaDB at %s: %w", cfg.Addr, err)
	}
	cfg.DBName = name
	return cfg.FormatDSN(), func() {
		if _, err := admin.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			b.Logf("bench: could not drop database %s: %v", name, err)
		}
	}, nil
}
