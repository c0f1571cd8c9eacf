# The history checker: bin/check HISTORY verifies a `master --history` run
# against SPEC section 4. Included by the top-level Makefile after
# tests/tests.mk.
#
#   make                  also builds $(BIN)/check
#   make check-fixtures   runs bin/check on tests/check/{valid,invalid}
#   make fuzz-check       fuzzes the history line parser for FUZZ_SECONDS
#                         (make fuzz runs it long, with the other targets)

CHECK_LIB := scripts/check/checker.c scripts/check/prose.c scripts/check/histline.c common/hmap.c common/hash.c common/vec.c \
             common/hex.c

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
# parses is fed to the checker too.
CHECK_FUZZ_LIB := $(CHECK_LIB) common/err.c common/xalloc.c
.SECONDARY: $(call fuzz_obj,$(CHECK_FUZZ_LIB) tests/check/fuzz_history.c)

$(BIN)/fuzz_history: $(call fuzz_obj,tests/check/fuzz_history.c $(CHECK_FUZZ_LIB))
	@mkdir -p $(BIN)
	$(FUZZ_CC) $(FUZZ_SAN) $^ -ljansson -o $@

# make fuzz runs it with the others; its corpus is kept with theirs, in
# tests/fuzz/corpus/history (first seeded from the valid fixtures' heads).
FUZZ_TARGETS += history
fuzz fuzz-build: $(BIN)/fuzz_history

fuzz-check: $(BIN)/fuzz_history
	@BIN=$(BIN) BUILD=$(BUILD) tests/fuzz/run.sh --smoke --seconds $(FUZZ_SECONDS) \
	    $(FUZZ_MAX_LEN_ARGS) history
