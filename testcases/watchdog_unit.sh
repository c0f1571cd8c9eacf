# The systemd unit shipped for the standing watchdog
# (scripts/systemd/daadkvs-watchdog.service) passes systemd-analyze verify,
# with the real binary's path in ExecStart. Skipped, with one line, where
# systemd-analyze is not installed.
set -u
if ! command -v systemd-analyze > /dev/null; then
    echo "skipped: systemd-analyze is not installed (the unit was not verified)"
    exit 0
fi
dir=$(mktemp -d "$RUN_BASE/unit-XXXXXX")
trap 'rm -rf "$dir"' EXIT
bin=$(cd "$(dirname "$MASTER")" && pwd)
unit=$dir/daadkvs-watchdog.service
sed "s|/opt/daadkvs/bin/watchdog|$bin/watchdog|" "$ROOT/scripts/systemd/daadkvs-watchdog.service" > "$unit"
grep -q "^ExecStart=$bin/watchdog " "$unit" || { echo "FAIL: no ExecStart to substitute"; exit 1; }
if ! systemd-analyze verify "$unit" > "$dir/out" 2>&1; then
    echo "FAIL: systemd-analyze verify:"; cat "$dir/out"; exit 1
fi
# Warnings about this unit fail the test too (others' are not ours).
if grep -F "daadkvs-watchdog.service" "$dir/out"; then
    echo "FAIL: systemd-analyze warns about the unit"; exit 1
fi
echo ok
