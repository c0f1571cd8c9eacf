# bin/dump prints a kept server's store as printStore does, its write log
# and its clocks; it refuses a store a running server holds, naming the
# process, and reports a damaged store; it never writes the store.
set -u
tmp=$(mktemp -d)
source "$ROOT/tests/standing.sh"
mpid=
cleanup() {
    exec 7>&- 2>/dev/null
    [ -n "$mpid" ] && kill -9 "$mpid" 2>/dev/null
    scripts/cleanup "$tmp"/data >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
DUMP=$(dirname "$MASTER")/dump
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

printf '%s\n' 'joinServer 1' 'joinServer 2' 'joinClient 5 1' 'put 5 k one' 'put 5 j x' \
    'put 5 k two' 'stabilize' 'breakConnection 1 2' 'joinClient 6 2' 'put 6 z 9' 'printStore 1' > "$tmp/s.txt"
"$MASTER" --run-dir "$tmp/data" < "$tmp/s.txt" > "$tmp/out" 2> "$tmp/err" ||
    fail "the run failed: $(head -c 500 "$tmp/err")"
"$DUMP" --store "$tmp/data/server-1" > "$tmp/dump1" 2> "$tmp/derr" || fail "dump failed: $(cat "$tmp/derr")"
cmp -s "$tmp/out" "$tmp/dump1" || fail "dump --store differs from printStore: $(diff "$tmp/out" "$tmp/dump1")"
"$DUMP" "$tmp/data/server-2" > "$tmp/dump2" 2> "$tmp/derr" || fail "dump failed: $(cat "$tmp/derr")"
printf '%s\n' '== store ==' 'j:x' 'k:two' 'z:9' '== write log ==' '1:1 (1,1) k one' \
    '1:2 (2,1) j x' '1:3 (3,1) k two' '2:1 (4,2) z 9' '== clocks ==' 'incarnation 1' 'lamport 4' \
    'vclock 1:3,2:1' | diff - "$tmp/dump2" > "$tmp/diff" || fail "dump of server 2: $(cat "$tmp/diff")"
"$DUMP" --clocks "$tmp/data/server-1" | grep -qx 'vclock 1:3' || fail "server 1's clock"
"$DUMP" "$tmp/data" > /dev/null 2> "$tmp/derr"
[ $? = 2 ] && grep -q 'not a server.s store' "$tmp/derr" || fail "a directory that is no store: $(cat "$tmp/derr")"

# A store in use: refused, naming the process; its files unchanged.
mkfifo "$tmp/m.fifo"
"$MASTER" --run-dir "$tmp/data" < "$tmp/m.fifo" > "$tmp/m.out" 2> "$tmp/m.err" &
mpid=$!
exec 7> "$tmp/m.fifo"
printf '%s\n' 'joinServer 1' 'printStore 1' >&7
wait_for '[ "$(grep -c "^k:" "$tmp/m.out")" = 1 ]' 300 || fail "the second run did not start server 1"
before=$(ls -l --time-style=+%s.%N "$tmp/data/server-1" | md5sum)
"$DUMP" "$tmp/data/server-1" > /dev/null 2> "$tmp/derr"
rc=$?
[ $rc = 2 ] && grep -Eq 'store .*/server-1 is in use: process [0-9]+ holds its LevelDB lock' "$tmp/derr" ||
    fail "a store in use was not refused (exit $rc): $(cat "$tmp/derr")"
[ "$(ls -l --time-style=+%s.%N "$tmp/data/server-1" | md5sum)" = "$before" ] ||
    fail "dump changed the store's files"
exec 7>&-
wait "$mpid" || fail "the second run failed: $(head -c 300 "$tmp/m.err")"
mpid=

# Damage: bytes flipped in the middle of LevelDB's log.
log=$(ls "$tmp/data/server-1"/*.log | sort | tail -n 1)
size=$(stat -c %s "$log")
[ "$size" -gt 16 ] || fail "no LevelDB log to damage ($log, $size bytes)"
printf '\xa5\x5a\xa5\x5a\xa5\x5a\xa5\x5a' | dd of="$log" bs=1 seek=$((size / 2)) conv=notrunc status=none
"$DUMP" "$tmp/data/server-1" > /dev/null 2> "$tmp/derr"
rc=$?
[ $rc = 1 ] && grep -q 'damaged' "$tmp/derr" && grep -q "$tmp/data/server-1" "$tmp/derr" ||
    fail "a damaged store was not reported (exit $rc): $(cat "$tmp/derr")"
grep -q daadkvs-dump "$tmp/derr" && fail "the message names the private copy: $(cat "$tmp/derr")"
[ $fails -eq 0 ] && echo ok
exit $fails
