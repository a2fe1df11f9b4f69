#!/usr/bin/env bash
# tools/apt-deb-src on sample apt configurations, both formats: each case is
# a directory under tests/tools/apt_deb_src/ holding an apt etc directory
# (etc/) and the expected output (expected, empty when the tool must fail).
#   apt_deb_src_test.sh TOOL
set -euo pipefail
TOOL=${1:?usage: apt_deb_src_test.sh TOOL}
CASES=$(dirname "$0")/apt_deb_src
failed=0
for dir in "$CASES"/*/; do
  dir=${dir%/}
  name=$(basename "$dir")
  rc=0
  actual=$("$TOOL" "$dir/etc" 2>/dev/null) || rc=$?
  expected=$(sed "s|@ETC@|$dir/etc|g" "$dir/expected")
  if [[ -z $expected ]]; then
    [[ $rc -eq 1 && -z $actual ]] && continue
    echo "FAIL $name: expected exit 1 and no output, got $rc:"
  elif [[ $rc -eq 0 && $actual == "$expected" ]]; then
    continue
  else
    echo "FAIL $name (exit $rc):"
    diff <(echo "$expected") <(echo "$actual") || true
  fi
  echo "$actual"
  failed=1
done
exit $failed
