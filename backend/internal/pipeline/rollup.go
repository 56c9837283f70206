package pipeline

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// DurationAccuracy is the relative accuracy of the build-duration percentiles: each p50 and
// p95 is within 0.5% of the exact nearest-rank duration (before the rounding to 0.01 s that
// every value gets). It is the DDSketch's relative accuracy; every stored sketch names its
// mapping, so a sketch kept with another accuracy is refused rather than merged wrongly.
const DurationAccuracy = 0.005

// CoverageScale is the unit of a rollup's coverage sum: billionths of a percent. An integer sum
// is exact whatever the order runs are added (and, later, removed) in, which a float sum is not.
const CoverageScale = 1e9

var durationMapping = func() mapping.IndexMapping {
	m, err := mapping.NewLogarithmicMapping(DurationAccuracy)
	if err != nil {
		panic(err)
	}
	return m
}()

// msPerDay is a UTC day in milliseconds.
const msPerDay = 24 * 60 * 60 * 1000

// DayOf is the UTC day of t, as days since 1970-01-01 (negative before).
func DayOf(t time.Time) int64 {
	ms := t.UnixMilli()
	d := ms / msPerDay
	if ms%msPerDay < 0 {
		d-- // floor, not truncation, for times before 1970
	}
	return d
}

// DayStart is the first instant of a day numbered as DayOf numbers them.
func DayStart(day int64) time.Time { return time.UnixMilli(day * msPerDay).UTC() }

// RollupKey names one rollup: the runs of one kind of one workload on one UTC day.
type RollupKey struct {
	Workload string
	Day      int64 // DayOf the runs' start
	Kind     string
}

// KeyOf is the rollup a run counts in.
func KeyOf(r Run) RollupKey {
	return RollupKey{Workload: r.Workload, Day: DayOf(r.StartedAt), Kind: r.Kind}
}

// Rollup sums the runs of one rollup key: what the daily metrics are computed from, so that a
// query reads one row per workload, day and kind however many runs there were. Counts and sums
// are exact; durations are a DDSketch, whose bins are exact counts too.
type Rollup struct {
	Succeeded, Failed, Cancelled int64
	// CoverageCount runs reported a coverage; CoverageSum is their sum in CoverageScale units.
	CoverageCount int64
	CoverageSum   int64
	// Durations holds every run's duration in seconds; nil when not read (queries read P50 and
	// P95 instead).
	Durations *Durations
	// P50 and P95 are the durations' percentiles by nearest rank (seconds, within
	// DurationAccuracy), taken from the merged sketch whenever the rollup is written (Settle),
	// so that a query reads two numbers, not the sketch. Zero without runs.
	P50, P95 float64
}

// Settle takes P50 and P95 from the sketch, as it is now.
func (r *Rollup) Settle() {
	r.P50, r.P95 = 0, 0
	if r.Durations != nil && r.Durations.Count() > 0 {
		r.P50, r.P95 = r.Durations.NearestRank(50), r.Durations.NearestRank(95)
	}
}

// Percentiles are the durations' p50 and p95: from the sketch when it was read, else as kept.
func (r *Rollup) Percentiles() (p50, p95 float64) {
	if r.Durations != nil && r.Durations.Count() > 0 {
		return r.Durations.NearestRank(50), r.Durations.NearestRank(95)
	}
	return r.P50, r.P95
}

// Runs counts the runs summed.
func (r *Rollup) Runs() int64 { return r.Succeeded + r.Failed + r.Cancelled }

// coverageUnits is a coverage in CoverageScale units.
func coverageUnits(c float64) int64 { return int64(math.Round(c * CoverageScale)) }

func durationOf(run Run) float64 { return run.FinishedAt.Sub(run.StartedAt).Seconds() }

// Add counts run in r.
func (r *Rollup) Add(run Run) {
	r.count(run, 1)
	if r.Durations == nil {
		r.Durations = NewDurations()
	}
	r.Durations.Add(durationOf(run))
}

// Remove takes a run that was added out of r again (for a run deleted later): counts and sums
// exactly, and the duration's sketch bin exactly, so r is then what it would be had the run
// never been added. It reports false, changing nothing, when r holds no such run.
func (r *Rollup) Remove(run Run) bool {
	if r.Durations == nil || r.statusCount(run.Status) == 0 || (run.Coverage != nil && r.CoverageCount == 0) {
		return false
	}
	if !r.Durations.Remove(durationOf(run)) {
		return false
	}
	r.count(run, -1)
	return true
}

