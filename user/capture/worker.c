// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The hot path. Per batch: peek the RX ring, key and timestamp each frame,
 * hand it to the sink, release the batch, refill the fill ring with the
 * same frames, wake the kernel only if it asked, and serve the sink (this
 * worker's producer and spool). No syscall, malloc or log line per
 * packet; poll() only when the ring is empty and the sink has nothing waiting.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "record_key.h"
#include "rx_nap.h"
#include "thread.h"
#include "worker.h"
#include "xdpsensor.h" /* XS_META_MAGIC */

#define RX_BATCH 64
#define BUSY_NAP_US 1000
#define RX_LOSS_WINDOW_NS 100000000ull /* how often the ring's losses are looked at */

/* The XDP program's timestamp sits just before the frame (xs_meta). */
static __u64 frame_timestamp(struct worker *w, const struct xs_meta *meta, __s64 mono_to_real)
{
	if (meta->magic == XS_META_MAGIC)
		return meta->rx_ts_ns + (__u64)mono_to_real;
	w->count.no_meta++;
	return clock_ns(CLOCK_REALTIME);
}

/* frame: len bytes of a frame of wire_len (more if the datapath cut it). */
static void handle_frame(struct worker *w, const __u8 *frame, __u32 len, __u32 wire_len,
			 const struct xs_meta *meta, __s64 mono_to_real)
{
	__u8 outer_key[sizeof(struct flow_key)];
	struct xs_packet outer;
	struct capture_rec rec = {
		.data = frame,
		.orig_len = meta->magic == XS_META_MAGIC && meta->orig_len ? meta->orig_len
									 : wire_len,
		.len = w->snaplen && len > w->snaplen ? w->snaplen : len,
		.queue = w->xsk.queue_id,
		.ifname = w->ifname,
		.worker = w->index,
	};

	rec.ts_ns = frame_timestamp(w, meta, mono_to_real);
	xs_parse_frame(frame, frame + len, &rec.pkt, w->decap_max); /* at IP or at L2 */
	if (rec.pkt.decap) { /* the tunnel's endpoints go along in a header */
		xs_parse_frame(frame, frame + len, &outer, 0);
		flow_key_bytes(&outer.key, outer_key);
		rec.outer_key = outer_key;
	}
	w->count.read_bytes += len;
	switch (sink_write(w->sink, &rec)) {
	case SINK_PRODUCED:
		w->count.produced++;
		break;
	case SINK_SPOOLED:
		w->count.spool_in++;
		break;
	case SINK_QUEUE_FULL:
		w->count.queue_full++;
		break;
	case SINK_SPOOL_FULL:
		w->count.spool_full++;
		break;
	case SINK_SPOOL_ERROR:
		w->count.spool_errors++;
		break;
	case SINK_ERROR:
		w->count.sink_errors++;
		break;
	}
}

/* One RX descriptor: a whole frame, or one buffer of a multi-buffer one.
 * Returns 1 when it completed a frame. */
static int handle_desc(struct worker *w, const struct xdp_desc *d, __s64 mono_to_real)
{
	__u8 *data = xsk_umem__get_data(w->xsk.area, d->addr);
	struct xs_meta *meta = (struct xs_meta *)(data - sizeof(*meta));
	bool more = d->options & XDP_PKT_CONTD;

	if (more || w->reasm.busy) {
		if (!reasm_add(&w->reasm, data, d->len, more))
			return 0;
		handle_frame(w, w->reasm.buf, w->reasm.len, w->reasm.wire_len, &w->reasm.meta,
			     mono_to_real);
		return 1;
	}
	handle_frame(w, data, d->len, d->len, meta, mono_to_real);
	/* clear the magic so a frame reused without metadata is not misread */
	meta->magic = 0;
	return 1;
}

void worker_take_kept(struct worker *w, const __u8 *frame, __u32 len,
		      const struct xs_meta *meta, __s64 mono_to_real)
{
	handle_frame(w, frame, len, len, meta, mono_to_real);
	w->count.unparked++;
}

void worker_take_parked(struct worker *w, const struct xs_parked_frame *f, __s64 mono_to_real)
{
	struct xs_meta meta = { .rx_ts_ns = f->rx_ts_ns, .magic = XS_META_MAGIC };

	handle_frame(w, f->data, f->len, f->len, &meta, mono_to_real);
	w->count.unparked++;
}

/* Tells the sink, every RX_LOSS_WINDOW_NS, what the RX ring lost meanwhile
 * (the kernel's count), so that its background work yields to the ring. */
static void watch_ring(struct worker *w, __u64 *last_ns, __u64 *last_full)
{
	__u64 now = clock_ns(CLOCK_MONOTONIC);
	struct xdp_statistics st;

	if (now - *last_ns < RX_LOSS_WINDOW_NS || xsk_queue_statistics(&w->xsk, &st))
		return;
	sink_rx_lost(w->sink, w->index, st.rx_ring_full - *last_full, now - *last_ns);
	*last_ns = now;
	*last_full = st.rx_ring_full;
}

/* the timeout lets the thread notice a stop request */
static void wait_in_poll(struct worker *w)
{
	struct pollfd pfd = { .fd = xsk_socket__fd(w->xsk.xsk), .events = POLLIN };

	poll(&pfd, 1, 100);
}

/* Reads up to a batch from the RX ring into the sink and gives the frames
 * back to the fill ring; returns how many. */
static __u32 read_batch(struct worker *w)
{
	__u64 addrs[RX_BATCH];
	__u32 idx, n = xsk_ring_cons__peek(&w->xsk.rx, RX_BATCH, &idx);
	/* one clock pair per batch converts every frame's own timestamp */
	__s64 mono_to_real = n ? realtime_offset_ns() : 0;

	for (__u32 i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&w->xsk.rx, idx + i);

		w->count.read += handle_desc(w, d, mono_to_real);
		addrs[i] = xsk_umem__extract_addr(d->addr);
	}
	if (!n)
		return 0;
	xsk_ring_cons__release(&w->xsk.rx, n);
	xsk_queue_refill(&w->xsk, addrs, n);
	if (xsk_ring_prod__needs_wakeup(&w->xsk.fill))
		recvfrom(xsk_socket__fd(w->xsk.xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
	return n;
}

/* At a stop the socket is out of the XDP program's map (new frames are
 * parked): what the ring holds is read to the end, not left to the close.
 * Bounded by the ring's size should the socket still be in the map. */
static void read_to_end(struct worker *w)
{
	__u32 left = w->xsk.rx_size, n;

	for (int idle = 0; idle < 2 && left;) {
		n = read_batch(w);
		left = n < left ? left - n : 0;
		idle = n ? 0 : idle + 1;
		sink_service(w->sink, w->index, false);
		if (!n)
			usleep(1000); /* a frame the kernel is still writing */
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	__u64 watched_ns = clock_ns(CLOCK_MONOTONIC), ring_full = 0;
	struct rx_nap nap;

	rx_nap_init(&nap, w->rx_sleep_us);
	__atomic_store_n(&w->running, 1, __ATOMIC_RELEASE);

	while (!*w->stop) {
		__u32 n = read_batch(w);
		unsigned int nap_us;

		rx_nap_got(&nap, n);
		watch_ring(w, &watched_ns, &ring_full);
		if (n) {
			/* delivery reports, the batch's spooled records to disk; the
			 * spool read back only once the ring is served (a short
			 * batch): a backlog must not starve the frames arriving now */
			sink_service(w->sink, w->index, n < RX_BATCH);
			continue;
		}
		sink_service(w->sink, w->index, true);
		if (xsk_ring_prod__needs_wakeup(&w->xsk.fill))
			recvfrom(xsk_socket__fd(w->xsk.xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
		nap_us = rx_nap_next(&nap, w->xsk.rx_size);
		/* records waiting for Kafka: look again within a ms */
		if (!nap_us && sink_busy(w->sink, w->index))
			nap_us = BUSY_NAP_US;
		if (nap_us)
			usleep(nap_us);
		else
			wait_in_poll(w);
	}
	read_to_end(w);
	__atomic_store_n(&w->running, 0, __ATOMIC_RELEASE);
	return NULL;
}

int worker_start(struct worker *w)
{
	int err = w->xsk.multibuf ? -reasm_init(&w->reasm) : 0;
	char name[16];

	snprintf(name, sizeof(name), "xs-w%u", w->index);
	if (!err)
		err = thread_start(&w->thread, worker_main, w, name);
	if (err)
		pr_warn("cannot start the worker of %s queue %u: %s\n", w->ifname,
			w->xsk.queue_id, strerror(err));
	return -err;
}

int worker_running(const struct worker *w)
{
	return __atomic_load_n(&w->running, __ATOMIC_ACQUIRE);
}

void worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
	reasm_free(&w->reasm);
}
