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
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <tls.h>

#include "chan.h"
#include "log.h"
#include "msg.h"
#include "quic.h"
#include "sniproxyd.h"
#include "syscalls.h"

/*
 * The "check" process: it probes every server of every route that asks
 * for checks, keeps the rise and fall counts, and tells priv when a
 * server changes state; priv tells the route's workers.
 */
#define CHECK_BUF	4096

struct probe_state {
	const struct rule	*rule;
	uint32_t		 host;
	int			 up;
	int			 oks;
	int			 fails;
	int			 fd;
	struct tls		*tls;
	struct event		*ev_io;
	struct event		*ev_timer;	/* next probe, or deadline */
	int			 busy;
	int			 shaken;	/* the TLS handshake is done */
	size_t			 sent;
	char			 buf[CHECK_BUF + 1];
	size_t			 len;
	uint8_t			 cids[2 * QUIC_PROBE_CIDLEN];
};

static struct {
	struct event_base	*base;
	struct config		*conf;
	struct chan		*priv;
	struct tls_config	*tlscfg;
	struct probe_state	**probes;
	size_t			 nprobes;
} ck;

static void	probe_start(int, short, void *);
static void	probe_io(int, short, void *);

static const char *
check_name(const struct check *c)
{
	switch (c->type) {
	case CHECK_TCP:
		return ("tcp");
	case CHECK_TLS:
		return ("tls");
	case CHECK_HTTP:
		return (c->tls ? "https" : "http");
	case CHECK_QUIC:
		return ("quic");
	default:
		return (c->tls ? "send/expect over tls" : "send/expect");
	}
}

static void
probe_report(struct probe_state *p)
{
	struct msg_host_state	 hs;

	hs.route = p->rule->route;
	hs.host = p->host;
	hs.up = p->up;
	chan_send(ck.priv, MSG_HOST_STATE, 0, -1, &hs, sizeof(hs));
}

static void
probe_done(struct probe_state *p, int ok)
{
	const struct check	*c = &p->rule->check;
	struct timeval		 tv;

	if (p->tls != NULL) {
		tls_free(p->tls);
		p->tls = NULL;
	}
	if (p->fd != -1) {
		close(p->fd);
		p->fd = -1;
	}
	event_del(p->ev_io);
	p->busy = 0;
	if (ok) {
		p->fails = 0;
		if (!p->up && ++p->oks >= c->rise) {
			p->up = 1;
			probe_report(p);
		}
	} else {
		p->oks = 0;
		if (p->up && ++p->fails >= c->fall) {
			p->up = 0;
			probe_report(p);
		}
	}
	tv.tv_sec = c->interval / 1000;
	tv.tv_usec = (c->interval % 1000) * 1000;
	/* Re-assigning a pending event would corrupt libevent's queues. */
	evtimer_del(p->ev_timer);
	evtimer_assign(p->ev_timer, ck.base, probe_start, p);
	evtimer_add(p->ev_timer, &tv);
}

static void
probe_wait(struct probe_state *p, short what)
{
	event_del(p->ev_io);
	event_assign(p->ev_io, ck.base, p->fd, what, probe_io, p);
	event_add(p->ev_io, NULL);
}

/*
 * The socket or the TLS session on it, as libtls answers: a byte
 * count, 0 at the end, -1 on error, or TLS_WANT_POLLIN/POLLOUT.
 */
static ssize_t
probe_write(struct probe_state *p, const char *buf, size_t len)
{
	ssize_t	 n;

	if (p->tls != NULL)
		return (tls_write(p->tls, buf, len));
	n = send(p->fd, buf, len, MSG_NOSIGNAL);
	return (n == -1 && errno == EAGAIN ? TLS_WANT_POLLOUT : n);
}

static ssize_t
probe_read(struct probe_state *p, char *buf, size_t len)
{
	ssize_t	 n;

	if (p->tls != NULL)
		return (tls_read(p->tls, buf, len));
	n = read(p->fd, buf, len);
	return (n == -1 && errno == EAGAIN ? TLS_WANT_POLLIN : n);
}

/*
 * Whether what came back so far settles the check: 1 passed, 0 failed,
 * -1 not yet.  An HTTP check reads the status line only.
 */
