# The results page: bin/report HISTORY CHECK_JSON OUTDIR draws a run
# (master --out runs it). Included by the top-level Makefile after
# scripts/check/check.mk, whose history reader it reuses.
#
#   make                 also builds $(BIN)/report
#   make report-test     the page in headless chromium (tests/report.sh)

REPORT_LIB := scripts/report/checkjson.c scripts/report/esc.c scripts/report/timeline.c \
              scripts/report/page.c scripts/report/plot.c scripts/check/histline.c \
              common/vec.c common/ids.c common/hex.c

all: $(BIN)/report

$(BIN)/report: $(call obj,scripts/report/main.c $(REPORT_LIB) common/err.c common/xalloc.c)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) $^ -ljansson -lm -o $@

# tests/test_report.c is picked up by the unit-test wildcard; it tests the
# modules that decide (the page and the plots are checked in chromium).
$(BIN)/unit-tests: $(call obj,scripts/report/checkjson.c scripts/report/esc.c \
                              scripts/report/timeline.c)

# libFuzzer target for the checker verdict's reader (outside input), and
# the escaper behind it.
REPORT_FUZZ_LIB := scripts/report/checkjson.c scripts/report/esc.c common/err.c common/xalloc.c \
                   common/vec.c
.SECONDARY: $(call fuzz_obj,$(REPORT_FUZZ_LIB) tests/fuzz/fuzz_checkjson.c)
$(BIN)/fuzz_checkjson: $(call fuzz_obj,tests/fuzz/fuzz_checkjson.c $(REPORT_FUZZ_LIB))
	@mkdir -p $(BIN)
	$(FUZZ_CC) $(FUZZ_SAN) $^ -ljansson -o $@
FUZZ_TARGETS += checkjson
fuzz fuzz-build: $(BIN)/fuzz_checkjson

# make test runs it briefly beside the other smoke runs.
.PHONY: fuzz-report
fuzz-report: $(BIN)/fuzz_checkjson
	@BIN=$(BIN) BUILD=$(BUILD) tests/fuzz/run.sh --smoke --seconds $(FUZZ_SECONDS) \
	    $(FUZZ_MAX_LEN_ARGS) checkjson

.PHONY: report-test
report-test: $(BIN)/report $(BIN)/master $(BIN)/check
	BIN=$(BIN) tests/report.sh
