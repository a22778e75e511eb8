#!/usr/bin/env bash
# scripts/soak-rss.sh — the memory soak of docs/benchmarks.md ("Memory under
# sustained load"): riskauthd on embedded defaults in a throw-away data dir on
# 127.0.0.1, driven by cmd/riskload for a bounded time, its RSS sampled from
# /proc/<pid>/status every few seconds.
#
#   scripts/soak-rss.sh OUT_DIR [riskload flags...]
#
# Environment: RISKAUTHD and RISKLOAD name prebuilt binaries (default: built
# from this tree into OUT_DIR), SOAK_PORT (default 18480), SOAK_INTERVAL
# seconds between samples (default 5); RISKAUTH_* variables pass through to
# riskauthd (e.g. RISKAUTH_MEMORY_LIMIT). The default riskload flags are the
# issue 18 soak: 8 connections, 2,000,000 users, 200,000 distinct bodies,
# 220 s per server (riskload measures its in-process echo server first, so
# the run takes about twice that).
#
# Writes OUT_DIR/rss.csv (seconds since riskauthd started, VmRSS KiB,
# VmHWM KiB), OUT_DIR/riskload.txt, OUT_DIR/metrics.txt (a scrape at the
# end) and OUT_DIR/riskauthd.log, then prints the RSS plateau (min–max of
# the last quarter of samples taken while the load ran). Only the
# riskauthd it started is stopped, by its pid.
set -euo pipefail

out=${1:?usage: scripts/soak-rss.sh OUT_DIR [riskload flags...]}
shift
flags=("$@")
if [[ ${#flags[@]} -eq 0 ]]; then
	flags=(-concurrency 8 -users 2000000 -bodies 200000 -warmup 0s -duration 220s)
fi
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
mkdir -p "$out"
out=$(cd -- "$out" && pwd -P)
go=${GO:-go}
if [[ -z ${RISKAUTHD:-} ]]; then
	(cd "$root" && "$go" build -o "$out/riskauthd" ./cmd/riskauthd)
	RISKAUTHD=$out/riskauthd
fi
if [[ -z ${RISKLOAD:-} ]]; then
	(cd "$root" && "$go" build -o "$out/riskload" ./cmd/riskload)
	RISKLOAD=$out/riskload
fi
port=${SOAK_PORT:-18480}
interval=${SOAK_INTERVAL:-5}
data=$(mktemp -d)
key=soak-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

pid=""
sampler=""
cleanup() {
	[[ -n $sampler ]] && kill "$sampler" 2>/dev/null || true
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$data"
}
trap cleanup EXIT INT TERM

RISKAUTH_DATA_DIR=$data RISKAUTH_ADDR=127.0.0.1:$port RISKAUTH_API_KEYS=$key RISKAUTH_LOG_LEVEL=${RISKAUTH_LOG_LEVEL:-warn} \
	"$RISKAUTHD" >"$out/riskauthd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null

start=$(date +%s)
echo "seconds,rss_kib,hwm_kib" >"$out/rss.csv"
(
	while kill -0 "$pid" 2>/dev/null; do
		rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
		hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
		[[ -n $rss ]] && echo "$(($(date +%s) - start)),$rss,$hwm" >>"$out/rss.csv"
		sleep "$interval"
	done
) &
sampler=$!

load_start=$(($(date +%s) - start))
RISKLOAD_API_KEY=$key "$RISKLOAD" -target "http://127.0.0.1:$port" "${flags[@]}" | tee "$out/riskload.txt"
load_end=$(($(date +%s) - start))
curl -fsS "http://127.0.0.1:$port/metrics" >"$out/metrics.txt" || true
sleep "$interval"

# The plateau: the last quarter of the samples taken while riskload ran
# (its echo phase comes first and does not touch riskauthd).
awk -F, -v a="$load_start" -v b="$load_end" 'NR > 1 && $1 >= a && $1 <= b {t[n] = $1; r[n++] = $2}
	END {
		if (n == 0) { print "no samples"; exit }
		lo = 1e18; hi = 0; from = int(n * 3 / 4)
		for (i = from; i < n; i++) { if (r[i] < lo) lo = r[i]; if (r[i] > hi) hi = r[i] }
		printf "riskauthd RSS at start %.0f MiB; plateau (samples %d s to %d s) %.0f-%.0f MiB\n", r[0] / 1024, t[from], t[n-1], lo / 1024, hi / 1024
	}' "$out/rss.csv" | tee "$out/summary.txt"
grep -E '^(go_memstats_heap_inuse_bytes|go_gc_gomemlimit_bytes|riskauth_velocity_evictions_total|riskauth_velocity_tracked_keys|riskauth_decisions_total)' \
	"$out/metrics.txt" | tee -a "$out/summary.txt" || true
