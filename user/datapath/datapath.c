// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath.h"
#include "log.h"
#include "parked.h"

#define XS_STAT_NAME(e, name) [XS_STAT_##e] = #name,
static const char *const stat_names[XS_STAT_MAX] = { XS_STATS(XS_STAT_NAME) };
#undef XS_STAT_NAME

const char *stat_name(enum xs_stat s)
{
	return s < XS_STAT_MAX && stat_names[s] ? stat_names[s] : "?";
}

struct xdpsensor_bpf *datapath_load(const struct datapath_opts *opts)
{
	struct xdpsensor_bpf *skel;
	int err;

	skel = xdpsensor_bpf__open();
	if (!skel) {
		pr_warn("cannot open the BPF object: %s\n", strerror(errno));
		return NULL;
	}
	if (opts && opts->flows_max)
		bpf_map__set_max_entries(skel->maps.flows, opts->flows_max);
	if (opts && opts->park_bytes)
		bpf_map__set_max_entries(skel->maps.parked, opts->park_bytes);
	if (opts && opts->pin_dir && parked_reuse(skel->maps.parked, opts->pin_dir))
		pr_info("took over the parking ring of the last run (%s/parked)\n", opts->pin_dir);
	err = xdpsensor_bpf__load(skel);
	if (err) {
		pr_warn("cannot load the XDP program: %s (run with -v for the verifier's log;"
			" are you root?)\n", strerror(-err));
		xdpsensor_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

int datapath_read_stats(int stats_fd, __u64 out[XS_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *percpu;

	if (ncpu < 0)
		return ncpu;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (__u32 i = 0; i < XS_STAT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(stats_fd, &i, percpu)) {
			int err = -errno;

			free(percpu);
			return err;
		}
		for (int c = 0; c < ncpu; c++)
			out[i] += percpu[c];
	}
	free(percpu);
	return 0;
}

void datapath_pin_dir(const char *ifname, char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s/%s", XS_PIN_ROOT, ifname);
}

int datapath_ensure_bpffs(void)
{
	struct statfs st;

	if (!statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		int err = -errno;

		pr_warn("bpffs is not mounted at /sys/fs/bpf and mounting it failed: %s"
			" (mount -t bpf bpf /sys/fs/bpf)\n", strerror(-err));
		return err;
	}
	pr_info("mounted bpffs at /sys/fs/bpf\n");
	return 0;
}
