#!/usr/bin/env bash
# Flow control under overload (issue 18): one InferencePool of SERVERS modelsim servers running
# the continuous-batching engine, a well-behaved stream (the "victim") and a flood (the
# "aggressor"), with and without GatewayConfig spec.flowControl, in one run.
#
#   scenario noisy     victim = tenant B (x-gateway-inference-fairness-id: tenant-b) at
#                      VICTIM_LOAD (0.3) of the pool's capacity; aggressor = tenant A (tenant-a)
#                      at AGGRESSOR_LOAD (3) x capacity. Both priority 0: fairness between flows.
#   scenario priority  victim = x-gateway-inference-objective: critical (InferenceObjective
#                      priority 10) at PRIORITY_VICTIM_LOAD (0.2); aggressor = objective
#                      sheddable (priority -1) at AGGRESSOR_LOAD. Strict priority between bands.
#
# Variants (VARIANTS, each a fresh set of servers and a fresh gateway):
#   alone   the victim alone, no flow control: the reference
#   nofc    victim + aggressor, no flowControl in the GatewayConfig
#   fc      victim + aggressor, spec.flowControl (FC_* knobs below)
#   fc,NAME=VALUE,...  the same with some FC_ knobs changed for this run only, e.g.
#           fc,QUEUE_DEPTH=1,MAX_REQUESTS=5000 (FC_QUEUE_DEPTH=1, FC_MAX_REQUESTS=5000)
#
# Per run: the victim's and the aggressor's TTFT (loadgen.py, model time) and errors, and the
# pool's completed requests/s and output tokens/s, read from the servers' own counters
# (vllm:request_success_total, vllm:generation_tokens_total) over the counted window
# (WARMUP..DURATION): what the servers finished while overloaded, whoever it was for. A
# timeline (every 2 s: gateway queue, pool saturation, the servers' running / waiting / KV use)
# and the gateway's /pools and flow-control counters are kept in $OUT. Prints Markdown tables.
#
#   bench/noisy_neighbour.sh
#   SCENARIOS=noisy VARIANTS="alone fc" DURATION=20 bench/noisy_neighbour.sh
#   SCENARIOS=noisy VARIANTS="alone nofc fc fc,QUEUE_DEPTH=1,MAX_REQUESTS=5000" bench/noisy_neighbour.sh
#
# Knobs (environment): SCENARIOS ("noisy priority"), VARIANTS ("alone nofc fc"), SERVERS (4),
# SIM_PROFILE (llama3-8b-h100), KV_BLOCKS (2048 per server: the batch is bounded by the KV
# cache, ~70 sequences, as on a real GPU, so KV use is the signal that saturates), MAX_NUM_SEQS
# (256), MAX_OUTPUT (128), STREAM_INTERVAL (8), TIME_SCALE (0.25: the model runs 4x slower than
# real time, the arrival rate with it; latencies are reported in model time), DURATION (30 wall
# seconds of arrivals), WARMUP (8 wall seconds not counted), DRAIN (150 wall seconds for the
# last requests), VICTIM_LOAD (0.3), PRIORITY_VICTIM_LOAD (0.2), AGGRESSOR_LOAD (3), CAPACITY
# (pool requests/s, model time; default computed by routing_quality/workloads.py), FC_QUEUE_DEPTH
# (5), FC_KV_UTIL (0.8), FC_MAX_CONCURRENCY (0 = no limit), FC_TTL (30s), FC_MAX_REQUESTS
# (1000 per band), FC_SHED_TTL (5s) and FC_SHED_MAX_REQUESTS (200) for priority -1,
# LOAD_MAX (2.5) and LOAD_WAIT (180 s: before each run, wait up to that long for the 1-minute
# load average to fall below LOAD_MAX), SEED, BUILD/INFERGATE/MODELSIM, BASE_PORT (19300: the
# servers, +80 the gateway, +81 its admin), OUT.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

