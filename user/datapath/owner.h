/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One sensor per interface. A run holds an exclusive flock on
 * /run/xdpsensor/IFACE.lock (which holds its pid) for as long as it lives;
 * the kernel drops the lock when the process dies, however it dies. So a
 * program, pins or offload changes of ours found while we hold the lock
 * are a dead run's leftovers, and only then are they removed.
 */
#ifndef XS_OWNER_H
#define XS_OWNER_H

#include <sys/types.h>

/*
 * Takes the lock of ifname. Returns its fd (>= 0); -EBUSY when a live
 * sensor holds it, its pid in *holder (0 if unknown); another -errno if
 * the lock file cannot be made. Says nothing: the caller knows the context.
 */
int owner_lock(const char *ifname, pid_t *holder);
/* The pid of the live sensor on ifname, from its lock file without taking
 * the lock (which would turn a starting run away); 0 when none runs there:
 * no lock file, or its process is gone; -errno when it cannot be told
 * (the file is another user's). */
pid_t owner_pid(const char *ifname);
/* Removes the lock file and drops the lock (fd < 0: nothing to do). */
void owner_unlock(const char *ifname, int fd);

#endif
