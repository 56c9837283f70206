// Package results is the JSON document one benchmark run writes and the report is rendered
// from. Each scenario fills its own field; a new scenario adds a field here (and a section to
// the report's template).
package results

import (
	"encoding/json"
	"os"
	"slices"
	"time"

	"github.com/codemetrics/codemetrics/bench/internal/load"
)

// Results is everything one run measured.
type Results struct {
	Run       Run         `json:"run"`
	Databases []*Database `json:"databases"`
	// Binary is the size of the measured bin/codemetrics.
	BinaryBytes int64    `json:"binaryBytes,omitempty"`
	GoBench     *GoBench `json:"goBench,omitempty"`
	Profile     *Profile `json:"profile,omitempty"`
	// Cluster is the replicas on a Galera cluster (make bench-cluster).
	Cluster *Cluster `json:"cluster,omitempty"`
}

// Run says when, where and how the figures were taken.
type Run struct {
	Command     string     `json:"command"`
	Date        time.Time  `json:"date"`
	CPU         string     `json:"cpu"`
	Cores       int        `json:"cores"`
	MemoryBytes uint64     `json:"memoryBytes"`
	OS          string     `json:"os"`
	Go          string     `json:"go"`
	MariaDB     string     `json:"mariadb"`
	Commit      string     `json:"commit"`
	LoadStart   [3]float64 `json:"loadAverageStart"`
	LoadEnd     [3]float64 `json:"loadAverageEnd"`
	Settings    Settings   `json:"settings"`
	// Skipped names what was not measured and why (e.g. "browser": "BENCH_BROWSER=0").
	Skipped map[string]string `json:"skipped,omitempty"`
}

// Settings are the knobs of the run (BENCH_* variables).
type Settings struct {
	Rounds       int      `json:"rounds"`
	Duration     Duration `json:"duration"`
	Warmup       Duration `json:"warmup"`
	Rate         float64  `json:"rate"`
	BrowserLoads int      `json:"browserLoads"`
}

// Duration is a time.Duration written as Go writes it ("4s").
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Database is what was measured on one database ("sqlite" or "mysql").
type Database struct {
	Name       string       `json:"name"`
	Startup    []Startup    `json:"startup,omitempty"`
	Resources  Resources    `json:"resources"`
	Throughput []LoadRun    `json:"throughput,omitempty"`
	OpenLoop   []LoadRun    `json:"openLoop,omitempty"`
	Statements *Statements  `json:"statements,omitempty"`
	Revocation *Revocation  `json:"revocation,omitempty"`
	TokenList  []TokenList  `json:"tokenList,omitempty"`
	TokensPage []TokensPage `json:"tokensPage,omitempty"`
	Pipeline   *Pipeline    `json:"pipeline,omitempty"`
	// Dashboard is the dashboard in Chromium at a few runs and at many.
	Dashboard []DashboardPage `json:"dashboard,omitempty"`
	// Scale is the pipeline's reads at ten times the large size (make bench-scale).
	Scale *Scale `json:"scale,omitempty"`
}

// DashboardPage is the dashboard in Chromium (e2e/bench/dashboard-page.mjs) with Runs runs over
// Workloads workloads: one value per page load, in ms from navigation start.
type DashboardPage struct {
	Runs                   int       `json:"runs"`
	Workloads              int       `json:"workloads"`
	SeedSeconds            float64   `json:"seedSeconds,omitempty"`
	Failed                 string    `json:"failed,omitempty"`
	Loads                  int       `json:"loads"`
	Chromium               string    `json:"chromium"`
	Charted                int       `json:"charted"` // workloads charted
	Charts                 int       `json:"charts"`  // charts drawn
	PickerTotal            int       `json:"pickerTotal"`
	FirstContentfulPaintMs []float64 `json:"firstContentfulPaintMs"`
	WorkloadsResponseEndMs []float64 `json:"workloadsResponseEndMs"`
	QueryResponseEndMs     []float64 `json:"queryResponseEndMs"`
	PickerMs               []float64 `json:"pickerMs"`
	ChartsMs               []float64 `json:"chartsMs"`
	UsableMs               []float64 `json:"usableMs"`
}

// Scale is the pipeline scenario's reads at Runs runs (10,000,000 on SQLite), beside the same
// reads at the scenario's small size in the same run (Baseline), with how the runs were seeded.
type Scale struct {
	Runs           int            `json:"runs"`
	Command        string         `json:"command"`
	Date           time.Time      `json:"date"`
	SeedRuns       int            `json:"seedRuns"`
	SeedSeconds    float64        `json:"seedSeconds"`
	SeedRunsPerSec float64        `json:"seedRunsPerSec"`
	DatabaseBytes  int64          `json:"databaseBytes,omitempty"`
	Reads          []PipelineRead `json:"reads"` // at Runs
	Baseline       []PipelineRead `json:"baseline"`
	Skipped        string         `json:"skipped,omitempty"` // why it was not measured
}

