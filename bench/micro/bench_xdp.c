// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench-xdp: what the XDP program costs per packet, measured with
 * BPF_PROG_TEST_RUN side by side with a bare XDP_PASS program (the floor:
 * the cost of test_run itself).
 *
 * Every column (the floor; the sensor with default action count; with
 * capture, which without an AF_XDP socket ends as capture_no_socket and
 * XDP_PASS) is its own loaded instance, run in the same trial as the
 * others, A/B interleaved:
 *   - one TCP/IPv4 frame and one TCP/IPv6 frame, one test_run call of
 *     `repeat` runs per column (one flow: every run but the first hits its
 *     entry), the order of the columns reversed every other trial;
 *   - a mix spread over N distinct flows (100,000 by default), one frame
 *     per flow, walked round-robin with one test_run call per frame
 *     (repeat would re-run the same frame), the columns taking turns every
 *     `block` frames: first on emptied flow tables (every frame inserts its
 *     flow), then again (every frame hits its entry, far out of cache: the
 *     steady state).
 * Three clocks: kern (opts.duration, what test_run measured around the
 * program runs, syscall excluded), wall (CLOCK_MONOTONIC around the test_run
 * calls, syscall included, nothing subtracted) and cpu (the same stretch by
 * this thread's CPU clock: wall less the time other tasks took on this CPU).
 *
 * Needs root (loading BPF programs, BPF_PROG_TEST_RUN). Exit status: 0,
 * 1 on error, 77 when it cannot run here (no privilege, no BPF).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpsensor.h"
#include "flow_parse.h"
#include "mem_latency.h"
#include "datapath.h"
#include "log.h"
#include "rules.h"
#include "xdp_pass.skel.h"

#define EXIT_SKIP 77
#define TRIALS_MAX 101
#define VARIANTS_MAX 6
#define ARMS_MAX 16
#define PKT_MAX 128
#define SENSOR_PROG "xdpsensor_xdp"
#define DEFAULT_SECTION "XDP program microbenchmark (make bench-xdp)"

enum bench_case {
	CASE_TCP4,
	CASE_TCP6,
	CASE_VXLAN_OUTER, /* TCP/IPv4 in VXLAN, keyed on the tunnel (--key-layer outer) */
	CASE_VXLAN_INNER, /* the same frame keyed on the flow inside (the default) */
	CASE_MIX_FIRST,
	CASE_MIX_STEADY,
	CASE_NEAR_FULL, /* inserts into a table 3/4..7/8 full, where flow_export.c keeps it */
	CASE_FULL,      /* inserts refused: the table is full */
	CASE_MAX,
};

enum clock_kind {
	CLK_KERN, /* opts.duration: the program runs only */
	CLK_CPU,  /* this thread's CPU time around the test_run calls */
	CLK_WALL, /* CLOCK_MONOTONIC around the test_run calls */
	CLK_MAX,
};

static const char *const clock_names[CLK_MAX] = {
	[CLK_KERN] = "kern", [CLK_CPU] = "cpu", [CLK_WALL] = "wall",
};

struct pkt {
	__u8 data[PKT_MAX];
	__u32 len;
};

/* A loaded program: the floor or a build of the sensor. */
struct prog {
	char label[32];
	int fd;
	int flows_fd, stats_fd, config_fd; /* -1 for the floor */
	__u32 flows_type;
	struct bpf_prog_info info;
	struct xdp_pass_bpf *pass;
	struct xdpsensor_bpf *skel;
	struct bpf_object *obj;
};

/* One column of the results: a program and the default action it runs with. */
struct arm {
	struct prog *prog;
	__u32 action; /* enum xs_action; XS_ACTION_NONE for the floor */
	double ns[CASE_MAX][CLK_MAX][TRIALS_MAX];
	__u64 steady_new; /* flows created by steady-state passes: must be 0 */
	__u64 full_expected; /* packets CASE_FULL finds the table full with */
	bool no_flows;    /* an ablated build that keeps no flow table */
};

struct bench_opts {
	__u32 repeat;     /* single-flow cases: runs per test_run call */
	__u32 mix_repeat; /* mix: runs per frame per test_run call */
	__u32 flows;      /* distinct flows of the mix */
	__u32 flows_max;  /* max_entries of the flows map */
	__u32 block;      /* mix: frames per A/B block */
	int trials;
	int cpu;
	bool act_count, act_capture;
	bool do_single, do_mix;
	const char *results, *section, *invoked_as;
	struct { char label[32]; const char *path; } variant[VARIANTS_MAX];
	int variants;
};

/* the floor, and one loaded instance of the sensor per arm: arms share no map */
static struct prog floor_prog, sensor[ARMS_MAX];
static int nsensors;
static struct arm arms[ARMS_MAX];
static int narms;
static struct rules rules; /* large: not on the stack */

/* ---- packets -------------------------------------------------------- */

static void put16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

static void put32(__u8 *p, __u32 v)
{
	put16(p, (__u16)(v >> 16));
	put16(p + 2, (__u16)v);
}

static __u32 put_eth(__u8 *p, __u16 ethertype)
{
	static const __u8 dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 src[6] = { 0x02, 0, 0, 0, 0, 0x01 };

	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, ethertype);
	return XS_ETH_HLEN;
}

/* TCP (ACK, no options) or UDP header with `payload` zero bytes after it. */
static __u32 put_l4(__u8 *p, __u8 proto, __u16 sport, __u16 dport, __u32 payload)
{
	put16(p, sport);
	put16(p + 2, dport);
	if (proto == XS_IPPROTO_TCP) {
		put32(p + 4, 0x01000000); /* seq */
		put32(p + 8, 0x02000000); /* ack */
		p[12] = 5 << 4;           /* data offset */
		p[13] = 0x10;             /* ACK */
		put16(p + 14, 65535);     /* window */
		return 20 + payload;
	}
	put16(p + 4, (__u16)(8 + payload));
	return 8 + payload;
}

