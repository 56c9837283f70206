package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

var recorded = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// genRuns makes n runs named prefix-00000… of workloads over days days from 2026-01-01,
// durations from zero up, coverage now and then.
func genRuns(rng *rand.Rand, prefix string, n int, workloads []string, days int) []pipeline.Run {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]pipeline.Run, n)
	for i := range out {
		start := base.Add(time.Duration(rng.Int64N(int64(days) * int64(24*time.Hour)))).Truncate(time.Millisecond)
		d := time.Duration(rng.IntN(3)*rng.IntN(1_800_000)) * time.Millisecond // a third are zero
		r := pipeline.Run{
			ID: fmt.Sprintf("%s-%05d", prefix, i), Workload: workloads[rng.IntN(len(workloads))], Pipeline: "ci",
			Kind:   []string{pipeline.KindBuild, pipeline.KindBuild, pipeline.KindDeploy}[rng.IntN(3)],
			Status: []string{pipeline.StatusSuccess, pipeline.StatusSuccess, pipeline.StatusFailed, pipeline.StatusCancelled}[rng.IntN(4)],
			Branch: "main", Commit: "abcdef0", StartedAt: start, FinishedAt: start.Add(d), RecordedAt: recorded, RecordedBy: "test",
		}
		if rng.IntN(2) == 0 {
			c := rng.Float64() * 100
			r.Coverage = &c
		}
		out[i] = r
	}
	return out
}

// wantRollups sums runs as the rollups should.
func wantRollups(runs []pipeline.Run) map[pipeline.RollupKey]*pipeline.Rollup {
	out := map[pipeline.RollupKey]*pipeline.Rollup{}
	for _, r := range runs {
		k := pipeline.KeyOf(r)
		if out[k] == nil {
			out[k] = &pipeline.Rollup{}
		}
		out[k].Add(r)
	}
	return out
}

