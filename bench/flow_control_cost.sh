#!/usr/bin/env bash
# What does flow control cost per request when the pool is not saturated (issue 18)?
#
# One modelsim backend (the default latency model, no delay: never the bottleneck) in an
# InferencePool, and infergate processes (1 worker each) that differ only in
# GatewayConfig spec.flowControl:
#   off       no flowControl
#   on        flowControl with its defaults (queueDepthThreshold 5, kvCacheUtilThreshold 0.8):
#             the room is computed from the scraped queue plus the attempts sent since the scrape
#   unsat     flowControl with queueDepthThreshold 1000000: the same admission path, but the
#             room can never run out, so nothing ever waits (the pure cost of the fast path)
# All scrape the backend's /metrics (the pool's default) and read the body's model. wrk POSTs a
# small non-streaming chat completion (bench/modelsim/post.lua, keep-alive) for DURATION
# seconds, REPEATS rounds, interleaved and rotated; medians, the spread of rps and the ratios to
# `off` are printed, then each gateway's flow-control counters (how many requests waited).
# The goal is on/off rps >= 0.99x.
#
#   bench/flow_control_cost.sh
#   DURATION=5 REPEATS=7 CONNECTIONS=50 VARIANTS="off on unsat" bench/flow_control_cost.sh
#
# Knobs: DURATION (5), REPEATS (5), CONNECTIONS (50), VARIANTS ("off on unsat"), LOAD_MAX (2.5)
# and LOAD_WAIT (180 s) as in noisy_neighbour.sh, BUILD/INFERGATE/MODELSIM, BASE_PORT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-${1:-$root/build}}
INFERGATE=${INFERGATE:-$BUILD/infergate}
MODELSIM=${MODELSIM:-$BUILD/modelsim}
DURATION=${DURATION:-5}
REPEATS=${REPEATS:-5}
CONNECTIONS=${CONNECTIONS:-50}
VARIANTS=${VARIANTS:-"off on unsat"}
LOAD_MAX=${LOAD_MAX:-2.5}
LOAD_WAIT=${LOAD_WAIT:-180}
base=${BASE_PORT:-$((23000 + ($$ % 200) * 10))}  # below the ephemeral range (32768-), where clients take ports
backend_port=$base
read -r -a variants <<<"$VARIANTS"

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
bench_install wrk:wrk curl:curl
for bin in "$INFERGATE" "$MODELSIM"; do
  [ -x "$bin" ] || { echo "missing $bin: run ./dev.sh build (or set BUILD/INFERGATE/MODELSIM)" >&2; exit 1; }
done
grep -q flowControl "$INFERGATE" || { echo "$INFERGATE predates spec.flowControl: rebuild it" >&2; exit 1; }
bench_workdir flow_control_cost

config() {  # PORT ADMIN_PORT VARIANT
  local fc=()
  case $3 in
    off) ;;
    on) fc=("  flowControl: {}") ;;
    unsat) fc=("  flowControl: {queueDepthThreshold: 1000000}") ;;
    *) echo "unknown variant $3" >&2; exit 1 ;;
  esac
  bench_gateway_yaml "$2" "$1" "$backend_port" "${fc[@]}"
  bench_pool_yaml
}

"$MODELSIM" --port "$backend_port" --threads 1 >"$work/modelsim.log" 2>&1 &
pids+=($!)
wait_port "$backend_port"

declare -A ig_pid ig_port ig_admin
n=0
for v in "${variants[@]}"; do
  n=$((n + 1))
  ig_port[$v]=$((base + n))
  ig_admin[$v]=$((base + 5 + n))
  config "${ig_port[$v]}" "${ig_admin[$v]}" "$v" >"$work/$v.yaml"
  "$INFERGATE" --config "$work/$v.yaml" --log-level warning >"$work/$v.log" 2>&1 &
  ig_pid[$v]=$!
  pids+=("${ig_pid[$v]}")
done
for v in "${variants[@]}"; do
  wait_port "${ig_port[$v]}"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
    -d '{"model":"sim-model","messages":[{"role":"user","content":"hi"}],"max_tokens":16}' \
    "http://127.0.0.1:${ig_port[$v]}/v1/chat/completions")
  [ "$code" = 200 ] || { echo "$v: POST answered $code, not 200" >&2; exit 1; }
done

waited=0
while awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v m="$LOAD_MAX" 'BEGIN { exit !(l >= m) }' && [ "$waited" -lt "$LOAD_WAIT" ]; do
  sleep 10
  waited=$((waited + 10))
done
echo "flow control cost: $(nproc) cores, 1 worker, backend modelsim 1 thread, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "POST /v1/chat/completions, wrk -t1 -c$CONNECTIONS -d${DURATION}s, $REPEATS rounds"
for ((r = 1; r <= REPEATS; r++)); do
  echo "round $r (load $(cut -d' ' -f1 /proc/loadavg))"
  for ((k = 0; k < ${#variants[@]}; k++)); do
    v=${variants[(k + r - 1) % ${#variants[@]}]}
    bench_wrk_round "$v" "${ig_pid[$v]}" "http://127.0.0.1:${ig_port[$v]}/v1/chat/completions" "$work/results" \
      "$work/wrk-$v-$r.txt" -s "$here/modelsim/post.lua"
  done
done
bench_report "$work/results" "${variants[@]}"
echo "rps spread (min..max over rounds) and each round's ratio to off"
for v in "${variants[@]}"; do
  printf '  %-8s %s\n' "$v" "$(awk -v v="$v" '$1==v {print $2}' "$work/results" | sort -n | awk '{a[NR]=$1} END {printf "%d..%d (%.1f %%)", a[1], a[NR], (a[NR]-a[1])*100/a[1]}')"
done
awk '{ rps[$1, ++n[$1]] = $2 } END {
  for (v in n) if (v != "off") { line = ""; for (i = 1; i <= n[v]; i++) line = line sprintf(" %.3f", rps[v, i] / rps["off", i]); printf "  %-8s per round vs off:%s\n", v, line } }' "$work/results"
echo "flow-control counters (requests that waited would show outcome=\"dispatched\")"
for v in "${variants[@]}"; do
  [ "$v" = off ] && continue
  curl -s "http://127.0.0.1:${ig_admin[$v]}/stats/prometheus" | grep -E '^infergate_flow_control_requests_total' |
    grep -v ' 0$' | sed "s/^/  $v: /" || true
done
