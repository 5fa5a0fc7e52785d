#!/usr/bin/env bash
# The quickstart a newcomer runs through `./dev.sh demo`: three simulated model
# servers, infergate in front of them on examples/quickstart/gateway.yaml, a little
# OpenAI-style traffic (plain and streaming, HTTP/1.1 and h2c), then everything keeps
# running until Ctrl-C so the admin endpoints and the access log can be explored.
#
#   examples/quickstart/demo.sh [BUILD_DIR]      (default: build)
#   DEMO_NO_WAIT=1 ...                           send the traffic and stop (used by tests)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
build=${1:-$root/build}
model=llama-3.1-8b-instruct
gateway=http://127.0.0.1:8080
admin=http://127.0.0.1:9901
logdir=$(mktemp -d "${TMPDIR:-/tmp}/infergate-demo.XXXXXX")

stop_children_on_exit

need_binaries
need_free_ports "; stop what holds it and run the demo again" 8080 9901 18001 18002 18003

say "starting three simulated model servers (v1, v1, v2)"
for i in 1 2 3; do
  "$build/modelsim" --port "1800$i" --model "$model" --name "sim-$i" \
    --ttft-ms 40 --itl-ms 15 --output-tokens 24 >"$logdir/modelsim-$i.log" 2>&1 &
  pids+=($!)
done

say "starting infergate on the quickstart config"
"$build/infergate" --config "$here/gateway.yaml" >"$logdir/access.log" 2>"$logdir/infergate.log" &
pids+=($!)

for _ in $(seq 1 100); do
  curl -fs "$admin/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$admin/ready" >/dev/null || { cat "$logdir/infergate.log" >&2; exit 1; }
say "the canary console: open $admin/console in a browser"

chat='{"model":"'$model'","messages":[{"role":"user","content":"Say hello to the canary."}],"max_tokens":12}'
stream='{"model":"'$model'","messages":[{"role":"user","content":"Stream a short poem."}],"max_tokens":8,"stream":true,"stream_options":{"include_usage":true}}'

say "a chat completion over HTTP/1.1"
show "curl -s $gateway/v1/chat/completions -d '$chat'"
curl -s "$gateway/v1/chat/completions" -H 'content-type: application/json' -d "$chat"
echo

say "the same request streamed (SSE) over h2c, events arrive as the model produces them"
show "curl -sN --http2-prior-knowledge $gateway/v1/chat/completions -d '…\"stream\":true…'"
curl -sN --http2-prior-knowledge "$gateway/v1/chat/completions" -H 'content-type: application/json' -d "$stream"

say "200 requests, 20 at a time: the route sends ~90% to the v1 pool (sim-1, sim-2), ~10% to the v2 canary (sim-3)"
seq 1 200 | xargs -P 20 -I{} curl -s -o /dev/null -D - "$gateway/v1/chat/completions" -d "$chat" |
  tr -d '\r' | awk -F': ' 'tolower($1)=="x-modelsim-instance"{print $2}' | sort | uniq -c

say "no route matches: Envoy's 404 with the NR flag in the access log"
show "curl -s -o /dev/null -w '%{http_code}\n' $gateway/nothing-here"
curl -s -o /dev/null -w '%{http_code}\n' "$gateway/nothing-here"

say "a few counters from the admin endpoint"
show "curl -s -G $admin/stats --data-urlencode 'filter=downstream_rq_[2-5]xx|upstream_rq_(total|2xx)'"
curl -s -G "$admin/stats" --data-urlencode 'filter=downstream_rq_[2-5]xx|upstream_rq_(total|2xx)' || true

say "the same split in the per-version metrics (route, backend, version, model), and time to first token"
show "curl -s $admin/stats/prometheus | grep '^infergate_version_requests_total.*2xx' | grep -v ' 0$'"
curl -s "$admin/stats/prometheus" | grep '^infergate_version_requests_total.*2xx' | grep -v ' 0$' || true
curl -s "$admin/stats/prometheus" | grep '^infergate_version_time_to_first_token_seconds_count' || true

say "the last access log lines (Envoy format)"
tail -n 5 "$logdir/access.log"

cat <<EOF

infergate is running.
  gateway   $gateway          (HTTP/1.1 and h2c on the same port)
  admin     $admin           (/stats, /stats/prometheus, /config_dump, /clusters, /pools, /help)
  console   $admin/console   (open it in a browser: weights, live per-version charts, pools)
  logs      $logdir   (access.log, infergate.log, modelsim-*.log)

Try:
  curl -s $gateway/v1/models
  curl -sN --http2-prior-knowledge $gateway/v1/completions -d '{"model":"$model","prompt":"hi","stream":true}'
  curl -s $admin/stats/prometheus | grep envoy_cluster_upstream_rq_total
  curl -s $admin/stats/prometheus | grep '^infergate_version_request_duration_seconds_count'
  curl -s $admin/pools
  curl -s $admin/weights
  curl -s -X POST $admin/weights -H "Content-Type: application/json" -d '{"name": "llm-route", "weights": {"llm": 75, "llm-v2": 25}}'
  tail -f $logdir/access.log
EOF

if [ -n "${DEMO_NO_WAIT:-}" ]; then exit 0; fi
run_until_ctrl_c
