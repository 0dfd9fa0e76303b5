/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Small packet builders for the unit tests. A packet is described by a
 * struct pkt_spec (plain data, so test tables stay readable) and written
 * by pkt_build(): Ethernet, VLAN tags, IPv4 (options, fragments) or IPv6
 * (extension headers, fragments), then TCP/UDP/SCTP/ICMP/ICMPv6.
 * Checksums are left zero: the datapath does not read them.
 */
#ifndef XS_TEST_PKT_BUILD_H
#define XS_TEST_PKT_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/types.h>

#define PKT_MAX 768

/* Deliberate header defects (bit flags). */
enum pkt_quirk {
	Q_V4_VERSION_5 = 1 << 0,    /* IPv4 header with version nibble 5 */
	Q_V4_IHL_4 = 1 << 1,        /* IHL 4 (16 bytes): below the minimum */
	Q_V4_TOTLEN_LT_IHL = 1 << 2, /* tot_len 16, shorter than the header */
	Q_V4_TOTLEN_ZERO = 1 << 3,  /* tot_len 0, as GSO/big TCP frames carry it */
	Q_V6_VERSION_4 = 1 << 4,    /* IPv6 ethertype, version nibble 4 */
};

/* Tunnels around the packet, outermost first (struct pkt_spec.tun). */
enum tun_kind {
	TUN_NONE,
	TUN_VXLAN,    /* UDP 4789, Ethernet inside */
	TUN_GENEVE,   /* UDP 6081, one 8-byte option, Ethernet inside */
	TUN_GENEVE_IP, /* UDP 6081, protocol type IPv4/IPv6: IP inside */
	TUN_GRE_IP,   /* GRE with a key, IP inside */
	TUN_GRE_TEB,  /* GRE, transparent Ethernet bridging */
	TUN_ERSPAN1,  /* GRE 0x88BE without sequence number, Ethernet inside */
	TUN_ERSPAN2,  /* GRE 0x88BE with sequence number, 8-byte header */
	TUN_ERSPAN3,  /* GRE 0x22EB, 12-byte header and 8-byte subheader (O flag) */
	TUN_IPIP,     /* IP in IP (protocol 4 or 41 by the inner family) */
};

struct tun_spec {
	enum tun_kind kind;
	const char *src, *dst; /* the outer IP header's addresses */
};

/* The outer UDP source port of UDP tunnels. */
#define TUN_SPORT 49152

struct pkt_spec {
	__u16 vlan[4];       /* TPIDs of the VLAN tags, outermost first; 0 ends */
	__u16 ethertype;     /* 0: IPv4 or IPv6 from the form of src; below
			      * 0x0600 an 802.3 length: LLC follows */
	__u8 dsap, ssap;     /* LLC SAPs of an 802.3 frame */
	bool swap_mac;       /* sent by the higher MAC address */
	struct tun_spec tun[4]; /* tunnels around the packet, outermost first */
	const char *src;     /* IPv4 or IPv6 address text */
	const char *dst;
	__u8 proto;          /* IPPROTO_* */
	__u16 sport, dport;  /* ports; for ICMP/ICMPv6 type and code */
	__u8 tcp_flags;
	__u8 ip_opts;        /* IPv4 option bytes (multiple of 4, <= 40) */
	const char *ext;     /* IPv6 extension headers in order: H hop-by-hop,
			      * R routing, D destination options, F fragment */
	__u16 frag;          /* fragment offset in 8-byte units (IPv4, or 'F') */
	bool mf;             /* more-fragments flag */
	__u16 payload;       /* bytes after the transport header */
	__u32 quirks;        /* enum pkt_quirk */
};

/* What the builder knows about the frame it wrote. */
struct pkt_layout {
	size_t len;     /* whole frame */
	size_t l3_off;  /* IP header (the outermost) */
	size_t l4_off;  /* transport header (after the last extension header;
			 * of the innermost packet in tunnels) */
	size_t l4_len;  /* transport header length written */
	size_t outer_l4_off; /* header after the outermost IP header */
	size_t tun_off[4];   /* where each tunnel's payload starts, outermost first */
};

static inline bool pkt_is_v6(const struct pkt_spec *s)
{
	return s->src && strchr(s->src, ':');
}

static inline __u8 *put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
	return p + 2;
}

#define MAC_LO "02:00:00:00:00:01" /* the builder's source address */
#define MAC_HI "02:00:00:00:00:02" /* its destination */

