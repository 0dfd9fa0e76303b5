// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "num.h"
#include "time_spec.h"

#define NS_PER_S 1000000000ull

/* Reads exactly n digits; advances *s. */
static int digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*s)++) {
		if (!isdigit((unsigned char)**s))
			return -EINVAL;
		v = v * 10 + (**s - '0');
	}
	*out = v;
	return 0;
}

static int expect(const char **s, const char *one_of)
{
	if (!**s || !strchr(one_of, **s))
		return -EINVAL;
	(*s)++;
	return 0;
}

static int parse_rfc3339(const char *s, __u64 *out_ns)
{
	struct tm tm = {};
	int year, mon, mday, hour, min, sec, oh, om, sign = 0;
	__u64 frac = 0, scale = NS_PER_S;
	long long t;

	if (digits(&s, 4, &year) || expect(&s, "-") || digits(&s, 2, &mon) ||
	    expect(&s, "-") || digits(&s, 2, &mday) || expect(&s, "Tt ") ||
	    digits(&s, 2, &hour) || expect(&s, ":") || digits(&s, 2, &min) ||
	    expect(&s, ":") || digits(&s, 2, &sec))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		for (; isdigit((unsigned char)*s); s++) {
			if (scale > 1) { /* digits past ns are ignored */
				scale /= 10;
				frac += (__u64)(*s - '0') * scale;
			}
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
		oh = om = 0;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (digits(&s, 2, &oh) || expect(&s, ":") || digits(&s, 2, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
	} else {
		return -EINVAL; /* a time without a zone is ambiguous */
	}
	if (*s || mon < 1 || mon > 12 || mday < 1 || mday > 31 || hour > 23 || min > 59 ||
	    sec > 60 || year < 1970)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = (long long)timegm(&tm) - (long long)sign * (oh * 3600 + om * 60);
	if (t < 0)
		return -EINVAL;
	*out_ns = (__u64)t * NS_PER_S + frac;
	return 0;
}

static int parse_relative(const char *s, __u64 now_ns, __u64 *out_ns)
{
	static const struct { const char *unit; __u64 ns; } units[] = {
		{ "ms", 1000000ull }, { "s", NS_PER_S }, { "m", 60 * NS_PER_S },
		{ "h", 3600 * NS_PER_S }, { "d", 86400 * NS_PER_S },
	};
	char unit[8], ago[8], extra;
	unsigned long long n;

	if (!strcmp(s, "now")) {
		*out_ns = now_ns;
		return 0;
	}
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	/* "15m ago" or "15 m ago" */
	if (sscanf(s, "%llu %7[a-z] %7s %c", &n, unit, ago, &extra) != 3 || strcmp(ago, "ago"))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(unit, units[i].unit))
			continue;
		if (n > now_ns / units[i].ns)
			return -EINVAL; /* before the epoch */
		*out_ns = now_ns - n * units[i].ns;
		return 0;
	}
	return -EINVAL;
}

int time_spec_parse(const char *s, __u64 now_ns, __u64 *out_ns)
{
	size_t len = strlen(s);

	if (len && strspn(s, "0123456789") == len) {
		__u64 ms;

		if (parse_u64(s, 0, UINT64_MAX / 1000000, &ms))
			return -EINVAL;
		*out_ns = ms * 1000000ull;
		return 0;
	}
	if (len > 4 && s[4] == '-')
		return parse_rfc3339(s, out_ns);
	return parse_relative(s, now_ns, out_ns);
}

void time_format_ns(__u64 ns, char *out)
{
	time_t sec = (time_t)(ns / NS_PER_S);
	struct tm tm;

	size_t len;

	gmtime_r(&sec, &tm);
	len = strftime(out, TIME_TEXT_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + len, TIME_TEXT_LEN - len, ".%09lluZ", (unsigned long long)(ns % NS_PER_S));
}
