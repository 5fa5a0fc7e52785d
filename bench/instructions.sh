#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: the figure that stays put on a
# noisy box (wall-clock rps here moves ±15 % between runs of the same binary), so a
# regression shows even when the load benchmarks cannot resolve it.
#
# infergate (1 worker) runs under `valgrind --tool=callgrind`; for each case the counters are
# zeroed, N requests sent, dumped, zeroed again, 2N requests sent and dumped (callgrind_control,
# through vgdb). (I(2N) - I(N)) / N is the cost of one request: start-up, the client's
# connection set-up (TLS handshakes included) and anything else a run pays once cancel out.
# All threads count (workers, the access-log writer, the metrics scraper); the kernel's work
# does not: these are user-space instructions of the gateway process. Heap allocations per
# request come from the same dumps (calls into operator new and malloc, bench/callgrind_allocs.py).
# KEEP=1 keeps the dumps (callgrind_annotate them to see where the instructions go).
#
#   h1      HTTP/1.1 keep-alive GET /bytes?n=128 to a Service backend (h2load --h1)
#   h2      h2c prior knowledge, the same GET, HTTP/1.1 upstream
#   tls     HTTP/1.1 over TLS 1.3 (AES-128-GCM), the same GET
#   prompt  a 220 KB chat completion POST to an InferencePool of three modelsim servers,
#           body-based routing and prefix-cache picking on (the default picker)
#
#   bench/instructions.sh [BUILD_DIR]
#   N=400 CASES="h1 prompt" bench/instructions.sh
#
# Clients send one request at a time on CLIENTS connections (default 1), so the count does
# not depend on how many requests a wake-up happens to batch.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
INFERGATE=${INFERGATE:-$build/infergate}
N=${N:-1000}
PROMPT_N=${PROMPT_N:-100}
CLIENTS=${CLIENTS:-1}
CASES=${CASES:-h1 h2 tls prompt}
PROMPT_KB=${PROMPT_KB:-220}
PATH_QS=${PATH_QS:-/bytes?n=128}
base=${BASE_PORT:-$((26000 + ($$ % 200) * 10))}  # below the ephemeral range (32768-)
backend_port=$base

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
bench_install valgrind:valgrind h2load:nghttp2-client curl:curl openssl:openssl python3:python3
[ -x "$INFERGATE" ] || { echo "missing $INFERGATE: run ./dev.sh build" >&2; exit 1; }
[ -x "$build/modelsim" ] || { echo "missing $build/modelsim: run ./dev.sh build" >&2; exit 1; }
bench_workdir instructions

for i in 0 1 2; do
  "$build/modelsim" --port $((backend_port + i)) --threads 1 >"$work/modelsim-$i.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do wait_port $((backend_port + i)); done
bash "$root/tests/e2e/tls_certs.sh" "$work/certs" >/dev/null 2>&1
certs=$work/certs

# The 220 KB chat body: distinct-looking text (a repeated sentence numbered per line).
python3 - "$PROMPT_KB" >"$work/prompt.json" <<'EOF'
import json, sys
kb = int(sys.argv[1])
lines, n = [], 0
while sum(len(l) + 1 for l in lines) < kb * 1024 - 200:
    lines.append(f"line {n}: the gateway forwards this long prompt to a model server that already holds its prefix.")
    n += 1
print(json.dumps({"model": "sim-model", "messages": [{"role": "user", "content": "\n".join(lines)}], "max_tokens": 16}), end="")
EOF

config() {  # CASE LISTEN_PORT ADMIN_PORT
  local tls_lines=() listener="  - {name: http, port: $2, protocol: HTTP}"
  if [ "$1" = tls ]; then
    tls_lines=("  tls:" "    certificates:" "    - {name: gw-cert, certFile: $certs/server.crt, keyFile: $certs/server.key}")
    listener="  - {name: https, port: $2, protocol: HTTPS, tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: gw-cert}]}}"
  fi
  cat <<EOF
apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: bench}
spec:
  workers: 1
  admin: {address: 127.0.0.1, port: $3}
  accessLog: {path: ""}
  # Scraping the model servers is work per second, not per request; under callgrind a second
  # holds a few hundred requests, so at the default 50 ms it would dominate the count.
  modelServerMetrics: {interval: 10s, staleAfter: 60s}
