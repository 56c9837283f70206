package report

import (
	"os"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/codemetrics/codemetrics/bench/internal/load"
	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// notes is the real docs/benchmarks-notes.md: the report is tested with the text it renders.
func notes(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../../docs/benchmarks-notes.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func render(t *testing.T, r *results.Results) string {
	t.Helper()
	md, err := Render(r, notes(t))
	if err != nil {
		t.Fatal(err)
	}
	return string(md)
}

// wantInReport checks that the report md holds each of wants.
func wantInReport(t *testing.T, md string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

func run(target string, conns int, rate, rps, p99 float64) results.LoadRun {
	return results.LoadRun{Target: target, Conns: conns, Round: 1, Rate: rate, Result: load.Result{
		Requests: 1000, RPS: rps, P50Ms: 0.5, P90Ms: 1, P99Ms: p99, MaxMs: 9, Statuses: map[string]int64{"200": 1000},
		ServerCPUUs: 50, ClientCPUUs: 30,
	}}
}

// full is a run with every scenario measured, every goal met but the token list's.
func full() *results.Results {
	sqlite := &results.Database{
		Name:       "sqlite",
		Startup:    []results.Startup{{State: "fresh", RunsMs: []float64{73}}, {State: "migrated", RunsMs: []float64{44, 49, 40, 45, 43}}},
		Resources:  results.Resources{IdleRSSBytes: 23.7 * (1 << 20), LoadRSSBytes: 32 << 20, PeakRSSBytes: 34 << 20, PeakReadings: 28},
		Throughput: []results.LoadRun{run("healthz", 16, 0, 20000, 4), run("auth", 16, 0, 19000, 4), run("bare", 16, 0, 14000, 5), run("healthz", 64, 0, 21000, 10), run("auth", 64, 0, 19500, 11), run("bare", 64, 0, 15000, 14)},
		OpenLoop:   []results.LoadRun{run("healthz", 64, 10000, 9983, 4.2), run("auth", 64, 10000, 9982, 3.9), run("bare", 64, 10000, 9982, 12)},
		TokenList: []results.TokenList{
			{Tokens: 10000, Page: "all", Result: load.Result{Requests: 30, P50Ms: 61.5, P99Ms: 80, BodyBytes: 2.1e6}},
			{Tokens: 10000, Page: "50", Result: load.Result{Requests: 200, P50Ms: 2.2, P99Ms: 4.1, BodyBytes: 10752}},
		},
		TokensPage: []results.TokensPage{{Tokens: 10000, Loads: 5, FirstPageRows: 50, PageTotal: 10001, Chromium: "156.0.8078.79",
			DOMContentLoadedMs: []float64{603.1, 592.5, 522.2, 552.1, 688.1}, FirstContentfulPaintMs: []float64{772, 728, 644, 732, 812},
			TokensResponseEndMs: []float64{838.4, 777.9, 727.1, 792.6, 953.1}, RowsShownMs: []float64{1046.8, 1074.9, 949.8, 1012.8, 1225.1},
			UsableMs: []float64{1164.6, 1165, 1119.5, 1130.8, 1365.9}, ClickSentAfterRowsMs: []float64{100, 104.2, 151.2, 90.1, 126.9},
			InputDelayMs: []float64{39.4, 13.4, 19.1, 17.4, 47.4}, ClickToDialogMs: []float64{108.2, 77.5, 97.6, 95.9, 138.1},
			FilterMs: []float64{355.2, 320.3, 368.3, 363, 371.7}}},
	}
	mysql := &results.Database{
		Name:       "mysql",
		Resources:  results.Resources{IdleRSSBytes: 22 << 20},
		Statements: &results.Statements{Instances: 2, Seconds: 4, IdleDelta: 35, LoadDelta: 34, Requests: 73660},
		Revocation: &results.Revocation{Conns: 4, Before: results.Duration(1500 * time.Millisecond), After: results.Duration(2 * time.Second),
			Trials: []results.RevocationTrial{{DeleteStatus: 204, DeleteMs: 19.3, AOKBefore: 10198, AOKInFlight: 3, ARefusedAfter: 12196, BFirstRefusalMs: 186.1, BLastOKStartMs: 184.7}}},
		TokensPage: []results.TokensPage{{Tokens: 10000, Failed: "exit status 1"}},
	}
	return &results.Results{
		Run: results.Run{Command: "make bench", Date: time.Date(2026, 12, 2, 0, 4, 0, 0, time.UTC), CPU: "AMD EPYC", Cores: 2, MemoryBytes: 24 << 30,
			Commit: "f0a7a15", Settings: results.Settings{Rounds: 3, Duration: results.Duration(4 * time.Second), Warmup: results.Duration(time.Second), Rate: 10000, BrowserLoads: 5}},
		Databases:   []*results.Database{sqlite, mysql},
		BinaryBytes: 32632994,
		GoBench: &results.GoBench{Command: "cd backend && go test -bench .", Raw: "BenchmarkX 1 2 ns/op\n", Benchmarks: []results.Benchmark{
			{Name: "httpapi.AuthMiddlewareServiceToken", Values: []results.Value{{Unit: "ns/op", Median: 11659}, {Unit: "queries/op", Median: 0}, {Unit: "B/op", Median: 2858}, {Unit: "allocs/op", Median: 45}}},
			{Name: "httpapi.ListTokens10k", Values: []results.Value{{Unit: "ns/op", Median: 43910891}, {Unit: "B/op", Median: 16906081}, {Unit: "allocs/op", Median: 190393}}},
		}},
		Profile: &results.Profile{Command: "cd backend && go test -cpuprofile cpu.out", Top: "flat flat%\n"},
	}
}

// TestReport renders a whole run: every section, each figure where the reader looks for it, the
// missed goal's note from docs/benchmarks-notes.md with this run's figures in it.
func TestReport(t *testing.T) {
	md := render(t, full())
	wantInReport(t, md,
		"Written by `make bench` on 2026-12-02 00:04 UTC.",
		"| memory | 24.0 GiB |",
		"| authenticated / unauthenticated throughput (same run) | ≥ 0.90 | SQLite/16: 0.95, SQLite/64: 0.93 | met |",
		"| database round trips per authenticated request in steady state | 0 | Go benchmark: 0 queries/op; MariaDB `Questions` under load: 0.0000 per request beyond the feed polls | met |",
		"| requests on A succeeding after its `DELETE` returned | 0 | 0 over 1 trials | met |",
		"| revocation seen by instance B | ≤ 1 s | worst of 1 trials: 186 ms | met |",
		"| `GET /api/tokens`, 10,000 tokens, p50 | < 50 ms | SQLite: 61.5 ms | **missed** |",
		"| start to first `200` | < 300 ms (restart on a migrated database) | SQLite: 44 ms, (first start on an empty SQLite database, migrations included: 73 ms) | met |",
		"| idle resident memory | < 40 MB | SQLite: 23.7 MiB, MariaDB: 22.0 MiB | met |",
		"| allocations per verified request (middleware benchmark) | as few as possible; reported | 45 allocs/op, 2858 B/op | met |",
		"Missed in this run: `GET /api/tokens`, 10,000 tokens, p50. See",
		"### SQLite\n\n| target | conns |",
		"| auth | 64 | 19500 | 0.500 | 11.000 | 50.0 | 30.0 | 0 |",
		"| auth / bare (requests/s) | 1.36 | 1.30 |",
		"| server CPU per request: auth / healthz | 1.00 | 1.00 |",
		"| SQLite | auth | 10000 | 9982 | 0.500 | 1.000 | 3.900 | 9.000 | 0 |",
		"**0 queries/op**",
		"rose by 34 during 73660 authenticated requests over 4 s with 2 instance(s)",
		"- What the cache's bounded life costs:",
		"after 1.5s, the token is revoked",
		"| 1 | 19.3 | 10198 | 3 | **0** | 12196 | **+186.1 ms** | +184.7 ms | 0 |",
		"| SQLite | 10000 | `GET /api/tokens` | 30 | 61.5 | 80.0 | 2.0 MiB |",
		"| SQLite | 10000 | `GET /api/tokens?limit=50` | 200 | 2.2 | 4.1 | 10.5 KiB |",
		"headless Chromium 156.0.8078.79",
		"**median over\n5 loads**",
		"| SQLite | 10000 | 50 of 10001 | 592 (688) | 732 (812) | 793 (953) | 1047 (1225) | **1165 (1366)** | 104 (151) | 19 (47) | 98 (138) | 363 (372) |",
		"| MariaDB | 10000 | the measurement failed",
		"All figures are in ms. The page asks for one page of 50 rows",
		"| resident memory, idle after start | 23.7 MiB | 22.0 MiB |",
		"| peak resident memory (highest reading, up to the end of the loads) | 34.0 MiB (28 readings) | – |",
		"| start to first `200` on `/healthz`, migrated database | 44 ms (median of 5; max 49) | – |",
		"**31.1 MiB** (32632994 bytes)",
		"| httpapi.AuthMiddlewareServiceToken | 11659 | 2858 | 45 | 0 queries/op |",
		"### `GET /api/tokens`, 10,000 tokens, p50 (goal < 50 ms; measured SQLite: 61.5 ms)\n\nHow much:",
		"takes 43.9 ms per request in-process",
		"## CPU profile of the authenticated request path",
	)
	for _, bad := range []string{"<no value>", "has no note", "\n\n\n"} {
		if strings.Contains(md, bad) {
			t.Errorf("the report has %q:\n%s", bad, md)
		}
	}
}

// TestEveryGoalHasANote: a missed goal is explained by hand, in docs/benchmarks-notes.md.
func TestEveryGoalHasANote(t *testing.T) {
	tmpl, err := template.New("notes").Funcs(funcs(template.New("x"))).Parse(notes(t))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"statements-recheck", "tokens-page"}
	for _, g := range goals(NewModel(&results.Results{})) {
		names = append(names, "missed-"+g.ID)
	}
	for _, n := range names {
		if tmpl.Lookup(n) == nil {
			t.Errorf("docs/benchmarks-notes.md has no {{define %q}}", n)
		}
	}
}

func TestP99GoalJudgesTheOpenLoop(t *testing.T) {
	closed := []results.LoadRun{run("healthz", 64, 0, 20000, 11), run("auth", 64, 0, 19000, 11.8)}
	for _, c := range []struct {
		name    string
		open    []results.LoadRun
		verdict string
	}{
		{"open loop under 5 ms", []results.LoadRun{run("auth", 64, 10000, 9990, 3.25)}, "met"},
		{"open loop over 5 ms", []results.LoadRun{run("auth", 64, 10000, 9990, 6.5)}, "**missed**"},
		{"closed loop only", nil, "**missed**"},
	} {
		md := render(t, &results.Results{Databases: []*results.Database{{Name: "sqlite", Throughput: closed, OpenLoop: c.open}}})
		var row string
		for _, line := range strings.Split(md, "\n") {
			if strings.HasPrefix(line, "| p99 at 64 connections") {
				row = line
			}
		}
		if !strings.HasSuffix(row, "| "+c.verdict+" |") {
			t.Errorf("%s: goal row %q, want verdict %s", c.name, row, c.verdict)
		}
		if c.open != nil {
			for _, want := range []string{"open loop at a fixed rate: SQLite: ", "10000 req/s offered, 50% of the closed-loop `/healthz` throughput", "closed loop at saturation (queueing, see section 1): SQLite: 11.80 ms"} {
				if !strings.Contains(row, want) {
					t.Errorf("%s: goal row %q lacks %q", c.name, row, want)
				}
			}
		}
		if c.verdict == "**missed**" && c.open != nil && !strings.Contains(md, "How much: over 5 ms at the fixed rate on SQLite by 1.50 ms (6.50 ms).") {
			t.Errorf("%s: the note does not say by how much:\n%s", c.name, md)
		}
	}
}

func TestTokensPageSkipped(t *testing.T) {
	md := render(t, &results.Results{Run: results.Run{Skipped: map[string]string{"browser": "BENCH_BROWSER=0"}}})
	if want := "### The tokens page in Chromium\n\nNot measured in this run: BENCH_BROWSER=0.\n"; !strings.Contains(md, want) {
		t.Errorf("the report lacks %q:\n%s", want, md)
	}
}

// TestResultsRoundTrip: the report renders the same from the results file as from memory.
func TestResultsRoundTrip(t *testing.T) {
	path := t.TempDir() + "/results.json"
	if err := full().Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := render(t, full()), render(t, back); a != b {
		t.Errorf("rendered from the file:\n%s\nfrom memory:\n%s", b, a)
	}
}

// TestScaleAndDashboardGoals judges the 10,000,000-run query against the small size of the same
// run, says why it was not measured when the disk could not hold it, and judges the dashboard's
// median time until usable at the most runs against the fewest.
func TestScaleAndDashboardGoals(t *testing.T) {
	read := func(runs int, p50 float64) results.PipelineRead {
		return results.PipelineRead{Runs: runs, Request: "query", Result: load.Result{Requests: 20, P50Ms: p50, P99Ms: 2 * p50}}
	}
	r := full()
	sqlite := r.Databases[0]
	sqlite.Scale = &results.Scale{Runs: 10_000_000, Command: "make bench-scale", Date: r.Run.Date, SeedRuns: 9_000_000, SeedSeconds: 1500,
		SeedRunsPerSec: 6000, DatabaseBytes: 6e9, Baseline: []results.PipelineRead{read(10000, 40)}, Reads: []results.PipelineRead{read(10_000_000, 90)}}
	sqlite.Dashboard = []results.DashboardPage{
		{Runs: 100, Workloads: 100, Loads: 3, Charted: 12, Charts: 24, PickerTotal: 100, UsableMs: []float64{900, 1000, 1100},
			FirstContentfulPaintMs: []float64{1, 2, 3}, WorkloadsResponseEndMs: []float64{1, 2, 3}, QueryResponseEndMs: []float64{1, 2, 3}, PickerMs: []float64{1, 2, 3}, ChartsMs: []float64{900, 1000, 1100}},
		{Runs: 1_000_000, Workloads: 200, Loads: 3, Charted: 12, Charts: 24, PickerTotal: 200, UsableMs: []float64{1200, 1300, 1400},
			FirstContentfulPaintMs: []float64{1, 2, 3}, WorkloadsResponseEndMs: []float64{1, 2, 3}, QueryResponseEndMs: []float64{1, 2, 3}, PickerMs: []float64{1, 2, 3}, ChartsMs: []float64{1200, 1300, 1400}},
	}
	md := render(t, r)
	wantInReport(t, md,
		"| `POST /api/query` (366 days, 50 workloads, four queries) p50 with 10,000,000 runs ÷ 10,000 runs, SQLite (`make bench-scale`) | ≤ 2.00 | SQLite 10000000 ÷ 10000 runs: 2.25 | **missed** |",
		"| the dashboard in Chromium, time until usable (median), 1,000,000 runs in 200 workloads ÷ 100 runs | ≤ 1.50 | SQLite 1000000 ÷ 100 runs: 1.30 (1300 ÷ 1000 ms) | met |",
		"| 10000000 | query | 20 | 90.0 | 180.0 |",
		"| SQLite | 1000000 | 200 | 12 (24 charts) | 200 |",
	)
	sqlite.Scale = &results.Scale{Runs: 10_000_000, Skipped: "the disk has 3.0 GB free"}
	if md := render(t, r); !strings.Contains(md, "SQLite: not measured: the disk has 3.0 GB free") || !strings.Contains(md, "Not measured: the disk has 3.0 GB free.") {
		t.Errorf("a skipped scale run is not explained:\n%s", md)
	}
}

// TestClusterSection: the cluster figures render in their section, and the refusal goal is
// judged on the worst revocation, missed when a replica never refused.
func TestClusterSection(t *testing.T) {
	r := full()
	if md := render(t, r); !strings.Contains(md, "Not measured in this run: `make bench-cluster` measures it") {
		t.Errorf("a run without the cluster scenario does not say so")
	}
	r.Cluster = &results.Cluster{Command: "make bench-cluster", Date: r.Run.Date, Started: true, Cores: 2,
		Nodes: []string{"127.0.0.1:35061", "127.0.0.1:35062"}, Galera: "10.11", HAProxy: "2.6", Conns: 64, Seconds: 4,
		Settings:   results.Settings{Rounds: 1, Duration: results.Duration(4 * time.Second)},
		Replicas:   []results.ClusterReplica{{Node: "127.0.0.1:35061", NodeOnlyQueriesPS: 1, IdleQueriesPS: 4.25, LoadQueriesPS: 4.5, LoadRequestsPS: 1000}},
		Throughput: []results.ClusterLoad{{Replicas: 1, Round: 1, Result: load.Result{RPS: 3000, P50Ms: 10}}, {Replicas: 2, Round: 1, Result: load.Result{RPS: 3100}}},
		Revocation: &results.ClusterRevoke{Timeout: results.Duration(5 * time.Second), Trials: []results.ClusterRevokeTrial{
			{Through: 1, RefuseMs: []float64{2, 200}, AllMs: 200},
			{Through: 2, RefuseMs: []float64{300, 3}, AllMs: 300},
			{Through: 1, RefuseMs: []float64{1, 250}, AllMs: 250},
		}}}
	md := render(t, r)
	wantInReport(t, md,
		"| time until every replica refuses a revoked token (replicas on different Galera nodes, `make bench-cluster`) | ≤ 1 s | median 250 ms, max 300 ms of 3 revocations | met |",
		"| 1 | 127.0.0.1:35061 | 1.0 | 4.2 | 4.5 | 1000 | 0.00 | 0.00 |",
		"| 2 | 3100 |",
		"| the revoking replica refuses (from its own memory) | 2.0 ms | |",
		"| another replica refuses (from the revocation feed) | 250 ms | 300 ms |",
		"On this 2-core machine",
	)
	r.Cluster.Revocation.Trials[1] = results.ClusterRevokeTrial{Through: 2, RefuseMs: []float64{-1, 3}, AllMs: -1}
	wantInReport(t, render(t, r), "median 225 ms, max 250 ms of 3 revocations; in 1 a replica still accepted the token after 5s | **missed**")
}
