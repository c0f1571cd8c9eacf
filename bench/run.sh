#!/usr/bin/env bash
# bench/run.sh: the benchmark suite behind `make bench`.
#
# Generates the workload scripts in a private temp dir, runs each one
# BENCH_RUNS times through `bin/master --stats` (W6/W7 through
# `bin/master --history`, fed via a FIFO so that memory can be sampled before
# EOF), measures the 2-hop round-trip floor with bin/bench-floor in every
# round, and prints one table of median/min/max per figure. The same figures
# go to bench/results.csv; with gnuplot installed, bench/results.png shows
# throughput and stabilize latency against the number of servers (W5).
#
# results.csv columns: workload, metric, unit, median, min, max, target,
# ratio_to_floor, pass, ratio_to_tcp_floor. The ratios are the fraction of
# the 2-hop floor achieved with the same payload (rate / floor rate, or
# floor latency / latency; 1 = as fast as the floor), against XML-RPC over
# the product's framing encoded by xmlrpc-c (the issue's reference floor)
# and against raw TCP; empty where not meaningful. The floor is also
# measured with the product's own put/get codec (transport "flat", rows
# floor.flat.* and W1's share of it), which is what a put pays per hop.
# pass is pass, FAIL, - (no target) or "no data".
#
# Environment:
#   BENCH_RUNS=5        runs per workload (the median is reported)
#   BENCH_QUICK=1       one run of smaller workloads, to try things out
#   BENCH_TIMEOUT=900   seconds one master run may take before it is stopped
#   BENCH_ONLY="w1 w6"  run only these workloads (w1 w1ns w2 w3 w4 w5 w6; w6
#                       gives W7 too); the floor is always measured. Default: all
#   BENCH_OUT=bench     where results.csv and results.png go
#   BIN=bin             where master and bench-floor are
#   NOAUTH_BIN=         a build without authentication (make NOAUTH=1 puts it
#                       in bin-noauth): W1 also runs through it, alternately
#                       with BIN, for the cost of authentication
#
# Workloads (ids of servers and clients are disjoint):
#   W1  5 servers, clients 5-9 one per server, 10,000 rotating puts of 10-byte
#       values on 1,000 keys, one stabilize; commands/s of the whole script;
#       with NOAUTH_BIN, each round also without authentication, right
#       after: the ratio of the two is what authentication costs
#   W1ns  W1's script on three machines made of network namespaces
#       (tests/netns/lib.sh: a bridge, veths, a standing watchdog on each,
#       the master on a fourth) through --config, W1's servers and clients
#       spread over them by the cluster file's rule; right after W1 in each
#       round: its commands/s and its ratio to that round's W1. Needs root
#       and iproute2, else it is skipped with a note
#   W2  the same with 2,000 puts of 10 KiB values
#   W3  20 joinServer, 20 joinClient (100 puts, a stabilize), 20 killServer
#   W4  the one stabilize after W1's and W2's bursts; a chain of 10 servers
#       (non-adjacent links cut) after 1,000 puts at one end
#   W5  N = 3, 5, 10, 20, 32 servers in a complete graph, N clients, 5,000
#       rotating puts, one stabilize: commands/s, messages per put
#   W6  5 servers; kill one; 100,000 puts of 100-byte values through the
#       others; rejoin it; stabilize: rejoin + stabilize time
#   W7  peak RSS (VmHWM) of every server and of the master at the end of W6
#       (a 100,013-line script), read from /proc before EOF
#
# No fixed ports (every process binds port 0 on loopback), no process left
# behind: on any exit the masters this script started are stopped and every
# process recorded in their run directories is killed (pid and start time
# checked, never by name).
set -u
set -o pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
BIN=${BIN:-bin}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
NOAUTH_BIN=${NOAUTH_BIN:-}
case $NOAUTH_BIN in '' | /*) ;; *) NOAUTH_BIN=$ROOT/$NOAUTH_BIN ;; esac
[ -z "$NOAUTH_BIN" ] || [ -x "$NOAUTH_BIN/master" ] ||
    { echo "bench: $NOAUTH_BIN/master is missing (make NOAUTH=1)" >&2; exit 2; }
RUNS=${BENCH_RUNS:-5}
QUICK=${BENCH_QUICK:-0}
TIMEOUT=${BENCH_TIMEOUT:-900}
OUT=${BENCH_OUT:-$ROOT/bench}
case $RUNS in '' | *[!0-9]* | 0) echo "bench: BENCH_RUNS must be a positive integer" >&2; exit 2 ;; esac
[ "$QUICK" = 1 ] && RUNS=1
ONLY=${BENCH_ONLY:-w1 w1ns w2 w3 w4 w5 w6}
for w in $ONLY; do
    case $w in w[1-6] | w1ns) ;; *) echo "bench: BENCH_ONLY: unknown workload '$w' (w1 w1ns w2 ... w6)" >&2; exit 2 ;; esac
done
want() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# Sizes: the issue's, or small ones for BENCH_QUICK=1.
W1_PUTS=10000 W2_PUTS=2000 W3_SERVERS=20 W3_PUTS=100 W4_CHAIN=10 W4_PUTS=1000
W5_NS="3 5 10 20 32" W5_PUTS=5000 W6_PUTS=100000 FLOOR_CALLS=2000 FLOOR_WARMUP=200
if [ "$QUICK" = 1 ]; then
    W1_PUTS=2000 W2_PUTS=400 W4_PUTS=200 W5_PUTS=1000 W6_PUTS=10000
    FLOOR_CALLS=500 FLOOR_WARMUP=50
fi
KEYS=1000
BIG=10240   # W2 value size (10 KiB)
MID=100     # W6 value size
MARK=bench-end-marker

for p in master server client watchdog bench-floor; do
    [ -x "$BIN/$p" ] || { echo "bench: $BIN/$p is missing (run make bench)" >&2; exit 2; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/daadkvs-bench.XXXXXX") || exit 2
VALS=$TMP/vals
mkdir -p "$VALS" "$TMP/scripts" "$TMP/runs"
CUR_MASTER= CUR_CAT= WFD=
NOTES=()

say() { echo "bench: $*" >&2; }

# ---- process hygiene -----------------------------------------------------

. scripts/pids.sh # start_time

# Kills every process recorded under the run bases of this benchmark whose
# start time still matches its record.
kill_recorded() {
    local rec pid started now
    for rec in "$TMP"/runs/*/base/run-*/pids/*.pid; do
        [ -f "$rec" ] || continue
        read -r pid started < "$rec" || continue
        case $pid in '' | *[!0-9]*) continue ;; esac
        now=$(start_time "$pid") || continue
        [ "$now" = "$started" ] && kill -KILL "$pid" 2>/dev/null &&
            say "killed leftover $(basename "$rec" .pid) (pid $pid)"
    done
}

stop_pid() { # PID: TERM, then KILL after 10 s
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

cleanup() {
    trap - EXIT INT TERM
    [ -n "$WFD" ] && eval "exec $WFD>&-" 2>/dev/null
    stop_pid "$CUR_CAT"
    stop_pid "$CUR_MASTER"
    kill_recorded
    ns_teardown # W1ns: every process in its namespaces, and the namespaces
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# Waits for the master PID, stopping it after TIMEOUT seconds; sets RC, and
# STOPPED=1 when it had to be stopped (its figures are then left out).
wait_master() {
    local pid=$1 deadline=$((SECONDS + TIMEOUT))
    STOPPED=0
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            say "master (pid $pid) still running after ${TIMEOUT} s: stopping it; this run's figures are left out"
            NOTES+=("a run was stopped after BENCH_TIMEOUT=${TIMEOUT} s; its figures are left out (see the run counts)")
            STOPPED=1
            stop_pid "$pid"
            kill_recorded
            break
        fi
        sleep 0.05
    done
    wait "$pid" 2>/dev/null
    RC=$?
    CUR_MASTER=
}

# ---- figures -------------------------------------------------------------

rec() { echo "$2" >> "$VALS/$1"; } # KEY VALUE: one per-run value

# stat_col ERRFILE COMMAND COLUMN: from "stats: CMD count failed p50 p99 max"
# (COLUMN 3 count, 4 failed, 5 p50 ms, 6 p99 ms, 7 max ms).
stat_col() {
    awk -v c="$2" -v k="$3" '$1 == "stats:" && $2 == c && $3 ~ /^[0-9]+$/ { print $k; exit }' "$1"
}
stat_cps() { # commands/s of the whole script, from "N commands in S s"
    awk '$1 == "stats:" && $3 == "commands" && $4 == "in" && $6 == "s:" { if ($5 > 0) printf "%.1f\n", $2 / $5; exit }' "$1"
}
stat_failed() { awk '$1 == "stats:" && $3 ~ /^[0-9]+$/ && NF == 7 { f += $4 } END { print f + 0 }' "$1"; }
# Frames: prints "upd ack lsa hello", from the replication line and the
# join and link-state line.
stat_frames() {
    local r j
    r=$(sed -n 's/^stats: replication frames sent: upd \([0-9]*\), ack \([0-9]*\).*/\1 \2/p' "$1")
    j=$(sed -n 's/^stats: join and link-state frames sent (not per put): hello \([0-9]*\), lsa \([0-9]*\).*/\2 \1/p' "$1")
    [ -n "$r" ] && [ -n "$j" ] && echo "$r $j"
}

