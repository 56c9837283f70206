package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// msTime is how runs are sent: RFC 3339 with milliseconds.
const msTime = "2006-01-02T15:04:05.000Z07:00"

// runBody is a run as POST /api/pipeline/runs takes it.
func runBody(r pipeline.Run) map[string]any {
	b := map[string]any{
		"id": r.ID, "workload": r.Workload, "pipeline": r.Pipeline, "kind": r.Kind, "status": r.Status,
		"branch": r.Branch, "commit": r.Commit,
		"startedAt": r.StartedAt.Format(msTime), "finishedAt": r.FinishedAt.Format(msTime),
	}
	if r.Coverage != nil {
		b["coverage"] = *r.Coverage
	}
	if r.Tests != nil {
		b["tests"] = map[string]int{"passed": r.Tests.Passed, "failed": r.Tests.Failed, "skipped": r.Tests.Skipped}
	}
	return b
}

type batchAnswer struct {
	Results []struct {
		ID, Workload, Status, Error string
	}
}

// recordBatch posts runs to the batch endpoint and returns each run's status.
func recordBatch(t *testing.T, e *testenv.Env, tok string, runs []pipeline.Run) []string {
	t.Helper()
	bodies := make([]map[string]any, len(runs))
	for i, r := range runs {
		bodies[i] = runBody(r)
	}
	res := e.Do(http.MethodPost, "/api/pipeline/runs/batch", map[string]any{"runs": bodies}, testenv.Bearer(tok))
	if res.Status != http.StatusOK {
		t.Fatalf("batch: %d %s", res.Status, res.Body)
	}
	var got batchAnswer
	res.JSON(t, &got)
	if len(got.Results) != len(runs) {
		t.Fatalf("batch of %d answered %d results", len(runs), len(got.Results))
	}
	out := make([]string, len(runs))
	for i, r := range got.Results {
		if r.ID != runs[i].ID || r.Workload != runs[i].Workload {
			t.Errorf("result %d names %s/%s, want %s/%s: results are in input order", i, r.Workload, r.ID, runs[i].Workload, runs[i].ID)
		}
		out[i] = r.Status
	}
	return out
}

// storedRuns reads every run back through GET /api/pipeline/runs, page after page.
func storedRuns(t *testing.T, e *testenv.Env, tok string) []pipeline.Run {
	t.Helper()
	var out []pipeline.Run
	for _, page := range followPages(t, e, "/api/pipeline/runs?limit=1000", testenv.Bearer(tok)) {
		b, _ := json.Marshal(page)
		var runs []struct {
			ID, Workload, Pipeline, Kind, Status, Branch, Commit string
			StartedAt, FinishedAt                                time.Time
			Coverage                                             *float64
		}
		if err := json.Unmarshal(b, &runs); err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			out = append(out, pipeline.Run{ID: r.ID, Workload: r.Workload, Pipeline: r.Pipeline, Kind: r.Kind, Status: r.Status,
				Branch: r.Branch, Commit: r.Commit, StartedAt: r.StartedAt.UTC(), FinishedAt: r.FinishedAt.UTC(), Coverage: r.Coverage})
		}
	}
	return out
}

type seriesAnswer struct {
	Results []struct {
		Query, Workload, Unit string
		Points                []struct {
			Date     string
			Value    *float64
			P50, P95 *float64
			Count    int
		}
	}
}

func query(t *testing.T, e *testenv.Env, tok string, queries, workloads []string, start, end string) seriesAnswer {
	t.Helper()
	res := e.Do(http.MethodPost, "/api/query", map[string]any{"queries": queries, "workloads": workloads,
		"dateRange": map[string]string{"start": start, "end": end}}, testenv.Bearer(tok))
	if res.Status != http.StatusOK {
		t.Fatalf("query: %d %s", res.Status, res.Body)
	}
	var got seriesAnswer
	res.JSON(t, &got)
	return got
}

