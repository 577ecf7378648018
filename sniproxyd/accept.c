/*
 * Copyright (c) 2026 The sniproxyd developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "classify.h"
#include "connlog.h"
#include "connlimit.h"
#include "log.h"
#include "msg.h"
#include "proxyproto.h"
#include "quic.h"
#include "ring.h"
#include "shm.h"
#include "sniproxyd.h"
#include "proc.h"
#include "syscalls.h"

/* A connection while its first bytes are being looked at. */
struct aconn {
	int			 fd;
	struct limit_ref	 lim;
	int			 proxy_wait;	/* for the PROXY header */
	const struct listener	*l;
	struct msg_conn		 mc;
	struct event		*ev_read;
	struct event		*ev_timer;
	TAILQ_ENTRY(aconn)	 entry;
};

struct slot {
	struct chan		*chan;
	uint32_t		 route;
	struct ring		 ends;		/* see ENDS_RING */
};

/*
 * Undecided QUIC flows: a client that sends Initial packets by the
 * thousand from many ports must cost a bounded amount of memory, and
 * one source must not take every place.
 */
#define QFLOWS_MAX		1024
#define QFLOWS_PER_SOURCE	8

/*
 * Datagrams a client sent before its flow's own socket was connected
 * wait on the listener's.  For this long after a flow is passed on they
 * are dropped, so that a retransmitted Initial does not start a second
 * flow for the same client address and port.  Any lost this way the
 * client sends again, and then they reach the flow's socket.
 */
#define QFLOW_LINGER_MS		1000

/* Zeroed before it is filled: compared whole, padding included. */
struct qkey {
	uint32_t		 listener;
	uint16_t		 port;
	uint8_t			 family;
	uint8_t			 addr[16];
};

/* A QUIC flow while its ClientHello is being collected. */
struct qflow {
	struct qkey		 key;
	const struct listener	*l;
	struct msg_conn		 mc;
	struct quic_flow	 qf;
	uint8_t			*dgrams;	/* as msg_conn says */
	size_t			 len;
	struct event		*ev_timer;
	int			 passed;	/* to a worker: lingering */
	RB_ENTRY(qflow)		 node;
};
RB_HEAD(qflows, qflow);

static int
qflow_cmp(const struct qflow *a, const struct qflow *b)
{
	return (memcmp(&a->key, &b->key, sizeof(a->key)));
}
RB_PROTOTYPE(qflows, qflow, node, qflow_cmp);
RB_GENERATE(qflows, qflow, node, qflow_cmp)

static struct {
	struct event_base	*base;
	struct config		*conf;
	struct chan		*priv;
	struct slot		*slots;		/* route * prefork + slot */
	unsigned int		*next;		/* round robin, per route */
	struct event		**ev_listen;
	struct event		*ev_resume;
	uint8_t			*peekbuf;
	uint64_t		 nextid;
	uint64_t		 total;
	uint64_t		 refused;	/* over a limit */
	int			 paused;
	int			 listening;
	int			 draining;
	struct event		*ev_start;
	struct event		*ev_drain;
	TAILQ_HEAD(, aconn)	 conns;
	struct qflows		 qflows;
	unsigned int		 nqflows;
	uint8_t			*dgram;
	uint64_t		 qdropped;	/* datagrams never answered */
	unsigned int		 index;		/* among the accept processes */
	int			 limits;	/* the shared ones came */
} ac;

static void	accept_listen_enable(int);
static void	accept_refused(const char *);
static void	accept_stats(struct chan *, uint64_t);
static void	accept_start(void);
static void	accept_ends_take(void);
static void	accept_ring_open(struct slot *);
static void	accept_limits(struct chan_msg *);
static void	accept_listening(int, short, void *);

/*
 * A client over the rate leaves a line of its own each time, with its
 * address first as every connection line, for log watchers such as
 * fail2ban to act on; the other limits are said once a burst.
 */
static int
rate_refused(const char *why)
{
	return (strcmp(why, "maxconn rate") == 0);
}

static void
aconn_free(struct aconn *c)
{
	TAILQ_REMOVE(&ac.conns, c, entry);
	event_free(c->ev_read);
	event_free(c->ev_timer);
	free(c);
}

static void
aconn_close(struct aconn *c, const char *reason)
{
	connlog(ac.conf, &c->mc, NULL, 0, 0, reason);
	close(c->fd);
	limits_release(&c->lim);
	aconn_free(c);
}

/*
 * Hands fd to a worker of the route with data, a struct msg_conn and
 * what follows it.  Returns 0 once it is on its way, -1 when no worker
 * took it, -2 when this process is out of resources.
 */