# check_run NAME: notes a run whose master failed or whose commands failed.
check_run() {
    local name=$1 dir=$2 failed
    failed=$( [ -f "$dir/err" ] && stat_failed "$dir/err")
    if [ "$RC" != 0 ] || [ "${failed:-0}" != 0 ]; then
        NOTES+=("$name: master exited $RC, ${failed:-?} failed command(s); first errors: $(grep -m 3 '^master:' "$dir/err" | tr '\n' ' ')")
        say "WARNING: $name: master exited $RC, ${failed:-?} failed command(s)"
    fi
}

# ---- script generation ---------------------------------------------------

# Random base64 text; values are substrings at random offsets, so that no
# two values share bytes and LevelDB's compression gains nothing.
RANDOM_TEXT=$TMP/random.txt
# A cluster secret for the floor's authenticated transport.
FLOOR_SECRET=$TMP/secret
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$FLOOR_SECRET")
head -c 800000 /dev/urandom | base64 -w0 | tr -d '\n' > "$RANDOM_TEXT"

# gen_puts PUTS CLIENT0 NCLIENTS VALUE_SIZE: rotating puts on KEYS keys;
# each value starts with its 10-digit sequence number.
gen_puts() {
    awk -v P="$1" -v C0="$2" -v NC="$3" -v L="$4" -v K="$KEYS" -v R="$RANDOM_TEXT" 'BEGIN {
        srand(12345)
        getline T < R
        n = length(T)
        for (i = 0; i < P; i++) {
            v = sprintf("%010d", i)
            if (L > 10)
                v = v substr(T, 1 + int(rand() * (n - L)), L - 10)
            else
                v = substr(v, 11 - L)
            printf "put %d k%d %s\n", C0 + i % NC, i % K, v
        }
    }'
}
gen_cluster() { # N SERVER0 CLIENT0: joinServer of N servers, a client on each
    local i
    for ((i = 0; i < $1; i++)); do echo "joinServer $(($2 + i))"; done
    for ((i = 0; i < $1; i++)); do echo "joinClient $(($3 + i)) $(($2 + i))"; done
}

