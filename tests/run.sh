#!/bin/sh
# Runs every test program (build/tests/test_*) and every tests/test_*.py, echoes their output,
# and ends with "N passed, N failed, N skipped". A program that exits non-zero without printing
# a FAIL line (a crash, a sanitizer report) counts as one failure.
BUILD=${RF_BUILD:-build}
export RF_BUILD="$BUILD"
pass=0; fail=0; skip=0
out=$(mktemp); trap 'rm -f "$out"' EXIT
run_one() {  # name, command...
    name=$1; shift
    echo "== $name"
    timeout "${RF_TEST_TIMEOUT:-900}" "$@" >"$out" 2>&1
    rc=$?
    cat "$out"
    p=$(grep -c '^ok ' "$out"); f=$(grep -c '^FAIL ' "$out"); s=$(grep -c '^skip ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: exited with status $rc"
        f=1
    fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done
for t in tests/test_*.py; do
    [ -f "$t" ] || continue
    run_one "$(basename "$t")" ${PYTHON:-python3} "$t"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