static int
conn_pass(const struct rule *r, int fd, const void *data, size_t len,
    const struct limit_ref *lim)
{
	struct slot	*s;
	unsigned int	 i, n = ac.conf->prefork, base = r->route * n;

	for (i = 0; i < n; i++) {
		s = &ac.slots[base + (ac.next[r->route] + i) % n];
		if (s->chan == NULL)
			continue;
		if (chan_send(s->chan, MSG_CONN, ac.nextid, fd, data,
		    len) == 0) {
			limits_handed(ac.nextid++, s - ac.slots, lim);
			ac.next[r->route] = (ac.next[r->route] + i + 1) % n;
			return (0);
		}
		/*
		 * Too many descriptors in flight, or none left here: the
		 * workers are not to blame, and the next would fare no
		 * better.
		 */
		if (errno == ETOOMANYREFS || errno == EMFILE ||
		    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			log_warn("route %s: cannot pass the connection",
			    r->table->name);
			return (-2);
		}
		log_warn("route %s: worker channel", r->table->name);
	}
	return (-1);
}

static void
aconn_decide(struct aconn *c, const struct verdict *v)
{
	const struct rule	*r = v->rule;

	c->mc.class = v->class;
	strlcpy(c->mc.name, v->name, sizeof(c->mc.name));
	strlcpy(c->mc.alpn, v->alpn, sizeof(c->mc.alpn));
	if (r == NULL) {
		aconn_close(c, v->class == CLASS_INVALID ? "invalid" :
		    "no-rule");
		return;
	}
	c->mc.rule = r->id;
	if (r->action == ACT_BLOCK) {
		aconn_close(c, "blocked");
		return;
	}
	/*
	 * Out of the event loop before the descriptor leaves: once passed
	 * it is closed here, and an epoll registration left behind would
	 * outlive it, to fire for whatever connection gets its number next.
	 */
	event_del(c->ev_read);
	evtimer_del(c->ev_timer);
	switch (conn_pass(r, c->fd, &c->mc, sizeof(c->mc), &c->lim)) {
	case -1:
		log_warnx("route %s: no worker available", r->table->name);
		aconn_close(c, "no-worker");
		return;
	case -2:
		aconn_close(c, "resources");
		return;
	}
	/* The worker owns the descriptor now and reports back at the end. */
	aconn_free(c);
}

/*
 * Peeks at what the client has sent so far.  final says that nothing
 * more will come (timeout, half-close); a full peek buffer means the
 * same.
 */
static int
proxy_trusted(const struct ruleset *rs, const struct sockaddr *sa)
{
	size_t	 i;

	for (i = 0; i < rs->nproxy_from; i++)
		if (addrmask_match(&rs->proxy_from[i], sa))
			return (1);
	return (0);
}

static void
aconn_timer(struct aconn *c, int64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->ev_timer, &tv);
}

/*
 * A listener behind a load balancer: the header comes first, is read
 * (not peeked) so that only what follows it is classified, and its
 * addresses stand for the client from then on.  Returns 1 when the
 * header is done with, 0 to wait, -1 when the connection is gone.
 */
static int
aconn_proxy(struct aconn *c, size_t n, int final)
{
	struct proxy_info	 pi;
	char			 peer[ADDRSTR_LEN];
	const char		*why;
	ssize_t			 r;

	switch (proxy_parse(ac.peekbuf, n, &pi)) {
	case PROXY_NEED_MORE:
		if (!final && n < PROXY_HDR_MAXLEN)
			return (0);
		/* FALLTHROUGH */
	case PROXY_BAD:
		log_warnx("%s: %s PROXY header", addr_str((struct sockaddr *)
		    &c->mc.client, peer, sizeof(peer)), n == 0 ? "no" :
		    final ? "incomplete" : "bad");
		aconn_close(c, "bad-proxy");
		return (-1);
	case PROXY_OK:
		break;
	}
	while ((r = recv(c->fd, ac.peekbuf, pi.hdrlen, 0)) == -1 &&
	    errno == EINTR)
		;
	if (r != (ssize_t)pi.hdrlen) {
		aconn_close(c, "reset");
		return (-1);
	}
	if (!pi.local) {
		c->mc.client = pi.src;
		c->mc.local = pi.dst;
	}
	accept_ends_take();
	if ((why = limits_admit_source(&c->lim, c->l->rs,
	    (struct sockaddr *)&c->mc.client)) != NULL) {
		accept_refused(why);
		aconn_close(c, rate_refused(why) ? "rate-limit" : "refused");
		return (-1);
	}
	c->proxy_wait = 0;
	aconn_timer(c, c->l->rs->timeout.inspect);
	return (1);
}

static int
aconn_failed(const struct aconn *c)
{
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return (1);
	return (err != 0);
}

