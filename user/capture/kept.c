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

#include "kept.h"
#include "log.h"
#include "xsk.h"

/* Where the kernel puts a frame in a UMEM frame (no UMEM headroom). */
#define DATA_OFF 256

void kept_umem_path(const char *dir, const char *ifname, __u32 queue, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.q%u.umem", dir, ifname, queue);
}

/* Maps one file and removes its name. 0, or -errno (said). */
static int take_one(const char *path, __u32 queue, struct kept_umem *k)
{
	struct stat stb;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), err = 0;

	*k = (struct kept_umem){ .queue = queue };
	if (fd < 0 || fstat(fd, &stb))
		err = -errno;
	else if ((size_t)stb.st_size >= XSK_FRAME_SIZE)
		k->map = mmap(NULL, (size_t)stb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (k->map == MAP_FAILED) {
		err = -errno;
		k->map = NULL;
	}
	k->len = k->map ? (size_t)stb.st_size : 0;
	if (fd >= 0)
		close(fd);
	unlink(path); /* the name is the new run's; the mapping keeps the pages */
	if (err)
		pr_warn("cannot read %s: %s\n", path, strerror(-err));
	return err;
}

void kept_umems_take(const char *dir, const char *ifname, struct kept_umems *k)
{
	char pattern[PATH_MAX], tail[8];
	size_t prefix;
	glob_t g;

	*k = (struct kept_umems){ 0 };
	snprintf(k->ifname, sizeof(k->ifname), "%s", ifname);
	snprintf(pattern, sizeof(pattern), "%s/%s.q*.umem", dir, ifname);
	if (glob(pattern, 0, NULL, &g))
		return;
	k->q = calloc(g.gl_pathc, sizeof(*k->q));
	prefix = strlen(dir) + 1 + strlen(ifname) + 2;
	for (size_t i = 0; k->q && i < g.gl_pathc; i++) {
		unsigned int queue;

		/* QUEUE.umem exactly: "a.q1.q0.umem" is interface a.q1's */
		if (sscanf(g.gl_pathv[i] + prefix, "%u%7s", &queue, tail) == 2 &&
		    !strcmp(tail, ".umem") && !take_one(g.gl_pathv[i], queue, &k->q[k->n]))
			k->n++;
	}
	globfree(&g);
}

struct kept_frame {
	__u64 ts;
	__u32 index;
};

static int by_time(const void *a, const void *b)
{
	const struct kept_frame *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static const struct xs_meta *meta_of(const struct kept_umem *k, __u32 i)
{
	return (const struct xs_meta *)((const __u8 *)k->map + (size_t)i * XSK_FRAME_SIZE +
					DATA_OFF - sizeof(struct xs_meta));
}

/* The frames of one queue's UMEM still marked, oldest first; unmaps. */
static __u32 drain_one(struct kept_umem *k, kept_frame_fn take, void *ctx)
{
	__u32 nframes = (__u32)(k->len / XSK_FRAME_SIZE), n = 0;
	struct kept_frame *found;

	if (!k->map)
		return 0;
	found = calloc(nframes, sizeof(*found));
	if (!found)
		pr_warn("no memory to read a killed run's UMEM: its unread frames are lost\n");
	for (__u32 i = 0; found && i < nframes; i++) {
		const struct xs_meta *m = meta_of(k, i);

		if (m->magic == XS_META_MAGIC && m->len >= 14)
			found[n++] = (struct kept_frame){ .ts = m->rx_ts_ns, .index = i };
	}
	if (take)
		qsort(found, n, sizeof(*found), by_time);
	for (__u32 j = 0; take && j < n; j++) {
		const struct xs_meta *m = meta_of(k, found[j].index);
		struct xs_meta meta = *m;
		__u32 len = m->len;

		/* a multi-buffer frame: its first buffer, cut, with its length */
		if (len > XSK_SINGLE_MAX) {
			meta.orig_len = meta.orig_len ? meta.orig_len : len;
			len = XSK_SINGLE_MAX;
		}
		take(ctx, k->queue, (const __u8 *)(m + 1), len, &meta);
	}
	free(found);
	munmap(k->map, k->len);
	k->map = NULL;
	return n;
}

long kept_umems_drain(struct kept_umems *k, kept_frame_fn take, void *ctx)
{
	long n = 0;

	for (size_t i = 0; i < k->n; i++)
		n += drain_one(&k->q[i], take, ctx);
	if (!take && n)
		pr_warn("%s: %ld frames a killed run's sockets had received and not read are"
			" dropped\n", k->ifname, n);
	free(k->q);
	*k = (struct kept_umems){ 0 };
	return n;
}
