#!/usr/bin/env bash
# The performance benchmarks (make bench): builds CodeMetrics, starts it on SQLite and on MariaDB
# with the rate limiters off, loads it with backend/cmd/loadgen, runs the Go benchmarks and
# writes docs/benchmarks.md. Everything runs on loopback; MariaDB gets a fresh database that
# is dropped at the end.
#
# Settings (environment): BENCH_DURATION (4s), BENCH_WARMUP (1s), BENCH_ROUNDS (3),
# BENCH_GOBENCHTIME (500ms), BENCH_GOCOUNT (5), BENCH_MYSQL_HOST (127.0.0.1),
# BENCH_MYSQL_PORT (3306), BENCH_MYSQL_USER (root), BENCH_MYSQL_PASSWORD (empty),
# BENCH_SKIP_BUILD (1: use the existing bin/codemetrics), BENCH_OUT (docs/benchmarks.md),
# BENCH_RATE (10000: the offered load, requests/s, of the open-loop latency runs at 64
# connections), BENCH_BROWSER (1; 0 skips the tokens page in Chromium), BENCH_BROWSER_LOADS (5: timed page loads
# per database and token count), CHROMIUM_PATH (/usr/bin/chromium). The browser measurement
# (e2e/bench/tokens-page.mjs) needs Node.js and the e2e/ packages (make deps).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

duration=${BENCH_DURATION:-4s}
warmup=${BENCH_WARMUP:-1s}
rounds=${BENCH_ROUNDS:-3}
rate=${BENCH_RATE:-10000}
gobenchtime=${BENCH_GOBENCHTIME:-500ms}
gocount=${BENCH_GOCOUNT:-5}
out=${BENCH_OUT:-docs/benchmarks.md}
my_host=${BENCH_MYSQL_HOST:-127.0.0.1}
my_port=${BENCH_MYSQL_PORT:-3306}
my_user=${BENCH_MYSQL_USER:-root}
my_pass=${BENCH_MYSQL_PASSWORD:-}
browser=${BENCH_BROWSER:-1}
browser_loads=${BENCH_BROWSER_LOADS:-5}
signing_key="benchmark-signing-key-not-secret-0123456789abcdef"

work=$(mktemp -d "${TMPDIR:-/tmp}/codemetrics-bench.XXXXXX")
pids=()
mysql_db=""

mysql_cli() { MYSQL_PWD="$my_pass" mysql -h "$my_host" -P "$my_port" -u "$my_user" --batch --skip-column-names "$@"; }

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n "$mysql_db" ]]; then
		mysql_cli -e "DROP DATABASE IF EXISTS \`$mysql_db\`" || echo "bench: could not drop database $mysql_db" >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT

log() { printf '\n== %s\n' "$*" >&2; }
fact() { printf '%s\t%s\n' "$1" "$2" >>"$work/facts.tsv"; }
results="$work/results.jsonl"
: >"$results"

# --- build ---------------------------------------------------------------------------------
if [[ "${BENCH_SKIP_BUILD:-}" != 1 || ! -x bin/codemetrics ]]; then
	log "make build"
	make build >&2
fi
bin="$root/bin/codemetrics"
log "building the load generator and the benchmark helper"
(cd backend && go build -o "$work/loadgen" ./cmd/loadgen && go build -o "$work/benchtool" ./internal/benchmark/benchtool)
loadgen="$work/loadgen"
benchtool="$work/benchtool"

# --- the machine ---------------------------------------------------------------------------
fact command "make bench"
fact date "$(date -u '+%Y-%m-%d %H:%M UTC')"
fact nproc "$(nproc)"
fact cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//;s/ *$//')"
fact memory "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
fact kernel "$(uname -sr)"
fact go "$(go version | awk '{print $3}')"
fact mariadb "$(mysql_cli -e 'SELECT VERSION()' 2>/dev/null || echo unavailable)"
# the server and the portal it embeds are measured: say when either differs from the commit
dirty=""
for d in backend frontend e2e/bench; do
	if [[ -n $(git status --porcelain -- "$d" 2>/dev/null) ]]; then
		dirty+="${dirty:+, }$d"
	fi
done
fact commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)${dirty:+ (uncommitted changes in $dirty)}"
fact rounds "$rounds"
fact duration "$duration"
fact warmup "$warmup"
fact loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
fact binary_bytes "$(stat -c %s "$bin")"

