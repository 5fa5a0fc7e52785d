# Shared by the bench/ scripts (sourced, never run): installing the load tools, the work
# directory and the processes a run starts, waiting for ports, and reading wrk and /proc the
# same way in every script, so that their numbers stay comparable.
# shellcheck shell=bash

# apt-installs what is missing. Arguments: COMMAND:PACKAGE pairs (wrk:wrk nginx:nginx-light).
bench_install() {
  local need=() pair
  for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}"); done
  [ ${#need[@]} -eq 0 ] && return 0
  bench_install_package "${need[@]}"
}

# apt-installs packages, whatever commands they provide (a Python module, say).
bench_install_package() {  # PACKAGE...
  local sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "installing $*" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

bench_need_binaries() {  # BUILD_DIR
  local bin
  for bin in infergate modelsim; do
    [ -x "$1/$bin" ] || { echo "missing $1/$bin: run ./dev.sh build" >&2; exit 1; }
  done
}

# Sets $work (removed at exit unless KEEP is set) and $pids (killed at exit).
bench_workdir() {  # NAME
  work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}

wait_port() {
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on $1" >&2
  return 1
}

# The GatewayConfig (1 worker, no access log: the peers log nothing either; BENCH_ACCESS_LOG
# names a file to log to), Gateway and Service every bench config starts with. Extra lines
# follow the endpoint list: more endpoints ("  - {...}") or more spec fields ("  metrics: ...").
bench_gateway_yaml() {  # ADMIN_PORT LISTEN_PORT BACKEND_PORT [LINE...]
  local admin=$1 listen=$2 backend=$3 line
  shift 3
  cat <<EOF
apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: bench}
spec:
  workers: 1
  admin: {address: 127.0.0.1, port: $admin}
  accessLog: {path: "${BENCH_ACCESS_LOG:-}"}
  endpoints:
  - {name: backend, address: 127.0.0.1, port: $backend, labels: {app: backend}}
EOF
  for line in "$@"; do printf '%s\n' "$line"; done
  cat <<EOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  gatewayClassName: infergate
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
  - {name: http, port: $listen, protocol: HTTP}
---
apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  selector: {app: backend}
  ports: [{port: $backend, targetPort: $backend}]
EOF
}

# An HTTPRoute sending every request of the Gateway "bench" to the Service "backend" on PORT:
# what follows bench_gateway_yaml in the plain proxy benches.
bench_route_yaml() {  # PORT
  cat <<EOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: all}
spec:
  parentRefs: [{name: bench}]
  rules:
  - backendRefs: [{name: backend, port: $1}]
EOF
}

