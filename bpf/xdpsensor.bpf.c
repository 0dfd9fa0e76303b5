// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpsensor datapath: parse, key, count per flow, classify, and redirect
 * the packets to capture into the AF_XDP socket of their RX queue.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdpsensor.h"
#include "flow_parse.h"
#include "xdpsensor_maps.h"

#ifndef EEXIST
#define EEXIST 17
#endif

/*
 * The parser runs in two global functions, one layer and the tunnels,
 * which the verifier checks once each rather than once per path through
 * the program: inlined, three tunnels are more than it allows, and even
 * the outermost layer inlined (14 ns less per packet) took 6.18's verifier
 * to its limit of a million instructions and 6.1's past it.
 */
__attribute__((noinline)) int xs_parse_layer_ctx(struct xdp_md *ctx, __u32 off, __u32 type,
						 struct xs_layer *l)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;

	if (!l)
		return XS_STAT_L2_TRUNCATED;
	/* the first buffer is at most a page; the bound lets the verifier
	 * add header lengths to off without overflow */
	if (off >= 4096) {
		__builtin_memset(l, 0, sizeof(*l));
		return XS_STAT_L2_TRUNCATED;
	}
	return xs_parse_layer(data, end, off, (__u16)type, l);
}

static __always_inline int layer_of_ctx(const void *arg, __u32 off, __u32 type,
					struct xs_layer *l)
{
	return xs_parse_layer_ctx((struct xdp_md *)arg, off, type, l);
}

__attribute__((noinline)) int xs_decap_ctx(struct xdp_md *ctx, struct xs_decap_state *s)
{
	if (s)
		xs_decap(layer_of_ctx, ctx, s);
	return 0;
}

static __always_inline int decap_of_ctx(const void *arg, struct xs_decap_state *s)
{
	return xs_decap_ctx((struct xdp_md *)arg, s);
}

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += n; /* per-CPU: no atomics needed */
}

static __always_inline void flow_account(const struct xs_packet *p, __u64 len)
{
	struct flow_stats *fs, init = {};
	/* flow times need ms, not ns: the coarse clock costs a third */
	__u64 now = bpf_ktime_get_coarse_ns();
	int err;

	fs = bpf_map_lookup_elem(&flows, &p->key);
	if (!fs) {
		init.packets[p->dir & 1] = 1;
		init.bytes[p->dir & 1] = len;
		init.first_seen_ns = now;
		init.last_seen_ns = now;
		init.tcp_flags = p->tcp_flags;
		init.has_ports = p->has_ports;
		err = bpf_map_update_elem(&flows, &p->key, &init, BPF_NOEXIST);
		if (!err) {
			stat_add(XS_STAT_FLOW_NEW, 1);
			return;
		}
		/* another CPU created it first: fall through and add to it */
		fs = err == -EEXIST ? bpf_map_lookup_elem(&flows, &p->key) : NULL;
		if (!fs) {
			stat_add(XS_STAT_FLOW_TABLE_FULL, 1);
			return;
		}
	}
	/* the two directions of a flow may be received on two CPUs */
	__sync_fetch_and_add(&fs->packets[p->dir & 1], 1);
	__sync_fetch_and_add(&fs->bytes[p->dir & 1], len);
	fs->last_seen_ns = now;
	if (p->tcp_flags & ~fs->tcp_flags)
		__sync_fetch_and_or(&fs->tcp_flags, p->tcp_flags);
}

/* Order of strictness when both endpoints match a rule of the same kind. */
static __always_inline __u32 action_rank(__u32 action)
{
	return action == XS_ACTION_DROP ? 3 : action == XS_ACTION_CAPTURE ? 2 :
	       action == XS_ACTION_COUNT ? 1 : 0;
}

/* Frames keyed at L2 match the L2 rules only: their MAC addresses are no
 * IP prefix, their EtherType no port. */