static __u16 ip_csum(const __u8 *h, __u32 len)
{
	__u32 sum = 0;

	for (__u32 i = 0; i < len; i += 2)
		sum += (__u32)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Ethernet + IPv4 + TCP/UDP, padded to the 60-byte Ethernet minimum. */
static void build_v4(struct pkt *k, __u8 proto, __u32 saddr, __u32 daddr,
		     __u16 sport, __u16 dport)
{
	__u8 *p = k->data, *ip;
	__u32 off = put_eth(p, XS_ETH_P_IP), l4;

	memset(p + off, 0, PKT_MAX - off);
	ip = p + off;
	l4 = put_l4(ip + 20, proto, sport, dport, 6);
	ip[0] = 0x45;
	put16(ip + 2, (__u16)(20 + l4));
	put16(ip + 4, 0x1234); /* id */
	ip[6] = 0x40;          /* DF */
	ip[8] = 64;            /* ttl */
	ip[9] = proto;
	put32(ip + 12, saddr);
	put32(ip + 16, daddr);
	put16(ip + 10, ip_csum(ip, 20));
	k->len = off + 20 + l4;
	if (k->len < 60)
		k->len = 60;
}

/* inner in VXLAN (VNI 42) from 192.0.2.1:49152 to 192.0.2.2:4789. */
static void build_vxlan(struct pkt *k, const struct pkt *inner)
{
	__u8 *p = k->data, *ip, *udp;
	__u32 off = put_eth(p, XS_ETH_P_IP), n = 20 + 8 + 8 + inner->len;

	memset(p + off, 0, PKT_MAX - off);
	ip = p + off;
	ip[0] = 0x45;
	put16(ip + 2, (__u16)n);
	ip[8] = 64;
	ip[9] = XS_IPPROTO_UDP;
	put32(ip + 12, 0xc0000201);
	put32(ip + 16, 0xc0000202);
	put16(ip + 10, ip_csum(ip, 20));
	udp = ip + 20;
	put16(udp, 49152);
	put16(udp + 2, XS_UDP_VXLAN);
	put16(udp + 4, (__u16)(n - 20));
	udp[8] = 0x08; /* VNI present */
	udp[14] = 42;
	memcpy(udp + 16, inner->data, inner->len);
	k->len = off + n;
}

/* Ethernet + IPv6 + TCP/UDP. */
static void build_v6(struct pkt *k, __u8 proto, const __u8 saddr[16],
		     const __u8 daddr[16], __u16 sport, __u16 dport)
{
	__u8 *p = k->data, *ip;
	__u32 off = put_eth(p, XS_ETH_P_IPV6), l4;

	memset(p + off, 0, PKT_MAX - off);
	ip = p + off;
	l4 = put_l4(ip + 40, proto, sport, dport, 0);
	ip[0] = 0x60;
	put16(ip + 4, (__u16)l4);
	ip[6] = proto;
	ip[7] = 64; /* hop limit */
	memcpy(ip + 8, saddr, 16);
	memcpy(ip + 24, daddr, 16);
	k->len = off + 40 + l4;
}

static void v6_addr(__u8 out[16], __u16 net, __u32 host)
{
	static const __u8 base[16] = { 0x20, 0x01, 0x0d, 0xb8 }; /* 2001:db8::/32 */

	memcpy(out, base, 16);
	put16(out + 4, net);
	put32(out + 12, host);
}

/*
 * Flow i of the mix: half TCP/IPv4, a quarter UDP/IPv4, a quarter
 * TCP/IPv6; every client address is distinct (10.0.0.0/8 and
 * 2001:db8:1::/64), so are the flows. Every second group of four is the
 * server's reply, so both orders of the key normalization run.
 */
static void build_mix(struct pkt *k, __u32 i)
{
	static const __u16 tcp_ports[] = { 443, 80, 8080, 22 };
	__u32 client = 0x0a000000u | (i & 0xffffff);
	__u32 server = 0xc0000200u | (1 + i % 200); /* 192.0.2.x */
	__u16 cport = (__u16)(1024 + (i * 7919u) % 60000);
	bool reply = (i >> 2) & 1;
	__u8 c6[16], s6[16];

	switch (i % 4) {
	case 0:
	case 1: {
		__u16 sport = tcp_ports[(i >> 3) % 4];

		if (reply)
			build_v4(k, XS_IPPROTO_TCP, server, client, sport, cport);
		else
			build_v4(k, XS_IPPROTO_TCP, client, server, cport, sport);
		break;
	}
	case 2:
		if (reply)
			build_v4(k, XS_IPPROTO_UDP, server, client, 53, cport);
		else
			build_v4(k, XS_IPPROTO_UDP, client, server, cport, 53);
		break;
	default:
		v6_addr(c6, 1, i);
		v6_addr(s6, 2, 1 + i % 200);
		if (reply)
			build_v6(k, XS_IPPROTO_TCP, s6, c6, 443, cport);
		else
			build_v6(k, XS_IPPROTO_TCP, c6, s6, cport, 443);
		break;
	}
}

/* ---- loading -------------------------------------------------------- */

static int prog_get_info(struct prog *p)
{
	__u32 len = sizeof(p->info);

	memset(&p->info, 0, len);
	return bpf_obj_get_info_by_fd(p->fd, &p->info, &len) ? -errno : 0;
}

static int load_floor(struct prog *p)
{
	int err;

	snprintf(p->label, sizeof(p->label), "floor (XDP_PASS)");
	p->flows_fd = p->stats_fd = p->config_fd = -1;
	p->pass = xdp_pass_bpf__open_and_load();
	if (!p->pass)
		return -errno;
	p->fd = bpf_program__fd(p->pass->progs.xdp_pass);
	err = prog_get_info(p);
	return err;
}

static int finish_sensor(struct prog *p, struct bpf_map *flows, struct bpf_map *stats,
			 struct bpf_map *config)
{
	p->flows_fd = bpf_map__fd(flows);
	p->stats_fd = bpf_map__fd(stats);
	p->config_fd = bpf_map__fd(config);
	p->flows_type = bpf_map__type(flows);
	return prog_get_info(p);
}

/* The sensor as the daemon loads it: build/xdpsensor.skel.h. */
static int load_sensor_skel(struct prog *p, __u32 flows_max)
{
	struct xdpsensor_bpf *s;

	snprintf(p->label, sizeof(p->label), "xdpsensor");
	s = datapath_load(&(struct datapath_opts){ .flows_max = flows_max });
	if (!s)
		return -EPERM; /* datapath_load said why */
	p->skel = s;
	p->fd = bpf_program__fd(s->progs.xdpsensor_xdp);
	return finish_sensor(p, s->maps.flows, s->maps.stats, s->maps.config);
}

/* A variant build of the sensor from an object file (same program and map
 * names), e.g. with another type for the flows map. */
static int load_sensor_obj(struct prog *p, const char *label, const char *path,
			   __u32 flows_max)
{
	struct bpf_map *flows, *stats, *config;
	struct bpf_program *bp;
	int err;

	snprintf(p->label, sizeof(p->label), "%s", label);
	p->obj = bpf_object__open_file(path, NULL);
	if (!p->obj) {
		err = -errno;
		pr_warn("cannot open %s: %s\n", path, strerror(-err));
		return err;
	}
	flows = bpf_object__find_map_by_name(p->obj, "flows");
	stats = bpf_object__find_map_by_name(p->obj, "stats");
	config = bpf_object__find_map_by_name(p->obj, "config");
	bp = bpf_object__find_program_by_name(p->obj, SENSOR_PROG);
	if (!flows || !stats || !config || !bp) {
		pr_warn("%s is not a build of the sensor (no program " SENSOR_PROG
			" or no flows/stats/config map)\n", path);
		return -ENOENT;
	}
	if (flows_max)
		bpf_map__set_max_entries(flows, flows_max);
	err = bpf_object__load(p->obj);
	if (err) {
		pr_warn("cannot load %s: %s (-v shows the verifier's log)\n", path,
			strerror(-err));
		return err;
	}
	p->fd = bpf_program__fd(bp);
	return finish_sensor(p, flows, stats, config);
}

static void prog_unload(struct prog *p)
{
	xdp_pass_bpf__destroy(p->pass);
	xdpsensor_bpf__destroy(p->skel);
	bpf_object__close(p->obj);
	memset(p, 0, sizeof(*p));
}

/* Writes the default action into the config map (rules_init's defaults:
 * no rules, no sampling). */
static int set_action(struct prog *p, __u32 action)
{
	__u32 zero = 0;

	rules_init(&rules, action);
	if (p->skel)
		return rules_apply(&rules, p->skel);
	if (bpf_map_update_elem(p->config_fd, &zero, &rules.config, BPF_ANY)) {
		int err = -errno;

		pr_warn("%s: cannot write the config map: %s\n", p->label, strerror(-err));
		return err;
	}
	return 0;
}

/* The key layer of a sensor (xs_config.decap_max; the floor has none). */
static int set_decap(struct prog *p, __u32 decap_max)
{
	struct xs_config cfg;
	__u32 zero = 0;

	if (p->config_fd < 0)
		return 0;
	if (bpf_map_lookup_elem(p->config_fd, &zero, &cfg))
		return -errno;
	cfg.decap_max = decap_max;
	return bpf_map_update_elem(p->config_fd, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

/* ---- measuring ------------------------------------------------------ */

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* Both clocks around a stretch of test_run calls: wall time, and the CPU
 * time of this thread (syscalls included, other tasks' time on this CPU
 * excluded: on a shared machine it is the wall time without the noise). */
struct stamp {
	__u64 wall, cpu;
};

static struct stamp stamp_now(void)
{
	return (struct stamp){ clock_ns(CLOCK_MONOTONIC), clock_ns(CLOCK_THREAD_CPUTIME_ID) };
}

static int test_run_err(const struct prog *p, int err, __u32 retval)
{
	if (err)
		pr_warn("%s: BPF_PROG_TEST_RUN failed: %s\n", p->label, strerror(-err));
	else
		pr_warn("%s: returned %u, expected XDP_PASS (%u): the packet did not take"
			" the path the benchmark means to measure\n", p->label, retval,
			XDP_PASS);
	return err ? err : -EPROTO;
}

/* One frame, run `repeat` times by the kernel. */
static int measure_single(struct arm *a, int c, int trial, const struct pkt *k,
			  __u32 repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = k->data, .data_size_in = k->len,
		    .repeat = repeat);
	struct stamp t0, t1;
	int err;

	t0 = stamp_now();
	err = bpf_prog_test_run_opts(a->prog->fd, &o);
	t1 = stamp_now();
	if (err || o.retval != XDP_PASS)
		return test_run_err(a->prog, err ? -errno : 0, o.retval);
	a->ns[c][CLK_KERN][trial] = o.duration;
	a->ns[c][CLK_WALL][trial] = (double)(t1.wall - t0.wall) / repeat;
	a->ns[c][CLK_CPU][trial] = (double)(t1.cpu - t0.cpu) / repeat;
	return 0;
}

/* Frames [from, to) of the mix, in order, `repeat` runs per test_run call;
 * adds the time by every clock to t[CLK_*]. */
static int run_block(const struct arm *a, const struct pkt *mix, __u32 from, __u32 to,
		     __u32 repeat, __u64 t[CLK_MAX])
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = repeat);
	struct stamp t0 = stamp_now(), t1;
	__u64 k = 0;
	int err;

	for (__u32 i = from; i < to; i++) {
		o.data_in = mix[i].data;
		o.data_size_in = mix[i].len;
		o.data_size_out = 0; /* the kernel wrote back the last frame's size */
		err = bpf_prog_test_run_opts(a->prog->fd, &o);
		if (err || o.retval != XDP_PASS)
			return test_run_err(a->prog, err ? -errno : 0, o.retval);
		k += (__u64)o.duration * repeat;
	}
	t1 = stamp_now();
	t[CLK_KERN] += k;
	t[CLK_CPU] += t1.cpu - t0.cpu;
	t[CLK_WALL] += t1.wall - t0.wall;
	return 0;
}

