# stabilize with a server that cannot answer (stopped with SIGSTOP) fails
# naming that server by id, with no line of clocks; once it answers again
# the next stabilize succeeds.
set -u
source "$ROOT/tests/standing.sh"
standing_scenario stab
stopped=
scenario_more_cleanup() { [ -n "$stopped" ] && kill -CONT "$stopped" 2>/dev/null; }
fail() { echo "FAIL: $*"; sed 's/^/  master: /' "$dir/m.err" | tail -n 10; exit 1; }
mkfifo "$dir/m.fifo"
"$MASTER" --rpc-timeout 300 --stabilize-timeout 1500 --history "$dir/m.jsonl" \
    < "$dir/m.fifo" > "$dir/m.out" 2> "$dir/m.err" &
mpid=$!
exec 7> "$dir/m.fifo"
send() { printf '%s\n' "$@" >&7; }
pid_of() { cut -d' ' -f1 "$RUN_BASE"/run-*/pids/"$1".pid 2>/dev/null; }

send "joinServer 1" "joinServer 2" "joinServer 3" "joinClient 9 1" "put 9 k v" "printStore 1"
wait_for '[ -s "$dir/m.out" ]' 300 || fail "the first commands did not run"
stopped=$(pid_of server-2)
kill -STOP "$stopped"
send "stabilize"
wait_for "grep -q 'line 7: stabilize' '$dir/m.err'" 300 || fail "stabilize did not give up"
kill -CONT "$stopped"
stopped=
send "stabilize" "printStore 2"
exec 7>&-
wait "$mpid"
rc=$?
mpid=
[ "$rc" = 1 ] || fail "exit status $rc, want 1"
grep -q 'line 7: stabilize: not stable after 1500 ms: cannot reach server 2 (server 2: ' "$dir/m.err" ||
    fail "the unreachable server was not named"
grep -q 'clock \[' "$dir/m.err" && fail "clocks printed"
[ "$(grep -c 'line' "$dir/m.err")" = 1 ] || fail "the second stabilize failed"
[ "$(tail -n 1 "$dir/m.out")" = "k:v" ] || fail "printStore 2: $(cat "$dir/m.out")"
"$(dirname "$MASTER")/check" "$dir/m.jsonl" > "$dir/check.out" 2>&1 || fail "bin/check: $(cat "$dir/check.out")"
echo ok
