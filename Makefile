# busyring build. `make` builds build/$(MODE)/{busyring,busyring-log,busyring-load};
# `make run` starts the server on :3000 with ./data; `make test` runs every test and ends with
# "N passed, N failed". Missing Debian packages are installed first (see "Stage 1" below).
# `make cluster NODES=3` runs Redis, 3 nodes and HAProxy on this machine until Ctrl-C.
MODE ?= release
BUILD := build/$(MODE)
CXX ?= g++
CC ?= gcc

# Debian packages, by what needs them. The build and `make run` need BUILD_DEPS only; `make test`
# adds TEST_DEPS: ab and curl (the seeds' commands), npm (loadtest, installed into build/npm),
# a real Prometheus (promtool and a scrape), PostgreSQL (the export), Redis, etcd and HAProxy (the
# cluster tests; libhiredis-dev is the server's own Redis client, libcurl4-openssl-dev its etcd
# client; zlib1g-dev decompresses gzip bodies; libzstd-dev compresses sealed segments for
# `busyring-log compact`; openssl makes the TLS tests' certificates), e2fsprogs (the full-disk
# and I/O-error tests' file systems), fuse3 and libfuse3-dev (busyring-faultfs, the power-cut
# tests' file system: fusermount3, and the library it is built against), chromium (the status
# page drawn in a headless browser) and systemd (`systemd-analyze verify` and `security` of the
# units), strace (the export unit's system calls, checked against its filter).
BUILD_DEPS := g++ make liburing-dev node-llhttp libsimdjson-dev libhiredis-dev libcurl4-openssl-dev catch2 zlib1g-dev libzstd-dev
TEST_DEPS := apache2-utils curl npm prometheus postgresql redis-server etcd-server etcd-client openssl haproxy e2fsprogs fuse3 libfuse3-dev chromium systemd strace
BENCH_DEPS := wrk nginx linux-perf gnuplot-nox iproute2 python3 apache2-utils redis-server etcd-server etcd-client haproxy
# `make run` adds curl: the README's first POST (`curl -d @data.json localhost:3000/api/usages`)
# should work on the machine that just ran it, and a fresh Debian has no curl.
RUN_DEPS := curl
FUZZ_DEPS := clang libclang-rt-14-dev
CLUSTER_DEPS := redis-server etcd-server etcd-client haproxy

# ---- Stage 1: packages, then one recursive make that builds -----------------------------------
# make reads which files exist when it first looks (llhttp's sources under /usr/share/llhttp) and
# never looks again: packages installed by a rule of the same run stay invisible to it, and the
# first `make test` on a fresh machine failed ("No rule to make target build/release/llhttp/api.o").
# So the make you start only installs the missing packages for its goals, then starts one make
# (BR_BUILD_STAGE=1) that reads the tree afresh and builds in parallel: -j from nproc, unless
# you gave -j yourself (JOBS=N to choose).
ifndef BR_BUILD_STAGE

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
GOALS := $(or $(MAKECMDGOALS),all)
NO_PACKAGE_GOALS := clean install
PACKAGES := $(sort $(if $(filter-out $(NO_PACKAGE_GOALS),$(GOALS)),$(BUILD_DEPS)) \
              $(if $(filter run,$(GOALS)),$(RUN_DEPS)) \
              $(if $(filter test deps-test,$(GOALS)),$(TEST_DEPS)) \
              $(if $(filter bench deps-bench,$(GOALS)),$(BENCH_DEPS)) \
              $(if $(filter fuzz,$(GOALS)),$(FUZZ_DEPS)) \
              $(if $(filter cluster,$(GOALS)),$(CLUSTER_DEPS)))
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
POLICY_RC := /usr/sbin/policy-rc.d

.PHONY: $(GOALS) br-packages br-build
$(GOALS): br-build
	@:

br-build: br-packages
	+@jobs=-j$(JOBS); case " $$MAKEFLAGS " in *" -j"*|*" --jobserver"*) jobs=;; esac; \
	$(MAKE) --no-print-directory $$jobs BR_BUILD_STAGE=1 $(MAKECMDGOALS)

