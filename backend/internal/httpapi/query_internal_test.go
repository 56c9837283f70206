package httpapi

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
)

// pointResponse is the reference the streamed answer's points are held to: a point of the
// docs' Series, as encoding/json writes it.
type pointResponse struct {
	Date  string   `json:"date"`
	Value *float64 `json:"value"`
	P50   *float64 `json:"p50,omitempty"`
	P95   *float64 `json:"p95,omitempty"`
	Count int      `json:"count"`
}

// TestHandEncodedPointsMatchEncodingJSON holds appendPointJSON to what encoding/json makes of
// the same point, for every query on random and awkward days (no runs, zero durations, values
// needing every digit, tiny and huge numbers).
func TestHandEncodedPointsMatchEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	days := []pipeline.DayRollups{{}, {Build: pipeline.Rollup{Succeeded: 1}}, {Deploy: pipeline.Rollup{Succeeded: 3, Failed: 1}}}
	for range 3000 {
		r := pipeline.Rollup{
			Succeeded: rng.Int64N(100), Failed: rng.Int64N(10), Cancelled: rng.Int64N(3), CoverageCount: rng.Int64N(50),
			P50: rng.Float64() * 1000, P95: rng.Float64() * math.Pow(10, float64(rng.IntN(30)-8)),
		}
		r.CoverageSum = r.CoverageCount * rng.Int64N(100*pipeline.CoverageScale)
		days = append(days, pipeline.DayRollups{Build: r, Deploy: r})
	}
	for _, d := range days {
		for _, q := range pipeline.Queries {
			v := pipeline.ValueOf(q, &d)
			p := v.Point("2026-03-01")
			want, err := json.Marshal(pointResponse{Date: p.Date, Value: p.Value, P50: p.P50, P95: p.P95, Count: p.Count})
			if err != nil {
				t.Fatal(err)
			}
			if got := appendPointJSON(nil, "2026-03-01", v); string(got) != string(want) {
				t.Fatalf("%s %+v:\n got %s\nwant %s", q, d.Build, got, want)
			}
		}
	}
}

func FuzzAppendJSONFloat(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e21, 1e20, 123456.789, 5e-324, math.MaxFloat64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return // not JSON; a query's values are finite
		}
		want, _ := json.Marshal(v)
		if got := appendJSONFloat(nil, v); string(got) != string(want) {
			t.Fatalf("%v: got %s want %s", v, got, want)
		}
	})
}