/* Empties the flows map: the keys of the mix and of the single flows,
 * computed by the same parser the datapath runs. */
static int clear_flows(const struct prog *p, const struct flow_key *keys, __u32 n)
{
	struct flow_key k;
	__u32 count = n;

	if (bpf_map_delete_batch(p->flows_fd, keys, &count, NULL)) {
		/* a key was absent (e.g. evicted): one by one, absent is fine */
		for (__u32 i = 0; i < n; i++) {
			if (bpf_map_delete_elem(p->flows_fd, &keys[i]) && errno != ENOENT) {
				int err = -errno;

				pr_warn("%s: cannot empty the flows map: %s\n", p->label,
					strerror(-err));
				return err;
			}
		}
	}
	if (!bpf_map_get_next_key(p->flows_fd, NULL, &k)) {
		pr_warn("%s: the flows map still holds entries the benchmark did not make\n",
			p->label);
		return -EEXIST;
	}
	return 0;
}

static int read_stats(const struct prog *p, __u64 out[XS_STAT_MAX])
{
	int err = datapath_read_stats(p->stats_fd, out);

	if (err)
		pr_warn("%s: cannot read the stats map: %s\n", p->label, strerror(-err));
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct summary {
	double med, min, max;
};

static struct summary summarize(const double *v, int n)
{
	double s[TRIALS_MAX];
	struct summary r;

	memcpy(s, v, sizeof(*v) * n);
	qsort(s, n, sizeof(*s), cmp_double);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

/* Ratio of the medians, and the range of the per-trial ratios (the floor
 * and the sensor of one trial ran back to back). */
static struct summary ratio(const struct arm *a, const struct arm *f, int c, int clk,
			    int n)
{
	double r[TRIALS_MAX];
	struct summary s;

	for (int t = 0; t < n; t++)
		r[t] = a->ns[c][clk][t] / f->ns[c][clk][t];
	s = summarize(r, n);
	s.med = summarize(a->ns[c][clk], n).med / summarize(f->ns[c][clk], n).med;
	return s;
}

/* ---- the run -------------------------------------------------------- */

struct bench {
	struct bench_opts o;
	struct pkt tcp4, tcp6, vxlan;
	struct pkt *mix;
	struct flow_key *keys; /* mix keys, then the single-flow keys */
	__u32 nkeys;
	struct flow_key *fillers; /* flows_max keys no packet has, to fill a table */
	struct flow_stats *filler_vals;
	double mem_mib, mem_ns; /* mem_random_read_ns() over the flow table's size */
};

#define CASE_LAST_SINGLE CASE_VXLAN_INNER

static bool case_enabled(const struct bench *b, int c)
{
	return c <= CASE_LAST_SINGLE ? b->o.do_single : b->o.do_mix;
}

static int key_of(const struct pkt *k, __u32 decap_max, struct flow_key *out)
{
	struct xs_packet p;
	int err = xs_parse_frame(k->data, k->data + k->len, &p, decap_max);

	if (err) {
		pr_warn("internal error: a generated frame does not parse (stat %d)\n", err);
		return -EINVAL;
	}
	*out = p.key;
	return 0;
}

static int build_packets(struct bench *b)
{
	static const __u8 c6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x10, [15] = 1 };
	static const __u8 s6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x20, [15] = 1 };
	__u32 n = b->o.flows;
	int err;

	/* 198.51.100.1:40000 -> 203.0.113.1:443 and the same over IPv6 */
	build_v4(&b->tcp4, XS_IPPROTO_TCP, 0xc6336401, 0xcb007101, 40000, 443);
	build_v6(&b->tcp6, XS_IPPROTO_TCP, c6, s6, 40000, 443);
	build_vxlan(&b->vxlan, &b->tcp4);
	b->mix = calloc(n, sizeof(*b->mix));
	b->keys = calloc(n + 3, sizeof(*b->keys));
	if (!b->mix || !b->keys)
		return -ENOMEM;
	for (__u32 i = 0; i < n; i++) {
		build_mix(&b->mix[i], i);
		err = key_of(&b->mix[i], XS_MAX_DECAP, &b->keys[i]);
		if (err)
			return err;
	}
	err = key_of(&b->tcp4, XS_MAX_DECAP, &b->keys[n]);
	if (!err)
		err = key_of(&b->tcp6, XS_MAX_DECAP, &b->keys[n + 1]);
	/* the VXLAN frame keyed on the tunnel (CASE_VXLAN_OUTER); inside, it
	 * is tcp4's flow */
	if (!err)
		err = key_of(&b->vxlan, 0, &b->keys[n + 2]);
	b->nkeys = n + 3;
	/* fillers: IPv4 protocol 253 (experiments), which the mix never sends */
	b->fillers = calloc(b->o.flows_max, sizeof(*b->fillers));
	b->filler_vals = calloc(b->o.flows_max, sizeof(*b->filler_vals));
	if (!b->fillers || !b->filler_vals)
		return -ENOMEM;
	for (__u32 i = 0; i < b->o.flows_max; i++) {
		struct flow_key *k = &b->fillers[i];

		k->family = XS_FAMILY_IPV4;
		k->proto = 253;
		k->addr_a[10] = k->addr_a[11] = k->addr_b[10] = k->addr_b[11] = 0xff;
		k->addr_a[12] = 10;
		k->addr_a[13] = (__u8)(i >> 16);
		k->addr_a[14] = (__u8)(i >> 8);
		k->addr_a[15] = (__u8)i;
		k->addr_b[12] = 10;
		k->port_a = (__u16)(i >> 24);
		b->filler_vals[i].packets[0] = 1;
	}
	return err;
}

