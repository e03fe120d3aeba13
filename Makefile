# busyring build. `make` builds build/$(MODE)/{busyring,busyring-log,busyring-load};
# `make run` starts the server on :3000 with ./data; `make test` runs every test and ends with
# "N passed, N failed". Missing Debian packages are installed first (see `deps`).
# `make cluster NODES=3` runs Redis, 3 nodes and HAProxy on this machine until Ctrl-C.
MODE ?= release
BUILD := build/$(MODE)
CXX ?= g++
CC ?= gcc

# Debian packages the build and the tests need; bench adds its own below.
# prometheus: promtool and a real server for the /metrics tests; redis-server and haproxy: the
# real id source and balancer of the cluster tests (libhiredis-dev is the server's Redis client).
DEPS := g++ make liburing-dev node-llhttp libsimdjson-dev libhiredis-dev catch2 apache2-utils curl \
        prometheus postgresql redis-server haproxy
BENCH_DEPS := wrk nginx linux-perf gnuplot-nox

LLHTTP_INC := /usr/share/include/llhttp
LLHTTP_SRC := /usr/share/llhttp

CPPFLAGS := -Iinclude -isystem $(LLHTTP_INC) -MMD -MP
WARN := -Wall -Wextra -Wshadow -Wconversion -Wold-style-cast -Wimplicit-fallthrough -Werror
CXXFLAGS_release := -O2
CXXFLAGS_debug := -O0 -DBR_DEBUG
CXXFLAGS_asan := -O1 -DBR_DEBUG -fsanitize=address,undefined -fno-sanitize-recover=undefined
CXXFLAGS := -std=c++20 -g -fno-omit-frame-pointer -pthread $(CXXFLAGS_$(MODE)) $(EXTRA_CXXFLAGS)
SANITIZE_asan := -fsanitize=address,undefined
CFLAGS := -O2 -g -fno-omit-frame-pointer $(SANITIZE_$(MODE))
LDFLAGS := -pthread $(SANITIZE_$(MODE))
LDLIBS := -luring -lsimdjson -lhiredis

