// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpsensor stats`, `flows` and `detach`: they work from the pins under
 * /sys/fs/bpf/xdpsensor/IFACE, so they run beside a sensor (or after it).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>

#include "caps.h"
#include "commands.h"
#include "datapath.h"
#include "flow_format.h"
#include "keep_dir.h"
#include "kept.h"
#include "log.h"
#include "owner.h"
#include "sensor.h"
#include "worker_stats.h"

static int open_pinned(const char *ifname, const char *map)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	int fd;

	datapath_pin_dir(ifname, dir);
	snprintf(path, sizeof(path), "%s/%s", dir, map);
	fd = bpf_obj_get(path);
	if (fd < 0)
		pr_warn("%s: no sensor state at %s (%s): is `xdpsensor run -i %s` running,"
			" and are you root?\n", ifname, path, strerror(errno), ifname);
	return fd;
}

/* Calls fn for -i IFACE, or for every interface with pins. */
static int for_each_iface(const char *only, int (*fn)(const char *ifname, void *arg),
			  void *arg)
{
	struct dirent *d;
	DIR *dp;
	int err = 0, seen = 0;

	if (only)
		return fn(only, arg);
	dp = opendir(XS_PIN_ROOT);
	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		seen++;
		err |= fn(d->d_name, arg);
	}
	if (dp)
		closedir(dp);
	if (!seen) {
		pr_warn("no running sensor found under %s (give -i IFACE?)\n", XS_PIN_ROOT);
		return -ENOENT;
	}
	return err;
}

struct state_opts {
	const char *ifname; /* NULL: every interface with pins */
	bool json;
	unsigned int top;   /* 0: every flow */
	bool force;         /* detach */
};

static void sum_workers(int fd, struct xs_worker_stats *t)
{
	struct xs_worker_stats w;

	memset(t, 0, sizeof(*t));
	for (__u32 q = 0; !bpf_map_lookup_elem(fd, &q, &w); q++)
		worker_stats_add(t, &w);
}

/* Does the run's program park what finds no socket (run --park-mb)? */
static bool parks(const char *ifname)
{
	struct xs_config c = {};
	__u32 key = 0;
	int fd = open_pinned(ifname, "config");
	bool on;

	if (fd < 0)
		return false;
	on = !bpf_map_lookup_elem(fd, &key, &c) && c.park;
	close(fd);
	return on;
}

/* Who holds an interface's pins: a running sensor, or none (its last run
 * was killed, or stopped with --handover) and then what its XDP program,
 * if still attached, does with the frames to capture. */
enum pins_holder { HELD_BY_RUN, LEFT_DETACHED, LEFT_PARKING, LEFT_PASSING };

static enum pins_holder pins_holder(const char *ifname)
{
	struct attached_prog cur = {};
	int ifindex = (int)if_nametoindex(ifname);

	if (owner_pid(ifname))
		return HELD_BY_RUN;
	if (!ifindex || xdp_query(ifindex, &cur) || !cur.id)
		return LEFT_DETACHED;
	return parks(ifname) ? LEFT_PARKING : LEFT_PASSING;
}

static const char *const holder_json[] = {
	[HELD_BY_RUN] = "running", [LEFT_DETACHED] = "left_detached",
	[LEFT_PARKING] = "left_parking", [LEFT_PASSING] = "left_passing",
};

static void say_holder(const char *ifname, enum pins_holder h)
{
	if (h == HELD_BY_RUN)
		return;
	printf(" no sensor runs here: the counters its last run left (killed, or stopped"
	       " with --handover)\n");
	if (h == LEFT_PARKING)
		printf(" its XDP program parks the frames to capture for the next run"
		       " (`xdpsensor detach -i %s` removes it)\n", ifname);
	else if (h == LEFT_PASSING)
		printf(" its XDP program still runs: the frames to capture find no socket and"
		       " pass, counted as capture_no_socket (`xdpsensor detach -i %s` removes it)\n",
		       ifname);
}