say "generating workload scripts in $TMP/scripts"
S=$TMP/scripts
{ gen_cluster 5 0 5; gen_puts "$W1_PUTS" 5 5 10; echo stabilize; } > "$S/w1.txt"
{ gen_cluster 5 0 5; gen_puts "$W2_PUTS" 5 5 "$BIG"; echo stabilize; } > "$S/w2.txt"
{
    gen_cluster "$W3_SERVERS" 1 101
    gen_puts "$W3_PUTS" 101 "$W3_SERVERS" 10
    echo stabilize
    for ((i = 1; i <= W3_SERVERS; i++)); do echo "killServer $i"; done
} > "$S/w3.txt"
{
    for ((i = 1; i <= W4_CHAIN; i++)); do echo "joinServer $i"; done
    for ((i = 1; i <= W4_CHAIN; i++)); do
        for ((j = i + 2; j <= W4_CHAIN; j++)); do echo "breakConnection $i $j"; done
    done
    echo "joinClient 101 1"
    gen_puts "$W4_PUTS" 101 1 10
    echo stabilize
} > "$S/w4.txt"
for n in $W5_NS; do
    { gen_cluster "$n" 0 1000; gen_puts "$W5_PUTS" 1000 "$n" 10; echo stabilize; } > "$S/w5-$n.txt"
done
{
    for i in 0 1 2 3 4; do echo "joinServer $i"; done
    for i in 1 2 3 4; do echo "joinClient $((i + 4)) $i"; done
    echo "killServer 0"
    gen_puts "$W6_PUTS" 5 4 "$MID"
    echo "joinServer 0"
    echo stabilize
    echo "get 5 $MARK"
} > "$S/w6.txt"
W6_LINES=$(wc -l < "$S/w6.txt")

# ---- runners -------------------------------------------------------------

# run_stats NAME SCRIPT [BIN_DIR]: one `master --stats` run; leaves RC and
# DIR. Fails when the run had to be stopped.
run_stats() {
    DIR=$TMP/runs/$1
    mkdir -p "$DIR/base"
    local t0=$SECONDS
    DAADKVS_RUN_BASE=$DIR/base "${3:-$BIN}/master" --stats < "$2" > "$DIR/out" 2> "$DIR/err" &
    CUR_MASTER=$!
    wait_master "$CUR_MASTER"
    check_run "$1" "$DIR"
    say "$1: $(grep -m1 'commands in' "$DIR/err" | sed 's/^stats: //') (exit $RC, $((SECONDS - t0)) s)"
    [ "$STOPPED" = 0 ]
}

# Throughput, put latency, stabilize and frames of a --stats run: KEY prefix.
rec_common() {
    local k=$1 e=$DIR/err v fr
    v=$(stat_cps "$e") && [ -n "$v" ] && rec "$k.cps" "$v"
    v=$(stat_col "$e" put 5) && [ -n "$v" ] && rec "$k.put_p50" "$v"
    v=$(stat_col "$e" put 6) && [ -n "$v" ] && rec "$k.put_p99" "$v"
    v=$(stat_col "$e" stabilize 7) && [ -n "$v" ] && rec "$k.stab" "$v"
    fr=$(stat_frames "$e")
    local puts
    puts=$(awk -v c=put '$1 == "stats:" && $2 == c && $3 ~ /^[0-9]+$/ { print $3 - $4; exit }' "$e")
    if [ -n "$fr" ] && [ "${puts:-0}" -gt 0 ]; then
        set -- $fr
        rec "$k.mpp" "$(awk -v u="$1" -v a="$2" -v p="$puts" 'BEGIN { printf "%.3f\n", (u + a) / p }')"
        rec "$k.fpp" "$(awk -v u="$1" -v a="$2" -v l="$3" -v h="$4" -v p="$puts" \
            'BEGIN { printf "%.3f\n", (u + a + l + h) / p }')"
    fi
}

