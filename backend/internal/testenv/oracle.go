package testenv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
)

// Teams returns n workload names: team-00, team-01, …
func Teams(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("team-%02d", i)
	}
	return out
}

// RandomRun is a run of one of workloads on one of days days from base: starts anywhere in the
// day and often at its very first or last millisecond (UTC), durations from zero to hours,
// coverage absent, whole or with every digit a float64 has: what tests check the
// rollups against Oracle with.
func RandomRun(rng *rand.Rand, id string, workloads []string, base time.Time, days int) pipeline.Run {
	day := base.AddDate(0, 0, rng.IntN(days))
	var start time.Time
	switch rng.IntN(5) {
	case 0:
		start = day // 00:00:00.000
	case 1:
		start = day.Add(24*time.Hour - time.Millisecond) // 23:59:59.999
	default:
		start = day.Add(time.Duration(rng.Int64N(int64(24 * time.Hour)))).Truncate(time.Millisecond)
	}
	var d time.Duration
	switch rng.IntN(6) {
	case 0:
		d = 0
	case 1:
		d = time.Duration(rng.IntN(1000)) * time.Millisecond
	case 2:
		d = time.Duration(rng.IntN(7200)) * time.Second
	default:
		d = time.Duration(30_000+rng.IntN(900_000)) * time.Millisecond
	}
	r := pipeline.Run{
		ID: id, Workload: workloads[rng.IntN(len(workloads))], Pipeline: "main-ci", Kind: pipeline.KindBuild,
		Status: pipeline.StatusSuccess, Branch: "main", Commit: "0123456789abcdef0123456789abcdef01234567",
		StartedAt: start, FinishedAt: start.Add(d),
	}
	if rng.IntN(4) == 0 {
		r.Kind = pipeline.KindDeploy
	}
	switch n := rng.IntN(20); {
	case n < 4:
		r.Status = pipeline.StatusFailed
	case n < 7:
		r.Status = pipeline.StatusCancelled
	}
	switch rng.IntN(3) {
	case 0:
		c := float64(rng.IntN(101))
		r.Coverage = &c
	case 1:
		c := rng.Float64() * 100
		r.Coverage = &c
	}
	if rng.IntN(2) == 0 {
		r.Tests = &pipeline.Tests{Passed: rng.IntN(500), Failed: rng.IntN(3), Skipped: rng.IntN(10)}
	}
	return r
}

// Oracle computes the daily series of POST /api/query the way CodeMetrics did before rollups:
// from the runs themselves, every run of the range in memory, durations sorted. Tests compare
// the rollups' answers with it; it is kept here, in test support only, and nowhere in the
// product. runs are every stored run; start and end are inclusive UTC dates (YYYY-MM-DD).
func Oracle(runs []pipeline.Run, queries, workloads []string, start, end string) []pipeline.Series {
	from, _ := time.Parse(time.DateOnly, start)
	to, _ := time.Parse(time.DateOnly, end)
	days := int(to.Sub(from).Hours()/24) + 1
	byKey := map[string][]pipeline.Run{} // workload + date
	for _, r := range runs {
		if r.StartedAt.Before(from) || !r.StartedAt.Before(to.AddDate(0, 0, 1)) {
			continue
		}
		k := r.Workload + "\x00" + r.StartedAt.UTC().Format(time.DateOnly)
		byKey[k] = append(byKey[k], r)
	}
	var out []pipeline.Series
	for _, w := range workloads {
		for _, q := range queries {
			ser := pipeline.Series{Query: q, Workload: w, Unit: oracleUnit(q)}
			for d := range days {
				date := from.AddDate(0, 0, d).Format(time.DateOnly)
				ser.Points = append(ser.Points, oracleDay(q, date, byKey[w+"\x00"+date]))
			}
			out = append(out, ser)
		}
	}
	return out
}

func oracleUnit(q string) string {
	switch q {
	case pipeline.QueryCoverage, pipeline.QuerySuccessRate:
		return "percent"
	case pipeline.QueryDuration:
		return "seconds"
	default:
		return "deployments"
	}
}

// oracleDay is one day of one query, as computed before rollups.
func oracleDay(q, date string, runs []pipeline.Run) pipeline.Point {
	p := pipeline.Point{Date: date}
	switch q {
	case pipeline.QueryCoverage:
		var sum float64
		for _, r := range runs {
			if r.Kind == pipeline.KindBuild && r.Coverage != nil {
				sum += *r.Coverage
				p.Count++
			}
		}
		if p.Count > 0 {
			p.Value = oraclePtr(oracleRound(sum / float64(p.Count)))
		}
	case pipeline.QuerySuccessRate:
		ok := 0
		for _, r := range runs {
			if r.Kind == pipeline.KindBuild && r.Status != pipeline.StatusCancelled {
				p.Count++
				if r.Status == pipeline.StatusSuccess {
					ok++
				}
			}
		}
		if p.Count > 0 {
			p.Value = oraclePtr(oracleRound(100 * float64(ok) / float64(p.Count)))
		}
	case pipeline.QueryDuration:
		var ds []float64
		for _, r := range runs {
			if r.Kind == pipeline.KindBuild {
				ds = append(ds, r.FinishedAt.Sub(r.StartedAt).Seconds())
			}
		}
		p.Count = len(ds)
		if len(ds) > 0 {
			sort.Float64s(ds)
			p.P50, p.P95 = oraclePtr(oracleRound(nearestRank(ds, 50))), oraclePtr(oracleRound(nearestRank(ds, 95)))
			p.Value = p.P50
		}
	case pipeline.QueryDeployFreq:
		n := 0
		for _, r := range runs {
			if r.Kind == pipeline.KindDeploy && r.Status == pipeline.StatusSuccess {
				n++
			}
		}
		p.Count = n
		p.Value = oraclePtr(float64(n))
	}
	return p
}

func nearestRank(sorted []float64, pct float64) float64 {
	i := int(math.Ceil(pct/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func oracleRound(v float64) float64 { return math.Round(v*100) / 100 }

func oraclePtr(v float64) *float64 { return &v }
