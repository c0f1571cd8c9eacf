# Results that cannot be written stop the run: one message naming the
# line and the reason, exit status 1, the history ends with its end
# record, and nothing is left behind. Output goes to /dev/full (a full
# disk) and to a pipe nobody reads any more.
set -u
tmp=$(mktemp -d)
trap 'exec 6>&- 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL $case: $*"; fails=$((fails + 1)); }
printf '%s\n' 'joinServer 1' 'joinClient 5 1' 'put 5 k v' 'get 5 k' 'get 5 k' 'printStore 1' \
    > "$tmp/script"

check_run() { # STATUS REASON
    [ "$1" = 1 ] || fail "exit status $1, want 1"
    [ "$(grep -c 'cannot write' "$tmp/err")" = 1 ] &&
        grep -Eq "^master: line 4: cannot write results to stdout: $2; stopping$" "$tmp/err" ||
        fail "stderr: $(cat "$tmp/err")"
    # The run stopped after line 4.
    tail -n1 "$tmp/h.jsonl" | grep -q '"line":5,"text":"","cmd":"end","ok":true,"exit":1' ||
        fail "last history record: $(tail -n1 "$tmp/h.jsonl")"
}

case=/dev/full
"$MASTER" --history "$tmp/h.jsonl" < "$tmp/script" > /dev/full 2> "$tmp/err"
check_run $? "No space left on device"

case="closed pipe"
mkfifo "$tmp/pipe"
exec 5<> "$tmp/pipe" 6> "$tmp/pipe" 5<&- # a write end whose only reader is gone
"$MASTER" --history "$tmp/h.jsonl" < "$tmp/script" >&6 2> "$tmp/err"
check_run $? "Broken pipe"
exec 6>&-
[ $fails -eq 0 ] && echo ok
exit $fails
