#!/usr/bin/env bash
# Soak (issue 20): the gateway carries a mixed load for DURATION while its config, weights,
# model servers and endpoint picker keep changing under it, and its RSS, open fds, threads,
# p99 latency and error count are sampled every 10 s into a CSV and a plot next to it.
#
#   bench/soak.sh [DURATION]          DURATION in seconds or with a unit: 1800, 30m, 2h (default 30m)
#   INFERGATE=build-asan/infergate ASAN=1 bench/soak.sh 5m    the same under ASan: at the end
#                                     the gateway is stopped with SIGTERM and its stderr must hold
#                                     no sanitizer or leak report
#
# What runs (all on 127.0.0.1, ports BASE_PORT..BASE_PORT+12):
#   model servers  sim-0, sim-1 (InferencePool llm, picked by the EPP) and sim-2, sim-3 (Service
#                  llm-v2), modelsim; one of them is killed (SIGKILL) and restarted a second
#                  later every KILL_EVERY (60 s), in turn. Two per backend: a killed server is
#                  ejected (outlier detection, 30 s) and the gateway has no panic mode, so a
#                  backend of one would answer 503 "no healthy upstream" for that long
#   EPP            tests/epp_sim with one fallback, FailOpen; every EPP_EVERY (45 s) it is killed
#                  and comes back EPP_DOWN (5 s) later
#   gateway        HTTP listener (h1, h2c) and HTTPS listener (PeerAuthentication PERMISSIVE:
#                  TLS with or without a client certificate), 2 workers
#   load           h1: wrk at ~H1_RPS chat completions; h2c: h2load at ~H2_RPS; TLS: h2load over
#                  TLS at ~TLS_RPS; mTLS: curl with a client certificate, keep-alive batches;
#                  SSE: SSE_STREAMS curl loops of streamed completions; uploads: one
#                  UPLOAD_MIB MiB POST /upload every UPLOAD_EVERY (3 s)
#   changes        the config file rewritten every 10 s (the gateway watches it; the route
#                  timeout alternates so every rewrite is a new config version) and a weight
#                  move (POST /weights) every 2 s
#
# Per sample (CSV columns): elapsed s, RSS KiB, fds, threads, p99 ms of the last 10 s (from the
# gateway's envoy_http_downstream_rq_time histogram), requests, 5xx and resets so far (the
# gateway's counters), config version, kills so far. At the end: the least-squares slope of RSS
# and fds after WARMUP (300 s: the upstream pools and the allocator fill up for about five
# minutes) in % per hour with its standard error, pass when |slope| < 1 %/h, and their means
# over each whole round of kills (KILL_EVERY x 4 servers); each client's requests and
# errors; errors outside the KILL_WINDOW (5 s) after a model server or EPP kill (the goal is
# none); whether the gateway is still the process that started (zero crashes).
#
# Output: OUT (default bench/soak)/soak-<UTC date>.csv and .png (matplotlib, Debian's
# python3-matplotlib, installed when missing), the per-second error timeline
# soak-<date>-errors.csv and the event log soak-<date>-events.log, the summary printed and
# saved as soak-<date>.txt.
#
# Knobs (environment): BUILD (build), INFERGATE, MODELSIM, EPP_SIM, BASE_PORT (26500), OUT,
# WARMUP (300, or a third of a shorter run), KILL_EVERY (60), EPP_EVERY (45), EPP_DOWN (5), KILL_WINDOW (5), H1_RPS (100),
# H2_RPS (60), TLS_RPS (30), MTLS_RPS (10), SSE_STREAMS (2), UPLOAD_MIB (8), UPLOAD_EVERY (3),
# WORKERS (2), ASAN (unset).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

duration_s() {  # 1800 | 30m | 2h | 90s
  case "$1" in
    *h) echo $((${1%h} * 3600)) ;;
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}

