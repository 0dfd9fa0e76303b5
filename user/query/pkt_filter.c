// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <pcre2.h>
#include <pcap/dlt.h>

#include "flow_parse.h"
#include "log.h"
#include "num.h"
#include "pkt_filter.h"

void pkt_filter_init(struct pkt_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->sport = f->dport = f->proto = -1;
	f->decap_max = XS_MAX_DECAP;
}

void pkt_filter_free(struct pkt_filter *f)
{
	if (f->has_bpf)
		pcap_freecode(&f->bpf);
	pcre2_match_data_free(f->re_match);
	pcre2_code_free(f->re);
	pkt_filter_init(f);
}

int addr_prefix_parse(const char *s, struct addr_prefix *out)
{
	char addr[INET6_ADDRSTRLEN + 8], *slash;
	unsigned long len;
	int v4;

	if (snprintf(addr, sizeof(addr), "%s", s) >= (int)sizeof(addr))
		return -EINVAL;
	slash = strchr(addr, '/');
	if (slash)
		*slash++ = '\0';
	memset(out, 0, sizeof(*out));
	v4 = inet_pton(AF_INET, addr, out->addr + 12) == 1;
	if (v4)
		out->addr[10] = out->addr[11] = 0xff;
	else if (inet_pton(AF_INET6, addr, out->addr) != 1)
		return -EINVAL;
	len = v4 ? 32 : 128;
	if (slash && parse_uint(slash, 0, len, &len))
		return -EINVAL;
	out->len = (__u32)len + (v4 ? 96 : 0);
	/* host bits (10.1.2.3/8) are cleared, not refused as tcpdump's "net"
	 * does: the prefix is what was meant, and matching needs no mask */
	for (__u32 bit = out->len; bit < 128; bit++)
		out->addr[bit / 8] &= (__u8)~(0x80 >> (bit % 8));
	return 0;
}

bool addr_prefix_match(const struct addr_prefix *p, const __u8 addr[16])
{
	__u32 full = p->len / 8, rest = p->len % 8;

	if (memcmp(p->addr, addr, full))
		return false;
	return !rest || !((p->addr[full] ^ addr[full]) & (0xff00 >> rest));
}

int pkt_filter_set_bpf(struct pkt_filter *f, const char *expr)
{
	/* what the sensor writes to Kafka: Ethernet frames */
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
	int err = 0;

	if (!p) {
		pr_warn("--filter: cannot set up libpcap\n");
		return -ENOMEM;
	}
	if (pcap_compile(p, &f->bpf, expr, 1, PCAP_NETMASK_UNKNOWN)) {
		pr_warn("--filter '%s': %s\n", expr, pcap_geterr(p));
		err = -EINVAL;
	} else {
		f->has_bpf = true;
	}
	pcap_close(p);
	return err;
}

int pkt_filter_set_regex(struct pkt_filter *f, const char *regex)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int code;

	/* bytes, not characters: no UTF; '.' also matches 0x0a */
	f->re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
			      PCRE2_DOTALL | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP, &code, &off, NULL);
	if (!f->re) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		pr_warn("--packet-filter '%s': %s at offset %zu\n", regex, (char *)msg, (size_t)off);
		return -EINVAL;
	}
	pcre2_jit_compile(f->re, PCRE2_JIT_COMPLETE); /* interpreted if JIT is missing */
	f->re_match = pcre2_match_data_create_from_pattern(f->re, NULL);
	if (!f->re_match) {
		pr_warn("--packet-filter: out of memory\n");
		return -ENOMEM;
	}
	f->re_text = regex;
	return 0;
}

bool pkt_filter_any(const struct pkt_filter *f)
{
	return f->has_src || f->has_dst || f->sport >= 0 || f->dport >= 0 || f->proto >= 0 ||
	       f->has_bpf || f->re;
}

static bool has_fixed(const struct pkt_filter *f)
{
	return f->has_src || f->has_dst || f->sport >= 0 || f->dport >= 0 || f->proto >= 0;
}

/* The fixed fields against one direction of the packet. */
static bool fixed_match(const struct pkt_filter *f, const __u8 *src, const __u8 *dst, int sport,
			int dport)
{
	return (!f->has_src || addr_prefix_match(&f->src, src)) &&
	       (!f->has_dst || addr_prefix_match(&f->dst, dst)) &&
	       (f->sport < 0 || f->sport == sport) && (f->dport < 0 || f->dport == dport);
}

static bool match_fixed(const struct pkt_filter *f, const __u8 *frame, __u32 caplen)
{
	const struct flow_key *k;
	struct xs_packet p;
	const __u8 *src, *dst;
	int sport = -1, dport = -1;

	if (xs_parse_frame(frame, frame + caplen, &p, f->decap_max))
		return false; /* keyed at L2: no field to match */
	k = &p.key;
	if (f->proto >= 0 && f->proto != k->proto)
		return false;
	/* the key is normalized: dir says which endpoint sent this frame */
	src = p.dir == XS_DIR_A_TO_B ? k->addr_a : k->addr_b;
	dst = p.dir == XS_DIR_A_TO_B ? k->addr_b : k->addr_a;
	if (p.has_ports && (k->proto == XS_IPPROTO_TCP || k->proto == XS_IPPROTO_UDP ||
			    k->proto == XS_IPPROTO_SCTP)) {
		sport = p.dir == XS_DIR_A_TO_B ? k->port_a : k->port_b;
		dport = p.dir == XS_DIR_A_TO_B ? k->port_b : k->port_a;
	}
	return fixed_match(f, src, dst, sport, dport) ||
	       (f->include_reverse && fixed_match(f, dst, src, dport, sport));
}

bool pkt_filter_match(struct pkt_filter *f, const __u8 *frame, __u32 caplen, __u32 orig_len)
{
	if (has_fixed(f) && !match_fixed(f, frame, caplen))
		return false;
	if (f->has_bpf) {
		struct pcap_pkthdr h = { .caplen = caplen, .len = orig_len };

		if (!pcap_offline_filter(&f->bpf, &h, frame))
			return false;
	}
	if (f->re) {
		int rc = pcre2_match(f->re, frame, caplen, 0, 0, f->re_match, NULL);

		if (rc == PCRE2_ERROR_NOMATCH)
			return false;
		if (rc < 0) { /* e.g. the match limit: not a match, but counted */
			f->re_errors++;
			return false;
		}
	}
	return true;
}
