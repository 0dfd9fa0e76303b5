/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Printing flow keys and the flow table, as text and as flow records (JSON). */
#ifndef XS_FLOW_FORMAT_H
#define XS_FLOW_FORMAT_H

#include <stdbool.h>
#include <stdio.h>
#include <arpa/inet.h>
#include "xdpsensor.h"

/* Writes an address of a key: dotted quad for IPv4, RFC 5952 for IPv6. */
void format_addr(const __u8 addr[16], __u8 family, char out[INET6_ADDRSTRLEN]);

/* Ports are meaningful for these protocols (ICMP: type and code). */
bool proto_has_ports(__u8 proto);

struct flow_entry {
	struct flow_key key;
	struct flow_stats stats;
};

/* Reads the whole flow map; *out is malloc'ed, sorted by bytes, descending. */
int flow_table_read(int flows_fd, struct flow_entry **out, size_t *count);

/* Why a flow record was written (IPFIX flowEndReason, roughly). */
enum flow_end {
	FLOW_SNAPSHOT, /* `flows --json`, `classify`: the table as it is, no export */
	FLOW_ACTIVE,   /* still active after --flow-active-timeout */
	FLOW_IDLE,     /* idle for --flow-timeout: removed */
	FLOW_EVICTED,  /* removed to make room in a nearly full table */
	FLOW_EXIT,     /* the sensor stops */
};

/*
 * --flows-format: kflow is exactly KFlow's fields (dvc, src, srcp, dst,
 * dstp, proto, flags, bytes, pkts, time); json (the default) adds
 * per-direction deltas, cumulative totals, first/last seen, the end
 * reason and the Community ID.
 */
enum flows_format { FLOWS_JSON, FLOWS_KFLOW };

int parse_flows_format(const char *s, enum flows_format *out);

/*
 * One flow record: e.stats holds the cumulative counters (the totals),
 * packets/bytes what the flow did since its previous export (IPFIX's
 * packetDeltaCount / octetDeltaCount), per direction (enum xs_dir).
 */
struct flow_record {
	struct flow_entry e;
	__u64 packets[2];
	__u64 bytes[2];
	__u64 time_ms;  /* export time, ms since the epoch (KFlow's `time`) */
	enum flow_end end;
};

/* A snapshot record of a table entry: deltas = totals, time = now. */
void flow_record_snapshot(struct flow_record *r, const struct flow_entry *e);

/* Room for the longest record (two IPv6 addresses, every counter at 2^64). */
#define FLOW_RECORD_MAX 1024

/* One record as one JSON object, no newline; returns the length as
 * snprintf does (>= len: truncated). */
int flow_record_format(char *buf, size_t len, enum flows_format fmt, const char *dvc,
		       const struct flow_record *r);

/* A snapshot of one entry as an extended JSON line (`flows --json`, `classify`). */
void flow_print_json(FILE *f, const char *dvc, const struct flow_entry *e);
void flow_print_table(FILE *f, const struct flow_entry *e, size_t n);

#endif
