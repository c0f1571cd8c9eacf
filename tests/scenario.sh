# scenario.sh: what the self-checking scenarios of testcases/ share. They
# source it after `set -u`; e2e.sh runs them from the top directory with
# MASTER, RUN_BASE and ROOT set.
#
#   wait_for COND HUNDREDTHS   polls a shell condition every 10 ms, bounded
#   master_on_fifo OUT ARGS... starts "$MASTER" ARGS reading $tmp/fifo (made
#                              afresh), stdout to OUT, stderr to $tmp/err;
#                              fd 3 writes the FIFO; $master is its pid
#
# Sourcing it makes $tmp, a fresh directory, and sets the EXIT trap: it kills
# $master (when set), closes fd 3, calls scenario_more_cleanup when the
# scenario defines one, ends every process recorded under $RUN_BASE and
# removes $tmp, so that a failing scenario leaves nothing behind either.

tmp=$(mktemp -d)
master=
scenario_cleanup() {
    [ -n "$master" ] && kill -KILL "$master" 2>/dev/null
    exec 3>&- 2>/dev/null
    declare -F scenario_more_cleanup >/dev/null && scenario_more_cleanup
    scripts/cleanup "$RUN_BASE"/run-* >/dev/null 2>&1
    rm -rf "$tmp"
}
trap scenario_cleanup EXIT

wait_for() {
    local i
    for ((i = 0; i < $2; i++)); do eval "$1" && return 0; sleep 0.01; done
    return 1
}

master_on_fifo() {
    local out=$1
    shift
    rm -f "$tmp/fifo"
    mkfifo "$tmp/fifo"
    "$MASTER" "$@" < "$tmp/fifo" > "$out" 2> "$tmp/err" &
    master=$!
    exec 3> "$tmp/fifo"
}
