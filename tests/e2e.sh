#!/usr/bin/env bash
# End-to-end scenarios: pipes every testcases/*.txt through bin/master and
# compares stdout with NAME.out (when present), the exit status with NAME.rc
# (default 0) and requires each line of NAME.stderr (a grep -E pattern) to
# match stderr. testcases/*.sh are self-checking scenarios, run with
# MASTER and RUN_BASE set. Then the reference scripts in ../shared run,
# with property checks (tests/prereqs.sh: CI fails without them, elsewhere
# they are skipped with a note). Every test gets its own run
# base; afterwards no recorded process may be alive and no run may be left.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
MASTER="$PWD/$BIN/master"
CHECK="$PWD/$BIN/check"
REFDIR=${REFDIR:-../shared/reference-scripts}
TIMEOUT=${E2E_TIMEOUT:-120}
work=$(mktemp -d "${TMPDIR:-/tmp}/daadkvs-e2e.XXXXXX")
trap 'scripts/cleanup "$work"/base-*/run-* >/dev/null 2>&1; rm -rf "$work"' EXIT
pass=0 fail=0 failed=()

# Fails when a recorded process of the run base is still alive or a run
# directory was left behind.
leftovers() {
    local base=$1 out
    out=$(scripts/cleanup "$base"/run-* 2>&1 | grep 'killed' || true)
    if [ -n "$out" ]; then echo "processes left behind: $out"; return 1; fi
    if compgen -G "$base/run-*" >/dev/null; then echo "run directory left behind"; return 1; fi
    return 0
}

# Every run's history must satisfy bin/check (SPEC section 4).
check_history() {
    local out
    out=$("$CHECK" "$1" 2>&1) || echo "bin/check rejects the history: $(printf '%s' "$out" | head -c 1500)"
}

# Sanitizer and valgrind reports fail a test even when its output is right.
sanitizer_report() {
    grep -Em3 'ERROR: (Address|Leak)Sanitizer|runtime error:|^==[0-9]+== ' "$1"
}

report() { # name status message
    if [ "$2" = ok ]; then pass=$((pass + 1)); echo "PASS $1"
    else fail=$((fail + 1)); failed+=("$1"); echo "FAIL $1: $3"; fi
}

run_txt() {
    local t=$1 name base rc want_rc msg=""
    name=$(basename "$t" .txt)
    base="$work/base-$name"; mkdir -p "$base"
    DAADKVS_RUN_BASE="$base" timeout -k 5 "$TIMEOUT" "$MASTER" --history "$work/$name.jsonl" \
        < "$t" > "$work/$name.out" 2> "$work/$name.err"
    rc=$?
    want_rc=0; [ -f "${t%.txt}.rc" ] && want_rc=$(cat "${t%.txt}.rc")
    [ "$rc" = "$want_rc" ] || msg="exit status $rc, expected $want_rc; stderr: $(head -c 600 "$work/$name.err")"
    if [ -z "$msg" ] && [ -f "${t%.txt}.out" ] && ! diff -u "${t%.txt}.out" "$work/$name.out" > "$work/$name.diff"; then
        msg="stdout differs: $(head -40 "$work/$name.diff")"
    fi
    if [ -z "$msg" ] && sanitizer_report "$work/$name.err" >/dev/null; then
        msg="sanitizer or valgrind report: $(sanitizer_report "$work/$name.err")"
    fi
    if [ -z "$msg" ] && [ -f "${t%.txt}.stderr" ]; then
        while IFS= read -r pat; do
            [ -z "$pat" ] && continue
            grep -Eq -- "$pat" "$work/$name.err" || { msg="stderr lacks /$pat/: $(head -c 600 "$work/$name.err")"; break; }
        done < "${t%.txt}.stderr"
    fi
    [ -z "$msg" ] && msg=$(check_history "$work/$name.jsonl")
    [ -z "$msg" ] && { msg=$(leftovers "$base") || true; }
    [ -z "$msg" ] && report "$name" ok || report "$name" bad "$msg"
}

run_sh() {
    local t=$1 name base msg=""
    name=$(basename "$t" .sh)
    base="$work/base-$name"; mkdir -p "$base"
    if ! MASTER="$MASTER" RUN_BASE="$base" DAADKVS_RUN_BASE="$base" ROOT="$PWD" \
         timeout -k 5 "$TIMEOUT" bash "$t" > "$work/$name.log" 2>&1; then
        msg="$(tail -20 "$work/$name.log")"
    elif sanitizer_report "$work/$name.log" >/dev/null; then
        msg="sanitizer or valgrind report: $(sanitizer_report "$work/$name.log")"
    fi
    [ -z "$msg" ] && { msg=$(leftovers "$base") || true; }
    [ -z "$msg" ] && report "$name" ok || report "$name" bad "$msg"
}

# Properties any run must have, whatever the timing: exit 0, and every get
# prints a value that some put wrote for that key, or ERR_KEY/ERR_DEP.
run_reference() {
    local t=$1 name base rc msg=""
    name="reference/$(basename "$t" .txt)"
    base="$work/base-ref-$(basename "$t" .txt)"; mkdir -p "$base"
    DAADKVS_RUN_BASE="$base" timeout -k 5 "$TIMEOUT" "$MASTER" --history "$work/ref.jsonl" \
        < "$t" > "$work/ref.out" 2> "$work/ref.err"
    rc=$?
    [ "$rc" = 0 ] || msg="exit status $rc; stderr: $(head -c 600 "$work/ref.err")"
    if [ -z "$msg" ] && sanitizer_report "$work/ref.err" >/dev/null; then
        msg="sanitizer report: $(sanitizer_report "$work/ref.err")"
    fi
    if [ -z "$msg" ]; then
        msg=$(awk 'NR==FNR { if ($1 == "put") w[$3 ":" $4] = 1; next }
                   { split($0, kv, ":"); k = kv[1]; v = substr($0, length(k) + 2)
                     if (!((k ":" v) in w) && v != "ERR_KEY" && v != "ERR_DEP") { print "unexpected line: " $0; exit } }' \
              "$t" "$work/ref.out")
    fi
    [ -z "$msg" ] && msg=$(check_history "$work/ref.jsonl")
    local exp="tests/reference-expected/$(basename "$t" .txt).out"
    if [ -z "$msg" ] && [ -f "$exp" ] && ! diff -u "$exp" "$work/ref.out" > "$work/ref.diff"; then
        msg="stdout differs: $(head -40 "$work/ref.diff")"
    fi
    [ -z "$msg" ] && { msg=$(leftovers "$base") || true; }
    [ -z "$msg" ] && report "$name" ok || report "$name" bad "$msg"
}

for t in testcases/*.txt; do run_txt "$t"; done
for t in testcases/*.sh; do [ -f "$t" ] && run_sh "$t"; done
# Without them: CI fails, elsewhere a note says they are skipped.
REFDIR=$REFDIR tests/prereqs.sh refs
case $? in
0) for t in $(ls "$REFDIR"/*.txt | sort -V); do run_reference "$t"; done ;;
3) ;;
*) report reference-scripts bad "$REFDIR is missing (CI)" ;;
esac
echo "end-to-end: $pass passed, $fail failed"
[ "$fail" = 0 ] || { printf 'failed: %s\n' "${failed[@]}"; exit 1; }
