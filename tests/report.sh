#!/usr/bin/env bash
# The results folder (master --out) and its timeline page (bin/report),
# loaded in headless chromium:
#   1. the demo (scripts/demo.txt), no violation possible: every file of
#      the folder, stdout teed unchanged, and in the page's DOM a column per
#      client, a band per server, the op boxes, the kill and cut bands, the
#      stabilize groups, a valid verdict and no violation;
#   2. the demo's history with a forged get (line 28 reads 'red', the first
#      write, older than client 100's own write and than what server 3
#      certainly holds), drawn by bin/report: the violation elements with
#      their explanations, linked to script line 28, that op box outlined;
#   3. tests/report/faults.jsonl, a hand-written history with the fault
#      commands of issue 10 (pause, delay, block, flaky, sleep), a failed
#      and an unknown put and a death: their bands and boxes (and a value
#      that is markup, which must stay text);
#   4. a screenshot of each page, which must be a non-empty PNG.
# Also: --out with a stdout that cannot be written stops the run as before,
# and an --out that cannot be made is a usage error.
# Without chromium (scripts/install-deps --test installs it) the page checks
# are skipped with one line, except in CI (CI=true), where they fail.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
work=$(mktemp -d "${TMPDIR:-/tmp}/daadkvs-report.XXXXXX")
chrome_pgid=""
cleanup() {
    # chromium runs in its own process group (setsid): end what is left of it.
    [ -n "$chrome_pgid" ] && kill -KILL -- "-$chrome_pgid" 2>/dev/null
    scripts/cleanup "$work"/base/run-* >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS report: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL report: $1"; }
expect() { # description, then a command that must succeed
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
mkdir -p "$work/base"
export DAADKVS_RUN_BASE="$work/base"

# --- the folder --------------------------------------------------------
demo="$work/demo"
"$BIN/master" --out "$demo" < scripts/demo.txt > "$work/demo.stdout" 2> "$work/demo.stderr"
expect "demo run exits 0" [ $? = 0 ]
for f in script.txt stdout.txt stderr.txt history.jsonl check.txt check.json stats.json \
         latency.svg throughput.svg index.html; do
    expect "folder has $f" test -s "$demo/$f" -o "$f" = stderr.txt -a -f "$demo/$f"
done
expect "folder has servers/" test -d "$demo/servers"
expect "stdout.txt is what stdout got" cmp -s "$work/demo.stdout" "$demo/stdout.txt"
expect "script.txt is the script" cmp -s scripts/demo.txt "$demo/script.txt"
expect "check.txt says valid" grep -q '^verdict: valid' "$demo/check.txt"
expect "stats.json counts messages per put apart" \
    grep -q '"join_and_link_state_frames"' "$demo/stats.json"
expect "stderr names the page" grep -q "results in $demo/index.html" "$work/demo.stderr"

"$BIN/master" --out "$work/full" < scripts/demo.txt > /dev/full 2> "$work/full.stderr"
rc=$?
expect "--out with stdout on /dev/full: exit 1" [ "$rc" = 1 ]
expect "--out with stdout on /dev/full: one message" \
    grep -q 'cannot write results to stdout' "$work/full.stderr"
"$BIN/master" --out /proc/no/such < /dev/null > /dev/null 2> "$work/badout.stderr"
expect "--out that cannot be made: exit 2" [ $? = 2 ]
expect "--out that cannot be made: says why" grep -q -- '--out /proc/no/such' "$work/badout.stderr"

# --- a forged violation --------------------------------------------------
forged="$work/forged"
mkdir -p "$forged"
# (1,3) is always the version of line 7's put, the first write of server 3;
# the other versions depend on timing. dep_after is kept equal to
# dep_before, as the client would leave it.
sed -E '/"line":28,/{s/"value":"purple","version":\[[0-9]+,42\]/"value":"red","version":[1,3]/
    s/("dep_before":(\[[0-9]+,[0-9]+\]|null)),"dep_after":\[[0-9]+,[0-9]+\]/\1,"dep_after":\2/}' \
    "$demo/history.jsonl" > "$forged/history.jsonl"
cp scripts/demo.txt "$forged/script.txt"
mkdir -p "$forged/servers" && echo "a log line" > "$forged/servers/server-3.log"
"$BIN/check" --json "$forged/check.json" "$forged/history.jsonl" > /dev/null 2>&1
expect "the forged history is invalid" [ $? = 1 ]
expect "bin/report draws it" "$BIN/report" "$forged/history.jsonl" "$forged/check.json" "$forged" \
    2> "$work/forged.stderr"
# Sanitizer reports fail the test even when the output is right.
no_sanitizer_report() { ! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$@"; }
expect "no sanitizer report" no_sanitizer_report "$work"/*.stderr

faults="$work/faults"
mkdir -p "$faults"
"$BIN/check" --json "$faults/check.json" tests/report/faults.jsonl > /dev/null 2>&1
expect "bin/report draws the faults" "$BIN/report" tests/report/faults.jsonl "$faults/check.json" \
    "$faults" 2> "$work/faults.stderr"

# --- in the browser ------------------------------------------------------
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
    if [ "${CI:-}" = true ]; then
        bad "chromium is missing (scripts/install-deps --test installs it)"
    else
        echo "note: chromium is missing: the timeline page checks in headless chromium skipped"
    fi
    echo "report: $pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit
fi

# Runs chromium headless on a page with the given flags, bounded, in its
# own process group, with a private profile; what it prints goes to $out.
run_chrome() { # page out flags...
    local page=$1 out=$2; shift 2
    mkdir -p "$work/home"
    HOME="$work/home" XDG_CONFIG_HOME="$work/home" XDG_CACHE_HOME="$work/home" \
        setsid timeout -k 2 25 "$chrome" --headless --disable-gpu --no-sandbox \
        --user-data-dir="$work/profile" --no-first-run --disable-extensions \
        --disable-dev-shm-usage "$@" "file://$page" > "$out" 2> "$out.err" &
    chrome_pgid=$!
    wait "$chrome_pgid"
    local rc=$?
    kill -KILL -- "-$chrome_pgid" 2>/dev/null
    chrome_pgid=""
    return $rc
}

png_ok() { # a PNG signature and more than a header
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
        [ "$(stat -c %s "$1")" -gt 10000 ]
}
count() { grep -o "$1" "$2" | wc -l; }

dom="$work/demo.dom"
expect "chromium loads the demo page" run_chrome "$demo/index.html" "$dom" --dump-dom
expect "a column per client (2)" [ "$(count 'class="lane-head client"' "$dom")" = 2 ]
expect "a band per server (3)" [ "$(count 'class="lane-head server"' "$dom")" = 3 ]
expect "an op box per command (24)" [ "$(count 'class="op ok' "$dom")" = 24 ]
expect "the kill of server 3 as a band" grep -q 'class="band down"[^>]*title="killed from line 21 to line 22"' "$dom"
expect "the cut 3-42 as a band, healed by the rejoin of 3" grep -q 'class="band cut"[^>]*title="cut from line 12 to line 22"' "$dom"
expect "stabilize groups in the server bands" grep -q 'class="group g2"' "$dom"
expect "the verdict: valid" grep -q 'class="verdict valid"' "$dom"
expect "no violation" [ "$(count 'class="violation"' "$dom")" = 0 ]
expect "the script listed with line anchors" grep -q 'id="L28"' "$dom"
expect "the plots" grep -q 'src="latency.svg"' "$dom"

dom="$work/forged.dom"
expect "chromium loads the forged page" run_chrome "$forged/index.html" "$dom" --dump-dom
expect "the verdict: invalid" grep -q 'class="verdict invalid"' "$dom"
expect "two violation elements" [ "$(count 'class="violation"' "$dom")" = 2 ]
expect "read-your-writes explained" grep -q 'class="explanation">line 28 .get 100 colour. read version (1,3) = .red. of .colour. from server 3, older than the client.s own write' "$dom"
expect "older than held explained" grep -q 'class="explanation">line 28 .get 100 colour. returned version (1,3) of .colour. on server 3, older than a value it certainly holds' "$dom"
expect "the violation links to script line 28" grep -q 'class="line-link" href="#L28"' "$dom"
expect "script line 28 marked" grep -q 'class="sl bad" id="L28"' "$dom"
expect "its op box outlined" grep -q 'class="op ok bad"[^>]*data-line="28"' "$dom"
expect "a link to a server's log" grep -q 'href="servers/server-3.log"' "$dom"

dom="$work/faults.dom"
expect "chromium loads the faults page" run_chrome "$faults/index.html" "$dom" --dump-dom
expect "a paused band" grep -q 'class="band paused"[^>]*title="paused from line 7 to line 10"' "$dom"
expect "a delay band" grep -q 'class="band delayed"[^>]*title="delay 100 20 from line 4"' "$dom"
expect "a one-way block band" grep -q 'class="band blocked"[^>]*title="blocked from line 5 to line 12"' "$dom"
expect "a flaky band" grep -q 'class="band flaky"[^>]*title="flaky 30 from line 9"' "$dom"
expect "a death band" grep -q 'class="band down"[^>]*title="died from line 13"' "$dom"
expect "one-way link lanes" grep -q 'id="head-link-2-1-dir"' "$dom"
expect "a failed box" grep -q 'class="op error"[^>]*data-line="8"' "$dom"
expect "an unknown-outcome box" grep -q 'class="op unknown"[^>]*data-line="11"' "$dom"
expect "an event box" grep -q 'class="op event"' "$dom"
# Line 11 writes, and line 15 reads, the value <script>alert(1)</script>.
expect "markup in values stays text" [ "$(count '<script' "$dom")" = 0 ]
expect "the value shown escaped" grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$dom"

expect "a screenshot of the demo page" run_chrome "$demo/index.html" "$work/shot1.out" \
    --screenshot="$work/demo.png" --window-size=1400,1000 --hide-scrollbars
expect "the demo screenshot is a PNG" png_ok "$work/demo.png"
expect "a screenshot of the forged page" run_chrome "$forged/index.html" "$work/shot2.out" \
    --screenshot="$work/forged.png" --window-size=1400,1000 --hide-scrollbars
expect "the forged screenshot is a PNG" png_ok "$work/forged.png"

echo "report: $pass passed, $fail failed"
[ "$fail" = 0 ]
