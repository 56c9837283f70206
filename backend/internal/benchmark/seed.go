package benchmark

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	_ "github.com/glebarez/go-sqlite" // database/sql driver "sqlite"
	_ "github.com/go-sql-driver/mysql"
)

// SeedTokens inserts n active service tokens straight into service_tokens, in batches, for the
// token-list benchmark. dsn is the SQLite file or the MySQL DSN CodeMetrics uses.
func SeedTokens(ctx context.Context, driver, dsn string, n int, now time.Time) error {
	if driver == "sqlite" {
		dsn = "file:" + strings.TrimPrefix(dsn, "file:")
		if !strings.Contains(dsn, "?") {
			dsn += "?_pragma=busy_timeout(10000)"
		}
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var existing int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM service_tokens").Scan(&existing); err != nil {
		return fmt.Errorf("count tokens (has the server migrated the database?): %w", err)
	}
	const batch = 500
	nowMS := now.UnixMilli()
	expMS := now.Add(365 * 24 * time.Hour).UnixMilli()
	for done := 0; done < n; {
		k := min(batch, n-done)
		var q strings.Builder
		q.WriteString("INSERT INTO service_tokens (id, subject, scopes, created_at, expires_at, created_by) VALUES ")
		args := make([]any, 0, k*6)
		for i := range k {
			if i > 0 {
				q.WriteString(",")
			}
			q.WriteString("(?,?,?,?,?,?)")
			idb := make([]byte, 16)
			_, _ = rand.Read(idb)
			seq := existing + done + i
			args = append(args, base64.RawURLEncoding.EncodeToString(idb), fmt.Sprintf("bench-service-%06d", seq),
				"metrics:read", nowMS-int64(seq)*1000, expMS, "bench@example.com")
		}
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("insert tokens: %w", err)
		}
		done += k
	}
	return nil
}
