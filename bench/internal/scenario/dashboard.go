package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/codemetrics/codemetrics/bench/internal/instance"
	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// dashboardSettings size the dashboard scenario.
type dashboardSettings struct {
	Small     int `env:"BENCH_DASHBOARD_RUNS_SMALL" envDefault:"100"`
	Large     int `env:"BENCH_DASHBOARD_RUNS_LARGE" envDefault:"1000000"`
	Workloads int `env:"BENCH_DASHBOARD_WORKLOADS" envDefault:"200"`
	BatchSettings
}

// dashboardRun is the i-th run of the dashboard scenario: workload i mod workloads, day
// (i / workloads) mod 365 of the year ending yesterday (UTC), a build with a coverage (the
// dashboard charts builds), random status and duration. The first runs fall on yesterday, one
// a workload, so that even the small database charts a dozen workloads.
func dashboardRun(today time.Time, workloads, i int) seedRun {
	r := rand.New(rand.NewPCG(uint64(i), 17))
	w, d, k := i%workloads, (i/workloads)%365, i/(workloads*365)
	start := today.AddDate(0, 0, -1-d).Add(time.Duration((k*157)%86000) * time.Second)
	c := 60 + r.Float64()*35
	run := seedRun{
		ID: "d" + strconv.Itoa(i), Workload: fmt.Sprintf("team-%03d", w), Pipeline: "ci", Kind: "build", Status: "success",
		Branch: "main", Commit: fmt.Sprintf("%040x", r.Uint64()), Coverage: &c,
		StartedAt:  start.Format(time.RFC3339),
		FinishedAt: start.Add(time.Duration(60+r.IntN(840)) * time.Second).Format(time.RFC3339),
	}
	if r.IntN(10) == 0 {
		run.Status = "failed"
	}
	return run
}

// dashboard is the dashboard in Chromium (e2e/bench/dashboard-page.mjs), signed in as an
// administrator, on a database of its own served by an instance of its own: first with
// BENCH_DASHBOARD_RUNS_SMALL runs (100), then, the runs seeded on through the batch endpoint,
// with BENCH_DASHBOARD_RUNS_LARGE (1,000,000) over BENCH_DASHBOARD_WORKLOADS workloads (200).
// It runs on SQLite only: what the page asks the server is what the pipeline scenario measures
// on both databases, and seeding a million runs again on MariaDB would add minutes to make bench
// for the same browser figure. A failed measurement is reported, not fatal.
func dashboard(ctx context.Context, db *DB) error {
	if _, skipped := db.Results.Run.Skipped["browser"]; skipped {
		return nil
	}
	if db.Driver != "sqlite" {
		db.Logf("  the dashboard is measured on SQLite only: skipped on %s", db.Name)
		return nil
	}
	var ds dashboardSettings
	if err := env.Parse(&ds); err != nil {
		return err
	}
	if ds.Large < ds.Small {
		return fmt.Errorf("BENCH_DASHBOARD_RUNS_LARGE (%d) is below BENCH_DASHBOARD_RUNS_SMALL (%d)", ds.Large, ds.Small)
	}
	dsn, drop, err := db.scratchDatabase(ctx, "dashboard")
	if err != nil {
		return err
	}
	defer drop()
	p, err := instance.FreePorts()
	if err != nil {
		return err
	}
	env := append(append(db.serverEnv(p), db.idp.Env()...), "DATABASE_DSN="+dsn)
	srv, err := instance.Start(ctx, instance.Spec{Name: db.Name + "-dashboard", Path: db.Bin, Env: env, LogDir: db.Work}, p)
	if err != nil {
		return err
	}
	defer srv.Stop()
	tok, err := db.createToken(ctx, dsn, "bench-dashboard", "--scope", "pipeline:write", "--workload", "*")
	if err != nil {
		return err
	}
	admin, err := db.idp.SignIn(ctx, srv.URL)
	if err != nil {
		return err
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	run := func(i int) seedRun { return dashboardRun(today, ds.Workloads, i) }
	seeded := 0
	for _, n := range []int{ds.Small, ds.Large} {
		took, err := seedRuns(ctx, srv.URL, tok.AccessToken, seeded, n, ds.Clients, run)
		if err != nil {
			return err
		}
		db.Logf("  dashboard: %d runs seeded through the batch endpoint in %s", n-seeded, took.Round(time.Millisecond))
		seeded = n
		page := db.dashboardPage(ctx, srv.URL, admin.SessionCookie.Value, n, min(n, ds.Workloads))
		page.SeedSeconds = took.Seconds()
		db.R.Dashboard = append(db.R.Dashboard, page)
	}
	return nil
}

// dashboardPage measures the dashboard at url in Chromium.
func (db *DB) dashboardPage(ctx context.Context, url, session string, runs, workloads int) results.DashboardPage {
	db.Logf("  %d runs, %d workloads: the dashboard in Chromium (%d loads)", runs, workloads, db.BrowserLoads)
	page := results.DashboardPage{Runs: runs, Workloads: workloads}
	out, err := db.browserScript(ctx, "bench/dashboard-page.mjs", session, "--url", url, "--loads", strconv.Itoa(db.BrowserLoads),
		"--workloads", strconv.Itoa(workloads), "--tag", "db="+db.Name, "--tag", "runs="+strconv.Itoa(runs))
	if err == nil {
		err = json.Unmarshal(out, &page)
	}
	if err != nil {
		db.Logf("bench: the dashboard measurement failed (%s, %d runs): %v; the report says so", db.Name, runs, err)
		page = results.DashboardPage{Failed: err.Error()}
	}
	page.Runs, page.Workloads = runs, workloads
	return page
}

// browserScript runs one of e2e/bench's page measurements (node script args…) with the
// administrator's session cookie and returns the JSON line it prints.
func (db *DB) browserScript(ctx context.Context, script, session string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = filepath.Join(db.Root, "e2e")
	cmd.Env = append(os.Environ(), "CODEMETRICS_SESSION="+session, "CHROMIUM_PATH="+db.ChromiumPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	os.Stderr.Write(stderr.Bytes())
	return out, err
}

// scratchDatabase is an empty database beside db's for a scenario's own instance: a SQLite file
// in the run's directory, or a MariaDB database; drop removes it.
func (db *DB) scratchDatabase(ctx context.Context, name string) (dsn string, drop func(), err error) {
	if db.Driver == "sqlite" {
		dir := filepath.Join(db.Work, "sqlite-"+name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, err
		}
		return filepath.Join(dir, "codemetrics.db"), func() { os.RemoveAll(dir) }, nil
	}
	return db.scratchMySQL(ctx, name)
}

// createToken issues a service token with the command line on the database at dsn.
func (db *DB) createToken(ctx context.Context, dsn, subject string, flags ...string) (Token, error) {
	cmd := exec.CommandContext(ctx, db.Bin, append([]string{"tokens", "create", "--subject", subject, "--created-by", "bench", "--json"}, flags...)...)
	cmd.Env = append(append(cmd.Environ(), db.dbEnv()...), "DATABASE_DSN="+dsn)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Token{}, fmt.Errorf("codemetrics tokens create: %w: %s", err, stderr.Bytes())
	}
	var t Token
	if err := json.Unmarshal(out, &t); err != nil || t.AccessToken == "" {
		return Token{}, fmt.Errorf("codemetrics tokens create --json printed %q: %v", out, err)
	}
	return t, nil
}
