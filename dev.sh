#!/usr/bin/env bash
# infergate developer entry point.
#   ./dev.sh demo              install what is missing, build, run the quickstart with simulated model servers
#   ./dev.sh test [--sanitize] install, build and run every test through CTest
#   ./dev.sh build [--sanitize|--debug]   build only (binaries at build/infergate and build/modelsim)
#   ./dev.sh deps              install the Debian packages the build and tests need
#   ./dev.sh fuzz [TARGET|all] [SECONDS]  build the libFuzzer targets (build-fuzz, clang) and run
#                              one or all for SECONDS each (default 60); crash inputs land in
#                              build-fuzz/crashes/TARGET/, the grown corpus in build-fuzz/corpus/TARGET/
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

# The fuzz build's compiler: clang, and libFuzzer's runtime (libclang_rt.fuzzer), which
# clang-14 only recommends.
FUZZ_PKGS=(clang libclang-rt-14-dev)

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

# ./dev.sh fuzz [TARGET|all] [SECONDS]: every target in tests/fuzz/CMakeLists.txt's order,
# each for SECONDS from its checked-in seeds plus what earlier runs found; fails if any
# target crashed, leaked, hung (an input over 10 s) or ran out of memory.
fuzz() {
  local only=${1:-all} secs=${2:-60} dir="$ROOT/build-fuzz"
  log "configuring build-fuzz (clang, libFuzzer + ASan + UBSan)"
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Fuzz -DINFERGATE_FUZZ=ON \
    -DINFERGATE_WERROR="${INFERGATE_WERROR:-ON}" >/dev/null
  local targets=()
  while read -r name dict; do
    [ -n "$name" ] || continue
    if [ "$only" = all ] || [ "$only" = "$name" ]; then targets+=("$name:$dict"); fi
  done <"$dir/fuzz_targets.txt"
  if [ ${#targets[@]} -eq 0 ]; then
    echo "no fuzz target named $only; targets: $(cut -d' ' -f1 "$dir/fuzz_targets.txt" | tr '\n' ' ')" >&2
    exit 2
  fi
  log "building build-fuzz ($only)"
  if [ "$only" = all ]; then cmake --build "$dir" --target fuzz -j"$(nproc)"
  else cmake --build "$dir" --target "fuzz_$only" -j"$(nproc)"; fi
  local failed=() t name dict args
  for t in "${targets[@]}"; do
    name=${t%%:*} dict=${t#*:}
    mkdir -p "$dir/corpus/$name" "$dir/crashes/$name"
    args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix="$dir/crashes/$name/")
    [ -z "$dict" ] || args+=(-dict="$ROOT/tests/fuzz/dict/$dict.dict")
    log "fuzz $name for ${secs}s"
    if ! "$dir/fuzz_$name" "${args[@]}" "$dir/corpus/$name" "$ROOT/tests/fuzz/corpus/$name" \
        >"$dir/crashes/$name.log" 2>&1; then
      failed+=("$name")
      tail -n 40 "$dir/crashes/$name.log"
    fi
    grep -E '^stat::number_of_executed_units|^#[0-9]+ +DONE' "$dir/crashes/$name.log" | tr '\n' ' ' || true
    echo
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${failed[*]} failed; inputs in build-fuzz/crashes/<target>/, logs in build-fuzz/crashes/<target>.log" >&2
    exit 1
  fi
  log "fuzz: ${#targets[@]} target(s) ran ${secs}s each without a finding"
}

cmd=${1:-help}; shift || true
case "$cmd" in
  deps) deps ;;
  fuzz) deps "${FUZZ_PKGS[@]}"; fuzz "$@" ;;
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
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = help ] || exit 2
    ;;
esac
