# Generated scenarios heavy in faults (bin/gen --faults 30: about one
# blockLink or unblockLink in six commands, among delays, flaky links and
# pauses), so that stabilize often runs while links are blocked one way.
# Each run must exit 0, leave no process behind, and its history must pass
# bin/check (acknowledged writes survive; stable groups agree).
set -u
bindir=$(dirname "$MASTER")
SEEDS="101 102 103 104" BIN="$bindir" GEN_SEEDS_TIMEOUT=60 \
    "$ROOT/tests/gen_seeds.sh" -- --faults 30 --commands 150 --servers 5
