// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xs-gen: a UDP/IPv4 traffic generator for veth benchmarks.
 *
 * Two backends, both batching and both building frames from a per-size
 * header template (each packet only gets its flow's source address,
 * source port and IP checksum patched in):
 *   xdp     (default) an AF_XDP socket in copy mode: frames are written
 *           into a UMEM, posted on the TX ring in batches, the kernel is
 *           kicked with sendto() and completed frames are recycled.
 *           Measured on the 2-vCPU veth test machine into XDP_DROP:
 *           1.58 Mpps against 1.05 Mpps for the AF_PACKET backend.
 *   packet  an AF_PACKET socket with PACKET_QDISC_BYPASS, one sendmmsg()
 *           per batch. Open loop: a frame the device refuses is counted in
 *           tx_dropped and not retried (unless --retry).
 * A slow receiver shows up as loss at the receiver, never as a slower
 * generator: veth drops what its peer cannot take.
 *
 * Sizes are Ethernet frame lengths including the 4-byte FCS the wire would
 * add (RFC 2544 convention): --size 64 puts 60-byte frames on the veth.
 * IMIX is the "simple IMIX" 7:4:1 of 64/576/1500-byte frames, interleaved
 * in a 12-packet cycle (mean 354.3 B incl. FCS).
 *
 * Flow i (0 <= i < --flows) is 198.18.0.0/16 + (i mod 65536) port
 * 1024 + (i mod 50000) -> --dst-ip:--dst-port; packet n uses flow n mod F.
 */
#include "../lib/bench_util.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#define GEN_MAX_BATCH 1024
#define GEN_FRAME_MAX 1514 /* 1518 on the wire minus FCS */
#define GEN_HDR_LEN 42     /* Ethernet + IPv4 + UDP */
#define GEN_FCS 4
#define GEN_IMIX_CYCLE 12

struct gen_opts {
	const char *iface;
	uint8_t dst_mac[6];
	int have_dst_mac;
	uint64_t count;    /* 0: until --duration or a signal */
	uint64_t rate;     /* packets/s, 0: as fast as possible */
	uint64_t flows;
	unsigned int batch;
	unsigned int duration_s;
	int cpu;
	const char *mode; /* packet or xdp */
	int retry;
	int spin;
	int verbose;
	const char *size_name;
	uint32_t src_ip; /* host order, base of the flows */
	uint32_t dst_ip;
	uint16_t dst_port;
};

/* The frame lengths of one cycle (1 entry for a fixed size). */
struct gen_sizes {
	unsigned int len[GEN_IMIX_CYCLE];
	unsigned int n;
};

