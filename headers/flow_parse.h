/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet parser, written once and compiled twice: into the XDP program
 * (clang -target bpf) and into userspace (the AF_XDP workers, the pcap
 * output, the benchmark peers), so the key userspace computes is the key
 * the datapath counted.
 *
 * Cursor style: every read is preceded by a check against data_end, every
 * helper returns 0 or the enum xs_stat reason the packet cannot be keyed.
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

#define XS_ETH_HLEN 14
#define XS_ETH_P_IP 0x0800
#define XS_ETH_P_IPV6 0x86DD
#define XS_ETH_P_8021Q 0x8100
#define XS_ETH_P_8021AD 0x88A8
#define XS_ETH_P_QINQ1 0x9100 /* pre-standard QinQ, still seen */

#define XS_IPPROTO_HOPOPTS 0
#define XS_IPPROTO_ICMP 1
#define XS_IPPROTO_TCP 6
#define XS_IPPROTO_UDP 17
#define XS_IPPROTO_ROUTING 43
#define XS_IPPROTO_FRAGMENT 44
#define XS_IPPROTO_ICMPV6 58
#define XS_IPPROTO_DSTOPTS 60
#define XS_IPPROTO_SCTP 132

/* Result of parsing one frame. */
struct xs_packet {
	struct flow_key key;
	__u8 dir;       /* enum xs_dir */
	__u8 tcp_flags; /* this packet's TCP flags, 0 if not TCP */
	__u8 has_ports; /* 0 for non-first fragments and port-less protocols */
	__u8 vlan_tags;
	__u16 l3_off;   /* offset of the IP header in the frame */
	__u16 l4_off;   /* offset of the transport header (valid if has_ports) */
};

struct xs_cursor {
	const __u8 *pos;
	const __u8 *end;
	__u32 ip_left; /* bytes left in the IP datagram per its length field */
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
			return XS_STAT_ERR_TRUNCATED;
		p->tcp_flags = h[13];
		break;
	case XS_IPPROTO_UDP:
	case XS_IPPROTO_SCTP:
		if (h + 8 > c->end || 8 > c->ip_left)
			return XS_STAT_ERR_TRUNCATED;
		break;
	case XS_IPPROTO_ICMP:
	case XS_IPPROTO_ICMPV6: {
		int peer;

		if (h + 2 > c->end || 2 > c->ip_left)
			return XS_STAT_ERR_TRUNCATED;
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
		return XS_STAT_ERR_TRUNCATED;
	ihl = (h[0] & 0x0f) * 4;
	tot_len = xs_ntohs(xs_load16(h + 2));
	/* tot_len 0 is how GSO/big-TCP frames carry lengths over 64 KiB */
	if ((h[0] >> 4) != 4 || ihl < 20 || (tot_len && tot_len < ihl))
		return XS_STAT_ERR_BAD_IPV4;
	if (h + ihl > c->end)
		return XS_STAT_ERR_TRUNCATED;

	c->ip_left = tot_len ? tot_len - ihl : XS_IP_LEN_UNKNOWN;
	p->key.family = XS_FAMILY_IPV4;
	p->key.proto = h[9];
	xs_map_v4(e->src, xs_load32(h + 12));
	xs_map_v4(e->dst, xs_load32(h + 16));
	c->pos = h + ihl;

	frag = xs_ntohs(xs_load16(h + 6)) & 0x1fff;
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
		return XS_STAT_ERR_TRUNCATED;
	if ((h[0] >> 4) != 6)
		return XS_STAT_ERR_BAD_IPV6;

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
			return XS_STAT_ERR_TRUNCATED;
		if (xs_ip_consume(c, nh == XS_IPPROTO_FRAGMENT ? 8 : ((__u32)x[1] + 1) * 8))
			return XS_STAT_ERR_TRUNCATED;
		if (nh == XS_IPPROTO_FRAGMENT) {
			__u16 off = xs_ntohs(xs_load16(x + 2)) & 0xfff8;

			nh = x[0];
			c->pos = x + 8;
			if (off) { /* non-first fragment: no transport header */
				p->key.proto = nh;
				return 0;
			}
			continue;
		}
		nh = x[0];
		c->pos = x + ((__u32)x[1] + 1) * 8;
	}
	if (xs_ipv6_is_ext(nh))
		return XS_STAT_ERR_IPV6_EXT_DEPTH;
	p->key.proto = nh;
	return xs_parse_l4(c, p, e, frame);
}

/*
 * Parses an Ethernet frame into a normalized flow key. Returns 0, or the
 * xs_stat error reason (the packet then has no key).
 */
static __always_inline int xs_parse_frame(const void *data, const void *data_end,
					  struct xs_packet *p)
{
	struct xs_cursor c = { .pos = data, .end = data_end, .ip_left = XS_IP_LEN_UNKNOWN };
	struct xs_endpoints e = {};
	const __u8 *frame = data;
	__u16 proto;
	int err;

	__builtin_memset(p, 0, sizeof(*p));
	if (c.pos + XS_ETH_HLEN > c.end)
		return XS_STAT_ERR_TRUNCATED;
	proto = xs_ntohs(xs_load16(c.pos + 12));
	c.pos += XS_ETH_HLEN;

XS_UNROLL
	for (int i = 0; i < XS_MAX_VLAN_TAGS; i++) {
		if (proto != XS_ETH_P_8021Q && proto != XS_ETH_P_8021AD &&
		    proto != XS_ETH_P_QINQ1)
			break;
		if (c.pos + 4 > c.end)
			return XS_STAT_ERR_TRUNCATED;
		proto = xs_ntohs(xs_load16(c.pos + 2));
		c.pos += 4;
		p->vlan_tags++;
	}

	p->l3_off = (__u16)(c.pos - frame);
	if (proto == XS_ETH_P_IP)
		err = xs_parse_ipv4(&c, p, &e, frame);
	else if (proto == XS_ETH_P_IPV6)
		err = xs_parse_ipv6(&c, p, &e, frame);
	else if (proto == XS_ETH_P_8021Q || proto == XS_ETH_P_8021AD ||
		 proto == XS_ETH_P_QINQ1)
		return XS_STAT_ERR_VLAN_DEPTH;
	else
		return XS_STAT_ERR_NOT_IP;
	if (err)
		return err;

	xs_normalize(p, &e);
	return 0;
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
