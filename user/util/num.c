// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

int parse_u64(const char *s, __u64 min, __u64 max, __u64 *out)
{
	int base = s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10;
	const char *digits = base == 16 ? s + 2 : s;
	unsigned long long v;
	char *end;

	/* strtoull would skip spaces and take a sign */
	if (!isxdigit((unsigned char)*digits) || (base == 10 && !isdigit((unsigned char)*digits)))
		return -EINVAL;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	__u64 v;
	int err = parse_u64(s, min, max, &v);

	if (!err)
		*out = (unsigned long)v;
	return err;
}

int parse_size(const char *s, __u64 max, __u64 *out)
{
	static const char units[] = "KMGT";
	size_t n = strlen(s);
	const char *u = n > 1 ? strchr(units, s[n - 1]) : NULL;
	unsigned int shift = u ? 10 * (unsigned int)(u - units + 1) : 0;
	char num[32];
	__u64 v;
	int err;

	if (n - (u ? 1 : 0) >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n - (u ? 1 : 0));
	num[n - (u ? 1 : 0)] = '\0';
	err = parse_u64(num, 0, max >> shift, &v);
	if (err)
		return err;
	*out = v << shift;
	return 0;
}
