package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"gorm.io/gorm"
)

// Rollup blocks: a second, read-only shape of the daily rollups, one row per workload and block
// of blockDays UTC days holding what a query reads of each of the block's daily rollups (counts,
// coverage sum, p50, p95; no sketch). A year-long query then reads 12 or 13 rows a workload
// however many runs history holds; the daily rows read one per workload, day and kind, so a
// query over a busy year read four times as many rows as over a quiet one. writeRollups, the
// one place daily rollups are written, rewrites their blocks in the same transaction, locked
// after the daily rows (so two writers never wait for each other in opposite orders).

// blockDays is how many days a block holds: about a month, so that a month's dashboard reads one
// or two rows a workload and a block stays a few kilobytes (at most 2 × 32 entries).
const blockDays = 32

// blockFormat is the first byte of a block's encoding.
const blockFormat = 1

type blockRow struct {
	WorkloadID int64 `gorm:"primaryKey;autoIncrement:false"`
	Block      int64 `gorm:"primaryKey;autoIncrement:false"`
	Days       []byte
}

func (blockRow) TableName() string { return "pipeline_rollup_blocks" }

// blockOf is the block that holds day (floor division: days before 1970 are negative).
func blockOf(day int64) int64 {
	b := day / blockDays
	if day%blockDays < 0 {
		b--
	}
	return b
}

// blockEntry is one daily rollup as a block holds it.
type blockEntry struct {
	day    int64
	deploy bool
	r      pipeline.Rollup // without Durations
}

func (e blockEntry) compare(o blockEntry) int {
	return cmp.Or(cmp.Compare(e.day, o.day), compareBool(e.deploy, o.deploy))
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// encodeBlock writes entries, sorted by day and kind (build before deploy), of one block:
// per entry a byte of day offset and kind, five varints and the two percentiles' float bits.
func encodeBlock(block int64, entries []blockEntry) []byte {
	out := make([]byte, 1, 1+len(entries)*32)
	out[0] = blockFormat
	for _, e := range entries {
		b := byte(e.day-block*blockDays) << 1
		if e.deploy {
			b |= 1
		}
		out = append(out, b)
		for _, v := range [...]int64{e.r.Succeeded, e.r.Failed, e.r.Cancelled, e.r.CoverageCount, e.r.CoverageSum} {
			out = binary.AppendVarint(out, v)
		}
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(e.r.P50))
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(e.r.P95))
	}
	return out
}

var errBadBlock = errors.New("malformed rollup block")

// decodeBlock appends the entries of one block's encoding to dst.
func decodeBlock(dst []blockEntry, block int64, data []byte) ([]blockEntry, error) {
	if len(data) == 0 || data[0] != blockFormat {
		return dst, errBadBlock
	}
	data = data[1:]
	for len(data) > 0 {
		e := blockEntry{day: block*blockDays + int64(data[0]>>1), deploy: data[0]&1 == 1}
		data = data[1:]
		for _, p := range [...]*int64{&e.r.Succeeded, &e.r.Failed, &e.r.Cancelled, &e.r.CoverageCount, &e.r.CoverageSum} {
			v, n := binary.Varint(data)
			if n <= 0 {
				return dst, errBadBlock
			}
			*p, data = v, data[n:]
		}
		if len(data) < 16 {
			return dst, errBadBlock
		}
		e.r.P50 = math.Float64frombits(binary.LittleEndian.Uint64(data))
		e.r.P95 = math.Float64frombits(binary.LittleEndian.Uint64(data[8:]))
		data = data[16:]
		dst = append(dst, e)
	}
	return dst, nil
}

// blockKey is a block row's primary key.
type blockKey struct{ workloadID, block int64 }

func (k blockKey) compare(o blockKey) int {
	return cmp.Or(cmp.Compare(k.workloadID, o.workloadID), cmp.Compare(k.block, o.block))
}

// entryOf is what a block holds of a daily rollup row.
func entryOf(r rollupRow) (blockEntry, error) {
	if r.Kind != pipeline.KindBuild && r.Kind != pipeline.KindDeploy {
		return blockEntry{}, apperr.New(apperr.Internal, "a rollup of kind %q has no place in a block", r.Kind)
	}
	rr, _ := r.toRollup(false)
	return blockEntry{day: r.Day, deploy: r.Kind == pipeline.KindDeploy, r: rr}, nil
}

// writeBlocks puts rows, daily rollups as this transaction writes them, into their blocks.
func writeBlocks(tx *gorm.DB, driver string, rows []rollupRow) error {
	changed := map[blockKey][]blockEntry{}
	for _, r := range rows {
		e, err := entryOf(r)
		if err != nil {
			return err
		}
		k := blockKey{r.WorkloadID, blockOf(r.Day)}
		changed[k] = append(changed[k], e)
	}
	keys := slices.SortedFunc(maps.Keys(changed), blockKey.compare)
	byWorkload := map[int64][]int64{}
	for _, k := range keys {
		byWorkload[k.workloadID] = append(byWorkload[k.workloadID], k.block)
	}
	found, err := lockByWorkload[blockRow](tx, driver, "block", byWorkload, "workload_id, block")
	if err != nil {
		return err
	}
	current := make(map[blockKey][]byte, len(found))
	for _, b := range found {
		current[blockKey{b.WorkloadID, b.Block}] = b.Days
	}
	var existing, created []blockRow
	for _, k := range keys {
		data, ok := current[k]
		var entries []blockEntry
		if ok {
			if entries, err = decodeBlock(nil, k.block, data); err != nil {
				return apperr.Wrap(err, apperr.Internal, "a stored rollup block cannot be read")
			}
		}
		for _, e := range changed[k] {
			if i, same := slices.BinarySearchFunc(entries, e, blockEntry.compare); same {
				entries[i] = e
			} else {
				entries = slices.Insert(entries, i, e)
			}
		}
		row := blockRow{WorkloadID: k.workloadID, Block: k.block, Days: encodeBlock(k.block, entries)}
		if ok {
			existing = append(existing, row)
		} else {
			created = append(created, row)
		}
	}
	return writeLocked(tx, driver, existing, created, []string{"workload_id", "block"}, []string{"days"})
}

