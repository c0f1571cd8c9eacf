#!/usr/bin/env bash
# Soak for the protocol fixture (tests/fixture.h): runs the "fixture" unit
# suite with many more seeds in its randomized tests (random faults, random
# sessions), split over parallel processes, and lists the failing seeds with
# the command that replays each one.
#
# usage: tests/fixture_seeds.sh [--count N] [--start S] [--jobs J]
#   --count N  seeds per randomized test (default 2000)
#   --start S  first seed (default 1000000); seeds S .. S+N-1
#   --jobs J   parallel processes (default: the number of CPUs)
#   BIN (default bin) says where unit-tests is: BIN=bin-asan for the
#   sanitized build. The suite must be registered in tests/test_main.c.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
count=2000
start=1000000
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
    case "$1" in
    --count|--start|--jobs)
        [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] || { echo "fixture-seeds: $1 needs a number" >&2; exit 2; }
        case "$1" in --count) count=$2 ;; --start) start=$2 ;; --jobs) jobs=$2 ;; esac
        shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fixture-seeds: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ "$jobs" -ge 1 ] || jobs=1
UNIT="$BIN/unit-tests"
[ -x "$UNIT" ] || { echo "fixture-seeds: $UNIT is not built (make $UNIT)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/daadkvs-fixture-seeds.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$EPOCHREALTIME
per=$(( (count + jobs - 1) / jobs ))
shard=0
for (( from = start; from < start + count; from += per )); do
    n=$(( start + count - from < per ? start + count - from : per ))
    FIXTURE_SEEDS=$n FIXTURE_SEED_START=$from ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
        "$UNIT" fixture > "$work/$shard.out" 2>&1 &
    pids+=("$!")
    shard=$((shard + 1))
done
status=0
for p in "${pids[@]}"; do
    wait "$p" || status=1
done
pids=()
t1=$EPOCHREALTIME

failed=$(cat "$work"/*.out | grep -o '^fixture seed [0-9]* failed at step [0-9]* ([^)]*)' | sort -u)
if [ -n "$failed" ]; then
    echo "failing seeds (replay one with the command below it):"
    while read -r _ _ seed _ _ _ step test; do
        echo "  seed $seed, step $step $test"
        echo "    FIXTURE_SEED=$seed FIXTURE_TRACE=1 $UNIT fixture"
    done <<< "$failed"
    status=1
elif [ "$status" -ne 0 ]; then
    echo "fixture-seeds: unit-tests failed without naming a seed; its output:"
    tail -n 40 "$work"/*.out
fi
echo "fixture-seeds: $count seeds from $start per randomized test, $shard processes," \
     "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s"
[ "$status" -eq 0 ] && echo "fixture-seeds: all passed" || echo "fixture-seeds: FAILED"
exit "$status"