run_floor() { # round
    local f=$TMP/runs/floor-$1.txt t0=$SECONDS
    if ! "$BIN/bench-floor" --calls "$FLOOR_CALLS" --warmup "$FLOOR_WARMUP" \
        --size 10 --size "$MID" --size "$BIG" > "$f" 2> "$f.err"; then
        NOTES+=("floor round $1: bench-floor failed: $(head -c 300 "$f.err")")
        say "WARNING: bench-floor failed: $(head -c 300 "$f.err")"
    fi
    # The flat codec again, authenticated as the daemons' connections are
    # (a handshake per connection, a record per message): what it adds per
    # hop.
    if ! "$BIN/bench-floor" --calls "$FLOOR_CALLS" --warmup "$FLOOR_WARMUP" --size 10 \
        --transport flat --secret-file "$FLOOR_SECRET" | sed 's/transport=flat/transport=flatauth/' \
        >> "$f" 2>> "$f.err"; then
        NOTES+=("floor round $1: bench-floor with authentication failed: $(head -c 300 "$f.err")")
    fi
    local line tr sz us rate cps
    while read -r line; do
        tr=$(sed -n 's/.*transport=\([a-z]*\).*/\1/p' <<< "$line")
        sz=$(sed -n 's/.* size=\([0-9]*\).*/\1/p' <<< "$line")
        us=$(sed -n 's/.* median_us=\([0-9.]*\).*/\1/p' <<< "$line")
        rate=$(sed -n 's/.* median_rate_per_s=\([0-9.]*\).*/\1/p' <<< "$line")
        cps=$(sed -n 's/.* calls_per_s=\([0-9.]*\).*/\1/p' <<< "$line")
        [ -n "$tr" ] && [ -n "$sz" ] || continue
        rec "floor.$tr.$sz.rate" "$rate"
        rec "floor.$tr.$sz.cps" "$cps"
        rec "floor.$tr.$sz.us" "$us"
    done < "$f"
    say "floor round $1: $(awk '{ printf "%s/%s %s us; ", substr($2, 11), substr($3, 6), substr($5, 11) }' "$f")($((SECONDS - t0)) s)"
}

# proc_hwm PID STARTTIME: VmHWM in kB, when the pid is still that process.
proc_hwm() {
    local now
    now=$(start_time "$1") || return 1
    [ -z "$2" ] || [ "$now" = "$2" ] || return 1
    awk '/^VmHWM:/ { print $2; exit }' "/proc/$1/status" 2>/dev/null
}

# W6 + W7: fed through a FIFO; after the final stabilize and the marker get
# have run, the peak RSS of every server and of the master is read, then EOF.
run_w6() { # round
    DIR=$TMP/runs/w6-$1
    mkdir -p "$DIR/base"
    mkfifo "$DIR/in"
    local t0=$SECONDS deadline=$((SECONDS + TIMEOUT))
    DAADKVS_RUN_BASE=$DIR/base "$BIN/master" --history "$DIR/hist" < "$DIR/in" > "$DIR/out" 2> "$DIR/err" &
    CUR_MASTER=$!
    exec {WFD}> "$DIR/in"
    cat "$S/w6.txt" >&"$WFD" &
    CUR_CAT=$!
    until grep -q "^$MARK:" "$DIR/out" 2>/dev/null; do
        kill -0 "$CUR_MASTER" 2>/dev/null || break
        if ((SECONDS >= deadline)); then
            say "W6 round $1: no end marker after ${TIMEOUT} s"
            break
        fi
        sleep 0.2
    done
    local complete=0
    if grep -q "^$MARK:" "$DIR/out" 2>/dev/null; then
        complete=1
        local recf pid started hwm name max=0
        for recf in "$DIR"/base/run-*/pids/server-*.pid; do
            [ -f "$recf" ] || continue
            read -r pid started < "$recf" || continue
            name=$(basename "$recf" .pid)
            hwm=$(proc_hwm "$pid" "$started") || continue
            echo "$name $hwm" >> "$DIR/rss"
            ((hwm > max)) && max=$hwm
            rec "w7.rss.$name" "$(awk -v k="$hwm" 'BEGIN { printf "%.2f\n", k / 1024 }')"
        done
        ((max > 0)) && rec w7.server_rss "$(awk -v k="$max" 'BEGIN { printf "%.2f\n", k / 1024 }')"
        hwm=$(proc_hwm "$CUR_MASTER" "") &&
            rec w7.master_rss "$(awk -v k="$hwm" 'BEGIN { printf "%.2f\n", k / 1024 }')"
    fi
    exec {WFD}>&-
    WFD=
    stop_pid "$CUR_CAT" 2>/dev/null # already done unless the master died early
    CUR_CAT=
    [ "$complete" = 1 ] || stop_pid "$CUR_MASTER"
    wait_master "$CUR_MASTER"
    check_run "w6-$1" "$DIR"
    # From the history: the rejoin (the last joinServer), the final
    # stabilize, and the rate of the put phase.
    awk '
        function num(f,   m) { if (match($0, "\"" f "\":[0-9]+")) { m = substr($0, RSTART, RLENGTH); sub(/.*:/, "", m); return m + 0 } return -1 }
        /"cmd":"joinServer"/ { js = num("start_us"); je = num("end_us") }
        /"cmd":"stabilize"/ { ss = num("start_us"); se = num("end_us") }
        /"cmd":"put"/ { if (!p0) p0 = num("start_us"); p1 = num("end_us"); np++ }
        END {
            if (je > 0) printf "rejoin %.3f\n", (je - js) / 1e3
            if (se > 0) printf "stab %.3f\n", (se - ss) / 1e3
            if (je > 0 && se > 0) printf "total %.4f\n", ((je - js) + (se - ss)) / 1e6
            if (np > 0 && p1 > p0) printf "pps %.1f\n", np * 1e6 / (p1 - p0)
        }' "$DIR/hist" > "$DIR/fig"
    local k v
    if [ "$complete" = 1 ]; then
        while read -r k v; do rec "w6.$k" "$v"; done < "$DIR/fig"
    else
        NOTES+=("w6-$1 did not reach its end marker; its figures are left out")
    fi
    say "w6-$1: $(tr '\n' ' ' < "$DIR/fig")rss(kB): $(tr '\n' ' ' < "$DIR/rss" 2>/dev/null)(exit $RC, $((SECONDS - t0)) s)"
    rm -f "$DIR/hist"
}

