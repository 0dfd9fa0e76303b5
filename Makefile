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

PKGS     := libbpf libxdp rdkafka libpcap libcrypto
# jemalloc: librdkafka allocates per record and per header and frees on
# another thread; glibc's malloc took a third of the worker's time there
# (bench/RESULTS.md). Linked even if no object of ours calls malloc.
JEMALLOC := -Wl,--push-state,--no-as-needed -ljemalloc -Wl,--pop-state
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
CFLAGS   += $(WARN) -std=gnu11 -D_GNU_SOURCE -DXS_VERSION='"$(VERSION)"' \
	    -Iheaders -Iuser -I$(BUILD) $(PKG_CFLAGS) -MD -MP
LDLIBS   += $(PKG_LIBS) $(JEMALLOC) -lpthread
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 $(WARN) \
	      -Iheaders -Ibpf -MD -MP

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(USER_SRCS))
LIB_OBJS  := $(filter-out $(BUILD)/obj/main.o,$(USER_OBJS))
SKELS     := $(BUILD)/xdpsensor.skel.h

TEST_SRCS := $(wildcard tests/unit/*.c)
TEST_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

.PHONY: all deps test test-unit demo vmtest clean format

all: $(BUILD)/xdpsensor

$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(notdir $*)_bpf > $@

$(BUILD)/obj/%.o: user/%.c $(SKELS) | $(BUILD)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/xdpsensor: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB_OBJS) $(SKELS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS) -lcmocka

$(BUILD) $(BUILD)/obj $(BUILD)/tests:
	$(Q)mkdir -p $@

# Installs every Debian package the build, tests and demo need (idempotent).
deps:
	$(Q)scripts/install-deps.sh

# The whole suite: unit tests (BPF_PROG_TEST_RUN), the real captures against
# tshark, end-to-end on veth against a real Kafka broker, and the VM suite.
test: deps
	$(Q)$(MAKE) --no-print-directory all $(TEST_BINS) bench-build
	$(Q)tests/run.sh

test-unit: all $(TEST_BINS)
	$(Q)tests/run.sh unit

# The privileged suite inside a virtme-ng VM (KERNEL=/path/to/vmlinuz for another).
vmtest: all $(TEST_BINS)
	$(Q)tests/run.sh vm

# The sensor's main job on a self-contained default: veth pair, local Kafka.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

clean:
	$(Q)rm -rf $(BUILD)

format:
	$(Q)clang-format -i bpf/*.c bpf/*.h headers/*.h user/*.c user/*.h tests/unit/*.c

include bench/bench.mk bench/micro.mk

-include $(wildcard $(BUILD)/*.d $(BUILD)/obj/*.d $(BUILD)/tests/*.d)
bench bench-quick: $(BUILD)/xdpsensor
