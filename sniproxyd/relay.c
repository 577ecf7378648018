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
#include <sys/time.h>

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

#include "balance.h"
#include "chan.h"
#include "connlog.h"
#include "log.h"
#include "msg.h"
#include "proxyproto.h"
#include "quic.h"
#include "ring.h"
#include "sniproxyd.h"
#include "syscalls.h"
#include "relay.h"

/*
 * A connection's progress.  Terminating, the client's handshake comes
 * first: a client that cannot finish it costs no server.  Then the
 * servers are tried in turn; TLS to the server has its handshake; then
 * bytes (or a QUIC flow's datagrams) move both ways until both
 * directions have ended.
 */
enum conn_state {
	CONN_CLIENT_HANDSHAKE,
	CONN_CONNECTING,
	CONN_SERVER_HANDSHAKE,
	CONN_RELAY
};

/*
 * A direction of a relayed connection.  The first bytes are copied
 * (see dir_fill); past that, when both ends are plain sockets, they
 * move through a pipe with splice(2) and never enter this process.  An
 * idle direction holds no buffer.
 */
#define PIPE_CAP	(64 * 1024)
#define COPYBUF		(64 * 1024)	/* four TLS records a read */
#define SPLICE_AFTER	(64 * 1024)
#define DIR_ROUNDS	16
#define DIR_BYTES	(1024 * 1024)
#define PIPE_GROWN_CAP	(1024 * 1024)
#define PIPES_GROWN	8		/* a worker's grown pipes */

struct dir {
	struct end		*src;
	struct end		*dst;
	int			 pipe[2];
	size_t			 pipecap;	/* what the pipe holds */
	int			 pipegrown;
	uint8_t			*buf;
	size_t			 off;
	size_t			 pending;	/* in the pipe or buf */
	uint64_t		 bytes;
	int			 nosplice;
	int			 secret;	/* TLS plaintext: zeroed */
};

struct conn {
	uint64_t		 id;
	enum conn_state		 state;
	struct origin		*origin;	/* NULL once accept is gone */
	struct msg_conn		 mc;
	const struct rule	*rule;
	struct end		 client;
	struct end		 server;
	uint16_t		*order;		/* servers to try */
	size_t			 norder;
	size_t			 tried;
	int			 hostidx;	/* the one connected */
	int			 timedout;	/* a server did not answer */
	int			 proxied;	/* the PROXY header went */
	char			 backend[ADDRSTR_LEN];
	struct event		*ev_connect;	/* its deadline */
	struct event		*ev_handshake;	/* TLS handshakes' deadline */
	struct event		*ev_idle;
	int64_t			 last_ms;
	int64_t			 start_ms;
	struct dir		 up;		/* client to server */
	struct dir		 down;		/* server to client */
	uint8_t			*dgrams;	/* QUIC: until answered */
	size_t			 dgramlen;
	TAILQ_ENTRY(conn)	 entry;
};

struct worker {
	struct event_base	*base;
	struct chan		*priv;
	struct config		*conf;
	const struct rule	*route;
	int			 quitting;
	int			 draining;
	int			 ready;		/* told priv so */
	struct event		*ev_shutdown;
	struct event		*ev_ends;	/* sends MSG_CONN_END */
	struct balance		 bal;
	uint64_t		 total;		/* connections since start */
	uint64_t		 errors;
	uint64_t		 up;		/* bytes of ended connections */
	uint64_t		 down;
	TAILQ_HEAD(, conn)	 conns;
	TAILQ_HEAD(, origin)	 origins;
};

/*
 * An accept process that hands this worker connections, and is told
 * when they end so that it can count them against its limits.  The
 * ends of one pass of the event loop go in one message.
 */
#define ORIGIN_ENDS	256

struct origin {
	struct chan		*chan;
	struct ring		 ring;		/* see ENDS_RING */
	uint64_t		 ends[ORIGIN_ENDS];
	size_t			 nends;
	TAILQ_ENTRY(origin)	 entry;
};

static struct worker	 wk;

static int	conn_connect_next(struct conn *);
static void	conn_connect_done(struct conn *, short);
static void	end_ready(int, short, void *);
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

/*
 * Put in the ring the accept process reads when it needs to know, or
 * else sent once the other callbacks of this pass of the event loop
 * ran.
 */
