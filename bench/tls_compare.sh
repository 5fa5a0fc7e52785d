#!/usr/bin/env bash
# TLS termination, infergate against the proxies people run, in one run on one box; every
# server gets 1 worker/thread and the same certificate (tests/e2e/tls_certs.sh server.crt, EC
# P-256), key exchange ECDHE P-256, AES-128-GCM.
#
#   a) full handshakes, TLS 1.3 and TLS 1.2 (wrk -H 'Connection: close': one request per
#      connection, session resumption disabled in the client): infergate vs HAProxy, both
#      answering the request themselves (VirtualService directResponse / http-request return)
#   b) HTTP/1.1 over TLS 1.3, keep-alive (wrk), proxied to a modelsim: infergate vs HAProxy
#   c) HTTP/2 over TLS 1.3 (ALPN h2, h2load), proxied to the same modelsim over HTTP/1.1:
#      infergate vs nghttpx and HAProxy
#
# With 2 or more cores the server under test is pinned to core 0 and the clients and the
# backend to the others (SERVER_CPUS, CLIENT_CPUS: taskset lists; PIN=0: no pinning). A TLS
# client spends more CPU per full handshake than the server (verifying an ECDSA signature
# costs more than making one), so with one client core the server does not reach 100%:
# the output gives the server's CPU and its handshakes per CPU-second, the number to compare
# then. Installs the peers with apt when missing. Bounded: DURATION seconds per wrk run,
# H2_REQUESTS per h2load run, ROUNDS interleaved rounds (medians); the defaults take about
# 1.5 minutes.
#
#   bench/tls_compare.sh [BUILD_DIR]
#   INFERGATE=/path/to/infergate DURATION=10 ROUNDS=3 bench/tls_compare.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
INFERGATE=${INFERGATE:-$build/infergate}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-1}
HS_CONNECTIONS=${HS_CONNECTIONS:-32}
CONNECTIONS=${CONNECTIONS:-50}
H2_CLIENTS=${H2_CLIENTS:-50}
H2_STREAMS=${H2_STREAMS:-10}
H2_REQUESTS=${H2_REQUESTS:-100000}
PATH_QS=${PATH_QS:-/bytes?n=128}
PIN=${PIN:-1}
base=${BASE_PORT:-$((20000 + ($$ % 200) * 10))}
backend_port=$base
ig_port=$((base + 1))
ig_admin=$((base + 2))
haproxy_port=$((base + 3))
nghttpx_port=$((base + 4))

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
bench_install wrk:wrk haproxy:haproxy nghttpx:nghttp2-proxy h2load:nghttp2-client curl:curl openssl:openssl cc:gcc
[ -x "$build/modelsim" ] || { echo "missing $build/modelsim: run ./dev.sh build" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "command: DURATION=$DURATION ROUNDS=$ROUNDS HS_CONNECTIONS=$HS_CONNECTIONS CONNECTIONS=$CONNECTIONS" \
  "H2_CLIENTS=$H2_CLIENTS H2_STREAMS=$H2_STREAMS H2_REQUESTS=$H2_REQUESTS PIN=$PIN" \
  "${SERVER_CPUS:+SERVER_CPUS=$SERVER_CPUS }${CLIENT_CPUS:+CLIENT_CPUS=$CLIENT_CPUS }bench/tls_compare.sh${*:+ $*}"
bench_workdir tls_compare

# --- CPUs: the server under test on core 0, everything else on the rest ----------------
ncpu=$(nproc)
server_pin=() client_pin=() client_threads=1
if [ "$PIN" = 1 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
  SERVER_CPUS=${SERVER_CPUS:-0}
  if [ "$ncpu" -eq 2 ]; then CLIENT_CPUS=${CLIENT_CPUS:-1}; else CLIENT_CPUS=${CLIENT_CPUS:-1-$((ncpu - 1))}; fi
  server_pin=(taskset -c "$SERVER_CPUS")
  client_pin=(taskset -c "$CLIENT_CPUS")
  client_threads=$(taskset -c "$CLIENT_CPUS" nproc)
  cpus="$ncpu cores: servers pinned to cpu $SERVER_CPUS, clients and backend to cpu $CLIENT_CPUS"
else
  cpus="$ncpu cores, nothing pinned (servers, clients and backend share them)"
fi

# --- certificates, client TLS settings -------------------------------------------------
bash "$root/tests/e2e/tls_certs.sh" "$work/certs"
certs=$work/certs
# OpenSSL's system_default settings, read by wrk and h2load at start: one protocol version,
# ECDHE P-256 only, AES-128-GCM.
client_conf() {  # VERSION(1.2|1.3)
  cat <<EOF
openssl_conf = conf
[conf]
ssl_conf = ssl
[ssl]
system_default = client
[client]
MinProtocol = TLSv$1
MaxProtocol = TLSv$1
Groups = P-256
CipherString = ECDHE-ECDSA-AES128-GCM-SHA256
Ciphersuites = TLS_AES_128_GCM_SHA256
EOF
}
client_conf 1.2 >"$work/tls12.cnf"
client_conf 1.3 >"$work/tls13.cnf"
# wrk (and h2load) keep the TLS session of a closed connection and resume it on the next:
# this preload drops it before each handshake, so every connection is a full handshake.
cat >"$work/noresume.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;
int SSL_in_before(const SSL *);
SSL_SESSION *SSL_get_session(const SSL *);
int SSL_set_session(SSL *, SSL_SESSION *);
static void fresh(SSL *s) { if (SSL_in_before(s) && SSL_get_session(s)) SSL_set_session(s, 0); }
#define WRAP(name) int name(SSL *s) { static int (*real)(SSL *); \
  if (!real) real = (int (*)(SSL *))dlsym(RTLD_NEXT, #name); fresh(s); return real(s); }
WRAP(SSL_connect)
WRAP(SSL_do_handshake)
EOF
cc -O2 -shared -fPIC -o "$work/noresume.so" "$work/noresume.c" -ldl

# --- backend -------------------------------------------------------------------------
"${client_pin[@]}" "$build/modelsim" --port "$backend_port" --threads 1 >"$work/modelsim.log" 2>&1 &
pids+=($!)
wait_port "$backend_port"

# --- infergate: HTTPS listener; /hs answered by the gateway, the rest to modelsim ------
ig_pid=0 ig_why=""
if [ -x "$INFERGATE" ]; then
  mkdir "$work/infergate"
  {
    cat <<EOF
apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: bench}
spec:
  workers: 1
  admin: {address: 127.0.0.1, port: $ig_admin}
  accessLog: {path: ""}
  tls:
    certificates:
    - {name: gw-cert, certFile: $certs/server.crt, keyFile: $certs/server.key}
  endpoints:
  - {name: backend, address: 127.0.0.1, port: $backend_port, labels: {app: backend}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  gatewayClassName: infergate
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
  - name: https
    port: $ig_port
    protocol: HTTPS
    tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: gw-cert}]}
---
apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  selector: {app: backend}
  ports: [{port: $backend_port, targetPort: $backend_port}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bench}
spec:
  hosts: ["*"]
  gateways: [bench]
  http:
  - match: [{uri: {exact: /hs}}]
    directResponse: {status: 200, body: {string: ok}}
  - route: [{destination: {host: backend, port: {number: $backend_port}}}]
EOF
  } >"$work/infergate/gateway.yaml"
  if ! "$INFERGATE" --check --config "$work/infergate" >"$work/infergate-check.log" 2>&1; then
    ig_why="--check failed: $(grep -m1 -v '^$' "$work/infergate-check.log" || echo "exit status only")"
  else
    "${server_pin[@]}" "$INFERGATE" --config "$work/infergate" --workers 1 --log-level warning \
      >"$work/infergate.log" 2>&1 &
    ig_pid=$!
    pids+=("$ig_pid")
    wait_port "$ig_port" 2>/dev/null || ig_why="nothing listens on $ig_port: $(tail -1 "$work/infergate.log")"
  fi
