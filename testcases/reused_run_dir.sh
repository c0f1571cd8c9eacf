# A second run on the same --run-dir starts its servers with the data of
# the first. With --history, each server's first joinServer records what
# its store held then, and bin/check takes those values as written before
# the run: the history passes. The same history without those records
# would show them as phantom values.
set -u
tmp=$(mktemp -d)
trap 'scripts/cleanup "$tmp"/data >/dev/null 2>&1; rm -rf "$tmp"' EXIT
CHECK=$(dirname "$MASTER")/check
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

printf '%s\n' 'joinServer 1' 'joinServer 2' 'joinClient 5 1' 'put 5 k first' 'put 5 j x' \
    'stabilize' > "$tmp/run1.txt"
printf '%s\n' 'joinServer 2' 'joinServer 1' 'joinClient 6 2' 'get 6 k' 'put 6 k second' \
    'stabilize' 'get 6 j' 'printStore 1' 'printStore 2' > "$tmp/run2.txt"
"$MASTER" --run-dir "$tmp/data" < "$tmp/run1.txt" > /dev/null 2> "$tmp/err1" ||
    fail "the first run failed: $(head -c 500 "$tmp/err1")"
"$MASTER" --run-dir "$tmp/data" --history "$tmp/h.jsonl" < "$tmp/run2.txt" > "$tmp/out" 2> "$tmp/err2" ||
    fail "the second run failed: $(head -c 500 "$tmp/err2")"
printf '%s\n' 'k:first' 'j:x' 'j:x' 'k:second' 'j:x' 'k:second' | diff - "$tmp/out" > "$tmp/diff" ||
    fail "the second run's output differs: $(cat "$tmp/diff")"
for id in 1 2; do
    grep -q "\"text\":\"joinServer $id\",.*\"store\":\[\[\"j\",\"x\",\[[0-9]*,[0-9]*\]\],\[\"k\",\"first\"" "$tmp/h.jsonl" ||
        fail "joinServer $id does not record the store it started with: $(grep -m1 "joinServer $id" "$tmp/h.jsonl")"
done
"$CHECK" "$tmp/h.jsonl" > "$tmp/check" 2>&1 || fail "bin/check rejects the history: $(head -c 1500 "$tmp/check")"
# Without the records, the values of the first run are phantoms.
sed 's/,"store":\[.*\]\],"cmd":"joinServer"/,"cmd":"joinServer"/' "$tmp/h.jsonl" | grep -v '"cmd":"printStore"' > "$tmp/bare.jsonl"
grep -q '"store"' "$tmp/bare.jsonl" && fail "the test did not strip the store records"
"$CHECK" "$tmp/bare.jsonl" > "$tmp/check" 2>&1
[ $? = 1 ] && grep -q "phantom" "$tmp/check" || fail "bin/check accepts the first run's values as written in this run: $(head -c 800 "$tmp/check")"
[ $fails -eq 0 ] && echo ok
exit $fails