/*
 * One pass over the mix on every arm, A/B interleaved in blocks of frames
 * (a block on each arm in turn, the order reversed from one block to the
 * next), so that the noise of a shared machine falls on all arms alike.
 * CASE_MIX_FIRST empties the flow tables first: every frame inserts its
 * flow; CASE_MIX_STEADY finds every entry in place. trial < 0: warm-up,
 * nothing recorded.
 */
static int run_mix(struct bench *b, int c, int trial)
{
	__u64 tm[ARMS_MAX][CLK_MAX] = { 0 };
	__u64 before[ARMS_MAX][XS_STAT_MAX], after[XS_STAT_MAX];
	__u32 n = b->o.flows, bs = b->o.block, rep = trial < 0 ? 1 : b->o.mix_repeat;
	int err = 0;

	for (int i = 1; !err && i < narms; i++) {
		if (c == CASE_MIX_FIRST)
			err = clear_flows(arms[i].prog, b->keys, b->nkeys);
		if (!err)
			err = read_stats(arms[i].prog, before[i]);
	}
	for (__u32 from = 0, blk = 0; !err && from < n; from += bs, blk++) {
		__u32 to = n - from < bs ? n : from + bs;

		for (int j = 0; !err && j < narms; j++) {
			int i = (blk + (trial > 0 ? trial : 0)) % 2 ? narms - 1 - j : j;

			err = run_block(&arms[i], b->mix, from, to, rep, tm[i]);
		}
	}
	for (int i = 1; !err && i < narms; i++) {
		struct arm *a = &arms[i];
		__u64 created;

		if ((err = read_stats(a->prog, after)))
			break;
		created = after[XS_STAT_FLOW_NEW] - before[i][XS_STAT_FLOW_NEW];
		if (c == CASE_MIX_STEADY) {
			a->steady_new += created;
		} else if (trial < 0 && created == 0) {
			/* an ablated build, for an experiment: say so, go on */
			printf("  note: %s creates no flow entries\n", a->prog->label);
			a->no_flows = true;
		} else if (created != n && !a->no_flows) {
			pr_warn("%s: %llu of the %u flows of the mix got an entry (table full: %llu);"
				" raise --flows-max\n", a->prog->label, (unsigned long long)created, n,
				(unsigned long long)(after[XS_STAT_FLOW_TABLE_FULL] -
						     before[i][XS_STAT_FLOW_TABLE_FULL]));
			err = -ENOSPC;
		}
	}
	for (int i = 0; !err && trial >= 0 && i < narms; i++) {
		for (int k = 0; k < CLK_MAX; k++)
			arms[i].ns[c][k][trial] = (double)tm[i][k] / ((double)n * rep);
	}
	return err;
}

/* Frames of the mix the nearly-full cases insert: 1/8 of the table. */
static __u32 fill_inserts(const struct bench *b)
{
	__u32 n = b->o.flows_max / 8;

	return n < b->o.flows ? n : b->o.flows;
}

/*
 * Inserts into a table that already holds fillers (entries no frame
 * matches): CASE_NEAR_FULL from 7/8 - 1/8 to 7/8 full, the band the
 * exporter keeps a busy table in (it evicts past 7/8); CASE_FULL into a
 * full table, every insert refused (flow_table_full): what a packet of a
 * new flow costs when eviction falls behind. A/B interleaved as the mix.
 */
static int run_fill(struct bench *b, int c, int trial)
{
	__u64 tm[ARMS_MAX][CLK_MAX] = { 0 };
	__u32 n = fill_inserts(b), bs = b->o.block, rep = trial < 0 ? 1 : b->o.mix_repeat;
	__u32 max = b->o.flows_max, fill = c == CASE_FULL ? max : max - max / 8 - n;
	int err = 0;

	for (int i = 1; !err && i < narms; i++) {
		__u32 count = fill;

		err = clear_flows(arms[i].prog, b->keys, b->nkeys);
		if (!err && bpf_map_update_batch(arms[i].prog->flows_fd, b->fillers, b->filler_vals,
						 &count, NULL)) {
			err = -errno;
			pr_warn("%s: cannot fill the flows map: %s\n", arms[i].prog->label,
				strerror(-err));
		}
	}
	for (__u32 from = 0, blk = 0; !err && from < n; from += bs, blk++) {
		__u32 to = n - from < bs ? n : from + bs;

		for (int j = 0; !err && j < narms; j++) {
			int i = (blk + (trial > 0 ? trial : 0)) % 2 ? narms - 1 - j : j;

			err = run_block(&arms[i], b->mix, from, to, rep, tm[i]);
		}
	}
	for (int i = 1; !err && i < narms; i++) {
		__u32 count = fill;

		if (c == CASE_FULL)
			arms[i].full_expected += (__u64)n * rep;
		if (bpf_map_delete_batch(arms[i].prog->flows_fd, b->fillers, &count, NULL))
			err = -errno;
		if (!err)
			err = clear_flows(arms[i].prog, b->keys, b->nkeys);
	}
	for (int i = 0; !err && trial >= 0 && i < narms; i++) {
		for (int k = 0; k < CLK_MAX; k++)
			arms[i].ns[c][k][trial] = (double)tm[i][k] / ((double)n * rep);
	}
	return err;
}

/* The single-flow cases: one test_run call per arm, the order of the arms
 * reversed on odd trials. */
static int run_single(struct bench *b, int c, int trial)
{
	const struct pkt *k = c == CASE_TCP4 ? &b->tcp4 : c == CASE_TCP6 ? &b->tcp6 : &b->vxlan;
	__u32 repeat = trial < 0 ? 10000 : b->o.repeat;
	int err = 0;

	for (int j = 0; !err && c == CASE_VXLAN_OUTER && j < narms; j++)
		err = set_decap(arms[j].prog, 0);
	for (int j = 0; !err && j < narms; j++) {
		struct arm *a = &arms[trial % 2 ? narms - 1 - j : j];

		err = measure_single(a, c, trial < 0 ? 0 : trial, k, repeat);
	}
	for (int j = 0; c == CASE_VXLAN_OUTER && j < narms; j++)
		err = set_decap(arms[j].prog, XS_MAX_DECAP) ?: err;
	return err;
}

