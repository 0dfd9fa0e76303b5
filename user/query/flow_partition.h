/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The partition a flow's records are in: the key built exactly as the
 * sensor builds it (record_key.c), hashed by librdkafka's Java-compatible
 * murmur2 partitioner, which the sensor's murmur2_random uses for every
 * record with a key.
 */
#ifndef XS_FLOW_PARTITION_H
#define XS_FLOW_PARTITION_H

#include "pkt_filter.h"
#include "record_key.h"

/* From the fixed fields of f (full addresses, protocol, and ports for TCP,
 * UDP and SCTP): 0 and the partition, or -EINVAL after one line saying
 * what --flow misses. */
int flow_partition(const struct pkt_filter *f, enum key_scheme scheme, int partitions,
		   int *out);

#endif
