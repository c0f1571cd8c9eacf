#!/usr/bin/env bash
# Hostile inputs against LIVE daemons (issue 11): each test replays one
# attack with $BIN/attack (tests/hostile/attack.c) on freshly started
# daemons, then asserts that the daemon survives and still answers a
# normal request within a generous bound, that its memory stays bounded
# where memory is the attack, and that it does not spin afterwards. The
# protocol attacks (forged peer frames, Lamport overflow, run ids, damaged
# stores) assert the cluster's guarantees instead. The daemons here share a
# cluster secret, and the attacks above are made with it (what an insider
# can send); strangers' attacks (no secret, a wrong one, a recorded
# connection replayed, a damaged record, a flood of connections that never
# authenticate) must be refused and change nothing. One line per test:
# "PASS NAME" or "FAIL NAME: reason"; exit 1 when any test fails.
#
#   BIN=bin-asan tests/hostile.sh [PATTERN...]   only tests whose name
#                                               matches a glob PATTERN
#   HOSTILE_KEEP=1 keeps the work directory (logs, histories) for a look.
#
# Every process started here is recorded ("PID STARTTIME") and ended by pid
# on any exit; master runs are cleaned with scripts/cleanup. Waits are
# bounded polls of a condition; the only fixed windows are where a test
# asserts that something does NOT happen (no link, no redial).
set -u
export LC_ALL=C
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BIN:-bin}
ATTACK="$ROOT/$BIN/attack"
HOST=127.0.0.1
BOUND_MS=${HOSTILE_BOUND_MS:-2000}   # a normal request answers within this
RSS_SLACK_KB=$((150 * 1024))         # allowed above an idle server's RSS
patterns=("$@")

