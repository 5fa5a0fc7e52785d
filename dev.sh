#!/usr/bin/env bash
# infergate developer entry point.
#   ./dev.sh demo              install what is missing, build, run the quickstart with simulated model servers
#   ./dev.sh test [--sanitize] install, build and run every test through CTest
#   ./dev.sh build [--sanitize|--debug]   build only (binaries at build/infergate and build/modelsim)
#   ./dev.sh deps              install the Debian packages the build and tests need
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

# Build and test dependencies, Debian package names.
PKGS=(build-essential cmake ninja-build ccache pkg-config
      libboost-dev libssl-dev openssl libnghttp2-dev libyaml-cpp-dev libabsl-dev libre2-dev
      libgtest-dev libgmock-dev googletest libbenchmark-dev nlohmann-json3-dev libxxhash-dev libmimalloc-dev
      libspdlog-dev curl nghttp2-client nghttp2-proxy procps prometheus
      libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
      libc-ares-dev dnsmasq-base kubectl redis-server libhiredis-dev)

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

deps() {
  local missing=()
  for p in "${PKGS[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# The canary console's browser tests (tests/browser): Debian's chromium, node and npm, and
# playwright-core from npm. If any of it cannot be installed those tests skip and say why.
browser_deps() {
  local want=()
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null || want+=(chromium)
  command -v node >/dev/null || want+=(nodejs)
  command -v npm >/dev/null || want+=(npm)
  if [ ${#want[@]} -gt 0 ]; then
    log "installing for the browser tests: ${want[*]}"
    { as_root apt-get update -qq &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}"; } ||
      log "could not install ${want[*]}: the console's browser tests will be skipped"
  fi
  if command -v npm >/dev/null && [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
    log "installing playwright-core for the browser tests (tests/browser)"
    (cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --silent) ||
      log "npm ci failed: the console's browser tests will be skipped"
  fi
}

build() {
  local dir=build type=Release extra=()
  for a in "$@"; do
    case "$a" in
      --sanitize) dir=build-asan; type=RelWithDebInfo; extra+=(-DINFERGATE_SANITIZE=ON) ;;
      --debug) dir=build-debug; type=Debug ;;
      *) echo "unknown build option: $a" >&2; exit 2 ;;
    esac
  done
  log "configuring $dir ($type)"
  cmake -S "$ROOT" -B "$ROOT/$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" \
    -DINFERGATE_WERROR="${INFERGATE_WERROR:-ON}" "${extra[@]}" >/dev/null
  log "building $dir"
  cmake --build "$ROOT/$dir" -j"$(nproc)"
  BUILD_DIR="$ROOT/$dir"
}

cmd=${1:-help}; shift || true
case "$cmd" in
  deps) deps ;;
  build) deps; build "$@" ;;
  test)
    deps
    browser_deps
    build "$@"
    log "running tests"
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 --timeout 300
    ;;
  demo)
    deps
    build
    exec "$ROOT/examples/quickstart/demo.sh" "$BUILD_DIR"
    ;;
  *)
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = help ] || exit 2
    ;;
esac
