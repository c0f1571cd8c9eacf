# A run directory (--run-dir) or run base (DAADKVS_RUN_BASE) that cannot
# hold a run makes the master stop at start with exit status 2 and one line
# naming the directory and the reason, before any process starts.
#
# Read-only: tests may run as root, whom permission bits do not stop, so a
# root run mounts the directory read-only in a private mount namespace
# (unshare -m: the mount vanishes with the command), else makes it
# immutable (chattr +i); a non-root run uses chmod. When none of these
# works here the read-only part is skipped with a note.
set -u
tmp=$(mktemp -d)
immutable=
cleanup() {
    [ -n "$immutable" ] && chattr -i "$immutable" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
# expect NAME PATTERN COMMAND...: exit 2, exactly one stderr line, matching.
expect() {
    local name=$1 pat=$2
    shift 2
    "$@" < /dev/null > "$tmp/out" 2> "$tmp/err"
    local rc=$?
    if [ $rc -ne 2 ] || [ "$(wc -l < "$tmp/err")" -ne 1 ] || ! grep -Eq -- "$pat" "$tmp/err"; then
        echo "FAIL $name: exit $rc, stderr: $(cat "$tmp/err")"
        fails=$((fails + 1))
    fi
}

touch "$tmp/file"
expect "file as --run-dir" "^master: --run-dir $tmp/file: not a directory$" \
    "$MASTER" --run-dir "$tmp/file"
expect "file as run base" "^master: DAADKVS_RUN_BASE $tmp/file: not a directory$" \
    env DAADKVS_RUN_BASE="$tmp/file" "$MASTER"
expect "missing parent" "^master: --run-dir $tmp/no/such: cannot create: No such file or directory$" \
    "$MASTER" --run-dir "$tmp/no/such"
expect "under a file" "^master: --run-dir $tmp/file/sub: cannot create: Not a directory$" \
    "$MASTER" --run-dir "$tmp/file/sub"

mkdir "$tmp/ro"
if [ "$(id -u)" != 0 ]; then
    chmod 555 "$tmp/ro"
    how="chmod 555"
    ro() { "$@"; }
elif unshare -m sh -c 'mount --bind -o ro "$1" "$1" && ! touch "$1/x" 2>/dev/null' sh "$tmp/ro" 2>/dev/null; then
    how="a read-only bind mount"
    ro() { unshare -m sh -c 'mount --bind -o ro "$1" "$1" && shift && exec "$@"' sh "$tmp/ro" "$@"; }
elif chattr +i "$tmp/ro" 2>/dev/null; then
    immutable=$tmp/ro
    how="chattr +i"
    ro() { "$@"; }
else
    how=
fi
if [ -n "$how" ]; then
    expect "read-only --run-dir ($how)" "^master: --run-dir $tmp/ro: not writable: .+$" \
        ro "$MASTER" --run-dir "$tmp/ro"
    expect "read-only run base ($how)" "^master: DAADKVS_RUN_BASE $tmp/ro: not writable: .+$" \
        ro env DAADKVS_RUN_BASE="$tmp/ro" "$MASTER"
    ls -A "$tmp/ro" | grep -q . && { echo "FAIL: something was written into $tmp/ro"; fails=$((fails + 1)); }
else
    echo "note: cannot make a read-only directory here; that part is skipped"
fi

# A usable --run-dir still works, and the write test leaves nothing behind.
echo "joinServer 1" | "$MASTER" --run-dir "$tmp/ok" > /dev/null 2> "$tmp/err" ||
    { echo "FAIL usable --run-dir: $(cat "$tmp/err")"; fails=$((fails + 1)); }
[ -d "$tmp/ok/server-1" ] || { echo "FAIL: no server-1 under the usable --run-dir"; fails=$((fails + 1)); }
ls -A "$tmp/ok" | grep -q '^\.write-test' && { echo "FAIL: the write test left a file"; fails=$((fails + 1)); }
[ $fails -eq 0 ] && echo ok
