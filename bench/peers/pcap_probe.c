// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pcap-probe: the classic network probe, tuned fairly. libpcap with
 * immediate mode off, a large TPACKET_V3 ring (libpcap's default on
 * Linux), a pcap_dispatch() loop; each frame is keyed with the sensor's
 * normalized 5-tuple (struct flow_key, 40 bytes, from xs_parse_frame())
 * and produced to Kafka with the raw frame as value and the pcap
 * timestamp as record timestamp, with the sensor's producer settings
 * (producer_conf.h). QUEUE_FULL counts a drop, it never blocks.
 * --output null reads and keys but produces nothing.
 *
 * At SIGINT/SIGTERM/--duration: read the ring to the end (pcap_recv =
 * received + pcap_drop), flush with a timeout, print one JSON line.
 */
#include "../lib/bench_util.h"
#include "flow_parse.h"
#include "producer_conf.h"

#include <endian.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <librdkafka/rdkafka.h>

struct probe_opts {
	const char *iface;
	const char *brokers;
	const char *topic;
	int kafka; /* 0: --output null */
	int headers;
	int promisc;
	unsigned int buffer_mib;
	unsigned int timeout_ms;
	unsigned int flush_ms;
	unsigned int duration_s;
	int snaplen;
	int cpu;
	int verbose;
};

struct probe_ctx {
	const struct probe_opts *o;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	uint64_t received, keyed, unkeyed, produced, queue_full, produce_errors;
	struct bench_delivery dr; /* delivery reports */
};

/* The capture, for the signal handler: libpcap's poll() waits for a full
 * TPACKET_V3 block and only pcap_breakloop() (signal-safe) wakes it. */
static pcap_t *probe_pcap;

static void probe_breakloop(void)
{
	if (probe_pcap)
		pcap_breakloop(probe_pcap);
}

static const struct option long_opts[] = {
	{ "iface", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "brokers", required_argument, NULL, 'b' },
	{ "topic", required_argument, NULL, 't' },
	{ "headers", no_argument, NULL, 'H' },
	{ "no-promisc", no_argument, NULL, 'P' },
	{ "buffer", required_argument, NULL, 'B' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "snaplen", required_argument, NULL, 's' },
	{ "flush-ms", required_argument, NULL, 'F' },
	{ "duration", required_argument, NULL, 'd' },
	{ "cpu", required_argument, NULL, 'c' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pcap-probe -i IFACE [-o kafka -b BROKERS -t TOPIC | -o null]\n"
		"Captures with libpcap, keys every frame with the normalized 5-tuple\n"
		"and produces it to Kafka; prints one JSON line at SIGINT/SIGTERM/-d.\n"
		"  -o, --output kafka|null  produce, or only read and key (default kafka)\n"
		"  -b, --brokers LIST       bootstrap servers\n"
		"  -t, --topic TOPIC        topic (default xsbench)\n"
		"  -H, --headers            add the sensor's five record headers (xs.ts_ns,\n"
		"                           xs.iface, xs.queue, xs.dir, xs.orig_len)\n"
		"  -B, --buffer MIB         capture buffer (default 64)\n"
		"  -T, --timeout MS         TPACKET_V3 block timeout (default 100)\n"
		"  -s, --snaplen N          (default 65535)\n"
		"  -P, --no-promisc         do not put IFACE in promiscuous mode\n"
		"  -F, --flush-ms MS        flush timeout at exit (default 10000)\n"
		"  -d, --duration S         stop after S seconds\n"
		"  -c, --cpu CPU            pin to CPU (librdkafka's threads too)\n"
		"  -v, --verbose, --version, -h --help\n");
}