// Pipeline is the pipeline-runs scenario: recording through the batch endpoint against a bare
// INSERT of the same rows, the year-long query and the run list at two sizes, memory under
// concurrent queries, and single-run recording.
type Pipeline struct {
	Workloads       int     `json:"workloads"`
	Clients         int     `json:"batchClients"`
	BatchRuns       int     `json:"batchRuns"`
	BatchRunsPerSec float64 `json:"batchRunsPerSec"`
	// BareRuns rows of the same runs, a single-row INSERT each in a loop, 1000 to a
	// transaction, into a scratch table made as pipeline_runs is in the same database.
	BareRuns       int                 `json:"bareRuns,omitempty"`
	BareRunsPerSec float64             `json:"bareRunsPerSec,omitempty"`
	Reads          []PipelineRead      `json:"reads"`
	Concurrent     *PipelineConcurrent `json:"concurrent,omitempty"`
	Single         *load.Result        `json:"singleRun,omitempty"`
}

// PipelineRead is one read request (query, runs, runs-workload), one connection, at Runs runs.
type PipelineRead struct {
	Runs    int    `json:"runs"`
	Request string `json:"request"`
	load.Result
}

// PipelineConcurrent is Conns connections of year-long queries, with A's peak resident memory
// and /readyz read every 100 ms meanwhile.
type PipelineConcurrent struct {
	Runs         int     `json:"runs"`
	Conns        int     `json:"conns"`
	PeakRSSBytes float64 `json:"peakRssBytes"`
	Readings     int     `json:"readings"`
	NotReady     int     `json:"notReady"`
	load.Result
}

// Startup is the time from exec to the first 200 on /healthz, per start.
type Startup struct {
	State  string    `json:"state"` // "fresh" (empty database: migrations run) or "migrated"
	RunsMs []float64 `json:"runsMs"`
}

// Resources are instance A's resident memory readings (process_resident_memory_bytes).
type Resources struct {
	IdleRSSBytes float64 `json:"idleRssBytes,omitempty"` // 2 s after start, before any load
	LoadRSSBytes float64 `json:"loadRssBytes,omitempty"` // 3 s into the 64-connection load
	PeakRSSBytes float64 `json:"peakRssBytes,omitempty"` // the highest reading up to the end of the loads
	PeakReadings int     `json:"peakReadings,omitempty"` // how many readings PeakRSSBytes is the highest of
}

// LoadRun is one load run: closed loop (Throughput) or open loop (OpenLoop, Rate > 0).
type LoadRun struct {
	Target string  `json:"target"` // healthz, auth or bare
	Conns  int     `json:"conns"`
	Round  int     `json:"round"`
	Rate   float64 `json:"rate,omitempty"`
	load.Result
}

// Statements counts MariaDB's Questions over the same time idle and under authenticated load.
type Statements struct {
	Instances  int     `json:"instances"`
	Seconds    float64 `json:"seconds"`
	IdleDelta  int64   `json:"idleDelta"`
	LoadDelta  int64   `json:"loadDelta"`
	Requests   uint64  `json:"requests"`
	PerRequest float64 `json:"perRequest"`
}

// Revocation is the two-instance revocation scenario.
type Revocation struct {
	Conns  int               `json:"conns"`
	Before Duration          `json:"before"`
	After  Duration          `json:"after"`
	Trials []RevocationTrial `json:"trials"`
}

// RevocationTrial is one trial; times are in ms from the moment the DELETE's answer was read.
type RevocationTrial struct {
	DeleteStatus    int              `json:"deleteStatus"`
	DeleteMs        float64          `json:"deleteMs"`
	AOKBefore       int64            `json:"aOkBefore"`
	BOKBefore       int64            `json:"bOkBefore"`
	AOKInFlight     int64            `json:"aOkInFlight"`     // began before, ended after the DELETE returned
	AOKAfter        int64            `json:"aOkAfter"`        // began after the DELETE returned: goal 0
	ARefusedAfter   int64            `json:"aRefusedAfter"`   // 401s on A that began after
	BFirstRefusalMs float64          `json:"bFirstRefusalMs"` // the end of B's first 401; -1: never
	BLastOKStartMs  float64          `json:"bLastOkStartMs"`  // the last B success began here
	BOKAfterRefusal int64            `json:"bOkAfterRefusal"` // B successes that began after its first 401 ended
	Other           map[string]int64 `json:"otherStatuses,omitempty"`
	Errors          int64            `json:"errors"`
}

// TokenList is GET /api/tokens at one number of active tokens.
type TokenList struct {
	Tokens int    `json:"tokens"`
	Page   string `json:"page"` // "all" or the limit
	load.Result
}

