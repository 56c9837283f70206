-- +goose Up
-- Daily rollups: per workload, UTC day (days since 1970-01-01) and kind, the day's runs summed,
-- written in the transaction that records the runs. Queries read these, never the runs.
-- coverage_sum is in billionths of a percent (exact integer sums); durations is a DDSketch of
-- the runs' durations in seconds (sketches-go's binary encoding, mapping included), and
-- duration_p50/p95 its percentiles as of the last write, which is all a query reads of it.
CREATE TABLE pipeline_rollups (
    workload_id    BIGINT      NOT NULL,
    day            BIGINT      NOT NULL,
    kind           VARCHAR(16) NOT NULL,
    succeeded      BIGINT      NOT NULL DEFAULT 0,
    failed         BIGINT      NOT NULL DEFAULT 0,
    cancelled      BIGINT      NOT NULL DEFAULT 0,
    coverage_count BIGINT      NOT NULL DEFAULT 0,
    coverage_sum   BIGINT      NOT NULL DEFAULT 0,
    durations      BLOB        NULL,
    duration_p50   DOUBLE      NOT NULL DEFAULT 0,
    duration_p95   DOUBLE      NOT NULL DEFAULT 0,
    PRIMARY KEY (workload_id, day, kind)
);

-- The runs recorded before this migration are counted after start-up, in batches in the order of
-- pipeline_runs_workload_newest; this row keeps the position. A database without runs has
-- nothing to count.
CREATE TABLE pipeline_rollup_backfill (
    id                INTEGER      NOT NULL PRIMARY KEY,
    done              BOOLEAN      NOT NULL,
    after_workload_id BIGINT       NOT NULL,
    after_started_at  BIGINT       NOT NULL,
    after_run_id      VARCHAR(200) NOT NULL
);
INSERT INTO pipeline_rollup_backfill (id, done, after_workload_id, after_started_at, after_run_id)
SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM pipeline_runs) THEN 0 ELSE 1 END, 0, 0, '';

-- The run list's order, newest first (started_at DESC, then workload and run id), with and
-- without a workload: a page reads its rows from the index, sorting nothing. They replace the
-- two indexes they begin with.
CREATE INDEX pipeline_runs_newest ON pipeline_runs (started_at, workload_id, run_id);
CREATE INDEX pipeline_runs_workload_newest ON pipeline_runs (workload_id, started_at, run_id);
DROP INDEX pipeline_runs_recent;
DROP INDEX pipeline_runs_started;