# Installs only what is missing (dpkg-query first; apt-get update only then). A package counts
# as present when it is installed or when an installed package provides it: NodeSource's nodejs
# provides (and conflicts with) Debian's npm, and asking apt for npm there would fail. Installing a
# server package must not leave its service running: on a systemd machine apt starts and
# enables postgresql, redis-server, haproxy, prometheus and nginx, and a user who only built
# busyring does not expect a Prometheus on :9090 (the tests start their own instances on free
# ports). Two guards, since either alone has a gap:
#  - during the install, a policy-rc.d that answers 101 ("action forbidden"), which both
#    invoke-rc.d and deb-systemd-invoke obey, so no service starts at all (systemd or not, in
#    a chroot or a container too). It is ours only if none was there; a trap removes it on every
#    exit path, Ctrl-C included, and an existing one (Docker's) is left alone;
#  - afterwards, on systemd, every .service unit of a package this install added is stopped
#    and disabled (`systemctl disable --now`), so nothing starts at the next boot either and
#    nothing slipped past a policy-rc.d that allowed it. Units of packages that were already
#    installed are never touched: an admin's own PostgreSQL keeps running.
br-packages:
	@have=$$(dpkg-query -W -f='$${db:Status-Abbrev}$${Package}\n$${db:Status-Abbrev}$${Provides}\n' 2>/dev/null | \
	  sed -n 's/^ii *//p' | tr ',' '\n' | sed 's/([^)]*)//g; s/ //g; /^$$/d'); \
	missing=""; for p in $(PACKAGES); do \
	  printf '%s\n' "$$have" | grep -qxF $$p || missing="$$missing $$p"; \
	done; \
	[ -n "$$missing" ] || exit 0; \
	echo "make: installing Debian packages:$$missing"; \
	before=$$(dpkg-query -W -f='$${db:Status-Abbrev}$${Package}\n' | sed -n 's/^ii *//p' | sort); \
	if [ ! -e $(POLICY_RC) ]; then \
	  trap '$(SUDO) rm -f $(POLICY_RC)' EXIT; trap 'exit 130' INT TERM HUP; \
	  printf '#!/bin/sh\n# written by busyring make for one apt-get install: no service starts\nexit 101\n' | \
	    $(SUDO) tee $(POLICY_RC) >/dev/null && $(SUDO) chmod 755 $(POLICY_RC) || exit 1; \
	fi; \
	{ $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } || \
	  { echo "make: could not install$$missing (run as root or with sudo, or apt-get install them)"; exit 1; }; \
	[ -d /run/systemd/system ] || exit 0; \
	after=$$(dpkg-query -W -f='$${db:Status-Abbrev}$${Package}\n' | sed -n 's/^ii *//p' | sort); \
	for pkg in $$after; do \
	  case " $$(echo $$before) " in *" $$pkg "*) continue;; esac; \
	  for unit in $$(dpkg -L $$pkg | sed -n 's|^/\(usr/\)\{0,1\}lib/systemd/system/\([^/@]*\.service\)$$|\2|p'); do \
	    if systemctl -q is-enabled $$unit 2>/dev/null || systemctl -q is-active $$unit; then \
	      $(SUDO) systemctl disable --now -q $$unit && \
	      echo "make: $$unit (from $$pkg) stopped and disabled; \`systemctl enable --now $$unit\` to use it"; \
	    fi; \
	  done; \
	done

else
# ---- Stage 2: the build (BR_BUILD_STAGE=1, started by stage 1) --------------------------------

LLHTTP_INC := /usr/share/include/llhttp
LLHTTP_SRC := /usr/share/llhttp

CPPFLAGS := -Iinclude -isystem $(LLHTTP_INC) -MMD -MP
WARN := -Wall -Wextra -Wshadow -Wconversion -Wold-style-cast -Wimplicit-fallthrough -Werror
CXXFLAGS_release := -O2
CXXFLAGS_debug := -O0 -DBR_DEBUG
CXXFLAGS_asan = -O1 -DBR_DEBUG $(SANITIZE_CXX)
SANITIZE_CXX := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# Debug info: full (-g) for release and debug, for perf and gdb. ASan and UBSan reports need
# only function names and line tables (-g1), which compiles a third faster under the
# sanitizers: the ASan suite is half of CI's time on 2 cores.
DEBUG_INFO := $(if $(filter asan,$(MODE)),-g1,-g)
CXXFLAGS = -std=c++20 $(DEBUG_INFO) -fno-omit-frame-pointer -pthread $(CXXFLAGS_$(MODE)) $(EXTRA_CXXFLAGS)
SANITIZE_asan := -fsanitize=address,undefined
CFLAGS := -O2 -g -fno-omit-frame-pointer $(SANITIZE_$(MODE))
LDFLAGS := -pthread $(SANITIZE_$(MODE))
LDLIBS := -luring -lsimdjson -lhiredis -lcurl -lz -lzstd

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
.PHONY: all run test bench fuzz check-headers clean deps deps-test deps-bench install