/* Returns 1 while the connection waits for more, 0 once it is gone. */
static int
aconn_inspect(struct aconn *c, int final, int finalclass)
{
	struct verdict	 v;
	ssize_t		 n;
	int		 rv;

 again:
	while ((n = recv(c->fd, ac.peekbuf, HELLO_MAXBYTES, MSG_PEEK)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			aconn_close(c, "reset");
			return (0);
		}
		n = 0;
	} else if (n == 0) {
		final = 1;
		finalclass = CLASS_EOF;
	}
	if (c->proxy_wait) {
		if ((rv = aconn_proxy(c, n, final)) != 1)
			return (rv == 0);
		/*
		 * What followed the header came with it, and no new event
		 * will say so; a close that came with it still counts.
		 */
		goto again;
	}
	if (n == HELLO_MAXBYTES)
		final = 1;
	classify(c->l->rs, (struct sockaddr *)&c->mc.client, ac.peekbuf, n,
	    final, &v);
	if (v.more) {
		/*
		 * Peeking returns the bytes that came before a reset as if
		 * nothing had happened: ask the socket, or a client could
		 * hold its place until the inspect timeout for nothing.
		 */
		if (!aconn_failed(c))
			return (1);
		aconn_close(c, "reset");
		return (0);
	}
	if (n == 0 && final)
		v.class = finalclass;
	aconn_decide(c, &v);
	return (0);
}

static void
aconn_readable(int fd, short events, void *arg)
{
	(void)fd;
	(void)aconn_inspect(arg, (events & EV_CLOSED) != 0, CLASS_EOF);
}

static void
aconn_timeout(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)aconn_inspect(arg, 1, CLASS_TIMEOUT);
}

/*
 * The address the client reached: the listener's own, unless it listens
 * on every address, which costs a system call to find out.
 */
static void
conn_local(const struct listener *l, int fd, struct sockaddr_storage *ss)
{
	socklen_t	 sslen = sizeof(*ss);

	if (!sockaddr_is_any((const struct sockaddr *)&l->ss)) {
		memcpy(ss, &l->ss, l->sslen);
		return;
	}
	if (getsockname(fd, (struct sockaddr *)ss, &sslen) == -1)
		memset(ss, 0, sizeof(*ss));
	sockaddr_unmap(ss);
}

/* Said once a burst: a flood must not become a flood of log lines. */
static void
accept_refused(const char *why)
{
	static int64_t	 last;
	int64_t		 now = now_ms();

	ac.refused++;
	if (now - last >= 1000)
		log_warnx("%s reached, closing new connections", why);
	last = now;
}

static void
aconn_new(int fd, const struct listener *l, struct sockaddr_storage *ss)
{
	struct aconn	*c;
	char		 peer[ADDRSTR_LEN];
	struct limit_ref lim;
	struct msg_conn	 mc;
	const char	*why;

	accept_ends_take();
	/* Behind a load balancer, the source is known from its header. */
	if ((why = limits_admit(&lim, l->rs, l->rs->accept_proxy ? NULL :
	    (struct sockaddr *)ss)) != NULL) {
		accept_refused(why);
		if (rate_refused(why)) {
			memset(&mc, 0, sizeof(mc));
			mc.client = *ss;
			conn_local(l, fd, &mc.local);
			mc.listener = l->id;
			mc.rule = RULE_NONE;
			mc.start_ms = now_ms();
			connlog(ac.conf, &mc, NULL, 0, 0, "rate-limit");
		}
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s", __func__);
		limits_release(&lim);
		close(fd);
		return;
	}
	c->lim = lim;
	c->fd = fd;
	c->l = l;
	c->mc.client = *ss;
	c->mc.listener = l->id;
	c->mc.rule = RULE_NONE;
	c->mc.start_ms = now_ms();
	conn_local(l, fd, &c->mc.local);
	/*
	 * Edge-triggered: bytes that are only peeked at stay in the socket,
	 * and a level-triggered event would fire for them again and again.
	 */
	c->ev_read = event_new(ac.base, fd, EV_READ | EV_CLOSED | EV_ET |
	    EV_PERSIST, aconn_readable, c);
	c->ev_timer = evtimer_new(ac.base, aconn_timeout, c);
	if (c->ev_read == NULL || c->ev_timer == NULL)
		fatal("%s: event_new", __func__);
	TAILQ_INSERT_TAIL(&ac.conns, c, entry);
	if (l->rs->accept_proxy) {
		if (!proxy_trusted(l->rs, (struct sockaddr *)&c->mc.client)) {
			log_warnx("%s: PROXY header from an untrusted address",
			    addr_str((struct sockaddr *)&c->mc.client, peer,
			    sizeof(peer)));
			aconn_close(c, "untrusted-proxy");
			return;
		}
		c->proxy_wait = 1;
		aconn_timer(c, l->rs->timeout.proxy);
	} else
		aconn_timer(c, l->rs->timeout.inspect);
	/*
	 * Most clients send their first bytes with the handshake's last
	 * packet, so most connections are decided here and never enter
	 * the event loop.  Registered after the peek, an edge-triggered
	 * event still fires for bytes that came in between.
	 */
	if (aconn_inspect(c, 0, CLASS_UNKNOWN) == 1)
		event_add(c->ev_read, NULL);
}

