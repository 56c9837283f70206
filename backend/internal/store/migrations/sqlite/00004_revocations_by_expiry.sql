-- +goose Up
-- Start-up reads the revocations of unexpired tokens only: this index holds them in expiry
-- order, with the sequence number and id, so that read never touches the history of
-- revocations of tokens long expired. Partial (revoked tokens only): a full index on
-- expires_at would draw SQLite's planner into counting the active tokens through it, a row
-- look-up per token, many times slower than the scan it replaces.
CREATE INDEX service_tokens_expiry_revocation ON service_tokens (expires_at, revocation_seq, id)
    WHERE revocation_seq IS NOT NULL;