// TokensPage is the tokens page in Chromium at one number of tokens (e2e/bench/tokens-page.mjs):
// one value per page load, in ms from navigation start unless the name says otherwise.
type TokensPage struct {
	Tokens                 int       `json:"tokens"`
	Failed                 string    `json:"failed,omitempty"`
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

// Cluster is the cluster scenario: CodeMetrics replicas, each on a node of its own of a MariaDB
// Galera cluster, behind an HTTP HAProxy balancing them round robin.
type Cluster struct {
	Command   string     `json:"command"`
	Date      time.Time  `json:"date"`
	LoadStart [3]float64 `json:"loadAverageStart"`
	LoadEnd   [3]float64 `json:"loadAverageEnd"`
	// Started: the scenario started the cluster (scripts/cluster/galera.sh); otherwise it used
	// the running one CLUSTER_NODES names.
	Started bool     `json:"started"`
	Nodes   []string `json:"nodes"`
	Galera  string   `json:"galera"` // the nodes' version and wsrep provider
	HAProxy string   `json:"haproxy"`
	Conns   int      `json:"conns"`
	// Cores and Settings are those of the cluster's run, which may not be the results' run
	// (make bench-cluster merges its figures into the last make bench's).
	Cores    int      `json:"cores"`
	Settings Settings `json:"settings"`
	// Seconds is each window of the per-replica readings, idle and under load.
	Seconds    float64          `json:"seconds"`
	Replicas   []ClusterReplica `json:"replicas"`
	LoadResult *load.Result     `json:"loadResult,omitempty"` // the load of the per-replica readings
	Throughput []ClusterLoad    `json:"throughput"`
	Revocation *ClusterRevoke   `json:"revocation,omitempty"`
}

// ClusterReplica is one replica's readings: its node's Questions (statements clients sent it;
// the replica is the node's only client besides the benchmark's readings, which are taken out),
// and its own requests and CPU time from its Prometheus metrics, per second, idle and under the
// load through HAProxy.
type ClusterReplica struct {
	Node string `json:"node"`
	// NodeOnlyQueriesPS is the node's statements/s before any replica ran (other clients of
	// the node: galera.sh's HAProxy checks it with a login every second); the figures below
	// have it taken out.
	NodeOnlyQueriesPS float64 `json:"nodeOnlyQueriesPerSec"`

	IdleQueriesPS  float64 `json:"idleQueriesPerSec"`
	LoadQueriesPS  float64 `json:"loadQueriesPerSec"`
	LoadRequestsPS float64 `json:"loadRequestsPerSec"`
	IdleCPU        float64 `json:"idleCpuCores"` // CPU seconds per second
	LoadCPU        float64 `json:"loadCpuCores"`
}

// ClusterLoad is one closed-loop load through HAProxy onto Replicas replicas.
type ClusterLoad struct {
	Replicas int `json:"replicas"`
	Round    int `json:"round"`
	load.Result
}

// ClusterRevoke is the revocations: each revoked through one replica (in turn), every replica
// polled with the token from the moment the DELETE returned until it refuses it.
type ClusterRevoke struct {
	Timeout Duration             `json:"timeout"`
	Trials  []ClusterRevokeTrial `json:"trials"`
}

// ClusterRevokeTrial is one revocation; times in ms from the moment the DELETE's answer was read.
type ClusterRevokeTrial struct {
	Through  int       `json:"through"`  // the revoking replica (1-based)
	DeleteMs float64   `json:"deleteMs"` //
	RefuseMs []float64 `json:"refuseMs"` // per replica, the end of its first 401; -1: not within Timeout
	AllMs    float64   `json:"allMs"`    // the last of RefuseMs; -1 when one never refused
	// OKAfterRefusal counts successes with the token after a replica's first 401 (goal 0).
	OKAfterRefusal int `json:"okAfterRefusal"`
}

// GoBench is the in-process Go benchmarks: the command, its raw output (benchstat input) and
// each benchmark's median per unit.
type GoBench struct {
	Command    string      `json:"command"`
	Raw        string      `json:"raw"`
	Benchmarks []Benchmark `json:"benchmarks"`
}

// Benchmark is one Go benchmark, named "package.Name" (token.VerifyWarm).
type Benchmark struct {
	Name   string  `json:"name"`
	Values []Value `json:"values"` // in the order go test prints them
}

// Value is the median of one unit over the runs.
type Value struct {
	Unit   string  `json:"unit"`
	Median float64 `json:"median"`
}

// Get is the median of unit.
func (b Benchmark) Get(unit string) (float64, bool) {
	for _, v := range b.Values {
		if v.Unit == unit {
			return v.Median, true
		}
	}
	return 0, false
}

// Profile is the CPU profile of the authenticated request path.
type Profile struct {
	Command string `json:"command"`
	Top     string `json:"top"`
}

// Database returns the results of database name, adding them when missing.
func (r *Results) Database(name string) *Database {
	for _, d := range r.Databases {
		if d.Name == name {
			return d
		}
	}
	d := &Database{Name: name}
	r.Databases = append(r.Databases, d)
	return d
}

// Read reads a results file.
func Read(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Write writes r to path.
func (r *Results) Write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Median is the median of xs (0 for none), the figure of every repeated measurement.
func Median(xs []float64) float64 {
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
