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

void kept_umem_path(const char *dir, const char *ifname, int queue, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.q%d.umem", dir, ifname, queue);
}

void kept_umem_drop(const char *dir, const char *ifname)
{
	char pattern[PATH_MAX];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/%s.q*.umem", dir, ifname);
	if (glob(pattern, 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct kept_umem k;

		if (kept_umem_take(g.gl_pathv[i], &k) > 0)
			kept_umem_drain(&k, NULL, NULL);
	}
	globfree(&g);
}

int kept_umem_take(const char *path, struct kept_umem *k)
{
	struct stat stb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	k->map = NULL;
	if (fd < 0)
		return errno == ENOENT ? 0 : (pr_warn("cannot read %s: %s\n", path,
						      strerror(errno)), -errno);
	if (fstat(fd, &stb))
		err = -errno;
	k->len = err ? 0 : (size_t)stb.st_size;
	if (k->len >= XSK_FRAME_SIZE) {
		k->map = mmap(NULL, k->len, PROT_READ, MAP_SHARED, fd, 0);
		if (k->map == MAP_FAILED) {
			err = -errno;
			k->map = NULL;
		}
	}
	close(fd);
	unlink(path); /* the name is the new run's; the mapping keeps the pages */
	if (err)
		pr_warn("cannot read %s: %s\n", path, strerror(-err));
	return err ? err : k->map != NULL;
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

long kept_umem_drain(struct kept_umem *k, kept_frame_fn take, void *ctx)
{
	__u32 nframes = (__u32)(k->len / XSK_FRAME_SIZE), n = 0;
	struct kept_frame *found;

	if (!k->map)
		return 0;
	found = calloc(nframes, sizeof(*found));
	for (__u32 i = 0; found && i < nframes; i++) {
		const struct xs_meta *m = meta_of(k, i);

		if (m->magic == XS_META_MAGIC && m->len >= 14)
			found[n++] = (struct kept_frame){ .ts = m->rx_ts_ns, .index = i };
	}
	if (!found)
		pr_warn("no memory to read a killed run's UMEM: its unread frames are lost\n");
	if (!take && n) /* `detach`, or a run that failed before its workers started */
		pr_warn("%u frames a killed run's socket had received and not read are dropped\n",
			n);
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
		take(ctx, (const __u8 *)(m + 1), len, &meta);
	}
	free(found);
	munmap(k->map, k->len);
	k->map = NULL;
	return take ? n : 0;
}
