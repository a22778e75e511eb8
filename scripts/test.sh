#!/usr/bin/env bash
# scripts/test.sh — the riskauth test command.
#
#   scripts/test.sh [go test arguments...]        (default: ./...)
#
# 1. runs scripts/fetch-data.sh when it exists, is executable and npm is there;
# 2. static checks: go vet ./... (and, with CI=true, gofmt and staticcheck);
# 3. starts throw-away servers on free loopback ports in a temp dir, each one
#    whose binaries are installed, and exports their addresses:
#      redis-server, redis-cli   RISKAUTH_TEST_REDIS_ADDR     standalone Redis
#                                RISKAUTH_TEST_REDIS_CLUSTER  3-master Redis Cluster
#      PostgreSQL server         RISKAUTH_TEST_POSTGRES_URL   database riskauth_test
#    (internal/leaf/testenv reads them: a test whose server is missing skips, or
#    fails under CI=true);
# 4. go test -count=1 -timeout 20m ARGS;
# 5. with CI=true, go test -race -short over the concurrent packages;
# 6. with CI=true, fuzzes a rotating subset of the fuzz targets briefly
#    (RISKAUTH_FUZZ_TARGETS targets, default 6, RISKAUTH_FUZZ_TIME each,
#    default 10s, within RISKAUTH_FUZZ_BUDGET seconds, default 120; the
#    subset moves on with every commit and every day; see docs/testing.md);
# and exits with the first failing status.
# go test runs with -json through internal/leaf/testenv/testsummary, which
# prints what go test prints without -json (everything with -v) and ends
# with a summary: tests passed, failed and skipped, and every skipped test
# with its reason (a missing server or browser, -short...). With -json in
# ARGS, go test's own output is passed on instead.
# Every server is stopped and the temp dir removed on exit, also when a step
# fails or on Ctrl-C / SIGTERM / SIGHUP; if this script is killed outright
# (SIGKILL), a watchdog process does it within about 3 seconds.
#
# CI=true also makes a failed data fetch or a server that does not start fatal.
# When a server's binaries are missing, an address already set in the
# environment is kept, so tests can be pointed at an external server.
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"

# runuser lives in /usr/sbin, which a minimal PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac

ci=false
case "${CI:-}" in true | TRUE | True | 1) ci=true ;; esac

log() { printf '[test.sh] %s\n' "$*"; }
warn() { printf '[test.sh] WARNING: %s\n' "$*" >&2; }
die() {
	printf '[test.sh] ERROR: %s\n' "$*" >&2
	exit 1
}