static void
qflow_free(struct qflow *f)
{
	RB_REMOVE(qflows, &ac.qflows, f);
	if (!f->passed)
		ac.nqflows--;
	quic_flow_free(&f->qf);
	if (f->ev_timer != NULL)
		event_free(f->ev_timer);
	free(f->dgrams);
	free(f);
}

static void
qkey_make(struct qkey *k, const struct listener *l,
    const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;

	memset(k, 0, sizeof(*k));
	k->listener = l->id;
	k->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		k->port = sin->sin_port;
		memcpy(k->addr, &sin->sin_addr, sizeof(sin->sin_addr));
	} else {
		k->port = sin6->sin6_port;
		memcpy(k->addr, &sin6->sin6_addr, sizeof(sin6->sin6_addr));
	}
}

static void
qflow_timeout(int fd, short events, void *arg)
{
	struct qflow	*f = arg;
	char		 peer[ADDRSTR_LEN];

	(void)fd;
	(void)events;
	if (f->passed) {
		qflow_free(f);
		return;
	}
	log_debug("%s: QUIC ClientHello not whole before timeout inspect",
	    addr_str((struct sockaddr *)&f->mc.client, peer, sizeof(peer)));
	ac.qdropped++;
	qflow_free(f);
}

static struct qflow *
qflow_new(const struct listener *l, const struct qkey *key,
    const struct sockaddr_storage *client,
    const struct sockaddr_storage *local)
{
	struct qflow	*f, *o;
	struct timeval	 tv;
	unsigned int	 n = 0;

	if (ac.nqflows >= QFLOWS_MAX)
		return (NULL);
	RB_FOREACH(o, qflows, &ac.qflows)
		if (!o->passed && o->key.family == key->family &&
		    memcmp(o->key.addr, key->addr, sizeof(key->addr)) == 0 &&
		    ++n >= QFLOWS_PER_SOURCE)
			return (NULL);
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (NULL);
	if ((f->ev_timer = evtimer_new(ac.base, qflow_timeout, f)) == NULL) {
		free(f);
		return (NULL);
	}
	f->key = *key;
	f->l = l;
	quic_flow_init(&f->qf);
	f->mc.client = *client;
	f->mc.local = *local;
	f->mc.listener = l->id;
	f->mc.rule = RULE_NONE;
	f->mc.start_ms = now_ms();
	RB_INSERT(qflows, &ac.qflows, f);
	ac.nqflows++;
	tv.tv_sec = l->rs->timeout.inspect / 1000;
	tv.tv_usec = (l->rs->timeout.inspect % 1000) * 1000;
	evtimer_add(f->ev_timer, &tv);
	return (f);
}

/* Kept unchanged, for the worker to replay to the server. */
static int
qflow_keep(struct qflow *f, const uint8_t *dgram, size_t len)
{
	uint8_t		*p;
	uint16_t	 n = len;

	if ((p = realloc(f->dgrams, f->len + sizeof(n) + len)) == NULL)
		return (-1);
	f->dgrams = p;
	memcpy(p + f->len, &n, sizeof(n));
	memcpy(p + f->len + sizeof(n), dgram, len);
	f->len += sizeof(n) + len;
	return (0);
}

/*
 * The flow's own socket: on the address and port the client sent to,
 * connected to the client, so that the kernel delivers the flow's
 * later datagrams to it rather than to the listener.  Not SO_REUSEPORT:
 * it would join the listeners' group, where the program that steers
 * clients to accept processes counts on finding only the listeners.
 */
