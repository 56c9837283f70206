#!/usr/bin/env bash
# Three CodeMetrics replicas of one deployment on a running Galera cluster (scripts/cluster/galera.sh),
# each connected to a different node, the development OpenID Provider they share, and HAProxy in
# HTTP mode in front of them at one PUBLIC_URL. HAProxy sends /auth/login to replica 1 only,
# /auth/callback to replica 2 only, and everything else round-robin over all three with no
# stickiness: every sign-in starts on one replica and finishes on another.
#
#   scripts/cluster/replicas.sh start DIR   a fresh database, the IdP, the replicas, HAProxy; logs under DIR
#   scripts/cluster/replicas.sh check DIR   from the replicas' request logs: every sign-in's login was
#                                           served by replica 1 and its callback by replica 2, and each
#                                           replica served the signed-in portal
#   scripts/cluster/replicas.sh stop DIR    stop what start started under DIR and drop the database
#
# Environment:
#   CLUSTER_NODES      host:port,host:port,host:port of the nodes (default: from CLUSTER_SQL_PORT, as
#                      galera.sh places them: 23061-23063)
#   REPLICAS_PORT      HAProxy's port, the PUBLIC_URL (default 18280); the replicas listen on the next
#                      three (18281-18283)
#   REPLICAS_IDP_PORT  the development OpenID Provider (default 19480)
#   REPLICAS_DATABASE  the database made fresh on the cluster (default codemetrics_replicas)
#   CODEMETRICS_BIN    the server binary (default bin/codemetrics)
set -euo pipefail

cmd="${1:?start|check|stop}"
dir="${2:?directory for logs and pid files}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
lb_port="${REPLICAS_PORT:-18280}"
idp_port="${REPLICAS_IDP_PORT:-19480}"
database="${REPLICAS_DATABASE:-codemetrics_replicas}"
bin="${CODEMETRICS_BIN:-$root/bin/codemetrics}"
sql_port="${CLUSTER_SQL_PORT:-23061}"
IFS=, read -r -a nodes <<<"${CLUSTER_NODES:-127.0.0.1:$sql_port,127.0.0.1:$((sql_port + 1)),127.0.0.1:$((sql_port + 2))}"
[ "${#nodes[@]}" = 3 ] || { echo "CLUSTER_NODES must name three nodes" >&2; exit 2; }
[[ "$database" =~ ^[A-Za-z0-9_]+$ ]] || { echo "REPLICAS_DATABASE: letters, digits and _ only" >&2; exit 2; }

public_url="http://127.0.0.1:$lb_port"
idp_url="http://127.0.0.1:$idp_port"
replica_port() { echo $((lb_port + $1)); }

# Test-only keys, shared by the three replicas as one deployment's are; never use them elsewhere.
signing_key='cluster-test-only-signing-key-do-not-use-0123456789'
cookie_key='cluster-test-only-cookie-key-do-not-use-0123456789'

