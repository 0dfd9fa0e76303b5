// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reasm.h"

int reasm_init(struct reasm *r)
{
	memset(r, 0, sizeof(*r));
	r->buf = malloc(REASM_MAX);
	return r->buf ? 0 : -ENOMEM;
}

void reasm_free(struct reasm *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

bool reasm_add(struct reasm *r, const __u8 *data, __u32 len, bool more)
{
	__u32 room;

	if (!r->busy) { /* a new frame: keep its metadata, clear the magic */
		struct xs_meta *m = (struct xs_meta *)(data - sizeof(*m));

		r->meta = *m;
		m->magic = 0;
		r->len = 0;
		r->wire_len = 0;
		r->busy = true;
	}
	room = REASM_MAX - r->len;
	memcpy(r->buf + r->len, data, len < room ? len : room);
	r->len += len < room ? len : room;
	r->wire_len += len;
	r->busy = more;
	return !more;
}
