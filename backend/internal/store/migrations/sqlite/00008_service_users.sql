-- +goose Up
-- Service users: the automation identities tokens belong to. What a token may do is decided by
-- its service user as stored now (scopes: the token's and the service user's in common;
-- workloads: the service user's, space-separated names or "*"), so a change reaches every token
-- at once. Every change takes the next number of service_user_feed (one row, incremented inside
-- the change's transaction: its row lock puts changes in commit order) and stores it in
-- change_seq, so instances read "every service user changed above n" as they read revocations.
-- A deleted service user stays as a row (its revoked tokens and its runs still name it) with
-- deleted_seq set to the number its deletion took; live rows have 0, so a name is unique among
-- live service users and can be used again after a deletion.
CREATE TABLE service_users (
    id           INTEGER       NOT NULL PRIMARY KEY AUTOINCREMENT,
    name         VARCHAR(400)  NOT NULL,
    description  VARCHAR(2000) NOT NULL DEFAULT '',
    scopes       VARCHAR(400)  NOT NULL,
    workloads    TEXT          NOT NULL,
    disabled     BOOLEAN       NOT NULL DEFAULT FALSE,
    needs_review BOOLEAN       NOT NULL DEFAULT FALSE,
    created_at   BIGINT        NOT NULL,
    created_by   VARCHAR(320)  NOT NULL,
    updated_at   BIGINT        NOT NULL,
    updated_by   VARCHAR(320)  NOT NULL,
    change_seq   BIGINT        NOT NULL,
    deleted_seq  BIGINT        NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX service_users_name ON service_users (name, deleted_seq);

CREATE TABLE service_user_feed (
    id  INT    NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL
);

ALTER TABLE service_tokens ADD COLUMN service_user_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pipeline_runs ADD COLUMN service_user VARCHAR(400) NOT NULL DEFAULT '';
-- A service user's recent runs (GET /api/pipeline/runs?serviceUser=).
CREATE INDEX pipeline_runs_service_user ON pipeline_runs (service_user, started_at);

-- Each subject of the existing tokens becomes a service user holding the union of its tokens'
-- scopes and every workload, marked for review: its tokens keep exactly what they could do.
INSERT INTO service_users (name, scopes, workloads, needs_review, created_at, created_by, updated_at, updated_by, change_seq)
SELECT subject,
       TRIM(CASE WHEN SUM(CASE WHEN ' ' || scopes || ' ' LIKE '% metrics:read %' THEN 1 ELSE 0 END) > 0 THEN 'metrics:read' ELSE '' END || ' ' ||
            CASE WHEN SUM(CASE WHEN ' ' || scopes || ' ' LIKE '% pipeline:write %' THEN 1 ELSE 0 END) > 0 THEN 'pipeline:write' ELSE '' END),
       '*', TRUE, MIN(created_at), 'migration', MIN(created_at), 'migration', 0
FROM service_tokens GROUP BY subject ORDER BY MIN(created_at), subject;
UPDATE service_users SET change_seq = id;
CREATE UNIQUE INDEX service_users_change_seq ON service_users (change_seq);
INSERT INTO service_user_feed (id, seq) SELECT 1, COALESCE(MAX(change_seq), 0) FROM service_users;

UPDATE service_tokens SET service_user_id = (SELECT u.id FROM service_users u WHERE u.name = service_tokens.subject AND u.deleted_seq = 0);
CREATE INDEX service_tokens_service_user ON service_tokens (service_user_id, expires_at);

-- Runs recorded with a token name the service user that recorded them.
UPDATE pipeline_runs SET service_user = COALESCE((SELECT t.subject FROM service_tokens t WHERE t.id = SUBSTR(pipeline_runs.recorded_by, 7)), '')
WHERE recorded_by LIKE 'token:%';