static const struct option long_opts[] = {
	{ "iface", required_argument, NULL, 'i' },
	{ "dst-mac", required_argument, NULL, 'm' },
	{ "count", required_argument, NULL, 'n' },
	{ "rate", required_argument, NULL, 'r' },
	{ "size", required_argument, NULL, 's' },
	{ "flows", required_argument, NULL, 'f' },
	{ "batch", required_argument, NULL, 'b' },
	{ "duration", required_argument, NULL, 'd' },
	{ "cpu", required_argument, NULL, 'c' },
	{ "src-ip", required_argument, NULL, 'S' },
	{ "dst-ip", required_argument, NULL, 'D' },
	{ "dst-port", required_argument, NULL, 'P' },
	{ "mode", required_argument, NULL, 'M' },
	{ "retry", no_argument, NULL, 'R' },
	{ "spin", no_argument, NULL, 'W' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xs-gen -i IFACE -m DST_MAC [options]\n"
		"Sends UDP/IPv4 frames out of IFACE (AF_XDP TX or AF_PACKET sendmmsg)\n"
		"and prints one JSON line with what was sent.\n"
		"  -i, --iface IFACE     interface to send on (one end of a veth pair)\n"
		"  -m, --dst-mac MAC     destination MAC (the receiver's)\n"
		"  -n, --count N         packets to send (default 1M; 0 = until -d/signal)\n"
		"  -r, --rate PPS        paced rate, e.g. 500k (default 0 = max rate)\n"
		"  -s, --size SIZE       64..1518 (frame incl. FCS) or imix (7:4:1 of\n"
		"                        64/576/1500) (default 64)\n"
		"  -f, --flows N         distinct flows (default 1024)\n"
		"  -b, --batch N         frames per batch (default 32, max %d)\n"
		"  -d, --duration S      stop after S seconds\n"
		"  -c, --cpu CPU         pin to CPU\n"
		"  -S, --src-ip ADDR     first source address (default 198.18.0.0)\n"
		"  -D, --dst-ip ADDR     destination address (default 198.19.0.1)\n"
		"  -P, --dst-port PORT   destination UDP port (default 9)\n"
		"  -M, --mode MODE       packet (AF_PACKET sendmmsg) or xdp (AF_XDP TX,\n"
		"                        copy mode) (default xdp)\n"
		"  -R, --retry           packet mode: retry refused frames (closed\n"
		"                        loop) instead of counting them in tx_dropped\n"
		"  -W, --spin            pace by busy-waiting (exact, burns a CPU)\n"
		"                        instead of sleeping between bursts\n"
		"  -v, --verbose         progress on stderr\n"
		"      --version, -h --help\n",
		GEN_MAX_BATCH);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int parse_sizes(const char *s, struct gen_sizes *sz)
{
	/* 7 x 64, 4 x 576, 1 x 1500, spread over the cycle */
	static const unsigned int imix[GEN_IMIX_CYCLE] = {
		64, 576, 64, 64, 576, 64, 1500, 64, 576, 64, 576, 64,
	};
	uint64_t v;

	if (!strcmp(s, "imix")) {
		for (int i = 0; i < GEN_IMIX_CYCLE; i++)
			sz->len[i] = imix[i] - GEN_FCS;
		sz->n = GEN_IMIX_CYCLE;
		return 0;
	}
	if (bench_parse_u64(s, &v) || v < 64 || v > GEN_FRAME_MAX + GEN_FCS)
		return -EINVAL;
	sz->len[0] = (unsigned int)v - GEN_FCS;
	sz->n = 1;
	return 0;
}

static int parse_args(int argc, char **argv, struct gen_opts *o,
		      struct gen_sizes *sz)
{
	struct in_addr a;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "i:m:n:r:s:f:b:d:c:S:D:P:M:RWvh",
				long_opts, NULL)) != -1) {
		switch (c) {
		case 'i': o->iface = optarg; break;
		case 'm':
			if (parse_mac(optarg, o->dst_mac)) {
				fprintf(stderr, "bad MAC address '%s'\n", optarg);
				return -EINVAL;
			}
			o->have_dst_mac = 1;
			break;
		case 'n': if (bench_parse_u64(optarg, &o->count)) goto bad; break;
		case 'r': if (bench_parse_u64(optarg, &o->rate)) goto bad; break;
		case 's':
			if (parse_sizes(optarg, sz)) {
				fprintf(stderr, "bad size '%s': 64..1518 or imix\n", optarg);
				return -EINVAL;
			}
			o->size_name = optarg;
			break;
		case 'f':
			if (bench_parse_u64(optarg, &o->flows) || !o->flows)
				goto bad;
			break;
		case 'b':
			if (bench_parse_u64(optarg, &v) || !v || v > GEN_MAX_BATCH)
				goto bad;
			o->batch = (unsigned int)v;
			break;
		case 'd':
			if (bench_parse_u64(optarg, &v) || v > 86400)
				goto bad;
			o->duration_s = (unsigned int)v;
			break;
		case 'c': o->cpu = atoi(optarg); break;
		case 'S':
		case 'D':
			if (inet_pton(AF_INET, optarg, &a) != 1)
				goto bad;
			*(c == 'S' ? &o->src_ip : &o->dst_ip) = ntohl(a.s_addr);
			break;
		case 'P':
			if (bench_parse_u64(optarg, &v) || v > 65535)
				goto bad;
			o->dst_port = (uint16_t)v;
			break;
		case 'M':
			if (strcmp(optarg, "packet") && strcmp(optarg, "xdp"))
				goto bad;
			o->mode = optarg;
			break;
		case 'R': o->retry = 1; break;
		case 'W': o->spin = 1; break;
		case 'v': o->verbose = 1; break;
		case 'V': printf("xs-gen %s\n", XS_BENCH_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		continue;
bad:
		fprintf(stderr, "bad value '%s' for -%c (see --help)\n", optarg, c);
		return -EINVAL;
	}
	if (!o->iface || !o->have_dst_mac) {
		fprintf(stderr, "-i IFACE and -m DST_MAC are required (see --help)\n");
		return -EINVAL;
	}
	return 0;
}

static uint16_t ip_checksum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP header for a frame of len bytes (checksum 0). */
static void build_header(uint8_t *h, unsigned int len, const struct gen_opts *o,
			 const uint8_t src_mac[6])
{
	unsigned int ip_len = len - 14, udp_len = ip_len - 20;

	memset(h, 0, GEN_HDR_LEN);
	memcpy(h, o->dst_mac, 6);
	memcpy(h + 6, src_mac, 6);
	h[12] = 0x08; /* IPv4 */
	h[14] = 0x45;
	h[16] = (uint8_t)(ip_len >> 8);
	h[17] = (uint8_t)ip_len;
	h[20] = 0x40; /* DF */
	h[22] = 64;   /* TTL */
	h[23] = 17;   /* UDP */
	h[30] = (uint8_t)(o->dst_ip >> 24);
	h[31] = (uint8_t)(o->dst_ip >> 16);
	h[32] = (uint8_t)(o->dst_ip >> 8);
	h[33] = (uint8_t)o->dst_ip;
	h[36] = (uint8_t)(o->dst_port >> 8);
	h[37] = (uint8_t)o->dst_port;
	h[38] = (uint8_t)(udp_len >> 8);
	h[39] = (uint8_t)udp_len;
	/* UDP checksum 0: none, allowed for IPv4 */
}

/* Writes packet n's header into buf. */
static inline unsigned int fill_frame(uint8_t *buf, uint64_t n,
				      const struct gen_opts *o,
				      const struct gen_sizes *sz,
				      uint8_t tmpl[][GEN_HDR_LEN])
{
	unsigned int slot = (unsigned int)(n % sz->n);
	uint64_t flow = n % o->flows;
	uint32_t src = o->src_ip + (uint32_t)(flow & 0xffff);
	uint16_t sport = (uint16_t)(1024 + flow % 50000);
	uint16_t csum;

	memcpy(buf, tmpl[slot], GEN_HDR_LEN);
	buf[26] = (uint8_t)(src >> 24);
	buf[27] = (uint8_t)(src >> 16);
	buf[28] = (uint8_t)(src >> 8);
	buf[29] = (uint8_t)src;
	buf[34] = (uint8_t)(sport >> 8);
	buf[35] = (uint8_t)sport;
	csum = ip_checksum(buf + 14);
	buf[24] = (uint8_t)(csum >> 8);
	buf[25] = (uint8_t)csum;
	return sz->len[slot];
}

static int open_socket(const char *iface, uint8_t src_mac[6])
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int one = 1, sndbuf = 4 << 20;
	struct ifreq ifr;
	int fd, err;

	/* protocol 0: a send-only socket, no copy of received traffic */
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "AF_PACKET socket: %s (needs CAP_NET_RAW)\n",
			strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		err = -errno;
		fprintf(stderr, "interface %s: %s\n", iface, strerror(errno));
		goto fail;
	}
	memcpy(src_mac, ifr.ifr_hwaddr.sa_data, 6);
	sll.sll_ifindex = (int)if_nametoindex(iface);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		err = -errno;
		fprintf(stderr, "bind to %s: %s\n", iface, strerror(errno));
		goto fail;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		fprintf(stderr, "PACKET_QDISC_BYPASS: %s (going through the qdisc)\n",
			strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	return fd;
fail:
	close(fd);
	return err;
}

