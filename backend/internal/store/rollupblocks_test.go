package store

import (
	"slices"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
)

// TestBlockEncodingRoundTrips: a block's entries come back as they were written, on either side
// of 1970 (days before it are negative: their block is rounded down, not towards zero).
func TestBlockEncodingRoundTrips(t *testing.T) {
	for _, c := range []struct{ day, block int64 }{{0, 0}, {31, 0}, {32, 1}, {-1, -1}, {-32, -1}, {-33, -2}, {20_500, 640}} {
		if got := blockOf(c.day); got != c.block {
			t.Errorf("blockOf(%d) = %d, want %d", c.day, got, c.block)
		}
	}
	for _, block := range []int64{-2, 0, 640} {
		first := block * blockDays
		entries := []blockEntry{
			{day: first, r: pipeline.Rollup{Succeeded: 3, Failed: 1, CoverageCount: 2, CoverageSum: 150_000_000_000, P50: 61.5, P95: 600.25}},
			{day: first, deploy: true, r: pipeline.Rollup{Cancelled: 1 << 40}},
			{day: first + blockDays - 1, r: pipeline.Rollup{Succeeded: 1, P50: 0.01, P95: 0.01}},
		}
		got, err := decodeBlock(nil, block, encodeBlock(block, entries))
		if err != nil || !slices.Equal(got, entries) {
			t.Errorf("block %d: %+v, %v; want %+v", block, got, err, entries)
		}
	}
	for _, bad := range [][]byte{nil, {0}, {blockFormat, 0, 1}, append([]byte{blockFormat, 0, 0, 0, 0, 0, 0}, 1, 2, 3)} {
		if _, err := decodeBlock(nil, 0, bad); err == nil {
			t.Errorf("decodeBlock(%v) accepted it", bad)
		}
	}
}
