# Messages about a daemon name it by id, not by address, and a put whose
# fate is unknown says so. Server 1 and then client 6 are stopped
# (SIGSTOP) while the master sends them work, with --rpc-timeout 500:
#   put through client 5: the client's call to server 1 times out first
#     (the client got the master's 500 ms with attach) and says so;
#   get and printStore: the same without a write to worry about;
#   put through the stopped client 6: the master's own call times out,
#     500 ms plus the client's margin.
# The history passes bin/check. Waits are bounded polls on conditions.
set -u
source "$ROOT/tests/scenario.sh"
CHECK=$(dirname "$MASTER")/check
pid_of() { local p; read -r p _ < "$(ls "$RUN_BASE"/run-*/pids/"$1".pid)" && echo "$p"; }
lines() { { wc -l < "$tmp/h.jsonl"; } 2>/dev/null || echo 0; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# step N LINES...: sends the lines, then waits until the history has N records.
step() {
    local n=$1
    shift
    printf '%s\n' "$@" >&3
    wait_for "[ \$(lines) -ge $n ]" 3000 || fail "the master did not get to line $n: $(tail -c 500 "$tmp/err")"
}

master_on_fifo "$tmp/out" --rpc-timeout 500 --history "$tmp/h.jsonl"
step 5 'joinServer 1' 'joinClient 5 1' 'joinClient 6 1' 'put 5 a b' 'put 6 a c'
server=$(pid_of server-1)
client=$(pid_of client-6)
kill -STOP "$server"
step 8 'put 5 k v' 'get 5 k' 'printStore 1'
kill -CONT "$server"
kill -STOP "$client"
step 9 'put 6 k w'
kill -CONT "$client"
step 10 'stabilize'
exec 3>&-
wait "$master"
status=$?
master=
[ "$status" = 1 ] || fail "exit status $status, want 1"

expect() { # PATTERN: a line of stderr matches it whole
    grep -Eq "^$1\$" "$tmp/err" || fail "stderr lacks /$1/: $(cat "$tmp/err")"
}
unknown='; the write may or may not have happened'
expect "master: line 6: put: client 5: no answer from server 1 within 500 ms$unknown"
expect "master: line 7: get: client 5: no answer from server 1 within 500 ms"
expect "master: line 8: printStore: no answer from server 1 within 500 ms"
expect "master: line 9: put: no answer from client 6 within 1500 ms$unknown"
grep -E '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+' "$tmp/err" && fail "a message names an address"
grep -q "\"line\":6,.*\"error\":\"client 5: no answer from server 1 within 500 ms$unknown\"" "$tmp/h.jsonl" ||
    fail "the history's error for line 6: $(sed -n 6p "$tmp/h.jsonl")"
"$CHECK" "$tmp/h.jsonl" > "$tmp/check" 2>&1 || fail "bin/check rejects the history: $(head -c 1500 "$tmp/check")"
[ $fails -eq 0 ] && echo ok
exit $fails
