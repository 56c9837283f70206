// Package report renders docs/benchmarks.md from a results file: the figures through an
// embedded text/template (benchmarks.md.tmpl), the analysis from hand-written notes
// (docs/benchmarks-notes.md) that the template includes.
package report

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"

	_ "embed"

	"github.com/codemetrics/codemetrics/bench/internal/load"
	"github.com/codemetrics/codemetrics/bench/internal/results"
)

//go:embed benchmarks.md.tmpl
var reportTemplate string

// Model is what the template renders: the results, the medians over rounds, the goals.
type Model struct {
	*results.Results
	DBs   []*DB
	Goals []Goal
}

// DB is one database's figures.
type DB struct {
	*results.Database
	Title  string
	Closed []Cell // closed loop, by connections then target
	Open   []Cell // open loop, by target
}

// Cell is the median over rounds of one load configuration.
type Cell struct {
	Target                                        string
	Conns, Rounds                                 int
	Rate                                          float64
	RPS, P50, P90, P99, Max, ServerCPU, ClientCPU float64
	NotOK                                         int64
}

var targets = []string{"healthz", "auth", "bare"}

func cells(runs []results.LoadRun, conns []int) []Cell {
	var out []Cell
	for _, c := range conns {
		for _, t := range targets {
			var rs []load.Result
			cell := Cell{Target: t, Conns: c}
			for _, r := range runs {
				if r.Target == t && r.Conns == c {
					rs = append(rs, r.Result)
					cell.Rate = r.Rate
					cell.NotOK += r.NotOK()
				}
			}
			if len(rs) == 0 {
				continue
			}
			cell.Rounds = len(rs)
			med := func(f func(load.Result) float64) float64 {
				var xs []float64
				for _, r := range rs {
					xs = append(xs, f(r))
				}
				return results.Median(xs)
			}
			cell.RPS = med(func(r load.Result) float64 { return r.RPS })
			cell.P50 = med(func(r load.Result) float64 { return r.P50Ms })
			cell.P90 = med(func(r load.Result) float64 { return r.P90Ms })
			cell.P99 = med(func(r load.Result) float64 { return r.P99Ms })
			cell.Max = med(func(r load.Result) float64 { return r.MaxMs })
			cell.ServerCPU = med(func(r load.Result) float64 { return r.ServerCPUUs })
			cell.ClientCPU = med(func(r load.Result) float64 { return r.ClientCPUUs })
			out = append(out, cell)
		}
	}
	return out
}

// Cell is the closed-loop cell of target at conns.
func (d *DB) Cell(target string, conns int) (Cell, bool) {
	for _, c := range d.Closed {
		if c.Target == target && c.Conns == conns {
			return c, true
		}
	}
	return Cell{}, false
}

// OpenCell is the open-loop cell of target.
func (d *DB) OpenCell(target string) (Cell, bool) {
	for _, c := range d.Open {
		if c.Target == target {
			return c, true
		}
	}
	return Cell{}, false
}

// Ratio is a's figure over b's at conns, "rps" (requests/s) or "cpu" (server CPU per request).
func (d *DB) Ratio(figure, a, b string, conns int) string {
	x, ok1 := d.Cell(a, conns)
	y, ok2 := d.Cell(b, conns)
	switch {
	case !ok1 || !ok2:
	case figure == "cpu" && y.ServerCPU > 0:
		return f2(x.ServerCPU / y.ServerCPU)
	case figure == "rps" && y.RPS > 0:
		return f2(x.RPS / y.RPS)
	}
	return "–"
}

// Startup is "median ms (median of n; max m)" for state, or "–".
func (d *DB) Startup(state string) string {
	for _, s := range d.Database.Startup {
		if s.State == state && len(s.RunsMs) > 0 {
			return fmt.Sprintf("%s ms (median of %d; max %s)", f0(results.Median(s.RunsMs)), len(s.RunsMs), f0(slices.Max(s.RunsMs)))
		}
	}
	return "–"
}

