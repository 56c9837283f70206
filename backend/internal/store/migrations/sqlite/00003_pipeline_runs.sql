-- +goose Up
-- Workloads (a team or project) are created on first use by a recorded run.
CREATE TABLE workloads (
    id         INTEGER      NOT NULL PRIMARY KEY AUTOINCREMENT,
    name       VARCHAR(100) NOT NULL,
    created_at BIGINT       NOT NULL
);
CREATE UNIQUE INDEX workloads_name ON workloads (name);

-- A run's id is the CI system's, unique within its workload: recording it again is idempotent.
CREATE TABLE pipeline_runs (
    workload_id   BIGINT       NOT NULL,
    run_id        VARCHAR(200) NOT NULL,
    pipeline      VARCHAR(200) NOT NULL,
    kind          VARCHAR(16)  NOT NULL,
    status        VARCHAR(16)  NOT NULL,
    branch        VARCHAR(250) NOT NULL,
    commit_sha    VARCHAR(64)  NOT NULL,
    started_at    BIGINT       NOT NULL,
    finished_at   BIGINT       NOT NULL,
    coverage      DOUBLE       NULL,
    tests_passed  INT          NULL,
    tests_failed  INT          NULL,
    tests_skipped INT          NULL,
    recorded_at   BIGINT       NOT NULL,
    recorded_by   VARCHAR(320) NOT NULL,
    PRIMARY KEY (workload_id, run_id)
);
CREATE INDEX pipeline_runs_started ON pipeline_runs (workload_id, started_at);
CREATE INDEX pipeline_runs_recent ON pipeline_runs (started_at, run_id);
