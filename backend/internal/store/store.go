// Package store persists CodeMetrics' data with GORM on SQLite (embedded default) or MySQL.
// It is the only package that imports gorm; it turns rows into domain types and database
// errors into apperr codes.
package store

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/ngrok/sqlmw"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Drivers.
const (
	SQLite = "sqlite"
	MySQL  = "mysql"
)

//go:embed migrations
var migrations embed.FS

// Store is the database behind CodeMetrics.
type Store struct {
	db     *gorm.DB
	sql    *sql.DB // the wrapped connections under db: goose, Ping and Close use it
	driver string
	path   string // the SQLite file, "" for MySQL or an in-memory database
	// rollupsDone remembers that the rollups count every run (the backfill never restarts).
	rollupsDone atomic.Bool
	// causal makes new MySQL connections read causally (a Galera node: DetectCluster).
	causal *atomic.Bool
	tx     txRetry    // how writeTx retries
	lock   lockConfig // how Migrate takes the cluster-wide lock (MySQL)
	// writer, on SQLite, is this process's turn to write (a token in a channel of one): SQLite
	// runs one write transaction at a time, and a writer that finds the lock taken polls for it
	// with growing sleeps (up to 100 ms), so concurrent batches left the lock idle between
	// them; waiting here hands it over at once. Other processes on the file still meet the
	// busy timeout. nil on MySQL.
	writer chan struct{}
}

// maxIdleMySQL is how many idle MySQL connections the pool keeps.
const maxIdleMySQL = 8

// Options tune Open.
type Options struct {
	// Queries, when set, counts every statement sent to the database, whoever sends it (tests
	// and benchmarks): see observer for what counts as one.
	Queries *atomic.Int64
	// OnError, when set, is called for every failed statement, transaction command or
	// connection attempt (metrics); not for a duplicate key, "no rows" or a failed Ping.
	OnError func()
	// MaxConnections bounds the MySQL pool (default 32); SQLite keeps 4 (one writer at a time).
	MaxConnections int
	// Log, when set, receives the MySQL driver's own messages as warnings.
	Log *slog.Logger
}

// Open connects to the database. It does not migrate: call Migrate.
//
// The database/sql driver is wrapped (sqlmw) so that Options see every statement whoever sends
// it (GORM, goose, database/sql); GORM and goose are handed the wrapped *sql.DB.
func Open(driver, dsn string, opts ...Options) (*Store, error) {
	obs := &observer{}
	maxConns := 32
	var log *slog.Logger
	for _, o := range opts {
		if o.Log != nil {
			log = o.Log
		}
		if o.OnError != nil {
			obs.onError = o.OnError
		}
		if o.Queries != nil {
			obs.queries = o.Queries
		}
		if o.MaxConnections > 0 {
			maxConns = o.MaxConnections
		}
	}
	var base sqldriver.Driver
	var path string
	switch driver {
	case SQLite:
		if p, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?"); p != "" && p != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return nil, fmt.Errorf("create the database directory: %w", err)
			}
			if err := createPrivate(p); err != nil {
				return nil, err
			}
			path = p
		}
		dsn = sqliteDSN(dsn)
		base = registered(sqlite.DriverName)
	case MySQL:
		d, err := mysqlDSN(dsn)
		if err != nil {
			return nil, err
		}
		dsn = d
		base = &mysqldriver.MySQLDriver{}
		if log != nil {
			base = loggingMySQL{log: slog.NewLogLogger(log.With("component", "mysql driver").Handler(), slog.LevelWarn)}
		}
	default:
		return nil, fmt.Errorf("unknown database driver %q: use %q or %q", driver, SQLite, MySQL)
	}
	connector, err := sqlmw.Driver(base, obs).(sqldriver.DriverContext).OpenConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	causal := new(atomic.Bool)
	if driver == MySQL {
		connector = causalConnector{Connector: connector, causal: causal}
	}
	sqlDB := sql.OpenDB(connector)
	if driver == SQLite {
		if strings.Contains(dsn, ":memory:") {
			sqlDB.SetMaxOpenConns(1) // each connection would be a database of its own
		} else {
			sqlDB.SetMaxOpenConns(4)
		}
	} else {
		sqlDB.SetMaxOpenConns(maxConns)
		sqlDB.SetMaxIdleConns(min(maxIdleMySQL, maxConns))
		sqlDB.SetConnMaxLifetime(5 * time.Minute)
	}
	var dialector gorm.Dialector = &sqlite.Dialector{DriverName: sqlite.DriverName, Conn: sqlDB}
	if driver == MySQL {
		dialector = mysql.New(mysql.Config{DSN: dsn, Conn: sqlDB})
	}
	obs.dialect, _ = dialector.(gorm.ErrorTranslator)
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		TranslateError:         true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	var writer chan struct{}
	if driver == SQLite {
		writer = make(chan struct{}, 1)
	}
	return &Store{
		db: db, sql: sqlDB, driver: driver, path: path, causal: causal, writer: writer,
		tx:   txRetry{wait: sleepCtx},
		lock: lockConfig{ttl: migrationLockTTL, wait: migrationLockWait, sleep: sleepCtx},
	}, nil
}

