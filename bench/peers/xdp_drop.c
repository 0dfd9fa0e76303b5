// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp-drop: attaches xdp_drop.bpf.o to an interface, waits for
 * SIGINT/SIGTERM or --duration, prints the count as one JSON line and
 * detaches. The ceiling of every receive path on that interface.
 */
#include "../lib/bench_util.h"
#include "bpf_log.h"
#include "xdp_drop.h"
#include "xdp_drop.skel.h"

#include <getopt.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <linux/if_link.h>

static const struct option long_opts[] = {
	{ "iface", required_argument, NULL, 'i' },
	{ "mode", required_argument, NULL, 'm' },
	{ "duration", required_argument, NULL, 'd' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xdp-drop -i IFACE [-m native|generic] [-d SECONDS] [-v]\n"
		"Attaches an XDP program that counts and drops every frame; at\n"
		"SIGINT/SIGTERM or after -d prints {\"received\":N,...} and detaches.\n");
}

/* Sums one per-CPU counter. */
static int read_stat(int map_fd, __u32 key, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	int err;

	if (ncpu < 0)
		return ncpu;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	err = bpf_map_lookup_elem(map_fd, &key, vals);
	if (err)
		err = -errno;
	*out = 0;
	for (int i = 0; !err && i < ncpu; i++)
		*out += vals[i];
	free(vals);
	return err;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, detach_opts);
	const char *iface = NULL, *mode = "native";
	__u32 xdp_flags = XDP_FLAGS_DRV_MODE;
	unsigned int duration = 0;
	struct xdp_drop_bpf *skel;
	__u64 pkts = 0, bytes = 0;
	uint64_t start, end;
	int ifindex, err, c, verbose = 0;

	while ((c = getopt_long(argc, argv, "i:m:d:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'i': iface = optarg; break;
		case 'm': mode = optarg; break;
		case 'd': duration = (unsigned int)atoi(optarg); break;
		case 'v': verbose = 1; break;
		case 'V': printf("xdp-drop %s\n", XS_BENCH_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!iface) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(mode, "generic")) {
		xdp_flags = XDP_FLAGS_SKB_MODE;
	} else if (strcmp(mode, "native")) {
		fprintf(stderr, "unknown XDP mode '%s': native or generic\n", mode);
		return 2;
	}
	ifindex = (int)if_nametoindex(iface);
	if (!ifindex) {
		fprintf(stderr, "interface %s: %s\n", iface, strerror(errno));
		return 1;
	}
	bench_bpf_log_init(verbose);

	skel = xdp_drop_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "loading xdp_drop.bpf.o: %s\n", strerror(errno));
		return 1;
	}
	err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.xdp_drop_count),
			     xdp_flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (err) {
		fprintf(stderr, "attaching XDP (%s) to %s: %s%s\n", mode, iface,
			strerror(-err),
			err == -EBUSY || err == -EEXIST ?
				" (a program is attached: ip link set dev IFACE xdp off)" : "");
		goto cleanup;
	}
	bench_install_stop(duration);
	bench_ready();
	start = bench_now_ns();
	while (!bench_stop)
		pause();
	end = bench_now_ns();

	err = read_stat(bpf_map__fd(skel->maps.drop_stats), XDP_DROP_STAT_PACKETS, &pkts);
	if (!err)
		err = read_stat(bpf_map__fd(skel->maps.drop_stats),
				XDP_DROP_STAT_BYTES, &bytes);
	if (err)
		fprintf(stderr, "reading drop_stats: %s\n", strerror(-err));
	detach_opts.old_prog_fd = bpf_program__fd(skel->progs.xdp_drop_count);
	if (bpf_xdp_detach(ifindex, xdp_flags, &detach_opts))
		fprintf(stderr, "detaching XDP from %s failed\n", iface);
	printf("{\"tool\":\"xdp-drop\",\"iface\":\"%s\",\"mode\":\"%s\","
	       "\"received\":%llu,\"bytes\":%llu,\"elapsed_ns\":%llu}\n",
	       iface, mode, (unsigned long long)pkts, (unsigned long long)bytes,
	       (unsigned long long)(end - start));
cleanup:
	xdp_drop_bpf__destroy(skel);
	return err ? 1 : 0;
}
