/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Checks that report actual and expected on stderr (TAP comments) and keep
 * going, so one run lists every mismatch of a table row; end_checks() then
 * fails the cmocka test if any did. Include after <cmocka.h>.
 */
#ifndef XS_TESTS_EXPECT_H
#define XS_TESTS_EXPECT_H

#include <stdio.h>
#include <string.h>

static int g_fails;

#define EXPECT_EQ(what, actual, expected)                                              \
	do {                                                                           \
		long long a_ = (long long)(actual), e_ = (long long)(expected);        \
		if (a_ != e_) {                                                        \
			fprintf(stderr, "#   %s: actual %lld, expected %lld\n", (what), a_, \
				e_);                                                   \
			g_fails++;                                                     \
		}                                                                      \
	} while (0)

#define EXPECT_TRUE(what, cond)                                    \
	do {                                                       \
		if (!(cond)) {                                     \
			fprintf(stderr, "#   %s: false\n", (what)); \
			g_fails++;                                 \
		}                                                  \
	} while (0)

#define EXPECT_STR(what, actual, expected)                                             \
	do {                                                                           \
		if (strcmp((actual), (expected))) {                                    \
			fprintf(stderr, "#   %s: actual \"%s\", expected \"%s\"\n", (what), \
				(actual), (expected));                                 \
			g_fails++;                                                     \
		}                                                                      \
	} while (0)

static inline void begin_checks(void)
{
	g_fails = 0;
}

/* Fails the test if any check since begin_checks() (or the last
 * end_checks()) failed; every test ends with it. */
static inline void end_checks(const char *desc)
{
	int fails = g_fails;

	g_fails = 0;
	if (fails)
		fail_msg("%d mismatch(es) in '%s' (listed above)", fails, desc);
}

#endif /* XS_TESTS_EXPECT_H */