else
  ig_why="$INFERGATE missing"
fi

# --- HAProxy (1 thread): /hs answered itself, the rest to modelsim, h1 and h2 ----------
cat >"$work/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:$haproxy_port ssl crt $certs/server.pem alpn h2,http/1.1 curves P-256
  http-request return status 200 content-type text/plain string ok if { path /hs }
  default_backend be
backend be
  server s1 127.0.0.1:$backend_port
EOF
"${server_pin[@]}" haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")
wait_port "$haproxy_port"

# --- nghttpx (1 worker, TLS frontend, HTTP/1.1 backend like infergate's) ---------------
"${server_pin[@]}" nghttpx --frontend="127.0.0.1,$nghttpx_port" --backend="127.0.0.1,$backend_port" \
  --workers=1 --no-ocsp --ecdh-curves=P-256 --accesslog-file=/dev/null --errorlog-file="$work/nghttpx.log" \
  --conf=/dev/null --backend-keep-alive-timeout=60s --backend-connections-per-host=256 \
  "$certs/server.key" "$certs/server.crt" 2>>"$work/nghttpx.log" &
nghttpx_pid=$!
pids+=("$nghttpx_pid")
wait_port "$nghttpx_port"

# --- checks: each target answers over TLS, with what ------------------------------------
# "PROTOCOL CIPHER" as OpenSSL negotiates them under a client config.
negotiated() {  # PORT CONF
  OPENSSL_CONF=$2 openssl s_client -connect "127.0.0.1:$1" -servername localhost </dev/null 2>/dev/null |
    awk '/^New, / {p=$2; c=$NF} /Server Temp Key/ {sub(/.*Key: /, ""); k=$0} END {print p, c, k}' | tr -d ','
}
check() {  # NAME PORT PATH CURL_ARG...
  local name=$1 port=$2 path=$3 got
  shift 3
  got=$(curl -s -o /dev/null -w '%{http_code} HTTP/%{http_version}' --max-time 5 --cacert "$certs/ca.crt" "$@" \
    --resolve "localhost:$port:127.0.0.1" "https://localhost:$port$path" || true)
  case $got in 200*) return 0 ;; esac
  echo "  $name: GET $path answered '${got:-nothing}'" >&2
  return 1
}
targets_hs=(haproxy) targets_h1=(haproxy) targets_h2=(nghttpx haproxy)
if [ -z "$ig_why" ]; then
  if check infergate "$ig_port" /hs && check infergate "$ig_port" "$PATH_QS" &&
    check infergate "$ig_port" "$PATH_QS" --http2; then
    targets_hs=(infergate haproxy) targets_h1=(infergate haproxy) targets_h2=(infergate nghttpx haproxy)
  else
    ig_why="does not answer over TLS (see above)"
  fi
