/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* libbpf's messages through one filter: warnings always, debug with -v. */
#ifndef XS_BENCH_BPF_LOG_H
#define XS_BENCH_BPF_LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>

static int bench_bpf_verbose;

static inline int bench_libbpf_print(enum libbpf_print_level level,
				     const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !bench_bpf_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static inline void bench_bpf_log_init(int verbose)
{
	bench_bpf_verbose = verbose;
	libbpf_set_print(bench_libbpf_print);
}

#endif /* XS_BENCH_BPF_LOG_H */
