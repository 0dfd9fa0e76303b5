// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The packet writer's broker connections (kafka_writer_int.h): non-blocking
 * sockets served in the caller's thread, the requests it sends (Metadata
 * v4, InitProducerId v0, Produce v3: Kafka 0.11 and later, 4.x included)
 * and what their responses change.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "grow.h"
#include "kafka_writer_int.h"
#include "log.h"

/* ---- connections */

struct conn *kw_conn_add(struct kafka_writer *w, int32_t node, const char *host, const char *port)
{
	struct conn *c;

	if (grow(&w->conns, &w->conns_cap, w->nconns + 1, 4) || !(c = calloc(1, sizeof(*c))))
		return NULL;
	w->conns[w->nconns++] = c;
	c->node = node;
	c->fd = -1;
	snprintf(c->host, sizeof(c->host), "%s", host);
	snprintf(c->port, sizeof(c->port), "%s", port);
	return c;
}

static struct conn *conn_of(struct kafka_writer *w, int32_t node)
{
	for (size_t i = 0; i < w->nconns; i++)
		if (w->conns[i]->node == node && node >= 0)
			return w->conns[i];
	return NULL;
}

static unsigned int in_flight_produces(const struct kafka_writer *w)
{
	unsigned int n = 0;

	for (size_t i = 0; i < w->nconns; i++)
		n += w->conns[i]->produces;
	return n;
}

/* The connection ends: its requests' batches wait to be sent again (with
 * their sequence), the metadata is asked again, and a new connection is
 * tried after a backoff. */
void kw_conn_drop(struct kafka_writer *w, struct conn *c, const char *why)
{
	__u64 now = kw_now();

	if (c->fd >= 0) {
		char where[sizeof(c->host) + sizeof(c->port) + 1];

		close(c->fd);
		snprintf(where, sizeof(where), "%s:%s", c->host, c->port);
		kw_warn(w, where, why, "; records wait and are sent once the broker answers");
	}
	c->fd = -1;
	c->state = CONN_DOWN;
	c->backoff_ns = c->backoff_ns ? c->backoff_ns * 2 : BACKOFF_MIN_NS;
	if (c->backoff_ns > BACKOFF_MAX_NS)
		c->backoff_ns = BACKOFF_MAX_NS;
	c->retry_ns = now + c->backoff_ns;
	c->out_len = c->out_off = c->in_len = 0;
	for (; c->nreqs; c->nreqs--, c->head = (c->head + 1) % MAX_REQUESTS) {
		struct request *q = &c->reqs[c->head];

		if (q->api == API_METADATA)
			w->md_asked = false;
		else if (q->api == API_INIT_PRODUCER_ID)
			w->pid_asked = false;
		for (size_t i = 0; i < q->nbatches; i++)
			q->batches[i]->in_flight = false;
		q->nbatches = 0;
	}
	c->produces = 0;
	if (!w->md_due_ns || w->md_due_ns > now)
		w->md_due_ns = now;
}

static void conn_connect(struct kafka_writer *w, struct conn *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int one = 1, err;

	c->since_ns = kw_now();
	if ((err = getaddrinfo(c->host, c->port, &hints, &ai))) {
		c->fd = -1;
		kw_warn(w, c->host, gai_strerror(err), " (cannot resolve it)");
		kw_conn_drop(w, c, "not resolved");
		return;
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd >= 0) {
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!connect(c->fd, ai->ai_addr, ai->ai_addrlen))
			c->state = CONN_UP;
		else if (errno == EINPROGRESS)
			c->state = CONN_CONNECTING;
		else
			err = errno;
	} else {
		err = errno;
	}
	freeaddrinfo(ai);
	if (c->fd < 0 || err) {
		char why[128];

		snprintf(why, sizeof(why), "cannot connect (%s)", strerror(err));
		kw_conn_drop(w, c, why);
	}
}

/* Writes what the socket takes now; false when the connection broke. */
static bool conn_write(struct kafka_writer *w, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return true;
			kw_conn_drop(w, c, strerror(errno));
			return false;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return true;
}