// compareWithOracle checks a query's answer against the old computation over the runs: counts,
// means and rates exactly, durations within the sketch's relative accuracy (plus the rounding
// to 0.01 s both sides get).
func compareWithOracle(t *testing.T, got seriesAnswer, want []pipeline.Series) {
	t.Helper()
	if len(got.Results) != len(want) {
		t.Fatalf("%d series, want %d", len(got.Results), len(want))
	}
	eq := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	near := func(a, b *float64) bool {
		return (a == nil) == (b == nil) && (a == nil || math.Abs(*a-*b) <= pipeline.DurationAccuracy*(*b+0.005)+0.01+1e-9)
	}
	show := func(v *float64) string {
		if v == nil {
			return "null"
		}
		return fmt.Sprint(*v)
	}
	bad := 0
	for i, w := range want {
		g := got.Results[i]
		if g.Query != w.Query || g.Workload != w.Workload || g.Unit != w.Unit || len(g.Points) != len(w.Points) {
			t.Fatalf("series %d is %s/%s (%s, %d points), want %s/%s (%s, %d points)", i, g.Workload, g.Query, g.Unit, len(g.Points), w.Workload, w.Query, w.Unit, len(w.Points))
		}
		for j, wp := range w.Points {
			gp := g.Points[j]
			ok := gp.Date == wp.Date && gp.Count == wp.Count
			if w.Query == pipeline.QueryDuration {
				ok = ok && near(gp.Value, wp.Value) && near(gp.P50, wp.P50) && near(gp.P95, wp.P95)
			} else {
				ok = ok && eq(gp.Value, wp.Value) && gp.P50 == nil && gp.P95 == nil
			}
			if !ok {
				bad++
				if bad <= 10 {
					t.Errorf("%s %s %s: value %s p50 %s p95 %s count %d, want value %s p50 %s p95 %s count %d", w.Workload, w.Query, wp.Date,
						show(gp.Value), show(gp.P50), show(gp.P95), gp.Count, show(wp.Value), show(wp.P50), show(wp.P95), wp.Count)
				}
			}
		}
	}
}

