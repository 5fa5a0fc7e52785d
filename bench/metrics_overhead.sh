#!/usr/bin/env bash
# What do infergate's own metrics and the access log cost, and how long does a scrape take
# with many label sets?
#
# Part 1, proxy rps with metrics on vs off. One modelsim backend in an InferencePool, two
# infergate instances (1 worker) that differ only in what they record per request:
#   off      GatewayConfig metrics.perVersion false (only Envoy's families), access log off
#   metrics  per-version and Inference Extension families (the default), access log off
#   log      metrics.perVersion false, access log (Envoy format) to a file
#   on       both: what a default config with an access log file does
# Both read the body's model (body-based routing, the default) and scrape the backend's
# /metrics. wrk POSTs a small chat completion (keep-alive) for DURATION seconds, REPEATS
# rounds, interleaved; medians and the ratios to `off` are printed. The goal is on/off
# rps >= 0.98x.
#
# Part 2, scrape time. An infergate with ROUTES HTTPRoutes of two backends each (bodyRouting
# off, so one label set per route backend: 2 x ROUTES), traffic to all of them, then
# SCRAPES timed GETs of /stats/prometheus and /stats; medians and sizes are printed.
#
#   bench/metrics_overhead.sh [BUILD_DIR]
#   DURATION=10 REPEATS=5 CONNECTIONS=50 ROUTES=500 bench/metrics_overhead.sh
#   PARTS=2 bench/metrics_overhead.sh          (only the scrape part)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
DURATION=${DURATION:-5}
REPEATS=${REPEATS:-3}
CONNECTIONS=${CONNECTIONS:-50}
ROUTES=${ROUTES:-500}
SCRAPES=${SCRAPES:-20}
PARTS=${PARTS:-1 2}
base=${BASE_PORT:-$((25000 + ($$ % 200) * 10))}  # below the ephemeral range (32768-)
backend_port=$base
variants=(off metrics log on)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
bench_install wrk:wrk curl:curl
bench_need_binaries "$build"
bench_workdir metrics_overhead

# config PORT ADMIN_PORT PER_VERSION [ACCESS_LOG_PATH]: a pool of the one backend, one route.
config() {
  BENCH_ACCESS_LOG=${4:-} bench_gateway_yaml "$2" "$1" "$backend_port" "  metrics: {perVersion: $3}"
  bench_pool_yaml
}

"$build/modelsim" --port "$backend_port" --threads 1 >"$work/modelsim.log" 2>&1 &
pids+=($!)
wait_port "$backend_port"

echo "infergate metrics overhead: $(nproc) cores, 1 worker, backend modelsim 1 thread"
part1() {
  declare -A ig_pid ig_port
  n=0
  for v in "${variants[@]}"; do
    n=$((n + 1))
    ig_port[$v]=$((base + n))
    case $v in
      off) config "${ig_port[$v]}" $((base + 4 + n)) false ;;
      metrics) config "${ig_port[$v]}" $((base + 4 + n)) true ;;
      log) config "${ig_port[$v]}" $((base + 4 + n)) false "$work/access-log.log" ;;
      on) config "${ig_port[$v]}" $((base + 4 + n)) true "$work/access-on.log" ;;
    esac >"$work/$v.yaml"
    "$build/infergate" --config "$work/$v.yaml" --log-level warning >"$work/$v.log" 2>&1 &
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

  echo "part 1: POST /v1/chat/completions, wrk -t1 -c$CONNECTIONS -d${DURATION}s, $REPEATS rounds"
  for ((r = 1; r <= REPEATS; r++)); do
    echo "round $r"
    for ((k = 0; k < ${#variants[@]}; k++)); do
      v=${variants[(k + r - 1) % ${#variants[@]}]}
      bench_wrk_round "$v" "${ig_pid[$v]}" "http://127.0.0.1:${ig_port[$v]}/v1/chat/completions" "$work/results" \
        "$work/wrk-$v-$r.txt" -s "$here/modelsim/post.lua"
    done
  done
  bench_report "$work/results" "${variants[@]}"
  for v in "${variants[@]}"; do kill "${ig_pid[$v]}"; done
}

part2() {
  scale_port=$((base + 9))
  scale_admin=$((base + 10))
  {
    bench_gateway_yaml "$scale_admin" "$scale_port" "$backend_port" "  bodyRouting: {enabled: false}"
    for b in a b; do
      printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: backend-%s}\nspec:\n  selector: {app: backend}\n  ports: [{port: %s, targetPort: %s}]\n' "$b" "$backend_port" "$backend_port"
    done
    for ((i = 0; i < ROUTES; i++)); do
      printf -- '---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r%05d}\nspec:\n  parentRefs: [{name: bench}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /r%05d}}]\n    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /v1/models}}}]\n    backendRefs: [{name: backend-a, port: %s, weight: 1}, {name: backend-b, port: %s, weight: 1}]\n' \
        "$i" "$i" "$backend_port" "$backend_port"
    done
  } >"$work/scale.yaml"
  "$build/infergate" --config "$work/scale.yaml" --log-level warning >"$work/scale.log" 2>&1 &
  pids+=($!)
  wait_port "$scale_port"
  # Eight requests per route reach both of its backends (a miss is 1 in 256): every label set
  # has data, as after a while of real traffic.
  for ((i = 0; i < ROUTES; i++)); do
    for _ in 1 2 3 4 5 6 7 8; do printf 'url = "http://127.0.0.1:%s/r%05d"\noutput = "/dev/null"\n' "$scale_port" "$i"; done
  done >"$work/urls"
  curl -s --parallel --parallel-max 16 -K "$work/urls" >/dev/null 2>&1
  series=$(curl -s "http://127.0.0.1:$scale_admin/stats/prometheus" | grep -c '^infergate_version_requests_total{' || true)
  label_sets=$(curl -s "http://127.0.0.1:$scale_admin/stats/prometheus" | grep -c '^infergate_version_request_duration_seconds_count{' || true)
  time_scrape() {  # PATH
    local i
    for ((i = 0; i < SCRAPES; i++)); do
      curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "http://127.0.0.1:$scale_admin$1"
    done | sort -g | awk '{t[NR]=$1; s=$2} END {printf "median %.1f ms, max %.1f ms, %.1f MiB", t[int((NR+1)/2)]*1000, t[NR]*1000, s/1048576}'
  }
  echo "part 2: $ROUTES routes x 2 backends = $label_sets per-version label sets with data ($series request-count series), $SCRAPES scrapes each"
  printf '  /stats/prometheus  %s\n' "$(time_scrape /stats/prometheus)"
  printf '  /stats             %s\n' "$(time_scrape /stats)"
}

for part in $PARTS; do "part$part"; done