static int show_stats(const char *ifname, void *arg)
{
	const struct state_opts *o = arg;
	int stats_fd = open_pinned(ifname, "stats"), workers_fd;
	__u64 s[XS_STAT_MAX], l2 = 0, outcomes;
	struct xs_worker_stats w;

	if (stats_fd < 0)
		return 1;
	workers_fd = open_pinned(ifname, "workers");
	if (workers_fd < 0 || datapath_read_stats(stats_fd, s)) {
		close(stats_fd);
		if (workers_fd >= 0)
			close(workers_fd);
		return 1;
	}
	sum_workers(workers_fd, &w);
	close(stats_fd);
	close(workers_fd);
	for (int e = XS_STAT_L2_TRUNCATED; e <= XS_STAT_L2_IPV6_EXT_DEPTH; e++)
		l2 += s[e];
	outcomes = s[XS_STAT_CAPTURED] + s[XS_STAT_CAPTURE_NO_SOCKET] + s[XS_STAT_PARKED] +
		   s[XS_STAT_COUNTED] + s[XS_STAT_DROPPED];

	if (o->json) {
		printf("{\"iface\":\"%s\",\"sensor\":\"%s\"", ifname,
		       holder_json[pins_holder(ifname)]);
		for (int i = 0; i < XS_STAT_MAX; i++)
			printf(",\"%s\":%llu", stat_name(i), (unsigned long long)s[i]);
		printf(",\"xsk_rx_dropped\":%llu,\"xsk_rx_ring_full\":%llu,\"xsk_fill_ring_empty\":%llu,"
		       "\"xsk_rx_invalid_descs\":%llu,\"read\":%llu,\"unparked\":%llu,"
		       "\"produced\":%llu,"
		       "\"queue_full\":%llu,\"sink_errors\":%llu,\"delivered\":%llu,\"failed\":%llu,"
		       "\"no_meta\":%llu,\"spool_in\":%llu,\"spool_out\":%llu,\"spool_full\":%llu,"
		       "\"spool_errors\":%llu,\"reclaimed\":%llu,\"maybe_dup\":%llu,"
		       "\"spool_recovered\":%llu,\"spool_torn\":%llu,\"spool_corrupt\":%llu,"
		       "\"in_flight\":%llu,\"spooled\":%llu,\"spool_bytes\":%llu,"
		       "\"spool_oldest_age_ms\":%llu}\n",
		       (unsigned long long)w.xsk_rx_dropped, (unsigned long long)w.xsk_rx_ring_full,
		       (unsigned long long)w.xsk_fill_ring_empty,
		       (unsigned long long)w.xsk_rx_invalid_descs, (unsigned long long)w.read,
		       (unsigned long long)w.unparked, (unsigned long long)w.produced, (unsigned long long)w.queue_full,
		       (unsigned long long)w.sink_errors, (unsigned long long)w.delivered,
		       (unsigned long long)w.failed, (unsigned long long)w.no_meta,
		       (unsigned long long)w.spool_in, (unsigned long long)w.spool_out,
		       (unsigned long long)w.spool_full, (unsigned long long)w.spool_errors,
		       (unsigned long long)w.reclaimed, (unsigned long long)w.maybe_dup,
		       (unsigned long long)w.spool_recovered, (unsigned long long)w.spool_torn,
		       (unsigned long long)w.spool_corrupt,
		       (unsigned long long)worker_stats_in_flight(&w),
		       (unsigned long long)w.spooled, (unsigned long long)w.spool_bytes,
		       (unsigned long long)worker_stats_oldest_age_ms(&w));
		return 0;
	}
#define ROW(label, v, note) printf("  %-28s %14llu  %s\n", label, (unsigned long long)(v), note)
	printf("%s\n", ifname);
	say_holder(ifname, pins_holder(ifname));
	printf(" XDP program (every packet is counted once):\n");
	ROW("rx_packets", s[XS_STAT_RX], "");
	ROW("  captured", s[XS_STAT_CAPTURED], "redirected to AF_XDP");
	ROW("  capture_no_socket", s[XS_STAT_CAPTURE_NO_SOCKET], "passed: no socket on the queue");
	ROW("  parked", s[XS_STAT_PARKED], "no socket yet: kept for the run, passed");
	ROW("  counted", s[XS_STAT_COUNTED], "count only, passed");
	ROW("  dropped", s[XS_STAT_DROPPED], "by a drop rule");
	printf("  %-28s %14s  %s\n", "", outcomes == s[XS_STAT_RX] ? "adds up" : "MISMATCH",
	       "(sum of the outcomes above)");
	ROW("keyed at L2", l2, "not IP, or an IP header it cannot read:");
	for (int e = XS_STAT_L2_TRUNCATED; e <= XS_STAT_L2_IPV6_EXT_DEPTH; e++)
		if (s[e])
			ROW("    ", s[e], stat_name(e));
	ROW("keyed inside a tunnel", s[XS_STAT_DECAP], "");
	ROW("tunnel depth limit", s[XS_STAT_DECAP_DEPTH], "keyed on the innermost within it");
	ROW("snapped", s[XS_STAT_SNAPPED], "captured frames cut to what the socket takes");
	ROW("flows created", s[XS_STAT_FLOW_NEW], "");
	ROW("flow table full", s[XS_STAT_FLOW_TABLE_FULL], "packets not counted in a flow");
	ROW("sampled out", s[XS_STAT_SAMPLED_OUT], "capture turned into count");
	printf(" AF_XDP sockets (kernel, XDP_STATISTICS):\n");
	ROW("rx_dropped", w.xsk_rx_dropped, "captured, no room in the UMEM");
	ROW("rx_ring_full", w.xsk_rx_ring_full, "captured, RX ring full");
	ROW("fill_ring_empty", w.xsk_fill_ring_empty, "");
	ROW("rx_invalid_descs", w.xsk_rx_invalid_descs, "");
	printf(" Workers (published by the sensor once a second):\n");
	ROW("read", w.read, "= captured - socket drops - still in rings");
	ROW("unparked", w.unparked, "left by the last run: parked, or unread in its UMEM");
	ROW("  produced", w.produced, "handed to the sink");
	ROW("  spool_in", w.spool_in, "kept in the spool: Kafka could not take them");
	ROW("  queue_full", w.queue_full, "dropped: producer queue full, no spool");
	ROW("  spool_full", w.spool_full, "dropped: spool full (--spool-max or disk)");
	ROW("  spool_errors", w.spool_errors, "dropped: spool not writable");
	ROW("  sink_errors", w.sink_errors, "dropped: sink refused");
	ROW("spool_recovered", w.spool_recovered, "left in the spool by an earlier run");
	ROW("  spool_torn", w.spool_torn, "its torn last records, skipped");
	ROW("  spool_corrupt", w.spool_corrupt, "its damaged segments, rest skipped");
	ROW("spool_out", w.spool_out, "read back from the spool, produced");
	ROW("reclaimed", w.reclaimed, "taken back from the producer into the spool");
	ROW("  maybe_dup", w.maybe_dup, "taken back while sent: may be in the topic twice");
	ROW("delivered", w.delivered, "acknowledged by the sink");
	ROW("failed", w.failed, "delivery failed");
	ROW("in flight", worker_stats_in_flight(&w), "in the producer, not yet acknowledged");
	ROW("spooled", w.spooled, "in the spool, waiting for Kafka");
	ROW("  spool_bytes", w.spool_bytes, "on disk");
	ROW("  oldest (ms)", worker_stats_oldest_age_ms(&w), "age of the oldest spooled record");
	{
		__u64 in = w.read + w.unparked + w.spool_recovered;
		__u64 out = w.delivered + w.failed + w.queue_full + w.spool_full + w.spool_errors +
			    w.sink_errors + worker_stats_in_flight(&w) + w.spooled;

		printf("  %-28s %14s  %s\n", "", in == out ? "adds up" : "MISMATCH",
		       "(read + unparked + recovered = delivered + failed + drops + in flight + spooled)");
	}
	ROW("timestamp not from XDP", w.no_meta, "");
#undef ROW
	return 0;
}