static inline __u8 *put_eth_dir(__u8 *p, __u16 ethertype, bool swap)
{
	static const __u8 hi[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 lo[6] = { 0x02, 0, 0, 0, 0, 0x01 };

	memcpy(p, swap ? lo : hi, 6);
	memcpy(p + 6, swap ? hi : lo, 6);
	return put16(p + 12, ethertype);
}

static inline __u8 *put_eth(__u8 *p, __u16 ethertype)
{
	return put_eth_dir(p, ethertype, false);
}

/* A VLAN tag (after the TPID written by the previous header): TCI, next type. */
static inline __u8 *put_vlan(__u8 *p, __u16 vid, __u16 next)
{
	return put16(put16(p, vid & 0x0fff), next);
}

static inline size_t l4_hdr_len(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP: return 20;
	case IPPROTO_UDP: return 8;
	case IPPROTO_SCTP: return 12;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: return 8;
	default: return 8; /* some payload for port-less protocols */
	}
}

static inline __u8 *put_l4(__u8 *p, const struct pkt_spec *s)
{
	size_t n = l4_hdr_len(s->proto);

	memset(p, 0, n);
	switch (s->proto) {
	case IPPROTO_TCP:
		put16(p, s->sport);
		put16(p + 2, s->dport);
		p[4] = 0x11; /* seq */
		p[12] = 5 << 4; /* data offset */
		p[13] = s->tcp_flags;
		put16(p + 14, 64240);
		break;
	case IPPROTO_UDP:
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put16(p + 4, (__u16)(8 + s->payload));
		break;
	case IPPROTO_SCTP:
		put16(p, s->sport);
		put16(p + 2, s->dport);
		p[4] = 0xab; /* verification tag */
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		p[0] = (__u8)s->sport; /* type */
		p[1] = (__u8)s->dport; /* code */
		put16(p + 4, 0x4242);  /* identifier */
		put16(p + 6, 1);       /* sequence */
		break;
	}
	return p + n;
}

/* One IPv6 extension header; returns its end. */
static inline __u8 *put_v6_ext(__u8 *p, char kind, __u8 next, const struct pkt_spec *s)
{
	switch (kind) {
	case 'H': /* 8 bytes: PadN */
		memset(p, 0, 8);
		p[0] = next;
		p[1] = 0;
		p[2] = 1; /* PadN */
		p[3] = 4;
		return p + 8;
	case 'R': /* 24 bytes: type 0 with one address, segments left 0 */
		memset(p, 0, 24);
		p[0] = next;
		p[1] = 2;
		return p + 24;
	case 'D': /* 16 bytes: PadN */
		memset(p, 0, 16);
		p[0] = next;
		p[1] = 1;
		p[2] = 1;
		p[3] = 12;
		return p + 16;
	case 'F': /* 8 bytes */
		memset(p, 0, 8);
		p[0] = next;
		put16(p + 2, (__u16)(s->frag << 3 | (s->mf ? 1 : 0)));
		p[7] = 0x77; /* identification */
		return p + 8;
	}
	return p;
}

static inline __u8 v6_ext_type(char kind)
{
	switch (kind) {
	case 'H': return 0;
	case 'R': return 43;
	case 'D': return 60;
	case 'F': return 44;
	}
	return 59; /* no next header */
}