static int
qflow_socket(const struct qflow *f)
{
	const struct sockaddr_storage	*local = &f->mc.local;
	int				 one = 1, fd;

	if ((fd = socket(local->ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || (local->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (const struct sockaddr *)local, sockaddr_len(local)) ==
	    -1 || connect(fd, (const struct sockaddr *)&f->mc.client,
	    sockaddr_len(&f->mc.client)) == -1) {
		log_warn("udp %s: flow socket", f->l->name);
		close(fd);
		return (-1);
	}
	return (fd);
}

/* What the flow needed for its decision goes; its key stays a while. */
static void
qflow_linger(struct qflow *f)
{
	struct timeval	 tv;

	quic_flow_free(&f->qf);
	quic_flow_init(&f->qf);
	free(f->dgrams);
	f->dgrams = NULL;
	f->len = 0;
	f->passed = 1;
	ac.nqflows--;
	tv.tv_sec = QFLOW_LINGER_MS / 1000;
	tv.tv_usec = (QFLOW_LINGER_MS % 1000) * 1000;
	evtimer_add(f->ev_timer, &tv);
}

static void
qflow_end(struct qflow *f, const char *reason)
{
	connlog(ac.conf, &f->mc, NULL, 0, 0, reason);
	qflow_free(f);
}

static void
qflow_decide(struct qflow *f)
{
	const struct rule	*r;
	struct verdict		 v;
	struct limit_ref	 lim;
	const char		*why;
	char			 peer[ADDRSTR_LEN];
	uint8_t			*msg;
	int			 fd;

	ac.total++;
	log_debug("%s: QUIC ClientHello whole after %zu datagrams",
	    addr_str((struct sockaddr *)&f->mc.client, peer, sizeof(peer)),
	    f->qf.ndgrams);
	classify_quic(f->l->rs, (struct sockaddr *)&f->mc.client,
	    &f->qf.hello, &v);
	f->mc.class = v.class;
	f->mc.quic = f->qf.version;
	strlcpy(f->mc.name, v.name, sizeof(f->mc.name));
	strlcpy(f->mc.alpn, v.alpn, sizeof(f->mc.alpn));
	if ((r = v.rule) == NULL) {
		qflow_end(f, "no-rule");
		return;
	}
	f->mc.rule = r->id;
	if (r->action == ACT_BLOCK) {
		qflow_end(f, "blocked");
		return;
	}
	accept_ends_take();
	if ((why = limits_admit(&lim, f->l->rs,
	    (struct sockaddr *)&f->mc.client)) != NULL) {
		accept_refused(why);
		qflow_end(f, rate_refused(why) ? "rate-limit" : "refused");
		return;
	}
	if ((msg = malloc(sizeof(f->mc) + f->len)) == NULL ||
	    (fd = qflow_socket(f)) == -1) {
		free(msg);
		limits_release(&lim);
		qflow_end(f, "resources");
		return;
	}
	memcpy(msg, &f->mc, sizeof(f->mc));
	memcpy(msg + sizeof(f->mc), f->dgrams, f->len);
	switch (conn_pass(r, fd, msg, sizeof(f->mc) + f->len, &lim)) {
	case 0:
		qflow_linger(f);
		break;
	case -1:
		log_warnx("route %s: no worker available", r->table->name);
		/* FALLTHROUGH */
	default:
		close(fd);
		limits_release(&lim);
		qflow_end(f, "no-worker");
		break;
	}
	free(msg);
}

/*
 * Only a QUIC Initial may start a flow or add to one; anything else is
 * dropped without an answer, which could otherwise be made larger than
 * what was sent to a forged source address.
 */
static void
quic_datagram(const struct listener *l, const struct sockaddr_storage *client,
    const struct sockaddr_storage *local, size_t len)
{
	struct qflow	 key, *f;
	char		 peer[ADDRSTR_LEN];
	int		 fresh = 0;

	qkey_make(&key.key, l, client);
	if ((f = RB_FIND(qflows, &ac.qflows, &key)) == NULL) {
		if ((f = qflow_new(l, &key.key, client, local)) == NULL) {
			ac.qdropped++;
			return;
		}
		fresh = 1;
	} else if (f->passed) {
		ac.qdropped++;
		return;
	}
	switch (quic_input(&f->qf, ac.dgram, len)) {
	case QUIC_NOT_INITIAL:
		ac.qdropped++;
		if (fresh)
			qflow_free(f);
		return;
	case QUIC_INVALID:
		ac.qdropped++;
		log_debug("%s: invalid QUIC Initial", addr_str(
		    (const struct sockaddr *)client, peer, sizeof(peer)));
		qflow_free(f);
		return;
	case QUIC_NEED_MORE:
		if (qflow_keep(f, ac.dgram, len) == -1)
			qflow_free(f);
		return;
	case QUIC_HELLO:
		if (qflow_keep(f, ac.dgram, len) == -1)
			qflow_free(f);
		else
			qflow_decide(f);
		return;
	}
}

/*
 * The listener is bound to one address, or to every address of its
 * family: then only the datagram tells which one the client reached.
 */
static void
quic_ready(int lfd, short events, void *arg)
{
	const struct listener	*l = arg;
	struct sockaddr_storage	 client, local;
	union {
		struct cmsghdr	 hdr;
		uint8_t		 buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	}			 cbuf;
	struct in_pktinfo	 pi;
	struct in6_pktinfo	 pi6;
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cm;
	ssize_t			 n;
	int			 i;

	(void)events;
	for (i = 0; i < 64; i++) {
		memset(&client, 0, sizeof(client));
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = ac.dgram;
		iov.iov_len = QUIC_DGRAM_MAX;
		msg.msg_name = &client;
		msg.msg_namelen = sizeof(client);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = &cbuf;
		msg.msg_controllen = sizeof(cbuf);
		if ((n = recvmsg(lfd, &msg, 0)) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("recvmsg on udp %s", l->name);
			return;
		}
		if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) ||
		    client.ss_family != l->ss.ss_family) {
			ac.qdropped++;
			continue;
		}
		memcpy(&local, &l->ss, sizeof(local));
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level == IPPROTO_IP &&
			    cm->cmsg_type == IP_PKTINFO) {
				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				((struct sockaddr_in *)&local)->sin_addr =
				    pi.ipi_addr;
			} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			    cm->cmsg_type == IPV6_PKTINFO) {
				memcpy(&pi6, CMSG_DATA(cm), sizeof(pi6));
				((struct sockaddr_in6 *)&local)->sin6_addr =
				    pi6.ipi6_addr;
			}
		}
		quic_datagram(l, &client, &local, n);
	}
}

