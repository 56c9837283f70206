-- +goose Up
-- The networks a service user's tokens may be used from (allowedCidrs): canonical prefixes
-- separated by spaces, '' for anywhere. Read with the rest of the service user by the
-- service-user feed, so the request path checks it in memory.
ALTER TABLE service_users ADD COLUMN allowed_cidrs VARCHAR(2500) NOT NULL DEFAULT '';

