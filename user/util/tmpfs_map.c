// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "tmpfs_map.h"

static int check_tmpfs(const char *path)
{
	char dir[PATH_MAX], *slash;
	struct statfs sfs;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (statfs(slash && slash != dir ? dir : slash ? "/" : ".", &sfs))
		return -errno;
	return sfs.f_type == TMPFS_MAGIC ? 0 : -EXDEV;
}

void *tmpfs_map(const char *path, size_t len, int *err)
{
	void *map = MAP_FAILED;
	int fd;

	*err = check_tmpfs(path);
	if (*err)
		return NULL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	*err = ftruncate(fd, (off_t)len) ? -errno : -posix_fallocate(fd, 0, (off_t)len);
	if (!*err) {
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			*err = -errno;
	}
	close(fd);
	if (*err) {
		unlink(path);
		return NULL;
	}
	return map;
}
