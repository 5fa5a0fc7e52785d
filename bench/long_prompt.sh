#!/usr/bin/env bash
# Long prompts: 220 KB chat completions through an InferencePool (body-based routing and
# prefix-cache picking on, the default picker) against HAProxy's leastconn over the same
# three modelsim servers (near-instant: no TTFT, no inter-token delay). Both get WORKERS
# workers/threads. wrk POSTs PROMPTS distinct conversations in turn (bench/lua/prompts.lua);
# each concurrency runs ROUNDS rounds, infergate and HAProxy interleaved (A,B,A,B, the order
# swapped every round); medians and infergate's ratios are printed, with the load average.
#
# For scale: the Inference Extension's published run with the same prompt size (GIE issue
# #2928, Envoy + EPP, a near-instant backend) has a TTFT of 158 ms at concurrency 20 and
# 1,141 ms at 150; this script prints the same p50/p99 beside it.
#
#   bench/long_prompt.sh [BUILD_DIR]
#   DURATION=10 ROUNDS=3 CONCURRENCY="20 150" WORKERS=1 bench/long_prompt.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
INFERGATE=${INFERGATE:-$build/infergate}
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-2}
CONCURRENCY=${CONCURRENCY:-20 150}
WORKERS=${WORKERS:-1}
PROMPT_KB=${PROMPT_KB:-220}
PROMPTS=${PROMPTS:-8}
base=${BASE_PORT:-$((24000 + ($$ % 200) * 10))}  # below the ephemeral range (32768-)
backend_port=$base
ig_port=$((base + 3))
ig_admin=$((base + 4))
haproxy_port=$((base + 5))

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
bench_install wrk:wrk haproxy:haproxy curl:curl python3:python3
bench_need_binaries "$build"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
bench_workdir long_prompt

# PROMPTS conversations of PROMPT_KB each; each starts with its own line, so prefix picking
# has something to tell apart.
python3 - "$PROMPT_KB" "$PROMPTS" "$work" <<'EOF'
import json, sys
kb, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for p in range(1, count + 1):
    lines, n = [f"conversation {p}: summarise the following log."], 0
    while sum(len(l) + 1 for l in lines) < kb * 1024 - 200:
        lines.append(f"line {n}: request {n * 7 % 1000} took {n % 97} ms on replica {n % 5} of the model server.")
        n += 1
    body = {"model": "sim-model", "messages": [{"role": "user", "content": "\n".join(lines)}], "max_tokens": 16}
    with open(f"{out}/prompt-{p}.json", "w") as f:
        json.dump(body, f)
EOF

for i in 0 1 2; do
  "$build/modelsim" --port $((backend_port + i)) --threads 1 >"$work/modelsim-$i.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do wait_port $((backend_port + i)); done

# --- infergate: one InferencePool of the three ----------------------------------------
{
  bench_gateway_yaml "$ig_admin" "$ig_port" "$backend_port" \
    "  - {name: m1, address: 127.0.0.1, port: $((backend_port + 1)), labels: {app: backend}}" \
    "  - {name: m2, address: 127.0.0.1, port: $((backend_port + 2)), labels: {app: backend}}"
  bench_pool_yaml
} >"$work/infergate.yaml"
"$INFERGATE" --config "$work/infergate.yaml" --workers "$WORKERS" --log-level warning >"$work/infergate.log" 2>&1 &
ig_pid=$!
pids+=("$ig_pid")

# --- HAProxy: leastconn over the same three --------------------------------------------
bench_haproxy_cfg "$WORKERS" "$haproxy_port" "balance leastconn" "server m0 127.0.0.1:$backend_port" \
  "server m1 127.0.0.1:$((backend_port + 1))" "server m2 127.0.0.1:$((backend_port + 2))" >"$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")
wait_port "$ig_port"
wait_port "$haproxy_port"

for port in "$ig_port" "$haproxy_port"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
    --data-binary @"$work/prompt-1.json" "http://127.0.0.1:$port/v1/chat/completions")
  [ "$code" = 200 ] || { echo "port $port: POST answered $code, not 200" >&2; exit 1; }
done

# One wrk round, as bench_wrk_round but with the script's arguments after the URL.
round() {  # VARIANT CONCURRENCY ROUND
  local v=$1 out=$work/wrk-$1-$2-$3.txt c0 c1 rps p50 p99 n errs cpu
  c0=$(cpu_ms "${pid_of[$v]}")
  wrk -t1 -c"$2" -d"${DURATION}s" --latency --timeout 10s -s "$here/lua/prompts.lua" \
    "http://127.0.0.1:${port_of[$v]}/v1/chat/completions" -- "$work" "$PROMPTS" >"$out" 2>&1 || true
  c1=$(cpu_ms "${pid_of[$v]}")
  read -r rps p50 p99 n errs <<<"$(wrk_summary "$out")"
  cpu=$(cpu_per_req $((c1 - c0)) "$n")
  [ "$cpu" = n/a ] && cpu=0
  echo "$v $rps $p50 $p99 $cpu" >>"$work/results-$2"
  printf '  %-12s %9s rps  p50 %6s us  p99 %6s us  cpu %5s us/req  %s\n' "$v" "$rps" "$p50" "$p99" "$cpu" "$errs"
}

echo "long prompts: $(nproc) cores, $WORKERS worker(s) each, $PROMPTS prompts of $PROMPT_KB KB, three modelsim --threads 1, wrk -t1 -d${DURATION}s, $ROUNDS rounds"
declare -A pid_of=([infergate]=$ig_pid [haproxy]=$haproxy_pid)
declare -A port_of=([infergate]=$ig_port [haproxy]=$haproxy_port)
for c in $CONCURRENCY; do
  results=$work/results-$c
  echo "concurrency $c (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  for ((r = 1; r <= ROUNDS; r++)); do
    order=(infergate haproxy)
    [ $((r % 2)) = 0 ] && order=(haproxy infergate)
    for v in "${order[@]}"; do round "$v" "$c" "$r"; done
  done
  REPEATS=$ROUNDS bench_report "$results" haproxy infergate
  gie=158
  [ "$c" = 150 ] && gie=1141
  printf '  GIE #2928 TTFT at %s: %s ms; infergate p50 %s ms, p99 %s ms\n' "$c" "$gie" \
    "$(awk -v u="$(bench_median "$results" infergate 3)" 'BEGIN {printf "%.1f", u / 1000}')" \
    "$(awk -v u="$(bench_median "$results" infergate 4)" 'BEGIN {printf "%.1f", u / 1000}')"
done
