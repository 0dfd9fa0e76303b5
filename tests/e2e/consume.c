// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xs-consume: reads a Kafka topic from the beginning, every partition, and
 * prints one JSON line per record:
 *   {"partition":P,"offset":O,"timestamp":MS,"tstype":"create|append|none",
 *    "key":"HEX"|null,"value":"HEX"|null,"headers":{"NAME":"HEX"|null,...},
 *    "header_count":N}
 * Headers keep their order; header_count tells a repeated name (which a JSON
 * object cannot hold twice) from a single one.
 *
 * usage: xs-consume -b BROKERS -t TOPIC [-n N] [-e] [-I IDLE_MS] [-T TIMEOUT_MS]
 *   -n N   stop after N records
 *   -e     stop when every partition is read to its end
 *   -I MS  stop after MS without a record (default 10000)
 *   -T MS  give up after MS in total (default 120000)
 * Exit 0 when it stopped on -n, -e or idle; 1 on an error (unknown topic,
 * broker unreachable, bad option). The record count goes to stderr.
 *
 * Build: cc -O2 -Wall -Wextra -Werror tests/e2e/consume.c -o build/e2e/xs-consume \
 *            $(pkg-config --cflags --libs rdkafka)
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>

struct opts {
	const char *brokers, *topic;
	long max_records;  /* 0: no limit */
	bool until_end;
	int idle_ms, total_ms;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_hex(const void *p, size_t len)
{
	const unsigned char *b = p;

	if (!p) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (size_t i = 0; i < len; i++)
		printf("%02x", b[i]);
	putchar('"');
}

/* Header names are ours ("xs.*"), but escape anyway: JSON must parse. */
static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_record(const rd_kafka_message_t *m)
{
	rd_kafka_timestamp_type_t tstype;
	int64_t ts = rd_kafka_message_timestamp(m, &tstype);
	rd_kafka_headers_t *hdrs = NULL;
	const char *name;
	const void *val;
	size_t size;

	printf("{\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"timestamp\":%" PRId64
	       ",\"tstype\":\"%s\",\"key\":",
	       m->partition, m->offset, ts,
	       tstype == RD_KAFKA_TIMESTAMP_CREATE_TIME ? "create" :
	       tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? "append" : "none");
	print_hex(m->key, m->key_len);
	fputs(",\"value\":", stdout);
	print_hex(m->payload, m->len);
	fputs(",\"headers\":{", stdout);
	if (!rd_kafka_message_headers(m, &hdrs)) {
		for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &size); i++) {
			if (i)
				putchar(',');
			print_json_string(name);
			putchar(':');
			print_hex(val, size);
		}
	}
	fputs("},\"header_count\":", stdout);
	printf("%zu}\n", hdrs ? rd_kafka_header_cnt(hdrs) : (size_t)0);
}

static int usage(void)
{
	fprintf(stderr, "usage: xs-consume -b BROKERS -t TOPIC [-n N] [-e] [-I IDLE_MS]"
			" [-T TIMEOUT_MS]\n");
	return 1;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .idle_ms = 10000, .total_ms = 120000 };
	while ((c = getopt(argc, argv, "b:t:n:eI:T:h")) != -1) {
		switch (c) {
		case 'b': o->brokers = optarg; break;
		case 't': o->topic = optarg; break;
		case 'n': o->max_records = atol(optarg); break;
		case 'e': o->until_end = true; break;
		case 'I': o->idle_ms = atoi(optarg); break;
		case 'T': o->total_ms = atoi(optarg); break;
		default: return -1;
		}
	}
	if (!o->brokers || !o->topic || optind != argc || o->idle_ms <= 0 || o->total_ms <= 0)
		return -1;
	return 0;
}

static rd_kafka_t *make_consumer(const struct opts *o)
{
	char errstr[512], group[64];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	const char *props[][2] = {
		{ "bootstrap.servers", o->brokers },
		{ "group.id", group }, /* required by librdkafka; no offsets are committed */
		{ "enable.auto.commit", "false" },
		{ "enable.auto.offset.store", "false" },
		{ "enable.partition.eof", "true" },
		{ "auto.offset.reset", "earliest" },
		{ "allow.auto.create.topics", "false" },
	};

	snprintf(group, sizeof(group), "xs-consume-%d", (int)getpid());
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		if (rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr, sizeof(errstr))) {
			fprintf(stderr, "xs-consume: %s\n", errstr);
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "xs-consume: cannot create the consumer: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

/* Number of partitions of the topic, or -1. */
static int partition_count(rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t err;
	int n = -1;

	if (!rkt)
		return -1;
	err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
	if (err) {
		fprintf(stderr, "xs-consume: metadata of %s: %s\n", topic, rd_kafka_err2str(err));
	} else if (md->topic_cnt != 1 || md->topics[0].err) {
		fprintf(stderr, "xs-consume: topic %s: %s\n", topic,
			md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
	} else {
		n = md->topics[0].partition_cnt;
	}
	if (!err)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return n;
}

static int assign_all(rd_kafka_t *rk, const char *topic, int nparts)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
	rd_kafka_resp_err_t err;

	for (int p = 0; p < nparts; p++)
		rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
	err = rd_kafka_assign(rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err)
		fprintf(stderr, "xs-consume: assign: %s\n", rd_kafka_err2str(err));
	return err ? -1 : 0;
}

/* Returns 0 when it stopped as asked, 1 on an error. */
static int consume(rd_kafka_t *rk, const struct opts *o, int nparts, long *count)
{
	bool *at_end = calloc((size_t)nparts, sizeof(*at_end));
	long long start = now_ms(), last = start;
	int ended = 0, ret = 0;

	if (!at_end)
		return 1;
	while (!stop) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		long long t = now_ms();

		if (!m) {
			if (t - last >= o->idle_ms)
				break;
			if (t - start >= o->total_ms) {
				fprintf(stderr, "xs-consume: gave up after %d ms\n", o->total_ms);
				ret = 1;
				break;
			}
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (m->partition >= 0 && m->partition < nparts && !at_end[m->partition]) {
				at_end[m->partition] = true;
				ended++;
			}
			rd_kafka_message_destroy(m);
			if (o->until_end && ended == nparts)
				break;
			continue;
		}
		if (m->err) {
			fprintf(stderr, "xs-consume: %s\n", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			ret = 1;
			break;
		}
		if (m->partition >= 0 && m->partition < nparts && at_end[m->partition]) {
			at_end[m->partition] = false; /* more arrived after its end */
			ended--;
		}
		print_record(m);
		rd_kafka_message_destroy(m);
		last = t;
		if (++*count == o->max_records)
			break;
	}
	free(at_end);
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o;
	rd_kafka_t *rk;
	long count = 0;
	int nparts, ret = 1;

	if (parse_args(argc, argv, &o))
		return usage();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rk = make_consumer(&o);
	if (!rk)
		return 1;
	nparts = partition_count(rk, o.topic);
	if (nparts > 0 && !assign_all(rk, o.topic, nparts))
		ret = consume(rk, &o, nparts, &count);
	fflush(stdout);
	fprintf(stderr, "xs-consume: %ld records from %d partitions of %s\n", count,
		nparts > 0 ? nparts : 0, o.topic);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return ret;
}
