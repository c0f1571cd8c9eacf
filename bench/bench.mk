# The benchmark suite (`make bench`); included by the top-level Makefile,
# after it defines CFLAGS, LDFLAGS, LDLIBS, BUILD, BIN, COMMON_SRC, the obj
# helper and the $(BUILD)/%.o pattern rule.
#
#   make bench                    every workload BENCH_RUNS times (default 5);
#                                 prints one table, writes bench/results.csv
#                                 (and bench/results.png where gnuplot is)
#   make bench BENCH_RUNS=3       fewer runs
#   make bench BENCH_QUICK=1      one run of smaller workloads, to try things out
#
# $(BIN)/bench-floor measures the 2-hop round-trip floor (XML-RPC over the
# product's own transport, and raw TCP) that the results are compared with.
# bin-noauth/ (make NOAUTH=1) is the same build without authentication:
# W1 runs through both, alternately, for the cost of authentication.
# W1ns runs W1 on three machines made of network namespaces (as root, with
# iproute2; tests/netns/lib.sh), beside W1.
# See bench/run.sh for the workloads and the figures.

# Wherever this file is included, it does not take over the default goal.
bench_saved_goal := $(.DEFAULT_GOAL)

$(BIN)/bench-floor: $(call obj,bench/floor.c $(COMMON_SRC))
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

.PHONY: bench bench-noauth
bench-noauth:
	@$(MAKE) --no-print-directory NOAUTH=1 all
bench: all $(BIN)/bench-floor bench-noauth
	BIN=$(BIN) NOAUTH_BIN=bin-noauth BENCH_RUNS=$(or $(BENCH_RUNS),5) BENCH_QUICK=$(BENCH_QUICK) \
	    bash bench/run.sh

.DEFAULT_GOAL := $(bench_saved_goal)
