#!/usr/bin/env bash
# `make run`: the development identity provider and CodeMetrics, configured for each other.
# Ctrl-C stops both. Every variable below can be overridden from the environment.
set -euo pipefail
cd "$(dirname "$0")/../.."

export APP_ENV="${APP_ENV:-development}"
if [ "$APP_ENV" = production ]; then
  echo "make run is for development: it signs you in through a development identity provider" >&2
  exit 1
fi
export HTTP_ADDR="${HTTP_ADDR:-:8080}"
export PUBLIC_URL="${PUBLIC_URL:-http://localhost:8080}"
export IDP_PORT="${IDP_PORT:-9400}"
export IDP_REDIRECT_URIS="${IDP_REDIRECT_URIS:-$PUBLIC_URL/auth/callback}"
export OIDC_ISSUER_URL="${OIDC_ISSUER_URL:-${IDP_ISSUER:-http://127.0.0.1:$IDP_PORT}}"
export OIDC_CLIENT_ID="${OIDC_CLIENT_ID:-codemetrics-dev}"
export OIDC_CLIENT_SECRET="${OIDC_CLIENT_SECRET:-codemetrics-dev-secret}"
export ADMIN_GROUPS="${ADMIN_GROUPS:-codemetrics-admins}"

(cd e2e && exec node idp/server.mjs) &
idp=$!
trap 'kill $idp 2>/dev/null; wait $idp 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 100); do
  curl -fsS "$OIDC_ISSUER_URL/.well-known/openid-configuration" >/dev/null 2>&1 && break
  kill -0 $idp 2>/dev/null || { echo "the development identity provider did not start" >&2; exit 1; }
  sleep 0.1
done

cat <<MSG

  CodeMetrics (development) is starting.
    Portal:   $PUBLIC_URL
    Sign in:  admin@example.com / admin   (administrator, group codemetrics-admins)
              viewer@example.com / viewer (not an administrator: sees "Access denied")
    Data:     ${DATABASE_DSN:-data/codemetrics.db} (SQLite)
  Ctrl-C stops CodeMetrics and the identity provider.

MSG
./bin/codemetrics serve
