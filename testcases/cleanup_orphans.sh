# scripts/cleanup with no argument ends only runs whose master is gone: a
# live run (its master reading a FIFO) survives it untouched, while runs
# whose master record names a dead process, or that have no master record,
# lose their recorded processes and their directories. --all then ends the
# live run too. Waits are bounded polls on conditions.
set -u
source "$ROOT/tests/scenario.sh"
standins=()
scenario_more_cleanup() {
    local p
    for p in "${standins[@]}"; do kill -KILL "$p" 2>/dev/null; done
}
. scripts/pids.sh # start_time
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A live run.
master_on_fifo /dev/null
printf 'joinServer 1\njoinClient 5 1\n' >&3
wait_for '[ -n "$(ls "$RUN_BASE"/run-*/pids/client-5.pid 2>/dev/null)" ]' 3000 ||
    fail "the live run did not start: $(head -c 500 "$tmp/err")"
live=$(dirname "$(dirname "$(ls "$RUN_BASE"/run-*/pids/client-5.pid)")")
live_pids=$(cat "$live"/pids/*.pid | awk '{print $1}')

# Orphans: a stand-in for a daemon that outlived its master, recorded
# with its start time; one run's master record names a dead process, the
# other run has none.
true & dead=$!
wait "$dead"
for name in dead-master no-master; do
    dir=$RUN_BASE/run-$name
    mkdir -p "$dir/pids"
    sleep 600 &
    standins+=($!)
    echo "$! $(start_time $!)" > "$dir/pids/server-1.pid"
done
echo "$dead 1" > "$RUN_BASE/run-dead-master/pids/master.pid"

scripts/cleanup > "$tmp/out" 2>&1
for p in $live_pids; do kill -0 "$p" 2>/dev/null || fail "cleanup ended pid $p of the live run"; done
[ -d "$live" ] || fail "cleanup removed the live run's directory"
grep -q "in progress" "$tmp/out" || fail "no note that the live run was left alone: $(cat "$tmp/out")"
for p in "${standins[@]}"; do
    wait_for "! kill -0 $p 2>/dev/null" 500 || fail "the orphan's process $p is alive"
done
for name in dead-master no-master; do
    [ -e "$RUN_BASE/run-$name" ] && fail "run-$name was not removed"
done
grep -q "2 process(es) ended" "$tmp/out" || fail "unexpected report: $(cat "$tmp/out")"

# The live run still works, and --all ends it.
printf 'put 5 k v\nget 5 k\n' >&3
scripts/cleanup --all > "$tmp/out" 2>&1
wait "$master"
master=
exec 3>&-
for p in $live_pids; do
    wait_for "! kill -0 $p 2>/dev/null" 500 || fail "--all left pid $p alive"
done
[ -e "$live" ] && fail "--all did not remove the live run's directory"
[ $fails -eq 0 ] && echo ok
exit $fails
