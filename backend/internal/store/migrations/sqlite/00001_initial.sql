-- +goose Up
-- Times are unix milliseconds (BIGINT) on both databases: exact, comparable and free of
-- time-zone settings.
CREATE TABLE service_tokens (
    id             VARCHAR(64)  NOT NULL PRIMARY KEY,
    subject        VARCHAR(400) NOT NULL,
    scopes         VARCHAR(400) NOT NULL,
    created_at     BIGINT       NOT NULL,
    expires_at     BIGINT       NOT NULL,
    created_by     VARCHAR(320) NOT NULL,
    last_used_at   BIGINT       NULL,
    revoked_at     BIGINT       NULL,
    revoked_by     VARCHAR(320) NULL,
    revocation_seq BIGINT       NULL
);
CREATE INDEX service_tokens_created ON service_tokens (created_at, id);
CREATE UNIQUE INDEX service_tokens_revocation_seq ON service_tokens (revocation_seq);

-- One row whose counter every revocation increments inside its transaction: the row lock puts
-- revocations in commit order, so the feed can be read as "everything above n".
CREATE TABLE revocation_feed (
    id  INT    NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO revocation_feed (id, seq) VALUES (1, 0);

CREATE TABLE audit_events (
    id          INTEGER      NOT NULL PRIMARY KEY AUTOINCREMENT,
    occurred_at BIGINT       NOT NULL,
    actor       VARCHAR(320) NOT NULL,
    action      VARCHAR(64)  NOT NULL,
    target      VARCHAR(400) NOT NULL,
    details     TEXT         NOT NULL
);
CREATE INDEX audit_events_action ON audit_events (action, id);

CREATE TABLE admin_sessions (
    id          VARCHAR(64)  NOT NULL PRIMARY KEY,
    secret_hash CHAR(64)     NOT NULL,
    email       VARCHAR(320) NOT NULL,
    name        VARCHAR(400) NOT NULL,
    is_admin    BOOLEAN      NOT NULL,
    created_at  BIGINT       NOT NULL,
    expires_at  BIGINT       NOT NULL
);
CREATE UNIQUE INDEX admin_sessions_secret ON admin_sessions (secret_hash);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);
