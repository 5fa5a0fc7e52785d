#!/usr/bin/env bash
# One run, one box, one backend: how infergate compares with the proxies people
# already run. Every proxy gets 1 worker/thread and the same modelsim backend.
#
#   HTTP/1.1 keep-alive, small body (wrk):   direct, infergate, HAProxy, nginx
#   h2c prior knowledge (h2load):            direct, infergate, nghttpx
#
# Prints requests/s, p50 and p99 per target and infergate's ratios. Installs the peers
# with apt when missing. Bounded: DURATION seconds per h1 target, H2_REQUESTS per h2
# target (defaults take about a minute and a half in all).
#
#   bench/proxy_compare.sh [BUILD_DIR]
#   DURATION=10 CONNECTIONS=64 H2_REQUESTS=400000 bench/proxy_compare.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-50}
H2_CLIENTS=${H2_CLIENTS:-50}
H2_STREAMS=${H2_STREAMS:-10}
H2_REQUESTS=${H2_REQUESTS:-300000}
PATH_QS=${PATH_QS:-/bytes?n=128}
base=${BASE_PORT:-$((20000 + ($$ % 200) * 10))}
backend_port=$base
ig_port=$((base + 1))
ig_admin=$((base + 2))
haproxy_port=$((base + 3))
nginx_port=$((base + 4))
nghttpx_port=$((base + 5))

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
bench_install wrk:wrk haproxy:haproxy nginx:nginx-light nghttpx:nghttp2-proxy h2load:nghttp2-client
bench_need_binaries "$build"

# Room for the idle-connection step (10,000 sockets on each side).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

bench_workdir proxy_compare

# --- backend -------------------------------------------------------------------------
"$build/modelsim" --port "$backend_port" --threads 1 >"$work/modelsim.log" 2>&1 &
backend_pid=$!
pids+=("$backend_pid")
wait_port "$backend_port"

# --- infergate -----------------------------------------------------------------------
{
  bench_gateway_yaml "$ig_admin" "$ig_port" "$backend_port"
  bench_route_yaml "$backend_port"
} >"$work/infergate.yaml"
"$build/infergate" --config "$work/infergate.yaml" --workers 1 --log-level warning >"$work/infergate.log" 2>&1 &
ig_pid=$!
pids+=("$ig_pid")
wait_port "$ig_port"

# --- HAProxy (1 thread, keep-alive both sides) ----------------------------------------
bench_haproxy_cfg 1 "$haproxy_port" "server s1 127.0.0.1:$backend_port" >"$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")
wait_port "$haproxy_port"

# --- nginx (1 worker, upstream keep-alive) ---------------------------------------------
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 8000; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  keepalive_requests 1000000;
  upstream be { server 127.0.0.1:$backend_port; keepalive 256; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
    }
  }
}
EOF
nginx -c "$work/nginx.conf" -p "$work/nginx" >"$work/nginx.out" 2>&1 &
nginx_pid=$!
pids+=("$nginx_pid")
wait_port "$nginx_port"

# --- nghttpx (1 worker, h2c frontend, HTTP/1.1 backend like infergate's) ---------------
nghttpx --frontend="127.0.0.1,$nghttpx_port;no-tls" --backend="127.0.0.1,$backend_port" \
  --workers=1 --no-ocsp --accesslog-file=/dev/null --errorlog-file="$work/nghttpx.log" \
  --conf=/dev/null --backend-keep-alive-timeout=60s --backend-connections-per-host=256 &
nghttpx_pid=$!
pids+=("$nghttpx_pid")
wait_port "$nghttpx_port"

# --- load -----------------------------------------------------------------------------
results=()
run_wrk() {
  local name=$1 port=$2 pid=$3 out="$work/wrk-$1.txt" c0 c1
  c0=$(cpu_ms "$pid")
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$port$PATH_QS" >"$out" 2>&1 || true
  c1=$(cpu_ms "$pid")
  local rps p50 p99 n errs cpu
  read -r rps p50 p99 n errs <<<"$(wrk_summary "$out")"
  cpu=$(cpu_per_req $((c1 - c0)) "$n")
  results+=("h1 $name $rps $p50 $p99 $cpu")
  printf '  %-10s %9s rps  p50 %6s us  p99 %6s us  cpu %5s us/req  %s\n' "$name" "$rps" "$p50" "$p99" "$cpu" "$errs"
}

