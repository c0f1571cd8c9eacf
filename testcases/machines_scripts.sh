# Every scenario of testcases/ and every reference script runs unchanged
# with --config, spread over three standing watchdogs on 127.0.0.1 (each
# on a port it picked): the same stdout (where it is fixed) and exit
# status as without a config, and a history that bin/check accepts.
# Afterwards every watchdog has ended its runs: no run directory left.
set -u
source "$ROOT/tests/standing.sh"
standing_scenario machines
fail() {
    echo "FAIL: $*"
    for f in "$dir"/watchdog-m*.log; do tail -n 5 "$f" | sed "s|^|  $(basename "$f"): |"; done
    exit 1
}
check="$(dirname "$MASTER")/check"
standing_start "$dir" 3 || fail "watchdogs did not start"

# run NAME SCRIPT [EXPECTED_OUT] [EXPECTED_RC]
run() {
    local name=$1 script=$2 want_out=${3:-} want_rc=${4:-0} rc
    "$MASTER" --config "$dir/cluster.json" --history "$dir/$name.jsonl" < "$script" \
        > "$dir/$name.out" 2> "$dir/$name.err"
    rc=$?
    [ "$rc" = "$want_rc" ] || fail "$name: exit status $rc, want $want_rc: $(head -c 600 "$dir/$name.err")"
    if [ -n "$want_out" ] && ! diff -u "$want_out" "$dir/$name.out" > "$dir/$name.diff"; then
        fail "$name: stdout differs: $(head -30 "$dir/$name.diff")"
    fi
    "$check" "$dir/$name.jsonl" > "$dir/$name.check" 2>&1 ||
        fail "$name: bin/check rejects the history: $(head -c 800 "$dir/$name.check")"
}

n=0
for t in "$ROOT"/testcases/*.txt; do
    name=$(basename "$t" .txt)
    out=; [ -f "${t%.txt}.out" ] && out=${t%.txt}.out
    rc=0; [ -f "${t%.txt}.rc" ] && rc=$(cat "${t%.txt}.rc")
    run "$name" "$t" "$out" "$rc"
    n=$((n + 1))
done
refs=${REFDIR:-$ROOT/../shared/reference-scripts}
if compgen -G "$refs/*.txt" > /dev/null; then
    for t in "$refs"/*.txt; do
        name=ref-$(basename "$t" .txt)
        out=$ROOT/tests/reference-expected/$(basename "$t" .txt).out
        [ -f "$out" ] || out=
        run "$name" "$t" "$out" 0
        n=$((n + 1))
    done
else
    echo "note: no reference scripts in $refs; only testcases/ ran"
fi
# Three generated scenarios too.
gen="$(dirname "$MASTER")/gen"
[ -x "$gen" ] || gen="$ROOT/bin/gen"
for seed in 3 11 29; do
    "$gen" --seed "$seed" > "$dir/gen-$seed.txt" || fail "gen --seed $seed"
    run "gen-$seed" "$dir/gen-$seed.txt" "" 0
    n=$((n + 1))
done

# Every server was placed: each machine ran some.
for i in 1 2 3; do
    grep -q 'server [0-9]* started' "${WD_LOG[$i]}" || fail "machine m$i started no server"
done
for i in 1 2 3; do
    wait_for "! compgen -G '${WD_DATA[$i]}/run-*' > /dev/null" 50 ||
        fail "machine m$i kept a run directory: $(ls "${WD_DATA[$i]}")"
done
echo "ok: $n scripts through --config on 3 watchdogs"
