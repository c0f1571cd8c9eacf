# A 2 MiB value and a 1 KiB key survive replication, a kill and a rejoin.
set -eu
script=$(mktemp); trap 'rm -f "$script" "$script.out"' EXIT
value=$(head -c 1572864 /dev/urandom | base64 -w0 | head -c 2097152)
key=$(printf 'K%.0s' $(seq 1024))
{
    echo "joinServer 1"; echo "joinServer 2"; echo "joinClient 9 1"
    echo "put 9 big $value"; echo "put 9 $key small"
    echo "killServer 1"; echo "joinClient 9 2"; echo "stabilize"
    echo "joinServer 1"; echo "stabilize"; echo "printStore 1"; echo "get 9 big"
} > "$script"
"$MASTER" < "$script" > "$script.out"
expected=$(printf '%s:small\nbig:%s\nbig:%s' "$key" "$value" "$value")
[ "$(cat "$script.out")" = "$expected" ] || { echo "output differs (sizes: $(wc -c < "$script.out") vs ${#expected})"; exit 1; }
echo ok