/* The frame of s without its tunnels. */
static inline struct pkt_layout pkt_build_plain(const struct pkt_spec *s, __u8 *buf)
{
	struct pkt_layout l = {};
	bool v6 = pkt_is_v6(s);
	__u16 ethertype = s->ethertype ? s->ethertype : v6 ? 0x86DD : 0x0800;
	int ntags = 0;
	__u8 *p = buf, *ip;

	memset(buf, 0, PKT_MAX);
	while (ntags < 4 && s->vlan[ntags])
		ntags++;
	p = put_eth_dir(p, ntags ? s->vlan[0] : ethertype, s->swap_mac);
	for (int i = 0; i < ntags; i++)
		p = put_vlan(p, (__u16)(100 + i), i + 1 < ntags ? s->vlan[i + 1] : ethertype);
	l.l3_off = (size_t)(p - buf);

	if (ethertype == 0x0806) { /* ARP request, 28 bytes */
		p = put16(p, 1);
		p = put16(p, 0x0800);
		*p++ = 6;
		*p++ = 4;
		p = put16(p, 1);
		p += 20;
		l.l4_off = l.outer_l4_off = l.len = (size_t)(p - buf);
		return l;
	}
	if (ethertype < 0x0600) { /* 802.3: LLC (DSAP, SSAP, control) and 40 bytes */
		*p++ = s->dsap;
		*p++ = s->ssap;
		*p++ = 0x03;
		p += 40;
		l.len = (size_t)(p - buf);
		put16(buf + l.l3_off - 2, (__u16)(l.len - l.l3_off));
		l.l4_off = l.outer_l4_off = l.len;
		return l;
	}

	ip = p;
	if (!v6) {
		size_t ihl = 20 + s->ip_opts;
		size_t tot = ihl + l4_hdr_len(s->proto) + s->payload;

		ip[0] = (__u8)((s->quirks & Q_V4_VERSION_5 ? 5 : 4) << 4 |
			       (s->quirks & Q_V4_IHL_4 ? 4 : ihl / 4));
		put16(ip + 2, s->quirks & Q_V4_TOTLEN_ZERO ? 0 :
			      s->quirks & Q_V4_TOTLEN_LT_IHL ? 16 : (__u16)tot);
		put16(ip + 4, 0x1234);
		put16(ip + 6, (__u16)((s->mf ? 0x2000 : 0) | (s->frag & 0x1fff)));
		ip[8] = 64;
		ip[9] = s->proto;
		inet_pton(AF_INET, s->src, ip + 12);
		inet_pton(AF_INET, s->dst, ip + 16);
		for (size_t i = 20; i < ihl; i++)
			ip[i] = 1; /* NOP options */
		p = ip + ihl;
	} else {
		const char *ext = s->ext ? s->ext : "";
		size_t n = strlen(ext);

		ip[0] = (s->quirks & Q_V6_VERSION_4 ? 4 : 6) << 4;
		ip[6] = n ? v6_ext_type(ext[0]) : s->proto;
		ip[7] = 64;
		inet_pton(AF_INET6, s->src, ip + 8);
		inet_pton(AF_INET6, s->dst, ip + 24);
		p = ip + 40;
		for (size_t i = 0; i < n; i++)
			p = put_v6_ext(p, ext[i], i + 1 < n ? v6_ext_type(ext[i + 1]) : s->proto, s);
	}
	l.l4_off = l.outer_l4_off = (size_t)(p - buf);
	p = put_l4(p, s);
	l.l4_len = (size_t)(p - buf) - l.l4_off;
	p += s->payload;
	if (v6)
		put16(ip + 4, (__u16)(p - ip - 40));
	l.len = (size_t)(p - buf);
	return l;
}

static inline bool tun_carries_eth(enum tun_kind k)
{
	return k != TUN_GRE_IP && k != TUN_IPIP && k != TUN_GENEVE_IP;
}

/*
 * Wraps the frame in (len bytes, its IP header at l3_off) in one tunnel:
 * writes Ethernet, the outer IP header, the tunnel's headers and the
 * payload (the whole frame, or from its IP header) to out. Returns the
 * length; *hdr is the bytes in front of the payload, *l4 the offset of the
 * header after the outer IP header.
 */
