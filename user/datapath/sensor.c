// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath.h"
#include "log.h"
#include "owner.h"
#include "parked.h"
#include "sensor.h"

int sensor_lookup(struct sensor_iface *s, const char *ifname)
{
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	if (strlen(ifname) >= sizeof(s->name) || !(s->ifindex = (int)if_nametoindex(ifname))) {
		pr_warn("no such interface '%s' (see `ip link`)\n", ifname);
		return -ENODEV;
	}
	snprintf(s->name, sizeof(s->name), "%s", ifname);
	datapath_pin_dir(ifname, s->pin_dir);
	s->nqueues = iface_rx_queues(ifname);
	return 0;
}

int sensor_lock(struct sensor_iface *s)
{
	pid_t holder;
	int fd = owner_lock(s->name, &holder);

	if (fd == -EBUSY) {
		pr_warn("%s: xdpsensor (pid %d) is already running on it; stop that one first\n",
			s->name, (int)holder);
		return fd;
	}
	if (fd < 0) {
		pr_warn("%s: cannot take the lock in %s: %s\n", s->name, XS_STATE_DIR,
			strerror(-fd));
		return fd;
	}
	s->lock_fd = fd;
	return 0;
}

bool sensor_iface_gone(const struct sensor_iface *s)
{
	char name[IF_NAMESIZE];

	return !if_indextoname((unsigned int)s->ifindex, name) && errno == ENXIO;
}

/* Removes every pin in dir (maps and program), then dir; skips keep. */
static int remove_pins(const char *dir, const char *keep)
{
	char path[PATH_MAX + 256];
	struct dirent *d;
	int kept = 0;
	DIR *dp = opendir(dir);

	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		if (keep && !strcmp(d->d_name, keep)) {
			kept++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (unlink(path))
			pr_warn("cannot remove pin %s: %s\n", path, strerror(errno));
	}
	closedir(dp);
	if (!kept && rmdir(dir) && errno != ENOENT)
		return -errno;
	rmdir(XS_PIN_ROOT); /* only succeeds when no other interface is pinned */
	return 0;
}

/* The frames a dead run's program had to capture and no socket to hand
 * them to (capture_no_socket), from its pinned counters: detached, final. */