# W1ns: three machines in network namespaces, each with a standing
# watchdog, the master on a fourth; NS_DIR/cluster.json names them.
NS_TAG=dkvbench$$
. tests/netns/lib.sh
WD_BIN=$BIN
NS_DIR=$TMP/ns
if want w1ns; then
    if ! why=$(ns_usable); then
        NOTES+=("W1ns skipped: $why")
        say "W1ns skipped: $why"
        ONLY=${ONLY//w1ns/}
    else
        mkdir -p "$NS_DIR"
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$NS_DIR/secret")
        ns_setup 3 || { say "cannot build the namespaces for W1ns"; exit 1; }
        for i in 1 2 3; do
            wd_start "$NS_DIR" "$i" || { say "W1ns: watchdog m$i reported no port"; exit 1; }
        done
        wd_cluster "$NS_DIR" 3
        say "W1ns: watchdogs on $(ns_addr 1), $(ns_addr 2), $(ns_addr 3); master on $(ns_addr 0)"
    fi
fi

# run_ns NAME SCRIPT: run_stats on the namespace machines, through --config.
run_ns() {
    DIR=$TMP/runs/$1
    mkdir -p "$DIR/base"
    local t0=$SECONDS
    DAADKVS_RUN_BASE=$DIR/base ip netns exec "$(ns_name 0)" "$BIN/master" --stats \
        --config "$NS_DIR/cluster.json" < "$2" > "$DIR/out" 2> "$DIR/err" &
    CUR_MASTER=$!
    wait_master "$CUR_MASTER"
    check_run "$1" "$DIR"
    say "$1: $(grep -m1 'commands in' "$DIR/err" | sed 's/^stats: //') (exit $RC, $((SECONDS - t0)) s)"
    [ "$STOPPED" = 0 ]
}

# ---- the rounds ----------------------------------------------------------

T_START=$SECONDS
load1() { cut -d' ' -f1 /proc/loadavg; }
LOAD_START=$(load1) LOAD_MAX=$LOAD_START
note_load() {
    local l
    l=$(load1)
    LOAD_MAX=$(awk -v a="$LOAD_MAX" -v b="$l" 'BEGIN { print (b > a ? b : a) }')
}
say "$RUNS run(s) per workload$([ "$QUICK" = 1 ] && echo ', quick sizes'); results in $OUT"
for ((r = 1; r <= RUNS; r++)); do
    note_load
    say "--- round $r/$RUNS (load average $(load1)) ---"
    run_floor "$r"
    w1=
    if want w1 && run_stats "w1-$r" "$S/w1.txt"; then
        rec_common w1
        w1=$(stat_cps "$DIR/err")
    fi
    if want w1 && [ -n "$NOAUTH_BIN" ]; then
        # The same, right after, without authentication: their ratio is
        # this round's cost of authentication.
        a=$w1
        if run_stats "w1-noauth-$r" "$S/w1.txt" "$NOAUTH_BIN"; then
            v=$(stat_cps "$DIR/err") && [ -n "$v" ] && rec w1.noauth_cps "$v" &&
                [ -n "$a" ] && rec w1.auth_ratio "$(awk -v a="$a" -v b="$v" 'BEGIN { printf "%.4f\n", a / b }')"
        fi
    fi
    if want w1ns && run_ns "w1ns-$r" "$S/w1.txt"; then
        # In the same round as W1: their ratio is what three machines cost.
        v=$(stat_cps "$DIR/err") && [ -n "$v" ] && rec w1ns.cps "$v" && [ -n "$w1" ] &&
            rec w1ns.ratio "$(awk -v a="$v" -v b="$w1" 'BEGIN { printf "%.4f\n", a / b }')"
        v=$(stat_col "$DIR/err" put 5) && [ -n "$v" ] && rec w1ns.put_p50 "$v"
    fi
    want w2 && run_stats "w2-$r" "$S/w2.txt" && rec_common w2
    if want w3 && run_stats "w3-$r" "$S/w3.txt"; then
        for c in joinServer joinClient killServer; do
            v=$(stat_col "$DIR/err" "$c" 5) && [ -n "$v" ] && rec "w3.$c.p50" "$v"
            v=$(stat_col "$DIR/err" "$c" 7) && [ -n "$v" ] && rec "w3.$c.max" "$v"
        done
    fi
    if want w4 && run_stats "w4chain-$r" "$S/w4.txt"; then
        v=$(stat_col "$DIR/err" stabilize 7) && [ -n "$v" ] && rec w4.chain "$v"
    fi
    for n in $W5_NS; do
        want w5 && run_stats "w5-n$n-$r" "$S/w5-$n.txt" && rec_common "w5.$n"
    done
done

W6_RUNS=$RUNS
want w6 || W6_RUNS=0
for ((r = 1; r <= W6_RUNS; r++)); do
    note_load
    say "--- W6/W7 round $r/$W6_RUNS ($W6_PUTS puts of $MID B, $W6_LINES lines) ---"
    t0=$SECONDS
    run_w6 "$r"
    if ((r == 1 && W6_RUNS > 3 && SECONDS - t0 > 120)); then
        W6_RUNS=3
        NOTES+=("W6/W7: one run took $((SECONDS - t0)) s (> 2 min), so W6/W7 ran 3 times instead of $RUNS")
        say "one W6 run took $((SECONDS - t0)) s: W6/W7 runs reduced to 3"
    fi
done
T_TOTAL=$((SECONDS - T_START))
note_load
LOAD_END=$(load1)

# ---- the report ----------------------------------------------------------

# stats_of KEY: "median min max count" of the per-run values, or nothing.
stats_of() {
    [ -s "$VALS/$1" ] || return 1
    sort -g "$VALS/$1" | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%s %s %s %d\n", m, v[1], v[NR], NR }'
}
median_of() { local s; s=$(stats_of "$1") || return 1; set -- $s; echo "$1"; }

# The floor rate: 1 s / median round trip, medians over the rounds.
F_X10=$(median_of floor.xmlrpc.10.rate) F_X100=$(median_of floor.xmlrpc.$MID.rate)
F_XBIG=$(median_of floor.xmlrpc.$BIG.rate)
F_T10=$(median_of floor.tcp.10.rate) F_T100=$(median_of floor.tcp.$MID.rate)
F_TBIG=$(median_of floor.tcp.$BIG.rate)
F_XUS10=$(median_of floor.xmlrpc.10.us) F_XUSBIG=$(median_of floor.xmlrpc.$BIG.us)
F_TUS10=$(median_of floor.tcp.10.us) F_TUSBIG=$(median_of floor.tcp.$BIG.us)
F_F10=$(median_of floor.flat.10.rate)

# W1's share of the XML-RPC floor, per run (against the median floor).
if [ -n "${F_X10:-}" ] && [ -s "$VALS/w1.cps" ]; then
    awk -v f="$F_X10" '{ printf "%.4f\n", $1 / f }' "$VALS/w1.cps" > "$VALS/w1.share"
fi
# ... and of the floor over the codec the put path really uses (rpcflat).
if [ -n "${F_F10:-}" ] && [ -s "$VALS/w1.cps" ]; then
    awk -v f="$F_F10" '{ printf "%.4f\n", $1 / f }' "$VALS/w1.cps" > "$VALS/w1.share_flat"
fi

CSV=$OUT/results.csv
mkdir -p "$OUT"
TABLE=$TMP/table.txt
echo "workload,metric,unit,median,min,max,target,ratio_to_floor,pass,ratio_to_tcp_floor" > "$CSV.tmp"
printf '%-8s %-52s %-10s %10s %10s %10s %12s %7s %7s  %s\n' workload metric unit median min max target \
    "x/xmlrpc" "x/tcp" result > "$TABLE"

fmt() { awk -v v="$1" 'BEGIN { a = v < 0 ? -v : v; printf (a >= 1000 ? "%.0f" : a >= 100 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f"), v }'; }

# row KEY WORKLOAD METRIC UNIT TARGET RATIO_KIND XMLRPC_FLOOR TCP_FLOOR
# TARGET: "" or OP NUMBER with OP one of >= <= < >.
# RATIO_KIND: rate (value / floor calls/s) or lat (floor us / (value ms * 1000)):
# both read as the fraction of the floor achieved (1 = as fast as the floor).
row() {
    local key=$1 wl=$2 metric=$3 unit=$4 target=$5 kind=${6:-} fx=${7:-} ft=${8:-}
    local s med mn mx n pass=- rx= rt=
    if ! s=$(stats_of "$key"); then
        printf '%-8s %-52s %-10s %10s %10s %10s %12s %7s %7s  %s\n' "$wl" "$metric" "$unit" n/a n/a n/a \
            "${target:--}" - - "no data" >> "$TABLE"
        echo "$wl,\"$metric\",$unit,,,,\"$target\",,no data," >> "$CSV.tmp"
        return
    fi
    set -- $s
    med=$1 mn=$2 mx=$3 n=$4
    if [ -n "$target" ]; then
        local op=${target%%[0-9.]*} num=${target##*[<>=]}
        pass=$(awk -v v="$med" -v op="$op" -v t="$num" 'BEGIN {
            ok = op == ">=" ? v >= t : op == "<=" ? v <= t : op == "<" ? v < t : v > t
            print ok ? "pass" : "FAIL" }')
    fi
    case $kind in
    rate)
        [ -n "$fx" ] && rx=$(awk -v v="$med" -v f="$fx" 'BEGIN { printf "%.3f", v / f }')
        [ -n "$ft" ] && rt=$(awk -v v="$med" -v f="$ft" 'BEGIN { printf "%.3f", v / f }') ;;
    lat)
        [ -n "$fx" ] && rx=$(awk -v v="$med" -v f="$fx" 'BEGIN { printf "%.3f", f / (v * 1000) }')
        [ -n "$ft" ] && rt=$(awk -v v="$med" -v f="$ft" 'BEGIN { printf "%.3f", f / (v * 1000) }') ;;
    esac
    printf '%-8s %-52s %-10s %10s %10s %10s %12s %7s %7s  %s\n' "$wl" "$metric" "$unit" "$(fmt "$med")" \
        "$(fmt "$mn")" "$(fmt "$mx")" "${target:--}" "${rx:--}" "${rt:--}" \
        "$pass$([ "$n" != "$RUNS" ] && [ "$wl" != W6 ] && [ "$wl" != W7 ] && echo " ($n runs)")" >> "$TABLE"
    echo "$wl,\"$metric\",$unit,$med,$mn,$mx,\"$target\",$rx,$pass,$rt" >> "$CSV.tmp"
}

