# Daadkvs build. Variants are variables:
#   make                      release build into bin/
#   make SANITIZE=1           AddressSanitizer + UBSan build into bin-asan/ (objects in
#                             build-asan/, so it never reuses unsanitized ones); what
#                             `make test` uses
#   make NOAUTH=1             a build without authentication into bin-noauth/, for
#                             `make bench` to measure what authentication costs;
#                             never for use (its daemons obey anyone)
#   make test                 unit tests, then end-to-end scenarios (sanitized build)
#   make demo                 install what is missing, build, run scripts/demo.txt
#   make bench                the benchmark suite (BENCH_RUNS=5, BENCH_QUICK=1)
#   make soak SEEDS=N         N generated scenarios and N fixture seeds
#   make deps                 install the Debian packages the build needs
# Each variant has its own object and binary directories, so switching
# variants never links objects compiled with other flags.
ifeq ($(SANITIZE),1)
BUILD    ?= build-asan
BIN      ?= bin-asan
else ifeq ($(NOAUTH),1)
BUILD    ?= build-noauth
BIN      ?= bin-noauth
else
BUILD    ?= build
BIN      ?= bin
endif
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
            -Wshadow -Wno-unused-parameter -MMD -MP
LDLIBS   := -lxmlrpc_server -lxmlrpc -lxmlrpc_xmlparse -lxmlrpc_xmltok -lxmlrpc_util \
            -ljansson -lleveldb -lsodium
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
ifeq ($(NOAUTH),1)
CFLAGS   += -DDKV_NO_AUTH
endif

COMMON_SRC := $(wildcard common/*.c)
SERVER_LIB := server/record.c server/seal.c server/kv.c server/kv_leveldb.c server/store.c \
              server/route.c server/peermsg.c server/core.c server/links.c \
              server/trace.c server/dump.c
MASTER_LIB := $(filter-out master/main.c,$(wildcard master/*.c))
CLIENT_LIB := $(filter-out client/main.c,$(wildcard client/*.c))
WATCHDOG_LIB := $(filter-out watchdog/main.c,$(wildcard watchdog/*.c))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

PROGRAMS := $(BIN)/master $(BIN)/server $(BIN)/client $(BIN)/watchdog $(BIN)/dump

all: $(PROGRAMS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BIN)/server: $(call obj,server/server.c $(SERVER_LIB) $(COMMON_SRC))
$(BIN)/master: $(call obj,master/main.c $(MASTER_LIB) $(COMMON_SRC))
$(BIN)/client: $(call obj,client/main.c $(CLIENT_LIB) $(COMMON_SRC))
$(BIN)/watchdog: $(call obj,watchdog/main.c $(WATCHDOG_LIB) $(COMMON_SRC))
$(BIN)/dump: $(call obj,server/dump_main.c $(SERVER_LIB) $(COMMON_SRC))
# The prompt's line editor, for the master alone.
$(BIN)/master: LDLIBS += -ledit
$(PROGRAMS):
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

FUZZ_SECONDS ?= 3
include tests/tests.mk
# The history checker (bin/check) and the scenario generator (bin/gen).
include scripts/check/check.mk
# The results page (bin/report).
include scripts/report/report.mk
include scripts/gen.mk
# make bench: the performance suite (bench/run.sh), see README "Performance".
include bench/bench.mk

# The sanitized build used by the tests lives beside the release build
# (build-asan/, bin-asan/).
ASAN_MAKE = $(MAKE) --no-print-directory SANITIZE=1
# Jobs for the builds of `make test`.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

deps:
	@scripts/install-deps

demo:
	@scripts/install-deps
	@$(MAKE) --no-print-directory all
	bin/master < scripts/demo.txt

# Everything the tests run, built at once: the release build with the fuzz
# targets, and the sanitized build, as two sub-makes sharing one jobserver
# (their objects live in different directories).
test-build: test-build-release test-build-asan
test-build-release:
	@$(MAKE) --no-print-directory all fuzz-build $(BIN)/fuzz_history
test-build-asan:
	@$(ASAN_MAKE) all bin-asan/unit-tests bin-asan/attack

# The fuzz smoke runs for a fixed time on one core: with a second core, the
# units, the checker's fixtures and the generated scenarios run beside it
# (output grouped per part). The end-to-end and hostile tests, which bound
# response times, run alone afterwards.
test-fuzz:
	@$(MAKE) --no-print-directory fuzz-smoke fuzz-check fuzz-report FUZZ_SECONDS=$(FUZZ_SECONDS)
test-units:
	ASAN_OPTIONS=detect_leaks=1 bin-asan/unit-tests
	BIN=bin-asan tests/check/run.sh
	ASAN_OPTIONS=detect_leaks=1 BIN=bin-asan tests/gen_seeds.sh

test:
	@scripts/install-deps --test
	@[ "$$CI" != true ] || tests/prereqs.sh # in CI, fail now rather than after the build
	@$(MAKE) --no-print-directory -j$(JOBS) test-build
	@$(MAKE) --no-print-directory -j$(JOBS) --output-sync=target test-fuzz test-units
	ASAN_OPTIONS=detect_leaks=1 BIN=bin-asan tests/e2e.sh
	ASAN_OPTIONS=detect_leaks=1 BIN=bin-asan tests/report.sh
	ASAN_OPTIONS=detect_leaks=1 BIN=bin-asan tests/hostile.sh
	ASAN_OPTIONS=detect_leaks=1 BIN=bin-asan tests/netns.sh

# Many more generated scenarios (gen -> master --history -> check) and
# protocol-fixture seeds; reports every failing seed.
SEEDS ?= 200
soak: all $(BIN)/unit-tests
	FIXTURE_SEEDS=$(SEEDS) $(BIN)/unit-tests fixture
	tests/gen_seeds.sh --count $(SEEDS)

.PHONY: all clean deps demo test test-build test-build-release test-build-asan test-fuzz \
        test-units soak
clean:
	rm -rf build build-* bin bin-*
