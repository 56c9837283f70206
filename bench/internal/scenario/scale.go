package scenario

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// scaleSettings size the scale scenario (make bench-scale).
type scaleSettings struct {
	Runs int `env:"BENCH_RUNS_SCALE" envDefault:"10000000"`
	BatchSettings
}

// scale continues the pipeline scenario's runs on SQLite up to BENCH_RUNS_SCALE (10,000,000),
// through the batch endpoint, with the same runs (makeRun: 50 workloads over the year ending
// yesterday, so the rollups are as many as at 1,000,000, each counting ten times the runs), and
// measures the pipeline's reads again, beside those at the pipeline scenario's small size in the
// same run. It runs only when named (BENCH_SCENARIOS=pipeline,scale: make bench-scale), after
// the pipeline scenario, and only on SQLite; it is skipped, saying so, when the disk cannot
// hold the database.
func scale(ctx context.Context, db *DB) error {
	if db.Driver != "sqlite" {
		db.Logf("  the scale scenario is SQLite's: skipped on %s", db.Name)
		return nil
	}
	var ss scaleSettings
	if err := env.Parse(&ss); err != nil {
		return err
	}
	var ps pipelineSettings
	if err := env.Parse(&ps); err != nil {
		return err
	}
	p := db.R.Pipeline
	if p == nil || len(p.Reads) == 0 {
		return fmt.Errorf("the scale scenario continues the pipeline scenario's runs: run them together (BENCH_SCENARIOS=pipeline,scale)")
	}
	sc := &results.Scale{Runs: ss.Runs, Command: db.Results.Run.Command, Date: time.Now().UTC()}
	db.R.Scale = sc
	for _, r := range p.Reads {
		if r.Runs == ps.Small {
			sc.Baseline = append(sc.Baseline, r)
		}
	}
	have := ps.Large
	if ss.Runs <= have {
		return fmt.Errorf("BENCH_RUNS_SCALE (%d) is not above BENCH_RUNS_LARGE (%d)", ss.Runs, have)
	}
	// What the database will take: its bytes per run so far, times the runs to come, and a
	// tenth more for the write-ahead log and the indexes' slack.
	size := dbBytes(db.DSN)
	need := int64(float64(size) / float64(have) * float64(ss.Runs-have) * 1.1)
	if free, err := freeBytes(filepath.Dir(db.DSN)); err == nil && free < need {
		sc.Skipped = fmt.Sprintf("the disk has %.1f GB free; %d runs need about %.1f GB more", float64(free)/1e9, ss.Runs, float64(need)/1e9)
		db.Logf("  scale: skipped: %s", sc.Skipped)
		return nil
	}
	tok, err := db.CreateToken(ctx, "bench-scale", "--scope", "pipeline:write,metrics:read", "--workload", "*")
	if err != nil {
		return err
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	db.Logf("  scale: seeding runs %d to %d through the batch endpoint (%d clients; about %.1f GB)", have, ss.Runs, ss.Clients, float64(need)/1e9)
	took, err := db.seed(ctx, tok.AccessToken, today, have, ss.Runs, ss.Clients)
	if err != nil {
		return err
	}
	sc.SeedRuns, sc.SeedSeconds = ss.Runs-have, took.Seconds()
	sc.SeedRunsPerSec = float64(sc.SeedRuns) / took.Seconds()
	sc.DatabaseBytes = dbBytes(db.DSN)
	db.Logf("  scale: %d runs in %s, %.0f runs/s; the database is %.1f GB", sc.SeedRuns, took.Round(time.Second), sc.SeedRunsPerSec, float64(sc.DatabaseBytes)/1e9)
	sc.Reads, err = db.reads(ctx, tok.AccessToken, today, ss.Runs)
	return err
}

// dbBytes is the size of a SQLite database with its write-ahead log.
func dbBytes(path string) int64 {
	var n int64
	for _, f := range []string{path, path + "-wal"} {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// freeBytes is the space left to an unprivileged writer on dir's file system.
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * st.Bsize, nil
}