for t in xmlrpc flat tcp; do
    for sz in 10 $MID $BIG; do
        row "floor.$t.$sz.us" floor "2-hop $t, $sz B: median round trip" us ""
        row "floor.$t.$sz.rate" floor "2-hop $t, $sz B: floor rate (1 s / median)" calls/s ""
        row "floor.$t.$sz.cps" floor "2-hop $t, $sz B: $FLOOR_CALLS sequential calls" calls/s ""
    done
done
row floor.flatauth.10.us floor "2-hop flat, 10 B, authenticated: median round trip" us ""
row floor.flatauth.10.rate floor "2-hop flat, 10 B, authenticated: floor rate" calls/s ""
row w1.cps W1 "5 servers, $W1_PUTS puts of 10 B, whole script" commands/s ">=6000" rate "${F_X10:-}" "${F_T10:-}"
row w1.share W1 "throughput / 2-hop xmlrpc floor (10 B)" ratio ">=0.60"
row w1.share_flat W1 "throughput / 2-hop flat-codec floor (10 B)" ratio ""
row w1.put_p50 W1 "put latency p50" ms "" lat "${F_XUS10:-}" "${F_TUS10:-}"
row w1.put_p99 W1 "put latency p99" ms ""
row w1.mpp W1 "messages per put (upd+ack frames / puts)" frames/put "<=8"
row w1.noauth_cps W1 "the same without authentication (comparison build)" commands/s ""
row w1.auth_ratio W1 "with / without authentication, per round" ratio ">=0.90"
row w1ns.cps W1ns "W1 over 3 namespace machines (--config)" commands/s "" rate "${F_X10:-}" "${F_T10:-}"
row w1ns.ratio W1ns "W1ns / W1 on one machine, per round" ratio ">=0.70"
row w1ns.put_p50 W1ns "put latency p50" ms ""
row w2.cps W2 "5 servers, $W2_PUTS puts of $BIG B, whole script" commands/s ">=2500" rate "${F_XBIG:-}" "${F_TBIG:-}"
row w2.put_p50 W2 "put latency p50" ms "" lat "${F_XUSBIG:-}" "${F_TUSBIG:-}"
row w2.put_p99 W2 "put latency p99" ms ""
for c in joinServer joinClient killServer; do
    case $c in joinServer) tg="<=15" ;; *) tg="<=5" ;; esac
    row "w3.$c.p50" W3 "$c p50 ($W3_SERVERS of each)" ms "$tg"
    row "w3.$c.max" W3 "$c max" ms ""
