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

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "connlog.h"
#include "log.h"
#include "msg.h"
#include "proxyproto.h"
#include "quic.h"
#include "sniproxyd.h"
#include "syscalls.h"
#include "relay.h"

/*
 * An accept process that hands this worker connections, and is told
 * when they end so that it can count them against its limits.  The
 * ends of one pass of the event loop go in one message.
 */
#define ORIGIN_ENDS	256

struct origin {
	struct chan		*chan;
	uint64_t		 ends[ORIGIN_ENDS];
	size_t			 nends;
	TAILQ_ENTRY(origin)	 entry;
};

struct worker	 wk;

static void	conn_connected(struct conn *, short);
static void	conn_ready(int, short, void *);
static void	worker_stats(struct chan *, uint64_t);
static void	origins_flush(int, short, void *);

static void
origin_flush(struct origin *o)
{
	if (o->nends == 0)
		return;
	chan_send(o->chan, MSG_CONN_END, 0, -1, o->ends,
	    o->nends * sizeof(o->ends[0]));
	o->nends = 0;
}

/* Sent once the other callbacks of this pass of the event loop ran. */
static void
origin_ended(struct origin *o, uint64_t id)
{
	if (o->nends == ORIGIN_ENDS)
		origin_flush(o);
	o->ends[o->nends++] = id;
	event_active(wk.ev_ends, 0, 0);
}

static void
origins_flush(int fd, short events, void *arg)
{
	struct origin	*o;

	(void)fd;
	(void)events;
	(void)arg;
	TAILQ_FOREACH(o, &wk.origins, entry)
		origin_flush(o);
}

static void
dir_close(struct dir *d)
{
	if (d->pipe[0] != -1) {
		close(d->pipe[0]);
		close(d->pipe[1]);
	}
	free(d->buf);
}

/*
 * Quitting, a worker goes with its last connection; draining, it also
 * waits for the accept process of its generation to be gone, as that
 * may still hand it connections.
 */
static void
worker_done_check(void)
{
	if (!TAILQ_EMPTY(&wk.conns))
		return;
	if (wk.draining && TAILQ_EMPTY(&wk.origins)) {
		worker_stats(wk.priv, 0);
		event_base_loopbreak(wk.base);
	} else if (wk.quitting) {
		origins_flush(-1, 0, NULL);
		event_base_loopbreak(wk.base);
	}
}

void
conn_end(struct conn *c, const char *reason)
{
	char	 session[128];

	wk.up += c->up.bytes;
	wk.down += c->down.bytes;
	/* A client that resets its own connection is no fault of the route. */
	if (strcmp(reason, "eof") != 0 && strcmp(reason, "idle") != 0 &&
	    strcmp(reason, "shutdown") != 0 &&
	    !(c->client_gone && strcmp(reason, "reset") == 0))
		wk.errors++;
	connlog_session(wk.conf, &c->mc,
	    tls_relay_agreed(c, session, sizeof(session)),
	    c->connected ? c->backend : NULL, c->up.bytes, c->down.bytes,
	    reason);
	dir_close(&c->up);
	dir_close(&c->down);
	free(c->dgrams);
	tls_relay_free(c);
	if (c->ev_connect != NULL)
		event_free(c->ev_connect);
	if (c->ev_client != NULL)
		event_free(c->ev_client);
	if (c->ev_client_out != NULL)
		event_free(c->ev_client_out);
	if (c->ev_backend != NULL)
		event_free(c->ev_backend);
	if (c->ev_idle != NULL)
		event_free(c->ev_idle);
	if (c->cfd != -1)
		close(c->cfd);
	if (c->bfd != -1)
		close(c->bfd);
	if (c->origin != NULL)
		origin_ended(c->origin, c->id);
	if (c->connected)
		wk.bal.active[c->hostidx]--;
	TAILQ_REMOVE(&wk.conns, c, entry);
	free(c->order);
	free(c);
	worker_done_check();
}

