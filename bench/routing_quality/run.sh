#!/usr/bin/env bash
# Routing quality: the gateway's endpoint-picker profiles side by side on SERVERS modelsim
# endpoints running the continuous-batching engine (--profile), for three workloads
# (ShareGPT-like, shared-prefix, LoRA mix) at fractions of the pool's computed capacity.
# Every run starts fresh servers (empty caches, no adapters resident) and a fresh gateway.
# Prints a Markdown table; the JSON of every run stays in $OUT (default: a new temp dir).
#
#   bench/routing_quality/run.sh                                   # everything (~20 min)
#   PROFILES="round-robin least-request" WORKLOADS=sharegpt LOADS="0.5 0.95" DURATION=10 \
#     bench/routing_quality/run.sh
#
# Knobs (environment): PROFILES, WORKLOADS, LOADS (fractions of capacity), DURATION (wall
# seconds of arrivals per run), WARMUP (wall seconds not counted, default DURATION/5), SERVERS,
# SIM_PROFILE (modelsim --profile), KV_BLOCKS (per server; default 8192 so that one server
# cannot cache all 150 system prompts of the shared-prefix set), MAX_LORAS, TIME_SCALE
# (modelsim --time-scale: below 1 runs the model slower than real time, for a small machine;
# results are reported in model time), STREAM_INTERVAL (tokens per SSE event after the first),
# MAX_OUTPUT, CAPACITY (pool requests/s that LOADS scale; default computed per workload by
# workloads.py), SEED, BUILD (dir with infergate and modelsim), INFERGATE, MODELSIM,
# BASE_PORT, OUT.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
source "$root/bench/lib.sh"

BUILD=${BUILD:-$root/build}
INFERGATE=${INFERGATE:-$BUILD/infergate}
MODELSIM=${MODELSIM:-$BUILD/modelsim}
PROFILES=${PROFILES:-"round-robin least-request inference-extension infergate"}
WORKLOADS=${WORKLOADS:-"sharegpt shared-prefix lora"}
LOADS=${LOADS:-"0.5 0.8 0.95"}
DURATION=${DURATION:-25}
WARMUP=${WARMUP:-$(awk -v d="$DURATION" 'BEGIN { print d / 5 }')}
SERVERS=${SERVERS:-8}
SIM_PROFILE=${SIM_PROFILE:-llama3-8b-h100}
KV_BLOCKS=${KV_BLOCKS:-8192}
MAX_LORAS=${MAX_LORAS:-4}
TIME_SCALE=${TIME_SCALE:-1}
STREAM_INTERVAL=${STREAM_INTERVAL:-8}
MAX_OUTPUT=${MAX_OUTPUT:-256}
CAPACITY=${CAPACITY:-}
SEED=${SEED:-1}
BASE_PORT=${BASE_PORT:-19100}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/routing_quality.XXXXXX")}
mkdir -p "$OUT"

for bin in "$INFERGATE" "$MODELSIM"; do
  [ -x "$bin" ] || { echo "missing $bin: run ./dev.sh build (or set BUILD/INFERGATE/MODELSIM)" >&2; exit 1; }
done
bench_install python3:python3 curl:curl
if awk -v d="$DURATION" -v t="$TIME_SCALE" 'BEGIN { exit !(d * t < 20) }'; then
  echo "note: DURATION x TIME_SCALE = $(awk -v d="$DURATION" -v t="$TIME_SCALE" 'BEGIN { print d * t }') model seconds:" \
    "shorter than 20, the servers' batches will not reach their steady state" >&2
fi
"$MODELSIM" --help | grep -q -- --stream-interval || { echo "$MODELSIM has no engine flags: rebuild it" >&2; exit 1; }

bench_workdir routing_quality
gw_port=$((BASE_PORT + 80))
admin_port=$((BASE_PORT + 81))
adapters=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import workloads; print(",".join(workloads.ADAPTERS))' "$here")

gateway_yaml() {  # PROFILE
  local i
  cat <<YAML
apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: routing-quality}
spec:
  workers: 1
  admin: {address: 127.0.0.1, port: $admin_port}
  endpointPicker: {profile: $1}
  endpoints:
YAML
  for i in $(seq 0 $((SERVERS - 1))); do
    echo "  - {name: sim-$i, address: 127.0.0.1, port: $((BASE_PORT + i)), labels: {app: sim}}"
  done
  cat <<YAML
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: routing-quality}
spec:
  gatewayClassName: infergate
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
  - {name: http, port: $gw_port, protocol: HTTP}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: sims}
spec:
  selector: {matchLabels: {app: sim}}
  targetPorts: [{number: $BASE_PORT}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: routing-quality}
spec:
  parentRefs: [{name: routing-quality}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: sims}]
YAML
}

# The processes of one run (also in $pids, which bench_cleanup kills at exit).
run_pids=()
stop_run() {
  local p
  for p in "${run_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${run_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  run_pids=()
}

