-- +goose Up
-- Every audit event records how the actor acted: the stable identity of the person (issuer and
-- subject), the credential (named, never its secret), the client address and the request id.
-- Events written before this migration have them empty.
ALTER TABLE audit_events ADD COLUMN actor_id VARCHAR(400) NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN credential VARCHAR(100) NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN client_address VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN request_id VARCHAR(64) NOT NULL DEFAULT '';