static void
origin_ended(struct origin *o, uint64_t id)
{
	if (o->ring.sh != NULL && ring_put(&o->ring, id) == 0)
		return;
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

static int	 pipes_grown;

static void
dir_pipe_close(struct dir *d)
{
	close(d->pipe[0]);
	close(d->pipe[1]);
	d->pipe[0] = d->pipe[1] = -1;
	if (d->pipegrown)
		pipes_grown--;
	d->pipegrown = 0;
}

static void
dir_close(struct dir *d)
{
	if (d->pipe[0] != -1)
		dir_pipe_close(d);
	if (d->buf != NULL)
		freezero(d->buf, d->off + d->pending);
}

/* The transport lets go first, then the socket goes. */
static void
end_close(struct end *e)
{
	if (e->ops != NULL && e->ops->close != NULL)
		e->ops->close(e);
	if (e->ev != NULL)
		event_free(e->ev);
	if (e->ev_out != NULL)
		event_free(e->ev_out);
	if (e->fd != -1)
		close(e->fd);
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

/* Connected: counted as one of its server's, and logged with it. */
static int
conn_has_server(const struct conn *c)
{
	return (c->state >= CONN_SERVER_HANDSHAKE);
}

/*
 * Ends the connection.  client: the client reset it, which is no fault
 * of the route.
 */
static void
conn_close(struct conn *c, const char *reason, int client)
{
	char	 session[128];

	wk.up += c->up.bytes;
	wk.down += c->down.bytes;
	if (strcmp(reason, "eof") != 0 && strcmp(reason, "idle") != 0 &&
	    strcmp(reason, "shutdown") != 0 && !client)
		wk.errors++;
	connlog_session(wk.conf, &c->mc,
	    tls_end_agreed(&c->client, session, sizeof(session)),
	    conn_has_server(c) ? c->backend : NULL, c->up.bytes,
	    c->down.bytes, reason);
	dir_close(&c->up);
	dir_close(&c->down);
	free(c->dgrams);
	end_close(&c->client);
	end_close(&c->server);
	if (c->ev_connect != NULL)
		event_free(c->ev_connect);
	if (c->ev_handshake != NULL)
		event_free(c->ev_handshake);
	if (c->ev_idle != NULL)
		event_free(c->ev_idle);
	if (c->origin != NULL)
		origin_ended(c->origin, c->id);
	if (conn_has_server(c))
		wk.bal.active[c->hostidx]--;
	TAILQ_REMOVE(&wk.conns, c, entry);
	free(c->order);
	free(c);
	worker_done_check();
}

static void
conn_end(struct conn *c, const char *reason)
{
	conn_close(c, reason, 0);
}

/* An end's socket failed: reset, by the client or the server. */
static void
conn_reset(struct conn *c, const struct end *e)
{
	conn_close(c, "reset", e == &c->client);
}

static void
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

static void
conn_touch(struct conn *c)
{
	struct timeval	 tv;

	if (event_base_gettimeofday_cached(wk.base, &tv) == 0)
		c->last_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	else
		c->last_ms = now_ms();
}

/*
 * A direction starts by copying through the worker's scratch buffer:
 * for the few bytes of a short exchange, read and write cost less than
 * a pipe and two splices.  Past SPLICE_AFTER bytes, when both ends can
 * splice, it moves to a pipe, and the bytes no longer enter this
 * process.  A copy that the destination would not take whole waits in
 * a buffer of its own.  Scratch never keeps bytes past a dir_pump.
 */
static uint8_t	 scratch[COPYBUF];

static void
dir_init(struct dir *d)
{
	d->nosplice = d->src->ops->splice_in == NULL ||
	    d->dst->ops->splice_out == NULL;
	d->secret = d->nosplice;
}

/*
 * A long stream costs the worker about a third less time per byte
 * through a 1 MB pipe than through the default 64 KB one: each
 * splice moves more, and the TCP work per call is paid less often.
 * The kernel counts pipe pages per user and, past its soft limit,
 * gives new pipes two pages only, so a worker grows a few pipes and
 * leaves the rest at the default; the kernel may refuse even those.
 */
static void
dir_maybe_splice(struct dir *d)
{
	int	 n = -1;

	if (d->pipe[0] != -1 || d->pending > 0 || d->bytes < SPLICE_AFTER ||
	    d->nosplice)
		return;
	if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		d->pipe[0] = d->pipe[1] = -1;
		d->nosplice = 1;
		return;
	}
	if (pipes_grown < PIPES_GROWN &&
	    (n = fcntl(d->pipe[1], F_SETPIPE_SZ, PIPE_GROWN_CAP)) != -1) {
		d->pipegrown = 1;
		pipes_grown++;
	} else
		n = fcntl(d->pipe[1], F_GETPIPE_SZ);
	d->pipecap = n > 0 ? (size_t)n : PIPE_CAP;
}

static void
dir_to_copy(struct dir *d)
{
	dir_pipe_close(d);
	d->nosplice = 1;
}

/* Returns bytes read, 0 at EOF, -1 for "try later", -2 on error. */
static ssize_t
dir_fill(struct dir *d)
{
	struct end	*e = d->src;
	ssize_t		 n;

	dir_maybe_splice(d);
	if (d->pipe[0] != -1) {
		n = e->ops->splice_in(e, d->pipe[1], d->pipecap);
		if (n == -2 && errno == EINVAL) {
			dir_to_copy(d);
			return (dir_fill(d));
		}
	} else
		n = e->ops->read(e, scratch, sizeof(scratch));
	if (n <= 0)
		return (n);
	d->off = 0;
	d->pending = n;
	d->bytes += n;
	return (n);
}

/* Emptied: what it held may have been plaintext, so it goes zeroed. */
static void
dir_buf_release(struct dir *d)
{
	if (d->buf != NULL) {
		freezero(d->buf, d->off);
		d->buf = NULL;
	}
}

/* What stays of a copy is moved out of the scratch buffer. */
static int
dir_keep(struct dir *d)
{
	if (d->pipe[0] != -1 || d->buf != NULL)
		return (0);
	if ((d->buf = malloc(d->pending)) == NULL)
		return (-1);
	memcpy(d->buf, scratch + d->off, d->pending);
	d->off = 0;
	return (0);
}

/*
 * Returns 0 when everything went out, 1 when dst waits, -1 on error.
 * What stays of a copy is moved out of the scratch buffer.  A write
 * that moved bytes and left dst writable goes on (a splice stops short
 * for want of pipe slots, TLS at each record).
 */
static int
dir_drain(struct dir *d)
{
	struct end	*e = d->dst;
	const uint8_t	*from = d->buf != NULL ? d->buf : scratch;
	size_t		 used = d->off + d->pending;
	ssize_t		 n;
	int		 rv = 0;

	while (d->pending > 0) {
		if (d->pipe[0] != -1)
			n = e->ops->splice_out(e, d->pipe[0], d->pending);
		else
			n = e->ops->write(e, from + d->off, d->pending);
		if (n == -2) {
			rv = -1;
			break;
		}
		if (n > 0) {
			d->pending -= n;
			d->off += n;
		}
		if (d->pending == 0 || (n > 0 && e->writable))
			continue;
		rv = dir_keep(d) == -1 ? -1 : 1;
		break;
	}
	if (from == scratch && d->secret)
		explicit_bzero(scratch, used);
	if (rv == 0)
		dir_buf_release(d);
	return (rv);
}

/*
 * The last direction to end needs no shutdown(2): both sides have read
 * to the end, and the close that follows sends the FIN.  The other
 * direction ends in the same pass when its source is at EOF with
 * nothing in hand.  Returns -1 once the connection is gone.
 */
static int
dir_finish(struct dir *d)
{
	struct conn	*c = d->src->conn;
	struct dir	*other = d == &c->up ? &c->down : &c->up;

	d->dst->ops->shutdown(d->dst, other->src->eof && other->pending == 0);
	d->dst->shut = 1;
	if (other->dst->shut) {
		conn_end(c, "eof");
		return (-1);
	}
	return (0);
}

static int
end_readable(const struct end *e)
{
	return (e->readable || (e->ops->pending != NULL &&
	    e->ops->pending(e)));
}

/*
 * Moves what it can; returns -1 once the connection is gone.  Nothing
 * is read that dst could not take now: scratch holds no bytes between
 * passes.
 */
static int
dir_pump(struct dir *d)
{
	struct conn	*c = d->src->conn;
	size_t		 moved = 0;
	ssize_t		 n;
	int		 i, rv;

	if (d->dst->shut)
		return (0);
	for (i = 0;; i++) {
		if (d->pending > 0) {
			if (!d->dst->writable)
				return (0);
			if ((rv = dir_drain(d)) == -1) {
				conn_end(c, "reset");
				return (-1);
			}
			if (rv == 1)
				return (0);
			conn_touch(c);
		}
		if (d->src->eof)
			return (dir_finish(d));
		/*
		 * Bounded: one fast connection must not starve the rest.
		 * A grown pipe fills DIR_BYTES in one round.
		 */
		if (i == DIR_ROUNDS || moved >= DIR_BYTES)
			break;
		if (!end_readable(d->src) || !d->dst->writable)
			return (0);
		if ((n = dir_fill(d)) == -1)
			return (0);
		if (n == -2) {
			conn_reset(c, d->src);
			return (-1);
		}
		if (n == 0) {
			d->src->eof = 1;
			return (dir_finish(d));
		}
		moved += n;
		conn_touch(c);
	}
	/* Bytes may be left that no edge will announce: next pass. */
	event_active(d->src->ev, EV_READ, 0);
	return (0);
}

static const char *
client_str(const struct conn *c, char *buf, size_t len)
{
	return (addr_str((const struct sockaddr *)&c->mc.client, buf, len));
}

/* Every handshake is done: the relay has no deadline but idleness. */
static void
conn_relay_start(struct conn *c)
{
	if (c->ev_handshake != NULL) {
		event_free(c->ev_handshake);
		c->ev_handshake = NULL;
	}
	c->state = CONN_RELAY;
}

/* Returns 1 when done, 0 when waiting, -1 once the connection is gone. */
static int
conn_server_handshake(struct conn *c)
{
	char	 client[ADDRSTR_LEN];
	int	 rv;

	if ((rv = c->server.ops->handshake(&c->server)) == -1) {
		log_warnx("%s: TLS handshake with server %s failed: %s",
		    client_str(c, client, sizeof(client)), c->backend,
		    tls_end_error(&c->server));
		conn_end(c, "backend-tls-failed");
		return (-1);
	}
	if (rv == 0)
		return (0);
	conn_relay_start(c);
	return (1);
}

/* Returns -1 once the connection is gone. */
static int
conn_client_handshake(struct conn *c)
{
	char	 client[ADDRSTR_LEN];
	int	 rv;

	if ((rv = c->client.ops->handshake(&c->client)) == -1) {
		log_warnx("%s: TLS handshake failed: %s",
		    client_str(c, client, sizeof(client)),
		    tls_end_error(&c->client));
		conn_end(c, "handshake-failed");
		return (-1);
	}
	if (rv == 0)
		return (0);
	c->state = CONN_CONNECTING;
	return (conn_connect_next(c));
}

/* Moves the connection on as far as it goes; -1 once it is gone. */
static int
conn_run(struct conn *c)
{
	int	 rv;

	switch (c->state) {
	case CONN_CLIENT_HANDSHAKE:
		return (conn_client_handshake(c));
	case CONN_CONNECTING:
		return (0);
	case CONN_SERVER_HANDSHAKE:
		if ((rv = conn_server_handshake(c)) != 1)
			return (rv);
		break;
	case CONN_RELAY:
		break;
	}
	if (dir_pump(&c->up) == -1)
		return (-1);
	return (dir_pump(&c->down));
}

/*
 * A socket is watched for writing once a write came short, and from
 * then on: most connections never fill it, and a socket watched for
 * writing from the start would wake the loop at once for nothing.  A
 * server's that was still connecting is, since its connect.
 */
static int
end_watch_out(struct end *e)
{
	if (e->ev == NULL || e->writable || e->ev_out != NULL ||
	    (event_get_events(e->ev) & EV_WRITE))
		return (0);
	if ((e->ev_out = event_new(wk.base, e->fd, EV_WRITE | EV_ET |
	    EV_PERSIST, end_ready, e)) == NULL ||
	    event_add(e->ev_out, NULL) == -1)
		return (-1);
	return (0);
}

/* Returns -1 once the connection is gone. */
static int
conn_watch_out(struct conn *c)
{
	if (end_watch_out(&c->client) == -1 ||
	    end_watch_out(&c->server) == -1) {
		conn_end(c, "reset");
		return (-1);
	}
	return (0);
}

/*
 * The client's first pass, before its socket is registered: on an
 * empty socket the registration itself raises no event.  Returns -1
 * once the connection is gone.
 */
static int
conn_first_run(struct conn *c)
{
	if (conn_run(c) == -1)
		return (-1);
	if (event_add(c->client.ev, NULL) == -1) {
		conn_end(c, "reset");
		return (-1);
	}
	return (conn_watch_out(c));
}

/*
 * Either socket of a connection: note what it said, and move on.  The
 * server's first event ends its connect.
 */
static void
end_ready(int fd, short events, void *arg)
{
	struct end	*e = arg;
	struct conn	*c = e->conn;

	(void)fd;
	if (c->state == CONN_CONNECTING && e == &c->server) {
		conn_connect_done(c, events);
		return;
	}
	if (events & EV_READ)
		e->readable = 1;
	if (events & EV_CLOSED)
		e->hup = 1;
	if (events & EV_WRITE)
		e->writable = 1;
	if (conn_run(c) == 0)
		(void)conn_watch_out(c);
}

/*
 * Plain or TLS, each end is registered once, edge-triggered, and what
 * its calls said is kept in readable and writable.
 */
static int
end_open(struct conn *c, struct end *e, short events)
{
	e->conn = c;
	if ((e->ev = event_new(wk.base, e->fd, events | EV_ET | EV_PERSIST,
	    end_ready, e)) == NULL)
		return (-1);
	return (0);
}

static void
conn_handshake_expired(int fd, short events, void *arg)
{
	struct conn	*c = arg;
	char		 client[ADDRSTR_LEN];

	(void)fd;
	(void)events;
	log_warnx("%s: TLS handshake timed out",
	    client_str(c, client, sizeof(client)));
	conn_end(c, "handshake-timeout");
}

/*
 * The TLS handshakes' deadline: terminating, it also covers reaching
 * the server and its handshake.  Returns -1 once the connection is
 * gone.
 */
static int
conn_handshake_start(struct conn *c)
{
	struct timeval	 tv;

	if ((c->ev_handshake = evtimer_new(wk.base, conn_handshake_expired,
	    c)) == NULL) {
		conn_end(c, "reset");
		return (-1);
	}
	timeval_ms(&tv, c->rule->timeout.handshake);
	evtimer_add(c->ev_handshake, &tv);
	return (0);
}

/* Terminating: the client's handshake comes before the server. */
static void
conn_accept_tls(struct conn *c)
{
	c->state = CONN_CLIENT_HANDSHAKE;
	if (end_open(c, &c->client, EV_READ | EV_CLOSED) == -1) {
		conn_end(c, "reset");
		return;
	}
	/* The classifier only peeked: the ClientHello is in the socket. */
	c->client.readable = 1;
	if (conn_handshake_start(c) == -1)
		return;
	if (tls_end_accept(&c->client) == -1) {
		conn_end(c, "handshake-failed");
		return;
	}
	(void)conn_first_run(c);
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
	if (fd != c->server.fd || c->dgrams == NULL ||
	    (err != ECONNREFUSED && err != EHOSTUNREACH &&
	    err != ENETUNREACH))
		return (0);
	log_debug("%s: connect: %s", c->backend, strerror(err));
	/* Refused while replaying, the flow has no event for its client. */
	if (c->client.ev != NULL)
		event_free(c->client.ev);
	event_free(c->server.ev);
	c->client.ev = c->server.ev = NULL;
	c->up.bytes = c->down.bytes = 0;
	event_free(c->ev_idle);
	c->ev_idle = NULL;
	/* A refused connect is never counted as one to its server. */
	c->state = CONN_CONNECTING;
	wk.bal.active[c->hostidx]--;
	wk.bal.total[c->hostidx]--;
	close(c->server.fd);
	c->server.fd = -1;
	(void)conn_connect_next(c);
	return (1);
}

static void
quic_readable(int fd, short events, void *arg)
{
	struct dir	*d = arg;
	struct conn	*c = d->src->conn;
	ssize_t		 n;
	int		 i;

	(void)events;
	for (i = 0; i < 16; i++) {
		if ((n = recv(fd, dgram, sizeof(dgram), 0)) == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    quic_refused(c, fd, errno))
				return;
			conn_reset(c, d->src);
			return;
		}
		if (fd == c->server.fd && c->dgrams != NULL) {
			free(c->dgrams);
			c->dgrams = NULL;
		}
		conn_touch(c);
		if (send(d->dst->fd, dgram, n, 0) == -1) {
			if (errno == EAGAIN || errno == ENOBUFS ||
			    errno == EINTR)
				continue;
			if (quic_refused(c, d->dst->fd, errno))
				return;
			conn_reset(c, d->dst);
			return;
		}
		d->bytes += n;
	}
}

