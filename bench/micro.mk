# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The XDP program microbenchmark (BPF_PROG_TEST_RUN). Included from the
# top-level Makefile (`include bench/micro.mk`), whose BUILD, CC, CLANG,
# BPFTOOL, XS_CFLAGS, XS_LDLIBS, BPF_CFLAGS, LIB_OBJS and SKELS it uses; every
# name it defines starts with MICRO_ or bench-xdp.
#
# Targets (need root):
#   bench-xdp           the sensor vs a bare XDP_PASS program: TCP/IPv4, TCP/IPv6,
#                       a 100,000-flow mix; writes its section of bench/RESULTS.md
#   bench-xdp-maptypes  every case, action count, with the flows map as HASH, LRU_HASH
#                       and PERCPU_HASH (builds of a patched copy, in build/micro/)
#   bench-xdp-build     just the binary: build/micro/bench-xdp
# MICRO_ARGS adds options, e.g. `make bench-xdp MICRO_ARGS=--quick` (see --help).

MICRO_OUT     := $(BUILD)/micro
MICRO_SRC     := bench/micro
MICRO_RESULTS ?= bench/RESULTS.md
MICRO_ARGS    ?=
MICRO_BIN     := $(MICRO_OUT)/bench-xdp
MICRO_TYPES   := hash lru_hash percpu_hash
MICRO_VARIANTS := $(foreach t,$(MICRO_TYPES),$(MICRO_OUT)/variants/$(t)/xdpsensor.bpf.o)

.PHONY: bench-xdp bench-xdp-build bench-xdp-maptypes

bench-xdp-build: $(MICRO_BIN)

bench-xdp: $(MICRO_BIN)
	$(Q)$(MICRO_BIN) --results $(MICRO_RESULTS) --invoked-as 'make bench-xdp' $(MICRO_ARGS)

bench-xdp-maptypes: $(MICRO_BIN) $(MICRO_VARIANTS)
	$(Q)$(MICRO_BIN) --action count \
		$(foreach t,$(MICRO_TYPES),--variant $(t)=$(MICRO_OUT)/variants/$(t)/xdpsensor.bpf.o) \
		--results $(MICRO_RESULTS) \
		--section 'XDP flow map type experiment (make bench-xdp-maptypes)' \
		--invoked-as 'make bench-xdp-maptypes' $(MICRO_ARGS)

$(MICRO_OUT) $(MICRO_OUT)/variants:
	$(Q)mkdir -p $@

$(MICRO_OUT)/xdp_pass.bpf.o: $(MICRO_SRC)/xdp_pass.bpf.c $(PKG_STAMP) | $(MICRO_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MD -MP -c $< -o $@

$(MICRO_OUT)/xdp_pass.skel.h: $(MICRO_OUT)/xdp_pass.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name xdp_pass_bpf > $@

$(MICRO_BIN): $(MICRO_SRC)/bench_xdp.c $(MICRO_SRC)/mem_latency.c $(MICRO_SRC)/mem_latency.h \
		$(MICRO_OUT)/xdp_pass.skel.h $(LIB_OBJS) $(SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(XS_CFLAGS) -I$(MICRO_OUT) $(filter %.c,$^) $(LIB_OBJS) -o $@ $(XS_LDLIBS)

# The datapath with another flows map type: a copy of bpf/ patched by
# flows-variant.sh (bpf/ itself is left alone), built with BPF_CFLAGS.
# Its prerequisites are listed here (no -MD: the copied source is not a target).
$(MICRO_OUT)/variants/%/xdpsensor.bpf.o: bpf/xdpsensor.bpf.c bpf/xdpsensor_maps.h \
		$(wildcard headers/*.h) $(MICRO_SRC)/flows-variant.sh | $(MICRO_OUT)/variants
	$(call msg,BPF,$@)
	$(Q)$(MICRO_SRC)/flows-variant.sh $* bpf $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -I$(@D) \
		-DXS_FLOWS_MAP_TYPE=BPF_MAP_TYPE_$(shell echo $* | tr a-z A-Z) \
		-c $(@D)/xdpsensor.bpf.c -o $@

-include $(wildcard $(MICRO_OUT)/*.d)
