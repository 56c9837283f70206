#!/usr/bin/env bash
# make test-cluster: the cluster scenarios (backend/internal/scenario, TestCluster*) on a
# three-node MariaDB Galera cluster on loopback ports, started here and stopped at the end.
# With CLUSTER_NODES already set (host:port,host:port,host:port of a running cluster's nodes),
# that cluster is used and left running.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"

if [ -n "${CLUSTER_NODES:-}" ]; then
  cd backend && exec go test -count=1 -run '^TestCluster' -v ./internal/store/ ./internal/scenario/
fi

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

# HAProxy's Galera check is bin/codemetrics galera-check, one per node: build it from this checkout.
echo "--- make build"
make build >/dev/null

dir="$(mktemp -d /tmp/codemetrics-galera.XXXXXX)"
chmod 755 "$dir" # the nodes may run as the mysql user
cleanup() {
  "$root/scripts/cluster/galera.sh" stop "$dir" || true
  rm -rf "$dir"
}
trap cleanup EXIT
echo "--- starting a three-node Galera cluster under $dir"
start=$(date +%s)
scripts/cluster/galera.sh start "$dir"
echo "--- cluster up in $(($(date +%s) - start)) s"
port="${CLUSTER_SQL_PORT:-23061}"
export CLUSTER_NODES="127.0.0.1:$port,127.0.0.1:$((port + 1)),127.0.0.1:$((port + 2))"
cd backend
status=0
go test -count=1 -timeout 15m -run '^TestCluster' -v ./internal/store/ ./internal/scenario/ 2>&1 | grep -vE '^\s+\{"time"' || status=1
# Last, on its own: it kills node 1 (HAProxy's writer) under load and restarts it.
echo "--- a node killed under load"
CLUSTER_DIR="$dir" CLUSTER_LB="127.0.0.1:${CLUSTER_LB_PORT:-23060}" go test -count=1 -timeout 5m -run '^TestClusterNodeLoss$' -v ./internal/scenario/ 2>&1 | grep -vE '^\s+\{"time"|^\[mysql\]' || status=1
exit "$status"
