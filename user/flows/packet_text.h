/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One parsed packet's key as text, as the packet went (not as ordered in
 * the key): `classify` prints it per packet, `inspect` per record. */
#ifndef XS_PACKET_TEXT_H
#define XS_PACKET_TEXT_H

#include <stdio.h>
#include <arpa/inet.h>
#include "community_id.h"
#include "flow_parse.h"

struct packet_text {
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN]; /* MACs for a key at L2 */
	char cid[COMMUNITY_ID_LEN];                        /* "1:..." or "l2:..." */
	__u16 sport, dport; /* at L2: the EtherType both, or each end's SAP */
};

void packet_text(const struct xs_packet *p, struct packet_text *t);

/* "vxlan", "gre", ... (enum xs_tunnel) */
const char *tunnel_name(__u8 kind);

/* The key's JSON fields, no braces: src, dst, then sport and dport, or at
 * L2 ethertype, or ssap and dsap; then family, proto, dir, community_id. */
void packet_key_json(FILE *f, const struct xs_packet *p, const struct packet_text *t);

#endif
