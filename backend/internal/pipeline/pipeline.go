// Package pipeline holds what CI systems record, pipeline runs, and the daily metrics computed
// from them (code coverage, build success rate, build duration, deployment frequency).
package pipeline

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
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

// Store is what pipeline runs need from persistence.
type Store interface {
	// InsertRun stores a new run, creating its workload on first use. Conflict if a run with
	// the same workload and id exists.
	InsertRun(ctx context.Context, r Run) error
	GetRun(ctx context.Context, workload, id string) (Run, error)
	ListRuns(ctx context.Context, q ListQuery) ([]Run, error)
	// RunsBetween returns the runs of the workloads that started in [from, to).
	RunsBetween(ctx context.Context, workloads []string, from, to time.Time) ([]Run, error)
	// Workloads lists the names that exist among names.
	Workloads(ctx context.Context, names []string) ([]string, error)
	// ListWorkloads lists the workloads q selects (Sort set, Search valid), in q's order.
	ListWorkloads(ctx context.Context, q WorkloadQuery) ([]string, error)
	CountWorkloads(ctx context.Context, q WorkloadQuery) (int64, error)
	// DeleteRun deletes one run and stores the event made of it, in one transaction (with the
	// correction of the day's rollup); NotFound when there is no such run.
	DeleteRun(ctx context.Context, workload, id string, event func(Run) audit.Event) (Run, error)
}

// Service records and reads pipeline runs.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns the pipeline service.
func NewService(store Store, now func() time.Time) *Service { return &Service{store: store, now: now} }

// Record stores a run. Recording the same run again returns the stored one (created false);
// the same id with different data is a conflict.
func (s *Service) Record(ctx context.Context, r Run) (stored Run, created bool, err error) {
	if err := Validate(&r); err != nil {
		return Run{}, false, err
	}
	r.RecordedAt = s.now().UTC().Truncate(time.Millisecond)
	err = s.store.InsertRun(ctx, r)
	if apperr.Is(err, apperr.Conflict) {
		existing, gerr := s.store.GetRun(ctx, r.Workload, r.ID)
		if gerr != nil {
			return Run{}, false, gerr
		}
		if existing.Same(r) {
			return existing, false, nil
		}
		return Run{}, false, apperr.New(apperr.RunIDReused, "run %q of workload %q was already recorded with different data: run ids are the CI system's and cannot be reused", r.ID, r.Workload)
	}
	if err != nil {
		return Run{}, false, err
	}
	return r, true, nil
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

// Query computes the requested daily series, days in UTC.
func (s *Service) Query(ctx context.Context, req QueryRequest) ([]Series, error) {
	if len(req.Queries) == 0 {
		return nil, apperr.New(apperr.InvalidField, "queries is required: any of %s", strings.Join(Queries, ", "))
	}
	if len(req.Workloads) == 0 {
		return nil, apperr.New(apperr.InvalidField, "workloads is required: one or more workload names")
	}
	if len(req.Queries) > len(Queries) || len(req.Workloads) > 50 {
		return nil, apperr.New(apperr.InvalidField, "at most %d queries and 50 workloads per request", len(Queries))
	}
	for _, q := range req.Queries {
		if !slices.Contains(Queries, q) {
			return nil, apperr.New(apperr.InvalidField, "unknown query %q: use %s", q, strings.Join(Queries, ", "))
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
	days := int(end.Sub(start).Hours()/24) + 1
	if days > MaxQueryDays {
		return nil, apperr.New(apperr.InvalidField, "dateRange spans %d days: at most %d", days, MaxQueryDays)
	}
	for _, w := range req.Workloads {
		if err := checkName("workload", w, 100); err != nil {
			return nil, err
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
	runs, err := s.store.RunsBetween(ctx, req.Workloads, start, end.AddDate(0, 0, 1))
	if err != nil {
		return nil, err
	}
	byKey := map[string][]Run{} // workload + date
	for _, r := range runs {
		k := r.Workload + "\x00" + r.StartedAt.UTC().Format(time.DateOnly)
		byKey[k] = append(byKey[k], r)
	}
	var out []Series
	for _, w := range req.Workloads {
		for _, q := range req.Queries {
			ser := Series{Query: q, Workload: w, Unit: unitOf(q)}
			for d := range days {
				date := start.AddDate(0, 0, d).Format(time.DateOnly)
				ser.Points = append(ser.Points, compute(q, date, byKey[w+"\x00"+date]))
			}
			out = append(out, ser)
		}
	}
	return out, nil
}

func unitOf(q string) string {
	switch q {
	case QueryCoverage, QuerySuccessRate:
		return "percent"
	case QueryDuration:
		return "seconds"
	default:
		return "deployments"
	}
}

// compute is one day of one query. Coverage: the mean over builds that reported it. Success
// rate: successful builds among finished ones (cancelled runs count for neither). Duration: p50
// and p95 of builds (nearest rank). Deployment frequency: successful deploys.
func compute(q, date string, runs []Run) Point {
	p := Point{Date: date}
	switch q {
	case QueryCoverage:
		var sum float64
		for _, r := range runs {
			if r.Kind == KindBuild && r.Coverage != nil {
				sum += *r.Coverage
				p.Count++
			}
		}
		if p.Count > 0 {
			p.Value = ptr(round(sum / float64(p.Count)))
		}
	case QuerySuccessRate:
		ok := 0
		for _, r := range runs {
			if r.Kind == KindBuild && r.Status != StatusCancelled {
				p.Count++
				if r.Status == StatusSuccess {
					ok++
				}
			}
		}
		if p.Count > 0 {
			p.Value = ptr(round(100 * float64(ok) / float64(p.Count)))
		}
	case QueryDuration:
		var ds []float64
		for _, r := range runs {
			if r.Kind == KindBuild {
				ds = append(ds, r.FinishedAt.Sub(r.StartedAt).Seconds())
			}
		}
		p.Count = len(ds)
		if len(ds) > 0 {
			sort.Float64s(ds)
			p.P50, p.P95 = ptr(round(nearestRank(ds, 50))), ptr(round(nearestRank(ds, 95)))
			p.Value = p.P50
		}
	case QueryDeployFreq:
		n := 0
		for _, r := range runs {
			if r.Kind == KindDeploy && r.Status == StatusSuccess {
				n++
			}
		}
		p.Count = n
		p.Value = ptr(float64(n))
	default:
		panic(fmt.Sprintf("unknown query %q", q))
	}
	return p
}

func nearestRank(sorted []float64, pct float64) float64 {
	i := int(math.Ceil(pct/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func round(v float64) float64 { return math.Round(v*100) / 100 }

func ptr(v float64) *float64 { return &v }
