// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "grow.h"
#include "kept.h"
#include "log.h"
#include "xsk.h"

/* Where the kernel puts a frame in a UMEM chunk: XDP_PACKET_HEADROOM past
 * its start (no UMEM headroom), in copy mode and, since the buffer pool
 * became common to all (5.10: xp_alloc sets data), in every zero-copy
 * driver. */
#define DATA_OFF 256

void kept_umem_path(const char *dir, const char *ifname, __u32 queue, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.q%u.umem", dir, ifname, queue);
}

/* Appends a copy of one frame. */
static bool keep(struct kept_umems *k, __u32 queue, const struct xs_meta *m, const __u8 *data)
{
	struct kept_frame f = { .meta = *m, .queue = queue, .len = m->len };

	/* a multi-buffer frame: its first buffer, cut, with its length */
	if (f.len > XSK_SINGLE_MAX) {
		f.meta.orig_len = f.meta.orig_len ? f.meta.orig_len : f.len;
		f.len = XSK_SINGLE_MAX;
	}
	if (grow(&k->f, &k->cap, k->n + 1, 1024) ||
	    grow(&k->data, &k->data_cap, k->data_len + f.len, 1 << 20))
		return false;
	f.off = k->data_len;
	memcpy(k->data + f.off, data, f.len);
	k->data_len += f.len;
	k->f[k->n++] = f;
	return true;
}

/* Copies the frames still marked out of one file and clears their marks.
 * 0, or -errno (said): the caller removes the file. */
static int take_one(struct kept_umems *k, const char *path, __u32 queue)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW), err = 0;
	size_t len = 0, lost = 0;
	struct stat stb;
	__u8 *map = NULL;

	if (fd < 0 || fstat(fd, &stb))
		err = -errno;
	else if ((len = (size_t)stb.st_size / XSK_FRAME_SIZE * XSK_FRAME_SIZE))
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		map = NULL;
	}
	if (fd >= 0)
		close(fd);
	for (size_t at = 0; map && at < len; at += XSK_FRAME_SIZE) {
		__u8 *data = map + at + DATA_OFF;
		struct xs_meta *m = (struct xs_meta *)(data - sizeof(*m));

		if (m->magic != XS_META_MAGIC)
			continue;
		if (m->len >= 14 && !keep(k, queue, m, data)) /* shorter: no frame */
			lost++;
		m->magic = 0; /* taken: not again after the next kill */
	}
	if (map)
		munmap(map, len);
	if (err)
		pr_warn("cannot read %s: %s\n", path, strerror(-err));
	if (lost)
		pr_warn("%s: %zu frames a killed run left in %s cannot be kept (no memory)\n",
			k->ifname, lost, path);
	return err;
}

static int by_queue_then_time(const void *a, const void *b)
{
	const struct kept_frame *x = a, *y = b;

	if (x->queue != y->queue)
		return x->queue < y->queue ? -1 : 1;
	return x->meta.rx_ts_ns < y->meta.rx_ts_ns ? -1 : x->meta.rx_ts_ns > y->meta.rx_ts_ns;
}

void kept_umems_take(const char *dir, const char *ifname, __u32 queues, struct kept_umems *k)
{
	char pattern[PATH_MAX], tail[8];
	size_t prefix;
	glob_t g;

	*k = (struct kept_umems){ 0 };
	snprintf(k->ifname, sizeof(k->ifname), "%s", ifname);
	snprintf(pattern, sizeof(pattern), "%s/%s.q*.umem", dir, ifname);
	if (glob(pattern, 0, NULL, &g))
		return;
	prefix = strlen(dir) + 1 + strlen(ifname) + 2;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		unsigned int queue;

		/* QUEUE.umem exactly: "a.q1.q0.umem" is interface a.q1's */
		if (sscanf(g.gl_pathv[i] + prefix, "%u%7s", &queue, tail) != 2 ||
		    strcmp(tail, ".umem"))
			continue;
		k->files++;
		if (take_one(k, g.gl_pathv[i], queue) || queue >= queues)
			unlink(g.gl_pathv[i]); /* no socket of the new run reuses it */
	}
	globfree(&g);
	qsort(k->f, k->n, sizeof(*k->f), by_queue_then_time);
}

long kept_umems_drain(struct kept_umems *k, kept_frame_fn take, void *ctx)
{
	long n = (long)k->n;

	for (size_t i = 0; take && i < k->n; i++)
		take(ctx, k->f[i].queue, k->data + k->f[i].off, k->f[i].len, &k->f[i].meta);
	if (!take && n)
		pr_warn("%s: %ld frames a killed run's sockets had received and not read are"
			" dropped\n", k->ifname, n);
	free(k->f);
	free(k->data);
	*k = (struct kept_umems){ 0 };
	return n;
}