// registered returns the database/sql driver registered under name, to be wrapped.
func registered(name string) sqldriver.Driver {
	db, _ := sql.Open(name, "") // connects to nothing: only finds the driver
	defer db.Close()
	return db.Driver()
}

// sqliteDSN adds what CodeMetrics needs of SQLite unless the DSN sets it: WAL for readers beside
// a writer, a busy timeout instead of "database is locked", immediate write transactions, and
// foreign keys.
// createPrivate creates the SQLite file readable by its owner only (0600, like the signing key
// file beside it) when it does not exist yet; the driver would create it 0644 under the usual
// umask. SQLite gives the -wal and -shm files the database file's mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create the database file: %w", err)
	}
	return f.Close()
}

func sqliteDSN(dsn string) string {
	add := []string{}
	// The busy timeout first: the pragmas run in order as each connection opens, and switching a
	// fresh file to WAL takes a lock that another process opening it at once may hold.
	if !strings.Contains(dsn, "busy_timeout") {
		add = append(add, "_pragma=busy_timeout(10000)")
	}
	if !strings.Contains(dsn, "journal_mode") && !strings.Contains(dsn, ":memory:") {
		add = append(add, "_pragma=journal_mode(WAL)")
	}
	if !strings.Contains(dsn, "_txlock") {
		add = append(add, "_txlock=immediate")
	}
	if !strings.Contains(dsn, "foreign_keys") {
		add = append(add, "_pragma=foreign_keys(1)")
	}
	// A multi-row INSERT inside a transaction keeps a statement journal (to undo just that
	// statement): in memory rather than in a temporary file, written and read back with a
	// system call per page.
	if !strings.Contains(dsn, "temp_store") {
		add = append(add, "_pragma=temp_store(memory)")
	}
	// A batch dirties more pages than the page cache (2 MB) holds: without spilling, they stay in
	// memory until the commit writes each once to the write-ahead log, instead of being written
	// in the middle of the transaction, some more than once.
	if !strings.Contains(dsn, "cache_spill") {
		add = append(add, "_pragma=cache_spill(0)")
	}
	if len(add) == 0 {
		return dsn
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + strings.Join(add, "&")
}

// mysqlDSN makes sure the connection speaks utf8mb4 and sends each statement as one text
// query with its arguments in it (interpolateParams), unless the DSN says otherwise. Without
// it, a statement with arguments is prepared, executed and closed, and a Galera node that
// aborts the transaction for a conflict (brute-force abort) just before the close has no
// answer to report it in: the transaction is rolled back, the error lost, and the statements
// after it run on their own and commit. An acknowledged revocation was lost that way while its
// audit event was kept (one in 100 concurrent revocations over three nodes, in 3 of 8 runs).
// One round trip per statement instead of three, too.
func mysqlDSN(dsn string) (string, error) {
	base, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("DATABASE_DSN: cannot read its parameters: %w", err)
	}
	if q.Get("charset") == "" {
		q.Set("charset", "utf8mb4")
	}
	if q.Get("interpolateParams") == "" {
		q.Set("interpolateParams", "true")
	}
	return base + "?" + q.Encode(), nil
}