void
timeval_ms(struct timeval *tv, int64_t ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/*
 * The idle timer is not pushed back on every transfer, which would cost
 * a timer operation per read; it fires, looks at when bytes last moved,
 * and sleeps again for the rest.
 */
static void
conn_idle(int fd, short events, void *arg)
{
	struct conn	*c = arg;
	struct timeval	 tv;
	int64_t		 left;

	(void)fd;
	(void)events;
	left = c->last_ms + c->rule->timeout.idle - now_ms();
	if (left <= 0) {
		conn_end(c, "idle");
		return;
	}
	timeval_ms(&tv, left);
	evtimer_add(c->ev_idle, &tv);
}

void
conn_touch(struct conn *c)
{
	struct timeval	 tv;

	if (event_base_gettimeofday_cached(wk.base, &tv) == 0)
		c->last_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	else
		c->last_ms = now_ms();
}

static void
dir_init(struct conn *c, struct dir *d, int src, int dst)
{
	d->conn = c;
	d->src = src;
	d->dst = dst;
	d->pipe[0] = d->pipe[1] = -1;
	d->writable = 1;
}

/*
 * A direction starts by copying through the worker's scratch buffer:
 * for the few bytes of a short exchange, read and write cost less than
 * a pipe and two splices.  Past SPLICE_AFTER bytes it moves to a pipe,
 * and the bytes no longer enter this process.  A copy that the
 * destination would not take whole waits in a buffer of its own.
 */
static uint8_t	 scratch[COPYBUF];

static void
dir_maybe_splice(struct dir *d)
{
	if (d->pipe[0] != -1 || d->pending > 0 || d->bytes < SPLICE_AFTER ||
	    d->nosplice)
		return;
	if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		d->pipe[0] = d->pipe[1] = -1;
		d->nosplice = 1;
	}
}

static void
dir_to_copy(struct dir *d)
{
	close(d->pipe[0]);
	close(d->pipe[1]);
	d->pipe[0] = d->pipe[1] = -1;
	d->nosplice = 1;
}

/* Returns bytes read, 0 at EOF, -1 for "try later", -2 on error. */
static ssize_t
dir_fill(struct dir *d)
{
	ssize_t	 n;

	dir_maybe_splice(d);
	if (d->pipe[0] != -1) {
		n = splice(d->src, NULL, d->pipe[1], NULL, PIPE_CAP,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINVAL && d->pending == 0) {
			dir_to_copy(d);
			return (dir_fill(d));
		}
	} else
		n = read(d->src, scratch, sizeof(scratch));
	if (n == -1) {
		if (errno == EAGAIN)
			d->readable = 0;
		return ((errno == EAGAIN || errno == EINTR) ? -1 : -2);
	}
	/*
	 * A short copy emptied the socket: until the next edge another
	 * read would get EAGAIN, or 0 once the peer's FIN is in.  A
	 * splice may stop short for want of pipe slots, and tells nothing.
	 */
	if (n > 0 && d->pipe[0] == -1 && (size_t)n < sizeof(scratch)) {
		d->readable = 0;
		d->eof = d->hup;
	}
	d->off = 0;
	d->pending = n;
	d->bytes += n;
	return (n);
}

/*
 * Returns 0 when everything went out, 1 when dst is full, -1 on error.
 * What stays of a copy is moved out of the scratch buffer.  A short
 * send means a full socket, and the next would get EAGAIN.
 */
