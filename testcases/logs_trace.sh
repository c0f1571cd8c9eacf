# Every server and client writes its log to RUN_DIR/server-ID.log or
# client-ID.log, one timestamp per line; --keep keeps them. --trace adds a
# line per peer frame sent or received (direction, type, peer, versions);
# without it there is none.
set -u
tmp=$(mktemp -d)
kept=() mpid=
cleanup() {
    exec 7>&- 2>/dev/null
    [ -n "$mpid" ] && kill -9 "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
    scripts/cleanup "$RUN_BASE"/run-* >/dev/null 2>&1
    rm -rf "$tmp" "${kept[@]}" "$RUN_BASE"/run-*
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

printf '%s\n' 'joinServer 3' 'joinServer 42' 'joinClient 100 3' 'put 100 a 1' 'put 100 b 2' \
    'stabilize' 'get 100 a' > "$tmp/s.txt"
# run OPTIONS...: runs the script, sets $dir to the kept run directory.
run() {
    "$MASTER" --keep "$@" < "$tmp/s.txt" > "$tmp/out" 2> "$tmp/err" ||
        fail "the run ($*) failed: $(head -c 300 "$tmp/err")"
    dir=$(sed -n 's/^master: run directory kept: //p' "$tmp/err")
    [ -d "$dir" ] || { fail "no kept run directory: $(head -c 300 "$tmp/err")"; dir=$tmp/none; }
    kept+=("$dir")
    [ "$(cat "$tmp/out")" = "a:1" ] || fail "stdout: $(cat "$tmp/out")"
}

run --trace
stamp='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z [0-9]+ '
for f in server-3 server-42 client-100; do
    [ -s "$dir/$f.log" ] || { fail "$f.log is missing or empty"; continue; }
    grep -Evq "$stamp" "$dir/$f.log" && fail "$f.log has a line without a timestamp: $(grep -Ev "$stamp" "$dir/$f.log" | head -3)"
done
grep -Eq "${stamp}server 3: started \(pid [0-9]+\), listening on .*, tracing peer frames$" "$dir/server-3.log" ||
    fail "server 3 logged no start: $(head -3 "$dir/server-3.log")"
grep -Eq "${stamp}client 100: started" "$dir/client-100.log" || fail "client 100 logged no start"
for want in 'server 3: trace sent upd to 42: [12] writes? 3:1' \
    'server 42: trace received upd from 3: [12] writes? 3:(1-)?2$' \
    'server 3: trace (sent|received) hello (to|from) 42: inc 1 vc ' \
    'server 42: trace sent ack to 3: vc 3:2$' \
    'server 3: trace received lsa from 42: lsa 42 inc 1 seq [0-9]+ nb 3$'; do
    cat "$dir"/server-*.log | grep -Eq "$want" || fail "no log line like /$want/"
done
grep -q ': trace ' "$tmp/err" && fail "trace lines reached the master's stderr"
grep -q 'server [0-9]*: started' "$tmp/err" && fail "server lines reached the master's stderr"

run
grep -q 'started' "$dir/server-3.log" || fail "without --trace, server 3 logged no start"
grep -q ': trace ' "$dir"/server-*.log && fail "trace lines without --trace"
# A sanitizer's or valgrind's report in a log reaches the master's stderr
# when the process ends (the e2e runner looks for reports there). A fake
# one, appended while the server runs; kept out of this test's own output.
# The server is then killed from outside: the master's error for it names
# its log.
source "$ROOT/tests/standing.sh"
mkfifo "$tmp/m.fifo"
"$MASTER" --keep < "$tmp/m.fifo" > /dev/null 2> "$tmp/m.err" &
mpid=$!
exec 7> "$tmp/m.fifo"
printf '%s\n' 'joinServer 1' >&7
wait_for "grep -qs 'server 1: started' '$RUN_BASE'/run-*/server-1.log" 300 || fail "server 1 did not start"
for log in "$RUN_BASE"/run-*/server-1.log; do
    printf '%s\n' 'before' '==4242==FAKE: a report for the relay test' '    #0 0x1 in frame' >> "$log"
done
read -r spid _ < "$(ls "$RUN_BASE"/run-*/pids/server-1.pid | head -n 1)"
kill -9 "$spid"
wait_for "grep -q 'reported errors' '$tmp/m.err'" 300 || fail "no report passed on after server 1 died"
printf '%s\n' 'printStore 1' >&7
exec 7>&-
wait "$mpid"
[ $? = 1 ] || fail "the run with a fake report: exit status, want 1 (printStore of a dead server)"
mpid=
dir=$(sed -n 's/^master: run directory kept: //p' "$tmp/m.err")
kept+=("$dir")
grep -q "^watchdog: server 1 (pid [0-9]*) reported errors; its log: $dir/server-1.log" "$tmp/m.err" &&
    grep -q '^==4242==FAKE: a report' "$tmp/m.err" && grep -q '^    #0 0x1 in frame' "$tmp/m.err" &&
    ! grep -q '^before' "$tmp/m.err" || fail "the report was not passed on: $(head -c 400 "$tmp/m.err" | tr '=' '-')"
grep -q "line 2: printStore: server 1 is not live (it died: killed by signal 9; its log: $dir/server-1.log)" "$tmp/m.err" ||
    fail "the error does not name the log: $(grep "line 2" "$tmp/m.err")"
[ $fails -eq 0 ] && echo ok
exit $fails
