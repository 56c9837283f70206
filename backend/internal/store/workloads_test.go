package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestWorkloadsWithoutRunsComeLast: a workload whose runs are all gone (retention keeps only
// its daily figures) has no newest run; "most recently active first" puts it after every
// workload with runs, by name, on both databases.
func TestWorkloadsWithoutRunsComeLast(t *testing.T) {
	testenv.ForEachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for i, w := range []string{"b-old", "c-new"} {
			start := now.Add(time.Duration(i) * time.Hour)
			r := pipeline.Run{ID: "r-1", Workload: w, Pipeline: "ci", Kind: "build", Status: "success", Branch: "main",
				Commit: "abcdef0", StartedAt: start, FinishedAt: start.Add(time.Minute), RecordedAt: now, RecordedBy: "test"}
			if _, err := st.InsertRuns(ctx, []pipeline.Run{r}); err != nil {
				t.Fatal(err)
			}
		}
		// Workloads are made by their first run; these two have lost theirs.
		for _, w := range []string{"z-idle", "a-idle"} {
			if _, err := st.SQL().ExecContext(ctx, "INSERT INTO workloads (name, created_at) VALUES (?, ?)", w, now.UnixMilli()); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.ListWorkloads(ctx, pipeline.WorkloadQuery{Sort: pipeline.WorkloadsByRecent})
		if want := []string{"c-new", "b-old", "a-idle", "z-idle"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("most recently active first: %v (%v), want %v", got, err, want)
		}
		got, err = st.ListWorkloads(ctx, pipeline.WorkloadQuery{Sort: pipeline.WorkloadsByRecent, Search: "IDLE", Limit: 1})
		if err != nil || !slices.Equal(got, []string{"a-idle"}) {
			t.Errorf("search idle, limit 1: %v (%v)", got, err)
		}
		if n, err := st.CountWorkloads(ctx, pipeline.WorkloadQuery{Search: "idle"}); err != nil || n != 2 {
			t.Errorf("count idle: %d (%v)", n, err)
		}
	})
}
