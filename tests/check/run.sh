#!/bin/sh
# Runs bin/check on the fixture histories:
#   tests/check/valid/*.jsonl      must be accepted (exit 0)
#   tests/check/invalid/NAME.jsonl must be rejected (exit 1), and the output
#                                  must match the grep -E pattern in NAME.expect
#   every valid fixture cut in the middle of a line must give exit 2
# Prints "check-fixtures: N passed, M failed"; exits 1 when any failed.
# BIN (default bin) names the directory holding check.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${BIN:-bin}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
check=$bin/check
[ -x "$check" ] || { echo "run.sh: $check is missing (run make first)" >&2; exit 2; }
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL $1"
    [ -s "$tmp/out" ] && sed 's/^/    /' "$tmp/out" | head -n 20
}

for f in "$here"/valid/*.jsonl; do
    [ -e "$f" ] || continue
    n=valid/$(basename "$f")
    "$check" "$f" > "$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then ok; else bad "$n: exit $rc, want 0"; fi

    # Truncated in the middle of its last line: cannot decide.
    size=$(wc -c < "$f")
    head -c $((size - 7)) "$f" > "$tmp/cut.jsonl"
    "$check" "$tmp/cut.jsonl" > "$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq 2 ]; then ok; else bad "$n cut short: exit $rc, want 2"; fi

    # Cut at a line boundary: whole records, but no end record.
    head -n -1 "$f" > "$tmp/cut.jsonl"
    "$check" "$tmp/cut.jsonl" > "$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq 2 ]; then ok; else bad "$n without its end record: exit $rc, want 2"; fi
done

for f in "$here"/invalid/*.jsonl; do
    [ -e "$f" ] || continue
    n=invalid/$(basename "$f")
    expect=${f%.jsonl}.expect
    "$check" "$f" > "$tmp/out" 2>&1
    rc=$?
    if [ $rc -ne 1 ]; then
        bad "$n: exit $rc, want 1"
    elif [ ! -f "$expect" ]; then
        bad "$n: no $(basename "$expect")"
    elif ! grep -Eq -f "$expect" "$tmp/out"; then
        bad "$n: output lacks /$(cat "$expect")/"
    else
        ok
    fi
done

# Not a history at all, and a file that cannot be read.
printf 'not json\n' > "$tmp/junk.jsonl"
"$check" "$tmp/junk.jsonl" > "$tmp/out" 2>&1
rc=$?
if [ $rc -eq 2 ]; then ok; else bad "junk: exit $rc, want 2"; fi
"$check" "$tmp/does-not-exist.jsonl" > "$tmp/out" 2>&1
rc=$?
if [ $rc -eq 2 ]; then ok; else bad "missing file: exit $rc, want 2"; fi

echo "check-fixtures: $pass passed, $fail failed"
[ $fail -eq 0 ]
