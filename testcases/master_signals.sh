# The master leaves no process behind when it gets SIGINT, SIGTERM or SIGHUP, nor
# when it is SIGKILLed (its daemons notice and exit). Waits are bounded
# polls on conditions, never fixed sleeps.
set -u
wait_for() { # condition, bound in tenths of a second
    local i
    for ((i = 0; i < $2; i++)); do eval "$1" && return 0; sleep 0.1; done
    return 1
}
alive_records() { # pids recorded under RUN_BASE that are still running
    local rec pid n=0
    for rec in "$RUN_BASE"/run-*/pids/*.pid; do
        [ -f "$rec" ] || continue
        read -r pid _ < "$rec"
        kill -0 "$pid" 2>/dev/null && n=$((n + 1))
    done
    echo $n
}
fails=0
for sig in INT TERM HUP KILL; do
    fifo=$(mktemp -u); mkfifo "$fifo"
    "$MASTER" < "$fifo" > /dev/null 2>&1 &
    master=$!
    exec 3> "$fifo"
    printf 'joinServer 1\njoinServer 2\njoinClient 3 1\nput 3 k v\n' >&3
    # Running once the client is recorded (it starts after both servers).
    if ! wait_for '[ -n "$(ls "$RUN_BASE"/run-*/pids/client-3.pid 2>/dev/null)" ]' 100; then
        echo "SIG$sig: cluster did not start"; fails=$((fails + 1))
    fi
    recorded=$(cat "$RUN_BASE"/run-*/pids/*.pid 2>/dev/null | awk '{print $1}')
    kill -"$sig" "$master"
    wait "$master" 2>/dev/null
    exec 3>&-
    rm -f "$fifo"
    gone() { local p; for p in $recorded; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
    if ! wait_for gone 100; then
        echo "SIG$sig: processes left: $recorded"; fails=$((fails + 1))
        for p in $recorded; do kill -KILL "$p" 2>/dev/null; done
    fi
    if ! wait_for '! compgen -G "$RUN_BASE/run-*" >/dev/null' 50; then
        echo "SIG$sig: run directory left behind"; fails=$((fails + 1))
        rm -rf "$RUN_BASE"/run-*
    fi
done
[ "$fails" = 0 ] && echo ok
exit "$fails"
