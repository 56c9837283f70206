package pipeline_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

func exactNearestRank(ds []float64, pct float64) float64 {
	s := slices.Sorted(slices.Values(ds))
	i := int(math.Ceil(pct/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// TestDurationsAreWithinTheirAccuracy: every percentile the sketch gives is within
// DurationAccuracy of the exact nearest-rank value, from one duration to thousands, with
// zeros, milliseconds and days among them; merged and decoded sketches answer alike.
func TestDurationsAreWithinTheirAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 2, 3, 10, 19, 20, 21, 100, 1000, 5000} {
		var ds []float64
		a, b := pipeline.NewDurations(), pipeline.NewDurations()
		for i := range n {
			var d float64
			switch rng.IntN(4) {
			case 0:
				d = 0
			case 1:
				d = float64(rng.IntN(1000)) / 1000
			default:
				d = float64(rng.IntN(7*24*3600*1000)) / 1000
			}
			ds = append(ds, d)
			if i%2 == 0 {
				a.Add(d)
			} else {
				b.Add(d)
			}
		}
		if err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
		decoded, err := pipeline.DecodeDurations(a.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if a.Count() != int64(n) || decoded.Count() != int64(n) {
			t.Fatalf("n=%d: counts %d, %d", n, a.Count(), decoded.Count())
		}
		for p := 1.0; p <= 100; p++ {
			want := exactNearestRank(ds, p)
			got := decoded.NearestRank(p)
			if math.Abs(got-want) > pipeline.DurationAccuracy*want*(1+1e-9) || got != a.NearestRank(p) {
				t.Errorf("n=%d p%.0f = %v, exact %v: beyond %.1f%%", n, p, got, want, 100*pipeline.DurationAccuracy)
			}
		}
	}
	if _, err := pipeline.DecodeDurations([]byte{0xff, 0x01}); err == nil {
		t.Error("a corrupt sketch decoded")
	}
}

// TestRemoveIsExact: removing durations leaves the sketch the remaining ones make, bin for bin;
// removing one never added changes nothing.
func TestRemoveIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	var ds []float64
	d := pipeline.NewDurations()
	for range 500 {
		v := float64(rng.IntN(3)*rng.IntN(600_000)) / 1000 // a third are zero
		ds = append(ds, v)
		d.Add(v)
	}
	for _, v := range ds[:200] {
		if !d.Remove(v) {
			t.Fatalf("could not remove %v", v)
		}
	}
	rest := pipeline.NewDurations()
	for _, v := range ds[200:] {
		rest.Add(v)
	}
	if d.Remove(1e9) {
		t.Error("removed a duration never added")
	}
	if d.Count() != rest.Count() {
		t.Fatalf("count %d, want %d", d.Count(), rest.Count())
	}
	for p := 1.0; p <= 100; p++ {
		if d.NearestRank(p) != rest.NearestRank(p) {
			t.Errorf("p%.0f = %v after removing, %v from the remaining durations", p, d.NearestRank(p), rest.NearestRank(p))
		}
	}
}

// TestDayPointsMatchTheOracle: the points computed from rollups are those computed from the
// runs (exact for counts, means and rates; durations within the accuracy), on random runs.
func TestDayPointsMatchTheOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	day := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for trial := range 300 {
		var runs []pipeline.Run
		build, deploy := &pipeline.Rollup{}, &pipeline.Rollup{}
		for i := range 1 + rng.IntN(40) {
			r := testenv.RandomRun(rng, string(rune('a'+i)), []string{"w"}, day, 1)
			runs = append(runs, r)
			if r.Kind == pipeline.KindBuild {
				build.Add(r)
			} else {
				deploy.Add(r)
			}
		}
		date := day.Format(time.DateOnly)
		want := testenv.Oracle(runs, pipeline.Queries, []string{"w"}, date, date)
		for i, q := range pipeline.Queries {
			r := build
			if q == pipeline.QueryDeployFreq {
				r = deploy
			}
			got, w := pipeline.DayPoint(q, date, r), want[i].Points[0]
			ok := got.Count == w.Count && (got.Value == nil) == (w.Value == nil)
			if ok && got.Value != nil {
				if q == pipeline.QueryDuration {
					ok = math.Abs(*got.P50-*w.P50) <= pipeline.DurationAccuracy*(*w.P50+0.005)+0.01 && math.Abs(*got.P95-*w.P95) <= pipeline.DurationAccuracy*(*w.P95+0.005)+0.01
				} else {
					ok = *got.Value == *w.Value
				}
			}
			if !ok {
				t.Errorf("trial %d %s: %+v, want %+v", trial, q, got, w)
			}
		}
	}
	// Halves round away from zero, computed exactly: (80.12 + 80.13) / 2 = 80.125 → 80.13.
	r := &pipeline.Rollup{}
	for _, c := range []float64{80.12, 80.13} {
		r.Add(pipeline.Run{Kind: pipeline.KindBuild, Status: "success", Coverage: &c, StartedAt: day, FinishedAt: day})
	}
	if p := pipeline.DayPoint(pipeline.QueryCoverage, "2026-01-05", r); *p.Value != 80.13 {
		t.Errorf("mean of 80.12 and 80.13 = %v, want 80.13", *p.Value)
	}
}

func TestDayOf(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(1970, 1, 1, 23, 59, 59, 999e6, time.UTC), 0},
		{time.Date(1969, 12, 31, 23, 59, 59, 999e6, time.UTC), -1},
		{time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("", 3600)), 20512}, // 28 February 23:00 UTC
	} {
		if got := pipeline.DayOf(tc.t); got != tc.want || (tc.want >= 0 && !pipeline.DayStart(got).Equal(tc.t.UTC().Truncate(24*time.Hour))) {
			t.Errorf("DayOf(%s) = %d, want %d", tc.t, got, tc.want)
		}
	}
}