static int
probe_verdict(struct probe_state *p, int eof)
{
	const struct check	*c = &p->rule->check;
	const char		*errstr = NULL;
	char			 code[4];

	if (c->type != CHECK_HTTP) {
		if (strstr(p->buf, c->expect) != NULL)
			return (1);
		return (eof || p->len == CHECK_BUF ? 0 : -1);
	}
	if (strchr(p->buf, '\n') == NULL)
		return (eof || p->len == CHECK_BUF ? 0 : -1);
	if (strncmp(p->buf, "HTTP/1.", 7) != 0 || p->len < 13 ||
	    p->buf[8] != ' ')
		return (0);
	memcpy(code, p->buf + 9, 3);
	code[3] = '\0';
	return (strtonum(code, 100, 599, &errstr) == c->code &&
	    errstr == NULL);
}

static void
probe_want(struct probe_state *p, ssize_t rv)
{
	if (rv == TLS_WANT_POLLIN || rv == TLS_WANT_POLLOUT)
		probe_wait(p, rv == TLS_WANT_POLLIN ? EV_READ : EV_WRITE);
	else
		probe_done(p, 0);
}

/*
 * The answer to the QUIC probe.  An ICMP error says the port is closed;
 * a datagram that is not the answer, forged or late, is not one.
 */
static void
probe_quic_answer(struct probe_state *p)
{
	ssize_t	 n;

	while ((n = recv(p->fd, p->buf, CHECK_BUF, 0)) > 0)
		if (quic_probe_answered((uint8_t *)p->buf, n, p->cids)) {
			probe_done(p, 1);
			return;
		}
	if (n == -1 && errno == EAGAIN)
		probe_wait(p, EV_READ);
	else
		probe_done(p, 0);
}

/* After the connection: what each kind of check still wants. */
static void
probe_step(struct probe_state *p)
{
	const struct check	*c = &p->rule->check;
	ssize_t			 n;
	int			 v;

	if (c->type == CHECK_QUIC) {
		probe_quic_answer(p);
		return;
	}
	if (c->type == CHECK_TCP) {
		probe_done(p, 1);
		return;
	}
	if (c->tls && !p->shaken) {
		if ((n = tls_handshake(p->tls)) != 0) {
			probe_want(p, n);
			return;
		}
		p->shaken = 1;
		if (c->type == CHECK_TLS) {
			probe_done(p, 1);
			return;
		}
	}
	while (p->sent < strlen(c->send)) {
		n = probe_write(p, c->send + p->sent,
		    strlen(c->send) - p->sent);
		if (n <= 0) {
			probe_want(p, n);
			return;
		}
		p->sent += n;
	}
	for (;;) {
		n = probe_read(p, p->buf + p->len, CHECK_BUF - p->len);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			probe_want(p, n);
			return;
		}
		if (n > 0) {
			p->len += n;
			p->buf[p->len] = '\0';
		}
		if ((v = probe_verdict(p, n <= 0)) != -1) {
			probe_done(p, v);
			return;
		}
	}
}

static void
probe_io(int fd, short events, void *arg)
{
	struct probe_state	*p = arg;
	socklen_t		 len = sizeof(int);
	int			 err = 0;

	(void)events;
	if (p->busy == 1) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0) {
			probe_done(p, 0);
			return;
		}
		p->busy = 2;
		if (p->rule->check.tls &&
		    ((p->tls = tls_client()) == NULL ||
		    tls_configure(p->tls, ck.tlscfg) == -1 ||
		    tls_connect_socket(p->tls, p->fd, p->rule->check.host ?
		    p->rule->check.host : p->rule->tls.servername) == -1)) {
			probe_done(p, 0);
			return;
		}
	}
	probe_step(p);
}

static void
probe_expired(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	probe_done(arg, 0);
}

