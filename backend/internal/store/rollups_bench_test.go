package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// benchStores runs f on a migrated store of each database of the benchmarks: SQLite, and
// MySQL when TEST_MYSQL_DSN is set.
func benchStores(b *testing.B, f func(b *testing.B, st *store.Store)) {
	b.Run("sqlite", func(b *testing.B) { f(b, testenv.Store(b, testenv.SQLite(b))) })
	if os.Getenv("TEST_MYSQL_DSN") != "" {
		b.Run("mysql", func(b *testing.B) { f(b, testenv.Store(b, testenv.MySQL(b))) })
	}
}

// BenchmarkInsertRunsBatch records batches of 1000 new runs of 50 workloads over a year (the
// batch endpoint's store work): rows, workloads and rollups, one transaction per batch.
func BenchmarkInsertRunsBatch(b *testing.B) {
	benchStores(b, func(b *testing.B, st *store.Store) {
		rng := rand.New(rand.NewPCG(1, 1))
		workloads := testenv.Teams(50)
		ctx := context.Background()
		i := 0
		for b.Loop() {
			if _, err := st.InsertRuns(ctx, genRuns(rng, fmt.Sprintf("b%06d", i), 1000, workloads, 366)); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "runs/s")
	})
}

// BenchmarkQueryYear answers the dashboard's heaviest question from the rollups: 366 days of
// 50 workloads, the four queries, over 100,000 runs (about 5 a workload a day).
func BenchmarkQueryYear(b *testing.B) {
	benchStores(b, func(b *testing.B, st *store.Store) {
		rng := rand.New(rand.NewPCG(2, 2))
		workloads := testenv.Teams(50)
		ctx := context.Background()
		for i := range 100 {
			if _, err := st.InsertRuns(ctx, genRuns(rng, fmt.Sprintf("q%03d", i), 1000, workloads, 366)); err != nil {
				b.Fatal(err)
			}
		}
		svc := pipeline.NewService(st, time.Now, pipeline.Options{})
		req := pipeline.QueryRequest{Queries: pipeline.Queries, Workloads: workloads, Start: "2026-01-01", End: "2027-01-01"}
		var sum float64
		for b.Loop() { // what POST /api/query computes, without its JSON
			a, err := svc.PrepareQuery(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			err = a.Each(ctx, func(_ string, days []pipeline.DayRollups) error {
				for _, q := range a.Queries {
					for d := range days {
						sum += pipeline.ValueOf(q, &days[d]).Value
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		_ = sum
	})
}
