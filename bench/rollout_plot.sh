#!/usr/bin/env bash
# Records one promoted and one aborted Rollout (two modelsim versions behind infergate, ~300
# requests/s; the aborted run's canary starts answering 30 % errors and 40 ms slower once it
# has 25 %) and plots canary weight, per-version error rate and p99 over time.
#
#   bench/rollout_plot.sh [BUILD_DIR]     writes bench/rollout_run.csv and docs/rollout.png
#   bench/rollout_plot.sh --plot-only     redraws docs/rollout.png from bench/rollout_run.csv
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
# Debian's matplotlib, for Debian's python3 (a pyenv or venv python3 may lack it).
py=/usr/bin/python3
"$py" -c 'import matplotlib' 2>/dev/null || bench_install_package python3-matplotlib
if [ "${1:-}" != --plot-only ]; then
  build=${1:-$root/build}
  bench_need_binaries "$build"
  "$py" "$here/rollout_plot.py" record "$build" "$here/rollout_run.csv"
fi
"$py" "$here/rollout_plot.py" plot "$here/rollout_run.csv" "$root/docs/rollout.png"