/* Room for a request of size bytes at the end of c->out: where it starts,
 * its header written (size, api, version, correlation id, client id). */
static uint8_t *request_begin(struct kafka_writer *w, struct conn *c, size_t size, int16_t api,
			      int16_t version)
{
	struct request *q;
	uint8_t *p;

	if (c->nreqs == MAX_REQUESTS || grow(&c->out, &c->out_cap, c->out_len + size, 4096))
		return NULL;
	q = &c->reqs[(c->head + c->nreqs) % MAX_REQUESTS];
	q->corr = ++w->corr;
	q->api = api;
	q->sent_ns = kw_now();
	q->nbatches = 0;
	p = c->out + c->out_len;
	p = wire_put32(p, 0); /* the size, at request_end() */
	p = wire_put16(p, api);
	p = wire_put16(p, version);
	p = wire_put32(p, q->corr);
	return wire_put_str(p, CLIENT_ID);
}

#define REQUEST_HEAD (4 + 2 + 2 + 4 + 2 + sizeof(CLIENT_ID) - 1)

static void request_end(struct kafka_writer *w, struct conn *c, uint8_t *end)
{
	uint8_t *start = c->out + c->out_len;

	wire_put32(start, (int32_t)(end - start - 4));
	c->out_len = (size_t)(end - c->out);
	c->nreqs++;
	conn_write(w, c);
}

/* An up connection for Metadata and InitProducerId, or NULL. */
static struct conn *any_conn(struct kafka_writer *w)
{
	struct conn *best = NULL;

	for (size_t i = 0; i < w->nconns; i++) {
		struct conn *c = w->conns[i];

		if (c->state == CONN_UP && c->nreqs < MAX_REQUESTS && (!best || c->nreqs < best->nreqs))
			best = c;
	}
	return best;
}

/* ---- requests */

static void ask_metadata(struct kafka_writer *w, struct conn *c)
{
	size_t tlen = strlen(w->topic);
	uint8_t *p = request_begin(w, c, REQUEST_HEAD + 4 + 2 + tlen + 1, API_METADATA, 4);

	if (!p)
		return;
	p = wire_put32(p, 1);
	p = wire_put_str(p, w->topic);
	*p++ = 1; /* allow_auto_topic_creation: as librdkafka's producer asks */
	w->md_asked = true;
	request_end(w, c, p);
}

static void ask_producer_id(struct kafka_writer *w, struct conn *c)
{
	uint8_t *p = request_begin(w, c, REQUEST_HEAD + 2 + 4, API_INIT_PRODUCER_ID, 0);

	if (!p)
		return;
	p = wire_put16(p, -1);   /* no transactional id: an idempotent producer */
	p = wire_put32(p, 60000); /* transaction timeout, unused without one */
	w->pid_asked = true;
	request_end(w, c, p);
}

/* The partition's batch to send next to its leader, or NULL: the first
 * sealed one not in flight (those before it are), else the open one once
 * it lingered 5 ms or is full. */
static struct batch *next_to_send(struct partition *p, __u64 now)
{
	struct batch *b;

	if (now < p->retry_ns)
		return NULL;
	for (b = p->head; b; b = b->next)
		if (!b->in_flight)
			return b;
	b = p->open;
	if (b && b->records &&
	    (now - b->opened_ns >= LINGER_NS || b->records >= BATCH_RECORDS)) {
		kw_close_open(p);
		return b;
	}
	return NULL;
}

/* Seals b for the current producer id: its sequence follows the partition's. */
static void seal(struct kafka_writer *w, struct batch *b)
{
	struct partition *p = &w->parts[b->part];
	struct wire_producer pr;

	if (b->pid == w->pid)
		return; /* a retry: the same bytes, so the broker writes it once */
	b->pid = w->pid;
	b->seq = p->next_seq;
	p->next_seq = wire_seq_add(p->next_seq, b->records);
	pr = (struct wire_producer){ .id = w->pid, .epoch = w->epoch, .base_seq = b->seq };
	wire_batch_seal(b->buf, b->len, b->records, b->first_ts, b->max_ts, &pr);
}

