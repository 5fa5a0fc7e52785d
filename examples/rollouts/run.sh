#!/usr/bin/env bash
# The seed scenarios as Rollouts run by infergate itself: simulated model servers, infergate
# on the scenario's manifests plus its Rollout, steady traffic, and the rollout's progress as
# `infergate rollout status` shows it until it is promoted (or, with --bad, until the canary
# goes bad and the analysis aborts it). Everything keeps running until Ctrl-C.
#
#   examples/rollouts/run.sh SCENARIO [BUILD_DIR] [--bad] [--once]   (BUILD_DIR default: build)
#     SCENARIO   istio       seed 000: VirtualService subsets v1 -> v2 (examples/istio-canary)
#                gke         seed 004: InferencePool llm -> llm-new (examples/gke-pool-rollout)
#                base-model  seed 004: InferencePool llm-pool -> llm-pool-version-2
#                lora        InferenceModel food-review: adapter food-review-1 -> food-review-2
#     --bad      the canary starts answering 30 % errors once it has 10 % of the traffic
#     --once     stop everything when the rollout is done (used to test it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
build=$root/build
once=
bad=
scenario=
for a in "$@"; do
  case "$a" in
    --bad) bad=1 ;;
    istio|gke|base-model|lora) scenario=$a ;;
    *) common_arg 2,13 "$a" ;;
  esac
done
[ -n "$scenario" ] || { sed -n 2,13p "$0"; exit 2; }

model=llama-3.1-8b-instruct
host=
# Per scenario: the manifests, ports, model servers ("name:port:args"), which of them are the
# canary's (for --bad), and the rollout's name.
case $scenario in
  istio)
    files=("$root/examples/istio-canary/seed.yaml" "$root/examples/istio-canary/cluster.yaml" "$here/istio.yaml")
    gw_port=8081 admin_port=9902 rollout=llm-canary host=llm-service
    servers=("v1-a:18011:" "v1-b:18012:" "v2-a:18013:")
    canary_ports=(18013) ;;
  gke)
    files=("$root/examples/gke-pool-rollout/routes-to-llm.yaml" "$root/examples/gke-pool-rollout/cluster.yaml" "$here/gke.yaml")
    gw_port=8082 admin_port=9903 rollout=node-update
    servers=("llm-a:18021:" "llm-b:18022:" "llm-new-a:18023:" "llm-new-b:18024:")
    canary_ports=(18023 18024) ;;
  base-model)
    files=("$root/examples/gke-pool-rollout/base-model/routes-to-llm.yaml"
           "$root/examples/gke-pool-rollout/base-model/cluster.yaml" "$here/base-model.yaml")
    gw_port=8082 admin_port=9903 rollout=base-model-update
    servers=("llm-pool-a:18021:" "llm-pool-b:18022:" "llm-pool-version-2-a:18023:" "llm-pool-version-2-b:18024:")
    canary_ports=(18023 18024) ;;
  lora)
    files=("$here/lora/cluster.yaml" "$here/lora/rollout.yaml")
    gw_port=8083 admin_port=9904 rollout=food-review-v2 model=food-review
    servers=("lora-a:18031:--lora food-review-1,food-review-2" "lora-b:18032:--lora food-review-1,food-review-2")
    canary_ports=()
    [ -z "$bad" ] || { echo "--bad needs a canary on its own servers; the lora scenario shares them" >&2; exit 2; } ;;
esac
gateway=http://127.0.0.1:$gw_port
admin=127.0.0.1:$admin_port
logdir=$(mktemp -d "${TMPDIR:-/tmp}/infergate-rollout-$scenario.XXXXXX")
mkdir -p "$logdir/config" "$logdir/state"
cp "${files[@]}" "$logdir/config/"

stop_children_on_exit
need_binaries
need_curl
ports=("$gw_port" "$admin_port")
for s in "${servers[@]}"; do IFS=: read -r _ p _ <<<"$s"; ports+=("$p"); done
need_free_ports " (another run.sh still running?); stop what holds it and run again" "${ports[@]}"

