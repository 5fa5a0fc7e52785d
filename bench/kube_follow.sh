#!/usr/bin/env bash
# Kubernetes mode: how fast infergate follows the API, and what following it costs.
#
#   1. kubectl patch of an HTTPRoute's weights -> the new split served (GET /weights shows it):
#      p50 / p99 / max over PATCHES patches, timed from before kubectl starts and from when it
#      returned (the API server has the change then).
#   2. a pod turning Ready (status patch) -> the pod in the pool's endpoints (GET /clusters).
#   3. API requests per minute at steady state: the test API server's counters over IDLE s.
#   4. gateway RSS with ROUTES HTTPRoutes and BULK_PODS pods watched (and Ready).
#
# The API server is tests/kube's (kube_test_apiserver, plain HTTP with a token); kubectl is
# the real one. No peer proxy follows a cluster this way on this box, so there is no ratio.
#
#   bench/kube_follow.sh [BUILD_DIR]
#   PATCHES=50 ROUTES=1000 BULK_PODS=5000 IDLE=60 bench/kube_follow.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
PATCHES=${PATCHES:-50}
ROUTES=${ROUTES:-1000}
BULK_PODS=${BULK_PODS:-5000}
IDLE=${IDLE:-60}
base=${BASE_PORT:-$((21000 + ($$ % 200) * 10))}
api_port=$base
gw_port=$((base + 1))
admin_port=$((base + 2))
sim_port=$((base + 3))

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
bench_install kubectl:kubectl curl:curl
bench_need_binaries "$build"
apiserver=$build/kube_test_apiserver
[ -x "$apiserver" ] || { echo "missing $apiserver: run ./dev.sh build" >&2; exit 1; }
bench_workdir kube_follow

token=bench-token
# No --token: kubectl does not send a bearer token over plain HTTP, and nothing here needs auth.
"$apiserver" --port "$api_port" >"$work/api.out" 2>&1 &
pids+=($!)
api_pid=$!
wait_port "$api_port"
cat >"$work/kubeconfig" <<KC
apiVersion: v1
kind: Config
current-context: bench
clusters: [{name: bench, cluster: {server: "http://127.0.0.1:$api_port"}}]
users: [{name: bench, user: {token: $token}}]
contexts: [{name: bench, context: {cluster: bench, user: bench, namespace: default}}]
KC
k() { kubectl --kubeconfig "$work/kubeconfig" --cache-dir "$work/kcache" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
api() {  # METHOD PATH [JSON] [CONTENT-TYPE]
  curl -s -X "$1" -H "Authorization: Bearer $token" -H "Content-Type: ${4:-application/json}" \
    ${3:+--data-binary "$3"} "http://127.0.0.1:$api_port$2"
}
pod_ready() {  # NAME IP
  api PATCH "/api/v1/namespaces/default/pods/$1/status" \
    "{\"status\":{\"phase\":\"Running\",\"podIP\":\"$2\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" \
    application/merge-patch+json >/dev/null
}

for n in 2 3; do
  "$build/modelsim" --port "$sim_port" --address "127.0.0.$n" --name "v$((n - 1))" >"$work/sim$n.out" 2>&1 &
  pids+=($!)
done
k create -f - >/dev/null <<Y
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: infergate}
spec: {controllerName: infergate.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: infergate
  listeners: [{name: http, port: $gw_port, protocol: HTTP}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool-v1}
spec: {selector: {matchLabels: {version: v1}}, targetPorts: [{number: $sim_port}]}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool-v2}
spec: {selector: {matchLabels: {version: v2}}, targetPorts: [{number: $sim_port}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: canary}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs:
    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool-v1, weight: 90}
    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool-v2, weight: 10}
Y
for v in 1 2; do
  k create -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: v$v-0, labels: {version: v$v}}
spec: {containers: [{name: s, image: modelsim}]}
Y
  pod_ready "v$v-0" "127.0.0.$((v + 1))"
done
cat >"$work/gateway.yaml" <<Y
apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: bench}
spec:
  workers: 1
  admin: {address: 127.0.0.1, port: $admin_port}
Y
"$build/infergate" --kubeconfig "$work/kubeconfig" --config "$work/gateway.yaml" --log-level warning \
  >"$work/gw.out" 2>&1 &
pids+=($!)
gw_pid=$!
wait_port "$gw_port"

