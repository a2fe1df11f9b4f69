#!/usr/bin/env bash
# Build helper. The two newcomer commands (see README.md):
#   ./dev.sh run    install what is missing, build, start xxl-executor
#   ./dev.sh test   install what is missing, build, run the whole test suite
# Also: deps | build | format | format-check | sanitize address|thread
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${BUILD_DIR:-build}
# libclang-rt-14-dev: clang's sanitizer runtimes and libFuzzer (sanitize,
# .ci/fuzz); clang only recommends it, and deps installs no recommends.
PACKAGES=(build-essential cmake ninja-build pkg-config clang clang-format
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libgoogle-glog-dev libgflags-dev libabsl-dev libgtest-dev libgmock-dev
  python3 libclang-rt-14-dev)

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
  sanitize)
    kind=${2:?usage: dev.sh sanitize address|thread}
    deps; build "$BUILD_DIR-$kind" -DXXL_SANITIZE="$kind" -DCMAKE_CXX_COMPILER=clang++
    ctest --test-dir "$BUILD_DIR-$kind" --output-on-failure -j "$(nproc)" ;;
  format) sources | xargs clang-format -i ;;
  format-check) sources | xargs clang-format --dry-run --Werror ;;
  *) sed -n '2,6p' "$0"; exit 2 ;;
esac
