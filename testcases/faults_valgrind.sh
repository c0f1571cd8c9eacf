# Servers stay valgrind-clean under the fault commands: the staging queue
# of flaky links, resets, held links (the peers of a paused server), links
# held one way (blockLink) and a paused server killed or left paused at
# the end, with every server under memcheck; any report fails the test.
set -u
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }
fails=0
# valgrind cannot run sanitized binaries: use the release build.
for t in faults_flaky faults_pause faults_oneway; do
    out=$("$ROOT/bin/master" --valgrind-servers --stabilize-timeout 60000 \
          < "$ROOT/testcases/$t.txt" 2>&1 >/dev/null)
    rc=$?
    want=0; [ -f "$ROOT/testcases/$t.rc" ] && want=$(cat "$ROOT/testcases/$t.rc")
    if [ $rc -ne "$want" ] || printf '%s\n' "$out" | grep -Eq '^==[0-9]+=='; then
        echo "$t: exit status $rc; valgrind said:"; printf '%s\n' "$out" | head -40
        fails=$((fails + 1))
    fi
done
[ $fails -eq 0 ] && echo ok
exit $fails
