// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "datapath.h"
#include "log.h"

#define OUR_PROG_NAME "xdpsensor_xdp"

int parse_xdp_mode(const char *s, enum xdp_mode_opt *out)
{
	if (!strcmp(s, "auto"))
		*out = XDP_MODE_AUTO;
	else if (!strcmp(s, "native"))
		*out = XDP_MODE_NATIVE;
	else if (!strcmp(s, "generic"))
		*out = XDP_MODE_GENERIC;
	else
		return -EINVAL;
	return 0;
}

int xdp_query(int ifindex, struct attached_prog *out)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int err, fd;

	memset(out, 0, sizeof(*out));
	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err;
	if (q.attach_mode == XDP_ATTACHED_DRV || q.attach_mode == XDP_ATTACHED_MULTI) {
		out->id = q.drv_prog_id;
		out->flags = XDP_FLAGS_DRV_MODE;
	}
	if (!out->id && q.skb_prog_id) {
		out->id = q.skb_prog_id;
		out->flags = XDP_FLAGS_SKB_MODE;
	}
	if (!out->id && q.hw_prog_id) {
		out->id = q.hw_prog_id;
		out->flags = XDP_FLAGS_HW_MODE;
	}
	if (!out->id)
		return 0;
	fd = bpf_prog_get_fd_by_id(out->id);
	if (fd >= 0) {
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			memcpy(out->name, info.name, sizeof(out->name) - 1);
		close(fd);
	}
	out->ours = !strcmp(out->name, OUR_PROG_NAME);
	return 0;
}

int xdp_pinned_prog_fd(const char *ifname, __u32 id)
{
	struct bpf_prog_info info = {};
	char dir[PATH_MAX], path[PATH_MAX + 8];
	__u32 len = sizeof(info);
	int fd;

	datapath_pin_dir(ifname, dir);
	snprintf(path, sizeof(path), "%s/prog", dir);
	fd = bpf_obj_get(path);
	if (fd >= 0 && (bpf_obj_get_info_by_fd(fd, &info, &len) || info.id != id)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The program a dead run pinned under the interface's pin dir is id: ours.
 * Without CAP_SYS_ADMIN (the unit's user) the attached program's name
 * cannot be read by id, but our own pin can be opened. */
static bool pinned_by_us(const char *ifname, __u32 id)
{
	int fd = xdp_pinned_prog_fd(ifname, id);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int xdp_clear(int ifindex, const char *ifname, bool force, bool *found,
	      struct attached_prog *keep)
{
	struct attached_prog cur;
	int err;

	*found = false;
	if (keep)
		memset(keep, 0, sizeof(*keep));
	err = xdp_query(ifindex, &cur);
	if (err) {
		pr_warn("%s: cannot query XDP state: %s\n", ifname, strerror(-err));
		return err;
	}
	if (!cur.id)
		return 0;
	if (!cur.ours && !cur.name[0] && pinned_by_us(ifname, cur.id)) {
		cur.ours = true;
		snprintf(cur.name, sizeof(cur.name), "%s", OUR_PROG_NAME);
	}
	if (!cur.ours && !force) {
		pr_warn("%s: already carries XDP program '%s' (id %u), not xdpsensor's;"
			" use --force to replace it\n", ifname,
			cur.name[0] ? cur.name : "?, its name needs CAP_SYS_ADMIN", cur.id);
		return -EBUSY;
	}
	*found = true;
	if (keep && cur.ours) {
		*keep = cur;
		return 0;
	}
	err = xdp_detach(ifindex, ifname, cur.flags);
	if (err)
		return err;
	pr_info("%s: detached %s XDP program '%s' (id %u)\n", ifname,
		cur.ours ? "a stale xdpsensor" : "the", cur.name, cur.id);
	return 0;
}

static int try_attach(int ifindex, int prog_fd, __u32 flags)
{
	return bpf_xdp_attach(ifindex, prog_fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
}

int xdp_attach(int ifindex, const char *ifname, int prog_fd, enum xdp_mode_opt mode,
	       __u32 *flags_out)
{
	int err;

	if (mode != XDP_MODE_GENERIC) {
		err = try_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE);
		if (!err) {
			*flags_out = XDP_FLAGS_DRV_MODE;
			pr_info("%s: XDP program attached in native mode\n", ifname);
			return 0;
		}
		if (mode == XDP_MODE_NATIVE) {
			pr_warn("%s: cannot attach in native mode: %s (try --xdp-mode generic)\n",
				ifname, strerror(-err));
			return err;
		}
		pr_warn("%s: native XDP failed (%s): falling back to generic mode, which is slower\n",
			ifname, strerror(-err));
	}
	err = try_attach(ifindex, prog_fd, XDP_FLAGS_SKB_MODE);
	if (err) {
		pr_warn("%s: cannot attach the XDP program: %s\n", ifname, strerror(-err));
		return err;
	}
	*flags_out = XDP_FLAGS_SKB_MODE;
	pr_info("%s: XDP program attached in generic mode\n", ifname);
	return 0;
}

int xdp_replace(int ifindex, const char *ifname, int prog_fd, int old_fd, __u32 old_flags,
		enum xdp_mode_opt mode, __u32 *flags_out)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd);
	bool same_mode = mode == XDP_MODE_AUTO ||
			 (mode == XDP_MODE_NATIVE && old_flags == XDP_FLAGS_DRV_MODE) ||
			 (mode == XDP_MODE_GENERIC && old_flags == XDP_FLAGS_SKB_MODE);
	int err;

	if (same_mode) {
		err = bpf_xdp_attach(ifindex, prog_fd, old_flags | XDP_FLAGS_REPLACE, &opts);
		if (!err) {
			*flags_out = old_flags;
			pr_info("%s: XDP program attached in %s mode in place of the stale one\n",
				ifname, old_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic");
			return 0;
		}
		pr_warn("%s: cannot replace the stale program in one step (%s): detaching it"
			" first\n", ifname, strerror(-err));
	}
	err = xdp_detach(ifindex, ifname, old_flags);
	if (err)
		return err;
	return xdp_attach(ifindex, ifname, prog_fd, mode, flags_out);
}

int xdp_detach(int ifindex, const char *ifname, __u32 flags)
{
	int err = bpf_xdp_detach(ifindex, flags, NULL);

	if (err == -ENODEV) /* the interface is gone, and its program with it */
		return 0;
	if (err)
		pr_warn("%s: cannot detach the XDP program: %s\n", ifname, strerror(-err));
	return err;
}