// TestRollupsMatchTheRunsTheyCount records a random year's worth of awkward runs (day
// boundaries in UTC, zero durations, coverage with every digit), some twice, some again with
// other data, some in batches with repeats inside, and checks POST /api/query, which reads only
// the rollups, against the computation over every stored run.
func TestRollupsMatchTheRunsTheyCount(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write", "metrics:read"}, "workloads": []string{"*"}}).AccessToken
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 13))
		workloads := []string{"alpha", "beta", "gamma"}
		base := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
		const days = 12
		var runs []pipeline.Run
		for i := range 420 {
			runs = append(runs, testenv.RandomRun(rng, fmt.Sprintf("run-%d", i), workloads, base, days))
		}
		want := map[string]pipeline.Run{} // what must be stored: each run as first recorded
		key := func(r pipeline.Run) string { return r.Workload + "/" + r.ID }

		// A third one by one, the rest in batches of up to 90 (each with a few repeats inside).
		for _, r := range runs[:140] {
			if res := e.Do(http.MethodPost, "/api/pipeline/runs", runBody(r), testenv.Bearer(tok)); res.Status != http.StatusCreated {
				t.Fatalf("record %s: %d %s", r.ID, res.Status, res.Body)
			}
			want[key(r)] = r
		}
		for rest := runs[140:]; len(rest) > 0; {
			n := min(len(rest), 30+rng.IntN(60))
			batch := slices.Clone(rest[:n])
			rest = rest[n:]
			wantStatus := make([]string, len(batch))
			for i := range wantStatus {
				wantStatus[i] = pipeline.BatchCreated
			}
			// The same run again within the batch, and another run under an id already in it.
			same := batch[rng.IntN(len(batch))]
			other := batch[rng.IntN(len(batch))]
			other.Status = map[bool]string{true: pipeline.StatusFailed, false: pipeline.StatusSuccess}[other.Status == pipeline.StatusSuccess]
			batch = append(batch, same, other)
			wantStatus = append(wantStatus, pipeline.BatchUnchanged, pipeline.BatchConflict)
			if got := recordBatch(t, e, tok, batch); !slices.Equal(got, wantStatus) {
				t.Fatalf("batch statuses %v, want %v", got, wantStatus)
			}
			for _, r := range batch[:n] {
				want[key(r)] = r
			}
		}
		// Recorded again: identical runs count nothing twice, changed ones are refused.
		var again, changed []pipeline.Run
		for range 40 {
			r := runs[rng.IntN(len(runs))]
			again = append(again, r)
			c := r
			c.FinishedAt = c.FinishedAt.Add(time.Second)
			changed = append(changed, c)
		}
		for _, r := range again[:20] {
			if res := e.Do(http.MethodPost, "/api/pipeline/runs", runBody(r), testenv.Bearer(tok)); res.Status != http.StatusOK {
				t.Errorf("record %s again: %d %s", r.ID, res.Status, res.Body)
			}
		}
		for _, r := range changed[:20] {
			testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs", runBody(r), testenv.Bearer(tok)), http.StatusConflict)
		}
		// And in a batch, among new runs.
		var fresh []pipeline.Run
		for i := range 20 {
			fresh = append(fresh, testenv.RandomRun(rng, fmt.Sprintf("fresh-%d", i), workloads, base, days))
			want[key(fresh[i])] = fresh[i]
		}
		statuses := recordBatch(t, e, tok, slices.Concat(fresh[:10], again[20:], changed[20:], fresh[10:]))
		for i, s := range statuses {
			w := pipeline.BatchCreated
			if i >= 10 && i < 30 {
				w = pipeline.BatchUnchanged
			} else if i >= 30 && i < 50 {
				w = pipeline.BatchConflict
			}
			if s != w {
				t.Errorf("batch of new runs and runs recorded before: result %d is %s, want %s", i, s, w)
			}
		}

		stored := storedRuns(t, e, tok)
		if len(stored) != len(want) {
			t.Fatalf("%d runs stored, want %d", len(stored), len(want))
		}
		for _, s := range stored {
			w, ok := want[key(s)]
			w.Tests, w.RecordedAt, w.RecordedBy = nil, time.Time{}, ""
			if !ok || !s.Same(w) {
				t.Fatalf("stored %+v, want %+v", s, w)
			}
		}
		all := []string{pipeline.QueryCoverage, pipeline.QuerySuccessRate, pipeline.QueryDuration, pipeline.QueryDeployFreq}
		start, end := base.AddDate(0, 0, -1).Format(time.DateOnly), base.AddDate(0, 0, days).Format(time.DateOnly)
		compareWithOracle(t, query(t, e, tok, all, workloads, start, end), testenv.Oracle(stored, all, workloads, start, end))
		// Any subset and order of queries and workloads, any range within.
		qs, ws := slices.Clone(all), slices.Clone(workloads)
		rng.Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
		rng.Shuffle(len(ws), func(i, j int) { ws[i], ws[j] = ws[j], ws[i] })
		qs, ws = qs[:1+rng.IntN(len(qs))], ws[:1+rng.IntN(len(ws))]
		start, end = base.AddDate(0, 0, 3).Format(time.DateOnly), base.AddDate(0, 0, 5).Format(time.DateOnly)
		compareWithOracle(t, query(t, e, tok, qs, ws, start, end), testenv.Oracle(stored, qs, ws, start, end))
	})
}

