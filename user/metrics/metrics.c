// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "log.h"
#include "metrics.h"
#include "num.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_server {
	int fd;
	struct MHD_Daemon *mhd;
	const struct metrics_src *src;
};

int metrics_parse_addr(const char *arg, char *addr, size_t addr_len, unsigned int *port)
{
	const char *orig = arg, *colon = strrchr(arg, ':'), *p = arg;
	size_t len = 0;
	unsigned long v;
	struct in6_addr a6;
	struct in_addr a4;
	char host[INET6_ADDRSTRLEN + 2];

	if (colon) {
		p = colon + 1;
		len = (size_t)(colon - arg);
		if (len >= 2 && arg[0] == '[' && arg[len - 1] == ']') {
			arg++;
			len -= 2;
		}
	}
	if (len >= sizeof(host) || parse_uint(p, 1, 65535, &v))
		goto bad;
	snprintf(host, sizeof(host), "%.*s", (int)len, arg);
	if (!len)
		snprintf(host, sizeof(host), "%s", METRICS_DEFAULT_ADDR);
	if (inet_pton(AF_INET, host, &a4) != 1 && inet_pton(AF_INET6, host, &a6) != 1)
		goto bad;
	snprintf(addr, addr_len, "%s", host);
	*port = (unsigned int)v;
	return 0;
bad:
	pr_warn("--metrics takes PORT, ADDR:PORT or [ADDR6]:PORT with a numeric address,"
		" not '%s'\n", orig);
	return -EINVAL;
}

struct metrics_server *metrics_bind(const char *addr, unsigned int port)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	struct metrics_server *m;
	socklen_t len;
	int one = 1, fd;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((__u16)port);
		len = sizeof(*s4);
	} else {
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((__u16)port);
		len = sizeof(*s6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		int err = errno;

		pr_warn("--metrics %s%s%s:%u: cannot listen there: %s%s\n",
			ss.ss_family == AF_INET6 ? "[" : "", addr,
			ss.ss_family == AF_INET6 ? "]" : "", port, strerror(err),
			err == EADDRINUSE ? " (another program has the port: choose another)" : "");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (strcmp(addr, "127.0.0.1") && strcmp(addr, "::1"))
		pr_warn("metrics: serving /metrics on %s port %u, not only to this machine:"
			" anyone who can reach it reads the counters\n", addr, port);
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return NULL;
	}
	m->fd = fd;
	return m;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, char *body,
			     size_t len, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status,
				  const char *text)
{
	char *body = strdup(text);

	return body ? reply(c, status, body, strlen(body), "text/plain; charset=utf-8") : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_len, void **state)
{
	struct metrics_server *m = cls;
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	(void)version;
	(void)upload;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		/* answer once the request (and any body) is read */
		if (!*state) {
			*state = m;
			return MHD_YES;
		}
		if (*upload_len) {
			*upload_len = 0;
			return MHD_YES;
		}
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
	}
	if (strcmp(url, "/metrics"))
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
	f = open_memstream(&body, &len);
	if (!f)
		return MHD_NO;
	metrics_write(f, m->src);
	fclose(f);
	return reply(c, MHD_HTTP_OK, body, len, CONTENT_TYPE);
}

int metrics_start(struct metrics_server *m, const struct metrics_src *src)
{
	m->src = src;
	/* one thread answers one request at a time: a flood of scrapes costs
	 * at most that thread, never a worker's or the main loop's time */
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
				  on_request, m, MHD_OPTION_LISTEN_SOCKET, m->fd,
				  MHD_OPTION_CONNECTION_LIMIT, 32u,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!m->mhd) {
		pr_warn("metrics: cannot start the HTTP server (libmicrohttpd)\n");
		return -EIO;
	}
	return 0;
}

void metrics_stop(struct metrics_server *m)
{
	if (!m)
		return;
	if (m->mhd)
		MHD_stop_daemon(m->mhd); /* closes the listening socket too */
	else
		close(m->fd);
	free(m);
}