BUILD=${BUILD:-$root/build}
INFERGATE=${INFERGATE:-$BUILD/infergate}
MODELSIM=${MODELSIM:-$BUILD/modelsim}
SCENARIOS=${SCENARIOS:-"noisy priority"}
VARIANTS=${VARIANTS:-"alone nofc fc"}
SERVERS=${SERVERS:-4}
SIM_PROFILE=${SIM_PROFILE:-llama3-8b-h100}
KV_BLOCKS=${KV_BLOCKS:-2048}
MAX_NUM_SEQS=${MAX_NUM_SEQS:-256}
MAX_OUTPUT=${MAX_OUTPUT:-128}
STREAM_INTERVAL=${STREAM_INTERVAL:-8}
TIME_SCALE=${TIME_SCALE:-0.25}
DURATION=${DURATION:-30}
WARMUP=${WARMUP:-8}
DRAIN=${DRAIN:-150}
VICTIM_LOAD=${VICTIM_LOAD:-0.3}
PRIORITY_VICTIM_LOAD=${PRIORITY_VICTIM_LOAD:-0.2}
AGGRESSOR_LOAD=${AGGRESSOR_LOAD:-3}
CAPACITY=${CAPACITY:-}
FC_QUEUE_DEPTH=${FC_QUEUE_DEPTH:-5}
FC_KV_UTIL=${FC_KV_UTIL:-0.8}
FC_MAX_CONCURRENCY=${FC_MAX_CONCURRENCY:-0}
FC_TTL=${FC_TTL:-30s}
FC_MAX_REQUESTS=${FC_MAX_REQUESTS:-1000}
FC_SHED_TTL=${FC_SHED_TTL:-5s}
FC_SHED_MAX_REQUESTS=${FC_SHED_MAX_REQUESTS:-200}
LOAD_MAX=${LOAD_MAX:-2.5}
LOAD_WAIT=${LOAD_WAIT:-180}
SEED=${SEED:-1}
BASE_PORT=${BASE_PORT:-19300}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/noisy_neighbour.XXXXXX")}
mkdir -p "$OUT"

for bin in "$INFERGATE" "$MODELSIM"; do
  [ -x "$bin" ] || { echo "missing $bin: run ./dev.sh build (or set BUILD/INFERGATE/MODELSIM)" >&2; exit 1; }
done
grep -q flowControl "$INFERGATE" || { echo "$INFERGATE predates spec.flowControl: rebuild it" >&2; exit 1; }
bench_install python3:python3 curl:curl
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

bench_workdir noisy_neighbour
gw_port=$((BASE_PORT + 80))
admin_port=$((BASE_PORT + 81))
rq=$here/routing_quality

if [ -z "$CAPACITY" ]; then
  CAPACITY=$(python3 - "$rq" "$SERVERS" "$SIM_PROFILE" "$KV_BLOCKS" "$MAX_NUM_SEQS" "$MAX_OUTPUT" "$SEED" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import workloads
c = workloads.capacity("sharegpt", int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), max_num_seqs=int(sys.argv[5]),
                       max_output=int(sys.argv[6]), seed=int(sys.argv[7]))
print(f"{c['capacity_rps']:.2f}")
PY
  )
fi

gateway_yaml() {  # FLOW_CONTROL(0|1)
  local i
  cat <<YAML
apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: noisy-neighbour}
spec:
  workers: 1
  admin: {address: 127.0.0.1, port: $admin_port}
  endpoints:
YAML
  for i in $(seq 0 $((SERVERS - 1))); do
    echo "  - {name: sim-$i, address: 127.0.0.1, port: $((BASE_PORT + i)), labels: {app: sim}}"
  done
  if [ "$1" = 1 ]; then
    cat <<YAML
  flowControl:
    queueDepthThreshold: $FC_QUEUE_DEPTH
    kvCacheUtilThreshold: $FC_KV_UTIL
    maxConcurrencyPerEndpoint: $FC_MAX_CONCURRENCY
    fairness: round-robin
    ordering: fcfs
    defaultBand: {maxRequests: $FC_MAX_REQUESTS, ttl: $FC_TTL}
    bands:
    - {priority: -1, maxRequests: $FC_SHED_MAX_REQUESTS, ttl: $FC_SHED_TTL}
