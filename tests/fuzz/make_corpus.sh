#!/usr/bin/env bash
# Regenerates the committed seed corpus of fuzz targets, in
# tests/fuzz/corpus/<target>/: runs each target for SECONDS (default 300)
# starting from its committed corpus, then keeps at most $XXL_SEEDS (64)
# inputs of at most 2 KiB that reach as much of what the run reached as
# they can (pick_seeds.py over libFuzzer's merge control file). Inputs with
# a name of our own (not a 40-digit hash) are regressions for bugs the
# target found; they are kept as they are.
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
    -merge_control_file="$WORK/$target.control" \
    "$WORK/$target/kept" "$WORK/$target/all" >>"$WORK/$target.log" 2>&1
  find "$dir" -type f -regextype egrep -regex '.*/[0-9a-f]{40}' -delete
  echo -n "$target: "
  tests/fuzz/pick_seeds.py "$WORK/$target.control" "${XXL_SEEDS:-64}" |
    while read -r seed; do
      name=$(sha1sum "$seed" | cut -c1-40)
      [[ -e $dir/$name ]] || cp "$seed" "$dir/$name"
    done
done
for target in "${TARGETS[@]}"; do
  dir=tests/fuzz/corpus/$target
  echo "$dir: $(ls "$dir" | wc -l) inputs, $(cat "$dir"/* | wc -c) bytes"
done
