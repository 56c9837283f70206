package scenario

import (
	"context"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/codemetrics/codemetrics/bench/internal/instance"
	"github.com/codemetrics/codemetrics/bench/internal/load"
	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// Targets are the three requests the throughput is measured with.
var Targets = []string{"healthz", "auth", "bare"}

// target is the request of one of Targets and the process that answers it.
func (db *DB) target(name string) (vegeta.Target, *instance.Process) {
	auth := http.Header{"Authorization": {"Bearer " + db.LoadToken.AccessToken}}
	switch name {
	case "healthz":
		return vegeta.Target{Method: http.MethodGet, URL: db.A.URL + "/healthz"}, db.A
	case "auth":
		return vegeta.Target{Method: http.MethodGet, URL: db.A.URL + "/api/system/config", Header: auth}, db.A
	default:
		return vegeta.Target{Method: http.MethodGet, URL: db.Bare.URL + "/api/system/config", Header: auth}, db.Bare
	}
}

// throughput is section 1: closed loops at 16 and 64 connections on each target, in
// interleaved rounds so that the three targets of a round see the same machine. A's resident
// memory is read 3 s into the first 64-connection authenticated load.
func throughput(ctx context.Context, db *DB) error {
	if err := db.Servers(ctx); err != nil {
		return err
	}
	for round := 1; round <= db.Rounds; round++ {
		for _, conns := range []int{16, 64} {
			for _, t := range Targets {
				tgt, proc := db.target(t)
				cfg := load.Config{Target: tgt, Conns: conns, Duration: db.Duration, Warmup: db.Warmup, ServerCPU: proc.CPUSeconds}
				if t == "auth" && conns == 64 && round == 1 {
					cfg.During = func(ctx context.Context, start time.Time) {
						select {
						case <-time.After(time.Until(start.Add(3*time.Second - db.Warmup))):
						case <-ctx.Done():
							return
						}
						if r, err := db.A.Read(ctx); err == nil {
							db.R.Resources.LoadRSSBytes = r.RSSBytes
						}
					}
				}
				res, err := load.Run(ctx, cfg)
				if err != nil {
					return err
				}
				db.Logf("  round %d, %d conns, %-7s %6.0f req/s, p50 %.3f ms, p99 %.3f ms, server CPU %.1f µs/req, not 2xx %d",
					round, conns, t, res.RPS, res.P50Ms, res.P99Ms, res.ServerCPUUs, res.NotOK())
				db.R.Throughput = append(db.R.Throughput, results.LoadRun{Target: t, Conns: conns, Round: round, Result: res})
			}
		}
	}
	return db.notePeak(ctx)
}

// openLoop is the latency at a fixed offered rate, below saturation, at 64 connections.
func openLoop(ctx context.Context, db *DB) error {
	if err := db.Servers(ctx); err != nil {
		return err
	}
	for round := 1; round <= db.Rounds; round++ {
		for _, t := range Targets {
			tgt, _ := db.target(t)
			res, err := load.Run(ctx, load.Config{Target: tgt, Conns: 64, Rate: db.Rate, Duration: db.Duration, Warmup: db.Warmup})
			if err != nil {
				return err
			}
			db.Logf("  round %d, %.0f req/s offered, %-7s %6.0f req/s, p50 %.3f ms, p99 %.3f ms, max %.3f ms, not 2xx %d",
				round, db.Rate, t, res.RPS, res.P50Ms, res.P99Ms, res.MaxMs, res.NotOK())
			db.R.OpenLoop = append(db.R.OpenLoop, results.LoadRun{Target: t, Conns: 64, Round: round, Rate: db.Rate, Result: res})
			if err := db.notePeak(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// notePeak takes one more reading of A and records the highest resident memory so far.
func (db *DB) notePeak(ctx context.Context) error {
	if _, err := db.A.Read(ctx); err != nil {
		return err
	}
	db.R.Resources.PeakRSSBytes, db.R.Resources.PeakReadings = db.A.PeakRSS()
	return nil
}
