# xdpsensor — build, test, demo, benchmarks. `make V=1` shows the commands.
.DELETE_ON_ERROR:
.SECONDARY:
.DEFAULT_GOAL := all

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
VERSION  := 0.1.0

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Evaluates $(shell CMD) once, on first use (not when the Makefile is read:
# `make deps` must work before the tools CMD needs are installed).
once = $(eval $(1) := $$(shell $(2)))$($(1))

# ---------------------------------------------------------------- flags
# The user's CFLAGS/LDFLAGS (`make CFLAGS=-O0`) replace only the optimisation
# and debug choice: the project's own includes, definitions and warnings live
# in XS_* variables that a command-line CFLAGS does not override.
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror

PKGS     := libbpf libxdp rdkafka libpcap libcrypto libpcre2-8 zlib libmicrohttpd jansson
PKG_CFLAGS = $(call once,PKG_CFLAGS,pkg-config --cflags $(PKGS))
PKG_LIBS   = $(call once,PKG_LIBS,pkg-config --libs $(PKGS))
# jemalloc: librdkafka allocates per record and per header and frees on
# another thread; glibc's malloc took a third of the worker's time there
# (bench/RESULTS.md). Linked even if no object of ours calls malloc.
JEMALLOC := -Wl,--push-state,--no-as-needed -ljemalloc -Wl,--pop-state

USER_DIRS   := $(sort $(dir $(wildcard user/*/*.c user/*/*.h)))
XS_INCLUDES := -Iheaders $(patsubst %/,-I%,$(USER_DIRS)) -I$(BUILD)
XS_CFLAGS    = $(WARN) -std=gnu11 -D_GNU_SOURCE -DXS_VERSION='"$(VERSION)"' \
	       $(XS_INCLUDES) $(PKG_CFLAGS) -MD -MP $(CFLAGS)
XS_LDLIBS    = $(PKG_LIBS) $(JEMALLOC) -lpthread $(LDLIBS)

# The one definition of the BPF compile flags, for every BPF object the
# project builds (the sensor, bench peers, microbenchmark variants, e2e test
# programs). `clang -target bpf` knows no system include directory of its
# own: take the host's from clang itself (as libbpf-bootstrap does), so
# <asm/types.h> is found in /usr/include/<multiarch> on a machine without
# gcc-multilib's /usr/include/asm.
BPF_SYS_INCLUDES_CMD := $(CLANG) -v -E - </dev/null 2>&1 | \
	sed -n '/<\.\.\.> search starts here:/,/End of search list/s|^ \(/.*\)|-idirafter \1|p'
BPF_SYS_INCLUDES = $(call once,BPF_SYS_INCLUDES,$(BPF_SYS_INCLUDES_CMD))
BPF_CFLAGS = -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 $(WARN) \
	     -Iheaders -Ibpf $(BPF_SYS_INCLUDES)

# ---------------------------------------------------------------- sources
USER_SRCS := $(wildcard user/*/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(USER_SRCS))
LIB_OBJS  := $(filter-out $(BUILD)/obj/cmd/main.o,$(USER_OBJS))
SKELS     := $(BUILD)/xdpsensor.skel.h
PKG_STAMP := $(BUILD)/.pkg-config-ok

TEST_SRCS := $(wildcard tests/unit/*.c)
TEST_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
# programs the e2e suite runs: a Kafka consumer, and a foreign XDP program
E2E_TOOLS := $(BUILD)/e2e/xs-consume $(BUILD)/e2e/xdp_pass.bpf.o

.PHONY: all deps test test-unit test-build demo vmtest fresh-check clean format streams-example \
	install uninstall

all: $(BUILD)/xdpsensor $(BUILD)/xdpsensor.8 $(BUILD)/xdpsensor@.service

# Every library the build needs, named when it is missing (not a wall of
# undefined symbols later).
$(PKG_STAMP): Makefile | $(BUILD)
	$(Q)missing=; for p in $(PKGS); do pkg-config --exists $$p || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "missing pkg-config package(s):$$missing (make deps installs them)" >&2; exit 1; fi; \
	command -v $(CLANG) >/dev/null || { echo "$(CLANG) not found (make deps installs it)" >&2; exit 1; }; \
	command -v $(BPFTOOL) >/dev/null || { echo "$(BPFTOOL) not found (make deps installs it)" >&2; exit 1; }
	$(Q)touch $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(PKG_STAMP) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MD -MP -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(notdir $*)_bpf > $@

$(BUILD)/obj/%.o: user/%.c $(SKELS) $(PKG_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(XS_CFLAGS) -c $< -o $@

$(BUILD)/xdpsensor: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(XS_LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB_OBJS) $(SKELS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(XS_CFLAGS) $< $(LIB_OBJS) -o $@ $(XS_LDLIBS) -lcmocka

$(BUILD)/e2e/xs-consume: tests/e2e/consume.c $(PKG_STAMP) | $(BUILD)/e2e
	$(call msg,CC,$@)
	$(Q)$(CC) $(WARN) $(CFLAGS) $< -o $@ $(call once,RDKAFKA_FLAGS,pkg-config --cflags --libs rdkafka)

$(BUILD)/e2e/%.bpf.o: tests/e2e/%.bpf.c $(PKG_STAMP) | $(BUILD)/e2e
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD) $(BUILD)/tests $(BUILD)/e2e:
	$(Q)mkdir -p $@

# ---------------------------------------------------------------- install
# `make install PREFIX=/usr DESTDIR=/tmp/pkg`: the binary (its BPF object is
# embedded: the skeleton holds it), the man page, the systemd unit and
# sysusers file, an example configuration. `make uninstall` removes them.
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR  ?= /etc
INSTALLED   := $(SBINDIR)/xdpsensor $(MANDIR)/man8/xdpsensor.8 $(UNITDIR)/xdpsensor@.service \
	       $(SYSUSERSDIR)/xdpsensor.conf $(SYSCONFDIR)/xdpsensor/example.conf

$(BUILD)/xdpsensor.8: doc/xdpsensor.8.scd | $(BUILD)
	$(call msg,SCDOC,$@)
	$(Q)command -v scdoc >/dev/null || { echo "scdoc not found (make deps installs it)" >&2; exit 1; }
	$(Q)scdoc <$< >$@

# the paths of this install, in the unit (a change of PREFIX rebuilds it)
$(BUILD)/xdpsensor@.service: dist/xdpsensor@.service.in $(BUILD)/.install-paths
	$(call msg,GEN,$@)
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		-e 's|@SYSUSERSDIR@|$(SYSUSERSDIR)|g' $< >$@

# rewritten (so newer) only when the paths change
INSTALL_PATHS := $(SBINDIR) $(SYSCONFDIR) $(SYSUSERSDIR)
$(shell mkdir -p $(BUILD) && { echo '$(INSTALL_PATHS)' | cmp -s - $(BUILD)/.install-paths || \
	echo '$(INSTALL_PATHS)' >$(BUILD)/.install-paths; })

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 $(BUILD)/xdpsensor $(DESTDIR)$(SBINDIR)/xdpsensor
	$(Q)install -D -m 0644 $(BUILD)/xdpsensor.8 $(DESTDIR)$(MANDIR)/man8/xdpsensor.8
	$(Q)install -D -m 0644 $(BUILD)/xdpsensor@.service $(DESTDIR)$(UNITDIR)/xdpsensor@.service
	$(Q)install -D -m 0644 dist/sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/xdpsensor.conf
	$(Q)install -D -m 0644 dist/example.conf $(DESTDIR)$(SYSCONFDIR)/xdpsensor/example.conf

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	$(Q)rmdir $(DESTDIR)$(SYSCONFDIR)/xdpsensor 2>/dev/null || true

# ---------------------------------------------------------------- commands
# Installs every Debian package the build, tests and demo need (idempotent).
deps:
	$(Q)scripts/install-deps.sh

# Everything the suites run.
test-build: all $(TEST_BINS) $(E2E_TOOLS) bench-build

# The whole suite: unit tests (BPF_PROG_TEST_RUN), the real captures against
# tshark, end-to-end on veth against a real Kafka broker, and the VM suite.
test: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)tests/run.sh

test-unit: all $(TEST_BINS)
	$(Q)tests/run.sh unit

# The privileged suite inside a virtme-ng VM (KERNEL=/path/to/vmlinuz for another).
vmtest: all $(TEST_BINS)
	$(Q)tests/run.sh vm

# The Kafka Streams example (Maven; Kafka Streams from Maven Central, once).
streams-example:
	$(Q)mvn -B -q -Dstyle.color=never -f examples/kafka-streams/pom.xml package

# The sensor's main job on a self-contained default: veth pair, local Kafka.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

# The README's two commands on a pristine Debian 12 root (tests/fresh/).
fresh-check:
	$(Q)tests/fresh/run.sh

clean:
	$(Q)rm -rf $(BUILD)

format:
	$(Q)clang-format -i bpf/*.c bpf/*.h headers/*.h user/*/*.c user/*/*.h tests/unit/*.c

include bench/bench.mk bench/micro.mk bench/query.mk

-include $(wildcard $(BUILD)/*.d $(BUILD)/obj/*/*.d $(BUILD)/tests/*.d)
bench bench-quick: $(BUILD)/xdpsensor
