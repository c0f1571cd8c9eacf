#!/usr/bin/env bash
# Several machines inside one box: network namespaces (tests/netns/lib.sh),
# a bridge and veth pairs; machines m1, m2, m3 (10.77.0.2-4) each run a
# standing watchdog on their own address, and the master runs on a fourth
# (10.77.0.1), through --config. It runs:
# - every testcases/*.txt (stdout and exit status as expected), the
#   reference scripts of ../shared/reference-scripts when present, and
#   generated seeds (NETNS_SEEDS, default 10): every history through
#   bin/check;
# - a machine crashed mid-run (every process in its namespace SIGKILLed,
#   its watchdog restarted): its servers rejoin with their data, no
#   acknowledged write lost (gets, printStore and bin/check);
# - a machine partitioned (its switch port down), then healed: the run
#   goes on, the master reports the machine lost and back;
# - a wrong secret: refused at start, exit status 2, naming the machine;
# - a stranger's put, kill and spawn (no secret, another secret): refused,
#   nothing changes;
# - a master killed with SIGKILL: no process and no run directory left on
#   any machine within a few seconds; the same when the master's machine
#   vanishes (its port down first: no connection closes, the watchdogs
#   notice the silence).
# Needs root and iproute2; otherwise it prints one "netns: skipped (...)"
# line and succeeds. Whatever happens, the EXIT trap kills every process
# in its namespaces (all started here) and deletes them.
#
#   BIN=bin-asan tests/netns.sh       (default BIN=bin)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BIN:-bin}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
WD_BIN=$BIN
REFDIR=${REFDIR:-$ROOT/../shared/reference-scripts}
SEEDS=${NETNS_SEEDS:-10}
source "$ROOT/tests/netns/lib.sh"

if ! why=$(ns_usable); then
    echo "netns: skipped ($why)"
    exit 0
