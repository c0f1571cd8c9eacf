# showServer prints a server's view on stderr, one "show ID ..." line per
# item (links with their state, LSAs, the spanning tree, clock, Lamport
# counter, group), or on the --show stream; stdout keeps the key:value
# lines only, byte for byte what the script prints without showServer,
# and bin/check accepts the history.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CHECK=$(dirname "$MASTER")/check
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

printf '%s\n' 'joinServer 3' 'joinServer 42' 'joinServer 7' 'joinClient 100 3' 'put 100 a 1' \
    'breakConnection 3 7' 'stabilize' 'showServer 3' 'get 100 a' 'printStore 42' \
    'showServer 42' 'killServer 7' 'showServer 7' > "$tmp/show.txt"
grep -v showServer "$tmp/show.txt" > "$tmp/plain.txt"
"$MASTER" --history "$tmp/h.jsonl" < "$tmp/show.txt" > "$tmp/out" 2> "$tmp/err"
rc=$?
[ $rc = 1 ] || fail "exit status $rc, want 1 (showServer of a killed server fails)"
"$MASTER" < "$tmp/plain.txt" > "$tmp/plain.out" 2> "$tmp/plain.err" ||
    fail "the script without showServer failed: $(head -c 300 "$tmp/plain.err")"
cmp -s "$tmp/out" "$tmp/plain.out" || fail "stdout differs with showServer: $(diff "$tmp/plain.out" "$tmp/out")"
grep -v '^show \|^master: line 13: showServer: server 7 is not live (it was killed)$' "$tmp/err" |
    grep -q . && fail "stderr holds other lines: $(grep -v '^show ' "$tmp/err" | head -5)"
for want in 'show 3 incarnation 1' 'show 3 lamport 1' 'show 3 vclock 3:1' \
    'show 3 link 7 held' 'show 3 link 42 up heard [0-9]+ms' 'show 3 lsa 3 inc 1 seq [0-9]+ nb 42' \
    'show 3 lsa 7 inc 1 seq [0-9]+ nb 42' 'show 3 lsa 42 inc 1 seq [0-9]+ nb 3,7' \
    'show 3 tree 3 root' 'show 3 tree 42 parent 3' 'show 3 tree 7 parent 42' \
    'show 3 group 3,7,42' 'show 3 queued 0' 'show 42 link 3 up heard [0-9]+ms' 'show 42 link 7 up heard [0-9]+ms' \
    'show 42 group 3,7,42'; do
    grep -Eqx "$want" "$tmp/err" || fail "stderr lacks /$want/"
done
"$CHECK" "$tmp/h.jsonl" > "$tmp/check" 2>&1 || fail "bin/check rejects the history: $(head -c 800 "$tmp/check")"
grep -q unknown "$tmp/check" && fail "bin/check does not know showServer: $(cat "$tmp/check")"

# --show FILE: the views go there, not to stderr.
printf '%s\n' 'joinServer 5' 'showServer 5' | "$MASTER" --show "$tmp/views" > "$tmp/out2" 2> "$tmp/err2" ||
    fail "the --show run failed: $(head -c 300 "$tmp/err2")"
grep -qx 'show 5 group 5' "$tmp/views" || fail "--show file lacks the view: $(head -c 300 "$tmp/views")"
grep -q '^show ' "$tmp/err2" && fail "with --show the view went to stderr too"
[ -s "$tmp/out2" ] && fail "showServer wrote to stdout"
"$MASTER" --show /no/such/dir/v < /dev/null > /dev/null 2> "$tmp/err3"
[ $? = 2 ] && grep -q 'cannot write --show /no/such/dir/v' "$tmp/err3" ||
    fail "an unwritable --show is not a usage error: $(cat "$tmp/err3")"
[ $fails -eq 0 ] && echo ok
exit $fails
