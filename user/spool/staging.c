// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "segment.h"
#include "staging.h"
#include "tmpfs_map.h"

#define STAGE_MAGIC "XSSTAGE1"

/* The file: this head, the slots, then the buffers (page-aligned). */
struct stage_head {
	char magic[8];
	__u32 nbufs;
	__u32 reserved;
	__u64 buf_size;
	char dir[PATH_MAX]; /* the spool's: a file named for another is not its */
};

static size_t slots_off(void)
{
	return (sizeof(struct stage_head) + 63) & ~(size_t)63;
}

static size_t bufs_off(unsigned int nbufs)
{
	return (slots_off() + nbufs * sizeof(struct stage_slot) + 4095) & ~(size_t)4095;
}

/* The spool's directory as the file names it: resolved, so that
 * `--spool-dir x` and `--spool-dir ./x` find the same file. */
static void spool_name(const char *dir, char out[PATH_MAX])
{
	if (!realpath(dir, out))
		snprintf(out, PATH_MAX, "%s", dir);
}

/* One file per spool directory: named by a hash (FNV-1a) of its path. */
static void stage_path(const char *stage_dir, const char *name, char *out, size_t len)
{
	__u64 h = 0xcbf29ce484222325ull;

	for (const char *c = name; *c; c++)
		h = (h ^ (__u8)*c) * 0x100000001b3ull;
	snprintf(out, len, "%s/spool-%016llx.stage", stage_dir, (unsigned long long)h);
}

