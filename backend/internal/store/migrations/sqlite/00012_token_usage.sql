-- +goose Up
-- Token usage, counted in memory on every instance and written by the flushes that write
-- last_used_at (no write per request). The client of the last use; the presentations after
-- the token stopped working (a job nobody remembered), and when token.ended_token_used was last
-- raised for it (at most once an hour).
ALTER TABLE service_tokens ADD COLUMN last_used_address TEXT NULL;
ALTER TABLE service_tokens ADD COLUMN last_used_user_agent TEXT NULL;
ALTER TABLE service_tokens ADD COLUMN ended_uses INTEGER NOT NULL DEFAULT 0;
ALTER TABLE service_tokens ADD COLUMN ended_last_seen INTEGER NULL;
ALTER TABLE service_tokens ADD COLUMN ended_last_address TEXT NULL;
ALTER TABLE service_tokens ADD COLUMN ended_notified_at INTEGER NULL;

-- Requests per token and UTC day (days since 1970-01-01): all of them, and those refused.
CREATE TABLE token_usage_days (
    token_id TEXT    NOT NULL,
    day      INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    refused  INTEGER NOT NULL,
    PRIMARY KEY (token_id, day)
) WITHOUT ROWID;
CREATE INDEX token_usage_days_day ON token_usage_days (day);

-- A token's recent clients (at most 20 kept per token: the most recently seen).
CREATE TABLE token_usage_clients (
    token_id   TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    user_agent TEXT    NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    requests   INTEGER NOT NULL,
    PRIMARY KEY (token_id, address, user_agent)
) WITHOUT ROWID;
CREATE INDEX token_usage_clients_seen ON token_usage_clients (last_seen);

-- Where an ended token was last presented from, for token.ended_token_used.
ALTER TABLE notification_events ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
