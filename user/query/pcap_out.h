/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pcap `query` writes: nanosecond timestamps, Ethernet, libpcap's own
 * writer. A file is written under a temporary name beside it and renamed
 * into place only when the query succeeded, so a failed or interrupted query
 * never leaves a partial file under the name asked for. "-" is stdout.
 */
#ifndef XS_PCAP_OUT_H
#define XS_PCAP_OUT_H

#include <stdbool.h>
#include <linux/types.h>

struct pcap_out;

/* NULL after one line on stderr (directory not writable, ...). */
struct pcap_out *pcap_out_open(const char *path);
int pcap_out_write(struct pcap_out *o, __u64 ts_ns, const void *frame, __u32 caplen,
		   __u32 orig_len);
/* commit: flush, then rename into place (0, or -errno after one line);
 * otherwise the temporary file is removed. Frees o either way. */
int pcap_out_close(struct pcap_out *o, bool commit);

#endif
