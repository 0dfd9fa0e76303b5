// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "iface.h" /* XS_STATE_DIR */
#include "keep_dir.h"
#include "log.h"

static bool on_tmpfs(const char *dir)
{
	struct statfs sfs;

	return !statfs(dir, &sfs) && sfs.f_type == TMPFS_MAGIC;
}

/* A directory of ours only: not a link, nobody else's, nobody else may
 * write in it (/dev/shm is everybody's). */
static bool ours(const char *dir)
{
	struct stat sb;

	mkdir(dir, 0700);
	return !lstat(dir, &sb) && S_ISDIR(sb.st_mode) && sb.st_uid == geteuid() &&
	       !(sb.st_mode & 077);
}

const char *keep_dir(void)
{
	static const char *dir;
	static bool looked;

	if (looked)
		return dir;
	looked = true;
	mkdir(XS_STATE_DIR, 0700);
	if (on_tmpfs(XS_STATE_DIR))
		dir = XS_STATE_DIR;
	else if (ours(KEEP_DIR_FALLBACK) && on_tmpfs(KEEP_DIR_FALLBACK))
		dir = KEEP_DIR_FALLBACK;
	else
		pr_warn("neither %s nor %s is a tmpfs of ours: frames and records in flight are"
			" lost if the sensor is killed\n", XS_STATE_DIR, KEEP_DIR_FALLBACK);
	return dir;
}