static int
dir_drain(struct dir *d)
{
	const uint8_t	*from = d->buf != NULL ? d->buf : scratch;
	ssize_t		 n;

	while (d->pending > 0) {
		if (d->pipe[0] != -1)
			n = splice(d->pipe[0], NULL, d->dst, NULL, d->pending,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		else
			n = send(d->dst, from + d->off, d->pending,
			    MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return (-1);
		if (n > 0) {
			d->pending -= n;
			d->off += n;
		}
		if (d->pending == 0 || (n == -1 && errno == EINTR) ||
		    (n > 0 && d->pipe[0] != -1))
			continue;
		d->writable = 0;
		if (d->pipe[0] == -1 && d->buf == NULL) {
			if ((d->buf = malloc(d->pending)) == NULL)
				return (-1);
			memcpy(d->buf, scratch + d->off, d->pending);
			d->off = 0;
		}
		return (1);
	}
	free(d->buf);
	d->buf = NULL;
	return (0);
}

/* Returns -1 once the connection is gone. */
static int
dir_finish(struct dir *d)
{
	struct conn	*c = d->conn;
	struct dir	*other = d == &c->up ? &c->down : &c->up;

	/*
	 * The last direction to end needs no shutdown: both sides have
	 * read to the end, and the close that follows sends the FIN.
	 */
	if (other->shut) {
		conn_end(c, "eof");
		return (-1);
	}
	shutdown(d->dst, SHUT_WR);
	d->shut = 1;
	return (0);
}

/*
 * The client's socket is watched for writing once a write came short,
 * and from then on: most connections never fill it, and a socket
 * watched for writing from the start would wake the loop at once for
 * nothing.  The backend's is, since its connect.
 */
static int
dir_want_out(struct dir *d)
{
	struct conn	*c = d->conn;

	if (d->dst != c->cfd || c->ev_client_out != NULL)
		return (0);
	if ((c->ev_client_out = event_new(wk.base, c->cfd, EV_WRITE | EV_ET |
	    EV_PERSIST, conn_ready, c)) == NULL ||
	    event_add(c->ev_client_out, NULL) == -1) {
		conn_end(c, "reset");
		return (-1);
	}
	return (0);
}

/* Moves what it can; returns -1 once the connection is gone. */
static int
dir_pump(struct dir *d)
{
	struct conn	*c = d->conn;
	ssize_t		 n;
	int		 i, rv;

	if (d->shut)
		return (0);
	for (i = 0;; i++) {
		if (d->pending > 0) {
			if (!d->writable)
				return (0);
			if ((rv = dir_drain(d)) == -1) {
				conn_end(c, "reset");
				return (-1);
			}
			if (rv == 1)
				return (dir_want_out(d));
			conn_touch(c);
		}
		if (d->eof)
			return (dir_finish(d));
		/*
		 * Bounded, so that one fast connection cannot starve the
		 * rest; never right after a copy, which scratch holds only
		 * until the next pump of any connection.
		 */
		if (i == 16)
			break;
		if (!d->readable)
			return (0);
		if ((n = dir_fill(d)) == -1)
			return (0);
		if (n == -2) {
			c->client_gone = d->src == c->cfd;
			conn_end(c, "reset");
			return (-1);
		}
		if (n == 0) {
			d->eof = 1;
			return (dir_finish(d));
		}
		conn_touch(c);
	}
	/* Bytes may be left that no edge will announce: next pass. */
	event_active(d->src == c->cfd ? c->ev_client : c->ev_backend,
	    EV_READ, 0);
	return (0);
}

/* Either socket of a relayed connection: note what it said, and move. */
static void
conn_ready(int fd, short events, void *arg)
{
	struct conn	*c = arg;
	struct dir	*in, *out;

	if (!c->connected) {
		conn_connected(c, events);
		return;
	}
	if (fd == c->cfd) {
		in = &c->up;
		out = &c->down;
	} else {
		in = &c->down;
		out = &c->up;
	}
	if (events & EV_READ)
		in->readable = 1;
	if (events & EV_CLOSED)
		in->hup = 1;
	if (events & EV_WRITE)
		out->writable = 1;
	if (dir_pump(&c->up) == 0)
		(void)dir_pump(&c->down);
}

/*
 * A QUIC flow is relayed a datagram at a time, each whole or not at
 * all: one that the other socket cannot take now is lost, as on any
 * full path, and the peers' QUIC sends it again.  An error is the ICMP
 * answer of a peer that is gone.
 */
static uint8_t	 dgram[QUIC_DGRAM_MAX];

/*
 * Until the server has answered, the first datagrams are kept: a server
 * whose port is closed answers them with an ICMP error, which is all
 * that a failed connect is for UDP, and the flow goes on to the next
 * server as a TCP connection would, the Initial replayed there.
 */
static int
quic_refused(struct conn *c, int fd, int err)
{
	struct dir	*d;

	if (fd != c->bfd || c->dgrams == NULL || (err != ECONNREFUSED &&
	    err != EHOSTUNREACH && err != ENETUNREACH))
		return (0);
	log_debug("%s: connect: %s", c->backend, strerror(err));
	event_free(c->ev_client);
	event_free(c->ev_backend);
	c->ev_client = c->ev_backend = NULL;
	for (d = &c->up; d != NULL; d = d == &c->up ? &c->down : NULL)
		d->bytes = 0;
	event_free(c->ev_idle);
	c->ev_idle = NULL;
	/* A refused connect is never counted as one to its server. */
	c->connected = 0;
	wk.bal.active[c->hostidx]--;
	wk.bal.total[c->hostidx]--;
	close(c->bfd);
	c->bfd = -1;
	conn_connect_next(c);
	return (1);
}

static void
quic_readable(int fd, short events, void *arg)
{
	struct dir	*d = arg;
	struct conn	*c = d->conn;
	ssize_t		 n;
	int		 i;

	(void)events;
	for (i = 0; i < 16; i++) {
		if ((n = recv(fd, dgram, sizeof(dgram), 0)) == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    quic_refused(c, fd, errno))
				return;
			c->client_gone = fd == c->cfd;
			conn_end(c, "reset");
			return;
		}
		if (fd == c->bfd && c->dgrams != NULL) {
			free(c->dgrams);
			c->dgrams = NULL;
		}
		conn_touch(c);
		if (send(d->dst, dgram, n, 0) == -1) {
			if (errno == EAGAIN || errno == ENOBUFS ||
			    errno == EINTR)
				continue;
			if (quic_refused(c, d->dst, errno))
				return;
			c->client_gone = d->dst == c->cfd;
			conn_end(c, "reset");
			return;
		}
		d->bytes += n;
	}
}

/* The client's first datagrams, as the accept process took them. */
static void
quic_relay(struct conn *c)
{
	struct dir	*d;
	size_t		 off = 0;
	uint16_t	 n;

	while (off < c->dgramlen) {
		memcpy(&n, c->dgrams + off, sizeof(n));
		off += sizeof(n);
		if (send(c->bfd, c->dgrams + off, n, 0) == -1) {
			if (quic_refused(c, c->bfd, errno))
				return;
			log_debug("%s: send: %s", c->backend, strerror(errno));
			conn_end(c, "connect-failed");
			return;
		}
		c->up.bytes += n;
		off += n;
	}
	for (d = &c->up; d != NULL; d = d == &c->up ? &c->down : NULL) {
		d->conn = c;
		d->src = d == &c->up ? c->cfd : c->bfd;
		d->dst = d == &c->up ? c->bfd : c->cfd;
	}
	/*
	 * Datagrams need no pipe nor buffer: one event a socket, in place
	 * of the one that saw the connect.
	 */
	if (c->ev_backend != NULL)
		event_free(c->ev_backend);
	if ((c->ev_client = event_new(wk.base, c->cfd, EV_READ | EV_PERSIST,
	    quic_readable, &c->up)) == NULL ||
	    (c->ev_backend = event_new(wk.base, c->bfd, EV_READ | EV_PERSIST,
	    quic_readable, &c->down)) == NULL) {
		conn_end(c, "reset");
		return;
	}
	event_add(c->ev_client, NULL);
	event_add(c->ev_backend, NULL);
}

/*
 * The PROXY header goes out first, on the bare TCP connection even when
 * TLS to the backend follows, as HAProxy's send-proxy does.  What a
 * terminated session negotiated is known by now: the client's
 * handshake comes before the backend is reached.
 */
static int
conn_send_proxy(struct conn *c)
{
	uint8_t			 buf[PROXY_HDR_MAXLEN];
	struct proxy_tlv_ssl	 ssl;
	const char		*authority = NULL, *alpn = NULL;
	const struct sockaddr	*src, *dst;
	ssize_t			 n;

	src = (const struct sockaddr *)&c->mc.client;
	dst = (const struct sockaddr *)&c->mc.local;
	memset(&ssl, 0, sizeof(ssl));
	if (c->rule->terminate)
		tls_relay_session(c, &ssl, &alpn);
	if (c->mc.class == CLASS_TLS && c->mc.name[0] != '\0')
		authority = c->mc.name;
	if (c->rule->send_proxy == 1)
		n = proxy_build_v1(src, dst, (char *)buf, sizeof(buf));
	else
		n = proxy_build_v2(src, dst, authority, alpn,
		    ssl.present ? &ssl : NULL, buf, sizeof(buf));
	if (n <= 0 || send(c->bfd, buf, n, MSG_NOSIGNAL) != n)
		return (-1);
	return (0);
}

static void
conn_relay(struct conn *c, short events)
{
	struct timeval	 tv;
	int		 one = 1;

	c->connected = 1;
	wk.bal.active[c->hostidx]++;
	wk.bal.total[c->hostidx]++;
	if ((c->ev_idle = evtimer_new(wk.base, conn_idle, c)) == NULL) {
		conn_end(c, "reset");
		return;
	}
	conn_touch(c);
	timeval_ms(&tv, c->rule->timeout.idle);
	evtimer_add(c->ev_idle, &tv);
	if (c->mc.quic != 0) {
		quic_relay(c);
		return;
	}
	/* The client's socket has it from its listener. */
	setsockopt(c->bfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->rule->send_proxy && conn_send_proxy(c) == -1) {
		log_warn("%s: PROXY header", c->backend);
		conn_end(c, "reset");
		return;
	}
	if (c->rule->terminate || c->rule->backend_tls) {
		/* libtls has events of its own, level-triggered. */
		event_free(c->ev_backend);
		c->ev_backend = NULL;
		tls_relay_connected(c);
		return;
	}
	dir_init(c, &c->up, c->cfd, c->bfd);
	dir_init(c, &c->down, c->bfd, c->cfd);
	/* Unless accept waited in vain, the client's first bytes are in. */
	c->up.readable = c->mc.class != CLASS_TIMEOUT;
	c->down.readable = (events & EV_READ) != 0;
	c->down.hup = (events & EV_CLOSED) != 0;
	if ((c->ev_client = event_new(wk.base, c->cfd, EV_READ | EV_CLOSED |
	    EV_ET | EV_PERSIST, conn_ready, c)) == NULL) {
		conn_end(c, "reset");
		return;
	}
	/*
	 * Registered once the first bytes are read: on an empty socket
	 * the registration itself raises no event.
	 */
	if (dir_pump(&c->up) == -1)
		return;
	if (event_add(c->ev_client, NULL) == -1) {
		conn_end(c, "reset");
		return;
	}
	(void)dir_pump(&c->down);
}

static void
conn_connect_failed(struct conn *c, int err)
{
	if (err != ETIMEDOUT)
		log_debug("%s: connect: %s", c->backend, strerror(err));
	event_free(c->ev_backend);
	c->ev_backend = NULL;
	close(c->bfd);
	c->bfd = -1;
	conn_connect_next(c);
}

/*
 * The first event of the backend's socket: writable alone, it is
 * connected, with no SO_ERROR to ask.  A failed connect raises a read
 * event too, and a read tells its error; peeked, so that what a server
 * that speaks first sent stays for the relay.
 */
static void
conn_connected(struct conn *c, short events)
{
	uint8_t	 b;

	evtimer_del(c->ev_connect);
	if ((events & EV_READ) && recv(c->bfd, &b, 1, MSG_PEEK) == -1 &&
	    errno != EAGAIN && errno != EINTR) {
		conn_connect_failed(c, errno);
		return;
	}
	conn_relay(c, events);
}

static void
conn_connect_expired(int fd, short events, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)events;
	c->timedout = 1;
	log_debug("%s: connect timed out", c->backend);
	conn_connect_failed(c, ETIMEDOUT);
}

