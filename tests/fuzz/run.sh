#!/usr/bin/env bash
# Runs libFuzzer targets from the corpus kept in the repo (tests/fuzz/corpus/NAME).
#
#   tests/fuzz/run.sh [--smoke] [--seconds N] [--runs N] [--max-len [NAME=]N]... NAME...
#
# Long mode (make fuzz): each target fuzzes N seconds (or until it has run
# --runs inputs, when that comes first) from its kept corpus,
# writing what it finds into a scratch directory; then -merge=1 distils the
# kept and the new inputs into a fresh directory, which replaces the kept one.
# The kept corpus so only ever holds a minimal set that covers what was seen.
# Smoke mode (make fuzz-smoke, fuzz-check): the same run, but the kept corpus
# is only read, never changed, so CI leaves the tree as it found it.
#
# Per target it prints executions, seconds, exec/s, corpus entries and the
# verdict; a crash, leak, timeout or out-of-memory is a finding: the artifact
# and the log stay in $BUILD/fuzz-run/NAME/ and the script exits 1 after
# running the other targets. Exit 2 on a usage error or a missing binary.
#
# Environment: BIN (default bin) holds fuzz_NAME; BUILD (default build)
# holds the scratch directories; FUZZ_FLAGS, more libFuzzer flags for the
# run (e.g. "-fork=1 -ignore_crashes=1" to go on past a known finding). The dictionary is tests/fuzz/NAME.dict or
# tests/check/NAME.dict, when either exists.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${BIN:-bin}
build=${BUILD:-build}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
case $build in /*) ;; *) build=$root/$build ;; esac

smoke=0
seconds=600
runs=-1
# Longer inputs than this are cut by libFuzzer: parsers' interesting cases
# fit (deep nesting is generated from a few bytes by fuzz_screen), and it
# keeps the corpus in git small.
max_len=4096
# A parser that needs this long for one input hangs; the default (1200 s)
# would hide it for the length of a run.
timeout=30
# --max-len NAME=N sets one target's limit, for those whose long inputs are
# slow to run and bloat the corpus without reaching new code.
declare -A max_len_of
usage() {
    echo "usage: $0 [--smoke] [--seconds N] [--runs N] [--max-len [NAME=]N]... NAME..." >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --smoke) smoke=1 ;;
    --seconds) [ $# -ge 2 ] || usage; seconds=$2; shift ;;
    --runs) [ $# -ge 2 ] || usage; runs=$2; shift ;;
    --max-len)
        [ $# -ge 2 ] || usage
        case $2 in
        *=*) max_len_of[${2%%=*}]=${2#*=} ;;
        *) max_len=$2 ;;
        esac
        shift ;;
    -*) usage ;;
    *) break ;;
    esac
    shift
done
[ $# -gt 0 ] || usage
case $seconds${runs#-}$max_len${max_len_of[*]} in *[!0-9\ ]*) usage ;; esac

if [ $smoke = 1 ]; then scratch=$build/fuzz-corpus; else scratch=$build/fuzz-run; fi
mkdir -p "$scratch" || exit 2

# Prints the number of executions libFuzzer reported in log $1: the final
# stats when it printed them, else its last status line.
execs_of() {
    local n
    n=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$1" | tail -n 1)
    [ -n "$n" ] || n=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$1" | tail -n 1)
    echo "${n:-0}"
}

read -r -a extra <<< "${FUZZ_FLAGS:-}"
findings=()
rows=()
for n in "$@"; do
    fuzzer=$bin/fuzz_$n
    [ -x "$fuzzer" ] || { echo "run.sh: $fuzzer is missing (make fuzz-build)" >&2; exit 2; }
    kept=$here/corpus/$n
    mkdir -p "$kept"
    work=$scratch/$n
    len=${max_len_of[$n]:-$max_len}
    rm -rf "$work" "$work.log"
    mkdir -p "$work/new"
    dict=()
    for d in "$here/$n.dict" "$root/tests/check/$n.dict"; do
        [ -f "$d" ] && { dict=("-dict=$d"); break; }
    done
    echo "fuzz_$n: $seconds s from $(ls "$kept" | wc -l) kept inputs, max_len $len"
    start=$(date +%s)
    # The first directory gets the new inputs; the kept one is only read.
    "$fuzzer" -max_total_time="$seconds" -runs="$runs" -max_len="$len" -timeout="$timeout" \
        -print_final_stats=1 -artifact_prefix="$work/" "${dict[@]}" "${extra[@]}" \
        "$work/new" "$kept" > "$work.log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    [ "$secs" -gt 0 ] || secs=1
    execs=$(execs_of "$work.log")
    artifacts=$(find "$work" -maxdepth 1 -type f \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
    verdict=none
    if [ $rc != 0 ] || [ -n "$artifacts" ]; then
        verdict="FINDING (exit $rc)"
        findings+=("fuzz_$n: exit $rc, log $work.log${artifacts:+, artifact }$(echo $artifacts)")
        # The end of the log without libFuzzer's progress lines: the
        # target's own message, the sanitizer's report, the input.
        grep -v '^#[0-9]' "$work.log" | tail -n 60
    fi
    if [ $smoke = 0 ]; then
        # Minimise: a fresh directory first, so -merge=1 keeps only inputs
        # that add coverage, from the kept and the new ones alike.
        rm -rf "$work/merged"
        mkdir -p "$work/merged"
        if "$fuzzer" -merge=1 -max_len="$len" -timeout="$timeout" \
                "$work/merged" "$kept" "$work/new" > "$work.merge.log" 2>&1 &&
                [ -n "$(ls "$work/merged")" ]; then
            rm -rf "$kept"
            cp -r "$work/merged" "$kept"
        else
            echo "fuzz_$n: merge failed (log $work.merge.log); kept corpus unchanged"
            findings+=("fuzz_$n: merge failed, log $work.merge.log")
        fi
    fi
    entries=$(ls "$kept" | wc -l)
    # Bytes of content, not disk blocks: what git stores.
    kib=$(find "$kept" -type f -printf '%s\n' | awk '{ s += $1 } END { print int((s + 1023) / 1024) }')
    row=$(printf '%-12s %12s %7s %8s %8s %7s  %s' "fuzz_$n" "$execs" "$secs" \
        $((execs / secs)) "$entries" "$kib" "$verdict")
    rows+=("$row")
    echo "$row"
done

# The table again, together, after the long runs' progress lines.
if [ $smoke = 0 ]; then
    printf '\n%-12s %12s %7s %8s %8s %7s  %s\n' target executions seconds 'exec/s' corpus KiB findings
    printf '%s\n' "${rows[@]}"
fi
if [ ${#findings[@]} -gt 0 ]; then
    printf 'FINDING %s\n' "${findings[@]}"
    exit 1
fi
exit 0