static void
accept_resume(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (ac.draining || !ac.listening)
		return;
	ac.paused = 0;
	accept_listen_enable(1);
}

/*
 * Out of descriptors: accepting again at once would spin, so stop for a
 * second and let connections finish.
 */
static void
accept_pause(void)
{
	struct timeval	 tv = { 1, 0 };

	if (ac.paused)
		return;
	log_warn("accept");
	ac.paused = 1;
	accept_listen_enable(0);
	evtimer_add(ac.ev_resume, &tv);
}

static void
accept_ready(int lfd, short events, void *arg)
{
	const struct listener	*l = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, i;

	(void)events;
	for (i = 0; i < 64; i++) {
		/* All of it goes to a worker: no stack garbage with it. */
		memset(&ss, 0, sizeof(ss));
		sslen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				accept_pause();
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept on %s", l->name);
			return;
		}
		ac.total++;
		/* A dual-stack socket's IPv4 clients count as IPv4. */
		sockaddr_unmap(&ss);
		aconn_new(fd, l, &ss);
	}
}

static void
accept_listen_enable(int on)
{
	unsigned int	 i;

	for (i = 0; i < ac.conf->nlisteners; i++)
		if (on)
			event_add(ac.ev_listen[i], NULL);
		else
			event_del(ac.ev_listen[i]);
}

static void
accept_ended(unsigned int slot, const void *data, size_t len)
{
	uint64_t	 id;
	size_t		 i;

	for (i = 0; i < len; i += sizeof(id)) {
		memcpy(&id, (const uint8_t *)data + i, sizeof(id));
		limits_ended(id, slot);
	}
}

/*
 * A connection queued for a worker that the kernel would not pass: too
 * many descriptors in flight, or none left.  The workers are not to
 * blame, and the channel goes on.
 */
static void
accept_undelivered(struct chan *ch, struct chan_msg *m, void *arg)
{
	struct slot	*s = arg;
	struct msg_conn	 mc;

	(void)ch;
	log_warn("route %u: cannot pass the connection", s->route);
	if (m->hdr.type != MSG_CONN || m->len < sizeof(mc))
		return;
	memcpy(&mc, m->data, sizeof(mc));
	connlog(ac.conf, &mc, NULL, 0, 0, "resources");
	limits_ended(m->hdr.id, s - ac.slots);
}

/*
 * Without a ring the worker says every end in MSG_CONN_END, which
 * costs more but loses nothing.
 */
static void
accept_ring_open(struct slot *s)
{
	uint32_t	 n = ENDS_RING;
	int		 fd;

	if (ring_create(&s->ends, n, &fd) == -1) {
		log_warn("route %u: ends ring", s->route);
		return;
	}
	if (chan_send(s->chan, MSG_ENDS_RING, 0, fd, &n, sizeof(n)) == -1) {
		log_warn("route %u: ends ring", s->route);
		close(fd);
		ring_free(&s->ends);
	}
}

/*
 * What the workers ended since last time, taken before anything counts
 * the connections: a ring that says more than it can hold is a broken
 * worker, as a malformed message is.
 */
static void
accept_ends_take(void)
{
	uint64_t	 ids[256];
	struct slot	*s;
	unsigned int	 i;
	ssize_t		 n, j;

	for (i = 0; i < ac.conf->nroutes * ac.conf->prefork; i++) {
		s = &ac.slots[i];
		if (s->ends.sh == NULL)
			continue;
		do {
			if ((n = ring_take(&s->ends, ids, 256)) == -1)
				fatalx("route %u: a worker broke its ends "
				    "ring", s->route);
			for (j = 0; j < n; j++)
				limits_ended(ids[j], i);
		} while (n == 256);
	}
}