/*
 * Lets the socket take an address that is not this host's: the
 * client's, with source client.  The replies come back only where the
 * host routes them to itself (sniproxyd.conf(5)).
 */
static int
sock_transparent(int fd, sa_family_t af)
{
	int	 one = 1;

	if (af == AF_INET)
		return (setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one,
		    sizeof(one)));
	return (setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one,
	    sizeof(one)));
}

/*
 * The address the server sees the connection come from.  The port is
 * left for connect(2) to choose (IP_BIND_ADDRESS_NO_PORT): bind(2)
 * would take a port of the address for good, whatever the server, and
 * the ports would run out long before the 4-tuples do.  With source
 * client the client's port is not kept either: one client may reach
 * the same server through two listeners from one port.
 */
static int
conn_bind_source(struct conn *c, const struct sockaddr_storage *dst)
{
	struct sockaddr_storage	 src;
	char			 addr[ADDRSTR_LEN];
	int			 one = 1;

	if (c->rule->transparent)
		src = c->mc.client;
	else if (c->rule->source.ss_family != AF_UNSPEC)
		src = c->rule->source;
	else
		return (0);
	if (src.ss_family == AF_INET)
		((struct sockaddr_in *)&src)->sin_port = 0;
	else if (src.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&src)->sin6_port = 0;
	addr_str((const struct sockaddr *)&src, addr, sizeof(addr));
	/*
	 * The configuration is checked for source ADDRESS; with source
	 * client, only the connection tells.
	 */
	if (src.ss_family != dst->ss_family) {
		log_warnx("%s: source %s is of another family", c->backend,
		    addr);
		return (-1);
	}
	if (c->rule->transparent &&
	    sock_transparent(c->bfd, src.ss_family) == -1) {
		log_warn("%s: source client: transparent socket", c->backend);
		return (-1);
	}
	if (setsockopt(c->bfd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one)) == -1 || bind(c->bfd, (const struct sockaddr *)&src,
	    sockaddr_len(&src)) == -1) {
		log_warn("%s: source %s", c->backend, addr);
		return (-1);
	}
	return (0);
}

