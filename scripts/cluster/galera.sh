#!/usr/bin/env bash
# A throwaway three-node MariaDB Galera cluster on loopback ports, with HAProxy in front of the
# nodes. HAProxy checks each node with its own agent, `bin/codemetrics galera-check` (one per
# node, started and stopped here): HTTP 200 only when the node is Primary, ready and Synced, so a
# Donor/Desynced, Joining or non-Primary node is taken out of service even though it accepts
# logins (which HAProxy's mysql-check would take for health).
#
#   scripts/cluster/galera.sh start DIR   start the nodes, their agents and HAProxy, data under DIR
#   scripts/cluster/galera.sh stop DIR    stop everything started under DIR
#   scripts/cluster/galera.sh kill DIR N  kill node N at once (SIGKILL: a crash, no clean shutdown)
#   scripts/cluster/galera.sh restart DIR N
#                                         start node N again and wait until it has rejoined and is
#                                         Synced (it catches up by IST, or SST when it fell too far)
#
# Ports (override with CLUSTER_SQL_PORT, GALERA_BASE_PORT, CLUSTER_LB_PORT, GALERA_CHECK_PORT):
# SQL 23061-23063, Galera 24671-24673, IST 24681-24683, SST 24691-24693, HAProxy for the nodes
# on 23060 (writes go to one node at a time: single writer; its stats on 23069), the nodes'
# agents on 23070-23072 (CLUSTER_LB_PORT + 10 on): below Linux's ephemeral range (32768 on),
# so no outgoing connection's local end holds one of them when a node or HAProxy binds it. HAProxy checks every second and takes a node
# out after 2 failed checks (back after 2 good ones), closing its sessions. A connection a node
# refuses takes it out at once (observe layer4, on-error mark-down) and is retried on the next
# server (retries 3, option redispatch 1): when a node dies, the connections open to it are
# lost, new ones go to the next node. The agents run bin/codemetrics (CODEMETRICS_BIN;
# make build) and log to DIR/galera-check-N.log. Node configs are small (64 MB buffer pool, no
# performance schema). It never touches a MariaDB server it did not start.
set -euo pipefail

cmd="${1:?start|stop}"
dir="${2:?data directory}"
base_sql="${CLUSTER_SQL_PORT:-23061}"
base_gal="${GALERA_BASE_PORT:-24671}"
lb_port="${CLUSTER_LB_PORT:-23060}"
base_check="${GALERA_CHECK_PORT:-$((lb_port + 10))}"
codemetrics="${CODEMETRICS_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/bin/codemetrics}"
provider="${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}"
mariadbd="${MARIADBD:-/usr/sbin/mariadbd}"
# rsync SST runs an rsync daemon that drops root to "nobody", which cannot read root-owned data
# directories: as root, run the nodes as the mysql user.
runas="$(id -un)"
[ "$runas" = root ] && id mysql >/dev/null 2>&1 && runas=mysql

sqlport() { echo $((base_sql + $1 - 1)); }
galport() { echo $((base_gal + $1 - 1)); }
istport() { echo $((base_gal + 10 + $1 - 1)); }
sstport() { echo $((base_gal + 20 + $1 - 1)); }
checkport() { echo $((base_check + $1 - 1)); }
addresses() { echo "gcomm://127.0.0.1:$(galport 1),127.0.0.1:$(galport 2),127.0.0.1:$(galport 3)"; }

write_cnf() { # node
  local n=$1 d="$dir/node$1"
  mkdir -p "$d"
  cat >"$d/my.cnf" <<CNF
[mariadbd]
datadir=$d/data
socket=$d/mysqld.sock
pid-file=$d/mysqld.pid
port=$(sqlport "$n")
bind-address=127.0.0.1
log-error=$d/error.log
skip-name-resolve
innodb_buffer_pool_size=64M
innodb_log_file_size=32M
performance_schema=OFF
max_connections=200
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
innodb_flush_log_at_trx_commit=2
wsrep_on=ON
wsrep_provider=$provider
wsrep_cluster_name=codemetrics-test
wsrep_cluster_address=$(addresses)
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:$(galport "$n")
wsrep_node_incoming_address=127.0.0.1:$(sqlport "$n")
wsrep_sst_receive_address=127.0.0.1:$(sstport "$n")
wsrep_provider_options=gmcast.listen_addr=tcp://127.0.0.1:$(galport "$n");ist.recv_addr=127.0.0.1:$(istport "$n");gcache.size=32M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT6S
wsrep_sst_method=rsync
wsrep_slave_threads=2
CNF
}

start_node() { # node [--wsrep-new-cluster]
  local n=$1 d="$dir/node$1"
  shift
  # shellcheck disable=SC2086
  "$mariadbd" --defaults-file="$d/my.cnf" --user="$runas" "$@" >>"$d/stdout.log" 2>&1 &
  echo $! >"$d/mariadbd.pid-launcher"
}

wait_synced() { # node timeout-seconds
  local n=$1 t=$2 s
  for _ in $(seq 1 $((t * 4))); do
    s=$(mariadb -h127.0.0.1 -P"$(sqlport "$n")" -uroot -N -e "SHOW STATUS LIKE 'wsrep_local_state'" 2>/dev/null | awk '{print $2}') || true
    [ "$s" = 4 ] && return 0
    sleep 0.25
  done
  echo "node$n did not reach Synced in ${t}s; its log:" >&2
  tail -n 30 "$dir/node$n/error.log" >&2 || true
  return 1
}

