# Script text in error messages is cut short and escaped: a 16 MiB unknown
# command word full of terminal escape sequences, and a 1 MiB id argument,
# each give one short line of printable text on stderr naming the length,
# and the master goes on with the next line.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# 16 MiB: "\e[2J" (clear screen) and a BEL in every 64 bytes.
unit=$(printf '\033[2J\007%058d' 0 | tr 0 x)
{
    echo "joinServer 1"
    yes "$unit" | tr '\n' x | head -c 16777216
    printf ' 1 2\n'
    printf 'killServer 1'; head -c 1048576 /dev/zero | tr '\0' 7; printf '\033]0;title\007\n'
    printf 'joinClient 5 1\nput 5 k v\nget 5 k\n'
} > "$tmp/script"
[ "$(sed -n 2p "$tmp/script" | wc -c)" -eq $((16777216 + 5)) ] || { echo "test bug: line 2 has the wrong length"; exit 1; }
"$MASTER" < "$tmp/script" > "$tmp/out" 2> "$tmp/err"
rc=$?
fail() { echo "$1"; echo "stderr ($(wc -c < "$tmp/err") bytes):"; head -c 2000 "$tmp/err" | cat -v; exit 1; }
[ $rc -eq 1 ] || fail "exit status $rc, expected 1"
[ "$(cat "$tmp/out")" = "k:v" ] || fail "stdout is not k:v: $(head -c 200 "$tmp/out" | cat -v)"
size=$(wc -c < "$tmp/err")
[ "$size" -lt 2000 ] || fail "stderr is $size bytes"
LC_ALL=C grep -q '[^[:print:]]' "$tmp/err" && fail "stderr holds a non-printable byte"
grep -Eq '^master: line 2: \\x1b\[2J\\x07x+\.\.\. \(16777216 bytes\): unknown command$' "$tmp/err" ||
    fail "no short line 2 message"
grep -Eq "^master: line 3: killServer: argument 1: '17+\.\.\. \(1048587 bytes\)' is not a non-negative decimal number$" "$tmp/err" ||
    fail "no short line 3 message"
echo ok
