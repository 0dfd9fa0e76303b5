// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "caps.h"
#include "log.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const struct {
	enum xs_cap cap;
	int number;
	const char *name, *why;
} caps[] = {
	{ XS_CAP_BPF, CAP_BPF, "CAP_BPF", "BPF program and maps" },
	{ XS_CAP_PERFMON, CAP_PERFMON, "CAP_PERFMON", "the verifier" },
	{ XS_CAP_NET_ADMIN, CAP_NET_ADMIN, "CAP_NET_ADMIN", "XDP attach, offloads" },
	{ XS_CAP_NET_RAW, CAP_NET_RAW, "CAP_NET_RAW", "AF_XDP sockets" },
	{ XS_CAP_IPC_LOCK, CAP_IPC_LOCK, "CAP_IPC_LOCK", "AF_XDP UMEM" },
};

int check_caps(unsigned int needs, __u64 memlock)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	char missing[256] = "";
	struct rlimit rl;
	size_t len = 0;
	bool sys_admin;

	if (syscall(SYS_capget, &hdr, data)) {
		int err = -errno;

		pr_warn("cannot read this process's capabilities (capget: %s)\n", strerror(-err));
		return err;
	}
#define HAS(n) (data[(n) / 32].effective & (1u << ((n) % 32)))
	sys_admin = HAS(CAP_SYS_ADMIN);
	/* RLIMIT_MEMLOCK high enough: the UMEM does without CAP_IPC_LOCK */
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) &&
	    (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= memlock))
		needs &= ~XS_CAP_IPC_LOCK;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (!(needs & caps[i].cap) || HAS(caps[i].number))
			continue;
		/* before CAP_BPF and CAP_PERFMON (5.8), CAP_SYS_ADMIN held both */
		if (sys_admin && (caps[i].cap == XS_CAP_BPF || caps[i].cap == XS_CAP_PERFMON))
			continue;
		len += (size_t)snprintf(missing + len, sizeof(missing) - len, "%s%s (%s",
					len ? ", " : "", caps[i].name, caps[i].why);
		if (caps[i].cap == XS_CAP_IPC_LOCK)
			len += (size_t)snprintf(missing + len, sizeof(missing) - len,
						"; or an RLIMIT_MEMLOCK of %llu MiB",
						(unsigned long long)(memlock >> 20));
		len += (size_t)snprintf(missing + len, sizeof(missing) - len, ")");
	}
	if (!len)
		return 0;
	pr_warn("missing capability %s: run it as root, or grant it (CAPABILITIES in"
		" xdpsensor(8))\n", missing);
#undef HAS
	return -EPERM;
}
