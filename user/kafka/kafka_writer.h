/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * --producer batch: the packet records' own Kafka writer (issue #11). It
 * encodes each record straight into its partition's record batch and
 * sends the batches as an idempotent producer does (acks=all, a producer
 * id and sequence numbers, at most 5 requests in flight per broker, batches
 * retried with their sequence after a lost connection or a leader change),
 * all in the calling thread: no allocation and no lock per record, where
 * librdkafka's per-message API spends more than the whole classic probe.
 *
 * Plaintext brokers only (TLS and SASL stay with librdkafka); fixed
 * settings: linger 5 ms, batches up to 1 MB or 10,000 records, 1M records
 * or 1 GiB queued, records failed after 300 s unsent. Its contract is
 * kafka.h's (kafka.c forwards to it): per-record reports with their opaque,
 * purges that hand every record back.
 */
#ifndef XS_KAFKA_WRITER_H
#define XS_KAFKA_WRITER_H

#include <stdbool.h>
#include "kafka.h"

struct kafka_writer;

/* Waits up to wait_ms for the topic's metadata and a producer id (0: not
 * at all; records produced before are refused with -ENOBUFS). */
struct kafka_writer *kafka_writer_open(const struct kafka_opts *o, const char *topic,
				       kafka_report_fn *report, void *ctx, int wait_ms);
int kafka_writer_produce(struct kafka_writer *w, const struct kafka_record *r);
unsigned int kafka_writer_poll(struct kafka_writer *w, int timeout_ms, unsigned int max);
int kafka_writer_outq(const struct kafka_writer *w);
void kafka_writer_purge(struct kafka_writer *w, bool inflight);
void kafka_writer_close(struct kafka_writer *w);

#endif
