# Unit tests and fuzz targets. Included by the top-level Makefile, after it
# defines CFLAGS, LDFLAGS, LDLIBS, BUILD, BIN, COMMON_SRC, SERVER_LIB,
# the obj helper and the $(BUILD)/%.o pattern rule (prerequisites below are
# expanded when this file is read).
#
#   make unit                 build and run the CUnit tests (bin/unit-tests)
#   make unit UNIT_ARGS=store run only the named suites
#   make fuzz-build           build the libFuzzer targets with clang into bin/fuzz_*
#   make fuzz                 build them and fuzz each FUZZ_SECONDS (default 600)
#                             from the corpus kept in tests/fuzz/corpus/NAME,
#                             then minimise it back there (FUZZ_ONLY="a b": some;
#                             FUZZ_RUNS=N: stop a target sooner, after N inputs;
#                             FUZZ_FLAGS: more libFuzzer flags)
#   make fuzz-smoke           each fuzzer FUZZ_SECONDS from the kept corpus,
#                             which it leaves alone (CI, via make test)
# unit-tests exits 0 when all pass, 1 when any test fails, 2 on a usage error.

# tests/rpccall.c is a tool with its own main (below), not a unit test.
UNIT_SRC := $(filter-out tests/rpccall.c,$(wildcard tests/*.c))
# The master, client and watchdog modules under test (not their main.c or the
# RPC glue).
UNIT_LIB := master/script.c master/output.c master/model.c master/config.c master/history.c master/stats.c \
            client/session.c \
            watchdog/procs.c watchdog/runs.c

$(BIN)/unit-tests: $(call obj,$(UNIT_SRC) $(UNIT_LIB) $(SERVER_LIB) $(COMMON_SRC))
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcunit -o $@

.PHONY: unit
unit: $(BIN)/unit-tests
	$(BIN)/unit-tests $(UNIT_ARGS)

# rpccall HOST:PORT METHOD [TYPE:ARG...]: one XML-RPC call in our framing,
# for test scripts that talk to a daemon directly. Built with `all`, so the
# sanitized build the end-to-end tests use has it too.
all: $(BIN)/rpccall
$(BIN)/rpccall: $(call obj,tests/rpccall.c $(COMMON_SRC))
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# --- fuzzing --------------------------------------------------------------
# libFuzzer needs clang, and its own instrumented copies of the modules, so
# fuzz objects live apart from the gcc ones in $(BUILD)/fuzz/. Only the
# pure decoding modules are linked: no LevelDB, and XML-RPC only into
# fuzz_proto, fuzz_screen and fuzz_rpcflat.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 5
FUZZ_NAMES   := wire peermsg record vclock ids script proto rpcflat screen seal config auth show
# Every target `make fuzz` runs; check/check.mk adds its own.
FUZZ_TARGETS := $(FUZZ_NAMES)
FUZZ_ONLY    ?= $(FUZZ_TARGETS)
# The top Makefile sets a short FUZZ_SECONDS for make test; a manual long
# run takes 600 s per target unless the caller names the time.
FUZZ_LONG_SECONDS = $(if $(filter command line environment,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS),600)
FUZZ_RUNS    ?= -1
# Inputs are cut to FUZZ_MAX_LEN bytes, which keeps the kept corpus small;
# history inputs hold several JSON lines each and run slowly when long.
FUZZ_MAX_LEN ?= 4096 history=1024
FUZZ_MAX_LEN_ARGS = $(patsubst %,--max-len %,$(FUZZ_MAX_LEN))
FUZZ_SAN     := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
# Not $(CFLAGS): it carries gcc-only warning flags. Warnings stay warnings
# here, so a new clang diagnostic cannot block fuzzing; the gcc build is
# the one that enforces -Werror.
FUZZ_CFLAGS  := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O1 -g \
                -fno-omit-frame-pointer -Wall -Wextra -Wshadow -Wno-unused-parameter \
                -MMD -MP
FUZZ_LIB     := common/buf.c common/err.c common/ids.c common/vclock.c common/vec.c common/wire.c common/xalloc.c \
                server/record.c server/peermsg.c
FUZZ_BINS    := $(patsubst %,$(BIN)/fuzz_%,$(FUZZ_NAMES))
fuzz_obj      = $(patsubst %.c,$(BUILD)/fuzz/%.o,$(1))
# Modules only some targets need: fuzz_script the script parser,
# fuzz_proto the RPC layer, the contract and the xmlrpc-c libraries,
# fuzz_rpcflat the flat codec (checked against xmlrpc-c) and the test
# comparisons it shares with the unit tests, fuzz_screen the body screen
# with both parsers behind it, fuzz_seal the store's seal.
FUZZ_EXTRA   := master/script.c common/proto.c common/rpc.c common/rpcflat.c common/token.c \
                common/net.c common/loop.c tests/flateq.c server/seal.c common/hash.c \
                master/config.c common/jsonpos.c common/hmap.c common/auth.c common/logrl.c
FUZZ_OBJS    := $(call fuzz_obj,$(FUZZ_LIB) $(FUZZ_EXTRA) \
                  $(patsubst %,tests/fuzz/fuzz_%.c,$(FUZZ_NAMES)))
FUZZ_LDLIBS  := -ljansson

# Reached only through pattern rules, these would count as intermediate
# files and be deleted after each build, forcing full rebuilds.
.SECONDARY: $(FUZZ_OBJS)

# Library objects get coverage instrumentation but no libFuzzer main.
$(BUILD)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(BIN)/fuzz_%: $(BUILD)/fuzz/tests/fuzz/fuzz_%.o $(call fuzz_obj,$(FUZZ_LIB))
	@mkdir -p $(BIN)
	$(FUZZ_CC) $(FUZZ_SAN) $^ $(FUZZ_LDLIBS) -o $@

# Extra prerequisites without a recipe: the pattern rule above still
# builds these, with the extra objects in $^.
$(BIN)/fuzz_script: $(call fuzz_obj,master/script.c)
$(BIN)/fuzz_seal: $(call fuzz_obj,server/seal.c common/hash.c)
$(BIN)/fuzz_config: $(call fuzz_obj,master/config.c common/jsonpos.c common/hmap.c common/hash.c)
$(BIN)/fuzz_auth: $(call fuzz_obj,common/auth.c)
$(BIN)/fuzz_auth: FUZZ_LDLIBS += -lsodium
# rpc.c and loop.c carry the transport's authentication (auth.c, libsodium).
FUZZ_TRANSPORT := common/rpc.c common/rpcflat.c common/net.c common/loop.c common/auth.c \
                  common/logrl.c
$(BIN)/fuzz_proto: $(call fuzz_obj,common/proto.c common/token.c tests/flateq.c $(FUZZ_TRANSPORT))
$(BIN)/fuzz_proto: FUZZ_LDLIBS += -lxmlrpc -lxmlrpc_xmlparse -lxmlrpc_xmltok -lxmlrpc_util -lsodium
$(BIN)/fuzz_show: $(call fuzz_obj,common/proto.c common/token.c tests/flateq.c $(FUZZ_TRANSPORT))
$(BIN)/fuzz_show: FUZZ_LDLIBS += -lxmlrpc -lxmlrpc_xmlparse -lxmlrpc_xmltok -lxmlrpc_util -lsodium
$(BIN)/fuzz_screen: $(call fuzz_obj,$(FUZZ_TRANSPORT))
$(BIN)/fuzz_screen: FUZZ_LDLIBS += -lxmlrpc -lxmlrpc_xmlparse -lxmlrpc_xmltok -lxmlrpc_util -lsodium
$(BIN)/fuzz_rpcflat: $(call fuzz_obj,common/rpcflat.c tests/flateq.c)
$(BIN)/fuzz_rpcflat: FUZZ_LDLIBS += -lxmlrpc -lxmlrpc_xmlparse -lxmlrpc_xmltok -lxmlrpc_util

.PHONY: fuzz fuzz-build fuzz-smoke
fuzz-build: $(FUZZ_BINS)

# tests/fuzz/run.sh runs the targets one after the other and prints, per
# target, executions, seconds, exec/s, corpus size and findings. A crash,
# leak, timeout or sanitizer report fails the run; the artifact and the log
# stay in $(BUILD)/fuzz-run/NAME/. Run it niced on a shared machine:
#   nice -n 19 make fuzz FUZZ_SECONDS=3600 FUZZ_ONLY=screen
fuzz: $(FUZZ_BINS)
	BIN=$(BIN) BUILD=$(BUILD) FUZZ_FLAGS="$(FUZZ_FLAGS)" tests/fuzz/run.sh \
	    --seconds $(FUZZ_LONG_SECONDS) \
	    --runs $(FUZZ_RUNS) $(FUZZ_MAX_LEN_ARGS) $(FUZZ_ONLY)

# The kept corpus is read, not written, so every smoke run starts alike and
# the tree stays clean; new inputs go to $(BUILD)/fuzz-corpus/NAME/.
fuzz-smoke: $(FUZZ_BINS)
	@BIN=$(BIN) BUILD=$(BUILD) tests/fuzz/run.sh --smoke --seconds $(FUZZ_SECONDS) \
	    $(FUZZ_MAX_LEN_ARGS) $(FUZZ_NAMES)

# --- hostile inputs -------------------------------------------------------
# bin/attack replays attacks on live daemons for tests/hostile.sh. It has its
# own small XML-RPC reader (tests/hostile/xrpc.c), so a defect of the
# product's codec cannot hide one of the tests.
HOSTILE_SRC := $(wildcard tests/hostile/*.c)
$(BIN)/attack: $(call obj,$(HOSTILE_SRC) common/buf.c common/err.c common/ids.c common/net.c common/xalloc.c \
                          common/wire.c common/pidfile.c common/auth.c common/vec.c)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) $^ -ljansson -lsodium -o $@
