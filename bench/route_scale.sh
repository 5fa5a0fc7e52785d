#!/usr/bin/env bash
# Does the number of routes cost the proxy anything? One modelsim backend, three infergate
# instances (1 worker, access log off) that differ only in their route table:
#
#   1-route        one HTTPRoute, PathPrefix /bytes
#   1000-prefix    1,000 HTTPRoutes (no hostnames); the benchmarked request matches the one
#                  with the lowest precedence (the other 999 have longer prefixes), so the
#                  whole table is scanned on every request
#   1000-hosts     1,000 HTTPRoutes on distinct hostnames; the request's Host picks the last
#
# The routes the request must not take point at a port nothing listens on, so a
# mis-route shows up as 503s in wrk's Non-2xx count. Each variant gets wrk (HTTP/1.1
# keep-alive) for DURATION seconds, REPEATS times, interleaved and rotated so that a
# neighbour's load on a shared box spreads over all variants; medians and the ratios to
# 1-route are printed. On a small box rps measures wrk and the backend as much as the
# proxy: read the proxy's CPU us/request first.
#
#   bench/route_scale.sh [BUILD_DIR]
#   DURATION=10 REPEATS=5 CONNECTIONS=64 bench/route_scale.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
DURATION=${DURATION:-5}
REPEATS=${REPEATS:-3}
CONNECTIONS=${CONNECTIONS:-50}
ROUTES=${ROUTES:-1000}
PATH_QS='/bytes?n=128'
base=${BASE_PORT:-$((30000 + ($$ % 200) * 10))}
backend_port=$base
decoy_port=$((base + 9))  # nothing listens here
variants=(1-route "$ROUTES-prefix" "$ROUTES-hosts")

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
bench_install wrk:wrk
bench_need_binaries "$build"
bench_workdir route_scale

# route NAME HOSTNAMES PREFIX SERVICE PORT: one HTTPRoute document.
route() {
  printf -- '---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: %s}\nspec:\n  parentRefs: [{name: bench}]\n  hostnames: %s\n  rules:\n  - matches: [{path: {type: PathPrefix, value: %s}}]\n    backendRefs: [{name: %s, port: %s}]\n' "$@"
}

# config VARIANT PORT ADMIN_PORT: the whole manifest set on stdout.
config() {
  local variant=$1 port=$2 admin=$3 i prefix
  bench_gateway_yaml "$admin" "$port" "$backend_port" \
    "  - {name: decoy, address: 127.0.0.1, port: $decoy_port, labels: {app: decoy}}"
  cat <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: decoy}
spec:
  selector: {app: decoy}
  ports: [{port: $decoy_port, targetPort: $decoy_port}]
EOF
  case $variant in
    1-route) route target "[]" /bytes backend "$backend_port" ;;
    *-prefix)
      # Longer prefixes take precedence over "/bytes" (Gateway API), whatever the names.
      for ((i = 0; i < ROUTES - 1; i++)); do
        printf -v prefix '/v1/m%05d' "$i"
        route "r$i" "[]" "$prefix" decoy "$decoy_port"
      done
      route target "[]" /bytes backend "$backend_port" ;;
    *-hosts)
      for ((i = 0; i < ROUTES - 1; i++)); do route "r$i" "[r$i.bench.local]" /bytes decoy "$decoy_port"; done
      route target "[target.bench.local]" /bytes backend "$backend_port" ;;
  esac
}
host_of() { case $1 in *-hosts) echo target.bench.local ;; *) echo "127.0.0.1:$2" ;; esac; }

"$build/modelsim" --port "$backend_port" --threads 1 >"$work/modelsim.log" 2>&1 &
backend_pid=$!
pids+=("$backend_pid")
wait_port "$backend_port"

echo "infergate route scale: $(nproc) cores, 1 worker, backend modelsim 1 thread, GET $PATH_QS"
declare -A ig_pid ig_port
n=0
for v in "${variants[@]}"; do
  n=$((n + 1))
  ig_port[$v]=$((base + n))
  config "$v" "${ig_port[$v]}" $((base + 3 + n)) >"$work/$v.yaml"
  "$build/infergate" --check --config "$work/$v.yaml" >"$work/$v.check" 2>&1 ||
    { cat "$work/$v.check" >&2; echo "infergate --check rejected the $v config" >&2; exit 1; }
  printf '  %-12s infergate --check: %s\n' "$v" "$(grep -o 'configuration OK\|[0-9]* HTTPRoutes' "$work/$v.check" | paste -sd' ')"
  "$build/infergate" --config "$work/$v.yaml" --workers 1 --log-level warning >"$work/$v.log" 2>&1 &
  ig_pid[$v]=$!
  pids+=("${ig_pid[$v]}")
done
for v in "${variants[@]}"; do
  wait_port "${ig_port[$v]}"
  # Warms the upstream connection and proves the request reaches the target route.
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $(host_of "$v" "${ig_port[$v]}")" "http://127.0.0.1:${ig_port[$v]}$PATH_QS")
  [ "$code" = 200 ] || { echo "$v: GET $PATH_QS answered $code, not 200" >&2; exit 1; }
done

echo "HTTP/1.1 keep-alive, wrk -t1 -c$CONNECTIONS -d${DURATION}s, $REPEATS rounds"
for ((r = 1; r <= REPEATS; r++)); do
  echo "round $r"
  # Rotated each round, so that no variant always runs right after another one.
  for ((k = 0; k < ${#variants[@]}; k++)); do
    v=${variants[(k + r - 1) % ${#variants[@]}]}
    bench_wrk_round "$v" "${ig_pid[$v]}" "http://127.0.0.1:${ig_port[$v]}$PATH_QS" "$work/results" "$work/wrk-$v-$r.txt" \
      -H "Host: $(host_of "$v" "${ig_port[$v]}")"
  done
done

echo "($ROUTES routes / 1 route)"
bench_report "$work/results" "${variants[@]}"