YAML
  fi
  cat <<YAML
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: noisy-neighbour}
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
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: critical}
spec: {priority: 10, poolRef: {name: sims}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: sheddable}
spec: {priority: -1, poolRef: {name: sims}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: noisy-neighbour}
spec:
  parentRefs: [{name: noisy-neighbour}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: sims}]
YAML
}

run_pids=()
stop_run() {
  local p
  for p in "${run_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${run_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  run_pids=()
}

start_servers() {
  local i
  for i in $(seq 0 $((SERVERS - 1))); do
    "$MODELSIM" --port $((BASE_PORT + i)) --name "sim-$i" --profile "$SIM_PROFILE" --kv-blocks "$KV_BLOCKS" \
      --max-num-seqs "$MAX_NUM_SEQS" --time-scale "$TIME_SCALE" --stream-interval "$STREAM_INTERVAL" \
      --output-tokens 100000 >"$work/sim-$i.log" 2>&1 &
    run_pids+=($!)
    pids+=($!)
  done
  for i in $(seq 0 $((SERVERS - 1))); do wait_port $((BASE_PORT + i)); done
}

# "SECONDS REQUESTS OUTPUT_TOKENS PREEMPTIONS": the servers' counters summed, with the time
# they were read.
server_counters() {
  local i now
  now=$(date +%s.%N)
  for i in $(seq 0 $((SERVERS - 1))); do
    curl -s --max-time 5 "http://127.0.0.1:$((BASE_PORT + i))/metrics"
  done | awk -v now="$now" '
    index($1, "vllm:request_success_total{") == 1 { r += $2 }
    index($1, "vllm:generation_tokens_total{") == 1 { t += $2 }
    index($1, "vllm:num_preemptions_total{") == 1 { p += $2 }
    END { printf "%s %.0f %.0f %.0f\n", now, r, t, p }'
}