/* One Produce request to c with every partition it leads that has a batch
 * to send. */
static void send_produce(struct kafka_writer *w, struct conn *c, __u64 now)
{
	size_t tlen = strlen(w->topic), size = REQUEST_HEAD + 2 + 2 + 4 + 4 + 2 + tlen + 4;
	struct request *q = &c->reqs[(c->head + c->nreqs) % MAX_REQUESTS];
	uint8_t *p, *count;
	int32_t n = 0;

	if (grow(&q->batches, &q->cap, (size_t)w->nparts, 8))
		return;
	q->nbatches = 0;
	for (int32_t i = 0; i < w->nparts; i++) {
		struct partition *pt = &w->parts[i];
		struct batch *b;

		if (pt->leader != c->node || !(b = next_to_send(pt, now)))
			continue;
		if (size + 8 + b->len > 100 * 1024 * 1024)
			break; /* the broker's socket.request.max.bytes */
		q->batches[q->nbatches++] = b;
		size += 8 + b->len;
	}
	if (!q->nbatches)
		return;
	size_t nb = q->nbatches;
	struct batch **batches = q->batches; /* request_begin() keeps them (nbatches reset) */

	p = request_begin(w, c, size, API_PRODUCE, 3);
	if (!p)
		return; /* they stay waiting */
	q->nbatches = nb;
	q->batches = batches;
	p = wire_put16(p, -1);    /* no transactional id */
	p = wire_put16(p, -1);    /* acks: all */
	p = wire_put32(p, 30000); /* the broker's timeout for the replicas */
	p = wire_put32(p, 1);
	p = wire_put_str(p, w->topic);
	count = p;
	p += 4;
	for (size_t i = 0; i < nb; i++) {
		struct batch *b = batches[i];

		seal(w, b);
		p = wire_put32(p, b->part);
		p = wire_put32(p, (int32_t)b->len);
		memcpy(p, b->buf, b->len);
		p += b->len;
		b->sent = b->in_flight = true;
		n++;
	}
	wire_put32(count, n);
	c->produces++;
	request_end(w, c, p);
}

/* ---- responses */

static void on_metadata(struct kafka_writer *w, struct conn *from, struct wire_reader *r)
{
	__u64 now = kw_now();
	int64_t nbrokers, ntopics, terr, nparts;
	char host[256], port[8];

	w->md_asked = false;
	wire_get(r, 4); /* throttle time */
	nbrokers = wire_get(r, 4);
	for (int64_t i = 0; i < nbrokers && !r->bad; i++) {
		int32_t node = (int32_t)wire_get(r, 4);
		struct conn *c;

		wire_get_str(r, host, sizeof(host));
		snprintf(port, sizeof(port), "%d", (int)wire_get(r, 4));
		wire_skip_str(r); /* rack */
		if (r->bad)
			break;
		c = conn_of(w, node);
		if (c && (strcmp(c->host, host) || strcmp(c->port, port))) {
			kw_conn_drop(w, c, "moved");
			snprintf(c->host, sizeof(c->host), "%s", host);
			snprintf(c->port, sizeof(c->port), "%s", port);
			c->retry_ns = now;
		} else if (!c) {
			kw_conn_add(w, node, host, port);
		}
	}
	wire_skip_str(r); /* cluster id */
	wire_get(r, 4);   /* controller */
	ntopics = wire_get(r, 4);
	terr = wire_get(r, 2);
	wire_skip_str(r);
	wire_get(r, 1); /* internal */
	nparts = wire_get(r, 4);
	if (r->bad || ntopics != 1 || nparts < 0 || nparts > 100000) {
		kw_conn_drop(w, from, "a metadata response it cannot read");
		return;
	}
	if (terr || !nparts) {
		/* being created (auto.create.topics.enable), or absent */
		if (terr && terr != ERR_LEADER_NOT_AVAILABLE && !w->topic_warned) {
			w->topic_warned = true;
			pr_warn("Kafka: topic %s: %s; records wait until it exists\n", w->topic,
				kw_err_name((int16_t)terr));
		}
		w->md_due_ns = now + (terr == ERR_LEADER_NOT_AVAILABLE ? METADATA_RETRY_NS
								       : 5 * METADATA_RETRY_NS);
		return;
	}
	if (nparts > w->nparts) {
		struct partition *parts = realloc(w->parts, (size_t)nparts * sizeof(*parts));

		if (!parts)
			return;
		memset(parts + w->nparts, 0, (size_t)(nparts - w->nparts) * sizeof(*parts));
		for (int64_t i = w->nparts; i < nparts; i++)
			parts[i].leader = -1;
		w->parts = parts;
		if (w->nparts)
			pr_info("Kafka: topic %s now has %lld partitions\n", w->topic, (long long)nparts);
		w->nparts = (int32_t)nparts;
	}
	w->md_due_ns = now + METADATA_REFRESH_NS;
	for (int64_t i = 0; i < nparts && !r->bad; i++) {
		int16_t perr = (int16_t)wire_get(r, 2);
		int32_t id = (int32_t)wire_get(r, 4), leader = (int32_t)wire_get(r, 4);

		for (int k = 0; k < 2; k++) /* replicas, in-sync replicas */
			for (int64_t j = wire_get(r, 4); j > 0 && !r->bad; j--)
				wire_get(r, 4);
		if (r->bad || id < 0 || id >= w->nparts)
			break;
		w->parts[id].leader = perr && perr != ERR_NONE ? -1 : leader;
		if (w->parts[id].leader < 0)
			w->md_due_ns = now + METADATA_RETRY_NS;
	}
}