// TestBatchRecording: each run of a batch gets its own outcome, in input order, and the valid
// ones are stored and counted whatever becomes of the others.
func TestBatchRecording(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		var statements atomic.Int64
		e := testenv.Start(t, db, testenv.Settings{Store: store.Options{Queries: &statements}})
		admin := e.SignIn("admin@example.com", true)
		writer := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write"}, "workloads": []string{"*"}}).AccessToken
		reader := e.CreateToken(admin, map[string]any{"subject": "dash"}).AccessToken
		day := time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC)
		mk := func(id, status string, seconds int) map[string]any {
			return run(id, "team", "build", status, day, seconds, 80.0)
		}
		if r := e.Do(http.MethodPost, "/api/pipeline/runs", mk("old-1", "success", 60), testenv.Bearer(writer)); r.Status != http.StatusCreated {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodPost, "/api/pipeline/runs", mk("old-2", "success", 60), testenv.Bearer(writer)); r.Status != http.StatusCreated {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
		badID := mk("bad id!", "success", 60)
		future := run("future-1", "team", "build", "success", e.Clock.Now().Add(25*time.Hour), 60, nil)
		soon := run("soon-1", "team", "build", "success", e.Clock.Now().Add(23*time.Hour), 60, nil) // clock skew is fine
		backwards := mk("backwards-1", "success", 60)
		backwards["finishedAt"] = day.Add(-time.Minute).Format(time.RFC3339)
		batch := []any{
			mk("new-1", "success", 100),
			badID,
			mk("old-1", "success", 60),  // as stored: unchanged
			mk("old-2", "failed", 60),   // stored otherwise: conflict
			mk("new-1", "success", 100), // again within the batch: unchanged
			mk("new-1", "failed", 100),  // otherwise within the batch: conflict
			future,
			soon,
			backwards,
			mk("new-2", "failed", 300),
		}
		r := e.Do(http.MethodPost, "/api/pipeline/runs/batch", map[string]any{"runs": batch}, testenv.Bearer(writer))
		if r.Status != http.StatusOK {
			t.Fatalf("batch: %d %s", r.Status, r.Body)
		}
		var got batchAnswer
		r.JSON(t, &got)
		want := []struct{ id, status, err string }{
			{"new-1", "created", ""},
			{"bad id!", "invalid", "id must be"},
			{"old-1", "unchanged", ""},
			{"old-2", "conflict", "already recorded with different data"},
			{"new-1", "unchanged", ""},
			{"new-1", "conflict", "already recorded with different data"},
			{"future-1", "invalid", "more than a day in the future"},
			{"soon-1", "created", ""},
			{"backwards-1", "invalid", "finishedAt is before startedAt"},
			{"new-2", "created", ""},
		}
		if len(got.Results) != len(want) {
			t.Fatalf("%d results, want %d: %s", len(got.Results), len(want), r.Body)
		}
		for i, w := range want {
			g := got.Results[i]
			if g.ID != w.id || g.Workload != "team" || g.Status != w.status || (w.err == "") != (g.Error == "") || !strings.Contains(g.Error, w.err) {
				t.Errorf("result %d = %+v, want %s %s %q", i, g, w.id, w.status, w.err)
			}
		}
		ids := storedRunsOf(t, e, reader)
		slices.Sort(ids)
		if strings.Join(ids, ",") != "new-1,new-2,old-1,old-2,soon-1" {
			t.Errorf("stored runs %v", ids)
		}
		// Counted once each: 4 builds on the 10th (old-1, old-2, new-1, new-2), 3 successful.
		q := query(t, e, reader, []string{pipeline.QuerySuccessRate}, []string{"team"}, "2026-02-10", "2026-02-10")
		if p := q.Results[0].Points[0]; p.Count != 4 || p.Value == nil || *p.Value != 75 {
			t.Errorf("success rate of the 10th = %+v, want 75%% of 4", p)
		}

		// Written in a few transactions, not one per run: 1000 runs cost a handful of statements.
		var thousand []map[string]any
		for i := range 1000 {
			thousand = append(thousand, run(fmt.Sprintf("bulk-%04d", i), fmt.Sprintf("team-%d", i%7), "build", "success", day.Add(time.Duration(i)*time.Minute), 60, nil))
		}
		before := statements.Load()
		r = e.Do(http.MethodPost, "/api/pipeline/runs/batch", map[string]any{"runs": thousand}, testenv.Bearer(writer))
		if r.Status != http.StatusOK || strings.Count(string(r.Body), `"created"`) != 1000 {
			t.Fatalf("batch of 1000: %d %.300s", r.Status, r.Body)
		}
		if n := statements.Load() - before; n > 40 {
			t.Errorf("a batch of 1000 runs took %d statements: it should take a few per transaction of hundreds of runs", n)
		}

		// The body as a whole: 1 to 1000 runs, each a JSON object, under the size limit.
		for body, wantText := range map[string]string{
			`{"runs": []}`:              "runs is required",
			`{}`:                        "runs is required",
			`{"runs": "x"}`:             `"runs" has the wrong type`,
			`{"runs": [{}], "more": 1}`: "unknown field",
			`{"Runs": [{}]}`:            `must be spelled "runs"`,
		} {
			p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs/batch", body, testenv.Bearer(writer)), http.StatusBadRequest)
			if !strings.Contains(p.Detail, wantText) {
				t.Errorf("%s: detail %q, want %q", body, p.Detail, wantText)
			}
		}
		tooMany := make([]any, 1001)
		for i := range tooMany {
			tooMany[i] = mk(fmt.Sprintf("many-%d", i), "success", 1)
		}
		if p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs/batch", map[string]any{"runs": tooMany}, testenv.Bearer(writer)), http.StatusBadRequest); !strings.Contains(p.Detail, "at most 1000") {
			t.Errorf("1001 runs: %q", p.Detail)
		}
		huge := `{"runs": [` + strings.Repeat(" ", 5<<20) + `{}]}`
		testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs/batch", huge, testenv.Bearer(writer)), http.StatusRequestEntityTooLarge)
		testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs/batch", map[string]any{"runs": batch}, testenv.Bearer(reader)), http.StatusForbidden)
		if ids := storedRunsOf(t, e, reader); slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(id, "many-") }) {
			t.Error("a refused batch stored runs")
		}
	})
}

