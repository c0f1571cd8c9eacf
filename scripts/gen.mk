# The seeded random scenario generator (bin/gen); included by the top-level
# Makefile. Needs only libc.
GEN_SRC := scripts/gen.c

all: $(BIN)/gen

$(BIN)/gen: $(call obj,$(GEN_SRC))
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) $^ -o $@