/* The client's first datagrams, as the accept process took them. */
static void
quic_relay(struct conn *c)
{
	size_t		 off = 0;
	uint16_t	 n;

	while (off < c->dgramlen) {
		memcpy(&n, c->dgrams + off, sizeof(n));
		off += sizeof(n);
		if (send(c->server.fd, c->dgrams + off, n, 0) == -1) {
			if (quic_refused(c, c->server.fd, errno))
				return;
			log_debug("%s: send: %s", c->backend, strerror(errno));
			conn_end(c, "connect-failed");
			return;
		}
		c->up.bytes += n;
		off += n;
	}
	/*
	 * Datagrams need no pipe nor buffer: one event a socket, in place
	 * of the one that saw the connect.
	 */
	if (c->server.ev != NULL)
		event_free(c->server.ev);
	if ((c->client.ev = event_new(wk.base, c->client.fd,
	    EV_READ | EV_PERSIST, quic_readable, &c->up)) == NULL ||
	    (c->server.ev = event_new(wk.base, c->server.fd,
	    EV_READ | EV_PERSIST, quic_readable, &c->down)) == NULL) {
		conn_end(c, "reset");
		return;
	}
	event_add(c->client.ev, NULL);
	event_add(c->server.ev, NULL);
}

/*
 * The PROXY header goes out first, on the bare TCP connection even when
 * TLS to the backend follows, as HAProxy's send-proxy does.  What a
 * terminated session negotiated is known by now: the client's
 * handshake comes before the backend is reached.  Returns 1 once sent,
 * 0 while the connect is still being made, -1 when it failed, -2 when
 * the header could not be made or went in part.
 */