static int show_flows(const char *ifname, void *arg)
{
	const struct state_opts *o = arg;
	int fd = open_pinned(ifname, "flows");
	struct flow_entry *flows;
	size_t n;

	if (fd < 0)
		return 1;
	if (flow_table_read(fd, &flows, &n)) {
		close(fd);
		return 1;
	}
	close(fd);
	if (o->top && n > o->top)
		n = o->top;
	if (o->json) {
		for (size_t i = 0; i < n; i++)
			flow_print_json(stdout, ifname, &flows[i]);
	} else {
		printf("%s: %zu flows%s\n", ifname, n, o->top ? " (largest first)" : "");
		flow_print_table(stdout, flows, n);
	}
	free(flows);
	return 0;
}

#define STATE(field) OFF(struct state_opts, field)
static const struct opt_def stats_defs[] = {
	{ "interface", 'i', OPT_STRING, STATE(ifname), .arg = "IFACE",
	  .help = "only this interface (default: every one with a sensor)" },
	{ "json", 'j', OPT_FLAG, STATE(json), .help = "one JSON object per interface" },
	{}
};

static const struct opt_def flows_defs[] = {
	{ "interface", 'i', OPT_STRING, STATE(ifname), .arg = "IFACE",
	  .help = "only this interface (default: every one with a sensor)" },
	{ "json", 'j', OPT_FLAG, STATE(json), .help = "one KFlow JSON object per flow" },
	{ "top", 'n', OPT_UINT, STATE(top), 0, 1u << 30, .arg = "N",
	  .help = "only the N largest flows (0: all)" },
	{}
};

