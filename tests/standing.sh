# Sourced by the tests that run the master with --config: standing
# watchdogs on 127.0.0.1, each on a port it picks (printed on stdout), each
# with its own data directory, and a cluster file naming them.
#
#   standing_start DIR N   starts N watchdogs m1..mN under DIR (secret,
#                          data directories, logs), sets WD_PID[i],
#                          WD_PORT[i], WD_DATA[i], WD_LOG[i]; writes
#                          DIR/cluster.json
#   standing_stop          SIGTERMs them (SIGKILL after 10 s), by pid
#   wait_for COND TENTHS   polls a shell condition, bounded
#   gone PID               the process has ended
#   standing_scenario NAME makes $dir (RUN_BASE/NAME-XXXXXX) and the EXIT
#                          trap: it closes fd 7 (a master's FIFO), calls
#                          scenario_more_cleanup when the caller defines
#                          one, kills the master $mpid (when set), stops the
#                          watchdogs and removes $dir
#
# Without standing_scenario, the caller's EXIT trap must call standing_stop. Watchdogs get no fd 7 or
# 8 (tests feed a master's FIFO through them: an inherited writer would
# keep the master from seeing the end of its input).
WD_PID=() WD_PORT=() WD_DATA=() WD_LOG=()

wait_for() { # condition, bound in tenths of a second
    local i
    for ((i = 0; i < $2; i++)); do eval "$1" && return 0; sleep 0.1; done
    return 1
}

# standing_one DIR I [PORT [GRACE]]: starts watchdog mI (on PORT, default
# any; orphans wait GRACE seconds, default 2).
standing_one() {
    local dir=$1 i=$2 port=${3:-0} grace=${4:-2}
    WD_DATA[$i]=$dir/data-m$i
    WD_LOG[$i]=$dir/watchdog-m$i.log
    : > "$dir/port-m$i"
    "$(dirname "$MASTER")/watchdog" --listen "127.0.0.1:$port" --secret-file "$dir/secret" \
        --data-dir "${WD_DATA[$i]}" --orphan-grace "$grace" > "$dir/port-m$i" \
        2>> "${WD_LOG[$i]}" 7>&- 8>&- &
    WD_PID[$i]=$!
    wait_for "[ -n \"\$(head -n 1 '$dir/port-m$i')\" ]" 100 || return 1
    WD_PORT[$i]=$(head -n 1 "$dir/port-m$i")
}

standing_config() {
    local dir=$1 n=$2 i sep=""
    {
        echo '{"secret_file": "secret", "machines": ['
        for ((i = 1; i <= n; i++)); do
            printf '%s{"name": "m%d", "watchdog": "127.0.0.1:%s"}\n' "$sep" "$i" "${WD_PORT[$i]}"
            sep=,
        done
        echo ']}'
    } > "$dir/cluster.json"
}

standing_start() {
    local dir=$1 n=$2 i
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/secret")
    for ((i = 1; i <= n; i++)); do
        standing_one "$dir" "$i" || { echo "watchdog m$i reported no port"; return 1; }
    done
    standing_config "$dir" "$n"
}

# gone PID: the process ended (a zombie child counts: it is only
# waiting for wait).
gone() {
    [ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]
}

standing_stop() {
    local i pid
    for i in "${!WD_PID[@]}"; do
        pid=${WD_PID[$i]}
        [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null
        wait_for "gone $pid" 100 || kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        WD_PID[$i]=
    done
}

standing_cleanup() {
    exec 7>&- 2>/dev/null
    declare -F scenario_more_cleanup >/dev/null && scenario_more_cleanup
    [ -n "$mpid" ] && kill -9 "$mpid" 2>/dev/null
    standing_stop
    rm -rf "$dir"
}

standing_scenario() {
    dir=$(mktemp -d "$RUN_BASE/$1-XXXXXX")
    mpid=
    trap standing_cleanup EXIT
}
