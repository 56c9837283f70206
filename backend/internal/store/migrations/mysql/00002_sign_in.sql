-- +goose Up
-- Why a person is an administrator (shown in the portal), and the sign-in states already used,
-- so a captured callback URL cannot be replayed on any replica.
ALTER TABLE admin_sessions ADD COLUMN admin_reason VARCHAR(400) NOT NULL DEFAULT '';

CREATE TABLE login_states_used (
    state_hash CHAR(64) NOT NULL PRIMARY KEY,
    expires_at BIGINT   NOT NULL
) ENGINE=InnoDB;
CREATE INDEX login_states_used_expires ON login_states_used (expires_at);
