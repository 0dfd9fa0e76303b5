/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Small helpers every benchmark tool shares: clocks, CPU pinning, a stop
 * flag set by SIGINT/SIGTERM/SIGALRM, number parsing with k/M/G suffixes,
 * and the process's own CPU time for the one-line JSON result.
 *
 * Protocol with bench/run.sh: a receiver prints "ready" on stderr once it
 * can count packets, and one JSON object on one stdout line at exit.
 */
#ifndef XS_BENCH_UTIL_H
#define XS_BENCH_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define XS_BENCH_VERSION "0.1"

static volatile sig_atomic_t bench_stop;
/* Called from the signal handler after bench_stop is set, to wake a loop
 * that a flag alone does not (pcap_breakloop). Must be signal-safe. */
static void (*bench_stop_hook)(void);

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void bench_on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
	if (bench_stop_hook)
		bench_stop_hook();
}

/* SIGINT/SIGTERM stop the tool; a duration > 0 s arms SIGALRM to do the
 * same. No SA_RESTART: blocking calls return EINTR and loops see the flag. */
static inline void bench_install_stop(unsigned int duration_s)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (duration_s)
		alarm(duration_s);
}

/* Pins the calling thread to one CPU; cpu < 0 leaves it alone. */
static inline int bench_pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "cannot pin to CPU %d: %s\n", cpu, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Parses "1500", "200k", "1.5M", "2G" into *out. Returns 0 or -EINVAL. */
static inline int bench_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v *= 1e3; end++; break;
	case 'm': case 'M': v *= 1e6; end++; break;
	case 'g': case 'G': v *= 1e9; end++; break;
	}
	if (*end)
		return -EINVAL;
	*out = (uint64_t)(v + 0.5);
	return 0;
}

/* User and system CPU time this process used so far, in ns. */
static inline void bench_cpu_ns(uint64_t *user_ns, uint64_t *sys_ns)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000ull +
		   (uint64_t)ru.ru_utime.tv_usec * 1000ull;
	*sys_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000ull +
		  (uint64_t)ru.ru_stime.tv_usec * 1000ull;
}

/* Tells bench/run.sh the tool is counting. */
static inline void bench_ready(void)
{
	fprintf(stderr, "ready\n");
	fflush(stderr);
}

#endif /* XS_BENCH_UTIL_H */
