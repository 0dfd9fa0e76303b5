// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <pcap/pcap.h>
#include <pcap/dlt.h>

#include "log.h"
#include "pcap_out.h"

#define SNAPLEN 262144

struct pcap_out {
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	FILE *f;
	const char *path; /* NULL: stdout */
	char tmp[PATH_MAX];
};

static mode_t current_umask(void)
{
	mode_t m = umask(0);

	umask(m);
	return m;
}

struct pcap_out *pcap_out_open(const char *path)
{
	struct pcap_out *o = calloc(1, sizeof(*o));
	const char *slash;
	int fd = -1;

	if (!o)
		return NULL;
	if (strcmp(path, "-")) {
		/* ".NAME.XXXXXX" in the same directory: the rename is atomic */
		slash = strrchr(path, '/');
		if (snprintf(o->tmp, sizeof(o->tmp), "%.*s.%s.XXXXXX",
			     slash ? (int)(slash - path + 1) : 0, path,
			     slash ? slash + 1 : path) >= (int)sizeof(o->tmp)) {
			pr_warn("-w %s: path too long\n", path);
			goto fail;
		}
		fd = mkstemp(o->tmp);
		if (fd < 0) {
			pr_warn("cannot write %s: %s\n", path, strerror(errno));
			o->tmp[0] = '\0';
			goto fail;
		}
		fchmod(fd, 0666 & ~current_umask()); /* as fopen would create it */
		o->f = fdopen(fd, "wb");
		o->path = path;
	} else {
		o->f = stdout;
	}
	if (!o->f) {
		pr_warn("cannot write %s: %s\n", path, strerror(errno));
		goto fail;
	}
	o->pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, SNAPLEN,
						       PCAP_TSTAMP_PRECISION_NANO);
	if (!o->pcap) {
		pr_warn("cannot set up libpcap\n");
		goto fail;
	}
	o->dumper = pcap_dump_fopen(o->pcap, o->f);
	if (!o->dumper) {
		pr_warn("cannot write %s: %s\n", path, pcap_geterr(o->pcap));
		goto fail;
	}
	return o;
fail:
	if (o->f && o->f != stdout)
		fclose(o->f);
	else if (fd >= 0)
		close(fd);
	if (o->tmp[0])
		unlink(o->tmp);
	if (o->pcap)
		pcap_close(o->pcap);
	free(o);
	return NULL;
}

int pcap_out_write(struct pcap_out *o, __u64 ts_ns, const void *frame, __u32 caplen,
		   __u32 orig_len)
{
	struct pcap_pkthdr h = {
		.ts.tv_sec = (time_t)(ts_ns / 1000000000ull),
		.ts.tv_usec = (suseconds_t)(ts_ns % 1000000000ull), /* ns: see open */
		.caplen = caplen > SNAPLEN ? SNAPLEN : caplen,
		.len = orig_len < caplen ? caplen : orig_len,
	};

	pcap_dump((u_char *)o->dumper, &h, frame);
	/* pcap_dump reports nothing: the stream says when a write failed */
	if (ferror(o->f)) {
		pr_warn("writing %s: %s\n", o->path ? o->path : "stdout", strerror(errno));
		return -EIO;
	}
	return 0;
}

int pcap_out_close(struct pcap_out *o, bool commit)
{
	int err = 0;

	if (pcap_dump_flush(o->dumper) || ferror(o->f))
		err = -EIO;
	if (o->f == stdout) {
		/* pcap_dump_close would close stdout; the dumper is the stream */
		pcap_close(o->pcap);
		if (fflush(stdout))
			err = -EIO;
		if (err && commit)
			pr_warn("writing stdout: %s\n", strerror(errno));
		free(o);
		return err;
	}
	if (!err && commit && fsync(fileno(o->f)))
		err = -errno;
	pcap_dump_close(o->dumper); /* closes o->f */
	pcap_close(o->pcap);
	if (commit && !err && rename(o->tmp, o->path))
		err = -errno;
	if (commit && err)
		pr_warn("cannot write %s: %s\n", o->path, strerror(err == -EIO ? EIO : -err));
	if (!commit || err)
		unlink(o->tmp);
	free(o);
	return err;
}
