// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_conf.h"
#include "log.h"

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
		    const char *origin)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		pr_warn("%s: %s\n", origin, errstr);
		return -EINVAL;
	}
	return 0;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* NAME=VALUE; blanks around NAME and before VALUE are not part of them */
static int conf_set_pair(rd_kafka_conf_t *conf, const char *pair, const char *origin)
{
	const char *eq = strchr(pair, '='), *name = pair, *end = eq, *value;
	char buf[256];

	while (blank(*name))
		name++;
	while (end && end > name && blank(end[-1]))
		end--;
	if (!eq || end == name || (size_t)(end - name) >= sizeof(buf)) {
		pr_warn("%s: '%s' is not NAME=VALUE\n", origin, pair);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%.*s", (int)(end - name), name);
	for (value = eq + 1; blank(*value); value++)
		;
	return conf_set(conf, buf, value, origin);
}

static int conf_read_file(rd_kafka_conf_t *conf, const char *path)
{
	char *line = NULL, origin[PATH_MAX + 16];
	size_t cap = 0;
	int lineno = 0, err = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		err = -errno;
		pr_warn("cannot read Kafka config file %s: %s\n", path, strerror(errno));
		return err;
	}
	/* getline: a long value (a PEM, a JAAS line) is one line, not two */
	while (!err && getline(&line, &cap, f) >= 0) {
		char *s = line, *end = line + strlen(line);

		lineno++;
		while (end > s && (blank(end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
			end--;
		*end = '\0';
		while (blank(*s))
			s++;
		if (!*s || *s == '#')
			continue;
		snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
		err = conf_set_pair(conf, s, origin);
	}
	if (!err && ferror(f)) { /* a directory, an I/O error */
		err = errno ? -errno : -EIO;
		pr_warn("cannot read Kafka config file %s: %s\n", path, strerror(-err));
	}
	free(line);
	fclose(f);
	return err;
}

rd_kafka_conf_t *kafka_conf_build(const struct kafka_conf_src *src)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	int err = 0;

	for (size_t i = 0; !err && i < src->ndefaults; i++)
		err = conf_set(conf, src->defaults[i][0], src->defaults[i][1], "default");
	if (!err && src->brokers)
		err = conf_set(conf, "bootstrap.servers", src->brokers, "-b");
	if (!err && src->stats_interval_ms)
		err = conf_set(conf, "statistics.interval.ms", src->stats_interval_ms, "--metrics");
	if (!err && src->file)
		err = conf_read_file(conf, src->file);
	for (int i = 0; !err && i < src->nprops; i++)
		err = conf_set_pair(conf, src->props[i], "-X");
	if (err) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}
