#!/usr/bin/env bash
# What some checks of `make test` need besides the build, in one place:
#   jq     the history properties of tests/gen_seeds.sh
#   refs   the reference scripts of tests/e2e.sh (REFDIR, default
#          ../shared/reference-scripts)
#   chromium  the timeline page's checks of tests/report.sh
#   tmux   the pseudo-terminal of testcases/prompt.sh
#
# usage: tests/prereqs.sh [WHAT...]      (default: all of them)
# Exit 0 when everything named is there. Otherwise one line per missing
# thing: with CI=true on stderr, naming what is missing, and exit 1 (a check
# CI relies on must not vanish silently); else on stdout, saying what is
# skipped, and exit 3, so that a caller can skip that check.
set -u
cd "$(dirname "$0")/.."
REFDIR=${REFDIR:-../shared/reference-scripts}
[ $# -gt 0 ] || set -- jq refs chromium tmux
missing=0
lack() { # what, the check that needs it
    missing=1
    if [ "${CI:-}" = true ]; then
        echo "make test: CI: $1 is missing, so $2 cannot run" >&2
    else
        echo "note: $1 is missing: $2 skipped"
    fi
}
for what in "$@"; do
    case $what in
    jq) command -v jq >/dev/null 2>&1 ||
            lack "jq (apt-get install jq)" "the history properties of tests/gen_seeds.sh" ;;
    refs) [ -d "$REFDIR" ] ||
            lack "$REFDIR" "the reference scripts of tests/e2e.sh" ;;
    chromium) command -v chromium >/dev/null 2>&1 ||
            lack "chromium (apt-get install chromium)" "the timeline page checks of tests/report.sh" ;;
    tmux) command -v tmux >/dev/null 2>&1 ||
            lack "tmux (apt-get install tmux)" "the prompt's test testcases/prompt.sh" ;;
    *) echo "prereqs: unknown item '$what'" >&2; exit 2 ;;
    esac
done
[ $missing = 0 ] && exit 0
[ "${CI:-}" = true ] && exit 1
exit 3
