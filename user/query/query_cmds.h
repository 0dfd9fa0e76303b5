/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The commands that read a sensor topic back: `query` (a pcap of the
 * packets selected) and `inspect` (one line per record). */
#ifndef XS_QUERY_CMDS_H
#define XS_QUERY_CMDS_H

int cmd_query(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

#endif
