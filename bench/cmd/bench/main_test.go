package main

import (
	"path/filepath"
	"testing"

	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// TestMergeReplacesOnlyTheNamedScenarios: make bench-cluster's figures go into the last make
// bench's results, whose other figures stay; a scenario not named keeps its old figures even
// when the new run has some.
func TestMergeReplacesOnlyTheNamedScenarios(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.json")
	old := &results.Results{Run: results.Run{Command: "make bench"}, Cluster: &results.Cluster{Command: "old"}}
	old.Database("sqlite").Scale = &results.Scale{Runs: 1}
	old.Database("sqlite").Statements = &results.Statements{Requests: 7}
	if err := old.Write(path); err != nil {
		t.Fatal(err)
	}
	fresh := &results.Results{Run: results.Run{Command: "make bench-cluster"}, Cluster: &results.Cluster{Command: "make bench-cluster"}}
	fresh.Database("sqlite").Scale = &results.Scale{Runs: 2}
	got, err := mergeInto(path, fresh, []string{"cluster"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Run.Command != "make bench" || got.Cluster.Command != "make bench-cluster" {
		t.Errorf("run %q, cluster %q: want the old run with the new cluster figures", got.Run.Command, got.Cluster.Command)
	}
	if s := got.Database("sqlite"); s.Scale.Runs != 1 || s.Statements == nil || s.Statements.Requests != 7 {
		t.Errorf("sqlite's figures changed: scale %+v, statements %+v", s.Scale, s.Statements)
	}
	got, err = mergeInto(path, fresh, []string{"scale", "dashboard"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Database("sqlite").Scale.Runs != 2 || got.Cluster.Command != "old" {
		t.Errorf("merging scale: scale %+v, cluster %q", got.Database("sqlite").Scale, got.Cluster.Command)
	}
}

// TestMergeWithoutEarlierResults: without a results file the new figures are the results.
func TestMergeWithoutEarlierResults(t *testing.T) {
	fresh := &results.Results{Cluster: &results.Cluster{Command: "make bench-cluster"}}
	got, err := mergeInto(filepath.Join(t.TempDir(), "none.json"), fresh, []string{"cluster"})
	if err != nil || got != fresh {
		t.Fatalf("got %v, %v; want the new results", got, err)
	}
}