// storedRunsOf lists the ids of every stored run.
func storedRunsOf(t *testing.T, e *testenv.Env, tok string) []string {
	var ids []string
	for _, r := range storedRuns(t, e, tok) {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestBatchRunsAreCheckedOneByOne: what is wrong with one run of a batch (its JSON included) is
// that run's fault only. The request skips the OpenAPI check of its body (these runs break the
// documented schema on purpose); the answer is checked.
func TestBatchRunsAreCheckedOneByOne(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	writer := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write"}, "workloads": []string{"*"}}).AccessToken
	good := `{"id":"ok-1","workload":"team","pipeline":"ci","kind":"build","status":"success","branch":"main","commit":"abcdef0","startedAt":"2026-02-10T10:00:00Z","finishedAt":"2026-02-10T10:05:00Z"}`
	body := `{"runs": [` + strings.Join([]string{
		good,
		`"a string"`,
		`{"id":"dup-key","id":"again"}`,
		`{"id":"case","Workload":"team"}`,
		`{"id":"typed","workload":"team","coverage":"80"}`,
		`{"id":"extra","workload":"team","author":"x"}`,
		`{"id":"when","workload":"team","startedAt":"yesterday"}`,
	}, ",") + `]}`
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/pipeline/runs/batch", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+writer)
	resp, err := e.HTTP.Client().Do(testenv.WithoutRequestCheck(req))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("batch: %d %s", resp.StatusCode, b)
	}
	var got batchAnswer
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, status, err string }{
		{"ok-1", "created", ""},
		{"", "invalid", "each run must be a JSON object"},
		{"again", "invalid", `"id" appears twice`},
		{"case", "invalid", `must be spelled "workload"`},
		{"typed", "invalid", `"coverage" has the wrong type`},
		{"extra", "invalid", `unknown field "author"`},
		{"when", "invalid", "RFC 3339"},
	}
	for i, w := range want {
		if i >= len(got.Results) {
			t.Fatalf("only %d results: %s", len(got.Results), b)
		}
		g := got.Results[i]
		if g.ID != w.id || g.Status != w.status || !strings.Contains(g.Error, w.err) {
			t.Errorf("result %d = %+v, want %s %s %q", i, g, w.id, w.status, w.err)
		}
	}
}

