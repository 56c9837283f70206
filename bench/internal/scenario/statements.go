package scenario

import (
	"context"
	"fmt"
	"time"

	"github.com/codemetrics/codemetrics/bench/internal/load"
	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// statements is section 2 on the real binary: MariaDB's Questions counter over one load
// period idle, then over the same period of authenticated load (two instances poll the
// revocation feed throughout); the difference per request is what the requests cost the
// database.
func statements(ctx context.Context, db *DB) error {
	if err := db.Servers(ctx); err != nil {
		return err
	}
	q0, err := db.questions(ctx)
	if err != nil {
		return err
	}
	time.Sleep(db.Duration)
	q1, err := db.questions(ctx)
	if err != nil {
		return err
	}
	tgt, _ := db.target("auth")
	res, err := load.Run(ctx, load.Config{Target: tgt, Conns: 64, Duration: db.Duration})
	if err != nil {
		return err
	}
	q2, err := db.questions(ctx)
	if err != nil {
		return err
	}
	s := &results.Statements{Instances: 2, Seconds: db.Duration.Seconds(), IdleDelta: q1 - q0, LoadDelta: q2 - q1, Requests: res.Requests}
	if res.Requests > 0 {
		s.PerRequest = float64(max(s.LoadDelta-s.IdleDelta, 0)) / float64(res.Requests)
	}
	db.Logf("  Questions: idle +%d, under load +%d for %d requests", s.IdleDelta, s.LoadDelta, s.Requests)
	db.R.Statements = s
	return nil
}

// questions is MariaDB's server-wide count of statements clients sent.
func (db *DB) questions(ctx context.Context) (int64, error) {
	var name string
	var n int64
	if err := db.mysql.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Questions'").Scan(&name, &n); err != nil {
		return 0, fmt.Errorf("MariaDB Questions: %w", err)
	}
	return n, nil
}
