# --echo and --output json (README "Output for programs and logs"): the
# exact stdout of one script in each mode. In JSON, a key holding ':' and a
# value spelled ERR_KEY are told apart from the text form's ambiguity, bytes
# that are not UTF-8 come as {"hex": ...}, and a failed command gives a
# "failed" object (its message still goes to stderr).
set -u
fails=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%s\n' \
    '# a comment line is not echoed' \
    'joinServer 1' \
    'joinClient 5 1   # attach' \
    '' \
    'put 5 a:b ERR_KEY' \
    'get 5 a:b' \
    'get 5 a' \
    'stablize' \
    'help get' \
    > "$work/script.txt"
printf 'put 5 bin \xff\xfe\n' >> "$work/script.txt"
printf 'printStore 1\n' >> "$work/script.txt"

expect() { # name, file: compares the file with the expected text on stdin
    if ! diff -u - "$2" > "$work/$1.diff"; then
        echo "$1: stdout differs:"; cat "$work/$1.diff"; fails=$((fails + 1))
    fi
}
run() { # name, options...: exit status 1 (stablize fails), stderr names it
    local name=$1 rc
    shift
    "$MASTER" "$@" < "$work/script.txt" > "$work/$name.out" 2> "$work/$name.err"
    rc=$?
    [ "$rc" = 1 ] || { echo "$name: exit status $rc, expected 1"; cat "$work/$name.err"; fails=$((fails + 1)); }
    grep -q "line 8: stablize: unknown command (did you mean 'stabilize'?)" "$work/$name.err" ||
        { echo "$name: stderr lacks the error of line 8"; cat "$work/$name.err"; fails=$((fails + 1)); }
    # help goes to stderr when stdin is not a terminal: stdout keeps results only.
    grep -q '^usage: get CLIENT_ID KEY$' "$work/$name.err" ||
        { echo "$name: stderr lacks help's text"; fails=$((fails + 1)); }
}

run text
expect text "$work/text.out" < <(printf 'a:b:ERR_KEY\na:ERR_KEY\na:b:ERR_KEY\nbin:\xff\xfe\n')

run echo --echo
expect echo "$work/echo.out" < <(
    printf '%s\n' '> joinServer 1' '> joinClient 5 1   # attach' '> put 5 a:b ERR_KEY' \
        '> get 5 a:b' 'a:b:ERR_KEY' '> get 5 a' 'a:ERR_KEY' '> stablize' '> help get'
    printf '> put 5 bin \xff\xfe\n> printStore 1\na:b:ERR_KEY\nbin:\xff\xfe\n')

run json --output json
expect json "$work/json.out" <<'JSON'
{"line":6,"cmd":"get","client":5,"key":"a:b","value":"ERR_KEY"}
{"line":7,"cmd":"get","client":5,"key":"a","error":"ERR_KEY"}
{"line":8,"cmd":"stablize","failed":"unknown command (did you mean 'stabilize'?)"}
{"line":11,"cmd":"printStore","server":1,"key":"a:b","value":"ERR_KEY"}
{"line":11,"cmd":"printStore","server":1,"key":"bin","value":{"hex":"fffe"}}
JSON

run json_echo --output json --echo
expect json_echo "$work/json_echo.out" <<'JSON'
{"line":2,"echo":"joinServer 1"}
{"line":3,"echo":"joinClient 5 1   # attach"}
{"line":5,"echo":"put 5 a:b ERR_KEY"}
{"line":6,"echo":"get 5 a:b"}
{"line":6,"cmd":"get","client":5,"key":"a:b","value":"ERR_KEY"}
{"line":7,"echo":"get 5 a"}
{"line":7,"cmd":"get","client":5,"key":"a","error":"ERR_KEY"}
{"line":8,"echo":"stablize"}
{"line":8,"cmd":"stablize","failed":"unknown command (did you mean 'stabilize'?)"}
{"line":9,"echo":"help get"}
{"line":10,"echo":{"hex":"70757420352062696e20fffe"}}
{"line":11,"echo":"printStore 1"}
{"line":11,"cmd":"printStore","server":1,"key":"a:b","value":"ERR_KEY"}
{"line":11,"cmd":"printStore","server":1,"key":"bin","value":{"hex":"fffe"}}
JSON
# Every line is one JSON object, when jq is there to say so.
if command -v jq > /dev/null && ! jq -e 'type == "object"' "$work/json_echo.out" > /dev/null; then
    echo "json_echo: not one JSON object per line"; fails=$((fails + 1))
fi

# A format that does not exist is a usage error, before anything starts.
"$MASTER" --output xml < /dev/null > /dev/null 2> "$work/bad.err"
rc=$?
[ "$rc" = 2 ] && grep -q -- '--output xml: expected text or json' "$work/bad.err" ||
    { echo "--output xml: exit status $rc: $(cat "$work/bad.err")"; fails=$((fails + 1)); }
[ "$fails" = 0 ] && echo ok
exit "$fails"
