package scenario

import (
	"context"

	"github.com/codemetrics/codemetrics/bench/internal/instance"
	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// startup is the time from exec to the first 200 on /healthz: once on the empty database (the
// migrations run), then five times on the migrated one. It runs before the servers start.
func startup(ctx context.Context, db *DB) error {
	if db.A != nil {
		db.Logf("  (skipped: the servers are already running on this database)")
		return nil
	}
	for _, s := range []struct {
		state string
		runs  int
	}{{"fresh", 1}, {"migrated", 5}} {
		p, err := instance.FreePorts()
		if err != nil {
			return err
		}
		st := results.Startup{State: s.state}
		for range s.runs {
			took, err := instance.TimeToHealthy(ctx, db.Bin, db.serverEnv(p), "http://127.0.0.1:"+itoa(p.HTTP)+"/healthz")
			if err != nil {
				return err
			}
			st.RunsMs = append(st.RunsMs, float64(took.Microseconds())/1000)
		}
		db.Logf("  %s: %v ms", s.state, st.RunsMs)
		db.R.Startup = append(db.R.Startup, st)
	}
	return nil
}