// checkRollups compares the stored rollups with want: counts and sums equal, the duration
// sketches answer every percentile alike (the same bins), and the p50 and p95 kept beside them
// are the sketch's.
func checkRollups(t *testing.T, st *store.Store, workloads []string, want map[pipeline.RollupKey]*pipeline.Rollup) {
	t.Helper()
	got := map[pipeline.RollupKey]pipeline.Rollup{}
	q := pipeline.RollupQuery{Workloads: workloads, From: -1_000_000, To: 1_000_000, WithDurations: true}
	err := st.Rollups(context.Background(), q, func(k pipeline.RollupKey, r pipeline.Rollup) error {
		got[k] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		delete(got, k)
		w.Settle()
		same := ok && g.Succeeded == w.Succeeded && g.Failed == w.Failed && g.Cancelled == w.Cancelled &&
			g.CoverageCount == w.CoverageCount && g.CoverageSum == w.CoverageSum && g.Durations.Count() == w.Durations.Count() &&
			g.P50 == w.P50 && g.P95 == w.P95 // kept beside the sketch
		for p := 1.0; same && p <= 100; p++ {
			same = g.Durations.NearestRank(p) == w.Durations.NearestRank(p)
		}
		if !same {
			if bad++; bad <= 5 {
				t.Errorf("rollup %+v: %+v (found %v), want %+v", k, g, ok, *w)
			}
		}
	}
	for k, g := range got {
		if g.Runs() != 0 {
			t.Errorf("rollup %+v counts %d runs, want none", k, g.Runs())
		}
	}
	checkBlocks(t, st, workloads, want)
}

// checkBlocks compares what a query reads (the rollup blocks) with want: counts, sums and the
// p50 and p95 of every rollup, in day and kind order within each workload.
func checkBlocks(t *testing.T, st *store.Store, workloads []string, want map[pipeline.RollupKey]*pipeline.Rollup) {
	t.Helper()
	got := map[pipeline.RollupKey]pipeline.Rollup{}
	var last pipeline.RollupKey
	q := pipeline.RollupQuery{Workloads: workloads, From: -1_000_000, To: 1_000_000}
	err := st.Rollups(context.Background(), q, func(k pipeline.RollupKey, r pipeline.Rollup) error {
		if k.Workload == last.Workload && (k.Day < last.Day || k.Day == last.Day && k.Kind <= last.Kind) {
			t.Errorf("rollup %+v read after %+v", k, last)
		}
		last = k
		got[k] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		delete(got, k)
		w.Settle()
		if !ok || g.Succeeded != w.Succeeded || g.Failed != w.Failed || g.Cancelled != w.Cancelled ||
			g.CoverageCount != w.CoverageCount || g.CoverageSum != w.CoverageSum || g.P50 != w.P50 || g.P95 != w.P95 {
			if bad++; bad <= 5 {
				t.Errorf("rollup block's %+v: %+v (found %v), want %+v", k, g, ok, *w)
			}
		}
	}
	for k, g := range got {
		if g.Runs() != 0 {
			t.Errorf("rollup block's %+v counts %d runs, want none", k, g.Runs())
		}
	}
}

// TestBackfillCountsRunsRecordedBeforeTheRollups upgrades a database that holds runs: after
// the migration the rollups count them all, batch by batch, together with the runs recorded
// while the backfill is under way (some behind its position, some ahead), and none twice.
func TestBackfillCountsRunsRecordedBeforeTheRollups(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		st := storeAt(t, db, 6)
		ctx := t.Context()
		rng := rand.New(rand.NewPCG(1, 2))
		workloads := []string{"w1", "w2", "w3", "w4"}
		old := genRuns(rng, "r", 1300, workloads, 20)
		if err := st.InsertRunsBeforeRollups(ctx, old); err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(ctx, quiet); err != nil {
			t.Fatal(err)
		}
		if ok, err := st.RollupsComplete(ctx); ok || err != nil {
			t.Fatalf("rollups complete right after the migration: %v %v", ok, err)
		}
		if done, n, err := st.BackfillRollups(ctx, 500); done || n != 500 || err != nil {
			t.Fatalf("first batch: done %v, %d runs, %v", done, n, err)
		}
		// The first batch passed the first workload and part of the second: runs recorded now
		// there are behind the backfill's position (counted when recorded), the others ahead of
		// it (counted by the backfill).
		newer := genRuns(rng, "m", 200, workloads, 20)
		again := old[:50] // recorded again: found, counted nothing
		res, err := st.InsertRuns(ctx, append(slices.Clone(newer), again...))
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Created != (i < len(newer)) {
				t.Fatalf("run %d: created %v", i, r.Created)
			}
		}
		for {
			done, _, err := st.BackfillRollups(ctx, 500)
			if err != nil {
				t.Fatal(err)
			}
			if done {
				break
			}
		}
		if ok, err := st.RollupsComplete(ctx); !ok || err != nil {
			t.Fatalf("rollups not complete after the backfill: %v %v", ok, err)
		}
		checkRollups(t, st, workloads, wantRollups(append(old, newer...)))
		// Done stays done, and later runs are counted as they are recorded.
		latest := genRuns(rng, "z", 100, workloads, 20)
		if _, err := st.InsertRuns(ctx, latest); err != nil {
			t.Fatal(err)
		}
		if done, n, err := st.BackfillRollups(ctx, 500); !done || n != 0 || err != nil {
			t.Fatalf("backfill after done: %v %d %v", done, n, err)
		}
		checkRollups(t, st, workloads, wantRollups(slices.Concat(old, newer, latest)))
	})
}

