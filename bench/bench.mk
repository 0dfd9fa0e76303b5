# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Benchmark tools and driver. Included from the top-level Makefile
# (`include bench/bench.mk`), whose BUILD, CC, CLANG, BPFTOOL, CFLAGS, WARN,
# BPF_CFLAGS, USER_DIRS and PKG_STAMP it uses; every name this file defines
# starts with BENCH_ or bench-.
#
# Targets:
#   bench-build   build/bench/{xs-gen,xdp-drop,afxdp-bare,pcap-probe,kafka-alone,kafka-batch}
#                 and the BPF objects they load
#   bench         bench-build, then the full run of bench/run.sh (needs root)
#   bench-quick   bench-build, then bench/run.sh --quick (under a minute)
#   bench-fault   the fault variants (bench/fault.sh) at FAULT_RATE for FAULT_OUTAGE s
#   bench-clean   removes build/bench/

BENCH_OUT := $(BUILD)/bench
BENCH_SRC := bench

ifeq ($(V),1)
BENCH_Q :=
BENCH_MSG := @true
else
BENCH_Q := @
BENCH_MSG := @printf '  %-8s %s\n'
endif

# the user's CFLAGS (-O0, say) last, as for the sensor
BENCH_CFLAGS = $(WARN) -MMD -MP -Iheaders -I$(BENCH_OUT) $(patsubst %/,-I%,$(USER_DIRS)) \
	       $(CFLAGS)

BENCH_LIBBPF = $(call once,BENCH_LIBBPF,pkg-config --libs libbpf)
BENCH_LIBXDP = $(call once,BENCH_LIBXDP,pkg-config --libs libxdp libbpf)
BENCH_LIBPCAP = $(call once,BENCH_LIBPCAP,pkg-config --libs libpcap)
# the producers link jemalloc, as the sensor does: the same allocator for
# librdkafka's per-record allocations on both sides of a comparison
BENCH_LIBKAFKA = $(call once,BENCH_LIBRDKAFKA,pkg-config --libs rdkafka) $(JEMALLOC)

BENCH_BINS := $(addprefix $(BENCH_OUT)/,xs-gen xdp-drop afxdp-bare pcap-probe kafka-alone kafka-batch)
BENCH_BPF_OBJS := $(addprefix $(BENCH_OUT)/,xdp_drop.bpf.o xsk_redirect.bpf.o)

.PHONY: bench-build bench bench-quick bench-cpu bench-clean bench-fault
.DELETE_ON_ERROR:

bench-build: $(BENCH_BINS) $(BENCH_BPF_OBJS)

bench: bench-build
	$(BENCH_SRC)/run.sh --out $(BENCH_OUT)

bench-quick: bench-build
	$(BENCH_SRC)/run.sh --quick --out $(BENCH_OUT)

# Issue 11's targets 1, 2 and 3 where the CPU is the limit, not the generator:
# the receiver gets BENCH_CPU_LIMIT % of its CPU (bench/RESULTS.md)
BENCH_CPU_LIMIT ?= 15
bench-cpu: bench-build $(BUILD)/xdpsensor
	$(BENCH_SRC)/run.sh --variants pcap-kafka,kafka-alone-meta,kafka-alone-meta-paced,kafka-batch-meta-paced,xdpsensor-kafka,xdpsensor-kafka-batch \
		--rx-cpu-limit $(BENCH_CPU_LIMIT) --trials 3 --common-rate 100k \
		--search-count 3M --search-steps 6 --out $(BENCH_OUT)/cpu

# Issue 11's target 4: the broker stopped, killed, and the sensor killed in
# the backlog, FAULT_OUTAGE seconds at FAULT_RATE (half the sensor's
# zero-loss rate of `make bench`); one JSON line each (bench/fault.sh).
# FAULT_PRODUCER=batch: the same through the sensor's own writer.
FAULT_RATE ?= 100000
FAULT_OUTAGE ?= 30
FAULT_PRODUCER ?= librdkafka
bench-fault: bench-build $(BUILD)/xdpsensor $(BUILD)/e2e/xs-consume
	$(BENCH_Q)for f in stop kill sensor-kill; do \
		$(BENCH_SRC)/fault.sh --fault $$f --rate $(FAULT_RATE) --outage $(FAULT_OUTAGE) \
			--producer $(FAULT_PRODUCER) || exit 1; \
	done | tee $(BENCH_OUT)/fault-$(FAULT_PRODUCER).jsonl

bench-clean:
	$(BENCH_Q)rm -rf $(BENCH_OUT)

$(BENCH_OUT):
	$(BENCH_Q)mkdir -p $@

# BPF objects, then their skeletons (generated, never beside the sources)
$(BENCH_OUT)/%.bpf.o: $(BENCH_SRC)/peers/%.bpf.c $(PKG_STAMP) | $(BENCH_OUT)
	$(BENCH_MSG) CLANG $@
	$(BENCH_Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BENCH_OUT)/%.skel.h: $(BENCH_OUT)/%.bpf.o
	$(BENCH_MSG) GEN-SKEL $@
	$(BENCH_Q)$(BPFTOOL) gen skeleton $< > $@

$(BENCH_OUT)/xs-gen: $(BENCH_SRC)/gen/xs_gen.c $(PKG_STAMP) | $(BENCH_OUT)
	$(BENCH_MSG) CC $@
	$(BENCH_Q)$(CC) $(BENCH_CFLAGS) $< -o $@ $(BENCH_LIBXDP)

$(BENCH_OUT)/xdp-drop: $(BENCH_SRC)/peers/xdp_drop.c $(BENCH_OUT)/xdp_drop.skel.h
	$(BENCH_MSG) CC $@
	$(BENCH_Q)$(CC) $(BENCH_CFLAGS) $< -o $@ $(BENCH_LIBBPF)

$(BENCH_OUT)/afxdp-bare: $(BENCH_SRC)/peers/afxdp_bare.c $(BENCH_OUT)/xsk_redirect.skel.h
	$(BENCH_MSG) CC $@
	$(BENCH_Q)$(CC) $(BENCH_CFLAGS) $< -o $@ $(BENCH_LIBXDP)

# the producers measure latency with the sensor's histogram (user/util/latency.c)
$(BENCH_OUT)/pcap-probe: $(BENCH_SRC)/peers/pcap_probe.c user/util/latency.c $(PKG_STAMP) | $(BENCH_OUT)
	$(BENCH_MSG) CC $@
	$(BENCH_Q)$(CC) $(BENCH_CFLAGS) $(filter %.c,$^) -o $@ $(BENCH_LIBPCAP) $(BENCH_LIBKAFKA)

$(BENCH_OUT)/kafka-alone: $(BENCH_SRC)/peers/kafka_alone.c user/util/latency.c $(PKG_STAMP) | $(BENCH_OUT)
	$(BENCH_MSG) CC $@
	$(BENCH_Q)$(CC) $(BENCH_CFLAGS) $(filter %.c,$^) -o $@ $(BENCH_LIBKAFKA)

# links librdkafka only for its murmur2 partitioner (the sensor's)
$(BENCH_OUT)/kafka-batch: $(BENCH_SRC)/peers/kafka_batch.c user/util/latency.c $(PKG_STAMP) | $(BENCH_OUT)
	$(BENCH_MSG) CC $@
	$(BENCH_Q)$(CC) $(BENCH_CFLAGS) $(filter %.c,$^) -o $@ $(BENCH_LIBKAFKA)

-include $(wildcard $(BENCH_OUT)/*.d)
