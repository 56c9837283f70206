package store

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// ServiceUsersMigration is the migration that made service users of the tokens' subjects.
const ServiceUsersMigration = 8

// MigrateTo applies the migrations up to version only: a database as an older release left it.
func (s *Store) MigrateTo(ctx context.Context, version int64) error {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	if s.driver == MySQL {
		dialect, dir = goose.DialectMySQL, "migrations/mysql"
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, s.sql, fsys)
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate to %d: %w", version, err)
	}
	return nil
}
