/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Starting the sensor's own threads, all in one way. */
#ifndef XS_THREAD_H
#define XS_THREAD_H

#include <pthread.h>

/*
 * Starts fn(arg) with every signal blocked (signals are for the main
 * thread, not for one in a pwrite or a ring), named name (at most 15
 * characters: /proc/PID/task/TID/comm tells it from librdkafka's).
 * Returns 0 or an errno.
 */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *name);

#endif