# An InferencePool of the endpoints labelled app: backend, and an HTTPRoute sending every
# request of the Gateway "bench" to it: what follows bench_gateway_yaml in the pool benches.
bench_pool_yaml() {
  cat <<EOF
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool}
spec: {selector: {matchLabels: {app: backend}}, targetPorts: [{number: 8000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  parentRefs: [{name: bench}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool}]
EOF
}

# HAProxy as the benches run it: THREADS threads, keep-alive on both sides, one frontend on
# 127.0.0.1:PORT, backend "be" of the given lines ("server s1 127.0.0.1:8000", "balance
# leastconn"). BENCH_HAPROXY_LOG=1 logs every request (option httplog) to stdout.
bench_haproxy_cfg() {  # THREADS PORT BACKEND_LINE...
  local threads=$1 port=$2 line log_global="" log_defaults=""
  shift 2
  if [ -n "${BENCH_HAPROXY_LOG:-}" ]; then
    log_global="  log stdout format raw local0"
    log_defaults=$'  log global\n  option httplog'
  fi
  cat <<EOF
global
  nbthread $threads
  maxconn 8000
${log_global}
defaults
  mode http
${log_defaults}
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:$port
  default_backend be
backend be
EOF
  for line in "$@"; do printf '  %s\n' "$line"; done
}

# wrk --latency prints "50%  1.23ms"; convert to microseconds.
to_us() { awk '{v=$1; u=1; if (v ~ /us$/) {u=1} else if (v ~ /ms$/) {u=1000} else if (v ~ /s$/) {u=1000000}; gsub(/[a-z]+$/, "", v); printf "%d", v*u}'; }

# CPU time (ms) of a process and its children (nginx, nghttpx and HAProxy fork workers):
# on a box with few cores the proxies share them with wrk and the backend, so CPU per
# request is the number that says how much each proxy costs. It still moves with contention
# (a starved proxy handles more requests per wake-up), hence repeated, interleaved rounds.
cpu_ms() {
  local total=0 p t
  for p in "$1" $(pgrep -P "$1"); do
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo $((total * 1000 / $(getconf CLK_TCK)))
}
cpu_per_req() { awk -v ms="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", ms * 1000 / n; else print "n/a" }'; }

# "RPS P50_US P99_US REQUESTS [ERRORS...]" from a wrk --latency report.
wrk_summary() {  # FILE
  local rps n p50 p99 errs
  rps=$(awk '/^Requests\/sec/ {printf "%d", $2}' "$1")
  n=$(awk '/requests in/ {print $1}' "$1")
  p50=$(awk '$1=="50%" {print $2}' "$1" | to_us)
  p99=$(awk '$1=="99%" {print $2}' "$1" | to_us)
  errs=$(awk '/Non-2xx|Socket errors/ {print}' "$1" | tr '\n' ' ')
  echo "${rps:-0} ${p50:-0} ${p99:-0} ${n:-0} $errs"
}

# One wrk round against a variant, appended to RESULTS as "VARIANT RPS P50 P99 CPU_US_PER_REQ"
# and printed: the rounds of route_scale.sh and metrics_overhead.sh. wrk's own output is kept
# in WORK_FILE.
bench_wrk_round() {  # VARIANT PID URL RESULTS WORK_FILE [WRK_ARG...]
  local v=$1 pid=$2 url=$3 results=$4 out=$5 c0 c1 rps p50 p99 n errs cpu
  shift 5
  c0=$(cpu_ms "$pid")
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url" >"$out" 2>&1 || true
  c1=$(cpu_ms "$pid")
  read -r rps p50 p99 n errs <<<"$(wrk_summary "$out")"
  cpu=$(cpu_per_req $((c1 - c0)) "$n")
  [ "$cpu" = n/a ] && cpu=0
  echo "$v $rps $p50 $p99 $cpu" >>"$results"
  printf '  %-12s %9s rps  p50 %6s us  p99 %6s us  cpu %5s us/req  %s\n' "$v" "$rps" "$p50" "$p99" "$cpu" "$errs"
}

# Median of one field over the rounds of bench_wrk_round (2 rps, 3 p50, 4 p99, 5 cpu).
bench_median() {  # RESULTS VARIANT FIELD
  awk -v v="$2" -v f="$3" '$1==v {print $f}' "$1" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

# The medians of every variant, then each later variant's ratios to the first.
bench_report() {  # RESULTS VARIANT...
  local results=$1 v first=$2
  shift
  echo "median of $REPEATS"
  for v in "$@"; do
    printf '  %-12s %9s rps  p50 %6s us  p99 %6s us  cpu %5s us/req\n' "$v" "$(bench_median "$results" "$v" 2)" \
      "$(bench_median "$results" "$v" 3)" "$(bench_median "$results" "$v" 4)" "$(bench_median "$results" "$v" 5)"
  done
  echo "ratios to $first: rps higher is better; p50, p99 and cpu/req lower are better"
  for v in "${@:2}"; do
    printf '  %-12s rps %sx  p50 %sx  p99 %sx  cpu/req %sx\n' "$v" \
      "$(bench_ratio "$(bench_median "$results" "$v" 2)" "$(bench_median "$results" "$first" 2)")" \
      "$(bench_ratio "$(bench_median "$results" "$v" 3)" "$(bench_median "$results" "$first" 3)")" \
      "$(bench_ratio "$(bench_median "$results" "$v" 4)" "$(bench_median "$results" "$first" 4)")" \
      "$(bench_ratio "$(bench_median "$results" "$v" 5)" "$(bench_median "$results" "$first" 5)")"
  done
}
