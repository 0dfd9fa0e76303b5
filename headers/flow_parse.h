/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet parser, written once and compiled twice: into the XDP program
 * (clang -target bpf) and into userspace (the AF_XDP workers, the pcap
 * output, the benchmark peers), so the key userspace computes is the key
 * the datapath counted.
 *
 * Cursor style: every read is preceded by a check against data_end, every
 * helper returns 0 or the enum xs_stat reason the packet cannot be keyed at
 * IP (it is then keyed at L2, see struct flow_key).
 *
 * Tunnels (VXLAN, GENEVE, GRE with transparent Ethernet bridging or
 * ERSPAN I-III, IPv4/IPv6 in IPv4/IPv6) are opened up to the depth the
 * caller asks for: the key is then the innermost flow's, as tshark's
 * Community ID hashes it.
 */
#ifndef XDPSENSOR_FLOW_PARSE_H
#define XDPSENSOR_FLOW_PARSE_H

#include "xdpsensor.h"

/* Fixed-count loops are unrolled for the verifier; gcc needs no hint. */
#ifdef __clang__
#define XS_UNROLL _Pragma("unroll")
#else
#define XS_UNROLL
#endif

#ifdef __bpf__
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#define xs_ntohs(x) bpf_ntohs(x)
#define xs_htons(x) bpf_htons(x)
#define xs_ntohl(x) bpf_ntohl(x)
#define xs_htonl(x) bpf_htonl(x)
#else
#include <arpa/inet.h>
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define xs_ntohs(x) ntohs(x)
#define xs_htons(x) htons(x)
#define xs_ntohl(x) ntohl(x)
#define xs_htonl(x) htonl(x)
#endif

/*
 * Loads of 16 and 32 bits in network order, wherever they sit in the
 * frame. The datapath reads them in one instruction each (the verifier
 * allows unaligned packet reads where the CPU does them cheaply, as on
 * x86 and arm64); userspace goes through memcpy, which is the same load.
 * Byte by byte, the parser was a third of the program's instructions.
 */
