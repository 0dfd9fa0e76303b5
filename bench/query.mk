# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make bench-query: how fast `xdpsensor query` scans a topic, against kcat
# reading the same topic (bench/query.sh). Included from the top Makefile
# after bench/bench.mk, whose BENCH_* variables it uses.
#   BENCH_QUERY_RECORDS  records in the topic (default 1000000)

BENCH_QUERY_RECORDS ?= 1000000

.PHONY: bench-query

$(BENCH_OUT)/xs-topic-fill: $(BENCH_SRC)/gen/topic_fill.c user/output/record_key.c \
		user/output/community_id.c user/util/latency.c $(PKG_STAMP) | $(BENCH_OUT)
	$(BENCH_MSG) CC $@
	$(BENCH_Q)$(CC) $(BENCH_CFLAGS) -D_GNU_SOURCE $(filter %.c,$^) -o $@ $(BENCH_LIBKAFKA) \
		$(call once,BENCH_LIBCRYPTO,pkg-config --libs libcrypto)

bench-build: $(BENCH_OUT)/xs-topic-fill

bench-query: $(BUILD)/xdpsensor $(BENCH_OUT)/xs-topic-fill
	$(BENCH_SRC)/query.sh --records $(BENCH_QUERY_RECORDS) --out $(BENCH_OUT)
