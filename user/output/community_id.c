// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>
#include <openssl/evp.h>

#include "community_id.h"

int community_id(const struct flow_key *key, bool has_ports, __u16 seed,
		 char *out, size_t out_len)
{
	unsigned char buf[2 + 16 + 16 + 2 + 4], md[EVP_MAX_MD_SIZE];
	int alen = key->family == XS_FAMILY_IPV4 ? 4 : 16;
	int skip = 16 - alen; /* IPv4 sits in the last 4 bytes, IPv4-mapped */
	unsigned int md_len;
	size_t n = 0;

	if (out_len < COMMUNITY_ID_LEN)
		return -1;
	buf[n++] = seed >> 8;
	buf[n++] = seed & 0xff;
	if (key->family == XS_FAMILY_L2) {
		memcpy(buf + n, key->addr_a, 6);
		memcpy(buf + n + 6, key->addr_b, 6);
		n += 12;
		buf[n++] = key->port_a >> 8;
		buf[n++] = key->port_a & 0xff;
		buf[n++] = key->port_b >> 8;
		buf[n++] = key->port_b & 0xff;
		if (!EVP_Digest(buf, n, md, &md_len, EVP_sha1(), NULL))
			return -1;
		memcpy(out, "l2:", 3);
		EVP_EncodeBlock((unsigned char *)out + 3, md, (int)md_len);
		return 0;
	}
	memcpy(buf + n, key->addr_a + skip, alen);
	n += alen;
	memcpy(buf + n, key->addr_b + skip, alen);
	n += alen;
	buf[n++] = key->proto;
	buf[n++] = 0;
	if (has_ports) {
		buf[n++] = key->port_a >> 8;
		buf[n++] = key->port_a & 0xff;
		buf[n++] = key->port_b >> 8;
		buf[n++] = key->port_b & 0xff;
	}
	if (!EVP_Digest(buf, n, md, &md_len, EVP_sha1(), NULL))
		return -1;
	memcpy(out, "1:", 2);
	EVP_EncodeBlock((unsigned char *)out + 2, md, (int)md_len);
	return 0;
}