// TestBoundedQueries: a query names each workload and query once; a run cannot start more than
// a day in the future, alone or in a batch.
func TestBoundedQueries(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write", "metrics:read"}, "workloads": []string{"*"}}).AccessToken
		now := e.Clock.Now()
		if r := e.Do(http.MethodPost, "/api/pipeline/runs", run("r-1", "team", "build", "success", now, 60, nil), testenv.Bearer(tok)); r.Status != http.StatusCreated {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
		rng := `"dateRange": {"start": "2026-02-01", "end": "2026-02-28"}`
		for body, want := range map[string]string{
			`{"queries": ["code-coverage"], "workloads": ["team", "team"], ` + rng + `}`:                                            `workload "team" is asked twice`,
			`{"queries": ["code-coverage", "build-duration", "code-coverage"], "workloads": ["team"], ` + rng + `}`:                 `query "code-coverage" is asked twice`,
			`{"queries": ["code-coverage", "code-coverage", "code-coverage", "code-coverage"], "workloads": ["team"], ` + rng + `}`: `asked twice`,
		} {
			p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/query", body, testenv.Bearer(tok)), http.StatusBadRequest)
			if !strings.Contains(p.Detail, want) {
				t.Errorf("%s: detail %q, want %q", body, p.Detail, want)
			}
		}
		p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs", run("r-2", "team", "build", "success", now.Add(24*time.Hour+time.Second), 60, nil), testenv.Bearer(tok)), http.StatusBadRequest)
		if !strings.Contains(p.Detail, "more than a day in the future") || p.Code != "invalid_field" {
			t.Errorf("a run starting tomorrow and a second: %+v", p)
		}
		if r := e.Do(http.MethodPost, "/api/pipeline/runs", run("r-3", "team", "build", "success", now.Add(24*time.Hour), 60, nil), testenv.Bearer(tok)); r.Status != http.StatusCreated {
			t.Errorf("a run starting in a day exactly: %d %s", r.Status, r.Body)
		}
		if got := recordBatch(t, e, tok, []pipeline.Run{{ID: "r-4", Workload: "team", Pipeline: "ci", Kind: "build", Status: "success", Branch: "main",
			Commit: "abcdef0", StartedAt: now.AddDate(1, 0, 0), FinishedAt: now.AddDate(1, 0, 0)}}); got[0] != pipeline.BatchInvalid {
			t.Errorf("a run of next year in a batch: %s", got[0])
		}
		if ids := storedRunsOf(t, e, tok); strings.Join(ids, ",") != "r-3,r-1" {
			t.Errorf("stored %v", ids)
		}
	})
}

