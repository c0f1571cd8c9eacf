# Without --config, processes killed from outside do not stall the run
# either: a server killed with kill -9 is treated as killed, a client's
# next joinClient starts it afresh, and the master's own watchdog killed
# with kill -9 (its servers and clients die with it) is started again when
# a command needs it; the servers rejoin with their data. The history
# passes bin/check.
set -u
source "$ROOT/tests/standing.sh"
standing_scenario local
fail() {
    echo "FAIL: $*"
    sed 's/^/  master: /' "$dir/m.err" | tail -n 20
    exit 1
}
mkfifo "$dir/m.fifo"
"$MASTER" --history "$dir/m.jsonl" < "$dir/m.fifo" > "$dir/m.out" 2> "$dir/m.err" &
mpid=$!
exec 7> "$dir/m.fifo"
send() { printf '%s\n' "$@" >&7; }
pid_of() { cut -d' ' -f1 "$RUN_BASE"/run-*/pids/"$1".pid 2>/dev/null; }
lines() { grep -c . "$dir/m.out"; }

send "joinServer 1" "joinServer 2" "joinClient 10 1" "put 10 a 1" "stabilize" "printStore 2"
wait_for '[ "$(lines)" -ge 1 ]' 300 || fail "the first commands did not run"
spid=$(pid_of server-2)
kill -9 "$spid"
wait_for "gone $spid" 100 || fail "server 2 did not die"
send "stabilize" "killServer 2" "put 10 b 2" "joinServer 2" "stabilize" "printStore 2"
wait_for '[ "$(lines)" -ge 3 ]' 300 || fail "the run stalled after server 2 died"
grep -q 'master: server 2 died (killed by signal 9); treated as killed' "$dir/m.err" ||
    fail "no line for the death"
wpid=$(pid_of watchdog)
kill -9 "$wpid"
wait_for "gone $wpid && gone \$(pid_of server-1)" 100 || fail "the watchdog or server 1 lingers"
send "put 10 c 3" "joinServer 1" "joinServer 2" "joinClient 10 1" "put 10 c 3" "stabilize" \
     "printStore 2"
exec 7>&-
wait "$mpid"
rc=$?
mpid=
[ "$rc" = 1 ] || fail "exit status $rc, want 1 (the put while the watchdog was gone)"
grep -q 'line 13: put: client 10 is on machine local (127.0.0.1:[0-9]*), which is unreachable' \
    "$dir/m.err" || fail "the put did not name the lost watchdog"
grep -q 'machine local (127.0.0.1:[0-9]*) is back; the run.s directory was kept' "$dir/m.err" ||
    fail "the watchdog was not started again"
[ "$(cat "$dir/m.out")" = $'a:1\na:1\nb:2\na:1\nb:2\nc:3' ] || fail "stores: $(cat "$dir/m.out")"
"$(dirname "$MASTER")/check" "$dir/m.jsonl" > "$dir/check.out" 2>&1 ||
    fail "bin/check: $(cat "$dir/check.out")"
echo ok