fi
check haproxy "$haproxy_port" /hs
check haproxy "$haproxy_port" "$PATH_QS" --http2
check nghttpx "$nghttpx_port" "$PATH_QS" --http2
port_of() { case $1 in infergate) echo "$ig_port" ;; haproxy) echo "$haproxy_port" ;; nghttpx) echo "$nghttpx_port" ;; esac; }
pid_of() { case $1 in infergate) echo "$ig_pid" ;; haproxy) echo "$haproxy_pid" ;; nghttpx) echo "$nghttpx_pid" ;; esac; }
stat_of() { curl -s "http://127.0.0.1:$ig_admin/stats" | awk -F': ' -v n="$1" '$1==n {print $2}'; }

echo "infergate TLS comparison: $cpus; 1 worker/thread each; cert EC P-256 ($(openssl version | awk '{print $1, $2}'));" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
[ -n "$ig_why" ] && echo "infergate: not measured: $ig_why"
for v in 1.3 1.2; do
  for t in "${targets_hs[@]}"; do
    echo "  TLS $v to $t: $(negotiated "$(port_of "$t")" "$work/tls1${v#1.}.cnf")"
  done
done

# --- load -----------------------------------------------------------------------------
results=$work/results   # TEST NAME VALUE... per round
: >"$results"

# a) full handshakes: one request per connection.
run_hs() {  # VERSION NAME
  local v=$1 name=$2 port pid out="$work/hs-$1-$2.txt" c0 c1 n hs errs cpu_pct per_cpu r0=0 r1=0
  port=$(port_of "$name") pid=$(pid_of "$name")
  [ "$name" = infergate ] && r0=$(stat_of listener.ssl.session_reused)
  c0=$(cpu_ms "$pid")
  OPENSSL_CONF=$work/tls1${v#1.}.cnf LD_PRELOAD=$work/noresume.so "${client_pin[@]}" \
    wrk -t"$client_threads" -c"$HS_CONNECTIONS" -d"${DURATION}s" -H 'Connection: close' \
    "https://127.0.0.1:$port/hs" >"$out" 2>&1 || true
  c1=$(cpu_ms "$pid")
  [ "$name" = infergate ] && r1=$(stat_of listener.ssl.session_reused)
  n=$(awk '/requests in/ {print $1}' "$out")
  hs=$(awk '/^Requests\/sec/ {printf "%d", $2}' "$out")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' "$out" | tr '\n' ' ')
  cpu_pct=$(awk -v ms=$((c1 - c0)) -v d="$DURATION" 'BEGIN {printf "%d", ms / d / 10}')
  per_cpu=$(awk -v ms=$((c1 - c0)) -v n="${n:-0}" 'BEGIN {if (ms > 0) printf "%d", n * 1000 / ms; else print 0}')
  echo "hs$v $name ${hs:-0} $cpu_pct $per_cpu" >>"$results"
  printf '  %-10s %7s hs/s  server cpu %3s%%  %7s hs per cpu-s  %s%s\n' "$name" "${hs:-0}" "$cpu_pct" "$per_cpu" \
    "$errs" "$([ "$name" = infergate ] && echo "resumed $((r1 - r0))")"
}

# b) h1 keep-alive over TLS 1.3.
run_h1() {  # NAME
  local name=$1 port pid out="$work/h1-$1.txt" c0 c1 rps p50 p99 n errs cpu
  port=$(port_of "$name") pid=$(pid_of "$name")
  c0=$(cpu_ms "$pid")
  OPENSSL_CONF=$work/tls13.cnf "${client_pin[@]}" wrk -t"$client_threads" -c"$CONNECTIONS" -d"${DURATION}s" \
    --latency "https://127.0.0.1:$port$PATH_QS" >"$out" 2>&1 || true
  c1=$(cpu_ms "$pid")
  read -r rps p50 p99 n errs <<<"$(wrk_summary "$out")"
  cpu=$(cpu_per_req $((c1 - c0)) "$n")
  echo "h1 $name $rps $p50 $p99 $cpu" >>"$results"
  printf '  %-10s %9s rps  p50 %6s us  p99 %6s us  cpu %5s us/req  %s\n' "$name" "$rps" "$p50" "$p99" "$cpu" "$errs"
}

# c) h2 over TLS 1.3 (ALPN h2). h2load --log-file: start, status, duration (us) per request.
run_h2() {  # NAME
  local name=$1 port pid out="$work/h2-$1.txt" log="$work/h2-$1.log" c0 c1 rps p50 p99 failed cpu proto
  port=$(port_of "$name") pid=$(pid_of "$name")
  c0=$(cpu_ms "$pid")
  OPENSSL_CONF=$work/tls13.cnf "${client_pin[@]}" h2load -c"$H2_CLIENTS" -m"$H2_STREAMS" -n"$H2_REQUESTS" \
    -t"$client_threads" --tls13-ciphers=TLS_AES_128_GCM_SHA256 --log-file="$log" \
    "https://127.0.0.1:$port$PATH_QS" >"$out" 2>&1 || true
  c1=$(cpu_ms "$pid")
  cpu=$(cpu_per_req $((c1 - c0)) "$H2_REQUESTS")
  rps=$(awk '/^finished in/ {gsub(/,/, ""); for (i=1;i<=NF;i++) if ($(i+1)=="req/s") printf "%d", $i}' "$out")
  failed=$(awk '/^requests:/ {for (i=1;i<=NF;i++) if ($(i+1)=="failed,") print $i}' "$out")
  proto=$(awk '/^Application protocol:/ {print $3}' "$out")
  sort -n -k3 "$log" | awk '{d[NR]=$3} END {if (NR) printf "%d %d", d[int(NR*0.5)+0], d[int(NR*0.99)+0]}' >"$log.pct"
  read -r p50 p99 <"$log.pct" || true
  rm -f "$log"
  echo "h2 $name ${rps:-0} ${p50:-0} ${p99:-0} $cpu" >>"$results"
  printf '  %-10s %9s rps  p50 %6s us  p99 %6s us  cpu %5s us/req  failed %s  alpn %s\n' "$name" "${rps:-0}" \
    "${p50:-0}" "${p99:-0}" "$cpu" "${failed:-?}" "${proto:-?}"
}

for round in $(seq 1 "$ROUNDS"); do
  [ "$ROUNDS" -gt 1 ] && echo "round $round of $ROUNDS"
  for v in 1.3 1.2; do
    echo "full handshakes, TLS $v, ECDHE P-256, no resumption: wrk -t$client_threads -c$HS_CONNECTIONS" \
      "-d${DURATION}s -H 'Connection: close' GET /hs (answered by the server itself)"
    for t in "${targets_hs[@]}"; do run_hs "$v" "$t"; done
  done
  echo "HTTP/1.1 over TLS 1.3, keep-alive: wrk -t$client_threads -c$CONNECTIONS -d${DURATION}s GET $PATH_QS (proxied to modelsim)"
  for t in "${targets_h1[@]}"; do run_h1 "$t"; done
  echo "HTTP/2 over TLS 1.3: h2load -t$client_threads -c$H2_CLIENTS -m$H2_STREAMS -n$H2_REQUESTS GET $PATH_QS (proxied to modelsim)"
  for t in "${targets_h2[@]}"; do run_h2 "$t"; done
done

# --- report ---------------------------------------------------------------------------
med() {  # TEST NAME FIELD (3 = first value)
  awk -v t="$1" -v n="$2" -v f="$3" '$1==t && $2==n {print $f}' "$results" | sort -g |
    awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print 0}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "summary (median of $ROUNDS round(s))"
printf '  %-22s %-10s %10s %14s %10s %10s\n' test server "hs/s|rps" "hs/cpu-s|p50us" "cpu%|p99us" "us/req"
for v in 1.3 1.2; do
  for t in "${targets_hs[@]}"; do
    printf '  %-22s %-10s %10s %14s %10s %10s\n' "handshake TLS $v" "$t" "$(med "hs$v" "$t" 3)" \
      "$(med "hs$v" "$t" 5)" "$(med "hs$v" "$t" 4)%" -
  done
done
for p in h1 h2; do
  if [ "$p" = h1 ]; then list=("${targets_h1[@]}"); else list=("${targets_h2[@]}"); fi
  for t in "${list[@]}"; do
    printf '  %-22s %-10s %10s %14s %10s %10s\n' "$p over TLS 1.3" "$t" "$(med "$p" "$t" 3)" "$(med "$p" "$t" 4)" \
      "$(med "$p" "$t" 5)" "$(med "$p" "$t" 6)"
  done
done
if [ -n "$ig_why" ]; then
  echo "ratios: none, infergate was not measured ($ig_why)"
  exit 0
fi
echo "ratios (infergate / peer): rate and per-CPU rate higher are better; p99 and cpu/req lower are better"
for v in 1.3 1.2; do
  printf '  handshake TLS %s vs haproxy  hs/s %sx  hs per server cpu-s %sx\n' "$v" \
    "$(ratio "$(med "hs$v" infergate 3)" "$(med "hs$v" haproxy 3)")" \
    "$(ratio "$(med "hs$v" infergate 5)" "$(med "hs$v" haproxy 5)")"
done
printf '  h1 over TLS vs haproxy     rps %sx  p99 %sx  cpu/req %sx\n' "$(ratio "$(med h1 infergate 3)" "$(med h1 haproxy 3)")" \
  "$(ratio "$(med h1 infergate 5)" "$(med h1 haproxy 5)")" "$(ratio "$(med h1 infergate 6)" "$(med h1 haproxy 6)")"
for peer in nghttpx haproxy; do
  printf '  h2 over TLS vs %-10s rps %sx  p99 %sx  cpu/req %sx\n' "$peer" "$(ratio "$(med h2 infergate 3)" "$(med h2 "$peer" 3)")" \
    "$(ratio "$(med h2 infergate 5)" "$(med h2 "$peer" 5)")" "$(ratio "$(med h2 infergate 6)" "$(med h2 "$peer" 6)")"
done
busy=$(awk '$1 ~ /^hs/ && $4 < 90 {print $2 " TLS " substr($1, 3) " (" $4 "%)"}' "$results" | sort -u |
  paste -sd, - | sed 's/,/, /g')
[ -n "$busy" ] && echo "note: server CPU under 90%, the client was the limit, compare hs per server cpu-s: $busy"
exit 0
