#!/usr/bin/env bash
# Build helper. The two newcomer commands (see README.md):
#   ./dev.sh run    install what is missing, build, start xxl-executor
#   ./dev.sh test   install what is missing, build, run the whole test suite
# Also: deps | build | package | format | format-check | sanitize address|thread
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${BUILD_DIR:-build}
# libclang-rt-14-dev: clang's sanitizer runtimes and libFuzzer (sanitize,
# .ci/fuzz); clang only recommends it, and deps installs no recommends.
# prometheus: its promtool checks deploy/prometheus (the alert rules, their
# unit tests, the example configuration); the package also brings the
# server, whose service Debian starts (port 9090) where systemd runs.
PACKAGES=(build-essential cmake ninja-build pkg-config clang clang-format
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libgoogle-glog-dev libgflags-dev libabsl-dev libgtest-dev libgmock-dev
  python3 openssl curl libclang-rt-14-dev libcurl4-openssl-dev libboost1.74-dev
  prometheus-cpp-dev prometheus)

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  local dir=$1; shift
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

# TSan sees only what is built with it. Debian's abseil is not, so its Mutex
# looks like no synchronisation at all and every guarded field is reported.
# Build that same abseil (Debian's source package, Debian's patches, so the
# ABI matches what gRPC was built against) with TSan, once, into
# $1; the tests run with it on LD_LIBRARY_PATH, so gRPC uses it too.
tsan_abseil() {
  local prefix=$1
  [ -f "$prefix/lib/cmake/absl/abslConfig.cmake" ] && return 0
  local work
  work=$(mktemp -d)
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  if ! apt-get source --print-uris abseil >/dev/null 2>&1; then
    # The same archives as the binary packages (URIs, suites, components,
    # keyring): a mirror, a proxy or a snapshot serves the sources too.
    echo "enabling source packages of the configured apt sources (for abseil's source)"
    local entries
    entries=$(tools/apt-deb-src)
    printf '%s\n' "$entries" | $sudo tee /etc/apt/sources.list.d/xxl-executor-src.sources >/dev/null
    $sudo apt-get update -qq
  fi
  (cd "$work" && apt-get source -qq abseil >/dev/null 2>&1)
  local src
  src=$(find "$work" -maxdepth 1 -type d -name 'abseil-*' | head -1)
  cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=ON \
    -DCMAKE_CXX_FLAGS=-fsanitize=thread \
    -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread \
    -DCMAKE_INSTALL_PREFIX="$(realpath -m "$prefix")" >/dev/null
  cmake --build "$work/build" -j "$(nproc)" >/dev/null
  cmake --install "$work/build" >/dev/null
  rm -rf "$work"
}

sources() { git ls-files '*.h' '*.cc'; }

case "${1:-}" in
  deps) deps ;;
  build) deps; build "$BUILD_DIR" ;;
  run)
    shift
    deps; build "$BUILD_DIR"
    exec "$BUILD_DIR/server/xxl-executor" --app_name=xxl-executor-sample \
      --log_path=./data/xxl-executor "$@" ;;
  test)
    deps; build "$BUILD_DIR"
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" ;;
  package)
    # The Debian packages (cmake/package.cmake), into $BUILD_DIR/packages.
    deps; build "$BUILD_DIR"
    (cd "$BUILD_DIR" && cpack) ;;
  sanitize)
    kind=${2:?usage: dev.sh sanitize address|thread}
    deps
    dir=$BUILD_DIR-$kind
    if [ "$kind" = thread ]; then
      tsan_abseil "$dir/abseil"
      build "$dir" -DXXL_SANITIZE=thread -DCMAKE_CXX_COMPILER=clang++ \
        -Dabsl_DIR="$(realpath "$dir/abseil/lib/cmake/absl")"
      export LD_LIBRARY_PATH="$(realpath "$dir/abseil/lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp second_deadlock_stack=1 ignore_noninstrumented_modules=1 ${TSAN_OPTIONS:-}"
    else
      build "$dir" -DXXL_SANITIZE="$kind" -DCMAKE_CXX_COMPILER=clang++
      export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp ${LSAN_OPTIONS:-}"
    fi
    ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" ;;
  format) sources | xargs clang-format -i ;;
  format-check) sources | xargs clang-format --dry-run --Werror ;;
  *) sed -n '2,6p' "$0"; exit 2 ;;
esac