func (r *Rollup) statusCount(status string) int64 {
	switch status {
	case StatusSuccess:
		return r.Succeeded
	case StatusFailed:
		return r.Failed
	default:
		return r.Cancelled
	}
}

func (r *Rollup) count(run Run, n int64) {
	switch run.Status {
	case StatusSuccess:
		r.Succeeded += n
	case StatusFailed:
		r.Failed += n
	default:
		r.Cancelled += n
	}
	if run.Coverage != nil {
		r.CoverageCount += n
		r.CoverageSum += n * coverageUnits(*run.Coverage)
	}
}

// Merge adds o's runs to r.
func (r *Rollup) Merge(o Rollup) error {
	r.Succeeded += o.Succeeded
	r.Failed += o.Failed
	r.Cancelled += o.Cancelled
	r.CoverageCount += o.CoverageCount
	r.CoverageSum += o.CoverageSum
	if o.Durations == nil {
		return nil
	}
	if r.Durations == nil {
		r.Durations = NewDurations()
	}
	return r.Durations.Merge(o.Durations)
}

// Durations is a DDSketch of durations in seconds (DurationAccuracy), mergeable and stored
// with its rollup. Durations under a millisecond (zero) are counted exactly apart from the
// logarithmic bins.
type Durations struct {
	s *ddsketch.DDSketch
}

// NewDurations returns an empty sketch.
func NewDurations() *Durations {
	return &Durations{s: ddsketch.NewDDSketch(durationMapping, store.NewDenseStore(), store.NewDenseStore())}
}

// Add counts one duration (seconds, at least zero: Validate sees to that).
func (d *Durations) Add(seconds float64) {
	_ = d.s.Add(max(seconds, 0)) // too high to index means over 10^300 s
}

// Remove takes one duration out again: the count of its bin goes down by one, exactly. It
// reports false when no duration of that bin was added.
func (d *Durations) Remove(seconds float64) bool {
	seconds = max(seconds, 0)
	zero := seconds <= durationMapping.MinIndexableValue()
	idx := durationMapping.Index(seconds)
	// DDSketch has no delete: rebuild it, with one count fewer in the bin.
	n := NewDurations()
	found := false
	if zc := d.s.GetZeroCount(); zc > 0 {
		if zero {
			zc--
			found = true
		}
		_ = n.s.AddWithCount(0, zc)
	}
	pos := n.s.GetPositiveValueStore()
	d.s.GetPositiveValueStore().ForEach(func(i int, c float64) bool {
		if !zero && !found && i == idx {
			c--
			found = true
		}
		pos.AddWithCount(i, c)
		return false
	})
	if found {
		d.s = n.s
	}
	return found
}

// Merge adds o's durations to d.
func (d *Durations) Merge(o *Durations) error { return d.s.MergeWith(o.s) }

// Count is how many durations d holds.
func (d *Durations) Count() int64 { return int64(d.s.GetCount()) }

// NearestRank returns the pct-th percentile by nearest rank, as the exact computation over the
// sorted durations defines it, within DurationAccuracy: the rank is exact (the bins count
// exactly), the value is its bin's. d must not be empty.
func (d *Durations) NearestRank(pct float64) float64 {
	n := d.s.GetCount()
	i := int(math.Ceil(pct/100*n)) - 1
	i = max(0, min(i, int(n)-1))
	zeros := d.s.GetZeroCount()
	if float64(i) < zeros {
		return 0
	}
	return d.s.IndexMapping.Value(d.s.GetPositiveValueStore().KeyAtRank(float64(i) - zeros))
}

// Encode serialises d in DDSketch's own binary encoding, its mapping included.
func (d *Durations) Encode() []byte {
	var b []byte
	d.s.Encode(&b, false)
	return b
}

// DecodeDurations reads what Encode wrote; an empty b is an empty sketch.
func DecodeDurations(b []byte) (*Durations, error) {
	if len(b) == 0 {
		return NewDurations(), nil
	}
	s, err := ddsketch.DecodeDDSketch(b, store.DenseStoreConstructor, nil)
	if err != nil {
		return nil, fmt.Errorf("decode a duration sketch: %w", err)
	}
	if !s.IndexMapping.Equals(durationMapping) {
		return nil, errors.New("decode a duration sketch: kept with another relative accuracy")
	}
	if s.GetNegativeValueStore().TotalCount() != 0 {
		return nil, errors.New("decode a duration sketch: negative durations")
	}
	return &Durations{s: s}, nil
}
