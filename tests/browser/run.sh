#!/usr/bin/env bash
# Runs console.test.mjs with node's test runner; exit 77 (CTest's skip) with the reason when
# chromium or playwright-core is missing, so a machine without them skips instead of failing.
set -euo pipefail
node=${1:-node}
cd "$(dirname "$0")"
chromium=${CHROMIUM:-}
[ -n "$chromium" ] || chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "SKIP: chromium is not installed (apt-get install chromium; ./dev.sh test installs it)"
  exit 77
fi
if [ ! -d node_modules/playwright-core ]; then
  echo "SKIP: playwright-core is not installed (npm ci --prefix tests/browser; ./dev.sh test does it)"
  exit 77
fi
export CHROMIUM=$chromium
exec "$node" --test --test-reporter=spec console.test.mjs
