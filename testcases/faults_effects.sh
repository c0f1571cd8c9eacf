# What the faults do, seen from outside: a delayed link holds a write back
# (a get at the far end right after the put misses it, and stabilize waits
# for it); --seed is recorded in the history and not printed, while a
# random seed is printed once; a bad --seed is a usage error.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# 1. A 3 s delay from 1 to 2: the get through server 2 runs well within it.
printf '%s\n' 'joinServer 1' 'joinServer 2' 'joinClient 10 1' 'joinClient 20 2' \
    'delayLink 1 2 3000' 'put 10 a 1' 'get 20 a' 'stabilize' 'get 20 a' \
    > "$tmp/delay.txt"
"$MASTER" --history "$tmp/delay.jsonl" < "$tmp/delay.txt" > "$tmp/delay.out" 2> "$tmp/delay.err" ||
    fail "delay: exit $?: $(cat "$tmp/delay.err")"
[ "$(cat "$tmp/delay.out")" = "$(printf 'a:ERR_KEY\na:1')" ] ||
    fail "delay: stdout $(cat "$tmp/delay.out")"
# stabilize waited for the delayed frame (at least 2 s of the 3 s were left).
took=$(awk -F'"end_us":' '/"cmd":"stabilize"/ { split($2, e, ","); match($0, /"start_us":[0-9]+/);
        s = substr($0, RSTART + 11, RLENGTH - 11); print int((e[1] - s) / 1000) }' "$tmp/delay.jsonl")
[ -n "$took" ] && [ "$took" -ge 2000 ] || fail "delay: stabilize took ${took:-?} ms"
grep -q 'faults draw from seed' "$tmp/delay.err" && fail "delay: a seed printed without jitter"

# 2. --seed: recorded, not printed. A random seed is printed once.
printf '%s\n' 'joinServer 1' 'joinServer 2' 'flakyLink 1 2 10' 'delayLink 2 1 5 5' \
    'flakyLink 1 2 0' 'stabilize' > "$tmp/seed.txt"
"$MASTER" --seed 18446744073709551615 --history "$tmp/seed.jsonl" < "$tmp/seed.txt" \
    > /dev/null 2> "$tmp/seed.err" || fail "seed: exit $?: $(cat "$tmp/seed.err")"
[ -s "$tmp/seed.err" ] && fail "seed: stderr: $(cat "$tmp/seed.err")"
[ "$(grep -c '"seed":"18446744073709551615"' "$tmp/seed.jsonl")" = 2 ] ||
    fail "seed: not in the history: $(grep -m1 flaky "$tmp/seed.jsonl")"
"$MASTER" --history "$tmp/rand.jsonl" < "$tmp/seed.txt" > /dev/null 2> "$tmp/rand.err" ||
    fail "random seed: exit $?"
[ "$(grep -c '^master: faults draw from seed [0-9]* (--seed [0-9]* repeats them)$' "$tmp/rand.err")" = 1 ] ||
    fail "random seed: stderr: $(cat "$tmp/rand.err")"
n=$(sed -n 's/^master: faults draw from seed \([0-9]*\) .*/\1/p' "$tmp/rand.err")
grep -q "\"seed\":\"$n\"" "$tmp/rand.jsonl" || fail "random seed $n: not in the history"

# 3. A bad --seed is a usage error.
echo 'joinServer 1' | "$MASTER" --seed x > /dev/null 2> "$tmp/bad.err"
rc=$?
[ $rc -eq 2 ] && grep -q -- '--seed' "$tmp/bad.err" || fail "bad seed: exit $rc: $(cat "$tmp/bad.err")"

[ $fails -eq 0 ] && echo ok
exit $fails
