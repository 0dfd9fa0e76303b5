/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Printing flow keys and the flow table, as text and as KFlow-style JSON. */
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

/*
 * One flow as a KFlow-style JSON object (dvc, src, srcp, dst, dstp, proto,
 * flags, bytes, pkts, time) plus per-direction counters and Community ID.
 */
void flow_print_json(FILE *f, const char *dvc, const struct flow_entry *e);
void flow_print_table(FILE *f, const struct flow_entry *e, size_t n);

#endif