LIB_SRCS := $(shell find src -name '*.cpp' ! -name main.cpp | sort)
LIB_OBJS := $(LIB_SRCS:%.cpp=$(BUILD)/%.o)
LLHTTP_OBJS := $(BUILD)/llhttp/api.o $(BUILD)/llhttp/http.o $(BUILD)/llhttp/llhttp.o
LOG_SRCS := $(wildcard tools/log/*.cpp)
LOAD_SRCS := $(wildcard tools/load/*.cpp)
LOAD_LIB_SRCS := $(filter-out tools/load/main.cpp,$(LOAD_SRCS))
LOG_LIB_SRCS := $(filter-out tools/log/main.cpp,$(LOG_SRCS))
UNIT_SRCS := $(shell find tests/unit -name '*.cpp' | sort)
BLACKBOX_SRCS := $(shell find tests/blackbox -name '*.cpp' | sort)
FUZZ_SRCS := $(wildcard tests/fuzz/*_fuzz.cpp)

SERVER := $(BUILD)/busyring
FAULTY := $(BUILD)/busyring-faulty
FAULTFS := $(BUILD)/busyring-faultfs
LOGTOOL := $(BUILD)/busyring-log
LOADGEN := $(BUILD)/busyring-load
UNIT := $(BUILD)/unit-tests
BLACKBOX := $(BUILD)/blackbox-tests

ifeq ($(V),1)
Q :=
else
Q := @
endif

.DELETE_ON_ERROR:
.PHONY: all run test bench fuzz check-headers clean deps deps-bench install

all: deps $(SERVER) $(if $(LOG_SRCS),$(LOGTOOL)) $(if $(LOAD_SRCS),$(LOADGEN))

# Installs only what is missing (dpkg-query first); apt-get update once, only if needed.
# $(call install_missing,PACKAGES,TARGET)
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
	    { echo "make $(2): could not install$$missing (run as root, or apt-get install them)"; exit 1; }; \
	fi
endef

deps:
	$(call install_missing,$(DEPS),deps)

deps-bench:
	$(call install_missing,$(BENCH_DEPS),bench)

# GCC 12's -Wmaybe-uninitialized misfires inside libstdc++'s <regex> (which Catch2's header
# pulls in) under -O1 -fsanitize: test objects alone drop it in asan mode; src/ keeps every warning.
ifeq ($(MODE),asan)
$(BUILD)/tests/%.o: WARN += -Wno-maybe-uninitialized
endif

$(BUILD)/%.o: %.cpp
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CXX   $<")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(WARN) -c $< -o $@

# llhttp's C sources are compiled with their own (lenient) flags, never ours.
$(BUILD)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) -I$(LLHTTP_INC) $(CFLAGS) -c $< -o $@

$(BUILD)/libbusyring.a: $(LIB_OBJS) $(LLHTTP_OBJS)
	@$(if $(Q),echo "  AR    $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SERVER): $(BUILD)/src/main.o $(BUILD)/libbusyring.a
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The test build with the storage fault hook (see include/busyring/storage/fault_hook.h): the two
# storage objects that carry the hook are rebuilt with it and linked ahead of the library.
FAULT_OBJS := $(BUILD)/faults/src/storage/log_writer.o $(BUILD)/faults/src/storage/fault_hook.o
$(BUILD)/faults/%.o: %.cpp
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CXX   $< (faults)")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(WARN) -DBR_FAULT_INJECTION -c $< -o $@

$(FAULTY): $(BUILD)/src/main.o $(FAULT_OBJS) $(BUILD)/libbusyring.a
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The power-cut fault model of the black-box tests (tests/faultfs/faultfs.h): a FUSE filesystem
# that holds writes until fsync and drops a random subset of their pages at a cut (libfuse3-dev).
FAULTFS_SRCS := $(wildcard tests/faultfs/*.cpp)
$(FAULTFS_SRCS:%.cpp=$(BUILD)/%.o): CPPFLAGS += -isystem /usr/include/fuse3
$(FAULTFS): $(FAULTFS_SRCS:%.cpp=$(BUILD)/%.o)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) $^ -lfuse3 -o $@

$(LOGTOOL): $(LOG_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/libbusyring.a
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(LOADGEN): $(LOAD_SRCS:%.cpp=$(BUILD)/%.o)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) $^ -luring -o $@

$(UNIT): $(UNIT_SRCS:%.cpp=$(BUILD)/%.o) $(LOAD_LIB_SRCS:%.cpp=$(BUILD)/%.o) $(LOG_LIB_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/libbusyring.a
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BLACKBOX): $(BLACKBOX_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/libbusyring.a
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Fuzz corpora replayed through a plain build (a crash found once stays a regression test);
# log_tool fuzzes busyring-log's library objects, linked as the unit tests link them.
$(BUILD)/fuzz-replay: $(FUZZ_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/tests/fuzz/replay_main.o \
                      $(LOG_LIB_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/libbusyring.a
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

# libFuzzer targets (tests/fuzz/*_fuzz.cpp) built with clang -fsanitize=fuzzer,address,undefined
# into build/fuzz/ and run one after another, FUZZ_SECONDS each (FUZZ_TARGETS: a subset); see
# tests/fuzz/run_fuzz.sh. `make test` replays the committed corpora through a plain build.
FUZZ_SECONDS ?= 60
FUZZ_DEPS := clang libclang-rt-14-dev
fuzz: deps
	$(call install_missing,$(FUZZ_DEPS),fuzz)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) LLHTTP_SRC=$(LLHTTP_SRC) LLHTTP_INC=$(LLHTTP_INC) tests/fuzz/run_fuzz.sh $(FUZZ_TARGETS)

run: all
	./$(SERVER) --port 3000 --data-dir ./data

# `make cluster NODES=3`: Redis, NODES nodes (ids from Redis) and HAProxy on this machine, in the
# foreground until Ctrl-C (perf/cluster; FRONT_PORT=3000, CLUSTER_DIR=dir to keep, KEEP=1).
.PHONY: cluster
cluster: all
	@BUSYRING_BIN=$(SERVER) perf/cluster --nodes $(or $(NODES),3) --front-port $(or $(FRONT_PORT),3000) \
	  $(if $(CLUSTER_DIR),--base-dir $(CLUSTER_DIR)) $(if $(KEEP),--keep)

test: all $(FAULTY) $(FAULTFS) $(UNIT) $(BLACKBOX) $(if $(FUZZ_SRCS),$(BUILD)/fuzz-replay)
	@BUILD=$(BUILD) tests/run_all.sh

# The cluster row (HAProxy to 1-3 nodes, ids from Redis) follows the single-node suite.
bench: all deps-bench
	perf/bench $(if $(QUICK),--quick)
	BUSYRING_BIN=$(SERVER) perf/cluster_bench $(if $(QUICK),--quick)

check-headers:
	@for h in $$(find include -name '*.h'); do \
	  echo "#include \"$${h#include/}\"" | $(CXX) $(filter-out -MMD -MP,$(CPPFLAGS)) $(CXXFLAGS) $(WARN) -x c++ -fsyntax-only - || exit 1; \
	done; echo "every header compiles alone"

# `make install` (PREFIX, default /usr/local; DESTDIR for staging) copies what `make` built in
# $(BUILD) and builds nothing (run `make` first, so `sudo make install` never compiles as root).
# The unit goes to $(PREFIX)/lib/systemd/system, not /etc/systemd/system: /etc belongs to the
# admin, whose units and drop-ins there override ours; systemd searches /usr/local/lib/systemd/system
# (and /usr/lib/systemd/system for PREFIX=/usr) itself. Its ExecStart is pointed at $(PREFIX)/bin.
PREFIX ?= /usr/local
INSTALL_BINS := $(SERVER) $(LOGTOOL) $(LOADGEN)
UNIT_DIR := $(PREFIX)/lib/systemd/system
install:
	@for f in $(INSTALL_BINS); do \
	  [ -x $$f ] || { echo "make install: $$f is missing (run make first)"; exit 1; }; \
	done
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNIT_DIR)
	@$(if $(Q),echo "  INSTALL $(notdir $(INSTALL_BINS)) -> $(DESTDIR)$(PREFIX)/bin")
	$(Q)install -m 0755 $(INSTALL_BINS) $(DESTDIR)$(PREFIX)/bin/
	@$(if $(Q),echo "  INSTALL busyring.service -> $(DESTDIR)$(UNIT_DIR)")
	$(Q)sed 's|/usr/local/bin/|$(PREFIX)/bin/|' contrib/systemd/busyring.service >$(DESTDIR)$(UNIT_DIR)/busyring.service.tmp
	$(Q)chmod 0644 $(DESTDIR)$(UNIT_DIR)/busyring.service.tmp
	$(Q)mv $(DESTDIR)$(UNIT_DIR)/busyring.service.tmp $(DESTDIR)$(UNIT_DIR)/busyring.service

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