DURATION=$(duration_s "${1:-${DURATION:-30m}}")
BUILD=${BUILD:-$root/build}
INFERGATE=${INFERGATE:-$BUILD/infergate}
MODELSIM=${MODELSIM:-$BUILD/modelsim}
EPP_SIM=${EPP_SIM:-$BUILD/epp_sim}
BASE_PORT=${BASE_PORT:-26500}
OUT=${OUT:-$here/soak}
WARMUP=${WARMUP:-$((DURATION / 3 < 300 ? DURATION / 3 : 300))}  # a short run keeps two thirds
KILL_EVERY=${KILL_EVERY:-60}
EPP_EVERY=${EPP_EVERY:-45}
EPP_DOWN=${EPP_DOWN:-5}
KILL_WINDOW=${KILL_WINDOW:-5}
H1_RPS=${H1_RPS:-100}
H2_RPS=${H2_RPS:-60}
TLS_RPS=${TLS_RPS:-30}
MTLS_RPS=${MTLS_RPS:-10}
SSE_STREAMS=${SSE_STREAMS:-2}
UPLOAD_MIB=${UPLOAD_MIB:-8}
UPLOAD_EVERY=${UPLOAD_EVERY:-3}
WORKERS=${WORKERS:-2}

for bin in "$INFERGATE" "$MODELSIM" "$EPP_SIM"; do
  [ -x "$bin" ] || { echo "missing $bin: run ./dev.sh build (or set BUILD/INFERGATE/MODELSIM/EPP_SIM)" >&2; exit 1; }
done
[ "$DURATION" -gt "$WARMUP" ] || { echo "DURATION ($DURATION s) must be longer than WARMUP ($WARMUP s)" >&2; exit 2; }
bench_install wrk:wrk h2load:nghttp2-client curl:curl openssl:openssl
py=/usr/bin/python3  # Debian's, with Debian's matplotlib (a pyenv or venv python3 may lack it)
"$py" -c 'import matplotlib' 2>/dev/null || bench_install_package python3-matplotlib
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

bench_workdir soak
mkdir -p "$OUT"
stamp=$(date -u +%Y%m%d-%H%M)
[ -n "${ASAN:-}" ] && stamp="$stamp-asan"
csv=$OUT/soak-$stamp.csv
events=$OUT/soak-$stamp-events.log
: >"$events"
sims=4
epp_port=$((BASE_PORT + 5))
gw_port=$((BASE_PORT + 10))
tls_port=$((BASE_PORT + 11))
admin_port=$((BASE_PORT + 12))
admin=http://127.0.0.1:$admin_port
for p in $(seq 0 $((sims - 1))) 5 10 11 12; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$((BASE_PORT + p))") 2>/dev/null; then
    echo "port $((BASE_PORT + p)) is taken: set BASE_PORT" >&2
    exit 1
  fi
done

event() { echo "$(date +%s.%N) $*" >>"$events"; }

bash "$root/tests/e2e/tls_certs.sh" "$work/certs"
certs=$work/certs

# The config the gateway watches. GENERATION alternates the route timeout (30s / 31s), so each
# rewrite is a real change that builds and swaps a new snapshot.
gateway_yaml() {  # GENERATION
  local timeout=$((30 + $1 % 2))
  cat <<YAML
apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: soak}
spec:
  workers: $WORKERS
  admin: {address: 127.0.0.1, port: $admin_port}
  accessLog: {path: $work/access.log, format: envoy}
  limits: {maxRequestBodyBytes: 67108864}
  workload: {labels: {app: soak-gateway}}
  tls:
    caFile: $certs/ca.crt
    certificates:
    - {name: gateway-cert, certFile: $certs/server.crt, keyFile: $certs/server.key}
  endpointPicker:
    extProc:
      tls: {enabled: false}
      messageTimeout: 2s
  endpoints:
  - {name: sim-0, address: 127.0.0.1, port: $BASE_PORT, labels: {app: llm, version: v1}}
  - {name: sim-1, address: 127.0.0.1, port: $((BASE_PORT + 1)), labels: {app: llm, version: v1}}
  - {name: sim-2, address: 127.0.0.1, port: $((BASE_PORT + 2)), labels: {app: llm, version: v2}}
  - {name: sim-3, address: 127.0.0.1, port: $((BASE_PORT + 3)), labels: {app: llm, version: v2}}
  - {name: epp, address: 127.0.0.1, port: $epp_port, labels: {app: epp}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: soak}