static void on_producer_id(struct kafka_writer *w, struct wire_reader *r)
{
	int16_t err;
	int64_t pid;

	w->pid_asked = false;
	wire_get(r, 4); /* throttle time */
	err = (int16_t)wire_get(r, 2);
	pid = wire_get(r, 8);
	w->epoch = (int16_t)wire_get(r, 2);
	if (r->bad || err) {
		if (err == ERR_COORDINATOR_LOAD) /* a broker just started: soon */
			pr_debug("Kafka writer: no producer id yet: %s\n", kw_err_name(err));
		else
			kw_warn(w, "no producer id yet", r->bad ? "a response it cannot read" : kw_err_name(err),
			     err == ERR_CLUSTER_AUTHORIZATION_FAILED ?
				     " (the sensor's principal needs IDEMPOTENT_WRITE on the cluster)" : "");
		w->pid_retry_ns = kw_now() + METADATA_RETRY_NS;
		return;
	}
	w->pid = pid;
	w->pid_reset = false;
	for (int32_t i = 0; i < w->nparts; i++)
		w->parts[i].next_seq = 0; /* every batch not delivered is sealed anew */
	pr_debug("Kafka writer: producer id %lld, epoch %d\n", (long long)pid, w->epoch);
}

static bool retriable(int16_t err)
{
	switch (err) {
	case ERR_CORRUPT_MESSAGE:
	case ERR_UNKNOWN_TOPIC_OR_PART:
	case ERR_LEADER_NOT_AVAILABLE:
	case ERR_NOT_LEADER:
	case ERR_REQUEST_TIMED_OUT:
	case ERR_NETWORK_EXCEPTION:
	case ERR_NOT_ENOUGH_REPLICAS:
	case ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
	case ERR_KAFKA_STORAGE_ERROR:
	case ERR_OUT_OF_ORDER_SEQUENCE: /* behind a batch that failed: sent again after it */
		return true;
	default:
		return false;
	}
}