all: $(SERVER) $(if $(LOG_SRCS),$(LOGTOOL)) $(if $(LOAD_SRCS),$(LOADGEN))

# Stage 1 did the installing: `make deps` (what builds and runs the server), `make deps-test`
# (and what the tests use), `make deps-bench` (and what the benchmarks use).
deps deps-test deps-bench:
	@:

# --version names the commit: only base/version.o is compiled with it, and rebuilt (with the
# archives and binaries that hold it) when the commit or the mode changes, nothing else.
GIT_COMMIT := $(shell [ -e .git ] && git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION_STAMP := $(BUILD)/version.stamp
.PHONY: br-force
$(VERSION_STAMP): br-force
	@mkdir -p $(@D)
	@echo '$(GIT_COMMIT) $(MODE)' | cmp -s - $@ || echo '$(GIT_COMMIT) $(MODE)' >$@
$(BUILD)/src/base/version.o: $(VERSION_STAMP)
$(BUILD)/src/base/version.o: CPPFLAGS += -DBR_GIT_COMMIT='"$(GIT_COMMIT)"' -DBR_BUILD_MODE='"$(MODE)"'

# Tests may include a module's private headers (src/<module>/*.h) as "<module>/name.h".
$(BUILD)/tests/%.o: CPPFLAGS += -Isrc

# Tests may include a module's private headers (src/<module>/*.h, beside their .cpp), as
# "net/connection.h"; the server's own code cannot.
$(BUILD)/tests/%.o: CPPFLAGS += -Isrc

# GCC 12's -Wmaybe-uninitialized misfires inside libstdc++'s <regex> (which Catch2's header
# pulls in) under -O1 -fsanitize: test objects alone drop it in asan mode; src/ keeps every warning.
# The code under test (src/, tools/) is built with ASan and UBSan; the tests' own code with ASan
# only: UBSan's checks double the compile time of a Catch2 test file (log_writer_test.cpp 7.4 s
# -> 4.0 s) and the ASan half of CI is mostly compiling.
ifeq ($(MODE),asan)
$(BUILD)/tests/%.o: WARN += -Wno-maybe-uninitialized
$(BUILD)/tests/%.o: SANITIZE_CXX := -fsanitize=address
endif

# Catch2's main (CATCH_CONFIG_MAIN: the framework's whole implementation, one file per test
# binary) is the longest compile of the tree, 37 s at -O2 -g and 44 s under the sanitizers; at
# -O1 -g1 and uninstrumented (third-party code, not under test) it takes 18 s and runs as fast.
CATCH_MAINS := $(BUILD)/tests/unit/main.o $(BUILD)/tests/blackbox/main.o
$(CATCH_MAINS): DEBUG_INFO := -g1
$(CATCH_MAINS): CXXFLAGS_$(MODE) := -O1 $(if $(filter asan,$(MODE)),-DBR_DEBUG)

$(BUILD)/%.o: %.cpp
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CXX   $<")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(WARN) -c $< -o $@

# llhttp's C sources are compiled with their own (lenient) flags, never ours.
$(BUILD)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) -I$(LLHTTP_INC) $(CFLAGS) -c $< -o $@

# The status page (GET /status) is contrib/status/status.html compiled in as a raw string
# literal, so the server only serves bytes it carries (api/status_page.h).
STATUS_PAGE_SRC := $(BUILD)/gen/status_page_html.cpp
$(STATUS_PAGE_SRC): contrib/status/status.html
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN   $@")
	$(Q)! grep -q ')BR_STATUS_PAGE"' $< || { echo "$<: holds the raw string delimiter"; exit 1; }
	$(Q){ echo '// Generated from contrib/status/status.html by the Makefile.'; \
	  echo '#include "busyring/api/status_page.h"'; \
	  echo 'namespace busyring::api {'; \
	  printf '%s' 'namespace { constexpr char kPage[] = R"BR_STATUS_PAGE('; cat $<; echo ')BR_STATUS_PAGE"; }'; \
	  echo 'static_assert(sizeof kPage - 1 <= kMaxStatusPageBytes, "status.html is over kMaxStatusPageBytes");'; \
	  echo 'std::string_view status_page_html() noexcept { return {kPage, sizeof kPage - 1}; }'; \
	  echo '}'; } >$@
