/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `run --metrics ADDR:PORT`: Prometheus text exposition at /metrics, served
 * by libmicrohttpd on a thread of its own. The page is written at each
 * request from where the counters are owned (exposition.h): nothing here
 * keeps a copy of them.
 */
#ifndef XS_METRICS_H
#define XS_METRICS_H

#include "exposition.h"

#define METRICS_DEFAULT_ADDR "127.0.0.1"

struct metrics_server;

/* Parses PORT, ADDR:PORT or [ADDR6]:PORT (ADDR numeric); -EINVAL said why. */
int metrics_parse_addr(const char *arg, char *addr, size_t addr_len, unsigned int *port);
/* Binds and listens now (a port in use fails here, before anything else is
 * touched: one line naming it); requests wait in the backlog until start. */
struct metrics_server *metrics_bind(const char *addr, unsigned int port);
/* Serves src (which must stay valid until metrics_stop). */
int metrics_start(struct metrics_server *m, const struct metrics_src *src);
/* Stops serving and closes the socket; NULL is fine. */
void metrics_stop(struct metrics_server *m);

#endif
