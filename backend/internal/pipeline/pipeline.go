// Package pipeline holds what CI systems record, pipeline runs, and the daily metrics computed
// from them (code coverage, build success rate, build duration, deployment frequency).
package pipeline

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
)

// Kinds and statuses of a run.
const (
	KindBuild  = "build"
	KindDeploy = "deploy"

	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Tests are a run's test counts.
type Tests struct {
	Passed  int
	Failed  int
	Skipped int
}

// Run is one pipeline run as a CI system recorded it.
type Run struct {
	ID         string // the CI system's run id, unique within a workload
	Workload   string
	Pipeline   string
	Kind       string
	Status     string
	Branch     string
	Commit     string
	StartedAt  time.Time
	FinishedAt time.Time
	Coverage   *float64 // percent
	Tests      *Tests
	RecordedAt time.Time
	RecordedBy string // the token id (or administrator) that recorded it
	// ServiceUser is the service user whose token recorded it; "" when an administrator did.
	ServiceUser string
}

// Same reports whether r and o describe the same run (what idempotent recording compares).
func (r Run) Same(o Run) bool {
	eqF := (r.Coverage == nil) == (o.Coverage == nil) && (r.Coverage == nil || math.Abs(*r.Coverage-*o.Coverage) < 1e-9)
	eqT := (r.Tests == nil) == (o.Tests == nil) && (r.Tests == nil || *r.Tests == *o.Tests)
	return r.ID == o.ID && r.Workload == o.Workload && r.Pipeline == o.Pipeline && r.Kind == o.Kind &&
		r.Status == o.Status && r.Branch == o.Branch && r.Commit == o.Commit &&
		r.StartedAt.Equal(o.StartedAt) && r.FinishedAt.Equal(o.FinishedAt) && eqF && eqT
}

// Cursor continues a run list after the given run.
type Cursor struct {
	StartedAt time.Time
	Workload  string
	ID        string
}

// ListQuery selects runs, newest first.
type ListQuery struct {
	Workload string // "" for all
	Limit    int
	After    *Cursor

	// Only, when not nil, keeps the runs of these workloads (a service user's).
	Only []string
	// ServiceUser, when set, keeps the runs recorded by that service user's tokens.
	ServiceUser string
}

// Recorded is what storing a run found: it was created, or a run was stored under its
// workload and id already (Existing).
type Recorded struct {
	Created  bool
	Existing Run
}

// Store is what pipeline runs need from persistence.
type Store interface {
	// InsertRuns stores the runs whose workload and id are new, creating workloads on first
	// use, and counts each in its rollup in the same transaction; for each run it returns
	// whether it was created or the run already stored. The runs' keys are distinct.
	InsertRuns(ctx context.Context, runs []Run) ([]Recorded, error)
	ListRuns(ctx context.Context, q ListQuery) ([]Run, error)
	// Rollups calls each with the rollups q selects, in no particular order.
	Rollups(ctx context.Context, q RollupQuery, each func(RollupKey, Rollup) error) error
	// Workloads lists the names that exist among names.
	Workloads(ctx context.Context, names []string) ([]string, error)
	// ListWorkloads lists the workloads q selects (Sort set, Search valid), in q's order.
	ListWorkloads(ctx context.Context, q WorkloadQuery) ([]string, error)
	CountWorkloads(ctx context.Context, q WorkloadQuery) (int64, error)
	// DeleteRun deletes one run and stores the event made of it, in one transaction (with the
	// correction of the day's rollup); NotFound when there is no such run.
	DeleteRun(ctx context.Context, workload, id string, event func(Run) audit.Event) (Run, error)
	// DeleteRunsStartedBefore deletes up to limit runs that started before t, oldest first,
	// leaving their rollups as they are; it returns how many it deleted.
	DeleteRunsStartedBefore(ctx context.Context, t time.Time, limit int) (int, error)
	// RollupsComplete reports whether every stored run is counted in the rollups (false while
	// the runs of before the rollups are being counted).
	RollupsComplete(ctx context.Context) (bool, error)
}

// RollupQuery selects rollups: of the named workloads, on days From to To (inclusive, as DayOf
// numbers them), of the kinds named (all when none). Their P50 and P95 are always read; the
// sketches only WithDurations (a query never needs them).
type RollupQuery struct {
	Workloads     []string
	From, To      int64
	Kinds         []string
	WithDurations bool
}

// Options tune the service.
type Options struct {
	// Retention, when positive, is how long runs are kept after they started; older ones are
	// deleted by PruneRuns (their rollups stay) and refused when recorded.
	Retention time.Duration
}

// Service records and reads pipeline runs.
type Service struct {
	store Store
	now   func() time.Time
	opt   Options
}

// NewService returns the pipeline service.
func NewService(store Store, now func() time.Time, opt Options) *Service {
	return &Service{store: store, now: now, opt: opt}
}

// MaxFuture is how far in the future a run may start: a little clock skew, not a run that
// would sit on top of the newest runs for ever.
const MaxFuture = 24 * time.Hour

// check validates a run as of now: its fields, and a start neither too far in the future nor
// older than the retention keeps.
func (s *Service) check(r *Run, now time.Time) error {
	if err := Validate(r); err != nil {
		return err
	}
	if r.StartedAt.After(now.Add(MaxFuture)) {
		return apperr.New(apperr.InvalidField, "startedAt %s is more than a day in the future: send the time the run started, with its UTC offset", r.StartedAt.Format(time.RFC3339))
	}
	if s.opt.Retention > 0 && r.StartedAt.Before(now.Add(-s.opt.Retention)) {
		return apperr.New(apperr.InvalidField, "startedAt %s is older than the retention period (%s): runs that old are not kept", r.StartedAt.Format(time.RFC3339), s.opt.Retention)
	}
	return nil
}

func errReused(r Run) error {
	return apperr.New(apperr.RunIDReused, "run %q of workload %q was already recorded with different data: run ids are the CI system's and cannot be reused", r.ID, r.Workload)
}

// Record stores a run. Recording the same run again returns the stored one (created false);
// the same id with different data is a conflict.
func (s *Service) Record(ctx context.Context, r Run) (stored Run, created bool, err error) {
	now := s.now()
	if err := s.check(&r, now); err != nil {
		return Run{}, false, err
	}
	r.RecordedAt = now.UTC().Truncate(time.Millisecond)
	res, err := s.store.InsertRuns(ctx, []Run{r})
	if err != nil {
		return Run{}, false, err
	}
	switch {
	case res[0].Created:
		return r, true, nil
	case res[0].Existing.Same(r):
		return res[0].Existing, false, nil
	default:
		return Run{}, false, errReused(r)
	}
}

// Statuses of a run in a batch.
const (
	BatchCreated   = "created"
	BatchUnchanged = "unchanged"
	BatchConflict  = "conflict"
	BatchInvalid   = "invalid"
)

// MaxBatch is the most runs one batch may hold.
const MaxBatch = 1000

// BatchResult is what became of one run of a batch: a Batch* status, and for a conflict or an
// invalid run the error saying why.
type BatchResult struct {
	Status string
	Err    error
}

// RecordBatch records up to MaxBatch runs at once, as Record would one by one: each valid run is
// stored (or found stored already) whatever becomes of the others. A run repeated within the
// batch is compared with its first occurrence's outcome: the same run is unchanged, a
// different one a conflict. The store writes the batch in a few transactions, not one per run.
// An error means the database failed; runs stored before it stay stored, so sending the batch
// again is safe (they come back unchanged).
func (s *Service) RecordBatch(ctx context.Context, runs []Run) ([]BatchResult, error) {
	if len(runs) > MaxBatch {
		return nil, apperr.New(apperr.InvalidField, "a batch holds at most %d runs, not %d", MaxBatch, len(runs))
	}
	now := s.now()
	recordedAt := now.UTC().Truncate(time.Millisecond)
	out := make([]BatchResult, len(runs))
	type key struct{ workload, id string }
	first := map[key]int{}             // a run's key -> its index in unique
	uniqueOf := make([]int, len(runs)) // a run's index in unique, -1 when invalid
	var unique []Run
	var firstAt []int // unique's runs' indexes in runs
	for i := range runs {
		if err := s.check(&runs[i], now); err != nil {
			out[i], uniqueOf[i] = BatchResult{Status: BatchInvalid, Err: err}, -1
			continue
		}
		runs[i].RecordedAt = recordedAt
		k := key{runs[i].Workload, runs[i].ID}
		j, ok := first[k]
		if !ok {
			j = len(unique)
			first[k] = j
			unique = append(unique, runs[i])
			firstAt = append(firstAt, i)
		}
		uniqueOf[i] = j
	}
	if len(unique) == 0 {
		return out, nil
	}
	res, err := s.store.InsertRuns(ctx, unique)
	if err != nil {
		return nil, err
	}
	for i, j := range uniqueOf {
		if j < 0 {
			continue
		}
		stored := unique[j]
		if !res[j].Created {
			stored = res[j].Existing
		}
		switch {
		case res[j].Created && firstAt[j] == i:
			out[i] = BatchResult{Status: BatchCreated}
		case stored.Same(runs[i]):
			out[i] = BatchResult{Status: BatchUnchanged}
		default:
			out[i] = BatchResult{Status: BatchConflict, Err: errReused(runs[i])}
		}
	}
	return out, nil
}

// PruneBatch is how many runs one statement of PruneRuns deletes: small, so that recording
// never waits long behind it.
const PruneBatch = 500

// PruneRuns deletes the runs older than the retention, in batches of PruneBatch, and returns
// how many it deleted; their rollups stay, so the daily metrics keep those days. It does
// nothing without a retention, or while older runs are still being counted in the rollups.
func (s *Service) PruneRuns(ctx context.Context) (int, error) {
	if s.opt.Retention <= 0 {
		return 0, nil
	}
	if ok, err := s.store.RollupsComplete(ctx); err != nil || !ok {
		return 0, err
	}
	cutoff := s.now().Add(-s.opt.Retention)
	total := 0
	for {
		n, err := s.store.DeleteRunsStartedBefore(ctx, cutoff, PruneBatch)
		total += n
		if err != nil || n < PruneBatch {
			return total, err
		}
	}
}

// List returns runs newest first.
func (s *Service) List(ctx context.Context, q ListQuery) ([]Run, error) {
	if q.Workload != "" {
		if err := checkName("workload", q.Workload, 100); err != nil {
			return nil, err
		}
	}
	if err := checkServiceUserFilter(q.ServiceUser); err != nil {
		return nil, err
	}
	return s.store.ListRuns(ctx, q)
}

var (
	namePattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
	commitPattern = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)
)

