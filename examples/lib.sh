# shellcheck shell=bash
# What the example scripts (quickstart/demo.sh, istio-canary/run.sh, gke-pool-rollout/run.sh)
# have in common, sourced by each once its `set -euo pipefail` and `here` are in place:
#
#   here=$(cd "$(dirname "$0")" && pwd)
#   . "$here/../lib.sh"
#
# Sourcing it only defines functions and `pids`; the script decides when to call them. They
# use the script's own variables: build (the build directory), once (set by --once), logdir
# (where the children write their logs) and pids (the children to stop).

# BUILD_DIR, --once and --help must mean the same in every run.sh, and the usage text should
# live in one place only: the comment at the top of the script, which --help prints. A script
# matches its own options first and hands every other argument here.
# shellcheck disable=SC2034  # once and build are the calling script's, read there
common_arg() {  # HELP_LINES ARG   (HELP_LINES: the header's sed range in the script, e.g. 2,10)
  case "$2" in
    --once) once=1 ;;
    -h|--help) sed -n "${1}p" "$0"; exit 0 ;;
    -*) echo "unknown option: $2 (see --help)" >&2; exit 2 ;;
    *) build=$2 ;;
  esac
}

# The model servers and infergate run in the background: without this they would outlive the
# script however it ends (a failed check, an error under set -e, Ctrl-C) and keep the ports the
# next run needs. Ctrl-C is the normal way to stop an example, hence exit 0 on INT and TERM.
pids=()
cleanup() {
  trap - EXIT INT TERM
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
stop_children_on_exit() {
  trap cleanup EXIT
  trap 'echo; echo "stopping"; exit 0' INT TERM
}

# Coloured so that the steps (say) and the commands a reader can copy and run (show) stand out
# from the answers printed between them.
say() { printf '\n\033[1;32m### %s\033[0m\n' "$*"; }
show() { printf '\033[1;33m$ %s\033[0m\n' "$*"; }

# Fail before starting anything and say how to fix it, instead of a "No such file" halfway through.
need_binaries() {
  local bin
  for bin in infergate modelsim; do
    [ -x "$build/$bin" ] || { echo "missing $build/$bin: run ./dev.sh build first" >&2; exit 1; }
  done
}
need_curl() {
  command -v curl >/dev/null || { echo "curl is needed (apt-get install curl)" >&2; exit 1; }
}

# A port already taken (often by an earlier run still going) would otherwise show up much later
# as a child that failed to start. Connecting is the check bash can do without extra tools.
need_free_ports() {  # ADVICE PORT...   (ADVICE ends "port N is already in use on 127.0.0.1")
  local advice=$1 port
  shift
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "port $port is already in use on 127.0.0.1$advice" >&2
      exit 1
    fi
  done
}

# The children start in the background, so each step waits until they answer; when one never
# does, its log says why, so print the logs rather than only a timeout.
# shellcheck disable=SC2154  # logdir is the calling script's
wait_http() {  # URL: wait up to 10 s for a 2xx
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$1 did not come up; logs in $logdir" >&2
  tail -n 20 "$logdir"/*.log >&2
  exit 1
}

# The examples stay up so that their admin endpoints and logs can be explored. Waiting on the
# last child started (infergate) rather than on all of them ends the script if infergate dies.
run_until_ctrl_c() {
  echo "Ctrl-C stops everything."
  wait "${pids[-1]}"
}
