/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Interface settings the sensor changes: receive offloads that would merge
 * or hide packets before XDP sees them (GRO, LRO, hardware GRO, VLAN tag
 * stripping). What was changed is saved to a state file, so it can be
 * restored on exit, and by `detach` after a crash.
 */
#ifndef XS_IFACE_H
#define XS_IFACE_H

#include <stdbool.h>
#include <net/if.h>

#define XS_STATE_DIR "/run/xdpsensor"
#define IFACE_MAX_CHANGED 8

struct iface_settings {
	char ifname[IF_NAMESIZE];
	int changed;                             /* features turned off */
	char feature[IFACE_MAX_CHANGED][32 /* ETH_GSTRING_LEN */];
};

/* Turns the offloads off, says what it changed, saves the state file. */
int iface_offloads_off(const char *ifname, struct iface_settings *saved);
/* Turns back on exactly what was turned off, removes the state file. */
int iface_restore(const struct iface_settings *saved);
/* Reads the state file a previous run left (0, or -ENOENT). */
int iface_load_state(const char *ifname, struct iface_settings *saved);

/* Number of RX queues (ethtool channels, else /sys/class/net/IF/queues). */
int iface_rx_queues(const char *ifname);

#endif
