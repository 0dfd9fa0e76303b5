/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types shared by the XDP program and userspace. Fixed-width types only,
 * explicit padding, no pointers: both sides see the same bytes, and the
 * BTF of the BPF object names every field for `bpftool map dump`.
 */
#ifndef XDPSENSOR_H
#define XDPSENSOR_H

#include <linux/types.h>

/* Address family of a flow key (not AF_*: the values are part of the
 * documented Kafka key layout). */
enum xs_family {
	XS_FAMILY_L2 = 0, /* not IP, or an IP header that cannot be read */
	XS_FAMILY_IPV4 = 4,
	XS_FAMILY_IPV6 = 6,
};

/*
 * Direction-normalized flow key: endpoint A is the lower (address, port)
 * pair, B the higher, ordered as the Community ID spec orders them, so
 * both directions of a conversation give the same key. IPv4 addresses are
 * stored IPv4-mapped (::ffff:a.b.c.d) so v4 and v6 share one layout and
 * sort the same way. Ports are host byte order (readable in bpftool);
 * for ICMP/ICMPv6 they hold type and code as Community ID does.
 *
 * A frame the parser cannot key at IP (ARP, LLDP, STP, PTP, a bad IP
 * header, ...) is keyed at L2: family XS_FAMILY_L2, proto 0, the two MAC
 * addresses in addr_a/addr_b (6 bytes each, zero-padded, the lower first),
 * and in the ports the EtherType (both ports, >= 0x0600) or, for an
 * 802.3/LLC frame, the SAP of each endpoint (< 0x0100, C/R and I/G bits
 * cleared): port_a is A's SAP. Both directions get the same key.
 */
struct flow_key {
	__u8 addr_a[16];
	__u8 addr_b[16];
	__u16 port_a;
	__u16 port_b;
	__u8 family; /* enum xs_family */
	__u8 proto;  /* IPPROTO_* */
	__u8 pad[2];
} __attribute__((aligned(4)));

/* Direction of one packet relative to its flow key. */
enum xs_dir {
	XS_DIR_A_TO_B = 0, /* sent by the lower endpoint */
	XS_DIR_B_TO_A = 1,
};

/* Per-flow counters. packets/bytes are indexed by enum xs_dir. */
struct flow_stats {
	__u64 packets[2];
	__u64 bytes[2];
	__u64 first_seen_ns; /* CLOCK_MONOTONIC_COARSE (ms resolution) */
	__u64 last_seen_ns;
	__u32 tcp_flags;     /* OR of the flags seen in both directions (u32:
			      * BPF atomics have no byte-wide OR) */
	__u8 has_ports;      /* 0: a non-first fragment or a port-less protocol */
	__u8 pad[3];
};

/* What the classifier decided for a packet. */
enum xs_action {
	XS_ACTION_NONE = 0,    /* rule slot unused / no match */
	XS_ACTION_CAPTURE = 1, /* redirect to the AF_XDP socket, count */
	XS_ACTION_COUNT = 2,   /* count in the flow table, pass to the kernel */
	XS_ACTION_DROP = 3,    /* count in the flow table, drop */
};

/*
 * Per-CPU stats, indexed by enum xs_stat. Every packet is counted in
 * XS_STAT_RX and in exactly one outcome, so
 *   RX = CAPTURED + CAPTURE_NO_SOCKET + COUNTED + DROPPED
 * The L2_* reasons say why a packet was keyed at L2 (it is classified like
 * any other); they and the other events are extra counts, not outcomes.
 * One list gives the enum and the names userspace prints (stat_name()):
 * X(ENUM_SUFFIX, name).
 */
#define XS_STATS(X)                                                            \
	X(RX, rx_packets)                                                      \
	X(RX_BYTES, rx_bytes)                                                  \
	/* outcomes */                                                         \
	X(CAPTURED, captured)                   /* redirected to AF_XDP */     \
	X(CAPTURE_NO_SOCKET, capture_no_socket) /* no socket there: passed */  \
	X(PARKED, parked)                       /* no socket: parked, passed */ \
	X(COUNTED, counted)                     /* count only: passed */       \
	X(DROPPED, dropped)                     /* dropped by a rule */        \
	/* why a packet was keyed at L2 rather than IP */                      \
	X(L2_TRUNCATED, l2_truncated)     /* a header runs past the frame */   \
	X(L2_NOT_IP, l2_not_ip)           /* not IPv4/IPv6 (ARP, LLDP, LLC) */ \
	X(L2_VLAN_DEPTH, l2_vlan_depth)   /* more VLAN tags than followed */   \
	X(L2_BAD_IPV4, l2_bad_ipv4)       /* version/IHL/length wrong */       \
	X(L2_BAD_IPV6, l2_bad_ipv6)       /* version wrong */                  \
	X(L2_IPV6_EXT_DEPTH, l2_ipv6_ext_depth) /* too many ext. headers */    \
	/* events */                                                           \
	X(FLOW_NEW, flow_new)               /* flow entries created */         \
	X(FLOW_TABLE_FULL, flow_table_full) /* not counted: map full */        \
	X(SAMPLED_OUT, sampled_out)         /* capture turned into count */    \
	X(META_FAILED, meta_failed)         /* no headroom for the metadata */ \
	X(DECAP, decap)             /* keyed on an IP header in a tunnel */    \
	X(DECAP_DEPTH, decap_depth) /* tunnels past the limit: innermost kept */ \
	X(SNAPPED, snapped)         /* cut to what a socket without multi-buffer takes */

