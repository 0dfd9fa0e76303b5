// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <openssl/evp.h>

#include "community_id.h"

static void put_ports(unsigned char *buf, size_t *n, const struct flow_key *key)
{
	buf[(*n)++] = key->port_a >> 8;
	buf[(*n)++] = key->port_a & 0xff;
	buf[(*n)++] = key->port_b >> 8;
	buf[(*n)++] = key->port_b & 0xff;
}

int community_id(const struct flow_key *key, bool has_ports, __u16 seed,
		 char *out, size_t out_len)
{
	unsigned char buf[2 + 16 + 16 + 2 + 4], md[EVP_MAX_MD_SIZE];
	bool l2 = key->family == XS_FAMILY_L2;
	/* IPv4 sits in the last 4 bytes (IPv4-mapped), a MAC in the first 6 */
	int alen = l2 ? 6 : key->family == XS_FAMILY_IPV4 ? 4 : 16;
	int skip = l2 ? 0 : 16 - alen;
	const char *prefix = l2 ? "l2:" : "1:";
	unsigned int md_len;
	size_t n = 0;

	if (out_len < COMMUNITY_ID_LEN)
		return -ENOSPC;
	buf[n++] = seed >> 8;
	buf[n++] = seed & 0xff;
	memcpy(buf + n, key->addr_a + skip, alen);
	n += alen;
	memcpy(buf + n, key->addr_b + skip, alen);
	n += alen;
	if (!l2) { /* an L2 key has no protocol, and always its two "ports" */
		buf[n++] = key->proto;
		buf[n++] = 0;
	}
	if (l2 || has_ports)
		put_ports(buf, &n, key);
	if (!EVP_Digest(buf, n, md, &md_len, EVP_sha1(), NULL))
		return -EIO;
	memcpy(out, prefix, strlen(prefix));
	EVP_EncodeBlock((unsigned char *)out + strlen(prefix), md, (int)md_len);
	return 0;
}
