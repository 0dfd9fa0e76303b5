/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What one random memory read costs on this machine, measured next to the
 * program: the yardstick for the mix, whose every packet reads a hash
 * bucket and a flow entry somewhere in a table larger than the caches.
 */
#ifndef BENCH_MEM_LATENCY_H
#define BENCH_MEM_LATENCY_H

#include <stddef.h>

/*
 * ns per dependent read (pointer chase, one 64-byte line per hop, random
 * order) over `bytes` of memory in 4 KiB pages, as the kernel's vmalloc()
 * gives a BPF map; one pass. < 0 if memory is short.
 */
double mem_random_read_ns(size_t bytes);

#endif /* BENCH_MEM_LATENCY_H */
