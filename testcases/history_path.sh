# A --history path that cannot be written stops the master at start with
# exit status 2 and one line naming the file, before it makes any run
# directory: neither a fresh one under the run base nor a --run-dir.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
expect() { # NAME PATTERN ARGS...
    local name=$1 pat=$2
    shift 2
    echo "joinServer 1" | "$MASTER" "$@" > /dev/null 2> "$tmp/err"
    local rc=$?
    if [ $rc -ne 2 ] || [ "$(wc -l < "$tmp/err")" -ne 1 ] || ! grep -Eq -- "$pat" "$tmp/err"; then
        echo "FAIL $name: exit $rc, stderr: $(cat "$tmp/err")"
        fails=$((fails + 1))
    fi
    if compgen -G "$RUN_BASE/*" > /dev/null; then
        echo "FAIL $name: left behind: $(ls -A "$RUN_BASE")"
        fails=$((fails + 1))
        rm -rf "${RUN_BASE:?}"/*
    fi
}
expect "missing directory" "^master: cannot write history $tmp/no/h.jsonl: No such file or directory$" \
    --history "$tmp/no/h.jsonl"
expect "a directory" "^master: cannot write history $tmp: Is a directory$" --history "$tmp"
expect "with --run-dir" "^master: cannot write history $tmp/no/h.jsonl: " \
    --history "$tmp/no/h.jsonl" --run-dir "$tmp/data"
[ -e "$tmp/data" ] && { echo "FAIL: --run-dir $tmp/data was created"; fails=$((fails + 1)); }
[ $fails -eq 0 ] && echo ok
exit $fails