static void on_produce_result(struct kafka_writer *w, struct batch *b, int16_t err)
{
	struct partition *p = &w->parts[b->part];

	b->in_flight = false;
	if (err == ERR_NONE || err == ERR_DUPLICATE_SEQUENCE) {
		kw_unqueue(p, b);
		kw_batch_done(w, b, KAFKA_DELIVERED);
		return;
	}
	if (retriable(err)) {
		p->retry_ns = kw_now() + RETRY_NS;
		if (err != ERR_OUT_OF_ORDER_SEQUENCE)
			w->md_due_ns = kw_now(); /* a leader may have moved */
		pr_debug("Kafka writer: partition %d: %s, sent again\n", b->part, kw_err_name(err));
		return;
	}
	if (err == ERR_UNKNOWN_PRODUCER_ID || err == ERR_INVALID_PRODUCER_EPOCH) {
		/* not written: sent again under a new producer id */
		w->pid_reset = true;
		return;
	}
	/* for good; the partition's sequence cannot go on past it */
	kw_warn(w, "a batch was refused", kw_err_name(err), "; its records are counted as failed");
	if (err == ERR_TOPIC_AUTHORIZATION_FAILED)
		pr_warn("Kafka: the sensor's principal may not write to topic %s\n", w->topic);
	kw_unqueue(p, b);
	kw_batch_done(w, b, KAFKA_FAILED);
	w->pid_reset = true;
}

static void on_produce(struct kafka_writer *w, struct conn *c, struct request *q, struct wire_reader *r)
{
	int64_t ntopics = wire_get(r, 4);

	c->produces--;
	wire_skip_str(r);
	for (int64_t n = ntopics == 1 ? wire_get(r, 4) : 0; n > 0 && !r->bad; n--) {
		int32_t part = (int32_t)wire_get(r, 4);
		int16_t err = (int16_t)wire_get(r, 2);

		wire_get(r, 8); /* base offset */
		wire_get(r, 8); /* log append time */
		if (r->bad)
			break;
		for (size_t i = 0; i < q->nbatches; i++)
			if (q->batches[i] && q->batches[i]->part == part) {
				on_produce_result(w, q->batches[i], err);
				q->batches[i] = NULL;
			}
	}
	/* a batch the response did not mention is sent again */
	for (size_t i = 0; i < q->nbatches; i++)
		if (q->batches[i])
			q->batches[i]->in_flight = false;
	q->nbatches = 0;
}

/* Reads what the socket has and serves every whole response. */
static void conn_read(struct kafka_writer *w, struct conn *c)
{
	for (;;) {
		if (grow(&c->in, &c->in_cap, c->in_len + 65536, 65536))
			return;
		ssize_t got = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);

		if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
			kw_conn_drop(w, c, got ? strerror(errno) : "the broker closed the connection");
			return;
		}
		if (got < 0)
			break;
		c->in_len += (size_t)got;
	}
	size_t off = 0;

	while (c->in_len - off >= 4) {
		uint32_t size;

		memcpy(&size, c->in + off, 4);
		size = be32toh(size);
		if (c->in_len - off - 4 < size)
			break;
		struct wire_reader r = { c->in + off + 4, c->in + off + 4 + size, 0 };
		struct request *q = &c->reqs[c->head];

		if (!c->nreqs || wire_get(&r, 4) != q->corr) {
			kw_conn_drop(w, c, "a response it did not ask for");
			return;
		}
		c->head = (c->head + 1) % MAX_REQUESTS;
		c->nreqs--;
		c->backoff_ns = 0; /* it answers */
		if (q->api == API_METADATA)
			on_metadata(w, c, &r);
		else if (q->api == API_INIT_PRODUCER_ID)
			on_producer_id(w, &r);
		else
			on_produce(w, c, q, &r);
		if (c->state != CONN_UP)
			return; /* dropped meanwhile: its buffer is gone */
		off += 4 + size;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
}

