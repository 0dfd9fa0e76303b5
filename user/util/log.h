/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Leveled logging to stderr; libbpf's own messages are routed through it. */
#ifndef XS_LOG_H
#define XS_LOG_H

enum xs_log_level {
	XS_LOG_WARN = 0,
	XS_LOG_INFO = 1,
	XS_LOG_DEBUG = 2, /* -v */
	XS_LOG_TRACE = 3, /* -vv: libbpf debug output too */
};

void log_set_level(enum xs_log_level level);
enum xs_log_level log_get_level(void);
/* Installs the libbpf print callback (libbpf's debug output only at -vv). */
void log_init_libbpf(void);
void xs_log(enum xs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_warn(...) xs_log(XS_LOG_WARN, __VA_ARGS__)
#define pr_info(...) xs_log(XS_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) xs_log(XS_LOG_DEBUG, __VA_ARGS__)

#endif
