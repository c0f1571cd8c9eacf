# The watchdog starts at most --max-procs servers and clients at a time: a
# start beyond the cap is refused with a clear fault and starts and records
# nothing; a kill frees a place. Talks to bin/watchdog directly with
# bin/rpccall (our XML-RPC travels in wire frames, not HTTP).
set -u
bin=$(dirname "$MASTER")
dir=$(mktemp -d "$RUN_BASE/run-XXXXXX")
wd=
cleanup() {
    [ -n "$wd" ] && kill -9 "$wd" 2>/dev/null
    "$ROOT/scripts/cleanup" "$dir" >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/watchdog.err" ] && sed 's/^/  watchdog: /' "$dir/watchdog.err"; exit 1; }
wait_for() { # condition, bound in tenths of a second
    local i
    for ((i = 0; i < $2; i++)); do eval "$1" && return 0; sleep 0.1; done
    return 1
}

# The cluster secret every connection proves (a path, never the secret,
# goes on command lines).
secret=$dir/secret
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$secret")

# Bad values of the option are usage errors.
for bad in 0 -1 x 1048577; do
    "$bin/watchdog" --run-dir "$dir" --secret-file "$secret" --max-procs "$bad" 2>/dev/null
    [ $? -eq 2 ] || fail "--max-procs $bad: want exit 2"
done

# Without --ready-fd the watchdog prints its port on stdout.
"$bin/watchdog" --run-dir "$dir" --secret-file "$secret" --max-procs 2 > "$dir/port" \
    2> "$dir/watchdog.err" &
wd=$!
wait_for '[ -n "$(head -n 1 "$dir/port" 2>/dev/null)" ]' 100 || fail "no port reported"
at=127.0.0.1:$(head -n 1 "$dir/port")
call() { "$bin/rpccall" --secret-file "$secret" "$at" "$@" > "$dir/out" 2> "$dir/errout"; }

call start s:client I:11 i:0 i:0 || fail "start client 11: $(cat "$dir/errout")"
grep -q '"port":[1-9]' "$dir/out" || fail "start gave $(cat "$dir/out")"
call start s:server I:12 i:0 i:0 || fail "start server 12: $(cat "$dir/errout")"

# Full: refused, with the reason, and nothing started or recorded.
call start s:client I:13 i:0 i:0 && fail "a third process was started"
grep -q 'watchdog: at most 2 processes at a time (--max-procs); client 13 refused' "$dir/errout" ||
    fail "fault: $(cat "$dir/errout")"
call start s:server I:14 i:0 i:0 && fail "a third process was started"
grep -q 'server 14 refused' "$dir/errout" || fail "fault: $(cat "$dir/errout")"
[ ! -e "$dir/pids/client-13.pid" ] && [ ! -e "$dir/pids/server-14.pid" ] ||
    fail "a refused start left a pid record"
[ ! -e "$dir/server-14" ] || fail "a refused server got a data directory"
call kill I:13 && fail "killing a refused id succeeded"

# A kill frees a place.
call kill I:11 || fail "kill 11: $(cat "$dir/errout")"
call start s:client I:13 i:0 i:0 || fail "start client 13 after a kill: $(cat "$dir/errout")"

call shutdown || fail "shutdown: $(cat "$dir/errout")"
wait_for '[ ! -e "$dir/pids/watchdog.pid" ]' 100 || fail "the watchdog did not shut down"
wait "$wd"
rc=$?
wd=
[ $rc -eq 0 ] || fail "watchdog exit status $rc"
ls "$dir/pids" | grep -q . && fail "records left: $(ls "$dir/pids")"
echo ok
