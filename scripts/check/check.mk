# The history checker: bin/check HISTORY verifies a `master --history` run
# against SPEC section 4. Included by the top-level Makefile after
# tests/tests.mk.
#
#   make                  also builds $(BIN)/check
#   make check-fixtures   runs bin/check on tests/check/{valid,invalid}
#   make fuzz-check       fuzzes the history line parser for FUZZ_SECONDS

CHECK_LIB := scripts/check/checker.c scripts/check/prose.c scripts/check/histline.c common/hmap.c common/hash.c common/vec.c

all: $(BIN)/check

$(BIN)/check: $(call obj,scripts/check/main.c $(CHECK_LIB) common/err.c common/xalloc.c)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# tests/test_checker.c is picked up by the unit-test wildcard; it needs the
# checker's modules (extra prerequisites end up in the link line's $^).
$(BIN)/unit-tests: $(call obj,$(CHECK_LIB))

.PHONY: check-fixtures fuzz-check
check-fixtures: $(BIN)/check
	BIN=$(BIN) tests/check/run.sh

# libFuzzer target for the parser of history lines (external input); what
# parses is fed to the checker too. Seeds: the first lines of each valid
# fixture, so runs start from real records yet stay small and fast.
CHECK_FUZZ_LIB := $(CHECK_LIB) common/err.c common/xalloc.c
.SECONDARY: $(call fuzz_obj,$(CHECK_FUZZ_LIB) tests/check/fuzz_history.c)

$(BIN)/fuzz_history: $(call fuzz_obj,tests/check/fuzz_history.c $(CHECK_FUZZ_LIB))
	@mkdir -p $(BIN)
	$(FUZZ_CC) $(FUZZ_SAN) $^ -ljansson -o $@

fuzz-check: $(BIN)/fuzz_history
	@dir=$(BUILD)/fuzz-corpus/history; rm -rf $$dir; mkdir -p $$dir; \
	for f in tests/check/valid/*.jsonl; do head -n 30 $$f > $$dir/$$(basename $$f); done; \
	echo "fuzz_history: $(FUZZ_SECONDS) s"; \
	if ! $(BIN)/fuzz_history -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$$dir- \
	        -dict=tests/check/history.dict $$dir > $$dir.log 2>&1; then \
	    tail -n 60 $$dir.log; echo "fuzz_history FAILED (log: $$dir.log)"; exit 1; \
	fi; \
	tail -n 1 $$dir.log