sql() { # node-index statement
  local host="${nodes[$1]%:*}" port="${nodes[$1]##*:}"
  mariadb -h"$host" -P"$port" -uroot -e "$2"
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_http() { # url seconds what log
  local url=$1 t=$2
  for _ in $(seq 1 $((t * 10))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] && return 0
    sleep 0.1
  done
  echo "$3 did not answer $url within ${t}s; its log:" >&2
  tail -n 20 "$4" >&2 || true
  return 1
}

write_haproxy() {
  cat >"$dir/haproxy-app.cfg" <<CFG
global
  maxconn 500
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  option forwardfor
frontend app
  bind 127.0.0.1:$lb_port
  acl login path /auth/login
  acl callback path /auth/callback
  use_backend replica1 if login
  use_backend replica2 if callback
  default_backend replicas
backend replica1
  server replica1 127.0.0.1:$(replica_port 1)
backend replica2
  server replica2 127.0.0.1:$(replica_port 2)
backend replicas
  balance roundrobin
  server replica1 127.0.0.1:$(replica_port 1)
  server replica2 127.0.0.1:$(replica_port 2)
  server replica3 127.0.0.1:$(replica_port 3)
CFG
}

case "$cmd" in
start)
  [ -x "$bin" ] || { echo "no server binary at $bin (make build)" >&2; exit 1; }
  for p in "$lb_port" "$(replica_port 1)" "$(replica_port 2)" "$(replica_port 3)" "$idp_port"; do
    if port_taken "$p"; then
      echo "port $p is taken (replicas left running? stop them with: $0 stop ITS_DIR): not starting" >&2
      exit 1
    fi
  done
  mkdir -p "$dir"
  sql 0 "DROP DATABASE IF EXISTS \`$database\`; CREATE DATABASE \`$database\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"

  (cd "$root/e2e" && APP_ENV=development IDP_PORT="$idp_port" IDP_REDIRECT_URIS="$public_url/auth/callback" \
    exec node idp/server.mjs) >"$dir/idp.log" 2>&1 &
  echo $! >"$dir/idp.pid"
  wait_http "$idp_url/.well-known/openid-configuration" 30 "the OpenID Provider" "$dir/idp.log"

  # The three start at the same moment on the empty database (the migration lock decides).
  for i in 1 2 3; do
    env APP_ENV=development \
      HTTP_ADDR="127.0.0.1:$(replica_port "$i")" METRICS_ADDR=off PUBLIC_URL="$public_url" \
      DATABASE_DRIVER=mysql DATABASE_DSN="root@tcp(${nodes[$((i - 1))]})/$database?parseTime=true" \
      TOKEN_SIGNING_KEY="$signing_key" COOKIE_SIGNING_KEY="$cookie_key" TRUSTED_PROXIES=127.0.0.1 \
      OIDC_ISSUER_URL="$idp_url" OIDC_CLIENT_ID=codemetrics-dev OIDC_CLIENT_SECRET=codemetrics-dev-secret \
      ADMIN_GROUPS=codemetrics-admins \
      "$bin" serve >"$dir/replica$i.log" 2>&1 &
    echo $! >"$dir/replica$i.pid"
  done
  for i in 1 2 3; do
    wait_http "http://127.0.0.1:$(replica_port "$i")/readyz" 60 "replica $i" "$dir/replica$i.log"
  done

  write_haproxy
  haproxy -D -f "$dir/haproxy-app.cfg" -p "$dir/haproxy-app.pid"
  wait_http "$public_url/healthz" 10 "HAProxy" /dev/null
  echo "replicas: 127.0.0.1:$(replica_port 1),$(replica_port 2),$(replica_port 3) on nodes ${nodes[*]}; HAProxy (PUBLIC_URL) $public_url; IdP $idp_url"
  ;;
check)
  # Each replica's request log lines (JSON, one a line): how many sign-in starts, finished sign-ins
  # and signed-in requests it served.
  node - "$dir" <<'JS'
const fs = require('node:fs')
const dir = process.argv[2]
const counts = [1, 2, 3].map((i) => {
  const c = { login: 0, callback: 0, signedInCallback: 0, signedIn: 0 }
  for (const line of fs.readFileSync(`${dir}/replica${i}.log`, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue
    const r = JSON.parse(line)
    if (r.msg !== 'request') continue
    if (r.path === '/auth/login' && r.status >= 300 && r.status < 400) c.login++
    if (r.path === '/auth/callback') c.callback++
    if (r.path === '/auth/callback' && r.status >= 300 && r.status < 400) c.signedInCallback++
    if (r.via === 'cookie' && r.status === 200) c.signedIn++
  }
  console.log(`replica ${i}: ${c.login} sign-in starts, ${c.callback} callbacks, ${c.signedIn} signed-in requests answered 200`)
  return c
})
const fails = []
if (counts[0].login === 0) fails.push('replica 1 started no sign-in')
if (counts[1].signedInCallback === 0) fails.push('replica 2 finished no sign-in')
if (counts[1].login + counts[2].login > 0) fails.push('a sign-in started on a replica other than 1')
if (counts[0].callback + counts[2].callback > 0) fails.push('a callback reached a replica other than 2')
counts.forEach((c, i) => c.signedIn === 0 && fails.push(`replica ${i + 1} served no signed-in request`))
for (const f of fails) console.log(`FAIL: ${f}`)
if (fails.length) process.exit(1)
console.log('ok: login on replica 1, callback on replica 2, the session served by all three')
JS
  ;;
stop)
  [ -f "$dir/haproxy-app.pid" ] && kill "$(cat "$dir/haproxy-app.pid")" 2>/dev/null || true
  for f in "$dir"/replica1.pid "$dir"/replica2.pid "$dir"/replica3.pid "$dir"/idp.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  for f in "$dir"/replica1.pid "$dir"/replica2.pid "$dir"/replica3.pid "$dir"/idp.pid; do
    [ -f "$f" ] || continue
    for _ in $(seq 1 50); do kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  rm -f "$dir/haproxy-app.pid"
  sql 0 "DROP DATABASE IF EXISTS \`$database\`" 2>/dev/null || true
  ;;
*) echo "usage: $0 start|check|stop DIR" >&2; exit 2 ;;
esac
