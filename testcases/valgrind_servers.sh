# Servers run valgrind-clean: the demo scenario (partition, kill, rejoin,
# heal) with every server under memcheck; any report fails the test.
set -u
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }
# valgrind cannot run sanitized binaries: use the release build.
out=$("$ROOT/bin/master" --valgrind-servers < "$ROOT/scripts/demo.txt" 2>&1 >/dev/null)
rc=$?
if [ $rc -ne 0 ] || printf '%s\n' "$out" | grep -Eq '^==[0-9]+=='; then
    echo "exit status $rc; valgrind said:"; printf '%s\n' "$out" | head -40
    exit 1
fi
echo ok
