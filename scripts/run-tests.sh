#!/usr/bin/env bash
# Runs every test with bun test and ends with the plain line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
node_modules/.bin/bun test --timeout 120000 "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
pass=$(grep -Eo '^ *[0-9]+ pass$' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
fail=$(grep -Eo '^ *[0-9]+ fail$' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
rm -f "$out"
if [ "$pass" = 0 ] && [ "$fail" = 0 ]; then fail=1; echo "no test ran"; fi
[ "$rc" = 0 ] || [ "$fail" != 0 ] || fail=1
echo "$pass passed, $fail failed"
[ "$rc" = 0 ] && [ "$fail" = 0 ]
