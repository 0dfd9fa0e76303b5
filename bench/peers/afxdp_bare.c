// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * afxdp-bare: the floor any AF_XDP design pays. One thread, one copy-mode
 * AF_XDP socket per RX queue (each with its own UMEM), xsk_redirect.bpf.o
 * steering frames to them; frames are received and handed straight back
 * to the fill ring, in batches. With --parse each frame also goes through
 * xs_parse_frame(), the parser the sensor uses.
 *
 * Idle strategy: when every RX ring is empty the thread sleeps in poll()
 * (so its CPU time is honest); --busy spins instead; --sleep-us N naps while
 * traffic flows as the sensor's workers do (user/rx_nap.h, naps of at most
 * N us). The kernel is kicked
 * only when xsk_ring_prod__needs_wakeup() asks for it.
 */
#include "../lib/bench_util.h"
#include "bpf_log.h"
#include "flow_parse.h"
#include "rx_nap.h"
#include "xsk_redirect.skel.h"

#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <xdp/xsk.h>

#define BARE_MAX_QUEUES 64
#define BARE_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE

struct bare_opts {
	const char *iface;
	int queue; /* -1: all */
	const char *xdp_mode;
	__u32 xdp_flags;
	unsigned int batch;
	unsigned int frames;
	unsigned int ring;
	unsigned int duration_s;
	int cpu;
	int busy;
	unsigned int sleep_us;
	int parse;
	int verbose;
};

/* One socket, its UMEM and its rings. */
struct bare_port {
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq;
	struct xsk_ring_cons cq;
	struct xsk_ring_cons rx;
	void *area;
	size_t area_len;
	__u32 queue;
};

struct bare_counts {
	uint64_t received, bytes, keyed, polls, naps, wakeups;
};

