/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where a run keeps what must outlive a kill -9 of its process: its
 * sockets' UMEMs (kept.h) and its spools' write buffers (staging.h). A
 * tmpfs: memory that no disk writeback makes a worker wait for, and that
 * the next run on the machine finds.
 */
#ifndef XS_KEEP_DIR_H
#define XS_KEEP_DIR_H

/* /run is a tmpfs on a standard system (and systemd's RuntimeDirectory
 * always is); elsewhere /dev/shm, which is one everywhere. */
#define KEEP_DIR_FALLBACK "/dev/shm/xdpsensor"

/*
 * XS_STATE_DIR if it is on a tmpfs, else KEEP_DIR_FALLBACK (made, ours
 * alone). NULL if neither can be used, said in one line (once): then
 * frames and records in flight die with the process, as before.
 */
const char *keep_dir(void);

#endif