static __always_inline __u32 l2_rule_action(const struct flow_key *key, __u32 kinds)
{
	__u32 k = key->port_a >= XS_ETH_P_8023_MIN ? key->port_a : XS_L2_RULE_LLC;
	__u32 *act;

	if (!(kinds & XS_RULES_L2))
		return XS_ACTION_NONE;
	act = bpf_map_lookup_elem(&l2_rules, &k);
	return act ? *act : XS_ACTION_NONE;
}

/* Decides by the rules matching either endpoint, never by which endpoint
 * sorts first, so both directions and every address order agree. */
static __always_inline __u32 rule_action(const struct flow_key *key, __u32 kinds)
{
	struct prefix_rule_key pk = { .prefixlen = 128 };
	struct port_rule_key tk = { .proto = key->proto };
	struct prefix_rule_val *pa, *pb;
	__u32 idx = key->proto, *act, *act_b, a = 0, b = 0;

	if (key->family == XS_FAMILY_L2)
		return l2_rule_action(key, kinds);
	if (!(kinds & XS_RULES_PREFIX))
		goto ports;
	__builtin_memcpy(pk.addr, key->addr_a, 16);
	pa = bpf_map_lookup_elem(&prefix_rules, &pk);
	__builtin_memcpy(pk.addr, key->addr_b, 16);
	pb = bpf_map_lookup_elem(&prefix_rules, &pk);
	if (pa && pb) {
		if (pa->prefixlen != pb->prefixlen)
			return pa->prefixlen > pb->prefixlen ? pa->action : pb->action;
		return action_rank(pa->action) >= action_rank(pb->action) ? pa->action : pb->action;
	}
	if (pa) /* (tested one by one: the verifier refuses pa | pb on pointers) */
		return pa->action;
	if (pb)
		return pb->action;
ports:
	if (!(kinds & XS_RULES_PORT))
		goto protos;
	tk.port = key->port_a;
	act = bpf_map_lookup_elem(&port_rules, &tk);
	tk.port = key->port_b;
	act_b = bpf_map_lookup_elem(&port_rules, &tk);
	if (act)
		a = *act;
	if (act_b)
		b = *act_b;
	if (a || b)
		return action_rank(a) >= action_rank(b) ? a : b;
protos:
	if (!(kinds & XS_RULES_PROTO))
		return XS_ACTION_NONE;

	act = bpf_map_lookup_elem(&proto_rules, &idx);
	if (act && *act)
		return *act;
	return XS_ACTION_NONE;
}

static __always_inline __u32 classify(const struct xs_packet *p, const struct xs_config *cfg)
{
	__u32 action;

	if (!cfg)
		return XS_ACTION_COUNT;
	action = rule_action(&p->key, cfg->rule_kinds);
	if (action == XS_ACTION_NONE)
		action = cfg->default_action;
	if (action == XS_ACTION_CAPTURE && cfg->sample_n > 1 &&
	    xs_flow_hash(&p->key, cfg->sample_seed) % cfg->sample_n) {
		stat_add(XS_STAT_SAMPLED_OUT, 1);
		action = XS_ACTION_COUNT;
	}
	return action;
}

/*
 * Cuts a frame longer than the queue's socket takes whole (no AF_XDP
 * multi-buffer) to what it takes: the longest frame it allows and never
 * more than the first buffer. Returns the length on the wire if it cut,
 * else 0.
 */
static __always_inline __u32 snap_frame(struct xdp_md *ctx, __u32 qid, __u64 len)
{
	__u64 first = ctx->data_end - ctx->data;
	__u32 *max = bpf_map_lookup_elem(&xsk_max_frame, &qid);
	__u64 keep;

	if (!max || !*max || (len <= *max && len == first))
		return 0;
	keep = first < *max ? first : *max;
	if (bpf_xdp_adjust_tail(ctx, (int)keep - (int)len))
		return 0; /* left whole: the socket counts it in rx_dropped */
	stat_add(XS_STAT_SNAPPED, 1);
	return (__u32)len;
}

