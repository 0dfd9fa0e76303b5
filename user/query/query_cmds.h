/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The commands that read a sensor topic back: `query` (a pcap of the
 * packets selected) and `inspect` (one line per record), and the
 * command-line pieces they share. */
#ifndef XS_QUERY_CMDS_H
#define XS_QUERY_CMDS_H

#include "options.h"
#include "topic_scan.h"

int cmd_query(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

/* -b, -t, -X, -c, --timeout (default 10 s), -v: filling o; then
 * scan_check_conf() says whether -b, -c and -X make a configuration. */
struct opt_table topic_options(struct scan_opts *o);
/* The TIME of option name (RFC 3339, epoch ms, "15m ago": time_spec.h)
 * into *out_ns, or -EINVAL after one line saying why. */
int opt_time(const char *name, const char *arg, __u64 now_ns, __u64 *out_ns);

#endif