$(STATUS_PAGE_SRC:.cpp=.o): $(STATUS_PAGE_SRC)
	@$(if $(Q),echo "  CXX   $<")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(WARN) -c $< -o $@

$(BUILD)/libbusyring.a: $(LIB_OBJS) $(LLHTTP_OBJS) $(STATUS_PAGE_SRC:.cpp=.o)
	@$(if $(Q),echo "  AR    $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SERVER): $(BUILD)/src/main.o $(BUILD)/libbusyring.a
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The test build with the storage fault hook (see include/busyring/storage/fault_hook.h) and the
# shard stall (src/net/fault_stall.h): the objects that carry a hook are rebuilt
# with it and linked ahead of the library.
FAULT_OBJS := $(BUILD)/faults/src/storage/log_writer.o $(BUILD)/faults/src/storage/fault_hook.o \
              $(BUILD)/faults/src/net/shard.o $(BUILD)/faults/src/net/fault_stall.o
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

# The load generator takes from the library only what it uses (base: flags, units, version).
$(LOADGEN): $(LOAD_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/libbusyring.a
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
fuzz: $(STATUS_PAGE_SRC)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) LLHTTP_SRC=$(LLHTTP_SRC) LLHTTP_INC=$(LLHTTP_INC) STATUS_PAGE_SRC=$(STATUS_PAGE_SRC) \
	  tests/fuzz/run_fuzz.sh $(FUZZ_TARGETS)

run: all
	./$(SERVER) --port 3000 --data-dir ./data

# `make cluster NODES=3`: Redis, NODES nodes (ids from Redis) and HAProxy on this machine, in the
# foreground until Ctrl-C (perf/cluster; FRONT_PORT=3000, CLUSTER_DIR=dir to keep, KEEP=1;
# ID_SOURCE=etcd: three etcd members instead of Redis).
.PHONY: cluster
cluster: all
	@BUSYRING_BIN=$(SERVER) perf/cluster --nodes $(or $(NODES),3) --front-port $(or $(FRONT_PORT),3000) \
	  $(if $(CLUSTER_DIR),--base-dir $(CLUSTER_DIR)) $(if $(KEEP),--keep) $(if $(ID_SOURCE),--id-source $(ID_SOURCE))

# A kernel without IPv6, preloaded into the server by one black-box test (dual_stack_test.cpp).
$(BUILD)/no-ipv6.so: tests/blackbox/no_ipv6_shim.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) -O2 -shared -fPIC -Wall -Wextra -Werror $< -o $@ -ldl

test: all $(FAULTY) $(FAULTFS) $(UNIT) $(BLACKBOX) $(BUILD)/no-ipv6.so $(if $(FUZZ_SRCS),$(BUILD)/fuzz-replay)
	@BUILD=$(BUILD) tests/run_all.sh

# The cluster row (HAProxy to 1-3 nodes, ids from Redis) follows the single-node suite.
bench: all
	perf/bench $(if $(QUICK),--quick)
	perf/tail_bench $(if $(QUICK),--quick)
	BUSYRING_BIN=$(SERVER) perf/cluster_bench $(if $(QUICK),--quick)

# Public headers (include/) and private ones (src/<module>/*.h) each compile alone.
check-headers:
	@for h in $$(find include -name '*.h') $$(find src -name '*.h'); do \
	  echo "#include \"$${h#include/}\"" | $(CXX) $(filter-out -MMD -MP,$(CPPFLAGS)) $(CXXFLAGS) $(WARN) -x c++ -fsyntax-only - || exit 1; \
	done; echo "every header compiles alone"

