/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * How a receiver waits on an empty AF_XDP RX ring while traffic flows (the
 * workers, and bench/peers/afxdp-bare): it naps and looks again instead of
 * waiting in poll(). A thread asleep in poll() is woken by the CPU that
 * delivers the frame (an IPI per wake-up, on a VM the dearest step of
 * copy-mode AF_XDP); a napping one costs that CPU nothing. After
 * RX_NAP_WINDOW_NS without a frame the receiver waits in poll() again, so
 * an idle one uses no CPU.
 */
#ifndef XS_RX_NAP_H
#define XS_RX_NAP_H

#include <linux/types.h>

#define RX_NAP_WINDOW_NS 10000000ull
#define RX_NAP_MIN_US 10

/*
 * The frames that came since the last nap tell the rate: the nap grows while
 * they fill less than 1/64 of the RX ring and shrinks above 1/16, so a slow
 * stream costs one wake-up per many frames and a fast one never fills the
 * ring during a nap. At most max_us.
 */
static inline unsigned int rx_next_nap_us(unsigned int nap_us, __u32 arrived, __u32 ring_size,
					  unsigned int max_us)
{
	if (arrived > ring_size / 16)
		nap_us /= 2;
	else if (arrived < ring_size / 64)
		nap_us *= 2;
	if (nap_us < RX_NAP_MIN_US)
		nap_us = RX_NAP_MIN_US;
	return nap_us < max_us ? nap_us : max_us;
}

#endif
