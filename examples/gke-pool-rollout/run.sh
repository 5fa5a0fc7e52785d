#!/usr/bin/env bash
# The GKE Inference Gateway rollout of seed 004, run for real: four simulated model servers
# (llm-a, llm-b in InferencePool llm on the current nodes; llm-new-a, llm-new-b in
# InferencePool llm-new on the updated nodes), infergate on this directory (the guide's
# routes-to-llm.yaml as written + cluster.yaml for what it leaves to the cluster), then
# traffic and pool weight moves with POST /weights, counting after each step which pool
# answered. Everything keeps running until Ctrl-C so the README's commands can be tried.
#
#   examples/gke-pool-rollout/run.sh [BUILD_DIR] [--once] [--base-model]   (BUILD_DIR default: build)
#     --once        run the steps and stop everything (used to test it)
#     --base-model  the guide's base-model update instead (base-model/: llm-pool -> llm-pool-version-2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
build=$root/build
once=
variant=node
for a in "$@"; do
  case "$a" in
    --base-model) variant=base-model ;;
    *) common_arg 2,11 "$a" ;;
  esac
done
if [ "$variant" = node ]; then
  config=$here old=llm new=llm-new what="node update (current nodes -> updated nodes)"
  config_shown=examples/gke-pool-rollout
else
  config=$here/base-model old=llm-pool new=llm-pool-version-2 what="base-model update (current base model -> version 2)"
  config_shown=examples/gke-pool-rollout/base-model
fi
model=llama-3.1-8b-instruct
gateway=http://127.0.0.1:8082
admin=http://127.0.0.1:9903
requests=200
logdir=$(mktemp -d "${TMPDIR:-/tmp}/infergate-gke-pool-rollout.XXXXXX")

stop_children_on_exit

need_binaries
need_curl
need_free_ports " (another run.sh still running?); stop what holds it and run again" 8082 9903 18021 18022 18023 18024

chat='{"model":"'$model'","messages":[{"role":"user","content":"Which pool are you in?"}],"max_tokens":4}'

# send N requests (8 at a time over keep-alive connections) and print how many each pool /
# instance answered. The instance is in x-modelsim-instance (llm-a, llm-new-b, ...); the
# pool is its name without the last "-x".
traffic() {
  local n=$1; shift
  for _ in $(seq 1 "$n"); do printf 'url = "%s/v1/chat/completions"\noutput = /dev/null\n' "$gateway"; done |
    curl -s --no-progress-meter -K - --parallel --parallel-max 8 "$@" \
      -H 'content-type: application/json' -d "$chat" -w '%{http_code} %header{x-modelsim-instance}\n' |
    sort | uniq -c |
    awk '$2 != "200" { printf "  HTTP %s: %d requests\n", $2, $1; next }
         { v = $3; sub(/-[^-]*$/, "", v); if (!(v in tot)) order[++n] = v
           tot[v] += $1; sum += $1; det[v] = det[v] (det[v] == "" ? "" : ", ") $3 " " $1 }
         END { for (i = 1; i <= n; i++) { v = order[i]; bar = ""
                 for (j = 0; j < int(40 * tot[v] / sum + 0.5); j++) bar = bar "#"
                 printf "  pool %-18s %4d  %5.1f%%  %-40s (%s)\n", v, tot[v], 100 * tot[v] / sum, bar, det[v] } }'
}

# "rule 0: llm 90% llm-new 10%" from GET /weights (or a POST /weights answer)
weights_summary() {
  awk -F': ' '/"name":/ { gsub(/[",]/, "", $2); name = $2 }
              /"percent":/ { gsub(/,/, "", $2); line = line sprintf(" %s %g%%", name, $2) }
              /"rule":/ { gsub(/,/, "", $2); printf "  rule %s:%s\n", $2, line; line = "" }'
}

set_weights() {  # OLD NEW
  local body='{"name":"routes-to-llm","weights":{"'$old'":'$1',"'$new'":'$2'}}'
  show "curl -s -X POST $admin/weights -H 'Content-Type: application/json' -d '$body'"
  local out
  out=$(curl -s -X POST "$admin/weights" -H "Content-Type: application/json" -d "$body")
  case "$out" in *'"error"'*) echo "$out" >&2; exit 1 ;; esac
  echo "$out" | weights_summary
}

echo "GKE Inference Gateway rollout guide: the $what"
say "starting four simulated model servers: $old-a, $old-b (pool $old) and $new-a, $new-b (pool $new)"
i=1
for name in "$old-a" "$old-b" "$new-a" "$new-b"; do
  "$build/modelsim" --port "1802$i" --model "$model" --name "$name" \
    --ttft-ms 5 --itl-ms 2 >"$logdir/modelsim-$name.log" 2>&1 &
  pids+=($!)
  i=$((i + 1))
done
for i in 1 2 3 4; do wait_http "http://127.0.0.1:1802$i/health"; done

say "starting infergate on $config_shown/ (routes-to-llm.yaml + cluster.yaml)"
show "${build#"$root"/}/infergate --config $config_shown --workers 2"
"$build/infergate" --config "$config" --workers 2 >"$logdir/access.log" 2>"$logdir/infergate.log" &
pids+=($!)
wait_http "$admin/ready"
echo "what infergate says about the guide's manifest (also in $logdir/infergate.log):"
grep -E 'warning|error' "$logdir/infergate.log" | sed 's/^/  /' || true

say "the guide as written: $old 90 / $new 10 ($requests requests)"
show "curl -s $admin/weights"
curl -s "$admin/weights" | weights_summary
traffic "$requests"

say "the new pool looks good: move it to 50/50"
set_weights 50 50
traffic "$requests"

say "finish the rollout: everything to $new"
set_weights 0 100
traffic "$requests"

say "a problem shows up on $new: roll back, everything to $old (kept running for exactly this)"
set_weights 100 0
traffic "$requests"

say "upstream counters per pool (cluster names are in /config_dump)"
show "curl -s -G $admin/stats --data-urlencode 'filter=upstream_rq_total'"
curl -s -G "$admin/stats" --data-urlencode 'filter=upstream_rq_total' | sed 's/^/  /'

cat <<EOF

infergate is running.
  gateway   $gateway
  admin     $admin   (/weights, /config_dump, /stats, /clusters, /help)
  logs      $logdir   (access.log, infergate.log, modelsim-*.log)

Try (more in examples/gke-pool-rollout/README.md):
  curl -s $gateway/v1/chat/completions -d '$chat'
  curl -s -X POST $admin/weights -H "Content-Type: application/json" -d '{"name":"routes-to-llm","weights":{"$old":90,"$new":10}}'
  curl -s $admin/weights
  curl -s -X POST '$admin/config/revert?all=true'     # back to the file: $old 90 / $new 10
EOF

if [ -n "$once" ]; then exit 0; fi
run_until_ctrl_c
