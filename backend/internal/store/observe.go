package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"sync/atomic"

	"github.com/ngrok/sqlmw"
	"gorm.io/gorm"
)

// observer counts statements and reports failures at the database/sql driver level, under
// GORM, goose and database/sql alike, so that no call site can forget to. What counts as one
// statement: each query or command executed (on the connection, or a prepared statement's each
// execution), each BEGIN, COMMIT and ROLLBACK, and a statement the database refused to
// prepare. What does not: preparing a statement that then runs (its execution counts), the
// query a driver declines so that database/sql prepares it instead (MySQL with arguments:
// counted once, as the prepared statement), closing statements and rows, pings and connecting.
// A statement is counted once however many round trips the driver spends on it.
type observer struct {
	sqlmw.NullInterceptor
	queries *atomic.Int64
	onError func()
	// dialect translates driver errors as GORM does, to tell a duplicate key from a failure.
	dialect gorm.ErrorTranslator
}

// quietKey marks a context whose failures are not reported: Ping's (readiness reports those)
// and Migrate's (goose probes for its version table by failing to read it; a failed migration
// stops the start with its own error).
type quietKey struct{}

func (o *observer) count() {
	if o.queries != nil {
		o.queries.Add(1)
	}
}

// failed reports err unless it is no failure of the database: nil, a driver's "use the other
// way" (ErrSkip), a stale pooled connection that database/sql retries on another (ErrBadConn:
// the retry's outcome is reported), or a duplicate key, which callers turn into Conflict. "No
// rows" never reaches this level: it is database/sql's and GORM's reading of an empty result.
func (o *observer) failed(ctx context.Context, err error) {
	if err == nil || o.onError == nil || errors.Is(err, driver.ErrSkip) || errors.Is(err, driver.ErrBadConn) {
		return
	}
	if isDuplicate(err) || o.dialect != nil && isDuplicate(o.dialect.Translate(err)) {
		return
	}
	if ctx != nil && ctx.Value(quietKey{}) != nil {
		return
	}
	o.onError()
}

// ConnectorConnect reports a database that cannot be reached.
func (o *observer) ConnectorConnect(ctx context.Context, c driver.Connector) (driver.Conn, error) {
	conn, err := c.Connect(ctx)
	o.failed(ctx, err)
	return conn, err
}

// ConnExecContext counts a command, unless the driver declined it (database/sql then prepares it).
func (o *observer) ConnExecContext(ctx context.Context, conn driver.ExecerContext, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := conn.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		o.count()
	}
	o.failed(ctx, err)
	return res, err
}

// ConnQueryContext counts a query, unless the driver declined it (database/sql then prepares it).
func (o *observer) ConnQueryContext(ctx context.Context, conn driver.QueryerContext, query string, args []driver.NamedValue) (context.Context, driver.Rows, error) {
	rows, err := conn.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		o.count()
	}
	o.failed(ctx, err)
	return ctx, rows, err
}

// ConnPrepareContext counts a statement only when the database refused it: it will never run.
func (o *observer) ConnPrepareContext(ctx context.Context, conn driver.ConnPrepareContext, query string) (context.Context, driver.Stmt, error) {
	stmt, err := conn.PrepareContext(ctx, query)
	if err != nil {
		o.count()
		o.failed(ctx, err)
	}
	return ctx, stmt, err
}

// StmtExecContext counts each execution of a prepared command.
func (o *observer) StmtExecContext(ctx context.Context, stmt driver.StmtExecContext, _ string, args []driver.NamedValue) (driver.Result, error) {
	res, err := stmt.ExecContext(ctx, args)
	o.count()
	o.failed(ctx, err)
	return res, err
}

// StmtQueryContext counts each execution of a prepared query.
func (o *observer) StmtQueryContext(ctx context.Context, stmt driver.StmtQueryContext, _ string, args []driver.NamedValue) (context.Context, driver.Rows, error) {
	rows, err := stmt.QueryContext(ctx, args)
	o.count()
	o.failed(ctx, err)
	return ctx, rows, err
}

// RowsNext reports a result that broke off (io.EOF is its ordinary end).
func (o *observer) RowsNext(ctx context.Context, rows driver.Rows, dest []driver.Value) error {
	err := rows.Next(dest)
	if err != io.EOF {
		o.failed(ctx, err)
	}
	return err
}

// ConnBeginTx counts BEGIN.
func (o *observer) ConnBeginTx(ctx context.Context, conn driver.ConnBeginTx, opts driver.TxOptions) (context.Context, driver.Tx, error) {
	tx, err := conn.BeginTx(ctx, opts)
	o.count()
	o.failed(ctx, err)
	return ctx, tx, err
}

// TxCommit counts COMMIT.
func (o *observer) TxCommit(ctx context.Context, tx driver.Tx) error {
	err := tx.Commit()
	o.count()
	o.failed(ctx, err)
	return err
}

// TxRollback counts ROLLBACK.
func (o *observer) TxRollback(ctx context.Context, tx driver.Tx) error {
	err := tx.Rollback()
	o.count()
	o.failed(ctx, err)
	return err
}
