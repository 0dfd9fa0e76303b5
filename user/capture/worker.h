/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A worker thread: serves one AF_XDP socket's RX ring into the sink. */
#ifndef XS_WORKER_H
#define XS_WORKER_H

#include <pthread.h>
#include <signal.h>
#include "reasm.h"
#include "sink.h"
#include "xsk.h"

/* Written by the worker thread only; the main thread reads them to publish. */
struct worker_counters {
	__u64 read;        /* frames taken from the RX ring (a multi-buffer frame once) */
	__u64 read_bytes;
	__u64 unparked;    /* frames taken from the parking ring (worker_take_parked) */
	__u64 produced;    /* sink_write(): SINK_PRODUCED */
	__u64 spool_in;    /* SINK_SPOOLED */
	__u64 queue_full;  /* SINK_QUEUE_FULL */
	__u64 spool_full;  /* SINK_SPOOL_FULL */
	__u64 spool_errors; /* SINK_SPOOL_ERROR */
	__u64 sink_errors; /* SINK_ERROR */
	__u64 no_meta;     /* timestamp taken here: no XDP metadata */
};

struct worker {
	pthread_t thread;
	struct xsk_queue xsk;
	struct sink *sink;
	const char *ifname;
	unsigned int index;            /* capture_rec.worker: the sink's row */
	__u32 snaplen;                 /* 0: whole frames */
	unsigned int rx_sleep_us;      /* nap on an empty ring; 0: wait in poll() */
	__u32 decap_max;               /* tunnels opened for the key (--key-layer) */
	struct reasm reasm;            /* a multi-buffer frame being put together */
	struct worker_counters count;
	int running;                   /* 1 while the thread serves the ring */
	const volatile sig_atomic_t *stop;
};

int worker_start(struct worker *w);
/* A frame the datapath parked for this worker's queue while it had no
 * socket, handled like one read from the ring. Only while the worker's
 * thread does not run (before worker_start, after worker_join). */
void worker_take_parked(struct worker *w, const struct xs_parked_frame *f, __s64 mono_to_real);
/* A frame a killed run's socket had received and not read (kept.h),
 * counted and handled as a parked one. */
void worker_take_kept(struct worker *w, const __u8 *frame, __u32 len,
		      const struct xs_meta *meta, __s64 mono_to_real);
void worker_join(struct worker *w);
/* 1 while the worker's thread serves its ring (any thread may ask). */
int worker_running(const struct worker *w);

#endif
