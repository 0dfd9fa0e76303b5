// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "log.h"

static enum xs_log_level log_level = XS_LOG_INFO;

void log_set_level(enum xs_log_level level)
{
	log_level = level;
}

enum xs_log_level log_get_level(void)
{
	return log_level;
}

static void vlog(enum xs_log_level level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	fputs("xdpsensor: ", stderr);
	vfprintf(stderr, fmt, ap);
}

void xs_log(enum xs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* Our own messages carry libbpf's error string; its log (the
	 * verifier's included) is shown with -v, its debug output with -vv. */
	enum xs_log_level need = level == LIBBPF_DEBUG ? XS_LOG_TRACE : XS_LOG_DEBUG;

	if ((int)log_level < (int)need)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void log_init_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