static const struct option long_opts[] = {
	{ "iface", required_argument, NULL, 'i' },
	{ "queue", required_argument, NULL, 'q' },
	{ "xdp-mode", required_argument, NULL, 'm' },
	{ "batch", required_argument, NULL, 'b' },
	{ "frames", required_argument, NULL, 'F' },
	{ "ring", required_argument, NULL, 'r' },
	{ "duration", required_argument, NULL, 'd' },
	{ "cpu", required_argument, NULL, 'c' },
	{ "busy", no_argument, NULL, 'B' },
	{ "sleep-us", required_argument, NULL, 's' },
	{ "parse", no_argument, NULL, 'p' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: afxdp-bare -i IFACE [options]\n"
		"Receives and drops frames on copy-mode AF_XDP sockets; prints one\n"
		"JSON line with the count and XDP_STATISTICS at SIGINT/SIGTERM/-d.\n"
		"  -q, --queue Q|all     RX queue to bind (default 0)\n"
		"  -m, --xdp-mode MODE   native or generic, for the redirect program\n"
		"                        (default native)\n"
		"  -b, --batch N         descriptors per ring operation (default 64)\n"
		"  -F, --frames N        UMEM frames per socket, power of 2 (default 4096)\n"
		"  -r, --ring N          RX ring size, power of 2 (default 2048)\n"
		"  -B, --busy            spin when idle instead of poll()\n"
		"  -s, --sleep-us N      while frames flow, nap (at most N us, fitted to\n"
		"                        the rate) when idle instead of poll() (0:\n"
		"                        always poll, the default)\n"
		"  -p, --parse           run xs_parse_frame() on every frame\n"
		"  -d, --duration S      stop after S seconds\n"
		"  -c, --cpu CPU         pin to CPU\n"
		"  -v, --verbose, --version, -h --help\n");
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int parse_args(int argc, char **argv, struct bare_opts *o)
{
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "i:q:m:b:F:r:d:c:s:Bpvh", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'i': o->iface = optarg; break;
		case 'q':
			if (!strcmp(optarg, "all"))
				o->queue = -1;
			else if (bench_parse_u64(optarg, &v) || v >= BARE_MAX_QUEUES)
				goto bad;
			else
				o->queue = (int)v;
			break;
		case 'm':
			o->xdp_mode = optarg;
			if (!strcmp(optarg, "native"))
				o->xdp_flags = XDP_FLAGS_DRV_MODE;
			else if (!strcmp(optarg, "generic"))
				o->xdp_flags = XDP_FLAGS_SKB_MODE;
			else
				goto bad;
			break;
		case 'b':
			if (bench_parse_u64(optarg, &v) || !v || v > 4096)
				goto bad;
			o->batch = (unsigned int)v;
			break;
		case 'F':
		case 'r':
			if (bench_parse_u64(optarg, &v) || !is_pow2(v) || v > (1 << 20))
				goto bad;
			*(c == 'F' ? &o->frames : &o->ring) = (unsigned int)v;
			break;
		case 'd':
			if (bench_parse_u64(optarg, &v) || v > 86400)
				goto bad;
			o->duration_s = (unsigned int)v;
			break;
		case 'c': o->cpu = atoi(optarg); break;
		case 'B': o->busy = 1; break;
		case 's':
			if (bench_parse_u64(optarg, &v) || v > 1000000)
				goto bad;
			o->sleep_us = (unsigned int)v;
			break;
		case 'p': o->parse = 1; break;
		case 'v': o->verbose = 1; break;
		case 'V': printf("afxdp-bare %s\n", XS_BENCH_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		continue;
bad:
		fprintf(stderr, "bad value '%s' for -%c (see --help)\n", optarg, c);
		return -EINVAL;
	}
	if (!o->iface) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* RX queues of the interface (ETHTOOL_GCHANNELS), 1 if it cannot tell. */
static unsigned int rx_queue_count(const char *iface)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	unsigned int n = 1;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return 1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	ifr.ifr_data = (void *)&ch;
	if (!ioctl(fd, SIOCETHTOOL, &ifr)) {
		n = ch.combined_count + ch.rx_count;
		if (!n)
			n = 1;
	}
	close(fd);
	return n < BARE_MAX_QUEUES ? n : BARE_MAX_QUEUES;
}

static int port_open(struct bare_port *p, const struct bare_opts *o, __u32 queue)
{
	struct xsk_umem_config ucfg = {
		.fill_size = o->frames,
		.comp_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.frame_size = BARE_FRAME_SIZE,
		.frame_headroom = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = o->ring,
		.tx_size = 0,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.xdp_flags = o->xdp_flags,
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	__u32 idx;
	int err;

	p->queue = queue;
	p->area_len = (size_t)o->frames * BARE_FRAME_SIZE;
	p->area = mmap(NULL, p->area_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p->area == MAP_FAILED) {
		p->area = NULL;
		fprintf(stderr, "UMEM of %zu bytes: %s\n", p->area_len, strerror(errno));
		return -ENOMEM;
	}
	err = xsk_umem__create(&p->umem, p->area, p->area_len, &p->fq, &p->cq, &ucfg);
	if (err) {
		fprintf(stderr, "xsk_umem__create: %s\n", strerror(-err));
		return err;
	}
	/* a socket closed just before (the previous run) releases its queue
	 * asynchronously: bind says EBUSY for a moment */
	for (int tries = 0; tries < 40; tries++) {
		err = xsk_socket__create(&p->xsk, o->iface, queue, p->umem, &p->rx,
					 NULL, &scfg);
		if (err != -EBUSY)
			break;
		usleep(50000);
	}
	if (err) {
		fprintf(stderr, "AF_XDP socket on %s queue %u: %s\n", o->iface, queue,
			strerror(-err));
		return err;
	}
	/* hand every frame to the kernel */
	if (xsk_ring_prod__reserve(&p->fq, o->frames, &idx) != o->frames) {
		fprintf(stderr, "fill ring smaller than %u frames\n", o->frames);
		return -ENOSPC;
	}
	for (__u32 i = 0; i < o->frames; i++)
		*xsk_ring_prod__fill_addr(&p->fq, idx + i) = (__u64)i * BARE_FRAME_SIZE;
	xsk_ring_prod__submit(&p->fq, o->frames);
	return 0;
}

static void port_close(struct bare_port *p)
{
	if (p->xsk)
		xsk_socket__delete(p->xsk);
	if (p->umem)
		xsk_umem__delete(p->umem);
	if (p->area)
		munmap(p->area, p->area_len);
}

/* Receives one batch and recycles its frames. Returns frames received. */
static unsigned int port_rx(struct bare_port *p, const struct bare_opts *o,
			    struct bare_counts *cnt)
{
	__u32 idx_rx, idx_fq;
	unsigned int n;

	n = xsk_ring_cons__peek(&p->rx, o->batch, &idx_rx);
	if (!n)
		return 0;
	/* the fill ring holds every frame, so this only waits if the kernel
	 * has not consumed earlier fill entries yet */
	while (xsk_ring_prod__reserve(&p->fq, n, &idx_fq) != n) {
		if (bench_stop)
			return 0;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&p->rx, idx_rx + i);
		__u64 addr = d->addr & ~((__u64)BARE_FRAME_SIZE - 1);

		if (o->parse) {
			const __u8 *data = xsk_umem__get_data(p->area, d->addr);
			struct xs_packet pkt;

			if (!xs_parse_frame(data, data + d->len, &pkt, XS_MAX_DECAP))
				cnt->keyed++;
		}
		cnt->bytes += d->len;
		*xsk_ring_prod__fill_addr(&p->fq, idx_fq + i) = addr;
	}
	xsk_ring_prod__submit(&p->fq, n);
	xsk_ring_cons__release(&p->rx, n);
	cnt->received += n;
	if (xsk_ring_prod__needs_wakeup(&p->fq)) {
		cnt->wakeups++;
		recvfrom(xsk_socket__fd(p->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
	}
	return n;
}

static void print_result(const struct bare_opts *o, struct bare_port *ports,
			 unsigned int nports, const struct bare_counts *cnt,
			 uint64_t elapsed_ns)
{
	struct xdp_statistics sum = { 0 };

	for (unsigned int i = 0; i < nports; i++) {
		struct xdp_statistics st;
		socklen_t len = sizeof(st);

		if (getsockopt(xsk_socket__fd(ports[i].xsk), SOL_XDP, XDP_STATISTICS,
			       &st, &len)) {
			fprintf(stderr, "XDP_STATISTICS queue %u: %s\n", ports[i].queue,
				strerror(errno));
			continue;
		}
		sum.rx_dropped += st.rx_dropped;
		sum.rx_invalid_descs += st.rx_invalid_descs;
		sum.rx_ring_full += st.rx_ring_full;
		sum.rx_fill_ring_empty_descs += st.rx_fill_ring_empty_descs;
	}
	printf("{\"tool\":\"afxdp-bare\",\"iface\":\"%s\",\"queues\":%u,"
	       "\"bind\":\"copy\",\"xdp_mode\":\"%s\",\"batch\":%u,\"busy\":%d,\"sleep_us\":%u,"
	       "\"parse\":%d,\"received\":%llu,\"bytes\":%llu,\"keyed\":%llu,"
	       "\"polls\":%llu,\"naps\":%llu,\"wakeups\":%llu,\"rx_dropped\":%llu,"
	       "\"rx_invalid_descs\":%llu,\"rx_ring_full\":%llu,"
	       "\"rx_fill_ring_empty_descs\":%llu,\"elapsed_ns\":%llu}\n",
	       o->iface, nports, o->xdp_mode, o->batch, o->busy, o->sleep_us, o->parse,
	       (unsigned long long)cnt->received, (unsigned long long)cnt->bytes,
	       (unsigned long long)cnt->keyed, (unsigned long long)cnt->polls,
	       (unsigned long long)cnt->naps,
	       (unsigned long long)cnt->wakeups,
	       (unsigned long long)sum.rx_dropped,
	       (unsigned long long)sum.rx_invalid_descs,
	       (unsigned long long)sum.rx_ring_full,
	       (unsigned long long)sum.rx_fill_ring_empty_descs,
	       (unsigned long long)elapsed_ns);
}

int main(int argc, char **argv)
{
	struct bare_opts o = {
		.queue = 0, .xdp_mode = "native", .xdp_flags = XDP_FLAGS_DRV_MODE,
		.batch = 64, .frames = 4096, .ring = 2048, .cpu = -1,
	};
	static struct bare_port ports[BARE_MAX_QUEUES];
	struct pollfd pfd[BARE_MAX_QUEUES];
	LIBBPF_OPTS(bpf_xdp_attach_opts, detach_opts);
	struct xsk_redirect_bpf *skel = NULL;
	struct bare_counts cnt = { 0 };
	unsigned int nports = 0, first = 0, nq;
	int ifindex, map_fd, attached = 0, err = 0;
	uint64_t start;
	struct rx_nap nap;
	unsigned int nap_us;

	if (parse_args(argc, argv, &o))
		return 2;
	if (bench_pin_cpu(o.cpu))
		return 1;
	ifindex = (int)if_nametoindex(o.iface);
	if (!ifindex) {
		fprintf(stderr, "interface %s: %s\n", o.iface, strerror(errno));
		return 1;
	}
	bench_bpf_log_init(o.verbose);
	bench_install_stop(o.duration_s);

	skel = xsk_redirect_bpf__open_and_load();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "loading xsk_redirect.bpf.o: %s\n", strerror(errno));
		goto cleanup;
	}
	map_fd = bpf_map__fd(skel->maps.xsks_map);

	nq = o.queue < 0 ? rx_queue_count(o.iface) : 1;
	if (o.queue >= 0)
		first = (unsigned int)o.queue;
	for (unsigned int q = first; q < first + nq; q++) {
		struct bare_port *p = &ports[nports++];

		err = port_open(p, &o, q);
		if (err)
			goto cleanup;
		err = xsk_socket__update_xskmap(p->xsk, map_fd);
		if (err) {
			fprintf(stderr, "XSKMAP entry for queue %u: %s\n", q, strerror(-err));
			goto cleanup;
		}
		pfd[p - ports] = (struct pollfd){ .fd = xsk_socket__fd(p->xsk),
						  .events = POLLIN };
	}
	/* sockets are in the map before the first frame is redirected */
	err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.xsk_redirect),
			     o.xdp_flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (err) {
		fprintf(stderr, "attaching XDP (%s) to %s: %s\n", o.xdp_mode, o.iface,
			strerror(-err));
		goto cleanup;
	}
	attached = 1;
	bench_ready();

	start = bench_now_ns();
	rx_nap_init(&nap, o.sleep_us);
	while (!bench_stop) {
		unsigned int got = 0;

		for (unsigned int i = 0; i < nports; i++)
			got += port_rx(&ports[i], &o, &cnt);
		rx_nap_got(&nap, got);
		if (got || o.busy)
			continue;
		nap_us = rx_nap_next(&nap, o.ring);
		if (nap_us) {
			cnt.naps++;
			usleep(nap_us);
			continue;
		}
		cnt.polls++;
		poll(pfd, nports, 100);
	}
	print_result(&o, ports, nports, &cnt, bench_now_ns() - start);

cleanup:
	if (attached) {
		detach_opts.old_prog_fd = bpf_program__fd(skel->progs.xsk_redirect);
		if (bpf_xdp_detach(ifindex, o.xdp_flags, &detach_opts))
			fprintf(stderr, "detaching XDP from %s failed\n", o.iface);
	}
	for (unsigned int i = 0; i < nports; i++)
		port_close(&ports[i]);
	xsk_redirect_bpf__destroy(skel);
	return err ? 1 : 0;
}
