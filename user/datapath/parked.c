// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "log.h"
#include "parked.h"

__u32 parked_ring_bytes(__u32 park_mb)
{
	return park_mb ? park_mb << 20 : (__u32)sysconf(_SC_PAGESIZE);
}

static int pinned_ring(const char *pin_dir)
{
	char path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/parked", pin_dir);
	return bpf_obj_get(path);
}

static int map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len);
}

bool parked_reuse(struct bpf_map *map, const char *pin_dir)
{
	struct bpf_map_info info;
	int fd = pinned_ring(pin_dir);
	bool same;

	if (fd < 0)
		return false;
	same = !map_info(fd, &info) && info.type == BPF_MAP_TYPE_RINGBUF &&
	       info.max_entries == bpf_map__max_entries(map);
	if (same && bpf_map__reuse_fd(map, fd)) {
		pr_warn("cannot take over the parking ring in %s: %s\n", pin_dir, strerror(errno));
		same = false;
	}
	close(fd); /* reuse_fd took its own */
	return same;
}

struct drain {
	parked_fn fn;
	void *ctx;
	long n;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	const struct xs_parked_frame *f = data;
	struct drain *d = ctx;

	/* the program writes the header and len bytes: nothing else is there */
	if (size < offsetof(struct xs_parked_frame, data) ||
	    f->len > size - offsetof(struct xs_parked_frame, data))
		return 0;
	if (d->fn)
		d->fn(d->ctx, f);
	d->n++;
	return 0;
}

long parked_drain(int ring_fd, parked_fn fn, void *ctx)
{
	struct drain d = { .fn = fn, .ctx = ctx };
	struct ring_buffer *rb = ring_buffer__new(ring_fd, on_sample, &d, NULL);
	int err;

	if (!rb)
		return -errno;
	/* consume() stops at a record still being written: look again, a
	 * few times only, should a queue without socket keep parking */
	for (int pass = 0; pass < 4; pass++) {
		err = ring_buffer__consume(rb);
		if (err <= 0)
			break;
	}
	ring_buffer__free(rb);
	return err < 0 ? err : d.n;
}

__u64 parked_left(const char *pin_dir, int keep_fd)
{
	struct bpf_map_info pinned, kept;
	int fd = pinned_ring(pin_dir);
	long n = 0;

	if (fd < 0)
		return 0;
	if (keep_fd < 0 || map_info(fd, &pinned) || map_info(keep_fd, &kept) ||
	    pinned.id != kept.id)
		n = parked_drain(fd, NULL, NULL);
	close(fd);
	return n > 0 ? (__u64)n : 0;
}
