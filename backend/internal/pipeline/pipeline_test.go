package pipeline_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

var day = time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC)

// validRun is a run every rule accepts.
func validRun() pipeline.Run {
	return pipeline.Run{
		ID: "gh-1", Workload: "my-team", Pipeline: "main-ci", Kind: pipeline.KindBuild, Status: pipeline.StatusSuccess,
		Branch: "main", Commit: "0123456789abcdef", StartedAt: day, FinishedAt: day.Add(5 * time.Minute),
	}
}

func ptr(v float64) *float64 { return &v }

// TestValidate changes one field of a valid run at a time: each refusal is an invalid_field
// error whose message names the field and what it must be; the edges of each rule pass.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*pipeline.Run)
		want   string // "" when the run is valid
	}{
		{"valid", func(*pipeline.Run) {}, ""},
		{"no id", func(r *pipeline.Run) { r.ID = "" }, "id is required"},
		{"id of 200 characters", func(r *pipeline.Run) { r.ID = strings.Repeat("a", 200) }, ""},
		{"id of 201 characters", func(r *pipeline.Run) { r.ID = strings.Repeat("a", 201) }, "id must be 1 to 200 characters"},
		{"id with a space", func(r *pipeline.Run) { r.ID = "gh 1" }, "id must be"},
		{"id starting with a dot", func(r *pipeline.Run) { r.ID = ".gh" }, "starting with a letter or digit"},
		{"id with a path", func(r *pipeline.Run) { r.ID = "org/repo/42" }, ""},
		{"no workload", func(r *pipeline.Run) { r.Workload = "" }, "workload is required"},
		{"workload of 101 characters", func(r *pipeline.Run) { r.Workload = strings.Repeat("w", 101) }, "workload must be 1 to 100 characters"},
		{"no pipeline", func(r *pipeline.Run) { r.Pipeline = "" }, "pipeline is required"},
		{"pipeline with a newline", func(r *pipeline.Run) { r.Pipeline = "ci\nnext" }, "without control characters"},
		{"pipeline in Unicode", func(r *pipeline.Run) { r.Pipeline = "intégration 🚀" }, ""},
		{"kind test", func(r *pipeline.Run) { r.Kind = "test" }, `kind must be "build" or "deploy"`},
		{"kind deploy", func(r *pipeline.Run) { r.Kind = pipeline.KindDeploy }, ""},
		{"status ok", func(r *pipeline.Run) { r.Status = "ok" }, `status must be "success", "failed" or "cancelled"`},
		{"status cancelled", func(r *pipeline.Run) { r.Status = pipeline.StatusCancelled }, ""},
		{"branch of 250 characters", func(r *pipeline.Run) { r.Branch = strings.Repeat("é", 250) }, ""},
		{"branch of 251 characters", func(r *pipeline.Run) { r.Branch = strings.Repeat("é", 251) }, "branch is required: 1 to 250 characters"},
		{"branch of invalid UTF-8", func(r *pipeline.Run) { r.Branch = "main\xff" }, "branch is required"},
		{"commit of 6 characters", func(r *pipeline.Run) { r.Commit = "abcdef" }, "commit must be a hexadecimal commit hash of 7 to 64 characters"},
		{"commit of 7 characters", func(r *pipeline.Run) { r.Commit = "abcdef0" }, ""},
		{"commit of 64 characters", func(r *pipeline.Run) { r.Commit = strings.Repeat("f", 64) }, ""},
		{"commit of 65 characters", func(r *pipeline.Run) { r.Commit = strings.Repeat("f", 65) }, "commit must be"},
		{"commit not hexadecimal", func(r *pipeline.Run) { r.Commit = "xyz0123" }, "commit must be"},
		{"no start", func(r *pipeline.Run) { r.StartedAt = time.Time{} }, "startedAt and finishedAt are required"},
		{"no finish", func(r *pipeline.Run) { r.FinishedAt = time.Time{} }, "startedAt and finishedAt are required"},
		{"finished before it started", func(r *pipeline.Run) { r.FinishedAt = day.Add(-time.Second) }, "finishedAt is before startedAt"},
		{"finished as it started", func(r *pipeline.Run) { r.FinishedAt = day }, ""},
		{"lasting 7 days", func(r *pipeline.Run) { r.FinishedAt = day.Add(7 * 24 * time.Hour) }, ""},
		{"lasting 7 days and a second", func(r *pipeline.Run) { r.FinishedAt = day.Add(7*24*time.Hour + time.Second) }, "longer than 7 days"},
		{"coverage 0", func(r *pipeline.Run) { r.Coverage = ptr(0) }, ""},
		{"coverage 100", func(r *pipeline.Run) { r.Coverage = ptr(100) }, ""},
		{"coverage over 100", func(r *pipeline.Run) { r.Coverage = ptr(100.01) }, "coverage is a percentage from 0 to 100"},
		{"coverage negative", func(r *pipeline.Run) { r.Coverage = ptr(-0.01) }, "coverage is a percentage"},
		{"coverage NaN", func(r *pipeline.Run) { r.Coverage = ptr(math.NaN()) }, "coverage is a percentage"},
		{"tests all zero", func(r *pipeline.Run) { r.Tests = &pipeline.Tests{} }, ""},
		{"tests negative", func(r *pipeline.Run) { r.Tests = &pipeline.Tests{Passed: 3, Skipped: -1} }, "tests counts cannot be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validRun()
			tc.change(&r)
			err := pipeline.Validate(&r)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (apperr.ReasonOf(err) != apperr.InvalidField || !strings.Contains(apperr.MessageOf(err), tc.want)):
				t.Errorf("Validate = %v (reason %q), want invalid_field saying %q", err, apperr.ReasonOf(err), tc.want)
			}
		})
	}
}