spec:
  gatewayClassName: infergate
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
  - {name: http, port: $gw_port, protocol: HTTP}
  - name: https
    port: $tls_port
    protocol: HTTPS
    tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: gateway-cert}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default}
spec:
  selector: {matchLabels: {app: soak-gateway}}
  mtls: {mode: PERMISSIVE}
  portLevelMtls:
    $gw_port: {mode: DISABLE}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: llm}
spec:
  selector: {matchLabels: {app: llm, version: v1}}
  targetPorts: [{number: $BASE_PORT}]
  endpointPickerRef: {name: epp, port: {number: 9002}, failureMode: FailOpen}
---
apiVersion: v1
kind: Service
metadata: {name: epp}
spec:
  selector: {app: epp}
  ports: [{port: 9002}]
---
apiVersion: v1
kind: Service
metadata: {name: llm-v2}
spec:
  selector: {app: llm, version: v2}
  ports: [{port: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: llm-all}
spec:
  selector: {app: llm}
  ports: [{port: 8000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: soak}
spec:
  parentRefs: [{name: soak}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /upload}}]
    backendRefs: [{name: llm-all, port: 8000}]
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    timeouts: {request: ${timeout}s}
    backendRefs:
    - {group: inference.networking.k8s.io, kind: InferencePool, name: llm, weight: 90}
    - {name: llm-v2, port: 8000, weight: 10}
YAML
}

# Each server's own pid, so that a kill hits that server and its restart is tracked.
declare -A sim_pid
start_sim() {  # INDEX
  local i=$1
  "$MODELSIM" --port $((BASE_PORT + i)) --name "sim-$i" --ttft-ms 2 --itl-ms 1 --output-tokens 32 \
    >>"$work/sim-$i.log" 2>&1 &
  sim_pid[$i]=$!
  pids+=($!)
}
epp_pid=
start_epp() {
  "$EPP_SIM" --port "$epp_port" --fallbacks 1 \
    --endpoints "127.0.0.1:$BASE_PORT,127.0.0.1:$((BASE_PORT + 1))" >>"$work/epp.log" 2>&1 &
  epp_pid=$!
  pids+=($!)
}

for i in $(seq 0 $((sims - 1))); do start_sim "$i"; done
start_epp
for i in $(seq 0 $((sims - 1))); do wait_port $((BASE_PORT + i)); done
wait_port "$epp_port"

config=$work/gateway.yaml
generation=0
gateway_yaml $generation >"$config"
# Under ASan, leaks are reported at exit (after the SIGTERM at the end), into gateway.err.
[ -n "${ASAN:-}" ] && export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
"$INFERGATE" --config "$config" >"$work/gateway.out" 2>"$work/gateway.err" &
gw_pid=$!
pids+=("$gw_pid")
for _ in $(seq 1 600); do
  curl -sf "$admin/ready" >/dev/null 2>&1 && break
  kill -0 "$gw_pid" 2>/dev/null || { cat "$work/gateway.err" >&2; echo "the gateway did not start" >&2; exit 1; }
  sleep 0.1
done
curl -sf "$admin/ready" >/dev/null || { echo "the gateway is not ready" >&2; exit 1; }
event start gateway pid $gw_pid
echo "soak: $DURATION s, gateway pid $gw_pid on $gw_port (HTTP) and $tls_port (HTTPS), admin $admin; work dir $work"

