// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>

#include "log.h"
#include "tmpfs_map.h"
#include "xsk.h"

static __u32 umem_frames(unsigned int umem_mb)
{
	__u64 frames = ((__u64)umem_mb << 20) / XSK_FRAME_SIZE;
	__u32 pow2 = 1;

	while ((__u64)pow2 * 2 <= frames)
		pow2 *= 2;
	return pow2;
}

__u64 xsk_umem_bytes(unsigned int umem_mb)
{
	return (__u64)umem_frames(umem_mb) * XSK_FRAME_SIZE;
}

static int create_socket_once(struct xsk_queue *q, const char *ifname, __u32 xdp_flags,
			      __u16 bind_flags)
{
	struct xsk_socket_config cfg = {
		.rx_size = q->rx_size,
		.tx_size = 0,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, /* our program */
		.xdp_flags = xdp_flags,
		.bind_flags = bind_flags | XDP_USE_NEED_WAKEUP,
	};

	return xsk_socket__create(&q->xsk, ifname, q->queue_id, q->umem, &q->rx, NULL, &cfg);
}

/* A queue whose previous socket just closed stays busy for a moment (the
 * kernel releases it asynchronously): retry for up to 2 s. */
static int create_socket(struct xsk_queue *q, const char *ifname, __u32 xdp_flags,
			 __u16 bind_flags)
{
	int err = -EBUSY;

	for (int i = 0; i < 20 && err == -EBUSY; i++) {
		if (i)
			usleep(100 * 1000);
		err = create_socket_once(q, ifname, xdp_flags, bind_flags);
	}
	return err;
}

/* Zero-copy before copy mode, each with multi-buffer before without: a
 * kernel before 6.6 refuses XDP_USE_SG (EINVAL), a driver without
 * zero-copy refuses XDP_ZEROCOPY. */
static int create_best_socket(struct xsk_queue *q, const char *ifname, __u32 xdp_flags,
			      bool force_copy)
{
	static const __u16 modes[] = { XDP_ZEROCOPY | XDP_USE_SG, XDP_ZEROCOPY,
				       XDP_COPY | XDP_USE_SG, XDP_COPY };
	int err = -EOPNOTSUPP;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if ((modes[i] & XDP_ZEROCOPY) && (force_copy || (xdp_flags & XDP_FLAGS_SKB_MODE)))
			continue;
		err = create_socket(q, ifname, xdp_flags, modes[i]);
		if (!err) {
			q->zerocopy = modes[i] & XDP_ZEROCOPY;
			q->multibuf = modes[i] & XDP_USE_SG;
			return 0;
		}
	}
	return err;
}

/* The UMEM in a file of its own on tmpfs: it outlives a kill -9 (kept.h). */
static int map_kept(struct xsk_queue *q, const char *path)
{
	int err;

	q->area = tmpfs_map(path, q->area_len, &err);
	if (q->area)
		snprintf(q->keep_path, sizeof(q->keep_path), "%s", path);
	return err;
}

int xsk_queue_prepare(struct xsk_queue *q, const char *ifname, __u32 queue_id,
		      unsigned int umem_mb, const char *keep_path)
{
	struct xsk_umem_config ucfg = {
		.comp_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.frame_size = XSK_FRAME_SIZE,
		.frame_headroom = 0,
	};
	int err;

	memset(q, 0, sizeof(*q));
	q->queue_id = queue_id;
	q->nframes = umem_frames(umem_mb);
	/* the RX ring can hold every frame: the whole UMEM absorbs a pause */
	q->rx_size = q->nframes;
	q->area_len = (__u64)q->nframes * XSK_FRAME_SIZE;
	ucfg.fill_size = q->nframes;
	if (keep_path && (err = map_kept(q, keep_path)))
		pr_warn("%s queue %u: cannot keep the UMEM in %s (%s): frames received and not"
			" yet read are lost if the sensor is killed\n", ifname, queue_id,
			keep_path, err == -EXDEV ? "not on a tmpfs" : strerror(-err));
	if (!q->area)
		q->area = mmap(NULL, q->area_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->area == MAP_FAILED) {
		q->area = NULL;
		return -errno;
	}
	err = xsk_umem__create(&q->umem, q->area, q->area_len, &q->fill, &q->comp, &ucfg);
	if (err) {
		pr_warn("%s queue %u: cannot register AF_XDP UMEM: %s\n", ifname, queue_id,
			strerror(-err));
		xsk_queue_close(q);
	}
	return err;
}

int xsk_queue_open(struct xsk_queue *q, const char *ifname, __u32 xdp_flags, int xsks_map_fd,
		   int max_frame_fd, bool force_copy)
{
	__u32 idx, max_frame, queue_id = q->queue_id;
	int err, fd;

	err = create_best_socket(q, ifname, xdp_flags, force_copy);
	if (err) {
		pr_warn("%s queue %u: cannot create AF_XDP socket: %s\n", ifname, queue_id,
			strerror(-err));
		goto fail;
	}

	if (xsk_ring_prod__reserve(&q->fill, q->nframes, &idx) != q->nframes) {
		err = -ENOSPC;
		goto fail;
	}
	for (__u32 i = 0; i < q->nframes; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = (__u64)i * XSK_FRAME_SIZE;
	xsk_ring_prod__submit(&q->fill, q->nframes);

	max_frame = q->multibuf ? 0 : XSK_SINGLE_MAX;
	if (bpf_map_update_elem(max_frame_fd, &queue_id, &max_frame, BPF_ANY)) {
		err = -errno;
		pr_warn("%s queue %u: cannot write the frame limit into the datapath: %s\n",
			ifname, queue_id, strerror(-err));
		goto fail;
	}
	fd = xsk_socket__fd(q->xsk);
	if (bpf_map_update_elem(xsks_map_fd, &queue_id, &fd, BPF_ANY)) {
		err = -errno;
		pr_warn("%s queue %u: cannot register the socket in the XSKMAP: %s\n", ifname,
			queue_id, strerror(-err));
		goto fail;
	}
	if (q->multibuf)
		pr_debug("%s queue %u: AF_XDP socket in %s mode, multi-buffer\n", ifname,
			 queue_id, q->zerocopy ? "zero-copy" : "copy");
	else
		pr_debug("%s queue %u: AF_XDP socket in %s mode, frames cut at %u bytes (no"
			 " multi-buffer)\n", ifname, queue_id, q->zerocopy ? "zero-copy" : "copy",
			 max_frame);
	return 0;
fail:
	xsk_queue_close(q);
	return err;
}

/* The XSKMAP entry goes with the socket: the kernel removes a closed
 * socket from every map that holds it. */
void xsk_queue_close(struct xsk_queue *q)
{
	if (q->xsk)
		xsk_socket__delete(q->xsk);
	if (q->umem)
		xsk_umem__delete(q->umem);
	if (q->area)
		munmap(q->area, q->area_len);
	if (q->keep_path[0]) /* every frame read: nothing for a next run */
		unlink(q->keep_path);
	memset(q, 0, sizeof(*q));
}

int xsk_queue_statistics(struct xsk_queue *q, struct xdp_statistics *st)
{
	socklen_t len = sizeof(*st);

	memset(st, 0, sizeof(*st));
	if (getsockopt(xsk_socket__fd(q->xsk), SOL_XDP, XDP_STATISTICS, st, &len))
		return -errno;
	return 0;
}
