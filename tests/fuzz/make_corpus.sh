#!/usr/bin/env bash
# Regenerates the committed seed corpus of fuzz targets, in
# tests/fuzz/corpus/<target>/: runs each target for SECONDS (default 300)
# starting from its committed corpus, then keeps the smallest set of inputs
# of at most 2 KiB that covers what the run reached (libFuzzer -merge=1).
# Inputs with a name of our own (not a 40-digit hash) are regressions for
# bugs the target found; they are kept as they are.
#   tests/fuzz/make_corpus.sh [SECONDS] [TARGET...]
# Builds the targets first (like .ci/fuzz, in $FUZZ_BUILD_DIR or build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-300}
shift || true
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] ||
  TARGETS=(run_admission_fuzzer log_pager_fuzzer outbox_fuzzer)
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

.ci/fuzz 0 "${TARGETS[@]}" >/dev/null
for target in "${TARGETS[@]}"; do
  dir=tests/fuzz/corpus/$target
  mkdir -p "$dir" "$WORK/$target/all" "$WORK/$target/kept"
  cp "$dir"/* "$WORK/$target/all/" 2>/dev/null || true
  "$BUILD/tests/fuzz/$target" -max_total_time="$SECONDS_PER_TARGET" \
    -max_len=2048 -timeout=90 "$WORK/$target/all" >"$WORK/$target.log" 2>&1
  "$BUILD/tests/fuzz/$target" -merge=1 -max_len=2048 \
    "$WORK/$target/kept" "$WORK/$target/all" >>"$WORK/$target.log" 2>&1
  find "$dir" -type f -regextype egrep -regex '.*/[0-9a-f]{40}' -delete
  cp "$WORK/$target/kept"/* "$dir"/
  echo "$target: $(ls "$dir" | wc -l) inputs, $(du -sh "$dir" | cut -f1)"
done