done
row w1.stab W4 "stabilize after W1's burst" ms "<=10"
row w2.stab W4 "stabilize after W2's burst" ms "<=30"
row w4.chain W4 "stabilize, chain of $W4_CHAIN after $W4_PUTS puts at one end" ms "<=50"
for n in $W5_NS; do
    tg=""
    [ "$n" = 32 ] && tg=">=1500"
    row "w5.$n.cps" W5 "N=$n, $W5_PUTS puts of 10 B, whole script" commands/s "$tg" rate "${F_X10:-}" "${F_T10:-}"
    row "w5.$n.stab" W5 "N=$n stabilize after the burst" ms ""
    row "w5.$n.mpp" W5 "N=$n messages per put (bound 2(N-1)=$((2 * (n - 1))))" frames/put "<$((n - 1))"
    row "w5.$n.fpp" W5 "N=$n all server frames per put (+lsa, hello)" frames/put ""
done
row w6.rejoin W6 "rejoin (joinServer of the killed server)" ms ""
row w6.stab W6 "final stabilize (catch-up of $W6_PUTS puts)" ms ""
row w6.total W6 "rejoin + stabilize" s "<=2"
row w6.pps W6 "put rate, $W6_PUTS puts of $MID B (history on)" puts/s "" rate "${F_X100:-}" "${F_T100:-}"
row w7.server_rss W7 "peak RSS of the largest server after W6" MB "<=32"
for i in 0 1 2 3 4; do
    row "w7.rss.server-$i" W7 "peak RSS of server $i$([ $i = 0 ] && echo ' (killed, rejoined, caught up)')" MB ""