/*
 * The worker's channel is its life: closed, the worker is gone (or
 * about to be, killed by priv), and the connections it held with it.
 */
static void
accept_slot_gone(struct slot *s)
{
	unsigned int	 n;

	s->chan = NULL;
	ring_free(&s->ends);
	if ((n = limits_slot_gone(s - ac.slots)) > 0)
		log_info("route %u: %u connections of a worker that is gone "
		    "released", s->route, n);
}

/*
 * A worker says nothing but which connections ended: anything else is
 * a fault that must not pass unnoticed, and this process ends on it to
 * be started again.
 */
static void
accept_worker_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	struct slot	*s = arg;

	if (m == NULL) {
		log_debug("route %u: worker channel closed", s->route);
		chan_free(ch);
		if (s->chan == ch)
			accept_slot_gone(s);
		return;
	}
	if (m->fd != -1 || m->hdr.type != MSG_CONN_END ||
	    m->len % sizeof(uint64_t) != 0)
		fatalx("route %u: malformed message %u from a worker",
		    s->route, m->hdr.type);
	accept_ended(s - ac.slots, m->data, m->len);
}

/*
 * Listening starts once every worker is there to take connections, or
 * after a moment without them: a connection accepted before would find
 * nobody to go to.
 */
static void
accept_start(void)
{
	unsigned int	 i;

	if (ac.listening || ac.draining)
		return;
	for (i = 0; i < ac.conf->nroutes * ac.conf->prefork; i++)
		if (ac.slots[i].chan == NULL)
			return;
	accept_listening(-1, 0, NULL);
}

static void
accept_listening(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (ac.listening || ac.draining)
		return;
	ac.listening = 1;
	evtimer_del(ac.ev_start);
	accept_listen_enable(1);
}

/*
 * Gone once every connection being looked at has been handed on, and
 * every handing-on has left this process.
 */
static void
accept_drain_check(int fd, short events, void *arg)
{
	struct timeval	 tv = { 0, 100 * 1000 };
	unsigned int	 i;

	(void)fd;
	(void)events;
	(void)arg;
	if (!TAILQ_EMPTY(&ac.conns)) {
		evtimer_add(ac.ev_drain, &tv);
		return;
	}
	for (i = 0; i < ac.conf->nroutes * ac.conf->prefork; i++)
		if (ac.slots[i].chan != NULL && chan_queued(ac.slots[i].chan)) {
			evtimer_add(ac.ev_drain, &tv);
			return;
		}
	accept_stats(ac.priv, 0);
	event_base_loopbreak(ac.base);
}

static void
accept_drain(void)
{
	struct listener	*l;
	struct qflow	*f;

	if (ac.draining)
		return;
	ac.draining = 1;
	evtimer_del(ac.ev_resume);
	accept_listen_enable(0);
	TAILQ_FOREACH(l, &ac.conf->listeners, entry)
		close(l->fd);
	/* Their next datagrams go to the new generation's listeners. */
	while ((f = RB_ROOT(&ac.qflows)) != NULL)
		qflow_free(f);
	accept_drain_check(-1, 0, NULL);
}

static void
accept_stats(struct chan *ch, uint64_t id)
{
	struct msg_stats	 st;

	accept_ends_take();
	memset(&st, 0, sizeof(st));
	st.route = UINT32_MAX;
	st.active = limits_active();
	st.total = ac.total;
	st.errors = ac.refused + ac.qdropped;
	chan_send(ch, MSG_STATS, id, -1, &st, sizeof(st));
}

static void
accept_priv_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	struct msg_worker	 mw;
	struct slot		*s;

	(void)arg;
	if (m == NULL) {
		chan_free(ch);
		fatalx("lost the parent process");
	}
	/* priv sends nothing else: anything else is a broken parent. */
	if (m->fd != -1 && m->hdr.type != MSG_WORKER_CHAN &&
	    m->hdr.type != MSG_ACCEPT_LIMITS)
		fatalx("unexpected descriptor from the parent");
	switch (m->hdr.type) {
	case MSG_ACCEPT_LIMITS:
		accept_limits(m);
		return;
	case MSG_DRAIN:
		accept_drain();
		return;
	case MSG_STATS_REQ:
		accept_stats(ch, m->hdr.id);
		return;
	case MSG_VERBOSE:
		if (m->len != sizeof(int))
			fatalx("malformed verbose message");
		log_setverbose(*(const int *)m->data);
		return;
	}
	if (m->hdr.type != MSG_WORKER_CHAN || m->fd == -1 ||
	    m->len != sizeof(mw))
		fatalx("unexpected message %u from the parent", m->hdr.type);
	memcpy(&mw, m->data, sizeof(mw));
	if (mw.route >= ac.conf->nroutes ||
	    mw.slot >= (uint32_t)ac.conf->prefork)
		fatalx("worker channel for route %u slot %u", mw.route,
		    mw.slot);
	s = &ac.slots[mw.route * ac.conf->prefork + mw.slot];
	/* A new worker for the slot: its old one is gone, unheard of. */
	if (s->chan != NULL) {
		chan_free(s->chan);
		accept_slot_gone(s);
	}
	s->route = mw.route;
	/* Connections of one pass go together, and ends are read so. */
	if ((s->chan = chan_new(ac.base, m->fd, MSG_VERSION,
	    accept_worker_msg, s)) == NULL ||
	    chan_batch(s->chan, CHAN_BATCH_SEND | CHAN_BATCH_READ) == -1)
		fatal("%s: chan_new", __func__);
	chan_set_undelivered(s->chan, accept_undelivered);
	accept_ring_open(s);
	accept_start();
}