# One line of the timeline: seconds since the start, the gateway's queue (all bands), the pool's
# saturation, and over the servers: running, waiting, mean KV use.
sample() {  # T0
  local i q sat srv
  q=$(curl -s --max-time 2 "http://127.0.0.1:$admin_port/stats/prometheus" |
    awk 'index($1, "inference_extension_flow_control_queue_size{") == 1 { q += $2; seen = 1 }
         index($1, "inference_extension_flow_control_pool_saturation{") == 1 { s = $2 }
         END { if (seen) printf "%d %s", q, s; else printf "- -" }')
  srv=$(for i in $(seq 0 $((SERVERS - 1))); do curl -s --max-time 2 "http://127.0.0.1:$((BASE_PORT + i))/metrics"; done |
    awk 'index($1, "vllm:num_requests_running{") == 1 { r += $2 }
         index($1, "vllm:num_requests_waiting{") == 1 { w += $2 }
         index($1, "vllm:kv_cache_usage_perc{") == 1 { k += $2; n++ }
         END { printf "%d %d %.2f", r, w, n ? k / n : 0 }')
  read -r q sat <<<"$q"
  printf '%5.1f %6s %5s %6s\n' "$(awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN { print a - b }')" "$q" "$sat" "$srv"
}

wait_for_load() {
  local waited=0
  while awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v m="$LOAD_MAX" 'BEGIN { exit !(l >= m) }' && [ "$waited" -lt "$LOAD_WAIT" ]; do
    sleep 10
    waited=$((waited + 10))
  done
  [ "$waited" -gt 0 ] && echo "   waited ${waited}s for the load average (now $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  return 0
}

loadgen() {  # TAG RATE SEED HEADER...
  local tag=$1 rate=$2 seed=$3 hdr
  shift 3
  local args=()
  for hdr in "$@"; do args+=(--header "$hdr"); done
  python3 "$rq/loadgen.py" --url "http://127.0.0.1:$gw_port/v1/chat/completions" --workload sharegpt \
    --rate "$rate" --duration "$DURATION" --warmup "$WARMUP" --drain "$DRAIN" --time-scale "$TIME_SCALE" \
    --max-output "$MAX_OUTPUT" --seed "$seed" --tag "$tag" "${args[@]}"
}

echo "noisy neighbour / priority: $(nproc) cores, $SERVERS x modelsim --profile $SIM_PROFILE --kv-blocks $KV_BLOCKS" \
  "--max-num-seqs $MAX_NUM_SEQS --time-scale $TIME_SCALE, computed capacity $CAPACITY req/s (model time)," \
  "DURATION=$DURATION WARMUP=$WARMUP" >&2
# One line per run for the log.
summary_py='
import json, sys
r = json.load(sys.stdin)
v, a = r["victim"], r["aggressor"]
f = lambda x: "n/a" if x is None else "%.0f" % x
print("   victim p50/p90 TTFT %s/%s ms, errors %s; aggressor ok %s errors %s; served %.1f req/s %.0f tok/s"
      % (f(v["ttft_p50_ms"]), f(v["ttft_p90_ms"]), v["errors"], a.get("ok", 0), a.get("error_kinds", {}),
         r["served_rps"], r["served_tokens_per_s"]))'
results="$OUT/results.jsonl"
: >"$results"
for scenario in $SCENARIOS; do
  case $scenario in
    noisy)
      v_tag=tenant-b v_load=$VICTIM_LOAD v_hdr=x-gateway-inference-fairness-id:tenant-b
      a_tag=tenant-a a_hdr=x-gateway-inference-fairness-id:tenant-a ;;
    priority)
      v_tag=critical v_load=$PRIORITY_VICTIM_LOAD v_hdr=x-gateway-inference-objective:critical
      a_tag=sheddable a_hdr=x-gateway-inference-objective:sheddable ;;
    *) echo "unknown scenario $scenario" >&2; exit 1 ;;
  esac
  v_rate=$(awk -v c="$CAPACITY" -v l="$v_load" 'BEGIN { printf "%.3f", c * l }')
  a_rate=$(awk -v c="$CAPACITY" -v l="$AGGRESSOR_LOAD" 'BEGIN { printf "%.3f", c * l }')
  for variant in $VARIANTS; do
    tag=$scenario-$variant
    fc=0
    saved=$(declare -p FC_QUEUE_DEPTH FC_KV_UTIL FC_MAX_CONCURRENCY FC_TTL FC_MAX_REQUESTS FC_SHED_TTL FC_SHED_MAX_REQUESTS)
    case $variant in
      alone | nofc) ;;
      fc | fc,*)
        fc=1
        IFS=, read -r -a overrides <<<"${variant#fc}"
        for o in "${overrides[@]}"; do
          [ -z "$o" ] && continue
          case ${o%%=*} in
            QUEUE_DEPTH | KV_UTIL | MAX_CONCURRENCY | TTL | MAX_REQUESTS | SHED_TTL | SHED_MAX_REQUESTS) printf -v "FC_${o%%=*}" '%s' "${o#*=}" ;;
            *) echo "unknown override $o in variant $variant" >&2; exit 1 ;;
          esac
        done ;;
      *) echo "unknown variant $variant" >&2; exit 1 ;;
    esac
    wait_for_load
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "== $tag: $v_tag $v_rate req/s$([ "$variant" = alone ] || echo ", $a_tag $a_rate req/s") (load $load)" >&2
    gateway_yaml "$fc" >"$OUT/$tag.yaml"
    eval "$saved"
    start_servers
    "$INFERGATE" --config "$OUT/$tag.yaml" --log-level warning >"$work/$tag.gw.log" 2>&1 &
    run_pids+=($!)
    pids+=($!)
    wait_port "$gw_port"
    sleep 1  # a few scrapes of every server
    t0=$(date +%s.%N)
    (
      sleep "$WARMUP"
      server_counters >"$work/c0"
      sleep "$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print (d - w) / 2 }')"
      curl -s "http://127.0.0.1:$admin_port/pools" >"$OUT/$tag.pools.json" || true
      sleep "$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print (d - w) / 2 }')"
      server_counters >"$work/c1"
    ) &
    mon=$!
    (
      echo "    t  queue   sat  running waiting kv"
      end=$(awk -v d="$DURATION" -v t="$t0" 'BEGIN { print t + d + 40 }')
      while awk -v e="$end" -v n="$(date +%s.%N)" 'BEGIN { exit !(n < e) }'; do sample "$t0"; sleep 2; done
    ) >"$OUT/$tag.timeline" 2>/dev/null &
    tl=$!
    loadgen "$v_tag" "$v_rate" $((SEED + 100)) "$v_hdr" >"$OUT/$tag.victim.json" &
    vg=$!
    ag=
    if [ "$variant" != alone ]; then
      loadgen "$a_tag" "$a_rate" "$SEED" "$a_hdr" >"$OUT/$tag.aggressor.json" &
      ag=$!
    else
      echo '{}' >"$OUT/$tag.aggressor.json"
    fi
    wait "$mon"
    wait "$vg"
    [ -n "$ag" ] && wait "$ag"
    kill "$tl" 2>/dev/null || true
    wait "$tl" 2>/dev/null || true
    curl -s "http://127.0.0.1:$admin_port/stats/prometheus" | grep -E '^(infergate_flow_control|inference_extension_flow_control)' |
      grep -v ' 0$' >"$OUT/$tag.flow_control.prom" || true
    python3 - "$OUT/$tag.victim.json" "$OUT/$tag.aggressor.json" "$scenario" "$variant" "$load" "$TIME_SCALE" \
      "$(cat "$work/c0")" "$(cat "$work/c1")" >>"$results" <<'PY'