# pool-v2's weight as served (GET /weights; the backend objects' keys are sorted).
weights() {
  curl -s "http://127.0.0.1:$admin_port/weights" | tr -d ' \n' | grep -o '{[^{}]*"name":"pool-v2"[^{}]*}' |
    grep -o '"weight":[0-9]*' | cut -d: -f2
}
percentile() {  # P FILE
  sort -n "$2" | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if (i<1) i=1; print a[i]}'
}
: >"$work/from_start"
: >"$work/from_return"
for i in $(seq 1 "$PATCHES"); do
  w=$(( (i * 37) % 99 + 1 ))
  [ "$(weights)" = "$w" ] && w=$(( w % 99 + 1 ))
  t0=$(now_ms)
  k patch httproute canary --type=merge -p \
    "{\"spec\":{\"rules\":[{\"backendRefs\":[{\"group\":\"inference.networking.k8s.io\",\"kind\":\"InferencePool\",\"name\":\"pool-v1\",\"weight\":$((100 - w))},{\"group\":\"inference.networking.k8s.io\",\"kind\":\"InferencePool\",\"name\":\"pool-v2\",\"weight\":$w}]}]}}" >/dev/null
  t1=$(now_ms)
  until [ "$(weights)" = "$w" ]; do sleep 0.002; done
  t2=$(now_ms)
  echo $((t2 - t0)) >>"$work/from_start"
  echo $((t2 - t1)) >>"$work/from_return"
done
printf 'weight patch -> served split over %d patches (ms): from kubectl start p50 %s p99 %s max %s; after kubectl returned p50 %s p99 %s max %s\n' \
  "$PATCHES" "$(percentile 50 "$work/from_start")" "$(percentile 99 "$work/from_start")" "$(percentile 100 "$work/from_start")" \
  "$(percentile 50 "$work/from_return")" "$(percentile 99 "$work/from_return")" "$(percentile 100 "$work/from_return")"

: >"$work/ready"
for i in $(seq 1 10); do
  k create -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: ready-$i, labels: {version: v1}}
spec: {containers: [{name: s, image: modelsim}]}
Y
  t0=$(now_ms)
  pod_ready "ready-$i" "127.0.1.$i"
  until curl -s "http://127.0.0.1:$admin_port/clusters" | grep "127.0.1.$i:" >/dev/null; do sleep 0.002; done
  echo $(( $(now_ms) - t0 )) >>"$work/ready"
done
printf 'pod Ready -> in the pool (ms) over 10 pods: p50 %s max %s\n' "$(percentile 50 "$work/ready")" "$(percentile 100 "$work/ready")"

counts() { kill -USR1 "$api_pid"; sleep 0.2; grep '^requests' "$work/api.out" | tail -1; }
before=$(counts)
sleep "$IDLE"
after=$(counts)
total() { echo "$1" | grep -o 'total=[0-9]*' | cut -d= -f2; }
echo "API requests at steady state: $(( ($(total "$after") - $(total "$before") - 0) * 60 / IDLE )) per minute over ${IDLE}s (before: $before; after: $after)"

# Scale: ROUTES routes and BULK_PODS Ready pods watched.
{
  for i in $(seq 1 "$ROUTES"); do
    printf -- '---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r%d}\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: ["r%d.example.com"]\n  rules:\n  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-v1}]\n' "$i" "$i"
  done
} >"$work/routes.yaml"
t0=$(now_ms)
k create -f "$work/routes.yaml" >/dev/null
{
  for i in $(seq 1 "$BULK_PODS"); do
    printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: bulk-%d, labels: {version: v1, app: bulk}}\nspec: {containers: [{name: s, image: modelsim}]}\n' "$i"
  done
} >"$work/pods.yaml"
k create -f "$work/pods.yaml" >/dev/null
{
  for i in $(seq 1 "$BULK_PODS"); do
    [ "$i" -gt 1 ] && echo next
    printf 'url = "http://127.0.0.1:%s/api/v1/namespaces/default/pods/bulk-%d/status"\nrequest = "PATCH"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/merge-patch+json"\ndata = "{\\"status\\":{\\"phase\\":\\"Running\\",\\"podIP\\":\\"10.%d.%d.%d\\",\\"conditions\\":[{\\"type\\":\\"Ready\\",\\"status\\":\\"True\\"}]}}"\noutput = "/dev/null"\n' \
      "$api_port" "$i" "$token" $((i / 65536 + 1)) $(((i / 256) % 256)) $((i % 256))
  done
} >"$work/ready.curl"
curl -s -K "$work/ready.curl"
until curl -s "http://127.0.0.1:$admin_port/clusters" | grep "10.1.$(((BULK_PODS / 256) % 256)).$((BULK_PODS % 256)):" >/dev/null; do sleep 0.1; done
t1=$(now_ms)
sleep 2
rss=$(awk '/VmRSS/ {print $2}' "/proc/$gw_pid/status")
printf 'created %d routes and %d Ready pods through the API in %d ms; gateway RSS %d MiB\n' \
  "$ROUTES" "$BULK_PODS" $((t1 - t0)) $((rss / 1024))