// loggingMySQL is the MySQL driver with its own messages (a connection that broke, a packet
// cut short: what a node lost or restarted causes) sent to a slog logger as warnings, per
// connector, instead of bare lines on standard error: the driver's SetLogger is one for the
// process, and not safe beside connections being opened.
type loggingMySQL struct {
	mysqldriver.MySQLDriver
	log mysqldriver.Logger
}

func (d loggingMySQL) OpenConnector(dsn string) (sqldriver.Connector, error) {
	cfg, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg.Logger = d.log
	return mysqldriver.NewConnector(cfg)
}

// Driver names the database driver.
func (s *Store) Driver() string { return s.driver }

// Close closes the connections.
func (s *Store) Close() error { return s.sql.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sql.PingContext(context.WithValue(ctx, quietKey{}, true)); err != nil {
		return apperr.Wrap(err, apperr.DatabaseUnavailable, "database unreachable")
	}
	return nil
}

// Migrate applies every pending migration while holding a lock, so that instances starting
// together take turns, whichever node of a cluster each talks to: on MySQL a lock row (see
// takeMigrationLock), on SQLite a lock file beside the database. The instance that gets the
// lock after another migrated finds nothing to do. Migrations only ever add; none drops or
// rewrites data.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) error {
	ctx = context.WithValue(ctx, quietKey{}, true)
	ctx, unlock, err := s.takeMigrationLock(ctx, log)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.repairVersionTable(ctx, log); err != nil {
		return err
	}
	p, err := s.migrationProvider()
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate the database: %w", err)
	}
	for _, r := range results {
		log.Info("applied migration", "version", r.Source.Version, "file", filepath.Base(r.Source.Path), "took", r.Duration.String())
	}
	return s.buildRollupBlocks(ctx, log)
}

// repairVersionTable gives goose's version table back its zero version when it is empty. Goose
// creates the table and then records version 0; on MySQL the CREATE commits on its own, so an
// instance that died between the two left a table that goose refuses ever after ("missing zero
// version migration"), restarts included. Under the migration lock nobody else is creating it.
func (s *Store) repairVersionTable(ctx context.Context, log *slog.Logger) error {
	if !s.db.Migrator().HasTable("goose_db_version") {
		return nil
	}
	var n int64
	if err := s.db.WithContext(ctx).Table("goose_db_version").Count(&n).Error; err != nil {
		return fmt.Errorf("read the migration versions: %w", err)
	}
	if n > 0 {
		return nil
	}
	log.Warn("the migration version table is empty (an instance stopped while creating it): recording its zero version")
	return s.writeOne(ctx, func(db *gorm.DB) error {
		return db.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, ?)", true).Error
	})
}

// migrationProvider is goose over the migrations of the store's database.
func (s *Store) migrationProvider() (*goose.Provider, error) {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	if s.driver == MySQL {
		dialect, dir = goose.DialectMySQL, "migrations/mysql"
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, s.sql, fsys)
}

// findAll reads the rows db's query selects and returns each as conv makes it (an empty list,
// not nil, when there are none); what names the rows in an error.
func findAll[R, T any](db *gorm.DB, what string, conv func(R) T) ([]T, error) {
	var rows []R
	if err := db.Find(&rows).Error; err != nil {
		return nil, translate(err, what)
	}
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = conv(r)
	}
	return out, nil
}

// translate turns database errors into apperr errors: a missing row is NotFound, anything
// else means the database is unavailable or broken.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return apperr.New(apperr.NotFound, "%s not found", what)
	case isDuplicate(err):
		return apperr.Wrap(err, apperr.Conflict, "%s already exists", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apperr.Wrap(err, apperr.DatabaseUnavailable, "the database did not answer in time")
	default:
		var ae *apperr.Error
		if errors.As(err, &ae) {
			return err
		}
		return apperr.Wrap(err, apperr.DatabaseUnavailable, "database error")
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromMSPtr(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMS(*v)
	return &t
}

// isDuplicate recognises a duplicate key: translated by GORM (TranslateError), or in the words
// of a driver whose errors GORM does not translate.
func isDuplicate(err error) bool {
	return err != nil && (errors.Is(err, gorm.ErrDuplicatedKey) ||
		strings.Contains(err.Error(), "UNIQUE constraint failed") || strings.Contains(err.Error(), "Duplicate entry"))
}