/* Waits until t (CLOCK_MONOTONIC ns): sleeps (timer slack is 1 us), or
 * with --spin busy-waits, which paces exactly but burns the CPU. */
static void wait_until(uint64_t t, int spin)
{
	struct timespec ts = {
		.tv_sec = (time_t)(t / 1000000000ull),
		.tv_nsec = (long)(t % 1000000000ull),
	};

	if (spin) {
		while (bench_now_ns() < t && !bench_stop)
			;
		return;
	}
	if (bench_now_ns() + 2000 < t)
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* What a send loop did. */
struct gen_counts {
	uint64_t attempted, sent, dropped, bytes;
	uint64_t start, end;
	int err;
};

/* Everything a send loop needs to build frames. */
struct gen_ctx {
	const struct gen_opts *o;
	const struct gen_sizes *sz;
	uint8_t (*tmpl)[GEN_HDR_LEN];
	unsigned int batch;
};

static void report_progress(const struct gen_ctx *g, const struct gen_counts *c,
			    uint64_t *next_report)
{
	if (!g->o->verbose || bench_now_ns() < *next_report)
		return;
	fprintf(stderr, "sent %llu dropped %llu\n", (unsigned long long)c->sent,
		(unsigned long long)c->dropped);
	*next_report += 1000000000ull;
}

/* AF_PACKET backend: one sendmmsg() per batch. */
static void send_packet(const struct gen_ctx *g, int fd, struct gen_counts *c)
{
	static uint8_t bufs[GEN_MAX_BATCH][GEN_FRAME_MAX];
	static struct mmsghdr msgs[GEN_MAX_BATCH];
	static struct iovec iov[GEN_MAX_BATCH];
	const struct gen_opts *o = g->o;
	uint64_t next_report;

	for (unsigned int i = 0; i < GEN_MAX_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	c->start = bench_now_ns();
	next_report = c->start + 1000000000ull;
	while (!bench_stop && (!o->count || c->attempted < o->count)) {
		unsigned int want = g->batch, off = 0;

		if (o->count && o->count - c->attempted < want)
			want = (unsigned int)(o->count - c->attempted);
		if (o->rate)
			wait_until(c->start + c->attempted * 1000000000ull / o->rate,
				   o->spin);
		for (unsigned int i = 0; i < want; i++) {
			iov[i].iov_len = fill_frame(bufs[i], c->attempted + i, o,
						    g->sz, g->tmpl);
			c->bytes += iov[i].iov_len;
		}
		while (off < want && !bench_stop) {
			int r = sendmmsg(fd, msgs + off, want - off, 0);

			if (r > 0) {
				off += (unsigned int)r;
				c->sent += (unsigned int)r;
				continue;
			}
			if (r == 0 || errno == EINTR)
				continue;
			if (errno == ENOBUFS || errno == EAGAIN ||
			    errno == ENETDOWN || errno == EBUSY) {
				/* the device refused this frame */
				if (o->retry)
					continue;
				c->bytes -= iov[off].iov_len;
				off++;
				c->dropped++;
				continue;
			}
			c->err = -errno;
			fprintf(stderr, "sendmmsg on %s: %s\n", o->iface,
				strerror(errno));
			break;
		}
		c->attempted += off;
		if (c->err)
			break;
		report_progress(g, c, &next_report);
	}
	c->end = bench_now_ns();
}

#define GEN_XSK_FRAMES 4096
#define GEN_XSK_FRAME_SIZE 2048

/* AF_XDP backend (copy mode): frames are written into a UMEM, posted on
 * the TX ring in batches, the kernel is kicked with sendto(), completed
 * frames are recycled. */
static void send_xsk(const struct gen_ctx *g, struct gen_counts *c)
{
	struct xsk_umem_config ucfg = {
		.fill_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.comp_size = GEN_XSK_FRAMES,
		.frame_size = GEN_XSK_FRAME_SIZE,
	};
	struct xsk_socket_config scfg = {
		.rx_size = 0,
		.tx_size = 2048,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	static __u64 free_frames[GEN_XSK_FRAMES];
	const struct gen_opts *o = g->o;
	/* zeroed: libxdp leaves the cached ring indexes to the caller */
	struct xsk_ring_prod fq = { 0 }, tx = { 0 };
	struct xsk_ring_cons cq = { 0 };
	struct xsk_umem *umem = NULL;
	struct xsk_socket *xsk = NULL;
	unsigned int nfree = GEN_XSK_FRAMES;
	size_t len = (size_t)GEN_XSK_FRAMES * GEN_XSK_FRAME_SIZE;
	uint64_t next_report, posted = 0, bogus = 0;
	void *area;

	area = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (area == MAP_FAILED) {
		c->err = -errno;
		fprintf(stderr, "UMEM: %s\n", strerror(errno));
		return;
	}
	c->err = xsk_umem__create(&umem, area, len, &fq, &cq, &ucfg);
	if (c->err) {
		fprintf(stderr, "xsk_umem__create: %s\n", strerror(-c->err));
		goto out;
	}
	/* the queue of a socket closed just before (the previous run) is
	 * released asynchronously: bind says EBUSY for a moment */
	for (int tries = 0; tries < 40; tries++) {
		c->err = xsk_socket__create(&xsk, o->iface, 0, umem, NULL, &tx, &scfg);
		if (c->err != -EBUSY)
			break;
		usleep(50000);
	}
	if (c->err) {
		fprintf(stderr, "AF_XDP socket on %s: %s (try --mode packet)\n",
			o->iface, strerror(-c->err));
		goto out;
	}
	for (unsigned int i = 0; i < GEN_XSK_FRAMES; i++)
		free_frames[i] = (__u64)i * GEN_XSK_FRAME_SIZE;

	c->start = bench_now_ns();
	next_report = c->start + 1000000000ull;
	while (!bench_stop) {
		unsigned int want = g->batch, done;
		__u32 idx = 0;

		done = xsk_ring_cons__peek(&cq, GEN_XSK_FRAMES, &idx);
		for (unsigned int i = 0; i < done; i++) {
			if (nfree == GEN_XSK_FRAMES) {
				bogus++;
				continue;
			}
			free_frames[nfree++] = *xsk_ring_cons__comp_addr(&cq, idx + i);
		}
		xsk_ring_cons__release(&cq, done);
		c->sent += done;
		if (o->count && posted >= o->count) {
			if (c->sent >= posted)
				break;
			sendto(xsk_socket__fd(xsk), NULL, 0, MSG_DONTWAIT, NULL, 0);
			continue;
		}
		if (o->count && o->count - posted < want)
			want = (unsigned int)(o->count - posted);
		if (want > nfree)
			want = nfree;
		if (o->rate)
			wait_until(c->start + posted * 1000000000ull / o->rate, o->spin);
		if (want && xsk_ring_prod__reserve(&tx, want, &idx) == want) {
			for (unsigned int i = 0; i < want; i++) {
				struct xdp_desc *d = xsk_ring_prod__tx_desc(&tx, idx + i);

				d->addr = free_frames[--nfree];
				d->len = fill_frame((uint8_t *)area + d->addr, posted + i,
						    o, g->sz, g->tmpl);
				c->bytes += d->len;
			}
			xsk_ring_prod__submit(&tx, want);
			posted += want;
		}
		if (xsk_ring_prod__needs_wakeup(&tx) &&
		    sendto(xsk_socket__fd(xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 &&
		    errno != EAGAIN && errno != EBUSY && errno != ENOBUFS &&
		    errno != EINTR) {
			c->err = -errno;
			fprintf(stderr, "AF_XDP kick on %s: %s\n", o->iface, strerror(errno));
			break;
		}
		report_progress(g, c, &next_report);
	}
	c->end = bench_now_ns();
	c->attempted = posted;
	if (bogus)
		fprintf(stderr, "%llu completions more than frames in flight\n",
			(unsigned long long)bogus);
out:
	if (xsk)
		xsk_socket__delete(xsk);
	if (umem)
		xsk_umem__delete(umem);
	munmap(area, len);
}

int main(int argc, char **argv)
{
	struct gen_opts o = {
		.count = 1000000, .flows = 1024, .batch = 32, .cpu = -1,
		.size_name = "64", .src_ip = 0xc6120000 /* 198.18.0.0 */,
		.dst_ip = 0xc6130001 /* 198.19.0.1 */, .dst_port = 9,
		.mode = "xdp",
	};
	struct gen_sizes sz = { .len = { 60 }, .n = 1 };
	uint8_t tmpl[GEN_IMIX_CYCLE][GEN_HDR_LEN];
	struct gen_ctx g = { .o = &o, .sz = &sz, .tmpl = tmpl };
	struct gen_counts c = { 0 };
	uint64_t user_ns, sys_ns;
	uint8_t src_mac[6];
	double s;
	int fd;

	if (parse_args(argc, argv, &o, &sz))
		return 2;
	if (bench_pin_cpu(o.cpu))
		return 1;
	fd = open_socket(o.iface, src_mac);
	if (fd < 0)
		return 1;
	for (unsigned int i = 0; i < sz.n; i++)
		build_header(tmpl[i], sz.len[i], &o, src_mac);
	/* paced: bursts of ~100 us of traffic, sleeping in between */
	g.batch = o.batch;
	if (o.rate && o.rate / 10000 < g.batch)
		g.batch = o.rate / 10000 ? (unsigned int)(o.rate / 10000) : 1;
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	bench_install_stop(o.duration_s);

	if (!strcmp(o.mode, "xdp")) {
		close(fd);
		fd = -1;
		send_xsk(&g, &c);
	} else {
		send_packet(&g, fd, &c);
	}
	bench_cpu_ns(&user_ns, &sys_ns);
	if (fd >= 0)
		close(fd);

	s = (double)(c.end - c.start) / 1e9;
	printf("{\"tool\":\"xs-gen\",\"iface\":\"%s\",\"mode\":\"%s\",\"size\":\"%s\","
	       "\"flows\":%llu,\"rate\":%llu,\"batch\":%u,"
	       "\"attempted\":%llu,\"sent\":%llu,\"tx_dropped\":%llu,"
	       "\"bytes\":%llu,\"elapsed_ns\":%llu,\"pps\":%.0f,"
	       "\"attempted_pps\":%.0f,\"gbps\":%.3f,"
	       "\"cpu_user_ns\":%llu,\"cpu_sys_ns\":%llu,\"error\":%d}\n",
	       o.iface, o.mode, o.size_name, (unsigned long long)o.flows,
	       (unsigned long long)o.rate, g.batch,
	       (unsigned long long)c.attempted, (unsigned long long)c.sent,
	       (unsigned long long)c.dropped, (unsigned long long)c.bytes,
	       (unsigned long long)(c.end - c.start),
	       s > 0 ? (double)c.sent / s : 0.0,
	       s > 0 ? (double)c.attempted / s : 0.0,
	       s > 0 ? (double)(c.bytes + GEN_FCS * c.sent) * 8 / s / 1e9 : 0.0,
	       (unsigned long long)user_ns, (unsigned long long)sys_ns, c.err);
	return c.err ? 1 : 0;
}