static int
conn_send_proxy(struct conn *c)
{
	uint8_t			 buf[PROXY_HDR_MAXLEN];
	struct proxy_tlv_ssl	 ssl;
	const char		*authority = NULL, *alpn = NULL;
	const struct sockaddr	*src, *dst;
	ssize_t			 n, sent;

	src = (const struct sockaddr *)&c->mc.client;
	dst = (const struct sockaddr *)&c->mc.local;
	memset(&ssl, 0, sizeof(ssl));
	if (c->rule->terminate)
		tls_end_session(&c->client, &ssl, &alpn, c->mc.name,
		    sizeof(c->mc.name));
	if (c->mc.class == CLASS_TLS && c->mc.name[0] != '\0')
		authority = c->mc.name;
	if (c->rule->send_proxy == 1)
		n = proxy_build_v1(src, dst, (char *)buf, sizeof(buf));
	else
		n = proxy_build_v2(src, dst, authority, alpn,
		    ssl.present ? &ssl : NULL, buf, sizeof(buf));
	if (n <= 0) {
		errno = EINVAL;
		return (-2);
	}
	if ((sent = send(c->server.fd, buf, n, MSG_NOSIGNAL)) == -1)
		return (errno == EAGAIN ? 0 : -1);
	/* An empty socket takes a header whole. */
	if (sent != n) {
		errno = EMSGSIZE;
		return (-2);
	}
	c->proxied = 1;
	return (1);
}

