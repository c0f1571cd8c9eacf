# Without DAADKVS_RUN_BASE each user gets a run base of their own:
# $XDG_RUNTIME_DIR/daadkvs when XDG_RUNTIME_DIR is an absolute directory
# of the user's, else ${TMPDIR:-/tmp}/daadkvs-UID, made with mode 0700. So
# a first user's run no longer keeps a second user out. A base that is a
# symbolic link, belongs to someone else or is writable by others is
# refused with exit status 2 and one line saying why.
# The second user is a spare uid without an account, taken with setpriv,
# which needs root; without root that part is skipped with one line.
set -u
unset DAADKVS_RUN_BASE XDG_RUNTIME_DIR
tmp=$(mktemp -d)
chmod 1777 "$tmp" # like /tmp: anyone may create, nobody may remove others' entries
bases=()
cleanup() {
    local b
    for b in "${bases[@]}"; do DAADKVS_RUN_BASE=$b scripts/cleanup --all >/dev/null 2>&1; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
me=$(id -u)
script='joinServer 1
joinClient 5 1
put 5 k v
get 5 k'

# run NAME WANT_STATUS [PATTERN] -- COMMAND...: the master's stdout must
# be k:v after a run, stderr one line matching PATTERN after a refusal.
run() {
    local name=$1 want=$2 pat=$3
    shift 4
    printf '%s\n' "$script" | "$@" > "$tmp/out" 2> "$tmp/err"
    local rc=$?
    if [ $rc != "$want" ]; then
        fail "$name: exit status $rc, want $want: $(head -c 600 "$tmp/err")"
    elif [ "$want" = 0 ] && [ "$(cat "$tmp/out")" != k:v ]; then
        fail "$name: stdout $(head -c 200 "$tmp/out")"
    elif [ "$want" != 0 ] && { [ "$(wc -l < "$tmp/err")" != 1 ] || ! grep -Eq -- "$pat" "$tmp/err"; }; then
        fail "$name: stderr: $(cat "$tmp/err")"
    fi
}
# is_base DIR UID: a directory of that owner with mode 700.
is_base() {
    [ -d "$1" ] && [ ! -L "$1" ] && [ "$(stat -c %u:%a "$1")" = "$2:700" ] ||
        fail "$1 is not a base of uid $2 with mode 700: $(ls -ld "$1" 2>&1)"
}

bases+=("$tmp/daadkvs-$me")
run "first user" 0 "" -- env TMPDIR="$tmp" "$MASTER"
is_base "$tmp/daadkvs-$me" "$me"

mkdir -m 700 "$tmp/xdg"
bases+=("$tmp/xdg/daadkvs")
run "XDG_RUNTIME_DIR" 0 "" -- env TMPDIR="$tmp/none" XDG_RUNTIME_DIR="$tmp/xdg" "$MASTER"
is_base "$tmp/xdg/daadkvs" "$me"

mkdir -p "$tmp/w/daadkvs-$me"
chmod 777 "$tmp/w/daadkvs-$me"
run "writable by others" 2 \
    "^master: run base \(from TMPDIR\) $tmp/w/daadkvs-$me is writable by other users \(mode 0777\); " \
    -- env TMPDIR="$tmp/w" "$MASTER"

if [ "$me" != 0 ] || ! command -v setpriv > /dev/null; then
    echo "skipped: the second-user part needs root and setpriv"
else
    # A spare uid: no account, no process, no file of it here.
    other=
    for ((u = 61000; u < 61100; u++)); do
        getent passwd "$u" > /dev/null || pgrep -U "$u" > /dev/null || { other=$u; break; }
    done
    [ -n "$other" ] || fail "no spare uid in 61000-61099"
    as_other() { setpriv --reuid="$other" --regid="$other" --clear-groups "$@"; }
    master=$MASTER
    if ! as_other test -x "$MASTER"; then
        # The build is not reachable by others: a copy that is.
        mkdir -m 755 "$tmp/bin"
        cp "$(dirname "$MASTER")"/{master,watchdog,server,client} "$tmp/bin/"
        master=$tmp/bin/master
    fi
    bases+=("$tmp/daadkvs-$other")
    run "second user" 0 "" -- as_other env TMPDIR="$tmp" "$master"
    is_base "$tmp/daadkvs-$other" "$other"
    is_base "$tmp/daadkvs-$me" "$me"
    # A base someone else made, or a symbolic link, is refused.
    mkdir -p "$tmp/taken/daadkvs-$other"
    run "someone else's base" 2 \
        "^master: run base \(from TMPDIR\) $tmp/taken/daadkvs-$other belongs to uid 0, not to you \(uid $other\); " \
        -- as_other env TMPDIR="$tmp/taken" "$master"
    mkdir -m 1777 "$tmp/link"
    ln -s "$tmp/daadkvs-$other" "$tmp/link/daadkvs-$other"
    run "a symbolic link" 2 \
        "^master: run base \(from TMPDIR\) $tmp/link/daadkvs-$other is a symbolic link; " \
        -- as_other env TMPDIR="$tmp/link" "$master"
    # Someone else's XDG_RUNTIME_DIR (an inherited environment) is not used.
    run "someone else's XDG_RUNTIME_DIR" 0 "" -- \
        as_other env TMPDIR="$tmp" XDG_RUNTIME_DIR="$tmp/xdg" "$master" --keep
    grep -q "^master: run directory kept: $tmp/daadkvs-$other/run-" "$tmp/err" ||
        fail "with someone else's XDG_RUNTIME_DIR: $(cat "$tmp/err")"
    echo "second user: uid $other"
fi
[ $fails -eq 0 ] && echo ok
exit $fails