static int run_case(struct bench *b, int c, int trial)
{
	if (c <= CASE_LAST_SINGLE)
		return run_single(b, c, trial);
	return c <= CASE_MIX_STEADY ? run_mix(b, c, trial) : run_fill(b, c, trial);
}

/* Warm-up: faults everything in, checks that every program passes every
 * frame and that every flow of the mix gets an entry. */
static int warm_up(struct bench *b)
{
	int err = 0;

	for (int c = 0; !err && c < CASE_MAX; c++) {
		if (case_enabled(b, c))
			err = run_case(b, c, -1);
	}
	return err;
}

/* ---- reporting ------------------------------------------------------ */

static const char *case_name(const struct bench *b, int c, char *buf, size_t len)
{
	switch (c) {
	case CASE_TCP4:
		snprintf(buf, len, "TCP/IPv4, 1 flow");
		break;
	case CASE_TCP6:
		snprintf(buf, len, "TCP/IPv6, 1 flow");
		break;
	case CASE_VXLAN_OUTER:
		snprintf(buf, len, "VXLAN, outer key, 1 flow");
		break;
	case CASE_VXLAN_INNER:
		snprintf(buf, len, "VXLAN, inner key, 1 flow");
		break;
	case CASE_MIX_FIRST:
		snprintf(buf, len, "mix %u flows, first insert", b->o.flows);
		break;
	case CASE_MIX_STEADY:
		snprintf(buf, len, "mix %u flows, steady", b->o.flows);
		break;
	case CASE_NEAR_FULL:
		snprintf(buf, len, "insert, table 3/4..7/8 full");
		break;
	default:
		snprintf(buf, len, "insert refused, table full");
		break;
	}
	return buf;
}

/* The rows of the table. Single flow: kern, and cpu (the syscall is spread
 * over `repeat` runs; opts.duration is whole ns, truncated, the cpu clock
 * gives the finer floor; wall would only show this thread's share of a
 * busy CPU). Mix: wall (the measure asked for), cpu, kern. */
static int rows(const struct bench *b, int row_case[], int row_clk[])
{
	static const int single[] = { CLK_KERN, CLK_CPU }, mix[] = { CLK_WALL, CLK_CPU, CLK_KERN };
	int n = 0;

	for (int c = 0; c < CASE_MAX; c++) {
		const int *k = c <= CASE_LAST_SINGLE ? single : mix;
		int nk = c <= CASE_LAST_SINGLE ? 2 : 3;

		if (!case_enabled(b, c))
			continue;
		for (int j = 0; j < nk; j++) {
			row_case[n] = c;
			row_clk[n++] = k[j];
		}
	}
	return n;
}

static void arm_name(const struct arm *a, char *buf, size_t len)
{
	if (!a->action)
		snprintf(buf, len, "floor");
	else
		snprintf(buf, len, "%s %s", a->prog->label, action_name(a->action));
}

static void print_table(const struct bench *b, FILE *f)
{
	int rc[CASE_MAX * CLK_MAX], rk[CASE_MAX * CLK_MAX], nr = rows(b, rc, rk), n = b->o.trials;
	char name[96], cell[64];

	fprintf(f, "\nns per packet, median [min..max] of %d trials; ratio = sensor median /"
		" floor median [range of the per-trial ratios]\n", n);
	fprintf(f, "kern = what test_run measured around the program runs (syscall excluded);"
		" wall = clock around the test_run calls (syscall included); cpu = this"
		" thread's CPU time around them (syscall included, other tasks excluded)\n\n");
	fprintf(f, "%-32s %-4s", "case", "clk");
	for (int i = 0; i < narms; i++) {
		arm_name(&arms[i], name, sizeof(name));
		fprintf(f, " %22s", name);
		if (arms[i].action)
			fprintf(f, " %18s", "ratio");
	}
	fputc('\n', f);
	for (int r = 0; r < nr; r++) {
		fprintf(f, "%-32s %-4s", case_name(b, rc[r], name, sizeof(name)),
			clock_names[rk[r]]);
		for (int i = 0; i < narms; i++) {
			struct summary s = summarize(arms[i].ns[rc[r]][rk[r]], n);

			snprintf(cell, sizeof(cell), "%.1f [%.1f..%.1f]", s.med, s.min, s.max);
			fprintf(f, " %22s", cell);
			if (arms[i].action) {
				s = ratio(&arms[i], &arms[0], rc[r], rk[r], n);
				snprintf(cell, sizeof(cell), "%.2fx [%.2f..%.2f]", s.med, s.min,
					 s.max);
				fprintf(f, " %18s", cell);
			}
		}
		fputc('\n', f);
	}
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !v)
			continue;
		v += 1 + strspn(v + 1, " \t");
		v[strcspn(v, "\n")] = '\0';
		snprintf(buf, len, "%s", v);
		break;
	}
	if (f)
		fclose(f);
}

static long read_sysctl(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The kernel's account of a map's memory (fdinfo "memlock"), in MiB. */
static double map_memlock_mib(int fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	}
	if (f)
		fclose(f);
	return (double)v / (1024 * 1024);
}

static const char *map_type_name(__u32 t)
{
	switch (t) {
	case BPF_MAP_TYPE_HASH: return "BPF_MAP_TYPE_HASH";
	case BPF_MAP_TYPE_LRU_HASH: return "BPF_MAP_TYPE_LRU_HASH";
	case BPF_MAP_TYPE_PERCPU_HASH: return "BPF_MAP_TYPE_PERCPU_HASH";
	case BPF_MAP_TYPE_LRU_PERCPU_HASH: return "BPF_MAP_TYPE_LRU_PERCPU_HASH";
	default: return "another map type";
	}
}

/* A growable string for the Markdown section. */
struct sbuf {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s) {
			b->len = b->cap = 0;
			return;
		}
	}
}