// TestRetention: PIPELINE_RUN_RETENTION deletes old runs from the run list; their days stay on
// the charts, and a run that old cannot be recorded again (it would count twice).
func TestRetention(t *testing.T) {
	testenv.ForEachServerWith(t, testenv.Settings{Env: map[string]string{"PIPELINE_RUN_RETENTION": "30d"}}, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write", "metrics:read"}, "workloads": []string{"*"}}).AccessToken
		now := e.Clock.Now() // 2026-03-01 09:00 UTC
		old := now.AddDate(0, 0, -20)
		var runs []pipeline.Run
		for i := range 1200 { // more than a batch of deletions
			at := old.Add(time.Duration(i) * time.Second)
			if i%2 == 1 {
				at = now.Add(-time.Duration(i) * time.Second)
			}
			runs = append(runs, pipeline.Run{ID: fmt.Sprintf("r-%04d", i), Workload: "team", Pipeline: "ci", Kind: "build", Status: "success",
				Branch: "main", Commit: "abcdef0", StartedAt: at, FinishedAt: at.Add(time.Minute)})
		}
		for chunk := range slices.Chunk(runs, 1000) {
			for _, s := range recordBatch(t, e, tok, chunk) {
				if s != pipeline.BatchCreated {
					t.Fatalf("record: %s", s)
				}
			}
		}
		oldDay := old.Format(time.DateOnly)
		before := query(t, e, tok, []string{pipeline.QuerySuccessRate, pipeline.QueryDuration}, []string{"team"}, oldDay, oldDay)
		if n := e.PruneRuns(); n != 0 {
			t.Fatalf("nothing is older than 30 days yet, but %d runs were deleted", n)
		}
		e.Clock.Advance(15 * 24 * time.Hour) // the old runs are now 35 days old
		e.Sync()
		if n := e.PruneRuns(); n != 600 {
			t.Fatalf("deleted %d runs, want the 600 of 35 days ago", n)
		}
		ids := storedRunsOf(t, e, tok)
		if len(ids) != 600 || slices.ContainsFunc(ids, func(id string) bool { var i int; fmt.Sscanf(id, "r-%d", &i); return i%2 == 0 }) {
			t.Errorf("%d runs left, want the 600 recent ones", len(ids))
		}
		after := query(t, e, tok, []string{pipeline.QuerySuccessRate, pipeline.QueryDuration}, []string{"team"}, oldDay, oldDay)
		bb, _ := json.Marshal(before)
		ab, _ := json.Marshal(after)
		if !bytes.Equal(bb, ab) || after.Results[0].Points[0].Count != 600 {
			t.Errorf("the charts of a day whose runs were deleted changed:\nbefore %s\nafter  %s", bb, ab)
		}
		// Sent again, a deleted run is refused: counting it again would make the day wrong.
		p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs", runBody(runs[0]), testenv.Bearer(tok)), http.StatusBadRequest)
		if !strings.Contains(p.Detail, "older than the retention period") {
			t.Errorf("recording a run older than the retention: %q", p.Detail)
		}
		if again := query(t, e, tok, []string{pipeline.QuerySuccessRate}, []string{"team"}, oldDay, oldDay); again.Results[0].Points[0].Count != 600 {
			t.Errorf("count of the old day after recording one of its runs again: %d", again.Results[0].Points[0].Count)
		}
	})
}

// TestConcurrentRecordingCountsEveryRun records runs of one workload and day from many
// connections at once, alone and in batches: every run counts once.
func TestConcurrentRecordingCountsEveryRun(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write", "metrics:read"}, "workloads": []string{"*"}}).AccessToken
		day := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
		const workers, each = 12, 10
		post := func(path string, body any) (int, string) {
			b, _ := json.Marshal(body)
			req, _ := http.NewRequest(http.MethodPost, e.URL+path, bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := e.HTTP.Client().Do(req)
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			out, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(out)
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					at := day.Add(time.Duration(w*each+i) * time.Minute)
					r := run(fmt.Sprintf("w%d-%d", w, i), "team", "build", "success", at, 60+w, float64(w))
					if status, body := post("/api/pipeline/runs", r); status != http.StatusCreated {
						t.Errorf("worker %d run %d: %d %s", w, i, status, body)
					}
				}
				var batch []any
				for i := range each {
					at := day.Add(time.Duration(w*each+i)*time.Minute + 30*time.Second)
					batch = append(batch, run(fmt.Sprintf("w%d-b%d", w, i), "team", "deploy", "success", at, 30, nil))
				}
				if status, body := post("/api/pipeline/runs/batch", map[string]any{"runs": batch}); status != http.StatusOK || strings.Count(body, `"created"`) != each {
					t.Errorf("worker %d batch: %d %s", w, status, body)
				}
			})
		}
		wg.Wait()
		got := query(t, e, tok, []string{pipeline.QueryDuration, pipeline.QueryDeployFreq, pipeline.QueryCoverage}, []string{"team"}, "2026-02-10", "2026-02-10")
		if n := got.Results[0].Points[0].Count; n != workers*each {
			t.Errorf("%d builds counted, want %d", n, workers*each)
		}
		if n := got.Results[1].Points[0].Count; n != workers*each {
			t.Errorf("%d deploys counted, want %d", n, workers*each)
		}
		if v := got.Results[2].Points[0].Value; v == nil || *v != 5.5 { // the mean of 0..11, each ten times
			t.Errorf("mean coverage %v, want 5.5", got.Results[2].Points[0])
		}
	})
}