write_haproxy() {
  cat >"$dir/haproxy-db.cfg" <<CFG
global
  maxconn 2000
defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout check 2s
listen galera
  bind 127.0.0.1:$lb_port
  # Each node's galera-check agent: 200 when Synced, 503 and the reason otherwise.
  option httpchk
  http-check expect status 200
  # A connection a node refuses marks it down at once and is tried again on the next server.
  retries 3
  option redispatch 1
  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions observe layer4 error-limit 1 on-error mark-down
  server node1 127.0.0.1:$(sqlport 1) check port $(checkport 1)
  server node2 127.0.0.1:$(sqlport 2) check port $(checkport 2) backup
  server node3 127.0.0.1:$(sqlport 3) check port $(checkport 3) backup
listen stats
  mode http
  bind 127.0.0.1:$((lb_port + 9))
  stats enable
  stats uri /
CFG
}

# The agents: one galera-check per node, as the user who runs this (haproxy_check needs no
# password and no privilege). They outlive a node's death and answer 503 meanwhile.
start_agents() {
  local n
  if [ ! -x "$codemetrics" ]; then
    echo "$codemetrics is missing (make build): HAProxy's Galera check needs it" >&2
    return 1
  fi
  for n in 1 2 3; do
    GALERA_CHECK_DSN="haproxy_check@tcp(127.0.0.1:$(sqlport "$n"))/" \
      "$codemetrics" galera-check --listen "127.0.0.1:$(checkport "$n")" \
      >>"$dir/galera-check-$n.log" 2>&1 &
    echo $! >"$dir/galera-check-$n.pid"
  done
  for n in 1 2 3; do
    for _ in $(seq 1 40); do port_taken "$(checkport "$n")" && break; sleep 0.25; done
    port_taken "$(checkport "$n")" || { echo "galera-check of node$n did not start; its log:" >&2; tail -n 5 "$dir/galera-check-$n.log" >&2; return 1; }
  done
}

stop_agents() {
  local n p
  for n in 1 2 3; do
    p="$dir/galera-check-$n.pid"
    [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
    rm -f "$p"
  done
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "$cmd" in
start)
  for p in "$(sqlport 1)" "$(sqlport 2)" "$(sqlport 3)" "$lb_port" "$(checkport 1)" "$(checkport 2)" "$(checkport 3)"; do
    if port_taken "$p"; then
      echo "port $p is taken (a cluster left running? stop it with: $0 stop ITS_DIR): not starting" >&2
      exit 1
    fi
  done
  mkdir -p "$dir"
  for n in 1 2 3; do
    write_cnf "$n"
    if [ ! -d "$dir/node$n/data/mysql" ]; then
      mariadb-install-db --defaults-file="$dir/node$n/my.cnf" --user="$runas" --auth-root-authentication-method=normal --skip-test-db >"$dir/node$n/install.log" 2>&1
    fi
  done
  [ "$runas" != "$(id -un)" ] && chown -R "$runas" "$dir" && chmod 755 "$dir"
  start_node 1 --wsrep-new-cluster
  wait_synced 1 60
  mariadb -h127.0.0.1 -P"$(sqlport 1)" -uroot -e "CREATE USER IF NOT EXISTS 'haproxy_check'@'127.0.0.1'; CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
  start_node 2
  wait_synced 2 120
  start_node 3
  wait_synced 3 120
  start_agents
  write_haproxy
  haproxy -D -f "$dir/haproxy-db.cfg" -p "$dir/haproxy-db.pid"
  echo "galera: nodes on 127.0.0.1:$(sqlport 1),$(sqlport 2),$(sqlport 3); HAProxy on 127.0.0.1:$lb_port; Galera checks on 127.0.0.1:$(checkport 1),$(checkport 2),$(checkport 3)"
  ;;
stop)
  [ -f "$dir/haproxy-db.pid" ] && kill "$(cat "$dir/haproxy-db.pid")" 2>/dev/null || true
  stop_agents
  for n in 3 2 1; do
    p="$dir/node$n/mysqld.pid"
    [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done
  for n in 3 2 1; do
    p="$dir/node$n/mysqld.pid"
    for _ in $(seq 1 120); do [ -f "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null || break; sleep 0.25; done
    [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null || true
  done
  ;;
kill)
  n="${3:?node number}"
  p="$dir/node$n/mysqld.pid"
  [ -f "$p" ] || { echo "node$n is not running under $dir" >&2; exit 1; }
  kill -9 "$(cat "$p")"
  for _ in $(seq 1 40); do kill -0 "$(cat "$p")" 2>/dev/null || break; sleep 0.05; done
  rm -f "$p"
  ;;
restart)
  n="${3:?node number}"
  write_cnf "$n"
  # After a crash the node's saved position is unknown (-1), and it would ask for a full state
  # transfer. Recover the position from InnoDB first, as the system's service does
  # (galera_recovery), so that it catches up by IST on the writesets it missed.
  pos=$("$mariadbd" --defaults-file="$dir/node$n/my.cnf" --user="$runas" --wsrep-recover --log-error="$dir/node$n/recover.log" >/dev/null 2>&1; sed -n 's/.*WSREP: Recovered position: *//p' "$dir/node$n/recover.log" | tail -n 1)
  if [ -n "$pos" ]; then start_node "$n" --wsrep-start-position="$pos"; else start_node "$n"; fi
  wait_synced "$n" 120
  ;;
*) echo "usage: $0 start|stop DIR, or kill|restart DIR N" >&2; exit 2 ;;
esac
