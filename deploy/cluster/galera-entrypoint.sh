#!/bin/bash
# Starts a Galera node of the Compose cluster profile through the image's own entrypoint, adding
# --wsrep-new-cluster when this node must bootstrap the cluster:
#   - GALERA_BOOTSTRAP=1 (node 1) and its data directory is new: the very first start;
#   - or its grastate.dat says safe_to_bootstrap: 1: it was the last node to leave a cluster that
#     was shut down cleanly (docker compose down), so it holds every committed transaction.
# A node 1 whose volume was lost while the others run must join, not bootstrap a second
# cluster: start it once with GALERA_BOOTSTRAP=0. Otherwise a node joins the nodes of wsrep_cluster_address (and is restarted until one answers).
# After a crash of every node, Galera's pc.recovery restores the primary component by itself;
# when it cannot, follow MariaDB's "Getting Started with MariaDB Galera Cluster: bootstrapping"
# (set safe_to_bootstrap: 1 on the most advanced node).
set -euo pipefail
state=/var/lib/mysql/grastate.dat
if { [ "${GALERA_BOOTSTRAP:-}" = 1 ] && [ ! -d /var/lib/mysql/mysql ]; } ||
  { [ -f "$state" ] && grep -q '^safe_to_bootstrap: *1' "$state"; }; then
  set -- "$@" --wsrep-new-cluster
fi
exec docker-entrypoint.sh "$@"
