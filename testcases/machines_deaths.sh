# Runs that survive what happens outside the script, on three standing
# watchdogs (127.0.0.1, ports they pick):
# - a server killed with kill -9 mid-run: the master says it died and
#   treats it as killed (stabilize does not wait for it, killServer of it
#   succeeds, joinServer brings it back with its data);
# - a client killed with kill -9: its next joinClient starts it afresh;
# - a whole watchdog killed with kill -9: commands for its ids fail naming
#   the machine, the rest of the run goes on; restarted, it takes the run
#   up again and its servers rejoin with their data;
# - a master killed with kill -9: every watchdog ends its run (processes
#   and directory) within a few seconds;
# - two masters at once on the same watchdogs, each in its own run;
# - at start, an unreachable watchdog or a bad cluster file: exit 2,
#   naming the machine or the file, before any command runs.
# Every history passes bin/check. The master reads its script from a FIFO,
# so the test acts between commands.
set -u
source "$ROOT/tests/standing.sh"
standing_scenario deaths
fail() {
    echo "FAIL: $*"
    for f in "$dir"/*.err; do [ -f "$f" ] && tail -n 10 "$f" | sed "s|^|  $(basename "$f"): |"; done
    for f in "$dir"/watchdog-m*.log; do tail -n 8 "$f" | sed "s|^|  $(basename "$f"): |"; done
    exit 1
}
check="$(dirname "$MASTER")/check"
standing_start "$dir" 3 || fail "watchdogs did not start"

# master_start NAME: the master on the FIFO dir/NAME.fifo (fd 7).
master_start() {
    mkfifo "$dir/$1.fifo"
    "$MASTER" --config "$dir/cluster.json" --history "$dir/$1.jsonl" < "$dir/$1.fifo" \
        > "$dir/$1.out" 2> "$dir/$1.err" &
    mpid=$!
    exec 7> "$dir/$1.fifo"
}
send() { printf '%s\n' "$@" >&7; }
# master_end NAME: end of input; the master's exit status in $rc.
master_end() {
    exec 7>&-
    wait "$mpid"
    rc=$?
    mpid=
    "$check" "$dir/$1.jsonl" > "$dir/$1.check" 2>&1 ||
        fail "$1: bin/check rejects the history: $(head -c 800 "$dir/$1.check")"
}
# The pid of a process of the run (server-ID or client-ID) on machine I.
pid_of() { cat "${WD_DATA[$1]}"/run-*/pids/"$2".pid 2>/dev/null | cut -d' ' -f1; }
# Waits for the master's stderr to match a pattern.
await_err() { wait_for "grep -Eq -- '$1' '$dir/$2.err'" 200 || fail "$2: no /$1/ on stderr"; }

# Placement without a rule: servers 1, 2, 3 on m1, m2, m3 in turn, 4, 5,
# 6 again; a client beside the server it first joins.
# ---- a server and a client killed from outside -------------------------
master_start deaths
send "joinServer 1" "joinServer 2" "joinServer 3" "joinClient 10 1" "joinClient 20 2" \
     "put 10 a 1" "put 20 b 2" "stabilize" "printStore 3"
wait_for '[ "$(grep -c . "$dir/deaths.out")" -ge 2 ]' 300 || fail "the first commands did not run"
spid=$(pid_of 2 server-2)
[ -n "$spid" ] || fail "no pid record of server 2 on m2"
kill -9 "$spid"
wait_for "grep -q 'server 2 (pid $spid) died' '${WD_LOG[2]}'" 100 || fail "m2 did not report the death"
send "stabilize" "put 10 c 3" "killServer 2" "joinServer 2" "stabilize" "printStore 2"
await_err 'server 2 died \(killed by signal 9\); treated as killed' deaths
wait_for '[ "$(grep -c . "$dir/deaths.out")" -ge 5 ]' 300 || fail "the run stalled after the death"
cpid=$(pid_of 1 client-10)
kill -9 "$cpid"
wait_for "grep -q 'client 10 (pid $cpid) died' '${WD_LOG[1]}'" 100 || fail "m1 did not report the death"
send "get 10 a" "joinClient 10 1" "get 10 a"
master_end deaths
[ "$rc" = 1 ] || fail "deaths: exit status $rc, want 1 (one get failed)"
grep -q "line .*: get: client 10 is not running (it died: killed by signal 9)" "$dir/deaths.err" ||
    fail "deaths: the get of the dead client did not say why"
