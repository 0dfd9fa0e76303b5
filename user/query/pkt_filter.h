/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What `xdpsensor query` selects, all ANDed, decided on the frame itself:
 *   - Apache Metron's fixed fields (ip_src_addr, ip_dst_addr, ip_src_port,
 *     ip_dst_port, protocol, include_reverse), read with the sensor's own
 *     parser (flow_parse.h) from the header the sensor keys the frame by
 *     (the flow inside tunnels, or the tunnel: --key-layer, as the
 *     sensor's): addresses and prefixes, ports of TCP, UDP and SCTP (never
 *     ICMP's type/code, nor a non-first fragment), protocol; a frame keyed
 *     at L2 has none of them and never matches them;
 *   - a tcpdump/pcap-filter expression, compiled by libpcap for Ethernet and
 *     run with pcap_offline_filter();
 *   - Metron's packet_filter: a PCRE2 regular expression over the frame's
 *     bytes (no UTF, '.' matches every byte; \xNN is a byte).
 */
#ifndef XS_PKT_FILTER_H
#define XS_PKT_FILTER_H

#include <stdbool.h>
#include <pcap/pcap.h>
#include "xdpsensor.h"

/* An address or prefix, IPv4-mapped as in struct flow_key. */
struct addr_prefix {
	__u8 addr[16];
	__u32 len; /* bits over the 128-bit mapped address (IPv4 /24 = 120) */
};

struct pkt_filter {
	bool has_src, has_dst, include_reverse;
	struct addr_prefix src, dst;
	int sport, dport, proto;  /* -1: any */
	__u32 decap_max;          /* tunnels opened for them (default XS_MAX_DECAP) */
	bool has_bpf;
	struct bpf_program bpf;
	void *re;                 /* pcre2_code_8, NULL: none */
	void *re_match;           /* its pcre2_match_data_8 */
	const char *re_text;
	unsigned long re_errors;  /* frames the regex engine gave up on */
};

void pkt_filter_init(struct pkt_filter *f);
void pkt_filter_free(struct pkt_filter *f);

/* "192.0.2.0/24", "2001:db8::1", ...: 0, or -EINVAL. */
int addr_prefix_parse(const char *s, struct addr_prefix *out);
bool addr_prefix_match(const struct addr_prefix *p, const __u8 addr[16]);

/* Each prints the one line that says what is wrong, and returns -EINVAL. */
int pkt_filter_set_bpf(struct pkt_filter *f, const char *expr);
int pkt_filter_set_regex(struct pkt_filter *f, const char *regex);

/* Is any filter set beyond the time window? */
bool pkt_filter_any(const struct pkt_filter *f);
bool pkt_filter_match(struct pkt_filter *f, const __u8 *frame, __u32 caplen, __u32 orig_len);

#endif