/* TLS to the server, named as the client asked unless configured. */
static int
conn_server_tls(struct conn *c)
{
	const struct rule	*r = c->rule;
	const char		*name;

	name = r->tls.servername != NULL ? r->tls.servername :
	    c->mc.name[0] != '\0' ? c->mc.name : NULL;
	if (tls_end_connect(&c->server, name) == -1) {
		log_warnx("%s: TLS to server: %s", c->backend,
		    tls_end_error(&c->server));
		conn_end(c, "backend-tls-failed");
		return (-1);
	}
	if (c->ev_handshake == NULL)
		return (conn_handshake_start(c));
	return (0);
}

/*
 * Connected: what the server's socket said so far is in its end.
 * Returns -1 once the connection is gone.
 */
static int
conn_relay(struct conn *c)
{
	struct end	*e = &c->server;
	struct timeval	 tv;
	int		 one = 1;

	c->state = c->rule->backend_tls ? CONN_SERVER_HANDSHAKE : CONN_RELAY;
	wk.bal.active[c->hostidx]++;
	wk.bal.total[c->hostidx]++;
	if ((c->ev_idle = evtimer_new(wk.base, conn_idle, c)) == NULL) {
		conn_end(c, "reset");
		return (-1);
	}
	conn_touch(c);
	timeval_ms(&tv, c->rule->timeout.idle);
	evtimer_add(c->ev_idle, &tv);
	if (c->mc.quic != 0) {
		quic_relay(c);
		return (0);
	}
	/* The client's socket has it from its listener. */
	setsockopt(e->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->rule->send_proxy && !c->proxied && conn_send_proxy(c) != 1) {
		log_warn("%s: PROXY header", c->backend);
		conn_end(c, "reset");
		return (-1);
	}
	if (!c->rule->backend_tls)
		conn_relay_start(c);
	else if (conn_server_tls(c) == -1)
		return (-1);
	dir_init(&c->up);
	dir_init(&c->down);
	/* Terminating, the client's socket is watched since its handshake. */
	if (c->rule->terminate) {
		if (conn_run(c) == -1)
			return (-1);
		return (conn_watch_out(c));
	}
	if (end_open(c, &c->client, EV_READ | EV_CLOSED) == -1) {
		conn_end(c, "reset");
		return (-1);
	}
	return (conn_first_run(c));
}