# --- the browser ---------------------------------------------------------------------------
# browser_skip says why the tokens page is not measured in Chromium (empty: it is).
browser_skip=""
if [[ $browser == 0 ]]; then
	browser_skip="BENCH_BROWSER=0"
elif ! command -v node >/dev/null; then
	browser_skip="Node.js is not installed"
elif [[ ! -d e2e/node_modules/@playwright/test ]]; then
	browser_skip="the e2e/ packages are not installed (make deps)"
elif [[ ! -x ${CHROMIUM_PATH:-/usr/bin/chromium} ]]; then
	browser_skip="no Chromium at ${CHROMIUM_PATH:-/usr/bin/chromium} (set CHROMIUM_PATH)"
fi
if [[ -n $browser_skip ]]; then
	echo "bench: not measuring the tokens page in Chromium: $browser_skip" >&2
	fact browser_skipped "$browser_skip"
else
	fact browser_loads "$browser_loads"
fi

# --- servers -------------------------------------------------------------------------------
# server_env DRIVER DSN PORT: the environment of one instance.
server_env() {
	local mport
	mport=$("$benchtool" freeport)
	echo "APP_ENV=development DATABASE_DRIVER=$1 DATABASE_DSN=$2 HTTP_ADDR=127.0.0.1:$3 PUBLIC_URL=http://127.0.0.1:$3 METRICS_ADDR=127.0.0.1:$mport TOKEN_SIGNING_KEY=$signing_key RATE_LIMIT_PER_MINUTE=0 AUTH_RATE_LIMIT_PER_MINUTE=0"
}

# start NAME ENV CMD...: starts a process in the background with ENV, logs to a file, waits
# for /healthz and leaves its pid in $started.
start() {
	local name=$1 env=$2 port
	shift 2
	port=$(sed -E 's/.*HTTP_ADDR=127.0.0.1:([0-9]+).*/\1/' <<<"$env")
	env $env "$@" >"$work/$name.out" 2>"$work/$name.log" &
	started=$!
	pids+=("$started")
	if ! "$benchtool" wait "http://127.0.0.1:$port/healthz"; then
		cat "$work/$name.log" >&2
		return 1
	fi
}

stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# create_token ENV SUBJECT: prints "ID TOKEN" of a service token made with the command line.
create_token() {
	local tok id
	tok=$(env $1 "$bin" tokens create --subject "$2" --created-by bench 2>"$work/create.err")
	id=$(sed -nE 's/^Created token ([^ ]+) for.*/\1/p' "$work/create.err")
	echo "$id $tok"
}

# throughput DB PID URL BARE_URL TOKEN: the interleaved rounds of section 1.
throughput() {
	local db=$1 pid=$2 url=$3 bare=$4 tok=$5 bare_pid=$6 round conns target
	for round in $(seq 1 "$rounds"); do
		for conns in 16 64; do
			for target in healthz auth bare; do
				local args=(-c "$conns" -d "$duration" -warmup "$warmup" -json -tag kind=load -tag "db=$db" -tag "target=$target" -tag "conns=$conns" -tag "round=$round")
				case $target in
				healthz) args+=(-pid "$pid" "$url/healthz") ;;
				auth) args+=(-pid "$pid" -H "Authorization: Bearer $tok" "$url/api/system/config") ;;
				bare) args+=(-pid "$bare_pid" -H "Authorization: Bearer $tok" "$bare/api/system/config") ;;
				esac
				if [[ $target == auth && $conns == 64 && $round == 1 ]]; then
					# resident memory in the middle of the load
					"$loadgen" "${args[@]}" >>"$results" &
					local lg=$!
					sleep 3
					fact "rss_load_kb_$db" "$(rss_kb "$pid")"
					wait "$lg"
				else
					"$loadgen" "${args[@]}" >>"$results"
				fi
			done
		done
	done
}