grep -q 'client 10 died' "$dir/deaths.err" || fail "deaths: no line for the client's death"
grep -Eq '"cmd":"died".*"server":2' "$dir/deaths.jsonl" || fail "deaths: no died record"
# printStore 3, then printStore 2 after the rejoin: both stores whole.
want=$'a:1\nb:2'
[ "$(sed -n 1,2p "$dir/deaths.out")" = "$want" ] || fail "deaths: printStore 3: $(cat "$dir/deaths.out")"
[ "$(sed -n 3,5p "$dir/deaths.out")" = $'a:1\nb:2\nc:3' ] || fail "deaths: printStore 2 after the rejoin: $(cat "$dir/deaths.out")"
[ "$(sed -n 6p "$dir/deaths.out")" = "a:1" ] || fail "deaths: the restarted client read $(cat "$dir/deaths.out")"

# ---- a watchdog killed from outside -----------------------------------
master_start lost
send "joinServer 1" "joinServer 2" "joinServer 3" "joinServer 4" "joinServer 5" \
     "joinClient 10 1" "joinClient 20 2" "put 10 a 1" "put 20 b 2" "stabilize" "printStore 1"
wait_for '[ "$(grep -c . "$dir/lost.out")" -ge 2 ]' 300 || fail "the first commands did not run"
kill -9 "${WD_PID[2]}"
{ wait "${WD_PID[2]}"; } 2>/dev/null
WD_PID[2]=
# m2 held servers 2 and 5 and client 20: all died with their watchdog.
# Servers 6, 7 and 8 are placed on m3, m1 and m2 in turn.
send "stabilize" "put 20 c 3" "killServer 5" "joinServer 6" "joinServer 7" "joinServer 8" \
     "put 10 d 4" "stabilize" "printStore 3"
wait_for '[ "$(grep -c . "$dir/lost.out")" -ge 5 ]' 300 || fail "lost: the run stalled"
# The watchdog comes back on its port (a service restarted): the run is
# begun there again with its directory, and its servers rejoin with their
# data; its client starts afresh.
standing_one "$dir" 2 "${WD_PORT[2]}" 60 || fail "m2 did not restart"
send "joinServer 2" "joinClient 20 2" "get 20 b" "stabilize" "printStore 2"
master_end lost
[ "$rc" = 1 ] || fail "lost: exit status $rc, want 1"
await_err 'machine m2 \(127\.0\.0\.1:[0-9]+\) is unreachable: .*2 servers and 1 clients' lost
grep -q 'put: client 20 is on machine m2 (127.0.0.1:[0-9]*), which is unreachable' "$dir/lost.err" ||
    fail "lost: the put did not name the machine"
grep -q 'killServer: server 5 is on machine m2' "$dir/lost.err" || fail "lost: killServer did not name the machine"
grep -q 'line 17: joinServer: machine m2 (127.0.0.1:[0-9]*) is unreachable' "$dir/lost.err" ||
    fail "lost: joinServer 8 (placed on m2) did not name the machine"
[ "$(grep -c 'line' "$dir/lost.err")" = 3 ] || fail "lost: other commands failed"
grep -q 'machine m2 (127.0.0.1:[0-9]*) is back; the run.s directory was kept' "$dir/lost.err" ||
    fail "lost: m2 did not come back"
[ "$(sed -n 3,5p "$dir/lost.out")" = $'a:1\nb:2\nd:4' ] || fail "lost: printStore 3: $(cat "$dir/lost.out")"
[ "$(tail -n 4 "$dir/lost.out")" = $'b:2\na:1\nb:2\nd:4' ] ||
    fail "lost: after m2 came back: $(cat "$dir/lost.out")"
