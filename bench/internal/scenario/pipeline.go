package scenario

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caarlos0/env/v11"
	_ "github.com/glebarez/go-sqlite" // the bare-INSERT baseline on SQLite
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/codemetrics/codemetrics/bench/internal/load"
	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// pipelineWorkloads is how many workloads the seeded runs spread over (a query names at most 50).
const pipelineWorkloads = 50

// BatchSettings are those of seeding runs through the batch endpoint, the same in every
// scenario that seeds (exported for env to parse it where it is embedded).
type BatchSettings struct {
	Clients int `env:"BENCH_BATCH_CLIENTS" envDefault:"4"`
}

// pipelineSettings are the sizes of the pipeline scenario (BENCH_RUNS_*), so that a short run is possible.
type pipelineSettings struct {
	Small    int `env:"BENCH_RUNS_SMALL" envDefault:"10000"`
	Large    int `env:"BENCH_RUNS_LARGE" envDefault:"1000000"`
	Baseline int `env:"BENCH_RUNS_BASELINE" envDefault:"100000"` // rows of the bare-INSERT baseline
	BatchSettings
}

// seedRun is the i-th seeded run: workload i mod 50, day (i / 50) mod 365 of the year ending
// yesterday (UTC), so that 1,000,000 runs are about 55 a day per workload; random status,
// coverage and duration.
type seedRun struct {
	ID         string   `json:"id"`
	Workload   string   `json:"workload"`
	Pipeline   string   `json:"pipeline"`
	Kind       string   `json:"kind"`
	Status     string   `json:"status"`
	Branch     string   `json:"branch"`
	Commit     string   `json:"commit"`
	StartedAt  string   `json:"startedAt"`
	FinishedAt string   `json:"finishedAt"`
	Coverage   *float64 `json:"coverage,omitempty"`
}

func makeRun(today time.Time, i int) seedRun {
	r := rand.New(rand.NewPCG(uint64(i), 13))
	w, d, k := i%pipelineWorkloads, (i/pipelineWorkloads)%365, i/(pipelineWorkloads*365)
	start := today.AddDate(0, 0, -1-d).Add(time.Duration((k*157)%86000) * time.Second)
	run := seedRun{
		ID: "r" + strconv.Itoa(i), Workload: fmt.Sprintf("w%02d", w), Pipeline: "ci", Kind: "build", Status: "success",
		Branch: "main", Commit: fmt.Sprintf("%040x", r.Uint64()),
		StartedAt:  start.Format(time.RFC3339),
		FinishedAt: start.Add(time.Duration(60+r.IntN(840)) * time.Second).Format(time.RFC3339),
	}
	if r.IntN(10) == 0 {
		run.Kind = "deploy"
	} else {
		c := 60 + r.Float64()*35
		run.Coverage = &c
	}
	switch p := r.IntN(20); {
	case p < 2:
		run.Status = "failed"
	case p < 3:
		run.Status = "cancelled"
	}
	return run
}