# latency DB PID URL BARE_URL TOKEN BARE_PID: the open-loop rounds of section 1. A closed loop
# at 64 connections saturates the two cores, so its latency is queueing (Little's law); here
# requests are due at a fixed rate below saturation, and latency counts from when each was due.
latency() {
	local db=$1 pid=$2 url=$3 bare=$4 tok=$5 bare_pid=$6 round target
	for round in $(seq 1 "$rounds"); do
		for target in healthz auth bare; do
			local args=(-c 64 -rate "$rate" -d "$duration" -warmup "$warmup" -json -tag kind=latency -tag "db=$db" -tag "target=$target" -tag conns=64 -tag "rate=$rate" -tag "round=$round")
			case $target in
			healthz) args+=(-pid "$pid" "$url/healthz") ;;
			auth) args+=(-pid "$pid" -H "Authorization: Bearer $tok" "$url/api/system/config") ;;
			bare) args+=(-pid "$bare_pid" -H "Authorization: Bearer $tok" "$bare/api/system/config") ;;
			esac
			"$loadgen" "${args[@]}" >>"$results"
		done
	done
}

# token_list DB ENV URL SESSION: section 4 at the current number of tokens.
token_list() {
	local db=$1 env=$2 url=$3 session=$4 n=$5 reqs=$6
	"$loadgen" -c 1 -d 0 -n "$reqs" -warmup 1s -json -tag kind=list -tag "db=$db" -tag "tokens=$n" -tag page=all \
		-H "Authorization: Bearer $session" "$url/api/tokens" >>"$results"
	"$loadgen" -c 1 -d 0 -n 200 -warmup 500ms -json -tag kind=list -tag "db=$db" -tag "tokens=$n" -tag page=50 \
		-H "Authorization: Bearer $session" "$url/api/tokens?limit=50" >>"$results"
}

# tokens_page DB URL N COOKIES: section 4 in Chromium, the tokens page with N tokens, signed in
# with the cookies "SESSION CSRF" (benchtool session-cookie; never logged).
tokens_page() {
	local db=$1 url=$2 n=$3 sess csrf
	if [[ -n $browser_skip ]]; then
		return 0
	fi
	read -r sess csrf <<<"$4"
	log "$db: the tokens page in Chromium, $n tokens ($browser_loads loads)"
	if ! (cd e2e && CODEMETRICS_SESSION="$sess" CODEMETRICS_CSRF="$csrf" node bench/tokens-page.mjs --url "$url" \
		--loads "$browser_loads" --tag "db=$db" --tag "tokens=$n" >>"$results"); then
		echo "bench: the tokens page measurement failed ($db, $n tokens); the report says so" >&2
		fact "browser_failed_${db}_$n" 1
	fi
}