// DB is the figures of database name (sqlite, mysql), or nil.
func (m *Model) DB(name string) *DB {
	for _, d := range m.DBs {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Missed are the goals measured and missed.
func (m *Model) Missed() []Goal {
	var out []Goal
	for _, g := range m.Goals {
		if g.Known && !g.Met {
			out = append(out, g)
		}
	}
	return out
}

// Bench is a Go benchmark's median of unit, and whether it was measured.
func (m *Model) Bench(name, unit string) (float64, bool) {
	if m.GoBench == nil {
		return 0, false
	}
	for _, b := range m.GoBench.Benchmarks {
		if strings.HasSuffix(b.Name, "."+name) || b.Name == name {
			return b.Get(unit)
		}
	}
	return 0, false
}

// BenchValue is a Go benchmark's median of unit, or nil.
func (m *Model) BenchValue(name, unit string) *float64 {
	if v, ok := m.Bench(name, unit); ok {
		return &v
	}
	return nil
}

// OpenP99 is target's open-loop p99 on every database: "SQLite 6.18 ms, MariaDB 7.26 ms".
func (m *Model) OpenP99(target string) string {
	var parts []string
	for _, d := range m.DBs {
		if c, ok := d.OpenCell(target); ok {
			parts = append(parts, d.Title+" "+f2(c.P99)+" ms")
		}
	}
	return strings.Join(parts, ", ")
}

// OpenP99Over is where the authenticated open-loop p99 reached limit ms: "MariaDB by 2.85 ms
// (7.85 ms)", or "".
func (m *Model) OpenP99Over(limit float64) string {
	var parts []string
	for _, d := range m.DBs {
		if c, ok := d.OpenCell("auth"); ok && c.P99 >= limit {
			parts = append(parts, fmt.Sprintf("%s by %s ms (%s ms)", d.Title, f2(c.P99-limit), f2(c.P99)))
		}
	}
	return strings.Join(parts, ", ")
}

// ClusterCell is the median over rounds of the load through HAProxy onto Replicas replicas.
type ClusterCell struct {
	Replicas, Rounds           int
	RPS, P50, P99, ReplicasCPU float64
	NotOK                      int64
}

// ClusterCells are the cluster scenario's loads, by number of replicas.
func (m *Model) ClusterCells() []ClusterCell {
	if m.Cluster == nil {
		return nil
	}
	var out []ClusterCell
	for n := 1; ; n++ {
		var rs []load.Result
		cell := ClusterCell{Replicas: n}
		for _, l := range m.Cluster.Throughput {
			if l.Replicas == n {
				rs = append(rs, l.Result)
				cell.NotOK += l.NotOK()
			}
		}
		if len(rs) == 0 {
			return out
		}
		med := func(f func(load.Result) float64) float64 {
			var xs []float64
			for _, r := range rs {
				xs = append(xs, f(r))
			}
			return results.Median(xs)
		}
		cell.Rounds = len(rs)
		cell.RPS = med(func(r load.Result) float64 { return r.RPS })
		cell.P50 = med(func(r load.Result) float64 { return r.P50Ms })
		cell.P99 = med(func(r load.Result) float64 { return r.P99Ms })
		cell.ReplicasCPU = med(func(r load.Result) float64 { return r.ServerCPUUs })
		out = append(out, cell)
	}
}

// ClusterRefusal is the cluster revocations' time until every replica refuses the token:
// median and max over the revocations in which every replica refused, how many did not
// within the timeout, and the successes seen after a replica's first refusal.
type ClusterRefusal struct {
	Revocations, Never, OKAfterRefusal int
	MedianMs, MaxMs                    float64
	// ThroughMs is the median time to the revoking replica's own first refusal; OthersMs are
	// the median and max of the other replicas' (each reading the revocation feed).
	ThroughMs, OthersMedianMs, OthersMaxMs float64
}

// ClusterRefusal is nil when the cluster revocations were not measured.
func (m *Model) ClusterRefusal() *ClusterRefusal {
	if m.Cluster == nil || m.Cluster.Revocation == nil || len(m.Cluster.Revocation.Trials) == 0 {
		return nil
	}
	r := &ClusterRefusal{}
	var all, through, others []float64
	for _, t := range m.Cluster.Revocation.Trials {
		r.Revocations++
		r.OKAfterRefusal += t.OKAfterRefusal
		if t.AllMs < 0 {
			r.Never++
		} else {
			all = append(all, t.AllMs)
		}
		for i, v := range t.RefuseMs {
			switch {
			case v < 0:
			case i == t.Through-1:
				through = append(through, v)
			default:
				others = append(others, v)
			}
		}
	}
	if len(all) > 0 {
		r.MedianMs, r.MaxMs = results.Median(all), slices.Max(all)
	}
	r.ThroughMs = results.Median(through)
	if len(others) > 0 {
		r.OthersMedianMs, r.OthersMaxMs = results.Median(others), slices.Max(others)
	}
	return r
}

// NewModel computes the medians and the goals of r.
func NewModel(r *results.Results) *Model {
	m := &Model{Results: r}
	for _, d := range r.Databases {
		title := "SQLite"
		if d.Name == "mysql" {
			title = "MariaDB"
		}
		m.DBs = append(m.DBs, &DB{Database: d, Title: title, Closed: cells(d.Throughput, []int{16, 64}), Open: cells(d.OpenLoop, []int{64})})
	}
	m.Goals = goals(m)
	return m
}

// Render renders the report of r, with notes (the text of docs/benchmarks-notes.md: template
// definitions, see that file) for the analysis.
func Render(r *results.Results, notes string) ([]byte, error) {
	m := NewModel(r)
	t := template.New("report").Option("missingkey=error")
	t.Funcs(funcs(t))
	if _, err := t.Parse(reportTemplate); err != nil {
		return nil, fmt.Errorf("report template: %w", err)
	}
	if _, err := t.New("notes").Parse(notes); err != nil {
		return nil, fmt.Errorf("notes: %w", err)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "report", m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func funcs(t *template.Template) template.FuncMap {
	return template.FuncMap{
		"f0": f0, "f1": f1, "f2": f2, "f3": f3,
		"mib":    func(b float64) string { return mib(b) },
		"size":   humanBytes,
		"medmax": medMax,
		"join":   strings.Join,
		"load":   func(l [3]float64) string { return fmt.Sprintf("%.2f %.2f %.2f", l[0], l[1], l[2]) },
		// note renders the notes' template name with data; a missing note says so.
		"note": func(name string, data any) (string, error) {
			n := t.Lookup(name)
			if n == nil {
				return "(docs/benchmarks-notes.md has no note " + strconv.Quote(name) + ")", nil
			}
			var b bytes.Buffer
			err := n.Execute(&b, data)
			return strings.TrimSpace(b.String()), err
		},
		"g3":    func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) },
		"inc":   func(i int) int { return i + 1 },
		"float": func(v int64) float64 { return float64(v) },
		"divf":  func(v uint64, d float64) float64 { return float64(v) / d },
		"get": func(b results.Benchmark, unit string) float64 {
			v, _ := b.Get(unit)
			return v
		},
		// other is a Go benchmark's units besides time, bytes and allocations: "0 queries/op".
		"other": func(b results.Benchmark) string {
			var parts []string
			for _, v := range b.Values {
				if v.Unit != "ns/op" && v.Unit != "B/op" && v.Unit != "allocs/op" {
					parts = append(parts, strconv.FormatFloat(v.Median, 'g', 4, 64)+" "+v.Unit)
				}
			}
			return strings.Join(parts, ", ")
		},
		// firstPage is the first tokens page measured in Chromium, or nil.
		"firstPage": func(m *Model) *results.TokensPage {
			for _, d := range m.DBs {
				for i := range d.TokensPage {
					if d.TokensPage[i].Failed == "" {
						return &d.TokensPage[i]
					}
				}
			}
			return nil
		},
		// us and ms are a Go benchmark's median ns/op in µs or ms, "?" when not measured.
		"benchUs": func(m *Model, name string) string { return benchIn(m, name, 1e3) },
		"benchMs": func(m *Model, name string) string { return benchIn(m, name, 1e6) },
	}
}

func benchIn(m *Model, name string, div float64) string {
	if v, ok := m.Bench(name, "ns/op"); ok {
		return f1(v / div)
	}
	return "?"
}

func f0(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

func mib(b float64) string {
	if b <= 0 {
		return "–"
	}
	return f1(b/(1<<20)) + " MiB"
}

func humanBytes(v float64) string {
	switch {
	case v >= 1<<20:
		return f1(v/(1<<20)) + " MiB"
	case v >= 1<<10:
		return f1(v/(1<<10)) + " KiB"
	}
	return f0(v) + " B"
}

// medMax is "median (max)" of per-load figures in ms.
func medMax(xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	return f0(results.Median(xs)) + " (" + f0(slices.Max(xs)) + ")"
}