// rollupBlocks calls each with the rollups q selects from the blocks (see Rollups).
func (s *Store) rollupBlocks(ctx context.Context, q pipeline.RollupQuery, ids map[string]int64, each func(pipeline.RollupKey, pipeline.Rollup) error) error {
	build, deploy := len(q.Kinds) == 0, len(q.Kinds) == 0
	for _, k := range q.Kinds {
		build = build || k == pipeline.KindBuild
		deploy = deploy || k == pipeline.KindDeploy
	}
	stmt, err := s.sql.PrepareContext(ctx, "SELECT block, days FROM pipeline_rollup_blocks WHERE workload_id = ? AND block >= ? AND block <= ? ORDER BY block")
	if err != nil {
		return translate(err, "rollups")
	}
	defer stmt.Close()
	var entries []blockEntry
	var data []byte
	for _, name := range q.Workloads {
		id, ok := ids[name]
		if !ok {
			continue
		}
		err := func() error {
			rows, err := stmt.QueryContext(ctx, id, blockOf(q.From), blockOf(q.To))
			if err != nil {
				return err
			}
			defer rows.Close()
			k := pipeline.RollupKey{Workload: name}
			for rows.Next() {
				var block int64
				if err := rows.Scan(&block, (*sql.RawBytes)(&data)); err != nil {
					return err
				}
				if entries, err = decodeBlock(entries[:0], block, data); err != nil {
					return apperr.Wrap(err, apperr.Internal, "a stored rollup block cannot be read")
				}
				for _, e := range entries {
					if e.day < q.From || e.day > q.To || (e.deploy && !deploy) || (!e.deploy && !build) {
						continue
					}
					k.Day, k.Kind = e.day, pipeline.KindBuild
					if e.deploy {
						k.Kind = pipeline.KindDeploy
					}
					if err := each(k, e.r); err != nil {
						return err
					}
				}
			}
			return rows.Err()
		}()
		if err != nil {
			return translate(err, "rollups")
		}
	}
	return nil
}

// buildRollupBlocks builds the blocks of the daily rollups stored before the blocks existed
// (migration 00013 leaves blocks_done false when there are any), a transaction per workload,
// then records that they are built. It runs under the migration lock, before the instance
// serves: no instance of this version writes rollups meanwhile. Building a workload's blocks
// again, after a start that stopped half-way, gives the same blocks.
func (s *Store) buildRollupBlocks(ctx context.Context, log *slog.Logger) error {
	var done []bool
	if err := s.db.WithContext(ctx).Model(&backfillRow{}).Where("id = 1").Pluck("blocks_done", &done).Error; err != nil {
		return translate(err, "rollup blocks")
	}
	if len(done) == 0 || done[0] {
		return nil
	}
	var workloads []int64
	if err := s.db.WithContext(ctx).Model(&rollupRow{}).Distinct("workload_id").Order("workload_id").Pluck("workload_id", &workloads).Error; err != nil {
		return translate(err, "rollup blocks")
	}
	log.Info("building the rollup blocks of the stored daily rollups", "workloads", len(workloads))
	for _, wid := range workloads {
		err := s.upsertTx(ctx, func(tx *gorm.DB) error {
			var rows []rollupRow
			err := tx.Select("workload_id", "day", "kind", "succeeded", "failed", "cancelled", "coverage_count", "coverage_sum", "duration_p50", "duration_p95").
				Where("workload_id = ?", wid).Order("day, kind").Find(&rows).Error
			if err != nil {
				return err
			}
			return writeBlocks(tx, s.driver, rows)
		})
		if err != nil {
			return translate(err, "rollup blocks")
		}
	}
	return s.writeOne(ctx, func(db *gorm.DB) error {
		return db.Model(&backfillRow{}).Where("id = 1").Update("blocks_done", true).Error
	})
}

// lockByWorkload reads the rows of R whose workload_id is a key of keys and whose col is one of
// its values, in order, locked for this transaction on MySQL (see lockRollups).
func lockByWorkload[R any](tx *gorm.DB, driver, col string, keys map[int64][]int64, order string) ([]R, error) {
	var where strings.Builder
	var args []any
	for i, wid := range slices.Sorted(maps.Keys(keys)) {
		if i > 0 {
			where.WriteString(" OR ")
		}
		where.WriteString("(workload_id = ? AND " + col + " IN ?)")
		args = append(args, wid, slices.Compact(keys[wid]))
	}
	q := tx.Where(where.String(), args...).Order(order)
	if driver == MySQL {
		q = q.Clauses(lockForUpdate)
	}
	var rows []R
	return rows, q.Find(&rows).Error
}
