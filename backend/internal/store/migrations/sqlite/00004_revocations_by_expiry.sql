-- +goose Up
-- Start-up reads the revocations of unexpired tokens only: this index holds them in expiry
-- order, with the sequence number and id, so that read never touches the history of
-- revocations of tokens long expired.
CREATE INDEX service_tokens_expiry_revocation ON service_tokens (expires_at, revocation_seq, id);