grep -Eq '"cmd":"lost".*"servers":\[2,5\],"clients":\[20\]' "$dir/lost.jsonl" || fail "lost: no lost record"
grep -Eq '"cmd":"back".*"kept":true' "$dir/lost.jsonl" || fail "lost: no back record"
wait_for "! compgen -G '${WD_DATA[2]}/run-*' > /dev/null" 50 || fail "m2 kept the run"

# ---- two masters at once, then a master killed with kill -9 -------------
master_start one
one=$mpid
send "joinServer 1" "joinServer 2" "joinServer 3" "joinClient 9 1" "put 9 k one"
exec 8>&7
mpid=
master_start two
send "joinServer 1" "joinServer 2" "joinServer 3" "joinClient 9 1" "put 9 k two" "stabilize" \
     "printStore 1"
wait_for '[ "$(cat "$dir/two.out")" = "k:two" ]' 300 || fail "two: $(cat "$dir/two.out")"
for i in 1 2 3; do
    [ "$(ls -d "${WD_DATA[$i]}"/run-* | wc -l)" = 2 ] || fail "m$i does not hold two runs"
done
kill -9 "$one"
{ wait "$one"; } 2>/dev/null
exec 8>&-
# Only the killed master's run ends: its processes and directories go.
for i in 1 2 3; do
    wait_for "[ \"\$(ls -d '${WD_DATA[$i]}'/run-* | wc -l)\" = 1 ]" 100 ||
        fail "m$i did not end the run of the killed master"
done
grep -q 'ended (its master.s connection from .* closed' "${WD_LOG[1]}" || fail "m1 did not log the run's end"
send "put 9 k three" "stabilize" "printStore 2"
master_end two
[ "$rc" = 0 ] || fail "two: exit status $rc"
[ "$(tail -n 1 "$dir/two.out")" = "k:three" ] || fail "two: $(cat "$dir/two.out")"
for i in 1 2 3; do
    wait_for "! compgen -G '${WD_DATA[$i]}/run-*' > /dev/null" 50 || fail "m$i kept a run"
    grep -Eq 'run [0-9a-f]+ ended' "${WD_LOG[$i]}" || fail "m$i logged no run end"
done

# ---- at start: an unreachable watchdog, a bad cluster file -------------
printf 'joinServer 1\n' > "$dir/one.txt"
sed "s/\"m3\", \"watchdog\": \"127.0.0.1:[0-9]*\"/\"m3\", \"watchdog\": \"127.0.0.1:1\"/" \
    "$dir/cluster.json" > "$dir/bad-port.json"
"$MASTER" --config "$dir/bad-port.json" < "$dir/one.txt" > /dev/null 2> "$dir/start.err"
rc=$?
[ "$rc" = 2 ] || fail "unreachable watchdog: exit status $rc, want 2"
grep -q 'machine m3 (127.0.0.1:1): cannot begin the run' "$dir/start.err" ||
    fail "unreachable watchdog: $(cat "$dir/start.err")"
grep -q 'line 1' "$dir/start.err" && fail "a command ran although a watchdog was unreachable"
printf '{"secret_file": "secret", "machines": [{"name": "m1", "watchdog": "127.0.0.1"}]}\n' \
    > "$dir/bad.json"
"$MASTER" --config "$dir/bad.json" < "$dir/one.txt" > /dev/null 2> "$dir/bad.err"
rc=$?
[ "$rc" = 2 ] || fail "bad cluster file: exit status $rc, want 2"
grep -q 'bad.json:1:[0-9]*: machines\[0\].watchdog' "$dir/bad.err" || fail "bad cluster file: $(cat "$dir/bad.err")"
# The unreachable start ended the run it had begun on m1 and m2.
for i in 1 2; do
    wait_for "! compgen -G '${WD_DATA[$i]}/run-*' > /dev/null" 50 || fail "m$i kept the aborted run"
done
echo ok
