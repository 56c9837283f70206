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
	"github.com/gofrs/flock"
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
}

// Open connects to the database. It does not migrate: call Migrate.
//
// The database/sql driver is wrapped (sqlmw) so that Options see every statement whoever sends
// it (GORM, goose, database/sql); GORM and goose are handed the wrapped *sql.DB.
func Open(driver, dsn string, opts ...Options) (*Store, error) {
	obs := &observer{}
	maxConns := 32
	for _, o := range opts {
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
	return &Store{db: db, sql: sqlDB, driver: driver, path: path, causal: causal}, nil
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
	if !strings.Contains(dsn, "journal_mode") && !strings.Contains(dsn, ":memory:") {
		add = append(add, "_pragma=journal_mode(WAL)")
	}
	if !strings.Contains(dsn, "busy_timeout") {
		add = append(add, "_pragma=busy_timeout(10000)")
	}
	if !strings.Contains(dsn, "_txlock") {
		add = append(add, "_txlock=immediate")
	}
	if !strings.Contains(dsn, "foreign_keys") {
		add = append(add, "_pragma=foreign_keys(1)")
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

// mysqlDSN makes sure the connection speaks utf8mb4.
func mysqlDSN(dsn string) (string, error) {
	base, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("DATABASE_DSN: cannot read its parameters: %w", err)
	}
	if q.Get("charset") == "" {
		q.Set("charset", "utf8mb4")
	}
	return base + "?" + q.Encode(), nil
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
// together take turns: MySQL's named lock (released by the server if the holder dies), or a
// lock file beside the SQLite database. Migrations only ever add; none drops or rewrites data.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) error {
	ctx = context.WithValue(ctx, quietKey{}, true)
	unlock, err := s.migrationLock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
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
	return nil
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

// migrationLock takes the lock that serialises migrations across instances; the whole of
// goose's work (version table included) happens under it.
func (s *Store) migrationLock(ctx context.Context) (unlock func(), err error) {
	lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	switch {
	case s.driver == MySQL:
		conn, err := s.sql.Conn(ctx)
		if err != nil {
			return nil, translate(err, "database connection")
		}
		const name = "LEFT(CONCAT('codemetrics.migrate.', DATABASE()), 64)"
		var got sql.NullInt64
		if err := conn.QueryRowContext(lctx, "SELECT GET_LOCK("+name+", 120)").Scan(&got); err != nil || !got.Valid || got.Int64 != 1 {
			conn.Close()
			return nil, fmt.Errorf("take the migration lock (held by another instance for over two minutes?): %v", err)
		}
		return func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK("+name+")")
			conn.Close()
		}, nil
	case s.path != "":
		lock := flock.New(s.path + ".migrate-lock")
		locked, err := lock.TryLockContext(lctx, 50*time.Millisecond)
		if err != nil || !locked {
			return nil, fmt.Errorf("take the migration lock %s: %v", lock.Path(), err)
		}
		return func() { _ = lock.Unlock() }, nil
	default:
		return func() {}, nil // an in-memory database has one user
	}
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
