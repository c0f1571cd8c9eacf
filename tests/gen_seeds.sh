#!/usr/bin/env bash
# Random scenarios: for each seed, bin/gen --seed S writes a script, bin/master
# runs it (writing a history) and must exit 0; then, when bin/check exists, it
# must find the history valid (exit 0). Afterwards no process recorded in the
# run's pid files may be alive (a survivor fails the seed and is killed by its
# recorded pid, never by name).
#
# usage: tests/gen_seeds.sh [--count N] [--keep-failed] [-- GEN-OPTIONS...]
#   default seeds: 20 fixed seeds; SEEDS="1 2 3" overrides them, --count N
#   runs seeds 1..N. BIN (default bin) says where the binaries are;
#   GEN_SEEDS_TIMEOUT (default 120) bounds each master run in seconds.
#   --keep-failed keeps the script, stdout, stderr and history of failing seeds
#   (their directory is printed). Options after -- go to bin/gen.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
case "$BIN" in /*) bindir=$BIN ;; *) bindir="$PWD/$BIN" ;; esac
GEN="$bindir/gen"
MASTER="$bindir/master"
CHECK="$bindir/check"
TIMEOUT=${GEN_SEEDS_TIMEOUT:-120}
DEFAULT_SEEDS="1 2 3 4 5 6 7 8 9 10 11 12 13 42 99 123 777 2024 31337 65535"

seeds=${SEEDS:-$DEFAULT_SEEDS}
keep_failed=0
gen_opts=()
while [ $# -gt 0 ]; do
    case "$1" in
    --count)
        [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] || { echo "gen-seeds: --count needs a number" >&2; exit 2; }
        seeds=$(seq 1 "$2" | tr '\n' ' '); shift 2 ;;
    --keep-failed) keep_failed=1; shift ;;
    --) shift; gen_opts=("$@"); break ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gen-seeds: unknown argument '$1'" >&2; exit 2 ;;
    esac
done

for b in "$GEN" "$MASTER"; do
    [ -x "$b" ] || { echo "gen-seeds: $b is not built (run make)" >&2; exit 2; }
done
have_check=0
[ -x "$CHECK" ] && have_check=1

work=$(mktemp -d "${TMPDIR:-/tmp}/daadkvs-gen-seeds.XXXXXX")
kept=""
cleanup_work() {
    # Any process still recorded in a run left behind is ended by its pid.
    local rec pid started
    for rec in "$work"/*/base/run-*/pids/*.pid; do
        [ -f "$rec" ] || continue
        read -r pid started < "$rec" || continue
        if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(start_time "$pid")" = "$started" ]; then
            kill -KILL "$pid" 2>/dev/null
        fi
    done
    rm -rf "$work"
}
trap cleanup_work EXIT
trap 'exit 130' INT TERM

. scripts/pids.sh # start_time

# Prints the survivors of a run base ("NAME pid PID") and kills them by the
# recorded pid (only when the start time still matches, so a reused pid is
# never hit). Returns 1 when there was any.
survivors() {
    local base=$1 rec pid started now found=0
    for rec in "$base"/run-*/pids/*.pid; do
        [ -f "$rec" ] || continue
        read -r pid started < "$rec" || continue
        [[ "$pid" =~ ^[0-9]+$ ]] || continue
        now=$(start_time "$pid") || continue
        if [ "$now" = "$started" ]; then
            echo "$(basename "$rec" .pid) pid $pid"
            kill -KILL "$pid" 2>/dev/null
            found=1
        fi
    done
    return $found
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# Light properties of the history, checked with jq (tests/prereqs.sh: CI
# fails without it, elsewhere they are skipped with a note)
# (bin/check, when built, checks far more): every value read by a get or shown
# by printStore was written by some put of that key, and after the final
# stabilize the servers of each group named by the script's "# final group:"
# comments show identical stores. Prints one line per violation.
have_jq=0
tests/prereqs.sh jq
case $? in 0) have_jq=1 ;; 3) ;; *) exit 2 ;; esac
properties() {
    local script=$1 hist=$2 from groups
    from=$(grep -n '^stabilize' "$script" | tail -1 | cut -d: -f1)
    groups=$(sed -n 's/^# final group://p' "$script" |
             awk 'BEGIN { printf "[" } { printf "%s[", (NR > 1 ? "," : "");
                  for (i = 1; i <= NF; i++) printf "%s%s", (i > 1 ? "," : ""), $i; printf "]" }
                  END { print "]" }')
    jq -rs --argjson from "${from:-0}" --argjson groups "$groups" '
      (map(select(.cmd == "put" and .ok)) | map({key: (.key + "\t" + .value), value: true})
       | from_entries) as $w
      | (.[] | select(.cmd == "get" and .result == "ok")
             | select($w[.key + "\t" + .value] | not)
             | "line \(.line): get read \(.key):\(.value), which no put wrote"),
        (.[] | select(.cmd == "printStore" and .ok) | . as $r | .store[]
             | select($w[.[0] + "\t" + .[1]] | not)
             | "line \($r.line): printStore shows \(.[0]):\(.[1]), which no put wrote"),
        ((map(select(.cmd == "printStore" and .ok and .line > $from))
          | map({key: (.server | tostring), value: (.store | tojson)}) | from_entries) as $st
         | $groups[] | . as $g | [$g[] | $st[tostring]] | unique | select(length > 1)
         | "after the final stabilize, servers \($g | join(" ")) show different stores")
    ' "$hist"
}

pass=0 fail=0 failed=() reasons=()
t_all=$EPOCHREALTIME
for s in $seeds; do
    d="$work/$s"; mkdir -p "$d/base"
    t0=$EPOCHREALTIME
    msg=""
    if ! "$GEN" --seed "$s" "${gen_opts[@]}" > "$d/script" 2> "$d/gen.err"; then
        msg="bin/gen failed: $(head -c 300 "$d/gen.err")"
    else
        # --keep leaves the run directory (and its pid records) for the check below.
        DAADKVS_RUN_BASE="$d/base" timeout -k 5 "$TIMEOUT" \
            "$MASTER" --keep --history "$d/history.jsonl" < "$d/script" > "$d/out" 2> "$d/err"
        rc=$?
        if [ "$rc" -ne 0 ]; then
            if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
                msg="master timed out after ${TIMEOUT}s"
            else
                msg="master exit status $rc"
            fi
            first=$(grep -m1 -E '^master: line [0-9]+' "$d/err")
            [ -n "$first" ] && msg="$msg; first error: $first"
            [ -z "$first" ] && msg="$msg; stderr: $(tail -c 300 "$d/err" | tr '\n' ' ')"
        fi
        left=$(survivors "$d/base") || {
            msg="${msg:+$msg; }processes left behind: $(echo $left)"
        }
        if [ -z "$msg" ] && [ "$have_jq" = 1 ]; then
            props=$(properties "$d/script" "$d/history.jsonl" 2>&1 | head -5)
            [ -n "$props" ] && msg="property violated: $(echo $props)"
        fi
        if [ -z "$msg" ] && [ "$have_check" = 1 ]; then
            "$CHECK" "$d/history.jsonl" > "$d/check.out" 2>&1
            crc=$?
            case $crc in
            0) ;;
            1) msg="bin/check: violation: $(head -c 400 "$d/check.out" | tr '\n' ' ')" ;;
            2) msg="bin/check: undecidable: $(head -c 400 "$d/check.out" | tr '\n' ' ')" ;;
            *) msg="bin/check exit status $crc: $(head -c 400 "$d/check.out" | tr '\n' ' ')" ;;
            esac
        fi
    fi
    t1=$EPOCHREALTIME
    secs=$(elapsed "$t0" "$t1")
    ncmd=$(grep -cv '^#' "$d/script" 2>/dev/null || echo 0)
    if [ -z "$msg" ]; then
        pass=$((pass + 1))
        echo "PASS seed $s ($ncmd commands, ${secs}s)"
        rm -rf "$d"
    else
        fail=$((fail + 1)); failed+=("$s"); reasons+=("$msg")
        echo "FAIL seed $s ($ncmd commands, ${secs}s): $msg"
        if [ "$keep_failed" = 1 ]; then
            keepdir=$(mktemp -d "${TMPDIR:-/tmp}/daadkvs-gen-seed-$s.XXXXXX")
            cp "$d"/script "$d"/out "$d"/err "$keepdir"/ 2>/dev/null
            cp "$d"/history.jsonl "$d"/check.out "$keepdir"/ 2>/dev/null
            echo "  kept in $keepdir"
        fi
        rm -rf "$d"
    fi
done
t_end=$EPOCHREALTIME

if [ "$fail" -gt 0 ]; then
    echo
    echo "failing seeds (reproduce with the commands below):"
    extra=""
    [ ${#gen_opts[@]} -gt 0 ] && extra=" ${gen_opts[*]}"
    for i in "${!failed[@]}"; do
        s=${failed[$i]}
        echo "  seed $s: ${reasons[$i]}"
        echo "    scripts/gen --seed $s$extra | $BIN/master"
        [ "$have_check" = 1 ] &&
            echo "    scripts/gen --seed $s$extra | $BIN/master --history h.jsonl >/dev/null; $BIN/check h.jsonl"
    done
fi
echo "gen-seeds: total time $(elapsed "$t_all" "$t_end")s"
echo "gen-seeds: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