// pipeline is issue 13's section: seeding through the batch endpoint against a bare INSERT,
// queries and the run list at two sizes, memory under 16 concurrent queries, single-run recording.
func pipeline(ctx context.Context, db *DB) error {
	var ps pipelineSettings
	if err := env.Parse(&ps); err != nil {
		return err
	}
	if ps.Large < ps.Small {
		return fmt.Errorf("BENCH_RUNS_LARGE (%d) is below BENCH_RUNS_SMALL (%d)", ps.Large, ps.Small)
	}
	if err := db.Servers(ctx); err != nil {
		return err
	}
	tok, err := db.CreateToken(ctx, "bench-pipeline", "--scope", "pipeline:write,metrics:read", "--workload", "*")
	if err != nil {
		return err
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	p := &results.Pipeline{Workloads: pipelineWorkloads, Clients: ps.Clients}
	db.R.Pipeline = p

	if _, err := db.seed(ctx, tok.AccessToken, today, 0, ps.Small, ps.Clients); err != nil {
		return err
	}
	if err := db.pipelineReads(ctx, tok.AccessToken, today, ps.Small, p); err != nil {
		return err
	}
	took, err := db.seed(ctx, tok.AccessToken, today, ps.Small, ps.Large, ps.Clients)
	if err != nil {
		return err
	}
	p.BatchRuns, p.BatchRunsPerSec = ps.Large-ps.Small, float64(ps.Large-ps.Small)/took.Seconds()
	db.Logf("  batch recording: %d runs in %s, %.0f runs/s", p.BatchRuns, took.Round(time.Millisecond), p.BatchRunsPerSec)
	n := min(ps.Baseline, ps.Large-ps.Small)
	if n > 0 {
		bt, err := db.bareInsert(ctx, today, ps.Small, ps.Small+n)
		if err != nil {
			return fmt.Errorf("bare INSERT: %w", err)
		}
		p.BareRuns, p.BareRunsPerSec = n, float64(n)/bt.Seconds()
		db.Logf("  bare INSERT: %d rows in %s, %.0f rows/s", n, bt.Round(time.Millisecond), p.BareRunsPerSec)
	}
	if err := db.pipelineReads(ctx, tok.AccessToken, today, ps.Large, p); err != nil {
		return err
	}
	if err := db.concurrentQueries(ctx, tok.AccessToken, today, ps.Large, p); err != nil {
		return err
	}
	return db.singleRuns(ctx, tok.AccessToken, today, p)
}

// seed records runs [from, to) of the pipeline scenario through POST /api/pipeline/runs/batch.
func (db *DB) seed(ctx context.Context, bearer string, today time.Time, from, to, clients int) (time.Duration, error) {
	return seedRuns(ctx, db.A.URL, bearer, from, to, clients, func(i int) seedRun { return makeRun(today, i) })
}

// seedRuns records runs run(from) to run(to-1) through url's POST /api/pipeline/runs/batch,
// 1000 a request, from clients at once.
func seedRuns(ctx context.Context, url, bearer string, from, to, clients int, run func(int) seedRun) (time.Duration, error) {
	batches := make(chan int)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	c := load.Client(clients)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if firstErr.Load() != nil {
					continue
				}
				if err := postBatch(ctx, c, url, bearer, b, min(b+1000, to), run); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for b := from; b < to; b += 1000 {
		batches <- b
	}
	close(batches)
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// postBatch records runs run(from) to run(to-1) in one batch. A 503 is sent again, up to four
// times: on SQLite under a loaded machine a batch can wait longer than the busy timeout (10 s)
// for the write lock, and the batch endpoint is idempotent (the runs already stored come back
// "unchanged").
func postBatch(ctx context.Context, c *http.Client, url, bearer string, from, to int, run func(int) seedRun) error {
	runs := make([]seedRun, 0, to-from)
	for i := from; i < to; i++ {
		runs = append(runs, run(i))
	}
	body, _ := json.Marshal(map[string]any{"runs": runs})
	for attempt := 1; ; attempt++ {
		err := sendBatch(ctx, c, url, bearer, body)
		var busy errBusy
		if !errors.As(err, &busy) || attempt == 5 {
			if err != nil {
				return fmt.Errorf("POST /api/pipeline/runs/batch (runs %d to %d, attempt %d): %w", from, to, attempt, err)
			}
			return nil
		}
		time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
	}
}

// errBusy is a 503 answer, with its problem.
type errBusy struct{ problem string }

func (e errBusy) Error() string { return "503 Service Unavailable: " + e.problem }

func sendBatch(ctx context.Context, c *http.Client, url, bearer string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/pipeline/runs/batch", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		problem, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		if resp.StatusCode == http.StatusServiceUnavailable {
			return errBusy{string(problem)}
		}
		return fmt.Errorf("%s: %s", resp.Status, problem)
	}
	var out struct {
		Results []struct{ ID, Status, Error string } `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	for _, r := range out.Results {
		if r.Status != "created" && r.Status != "unchanged" {
			return fmt.Errorf("batch run %s: %s %s", r.ID, r.Status, r.Error)
		}
	}
	return nil
}

// bareInsert is the baseline of issue 13's "bare INSERT loop of the same rows into the same
// database": one prepared single-row INSERT per run, in a loop on one connection, a
// transaction per 1,000 rows (the batch endpoint's batch: each commits once), into a scratch
// table made from pipeline_runs' own definition in the same database, its indexes included
// (what storing a run costs the database), with the values the store writes (workload id,
// times in milliseconds, who recorded it). It does none of the service's work: no HTTP, JSON or
// validation, no read of existing runs, no workloads, no rollups.
func (db *DB) bareInsert(ctx context.Context, today time.Time, from, to int) (time.Duration, error) {
	dsn := db.DSN
	if db.Driver == "sqlite" {
		dsn = "file:" + db.DSN + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	}
	conn, err := sql.Open(db.Driver, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if err := createBareTable(ctx, conn, db.Driver); err != nil {
		return 0, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE bench_bare_runs") //nolint:errcheck
	const insert = `INSERT INTO bench_bare_runs (workload_id, run_id, pipeline, kind, status, branch, commit_sha,
		started_at, finished_at, coverage, recorded_at, recorded_by, service_user) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`
	recordedAt := time.Now().UnixMilli()
	start := time.Now()
	for b := from; b < to; b += 1000 {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		stmt, err := tx.PrepareContext(ctx, insert)
		if err != nil {
			tx.Rollback() //nolint:errcheck
			return 0, err
		}
		for i := b; i < min(b+1000, to); i++ {
			r := makeRun(today, i)
			s, _ := time.Parse(time.RFC3339, r.StartedAt)
			f, _ := time.Parse(time.RFC3339, r.FinishedAt)
			if _, err := stmt.ExecContext(ctx, 1+i%pipelineWorkloads, r.ID, r.Pipeline, r.Kind, r.Status, r.Branch, r.Commit,
				s.UnixMilli(), f.UnixMilli(), r.Coverage, recordedAt, "token:bench-pipeline", "bench-pipeline"); err != nil {
				tx.Rollback() //nolint:errcheck
				return 0, err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// createBareTable creates bench_bare_runs as pipeline_runs is, with its indexes: on MySQL
// CREATE TABLE … LIKE, on SQLite the statements sqlite_master keeps, renamed.
func createBareTable(ctx context.Context, conn *sql.DB, driver string) error {
	if driver != "sqlite" {
		_, err := conn.ExecContext(ctx, "CREATE TABLE bench_bare_runs LIKE pipeline_runs")
		return err
	}
	rows, err := conn.QueryContext(ctx, "SELECT sql FROM sqlite_master WHERE tbl_name = 'pipeline_runs' AND sql IS NOT NULL ORDER BY type DESC")
	if err != nil {
		return err
	}
	var ddl []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		ddl = append(ddl, strings.ReplaceAll(s, "pipeline_runs", "bench_bare_runs"))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ddl) == 0 {
		return errors.New("pipeline_runs is not in sqlite_master")
	}
	for _, s := range ddl { // the table ("table" sorts after "index": DESC puts it first), then its indexes
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func queryTarget(url, bearer string, today time.Time) vegeta.Target {
	ws := make([]string, pipelineWorkloads)
	for i := range ws {
		ws[i] = fmt.Sprintf("w%02d", i)
	}
	body, _ := json.Marshal(map[string]any{
		"queries":   []string{"code-coverage", "build-success-rate", "build-duration", "deployment-frequency"},
		"workloads": ws,
		"dateRange": map[string]string{"start": today.AddDate(0, 0, -365).Format(time.DateOnly), "end": today.Format(time.DateOnly)},
	})
	return vegeta.Target{Method: http.MethodPost, URL: url + "/api/query", Body: body,
		Header: http.Header{"Authorization": {"Bearer " + bearer}, "Content-Type": {"application/json"}}}
}

// pipelineReads measures the year-long query and the run list, one connection, at runs runs.
func (db *DB) pipelineReads(ctx context.Context, bearer string, today time.Time, runs int, p *results.Pipeline) error {
	reads, err := db.reads(ctx, bearer, today, runs)
	p.Reads = append(p.Reads, reads...)
	return err
}

// reads are the year-long query and the run list with and without a workload, one connection
// each, at runs runs.
func (db *DB) reads(ctx context.Context, bearer string, today time.Time, runs int) ([]results.PipelineRead, error) {
	var out []results.PipelineRead
	auth := http.Header{"Authorization": {"Bearer " + bearer}}
	targets := []struct {
		name string
		t    vegeta.Target
	}{
		{"query", queryTarget(db.A.URL, bearer, today)},
		{"runs", vegeta.Target{Method: http.MethodGet, URL: db.A.URL + "/api/pipeline/runs?limit=50", Header: auth}},
		{"runs-workload", vegeta.Target{Method: http.MethodGet, URL: db.A.URL + "/api/pipeline/runs?limit=50&workload=w07", Header: auth}},
	}
	for _, t := range targets {
		res, err := load.Run(ctx, load.Config{Target: t.t, Conns: 1, Duration: db.Duration, Warmup: db.Warmup, KeepBodies: true})
		if err != nil {
			return out, err
		}
		if res.NotOK() > 0 {
			return out, fmt.Errorf("%s at %d runs: %d answers not 2xx (%v, %s)", t.name, runs, res.NotOK(), res.Statuses, res.FirstError)
		}
		db.Logf("  %d runs, %-13s p50 %.2f ms, p99 %.2f ms, %d requests", runs, t.name, res.P50Ms, res.P99Ms, res.Requests)
		out = append(out, results.PipelineRead{Runs: runs, Request: t.name, Result: res})
	}
	return out, nil
}

// concurrentQueries runs 16 connections of year-long queries for BENCH_DURATION, reading A's
// resident memory and /readyz every 100 ms.
func (db *DB) concurrentQueries(ctx context.Context, bearer string, today time.Time, runs int, p *results.Pipeline) error {
	var peak float64
	var readings, notReady int
	cfg := load.Config{Target: queryTarget(db.A.URL, bearer, today), Conns: 16, Duration: db.Duration, Warmup: db.Warmup,
		During: func(ctx context.Context, _ time.Time) {
			c := &http.Client{Timeout: 2 * time.Second}
			for t := time.NewTicker(100 * time.Millisecond); ; {
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				if r, err := db.A.Read(ctx); err == nil {
					peak, readings = max(peak, r.RSSBytes), readings+1
				}
				resp, err := c.Get(db.A.URL + "/readyz")
				if err != nil || resp.StatusCode != http.StatusOK {
					if ctx.Err() == nil {
						notReady++
					}
				}
				if err == nil {
					resp.Body.Close()
				}
			}
		}}
	res, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	p.Concurrent = &results.PipelineConcurrent{Runs: runs, Conns: 16, PeakRSSBytes: peak, Readings: readings, NotReady: notReady, Result: res}
	db.Logf("  16 concurrent queries at %d runs: %.0f req/s, p50 %.1f ms, not 2xx %d, peak RSS %.1f MB of %d readings, /readyz not ready %d",
		runs, res.RPS, res.P50Ms, res.NotOK(), peak/1e6, readings, notReady)
	return nil
}

// singleRuns is POST /api/pipeline/runs, each request a new run, 16 connections.
func (db *DB) singleRuns(ctx context.Context, bearer string, today time.Time, p *results.Pipeline) error {
	var n atomic.Int64
	hdr := http.Header{"Authorization": {"Bearer " + bearer}, "Content-Type": {"application/json"}}
	targeter := func(t *vegeta.Target) error {
		r := makeRun(today, int(n.Add(1)))
		r.ID = "single-" + r.ID
		body, err := json.Marshal(r)
		*t = vegeta.Target{Method: http.MethodPost, URL: db.A.URL + "/api/pipeline/runs", Body: body, Header: hdr}
		return err
	}
	res, err := load.Run(ctx, load.Config{Targeter: targeter, Conns: 16, Duration: db.Duration, Warmup: db.Warmup, ServerCPU: db.A.CPUSeconds})
	if err != nil {
		return err
	}
	p.Single = &res
	db.Logf("  single-run recording, 16 conns: %.0f req/s, p50 %.2f ms, p99 %.2f ms, not 2xx %d", res.RPS, res.P50Ms, res.P99Ms, res.NotOK())
	return nil
}