for prog in server client watchdog master check attack; do
    [ -x "$BIN/$prog" ] || { echo "hostile: $BIN/$prog is missing (make $BIN/$prog)"; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/daadkvs-hostile.XXXXXX")
: > "$work/started"
# The cluster secret of the daemons started here (mode 0600), and another
# one. bin/attack authenticates with $DAADKVS_SECRET_FILE.
SECRET=$work/secret WRONG=$work/wrong-secret
for f in "$SECRET" "$WRONG"; do
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$f")
done
export DAADKVS_SECRET_FILE=$SECRET
suite_start=${EPOCHREALTIME/./}

# ---- processes ----------------------------------------------------------

. scripts/pids.sh # start_time
alive() { # running, not a zombie
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat:0:1}" != Z ] && [ "${stat:0:1}" != X ]
}
track() { # pid: remember a process this script started
    local st
    st=$(start_time "$1") && echo "$1 $st" >> "$work/started"
    test_pids+=("$1")
}
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
wait_until() { # condition, bound in ms: polls every 20 ms
    local deadline=$(($(now_ms) + $2))
    until eval "$1"; do
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.02
    done
}
# stop_pid PID [KILL]: TERM (so that sanitizers report), KILL after 2 s.
# stderr is quiet meanwhile: bash announces each killed job there.
stop_pid() { stop_pid_noisy "$@" 2>/dev/null; }
stop_pid_noisy() {
    local pid=$1 rec
    rec=$(grep "^$pid " "$work/started" | tail -n 1)
    [ -n "$rec" ] && [ "$(start_time "$pid")" = "${rec#* }" ] || return 0
    if [ "${2:-}" != KILL ]; then
        kill -TERM "$pid" 2>/dev/null
        wait_until "! alive $pid" 2000 && { wait "$pid" 2>/dev/null; return 0; }
    fi
    kill -KILL "$pid" 2>/dev/null
    wait_until "! alive $pid" 2000
    wait "$pid" 2>/dev/null
    return 0
}
cleanup_all() {
    local pid st
    exec 2>/dev/null # bash would announce every job killed here
    while read -r pid st; do
        [ "$(start_time "$pid")" = "$st" ] && kill -KILL "$pid" 2>/dev/null
    done < "$work/started"
    compgen -G "$work/*/base/run-*" >/dev/null && scripts/cleanup "$work"/*/base/run-* >/dev/null 2>&1
    local mnt
    for mnt in "$work"/*/base; do mountpoint -q "$mnt" && umount -l "$mnt"; done
    if [ -n "${HOSTILE_KEEP:-}" ]; then echo "hostile: kept $work"; else rm -rf "$work"; fi
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

# Under ASan, freed memory waits in a quarantine (256 MB by default) before
# reuse, and stays resident meanwhile: a daemon that churns big buffers
# would look as if it held them. A small quarantine keeps RSS a measure of
# what the daemon holds (use-after-free detection stays on).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
# The tool's own leaks (it is often killed) are not the daemons' business.
ATTACK_CMD=(env ASAN_OPTIONS=detect_leaks=0 "$ATTACK")
attack() { "${ATTACK_CMD[@]}" "$@"; }

# ---- tests --------------------------------------------------------------

pass=0 fail=0 failed=()
current="" reason="" test_pids=() test_logs=()
declare -A PID PORT KIND

# begin NAME: starts a test, or returns 1 when NAME is filtered out.
begin() {
    local p
    if [ ${#patterns[@]} -gt 0 ]; then
        for p in "${patterns[@]}"; do [[ $1 == $p ]] && break; p=""; done
        [ -n "$p" ] || return 1
    fi
    current=$1 reason="" test_pids=() test_logs=() test_start=$(now_ms)
    PID=() PORT=() KIND=()
    tdir="$work/$1"
    mkdir -p "$tdir"
}
bad() { [ -n "$reason" ] || reason=$*; }

sanitizer_report() {
    grep -Eh -m3 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Undefined)' "$@" \
        2>/dev/null | head -n 3
}

end_test() {
    local pid i rep
    for ((i = ${#test_pids[@]} - 1; i >= 0; i--)); do
        pid=${test_pids[$i]}
        if [ -n "$reason" ]; then stop_pid "$pid" KILL; else stop_pid "$pid"; fi
    done
    if [ ${#test_logs[@]} -gt 0 ]; then
        rep=$(sanitizer_report "${test_logs[@]}")
        [ -n "$rep" ] && bad "sanitizer report: $rep"
    fi
    local took
    took=$(( ($(now_ms) - test_start) / 100 ))
    took="$((took / 10)).$((took % 10)) s"
    if [ -z "$reason" ]; then
        pass=$((pass + 1)); echo "PASS $current ($took)"
    else
        fail=$((fail + 1)); failed+=("$current")
        echo "FAIL $current ($took): $(printf '%s' "$reason" | tr '\n' ' ' | head -c 700)"
    fi
}

# spawn IN OUT ERR COMMAND...: starts COMMAND (a program, not a shell
# function, so that the pid is the program's) in the background and sets
# SPAWNED to its pid. A subshell owns it, so that bash's notices of killed
# jobs ("Killed", "Segmentation fault") stay out of the suite's output;
# its exit status lands in $tdir/exit-PID.
spawn_seq=0
spawn() {
    local in=$1 out=$2 err=$3 pidf
    shift 3
    spawn_seq=$((spawn_seq + 1))
    pidf="$tdir/spawn-$spawn_seq"
    ( "$@" < "$in" > "$out" 2>> "$err" &
      echo $! > "$pidf.tmp" && mv "$pidf.tmp" "$pidf"
      wait $!
      echo $? > "$tdir/exit-$(cat "$pidf")" ) 2>/dev/null &
    wait_until "[ -s '$pidf' ]" 5000 || { bad "cannot start $1"; return 1; }
    SPAWNED=$(cat "$pidf")
    track "$SPAWNED"
}
# exit_of PID: how a spawned process ended, for messages.
exit_of() {
    local st
    st=$(cat "$tdir/exit-$1" 2>/dev/null) || { echo "still running"; return; }
    if [ "$st" -gt 128 ]; then echo "killed by signal $((st - 128))"; else echo "exit status $st"; fi
}

# start_daemon NAME KIND COMMAND...: the daemon prints its port on stdout.
start_daemon() {
    local name=$1 kind=$2 pid
    shift 2
    local out="$tdir/$name.port" log="$tdir/$name.log"
    test_logs+=("$log")
    spawn /dev/null "$out" "$log" "$@" || return 1
    pid=$SPAWNED
    PID[$name]=$pid KIND[$name]=$kind
    if ! wait_until "[ -s '$out' ] || ! alive $pid" 10000 || ! alive "$pid"; then
        bad "$name did not start ($(exit_of "$pid")): $(tail -c 400 "$log")"
        return 1
    fi
    PORT[$name]=$(head -n 1 "$out")
}

# The run id of the servers started here, when the server takes one.
RUN_ID=$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
server_help=$("$BIN/server" --help 2>&1)
if grep -q -- '--run-id' <<< "$server_help"; then HAS_RUN_ID=1; else HAS_RUN_ID=0; fi
# A restarted server is told it rejoins, as the master tells it.
REJOIN=(); grep -q -- '--rejoin' <<< "$server_help" && REJOIN=(--rejoin)

# start_server NAME ID [RUN_ID [EXTRA...]]: its data in the test's directory.
start_server() {
    local name=$1 id=$2 run=${3:-$RUN_ID}
    shift 2; [ $# -gt 0 ] && shift
    local args=(--id "$id" --data "$tdir/data-$id" --secret-file "$SECRET")
    [ "$HAS_RUN_ID" = 1 ] && args+=(--run-id "$run")
    start_daemon "$name" server "$BIN/server" "${args[@]}" "$@"
}

# A JSON field "run" for forged hellos, when servers know run ids.
run_field() { [ "$HAS_RUN_ID" = 1 ] && printf ',"run":"%s"' "${1:-$RUN_ID}"; }

rpc() { # NAME [call options] METHOD ARG...: one call, output on stdout
    local name=$1
    shift
    local opts=(-t "$BOUND_MS")
    while [ $# -gt 0 ] && [[ $1 == -* ]]; do
        if [ "$1" = -t ]; then opts+=("$1" "$2"); shift 2; else opts+=("$1"); shift; fi
    done
    attack call "${opts[@]}" "$HOST" "${PORT[$name]}" "$@"
}

# link NAME_A ID_B NAME_B: A dials B; waits until both list each other.
link() {
    local out
    out=$(rpc "$1" connect "i:$2" "s:$HOST" "i:${PORT[$3]}") || { bad "connect failed: $out"; return 1; }
    wait_until "links_of $1 | grep -qw '$2'" 5000 || { bad "$1 did not link to $2"; return 1; }
}
# digest fields: "ok VC LINKS GROUP QUEUED"
links_of() { rpc "$1" digest | awk '{print $3}'; }
group_of() { rpc "$1" digest | awk '{print $4}'; }

probe_seq=0
# probe NAME [BOUND_MS]: a normal request (put then get, or ping for the
# watchdog) on a new connection completes within the bound.
probe() {
    local name=$1 bound=${2:-$BOUND_MS} out key
    probe_seq=$((probe_seq + 1))
    key=probe-$probe_seq
    if ! alive "${PID[$name]}"; then
        wait_until "[ -f '$tdir/exit-${PID[$name]}' ]" 1000
        bad "$name died ($(exit_of "${PID[$name]}")): $(grep -m1 -E 'SUMMARY|ERROR' "$tdir/$name.log" ||
            tail -n 2 "$tdir/$name.log")"
        return 1
    fi
    case ${KIND[$name]} in
    server)
        out=$(rpc "$name" -r -t "$bound" put "b:$key" b:fine i:0 i:0) &&
            out=$(rpc "$name" -t "$bound" get "b:$key") && [[ $out == "ok 1 fine "* ]] ;;
    client)
        out=$(rpc "$name" -r -t "$bound" put "b:$key" b:fine) &&
            out=$(rpc "$name" -t "$bound" get "b:$key") && [[ $out == "ok ok fine "* ]] ;;
    watchdog)
        out=$(rpc "$name" -r -t "$bound" ping) ;;
    esac
    local rc=$?
    [ $rc = 0 ] || bad "$name did not answer a normal request within $bound ms: $out"
    return $rc
}

# no_spin NAME: the daemon uses under half a CPU over one second.
no_spin() {
    local pct
    pct=$(attack cpu "${PID[$1]}" 1000) || { bad "$1 died"; return 1; }
    [ "$pct" -lt 50 ] || { bad "$1 spins: ${pct}% of a CPU over 1 s after the attack"; return 1; }
}

# target KIND: starts the daemon under attack as "t" (a client gets a server).
target() {
    case $1 in
    server) start_server t 1 ;;
    client)
        start_server s 1 || return 1
        start_daemon t client "$BIN/client" --id 100 --secret-file "$SECRET" || return 1
        local out
        out=$(rpc t attach i:1 "s:$HOST" "i:${PORT[s]}" i:10000) || { bad "attach failed: $out"; return 1; } ;;
    watchdog)
        mkdir -p "$tdir/wd"
        start_daemon t watchdog "$BIN/watchdog" --run-dir "$tdir/wd" --secret-file "$SECRET" ;;
    esac
}

# run_bg FILE ATTACK_ARGS...: an attack in the background, output to FILE.
run_bg() {
    local file=$1
    shift
    spawn /dev/null "$file" "$file" "${ATTACK_CMD[@]}" "$@"
    BG=$SPAWNED
}

# ---- 0. the yardstick: an idle server's RSS ------------------------------
measure_baseline() {
    current=baseline tdir="$work/baseline" test_pids=() test_logs=() reason=""
    mkdir -p "$tdir"
    start_server b 1 && probe b >/dev/null
    BASE_KB=$(attack rss "${PID[b]}" 2>/dev/null || echo 20000)
    stop_pid "${PID[b]}"
    RSS_BOUND_KB=$((BASE_KB + RSS_SLACK_KB))
    echo "hostile: idle server RSS ${BASE_KB} kB, bound ${RSS_BOUND_KB} kB;" \
         "normal requests within ${BOUND_MS} ms; run ids: $([ "$HAS_RUN_ID" = 1 ] && echo yes || echo no)"
}

# ---- 1. deep nesting -----------------------------------------------------
t_nesting() {
    local kind shape depth out
    for kind in server client watchdog; do
        for shape in elements:200000 arrays:60000; do
            depth=${shape#*:} shape=${shape%:*}
            begin "nesting-$shape-$kind" || continue
            if target "$kind"; then
                out=$(attack nest -t 5000 "$HOST" "${PORT[t]}" "$shape" "$depth")
                probe t || bad "$reason (attack: $out)"
            fi
            end_test
        done
    done
}

# ---- 2. entity bombs -----------------------------------------------------
t_entity_bomb() {
    local kind
    for kind in server client watchdog; do
        begin "entity-bomb-$kind" || continue
        if target "$kind"; then
            run_bg "$tdir/bomb.out" bomb -t 20000 "$HOST" "${PORT[t]}" 9
            if wait_until "grep -q '^sent\|failed' '$tdir/bomb.out'" 5000; then
                # Concurrently with the bomb, a put (ping for the watchdog)
                # completes within 1 s.
                probe t 1000 || bad "$reason (attack: $(head -c 200 "$tdir/bomb.out"))"
                stop_pid "$BG" KILL
                [ -n "$reason" ] || probe t
            else
                bad "the bomb was not sent: $(cat "$tdir/bomb.out")"
            fi
        fi
        end_test
    done
}

# ---- 3. oversized and unfinished frames ----------------------------------
t_unfinished_frames() {
    begin unfinished-frames || return
    local out peak
    if start_server t 1; then
        # Ten connections, each 30 MB into a frame that declares 31 MB.
        run_bg "$tdir/frames.out" frames -t 30000 -H 60000 -w "${PID[t]}" \
            "$HOST" "${PORT[t]}" 10 31000000 30000000
        if wait_until "grep -q '^sent' '$tdir/frames.out'" 40000; then
            out=$(cat "$tdir/frames.out")
            peak=$(sed -n 's/.*peak_rss_kb \([0-9]*\).*/\1/p' "$tdir/frames.out")
            [ "${peak:-0}" -le "$RSS_BOUND_KB" ] ||
                bad "server RSS reached $peak kB (bound $RSS_BOUND_KB): $out"
            out=$(attack settle "${PID[t]}" "$RSS_BOUND_KB" 300 10000) || bad "server: $out"
            probe t   # the attack's connections are still open
            stop_pid "$BG" KILL
            no_spin t && probe t
        else
            bad "the attack did not finish sending: $(cat "$tdir/frames.out")"
        fi
    fi
    end_test
}

t_oversized_frame() {
    begin oversized-frame || return
    local out
    if start_server t 1; then
        # A call declaring more than 64 MiB, sent whole: its bytes are
        # dropped as they arrive (or the connection closes), never held.
        local declare=$((65 * 1024 * 1024 + 1)) peak
        out=$(attack frames -t 10000 -w "${PID[t]}" "$HOST" "${PORT[t]}" 1 "$declare" \
              $((declare + 4)))
        peak=$(sed -n 's/.*peak_rss_kb \([0-9]*\).*/\1/p' <<< "$out")
        [ "${peak:-0}" -le "$RSS_BOUND_KB" ] ||
            bad "server RSS reached $peak kB (bound $RSS_BOUND_KB): $out"
        probe t
    fi
    end_test
}

# A 100 MB value through the master fails with a message about its size.
t_master_big_value() {
    begin master-100mb-value || return
    local script="$tdir/script.txt" rc line
    { printf 'joinServer 1\njoinClient 2 1\nput 2 big '
      head -c 100000000 /dev/zero | tr '\0' x
      printf '\nput 2 small v\nget 2 small\n'; } > "$script"
    mkdir -p "$tdir/base"
    DAADKVS_RUN_BASE="$tdir/base" timeout -k 5 60 "$BIN/master" < "$script" \
        > "$tdir/out" 2> "$tdir/err"
    rc=$?
    rm -f "$script"
    test_logs+=("$tdir/err")
    [ $rc = 124 ] || [ $rc = 137 ] && bad "the master did not finish within 60 s"
    line=$(grep -m1 'line 3' "$tdir/err")
    if [ -z "$line" ]; then
        bad "no error for the 100 MB put (exit $rc): $(head -c 300 "$tdir/err")"
    elif ! grep -qiE 'size|limit|large|long|exceed|MiB|bytes' <<< "$line" ||
         grep -qiE 'reset|closed|broken pipe' <<< "$line"; then
        bad "the error does not name the size or limit: $line"
    fi
    grep -qx 'small:v' "$tdir/out" || bad "the next put/get failed: $(head -c 300 "$tdir/out")"
    leftovers "$tdir/base"
    end_test
}

# ---- 4. unread pipelined replies ------------------------------------------
t_unread_replies() {
    begin unread-replies || return
    local out
    if start_server t 1; then
        out=$(rpc t -t 30000 put b:big bn:10000000 i:0 i:0) || bad "the 10 MB put failed: $out"
        run_bg "$tdir/pipe.out" pipeline -H 60000 "$HOST" "${PORT[t]}" big 40
        if [ -z "$reason" ] && wait_until "grep -q '^sent\|^not sent' '$tdir/pipe.out'" 10000; then
            out=$(attack settle "${PID[t]}" "$RSS_BOUND_KB" 300 15000) ||
                bad "server: $out ($(cat "$tdir/pipe.out"))"
            probe t   # the reader is still connected, reading nothing
            stop_pid "$BG" KILL
            no_spin t && probe t
        else
            bad "${reason:-the gets were not sent: $(cat "$tdir/pipe.out")}"
        fi
    fi
    end_test
}

# ---- 5. fd exhaustion -----------------------------------------------------
t_fd_exhaustion() {
    begin fd-exhaustion || return
    local args=(--id 1 --data "$tdir/data-1" --secret-file "$SECRET")
    [ "$HAS_RUN_ID" = 1 ] && args+=(--run-id "$RUN_ID")
    if start_daemon t server bash -c 'ulimit -n 64 && exec "$0" "$@"' "$BIN/server" "${args[@]}"; then
        run_bg "$tdir/hog.out" hog -H 60000 "$HOST" "${PORT[t]}" 100
        if wait_until "grep -q '^open' '$tdir/hog.out'" 10000; then
            no_spin t && probe t || bad "$reason ($(cat "$tdir/hog.out"))"
            stop_pid "$BG" KILL
            no_spin t && probe t
        else
            bad "the connections were not opened: $(cat "$tdir/hog.out")"
        fi
    fi
    end_test
}

# ---- 6. Lamport overflow --------------------------------------------------
LAMPORT_SANE=$((1 << 53))
# put_lamport NAME KEY VALUE: puts, prints the version's Lamport counter.
put_lamport() {
    local out
    out=$(rpc "$1" put "b:$2" "b:$3" i:0 i:0) || { bad "put $2 on $1 failed: $out"; return 1; }
    set -- $out
    echo "$2"
}
# sees NAME KEY VALUE: NAME holds KEY=VALUE within 5 s (replication).
sees() {
    wait_until "[[ \$(rpc $1 get b:$2) == 'ok 1 $3 '* ]]" 5000 ||
        { bad "$1 does not get $2=$3: $(rpc "$1" get "b:$2")"; return 1; }
}

t_lamport_dep() {
    local dep name out
    for dep in 53 62 63; do
        name=lamport-dep-2^$dep
        [ $dep = 63 ] && name=lamport-dep-2^63-1
        begin "$name" || continue
        if start_server t 1; then
            local value=$((1 << dep))
            [ $dep = 63 ] && value=9223372036854775807
            out=$(rpc t put b:lam b:x "i:$value" i:0)
            [[ $out == fault* ]] || bad "a put depending on Lamport $value was accepted: $out"
            out=$(rpc t get b:lam)
            [[ $out == "ok 0 "* ]] || bad "the refused write was stored: $out"
            local l
            l=$(put_lamport t after y) && { [ "$l" -ge 1 ] && [ "$l" -lt "$LAMPORT_SANE" ] ||
                bad "the next put got Lamport $l"; }
            probe t
        fi
        end_test
    done
}

# Refused overflows leave a server whose writes replicate and survive a kill.
t_lamport_after() {
    begin lamport-after-refusal || return
    local out l1 l2 dep
    if start_server a 1 && start_server b 2 && link a 2 b; then
        for dep in 9007199254740992 4611686018427387904 9223372036854775807; do
            rpc a put b:lam b:x "i:$dep" i:0 > /dev/null
        done
        l1=$(put_lamport a k1 v1)
        [ -n "$l1" ] && [ "$l1" -lt "$LAMPORT_SANE" ] || bad "put after the attack got Lamport '$l1'"
        [ -n "$reason" ] || sees b k1 v1
        # Kill A and restart it on the same data; it links again and catches up.
        stop_pid "${PID[a]}" KILL
        if [ -z "$reason" ] && start_server a 1 "$RUN_ID" "${REJOIN[@]}" && link a 2 b; then
            out=$(rpc a get b:k1)
            [[ $out == "ok 1 v1 $l1 1" ]] || bad "after the restart, get k1 = '$out', expected v1 at ($l1,1)"
            l2=$(put_lamport a k2 v2) && sees b k2 v2
            [ -n "$l2" ] && [ "$l2" -gt "$l1" ] && [ "$l2" -lt "$LAMPORT_SANE" ] ||
                bad "put after the restart got Lamport '$l2' (before: $l1)"
            out=$(rpc b get b:lam)
            [[ $out == "ok 0 "* ]] || bad "a refused write reached the peer: $out"
        fi
    fi
    end_test
}

hello() { # ID TO INC [RUN]: a hello header
    printf '{"t":"hello","id":%s,"to":%s,"inc":%s,"vc":"","li":"","ls":""%s}' "$1" "$2" "$3" \
        "$(run_field "${4:-}")"
}

t_forged_upd() {
    begin forged-upd-lamport || return
    local out l
    if start_server a 1; then
        out=$(attack peer -t 1500 "$HOST" "${PORT[a]}" "h:$(hello 77 1 1)" \
            'h:{"t":"upd","u":[[77,1,9223372036854775807,3,1]]}' 'b:fupX')
        out=$(rpc a get b:fup)
        [[ $out == "ok 0 "* ]] || bad "the forged update was stored: $out"
        l=$(put_lamport a after y) && { [ "$l" -lt "$LAMPORT_SANE" ] || bad "the next put got Lamport $l"; }
        probe a
    fi
    end_test
}

# ---- 7. forged LSA and hello ------------------------------------------------
# writes_flow: a write on each of a and b reaches the other.
writes_flow() {
    local l
    l=$(put_lamport a "$1-ab" v) && sees b "$1-ab" v &&
        l=$(put_lamport b "$1-ba" v) && sees a "$1-ba" v
}

t_forged_lsa() {
    begin forged-lsa || return
    if start_server a 1 && start_server b 2 && link a 2 b; then
        # Fake server 77 tells A that live server 2 has a new incarnation
        # (2^60) without neighbours.
        run_bg "$tdir/peer.out" peer -t 30000 "$HOST" "${PORT[a]}" "h:$(hello 77 1 1)" \
            'h:{"t":"lsa","id":2,"inc":1152921504606846976,"seq":1,"nb":[]}'
        if wait_until "grep -q '^sent\|^not sent' '$tdir/peer.out'" 5000; then
            writes_flow lsa && wait_until '[ "$(group_of a)" = "$(group_of b)" ]' 5000 ||
                bad "groups differ: A sees '$(group_of a)', B sees '$(group_of b)'"
        else
            bad "the fake peer did not connect: $(cat "$tdir/peer.out")"
        fi
        stop_pid "$BG" KILL
    fi
    end_test
}

t_forged_hello() {
    begin forged-hello-live-id || return
    if start_server a 1 && start_server b 2 && link a 2 b; then
        # Someone claims to be server 2 with a huge incarnation, and stays.
        run_bg "$tdir/peer.out" peer -t 30000 "$HOST" "${PORT[a]}" \
            "h:$(hello 2 1 1152921504606846976)"
        if wait_until "grep -q '^sent\|^not sent' '$tdir/peer.out'" 5000; then
            writes_flow hello && wait_until "links_of a | grep -qw 2 && links_of b | grep -qw 1" 5000 ||
                bad "the link is gone: A lists '$(links_of a)', B lists '$(links_of b)'"
        else
            bad "the fake peer did not connect: $(cat "$tdir/peer.out")"
        fi
        stop_pid "$BG" KILL
    fi
    end_test
}

t_hello_wrong_run() {
    begin hello-wrong-run-id || return
    local out wrong run
    if [ "$HAS_RUN_ID" = 0 ]; then
        bad "the server takes no --run-id: a hello from another run cannot be told apart"
    elif start_server a 1; then
        wrong=$(printf '%s' "$RUN_ID" | tr '0-9a-f' '1-9a-f0')
        for run in "$wrong" none; do
            local hdr
            if [ "$run" = none ]; then
                hdr='{"t":"hello","id":77,"to":1,"inc":1,"vc":"","li":"","ls":""}'
            else
                hdr=$(hello 77 1 1 "$run")
            fi
            out=$(attack peer -t 1000 "$HOST" "${PORT[a]}" "h:$hdr")
            grep -q '"hello"' <<< "$out" && bad "a hello with run id '$run' was answered: $out"
            links_of a | grep -qw 77 && bad "a hello with run id '$run' made a link"
        done
        probe a
    fi
    end_test
}

# ---- 8. run ids and port reuse ---------------------------------------------
t_run_isolation() {
    begin run-id-isolation || return
    local out
    if [ "$HAS_RUN_ID" = 0 ]; then
        bad "the server takes no --run-id: servers of two runs cannot be told apart"
    elif start_server a 1 "${RUN_ID}" && start_server b 2 "$(printf '%s' "$RUN_ID" | rev)"; then
        [ "$(printf '%s' "$RUN_ID" | rev)" != "$RUN_ID" ] || bad "run ids coincide"
        out=$(rpc a connect i:2 "s:$HOST" "i:${PORT[b]}") || bad "connect failed: $out"
        rpc a put b:cross b:v i:0 i:0 > /dev/null
        # For 1.5 s, neither side may list the other.
        local deadline=$(($(now_ms) + 1500))
        while [ -z "$reason" ] && [ "$(now_ms)" -lt "$deadline" ]; do
            [ "$(links_of a)" = '""' ] && [ "$(links_of b)" = '""' ] ||
                bad "servers of different runs linked: A lists '$(links_of a)', B '$(links_of b)'"
            sleep 0.1
        done
        out=$(rpc b get b:cross)
        [[ $out == "ok 0 "* ]] || bad "a write crossed runs: $out"
    fi
    end_test
}

# ---- master runs fed through a FIFO ------------------------------------------
# master_start: bin/master reads $tdir/fifo and writes $tdir/h.jsonl.
master_start() {
    mkdir -p "$tdir/base"
    mkfifo "$tdir/fifo"
    test_logs+=("$tdir/err")
    # The master's open of the FIFO waits for ours, so spawn cannot wait.
    # MASTER_NOFILE lowers the descriptor limit of the master and its
    # daemons (and with it their connection cap).
    ( [ -z "${MASTER_NOFILE:-}" ] || ulimit -n "$MASTER_NOFILE"
      DAADKVS_RUN_BASE="$tdir/base" exec "$BIN/master" --history "$tdir/h.jsonl" \
          --stabilize-timeout 3000 < "$tdir/fifo" > "$tdir/out" 2> "$tdir/err" ) &
    MASTER=$!
    exec {MFD}> "$tdir/fifo"
    track "$MASTER"
    MLINES=0
}
# master_do CMD...: sends each command and waits until the history holds it.
master_do() {
    local cmd
    for cmd; do
        printf '%s\n' "$cmd" >&"$MFD"
        MLINES=$((MLINES + 1))
        if ! wait_until "! alive $MASTER || { [ -f '$tdir/h.jsonl' ] &&
                         [ \$(wc -l < '$tdir/h.jsonl') -ge $MLINES ]; }" 30000; then
            bad "the master hangs at '$cmd'"
            return 1
        fi
        alive "$MASTER" || { bad "the master died at '$cmd': $(tail -c 300 "$tdir/err")"; return 1; }
    done
}
# master_end: end of input; the master must exit within 30 s.
master_end() {
    exec {MFD}>&-
    if wait_until "! alive $MASTER" 30000; then
        wait "$MASTER" 2>/dev/null
        MASTER_RC=$?
    else
        bad "the master did not exit at end of input"
        stop_pid "$MASTER" KILL
    fi
    leftovers "$tdir/base"
}
run_dir() { compgen -G "$tdir/base/run-*" | head -n 1; }
# leftovers BASE: no recorded process alive, no run directory left.
leftovers() {
    local out
    out=$(scripts/cleanup "$1"/run-* 2>&1 | grep 'killed (' || true)
    [ -z "$out" ] || bad "processes left behind: $out"
    ! compgen -G "$1/run-*" > /dev/null || { bad "run directory left behind"; rm -rf "$1"/run-*; }
}

t_no_redial() {
    begin no-redial-after-kill || return
    local pid1 port1 out
    master_start
    if master_do "joinServer 1" "joinServer 2" "joinServer 3" "stabilize"; then
        read -r pid1 _ < "$(run_dir)/pids/server-1.pid"
        port1=$(attack port "$pid1") || bad "cannot find server 1's port"
        if [ -z "$reason" ] && master_do "killServer 1"; then
            # Whoever listens on the freed port now must hear nothing from
            # servers 2 and 3 (they would link to a stranger).
            out=$(attack listen "$port1" 2000)
            case $? in
            0) ;;
            1) bad "a server redialled killed server 1's old port: $out" ;;
            *) bad "inconclusive, the freed port was taken: $out" ;;
            esac
        fi
    fi
    master_end
    end_test
}

