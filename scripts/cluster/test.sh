#!/usr/bin/env bash
# make test-cluster: on a three-node MariaDB Galera cluster on loopback ports, started here and
# stopped at the end, three stages (CLUSTER_STAGES, default "go walkthrough nodeloss"; each prints
# its result, and the target fails when any does):
#   go           the cluster scenarios (TestCluster* in backend/internal/store and backend/internal/scenario)
#   walkthrough  the portal's Playwright walkthrough (sign-in, create, copy, revoke, audit log) through
#                HAProxy in front of three `codemetrics serve` replicas, each on a different node, with
#                the login on one replica and the callback on another (scripts/cluster/replicas.sh; its
#                ports: REPLICAS_PORT, REPLICAS_IDP_PORT)
#   nodeloss     TestClusterNodeLoss: node 1, HAProxy's writer, killed under load and restarted; last,
#                since it disturbs the cluster. It needs the cluster's directory (CLUSTER_DIR, set
#                here when this script started the cluster) for galera.sh kill and restart.
# With CLUSTER_NODES already set (host:port,host:port,host:port of a running cluster's nodes),
# that cluster is used and left running.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
stages="${CLUSTER_STAGES:-go walkthrough nodeloss}"

dir=""
replicas=""
cleanup() {
  if [ -n "$replicas" ]; then
    "$root/scripts/cluster/replicas.sh" stop "$replicas" || true
    rm -rf "$replicas"
  fi
  if [ -n "$dir" ]; then
    "$root/scripts/cluster/galera.sh" stop "$dir" || true
    rm -rf "$dir"
  fi
}
trap cleanup EXIT

if [ -z "${CLUSTER_NODES:-}" ]; then
  # What the cluster needs, installed when missing (the Galera provider comes with Debian's
  # MariaDB server; HAProxy balances the nodes; rsync carries state transfers).
  missing=()
  [ -f "${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}" ] || missing+=(galera-4)
  command -v haproxy >/dev/null || missing+=(haproxy)
  command -v rsync >/dev/null || missing+=(rsync)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "--- installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi

  # HAProxy's Galera check is bin/codemetrics galera-check, one per node: built from this checkout.
  echo "--- make build"
  make build >/dev/null

  dir="$(mktemp -d /tmp/codemetrics-galera.XXXXXX)"
  chmod 755 "$dir" # the nodes may run as the mysql user
  echo "--- starting a three-node Galera cluster under $dir"
  start=$(date +%s)
  scripts/cluster/galera.sh start "$dir"
  echo "--- cluster up in $(($(date +%s) - start)) s"
  port="${CLUSTER_SQL_PORT:-23061}"
  export CLUSTER_NODES="127.0.0.1:$port,127.0.0.1:$((port + 1)),127.0.0.1:$((port + 2))"
fi

go_stage() {
  (cd backend && env -u CLUSTER_DIR go test -count=1 -timeout 15m -run '^TestCluster' -v ./internal/store/ ./internal/scenario/ 2>&1 |
    grep -vE '^\s+\{"time"'
    exit "${PIPESTATUS[0]}")
}

walkthrough_stage() {
  replicas="$(mktemp -d /tmp/codemetrics-replicas.XXXXXX)"
  # The server as the tree has it now (the portal embedded from frontend/dist, built when missing).
  [ -f frontend/dist/index.html ] || make frontend || return 1
  (cd backend && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$replicas/codemetrics" ./cmd/codemetrics) || return 1
  [ -f e2e/node_modules/.package-lock.json ] || (cd e2e && npm ci --no-audit --no-fund) || return 1
  CODEMETRICS_BIN="$replicas/codemetrics" scripts/cluster/replicas.sh start "$replicas" || return 1
  local lb="${REPLICAS_PORT:-18280}" ok=0
  (cd e2e && E2E_PORT="$lb" E2E_IDP_PORT="${REPLICAS_IDP_PORT:-19480}" \
    E2E_CLUSTER_REPLICAS="http://127.0.0.1:$((lb + 1)),http://127.0.0.1:$((lb + 2)),http://127.0.0.1:$((lb + 3))" \
    npx playwright test -c playwright.cluster.config.ts) || ok=1
  scripts/cluster/replicas.sh check "$replicas" || ok=1
  if [ "$ok" != 0 ]; then
    for i in 1 2 3; do
      echo "--- the last lines of replica $i's log"
      tail -n 15 "$replicas/replica$i.log" || true
    done
  fi
  return "$ok"
}

nodeloss_stage() {
  local cdir="${CLUSTER_DIR:-$dir}"
  if [ -z "$cdir" ]; then
    echo "no CLUSTER_DIR: the node-loss scenario needs the directory of the cluster it may kill a node of"
    return 1
  fi
  (cd backend && CLUSTER_DIR="$cdir" CLUSTER_LB="127.0.0.1:${CLUSTER_LB_PORT:-23060}" \
    go test -count=1 -timeout 5m -run '^TestClusterNodeLoss$' -v ./internal/scenario/ 2>&1 |
    grep -vE '^\s+\{"time"|^\[mysql\]'
    exit "${PIPESTATUS[0]}")
}

status=0
results=()
for stage in $stages; do
  echo "--- stage $stage"
  start=$(date +%s)
  if "${stage}_stage"; then r=ok; else r=FAILED status=1; fi
  results+=("$stage: $r in $(($(date +%s) - start)) s")
  echo "--- stage $stage: $r in $(($(date +%s) - start)) s"
done
echo "--- results: ${results[*]}"
exit "$status"