func checkName(field, v string, maxLen int) error {
	if v == "" {
		return apperr.New(apperr.InvalidField, "%s is required", field)
	}
	if len(v) > maxLen || !namePattern.MatchString(v) {
		return apperr.New(apperr.InvalidField, "%s must be 1 to %d characters of letters, digits, '.', '_', '-' or '/', starting with a letter or digit", field, maxLen)
	}
	return nil
}

// checkText checks free text such as a branch or pipeline name.
func checkText(field, v string, maxLen int) error {
	if v == "" || utf8.RuneCountInString(v) > maxLen || !utf8.ValidString(v) || strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f || c == utf8.RuneError }) {
		return apperr.New(apperr.InvalidField, "%s is required: 1 to %d characters without control characters", field, maxLen)
	}
	return nil
}

// Validate checks a run field by field and normalises its times to UTC milliseconds.
func Validate(r *Run) error {
	if err := checkName("id", r.ID, 200); err != nil {
		return err
	}
	if err := checkName("workload", r.Workload, 100); err != nil {
		return err
	}
	if err := checkText("pipeline", r.Pipeline, 200); err != nil {
		return err
	}
	if r.Kind != KindBuild && r.Kind != KindDeploy {
		return apperr.New(apperr.InvalidField, "kind must be %q or %q", KindBuild, KindDeploy)
	}
	if !slices.Contains([]string{StatusSuccess, StatusFailed, StatusCancelled}, r.Status) {
		return apperr.New(apperr.InvalidField, "status must be %q, %q or %q", StatusSuccess, StatusFailed, StatusCancelled)
	}
	if err := checkText("branch", r.Branch, 250); err != nil {
		return err
	}
	if !commitPattern.MatchString(r.Commit) {
		return apperr.New(apperr.InvalidField, "commit must be a hexadecimal commit hash of 7 to 64 characters")
	}
	if r.StartedAt.IsZero() || r.FinishedAt.IsZero() {
		return apperr.New(apperr.InvalidField, "startedAt and finishedAt are required (RFC 3339 times)")
	}
	if r.FinishedAt.Before(r.StartedAt) {
		return apperr.New(apperr.InvalidField, "finishedAt is before startedAt")
	}
	if r.FinishedAt.Sub(r.StartedAt) > 7*24*time.Hour {
		return apperr.New(apperr.InvalidField, "a run cannot last longer than 7 days")
	}
	if r.Coverage != nil && (math.IsNaN(*r.Coverage) || *r.Coverage < 0 || *r.Coverage > 100) {
		return apperr.New(apperr.InvalidField, "coverage is a percentage from 0 to 100")
	}
	if r.Tests != nil && (r.Tests.Passed < 0 || r.Tests.Failed < 0 || r.Tests.Skipped < 0) {
		return apperr.New(apperr.InvalidField, "tests counts cannot be negative")
	}
	r.StartedAt = r.StartedAt.UTC().Truncate(time.Millisecond)
	r.FinishedAt = r.FinishedAt.UTC().Truncate(time.Millisecond)
	return nil
}