EOF
  [ ${#tls_lines[@]} -gt 0 ] && printf '%s\n' "${tls_lines[@]}"
  cat <<EOF
  endpoints:
  - {name: m0, address: 127.0.0.1, port: $backend_port, labels: {app: backend, role: pool}}
  - {name: m1, address: 127.0.0.1, port: $((backend_port + 1)), labels: {role: pool}}
  - {name: m2, address: 127.0.0.1, port: $((backend_port + 2)), labels: {role: pool}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  gatewayClassName: infergate
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
$listener
---
apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  selector: {app: backend}
  ports: [{port: $backend_port, targetPort: $backend_port}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool}
spec: {selector: {matchLabels: {role: pool}}, targetPorts: [{number: 8000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: all}
spec:
  parentRefs: [{name: bench}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool}]
  - backendRefs: [{name: backend, port: $backend_port}]
EOF
}

# load CASE PORT COUNT: COUNT requests, one at a time per connection.
load() {
  local args=(-t1 -c"$CLIENTS" -m1 -n"$3") url
  case $1 in
    h1) args+=(--h1); url="http://127.0.0.1:$2$PATH_QS" ;;
    h2) url="http://127.0.0.1:$2$PATH_QS" ;;
    tls) args+=(--h1); url="https://127.0.0.1:$2$PATH_QS" ;;
    prompt) args+=(--h1 -d "$work/prompt.json" -H 'content-type: application/json'); url="http://127.0.0.1:$2/v1/chat/completions" ;;
  esac
  h2load "${args[@]}" "$url" >"$work/h2load-$1-$3.txt" 2>&1 || true
  local ok
  ok=$(awk '/^status codes:/ {gsub(/,/, ""); print $3}' "$work/h2load-$1-$3.txt")
  [ "${ok:-0}" = "$3" ] || { echo "$1: $ok of $3 requests answered 2xx" >&2; cat "$work/h2load-$1-$3.txt" >&2; exit 1; }
}

# The instructions (Ir) in a dump (callgrind_control -d writes OUT.1, OUT.2, ...).
dumped_ir() {  # FILE
  awk '/^(summary|totals):/ {print $2; exit}' "$1"
}

echo "instructions per proxied request (callgrind, 1 worker, $CLIENTS connection(s), N=$N, prompt N=$PROMPT_N)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
k=0
for c in $CASES; do
  k=$((k + 1))
  port=$((base + 3 + 2 * k)) admin=$((base + 4 + 2 * k))
  n=$N
  [ "$c" = prompt ] && n=$PROMPT_N
  config "$c" "$port" "$admin" >"$work/$c.yaml"
  out=$work/callgrind-$c
  valgrind --tool=callgrind --callgrind-out-file="$out" --dump-instr=no --vgdb=yes \
    "$INFERGATE" --config "$work/$c.yaml" --workers 1 --no-watch --log-level warning >"$work/$c.log" 2>&1 &
  vg=$!
  for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  load "$c" "$port" 20  # warm: upstream connections, first-use allocations
  callgrind_control -z "$vg" >/dev/null 2>&1
  load "$c" "$port" "$n"
  callgrind_control -d "$vg" >/dev/null 2>&1
  one=$(dumped_ir "$out.1")
  callgrind_control -z "$vg" >/dev/null 2>&1
  load "$c" "$port" $((2 * n))
  callgrind_control -d "$vg" >/dev/null 2>&1
  two=$(dumped_ir "$out.2")
  kill "$vg" 2>/dev/null || true
  wait "$vg" 2>/dev/null || true
  allocs_one=$(python3 "$here/callgrind_allocs.py" "$out.1")
  allocs_two=$(python3 "$here/callgrind_allocs.py" "$out.2")
  awk -v c="$c" -v a="$one" -v b="$two" -v n="$n" -v x="$allocs_one" -v y="$allocs_two" \
    'BEGIN { printf "  %-7s %9.0f instructions/request  %6.1f allocations/request   (Ir N: %d, 2N: %d)\n", c, (b - a) / n, (y - x) / n, a, b }'
  if [ -n "${KEEP:-}" ]; then echo "    dumps: $out.1 $out.2"; fi
done
