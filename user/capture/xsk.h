/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One AF_XDP socket and its UMEM, bound to one RX queue (receive only). */
#ifndef XS_XSK_H
#define XS_XSK_H

#include <stdbool.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>

/*
 * Sizes from a memory budget per socket (--umem-mb): as many 4 KiB frames
 * as fit, rounded down to a power of two; the fill ring holds every frame
 * (receive-only sockets), the RX ring half of them. The RX ring is what
 * absorbs a worker's pauses (a file system write behind the journal, the
 * scheduler): 16384 frames at the default hold 74 ms of 220 kpps. 128 MiB
 * as Zeek's AF_PACKET buffer.
 */
#define XSK_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define XSK_UMEM_MB_DEFAULT 128
#define XSK_UMEM_MB_MIN 8
#define XSK_UMEM_MB_MAX 4096

/* AF_XDP multi-buffer (Linux 6.6), newer than Debian 12's kernel headers */
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0) /* desc options: the frame goes on in the next one */
#endif
/* The longest frame a socket without multi-buffer takes whole: one UMEM
 * frame less the kernel's headroom (XDP_PACKET_HEADROOM). */
#define XSK_SINGLE_MAX (XSK_FRAME_SIZE - 256)

struct xsk_queue {
	struct xsk_umem *umem;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_ring_cons rx;
	struct xsk_socket *xsk;
	void *area;
	__u64 area_len;
	__u32 nframes;  /* frames in the UMEM, all in the fill ring at start */
	__u32 rx_size;  /* RX ring entries */
	__u32 queue_id;
	bool zerocopy;
	bool multibuf; /* XDP_USE_SG: a frame may span several descriptors */
	char keep_path[128]; /* the UMEM's file (tmpfs), removed at the close; "": memory */
};

/* The UMEM's bytes (locked memory: RLIMIT_MEMLOCK without CAP_IPC_LOCK)
 * for a budget of umem_mb MiB. */
__u64 xsk_umem_bytes(unsigned int umem_mb);

/*
 * Registers a UMEM of umem_mb MiB (its frames rounded down to a power of
 * two) for ifname/queue_id: the kernel pins every page, tens of ms for the
 * default, done before the program is attached so that frames do not wait
 * for it with no socket. Its memory is the file keep_path on a tmpfs, so
 * that frames received and not yet read outlive a kill -9 (kept.h: take
 * them out of a killed run's file first, this one reuses it); NULL, or a
 * file that cannot be made (said in one line): anonymous memory.
 * 0, or -errno after one line (q closed).
 */
int xsk_queue_prepare(struct xsk_queue *q, const char *ifname, __u32 queue_id,
		      unsigned int umem_mb, const char *keep_path);
/*
 * Creates the socket of a prepared queue, fills the fill ring and puts the
 * socket into xsks_map_fd at index queue_id. Zero-copy if the driver
 * supports it, copy mode otherwise (or always, with force_copy); with
 * multi-buffer where the kernel has it. Writes into max_frame_fd at
 * queue_id the longest frame the socket takes whole (0: any), so that the
 * datapath cuts longer ones instead of the kernel dropping them.
 */
int xsk_queue_open(struct xsk_queue *q, const char *ifname, __u32 xdp_flags, int xsks_map_fd,
		   int max_frame_fd, bool force_copy);
void xsk_queue_close(struct xsk_queue *q);
int xsk_queue_statistics(struct xsk_queue *q, struct xdp_statistics *st);

/* Gives n received frames back to the kernel through the fill ring. */
static inline void xsk_queue_refill(struct xsk_queue *q, const __u64 *addrs, __u32 n)
{
	__u32 idx;

	/* the fill ring holds every frame, so this reservation cannot fail */
	while (xsk_ring_prod__reserve(&q->fill, n, &idx) != n)
		;
	for (__u32 i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = addrs[i];
	xsk_ring_prod__submit(&q->fill, n);
}

#endif