// TestValidateStoresTimesInUTCMilliseconds: what a CI system sends in its own zone, to the
// nanosecond, is kept as the same instant in UTC, to the millisecond the API shows.
func TestValidateStoresTimesInUTCMilliseconds(t *testing.T) {
	r := validRun()
	paris := time.FixedZone("CET", 3600)
	r.StartedAt = time.Date(2026, 2, 10, 9, 0, 0, 123456789, paris)
	r.FinishedAt = r.StartedAt.Add(90 * time.Second)
	if err := pipeline.Validate(&r); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 2, 10, 8, 0, 0, 123000000, time.UTC)
	if r.StartedAt != want || r.FinishedAt != want.Add(90*time.Second) {
		t.Errorf("times kept as %v and %v, want %v and 90 s later, in UTC", r.StartedAt, r.FinishedAt, want)
	}
}

// TestSame is what recording a run again compares: every field a CI system sends, times as
// instants, coverage to within rounding; never when it was recorded or by whom.
func TestSame(t *testing.T) {
	base := validRun()
	base.Coverage = ptr(81.5)
	base.Tests = &pipeline.Tests{Passed: 10, Failed: 1}
	for _, tc := range []struct {
		name   string
		change func(*pipeline.Run)
		same   bool
	}{
		{"identical", func(*pipeline.Run) {}, true},
		{"recorded later by another token", func(r *pipeline.Run) { r.RecordedAt, r.RecordedBy = day.Add(time.Hour), "token:other" }, true},
		{"the same start in another zone", func(r *pipeline.Run) { r.StartedAt = day.In(time.FixedZone("X", -5*3600)) }, true},
		{"coverage off by rounding", func(r *pipeline.Run) { *r.Coverage += 1e-12 }, true},
		{"other coverage", func(r *pipeline.Run) { r.Coverage = ptr(81.6) }, false},
		{"no coverage", func(r *pipeline.Run) { r.Coverage = nil }, false},
		{"other tests", func(r *pipeline.Run) { r.Tests = &pipeline.Tests{Passed: 10, Failed: 2} }, false},
		{"no tests", func(r *pipeline.Run) { r.Tests = nil }, false},
		{"other status", func(r *pipeline.Run) { r.Status = pipeline.StatusFailed }, false},
		{"other commit", func(r *pipeline.Run) { r.Commit = "fedcba9876543210" }, false},
		{"other finish", func(r *pipeline.Run) { r.FinishedAt = r.FinishedAt.Add(time.Millisecond) }, false},
	} {
		o := base
		o.Coverage, o.Tests = ptr(*base.Coverage), &pipeline.Tests{Passed: 10, Failed: 1}
		tc.change(&o)
		if got := base.Same(o); got != tc.same {
			t.Errorf("%s: Same = %v, want %v", tc.name, got, tc.same)
		}
	}
}