# ---- 9. damaged stores --------------------------------------------------------
damage() { # how DIR
    local dir=$2 log size
    log=$(ls "$dir"/*.log 2>/dev/null | sort | tail -n 1)
    [ -n "$log" ] && size=$(stat -c %s "$log") || size=0
    [ "$1" = wipe ] || [ "$size" -gt 0 ] || { bad "no write-ahead log to damage in $dir"; return 1; }
    case $1 in
    none) ;;
    flip) printf '\xa5\x5a\xa5\x5a\xa5\x5a\xa5\x5a' |
              dd of="$log" bs=1 seek=$((size / 2)) conv=notrunc status=none ;;
    truncate) truncate -s $((size * 2 / 3)) "$log" ;;
    empty) truncate -s 0 "$log" ;;
    wipe) rm -rf "$dir" ;;
    esac
}

t_damaged_store() {
    local how scan join_err out
    for how in none flip truncate empty wipe; do
        # The undamaged run is the control: the scenario itself is sound.
        if [ "$how" = none ]; then begin store-rejoin-undamaged || continue
        else begin "damaged-store-$how" || continue; fi
        master_start
        # a, b, c replicate (stabilize); d, e and a=2 stay on server 1 alone.
        if master_do "joinServer 1" "joinServer 2" "joinServer 3" "joinClient 10 1" \
                "joinClient 20 2" "put 10 a 1" "put 10 b 1" "put 10 c 1" "stabilize" \
                "breakConnection 1 2" "breakConnection 1 3" "put 10 d 1" "put 10 e 1" \
                "put 10 a 2" "killServer 1" &&
           damage "$how" "$(run_dir)/server-1" &&
           master_do "joinServer 1" "joinClient 30 3" "put 20 f 1" "put 30 g 1" "put 10 h 1" \
                "put 10 a 3" "stabilize" "get 20 a" "get 10 d" "printStore 1" "printStore 2" \
                "printStore 3"; then
            :
        fi
        master_end
        if [ -f "$tdir/h.jsonl" ]; then
            out=$("$BIN/check" "$tdir/h.jsonl" 2>&1) ||
                bad "bin/check rejects the history: $(head -c 500 <<< "$out")"
            scan=$(attack history "$tdir/h.jsonl") || bad "printStore shows two values for one version: $(grep '^conflict' <<< "$scan" | head -n 3)"
            join_err=$(grep -m1 '^failed [0-9]* joinServer 1:' <<< "$scan")
            if [ -n "$join_err" ] && [ "$how" = none ]; then
                bad "the undamaged server 1 could not rejoin: $join_err"
            elif [ -n "$join_err" ]; then
                grep -qiE 'corrupt|damag|checksum|missing|seal|truncat|wipe|lost|incomplete|proven|whole|\.log|server-1' \
                    <<< "$join_err" || bad "joinServer 1 failed without naming the damage: $join_err"
            else
                local k
                for k in a b c d e; do
                    grep -qE "^store [0-9]+ 1 $k " <<< "$scan" ||
                        bad "server 1 rejoined without '$k', a write it acknowledged"
                done
            fi
            grep -q '^end ' <<< "$scan" || bad "the history has no end record"
        else
            bad "no history written"
        fi
        end_test
    done
}

# ---- full disk ------------------------------------------------------------------
# A lagging server that cannot store what its peers send (the disk is full)
# backs off instead of dropping and redialling its links in a loop, and once
# there is room again it restarts whole and catches up. Needs root for a
# small tmpfs of its own.
t_full_disk() {
    if [ "$(id -u)" != 0 ]; then
        echo "SKIP full-disk: needs root to mount a small tmpfs"
        return
    fi
    begin full-disk || return
    mkdir -p "$tdir/base"
    mount -t tmpfs -o size=32m tmpfs "$tdir/base" || { bad "cannot mount a tmpfs"; end_test; return; }
    master_start
    local i cmds=() lines
    for i in $(seq 1 20); do cmds+=("put 10 k$i $(head -c 75000 /dev/urandom | base64 -w0)"); done
    if master_do "joinServer 1" "joinServer 2" "joinServer 3" "joinClient 10 1" \
            "breakConnection 1 3" "breakConnection 2 3" "${cmds[@]}" "stabilize"; then
        # Fill the disk, then let server 3 catch up: it cannot store a thing.
        dd if=/dev/zero of="$tdir/base/filler" bs=64k status=none 2>/dev/null
        master_do "createConnection 1 3" "createConnection 2 3" "stabilize" "stabilize"
        # Servers log to RUN_DIR/server-ID.log (the watchdog's doing).
        lines=$(cat "$tdir/err" "$(run_dir)"/server-*.log 2>/dev/null | grep -c 'dropped')
        [ "$lines" -le 30 ] || bad "$lines log lines about dropped links in 6 s of a full disk"
        rm -f "$tdir/base/filler"
        # Room again: server 3 restarts whole (a torn record at its log's end
        # is not corruption) and catches up.
        master_do "killServer 3" "joinServer 3" "stabilize" "printStore 1" "printStore 3"
    fi
    master_end
    local out
    out=$("$BIN/check" "$tdir/h.jsonl" 2>&1) || bad "bin/check rejects the history: $(head -c 500 <<< "$out")"
    grep -q 'line 2[0-9]*: joinServer' "$tdir/err" && bad "server 3 did not restart: $(grep -m1 joinServer "$tdir/err")"
    out=$(grep -c '^k' "$tdir/out")
    [ "$out" = 40 ] || bad "after the restart the stores hold $out keys in all, want 2 x 20"
    umount -l "$tdir/base"
    end_test
}

# ---- 10. keys the output format cannot carry ------------------------------------
t_key_whitespace() {
    local kind key out
    for kind in server client; do
        begin "key-whitespace-$kind" || continue
        if target "$kind"; then
            for key in 'a\nb' 'a b' 'a\tb' 'a\rb' 'a\x0bb' 'a\x0cb' 'a\0b' '\n'; do
                if [ "$kind" = server ]; then
                    out=$(rpc t put "b:$key" b:v i:0 i:0)
                else
                    out=$(rpc t put "b:$key" b:v)
                fi
                [[ $out == fault* ]] || bad "key '$key' was accepted: $out"
            done
            probe t
        fi
        end_test
    done
}

# ---- 11. strangers: no secret, another secret, replays, damaged records ------
stranger() { DAADKVS_SECRET_FILE= attack "$@"; }
wrong() { DAADKVS_SECRET_FILE=$WRONG attack "$@"; }
# logged NAME PATTERN: NAME's log has a line matching PATTERN (grep -E).
logged() {
    grep -qE "$2" "$tdir/$1.log" ||
        bad "$1 logged no line like '$2': $(tail -n 3 "$tdir/$1.log" | tr '\n' ' ')"
}

# A put without the secret, or with another one, is refused plainly and
# stores nothing; the daemon logs each, naming the caller's address.
t_stranger_put() {
    local kind out args
    for kind in server client; do
        begin "stranger-put-$kind" || continue
        if target "$kind"; then
            args=(b:sk b:stolen)
            [ "$kind" = server ] && args+=(i:0 i:0)
            out=$(stranger call "$HOST" "${PORT[t]}" put "${args[@]}")
            [[ $out == fault*prove*know*cluster*secret* ]] ||
                bad "a put without the secret was not refused plainly: $out"
            out=$(wrong call "$HOST" "${PORT[t]}" put "${args[@]}")
            [[ $out == error*'the cluster secret does not match'* ]] ||
                bad "a put with another secret was not refused plainly: $out"
            local store=t
            [ "$kind" = client ] && store=s
            out=$(rpc "$store" get b:sk)
            [[ $out == "ok 0 "* ]] || bad "a refused put was stored: $out"
            logged t "refused the connection from 127\.0\.0\.1:[0-9]+: the peer does not speak"
            logged t "connection from 127\.0\.0\.1:[0-9]+: refused by the peer: the cluster secret does not match"
            probe t
        fi
        end_test
    done
}

# A stranger can neither kill a watchdog's process nor start one.
t_stranger_watchdog() {
    begin stranger-kill-spawn-watchdog || return
    local out who pid before after
    if target watchdog; then
        out=$(rpc t start s:client i:11 i:0 i:0) || bad "start client 11 failed: $out"
        read -r pid _ < "$tdir/wd/pids/client-11.pid" 2>/dev/null || bad "no pid record of client 11"
        before=$(cat /proc/"${PID[t]}"/task/*/children 2>/dev/null | wc -w)
        for who in stranger wrong; do
            out=$($who call "$HOST" "${PORT[t]}" kill i:11)
            [[ $out == fault* || $out == error* ]] || bad "a kill by a $who was not refused: $out"
            out=$($who call "$HOST" "${PORT[t]}" start s:server i:12 i:0 i:0)
            [[ $out == fault* || $out == error* ]] || bad "a start by a $who was not refused: $out"
            out=$($who call "$HOST" "${PORT[t]}" shutdown)
            [[ $out == fault* || $out == error* ]] || bad "a shutdown by a $who was not refused: $out"
        done
        [ -n "${pid:-}" ] && alive "$pid" || bad "client 11 was killed by a stranger"
        [ ! -e "$tdir/wd/pids/server-12.pid" ] && [ ! -e "$tdir/wd/server-12" ] ||
            bad "a stranger's start left a record or a data directory"
        after=$(cat /proc/"${PID[t]}"/task/*/children 2>/dev/null | wc -w)
        [ "$before" = "$after" ] || bad "the watchdog had $before children, now $after"
        logged t "refused the connection from 127\.0\.0\.1:[0-9]+"
        logged t "connection from 127\.0\.0\.1:[0-9]+: refused by the peer: the cluster secret does not match"
        probe t
    fi
    end_test
}

# A recorded connection (handshake and a put), replayed byte for byte on a
# new connection, is refused and writes nothing.
t_replay() {
    begin replayed-connection || return
    local out
    if start_server t 1; then
        out=$(attack record "$tdir/recording" "$HOST" "${PORT[t]}" put b:rk b:v1 i:0 i:0) ||
            bad "the recorded put failed: $out"
        out=$(rpc t put b:rk b:v2 i:0 i:0) || bad "the second put failed: $out"
        out=$(attack replay "$tdir/recording" "$HOST" "${PORT[t]}") ||
            bad "the replay was not refused: $out"
        [[ $out == "refused 1"* ]] || bad "the replay got another refusal: $out"
        out=$(rpc t get b:rk)
        [[ $out == "ok 1 v2 "* ]] || bad "the replayed put was executed again: get rk = $out"
        logged t "connection from 127\.0\.0\.1:[0-9]+ refused: the cluster secret does not match"
        probe t
    fi
    end_test
}

# A record with one byte flipped closes its connection; nothing is written.
t_flipped_record() {
    begin flipped-record || return
    local out
    if start_server t 1; then
        out=$(attack flip "$HOST" "${PORT[t]}" put b:fk b:v i:0 i:0) ||
            bad "a damaged record did not close the connection: $out"
        out=$(rpc t get b:fk)
        [[ $out == "ok 0 "* ]] || bad "the damaged put was stored: $out"
        logged t "closed the connection from 127\.0\.0\.1:[0-9]+: a record failed its authentication tag"
        probe t
    fi
    end_test
}

# Servers of two secrets never link, and a write never crosses.
t_two_secrets() {
    begin two-secrets-never-link || return
    local out
    if start_server a 1 && start_server b 2 "$RUN_ID" --secret-file "$WRONG"; then
        out=$(rpc a connect i:2 "s:$HOST" "i:${PORT[b]}") || bad "connect failed: $out"
        rpc a put b:cross b:v i:0 i:0 > /dev/null
        # For 1.5 s, neither side may list the other.
        local deadline=$(($(now_ms) + 1500))
        while [ -z "$reason" ] && [ "$(now_ms)" -lt "$deadline" ]; do
            [ "$(links_of a)" = '""' ] && [ "$(DAADKVS_SECRET_FILE=$WRONG links_of b)" = '""' ] ||
                bad "servers of two secrets linked: A lists '$(links_of a)'"
            sleep 0.1
        done
        out=$(DAADKVS_SECRET_FILE=$WRONG rpc b get b:cross)
        [[ $out == "ok 0 "* ]] || bad "a write crossed secrets: $out"
        logged a "connection to 127\.0\.0\.1:${PORT[b]} refused: the cluster secret does not match"
        logged b "connection from 127\.0\.0\.1:[0-9]+: refused by the peer: the cluster secret does not match"
    fi
    end_test
}

# A stranger holding 1000 connections that never authenticate (reopened as
# they are closed) to a server and to the watchdog, each capped at a few
# hundred connections, does not lock the master out.
t_stranger_flood() {
    begin stranger-flood || return
    local wd s1 pw ps out
    MASTER_NOFILE=512 master_start
    if master_do "joinServer 1" "joinClient 10 1" "put 10 a 1"; then
        read -r wd _ < "$(run_dir)/pids/watchdog.pid"
        read -r s1 _ < "$(run_dir)/pids/server-1.pid"
        pw=$(attack port "$wd") && ps=$(attack port "$s1") || bad "cannot find the ports"
        if [ -z "$reason" ]; then
            run_bg "$tdir/flood-s.out" flood -H 30000 "$HOST" "$ps" 1000
            local fs=$BG
            run_bg "$tdir/flood-w.out" flood -H 30000 "$HOST" "$pw" 1000
            local fw=$BG
            # Both daemons are at their cap when they close strangers.
            wait_until "grep -q '^reopened' '$tdir/flood-s.out' && grep -q '^reopened' '$tdir/flood-w.out'" 10000 ||
                bad "the floods did not fill the daemons: $(tail -qn 1 "$tdir"/flood-*.out)"
            [ -z "$reason" ] && master_do "joinServer 2" "joinClient 11 1" "put 11 b 2" \
                "killServer 2" "joinServer 2" "joinClient 12 2" "put 12 c 3" "stabilize" \
                "get 11 a" "get 12 b" "get 10 c"
            stop_pid "$fs" KILL
            stop_pid "$fw" KILL
        fi
    fi
    master_end
    out=$(tr '\n' ' ' < "$tdir/out")
    [ "$out" = "a:1 b:2 c:3 " ] || bad "the run under the flood printed '$out': $(grep -m2 '^master' "$tdir/err")"
    grep -q '^master: line' "$tdir/err" && bad "a command failed: $(grep -m1 '^master: line' "$tdir/err")"
    [ "${MASTER_RC:-1}" = 0 ] || bad "the master exited ${MASTER_RC:-?}"
    end_test
}

measure_baseline
t_nesting
t_entity_bomb
t_unfinished_frames
t_oversized_frame
t_master_big_value
t_unread_replies
t_fd_exhaustion
t_lamport_dep
t_lamport_after
t_forged_upd
t_forged_lsa
t_forged_hello
t_hello_wrong_run
t_run_isolation
t_no_redial
t_damaged_store
t_full_disk
t_key_whitespace
t_stranger_put
t_stranger_watchdog
t_replay
t_flipped_record
t_two_secrets
t_stranger_flood

elapsed=$(( (${EPOCHREALTIME/./} - suite_start) / 1000000 ))
echo "hostile: $pass passed, $fail failed in ${elapsed} s${failed[*]:+ (failed: ${failed[*]})}"
[ "$fail" = 0 ]