/*
 * Returns 0 once connecting, -1 when the server cannot be reached, -2
 * when this process cannot make a socket: no other server would do
 * better, and the servers are not to blame.
 */
static int
conn_connect_host(struct conn *c, const struct host *h)
{
	struct sockaddr_storage	 ss = h->ss;
	struct timeval		 tv;

	if (c->rule->port != 0) {
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port =
			    htons(c->rule->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port =
			    htons(c->rule->port);
	}
	addr_str((struct sockaddr *)&ss, c->backend, sizeof(c->backend));
	c->bfd = socket(ss.ss_family, (c->mc.quic != 0 ? SOCK_DGRAM :
	    SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->bfd == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			return (-2);
		return (-1);
	}
	if (conn_bind_source(c, &ss) == -1) {
		close(c->bfd);
		c->bfd = -1;
		return (-1);
	}
	if (connect(c->bfd, (struct sockaddr *)&ss, h->sslen) == -1 &&
	    errno != EINPROGRESS) {
		log_debug("%s: connect: %s", c->backend, strerror(errno));
		close(c->bfd);
		c->bfd = -1;
		return (-1);
	}
	/*
	 * Watched from now on, edge-triggered: the connect's end is the
	 * first event, and the same registration serves the relay.
	 */
	if ((c->ev_connect == NULL && (c->ev_connect = evtimer_new(wk.base,
	    conn_connect_expired, c)) == NULL) ||
	    (c->ev_backend = event_new(wk.base, c->bfd, EV_READ | EV_WRITE |
	    EV_CLOSED | EV_ET | EV_PERSIST, conn_ready, c)) == NULL ||
	    event_add(c->ev_backend, NULL) == -1)
		fatal("%s: event", __func__);
	timeval_ms(&tv, c->rule->timeout.connect);
	evtimer_add(c->ev_connect, &tv);
	return (0);
}

/* Tries the servers the balancer chose, in its order, each once. */
void
conn_connect_next(struct conn *c)
{
	const struct table	*t = c->rule->table;

	if (c->order == NULL) {
		if ((c->order = calloc(t->nhosts, sizeof(*c->order))) ==
		    NULL) {
			conn_end(c, "reset");
			return;
		}
		c->norder = balance_order(&wk.bal, t, c->rule->mode,
		    (struct sockaddr *)&c->mc.client, c->order);
		if (c->norder == 0) {
			log_warnx("table <%s>: every server is down", t->name);
			conn_end(c, "no-server");
			return;
		}
	}
	while (c->tried < c->norder) {
		c->hostidx = c->order[c->tried++];
		switch (conn_connect_host(c, &t->hosts[c->hostidx])) {
		case 0:
			return;
		case -2:
			log_warn("table <%s>: socket", t->name);
			conn_end(c, "resources");
			return;
		}
	}
	log_warnx("table <%s>: no server answered", t->name);
	conn_end(c, c->timedout ? "connect-timeout" : "connect-failed");
}

/*
 * The datagrams after a QUIC flow's msg_conn: one at least, none empty,
 * no more than the accept process may keep of a flow.
 */
static int
quic_dgrams_valid(const uint8_t *p, size_t len)
{
	size_t		 off = 0, count = 0;
	uint16_t	 n;

	if (len == 0 || len > QUIC_FLOW_BYTES + QUIC_FLOW_DGRAMS * sizeof(n))
		return (0);
	while (off < len) {
		if (len - off < sizeof(n) || ++count > QUIC_FLOW_DGRAMS)
			return (0);
		memcpy(&n, p + off, sizeof(n));
		off += sizeof(n);
		if (n == 0 || n > len - off)
			return (0);
		off += n;
	}
	return (1);
}

static void
worker_conn(struct origin *o, struct chan_msg *m)
{
	const struct msg_conn	*mc = m->data;
	const uint8_t		*extra = (const uint8_t *)m->data + sizeof(*mc);
	size_t			 extralen;
	struct conn		*c;

	extralen = m->len > sizeof(*mc) ? m->len - sizeof(*mc) : 0;
	/* The accept process faces the network: trust none of its text. */
	if ((m->fd == -1 && !m->fd_lost) || m->len < sizeof(c->mc) ||
	    memchr(mc->name, '\0', sizeof(mc->name)) == NULL ||
	    memchr(mc->alpn, '\0', sizeof(mc->alpn)) == NULL ||
	    (mc->quic == 0 && extralen != 0) ||
	    (mc->quic != 0 && (!wk.route->quic || mc->class != CLASS_QUIC ||
	    !quic_dgrams_valid(extra, extralen)))) {
		log_warnx("malformed connection message");
		if (m->fd != -1)
			close(m->fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s", __func__);
		close(m->fd);
		origin_ended(o, m->hdr.id);
		return;
	}
	memcpy(&c->mc, m->data, sizeof(c->mc));
	if (c->mc.quic != 0) {
		if ((c->dgrams = malloc(extralen)) == NULL) {
			log_warn("%s", __func__);
			free(c);
			close(m->fd);
			origin_ended(o, m->hdr.id);
			return;
		}
		memcpy(c->dgrams, extra, extralen);
		c->dgramlen = extralen;
	}
	c->id = m->hdr.id;
	c->origin = o;
	c->cfd = m->fd;
	c->bfd = -1;
	c->up.pipe[0] = c->up.pipe[1] = -1;
	c->down.pipe[0] = c->down.pipe[1] = -1;
	c->rule = wk.route;
	c->mc.rule = wk.route->id;
	c->start_ms = now_ms();
	wk.total++;
	TAILQ_INSERT_TAIL(&wk.conns, c, entry);
	if (m->fd_lost) {
		log_warnx("table <%s>: a connection's descriptor was lost: %s",
		    wk.route->table->name, strerror(EMFILE));
		conn_end(c, "resources");
		return;
	}
	/* A client that cannot finish its handshake costs no backend. */
	if (c->rule->terminate)
		tls_relay_start(c);
	else
		conn_connect_next(c);
}

static void
worker_origin_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	struct origin	*o = arg;
	struct conn	*c;

	if (m == NULL) {
		TAILQ_FOREACH(c, &wk.conns, entry)
			if (c->origin == o)
				c->origin = NULL;
		TAILQ_REMOVE(&wk.origins, o, entry);
		chan_free(ch);
		free(o);
		worker_done_check();
		return;
	}
	if (m->hdr.type == MSG_CONN && !wk.quitting)
		worker_conn(o, m);
	else if (m->fd != -1)
		close(m->fd);
}

static void
worker_host_state(const void *data, size_t len)
{
	struct msg_host_state	 hs;

	if (len != sizeof(hs))
		return;
	memcpy(&hs, data, sizeof(hs));
	if (hs.route == (uint32_t)wk.route->route && hs.host < wk.bal.n)
		wk.bal.up[hs.host] = hs.up != 0;
}

/* What sniproxyctl set for a server of this worker's table. */
static void
worker_host_admin(const void *data, size_t len)
{
	struct msg_host_admin	 ha;

	if (len != sizeof(ha))
		fatalx("malformed host admin message");
	memcpy(&ha, data, sizeof(ha));
	if (ha.route != (uint32_t)wk.route->route || ha.host >= wk.bal.n ||
	    ha.state >= HOST_ADMIN_COUNT)
		fatalx("host admin message out of range");
	wk.bal.admin[ha.host] = ha.state;
}

static void
worker_host_weight(const void *data, size_t len)
{
	struct msg_host_weight	 hw;

	if (len != sizeof(hw))
		fatalx("malformed host weight message");
	memcpy(&hw, data, sizeof(hw));
	if (hw.route != (uint32_t)wk.route->route || hw.host >= wk.bal.n ||
	    hw.weight < 1 || hw.weight > HOST_WEIGHT_MAX)
		fatalx("host weight message out of range");
	wk.bal.weight[hw.host] = hw.weight;
}

static void
worker_stats(struct chan *ch, uint64_t id)
{
	struct msg_stats	 st;
	struct msg_host_stats	 hs[BALANCE_MAX];
	uint8_t			 msg[sizeof(st) + sizeof(hs)];
	struct conn		*c;
	char			*buf, client[ADDRSTR_LEN];
	size_t			 len = 0, max = CHAN_MAXMSG - 64, i;
	int			 n;

	memset(&st, 0, sizeof(st));
	st.route = wk.route->route;
	st.nhosts = wk.bal.n;
	for (i = 0; i < wk.bal.n; i++) {
		hs[i].active = wk.bal.active[i];
		hs[i].total = wk.bal.total[i];
	}
	st.total = wk.total;
	st.errors = wk.errors;
	st.up = wk.up;
	st.down = wk.down;
	if ((buf = malloc(max)) == NULL)
		return;
	TAILQ_FOREACH(c, &wk.conns, entry) {
		st.active++;
		st.up += c->up.bytes;
		st.down += c->down.bytes;
		n = snprintf(buf + len, max - len, "%s route %s to %s "
		    "age %llds up %llu down %llu\n",
		    addr_str((struct sockaddr *)&c->mc.client, client,
		    sizeof(client)), wk.route->table->name,
		    c->backend[0] ? c->backend : "-",
		    (long long)(now_ms() - c->start_ms) / 1000,
		    (unsigned long long)c->up.bytes,
		    (unsigned long long)c->down.bytes);
		if (n < 0 || (size_t)n >= max - len)
			break;
		len += n;
	}
	/* The list first: the counters tell priv this worker is done. */
	chan_send(ch, MSG_CONNS, id, -1, buf, len);
	memcpy(msg, &st, sizeof(st));
	memcpy(msg + sizeof(st), hs, wk.bal.n * sizeof(hs[0]));
	chan_send(ch, MSG_STATS, id, -1, msg, sizeof(st) +
	    wk.bal.n * sizeof(hs[0]));
	free(buf);
}

/*
 * Keypairs come from the keys helper; the first full set makes the
 * worker ready for connections, a later one is a renewal.
 */
static void
worker_keys_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	(void)arg;
	if (m == NULL) {
		chan_free(ch);
		return;
	}
	if (m->fd != -1)
		fatalx("descriptor from the keys helper");
	switch (m->hdr.type) {
	case MSG_KEYPAIR:
		if (tls_worker_keypair(m->data, m->len) == -1)
			fatalx("bad keypair message");
		/* The key was in the message buffer: leave nothing. */
		explicit_bzero((void *)m->data, m->len);
		return;
	case MSG_TLS_READY:
		if (m->len != 0 || tls_worker_ready() == -1)
			fatalx("cannot set up TLS");
		if (!wk.ready) {
			wk.ready = 1;
			child_ready(wk.priv);
		}
		return;
	default:
		fatalx("unexpected message %u from the keys helper",
		    m->hdr.type);
	}
}

/* A message from priv that is not what priv sends ends this process. */
static void
worker_priv_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	struct origin	*o;
	struct chan	*kc;

	(void)arg;
	if (m == NULL) {
		chan_free(ch);
		fatalx("lost the parent process");
	}
	if (m->fd != -1 && m->hdr.type != MSG_ACCEPT_CHAN &&
	    m->hdr.type != MSG_KEYS_CHAN)
		fatalx("unexpected descriptor from the parent");
	switch (m->hdr.type) {
	case MSG_DRAIN:
		wk.draining = 1;
		worker_done_check();
		return;
	case MSG_HOST_STATE:
		worker_host_state(m->data, m->len);
		return;
	case MSG_HOST_ADMIN:
		worker_host_admin(m->data, m->len);
		return;
	case MSG_HOST_WEIGHT:
		worker_host_weight(m->data, m->len);
		return;
	case MSG_STATS_REQ:
		worker_stats(ch, m->hdr.id);
		return;
	case MSG_VERBOSE:
		if (m->len != sizeof(int))
			fatalx("malformed verbose message");
		log_setverbose(*(const int *)m->data);
		return;
	case MSG_KEYS_CHAN:
		if (m->fd == -1 || m->len != 0 || !wk.route->terminate)
			fatalx("malformed keys channel message");
		if ((kc = chan_new(wk.base, m->fd, MSG_VERSION,
		    worker_keys_msg, NULL)) == NULL)
			fatal("%s", __func__);
		return;
	case MSG_ACCEPT_CHAN:
		if (m->fd == -1 || m->len != 0)
			fatalx("malformed accept channel message");
		break;
	default:
		fatalx("unexpected message %u from the parent", m->hdr.type);
	}
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->chan = chan_new(wk.base, m->fd, MSG_VERSION,
	    worker_origin_msg, o)) == NULL)
		fatal("%s", __func__);
	TAILQ_INSERT_TAIL(&wk.origins, o, entry);
}

