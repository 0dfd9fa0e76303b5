// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "mem_latency.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define LINE 64
#define HOPS 2000000

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* xorshift64: reproducible, and no libc rand() state shared with the caller */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

double mem_random_read_ns(size_t bytes)
{
	size_t n = bytes / LINE, *order;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	double result = -1, t0;
	char *buf, *p, *volatile sink;

	if (n < 2)
		return -1;
	buf = mmap(NULL, n * LINE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	order = malloc(n * sizeof(*order));
	if (buf == MAP_FAILED || !order)
		goto out;
	madvise(buf, n * LINE, MADV_NOHUGEPAGE);

	/* one cycle through every line, in a random order (Fisher-Yates) */
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = next_rand(&seed) % (i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	for (size_t i = 0; i < n; i++)
		*(char **)(buf + order[i] * LINE) = buf + order[(i + 1) % n] * LINE;

	p = buf;
	t0 = now_ns();
	for (long h = 0; h < HOPS; h++)
		p = *(char **)p;
	result = (now_ns() - t0) / HOPS;
	sink = p; /* keeps the chase */
	(void)sink;
out:
	free(order);
	if (buf != MAP_FAILED)
		munmap(buf, n * LINE);
	return result;
}