// service is the pipeline service over a real, migrated store, with a clock an hour after day,
// and runs recorded.
func service(t *testing.T, db testenv.DB, runs ...pipeline.Run) *pipeline.Service {
	t.Helper()
	s := pipeline.NewService(testenv.Store(t, db), func() time.Time { return day.Add(time.Hour) }, pipeline.Options{})
	for _, r := range runs {
		if _, _, err := s.Record(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestRecordIsIdempotent: a CI system retrying a run gets the stored one back; the same id with
// other data is refused as run_id_reused; the same id in another workload is another run; a run
// refused by Validate stores nothing.
func TestRecordIsIdempotent(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		ctx := context.Background()
		s := service(t, db)
		stored, created, err := s.Record(ctx, validRun())
		if err != nil || !created || !stored.RecordedAt.Equal(day.Add(time.Hour)) {
			t.Fatalf("first record: %+v created %v, %v; want created and recorded at the clock's time", stored, created, err)
		}
		again, created, err := s.Record(ctx, validRun())
		if err != nil || created || !again.Same(stored) || !again.RecordedAt.Equal(stored.RecordedAt) {
			t.Errorf("the same run again: %+v created %v, %v; want the stored run, not created", again, created, err)
		}
		changed := validRun()
		changed.Status = pipeline.StatusFailed
		if _, _, err := s.Record(ctx, changed); apperr.ReasonOf(err) != apperr.RunIDReused {
			t.Errorf("the same id with other data: %v, want run_id_reused", err)
		}
		other := validRun()
		other.Workload = "other-team"
		if _, created, err := s.Record(ctx, other); err != nil || !created {
			t.Errorf("the same id in another workload: created %v, %v", created, err)
		}
		bad := validRun()
		bad.ID, bad.Workload = "gh-2", "third-team"
		bad.Commit = "not a commit"
		if _, _, err := s.Record(ctx, bad); apperr.ReasonOf(err) != apperr.InvalidField {
			t.Errorf("an invalid run: %v, want invalid_field", err)
		}
		runs, err := s.List(ctx, pipeline.ListQuery{Limit: 10})
		if err != nil || len(runs) != 2 {
			t.Errorf("runs stored: %+v, %v; want the two recorded", runs, err)
		}
		if w, err := s.Workloads(ctx, pipeline.WorkloadQuery{}); err != nil || strings.Join(w, ",") != "my-team,other-team" {
			t.Errorf("workloads %v, %v; want my-team and other-team, not the refused run's", w, err)
		}
	})
}

// TestListChecksTheWorkload: a workload filter that is no workload name is refused before the
// store is asked; a well-formed one without runs lists nothing.
func TestListChecksTheWorkload(t *testing.T) {
	s := service(t, testenv.SQLite(t), validRun())
	ctx := context.Background()
	if _, err := s.List(ctx, pipeline.ListQuery{Workload: "my team!", Limit: 10}); apperr.ReasonOf(err) != apperr.InvalidField {
		t.Errorf("List of a malformed workload: %v, want invalid_field", err)
	}
	if runs, err := s.List(ctx, pipeline.ListQuery{Workload: "nobody", Limit: 10}); err != nil || len(runs) != 0 {
		t.Errorf("List of a workload without runs: %+v, %v", runs, err)
	}
}

// TestQueryRefusesWhatItCannotAnswer: each malformed request is refused with the reason and a
// message naming what to send; the largest range it allows is answered, one point a day.
func TestQueryRefusesWhatItCannotAnswer(t *testing.T) {
	s := service(t, testenv.SQLite(t), validRun())
	ctx := context.Background()
	ok := pipeline.QueryRequest{Queries: []string{pipeline.QueryCoverage}, Workloads: []string{"my-team"}, Start: "2025-02-10", End: "2026-02-10"}
	many := make([]string, 51)
	for i := range many {
		many[i] = "my-team"
	}
	for _, tc := range []struct {
		name   string
		change func(*pipeline.QueryRequest)
		reason apperr.Reason
		want   string
	}{
		{"no query", func(q *pipeline.QueryRequest) { q.Queries = nil }, apperr.InvalidField, "queries is required"},
		{"unknown query", func(q *pipeline.QueryRequest) { q.Queries = []string{"lines-of-code"} }, apperr.InvalidField, `unknown query "lines-of-code"`},
		{"no workload", func(q *pipeline.QueryRequest) { q.Workloads = nil }, apperr.InvalidField, "workloads is required"},
		{"51 workloads", func(q *pipeline.QueryRequest) { q.Workloads = many }, apperr.InvalidField, "50 workloads"},
		{"malformed workload", func(q *pipeline.QueryRequest) { q.Workloads = []string{"my team!"} }, apperr.InvalidField, "workload must be"},
		{"unknown workload", func(q *pipeline.QueryRequest) { q.Workloads = []string{"nobody"} }, apperr.UnknownWorkload, `unknown workload "nobody"`},
		{"start not a date", func(q *pipeline.QueryRequest) { q.Start = "10/02/2026" }, apperr.InvalidField, "dateRange.start"},
		{"end not a date", func(q *pipeline.QueryRequest) { q.End = "2026-02-30" }, apperr.InvalidField, "dateRange.end"},
		{"reversed", func(q *pipeline.QueryRequest) { q.Start, q.End = q.End, q.Start }, apperr.InvalidField, "reversed"},
		{"367 days", func(q *pipeline.QueryRequest) { q.Start = "2025-02-09" }, apperr.InvalidField, "spans 367 days: at most 366"},
	} {
		q := ok
		tc.change(&q)
		if _, err := s.Query(ctx, q); apperr.ReasonOf(err) != tc.reason || !strings.Contains(apperr.MessageOf(err), tc.want) {
			t.Errorf("%s: %v (reason %q), want %s saying %q", tc.name, err, apperr.ReasonOf(err), tc.reason, tc.want)
		}
	}
	series, err := s.Query(ctx, ok)
	if err != nil || len(series) != 1 || len(series[0].Points) != pipeline.MaxQueryDays {
		t.Fatalf("366 days: %d series, %v; want one of 366 points", len(series), err)
	}
	if p := series[0].Points; p[0].Date != ok.Start || p[len(p)-1].Date != ok.End {
		t.Errorf("points from %s to %s, want %s to %s", p[0].Date, p[len(p)-1].Date, ok.Start, ok.End)
	}
}
