#!/usr/bin/env bash
# Flow control and token budgets in front of two simulated model servers (gateway.yaml): two
# modelsims on 18031-18032 that run two requests at a time, infergate on 127.0.0.1:8081 (admin
# 9904). A tenant's burst, another tenant's few requests taking turns with it, an interactive
# request ahead of a batch flood, batch requests past their band's TTL, an API key spending its
# daily token budget, and what the gateway counted.
# Everything keeps running until Ctrl-C so the README's commands can be tried.
#
#   examples/fairness/run.sh [BUILD_DIR] [--once]   (BUILD_DIR default: build)
#     --once    run the steps and stop everything (used to test it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
build=$root/build
once=
for a in "$@"; do common_arg 2,9 "$a"; done
admin=http://127.0.0.1:9904
url=http://127.0.0.1:8081
logdir=$(mktemp -d "${TMPDIR:-/tmp}/infergate-fairness.XXXXXX")

stop_children_on_exit
need_binaries
need_curl
need_free_ports " (another run.sh still running?); stop what holds it and run again" 8081 9904 18031 18032

for i in 1 2; do
  "$build/modelsim" --port "1803$i" --name "sim-$i" --model llama --max-num-seqs 2 --ttft-ms 20 --itl-ms 20 --output-tokens 100 \
    >"$logdir/modelsim-$i.log" 2>&1 &
  pids+=($!)
done
"$build/infergate" --config "$here/gateway.yaml" >"$logdir/infergate.log" 2>&1 &
pids+=($!)
wait_http "$admin/ready"
wait_http "http://127.0.0.1:18031/health"
wait_http "http://127.0.0.1:18032/health"

ask() {  # NAME TOKENS [curl args...]: one chat request; prints "NAME STATUS SECONDS"
  local name=$1 tokens=$2
  shift 2
  curl -s -o /dev/null -w "$name %{http_code} %{time_total}\n" "$@" \
    -d "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":$tokens}" \
    "$url/v1/chat/completions"
}
queue() {  # what /pools says about the pool's flow control
  curl -s "$admin/pools" | sed -n '/"flow_control"/,/"saturation"/p' |
    grep -E '"(queued|in_transit|saturation|priority|requests|flows)": [0-9.-]' | tr -d ' ,' | paste -sd' ' |
    sed 's/^/  /'
}
mean() {  # FILE PREFIX: the mean seconds of the lines of PREFIX's requests
  awk -v p="$2" '$1 ~ "^"p { n++; s += $3; if ($2 != 200) bad++ }
    END { printf "  %s: %d requests, %d not 200, mean %.2f s\n", p, n, bad, s / n }' "$1"
}

say "tenant A bursts 24 requests at 4 at a time of room; tenant B sends 3 just after"
show "curl -H 'x-gateway-inference-fairness-id: tenant-a' -d '{\"model\":\"llama\",...}' $url/v1/chat/completions"
out=$logdir/fairness.out
for i in $(seq 1 24); do ask "A$i" 10 -H 'x-gateway-inference-fairness-id: tenant-a' >>"$out" & done
sleep 0.3
for i in 1 2 3; do ask "B$i" 10 -H 'x-gateway-inference-fairness-id: tenant-b' >>"$out" & done
sleep 0.1
show "curl -s $admin/pools   # .pools[0].flow_control"
queue
wait_jobs() { local j; for j in $(jobs -p); do case " ${pids[*]} " in *" $j "*) ;; *) wait "$j" ;; esac; done; }
wait_jobs
echo "  B's requests take turns with A's burst instead of waiting behind all of it:"
mean "$out" A
mean "$out" B

say "a batch flood (priority -1), then one interactive request (priority 10): it goes first"
out=$logdir/priority.out
for i in $(seq 1 16); do ask "batch$i" 10 -H 'x-gateway-inference-objective: batch' >>"$out" & done
sleep 0.3
ask interactive 10 -H 'x-gateway-inference-objective: interactive' | tee -a "$out" | sed 's/^/  /'
wait_jobs
mean "$out" batch

say "batch requests wait 3 s at most (their band's ttl), then 503"
out=$logdir/ttl.out
for i in $(seq 1 24); do ask "long$i" 40 -H 'x-gateway-inference-objective: batch' >>"$out" & done
wait_jobs
awk '{ c[$2]++ } END { for (s in c) printf "  %s x %d\n", s, c[s] }' "$out" | sort

say "an API key with 100 output tokens a day asks for 30 at a time: refused once they are spent"
show "curl -i -H 'x-api-key: team-c' -d '{\"model\":\"llama\",...,\"max_tokens\":30}' $url/v1/chat/completions"
for _ in 1 2 3 4 5; do
  curl -s -o /dev/null -D - -H 'x-api-key: team-c' \
    -d '{"model":"llama","messages":[{"role":"user","content":"hi"}],"max_tokens":30}' "$url/v1/chat/completions" |
    tr -d '\r' | awk '/^HTTP/ { s = $2 } /^x-ratelimit-(limit|remaining):/ { h = h " " $0 }
      END { printf "  %s%s\n", s, h }'
done

say "what the gateway counted"
show "curl -s $admin/stats/prometheus | grep -E 'flow_control_requests_total|token_budget_(requests|tokens)'"
curl -s "$admin/stats/prometheus" |
  grep -E '^infergate_(flow_control_requests_total|token_budget_requests_total|token_budget_tokens_charged_total)' |
  grep -v ' 0$' | sed 's/^/  /'

[ -n "$once" ] && exit 0
say "logs in $logdir"
run_until_ctrl_c
