# busyring build. `make` builds build/$(MODE)/{busyring,busyring-log,busyring-load};
# `make run` starts the server on :3000 with ./data; `make test` runs every test and ends with
# "N passed, N failed". Missing Debian packages are installed first (see `deps`).
MODE ?= release
BUILD := build/$(MODE)
CXX ?= g++
CC ?= gcc

# Debian packages the build and the tests need; bench adds its own below.
DEPS := g++ make liburing-dev node-llhttp libsimdjson-dev catch2 apache2-utils curl
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
LDLIBS := -luring -lsimdjson

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
.PHONY: all run test bench fuzz check-headers clean deps deps-bench

all: deps $(SERVER) $(if $(LOG_SRCS),$(LOGTOOL)) $(if $(LOAD_SRCS),$(LOADGEN))

# Installs only what is missing (dpkg-query first); apt-get update once, only if needed.
deps:
	@missing=""; for p in $(DEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || \
	    { echo "make deps: could not install$$missing (run as root, or apt-get install them)"; exit 1; }; \
	fi

deps-bench:
	@missing=""; for p in $(BENCH_DEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

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

# Fuzz corpora replayed through a plain build (a crash found once stays a regression test).
$(BUILD)/fuzz-replay: $(FUZZ_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/tests/fuzz/replay_main.o $(BUILD)/libbusyring.a
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

run: all
	./$(SERVER) --port 3000 --data-dir ./data

test: all $(FAULTY) $(UNIT) $(BLACKBOX) $(if $(FUZZ_SRCS),$(BUILD)/fuzz-replay)
	@BUILD=$(BUILD) tests/run_all.sh

bench: all deps-bench
	perf/bench $(if $(QUICK),--quick)

check-headers:
	@for h in $$(find include -name '*.h'); do \
	  echo "#include \"$${h#include/}\"" | $(CXX) $(CPPFLAGS) $(CXXFLAGS) $(WARN) -x c++ -fsyntax-only - || exit 1; \
	done; echo "every header compiles alone"

clean:
	rm -rf build

-include $(shell find build/$(MODE) -name '*.d' 2>/dev/null)