done
row w7.master_rss W7 "peak RSS of the master, $W6_LINES-line script" MB "<=8"
mv "$CSV.tmp" "$CSV"

# ---- output --------------------------------------------------------------

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT+changes"
echo
echo "Daadkvs benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, $(nproc) CPUs, $(uname -sr)"
echo "$RUNS run(s) per workload (W6/W7: $W6_RUNS)$([ "$QUICK" = 1 ] && echo ', BENCH_QUICK sizes'); median, min and max of the runs; suite took $((T_TOTAL / 60)) min $((T_TOTAL % 60)) s"
echo "1-minute load average: $LOAD_START before the first run, at most $LOAD_MAX between rounds (this includes the suite's own processes), $LOAD_END at the end$(awk -v s="$LOAD_START" -v m="$LOAD_MAX" -v c="$(nproc)" 'BEGIN { if (s > 1 || m > c + 1) printf ": the machine was busy with other work, so the figures are pessimistic" }')"
echo "x/xmlrpc, x/tcp: the fraction of the 2-hop floor achieved (rate / floor rate, or floor latency / latency; 1 = as fast as the floor);"
echo "xmlrpc: XML-RPC encoded and decoded by xmlrpc-c over the product's framing (the reference floor); flat: the same XML-RPC by the product's own put/get codec (common/rpcflat.h), which puts and gets use;"
echo "the floor rate is 1 s / the median 2-hop round trip of bench-floor, median over the rounds (same payload: 10 B, $MID B or $BIG B)"
echo
cat "$TABLE"
echo
echo "Notes:"
echo "- commands/s counts every command of the script over the master's whole run (start-up and joins included), as master --stats reports it."
echo "- messages per put = (upd + ack frames sent between servers) / puts; W5's target is < N-1 (batching under load), which implies the bound 2(N-1); 'all server frames' adds lsa and hello frames."
echo "- W6 runs with --history (not --stats) so that the master's memory is the product's own; rejoin and stabilize come from that history."
echo "- W7 reads VmHWM from /proc of the live processes before EOF (/usr/bin/time would report the largest reaped descendant, i.e. a server, for the master)."
[ -z "$NOAUTH_BIN" ] || echo "- W1 without authentication runs $(basename "$NOAUTH_BIN")/ (make NOAUTH=1: the loop and the RPC client skip the handshake and records), right after the same round's W1, for this comparison only; the ratio is taken per round, its median reported."

want w1ns && echo "- W1ns runs W1's script through --config on three machines made of network namespaces (a bridge, a veth each, standing watchdogs; servers 0, 3 / 1, 4 / 2 and each client beside its server), the master on a fourth, in the same round as W1 (after W1's run without authentication); the ratio is taken per round."
for n in "${NOTES[@]}"; do echo "- $n"; done | awk '!seen[$0]++'
echo "Results written to $CSV"

if command -v gnuplot > /dev/null 2>&1; then
    DAT=$TMP/scale.dat
    for n in $W5_NS; do
        c=$(stats_of "w5.$n.cps") && st=$(stats_of "w5.$n.stab") && echo "$n ${c% *} ${st% *}"
    done > "$DAT"
    if [ -s "$DAT" ]; then
        term="pngcairo size 1100,480 font ',10'"
        gnuplot -e "set terminal pngcairo" > /dev/null 2>&1 || term="png size 1100,480"
        if gnuplot > "$TMP/gnuplot.log" 2>&1 <<EOF
set terminal $term
set output '$OUT/results.png.tmp'
set multiplot layout 1,2 title "Daadkvs W5: complete graph of N servers, $W5_PUTS rotating puts (median, min-max of $RUNS runs), commit $COMMIT"
set grid
set xlabel 'servers (N)'
set logscale x 2
set xrange [2.6:38]
set xtics (3, 5, 10, 20, 32)
set key top right box opaque
set ylabel 'commands/s (whole script)'
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
plot '$DAT' using 1:2:3:4 with yerrorlines lw 2 title 'throughput', \
     ${F_X10:-0} with lines dt 2 title '2-hop xmlrpc floor (10 B)'
set ylabel 'stabilize after the burst (ms)'
plot '$DAT' using 1:5:6:7 with yerrorlines lw 2 lc 2 title 'stabilize latency'
unset multiplot
EOF
        then
            mv "$OUT/results.png.tmp" "$OUT/results.png"
            echo "Plot written to $OUT/results.png"
        else
            rm -f "$OUT/results.png.tmp"
            echo "gnuplot failed: $(head -c 400 "$TMP/gnuplot.log")"
        fi
    fi
else
    echo "gnuplot is not installed: no plot (bench/results.png)"
fi
exit 0