# bench_db DB DSN: sections 1, 4 and 5 on one database; MariaDB adds 2 and 3.
bench_db() {
	local db=$1 dsn=$2 port env bport benv a_pid bare_pid url bare_url id tok session
	port=$("$benchtool" freeport)
	env=$(server_env "$db" "$dsn" "$port")
	url="http://127.0.0.1:$port"

	log "$db: start-up on an empty database (migrations included)"
	env $env "$benchtool" startup -bin "$bin" -runs 1 -tag "db=$db" -tag state=fresh >>"$results"
	log "$db: start-up on the migrated database"
	env $env "$benchtool" startup -bin "$bin" -runs 5 -tag "db=$db" -tag state=migrated >>"$results"

	log "$db: starting CodeMetrics and the bare-JWT baseline"
	start "cm-$db-a" "$env" "$bin"
	a_pid=$started
	bport=$("$benchtool" freeport)
	benv=$(server_env "$db" "$dsn" "$bport")
	start "bare-$db" "$benv" "$benchtool" bare
	bare_pid=$started
	bare_url="http://127.0.0.1:$bport"
	local b_pid="" b_url=""
	if [[ $db == mysql ]]; then
		local b_port b_env
		b_port=$("$benchtool" freeport)
		b_env=$(server_env "$db" "$dsn" "$b_port")
		start "cm-$db-b" "$b_env" "$bin"
		b_pid=$started
		b_url="http://127.0.0.1:$b_port"
	fi
	sleep 2
	fact "rss_idle_kb_$db" "$(rss_kb "$a_pid")"

	read -r id tok < <(create_token "$env" bench-load)
	log "$db: throughput ($rounds rounds × 16/64 connections × healthz/auth/bare)"
	throughput "$db" "$a_pid" "$url" "$bare_url" "$tok" "$bare_pid"
	log "$db: latency at $rate requests/s offered ($rounds rounds × 64 connections × healthz/auth/bare)"
	latency "$db" "$a_pid" "$url" "$bare_url" "$tok" "$bare_pid"
	fact "hwm_kb_$db" "$(hwm_kb "$a_pid")"

	if [[ $db == mysql ]]; then
		log "mysql: database statements per authenticated request"
		local secs=${duration%s} q0 q1 q2 reqs
		q0=$(mysql_cli -e "SHOW GLOBAL STATUS LIKE 'Questions'" | awk '{print $2}')
		sleep "$secs"
		q1=$(mysql_cli -e "SHOW GLOBAL STATUS LIKE 'Questions'" | awk '{print $2}')
		"$loadgen" -c 64 -d "$duration" -warmup 0 -json -tag kind=questions -H "Authorization: Bearer $tok" "$url/api/system/config" >"$work/q.json"
		q2=$(mysql_cli -e "SHOW GLOBAL STATUS LIKE 'Questions'" | awk '{print $2}')
		reqs=$(sed -E 's/.*"requests":([0-9]+).*/\1/' "$work/q.json")
		fact questions_delta "$((q2 - q1))"
		fact questions_idle_delta "$((q1 - q0))"
		fact questions_requests "$reqs"
		fact questions_seconds "$secs"
		fact questions_instances 2
		fact questions_expected "$((q1 - q0)) (measured over the same time without load)"
		fact questions_per_request "$(awk -v l="$((q2 - q1))" -v i="$((q1 - q0))" -v r="$reqs" 'BEGIN {d = l - i; if (d < 0) d = 0; printf "%.4f", d / r}')"
		echo "  Questions: idle +$((q1 - q0)), under load +$((q2 - q1)) for $reqs requests" >&2

		log "mysql: revocation through A, seen by B"
		session=$(env $env "$benchtool" session-token)
		fact revocation_conns 4
		fact revocation_before 1.5s
		fact revocation_after 2s
		local trial
		for trial in 1 2 3; do
			read -r id tok < <(create_token "$env" "bench-revoke-$trial")
			"$loadgen" revocation -a "$url" -b "$b_url" -token "$tok" -token-id "$id" -admin "$session" \
				-c 4 -before 1.5s -after 2s -json -tag kind=revocation -tag "trial=$trial" >>"$results"
		done
	fi

	log "$db: the token list"
	session=$(env $env "$benchtool" session-token)
	local cookies=""
	if [[ -z $browser_skip ]]; then
		cookies=$(env $env "$benchtool" session-cookie)
	fi
	env $env "$benchtool" seed -n 10000
	token_list "$db" "$env" "$url" "$session" 10000 30
	tokens_page "$db" "$url" 10000 "$cookies"
	env $env "$benchtool" seed -n 90000
	token_list "$db" "$env" "$url" "$session" 100000 10
	tokens_page "$db" "$url" 100000 "$cookies"

	stop "$a_pid"
	stop "$bare_pid"
	[[ -n $b_pid ]] && stop "$b_pid"
	return 0
}

bench_db sqlite "$work/sqlite/codemetrics.db"

mysql_db="cm_bench_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
mysql_cli -e "CREATE DATABASE \`$mysql_db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
bench_db mysql "$my_user${my_pass:+:$my_pass}@tcp($my_host:$my_port)/$mysql_db"

# --- Go benchmarks -------------------------------------------------------------------------
log "Go benchmarks"
gocmd="go test -run '^\$' -bench . -benchmem -count $gocount -benchtime $gobenchtime ./internal/token/ ./internal/httpapi/"
fact gobench_command "cd backend && $gocmd"
(cd backend && eval "$gocmd") | tee "$work/gobench.txt" >&2
pcmd="go test -run '^\$' -bench 'AuthMiddlewareServiceToken\$' -benchtime 3s -cpuprofile cpu.out ./internal/httpapi/"
fact pprof_command "cd backend && $pcmd"
(cd backend && go test -run '^$' -bench 'AuthMiddlewareServiceToken$' -benchtime 3s -cpuprofile "$work/cpu.out" -o "$work/httpapi.test" ./internal/httpapi/ >/dev/null)
go tool pprof -top -cum -nodecount 35 "$work/httpapi.test" "$work/cpu.out" 2>/dev/null | grep -v -e '^File:' -e '^Build ID:' -e '^Time:' >"$work/pprof.txt" || true

fact loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
log "writing $out"
mkdir -p "$(dirname "$out")"
"$benchtool" report -dir "$work" -out "$out"
echo "bench: wrote $out" >&2