// TestRollupBlocksAreBuiltAtStartUp upgrades a database whose daily rollups have no blocks (what
// migration 00013 leaves): a query finds nothing in the blocks until the next start builds them,
// and then they hold every daily rollup, over several blocks; later runs go into them as they
// are recorded.
func TestRollupBlocksAreBuiltAtStartUp(t *testing.T) {
	testenv.ForEachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		rng := rand.New(rand.NewPCG(7, 8))
		workloads := []string{"a", "b", "c"}
		runs := genRuns(rng, "r", 900, workloads, 100) // about four blocks
		if _, err := st.InsertRuns(ctx, runs); err != nil {
			t.Fatal(err)
		}
		if err := st.DropRollupBlocks(ctx); err != nil {
			t.Fatal(err)
		}
		found := 0
		q := pipeline.RollupQuery{Workloads: workloads, From: -1_000_000, To: 1_000_000}
		if err := st.Rollups(ctx, q, func(pipeline.RollupKey, pipeline.Rollup) error { found++; return nil }); err != nil || found != 0 {
			t.Fatalf("blocks dropped: %d rollups read, %v", found, err)
		}
		if err := st.Migrate(ctx, quiet); err != nil {
			t.Fatal(err)
		}
		checkRollups(t, st, workloads, wantRollups(runs))
		later := genRuns(rng, "z", 300, workloads, 100)
		if _, err := st.InsertRuns(ctx, later); err != nil {
			t.Fatal(err)
		}
		checkRollups(t, st, workloads, wantRollups(append(runs, later...)))
	})
}

// TestDeleteRunTakesItOutOfItsRollup: deleting runs leaves each rollup as the remaining runs
// would have made it, exactly, sketch bins included.
func TestDeleteRunTakesItOutOfItsRollup(t *testing.T) {
	testenv.ForEachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		rng := rand.New(rand.NewPCG(3, 4))
		workloads := []string{"a", "b"}
		runs := genRuns(rng, "r", 400, workloads, 5)
		if _, err := st.InsertRuns(ctx, runs); err != nil {
			t.Fatal(err)
		}
		rng.Shuffle(len(runs), func(i, j int) { runs[i], runs[j] = runs[j], runs[i] })
		for _, r := range runs[:150] {
			got, err := st.DeleteRun(ctx, r.Workload, r.ID, func(run pipeline.Run) audit.Event {
				return audit.Event{At: run.RecordedAt, Actor: "admin@example.com", Action: "pipeline_run.deleted", Target: run.Workload + "/" + run.ID}
			})
			if err != nil || !got.Same(r) {
				t.Fatalf("delete %s: %+v %v", r.ID, got, err)
			}
		}
		checkRollups(t, st, workloads, wantRollups(runs[150:]))
	})
}

// TestRunListIsReadInIndexOrder: the run list's statement, with and without a workload and a
// cursor, reads an index in the list's order; neither database sorts (SQLite: no temporary
// B-tree; MySQL: no filesort). And paging through many runs that started at the same
// millisecond visits each once, in order.
func TestRunListIsReadInIndexOrder(t *testing.T) {
	testenv.ForEachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		rng := rand.New(rand.NewPCG(5, 6))
		workloads := testenv.Teams(30)
		runs := genRuns(rng, "r", 3000, workloads, 30)
		tie := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) // newest: the first pages are all ties
		for i := range 60 {
			runs = append(runs, pipeline.Run{ID: fmt.Sprintf("t-%02d", i), Workload: workloads[i%5], Pipeline: "ci", Kind: "build", Status: "success",
				Branch: "main", Commit: "abcdef0", StartedAt: tie, FinishedAt: tie, RecordedAt: recorded})
		}
		for chunk := range slices.Chunk(runs, 1000) {
			if _, err := st.InsertRuns(ctx, chunk); err != nil {
				t.Fatal(err)
			}
		}
		if st.Driver() == store.MySQL {
			if _, err := st.SQL().ExecContext(ctx, "ANALYZE TABLE pipeline_runs, workloads"); err != nil {
				t.Fatal(err)
			}
		}
		cursor := &pipeline.Cursor{StartedAt: tie, Workload: workloads[2], ID: "t-07"}
		for _, q := range []pipeline.ListQuery{
			{Limit: 50},
			{Limit: 50, After: cursor},
			{Limit: 50, Workload: workloads[2]},
			{Limit: 50, Workload: workloads[2], After: cursor},
		} {
			plan, err := st.ExplainListRuns(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("workload %q, cursor %v:\n%s", q.Workload, q.After != nil, plan)
			index := "pipeline_runs_newest"
			if q.Workload != "" {
				index = "pipeline_runs_workload_newest"
			}
			sorts := strings.Contains(plan, "TEMP B-TREE") || strings.Contains(strings.ToLower(plan), "filesort")
			if sorts || !strings.Contains(plan, index) {
				t.Errorf("workload %q, cursor %v: the plan sorts or does not read %s:\n%s", q.Workload, q.After != nil, index, plan)
			}
		}

		want := slices.Clone(runs)
		ids := map[string]int{}
		for i, w := range workloads { // ids in order of creation: InsertRuns creates them sorted
			ids[w] = i
		}
		slices.SortFunc(want, func(a, b pipeline.Run) int {
			if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
				return c
			}
			if c := ids[b.Workload] - ids[a.Workload]; c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		})
		for _, filter := range []string{"", workloads[3]} {
			var wantIDs, gotIDs []string
			for _, r := range want {
				if filter == "" || r.Workload == filter {
					wantIDs = append(wantIDs, r.Workload+"/"+r.ID)
				}
			}
			q := pipeline.ListQuery{Limit: 7, Workload: filter}
			for range 1000 {
				page, err := st.ListRuns(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page {
					gotIDs = append(gotIDs, r.Workload+"/"+r.ID)
				}
				if len(page) < q.Limit || len(gotIDs) >= 200 {
					break
				}
				last := page[len(page)-1]
				q.After = &pipeline.Cursor{StartedAt: last.StartedAt, Workload: last.Workload, ID: last.ID}
			}
			n := min(len(gotIDs), 200)
			if n < min(len(wantIDs), 200) || !slices.Equal(gotIDs[:n], wantIDs[:n]) {
				t.Errorf("workload %q: paged %v…, want %v…", filter, gotIDs[:min(n, 20)], wantIDs[:min(n, 20)])
			}
		}
	})
}

