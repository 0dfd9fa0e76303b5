// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "iface.h"
#include "owner.h"

static void lock_path(const char *ifname, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.lock", XS_STATE_DIR, ifname);
}

static pid_t read_pid(int fd)
{
	char buf[32] = "";

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return 0;
	return (pid_t)strtol(buf, NULL, 10);
}

int owner_lock(const char *ifname, pid_t *holder)
{
	char path[128], pid[32];
	struct stat a, b;
	int fd, len;

	*holder = 0;
	lock_path(ifname, path, sizeof(path));
	mkdir(XS_STATE_DIR, 0700);
	for (;;) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

			if (err == -EBUSY)
				*holder = read_pid(fd);
			close(fd);
			return err;
		}
		/* the owner before us may have removed the file between our
		 * open and our flock: then we hold a lock nobody sees; again */
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			break;
		close(fd);
	}
	len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)len, 0) != len) {
		int err = -errno;

		owner_unlock(ifname, fd);
		return err;
	}
	return fd;
}

pid_t owner_pid(const char *ifname)
{
	char path[128];
	pid_t pid;
	int fd;

	lock_path(ifname, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	pid = read_pid(fd);
	close(fd);
	return pid > 0 && (!kill(pid, 0) || errno == EPERM) ? pid : 0;
}

void owner_unlock(const char *ifname, int fd)
{
	char path[128];

	if (fd < 0)
		return;
	lock_path(ifname, path, sizeof(path));
	unlink(path); /* while still locked: nobody takes a file on its way out */
	close(fd);
}
