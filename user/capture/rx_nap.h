/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * How a receiver waits on an empty AF_XDP RX ring while traffic flows (the
 * workers, and bench/peers/afxdp-bare): it naps and looks again instead of
 * waiting in poll(). A thread asleep in poll() is woken by the CPU that
 * delivers the frame (an IPI per wake-up, on a VM the dearest step of
 * copy-mode AF_XDP); a napping one costs that CPU nothing. After
 * RX_NAP_IDLE_US of naps without a frame the receiver waits in poll()
 * again, so an idle one uses no CPU.
 */
#ifndef XS_RX_NAP_H
#define XS_RX_NAP_H

#include <linux/types.h>

#define RX_NAP_IDLE_US 10000
#define RX_NAP_MIN_US 10

struct rx_nap {
	unsigned int max_us; /* 0: never nap, always poll() */
	unsigned int nap_us; /* the last nap */
	__u32 arrived;       /* frames read since the last nap */
	__u32 idle_us;       /* napped since the last frame */
};

static inline void rx_nap_init(struct rx_nap *n, unsigned int max_us)
{
	*n = (struct rx_nap){ .max_us = max_us, .nap_us = RX_NAP_MIN_US,
			      .idle_us = RX_NAP_IDLE_US }; /* idle until a frame comes */
}

static inline void rx_nap_got(struct rx_nap *n, __u32 frames)
{
	n->arrived += frames;
	if (frames)
		n->idle_us = 0;
}

/*
 * The nap to take on an empty ring, in us, or 0 to wait in poll() instead.
 * The frames that came since the last nap tell the rate: the nap grows while
 * they fill less than 1/64 of the RX ring and shrinks above 1/16, so a slow
 * stream costs one wake-up per many frames and a fast one never fills the
 * ring during a nap. At most max_us.
 */
static inline unsigned int rx_nap_next(struct rx_nap *n, __u32 ring_size)
{
	unsigned int nap = n->nap_us;

	if (!n->max_us || n->idle_us >= RX_NAP_IDLE_US)
		return 0;
	if (n->arrived > ring_size / 16)
		nap /= 2;
	else if (n->arrived < ring_size / 64)
		nap *= 2;
	if (nap < RX_NAP_MIN_US)
		nap = RX_NAP_MIN_US;
	if (nap > n->max_us)
		nap = n->max_us;
	n->nap_us = nap;
	n->arrived = 0;
	n->idle_us += nap;
	return nap;
}

#endif
