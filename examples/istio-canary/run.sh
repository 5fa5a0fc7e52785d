#!/usr/bin/env bash
# The Istio canary of seed 000, run for real: three simulated model servers (v1-a, v1-b on
# subset v1; v2-a on subset v2), infergate on this directory (seed.yaml as the blog post
# writes it + cluster.yaml for what it leaves to the cluster), then traffic and canary moves
# with POST /weights, counting after each step which version answered. Everything keeps
# running until Ctrl-C so the README's commands can be tried.
#
#   examples/istio-canary/run.sh [BUILD_DIR] [--once]   (BUILD_DIR default: build)
#     --once    run the steps and stop everything (used to test it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
build=$root/build
once=
for a in "$@"; do common_arg 2,9 "$a"; done
model=llama-3.1-8b-instruct
gateway=http://127.0.0.1:8081
admin=http://127.0.0.1:9902
host=llm-service                # the VirtualService's hosts: [llm-service]
requests=200
logdir=$(mktemp -d "${TMPDIR:-/tmp}/infergate-istio-canary.XXXXXX")

stop_children_on_exit

need_binaries
need_curl
need_free_ports " (another run.sh still running?); stop what holds it and run again" 8081 9902 18011 18012 18013

chat='{"model":"'$model'","messages":[{"role":"user","content":"Which version are you?"}],"max_tokens":4}'

# send N requests (8 at a time over keep-alive connections, extra curl args after N) and
# print how many each version / instance answered. The instance is in x-modelsim-instance
# (v1-a, v1-b, v2-a); the version is its name without the last "-x".
traffic() {
  local n=$1; shift
  for _ in $(seq 1 "$n"); do printf 'url = "%s/v1/chat/completions"\noutput = /dev/null\n' "$gateway"; done |
    curl -s --no-progress-meter -K - --parallel --parallel-max 8 -H "Host: $host" "$@" \
      -H 'content-type: application/json' -d "$chat" -w '%{http_code} %header{x-modelsim-instance}\n' |
    sort | uniq -c |
    awk '$2 != "200" { bad += $1; printf "  HTTP %s: %d requests\n", $2, $1; next }
         { v = $3; sub(/-[^-]*$/, "", v); if (!(v in tot)) order[++n] = v
           tot[v] += $1; sum += $1; det[v] = det[v] (det[v] == "" ? "" : ", ") $3 " " $1 }
         END { for (i = 1; i <= n; i++) { v = order[i]; bar = ""
                 for (j = 0; j < int(40 * tot[v] / sum + 0.5); j++) bar = bar "#"
                 printf "  subset %-3s %4d  %5.1f%%  %-40s (%s)\n", v, tot[v], 100 * tot[v] / sum, bar, det[v] } }'
}

# one line per route rule: "http[1]: v2 100%" from GET /weights (or a POST /weights answer)
weights_summary() {
  awk -F': ' '/"name":/ { gsub(/[",]/, "", $2); name = $2 }
              /"percent":/ { gsub(/,/, "", $2); line = line sprintf(" %s %g%%", name, $2) }
              /"rule":/ { gsub(/,/, "", $2); printf "  rule http[%s]:%s\n", $2, line; line = "" }'
}

set_weights() {  # V1 V2
  local body='{"name":"llm-virtual-service","rule":1,"weights":{"v1":'$1',"v2":'$2'}}'
  show "curl -s -X POST $admin/weights -H 'Content-Type: application/json' -d '$body'"
  local out
  out=$(curl -s -X POST "$admin/weights" -H "Content-Type: application/json" -d "$body")
  case "$out" in *'"error"'*) echo "$out" >&2; exit 1 ;; esac
  echo "$out" | weights_summary
}

say "starting three simulated model servers: v1-a, v1-b (subset v1) and v2-a (subset v2)"
i=1
for name in v1-a v1-b v2-a; do
  "$build/modelsim" --port "1801$i" --model "$model" --name "$name" \
    --ttft-ms 5 --itl-ms 2 >"$logdir/modelsim-$name.log" 2>&1 &
  pids+=($!)
  i=$((i + 1))
done
for i in 1 2 3; do wait_http "http://127.0.0.1:1801$i/health"; done

say "starting infergate on examples/istio-canary/ (seed.yaml + cluster.yaml)"
show "${build#"$root"/}/infergate --config examples/istio-canary --workers 2"
"$build/infergate" --config "$here" --workers 2 >"$logdir/access.log" 2>"$logdir/infergate.log" &
pids+=($!)
wait_http "$admin/ready"
echo "what infergate says about the seed's manifests (also in $logdir/infergate.log):"
grep -E 'warning|error' "$logdir/infergate.log" | sed 's/^/  /' || true

say "the seed as written: $requests requests without a version header"
echo "The post says \"10% to v2\", but its default route has only ONE destination (v2, weight: 10),"
echo "and Istio sends a lone destination 100% whatever its weight: v2 gets everything."
show "curl -s $admin/weights"
curl -s "$admin/weights" | weights_summary
traffic "$requests"

say "the header route: 20 requests with 'version: v1' always go to subset v1"
show "curl -s -H 'Host: $host' -H 'version: v1' $gateway/v1/chat/completions -d '$chat'"
traffic 20 -H 'version: v1'

say "what the post meant: a real canary, v1 90 / v2 10 on the default route (rule 1)"
echo "v1 is not a destination of that rule yet: POST /weights adds it (same host, subset v1)."
set_weights 90 10
traffic "$requests"

say "the canary looks good: move it to 50/50"
set_weights 50 50
traffic "$requests"

say "something is wrong with v2: roll back, v1 100 / v2 0"
set_weights 100 0
traffic "$requests"

say "upstream counters per subset (cluster names are in /config_dump)"
show "curl -s -G $admin/stats --data-urlencode 'filter=upstream_rq_total'"
curl -s -G "$admin/stats" --data-urlencode 'filter=upstream_rq_total' | sed 's/^/  /'

cat <<EOF

infergate is running.
  gateway   $gateway   (send Host: $host, the VirtualService's host)
  admin     $admin   (/weights, /config_dump, /stats, /help)
  logs      $logdir   (access.log, infergate.log, modelsim-*.log)

Try (more in examples/istio-canary/README.md):
  curl -s -H 'Host: $host' -H 'version: v1' $gateway/v1/chat/completions -d '$chat'
  curl -s -X POST $admin/weights -H "Content-Type: application/json" -d '{"name":"llm-virtual-service","rule":1,"weights":{"v1":90,"v2":10}}'
  curl -s $admin/weights
  curl -s -X POST '$admin/config/revert?all=true'     # back to the files: v2 gets everything again
EOF

if [ -n "$once" ]; then exit 0; fi
run_until_ctrl_c