static int parse_args(int argc, char **argv, struct probe_opts *o)
{
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "i:o:b:t:HPB:T:s:F:d:c:vh", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'i': o->iface = optarg; break;
		case 'o':
			if (!strcmp(optarg, "null"))
				o->kafka = 0;
			else if (!strcmp(optarg, "kafka"))
				o->kafka = 1;
			else
				goto bad;
			break;
		case 'b': o->brokers = optarg; break;
		case 't': o->topic = optarg; break;
		case 'H': o->headers = 1; break;
		case 'P': o->promisc = 0; break;
		case 'B':
		case 'T':
		case 'F':
		case 'd':
			if (bench_parse_u64(optarg, &v) || v > 1000000)
				goto bad;
			*(c == 'B' ? &o->buffer_mib : c == 'T' ? &o->timeout_ms :
			  c == 'F' ? &o->flush_ms : &o->duration_s) = (unsigned int)v;
			break;
		case 's':
			if (bench_parse_u64(optarg, &v) || v < 64 || v > 262144)
				goto bad;
			o->snaplen = (int)v;
			break;
		case 'c': o->cpu = atoi(optarg); break;
		case 'v': o->verbose = 1; break;
		case 'V': printf("pcap-probe %s\n", XS_BENCH_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		continue;
bad:
		fprintf(stderr, "bad value '%s' for -%c (see --help)\n", optarg, c);
		return -EINVAL;
	}
	if (!o->iface || (o->kafka && !o->brokers)) {
		fprintf(stderr, "-i IFACE is required, and -b BROKERS unless -o null\n");
		return -EINVAL;
	}
	return 0;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct probe_ctx *ctx = (struct probe_ctx *)user;
	struct xs_packet pkt;
	rd_kafka_resp_err_t r;
	uint64_t ts_ns;
	int keyed;

	ctx->received++;
	keyed = !xs_parse_frame(bytes, bytes + h->caplen, &pkt, XS_MAX_DECAP);
	if (keyed)
		ctx->keyed++;
	else
		ctx->unkeyed++;
	if (!ctx->rk)
		return;

	ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000ull;
	if (ctx->o->headers) {
		uint64_t ts_be = htobe64(ts_ns);
		uint32_t len_be = htonl(h->len), queue_be = 0; /* one TPACKET ring */
		uint8_t dir = keyed ? pkt.dir : 0;

		r = rd_kafka_producev(
			ctx->rk, RD_KAFKA_V_RKT(ctx->rkt),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_KEY(keyed ? &pkt.key : NULL,
				       keyed ? sizeof(pkt.key) : 0),
			RD_KAFKA_V_VALUE((void *)bytes, h->caplen),
			RD_KAFKA_V_TIMESTAMP((int64_t)(ts_ns / 1000000)),
			BENCH_SENSOR_HEADERS(&ts_be, ctx->o->iface, &queue_be, &dir, &len_be),
			RD_KAFKA_V_OPAQUE((void *)(uintptr_t)ts_ns), RD_KAFKA_V_END);
	} else {
		r = rd_kafka_producev(
			ctx->rk, RD_KAFKA_V_RKT(ctx->rkt),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_KEY(keyed ? &pkt.key : NULL,
				       keyed ? sizeof(pkt.key) : 0),
			RD_KAFKA_V_VALUE((void *)bytes, h->caplen),
			RD_KAFKA_V_TIMESTAMP((int64_t)(ts_ns / 1000000)),
			RD_KAFKA_V_OPAQUE((void *)(uintptr_t)ts_ns), RD_KAFKA_V_END);
	}
	if (!r)
		ctx->produced++;
	else if (r == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		ctx->queue_full++;
	else
		ctx->produce_errors++;
}

static pcap_t *open_capture(const struct probe_opts *o)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p;
	int err;

	p = pcap_create(o->iface, errbuf);
	if (!p) {
		fprintf(stderr, "pcap_create %s: %s\n", o->iface, errbuf);
		return NULL;
	}
	if (pcap_set_snaplen(p, o->snaplen) || pcap_set_promisc(p, o->promisc) ||
	    pcap_set_immediate_mode(p, 0) ||
	    pcap_set_buffer_size(p, (int)(o->buffer_mib << 20)) ||
	    pcap_set_timeout(p, (int)o->timeout_ms)) {
		fprintf(stderr, "pcap options on %s: %s\n", o->iface, pcap_geterr(p));
		goto fail;
	}
	err = pcap_activate(p);
	if (err < 0) {
		fprintf(stderr, "pcap_activate %s: %s (%s)\n", o->iface,
			pcap_statustostr(err), pcap_geterr(p));
		goto fail;
	}
	if (err > 0)
		fprintf(stderr, "pcap_activate %s: warning %s\n", o->iface,
			pcap_statustostr(err));
	if (pcap_datalink(p) != DLT_EN10MB) {
		fprintf(stderr, "%s is not Ethernet (DLT %d)\n", o->iface,
			pcap_datalink(p));
		goto fail;
	}
	return p;
fail:
	pcap_close(p);
	return NULL;
}

static int open_producer(struct probe_ctx *ctx)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];

	if (bench_producer_conf_apply(conf, ctx->o->brokers, "xsbench-pcap-probe")) {
		rd_kafka_conf_destroy(conf);
		return -EINVAL;
	}
	bench_producer_callbacks(conf, &ctx->dr);
	ctx->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!ctx->rk) {
		fprintf(stderr, "creating the Kafka producer: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return -EINVAL;
	}
	ctx->rkt = rd_kafka_topic_new(ctx->rk, ctx->o->topic, NULL);
	if (!ctx->rkt) {
		fprintf(stderr, "topic %s: %s\n", ctx->o->topic,
			rd_kafka_err2str(rd_kafka_last_error()));
		return -EINVAL;
	}
	if (bench_producer_warmup(ctx->rk, ctx->rkt, 30000))
		return -EIO;
	ctx->dr.delivered = 0;
	ctx->dr.failed = 0;
	return 0;
}