#define XS_STAT_ENUM(e, name) XS_STAT_##e,
enum xs_stat {
	XS_STATS(XS_STAT_ENUM)
	XS_STAT_MAX,
};
#undef XS_STAT_ENUM

/* Run-time configuration, element 0 of the config array map. */
struct xs_config {
	__u32 default_action; /* enum xs_action */
	__u32 sample_n;       /* capture 1 flow in N (0 or 1: every flow) */
	__u32 sample_seed;    /* seed of the flow hash used for sampling */
	__u32 rule_kinds;     /* XS_RULES_*: which rule maps have entries */
	__u32 decap_max;      /* tunnels to open for the key (0: the outer header) */
	__u32 park;           /* 1: a frame to capture with no socket is parked */
};

/* Bits of xs_config.rule_kinds: the program skips empty rule maps. */
#define XS_RULES_PREFIX (1u << 0)
#define XS_RULES_PORT (1u << 1)
#define XS_RULES_PROTO (1u << 2)
#define XS_RULES_L2 (1u << 3)

/* Key of the L2 rules (frames keyed at L2): the EtherType, or this for
 * every 802.3/LLC frame. */
#define XS_L2_RULE_LLC 0u

/* Key of the prefix rules (LPM trie); addresses IPv4-mapped as in flow_key. */
struct prefix_rule_key {
	__u32 prefixlen; /* in bits, over the 128-bit (mapped) address */
	__u8 addr[16];
};

/* Value of the prefix rules: the length is kept so that when both endpoints
 * match, the longer prefix wins whatever the address order. */
struct prefix_rule_val {
	__u32 action;    /* enum xs_action */
	__u32 prefixlen; /* as in the key */
};

/* Key of the port rules: matches if either endpoint uses the port. */
struct port_rule_key {
	__u16 port;
	__u8 proto;
	__u8 pad;
};

/*
 * Metadata the XDP program writes in front of a captured frame
 * (bpf_xdp_adjust_meta); the AF_XDP worker finds it just before the data.
 */
#define XS_META_MAGIC 0x58534d31 /* "XSM1" */
struct xs_meta {
	__u64 rx_ts_ns; /* bpf_ktime_get_ns() when the program ran */
	__u32 magic;    /* cleared by the worker once it has taken the frame */
	__u32 orig_len; /* length on the wire when the program cut the frame, else 0 */
	__u32 len;      /* handed to the socket: what a killed run's UMEM holds (kept.h) */
	__u32 reserved;
};

/*
 * A frame to capture that found no socket on its queue (a sensor being
 * restarted), kept in the pinned `parked` ring buffer for the next run.
 */
#define XS_PARK_FRAME_MAX 9216 /* a jumbo frame; longer ones are not parked */
struct xs_parked_frame {
	__u64 rx_ts_ns; /* bpf_ktime_get_ns() when the program ran */
	__u32 queue;    /* its RX queue */
	__u32 len;      /* the whole frame follows */
	__u8 data[XS_PARK_FRAME_MAX];
};

/*
 * Counters of one AF_XDP worker (one RX queue), published by the daemon
 * into the pinned `workers` map (index = queue) for `xdpsensor stats`.
 * For each worker: read = produced + queue_full + sink_errors, and
 * produced = delivered + failed + still in flight.
 */
struct xs_worker_stats {
	__u64 read;          /* frames taken from the RX ring (a multi-buffer frame once) */
	__u64 read_bytes;
	__u64 produced;      /* records handed to the sink */
	__u64 queue_full;    /* dropped: the Kafka producer queue was full */
	__u64 sink_errors;   /* dropped: the sink refused the record */
	__u64 delivered;     /* delivery reports: success */
	__u64 failed;        /* delivery reports: permanent failure */
	__u64 no_meta;       /* timestamp taken in userspace: no XDP metadata */
	/* getsockopt(XDP_STATISTICS) of the socket */
	__u64 xsk_rx_dropped;
	__u64 xsk_rx_invalid_descs;
	__u64 xsk_rx_ring_full;
	__u64 xsk_fill_ring_empty;
	/* the spool (README: read + unparked + spool_recovered = delivered + failed +
	 * queue_full + spool_full + spool_errors + sink_errors + in flight + spooled,
	 * in flight = produced + spool_out - delivered - failed - reclaimed) */
	__u64 spool_in;        /* records kept in the spool: Kafka could not take them */
	__u64 spool_out;       /* records read back from the spool and produced */
	__u64 spool_full;      /* dropped: the spool is full (--spool-max or the disk) */
	__u64 spool_errors;    /* dropped: the spool cannot be written */
	__u64 reclaimed;       /* taken back from the producer into the spool (a stall, the end) */
	__u64 maybe_dup;       /* of those, taken back after a send: the topic may hold them twice */
	__u64 spool_recovered; /* left in the spool by an earlier run */
	__u64 spool_torn;      /* its torn last records, skipped */
	__u64 spool_corrupt;   /* its records failing their CRC, the rest of the segment skipped */
	__u64 spooled;         /* gauge: records in the spool */
	__u64 spool_bytes;     /* gauge: bytes on disk */
	__u64 spool_oldest_ns; /* gauge: capture time of the oldest spooled record (not summed) */
	__u64 unparked;        /* frames taken from the parking ring (no socket was open) */
};

#endif /* XDPSENSOR_H */
