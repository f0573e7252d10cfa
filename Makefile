# CRM: five services on a protobuf event bus over ZeroMQ, each owning its
# Postgres schema. `make` builds; `make run` runs the system; `make demo`
# drives one lead through the whole process; `make test` runs every test
# (sanitizer build); `make bench-bus` measures the bus; `make bench-journeys`
# the whole sales process under load.
#
# MODE=release (default, -O2) or MODE=asan (AddressSanitizer + UBSan).

MODE     ?= release
BUILD    := build/$(MODE)
GEN      := build/gen
CC       ?= cc
WARN     := -Wall -Wextra -Werror -Wno-missing-field-initializers
CFLAGS_release := -O2 -g
CFLAGS_asan    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS   := -std=c11 -D_DEFAULT_SOURCE $(WARN) $(CFLAGS_$(MODE)) -MMD -MP \
            -Icommon -I$(GEN) -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
LDFLAGS_asan   := -fsanitize=address,undefined
LDFLAGS  := $(LDFLAGS_$(MODE))
LIBS     := -lczmq -lzmq -lprotobuf-c -lpq -lyaml -lcrypto -lmicrohttpd -lcurl -ljson-c

SERVICES := leads deals tasks notifier timer
PROTOS   := $(wildcard proto/crm/v1/*.proto)
PB_C     := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTOS))
PB_H     := $(PB_C:.c=.h)
PB_O     := $(patsubst $(GEN)/%.c,$(BUILD)/gen/%.o,$(PB_C))
COMMON_O := $(patsubst common/%.c,$(BUILD)/common/%.o,$(wildcard common/*.c))
LIB      := $(BUILD)/libcrm.a
# The bus's own tables, embedded for programs that are not services (benches)
BUS_MIG_O := $(BUILD)/gen/bus_migrations.o

BIN      := $(BUILD)/bin
BINS     := $(foreach s,$(SERVICES),$(BIN)/crm-$(s)) $(BIN)/crmctl $(BIN)/crm-loadgen
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNITS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all run demo test unit bench-bus bench-timer bench-journeys clean format deps
# Generated sources are kept: they are inputs of every object.
.SECONDARY: $(PB_C) $(PB_H)
all: $(BINS) $(UNITS)

deps:
	@scripts/deps.sh

# ---- generated code: protobuf-c and embedded migrations (never committed)
$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) $<

$(GEN)/%_migrations.c: $(wildcard common/migrations/*.sql services/*/migrations/*.sql) scripts/embed-sql.sh
	@mkdir -p $(GEN)
	scripts/embed-sql.sh $*_migrations $(sort $(wildcard common/migrations/*.sql) $(wildcard services/$*/migrations/*.sql)) > $@

# ---- objects
$(BUILD)/gen/%.o: $(GEN)/%.c $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/gen/%_migrations.o: $(GEN)/%_migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/common/%.o: common/%.c $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/services/%.o: services/%.c $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iservices/$(firstword $(subst /, ,$*)) -c $< -o $@
$(BUILD)/%.o: %.c $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(GEN)/bus_migrations.c: $(wildcard common/migrations/*.sql) scripts/embed-sql.sh
	@mkdir -p $(GEN)
	scripts/embed-sql.sh bus_migrations $(sort $(wildcard common/migrations/*.sql)) > $@

$(LIB): $(COMMON_O) $(PB_O) $(BUS_MIG_O)
	ar rcs $@ $^

# ---- services: every .c under services/NAME plus its embedded migrations
define service_rule
$(BIN)/crm-$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard services/$(1)/*.c)) $(BUILD)/gen/$(1)_migrations.o $(LIB)
	@mkdir -p $$(dir $$@)
	$(CC) $(LDFLAGS) -o $$@ $$^ $(LIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

$(BIN)/crmctl: $(patsubst %.c,$(BUILD)/%.o,$(wildcard crmctl/*.c)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BIN)/crm-loadgen: $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/loadgen*.c)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BIN)/crm-benchbus: $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/benchbus*.c)) $(BUILD)/bench/source.o $(BUILD)/bench/benchutil.o $(BUILD)/bench/procstat.o $(BUILD)/bench/percentile.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
# The bus bench's subscriber: a service on the common runtime with its own table
$(GEN)/benchsink_migrations.c: $(wildcard common/migrations/*.sql bench/migrations/*.sql) scripts/embed-sql.sh
	@mkdir -p $(GEN)
	scripts/embed-sql.sh benchsink_migrations $(sort $(wildcard common/migrations/*.sql) $(wildcard bench/migrations/*.sql)) > $@
$(BIN)/crm-benchsink: $(BUILD)/bench/benchsink.o $(BUILD)/bench/benchutil.o $(BUILD)/bench/procstat.o $(BUILD)/bench/percentile.o $(BUILD)/gen/benchsink_migrations.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BIN)/crm-benchtimer: $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/benchtimer*.c)) $(BUILD)/bench/source.o $(BUILD)/bench/benchutil.o $(BUILD)/bench/procstat.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BIN)/crm-benchjourneys: $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/journeys*.c)) $(BUILD)/bench/source.o $(BUILD)/bench/benchutil.o $(BUILD)/bench/procstat.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# ---- unit tests (cmocka), one binary per tests/unit/test_*.c; may link a
# service's pure modules, named in the test's first line: // uses: path.c ...
$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iservices $< $(shell sed -n '1s|^// uses: ||p' $<) -o $@ $(LDFLAGS) $(LIB) $(LIBS) -lcmocka

# ---- running and testing
run: deps
	@$(MAKE) --no-print-directory MODE=release all
	@scripts/run.sh

demo: deps
	@$(MAKE) --no-print-directory MODE=release all
	@scripts/demo.sh

test: deps
	@$(MAKE) --no-print-directory MODE=asan all
	@$(MAKE) --no-print-directory MODE=release all
	@tests/run.sh

bench-bus: deps
	@$(MAKE) --no-print-directory MODE=release all $(BIN)/crm-benchbus $(BIN)/crm-benchsink
	@bench/bench-bus.sh

bench-timer: deps
	@$(MAKE) --no-print-directory MODE=release all $(BIN)/crm-benchtimer
	@bench/bench-timer.sh

bench-journeys: deps
	@$(MAKE) --no-print-directory MODE=release all $(BIN)/crm-benchjourneys
	@bench/bench-journeys.sh

format:
	clang-format -i common/*.[ch] services/*/*.[ch] crmctl/*.[ch] bench/*.[ch] tests/unit/*.c

clean:
	rm -rf build/release build/asan build/gen

-include $(shell find build/$(MODE) -name '*.d' 2>/dev/null)