/*
 * At a stop, what the ring holds is read to the end, as the sensor reads
 * its RX ring (read_to_end): every frame the kernel counted in pcap_recv
 * is then read or counted in pcap_drop. A block the kernel has not retired
 * yet shows once the block timeout has passed: done after two empty looks
 * that far apart, or after 30 s.
 */
static void drain(pcap_t *p, struct probe_ctx *ctx)
{
	uint64_t deadline = bench_now_ns() + 30000000000ull;
	char errbuf[PCAP_ERRBUF_SIZE];
	int idle = 0, n;

	if (pcap_setnonblock(p, 1, errbuf)) {
		fprintf(stderr, "pcap_setnonblock: %s\n", errbuf);
		return;
	}
	while (idle < 2 && bench_now_ns() < deadline) {
		n = pcap_dispatch(p, -1, on_packet, (u_char *)ctx);
		if (n == PCAP_ERROR)
			return;
		if (ctx->rk)
			rd_kafka_poll(ctx->rk, 0);
		if (n > 0 || n == PCAP_ERROR_BREAK) { /* a break request, now cleared */
			idle = 0;
			continue;
		}
		idle++;
		usleep((ctx->o->timeout_ms + 10) * 1000);
	}
}

int main(int argc, char **argv)
{
	struct probe_opts o = {
		.topic = "xsbench", .kafka = 1, .promisc = 1, .buffer_mib = 64,
		.timeout_ms = 100, .flush_ms = 10000, .snaplen = 65535, .cpu = -1,
	};
	struct probe_ctx ctx = { .o = &o };
	uint64_t start, end, flush_ns = 0;
	struct pcap_stat ps = { 0 };
	int unflushed = 0, err = 0;
	pcap_t *p;

	if (parse_args(argc, argv, &o))
		return 2;
	if (bench_pin_cpu(o.cpu))
		return 1;
	bench_install_stop(o.duration_s);
	p = open_capture(&o);
	if (!p)
		return 1;
	probe_pcap = p;
	bench_stop_hook = probe_breakloop;
	if (o.kafka && open_producer(&ctx)) {
		err = 1;
		goto cleanup;
	}
	bench_ready();

	start = bench_now_ns();
	while (!bench_stop) {
		int n = pcap_dispatch(p, -1, on_packet, (u_char *)&ctx);

		if (n == PCAP_ERROR_BREAK)
			break;
		if (n == PCAP_ERROR) {
			fprintf(stderr, "pcap_dispatch: %s\n", pcap_geterr(p));
			err = 1;
			break;
		}
		if (ctx.rk)
			rd_kafka_poll(ctx.rk, 0);
	}
	end = bench_now_ns();
	if (!err)
		drain(p, &ctx);
	if (pcap_stats(p, &ps))
		fprintf(stderr, "pcap_stats: %s\n", pcap_geterr(p));
	if (ctx.rk) {
		uint64_t t0 = bench_now_ns();

		rd_kafka_flush(ctx.rk, (int)o.flush_ms);
		flush_ns = bench_now_ns() - t0;
		unflushed = rd_kafka_outq_len(ctx.rk);
	}
	printf("{\"tool\":\"pcap-probe\",\"iface\":\"%s\",\"output\":\"%s\","
	       "\"headers\":%d,\"received\":%llu,\"keyed\":%llu,\"unkeyed\":%llu,"
	       "\"produced\":%llu,\"queue_full\":%llu,\"produce_errors\":%llu,"
	       "\"delivered\":%llu,\"failed\":%llu,\"unflushed\":%d,"
	       "\"pcap_recv\":%u,\"pcap_drop\":%u,\"pcap_ifdrop\":%u,"
	       "\"elapsed_ns\":%llu,\"flush_ns\":%llu,",
	       o.iface, o.kafka ? "kafka" : "null", o.headers,
	       (unsigned long long)ctx.received, (unsigned long long)ctx.keyed,
	       (unsigned long long)ctx.unkeyed, (unsigned long long)ctx.produced,
	       (unsigned long long)ctx.queue_full,
	       (unsigned long long)ctx.produce_errors,
	       (unsigned long long)ctx.dr.delivered, (unsigned long long)ctx.dr.failed,
	       unflushed, ps.ps_recv, ps.ps_drop, ps.ps_ifdrop,
	       (unsigned long long)(end - start), (unsigned long long)flush_ns);
	bench_print_latency(&ctx.dr);
	printf("}\n");

cleanup:
	bench_stop_hook = NULL;
	probe_pcap = NULL;
	if (ctx.rkt)
		rd_kafka_topic_destroy(ctx.rkt);
	if (ctx.rk)
		rd_kafka_destroy(ctx.rk);
	pcap_close(p);
	return err;
}
