# A stop signal (SIGINT, SIGTERM, SIGHUP) that arrives while a command
# waits on a daemon that does not answer (a server stopped with SIGSTOP)
# ends the run at once, not after that command's 60 s bound: the command
# fails saying it was interrupted, the history ends with its end record
# ("interrupted": true), the master exits with status 1 and leaves nothing
# behind. Cases: a put (the master waits for the client, which waits for
# the server), a stabilize blocked in a call, a stabilize polling with
# short calls. Waits are bounded polls on conditions.
set -u
source "$ROOT/tests/scenario.sh"
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
pid_of() { local p; read -r p _ < "$(ls "$RUN_BASE"/run-*/pids/"$1".pid 2>/dev/null | head -n1)" 2>/dev/null && echo "$p"; }
# Bytes waiting unread on the sockets of a process (/proc/net/tcp's
# rx_queue of the inodes its descriptors hold): a request it has not read.
unread() {
    local inodes n=0 sl local rem st queues rest
    inodes=" $(ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ')"
    while read -r sl local rem st queues _ _ _ _ inode rest; do
        case "$inodes" in *" $inode "*) n=$((n + 16#${queues#*:})) ;; esac
    done < <(tail -q -n +2 /proc/net/tcp /proc/net/tcp6 2>/dev/null)
    echo "$n"
}
lines() { { wc -l < "$tmp/h.jsonl"; } 2>/dev/null || echo 0; }
fails=0
fail() { echo "FAIL $case: $*"; fails=$((fails + 1)); }

# run_case NAME SIGNAL COMMAND MASTER_OPTIONS...
run_case() {
    case=$1
    local sig=$2 cmd=$3
    shift 3
    rm -f "$tmp/h.jsonl"
    master_on_fifo "$tmp/out" --history "$tmp/h.jsonl" "$@"
    printf 'joinServer 1\njoinClient 5 1\nput 5 a b\n' >&3
    if ! wait_for '[ "$(lines)" -ge 3 ]' 3000; then
        fail "the cluster did not start: $(head -c 500 "$tmp/err")"; kill -KILL "$master"; wait "$master"; master=; return
    fi
    local server recorded
    server=$(pid_of server-1)
    recorded=$(cat "$RUN_BASE"/run-*/pids/*.pid | awk '{print $1}')
    kill -STOP "$server"
    echo "$cmd" >&3
    # The command is under way once the stopped server holds its request.
    if ! wait_for '[ "$(unread "$server")" -gt 0 ]' 1000; then
        fail "no request reached the stopped server"
    fi
    local t0 t1 status
    t0=$(now_ms)
    kill -"$sig" "$master"
    wait_for 'grep -q "\"cmd\":\"end\"" "$tmp/h.jsonl"' 1000
    t1=$(now_ms)
    [ "$case" = put ] || kill -CONT "$server" # the watchdog's SIGTERM then works at once
    wait "$master"
    status=$?
    master=
    exec 3>&-
    echo "$case: SIG$sig: end record after $((t1 - t0)) ms, exit status $status; stderr:"
    sed 's/^/  /' "$tmp/err"
    [ $((t1 - t0)) -le 1500 ] || fail "the end record came $((t1 - t0)) ms after SIG$sig (want ~1 s)"
    [ "$status" = 1 ] || fail "exit status $status, want 1"
    tail -n1 "$tmp/h.jsonl" | grep -q '"cmd":"end".*"exit":1,"interrupted":true' ||
        fail "the last record is not the end record: $(tail -n1 "$tmp/h.jsonl")"
    grep -q "\"line\":4,.*\"ok\":false,\"error\":\"interrupted by a signal" "$tmp/h.jsonl" ||
        fail "line 4 '$cmd' was not interrupted: $(sed -n 4p "$tmp/h.jsonl")"
    grep -q "^master: line 4: ${cmd%% *}: interrupted by a signal" "$tmp/err" ||
        fail "no error line for the interrupted command: $(head -c 600 "$tmp/err")"
    gone() { local p; for p in $recorded; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
    wait_for gone 1000 || fail "processes left: $recorded"
    compgen -G "$RUN_BASE/run-*" >/dev/null && fail "run directory left behind"
}

run_case put INT 'put 5 k v' --rpc-timeout 60000
run_case stabilize TERM stabilize --rpc-timeout 60000 --stabilize-timeout 60000
run_case stabilize-polling HUP stabilize --rpc-timeout 300 --stabilize-timeout 60000
[ $fails -eq 0 ] && echo ok
exit $fails
