-- +goose Up
-- Who a session belongs to (the provider's issuer and subject, the key of an identity; whether
-- the provider verified the email), and how it is used: last seen (written at most once a
-- minute, for the idle timeout and the User Access page), from where, by cookie or by session
-- token.
ALTER TABLE admin_sessions ADD COLUMN issuer VARCHAR(400) NOT NULL DEFAULT '';
ALTER TABLE admin_sessions ADD COLUMN subject VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE admin_sessions ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE admin_sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admin_sessions ADD COLUMN sign_in_address VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE admin_sessions ADD COLUMN last_address VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE admin_sessions ADD COLUMN last_cookie_use_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admin_sessions ADD COLUMN last_token_use_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admin_sessions ADD COLUMN session_tokens_issued INT NOT NULL DEFAULT 0;
UPDATE admin_sessions SET last_seen_at = created_at;
CREATE INDEX admin_sessions_subject ON admin_sessions (subject);
CREATE INDEX admin_sessions_last_seen ON admin_sessions (last_seen_at);