# `make install` (PREFIX, default /usr/local; DESTDIR for staging) copies what `make` built in
# $(BUILD) and builds nothing (run `make` first, so `sudo make install` never compiles as root).
# The units go to $(PREFIX)/lib/systemd/system, not /etc/systemd/system: /etc belongs to the
# admin, whose units and drop-ins there override ours; systemd searches /usr/local/lib/systemd/system
# (and /usr/lib/systemd/system for PREFIX=/usr) itself. The export chain (load.sh, schema.sql,
# setup.sql) goes to $(PREFIX)/share/busyring/postgres, and examples of the units' environment
# files to $(PREFIX)/share/busyring/examples: nothing is written to /etc (the README says what to
# copy there). Every /usr/local/ inside an installed text file is pointed at $(PREFIX)/.
PREFIX ?= /usr/local
INSTALL_BINS := $(SERVER) $(LOGTOOL) $(LOADGEN)
UNIT_DIR := $(PREFIX)/lib/systemd/system
SHARE_DIR := $(PREFIX)/share/busyring
EXPORT_UNITS := contrib/systemd/busyring-export.service contrib/systemd/busyring-export.timer
COMPACT_UNITS := contrib/systemd/busyring-compact.service contrib/systemd/busyring-compact.timer
PG_FILES := contrib/postgres/schema.sql contrib/postgres/setup.sql
EXAMPLES := contrib/systemd/busyring.default contrib/systemd/busyring-export.default

# $(call install_text,FILE,DIR,MODE): FILE into $(DESTDIR)DIR with /usr/local/ turned into
# $(PREFIX)/, written aside and renamed, so an interrupted install leaves no half file.
define install_text
	$(Q)sed 's|/usr/local/|$(PREFIX)/|g' $(1) >$(DESTDIR)$(2)/$(notdir $(1)).tmp
	$(Q)chmod $(3) $(DESTDIR)$(2)/$(notdir $(1)).tmp
	$(Q)mv $(DESTDIR)$(2)/$(notdir $(1)).tmp $(DESTDIR)$(2)/$(notdir $(1))

endef

install:
	@for f in $(INSTALL_BINS); do \
	  [ -x $$f ] || { echo "make install: $$f is missing (run make first)"; exit 1; }; \
	done
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNIT_DIR) $(DESTDIR)$(SHARE_DIR)/postgres $(DESTDIR)$(SHARE_DIR)/examples
	@$(if $(Q),echo "  INSTALL $(notdir $(INSTALL_BINS)) -> $(DESTDIR)$(PREFIX)/bin")
	$(Q)install -m 0755 $(INSTALL_BINS) $(DESTDIR)$(PREFIX)/bin/
	@$(if $(Q),echo "  INSTALL busyring.service -> $(DESTDIR)$(UNIT_DIR)")
	$(Q)sed 's|/usr/local/bin/|$(PREFIX)/bin/|' contrib/systemd/busyring.service >$(DESTDIR)$(UNIT_DIR)/busyring.service.tmp
	$(Q)chmod 0644 $(DESTDIR)$(UNIT_DIR)/busyring.service.tmp
	$(Q)mv $(DESTDIR)$(UNIT_DIR)/busyring.service.tmp $(DESTDIR)$(UNIT_DIR)/busyring.service
	@$(if $(Q),echo "  INSTALL $(notdir $(EXPORT_UNITS)) -> $(DESTDIR)$(UNIT_DIR)")
	$(foreach f,$(EXPORT_UNITS),$(call install_text,$(f),$(UNIT_DIR),0644))
	@$(if $(Q),echo "  INSTALL $(notdir $(COMPACT_UNITS)) -> $(DESTDIR)$(UNIT_DIR)")
	$(foreach f,$(COMPACT_UNITS),$(call install_text,$(f),$(UNIT_DIR),0644))
	@$(if $(Q),echo "  INSTALL load.sh $(notdir $(PG_FILES)) -> $(DESTDIR)$(SHARE_DIR)/postgres")
	$(call install_text,contrib/postgres/load.sh,$(SHARE_DIR)/postgres,0755)
	$(foreach f,$(PG_FILES),$(call install_text,$(f),$(SHARE_DIR)/postgres,0644))
	@$(if $(Q),echo "  INSTALL $(notdir $(EXAMPLES)) -> $(DESTDIR)$(SHARE_DIR)/examples")
	$(foreach f,$(EXAMPLES),$(call install_text,$(f),$(SHARE_DIR)/examples,0644))

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

endif  # stage 2