/* Connections, metadata, the producer id and due batches: what can go now. */
void kw_advance(struct kafka_writer *w)
{
	__u64 now = kw_now();
	bool nodes_known = false, any_up = false;
	struct conn *c;

	for (size_t i = 0; i < w->nconns; i++) {
		c = w->conns[i];
		nodes_known |= c->node >= 0;
		any_up |= c->state == CONN_UP;
		if (c->state == CONN_UP && c->nreqs &&
		    now - c->reqs[c->head].sent_ns > REQUEST_TIMEOUT_NS)
			kw_conn_drop(w, c, "no response for 30 s");
		if (c->state == CONN_CONNECTING && now - c->since_ns > CONNECT_TIMEOUT_NS)
			kw_conn_drop(w, c, "connection timed out");
	}
	for (size_t i = 0; i < w->nconns; i++) {
		c = w->conns[i];
		if (c->state != CONN_DOWN || now < c->retry_ns)
			continue;
		/* a leader's connection; the bootstrap addresses until the
		 * brokers are known */
		bool wanted = c->node < 0 && !nodes_known && !any_up;

		for (int32_t p = 0; p < w->nparts && !wanted; p++)
			wanted = w->parts[p].leader == c->node;
		if (wanted)
			conn_connect(w, c);
	}
	if (w->md_due_ns && now >= w->md_due_ns && !w->md_asked && (c = any_conn(w)))
		ask_metadata(w, c);
	if ((w->pid < 0 || w->pid_reset) && !w->pid_asked && now >= w->pid_retry_ns &&
	    !in_flight_produces(w) && w->nparts && (c = any_conn(w)))
		ask_producer_id(w, c);
	if (w->pid < 0 || w->pid_reset)
		return;
	for (size_t i = 0; i < w->nconns; i++) {
		c = w->conns[i];
		if (c->state == CONN_UP && c->node >= 0 && c->produces < MAX_IN_FLIGHT &&
		    c->nreqs < MAX_REQUESTS)
			send_produce(w, c, now);
	}
}

/* Waits up to timeout_ms on the sockets, then serves what they have. */
void kw_io(struct kafka_writer *w, int timeout_ms)
{
	size_t n = 0, nconns = w->nconns; /* serving a response may add one */

	if (grow(&w->pfds, &w->pfds_cap, nconns, 8))
		return;
	for (size_t i = 0; i < nconns; i++) {
		struct conn *c = w->conns[i];
		short ev = c->state == CONN_CONNECTING ? POLLOUT :
			   c->state == CONN_UP ? (short)(POLLIN | (c->out_len ? POLLOUT : 0)) : 0;

		w->pfds[i] = (struct pollfd){ .fd = ev ? c->fd : -1, .events = ev };
		n += ev != 0;
	}
	if (!n) {
		if (timeout_ms > 0)
			usleep((useconds_t)(timeout_ms < 10 ? timeout_ms : 10) * 1000);
		return;
	}
	if (timeout_ms > 5)
		timeout_ms = 5; /* batches linger 5 ms */
	if (poll(w->pfds, nconns, timeout_ms) <= 0)
		return;
	for (size_t i = 0; i < nconns; i++) {
		struct conn *c = w->conns[i];
		short re = w->pfds[i].revents;

		if (!re || w->pfds[i].fd != c->fd)
			continue;
		if (c->state == CONN_CONNECTING) {
			int err = 0;
			socklen_t len = sizeof(err);

			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err) {
				char why[128];

				snprintf(why, sizeof(why), "cannot connect (%s)", strerror(err));
				kw_conn_drop(w, c, why);
			} else {
				c->state = CONN_UP;
			}
			continue;
		}
		if ((re & POLLOUT) && !conn_write(w, c))
			continue;
		if (re & (POLLIN | POLLERR | POLLHUP))
			conn_read(w, c);
	}
}

/* Every connection closed, so that no late response speaks of what was in
 * flight, and opened again at once under a new producer id. */
void kw_reset_links(struct kafka_writer *w)
{
	for (size_t i = 0; i < w->nconns; i++) {
		struct conn *c = w->conns[i];

		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		kw_conn_drop(w, c, "");
		c->retry_ns = 0;
	}
	w->pid_reset = true;
	w->md_due_ns = kw_now();
}

void kw_free_links(struct kafka_writer *w)
{
	for (size_t i = 0; i < w->nconns; i++) {
		struct conn *c = w->conns[i];

		if (c->fd >= 0)
			close(c->fd);
		free(c->out);
		free(c->in);
		for (int k = 0; k < MAX_REQUESTS; k++)
			free(c->reqs[k].batches);
		free(c);
	}
	free(w->conns);
	free(w->pfds);
}
