-- +goose Up
-- Token lifecycle: a description, rotation (a successor replaces a token, which keeps working
-- until its grace period ends) and a history kept for TOKEN_HISTORY_RETENTION.
--   description  what the token is for (up to 500 characters; '' without one)
--   replaces     the token this one succeeded by rotation (NULL for a token created); unique,
--                so a token never has two successors, however two rotations race
--   replaced_by  this token's successor (NULL until it is rotated)
--   ends_at      when a rotated token's grace period ends: it stops working then (NULL unless
--                rotated). The rotation also takes the next revocation_seq, so every instance
--                reads "refused from ends_at on" from the revocation feed.
--   ended_at     when the token stops or stopped working: its expiry, the end of its grace
--                period, or its revocation, whichever came first; the history purge reads it
ALTER TABLE service_tokens ADD COLUMN description VARCHAR(500) NOT NULL DEFAULT '';
ALTER TABLE service_tokens ADD COLUMN replaces VARCHAR(64) NULL;
ALTER TABLE service_tokens ADD COLUMN replaced_by VARCHAR(64) NULL;
ALTER TABLE service_tokens ADD COLUMN ends_at BIGINT NULL;
ALTER TABLE service_tokens ADD COLUMN ended_at BIGINT NOT NULL DEFAULT 0;
UPDATE service_tokens SET ended_at = CASE WHEN revoked_at IS NOT NULL AND revoked_at < expires_at THEN revoked_at ELSE expires_at END;
CREATE UNIQUE INDEX service_tokens_replaces ON service_tokens (replaces);
-- The purge of ended tokens; the history's revoked and rotated filters use the unique index on
-- revocation_seq (both kinds hold one), the active and expired ones the list's own order.
CREATE INDEX service_tokens_ended ON service_tokens (ended_at, id);