/* Puts the receive timestamp (and the wire length of a cut frame) in
 * front of the frame for the AF_XDP worker, and the frame's length, so
 * that the next run finds it in the UMEM should this one be killed. */
static __always_inline void write_meta(struct xdp_md *ctx, __u32 orig_len)
{
	struct xs_meta *meta;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta))) {
		stat_add(XS_STAT_META_FAILED, 1);
		return;
	}
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > data) {
		stat_add(XS_STAT_META_FAILED, 1);
		return;
	}
	meta->rx_ts_ns = bpf_ktime_get_ns();
	meta->magic = XS_META_MAGIC;
	meta->orig_len = orig_len;
	meta->len = (__u32)bpf_xdp_get_buff_len(ctx);
	meta->reserved = 0;
}

/* Keeps a frame that has no socket to go to in the parking ring, whole
 * (every buffer of a multi-buffer one). Returns 0 when it did. */
static __always_inline int park_frame(struct xdp_md *ctx, __u32 qid)
{
	__u32 zero = 0, len = (__u32)bpf_xdp_get_buff_len(ctx);
	struct xs_parked_frame *f;

	/* two checks apart: 6.1's verifier loses the bounds of the one range
	 * check clang would make of them, and learns none from len != 0 */
	if (len > XS_PARK_FRAME_MAX)
		return -1;
	barrier_var(len);
	if (len < 14) /* an Ethernet header */
		return -1;
	f = bpf_map_lookup_elem(&park_buf, &zero);
	if (!f || bpf_xdp_load_bytes(ctx, 0, f->data, len))
		return -1;
	f->rx_ts_ns = bpf_ktime_get_ns();
	f->queue = qid;
	f->len = len;
	/* the reader polls: no wakeup */
	return (int)bpf_ringbuf_output(&parked, f, offsetof(struct xs_parked_frame, data) + len,
				       BPF_RB_NO_WAKEUP);
}

/*
 * A frags program: frames longer than a page (jumbo, GSO) come in several
 * buffers. The parser reads the headers in the first one; the length is
 * the whole frame's.
 */
SEC("xdp.frags")
int xdpsensor_xdp(struct xdp_md *ctx)
{
	__u64 len = bpf_xdp_get_buff_len(ctx);
	__u32 qid = ctx->rx_queue_index, zero = 0;
	struct xs_config *cfg = bpf_map_lookup_elem(&config, &zero);
	struct xs_packet p;
	int reason;

	stat_add(XS_STAT_RX, 1);
	stat_add(XS_STAT_RX_BYTES, len);

	reason = xs_parse_layers(layer_of_ctx, decap_of_ctx, ctx, &p, cfg ? cfg->decap_max : 0);
	if (reason)
		stat_add(reason, 1); /* keyed at L2, and why */
	if (p.decap)
		stat_add(XS_STAT_DECAP, 1);
	if (p.decap_limited)
		stat_add(XS_STAT_DECAP_DEPTH, 1);
	flow_account(&p, len);

	switch (classify(&p, cfg)) {
	case XS_ACTION_DROP:
		stat_add(XS_STAT_DROPPED, 1);
		return XDP_DROP;
	case XS_ACTION_CAPTURE:
		if (!bpf_map_lookup_elem(&xsks, &qid)) {
			if (cfg && cfg->park && !park_frame(ctx, qid))
				stat_add(XS_STAT_PARKED, 1);
			else
				stat_add(XS_STAT_CAPTURE_NO_SOCKET, 1);
			return XDP_PASS;
		}
		write_meta(ctx, snap_frame(ctx, qid, len));
		stat_add(XS_STAT_CAPTURED, 1);
		return bpf_redirect_map(&xsks, qid, XDP_PASS);
	default:
		stat_add(XS_STAT_COUNTED, 1);
		return XDP_PASS;
	}
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
