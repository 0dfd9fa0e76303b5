// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kafka-batch: what the records kafka-alone produces would cost through a
 * Kafka record-batch writer of our own instead of librdkafka's per-message
 * API (issue #11, target 3: the question for steering). The same keys,
 * values and compact header, the same murmur2 partition, paced the same
 * way (--rate: every 4 ms what is due); but each record is encoded straight
 * into its partition's record batch (magic 2, CRC-32C), and every tick
 * sends one Produce request (v3, acks=all) with every partition's batch,
 * at most 5 in flight, as librdkafka's idempotent producer does. No
 * allocation, no report, no header list per record.
 *
 * A measuring peer, not a producer: one broker that leads every partition
 * (the bench's), no retries, no reconnect, no TLS or SASL. A record the
 * broker refuses counts as failed, and the broker checks each batch's CRC,
 * so "delivered" is what a consumer reads.
 */
#include "../lib/bench_util.h"
#include "../lib/alone_records.h"

#include <endian.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <librdkafka/rdkafka.h> /* only its murmur2 partitioner */
#include "clock.h"
#include "kafka_wire.h"
#include "latency.h"

#define MAX_PARTITIONS 64
#define BATCH_MAX (1u << 20)	/* the broker's default max.message.bytes */
#define MAX_IN_FLIGHT 5
#define UNPACED_BURST 10000	/* records per request without --rate */

enum { API_PRODUCE = 0, API_METADATA = 3 };

/* One partition's batch being filled: BATCH_HEADER bytes left free, then
 * the records. */
struct record_batch {
	uint8_t *buf;
	size_t len;
	uint32_t records;
	int64_t first_ts, max_ts;
};

/* Appends one record (with one header, xs.meta, when meta is not NULL);
 * 0, or -1 when the batch is full. */
static int record_batch_add(struct record_batch *b, const void *key, size_t key_len,
			    const void *value, size_t value_len, const void *meta, size_t meta_len,
			    int64_t ts_ms)
{
	const struct wire_header h = { .name = "xs.meta", .value = meta, .len = (int32_t)meta_len };
	const struct wire_record r = { .key = key, .key_len = (int32_t)key_len, .value = value,
				       .value_len = (int32_t)value_len, .headers = &h,
				       .nheaders = meta ? 1 : 0 };
	int64_t ts_delta = b->records ? ts_ms - b->first_ts : 0;

	if (b->len + wire_record_size(&r, ts_delta, b->records) > BATCH_MAX)
		return -1;
	if (!b->records)
		b->first_ts = b->max_ts = ts_ms;
	b->len = (size_t)(wire_record_put(b->buf + b->len, &r, ts_delta, b->records) - b->buf);
	b->records++;
	if (ts_ms > b->max_ts)
		b->max_ts = ts_ms;
	return 0;
}

/* Seals the batch as a plain producer's (no producer id); its size. */
static size_t record_batch_seal(struct record_batch *b)
{
	static const struct wire_producer none = { .id = -1, .epoch = -1, .base_seq = -1 };

	wire_batch_seal(b->buf, b->len, b->records, b->first_ts, b->max_ts, &none);
	return b->len;
}

/* When each record was produced (wall-clock ns): its latency is from
 * there to its request's response, as kafka-alone's is to its report. */
struct times {
	uint64_t *ns;
	size_t n, cap;
};

struct request {
	int32_t corr;
	uint32_t records[MAX_PARTITIONS]; /* per partition, in this request */
	struct times produced_at;
};

struct writer {
	int fd;
	const char *topic;
	int32_t partitions, corr;
	struct record_batch batch[MAX_PARTITIONS];
	struct request in_flight[MAX_IN_FLIGHT];
	unsigned int head, queued; /* the FIFO of requests sent */
	uint8_t rx[1 << 16];
	size_t rx_len;
	struct times produced_at; /* of the records in the batches */
	struct latency_hist lat;
	uint64_t delivered, failed;
};

static const struct option long_opts[] = {
	{ "brokers", required_argument, NULL, 'b' },
	{ "topic", required_argument, NULL, 't' },
	{ "count", required_argument, NULL, 'n' },
	{ "size", required_argument, NULL, 's' },
	{ "flows", required_argument, NULL, 'k' },
	{ "meta", required_argument, NULL, 'M' },
	{ "rate", required_argument, NULL, 'r' },
	{ "flush-ms", required_argument, NULL, 'F' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kafka-batch -b HOST:PORT [-t TOPIC] [options]\n"
		"Produces N keyed records through record batches of its own (one broker\n"
		"leading every partition); prints one JSON line.\n"
		"  -n, --count N       records (default 1M)\n"
		"  -s, --size BYTES    value size (default 60: a 64 B frame without FCS)\n"
		"  -k, --flows K       distinct 40-byte keys (default 1024)\n"
		"  -M, --meta IFACE    add the sensor's compact header (xs.meta)\n"
		"  -r, --rate PPS      paced: what is due every 4 ms, one request, a sleep;\n"
		"                      after the last response, wait for SIGINT\n"
		"  -F, --flush-ms MS   wait for responses at the end (default 30000)\n"
		"  --version, -h --help\n");
}

/* ---- the connection */

static int send_all(int fd, struct iovec *iov, int n)
{
	while (n) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (n && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* The request header (v1) after the size, which is filled last. */
static uint8_t *request_start(struct writer *w, uint8_t *p, int16_t api, int16_t version)
{
	p = wire_put32(p, 0);
	p = wire_put16(p, api);
	p = wire_put16(p, version);
	p = wire_put32(p, ++w->corr);
	return wire_put_str(p, "xsbench-kafka-batch");
}

/* Reads one whole response into w->rx (blocking up to timeout_ms, or 0 to
 * only look); returns its length after the size field, 0 when none yet. */
static ssize_t read_response(struct writer *w, int timeout_ms)
{
	for (;;) {
		uint32_t size = 0;

		if (w->rx_len >= 4) {
			memcpy(&size, w->rx, 4);
			size = be32toh(size);
			if (size > sizeof(w->rx) - 4)
				return -EMSGSIZE;
			if (w->rx_len >= 4 + size)
				return size;
		}
		struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
		int r = poll(&pfd, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : 0;
		ssize_t got = recv(w->fd, w->rx + w->rx_len, sizeof(w->rx) - w->rx_len, 0);

		if (got <= 0)
			return got < 0 ? -errno : -ECONNRESET;
		w->rx_len += (size_t)got;
	}
}

static void consume_response(struct writer *w, size_t size)
{
	memmove(w->rx, w->rx + 4 + size, w->rx_len - 4 - size);
	w->rx_len -= 4 + size;
}

/* Metadata v0 for the topic: its partition count, and that one broker
 * leads them all. Returns 0, or -1 after one line saying why not. */
static int learn_partitions(struct writer *w)
{
	uint8_t req[512], *p = request_start(w, req, API_METADATA, 0);
	struct iovec iov;
	ssize_t size;

	p = wire_put32(p, 1);
	p = wire_put_str(p, w->topic);
	wire_put32(req, (int32_t)(p - req - 4));
	iov = (struct iovec){ req, (size_t)(p - req) };
	if (send_all(w->fd, &iov, 1) || (size = read_response(w, 10000)) <= 0) {
		fprintf(stderr, "kafka-batch: no metadata from the broker\n");
		return -1;
	}
	struct wire_reader r = { w->rx + 4, w->rx + 4 + size, 0 };
	int64_t brokers, topics, err, n, leader = -1;

	wire_get(&r, 4); /* correlation id */
	brokers = wire_get(&r, 4);
	for (int64_t i = 0; i < brokers && !r.bad; i++) {
		wire_get(&r, 4);
		wire_skip_str(&r);
		wire_get(&r, 4);
	}
	topics = wire_get(&r, 4);
	err = wire_get(&r, 2);
	wire_skip_str(&r);
	n = wire_get(&r, 4);
	for (int64_t i = 0; i < n && !r.bad; i++) {
		int64_t perr = wire_get(&r, 2), id = wire_get(&r, 4), lead = wire_get(&r, 4);

		if (perr || id < 0 || id >= n || (leader >= 0 && lead != leader))
			r.bad = 1;
		leader = lead;
		for (int k = 0; k < 2; k++) /* replicas, in-sync replicas */
			for (int64_t j = wire_get(&r, 4); j > 0 && !r.bad; j--)
				wire_get(&r, 4);
	}
	consume_response(w, (size_t)size);
	if (r.bad || brokers != 1 || topics != 1 || err || n < 1 || n > MAX_PARTITIONS) {
		fprintf(stderr, "kafka-batch: topic %s: needs 1..%d partitions, all led by a "
			"single broker (error %lld, %lld brokers, %lld partitions)\n",
			w->topic, MAX_PARTITIONS, (long long)err, (long long)brokers, (long long)n);
		return -1;
	}
	w->partitions = (int32_t)n;
	return 0;
}

/* Takes the oldest request's response: its records delivered, or failed
 * by the partition's error code. Returns 1, 0 when none came within
 * timeout_ms, or -1 (connection lost, or a response it cannot read). */
static int take_response(struct writer *w, int timeout_ms)
{
	struct request *q = &w->in_flight[w->head];
	ssize_t size = read_response(w, timeout_ms);

	if (size <= 0) {
		if (size)
			fprintf(stderr, "kafka-batch: reading from the broker: %s\n", strerror((int)-size));
		return size ? -1 : 0;
	}
	struct wire_reader r = { w->rx + 4, w->rx + 4 + size, 0 };

	if (wire_get(&r, 4) != q->corr)
		r.bad = 1;
	wire_get(&r, 4); /* one topic */
	wire_skip_str(&r);
	for (int64_t n = wire_get(&r, 4); n > 0 && !r.bad; n--) {
		int64_t part = wire_get(&r, 4), err = wire_get(&r, 2);

		wire_get(&r, 8); /* base offset */
		wire_get(&r, 8); /* log append time */
		if (part < 0 || part >= w->partitions)
			r.bad = 1;
		else if (err)
			w->failed += q->records[part];
		else
			w->delivered += q->records[part];
	}
	consume_response(w, (size_t)size);
	if (r.bad) {
		fprintf(stderr, "kafka-batch: a response it cannot read\n");
		return -1;
	}
	uint64_t now = clock_ns(CLOCK_REALTIME);

	for (size_t i = 0; i < q->produced_at.n; i++)
		latency_add(&w->lat, now - q->produced_at.ns[i]);
	w->head = (w->head + 1) % MAX_IN_FLIGHT;
	w->queued--;
	return 1;
}

/* Sends every partition's batch in one Produce request (waiting for a
 * response first when 5 are in flight). Returns 0 or -1. */
static int send_batches(struct writer *w)
{
	uint8_t head[320], parts[MAX_PARTITIONS][8], *p; /* head: a topic of up to 200 bytes */
	struct iovec iov[1 + 2 * MAX_PARTITIONS];
	struct request *q;
	int n = 1, used = 0, err;
	size_t total;

	for (int32_t i = 0; i < w->partitions; i++)
		used += w->batch[i].records > 0;
	if (!used)
		return 0;
	while (w->queued == MAX_IN_FLIGHT)
		if (take_response(w, 1000) < 0 || bench_stop)
			return -1;
	q = &w->in_flight[(w->head + w->queued) % MAX_IN_FLIGHT];
	p = request_start(w, head, API_PRODUCE, 3);
	q->corr = w->corr;
	p = wire_put16(p, -1); /* transactional id: none */
	p = wire_put16(p, -1); /* acks: all */
	p = wire_put32(p, 30000);
	p = wire_put32(p, 1);
	p = wire_put_str(p, w->topic);
	p = wire_put32(p, used);
	total = (size_t)(p - head);
	for (int32_t i = 0; i < w->partitions; i++) {
		struct record_batch *b = &w->batch[i];

		q->records[i] = b->records;
		if (!b->records)
			continue;
		size_t len = record_batch_seal(b);

		wire_put32(wire_put32(parts[i], i), (int32_t)len);
		iov[n++] = (struct iovec){ parts[i], 8 };
		iov[n++] = (struct iovec){ b->buf, len };
		total += 8 + len;
	}
	wire_put32(head, (int32_t)(total - 4));
	iov[0] = (struct iovec){ head, (size_t)(p - head) };
	if ((err = send_all(w->fd, iov, n))) {
		fprintf(stderr, "kafka-batch: sending to the broker: %s\n", strerror(-err));
		return -1;
	}
	w->queued++;
	struct times spare = q->produced_at; /* the slot's old array, reused */

	q->produced_at = w->produced_at;
	w->produced_at = spare;
	w->produced_at.n = 0;
	for (int32_t i = 0; i < w->partitions; i++) {
		w->batch[i].len = BATCH_HEADER;
		w->batch[i].records = 0;
	}
	return 0;
}

static int connect_broker(const char *brokers)
{
	char host[256];
	const char *colon = strrchr(brokers, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd = -1, one = 1;

	if (!colon || (size_t)(colon - brokers) >= sizeof(host) || strchr(brokers, ',')) {
		fprintf(stderr, "kafka-batch: -b takes one HOST:PORT\n");
		return -1;
	}
	memcpy(host, brokers, (size_t)(colon - brokers));
	host[colon - brokers] = 0;
	if (getaddrinfo(host, colon + 1, &hints, &ai)) {
		fprintf(stderr, "kafka-batch: cannot resolve %s\n", brokers);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		fprintf(stderr, "kafka-batch: connecting to %s: %s\n", brokers, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	} else {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	freeaddrinfo(ai);
	return fd;
}

int main(int argc, char **argv)
{
	const char *brokers = NULL, *meta_iface = NULL;
	uint64_t count = 1000000, size = 60, flows = 1024, rate = 0, v, produced = 0;
	uint64_t start, end, user_ns, sys_ns, flush_deadline;
	unsigned int flush_ms = 30000;
	struct writer *w = calloc(1, sizeof(*w));
	struct flow_key *keys = NULL;
	uint8_t *value = NULL, meta[BENCH_META_MAX];
	int c, ret = 1;

	if (!w)
		return 1;
	w->fd = -1;
	w->topic = "xsbench";
	while ((c = getopt_long(argc, argv, "b:t:n:s:k:M:r:F:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'b': brokers = optarg; break;
		case 't': w->topic = optarg; break;
		case 'n': if (bench_parse_u64(optarg, &count)) goto bad; break;
		case 's': if (bench_parse_u64(optarg, &size) || size > 65536) goto bad; break;
		case 'k':
			if (bench_parse_u64(optarg, &flows) || !flows || flows > (1u << 20))
				goto bad;
			break;
		case 'M': meta_iface = optarg; break;
		case 'r': if (bench_parse_u64(optarg, &rate) || !rate) goto bad; break;
		case 'F':
			if (bench_parse_u64(optarg, &v) || v > 3600000)
				goto bad;
			flush_ms = (unsigned int)v;
			break;
		case 'V': printf("kafka-batch %s\n", XS_BENCH_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		continue;
bad:
		fprintf(stderr, "bad value '%s' for -%c (see --help)\n", optarg, c);
		return 2;
	}
	if (!brokers || strlen(w->topic) > 200) {
		usage(stderr);
		return 2;
	}
	if (!__builtin_cpu_supports("sse4.2")) {
		fprintf(stderr, "kafka-batch: needs a CPU with SSE4.2 (CRC-32C)\n");
		return 1;
	}
	bench_install_stop(0);
	keys = calloc(flows, sizeof(*keys));
	value = calloc(1, size ? size : 1);
	if (!keys || !value)
		goto out;
	for (uint32_t i = 0; i < flows; i++)
		bench_flow_key(i, &keys[i]);
	for (uint64_t i = 0; i < size; i++)
		value[i] = (uint8_t)i;
	w->fd = connect_broker(brokers);
	if (w->fd < 0 || learn_partitions(w))
		goto out;
	for (int32_t i = 0; i < w->partitions; i++) {
		w->batch[i].buf = malloc(BATCH_MAX);
		w->batch[i].len = BATCH_HEADER;
		if (!w->batch[i].buf)
			goto out;
	}
	bench_ready();

	start = bench_now_ns();
	for (uint64_t i = 0, due = 0; i < count && !bench_stop;) {
		if (i >= due) { /* this tick's records go out, responses come in */
			int took = 1;

			if (i && send_batches(w))
				goto out;
			while (w->queued && (took = take_response(w, 0)) > 0)
				;
			if (took < 0)
				goto out;
			due = rate ? bench_pace(start, rate, count) :
				     (count - i < UNPACED_BURST ? count : i + UNPACED_BURST);
			continue;
		}
		const struct flow_key *key = &keys[i % flows];
		uint64_t now = clock_ns(CLOCK_REALTIME);
		int32_t part = rd_kafka_msg_partitioner_murmur2(NULL, key, sizeof(*key),
								w->partitions, NULL, NULL);
		size_t meta_len = meta_iface ? bench_meta_encode(meta, meta_iface, (uint8_t)(i & 1),
								 (uint32_t)size, now) : 0;

		if (record_batch_add(&w->batch[part], key, sizeof(*key), value, size,
			      meta_iface ? meta : NULL, meta_len, (int64_t)(now / 1000000))) {
			if (send_batches(w)) /* full: out now, as librdkafka would */
				goto out;
			continue;
		}
		if (w->produced_at.n == w->produced_at.cap) {
			size_t cap = w->produced_at.cap ? 2 * w->produced_at.cap : 4096;
			uint64_t *ns = realloc(w->produced_at.ns, cap * sizeof(*ns));

			if (!ns)
				goto out;
			w->produced_at = (struct times){ ns, w->produced_at.n, cap };
		}
		w->produced_at.ns[w->produced_at.n++] = now;
		produced++;
		i++;
	}
	if (send_batches(w))
		goto out;
	flush_deadline = bench_now_ns() + flush_ms * 1000000ull;
	while (w->queued && bench_now_ns() < flush_deadline)
		if (take_response(w, 100) < 0)
			goto out;
	end = bench_now_ns();
	bench_cpu_ns(&user_ns, &sys_ns);
	printf("{\"tool\":\"kafka-batch\",\"topic\":\"%s\",\"records\":%llu,\"size\":%llu,"
	       "\"flows\":%llu,\"headers\":%d,\"partitions\":%d,\"produced\":%llu,"
	       "\"delivered\":%llu,\"failed\":%llu,\"unflushed\":%u,\"elapsed_ns\":%llu,"
	       "\"rps\":%.0f,\"cpu_user_ns\":%llu,\"cpu_sys_ns\":%llu,"
	       "\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f}}\n",
	       w->topic, (unsigned long long)count, (unsigned long long)size,
	       (unsigned long long)flows, meta_iface ? 1 : 0, w->partitions,
	       (unsigned long long)produced, (unsigned long long)w->delivered,
	       (unsigned long long)w->failed, w->queued, (unsigned long long)(end - start),
	       end > start ? (double)w->delivered * 1e9 / (double)(end - start) : 0.0,
	       (unsigned long long)user_ns, (unsigned long long)sys_ns,
	       latency_percentile(&w->lat, 0.50) / 1000, latency_percentile(&w->lat, 0.99) / 1000);
	fflush(stdout);
	while (rate && !bench_stop) /* the caller reads our CPU, then stops us */
		usleep(100000);
	ret = w->delivered == count && !w->failed ? 0 : 1;
out:
	if (w->fd >= 0)
		close(w->fd);
	for (int32_t i = 0; i < w->partitions; i++)
		free(w->batch[i].buf);
	for (int i = 0; i < MAX_IN_FLIGHT; i++)
		free(w->in_flight[i].produced_at.ns);
	free(w->produced_at.ns);
	free(w);
	free(keys);
	free(value);
	return ret;
}