/*
 * The limits this generation's accept processes share.  Without them,
 * this process keeps to its share, as it did until now.
 */
static void
accept_limits(struct chan_msg *m)
{
	void	*mem;

	if (m->fd == -1 || m->len != 0 || ac.limits)
		fatalx("malformed limits message from the parent");
	if ((mem = shm_map(m->fd, limits_table_size(ac.conf))) == NULL ||
	    limits_table(mem, ac.index) == -1)
		log_warn("shared limits");
	else
		ac.limits = 1;
	close(m->fd);
}

/* Connections handed on in this pass still reach their workers. */
static void
accept_quit(int sig, short events, void *arg)
{
	unsigned int	 i;

	(void)sig;
	(void)events;
	(void)arg;
	for (i = 0; i < ac.conf->nroutes * ac.conf->prefork; i++)
		if (ac.slots[i].chan != NULL)
			chan_flush_now(ac.slots[i].chan);
	event_base_loopbreak(ac.base);
}

/*
 * All the accept process does once running: take connections, peek and
 * read from them, and hand them on.
 */
const int accept_syscalls[] = {
	SYSCALLS_COMMON,
	SYS_accept4, SYS_getsockname, SYS_getpeername, SYS_getsockopt,
	SYS_setsockopt, SYS_bind, SYS_memfd_create, SYS_ftruncate, -1
};

void
accept_init(struct event_base *base, struct chan *priv, void *arg)
{
	struct child_ctx *ctx = arg;
	struct config	*conf = ctx->conf;
	/*
	 * Without every worker: the old generation serves meanwhile, and
	 * at start the listeners' queues hold the first clients.  Only a
	 * worker that cannot start at all is waited for this long.
	 */
	struct timeval	 start_wait = { 10, 0 };
	struct listener	*l;
	struct event	*ev_term, *ev_int;

	memset(&ac, 0, sizeof(ac));
	ac.base = base;
	ac.conf = conf;
	ac.index = ctx->slot;
	TAILQ_INIT(&ac.conns);
	RB_INIT(&ac.qflows);
	if ((ac.slots = calloc(conf->nroutes * conf->prefork,
	    sizeof(*ac.slots))) == NULL ||
	    (ac.next = calloc(conf->nroutes, sizeof(*ac.next))) == NULL ||
	    (ac.ev_listen = calloc(conf->nlisteners,
	    sizeof(*ac.ev_listen))) == NULL ||
	    (ac.peekbuf = malloc(HELLO_MAXBYTES)) == NULL ||
	    (ac.dgram = malloc(QUIC_DGRAM_MAX)) == NULL ||
	    limits_init(conf) == -1)
		fatal("%s", __func__);
	ac.priv = priv;
	chan_set_cb(priv, accept_priv_msg, NULL);
	TAILQ_FOREACH(l, &conf->listeners, entry)
		if ((ac.ev_listen[l->id] = event_new(base, l->fd,
		    EV_READ | EV_PERSIST, l->udp ? quic_ready : accept_ready,
		    l)) == NULL)
			fatal("%s: event_new", __func__);
	ac.ev_resume = evtimer_new(base, accept_resume, NULL);
	ac.ev_drain = evtimer_new(base, accept_drain_check, NULL);
	ac.ev_start = evtimer_new(base, accept_listening, NULL);
	ev_term = evsignal_new(base, SIGTERM, accept_quit, NULL);
	ev_int = evsignal_new(base, SIGINT, accept_quit, NULL);
	if (ac.ev_resume == NULL || ac.ev_drain == NULL ||
	    ac.ev_start == NULL || ev_term == NULL || ev_int == NULL)
		fatal("%s: event_new", __func__);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evtimer_add(ac.ev_start, &start_wait);
	accept_start();
	child_ready(priv);
}