static const struct opt_def detach_defs[] = {
	{ "interface", 'i', OPT_STRING, STATE(ifname), .arg = "IFACE",
	  .help = "the interface to clean" },
	{ "force", 'f', OPT_FLAG, STATE(force),
	  .help = "also remove another XDP program, or a running\nsensor's" },
	{}
};
#undef STATE

static int state_main(int argc, char **argv, const struct opt_def *defs, const char *usage,
			int (*fn)(const char *, void *))
{
	struct state_opts o = {};
	struct opt_table t = { .defs = defs, .base = &o };
	int err = opts_parse(argc, argv, usage, &t, 1);

	if (err)
		return err < 0 ? 2 : 0;
	return for_each_iface(o.ifname, fn, &o) ? 1 : 0;
}

int cmd_stats(int argc, char **argv)
{
	return state_main(argc, argv, stats_defs,
			    "usage: xdpsensor stats [-i IFACE] [--json]\n", show_stats);
}

int cmd_flows(int argc, char **argv)
{
	return state_main(argc, argv, flows_defs,
			    "usage: xdpsensor flows [-i IFACE] [--json] [--top N]\n", show_flows);
}

int cmd_detach(int argc, char **argv)
{
	static const char usage[] =
		"usage: xdpsensor detach -i IFACE [--force]\n"
		"Removes what a dead xdpsensor left on IFACE: its XDP program, the offload\n"
		"changes, the pins and its sockets' UMEM files. Refuses while a sensor runs\n"
		"there, unless --force.\n";
	struct state_opts o = {};
	struct opt_table t = { .defs = detach_defs, .base = &o };
	pid_t holder;
	bool found;
	int err, lock, ifindex;

	err = opts_parse(argc, argv, usage, &t, 1);
	if (err)
		return err < 0 ? 2 : 0;
	if (!o.ifname) {
		pr_warn("detach needs -i IFACE\n");
		return 2;
	}
	if (check_caps(XS_CAPS_DETACH, 0))
		return 1;
	lock = owner_lock(o.ifname, &holder);
	if (lock == -EBUSY && !o.force) {
		pr_warn("%s: xdpsensor (pid %d) is running on it; stop it, or detach --force\n",
			o.ifname, (int)holder);
		return 1;
	}
	if (lock == -EBUSY)
		pr_warn("%s: --force: removing the program of the running xdpsensor (pid %d)\n",
			o.ifname, (int)holder);
	else if (lock < 0)
		pr_warn("%s: cannot take the lock in %s (%s): going on\n", o.ifname,
			XS_STATE_DIR, strerror(-lock));
	/* a vanished interface may still have pins and a state file */
	ifindex = (int)if_nametoindex(o.ifname);
	err = sensor_clean_stale(o.ifname, ifindex, o.force, &found, NULL);
	if (lock != -EBUSY && keep_dir()) { /* a running sensor's are its own */
		struct kept_umems kept;

		kept_umems_take(keep_dir(), o.ifname, 0, &kept);
		found |= kept.files > 0;
		kept_umems_drain(&kept, NULL, NULL);
	}
	if (!err && !found)
		pr_info("%s: nothing of xdpsensor's to remove\n", o.ifname);
	owner_unlock(o.ifname, lock);
	return err ? 1 : 0;
}