static void sb_cmdline(struct sbuf *sb, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		bool plain = argv[i][0] && !argv[i][strspn(argv[i], "abcdefghijklmnopqrstuvwxyz"
						    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:+")];

		sb_printf(sb, plain ? "%s%s" : "%s'%s'", i ? " " : "", argv[i]);
	}
}

/* The verdict on the target: the mix within `limit` times the floor. */
static void target_lines(const struct bench *b, struct sbuf *sb, double limit)
{
	char cname[64];

	sb_printf(sb, "The program's own cost (kern, sensor median - floor median), ns/pkt:\n\n");
	for (int i = 1; i < narms; i++) {
		char name[96];

		arm_name(&arms[i], name, sizeof(name));
		sb_printf(sb, "- %s:", name);
		for (int c = 0; c < CASE_MAX; c++) {
			if (!case_enabled(b, c))
				continue;
			sb_printf(sb, " %s %.0f;", case_name(b, c, cname, sizeof(cname)),
				  summarize(arms[i].ns[c][CLK_KERN], b->o.trials).med -
				  summarize(arms[0].ns[c][CLK_KERN], b->o.trials).med);
		}
		sb->len -= sb->s && sb->s[sb->len - 1] == ';';
		sb_printf(sb, "\n");
	}
	sb_printf(sb, "\nTarget: the %u-flow mix within %.0fx the floor. On the wall and cpu"
		  " clocks the floor is one bpf() syscall per frame (%.0f ns cpu here), which"
		  " the ratio mostly measures; on the kern clock the floor is test_run's own"
		  " timer (%.0f ns) and the ratio is the program's.\n\n", b->o.flows, limit,
		  summarize(arms[0].ns[CASE_MIX_STEADY][CLK_CPU], b->o.trials).med,
		  summarize(arms[0].ns[CASE_MIX_STEADY][CLK_KERN], b->o.trials).med);
	if (b->mem_ns > 0) {
		double fl = summarize(arms[0].ns[CASE_MIX_STEADY][CLK_KERN], b->o.trials).med;

		sb_printf(sb, "Memory, measured in the same run: one random read in %.0f MiB of"
			  " 4 KiB pages (the flow table's size; a pointer chase) takes %.0f ns"
			  " here. Every packet of the mix reads its hash bucket, then its flow"
			  " entry: two dependent reads in a table this size, %.0f ns, on top of"
			  " the program's own work. On the kern clock %.0fx the floor leaves the"
			  " program %.0f ns, %s those two reads.\n\n", b->mem_mib, b->mem_ns,
			  2 * b->mem_ns, limit, (limit - 1) * fl,
			  (limit - 1) * fl < 2 * b->mem_ns ? "less than" : "more than");
	}
	for (int i = 1; i < narms; i++) {
		const struct arm *a = &arms[i];
		char name[96];

		arm_name(a, name, sizeof(name));
		for (int c = CASE_MIX_FIRST; c <= CASE_MIX_STEADY; c++) {
			double w = ratio(a, &arms[0], c, CLK_WALL, b->o.trials).med;
			double u = ratio(a, &arms[0], c, CLK_CPU, b->o.trials).med;
			double k = ratio(a, &arms[0], c, CLK_KERN, b->o.trials).med;

			sb_printf(sb, "- %s, %s: wall %.2fx (%s), cpu %.2fx (%s), program alone"
				  " (kern) %.2fx (%s)\n", name,
				  c == CASE_MIX_FIRST ? "first insert" : "steady state",
				  w, w <= limit ? "met" : "NOT met", u, u <= limit ? "met" : "NOT met",
				  k, k <= limit ? "met" : "NOT met");
		}
	}
}

static char *markdown(const struct bench *b, int argc, char **argv)
{
	int rc[CASE_MAX * CLK_MAX], rk[CASE_MAX * CLK_MAX], nr = rows(b, rc, rk), n = b->o.trials;
	char date[64], model[160], name[96];
	struct sbuf sb = { 0 };
	struct utsname u;
	time_t t = time(NULL);

	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	cpu_model(model, sizeof(model));
	uname(&u);
	sb_printf(&sb, "## %s\n\n", b->o.section);
	sb_printf(&sb, "- Date: %s\n", date);
	sb_printf(&sb, "- Machine: %ld CPUs (nproc), %s, Linux %s %s; bpf_jit_enable=%ld,"
		  " bpf_stats_enabled=%ld; benchmark pinned to CPU %d\n",
		  sysconf(_SC_NPROCESSORS_ONLN), model, u.release, u.machine,
		  read_sysctl("/proc/sys/net/core/bpf_jit_enable"),
		  read_sysctl("/proc/sys/kernel/bpf_stats_enabled"), b->o.cpu);
	sb_printf(&sb, "- Command: `%s` (runs `", b->o.invoked_as ? b->o.invoked_as : "-");
	sb_cmdline(&sb, argc, argv);
	sb_printf(&sb, "`)\n");
	sb_printf(&sb, "- Method: BPF_PROG_TEST_RUN; the sensor (one loaded instance per"
		  " column, default action set in the config map, no rules, no AF_XDP"
		  " socket: *capture* ends as capture_no_socket, XDP_PASS) and a bare"
		  " XDP_PASS program (the floor) A/B interleaved in each of %d trials."
		  " Single flow: one frame (TCP/IPv4 60 B, TCP/IPv6 74 B), one test_run call"
		  " with repeat=%u per column, the order of the columns reversed every other"
		  " trial; every run but the first hits the flow's entry. Mix: %u frames of"
		  " %u distinct flows (1/2 TCP/IPv4, 1/4 UDP/IPv4, 1/4 TCP/IPv6, half of"
		  " them replies), round-robin, one test_run call per frame with repeat=%u,"
		  " the columns taking turns every %u frames; *first insert* runs on emptied"
		  " flow tables (every frame creates its entry), *steady* runs again (every"
		  " frame hits its entry, the table being far larger than the caches)."
		  " flows map max_entries=%u. *Insert, table 3/4..7/8 full*: the first"
		  " %u frames of the mix (new flows) into a table already 3/4 full of"
		  " other entries, ending 7/8 full, the band `run` keeps a busy table in"
		  " (it exports and removes the flows idle longest past 7/8); *insert"
		  " refused*: the same frames into a full table (each counted in"
		  " flow_table_full). Clocks: *wall* = CLOCK_MONOTONIC around the"
		  " test_run calls, syscall included, nothing subtracted (the floor pays the"
		  " same syscalls); *cpu* = the same stretch by CLOCK_THREAD_CPUTIME_ID,"
		  " i.e. wall without the time other tasks took on this CPU (on a busy"
		  " machine the one to read); *kern* = opts.duration, what test_run measured"
		  " around the program runs, syscall excluded, whole ns.\n",
		  n, b->o.repeat, b->o.flows, b->o.flows, b->o.mix_repeat, b->o.block,
		  b->o.flows_max, fill_inserts(b));
	for (int i = 0; i < nsensors; i++) {
		const struct prog *p = &sensor[i];

		if (i && !strcmp(p->label, sensor[i - 1].label))
			continue;
		sb_printf(&sb, "- Program `%s`: %u xlated BPF instructions, %u bytes JITed,"
			  " %u instructions verified; flows map %s, %.1f MiB (memlock)\n",
			  p->label, p->info.xlated_prog_len / 8, p->info.jited_prog_len,
			  p->info.verified_insns, map_type_name(p->flows_type),
			  map_memlock_mib(p->flows_fd));
	}
	sb_printf(&sb, "\nns per packet, median (min–max) over the trials; ratio = sensor"
		  " median / floor median (range of the per-trial ratios).\n\n");
	sb_printf(&sb, "| case | clock |");
	for (int i = 0; i < narms; i++) {
		arm_name(&arms[i], name, sizeof(name));
		sb_printf(&sb, " %s ns/pkt |%s", name, arms[i].action ? " ratio |" : "");
	}
	sb_printf(&sb, "\n|---|---|");
	for (int i = 0; i < narms; i++)
		sb_printf(&sb, "---:|%s", arms[i].action ? "---:|" : "");
	sb_printf(&sb, "\n");
	for (int r = 0; r < nr; r++) {
		sb_printf(&sb, "| %s | %s |", case_name(b, rc[r], name, sizeof(name)),
			  clock_names[rk[r]]);
		for (int i = 0; i < narms; i++) {
			struct summary s = summarize(arms[i].ns[rc[r]][rk[r]], n);

			sb_printf(&sb, " %.1f (%.1f–%.1f) |", s.med, s.min, s.max);
			if (arms[i].action) {
				s = ratio(&arms[i], &arms[0], rc[r], rk[r], n);
				sb_printf(&sb, " **%.2fx** (%.2f–%.2f) |", s.med, s.min, s.max);
			}
		}
		sb_printf(&sb, "\n");
	}
	sb_printf(&sb, "\n");
	if (b->o.do_mix)
		target_lines(b, &sb, 4.0);
	return sb.s;
}

/* Replaces the section `body` starts with (its "## " heading line) in the
 * Markdown file at `path`, or appends it; every other section is kept. */
static int results_update(const char *path, const char *body)
{
	size_t hlen = strcspn(body, "\n"), len = 0;
	char *old = NULL, *start = NULL, *end = NULL, tmp[4096];
	FILE *f = fopen(path, "r");
	int err = 0;

	if (f) {
		size_t cap = 0, n;

		do {
			if (len + 4096 + 1 > cap) {
				cap = (cap + 4096) * 2;
				old = realloc(old, cap);
				if (!old) {
					fclose(f);
					return -ENOMEM;
				}
			}
			n = fread(old + len, 1, 4096, f);
			len += n;
		} while (n > 0);
		fclose(f);
		old[len] = '\0';
	} else if (errno != ENOENT) {
		err = -errno;
		pr_warn("cannot read %s: %s\n", path, strerror(-err));
		return err;
	}
	/* the heading, at the start of a line, alone on it */
	for (char *s = old; s && (s = strstr(s, "## ")); s++) {
		if ((s == old || s[-1] == '\n') && !strncmp(s, body, hlen) &&
		    (s[hlen] == '\n' || s[hlen] == '\0')) {
			start = s;
			break;
		}
	}
	for (char *s = start ? start + hlen : NULL; s && (s = strstr(s, "\n## ")); s++) {
		end = s + 1;
		break;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		err = -errno;
		pr_warn("cannot write %s: %s\n", tmp, strerror(-err));
		free(old);
		return err;
	}
	if (!old) {
		fprintf(f, "# xdpsensor benchmark results\n\n%s", body);
	} else if (start) {
		fwrite(old, 1, (size_t)(start - old), f);
		fputs(body, f);
		if (end)
			fprintf(f, "\n%s", end);
	} else {
		fputs(old, f);
		if (len && old[len - 1] != '\n')
			fputc('\n', f);
		if (len && !(len >= 2 && old[len - 2] == '\n' && old[len - 1] == '\n'))
			fputc('\n', f);
		fputs(body, f);
	}
	free(old);
	if (fclose(f) || rename(tmp, path)) {
		err = -errno;
		pr_warn("cannot write %s: %s\n", path, strerror(-err));
		unlink(tmp);
	}
	return err;
}

/* ---- command line --------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: bench-xdp [OPTIONS]\n"
"The XDP program's cost per packet (BPF_PROG_TEST_RUN), next to a bare XDP_PASS\n"
"program. Needs root. Exit status: 0, 1 on error, 77 when it cannot run here.\n"
"\n"
"  -t, --trials N        A/B trials (default 7)\n"
"  -r, --repeat N        runs per test_run call, single-flow cases (default 1000000)\n"
"  -R, --mix-repeat N    runs per frame of the mix (default 1: each frame once per pass)\n"
"  -n, --flows N         distinct flows of the mix (default 100000)\n"
"  -b, --block N         mix: frames per A/B block (default 1000)\n"
"  -m, --flows-max N     max_entries of the flows map (default 131072)\n"
"  -a, --action A        count, capture or both (default both; capture has no\n"
"                        AF_XDP socket here: it ends as capture_no_socket, XDP_PASS)\n"
"  -c, --cases C         single, mix or all (default all)\n"
"      --variant L=FILE  measure this build of the sensor (a .bpf.o) instead of\n"
"                        build/xdpsensor.skel.h, labelled L; repeatable\n"
"      --cpu N           run on CPU N (default: the CPU it starts on)\n"
"  -o, --results FILE    write/replace our section in this Markdown file\n"
"      --section TITLE   the section's title (default \"" DEFAULT_SECTION "\")\n"
"      --invoked-as CMD  the command to cite in the results (e.g. 'make bench-xdp')\n"
"      --quick           -t 3 -r 100000 -n 20000\n"
"  -v, --verbose         libbpf's messages (the verifier's log on failure)\n"
"  -h, --help\n"
"      --version\n");
}

static int parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (*end == 'k')
		v *= 1000, end++;
	else if (*end == 'M')
		v *= 1000000, end++;
	if (!*s || *end || errno || v < min || v > max || *s == '-')
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

static int parse_args(struct bench_opts *o, int argc, char **argv)
{
	enum { OPT_VARIANT = 256, OPT_CPU, OPT_SECTION, OPT_INVOKED, OPT_QUICK, OPT_VERSION };
	static const struct option lo[] = {
		{ "trials", required_argument, NULL, 't' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "mix-repeat", required_argument, NULL, 'R' },
		{ "flows", required_argument, NULL, 'n' },
		{ "block", required_argument, NULL, 'b' },
		{ "flows-max", required_argument, NULL, 'm' },
		{ "action", required_argument, NULL, 'a' },
		{ "cases", required_argument, NULL, 'c' },
		{ "variant", required_argument, NULL, OPT_VARIANT },
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "results", required_argument, NULL, 'o' },
		{ "section", required_argument, NULL, OPT_SECTION },
		{ "invoked-as", required_argument, NULL, OPT_INVOKED },
		{ "quick", no_argument, NULL, OPT_QUICK },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	__u32 v;
	int opt;

	*o = (struct bench_opts){
		.repeat = 1000000, .mix_repeat = 1, .block = 1000, .flows = 100000, .flows_max = 131072,
		.trials = 7, .cpu = -1, .act_count = true, .act_capture = true,
		.do_single = true, .do_mix = true, .section = DEFAULT_SECTION,
	};
	while ((opt = getopt_long(argc, argv, "t:r:R:n:b:m:a:c:o:vh", lo, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (parse_u32(optarg, 1, TRIALS_MAX, &v))
				goto bad;
			o->trials = (int)v;
			break;
		case 'r':
			if (parse_u32(optarg, 1, 100000000, &o->repeat))
				goto bad;
			break;
		case 'R':
			if (parse_u32(optarg, 1, 1000000, &o->mix_repeat))
				goto bad;
			break;
		case 'n':
			if (parse_u32(optarg, 1, 10000000, &o->flows))
				goto bad;
			break;
		case 'b':
			if (parse_u32(optarg, 1, 100000000, &o->block))
				goto bad;
			break;
		case 'm':
			if (parse_u32(optarg, 1, 1u << 26, &o->flows_max))
				goto bad;
			break;
		case 'a':
			o->act_count = !strcmp(optarg, "count") || !strcmp(optarg, "both");
			o->act_capture = !strcmp(optarg, "capture") || !strcmp(optarg, "both");
			if (!o->act_count && !o->act_capture)
				goto bad;
			break;
		case 'c':
			o->do_single = !strcmp(optarg, "single") || !strcmp(optarg, "all");
			o->do_mix = !strcmp(optarg, "mix") || !strcmp(optarg, "all");
			if (!o->do_single && !o->do_mix)
				goto bad;
			break;
		case OPT_VARIANT: {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || eq - optarg >= 32 || !eq[1] ||
			    o->variants == VARIANTS_MAX)
				goto bad;
			snprintf(o->variant[o->variants].label, 32, "%.*s", (int)(eq - optarg),
				 optarg);
			o->variant[o->variants++].path = eq + 1;
			break;
		}
		case OPT_CPU:
			if (parse_u32(optarg, 0, 4095, &v))
				goto bad;
			o->cpu = (int)v;
			break;
		case 'o':
			o->results = optarg;
			break;
		case OPT_SECTION:
			o->section = optarg;
			break;
		case OPT_INVOKED:
			o->invoked_as = optarg;
			break;
		case OPT_QUICK:
			o->trials = 3;
			o->repeat = 100000;
			o->flows = 20000;
			break;
		case 'v':
			log_set_level(XS_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("bench-xdp %s\n", XS_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bench-xdp: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->flows + 2 > o->flows_max && o->do_mix) {
		fprintf(stderr, "bench-xdp: --flows-max %u cannot hold the %u flows of the mix"
			" (and the 2 single flows)\n", o->flows_max, o->flows);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "bench-xdp: bad value for -%c: '%s' (see --help)\n",
		opt < 256 ? opt : '-', optarg);
	return -EINVAL;
}

static int pin_cpu(int *cpu)
{
	cpu_set_t set;

	if (*cpu < 0)
		*cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(*cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		int err = -errno;

		pr_warn("cannot pin to CPU %d: %s\n", *cpu, strerror(-err));
		return err;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	char *md = NULL;
	int err, ret = 1;

	log_init_libbpf();
	if (parse_args(&b.o, argc, argv))
		return 1;
	if (pin_cpu(&b.o.cpu))
		return 1;
	if (build_packets(&b)) {
		pr_warn("cannot build the packets: out of memory\n");
		goto cleanup;
	}

	err = load_floor(&floor_prog);
	if (err) {
		if (err == -EPERM || err == -EACCES)
			fprintf(stderr, "bench-xdp: cannot load a BPF program: %s. It needs root"
				" (CAP_BPF and CAP_NET_ADMIN, or CAP_SYS_ADMIN): run"
				" `sudo make bench-xdp`.\n", strerror(-err));
		else
			fprintf(stderr, "bench-xdp: cannot load a BPF program: %s. It needs a"
				" kernel with BPF and XDP (BPF_PROG_TEST_RUN for XDP: Linux"
				" >= 4.15).\n", strerror(-err));
		ret = EXIT_SKIP;
		goto cleanup;
	}
	arms[narms++] = (struct arm){ .prog = &floor_prog };

	/* builds x actions; each arm gets its own instance and its action once */
	for (int v = 0; v < (b.o.variants ? b.o.variants : 1); v++) {
		for (int k = 0; k < 2; k++) {
			__u32 act = k ? XS_ACTION_CAPTURE : XS_ACTION_COUNT;
			struct prog *p = &sensor[nsensors];

			if (!(k ? b.o.act_capture : b.o.act_count))
				continue;
			nsensors++;
			err = b.o.variants ? load_sensor_obj(p, b.o.variant[v].label,
							     b.o.variant[v].path, b.o.flows_max)
					   : load_sensor_skel(p, b.o.flows_max);
			if (err || set_action(p, act))
				goto cleanup;
			arms[narms++] = (struct arm){ .prog = p, .action = act };
		}
	}

	printf("bench-xdp: %d trials on CPU %d; single flow: repeat=%u; mix: %u flows, repeat=%u"
	       " per frame; flows map max_entries=%u\n", b.o.trials, b.o.cpu, b.o.repeat,
	       b.o.flows, b.o.mix_repeat, b.o.flows_max);
	for (int i = 0; i < nsensors; i++) {
		if (i && !strcmp(sensor[i].label, sensor[i - 1].label))
			continue;
		printf("  %s: %u xlated insns, %u bytes JITed, flows map %s, %.1f MiB\n",
		       sensor[i].label, sensor[i].info.xlated_prog_len / 8,
		       sensor[i].info.jited_prog_len, map_type_name(sensor[i].flows_type),
		       map_memlock_mib(sensor[i].flows_fd));
	}
	fflush(stdout);

	if (warm_up(&b))
		goto cleanup;
	for (int t = 0; t < b.o.trials; t++) {
		for (int c = 0; c < CASE_MAX; c++) {
			if (case_enabled(&b, c) && run_case(&b, c, t))
				goto cleanup;
		}
		fprintf(stderr, "\r  trial %d/%d", t + 1, b.o.trials);
	}
	fputc('\n', stderr);
	if (b.o.do_mix && nsensors) {
		double pass[3];

		b.mem_mib = map_memlock_mib(sensor[0].flows_fd);
		for (int k = 0; k < 3; k++)
			pass[k] = mem_random_read_ns((size_t)(b.mem_mib * 1024 * 1024));
		b.mem_ns = summarize(pass, 3).med;
		printf("  memory: a random read in %.0f MiB of 4 KiB pages: %.0f ns\n",
		       b.mem_mib, b.mem_ns);
	}

	/* every packet must have been keyed and counted, none lost to a full
	 * table but those the full-table case sent to one */
	for (int i = 0; i < nsensors; i++) {
		__u64 s[XS_STAT_MAX], errs = 0;

		if (read_stats(&sensor[i], s))
			goto cleanup;
		for (int k = XS_STAT_L2_TRUNCATED; k <= XS_STAT_L2_IPV6_EXT_DEPTH; k++)
			errs += s[k];
		printf("  %s %s stats: rx %llu, counted %llu, capture_no_socket %llu, flow_new %llu,"
		       " flow_table_full %llu, keyed at L2 %llu, decap %llu\n", sensor[i].label,
		       action_name(arms[i + 1].action),
		       (unsigned long long)s[XS_STAT_RX], (unsigned long long)s[XS_STAT_COUNTED],
		       (unsigned long long)s[XS_STAT_CAPTURE_NO_SOCKET],
		       (unsigned long long)s[XS_STAT_FLOW_NEW],
		       (unsigned long long)s[XS_STAT_FLOW_TABLE_FULL], (unsigned long long)errs,
		       (unsigned long long)s[XS_STAT_DECAP]);
		/* (a --variant may be an older build, which opens no tunnel) */
		if (errs || s[XS_STAT_FLOW_TABLE_FULL] != arms[i + 1].full_expected ||
		    (b.o.do_single && sensor[i].skel && !s[XS_STAT_DECAP])) {
			pr_warn("%s: packets were keyed at L2, found the table full or no VXLAN"
				" frame was keyed inside: the numbers do not measure the intended"
				" path\n", sensor[i].label);
			goto cleanup;
		}
	}
	for (int i = 1; i < narms; i++) {
		if (arms[i].steady_new)
			printf("  note: %s %s created %llu flows during steady-state passes"
			       " (entries were evicted)\n", arms[i].prog->label,
			       action_name(arms[i].action),
			       (unsigned long long)arms[i].steady_new);
	}
	print_table(&b, stdout);

	md = markdown(&b, argc, argv);
	if (!md) {
		pr_warn("out of memory\n");
		goto cleanup;
	}
	if (b.o.do_mix) {
		char *target = strstr(md, "\nThe program's own cost");

		if (target)
			printf("%s", target);
	}
	if (b.o.results) {
		if (results_update(b.o.results, md))
			goto cleanup;
		printf("\nwrote the section \"%s\" of %s\n", b.o.section, b.o.results);
	}
	ret = 0;
cleanup:
	free(md);
	for (int i = 0; i < nsensors; i++)
		prog_unload(&sensor[i]);
	prog_unload(&floor_prog);
	free(b.mix);
	free(b.keys);
	free(b.fillers);
	free(b.filler_vals);
	return ret;
}