static __u64 stale_no_socket(const char *dir)
{
	__u64 stats[XS_STAT_MAX] = { 0 };
	char path[PATH_MAX + 8];
	int fd;

	snprintf(path, sizeof(path), "%s/stats", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (datapath_read_stats(fd, stats))
		stats[XS_STAT_CAPTURE_NO_SOCKET] = 0;
	close(fd);
	return stats[XS_STAT_CAPTURE_NO_SOCKET];
}

static int pin_all(struct sensor_iface *s)
{
	char path[PATH_MAX + 8];
	int err;

	mkdir(XS_PIN_ROOT, 0700); /* libbpf creates only the last level */
	err = bpf_object__pin_maps(s->skel->obj, s->pin_dir);
	if (!err) {
		snprintf(path, sizeof(path), "%s/prog", s->pin_dir);
		err = bpf_program__pin(s->skel->progs.xdpsensor_xdp, path);
	}
	s->pinned = true; /* partial pins are removed by teardown too */
	if (err)
		pr_warn("%s: cannot pin maps under %s: %s\n", s->name, s->pin_dir, strerror(-err));
	return err;
}

/* The dead run's program, kept attached for xdp_replace(): its pin opened
 * before the pins go. Detached now if the pin is not that program. */
static void keep_stale_prog(const char *ifname, int ifindex,
			    const struct attached_prog *cur, struct sensor_stale *st)
{
	int fd = xdp_pinned_prog_fd(ifname, cur->id);

	if (fd >= 0) {
		st->prog_fd = fd;
		st->prog_flags = cur->flags;
		return;
	}
	if (!xdp_detach(ifindex, ifname, cur->flags))
		pr_info("%s: detached a stale xdpsensor XDP program (id %u)\n", ifname, cur->id);
}

int sensor_clean_stale(const char *ifname, int ifindex, bool force, bool *found,
		       struct sensor_stale *st)
{
	struct attached_prog kept = {};
	struct iface_settings ist;
	char dir[PATH_MAX];
	struct stat sb;
	__u64 no_socket, parked;
	int err;

	*found = false;
	datapath_pin_dir(ifname, dir);
	if (ifindex) {
		err = xdp_clear(ifindex, ifname, force, found, st ? &kept : NULL);
		if (err)
			return err;
		if (kept.id)
			keep_stale_prog(ifname, ifindex, &kept, st);
	}
	if (!iface_load_state(ifname, &ist)) {
		pr_info("%s: restoring offloads changed by a previous run\n", ifname);
		iface_restore(&ist);
		*found = true;
	}
	if (!stat(dir, &sb)) {
		no_socket = stale_no_socket(dir);
		if (no_socket)
			pr_warn("%s: %llu frames to capture found no socket after the last run"
				" died (its program stayed attached and counted them): lost"
				" (lost_in_restart)\n", ifname, (unsigned long long)no_socket);
		parked = parked_left(dir, st ? st->ring_fd : -1);
		if (parked)
			pr_warn("%s: %llu frames the last run's program parked are dropped with"
				" its pins (lost_in_restart)\n", ifname, (unsigned long long)parked);
		if (st)
			st->lost += no_socket + parked;
		pr_info("%s: removing pins left in %s\n", ifname, dir);
		remove_pins(dir, NULL);
		*found = true;
	}
	return 0;
}

int sensor_setup(struct sensor_iface *s, const struct sensor_opts *o)
{
	struct datapath_opts dopts = { .flows_max = o->flows_max, .pin_dir = s->pin_dir,
				       .park_bytes = parked_ring_bytes(o->park_mb) };
	struct sensor_stale stale = { .prog_fd = -1, .ring_fd = -1 };
	int prog_fd, err;
	bool found;

	/* loaded (the verifier: ~0.2 s) before a dead run's program is
	 * replaced: until then it parks the frames no socket takes, in the
	 * ring this program takes over */
	s->skel = datapath_load(&dopts);
	if (s->skel)
		stale.ring_fd = bpf_map__fd(s->skel->maps.parked);
	/* a foreign program is refused here, before anything is touched */
	err = sensor_clean_stale(s->name, s->ifindex, o->force, &found, &stale);
	s->lost_in_restart += stale.lost;
	if (!err && !s->skel)
		err = -EINVAL;
	if (!err)
		err = rules_apply(o->rules, s->skel);
	if (!err)
		err = pin_all(s);
	if (!err) {
		err = iface_offloads_off(s->name, &s->offloads);
		s->offloads_saved = true;
	}
	if (err) {
		if (stale.prog_fd >= 0) { /* what would have replaced it failed */
			xdp_detach(s->ifindex, s->name, stale.prog_flags);
			close(stale.prog_fd);
		}
		return err;
	}
	prog_fd = bpf_program__fd(s->skel->progs.xdpsensor_xdp);
	if (stale.prog_fd < 0)
		return xdp_attach(s->ifindex, s->name, prog_fd, o->xdp_mode, &s->xdp_flags);
	err = xdp_replace(s->ifindex, s->name, prog_fd, stale.prog_fd, stale.prog_flags,
			  o->xdp_mode, &s->xdp_flags);
	close(stale.prog_fd);
	return err;
}

void sensor_detach(struct sensor_iface *s)
{
	/* a deleted interface took its program with it */
	if (s->xdp_flags && !s->gone && !xdp_detach(s->ifindex, s->name, s->xdp_flags))
		pr_info("%s: XDP program detached\n", s->name);
	s->xdp_flags = 0;
}

/* Closes what this process holds of the interface; the lock goes last:
 * until then the interface is ours. */
static void sensor_release(struct sensor_iface *s)
{
	if (s->skel) {
		xdpsensor_bpf__destroy(s->skel);
		s->skel = NULL;
	}
	owner_unlock(s->name, s->lock_fd);
	s->lock_fd = -1;
}

void sensor_teardown(struct sensor_iface *s, bool keep_pins)
{
	sensor_detach(s);
	if (s->offloads_saved) {
		iface_restore(&s->offloads);
		s->offloads_saved = false;
	}
	if (s->pinned) {
		remove_pins(s->pin_dir, keep_pins ? "flows" : NULL);
		if (keep_pins)
			pr_info("%s: kept the flow table pinned at %s/flows\n", s->name, s->pin_dir);
		s->pinned = false;
	}
	sensor_release(s);
}

void sensor_hand_over(struct sensor_iface *s)
{
	if (s->gone || !s->xdp_flags || !s->pinned) { /* nothing to hand over */
		sensor_teardown(s, false);
		return;
	}
	pr_info("%s: XDP program left attached, parking what comes for the next run"
		" (`xdpsensor detach -i %s` removes it)\n", s->name, s->name);
	/* program, pins and offload state file stay: the next run restores the
	 * offloads and counts what the ring could not hold (sensor_clean_stale) */
	s->xdp_flags = 0;
	s->offloads_saved = false;
	s->pinned = false;
	sensor_release(s);
}
