// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kafka-alone: what the Kafka side costs without any capture. Produces N
 * records of a given value size, keyed with 40-byte flow keys varied over
 * K flows (the keys xs-gen's flows get from xs_parse_frame()), as fast as
 * librdkafka takes them, with the shared producer settings. On QUEUE_FULL
 * it serves delivery reports and retries (--drop-on-full: counts a drop,
 * as pcap-probe does). Prints records/s up to the last delivery report.
 *
 * --rate paces it as a receiver would be paced by its traffic: every 4 ms
 * it produces what is due and serves the delivery reports, then sleeps
 * (the sensor naps up to 4 ms). After the last report it waits
 * for SIGINT/SIGTERM, so that bench/cpu_split.sh --alone can read its
 * threads' CPU time: what librdkafka alone costs per record at that rate.
 */
#include "../lib/bench_util.h"
#include "../lib/alone_records.h"
#include "producer_conf.h"

#include <endian.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>

#define ALONE_MAX_FLOWS (1u << 20)
#define ALONE_MAX_VALUE (1u << 20)

struct alone_ctx {
	struct bench_delivery dr; /* delivery reports */
};

static const struct option long_opts[] = {
	{ "brokers", required_argument, NULL, 'b' },
	{ "topic", required_argument, NULL, 't' },
	{ "count", required_argument, NULL, 'n' },
	{ "size", required_argument, NULL, 's' },
	{ "flows", required_argument, NULL, 'k' },
	{ "headers", required_argument, NULL, 'H' },
	{ "meta", required_argument, NULL, 'M' },
	{ "drop-on-full", no_argument, NULL, 'D' },
	{ "flush-ms", required_argument, NULL, 'F' },
	{ "cpu", required_argument, NULL, 'c' },
	{ "rate", required_argument, NULL, 'r' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kafka-alone -b BROKERS [-t TOPIC] [options]\n"
		"Produces N keyed records as fast as possible; prints one JSON line.\n"
		"  -n, --count N       records (default 1M)\n"
		"  -s, --size BYTES    value size (default 60: a 64 B frame without FCS)\n"
		"  -k, --flows K       distinct 40-byte keys (default 1024)\n"
		"  -H, --headers IFACE add the sensor's five record headers, xs.iface = IFACE\n"
		"  -M, --meta IFACE    add the sensor's one compact header (xs.meta) instead\n"
		"  -D, --drop-on-full  count QUEUE_FULL as a drop instead of retrying\n"
		"  -F, --flush-ms MS   flush timeout at the end (default 30000)\n"
		"  -c, --cpu CPU       pin to CPU (librdkafka's threads too)\n"
		"  -r, --rate PPS      paced: what is due every 4 ms, reports served, then\n"
		"                      a sleep; after the last report, wait for SIGINT\n"
		"  -v, --verbose, --version, -h --help\n");
}

/* Serves the delivery reports, sleeps to the next tick; returns how many
 * records are due by then. */
static uint64_t pace(rd_kafka_t *rk, uint64_t start, uint64_t rate, uint64_t count)
{
	rd_kafka_poll(rk, 0);
	return bench_pace(start, rate, count);
}

int main(int argc, char **argv)
{
	const char *brokers = NULL, *topic = "xsbench", *hdr_iface = NULL, *meta_iface = NULL;
	uint8_t meta[BENCH_META_MAX];
	size_t meta_len = 0;
	uint64_t count = 1000000, size = 60, flows = 1024, rate = 0, v;
	uint64_t produced = 0, queue_full = 0, errors = 0;
	unsigned int flush_ms = 30000;
	struct alone_ctx ctx = { 0 };
	struct flow_key *keys = NULL;
	rd_kafka_topic_t *rkt = NULL;
	uint64_t start, enq_end, end, user_ns, sys_ns;
	int drop_on_full = 0, cpu = -1, verbose = 0, c, ret = 1;
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk = NULL;
	char errstr[512];
	uint8_t *value = NULL;

	while ((c = getopt_long(argc, argv, "b:t:n:s:k:H:M:DF:c:r:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'b': brokers = optarg; break;
		case 't': topic = optarg; break;
		case 'n': if (bench_parse_u64(optarg, &count)) goto bad; break;
		case 's':
			if (bench_parse_u64(optarg, &size) || size > ALONE_MAX_VALUE)
				goto bad;
			break;
		case 'k':
			if (bench_parse_u64(optarg, &flows) || !flows ||
			    flows > ALONE_MAX_FLOWS)
				goto bad;
			break;
		case 'H': hdr_iface = optarg; break;
		case 'M': meta_iface = optarg; break;
		case 'D': drop_on_full = 1; break;
		case 'F':
			if (bench_parse_u64(optarg, &v) || v > 3600000)
				goto bad;
			flush_ms = (unsigned int)v;
			break;
		case 'c': cpu = atoi(optarg); break;
		case 'r': if (bench_parse_u64(optarg, &rate) || !rate) goto bad; break;
		case 'v': verbose = 1; break;
		case 'V': printf("kafka-alone %s\n", XS_BENCH_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		continue;
bad:
		fprintf(stderr, "bad value '%s' for -%c (see --help)\n", optarg, c);
		return 2;
	}
	if (!brokers) {
		usage(stderr);
		return 2;
	}
	if (bench_pin_cpu(cpu))
		return 1;
	bench_install_stop(0);

	keys = calloc(flows, sizeof(*keys));
	value = calloc(1, size ? size : 1);
	if (!keys || !value) {
		fprintf(stderr, "out of memory for %llu keys\n", (unsigned long long)flows);
		goto cleanup;
	}
	for (uint32_t i = 0; i < flows; i++)
		bench_flow_key(i, &keys[i]);
	for (uint64_t i = 0; i < size; i++)
		value[i] = (uint8_t)i;

	conf = rd_kafka_conf_new();
	if (bench_producer_conf_apply(conf, brokers, "xsbench-kafka-alone")) {
		rd_kafka_conf_destroy(conf);
		goto cleanup;
	}
	bench_producer_callbacks(conf, &ctx.dr);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "creating the Kafka producer: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		goto cleanup;
	}
	rkt = rd_kafka_topic_new(rk, topic, NULL);
	if (!rkt) {
		fprintf(stderr, "topic %s: %s\n", topic,
			rd_kafka_err2str(rd_kafka_last_error()));
		goto cleanup;
	}
	if (bench_producer_warmup(rk, rkt, 30000))
		goto cleanup;
	ctx.dr.delivered = 0;
	ctx.dr.failed = 0;
	bench_ready();

	start = bench_now_ns();
	for (uint64_t i = 0, due = rate ? 0 : count; i < count && !bench_stop;) {
		if (i >= due) { /* paced: the reports, a sleep, what is due then */
			due = pace(rk, start, rate, count);
			continue;
		}
		uint64_t now = clock_ns(CLOCK_REALTIME), ts_be = htobe64(now);
		uint32_t queue_be = 0, len_be = htonl((uint32_t)size);
		uint8_t dir = (uint8_t)(i & 1);
		rd_kafka_resp_err_t r;

		if (meta_iface) /* as the sensor builds it per record */
			meta_len = bench_meta_encode(meta, meta_iface, dir, (uint32_t)size, now);
		r = meta_iface ?
			rd_kafka_producev(
				rk, RD_KAFKA_V_RKT(rkt),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_KEY(&keys[i % flows], sizeof(keys[0])),
				RD_KAFKA_V_VALUE(value, size), BENCH_SENSOR_META(meta, (ssize_t)meta_len),
				RD_KAFKA_V_OPAQUE((void *)(uintptr_t)now), RD_KAFKA_V_END) :
			hdr_iface ?
			rd_kafka_producev(
				rk, RD_KAFKA_V_RKT(rkt),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_KEY(&keys[i % flows], sizeof(keys[0])),
				RD_KAFKA_V_VALUE(value, size),
				BENCH_SENSOR_HEADERS(&ts_be, hdr_iface, &queue_be, &dir, &len_be),
				RD_KAFKA_V_OPAQUE((void *)(uintptr_t)now), RD_KAFKA_V_END) :
			rd_kafka_producev(
				rk, RD_KAFKA_V_RKT(rkt),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_KEY(&keys[i % flows], sizeof(keys[0])),
				RD_KAFKA_V_VALUE(value, size),
				RD_KAFKA_V_OPAQUE((void *)(uintptr_t)now), RD_KAFKA_V_END);

		if (!r) {
			produced++;
			i++;
		} else if (r == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			queue_full++;
			if (drop_on_full)
				i++;
			else
				rd_kafka_poll(rk, 1);
			continue;
		} else {
			errors++;
			i++;
		}
		if (!(i & 1023))
			rd_kafka_poll(rk, 0);
	}
	enq_end = bench_now_ns();
	rd_kafka_flush(rk, (int)flush_ms);
	end = bench_now_ns();
	bench_cpu_ns(&user_ns, &sys_ns);
	if (verbose)
		fprintf(stderr, "enqueued in %.3f s, flushed in %.3f s\n",
			(double)(enq_end - start) / 1e9, (double)(end - enq_end) / 1e9);

	printf("{\"tool\":\"kafka-alone\",\"topic\":\"%s\",\"records\":%llu,"
	       "\"size\":%llu,\"flows\":%llu,\"headers\":%d,\"produced\":%llu,\"queue_full\":%llu,"
	       "\"produce_errors\":%llu,\"delivered\":%llu,\"failed\":%llu,"
	       "\"unflushed\":%d,\"elapsed_ns\":%llu,\"enqueue_ns\":%llu,"
	       "\"rps\":%.0f,\"mbps\":%.1f,\"cpu_user_ns\":%llu,\"cpu_sys_ns\":%llu,",
	       topic, (unsigned long long)count, (unsigned long long)size,
	       (unsigned long long)flows, hdr_iface ? 5 : meta_iface ? 1 : 0, (unsigned long long)produced,
	       (unsigned long long)queue_full, (unsigned long long)errors,
	       (unsigned long long)ctx.dr.delivered, (unsigned long long)ctx.dr.failed,
	       rd_kafka_outq_len(rk), (unsigned long long)(end - start),
	       (unsigned long long)(enq_end - start),
	       end > start ? (double)ctx.dr.delivered * 1e9 / (double)(end - start) : 0.0,
	       end > start ? (double)ctx.dr.delivered * (double)(size + sizeof(keys[0])) *
				     8e3 / (double)(end - start) : 0.0,
	       (unsigned long long)user_ns, (unsigned long long)sys_ns);
	bench_print_latency(&ctx.dr);
	printf("}\n");
	fflush(stdout);
	while (rate && !bench_stop) /* the caller reads our threads' CPU, then stops us */
		usleep(100000);
	ret = ctx.dr.delivered == count && !ctx.dr.failed ? 0 : 1;

cleanup:
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	if (rk)
		rd_kafka_destroy(rk);
	free(keys);
	free(value);
	return ret;
}