# Milliseconds since the epoch, for timings.
now_ms() {
	if [[ -n ${EPOCHREALTIME:-} ]]; then
		local t=${EPOCHREALTIME//[.,]/}
		echo $((10#$t / 1000))
	else
		date +%s%3N
	fi
}
since() { # since START_MS -> "1.234s"
	local d=$(($(now_ms) - $1))
	printf '%d.%03ds' $((d / 1000)) $((d % 1000))
}

# ---------------------------------------------------------------------------
# State, and the cleanup that runs whatever happens.

tmp=""          # temp dir holding every server's files
pg_extra_dir="" # a second temp dir for PostgreSQL when postgres cannot reach $tmp
server_pids=()  # redis-server processes we started (each in its own session)
pg_bin=""       # PostgreSQL bin dir
pg_data=""      # PostgreSQL data dir once initdb ran: stop it on exit
child=""        # the long-running step in progress (go test, ...)
pg_starter=""   # the background job starting PostgreSQL
watchdog=""     # see below

# pg_as CMD...: run CMD as the postgres user when we are root (initdb and
# postgres refuse to run as root), else as ourselves.
pg_as() {
	if ((EUID == 0)); then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# alive PID: the process exists and is not a zombie (a postmaster is not our
# child, and pid 1 of a container does not always reap orphans).
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0 # no /proc: trust kill -0
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# wait_gone TIMEOUT_S PID...: wait until the PIDs have exited; SIGKILL the rest.
wait_gone() {
	local timeout=$1 i p any
	shift
	for ((i = 0; i < timeout * 20; i++)); do
		any=0
		for p in "$@"; do alive "$p" && any=1; done
		((any)) || break
		sleep 0.05
	done
	for p in "$@"; do
		if alive "$p"; then
			warn "pid $p did not stop in ${timeout}s: killing it"
			kill -KILL "$p" 2>/dev/null
		fi
		wait "$p" 2>/dev/null
	done
	return 0
}

# shellcheck disable=SC2317 # invoked by trap
cleanup() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM HUP # a second Ctrl-C must not leave servers behind
	set +e
	if [[ -n $child ]]; then
		kill -TERM -- "-$child" 2>/dev/null
		wait_gone 15 "$child"
		kill -KILL -- "-$child" 2>/dev/null # test binaries left behind by go
	fi
	if [[ -n $pg_starter ]] && alive "$pg_starter"; then
		# Stopping a postgres half-way through pg_ctl start could leave it
		# running: let it come up (a few seconds at most), then stop it.
		log "waiting for postgres to finish starting, to stop it"
		wait "$pg_starter" 2>/dev/null
	fi
	if [[ -n $pg_data || ${#server_pids[@]} -gt 0 ]]; then
		local t0
		t0=$(now_ms)
		if [[ -n $pg_data && -f $pg_data/postmaster.pid ]]; then
			local pm
			pm=$(head -n1 "$pg_data/postmaster.pid" 2>/dev/null)
			(cd / && pg_as "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 30 stop) >/dev/null 2>&1 &
			local stopper=$!
		fi
		if ((${#server_pids[@]})); then
			kill -TERM "${server_pids[@]}" 2>/dev/null
			wait_gone 10 "${server_pids[@]}"
		fi
		if [[ -n ${stopper:-} ]]; then
			wait "$stopper"
			# pg_ctl returns once the pid file is gone, which can be just
			# before the postmaster has exited.
			[[ -n ${pm:-} ]] && wait_gone 5 "$pm"
		fi
		log "servers stopped in $(since "$t0")"
	fi
	[[ -n $tmp ]] && rm -rf -- "$tmp"
	[[ -n $pg_extra_dir ]] && rm -rf -- "$pg_extra_dir"
	[[ -n $watchdog ]] && kill "$watchdog" 2>/dev/null
	exit "$rc"
}

# shellcheck disable=SC2317 # invoked by trap
on_signal() { # on_signal NAME EXIT_CODE
	trap '' INT TERM HUP
	warn "caught SIG$1: stopping"
	# Steps run in their own session (see run), so pass the signal on.
	[[ -n $child ]] && kill -s "$1" -- "-$child" 2>/dev/null
	exit "$2"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

tmp=$(mktemp -d "${TMPDIR:-/tmp}/riskauth-test.XXXXXX")

# The watchdog: a process in a session of its own that does what cleanup does
# if this script dies without running it (SIGKILL, or its process group
# killed). It reads what to stop from $tmp/stop: one line per pid
# (-pgid for a process group), "pg BIN DATA" for PostgreSQL, "rm DIR".
if command -v setsid >/dev/null 2>&1; then
	# shellcheck disable=SC2016 # expanded by the watchdog's shell
	setsid bash -c '
		main=$1 tmp=$2
		alive() { [[ -r /proc/$1/stat ]] && s=$(<"/proc/$1/stat") && s=${s##*) } && [[ ${s%% *} != Z ]]; }
		while alive "$main"; do sleep 1; done
		[[ -f $tmp/stop ]] || exit 0
		while read -r what a b; do
			case $what in
			pg) if ((EUID == 0)); then runuser -u postgres -- "$a/pg_ctl" -D "$b" -m immediate stop; else "$a/pg_ctl" -D "$b" -m immediate stop; fi ;;
			rm) ;;
			*) kill -TERM -- "$what" ;;
			esac
		done <"$tmp/stop"
		sleep 2
		while read -r what a b; do
			case $what in pg) ;; rm) rm -rf -- "$a" ;; *) kill -KILL -- "$what" ;; esac
		done <"$tmp/stop"
		rm -rf -- "$tmp"
	' watchdog "$$" "$tmp" </dev/null >/dev/null 2>&1 &
	watchdog=$!
fi
echo "rm $tmp" >"$tmp/stop"

# spawn CMD...: start CMD in the background in a session of its own, so a
# Ctrl-C at the terminal reaches only this script, which then stops it in
# order. Sets $REPLY to its pid (the same as the process group id).
have_setsid=false
command -v setsid >/dev/null 2>&1 && have_setsid=true
spawn() {
	if $have_setsid; then
		(
			trap - INT QUIT TERM HUP
			exec setsid "$@"
		) &
	else
		(
			trap - INT QUIT TERM HUP
			exec "$@"
		) &
	fi
	REPLY=$!
}

# forget PIDSPEC: drop a process that has ended from $tmp/stop, so that the
# watchdog never signals a pid that has been reused since.
forget() {
	sed -i "/^$1\$/d" "$tmp/stop"
}

# run CMD...: run a step to completion in its own session and return its
# status; on a signal, on_signal forwards it and cleanup waits for it.
run() {
	local rc=0
	spawn "$@" </dev/null
	child=$REPLY
	echo "-$child" >>"$tmp/stop"
	wait "$child" || rc=$?
	forget "-$child"
	child=""
	return "$rc"
}

# ---------------------------------------------------------------------------
# Free loopback ports.

used_ports=" "
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port [bus|pg]: set REPLY to a loopback TCP port nobody listens on and
# that this run has not handed out. Redis takes ports from 20000-31999, below
# Linux's default ephemeral range; with "bus", port+10000 (the Redis Cluster
# bus, so the port must be <= 55535) must be free too. "pg" takes 12000-19999.
free_port() {
	local p i lo=20000 span=12000
	[[ ${1:-} == pg ]] && lo=12000 span=8000
	for ((i = 0; i < 500; i++)); do
		p=$((lo + RANDOM % span))
		[[ $used_ports == *" $p "* ]] && continue
		port_busy "$p" && continue
		if [[ ${1:-} == bus ]]; then
			[[ $used_ports == *" $((p + 10000)) "* ]] && continue
			port_busy $((p + 10000)) && continue
			used_ports+="$((p + 10000)) "
		fi
		used_ports+="$p "
		REPLY=$p
		return 0
	done
	warn "no free loopback port found"
	return 1
}

# ---------------------------------------------------------------------------
# Redis

# redis_start DIR standalone|cluster: start a redis-server on a free port with
# its files in DIR, wait until it answers; sets REPLY to the port. Retries on
# another port when the one picked was taken meanwhile.
redis_start() {
	local dir=$1 mode=$2 port pid i pong srvpid args
	mkdir -p "$dir"
	for _ in 1 2 3 4 5; do
		if [[ $mode == cluster ]]; then free_port bus || return 1; else free_port || return 1; fi
		port=$REPLY
		srvpid=""
		args=(--port "$port" --bind 127.0.0.1 --save '' --appendonly no
			--dir "$dir" --logfile "$dir/redis-$port.log" --daemonize no)
		if [[ $mode == cluster ]]; then
			args+=(--cluster-enabled yes --cluster-config-file "nodes-$port.conf"
				--cluster-node-timeout 2000)
		fi
		spawn redis-server "${args[@]}" </dev/null >>"$dir/redis-$port.out" 2>&1
		pid=$REPLY
		server_pids+=("$pid")
		echo "$pid" >>"$tmp/stop"
		for ((i = 0; i < 200; i++)); do # 10 s
			if ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			pong=$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)
			if [[ $pong == PONG* ]]; then
				# Make sure it is ours, not someone else's that won the port.
				srvpid=$(redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null |
					tr -d '\r' | sed -n 's/^process_id://p')
				if [[ $srvpid == "$pid" ]]; then
					REPLY=$port
					return 0
				fi
			fi
			sleep 0.05
		done
		kill -TERM "$pid" 2>/dev/null
		wait_gone 5 "$pid"
		unset 'server_pids[-1]'
		forget "$pid"
		if [[ -n $srvpid && $srvpid != "$pid" ]]; then
			warn "redis: port $port was taken by another redis (pid $srvpid), trying another"
			continue
		fi
		if grep -qi 'address already in use' "$dir/redis-$port.log" "$dir/redis-$port.out" 2>/dev/null; then
			warn "redis: port $port was taken: $(grep -hi 'address already in use' "$dir/redis-$port.log" "$dir/redis-$port.out" | head -n1), trying another"
			continue
		fi
		warn "redis-server on port $port did not start; its log:"
		tail -n 20 "$dir/redis-$port.log" "$dir/redis-$port.out" >&2 2>/dev/null || true
		return 1
	done
	return 1
}

# cluster_field PORT FIELD: one field of CLUSTER INFO.
cluster_field() {
	redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}

# redis_cluster_start DIR: 3 masters, all 16384 slots; sets REPLY to "a,b,c".
redis_cluster_start() {
	local dir=$1 ports=() p q i ok
	for i in 1 2 3; do
		redis_start "$dir/node$i" cluster || return 1
		ports+=("$REPLY")
	done
	if ! redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes \
		</dev/null >"$dir/create.log" 2>&1; then
		warn "redis-cli --cluster create failed:"
		tail -n 20 "$dir/create.log" >&2
		return 1
	fi
	# --cluster create introduces the nodes to the first one only, and the others
	# may take seconds to learn of each other by gossip (a client that asks such
	# a node gets CLUSTERDOWN): introduce every pair directly, which is harmless.
	for p in "${ports[@]}"; do
		for q in "${ports[@]}"; do
			[[ $p == "$q" ]] || redis-cli -h 127.0.0.1 -p "$p" cluster meet 127.0.0.1 "$q" >/dev/null 2>&1 || true
		done
	done
	for ((i = 0; i < 600; i++)); do # 30 s: every node must see the whole cluster as ok
		ok=1
		for p in "${ports[@]}"; do
			[[ $(cluster_field "$p" cluster_state) == ok &&
				$(cluster_field "$p" cluster_slots_ok) == 16384 &&
				$(cluster_field "$p" cluster_known_nodes) == 3 ]] || {
				ok=0
				break
			}
		done
		((ok)) && break
		sleep 0.05
	done
	if ((!ok)); then
		warn "redis cluster did not reach cluster_state:ok; CLUSTER INFO of node $p:"
		redis-cli -h 127.0.0.1 -p "$p" cluster info >&2 || true
		return 1
	fi
	REPLY=$(
		IFS=,
		echo "${ports[*]/#/127.0.0.1:}"
	)
}

# ---------------------------------------------------------------------------
# PostgreSQL

find_pg_bin() {
	local f best=""
	for f in $(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V); do
		[[ -x $f && -x ${f%/initdb}/pg_ctl ]] && best=${f%/initdb}
	done
	if [[ -z $best ]] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		best=$(dirname -- "$(command -v initdb)")
	fi
	pg_bin=$best
	[[ -n $pg_bin ]]
}

# pg_start BASE: initdb + start on a free port + createdb riskauth_test; sets
# REPLY to the port.
pg_start() {
	local base=$1 data=$1/data sock=$1/sock port opts
	pg_as mkdir -p "$sock"
	if ! (cd "$base" && pg_as "$pg_bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
		--no-locale --no-sync) >"$base/initdb.log" 2>&1; then
		warn "initdb failed:"
		tail -n 20 "$base/initdb.log" >&2
		return 1
	fi
	for _ in 1 2 3 4 5; do
		free_port pg || return 1
		port=$REPLY
		opts="-c listen_addresses=127.0.0.1 -p $port -k '$sock' -c fsync=off"
		opts+=" -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
		if (
			cd "$base"
			if $have_setsid; then
				# own session: a Ctrl-C at the terminal must not reach postgres
				if ((EUID == 0)); then
					exec setsid runuser -u postgres -- "$pg_bin/pg_ctl" -D "$data" -l "$base/postgres.log" -w -t 60 -o "$opts" start
				else
					exec setsid "$pg_bin/pg_ctl" -D "$data" -l "$base/postgres.log" -w -t 60 -o "$opts" start
				fi
			else
				pg_as "$pg_bin/pg_ctl" -D "$data" -l "$base/postgres.log" -w -t 60 -o "$opts" start
			fi
		) </dev/null >>"$base/pg_ctl.log" 2>&1; then
			if ! "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres riskauth_test \
				</dev/null >>"$base/pg_ctl.log" 2>&1; then
				warn "createdb riskauth_test failed:"
				tail -n 20 "$base/pg_ctl.log" >&2
				return 1
			fi
			REPLY=$port
			return 0
		fi
		if grep -qiE 'could not bind|address already in use' "$base/postgres.log" 2>/dev/null; then
			warn "postgres: port $port was taken, trying another"
			continue
		fi
		warn "postgres did not start; its log:"
		tail -n 20 "$base/pg_ctl.log" "$base/postgres.log" >&2 2>/dev/null || true
		return 1
	done
	return 1
}

# ---------------------------------------------------------------------------
# 1. data sets

if [[ -x scripts/fetch-data.sh ]]; then
	if command -v npm >/dev/null 2>&1; then
		t0=$(now_ms)
		log "fetching data sets: scripts/fetch-data.sh"
		if run scripts/fetch-data.sh; then
			log "data sets ready in $(since "$t0")"
		elif $ci; then
			die "scripts/fetch-data.sh failed"
		else
			warn "scripts/fetch-data.sh failed: tests that need the real data sets will skip"
		fi
	else
		warn "npm not found: not fetching data sets (scripts/fetch-data.sh)"
	fi
fi

# ---------------------------------------------------------------------------
# 2. static checks (before the servers: fail fast)

if $ci; then
	t0=$(now_ms)
	log "gofmt -l"
	gofiles=()
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		while IFS= read -r -d '' f; do
			[[ -f $f ]] && gofiles+=("$f")
		done < <(git ls-files -z --cached --others --exclude-standard -- '*.go')
	else
		while IFS= read -r -d '' f; do gofiles+=("$f"); done < <(find . -name '*.go' -not -path './vendor/*' -print0)
	fi
	if ((${#gofiles[@]})); then
		unformatted=$(gofmt -l "${gofiles[@]}")
		if [[ -n $unformatted ]]; then
			printf '%s\n' "$unformatted" >&2
			die "files above are not gofmt-ed: run gofmt -w on them"
		fi
	fi
	log "gofmt ok ($(since "$t0"))"
fi

t0=$(now_ms)
log "go vet ./..."
run go vet ./...
log "go vet ok ($(since "$t0"))"

if $ci; then
	t0=$(now_ms)
	# The version is pinned by go.mod's tool directive (go get -tool
	# honnef.co/go/tools/cmd/staticcheck@v0.8.2): built once, then cached.
	log "staticcheck ./... ($(go tool staticcheck -version 2>/dev/null || echo '?'))"
	run go tool staticcheck ./...
	log "staticcheck ok ($(since "$t0"))"
fi

# ---------------------------------------------------------------------------
# 3. servers

started=()
missing=()
failed=()
server_failed() {
	if $ci; then die "$1 did not start"; fi
	warn "$1 did not start: its tests will skip"
	failed+=("$1")
}
t_servers=$(now_ms)

# PostgreSQL starts in the background (initdb takes a second or two) while
# Redis starts; it takes its port from another range, so the two never pick
# the same one.
if find_pg_bin; then
	pg_ok=true
	pg_base=$tmp/pg
	mkdir -p "$pg_base"
	if ((EUID == 0)); then
		if ! id postgres >/dev/null 2>&1 || ! command -v runuser >/dev/null 2>&1; then
			warn "running as root without a postgres user or runuser: cannot run initdb"
			pg_ok=false
		else
			chmod 711 "$tmp" # postgres must be able to traverse it
			chown postgres: "$pg_base"
			if ! runuser -u postgres -- test -w "$pg_base" 2>/dev/null; then
				# a parent of $TMPDIR is closed to postgres: use /tmp
				pg_extra_dir=$(mktemp -d /tmp/riskauth-pg.XXXXXX)
				echo "rm $pg_extra_dir" >>"$tmp/stop"
				chmod 711 "$pg_extra_dir"
				pg_base=$pg_extra_dir/pg
				mkdir -p "$pg_base"
				chown postgres: "$pg_base"
			fi
		fi
	fi
	if $pg_ok; then
		pg_data=$pg_base/data # from now on cleanup stops it
		echo "pg $pg_bin $pg_data" >>"$tmp/stop"
		(
			ts=$(now_ms)
			if pg_start "$pg_base"; then
				echo "$REPLY $(since "$ts")" >"$tmp/pg.result"
			fi
		) </dev/null &
		pg_starter=$!
	else
		server_failed "postgresql"
	fi
else
	missing+=("postgresql server (/usr/lib/postgresql/*/bin/initdb)")
fi

if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
	ts=$(now_ms)
	if redis_start "$tmp/redis" standalone; then
		export RISKAUTH_TEST_REDIS_ADDR="127.0.0.1:$REPLY"
		started+=("$(printf '%-17s %-7s' "redis" "$(since "$ts")") RISKAUTH_TEST_REDIS_ADDR=$RISKAUTH_TEST_REDIS_ADDR")
	else
		server_failed "redis standalone"
	fi
	ts=$(now_ms)
	if redis_cluster_start "$tmp/redis-cluster"; then
		export RISKAUTH_TEST_REDIS_CLUSTER=$REPLY
		p=${REPLY%%,*}
		p=${p##*:}
		started+=("$(printf '%-17s %-7s' "redis cluster" "$(since "$ts")") RISKAUTH_TEST_REDIS_CLUSTER=$RISKAUTH_TEST_REDIS_CLUSTER")
		started+=("$(printf '%-25s' '') cluster_state:$(cluster_field "$p" cluster_state) known_nodes:$(cluster_field "$p" cluster_known_nodes) masters:$(cluster_field "$p" cluster_size) slots_ok:$(cluster_field "$p" cluster_slots_ok)")
	else
		server_failed "redis cluster"
	fi
else
	command -v redis-server >/dev/null 2>&1 || missing+=("redis-server")
	command -v redis-cli >/dev/null 2>&1 || missing+=("redis-cli")
fi

if [[ -n $pg_starter ]]; then
	wait "$pg_starter" || true
	pg_starter=""
	if [[ -s $tmp/pg.result ]]; then
		read -r port took <"$tmp/pg.result"
		export RISKAUTH_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/riskauth_test?sslmode=disable"
		started+=("$(printf '%-17s %-7s' "postgresql $("$pg_bin/postgres" --version | awk '{print $3}')" "$took") RISKAUTH_TEST_POSTGRES_URL=$RISKAUTH_TEST_POSTGRES_URL")
	else
		server_failed "postgresql"
	fi
fi

log "servers (started in $(since "$t_servers"), files in $tmp):"
for s in "${started[@]}"; do log "  $s"; done
((${#started[@]})) || log "  none"
for f in "${failed[@]}"; do log "  did not start: $f — its tests skip"; done
for m in "${missing[@]}"; do
	log "  missing binary: $m — its tests skip (fail under CI=true)"
done
for v in RISKAUTH_TEST_REDIS_ADDR RISKAUTH_TEST_REDIS_CLUSTER RISKAUTH_TEST_POSTGRES_URL; do
	case " ${started[*]} " in *"$v="*) ;; *) [[ -n ${!v:-} ]] && log "  $v=${!v} (from the environment)" ;; esac
done

# ---------------------------------------------------------------------------
# 4. tests

# testsummary turns go test -json back into go test's output and adds the
# summary of skipped tests. Without it (it did not build), plain go test.
summary_bin=$tmp/testsummary
if ! go build -o "$summary_bin" ./internal/leaf/testenv/testsummary; then
	warn "internal/leaf/testenv/testsummary did not build: no summary of skipped tests"
	summary_bin=""
fi

# go_test ARGS...: go test ARGS through testsummary; go test's status (the
# pipeline's, with pipefail: testsummary exits 0 unless it cannot read).
go_test() {
	local a verbose="" raw=false
	for a in "$@"; do
		case $a in
		-json | -json=true | -test.json) raw=true ;;
		-v | -v=true | -test.v | -test.v=true) verbose=-v ;;
		esac
	done
	if $raw || [[ -z $summary_bin ]]; then
		run go test "$@"
		return
	fi
	# shellcheck disable=SC2016 # expanded by the inner shell
	run bash -c 'set -o pipefail; s=$1 v=$2; shift 2; go test -json "$@" | "$s" $v' \
		go_test "$summary_bin" "$verbose" "$@"
}

(($#)) || set -- ./...
t0=$(now_ms)
log "go test -count=1 -timeout 20m $*"
rc=0
go_test -count=1 -timeout 20m "$@" || rc=$?
if ((rc == 0)); then
	log "go test ok ($(since "$t0"))"
else
	log "go test FAILED with status $rc ($(since "$t0"))"
fi

# 5. under CI, the concurrent packages once more with the race detector
#    (-short: the bounded flood and size tests shrink so this stays quick).
if $ci && ((rc == 0)); then
	race_pkgs=(./engine/... ./rules/... ./authn/... ./internal/httpapi/... ./signals/velocity/... ./signals/geo/... ./signals/breached/...)
	t0=$(now_ms)
	log "go test -race -short ${race_pkgs[*]}"
	go_test -race -short -count=1 -timeout 15m "${race_pkgs[@]}" || rc=$?
	if ((rc == 0)); then
		log "go test -race ok ($(since "$t0"))"
	else
		log "go test -race FAILED with status $rc ($(since "$t0"))"
	fi
fi

# 6. under CI, a rotating subset of the fuzz targets, briefly. The targets
#    are found in the sources (func FuzzX(f *testing.F) in *_test.go: the
#    names go test -list 'Fuzz.*' prints, without building every test
#    binary), sorted by package and name; slot (the UTC day number plus the
#    number of commits, or RISKAUTH_FUZZ_SLOT) picks RISKAUTH_FUZZ_TARGETS
#    consecutive ones, so every target runs within a few CI runs and a
#    rerun of one commit on one day fuzzes the same ones. No target starts
#    once RISKAUTH_FUZZ_BUDGET (default 120s) would be overrun: a cold build
#    cache costs each target an instrumented build; the ones left out are
#    logged, and the order within the subset rotates with the slot so that
#    it is never the same ones. A failing input
#    is written by go test to the package's testdata/fuzz/<target>/, where
#    every later go test runs it as a regression test: it is printed here
#    too, since a CI workspace is thrown away, for you to commit.
fuzz_time=${RISKAUTH_FUZZ_TIME:-10s}
# The engine minimizes every input that finds new coverage, for up to a
# minute each by default, counting none of it as executions: a target at
# about 1 ms per call (FuzzFinishLogin: a WebAuthn assertion and attestation
# parse) spent all of its 10 s minimizing its first few mutations, fuzzed
# nothing and ended "context deadline exceeded". One second per input keeps
# the budget for fuzzing; a failing input is written whether minimized or not.
fuzz_minimize=${RISKAUTH_FUZZ_MINIMIZE_TIME:-1s}
fuzz_n=${RISKAUTH_FUZZ_TARGETS:-6}
fuzz_budget=${RISKAUTH_FUZZ_BUDGET:-120}
fuzz_budget=${fuzz_budget%s}

# seconds DURATION: whole seconds of a go duration like 10s, 1m30s or 500ms
# (at least 1).
seconds() {
	local d=$1 n=0 v
	while [[ $d =~ ^([0-9]+)(ms|h|m|s)(.*)$ ]]; do
		v=${BASH_REMATCH[1]}
		case ${BASH_REMATCH[2]} in h) ((n += v * 3600)) ;; m) ((n += v * 60)) ;; s) ((n += v)) ;; ms) ((n += v / 1000)) ;; esac
		d=${BASH_REMATCH[3]}
	done
	[[ $d =~ ^[0-9]+$ ]] && ((n += d))
	echo $((n > 0 ? n : 1))
}
if $ci && ((rc == 0)) && [[ $fuzz_time != 0 && $fuzz_time != 0s && $fuzz_n != 0 ]]; then
	t0=$(now_ms)
	fuzz_targets=()
	while IFS= read -r line; do fuzz_targets+=("$line"); done < <(
		grep -rE --include='*_test.go' --exclude-dir=.cache --exclude-dir=.git --exclude-dir=node_modules \
			'^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
			sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | LC_ALL=C sort -u
	)
	total=${#fuzz_targets[@]}
	if [[ $fuzz_n == all ]] || ((fuzz_n > total)); then fuzz_n=$total; fi
	if [[ -n ${RISKAUTH_FUZZ_SLOT:-} ]]; then
		slot=$RISKAUTH_FUZZ_SLOT
	else
		slot=$(($(date -u +%s) / 86400 + $(git rev-list --count HEAD 2>/dev/null || echo 0)))
	fi
	log "fuzzing $fuzz_n of $total targets for $fuzz_time each (slot $slot; RISKAUTH_FUZZ_SLOT=$slot repeats this choice)"
	left=()
	ran=0
	fuzz_s=$(seconds "$fuzz_time")
	for ((i = 0; i < fuzz_n && total > 0; i++)); do
		read -r dir name <<<"${fuzz_targets[$(((slot * fuzz_n + (i + slot) % fuzz_n) % total))]}"
		# The next target is expected to take as long as the ones before
		# (build, baseline, fuzzing), at least fuzz_time.
		spent=$((($(now_ms) - t0) / 1000))
		expect=$fuzz_s
		((ran > 0 && spent / ran > expect)) && expect=$((spent / ran))
		if ((${#left[@]} || spent + expect > fuzz_budget)); then
			left+=("$name")
			continue
		fi
		ran=$((ran + 1))
		log "  go test -run '^\$' -fuzz '^$name\$' -fuzztime $fuzz_time -fuzzminimizetime $fuzz_minimize $dir"
		frc=0
		run go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzz_time" -fuzzminimizetime "$fuzz_minimize" "$dir" >"$tmp/fuzz.out" 2>&1 || frc=$?
		cat "$tmp/fuzz.out"
		# On a busy machine the fuzzing engine can give up on a worker
		# still minimizing when the time is up ("context deadline
		# exceeded") without any failing input: that is the machine's
		# speed, not a finding. A failing input is
		# always written to testdata/fuzz, and then the run fails.
		if ((frc != 0)) && grep -q 'context deadline exceeded' "$tmp/fuzz.out" &&
			[[ -z $(git ls-files --others --exclude-standard -- "$dir/testdata/fuzz" 2>/dev/null) ]]; then
			log "fuzz $dir $name: the fuzzing engine timed out on a stalled worker and wrote no failing input: not a finding"
			frc=0
		fi
		if ((frc != 0)); then
			rc=$frc
			log "fuzz $dir $name FAILED with status $frc; new failing inputs (commit them: they are regression tests now):"
			while IFS= read -r f; do
				[[ -f $f ]] || continue
				log "    $f:"
				sed 's/^/        /' "$f"
			done < <(git ls-files --others --exclude-standard -- "$dir/testdata/fuzz" 2>/dev/null || find "$dir/testdata/fuzz" -type f -newer "$tmp/stop")
			break
		fi
	done
	if ((${#left[@]})); then
		log "fuzz budget of ${fuzz_budget}s spent: not fuzzed in this run: ${left[*]}"
	fi
	if ((rc == 0)); then
		log "fuzz ok ($(since "$t0"))"
	else
		log "fuzz FAILED ($(since "$t0"))"
	fi
fi
exit "$rc"
