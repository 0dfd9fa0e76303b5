/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a Kafka record carries to its delivery report (its opaque), with no
 * allocation per packet: the index of the worker that produced it, so the
 * report counts in that worker's row of the producer's delivery table, and
 * the low bits of its capture time, so the report measures latency.
 * REF_WORKER_BITS index any worker a run may have, plus one value for flow
 * records; the rest holds ns, which wrap after 2^54 ns (208 days): an age
 * is taken modulo that, and is right for any record younger than that.
 */
#ifndef XS_RECORD_REF_H
#define XS_RECORD_REF_H

#include <stdint.h>
#include <linux/types.h>
#include "capture.h"

#define REF_WORKER_BITS 10
#define REF_TS_BITS (64 - REF_WORKER_BITS)
#define REF_TS_MASK ((1ull << REF_TS_BITS) - 1)
#define REF_FLOW_RECORD ((1u << REF_WORKER_BITS) - 1) /* not a worker */

_Static_assert(sizeof(void *) == sizeof(__u64), "the opaque holds 64 bits");
_Static_assert(CAPTURE_MAX_WORKERS <= REF_FLOW_RECORD,
	       "a record reference must index every worker a run may have");

static inline void *record_ref(unsigned int worker, __u64 ts_ns)
{
	return (void *)(uintptr_t)((__u64)worker << REF_TS_BITS | (ts_ns & REF_TS_MASK));
}

static inline unsigned int record_ref_worker(const void *ref)
{
	return (unsigned int)((__u64)(uintptr_t)ref >> REF_TS_BITS);
}

/* now_ns - capture time, for a record younger than 2^54 ns */
static inline __u64 record_ref_age(const void *ref, __u64 now_ns)
{
	return (now_ns - (__u64)(uintptr_t)ref) & REF_TS_MASK;
}

#endif