static inline size_t tun_wrap(const struct tun_spec *t, const __u8 *in, size_t len,
			      size_t l3_off, __u8 *out, size_t *hdr, size_t *l4)
{
	bool v6 = strchr(t->src, ':') != NULL;
	bool eth = tun_carries_eth(t->kind);
	const __u8 *pl = eth ? in : in + l3_off;
	size_t plen = eth ? len : len - l3_off, ihl = v6 ? 40 : 20;
	__u16 inner_type = (in[l3_off] >> 4) == 6 ? 0x86DD : 0x0800;
	__u8 *p = put_eth(out, v6 ? 0x86DD : 0x0800), *ip = p, *t0;
	__u8 proto = t->kind == TUN_VXLAN || t->kind == TUN_GENEVE ||
		     t->kind == TUN_GENEVE_IP ? 17 : t->kind == TUN_IPIP ?
		     (inner_type == 0x86DD ? 41 : 4) : 47;

	memset(ip, 0, ihl);
	if (v6) {
		ip[0] = 0x60;
		ip[6] = proto;
		ip[7] = 64;
		inet_pton(AF_INET6, t->src, ip + 8);
		inet_pton(AF_INET6, t->dst, ip + 24);
	} else {
		ip[0] = 0x45;
		ip[8] = 64;
		ip[9] = proto;
		inet_pton(AF_INET, t->src, ip + 12);
		inet_pton(AF_INET, t->dst, ip + 16);
	}
	p = t0 = ip + ihl;
	*l4 = (size_t)(t0 - out);
	switch (t->kind) {
	case TUN_VXLAN:
	case TUN_GENEVE:
	case TUN_GENEVE_IP:
		p = put16(p, TUN_SPORT);
		p = put16(p, t->kind == TUN_VXLAN ? 4789 : 6081);
		p += 4; /* length below, checksum 0 */
		if (t->kind == TUN_VXLAN) {
			memset(p, 0, 8);
			p[0] = 0x08; /* VNI valid */
			p[6] = 42;   /* VNI */
			p += 8;
		} else {
			memset(p, 0, 16);
			p[0] = 2; /* version 0, 2 words of options */
			put16(p + 2, t->kind == TUN_GENEVE ? 0x6558 : inner_type);
			p[6] = 42;
			put16(p + 8, 0x0102); /* option class, type, length 1 */
			p[10] = 3;
			p[11] = 1;
			p += 16;
		}
		break;
	case TUN_GRE_IP:
		p = put16(p, 0x2000); /* key present */
		p = put16(p, inner_type);
		memset(p, 0, 4);
		p[3] = 7;
		p += 4;
		break;
	case TUN_GRE_TEB:
		p = put16(p, 0);
		p = put16(p, 0x6558);
		break;
	case TUN_ERSPAN1:
		p = put16(p, 0);
		p = put16(p, 0x88BE);
		break;
	case TUN_ERSPAN2:
		p = put16(p, 0x1000); /* sequence number present */
		p = put16(p, 0x88BE);
		memset(p, 0, 12);
		p[3] = 9;      /* sequence */
		p[4] = 0x10;   /* ERSPAN version 1 (type II) */
		p[7] = 101;    /* span id */
		p += 12;
		break;
	case TUN_ERSPAN3:
		p = put16(p, 0x1000);
		p = put16(p, 0x22EB);
		memset(p, 0, 24);
		p[4] = 0x20;   /* ERSPAN version 2 (type III) */
		p[7] = 101;
		p[15] = 0x01;  /* O flag: platform subheader follows */
		p += 4 + 20;
		break;
	case TUN_IPIP:
	case TUN_NONE:
		break;
	}
	*hdr = (size_t)(p - out);
	memcpy(p, pl, plen);
	p += plen;
	if (proto == 17)
		put16(t0 + 4, (__u16)(p - t0));
	if (v6)
		put16(ip + 4, (__u16)(p - ip - 40));
	else
		put16(ip + 2, (__u16)(p - ip));
	return (size_t)(p - out);
}

/* Writes the frame described by s into buf (PKT_MAX bytes), in its
 * tunnels; returns its layout. */
static inline struct pkt_layout pkt_build(const struct pkt_spec *s, __u8 *buf)
{
	struct pkt_layout l = pkt_build_plain(s, buf), w = l;
	__u8 tmp[PKT_MAX];
	int n = 0;

	while (n < 4 && s->tun[n].kind)
		n++;
	for (int i = n - 1; i >= 0; i--) {
		size_t hdr, l4, eth_cut = tun_carries_eth(s->tun[i].kind) ? 0 : w.l3_off;

		memcpy(tmp, buf, w.len);
		memset(buf, 0, PKT_MAX);
		w.len = tun_wrap(&s->tun[i], tmp, w.len, w.l3_off, buf, &hdr, &l4);
		w.l4_off = w.l4_off - eth_cut + hdr;
		for (int j = n - 1; j > i; j--)
			w.tun_off[j] = w.tun_off[j] - eth_cut + hdr;
		w.tun_off[i] = hdr;
		w.l3_off = 14;
		w.outer_l4_off = l4;
	}
	return w;
}

/* Text address to the 16-byte form of struct flow_key (IPv4-mapped). */
static inline int addr_to_key(const char *text, __u8 out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, text, out + 12) == 1) {
		out[10] = out[11] = 0xff;
		return 4;
	}
	return inet_pton(AF_INET6, text, out) == 1 ? 6 : -1;
}

#endif /* XS_TEST_PKT_BUILD_H */