import json, sys
v, a = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ts = float(sys.argv[6])
t0, r0, k0, p0 = map(float, sys.argv[7].split())
t1, r1, k1, p1 = map(float, sys.argv[8].split())
window = (t1 - t0) * ts  # model seconds
print(json.dumps({"scenario": sys.argv[3], "variant": sys.argv[4], "load": sys.argv[5], "victim": v, "aggressor": a,
                  "served_rps": (r1 - r0) / window, "served_tokens_per_s": (k1 - k0) / window,
                  "preemptions": p1 - p0}))
PY
    tail -1 "$results" | python3 -c "$summary_py" >&2
    stop_run
  done
done

python3 - "$results" "$CAPACITY" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cap = float(sys.argv[2])
f = lambda x, d=0: "n/a" if x is None else f"{x:,.{d}f}"
for scenario in dict.fromkeys(r["scenario"] for r in rows):
    rs = [r for r in rows if r["scenario"] == scenario]
    alone = next((r for r in rs if r["variant"] == "alone"), None)
    nofc = next((r for r in rs if r["variant"] == "nofc"), None)
    base = alone["victim"]["ttft_p90_ms"] if alone else None
    print(f"\n{scenario} (capacity {cap:.1f} req/s, model time; TTFT in model ms)\n")
    print("| variant | load avg | victim req/s | victim TTFT p50 | victim TTFT p90 | victim p90 / alone | victim errors "
          "| aggressor req/s sent | aggressor ok | aggressor TTFT p50 | aggressor TTFT p90 | aggressor errors "
          "| served req/s | served output tok/s | served tok/s vs nofc | preemptions |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rs:
        v, a = r["victim"], r["aggressor"]
        ratio = f"{v['ttft_p90_ms'] / base:.2f}" if base and v["ttft_p90_ms"] else "n/a"
        tput = f"{r['served_tokens_per_s'] / nofc['served_tokens_per_s']:.3f}" if nofc and nofc["served_tokens_per_s"] else "n/a"
        errs = ", ".join(f"{k} {n}" for k, n in sorted(a.get("error_kinds", {}).items())) or "0"
        verrs = ", ".join(f"{k} {n}" for k, n in sorted(v.get("error_kinds", {}).items())) or "0"
        print(f"| {r['variant']} | {r['load'].split()[0]} | {f(v['rate_rps'], 1)} | {f(v['ttft_p50_ms'])} | {f(v['ttft_p90_ms'])} | {ratio} "
              f"| {verrs} | {f(a.get('rate_rps'), 1)} | {a.get('ok', '-')} | {f(a.get('ttft_p50_ms'))} | {f(a.get('ttft_p90_ms'))} "
              f"| {errs} | {r['served_rps']:.1f} | {r['served_tokens_per_s']:,.0f} | {tput} | {r.get('preemptions', 0):.0f} |")
PY
echo "per-run JSON, timelines, /pools and flow-control counters: $OUT" >&2
