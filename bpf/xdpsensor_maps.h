/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map of the datapath, one comment each. BPF side only. */
#ifndef XDPSENSOR_MAPS_H
#define XDPSENSOR_MAPS_H

#include "xdpsensor.h"

/* Default sizes; userspace may resize before load (bpf_map__set_max_entries). */
#ifndef XS_FLOWS_MAX
#define XS_FLOWS_MAX 131072
#endif
#ifndef XS_RULES_MAX
#define XS_RULES_MAX 1024
#endif
#ifndef XS_QUEUES_MAX
#define XS_QUEUES_MAX 64
#endif

/*
 * Per-flow counters. A preallocated hash, chosen by measurement (make
 * bench-xdp-maptypes, bench/RESULTS.md): LRU_HASH costs 12% more per
 * insert and evicts silently; PERCPU_HASH saves ~6% but costs memory per
 * CPU and a merge in userspace. When the hash is full an insert fails and
 * is counted (XS_STAT_FLOW_TABLE_FULL); userspace expires idle flows.
 */
#ifndef XS_FLOWS_MAP_TYPE
#define XS_FLOWS_MAP_TYPE BPF_MAP_TYPE_HASH
#endif
struct {
	__uint(type, XS_FLOWS_MAP_TYPE);
	__uint(max_entries, XS_FLOWS_MAX);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

/* Per-CPU packet counters, indexed by enum xs_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XS_STAT_MAX);
	__type(key, __u32); /* enum xs_stat: array maps need an int key */
	__type(value, __u64);
} stats SEC(".maps");

/* Run-time configuration: element 0 is the struct xs_config in force. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xs_config);
} config SEC(".maps");

/* Address rules: the longest prefix matching either endpoint. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XS_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct prefix_rule_key);
	__type(value, struct prefix_rule_val);
} prefix_rules SEC(".maps");

/* Port rules: (protocol, port) of either endpoint -> enum xs_action; when
 * both ports match, the stricter action wins (drop, capture, count). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XS_RULES_MAX);
	__type(key, struct port_rule_key);
	__type(value, __u32);
} port_rules SEC(".maps");

/* Protocol rules: IP protocol number -> enum xs_action (0: no rule). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} proto_rules SEC(".maps");

/* L2 rules, for frames keyed at L2: EtherType (or XS_L2_RULE_LLC for every
 * 802.3/LLC frame) -> enum xs_action. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XS_RULES_MAX);
	__type(key, __u32);
	__type(value, __u32);
} l2_rules SEC(".maps");

/* AF_XDP sockets, one per RX queue, keyed by queue index. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XS_QUEUES_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/*
 * Frames to capture that found no socket on their queue (struct
 * xs_parked_frame), while config.park is set: after a run died, until the
 * next one has opened its sockets. That run reads them into its records
 * before any frame its sockets receive; a full ring counts the frame as
 * capture_no_socket. 64 MiB: about 2 s of 300 kpps of small frames.
 */
#ifndef XS_PARK_BYTES
#define XS_PARK_BYTES (64u << 20)
#endif
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XS_PARK_BYTES);
} parked SEC(".maps");

/* Where a frame is put together before it is parked (one per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xs_parked_frame);
} park_buf SEC(".maps");

/* Written by userspace when it opens a queue's socket: the longest frame
 * that socket takes whole, 0 if any (AF_XDP multi-buffer, Linux 6.6+).
 * Longer captured frames are cut to it (XS_STAT_SNAPPED), not dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XS_QUEUES_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsk_max_frame SEC(".maps");

/* Written by userspace only: per-queue worker counters, pinned so that
 * `xdpsensor stats` and bpftool read every stage from one place. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XS_QUEUES_MAX);
	__type(key, __u32);
	__type(value, struct xs_worker_stats);
} workers SEC(".maps");

#endif /* XDPSENSOR_MAPS_H */
