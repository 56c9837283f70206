-- +goose Up
-- Token usage, counted in memory on every instance and written by the flushes that write
-- last_used_at (no write per request). The client of the last use; the presentations after
-- the token stopped working (a job nobody remembered), and when token.ended_token_used was last
-- raised for it (at most once an hour).
ALTER TABLE service_tokens
    ADD COLUMN last_used_address    VARCHAR(64)  NULL,
    ADD COLUMN last_used_user_agent VARCHAR(200) NULL,
    ADD COLUMN ended_uses           BIGINT       NOT NULL DEFAULT 0,
    ADD COLUMN ended_last_seen      BIGINT       NULL,
    ADD COLUMN ended_last_address   VARCHAR(64)  NULL,
    ADD COLUMN ended_notified_at    BIGINT       NULL;

-- Requests per token and UTC day (days since 1970-01-01): all of them, and those refused.
CREATE TABLE token_usage_days (
    token_id VARCHAR(64) NOT NULL,
    day      BIGINT      NOT NULL,
    requests BIGINT      NOT NULL,
    refused  BIGINT      NOT NULL,
    PRIMARY KEY (token_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX token_usage_days_day ON token_usage_days (day);

-- A token's recent clients (at most 20 kept per token: the most recently seen).
CREATE TABLE token_usage_clients (
    token_id   VARCHAR(64)  NOT NULL,
    address    VARCHAR(64)  NOT NULL,
    user_agent VARCHAR(200) NOT NULL,
    first_seen BIGINT       NOT NULL,
    last_seen  BIGINT       NOT NULL,
    requests   BIGINT       NOT NULL,
    PRIMARY KEY (token_id, address, user_agent)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX token_usage_clients_seen ON token_usage_clients (last_seen);

-- Where an ended token was last presented from, for token.ended_token_used.
ALTER TABLE notification_events ADD COLUMN client_address VARCHAR(64) NOT NULL DEFAULT '';