static void
worker_shutdown_expired(int fd, short events, void *arg)
{
	struct conn	*c;

	(void)fd;
	(void)events;
	(void)arg;
	while ((c = TAILQ_FIRST(&wk.conns)) != NULL)
		conn_end(c, "shutdown");
	event_base_loopbreak(wk.base);
}

/* Stop taking connections; those under way get the grace period. */
static void
worker_quit(int sig, short events, void *arg)
{
	struct timeval	 tv;

	(void)sig;
	(void)events;
	(void)arg;
	if (wk.quitting)
		return;
	wk.quitting = 1;
	if (TAILQ_EMPTY(&wk.conns)) {
		event_base_loopbreak(wk.base);
		return;
	}
	timeval_ms(&tv, wk.conf->shutdown_ms);
	evtimer_add(wk.ev_shutdown, &tv);
}

/*
 * A route worker connects to servers, from the source address the rule
 * names or the client's (bind), and moves bytes: through pipes with
 * splice(2), or through libtls.
 */
const int worker_syscalls[] = {
	SYSCALLS_COMMON,
	SYS_setsockopt, SYS_getsockname, SYS_shutdown,
	SYS_splice, SYS_pipe2, SYS_bind, -1
};

void
worker_init(struct event_base *base, struct chan *priv, void *arg)
{
	struct child_ctx	*ctx = arg;
	struct event		*ev_term, *ev_int;

	memset(&wk, 0, sizeof(wk));
	wk.base = base;
	wk.conf = ctx->conf;
	wk.route = ctx->conf->routes[ctx->route];
	TAILQ_INIT(&wk.conns);
	TAILQ_INIT(&wk.origins);
	if (balance_init(&wk.bal, wk.route->table) == -1)
		fatal("%s", __func__);
	wk.priv = priv;
	chan_set_cb(priv, worker_priv_msg, NULL);
	wk.ev_shutdown = evtimer_new(base, worker_shutdown_expired, NULL);
	wk.ev_ends = event_new(base, -1, 0, origins_flush, NULL);
	ev_term = evsignal_new(base, SIGTERM, worker_quit, NULL);
	ev_int = evsignal_new(base, SIGINT, worker_quit, NULL);
	if (wk.ev_shutdown == NULL || wk.ev_ends == NULL || ev_term == NULL ||
	    ev_int == NULL)
		fatal("%s: event_new", __func__);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	/* A terminating worker is ready once it has its keypairs. */
	if (wk.route->terminate)
		return;
	if (wk.route->backend_tls && tls_worker_ready() == -1)
		fatalx("cannot set up TLS");
	wk.ready = 1;
	child_ready(priv);
}