static int map_memory(struct staging *st)
{
	st->map = mmap(NULL, st->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (st->map == MAP_FAILED) {
		st->map = NULL;
		return -errno;
	}
	st->path[0] = '\0';
	return 0;
}

static int map_file(struct staging *st, const char *stage_dir, const char *name)
{
	struct stage_head *head;
	int err;

	mkdir(stage_dir, 0700);
	stage_path(stage_dir, name, st->path, sizeof(st->path));
	st->map = tmpfs_map(st->path, st->map_len, &err);
	if (!st->map)
		return err;
	memset(st->map, 0, bufs_off(st->nbufs)); /* a restored file's: every slot free */
	head = st->map;
	head->nbufs = st->nbufs;
	head->buf_size = st->buf_size;
	snprintf(head->dir, sizeof(head->dir), "%s", name);
	memcpy(head->magic, STAGE_MAGIC, sizeof(head->magic)); /* last: the file is whole */
	return 0;
}

int staging_open(struct staging *st, const char *stage_dir, const char *dir,
		 unsigned int nbufs, size_t buf_size)
{
	char name[PATH_MAX];
	int err = -ENOENT;

	memset(st, 0, sizeof(*st));
	st->nbufs = nbufs;
	st->buf_size = buf_size;
	st->map_len = bufs_off(nbufs) + (size_t)nbufs * buf_size;
	spool_name(dir, name);
	if (stage_dir && (err = map_file(st, stage_dir, name)))
		pr_warn("spool %s: cannot keep its write buffers in %s (%s): records not yet"
			" written are lost if the sensor is killed\n", dir, stage_dir,
			err == -EXDEV ? "not a tmpfs" : strerror(-err));
	if (err && (err = map_memory(st)))
		return err;
	st->slots = (struct stage_slot *)((__u8 *)st->map + slots_off());
	st->bufs = (__u8 *)st->map + bufs_off(nbufs);
	return 0;
}

struct stage_slot *staging_slot(const struct staging *st, const __u8 *buf)
{
	return &st->slots[(size_t)(buf - st->bufs) / st->buf_size];
}

void staging_close(struct staging *st, bool remove)
{
	if (st->map)
		munmap(st->map, st->map_len);
	if (remove && st->path[0])
		unlink(st->path);
	st->map = NULL;
}

/* Opens segment seq of dir for a restore, made with its header if the dead
 * run had not made it yet; its size in *size. */
static int open_segment(const char *dir, __u64 seq, __u64 *size)
{
	char path[PATH_MAX + 32];
	__u8 hdr[SEG_HDR_LEN];
	struct stat stb;
	int fd;

	snprintf(path, sizeof(path), "%s/%016llx.seg", dir, (unsigned long long)seq);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || fstat(fd, &stb))
		goto fail;
	*size = (__u64)stb.st_size;
	if (*size < SEG_HDR_LEN) {
		seg_header(hdr, SEG_HDR_LEN);
		if (pwrite(fd, hdr, SEG_HDR_LEN, 0) != SEG_HDR_LEN)
			goto fail;
		*size = SEG_HDR_LEN;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Slots by the order they were handed over; the one being filled last. */
static __u64 slot_rank(const struct stage_slot *s)
{
	return s->state == STAGE_FILLING ? UINT64_MAX : s->order;
}

static int rank_cmp(const void *a, const void *b, void *slots)
{
	__u64 x = slot_rank((const struct stage_slot *)slots + *(const unsigned int *)a);
	__u64 y = slot_rank((const struct stage_slot *)slots + *(const unsigned int *)b);

	return x < y ? -1 : x > y;
}

/* Writes one buffer where it belongs: a write begun goes again at its
 * offset (the same bytes), the others after what the segment holds. */
static int restore_one(const char *dir, const struct stage_slot *s, const __u8 *buf)
{
	__u64 size, len = s->len;
	int fd = open_segment(dir, s->seq, &size), err = 0;

	if (fd < 0)
		return -errno;
	if (s->state == STAGE_WRITING)
		size = s->off;
	if (pwrite(fd, buf, len, (off_t)size) != (ssize_t)len)
		err = errno ? -errno : -ENOSPC;
	if (err && ftruncate(fd, (off_t)size)) /* no half record left behind */
		err = -errno;
	close(fd);
	return err;
}

long staging_restore(const char *stage_dir, const char *dir)
{
	char name[PATH_MAX], path[PATH_MAX + 64];
	const struct stage_head *head;
	struct stage_slot *slots;
	unsigned int *pending, n = 0;
	long records = 0, lost = 0;
	struct stat stb;
	void *map;
	int fd, err = 0;

	if (!stage_dir)
		return 0;
	spool_name(dir, name);
	stage_path(stage_dir, name, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	map = fstat(fd, &stb) || (size_t)stb.st_size < bufs_off(0) ? MAP_FAILED :
		mmap(NULL, (size_t)stb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		pr_warn("spool %s: %s is not a staging file: left alone\n", dir, path);
		return 0;
	}
	head = map;
	if (memcmp(head->magic, STAGE_MAGIC, sizeof(head->magic)) || strcmp(head->dir, name) ||
	    !head->buf_size || head->buf_size > SIZE_MAX / 2 ||
	    (size_t)stb.st_size < bufs_off(head->nbufs) + head->nbufs * head->buf_size) {
		pr_warn("spool %s: %s is not this spool's staging file: left alone\n", dir, path);
		munmap(map, (size_t)stb.st_size);
		return 0;
	}
	slots = (struct stage_slot *)((__u8 *)map + slots_off());
	pending = calloc(head->nbufs + 1, sizeof(*pending));
	if (!pending) {
		munmap(map, (size_t)stb.st_size);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < head->nbufs; i++)
		if (slots[i].state != STAGE_FREE && slots[i].len &&
		    slots[i].len <= head->buf_size)
			pending[n++] = i;
	qsort_r(pending, n, sizeof(*pending), rank_cmp, (void *)slots);
	for (unsigned int k = 0; k < n; k++) {
		const struct stage_slot *s = &slots[pending[k]];
		const __u8 *buf = (const __u8 *)map + bufs_off(head->nbufs) +
				  (size_t)pending[k] * head->buf_size;
		int e = restore_one(dir, s, buf);

		if (e) {
			err = e;
			lost += (long)s->records;
		} else {
			records += (long)s->records;
		}
	}
	free(pending);
	/* written: not again after the next kill; the file is reused (staging_open) */
	memset(slots, 0, head->nbufs * sizeof(*slots));
	munmap(map, (size_t)stb.st_size);
	if (err)
		pr_warn("spool %s: %ld records an earlier run had not written could not be kept:"
			" %s\n", dir, lost, strerror(-err));
	if (records)
		pr_info("spool %s: %ld records an earlier run appended and had not written yet,"
			" written from its staging file\n", dir, records);
	return records;
}