// TestMigrationAndBackfillTiming measures the upgrade of a database holding
// ROLLUP_MIGRATION_RUNS runs (of 50 workloads over a year): migration 00007 (tables and
// indexes), then the backfill of the rollups in the batches the server runs in the background.
// A measurement, not a check: it runs only when the variable is set.
func TestMigrationAndBackfillTiming(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ROLLUP_MIGRATION_RUNS"))
	if n == 0 {
		t.Skip("set ROLLUP_MIGRATION_RUNS (e.g. 1000000) to measure the upgrade of a database with that many runs")
	}
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		st := storeAt(t, db, 6)
		ctx := t.Context()
		rng := rand.New(rand.NewPCG(7, 8))
		workloads := testenv.Teams(50)
		t0 := time.Now()
		for i := 0; i < n; i += 10_000 {
			runs := genRuns(rng, fmt.Sprintf("r%07d", i), min(10_000, n-i), workloads, 366)
			if err := st.InsertRunsBeforeRollups(ctx, runs); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: seeded %d runs at version 6 in %s", db.Driver, n, time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		if err := st.Migrate(ctx, quiet); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: migration 00007 (held start-up) took %s", db.Driver, time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		var longest time.Duration
		batches := 0
		for {
			b0 := time.Now()
			done, _, err := st.BackfillRollups(ctx, store.BackfillBatch)
			if err != nil {
				t.Fatal(err)
			}
			longest = max(longest, time.Since(b0))
			batches++
			if done {
				break
			}
		}
		t.Logf("%s: backfill of %d runs took %s in %d batches of %d (longest batch %s; in the background the server rests as long between batches)",
			db.Driver, n, time.Since(t0).Round(time.Millisecond), batches, store.BackfillBatch, longest.Round(time.Millisecond))
		// The upgrade to the rollup blocks (00013) builds them from the daily rollups at start-up.
		if err := st.DropRollupBlocks(ctx); err != nil {
			t.Fatal(err)
		}
		t0 = time.Now()
		if err := st.Migrate(ctx, quiet); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: building the rollup blocks of %d runs' daily rollups (held start-up) took %s", db.Driver, n, time.Since(t0).Round(time.Millisecond))
	})
}