// Query names.
const (
	QueryCoverage    = "code-coverage"
	QuerySuccessRate = "build-success-rate"
	QueryDuration    = "build-duration"
	QueryDeployFreq  = "deployment-frequency"
)

// Queries lists every query, in the order they are documented.
var Queries = []string{QueryCoverage, QuerySuccessRate, QueryDuration, QueryDeployFreq}

// MaxQueryDays bounds a query's date range.
const MaxQueryDays = 366

// QueryRequest asks for daily series of some queries over some workloads.
type QueryRequest struct {
	Queries   []string
	Workloads []string
	Start     string // YYYY-MM-DD, inclusive, UTC
	End       string // YYYY-MM-DD, inclusive, UTC
}

// Point is one day of a series. Value is nil on a day without data; P50/P95 belong to
// build-duration (seconds).
type Point struct {
	Date  string
	Value *float64
	P50   *float64
	P95   *float64
	Count int // runs that day the value is computed from
}

// Series is one query for one workload.
type Series struct {
	Query    string
	Workload string
	Unit     string
	Points   []Point
}

// Query computes the requested daily series, days in UTC, from the rollups alone: its cost
// and memory go with days × workloads, never with the number of runs. It is Prepare and Each
// collected into Series (the HTTP answer streams them instead).
func (s *Service) Query(ctx context.Context, req QueryRequest) ([]Series, error) {
	a, err := s.PrepareQuery(ctx, req)
	if err != nil {
		return nil, err
	}
	out := make([]Series, 0, len(a.Workloads)*len(a.Queries))
	err = a.Each(ctx, func(w string, days []DayRollups) error {
		for _, q := range a.Queries {
			ser := Series{Query: q, Workload: w, Unit: UnitOf(q), Points: make([]Point, len(days))}
			for d := range days {
				ser.Points[d] = ValueOf(q, &days[d]).Point(a.Dates[d])
			}
			out = append(out, ser)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Answer is a query checked and ready to be read: one series per workload and query, workload
// by workload in the order asked (then query by query), each of one point per day of Dates.
type Answer struct {
	Queries, Workloads []string
	Dates              []string // YYYY-MM-DD, UTC, first to last
	store              Store
	rq                 RollupQuery
}

// DayRollups is what a query reads of one workload's day: the rollup of its builds and the one
// of its deploys (zero when the day had none).
type DayRollups struct{ Build, Deploy Rollup }

// PrepareQuery checks req (names, sizes, dates, duplicates) and that its workloads exist, so
// that whatever can be refused is refused before any of the answer is read.
func (s *Service) PrepareQuery(ctx context.Context, req QueryRequest) (*Answer, error) {
	if len(req.Queries) == 0 {
		return nil, apperr.New(apperr.InvalidField, "queries is required: any of %s", strings.Join(Queries, ", "))
	}
	if len(req.Workloads) == 0 {
		return nil, apperr.New(apperr.InvalidField, "workloads is required: one or more workload names")
	}
	if len(req.Queries) > len(Queries) || len(req.Workloads) > MaxQueryWorkloads {
		return nil, apperr.New(apperr.InvalidField, "at most %d queries and %d workloads per request", len(Queries), MaxQueryWorkloads)
	}
	for i, q := range req.Queries {
		if !slices.Contains(Queries, q) {
			return nil, apperr.New(apperr.InvalidField, "unknown query %q: use %s", q, strings.Join(Queries, ", "))
		}
		if slices.Contains(req.Queries[:i], q) {
			return nil, apperr.New(apperr.InvalidField, "query %q is asked twice: name each query once", q)
		}
	}
	start, err := time.Parse(time.DateOnly, req.Start)
	if err != nil {
		return nil, apperr.New(apperr.InvalidField, "dateRange.start must be a date such as 2024-01-31")
	}
	end, err := time.Parse(time.DateOnly, req.End)
	if err != nil {
		return nil, apperr.New(apperr.InvalidField, "dateRange.end must be a date such as 2024-12-31")
	}
	if end.Before(start) {
		return nil, apperr.New(apperr.InvalidField, "dateRange is reversed: end %s is before start %s", req.End, req.Start)
	}
	first, last := DayOf(start), DayOf(end)
	days := int(last-first) + 1
	if days > MaxQueryDays {
		return nil, apperr.New(apperr.InvalidField, "dateRange spans %d days: at most %d", days, MaxQueryDays)
	}
	for i, w := range req.Workloads {
		if err := checkName("workload", w, 100); err != nil {
			return nil, err
		}
		if slices.Contains(req.Workloads[:i], w) {
			return nil, apperr.New(apperr.InvalidField, "workload %q is asked twice: name each workload once", w)
		}
	}
	known, err := s.store.Workloads(ctx, req.Workloads)
	if err != nil {
		return nil, err
	}
	for _, w := range req.Workloads {
		if !slices.Contains(known, w) {
			return nil, apperr.New(apperr.UnknownWorkload, "unknown workload %q: it has recorded no pipeline run yet", w)
		}
	}
	a := &Answer{Queries: req.Queries, Workloads: req.Workloads, Dates: make([]string, days), store: s.store,
		rq: RollupQuery{Workloads: req.Workloads, From: first, To: last}}
	for d := range days {
		a.Dates[d] = start.AddDate(0, 0, d).Format(time.DateOnly)
	}
	if !slices.Contains(req.Queries, QueryDeployFreq) {
		a.rq.Kinds = []string{KindBuild}
	} else if len(req.Queries) == 1 {
		a.rq.Kinds = []string{KindDeploy}
	}
	return a, nil
}

// Each reads the answer's rollups and calls fn once per workload, in the order asked, with the
// workload's days (days[i] is Dates[i]; a day without runs is zero). days is reused for the
// next workload: fn must not keep it. What is held is one workload's days, however many
// workloads were asked and however many runs the days count.
func (a *Answer) Each(ctx context.Context, fn func(workload string, days []DayRollups) error) error {
	days := make([]DayRollups, len(a.Dates))
	next := 0 // the index in a.Workloads of the workload being read
	flushTo := func(end int) error {
		for ; next < end; next++ {
			if err := fn(a.Workloads[next], days); err != nil {
				return err
			}
			clear(days)
		}
		return nil
	}
	err := a.store.Rollups(ctx, a.rq, func(k RollupKey, r Rollup) error {
		if k.Workload != a.Workloads[next] {
			i := slices.Index(a.Workloads[next:], k.Workload)
			if i < 0 {
				return apperr.New(apperr.Internal, "the rollups of workload %q came out of order", k.Workload)
			}
			if err := flushTo(next + i); err != nil {
				return err
			}
		}
		if k.Day < a.rq.From || k.Day > a.rq.To {
			return nil
		}
		d := &days[k.Day-a.rq.From]
		if k.Kind == KindDeploy {
			d.Deploy = r
		} else {
			d.Build = r
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flushTo(len(a.Workloads))
}

// MaxQueryWorkloads bounds the workloads of one query.
const MaxQueryWorkloads = 50

// UnitOf is the unit of a query's values.
func UnitOf(q string) string {
	switch q {
	case QueryCoverage, QuerySuccessRate:
		return "percent"
	case QueryDuration:
		return "seconds"
	default:
		return "deployments"
	}
}

// Value is one day of one query in plain values, what a Point says without pointers: Null on a
// day without data (Value zero); P50 and P95, when Percentiles, are build-duration's.
type Value struct {
	Null, Percentiles bool
	Value, P50, P95   float64
	Count             int // runs that day the value is computed from
}

// Point is v as the point of date.
func (v Value) Point(date string) Point {
	p := Point{Date: date, Count: v.Count}
	if !v.Null {
		p.Value = ptr(v.Value)
	}
	if v.Percentiles {
		p.P50, p.P95 = ptr(v.P50), ptr(v.P95)
	}
	return p
}

// ValueOf is one day of query q, from the day's rollups: those of its builds, or of its deploys
// for deployment-frequency. Coverage: the mean over builds that reported one. Success rate:
// successful builds among finished ones (cancelled runs count for neither). Duration: p50 and
// p95 of builds by nearest rank, within DurationAccuracy. Deployment frequency: successful
// deploys (0, not null, on a day without any).
func ValueOf(q string, d *DayRollups) Value {
	switch q {
	case QueryCoverage:
		r := &d.Build
		if r.CoverageCount == 0 {
			return Value{Null: true}
		}
		return Value{Value: meanOf(r.CoverageSum, r.CoverageCount), Count: int(r.CoverageCount)}
	case QuerySuccessRate:
		r := &d.Build
		finished := r.Succeeded + r.Failed
		if finished == 0 {
			return Value{Null: true}
		}
		return Value{Value: round(100 * float64(r.Succeeded) / float64(finished)), Count: int(finished)}
	case QueryDuration:
		r := &d.Build
		n := r.Runs()
		if n == 0 {
			return Value{Null: true}
		}
		p50, p95 := r.Percentiles()
		p50, p95 = round(p50), round(p95)
		return Value{Percentiles: true, Value: p50, P50: p50, P95: p95, Count: int(n)}
	case QueryDeployFreq:
		return Value{Value: float64(d.Deploy.Succeeded), Count: int(d.Deploy.Succeeded)}
	default:
		panic(fmt.Sprintf("unknown query %q", q))
	}
}

// DayPoint is one day of one query as a Point, from the day's rollup of the query's kind
// (builds, or deploys for deployment-frequency; nil for a day without such runs): ValueOf.
func DayPoint(q, date string, r *Rollup) Point {
	var d DayRollups
	if r != nil {
		if q == QueryDeployFreq {
			d.Deploy = *r
		} else {
			d.Build = *r
		}
	}
	return ValueOf(q, &d).Point(date)
}

// meanOf is sum/count (sum in CoverageScale units) rounded to 0.01, half away from zero,
// computed exactly in integers.
func meanOf(sum, count int64) float64 {
	den := count * (CoverageScale / 100) // hundredths of a percent
	q, rem := sum/den, sum%den
	if 2*rem >= den {
		q++
	}
	return float64(q) / 100
}

func round(v float64) float64 { return math.Round(v*100) / 100 }

func ptr(v float64) *float64 { return &v }