#ifdef __bpf__
#define xs_load16(p) (*(const __u16 *)(const void *)(p))
#define xs_load32(p) (*(const __u32 *)(const void *)(p))
#else
static inline __u16 xs_load16(const void *p)
{
	__u16 v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline __u32 xs_load32(const void *p)
{
	__u32 v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}
#endif

/* How deep the parser follows; overridable with -D. */
#ifndef XS_MAX_VLAN_TAGS
#define XS_MAX_VLAN_TAGS 2
#endif
#ifndef XS_MAX_IPV6_EXT
#define XS_MAX_IPV6_EXT 6
#endif
#ifndef XS_MAX_DECAP
#define XS_MAX_DECAP 3 /* tunnels opened at most (--key-layer inner) */
#endif

#define XS_ETH_HLEN 14
#define XS_ETH_P_IP 0x0800
#define XS_ETH_P_IPV6 0x86DD
#define XS_ETH_P_8021Q 0x8100
#define XS_ETH_P_8021AD 0x88A8
#define XS_ETH_P_QINQ1 0x9100 /* pre-standard QinQ, still seen */
#define XS_ETH_P_TEB 0x6558   /* transparent Ethernet bridging */
#define XS_ETH_P_ERSPAN 0x88BE /* types I and II */
#define XS_ETH_P_ERSPAN3 0x22EB
#define XS_ETH_P_8023_MIN 0x0600 /* below: an 802.3 length, LLC follows */

#define XS_UDP_VXLAN 4789
#define XS_UDP_GENEVE 6081

#define XS_IPPROTO_HOPOPTS 0
#define XS_IPPROTO_ICMP 1
#define XS_IPPROTO_IPIP 4
#define XS_IPPROTO_TCP 6
#define XS_IPPROTO_UDP 17
#define XS_IPPROTO_IPV6 41
#define XS_IPPROTO_ROUTING 43
#define XS_IPPROTO_FRAGMENT 44
#define XS_IPPROTO_ICMPV6 58
#define XS_IPPROTO_GRE 47
#define XS_IPPROTO_DSTOPTS 60
#define XS_IPPROTO_SCTP 132

/* Result of parsing one frame. */
struct xs_packet {
	struct flow_key key;
	__u8 dir;       /* enum xs_dir */
	__u8 tcp_flags; /* this packet's TCP flags, 0 if not TCP */
	__u8 has_ports; /* 0 for non-first fragments and port-less protocols */
	__u8 vlan_tags; /* in front of the outer IP header */
	__u16 l3_off;   /* offset of the IP header keyed in the frame */
	__u16 l4_off;   /* offset of the transport header (valid if has_ports) */
	__u8 decap;     /* tunnels opened to reach the header keyed */
	__u8 decap_limited; /* a further tunnel lies beyond the depth asked for */
	__u8 tunnel;    /* enum xs_tunnel of the innermost tunnel opened */
	__u8 pad;
};

/* Kinds of tunnel the parser opens. */
enum xs_tunnel {
	XS_TUNNEL_NONE = 0,
	XS_TUNNEL_VXLAN,
	XS_TUNNEL_GENEVE,
	XS_TUNNEL_GRE,    /* IP or transparent Ethernet bridging in GRE */
	XS_TUNNEL_ERSPAN, /* types I, II and III */
	XS_TUNNEL_IPIP,   /* IPv4 or IPv6 in IPv4 or IPv6 */
};

struct xs_cursor {
	const __u8 *pos;
	const __u8 *end;
	__u32 ip_left; /* bytes left in the IP datagram per its length field */
	__u8 nonfirst_frag; /* the IP payload is a non-first fragment */
};

#define XS_IP_LEN_UNKNOWN 0xffffffffu /* GSO/jumbo: the frame's length rules */

/* Steps over n bytes of IP payload; 0, or non-zero if the datagram's own
 * length says they are not there (the rest is Ethernet padding). */
static __always_inline int xs_ip_consume(struct xs_cursor *c, __u32 n)
{
	if (n > c->ip_left)
		return 1;
	if (c->ip_left != XS_IP_LEN_UNKNOWN)
		c->ip_left -= n;
	return 0;
}

/* Addresses of the packet as seen on the wire, before normalization:
 * 32-bit words in network order, IPv4 mapped as in flow_key. */
struct xs_endpoints {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
	__u8 one_way; /* ICMP types without a reply type: never reordered */
};

/* ::ffff:a.b.c.d, from the address as it sits in the header */
static __always_inline void xs_map_v4(__u32 out[4], __u32 v4)
{
	out[0] = 0;
	out[1] = 0;
	out[2] = xs_htonl(0x0000ffff);
	out[3] = v4;
}

/* Community ID's ICMP "port equivalents": a request type maps to its reply
 * type so both directions of an exchange share a key. */
static __always_inline int xs_icmp_peer_type(__u8 proto, __u8 type)
{
	if (proto == XS_IPPROTO_ICMP) {
		switch (type) {
		case 8: return 0;   case 0: return 8;   /* echo */
		case 13: return 14; case 14: return 13; /* timestamp */
		case 15: return 16; case 16: return 15; /* information */
		case 10: return 9;  case 9: return 10;  /* router sol./adv. */
		case 17: return 18; case 18: return 17; /* address mask */
		}
	} else {
		switch (type) {
		case 128: return 129; case 129: return 128; /* echo */
		case 133: return 134; case 134: return 133; /* router */
		case 135: return 136; case 136: return 135; /* neighbor */
		case 130: return 131; case 131: return 130; /* MLD */
		case 144: return 145; case 145: return 144; /* home agent */
		case 139: return 140; case 140: return 139; /* node information */
		}
	}
	return -1;
}

/* memcmp of two addresses, a word at a time: the first word that differs
 * decides, compared as the big-endian number it is. */
static __always_inline int xs_addr_cmp(const __u32 *a, const __u32 *b)
{
XS_UNROLL
	for (int i = 0; i < 4; i++) {
		if (a[i] != b[i])
			return xs_ntohl(a[i]) < xs_ntohl(b[i]) ? -1 : 1;
	}
	return 0;
}

/* Orders the endpoints as Community ID does and fills key and dir. */
static __always_inline void xs_normalize(struct xs_packet *p,
					 const struct xs_endpoints *e)
{
	int c = xs_addr_cmp(e->src, e->dst);
	int keep = e->one_way || c < 0 || (c == 0 && e->sport <= e->dport);

	if (keep) {
		__builtin_memcpy(p->key.addr_a, e->src, 16);
		__builtin_memcpy(p->key.addr_b, e->dst, 16);
		p->key.port_a = e->sport;
		p->key.port_b = e->dport;
		p->dir = XS_DIR_A_TO_B;
	} else {
		__builtin_memcpy(p->key.addr_a, e->dst, 16);
		__builtin_memcpy(p->key.addr_b, e->src, 16);
		p->key.port_a = e->dport;
		p->key.port_b = e->sport;
		p->dir = XS_DIR_B_TO_A;
	}
}

/* Transport header: ports (or ICMP type/code) and TCP flags. */
static __always_inline int xs_parse_l4(struct xs_cursor *c, struct xs_packet *p,
				       struct xs_endpoints *e, const __u8 *frame)
{
	__u8 proto = p->key.proto;
	const __u8 *h = c->pos;

	switch (proto) {
	case XS_IPPROTO_TCP:
		if (h + 20 > c->end || 20 > c->ip_left)
			return XS_STAT_L2_TRUNCATED;
		p->tcp_flags = h[13];
		break;
	case XS_IPPROTO_UDP:
	case XS_IPPROTO_SCTP:
		if (h + 8 > c->end || 8 > c->ip_left)
			return XS_STAT_L2_TRUNCATED;
		break;
	case XS_IPPROTO_ICMP:
	case XS_IPPROTO_ICMPV6: {
		int peer;

		if (h + 2 > c->end || 2 > c->ip_left)
			return XS_STAT_L2_TRUNCATED;
		peer = xs_icmp_peer_type(proto, h[0]);
		e->sport = h[0];
		e->dport = peer >= 0 ? (__u16)peer : h[1];
		e->one_way = peer < 0;
		p->has_ports = 1;
		p->l4_off = (__u16)(h - frame);
		return 0;
	}
	default:
		return 0; /* keyed by addresses and protocol only */
	}
	e->sport = xs_ntohs(xs_load16(h));
	e->dport = xs_ntohs(xs_load16(h + 2));
	p->has_ports = 1;
	p->l4_off = (__u16)(h - frame);
	return 0;
}

static __always_inline int xs_parse_ipv4(struct xs_cursor *c, struct xs_packet *p,
					 struct xs_endpoints *e, const __u8 *frame)
{
	const __u8 *h = c->pos;
	__u32 ihl, tot_len;
	__u16 frag;

	if (h + 20 > c->end)
		return XS_STAT_L2_TRUNCATED;
	ihl = (h[0] & 0x0f) * 4;
	tot_len = xs_ntohs(xs_load16(h + 2));
	/* tot_len 0 is how GSO/big-TCP frames carry lengths over 64 KiB */
	if ((h[0] >> 4) != 4 || ihl < 20 || (tot_len && tot_len < ihl))
		return XS_STAT_L2_BAD_IPV4;
	if (h + ihl > c->end)
		return XS_STAT_L2_TRUNCATED;

	c->ip_left = tot_len ? tot_len - ihl : XS_IP_LEN_UNKNOWN;
	p->key.family = XS_FAMILY_IPV4;
	p->key.proto = h[9];
	xs_map_v4(e->src, xs_load32(h + 12));
	xs_map_v4(e->dst, xs_load32(h + 16));
	c->pos = h + ihl;

	frag = xs_ntohs(xs_load16(h + 6)) & 0x1fff;
	c->nonfirst_frag = frag != 0;
	if (frag) /* non-first fragment: no transport header */
		return 0;
	return xs_parse_l4(c, p, e, frame);
}

static __always_inline int xs_ipv6_is_ext(__u8 nh)
{
	return nh == XS_IPPROTO_HOPOPTS || nh == XS_IPPROTO_ROUTING ||
	       nh == XS_IPPROTO_DSTOPTS || nh == XS_IPPROTO_FRAGMENT;
}

static __always_inline int xs_parse_ipv6(struct xs_cursor *c, struct xs_packet *p,
					 struct xs_endpoints *e, const __u8 *frame)
{
	const __u8 *h = c->pos;
	__u8 nh;

	if (h + 40 > c->end)
		return XS_STAT_L2_TRUNCATED;
	if ((h[0] >> 4) != 6)
		return XS_STAT_L2_BAD_IPV6;

	c->ip_left = xs_ntohs(xs_load16(h + 4));
	if (!c->ip_left) /* jumbogram: the length is in a hop-by-hop option */
		c->ip_left = XS_IP_LEN_UNKNOWN;
	p->key.family = XS_FAMILY_IPV6;
XS_UNROLL
	for (int i = 0; i < 4; i++) {
		e->src[i] = xs_load32(h + 8 + 4 * i);
		e->dst[i] = xs_load32(h + 24 + 4 * i);
	}
	nh = h[6];
	c->pos = h + 40;

XS_UNROLL
	for (int i = 0; i < XS_MAX_IPV6_EXT; i++) {
		const __u8 *x = c->pos;

		if (!xs_ipv6_is_ext(nh))
			break;
		if (x + 8 > c->end)
			return XS_STAT_L2_TRUNCATED;
		if (xs_ip_consume(c, nh == XS_IPPROTO_FRAGMENT ? 8 : ((__u32)x[1] + 1) * 8))
			return XS_STAT_L2_TRUNCATED;
		if (nh == XS_IPPROTO_FRAGMENT) {
			__u16 off = xs_ntohs(xs_load16(x + 2)) & 0xfff8;

			nh = x[0];
			c->pos = x + 8;
			if (off) { /* non-first fragment: no transport header */
				p->key.proto = nh;
				c->nonfirst_frag = 1;
				return 0;
			}
			continue;
		}
		nh = x[0];
		c->pos = x + ((__u32)x[1] + 1) * 8;
	}
	if (xs_ipv6_is_ext(nh))
		return XS_STAT_L2_IPV6_EXT_DEPTH;
	p->key.proto = nh;
	return xs_parse_l4(c, p, e, frame);
}

/* Ethernet and up to XS_MAX_VLAN_TAGS tags: *type is the EtherType (or
 * 802.3 length) after them, c->pos the header it names. */
static __always_inline int xs_parse_eth(struct xs_cursor *c, __u16 *type, __u8 *tags)
{
	__u16 proto;

	if (c->pos + XS_ETH_HLEN > c->end)
		return XS_STAT_L2_TRUNCATED;
	proto = xs_ntohs(xs_load16(c->pos + 12));
	c->pos += XS_ETH_HLEN;

XS_UNROLL
	for (int i = 0; i < XS_MAX_VLAN_TAGS; i++) {
		if (proto != XS_ETH_P_8021Q && proto != XS_ETH_P_8021AD &&
		    proto != XS_ETH_P_QINQ1)
			break;
		*type = proto;
		if (c->pos + 4 > c->end)
			return XS_STAT_L2_TRUNCATED;
		proto = xs_ntohs(xs_load16(c->pos + 2));
		c->pos += 4;
		(*tags)++;
	}
	*type = proto;
	if (proto == XS_ETH_P_8021Q || proto == XS_ETH_P_8021AD || proto == XS_ETH_P_QINQ1)
		return XS_STAT_L2_VLAN_DEPTH;
	return 0;
}

/* The IP header the EtherType names, and the transport header after it. */
static __always_inline int xs_parse_ip(struct xs_cursor *c, struct xs_packet *p,
				       struct xs_endpoints *e, const __u8 *frame, __u16 type)
{
	p->l3_off = (__u16)(c->pos - frame);
	if (type == XS_ETH_P_IP)
		return xs_parse_ipv4(c, p, e, frame);
	if (type == XS_ETH_P_IPV6)
		return xs_parse_ipv6(c, p, e, frame);
	return XS_STAT_L2_NOT_IP;
}

/*
 * Is the payload after the transport header (c->pos at it, e holding the
 * packet's ports) a tunnel? Returns the EtherType of what it carries
 * (XS_ETH_P_TEB for an Ethernet frame) with c->pos at it, or 0.
 */
static __always_inline __u16 xs_tunnel(struct xs_cursor *c, const struct xs_packet *p,
				       const struct xs_endpoints *e, __u8 *kind)
{
	const __u8 *h = c->pos;
	__u32 hlen;
	__u16 type;
	__u8 f;

	if (c->nonfirst_frag)
		return 0;
	switch (p->key.proto) {
	case XS_IPPROTO_IPIP:
		*kind = XS_TUNNEL_IPIP;
		return XS_ETH_P_IP;
	case XS_IPPROTO_IPV6:
		*kind = XS_TUNNEL_IPIP;
		return XS_ETH_P_IPV6;
	case XS_IPPROTO_UDP:
		if (e->dport == XS_UDP_VXLAN) { /* 8-byte VXLAN header, then Ethernet */
			if (h + 16 > c->end)
				return 0;
			c->pos = h + 16;
			*kind = XS_TUNNEL_VXLAN;
			return XS_ETH_P_TEB;
		}
		if (e->dport != XS_UDP_GENEVE || h + 16 > c->end)
			return 0;
		/* GENEVE: 8 bytes, options, then what the protocol type says */
		hlen = 16 + (h[8] & 0x3f) * 4;
		type = xs_ntohs(xs_load16(h + 10));
		if ((h[8] >> 6) != 0 || h + hlen > c->end)
			return 0;
		c->pos = h + hlen;
		*kind = XS_TUNNEL_GENEVE;
		return type;
	case XS_IPPROTO_GRE:
		if (h + 4 > c->end)
			return 0;
		f = h[0];
		/* version 0 only (1 is PPTP's), no source routing */
		if ((h[1] & 0x07) || (f & 0x40))
			return 0;
		hlen = 4 + ((f & 0x80) ? 4 : 0) + ((f & 0x20) ? 4 : 0) + ((f & 0x10) ? 4 : 0);
		type = xs_ntohs(xs_load16(h + 2));
		h += hlen;
		*kind = XS_TUNNEL_GRE;
		if (type == XS_ETH_P_ERSPAN) {
			/* type II (sequence number present) has an 8-byte header,
			 * type I none */
			if (f & 0x10)
				h += 8;
			*kind = XS_TUNNEL_ERSPAN;
			type = XS_ETH_P_TEB;
		} else if (type == XS_ETH_P_ERSPAN3) {
			/* 12 bytes, 8 more with the O flag; frame type 0 is Ethernet */
			if (h + 12 > c->end || ((h[10] >> 2) & 0x1f))
				return 0;
			h += (h[11] & 0x01) ? 20 : 12;
			*kind = XS_TUNNEL_ERSPAN;
			type = XS_ETH_P_TEB;
		}
		if (h > c->end)
			return 0;
		c->pos = h;
		return type;
	}
	return 0;
}

/* The L2 endpoints of a frame (struct flow_key): the MAC addresses, and
 * the EtherType in both ports or each end's LLC SAP. c->pos is after the
 * Ethernet header and its tags, type the EtherType or 802.3 length there. */
static __always_inline void xs_l2_endpoints(struct xs_endpoints *e, const struct xs_cursor *c,
					    const __u8 *frame, __u16 type)
{
	if (frame + XS_ETH_HLEN > c->end)
		return; /* zero: only userspace sees such a frame */
	__builtin_memcpy(e->dst, frame, 6);
	__builtin_memcpy(e->src, frame + 6, 6);
	if (type >= XS_ETH_P_8023_MIN) {
		e->sport = type;
		e->dport = type;
	} else if (c->pos + 2 <= c->end) { /* LLC: DSAP, SSAP */
		e->dport = c->pos[0] & 0xfe;
		e->sport = c->pos[1] & 0xfe;
	}
}

/* One layer of a frame: what xs_parse_layer found. */
struct xs_layer {
	struct xs_packet p;   /* key not normalized yet */
	struct xs_endpoints e;
	__u16 next_off;       /* where the tunnelled header starts */
	__u16 next_type;      /* its EtherType (XS_ETH_P_TEB: Ethernet), 0: none */
	__u8 tunnel;          /* enum xs_tunnel */
	__u8 pad[3];
};

/*
 * Parses one layer: at off, an Ethernet header (type XS_ETH_P_TEB) or the
 * IP header of EtherType type, up to the transport header, and what its
 * payload carries if it is a tunnel. Returns 0, or the reason it cannot be
 * keyed at IP (the L2 endpoints are then in l->e).
 */
static __always_inline int xs_parse_layer(const __u8 *frame, const __u8 *end, __u32 off,
					  __u16 type, struct xs_layer *l)
{
	struct xs_cursor c = { .pos = frame + off, .end = end, .ip_left = XS_IP_LEN_UNKNOWN };
	struct xs_cursor l3;
	int err = 0;

	__builtin_memset(l, 0, sizeof(*l));
	if (type == XS_ETH_P_TEB)
		err = xs_parse_eth(&c, &type, &l->p.vlan_tags);
	l3 = c;
	if (!err)
		err = xs_parse_ip(&l3, &l->p, &l->e, frame, type);
	if (err) {
		__builtin_memset(&l->e, 0, sizeof(l->e));
		xs_l2_endpoints(&l->e, &c, frame, type);
		l->p.l3_off = (__u16)(c.pos - frame);
		return err;
	}
	l->next_type = xs_tunnel(&l3, &l->p, &l->e, &l->tunnel);
	l->next_off = (__u16)(l3.pos - frame);
	return 0;
}

/* Parses a layer of the frame that arg stands for (see xs_parse_frame). */
typedef int (*xs_layer_fn)(const void *arg, __u32 off, __u32 type, struct xs_layer *l);

/* The tunnels after a layer: in, the layer (l, with what follows it) and
 * its key (p, e); out, the key of the innermost layer keyed whole. */
struct xs_decap_state {
	struct xs_layer l;
	struct xs_packet p;
	struct xs_endpoints e;
	__u32 max_decap; /* tunnels to open, at most XS_MAX_DECAP */
};

/* Opens the tunnels of a frame (see xs_decap), arg standing for it. */
typedef int (*xs_decap_fn)(const void *arg, struct xs_decap_state *s);

/*
 * Opens the tunnels after s->l, each layer parsed by parse. A layer
 * replaces the one around it only once it is keyed whole: a tunnel cut
 * short or carrying no IP keeps the outer key.
 */
static __always_inline void xs_decap(xs_layer_fn parse, const void *arg,
				     struct xs_decap_state *s)
{
	__u8 tags = s->p.vlan_tags;

	for (__u32 depth = 0; depth <= XS_MAX_DECAP; depth++) {
		__u32 off = s->l.next_off, type = s->l.next_type;
		__u8 kind = s->l.tunnel;

		if (!type)
			break;
		if (depth >= s->max_decap || depth == XS_MAX_DECAP) {
			s->p.decap_limited = 1;
			break;
		}
		if (parse(arg, off, type, &s->l))
			break;
		s->p = s->l.p;
		s->e = s->l.e;
		s->p.vlan_tags = tags;
		s->p.decap = (__u8)(depth + 1);
		s->p.tunnel = kind;
	}
}

/*
 * The frame layer by layer: the outermost parsed by first, the tunnels
 * (at most max_decap; 0: keyed on the outer IP header) opened by decap,
 * into a normalized key. Returns 0 when keyed at IP, else the enum
 * xs_stat reason it was keyed at L2.
 */
static __always_inline int xs_parse_layers(xs_layer_fn first, xs_decap_fn decap,
					   const void *arg, struct xs_packet *p, __u32 max_decap)
{
	struct xs_decap_state s;
	int err;

	err = first(arg, 0, XS_ETH_P_TEB, &s.l);
	s.p = s.l.p;
	s.e = s.l.e;
	if (err) {
		s.p.key.family = XS_FAMILY_L2;
		s.p.key.proto = 0;
		s.p.has_ports = 0;
		s.p.tcp_flags = 0;
	} else if (s.l.next_type && max_decap) {
		s.max_decap = max_decap;
		decap(arg, &s);
	}
	*p = s.p;
	xs_normalize(p, &s.e);
	return err;
}

struct xs_frame {
	const __u8 *data, *end;
};

static __always_inline int xs_layer_of_frame(const void *arg, __u32 off, __u32 type,
					     struct xs_layer *l)
{
	const struct xs_frame *f = arg;

	return xs_parse_layer(f->data, f->end, off, (__u16)type, l);
}

static __always_inline int xs_decap_of_frame(const void *arg, struct xs_decap_state *s)
{
	xs_decap(xs_layer_of_frame, arg, s);
	return 0;
}

/* Parses an Ethernet frame in memory (userspace); see xs_parse_layers. */
static __always_inline int xs_parse_frame(const void *data, const void *data_end,
					  struct xs_packet *p, __u32 max_decap)
{
	struct xs_frame f = { data, data_end };

	return xs_parse_layers(xs_layer_of_frame, xs_decap_of_frame, &f, p, max_decap);
}

/*
 * 32-bit hash of a normalized key (murmur3 finalizer over its words): the
 * same for both directions, so 1-in-N sampling keeps or skips whole flows.
 */
static __always_inline __u32 xs_flow_hash(const struct flow_key *k, __u32 seed)
{
	const __u32 *w = (const __u32 *)k;
	__u32 h = seed ^ 0x9747b28c;

XS_UNROLL
	for (int i = 0; i < (int)(sizeof(*k) / 4); i++) {
		__u32 x = w[i] * 0xcc9e2d51;

		x = (x << 15) | (x >> 17);
		h ^= x * 0x1b873593;
		h = ((h << 13) | (h >> 19)) * 5 + 0xe6546b64;
	}
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

#endif /* XDPSENSOR_FLOW_PARSE_H */
