/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a Kafka record carries to its delivery report (its opaque), with no
 * allocation per packet. Each worker has its own producer, so the report
 * needs no worker index: a record read from the spool carries its spool
 * ticket (REF_SPOOL set), so the report lets the spool forget it; a record
 * produced directly carries its capture time in ns (below 2^63 ns: until
 * the year 2262), so the report measures latency and a record handed back
 * by the producer keeps its time.
 */
#ifndef XS_RECORD_REF_H
#define XS_RECORD_REF_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#define REF_SPOOL (1ull << 63)

_Static_assert(sizeof(void *) == sizeof(__u64), "the opaque holds 64 bits");

static inline void *record_ref_direct(__u64 ts_ns)
{
	return (void *)(uintptr_t)(ts_ns & ~REF_SPOOL);
}

static inline void *record_ref_spool(__u32 ticket)
{
	return (void *)(uintptr_t)(REF_SPOOL | ticket);
}

static inline bool record_ref_is_spool(const void *ref)
{
	return (__u64)(uintptr_t)ref & REF_SPOOL;
}

static inline __u32 record_ref_ticket(const void *ref)
{
	return (__u32)(uintptr_t)ref;
}

static inline __u64 record_ref_ts(const void *ref)
{
	return (__u64)(uintptr_t)ref & ~REF_SPOOL;
}

#endif