start_servers() {  # WORKLOAD
  local i extra=()
  [ "$1" = lora ] && extra=(--max-loras "$MAX_LORAS" --lora "$adapters")
  for i in $(seq 0 $((SERVERS - 1))); do
    "$MODELSIM" --port $((BASE_PORT + i)) --name "sim-$i" --profile "$SIM_PROFILE" --kv-blocks "$KV_BLOCKS" \
      --time-scale "$TIME_SCALE" --stream-interval "$STREAM_INTERVAL" --output-tokens 100000 "${extra[@]}" \
      >"$work/sim-$i.log" 2>&1 &
    run_pids+=($!)
    pids+=($!)
  done
  for i in $(seq 0 $((SERVERS - 1))); do wait_port $((BASE_PORT + i)); done
}

# Sum of a counter over the servers' /metrics.
scrape_sum() {  # METRIC
  local i total=0 v
  for i in $(seq 0 $((SERVERS - 1))); do
    v=$(curl -s --max-time 5 "http://127.0.0.1:$((BASE_PORT + i))/metrics" |
      awk -v m="$1" 'index($1, m "{") == 1 { print $2 }')
    total=$(awk -v a="$total" -v b="${v:-0}" 'BEGIN { printf "%.0f", a + b }')
  done
  echo "$total"
}

results="$OUT/results.jsonl"
: >"$results"
for workload in $WORKLOADS; do
  cap=$CAPACITY
  if [ -z "$cap" ]; then
    cap=$(python3 "$here/workloads.py" capacity "$workload" --servers "$SERVERS" --profile "$SIM_PROFILE" \
      --kv-blocks "$KV_BLOCKS" --max-output "$MAX_OUTPUT" --seed "$SEED" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["capacity_rps"])')
  fi
  for load in $LOADS; do
    rate=$(awk -v c="$cap" -v l="$load" 'BEGIN { printf "%.3f", c * l }')
    for profile in $PROFILES; do
      tag="$workload-$load-$profile"
      echo "== $tag: $rate req/s of a computed capacity of $(printf '%.1f' "$cap")" >&2
      gateway_yaml "$profile" >"$work/$tag.yaml"
      if ! "$INFERGATE" --check --config "$work/$tag.yaml" >"$work/$tag.check" 2>&1; then
        echo "   skipped: the gateway rejects profile '$profile': $(tail -1 "$work/$tag.check")" >&2
        continue
      fi
      start_servers "$workload"
      "$INFERGATE" --config "$work/$tag.yaml" >"$work/$tag.gw.log" 2>&1 &
      run_pids+=($!)
      pids+=($!)
      wait_port "$gw_port"
      sleep 1  # a few scrapes of every server
      python3 "$here/loadgen.py" --url "http://127.0.0.1:$gw_port/v1/chat/completions" --workload "$workload" \
        --rate "$rate" --duration "$DURATION" --warmup "$WARMUP" --time-scale "$TIME_SCALE" \
        --max-output "$MAX_OUTPUT" --seed "$SEED" >"$OUT/$tag.json"
      python3 - "$OUT/$tag.json" "$load" "$profile" "$(scrape_sum modelsim_lora_loads_total)" \
        "$(scrape_sum vllm:prefix_cache_hits_total)" "$(scrape_sum vllm:prefix_cache_queries_total)" \
        >>"$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
hits, queries = int(sys.argv[5]), int(sys.argv[6])
r.update(load=float(sys.argv[2]), profile=sys.argv[3], adapter_loads=int(sys.argv[4]),
         prefix_hit_rate=hits / queries if queries else 0.0)
print(json.dumps(r))
PY
      stop_run
    done
  done
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rr = {(r["workload"], r["load"]): r["ttft_p90_ms"] for r in rows if r["profile"] == "round-robin"}
f = lambda v, d=0: "n/a" if v is None else f"{v:,.{d}f}"
print("| workload | load | profile | req/s | TTFT p50 ms | TTFT p90 ms | TPOT p50 ms | TPOT p90 ms "
      "| output tok/s | prefix hits | adapter loads | errors | p90 TTFT vs round-robin |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    base = rr.get((r["workload"], r["load"]))
    ratio = f"{r['ttft_p90_ms'] / base:.2f}" if base and r["ttft_p90_ms"] is not None else "n/a"
    print(f"| {r['workload']} | {r['load']:.0%} | {r['profile']} | {f(r['throughput_rps'], 1)} "
          f"| {f(r['ttft_p50_ms'])} | {f(r['ttft_p90_ms'])} | {f(r['tpot_p50_ms'], 1)} | {f(r['tpot_p90_ms'], 1)} "
          f"| {f(r['output_tokens_per_s'])} | {r['prefix_hit_rate']:.0%} | {r['adapter_loads']} | {r['errors']} | {ratio} |")
PY
echo "per-run JSON: $OUT" >&2
