-- +goose Up
-- Rollup blocks: per workload and block of 32 UTC days (day / 32, rounded down), what a query
-- reads of the block's daily rollups (counts, coverage sum, p50, p95), encoded in one value, so
-- that a year-long query reads 13 rows a workload however many runs the year held. Written in
-- the transaction that writes the daily rows they mirror. The blocks of the daily rollups stored
-- before this migration are built at start-up, under the migration lock, while blocks_done is
-- false: an instance of an earlier version must not record runs after this one first started.
CREATE TABLE pipeline_rollup_blocks (
    workload_id BIGINT NOT NULL,
    block       BIGINT NOT NULL,
    days        BLOB   NOT NULL,
    PRIMARY KEY (workload_id, block)
);

ALTER TABLE pipeline_rollup_backfill ADD COLUMN blocks_done BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE pipeline_rollup_backfill SET blocks_done = CASE WHEN EXISTS (SELECT 1 FROM pipeline_rollups) THEN FALSE ELSE TRUE END;