end=$(($(date +%s) + DURATION))
chat='{"model":"sim-model","messages":[{"role":"user","content":"soak"}],"max_tokens":4}'
stream='{"model":"sim-model","messages":[{"role":"user","content":"soak"}],"max_tokens":32,"stream":true}'
printf '%s' "$chat" >"$work/chat.json"
head -c $((UPLOAD_MIB << 20)) /dev/zero >"$work/upload.bin"

# wrk: one connection per 25 rps (wrk -R does not exist: a Lua delay() paces each connection).
h1_conns=$(((H1_RPS + 24) / 25))
cat >"$work/h1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$chat'
function delay() return $((1000 * h1_conns / H1_RPS)) end
LUA
# The load runs in pieces of at most 300 s so a client's errors can be read while it runs.
client_loop() {  # NAME COMMAND...: reruns COMMAND until the end, each output in NAME.N.out
  local name=$1 n=0 left
  shift
  while left=$((end - $(date +%s))); [ "$left" -gt 1 ]; do
    [ "$left" -gt 300 ] && left=300
    n=$((n + 1))
    SECS=$left "$@" >"$work/$name.$n.out" 2>&1 || true
  done
}
# shellcheck disable=SC2317  # called through client_loop
run_wrk() { wrk -t1 -c"$h1_conns" -d"${SECS}s" -s "$work/h1.lua" "http://127.0.0.1:$gw_port/v1/chat/completions"; }
# shellcheck disable=SC2317  # called through client_loop
run_h2c() {
  h2load -c2 -m4 --rps "$((H2_RPS / 2))" -D "$SECS" -d "$work/chat.json" -H 'content-type: application/json' \
    "http://127.0.0.1:$gw_port/v1/chat/completions"
}
# shellcheck disable=SC2317  # called through client_loop
run_tls() {
  h2load -c2 -m2 --rps "$((TLS_RPS / 2))" -D "$SECS" -d "$work/chat.json" -H 'content-type: application/json' \
    "https://127.0.0.1:$tls_port/v1/chat/completions"
}
client_pids=()
client_loop h1 run_wrk &
pids+=($!)
client_pids+=($!)
client_loop h2c run_h2c &
pids+=($!)
client_pids+=($!)
client_loop tls run_tls &
pids+=($!)
client_pids+=($!)

# curl loops write one status code per request (000: no response) to NAME.codes.
mtls_loop() {
  local urls=() i
  for i in $(seq 1 "$MTLS_RPS"); do urls+=(-o /dev/null "https://gateway.example.com:$tls_port/v1/chat/completions"); done
  while [ "$(date +%s)" -lt "$end" ]; do
    # One connection, MTLS_RPS requests paced over about a second.
    curl -s --max-time 20 --cacert "$certs/ca.crt" --cert "$certs/client-llm.crt" --key "$certs/client-llm.key" \
      --resolve "gateway.example.com:$tls_port:127.0.0.1" --rate "$MTLS_RPS/s" -H 'content-type: application/json' \
      -d "@$work/chat.json" -w '%{http_code}\n' "${urls[@]}" >>"$work/mtls.codes" 2>/dev/null || echo 000 >>"$work/mtls.codes"
  done
}
sse_loop() {  # N
  local urls=() i done_n
  for i in 1 2 3 4 5 6 7 8 9 10; do urls+=("http://127.0.0.1:$gw_port/v1/chat/completions"); done
  while [ "$(date +%s)" -lt "$end" ]; do
    # Ten streams one after the other on one connection; a complete stream ends with
    # "data: [DONE]", a cut one does not.
    done_n=$(curl -sN --max-time 30 -H 'content-type: application/json' -d "$stream" "${urls[@]}" |
      grep -c '^data: \[DONE\]' || true)
    for i in $(seq 1 10); do
      if [ "$i" -le "$done_n" ]; then echo 200; else echo "000 $(date +%s)"; fi
    done >>"$work/sse-$1.codes"
  done
}
upload_loop() {
  while [ "$(date +%s)" -lt "$end" ]; do
    curl -s --max-time 30 -o /dev/null -w '%{http_code}\n' -H 'content-type: application/octet-stream' \
      --data-binary "@$work/upload.bin" "http://127.0.0.1:$gw_port/upload" >>"$work/upload.codes" || echo 000 >>"$work/upload.codes"
    sleep "$UPLOAD_EVERY"
  done
}
mtls_loop &
pids+=($!)
client_pids+=($!)
for i in $(seq 1 "$SSE_STREAMS"); do
  sse_loop "$i" &
  pids+=($!)
  client_pids+=($!)
