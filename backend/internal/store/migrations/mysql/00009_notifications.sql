-- +goose Up
-- Why a token was revoked, as the administrator wrote it (up to 200 characters); NULL when no
-- reason was given or the token is not revoked.
ALTER TABLE service_tokens ADD COLUMN revocation_reason VARCHAR(200) NULL;

-- The notification outbox. An event is what happened to a token (token.expiring at a threshold
-- of 30, 7 or 1 days, token.expired, token.revoked, token.rotated, token.grace_ended) or a test
-- an administrator sent. The unique key makes each token event exist once, whichever instance
-- finds it due first and however often; a test event has no token (NULL, which a unique index
-- never counts as a duplicate). It holds metadata only: never a token value.
CREATE TABLE notification_events (
    id             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event          VARCHAR(32)  NOT NULL,
    token_id       VARCHAR(64)  NULL,
    threshold_days INT          NOT NULL,
    subject        VARCHAR(400) NOT NULL,
    service_user   VARCHAR(400) NOT NULL,
    expires_at     BIGINT       NOT NULL,
    actor          VARCHAR(320) NOT NULL,
    reason         VARCHAR(200) NOT NULL,
    created_at     BIGINT       NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX notification_events_once ON notification_events (token_id, event, threshold_days);
CREATE INDEX notification_events_created ON notification_events (created_at);

-- One delivery per event and destination (a webhook, by a hash of its URL; an email address),
-- claimed by one instance at a time with a lease (claimed_by, claim_until) and retried until
-- 24 hours after it was made. destination is what is shown: a webhook's URL without its path
-- (which may hold a secret), or the address.
CREATE TABLE notification_deliveries (
    id              BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event_id        BIGINT        NOT NULL,
    destination_key VARCHAR(300)  NOT NULL,
    destination     VARCHAR(300)  NOT NULL,
    kind            VARCHAR(16)   NOT NULL,
    status          VARCHAR(16)   NOT NULL,
    attempts        INT           NOT NULL,
    next_attempt_at BIGINT        NOT NULL,
    claimed_by      VARCHAR(64)   NULL,
    claim_until     BIGINT        NULL,
    last_error      VARCHAR(400)  NOT NULL,
    created_at      BIGINT        NOT NULL,
    last_attempt_at BIGINT        NULL,
    delivered_at    BIGINT        NULL,
    FOREIGN KEY (event_id) REFERENCES notification_events (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX notification_deliveries_once ON notification_deliveries (event_id, destination_key);
CREATE INDEX notification_deliveries_due ON notification_deliveries (status, next_attempt_at);
