#!/usr/bin/env bash
# What a gateway costs as a sidecar: a fixed rate of about RATE small chat completions per
# second (wrk's delay(), bench/lua/fixed_rate.lua), not a saturating load, through
#   direct     the modelsim server itself (the latency reference)
#   infergate  1 worker, access log to a file, per-version metrics on (the defaults), body
#              routing on, an HTTPRoute to the Service
#   haproxy    1 thread, keep-alive both sides, access log to a file
# Prints per target the achieved rps, CPU per second of wall time (vCPU, from /proc: the
# process and its children), RSS after the run, p50/p99, and the p50 added to direct. ROUNDS
# interleaved rounds, the order rotated every round; medians.
#
# For scale: Istio's published sidecar cost is 0.35 vCPU per 1,000 rps.
#
#   bench/sidecar_cost.sh [BUILD_DIR]
#   RATE=1000 DURATION=10 ROUNDS=3 bench/sidecar_cost.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
INFERGATE=${INFERGATE:-$build/infergate}
RATE=${RATE:-1000}
CONNECTIONS=${CONNECTIONS:-10}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
base=${BASE_PORT:-$((22000 + ($$ % 200) * 10))}  # below the ephemeral range (32768-)
backend_port=$base
ig_port=$((base + 1))
ig_admin=$((base + 2))
haproxy_port=$((base + 3))
# Each connection waits this long after a response: CONNECTIONS / (pause + latency) ≈ RATE.
pause_ms=$((CONNECTIONS * 1000 / RATE))

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
bench_install wrk:wrk haproxy:haproxy curl:curl
bench_need_binaries "$build"
bench_workdir sidecar_cost

"$build/modelsim" --port "$backend_port" --threads 1 >"$work/modelsim.log" 2>&1 &
backend_pid=$!
pids+=("$backend_pid")
wait_port "$backend_port"

{
  BENCH_ACCESS_LOG=$work/infergate-access.log bench_gateway_yaml "$ig_admin" "$ig_port" "$backend_port" \
    "  metrics: {perVersion: true}"
  bench_route_yaml "$backend_port"
} >"$work/infergate.yaml"
"$INFERGATE" --config "$work/infergate.yaml" --workers 1 --log-level warning >"$work/infergate.log" 2>&1 &
ig_pid=$!
pids+=("$ig_pid")

BENCH_HAPROXY_LOG=1 bench_haproxy_cfg 1 "$haproxy_port" "server s1 127.0.0.1:$backend_port" >"$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy-access.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")
wait_port "$ig_port"
wait_port "$haproxy_port"

declare -A pid_of=([direct]=$backend_pid [infergate]=$ig_pid [haproxy]=$haproxy_pid)
declare -A port_of=([direct]=$backend_port [infergate]=$ig_port [haproxy]=$haproxy_port)
variants=(direct infergate haproxy)
for v in "${variants[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
    -d '{"model":"sim-model","messages":[{"role":"user","content":"hi"}],"max_tokens":16}' \
    "http://127.0.0.1:${port_of[$v]}/v1/chat/completions")
  [ "$code" = 200 ] || { echo "$v: POST answered $code, not 200" >&2; exit 1; }
done

rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
echo "sidecar cost: $(nproc) cores, about $RATE rps (wrk -t1 -c$CONNECTIONS, ${pause_ms} ms between a response and the next request), ${DURATION}s x $ROUNDS rounds"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= ROUNDS; r++)); do
  for ((k = 0; k < ${#variants[@]}; k++)); do
    v=${variants[(k + r - 1) % ${#variants[@]}]}
    out=$work/wrk-$v-$r.txt
    c0=$(cpu_ms "${pid_of[$v]}")
    t0=$(date +%s%N)
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$here/lua/fixed_rate.lua" \
      "http://127.0.0.1:${port_of[$v]}/v1/chat/completions" -- "$pause_ms" >"$out" 2>&1 || true
    t1=$(date +%s%N)
    c1=$(cpu_ms "${pid_of[$v]}")
    read -r rps p50 p99 n errs <<<"$(wrk_summary "$out")"
    vcpu=$(awk -v ms=$((c1 - c0)) -v ns=$((t1 - t0)) 'BEGIN {printf "%.4f", ms / (ns / 1e6)}')
    rss=$(rss_mb "${pid_of[$v]}")
    echo "$v $rps $p50 $p99 $vcpu $rss" >>"$work/results"
    printf '  %-10s %6s rps  p50 %6s us  p99 %6s us  %s vCPU  RSS %s MB  %s\n' "$v" "$rps" "$p50" "$p99" "$vcpu" "$rss" "$errs"
  done
done
med() { bench_median "$work/results" "$1" "$2"; }
echo "median of $ROUNDS"
for v in "${variants[@]}"; do
  printf '  %-10s %6s rps  p50 %6s us  p99 %6s us  %s vCPU  RSS %s MB  added p50 %s us\n' "$v" "$(med "$v" 2)" \
    "$(med "$v" 3)" "$(med "$v" 4)" "$(med "$v" 5)" "$(med "$v" 6)" $(($(med "$v" 3) - $(med direct 3)))
done
# Per 1,000 rps, so a rate that came out a little off still compares.
per_k() { awk -v c="$(med "$1" 5)" -v r="$(med "$1" 2)" 'BEGIN { if (r > 0) printf "%.4f", c * 1000 / r; else print "n/a" }'; }
printf 'vCPU per 1,000 rps: infergate %s, haproxy %s, ratio %sx (Istio sidecar: 0.35)\n' "$(per_k infergate)" \
  "$(per_k haproxy)" "$(bench_ratio "$(per_k infergate)" "$(per_k haproxy)")"
printf 'added p50: infergate %s us, haproxy %s us\n' $(($(med infergate 3) - $(med direct 3))) $(($(med haproxy 3) - $(med direct 3)))
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