say "starting ${#servers[@]} simulated model servers"
for s in "${servers[@]}"; do
  IFS=: read -r name port args <<<"$s"
  # shellcheck disable=SC2086  # args holds several words
  "$build/modelsim" --port "$port" --model "$model" --name "$name" --ttft-ms 20 --itl-ms 2 $args \
    >"$logdir/modelsim-$name.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$port/health"
done
[ "$scenario" = lora ] && model=food-review

say "starting infergate on the scenario's manifests and its Rollout (${files[*]##*/})"
show "${build#"$root"/}/infergate --config $logdir/config --state-dir $logdir/state"
"$build/infergate" --config "$logdir/config" --state-dir "$logdir/state" --workers 2 \
  >"$logdir/access.log" 2>"$logdir/infergate.log" &
ig_pid=$!
wait_http "http://$admin/ready"
say "watch it in a browser: http://$admin/console"

# Steady traffic, about 25 requests a second, until the script ends.
chat='{"model":"'$model'","messages":[{"role":"user","content":"Who answers?"}],"max_tokens":8,"stream":true,"stream_options":{"include_usage":true}}'
host_header=()
[ -n "$host" ] && host_header=(-H "Host: $host")
(
  while :; do
    for _ in $(seq 1 25); do printf 'url = "%s/v1/chat/completions"\noutput = /dev/null\n' "$gateway"; done |
      curl -s --no-progress-meter -K - --parallel --parallel-max 4 "${host_header[@]}" \
        -H 'content-type: application/json' -d "$chat" -w '%{http_code}\n' >>"$logdir/statuses" 2>/dev/null || true
    sleep 0.5
  done
) &
pids+=($! "$ig_pid")  # infergate last: run_until_ctrl_c waits on it

cli=("$build/infergate" rollout --admin "$admin")
say "the rollout, as the CLI shows it"
show "${build#"$root"/}/infergate rollout status $rollout --admin $admin"
made_bad=
for _ in $(seq 1 120); do
  out=$("${cli[@]}" status "$rollout")
  echo "$out" | head -1
  if [ -n "$bad" ] && [ -z "$made_bad" ] && echo "$out" | head -1 | grep -qE ' at ([1-9][0-9])%'; then
    say "the canary goes bad: 30 % of its answers are errors from now on"
    for p in "${canary_ports[@]}"; do
      show "curl -s -X POST http://127.0.0.1:$p/modelsim/faults -d '{\"error_rate\": 0.3}'"
      curl -s -X POST "http://127.0.0.1:$p/modelsim/faults" -d '{"error_rate": 0.3}'
      echo
    done
    made_bad=1
  fi
  case "$out" in *"  Completed  "*|*"  Aborted  "*) break ;; esac
  sleep 2
done

say "how it went: the rollout's events and last analysis"
"${cli[@]}" status "$rollout"
say "answers the clients got (HTTP status: count)"
sort "$logdir/statuses" | uniq -c | awk '{ printf "  %s: %d\n", $2, $1 }'
say "per-version request counts (the numbers the analysis read)"
show "curl -s http://$admin/stats/prometheus | grep '^infergate_version_requests_total' | grep -v ' 0\$'"
curl -s "http://$admin/stats/prometheus" | grep '^infergate_version_requests_total' | grep -v ' 0$' | sed 's/^/  /' || true

cat <<EOF

infergate is running.
  gateway   $gateway$([ -n "$host" ] && echo "   (send Host: $host)")
  admin     http://$admin   (/rollouts, /weights, /stats/prometheus, /help)
  console   http://$admin/console   (open it in a browser: the rollout's steps, verdicts and events live)
  logs      $logdir   (access.log, infergate.log, modelsim-*.log; the rollout's state in state/)

Try (more in examples/rollouts/README.md):
  ${build#"$root"/}/infergate rollout status --admin $admin
  ${build#"$root"/}/infergate rollout retry $rollout --admin $admin
  ${build#"$root"/}/infergate rollout abort $rollout --admin $admin --reason "by hand"
  curl -s http://$admin/rollouts
EOF

if [ -n "$once" ]; then exit 0; fi
run_until_ctrl_c
