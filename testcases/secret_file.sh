# The cluster secret. Server, client and watchdog require --secret-file
# (usage error without it) and refuse, with a message naming it, a secret
# file others can read, a missing one and a short one. A master run keeps a
# fresh secret in RUN_DIR/secret (mode 0600) and passes only its path: no
# daemon's command line holds the secret.
set -u
bin=$(dirname "$MASTER")
dir=$(mktemp -d "$RUN_BASE/secrets-XXXXXX")
master= fifo=
cleanup() {
    [ -n "$fifo" ] && exec 3>&- 2>/dev/null
    [ -n "$master" ] && kill -KILL "$master" 2>/dev/null && wait "$master" 2>/dev/null
    "$ROOT/scripts/cleanup" "$RUN_BASE"/run-* >/dev/null 2>&1
    rm -rf "$dir" "$fifo"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
wait_for() { # condition, bound in tenths of a second
    local i
    for ((i = 0; i < $2; i++)); do eval "$1" && return 0; sleep 0.1; done
    return 1
}

open=$dir/open short=$dir/short
(umask 022 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$open")
(umask 077 && printf 'too short\n' > "$short")
daemon() { # NAME SECRET_ARGS...: starts NAME by hand, which must refuse
    local name=$1
    shift
    case $name in
    server) "$bin/server" --id 1 --data "$dir/data" "$@" ;;
    client) "$bin/client" --id 2 "$@" ;;
    watchdog) "$bin/watchdog" --run-dir "$dir/wd" "$@" ;;
    esac > "$dir/out" 2> "$dir/err"
}
for name in server client watchdog; do
    daemon "$name"
    [ $? = 2 ] && grep -q -- '--secret-file FILE' "$dir/err" ||
        fail "$name without --secret-file: want a usage error, got: $(cat "$dir/err")"
    for file in "$open" "$short" "$dir/missing"; do
        daemon "$name" --secret-file "$file"
        rc=$?
        [ $rc = 1 ] || fail "$name with secret file $file: exit $rc, want 1"
        grep -q "secret file $file: " "$dir/err" ||
            fail "$name with secret file $file: $(cat "$dir/err")"
        [ -s "$dir/out" ] && fail "$name started with secret file $file"
    done
done
daemon server --secret-file "$open"
grep -q 'readable or writable by others (chmod 600 it)' "$dir/err" ||
    fail "the server does not say what is wrong with a file others can read: $(cat "$dir/err")"
[ ! -e "$dir/data" ] || fail "the server made its store before checking the secret"

# A run: its secret is in the run directory, 0600, and on no command line.
fifo=$dir/fifo
mkfifo "$fifo"
"$MASTER" < "$fifo" > /dev/null 2> "$dir/master.err" &
master=$!
exec 3> "$fifo"
printf 'joinServer 1\njoinServer 2\njoinClient 3 1\nput 3 k v\n' >&3
wait_for '[ -n "$(ls "$RUN_BASE"/run-*/pids/client-3.pid 2>/dev/null)" ]' 100 ||
    fail "the cluster did not start: $(cat "$dir/master.err")"
run=$(ls -d "$RUN_BASE"/run-* | head -n 1)
[ "$(stat -c %a "$run/secret")" = 600 ] || fail "RUN_DIR/secret has mode $(stat -c %a "$run/secret")"
secret=$(cat "$run/secret")
[ ${#secret} -ge 32 ] || fail "the secret is short: ${#secret} bytes"
n=0
for rec in "$run"/pids/*.pid; do
    read -r pid _ < "$rec"
    cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || continue
    n=$((n + 1))
    case $cmd in *"$secret"*) fail "$(basename "$rec" .pid) has the secret on its command line" ;; esac
    case $(basename "$rec") in
    master.pid) ;;
    *) case $cmd in *"--secret-file $run/secret"*) ;; *) fail "$(basename "$rec" .pid): $cmd" ;; esac ;;
    esac
done
[ "$n" -ge 5 ] || fail "only $n processes of the run were found"
exec 3>&-
fifo=
wait "$master"
rc=$?
master=
[ $rc = 0 ] || fail "the master exited $rc: $(cat "$dir/master.err")"
wait_for '! compgen -G "$RUN_BASE/run-*" >/dev/null' 50 || fail "the run directory (and its secret) was left"
echo ok