done
upload_loop &
pids+=($!)
client_pids+=($!)

# Changes: the config every 10 s, weights every 2 s, a model server every KILL_EVERY, the EPP
# every EPP_EVERY (down EPP_DOWN).
chaos_loop() {
  local t0 now next_cfg next_kill next_epp victim=0 w
  t0=$(date +%s)
  next_cfg=$((t0 + 10)) next_kill=$((t0 + KILL_EVERY)) next_epp=$((t0 + EPP_EVERY))
  while now=$(date +%s); [ "$now" -lt "$end" ]; do
    w=$((RANDOM % 101))
    curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' "$admin/weights" \
      -d "{\"name\":\"soak\",\"rule\":1,\"weights\":{\"llm\":$w,\"llm-v2\":$((100 - w))}}" >"$work/weights.last" || true
    [ "$(cat "$work/weights.last")" = 200 ] || event weights-failed "$(cat "$work/weights.last")"
    if [ "$now" -ge "$next_cfg" ]; then
      generation=$((generation + 1))
      gateway_yaml $generation >"$config.tmp" && mv "$config.tmp" "$config"
      event reload $generation
      next_cfg=$((next_cfg + 10))
    fi
    if [ "$now" -ge "$next_kill" ]; then
      event kill sim-$victim pid "${sim_pid[$victim]}"
      kill -9 "${sim_pid[$victim]}" 2>/dev/null || true
      wait "${sim_pid[$victim]}" 2>/dev/null || true
      sleep 1
      start_sim "$victim"
      event restart sim-$victim pid "${sim_pid[$victim]}"
      victim=$(((victim + 1) % sims))
      next_kill=$((next_kill + KILL_EVERY))
    fi
    if [ "$now" -ge "$next_epp" ]; then
      event kill epp pid "$epp_pid"
      kill -9 "$epp_pid" 2>/dev/null || true
      wait "$epp_pid" 2>/dev/null || true
      sleep "$EPP_DOWN"
      start_epp
      event restart epp pid "$epp_pid"
      next_epp=$((next_epp + EPP_EVERY))
    fi
    sleep 2
  done
}
# The sampler in the background, the changes in this shell: the restarted servers' pids stay
# in `pids`, so that the exit trap stops them.
"$py" "$here/soak.py" sample "$gw_pid" "$admin" "$DURATION" "$csv" "$events" &
sampler=$!
pids+=("$sampler")
chaos_loop
wait "$sampler" || true
# The clients stop at `end`; their last requests end within their --max-time.
for p in "${client_pids[@]}"; do wait "$p" 2>/dev/null || true; done

alive=yes
kill -0 "$gw_pid" 2>/dev/null || alive=no
exit_code=
if [ -n "${ASAN:-}" ] && [ $alive = yes ]; then
  kill -TERM "$gw_pid"
  exit_code=0
  wait "$gw_pid" || exit_code=$?
fi
status=0
"$py" "$here/soak.py" report "$csv" "$events" "$work" "$WARMUP" "$KILL_WINDOW" $((KILL_EVERY * sims)) "$alive" \
  "${exit_code:-running}" \
  "$work/gateway.err" | tee "$OUT/soak-$stamp.txt" || status=1
echo "csv: $csv"
echo "plot: ${csv%.csv}.png"
exit $status