# h2load --log-file writes one line per request: start (us since epoch), status, duration (us).
run_h2load() {
  local name=$1 port=$2 pid=$3 out="$work/h2load-$1.txt" log="$work/h2load-$1.log" c0 c1
  c0=$(cpu_ms "$pid")
  h2load -c"$H2_CLIENTS" -m"$H2_STREAMS" -n"$H2_REQUESTS" -t1 --log-file="$log" \
    "http://127.0.0.1:$port$PATH_QS" >"$out" 2>&1 || true
  c1=$(cpu_ms "$pid")
  local rps p50 p99 failed cpu
  cpu=$(cpu_per_req $((c1 - c0)) "$H2_REQUESTS")
  rps=$(awk '/^finished in/ {gsub(/,/, ""); for (i=1;i<=NF;i++) if ($(i+1)=="req/s") printf "%d", $i}' "$out")
  failed=$(awk '/^requests:/ {for (i=1;i<=NF;i++) if ($(i+1)=="failed,") print $i}' "$out")
  sort -n -k3 "$log" | awk '{d[NR]=$3} END {if (NR) printf "%d %d", d[int(NR*0.5)+0], d[int(NR*0.99)+0]}' >"$log.pct"
  read -r p50 p99 <"$log.pct" || true
  results+=("h2 $name ${rps:-0} ${p50:-0} ${p99:-0} $cpu")
  printf '  %-10s %9s rps  p50 %6s us  p99 %6s us  cpu %5s us/req  failed %s\n' "$name" "${rps:-0}" "${p50:-0}" "${p99:-0}" "$cpu" "${failed:-?}"
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

echo "infergate proxy comparison: $(nproc) cores, 1 worker each, backend modelsim 1 thread, GET $PATH_QS"
echo "infergate idle RSS: $(rss_kb "$ig_pid") kB"
# Warm every path once so connection set-up is not measured.
for port in $ig_port $haproxy_port $nginx_port; do curl -s -o /dev/null "http://127.0.0.1:$port$PATH_QS"; done

echo "HTTP/1.1 keep-alive, wrk -t1 -c$CONNECTIONS -d${DURATION}s"
run_wrk direct "$backend_port" "$backend_pid"
run_wrk infergate "$ig_port" "$ig_pid"
run_wrk haproxy "$haproxy_port" "$haproxy_pid"
run_wrk nginx "$nginx_port" "$nginx_pid"
echo "h2c prior knowledge, h2load -t1 -c$H2_CLIENTS -m$H2_STREAMS -n$H2_REQUESTS"
run_h2load direct "$backend_port" "$backend_pid"
run_h2load infergate "$ig_port" "$ig_pid"
run_h2load nghttpx "$nghttpx_port" "$nghttpx_pid"
echo "infergate RSS after load: $(rss_kb "$ig_pid") kB"
if [ "${IDLE_CONNS:-10000}" -gt 0 ] && command -v python3 >/dev/null; then
  before=$(rss_kb "$ig_pid")
  python3 "$here/idle_conns.py" 127.0.0.1 "$ig_port" "${IDLE_CONNS:-10000}" 3 "$PATH_QS" &
  idle_client=$!
  sleep 2.5
  after=$(rss_kb "$ig_pid")
  wait "$idle_client" || true
  echo "infergate RSS with ${IDLE_CONNS:-10000} idle keep-alive connections: $after kB (+$(( (after - before) / 1024 )) MB)"
fi

get() { printf '%s\n' "${results[@]}" | awk -v p="$1" -v n="$2" -v f="$3" '$1==p && $2==n {print $f}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "ratios (infergate / peer): rps higher is better; p99 and cpu/req lower are better"
for peer in haproxy nginx; do
  printf '  h1 vs %-8s rps %sx  p99 %sx  cpu/req %sx\n' "$peer" "$(ratio "$(get h1 infergate 3)" "$(get h1 "$peer" 3)")" \
    "$(ratio "$(get h1 infergate 5)" "$(get h1 "$peer" 5)")" "$(ratio "$(get h1 infergate 6)" "$(get h1 "$peer" 6)")"
done
printf '  h2 vs %-8s rps %sx  p99 %sx  cpu/req %sx\n' nghttpx "$(ratio "$(get h2 infergate 3)" "$(get h2 nghttpx 3)")" \
  "$(ratio "$(get h2 infergate 5)" "$(get h2 nghttpx 5)")" "$(ratio "$(get h2 infergate 6)" "$(get h2 nghttpx 6)")"
printf '  h1 infergate / direct rps %sx\n' "$(ratio "$(get h1 infergate 3)" "$(get h1 direct 3)")"
