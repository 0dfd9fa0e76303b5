// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xs-topic-fill: fills a topic with N records exactly as the sensor writes
 * them, for `make bench-query`: the value an Ethernet frame (xs-gen's
 * UDP/IPv4 flow i, 198.18.0.0 + (i mod 65536) port 1024 + (i mod 50000) ->
 * 198.19.0.1:9), the key the sensor's record_key() builds from the frame
 * parsed by xs_parse_frame(), the sensor's five headers, the capture time
 * as the record timestamp, and the sensor's producer settings (murmur2_random).
 * Prints one JSON line.
 */
#include "../lib/bench_util.h"
#include "../peers/producer_conf.h"
#include "record_key.h"

#include <endian.h>
#include <getopt.h>

#define FILL_MAX_SIZE 1514

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xs-topic-fill -b BROKERS -t TOPIC [-n N] [-s BYTES] [-k FLOWS]\n"
		"                     [--key 5tuple|community-id|metron]\n"
		"  -n N       records (default 1M)\n"
		"  -s BYTES   frame length (default 60, 42..%d)\n"
		"  -k FLOWS   distinct flows, records round-robin over them (default 1024)\n",
		FILL_MAX_SIZE);
}

/* xs-gen's frame of flow i, `size` bytes */
static void build_frame(uint8_t *f, uint32_t size, uint32_t i)
{
	uint16_t sport = (uint16_t)(1024 + i % 50000);

	memset(f, 0, size);
	memcpy(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	f[14] = 0x45;
	f[16] = (uint8_t)((size - 14) >> 8);
	f[17] = (uint8_t)(size - 14);
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, "\xc6\x12", 2); /* 198.18 */
	f[28] = (uint8_t)((i % 65536) >> 8);
	f[29] = (uint8_t)(i % 65536);
	memcpy(f + 30, "\xc6\x13\x00\x01", 4); /* 198.19.0.1 */
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[37] = 9;
	f[38] = (uint8_t)((size - 34) >> 8);
	f[39] = (uint8_t)(size - 34);
}

int main(int argc, char **argv)
{
	const char *brokers = NULL, *topic = NULL;
	uint64_t count = 1000000, size = 60, flows = 1024, produced = 0, start, end;
	enum key_scheme scheme = KEY_5TUPLE;
	struct bench_delivery dr = { 0 };
	rd_kafka_topic_t *rkt = NULL;
	rd_kafka_t *rk = NULL;
	rd_kafka_conf_t *conf;
	uint8_t frame[FILL_MAX_SIZE];
	char errstr[512];
	int opt, ret = 1;
	static const struct option long_opts[] = {
		{ "key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((opt = getopt_long(argc, argv, "b:t:n:s:k:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'b': brokers = optarg; break;
		case 't': topic = optarg; break;
		case 'n': if (bench_parse_u64(optarg, &count)) return 2; break;
		case 's':
			if (bench_parse_u64(optarg, &size) || size < 42 || size > FILL_MAX_SIZE)
				return usage(stderr), 2;
			break;
		case 'k':
			if (bench_parse_u64(optarg, &flows) || !flows || flows > 1u << 20)
				return usage(stderr), 2;
			break;
		case 'K':
			if (parse_key_scheme(optarg, &scheme))
				return usage(stderr), 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!brokers || !topic) {
		usage(stderr);
		return 2;
	}
	bench_install_stop(0);
	conf = rd_kafka_conf_new();
	if (bench_producer_conf_apply(conf, brokers, "xsbench-topic-fill")) {
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	bench_producer_callbacks(conf, &dr);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "creating the Kafka producer: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	rkt = rd_kafka_topic_new(rk, topic, NULL);
	if (!rkt)
		goto cleanup;

	start = bench_now_ns();
	for (uint64_t i = 0; i < count && !bench_stop;) {
		struct capture_rec rec = { .data = frame, .len = (uint32_t)size,
					   .orig_len = (uint32_t)size };
		uint8_t key[RECORD_KEY_MAX], dir, ts_be[8], queue_be[4] = { 0 }, len_be[4];
		size_t key_len;
		rd_kafka_resp_err_t r;

		build_frame(frame, (uint32_t)size, (uint32_t)(i % flows));
		xs_parse_frame(frame, frame + size, &rec.pkt, XS_MAX_DECAP);
		rec.ts_ns = clock_ns(CLOCK_REALTIME);
		key_len = record_key(scheme, TS_NS, &rec, key);
		dir = rec.pkt.dir;
		put_be64(ts_be, rec.ts_ns);
		put_be32(len_be, (uint32_t)size);
		r = rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				      RD_KAFKA_V_VALUE(frame, size), RD_KAFKA_V_KEY(key, key_len),
				      RD_KAFKA_V_TIMESTAMP((int64_t)(rec.ts_ns / 1000000)),
				      BENCH_SENSOR_HEADERS(ts_be, "bench0", queue_be, &dir, len_be),
				      RD_KAFKA_V_END);
		if (r == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			rd_kafka_poll(rk, 10);
			continue;
		}
		if (r) {
			fprintf(stderr, "produce: %s\n", rd_kafka_err2str(r));
			goto cleanup;
		}
		produced++;
		i++;
		if (!(i & 1023))
			rd_kafka_poll(rk, 0);
	}
	rd_kafka_flush(rk, 60000);
	end = bench_now_ns();
	printf("{\"tool\":\"xs-topic-fill\",\"topic\":\"%s\",\"records\":%llu,\"size\":%llu,"
	       "\"flows\":%llu,\"delivered\":%llu,\"failed\":%llu,\"rps\":%.0f}\n",
	       topic, (unsigned long long)produced, (unsigned long long)size,
	       (unsigned long long)flows, (unsigned long long)dr.delivered,
	       (unsigned long long)dr.failed,
	       end > start ? (double)dr.delivered * 1e9 / (double)(end - start) : 0.0);
	ret = dr.delivered == count && !dr.failed ? 0 : 1;
cleanup:
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	return ret;
}