static void
probe_start(int fd, short events, void *arg)
{
	struct probe_state	*p = arg;
	const struct host	*h = &p->rule->table->hosts[p->host];
	struct sockaddr_storage	 ss = h->ss;
	struct timeval		 tv;
	int64_t			 ms = p->rule->timeout.connect;

	(void)fd;
	(void)events;
	if (p->rule->port != 0 && ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(p->rule->port);
	else if (p->rule->port != 0)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(p->rule->port);
	p->sent = p->len = 0;
	p->shaken = 0;
	p->buf[0] = '\0';
	p->fd = socket(ss.ss_family, (p->rule->check.type == CHECK_QUIC ?
	    SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd == -1 || (connect(p->fd, (struct sockaddr *)&ss,
	    h->sslen) == -1 && errno != EINPROGRESS)) {
		probe_done(p, 0);
		return;
	}
	if (p->rule->check.type == CHECK_QUIC) {
		arc4random_buf(p->cids, sizeof(p->cids));
		quic_probe_make((uint8_t *)p->buf, p->cids);
		if (send(p->fd, p->buf, QUIC_PROBE_LEN, 0) != QUIC_PROBE_LEN) {
			probe_done(p, 0);
			return;
		}
		p->busy = 2;
		probe_wait(p, EV_READ);
	} else {
		p->busy = 1;
		probe_wait(p, EV_WRITE);
	}
	if (ms > p->rule->check.interval)
		ms = p->rule->check.interval;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_del(p->ev_timer);
	evtimer_assign(p->ev_timer, ck.base, probe_expired, p);
	evtimer_add(p->ev_timer, &tv);
}

/*
 * What the check process before this one found: the server counts as
 * down from here on, and rises only with "rise" probes that pass.
 */
static void
check_host_state(const void *data)
{
	struct msg_host_state	 hs;
	struct probe_state	*p;
	size_t			 i;

	memcpy(&hs, data, sizeof(hs));
	for (i = 0; i < ck.nprobes; i++) {
		p = ck.probes[i];
		if ((uint32_t)p->rule->route != hs.route || p->host != hs.host)
			continue;
		p->up = hs.up != 0;
		p->oks = 0;
		p->fails = 0;
		return;
	}
	fatalx("host state for route %u server %u, which is not checked",
	    hs.route, hs.host);
}

static void
check_priv_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	(void)arg;
	if (m == NULL) {
		chan_free(ch);
		fatalx("lost the parent process");
	}
	if (m->fd == -1 && m->hdr.type == MSG_HOST_STATE &&
	    m->len == sizeof(struct msg_host_state)) {
		check_host_state(m->data);
		return;
	}
	if (m->fd != -1 || m->hdr.type != MSG_VERBOSE || m->len != sizeof(int))
		fatalx("unexpected message %u from the parent", m->hdr.type);
	log_setverbose(*(const int *)m->data);
}

static void
check_quit(int sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	(void)arg;
	event_base_loopbreak(ck.base);
}

/* Does any route of this configuration ask for checks? */
int
check_wanted(const struct config *conf)
{
	unsigned int	 r;

	for (r = 0; r < conf->nroutes; r++)
		if (conf->routes[r]->check.type != CHECK_NONE)
			return (1);
	return (0);
}

/* The check process connects, talks a little, and closes. */
const int check_syscalls[] = {
	SYSCALLS_COMMON,
	SYS_getsockopt, SYS_setsockopt, SYS_shutdown, -1
};

void
check_init(struct event_base *base, struct chan *priv, void *arg)
{
	struct child_ctx	*ctx = arg;
	struct config		*conf = ctx->conf;
	struct probe_state	*p;
	const struct rule	*r;
	struct event		*ev_term, *ev_int;
	unsigned int		 i;
	size_t			 h;

	memset(&ck, 0, sizeof(ck));
	ck.base = base;
	ck.conf = conf;
	ck.priv = priv;
	chan_set_cb(priv, check_priv_msg, NULL);
	if ((ck.tlscfg = tls_config_new()) == NULL)
		fatal("%s", __func__);
	/* A check asks whether TLS is spoken, not whom to trust. */
	tls_config_insecure_noverifycert(ck.tlscfg);
	tls_config_insecure_noverifyname(ck.tlscfg);
	for (i = 0; i < conf->nroutes; i++) {
		r = conf->routes[i];
		if (r->check.type == CHECK_NONE)
			continue;
		for (h = 0; h < r->table->nhosts; h++) {
			if ((p = calloc(1, sizeof(*p))) == NULL ||
			    (p->ev_io = event_new(base, -1, 0, NULL,
			    NULL)) == NULL ||
			    (p->ev_timer = evtimer_new(base, probe_start,
			    p)) == NULL)
				fatal("%s", __func__);
			if ((ck.probes = reallocarray(ck.probes,
			    ck.nprobes + 1, sizeof(*ck.probes))) == NULL)
				fatal("%s", __func__);
			ck.probes[ck.nprobes++] = p;
			p->rule = r;
			p->host = h;
			p->up = 1;
			p->fd = -1;
			log_debug("check %s for route %s server %zu",
			    check_name(&r->check), r->table->name, h);
			probe_start(-1, 0, p);
		}
	}
	ev_term = evsignal_new(base, SIGTERM, check_quit, NULL);
	ev_int = evsignal_new(base, SIGINT, check_quit, NULL);
	if (ev_term == NULL || ev_int == NULL)
		fatal("%s", __func__);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
}
