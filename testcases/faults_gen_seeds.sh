# Generated scenarios with the fault commands (bin/gen --faults): pauses,
# delays, one-way blocks, flaky links and sleeps among puts, partitions and
# kills. Each run must exit 0, leave no process behind, and its history
# must pass bin/check (acknowledged writes survive).
set -u
bindir=$(dirname "$MASTER")
SEEDS="1 2 3 4 5 6 7 8" BIN="$bindir" GEN_SEEDS_TIMEOUT=60 \
    "$ROOT/tests/gen_seeds.sh" -- --faults 5 --commands 100