fi
for p in master watchdog server client check gen rpccall; do
    [ -x "$BIN/$p" ] || { echo "netns: $BIN/$p is missing"; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/daadkvs-netns.XXXXXX")
mpid=
cleanup() {
    exec 7>&- 2> /dev/null
    ns_teardown
    [ -n "$mpid" ] && wait "$mpid" 2> /dev/null
    [ -n "${NETNS_KEEP:-}" ] && echo "netns: kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT
t0=$SECONDS
step() { echo "netns: $* ($((SECONDS - t0)) s)"; }
fail() {
    echo "netns: FAIL: $*"
    local f
    for f in "$dir"/*.err; do [ -s "$f" ] && tail -n 6 "$f" | sed "s|^|  $(basename "$f"): |"; done
    for f in "$dir"/watchdog-m*.log; do [ -f "$f" ] && tail -n 6 "$f" | sed "s|^|  $(basename "$f"): |"; done
    exit 1
}

ns_setup 3 || fail "cannot build the namespaces"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/secret")
for i in 1 2 3; do wd_start "$dir" "$i" || fail "watchdog m$i reported no port"; done
wd_cluster "$dir" 3
mkdir -m 700 "$dir/base"
export DAADKVS_RUN_BASE=$dir/base
master() { ns_exec 0 "$BIN/master" "$@"; }
# Sanitizer reports fail the test (BIN=bin-asan), whatever the output.
sanitizer_free() { # FILE WHAT
    local r
    r=$(grep -Em3 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$1") && fail "$2: sanitizer report: $r"
    return 0
}
check_history() { # NAME
    sanitizer_free "$dir/$1.err" "$1 (the master)"
    "$BIN/check" "$dir/$1.jsonl" > "$dir/$1.check" 2>&1 ||
        fail "$1: bin/check rejects the history: $(head -c 800 "$dir/$1.check")"
}
no_runs_left() { # a watchdog removes a run's directory when the run ends
    local i
    for i in 1 2 3; do
        wait_for "! compgen -G '$dir/data-m$i/run-*' > /dev/null" 50 ||
            fail "$1: machine m$i kept a run directory: $(ls "$dir/data-m$i")"
    done
}
step "3 machines and the master's up: m1-m3 at $(ns_addr 1)-$(ns_addr 3)"

# ---- scripts, unchanged, through --config ----------------------------------
# run NAME SCRIPT [EXPECTED_OUT] [EXPECTED_RC]
run() {
    local name=$1 script=$2 want_out=${3:-} want_rc=${4:-0} rc
    master --config "$dir/cluster.json" --history "$dir/$name.jsonl" < "$script" \
        > "$dir/$name.out" 2> "$dir/$name.err"
    rc=$?
    [ "$rc" = "$want_rc" ] || fail "$name: exit status $rc, want $want_rc: $(head -c 600 "$dir/$name.err")"
    if [ -n "$want_out" ] && ! diff -u "$want_out" "$dir/$name.out" > "$dir/$name.diff"; then
        fail "$name: stdout differs: $(head -30 "$dir/$name.diff")"
    fi
    check_history "$name"
    rm -f "$dir/$name".*
}
n=0
for t in testcases/*.txt; do
    name=$(basename "$t" .txt)
    out=; [ -f "${t%.txt}.out" ] && out=${t%.txt}.out
    rc=0; [ -f "${t%.txt}.rc" ] && rc=$(cat "${t%.txt}.rc")
    run "$name" "$t" "$out" "$rc"
    n=$((n + 1))
done
refs=0
if compgen -G "$REFDIR/*.txt" > /dev/null; then
    for t in "$REFDIR"/*.txt; do
        out=tests/reference-expected/$(basename "$t" .txt).out
        [ -f "$out" ] || out=
        run "ref-$(basename "$t" .txt)" "$t" "$out" 0
        refs=$((refs + 1))
    done
else
    echo "netns: note: no reference scripts in $REFDIR"
fi
for ((seed = 1; seed <= SEEDS; seed++)); do
    "$BIN/gen" --seed "$((7000 + seed))" > "$dir/gen.txt" 2> /dev/null || fail "gen --seed $((7000 + seed))"
    run "gen-$((7000 + seed))" "$dir/gen.txt" "" 0
done
for i in 1 2 3; do
    grep -q 'server [0-9]* started' "$dir/watchdog-m$i.log" || fail "machine m$i started no server"
done
no_runs_left scripts
step "ok: $n testcases, $refs reference scripts, $SEEDS generated seeds (7001-$((7000 + SEEDS))), histories checked"

# ---- a master fed through a FIFO, so the test acts between commands -------
master_start() { # NAME [MASTER OPTION...]
    local name=$1
    shift
    mkfifo "$dir/$name.fifo"
    # Not through a shell function, so that $! is the master itself.
    ip netns exec "$(ns_name 0)" "$BIN/master" --config "$dir/cluster.json" \
        --history "$dir/$name.jsonl" "$@" < "$dir/$name.fifo" > "$dir/$name.out" 2> "$dir/$name.err" &
    mpid=$!
    exec 7> "$dir/$name.fifo"
}
send() { printf '%s\n' "$@" >&7; }
master_end() { # NAME: end of input; the exit status in rc
    exec 7>&-
    wait "$mpid"
    rc=$?
    mpid=
    check_history "$1"
}
await_out() { # NAME LINES: the master printed at least LINES lines
    wait_for "[ \"\$(cat '$dir/$1.out' 2> /dev/null | grep -c .)\" -ge $2 ]" 300 ||
        fail "$1: the run stalled: $(cat "$dir/$1.out")"
}
await_err() { # NAME PATTERN
    wait_for "grep -Eq -- '$2' '$dir/$1.err'" 300 || fail "$1: no /$2/ on the master's stderr"
}
# Placement (no rule in the file): servers to m1, m2, m3 in the order the
# script first joins them, a client beside the server it first joins.

# ---- a machine crashes mid-run, and comes back ------------------------------
master_start crash
send "joinServer 1" "joinServer 2" "joinServer 3" \
     "joinClient 10 1" "joinClient 20 2" "joinClient 30 3" \
     "put 10 a 1" "put 20 b 2" "put 30 c 3" "stabilize" \
     "breakConnection 2 1" "breakConnection 2 3" "put 20 only2 x" "get 20 only2"
await_out crash 1
# m2's server 2 acknowledged only2 while cut off: once m2 is gone, the
# value lives on its disk only.
ns_crash 2 || fail "crash: processes of m2 survived SIGKILL: $(ns_pids 2)"
send "put 10 d 4" "stabilize" "printStore 1"
await_err crash 'machine m2 \(10\.77\.0\.3:[0-9]+\) is unreachable: .*1 servers and 1 clients'
await_out crash 5
# The machine reboots: its watchdog starts again on its port; the run's
# directory is there, so server 2 rejoins with its data.
wd_start "$dir" 2 "${WD_PORT[2]}" || fail "crash: m2's watchdog did not restart"
send "joinServer 2" "joinClient 20 2" "get 20 only2" "stabilize" "printStore 3" "get 10 only2"
master_end crash
[ "$rc" = 0 ] || fail "crash: exit status $rc: $(grep 'line' "$dir/crash.err" | head -5)"
grep -q 'machine m2 (10.77.0.3:[0-9]*) is back; the run.s directory was kept' "$dir/crash.err" ||
    fail "crash: m2 did not come back with its data"
want=$'only2:x\na:1\nb:2\nc:3\nd:4\nonly2:x\na:1\nb:2\nc:3\nd:4\nonly2:x\nonly2:x'
[ "$(cat "$dir/crash.out")" = "$want" ] || fail "crash: stdout: $(cat "$dir/crash.out")"
grep -Eq '"cmd":"lost".*"servers":\[2\],"clients":\[20\]' "$dir/crash.jsonl" || fail "crash: no lost record"
no_runs_left crash
step "ok: m2 crashed mid-run; server 2 rejoined with its acknowledged write"

# ---- a machine partitioned, then healed ------------------------------------
master_start part
send "joinServer 1" "joinServer 2" "joinServer 3" "joinClient 10 1" "joinClient 30 3" \
     "put 10 a 1" "put 30 c 3" "stabilize" "get 10 c"
await_out part 1
ns_cut 3
# m3's watchdog sees its master's connection stop answering (TCP
# keepalive) and ends the run; the master sees the same from its side.
wait_for "grep -q 'ended (' '$dir/watchdog-m3.log'" 150 || fail "part: m3 did not end the run behind the cut"
send "put 10 x 2" "stabilize" "printStore 2"
await_err part 'machine m3 \(10\.77\.0\.4:[0-9]+\) is unreachable: .*1 servers and 1 clients'
await_out part 4
ns_heal 3
# Client 30 lives on m3: the master begins the run there again. The old
# run's directory is gone, so new ids run there (server 8: m1, m2, m3 in
# turn), not server 3.
send "joinClient 30 1" "get 30 x" "joinServer 6" "joinServer 7" "joinServer 8" "stabilize" \
     "printStore 8"
master_end part
[ "$rc" = 0 ] || fail "part: exit status $rc: $(grep 'line' "$dir/part.err" | head -5)"
grep -q 'machine m3 (10.77.0.4:[0-9]*) is back' "$dir/part.err" || fail "part: m3 did not come back"
want=$'c:3\na:1\nc:3\nx:2\nx:2\na:1\nc:3\nx:2'
[ "$(cat "$dir/part.out")" = "$want" ] || fail "part: stdout: $(cat "$dir/part.out")"
grep -q '"cmd":"back"' "$dir/part.jsonl" || fail "part: no back record"
no_runs_left part
step "ok: m3 partitioned and healed; the master reported it lost and back"

# ---- a wrong secret is refused at start -----------------------------------
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/wrong-secret")
wd_cluster "$dir" 3 wrong-secret "$dir/wrong.json"
printf 'joinServer 1\n' > "$dir/one.txt"
master --config "$dir/wrong.json" < "$dir/one.txt" > /dev/null 2> "$dir/wrong.err"
rc=$?
[ "$rc" = 2 ] || fail "wrong secret: exit status $rc, want 2"
grep -q "machine m1 (10.77.0.2:${WD_PORT[1]}).*secret" "$dir/wrong.err" ||
    fail "wrong secret: the message does not name machine m1 and the secret: $(cat "$dir/wrong.err")"
grep -q 'line 1' "$dir/wrong.err" && fail "wrong secret: a command ran"
step "ok: a wrong secret is refused at start (exit 2): $(head -n 1 "$dir/wrong.err")"
rm -f "$dir/wrong.err"

# ---- a stranger's put, kill and spawn change nothing ------------------------
master_start stranger
send "joinServer 1" "joinClient 10 1" "put 10 k v" "get 10 k"
await_out stranger 1
port_of() { # KIND ID: its port on m1, from the watchdog's log
    sed -n "s/.*: $1 $2 started (pid [0-9]*, port \([0-9]*\)).*/\1/p" "$dir/watchdog-m1.log" | tail -n 1
}
sport=$(port_of server 1) cport=$(port_of client 10)
[ -n "$sport" ] && [ -n "$cport" ] || fail "stranger: no ports of server 1 and client 10 in m1's log"
a1=$(ns_addr 1)
before=$(ns_pids 1 | sort | tr '\n' ' ')
# From machine m3, once without a secret, once with another one.
for who in none wrong; do
    opt=(--secret-file "$dir/wrong-secret")
    [ "$who" = none ] && opt=()
    call() { DAADKVS_SECRET_FILE= ns_exec 3 "$BIN/rpccall" --timeout 3000 "${opt[@]}" "$@" > "$dir/call.out" 2>&1; }
    call "$a1:$sport" put b:k b:stolen i:0 i:0 && fail "stranger ($who): a put to server 1 was served"
    call "$a1:$cport" put b:k b:stolen && fail "stranger ($who): a put to client 10 was served"
    call "$a1:${WD_PORT[1]}" kill i:10 && fail "stranger ($who): a kill was served"
    call "$a1:${WD_PORT[1]}" start s:server i:12 i:0 i:0 && fail "stranger ($who): a spawn was served"
    grep -Eq 'secret|refus' "$dir/call.out" || fail "stranger ($who): no plain refusal: $(cat "$dir/call.out")"
done
[ "$(ns_pids 1 | sort | tr '\n' ' ')" = "$before" ] || fail "stranger: m1's processes changed"
compgen -G "$dir/data-m1/run-*/server-12" > /dev/null && fail "stranger: a spawn left a data directory"
grep -q 'refused' "$dir/watchdog-m1.log" || fail "stranger: m1's watchdog logged no refusal"
send "get 10 k" "put 10 k2 v2" "printStore 1"
master_end stranger
[ "$rc" = 0 ] || fail "stranger: exit status $rc"
[ "$(cat "$dir/stranger.out")" = $'k:v\nk:v\nk:v\nk2:v2' ] || fail "stranger: stdout: $(cat "$dir/stranger.out")"
no_runs_left stranger
step "ok: a stranger's put, kill and spawn (no secret, another secret) were refused and changed nothing"

# ---- a master killed with SIGKILL leaves nothing ---------------------------
master_start killed
send "joinServer 1" "joinServer 2" "joinServer 3" "joinClient 10 1" "joinClient 20 2" \
     "joinClient 30 3" "put 10 a 1" "put 30 b 2" "get 20 a"
await_out killed 1
for i in 1 2 3; do
    [ "$(ns_pids "$i" | wc -l)" -ge 3 ] || fail "killed: m$i runs $(ns_pids "$i" | wc -l) processes, want 3"
done
kill -9 "$mpid"
{ wait "$mpid"; } 2> /dev/null
exec 7>&-
mpid=
for i in 1 2 3; do
    wait_for "[ \"\$(ns_pids $i)\" = '${WD_PID[$i]}' ]" 50 ||
        fail "killed: m$i still runs $(ns_pids "$i" | tr '\n' ' ')5 s after the master's SIGKILL (watchdog ${WD_PID[$i]})"
done
no_runs_left killed
step "ok: a master killed with SIGKILL left no process and no run directory on any machine"

# ---- the master's machine vanishes: no FIN, only silence ------------------
# Its port goes down, then the master is SIGKILLed: each watchdog must
# notice by itself (TCP keepalive, about 4 s) and end the run.
master_start vanished
send "joinServer 1" "joinServer 2" "joinServer 3" "joinClient 10 1" "put 10 a 1" "get 10 a"
await_out vanished 1
ns_cut 0
kill -9 "$mpid"
{ wait "$mpid"; } 2> /dev/null
exec 7>&-
mpid=
for i in 1 2 3; do
    wait_for "[ \"\$(ns_pids $i)\" = '${WD_PID[$i]}' ]" 100 ||
        fail "vanished: m$i still runs $(ns_pids "$i" | tr '\n' ' ')10 s after its master's machine vanished"
done
no_runs_left vanished
grep -q 'ended (its master.s connection from 10.77.0.1:[0-9]* closed: Connection timed out)' \
    "$dir/watchdog-m1.log" || fail "vanished: m1 did not log why the run ended"
ns_heal 0
step "ok: the master's machine vanished (cut, then SIGKILL): every machine ended the run by itself"

# The watchdogs stop on SIGTERM, having nothing left to end.
for i in 1 2 3; do kill "${WD_PID[$i]}"; done
for i in 1 2 3; do
    wait_for "[ -z \"\$(ns_pids $i)\" ]" 100 || fail "watchdog m$i did not stop on SIGTERM"
done
compgen -G "$dir/base/*" > /dev/null && fail "the master left something in its run base: $(ls "$dir/base")"
for i in 1 2 3; do sanitizer_free "$dir/watchdog-m$i.log" "machine m$i (watchdog, servers, clients)"; done
step "ok: all passed"