static int
conn_connect_failed(struct conn *c, int err)
{
	if (err != ETIMEDOUT)
		log_debug("%s: connect: %s", c->backend, strerror(err));
	if (c->server.ev != NULL)
		event_free(c->server.ev);
	c->server.ev = NULL;
	close(c->server.fd);
	c->server.fd = -1;
	return (conn_connect_next(c));
}

/*
 * The first event of the server's socket: writable alone, it is
 * connected, with no SO_ERROR to ask.  A failed connect raises a read
 * event too, and a read tells its error; peeked, so that what a server
 * that speaks first sent stays for the relay.
 */
static void
conn_connect_done(struct conn *c, short events)
{
	struct end	*e = &c->server;
	uint8_t		 b;

	evtimer_del(c->ev_connect);
	if ((events & EV_READ) && recv(e->fd, &b, 1, MSG_PEEK) == -1 &&
	    errno != EAGAIN && errno != EINTR) {
		(void)conn_connect_failed(c, errno);
		return;
	}
	/* What the connect's event said is all the socket will say. */
	e->readable = (events & EV_READ) != 0;
	e->hup = (events & EV_CLOSED) != 0;
	e->writable = 1;
	(void)conn_relay(c);
}

static void
conn_connect_expired(int fd, short events, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)events;
	c->timedout = 1;
	log_debug("%s: connect timed out", c->backend);
	(void)conn_connect_failed(c, ETIMEDOUT);
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
	    sock_transparent(c->server.fd, src.ss_family) == -1) {
		log_warn("%s: source client: transparent socket", c->backend);
		return (-1);
	}
	if (setsockopt(c->server.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one)) == -1 || bind(c->server.fd,
	    (const struct sockaddr *)&src, sockaddr_len(&src)) == -1) {
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

	if (c->rule->port != 0) {
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port =
			    htons(c->rule->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port =
			    htons(c->rule->port);
	}
	addr_str((struct sockaddr *)&ss, c->backend, sizeof(c->backend));
	c->server.fd = socket(ss.ss_family, (c->mc.quic != 0 ? SOCK_DGRAM :
	    SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->server.fd == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			return (-2);
		return (-1);
	}
	if (conn_bind_source(c, &ss) == -1) {
		close(c->server.fd);
		c->server.fd = -1;
		return (-1);
	}
	if (connect(c->server.fd, (struct sockaddr *)&ss, h->sslen) == -1 &&
	    errno != EINPROGRESS) {
		log_debug("%s: connect: %s", c->backend, strerror(errno));
		close(c->server.fd);
		c->server.fd = -1;
		return (-1);
	}
	return (0);
}

/*
 * The first bytes for the server go as soon as connect(2) returns: a
 * near server has often answered by then, and the send saves the
 * wake-up for the connect's end.  EAGAIN says it is still being made;
 * another error is the connect's own, and what could not go waits in
 * the direction's buffer for the next server.  The first bytes are the
 * PROXY header, or else the client's as the classifier saw them; with
 * TLS to the server the handshake is left to the relay.  Returns 1 when
 * connected, 0 while connecting, -1 when refused, -2 once the
 * connection is gone.
 */
static int
conn_send_first(struct conn *c)
{
	struct dir	*d = &c->up;
	const uint8_t	*from;
	ssize_t		 n;
	int		 err, rv;

	c->server.writable = 1;
	if (c->mc.quic != 0)
		return (0);
	if (c->rule->send_proxy) {
		if ((rv = conn_send_proxy(c)) == -2) {
			log_warn("%s: PROXY header", c->backend);
			conn_end(c, "reset");
		}
		return (rv);
	}
	if (c->rule->terminate || c->rule->backend_tls)
		return (0);
	if (d->pending == 0) {
		if (!c->client.readable)
			return (0);
		if ((n = dir_fill(d)) == -2) {
			conn_reset(c, &c->client);
			return (-2);
		}
		if (n == 0)
			c->client.eof = 1;
		if (n <= 0)
			return (0);
	}
	from = d->buf != NULL ? d->buf : scratch;
	if ((n = c->server.ops->write(&c->server, from + d->off,
	    d->pending)) > 0) {
		d->pending -= n;
		d->off += n;
	}
	err = errno;
	if (d->pending > 0 && dir_keep(d) == -1) {
		conn_end(c, "reset");
		return (-2);
	}
	if (d->pending == 0)
		dir_buf_release(d);
	if (n == -2) {
		errno = err;
		return (-1);
	}
	return (n > 0);
}

/*
 * Registers the server's socket, edge-triggered, for the relay; still
 * connecting, also for writing, the connect's end being its first
 * event, and under the connect's deadline.
 */
static void
conn_connect_watch(struct conn *c, int connected)
{
	struct timeval	 tv;

	if (end_open(c, &c->server, EV_READ | EV_CLOSED |
	    (connected ? 0 : EV_WRITE)) == -1 ||
	    event_add(c->server.ev, NULL) == -1)
		fatal("%s: event", __func__);
	if (connected)
		return;
	if (c->ev_connect == NULL && (c->ev_connect = evtimer_new(wk.base,
	    conn_connect_expired, c)) == NULL)
		fatal("%s: event", __func__);
	timeval_ms(&tv, c->rule->timeout.connect);
	evtimer_add(c->ev_connect, &tv);
}

/*
 * Tries the servers the balancer chose, in its order, each once.
 * Returns -1 once the connection is gone.
 */
static int
conn_connect_next(struct conn *c)
{
	const struct table	*t = c->rule->table;

	if (c->order == NULL) {
		if ((c->order = calloc(t->nhosts, sizeof(*c->order))) ==
		    NULL) {
			conn_end(c, "reset");
			return (-1);
		}
		c->norder = balance_order(&wk.bal, t, c->rule->mode,
		    (struct sockaddr *)&c->mc.client, c->order);
		if (c->norder == 0) {
			log_warnx("table <%s>: every server is down", t->name);
			conn_end(c, "no-server");
			return (-1);
		}
	}
	while (c->tried < c->norder) {
		c->hostidx = c->order[c->tried++];
		switch (conn_connect_host(c, &t->hosts[c->hostidx])) {
		case -1:
			continue;
		case -2:
			log_warn("table <%s>: socket", t->name);
			conn_end(c, "resources");
			return (-1);
		}
		switch (conn_send_first(c)) {
		case -2:
			return (-1);
		case -1:
			log_debug("%s: connect: %s", c->backend,
			    strerror(errno));
			close(c->server.fd);
			c->server.fd = -1;
			continue;
		case 0:
			conn_connect_watch(c, 0);
			return (0);
		}
		conn_connect_watch(c, 1);
		return (conn_relay(c));
	}
	log_warnx("table <%s>: no server answered", t->name);
	conn_end(c, c->timedout ? "connect-timeout" : "connect-failed");
	return (-1);
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
	c->state = CONN_CONNECTING;
	c->origin = o;
	c->client.fd = m->fd;
	c->client.ops = &xprt_raw;
	c->client.conn = c;
	c->client.writable = 1;
	c->server.fd = -1;
	c->server.ops = &xprt_raw;
	c->server.conn = c;
	c->up.src = c->down.dst = &c->client;
	c->up.dst = c->down.src = &c->server;
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
	if (c->rule->terminate) {
		conn_accept_tls(c);
		return;
	}
	/* Unless accept waited in vain, the client's first bytes are in. */
	c->client.readable = c->mc.class != CLASS_TIMEOUT;
	dir_init(&c->up);
	(void)conn_connect_next(c);
}

/* Without the ring, ends go in messages: slower, and as sure. */
static void
worker_ends_ring(struct origin *o, struct chan_msg *m)
{
	uint32_t	 n;

	if (m->fd == -1 || m->len != sizeof(n) || o->ring.sh != NULL) {
		log_warnx("malformed ends ring message");
		if (m->fd != -1)
			close(m->fd);
		return;
	}
	memcpy(&n, m->data, sizeof(n));
	if (ring_attach(&o->ring, m->fd, n) == -1)
		log_warn("ends ring");
	close(m->fd);
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
		ring_free(&o->ring);
		free(o);
		worker_done_check();
		return;
	}
	if (m->hdr.type == MSG_ENDS_RING)
		worker_ends_ring(o, m);
	else if (m->hdr.type == MSG_CONN && !wk.quitting)
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
		if (m->len != 0 || tls_worker_ready(wk.route) == -1)
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
	/* The connections an accept process sent together are read so. */
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->chan = chan_new(wk.base, m->fd, MSG_VERSION,
	    worker_origin_msg, o)) == NULL ||
	    chan_batch(o->chan, CHAN_BATCH_READ) == -1)
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
	if (wk.route->backend_tls && tls_worker_ready(wk.route) == -1)
		fatalx("cannot set up TLS");
	wk.ready = 1;
	child_ready(priv);
}
