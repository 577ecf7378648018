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

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <tls.h>

#include "log.h"
#include "msg.h"
#include "proxyproto.h"
#include "sniproxyd.h"
#include "relay.h"

/*
 * A connection with TLS on either side.  libtls may want to read when
 * asked to write and the other way round, so instead of one callback
 * per direction there is one pump: any event on either socket moves
 * every byte that can move, then asks for exactly the events the last
 * calls said they were waiting for.
 */
#define TLSBUF		(16 * 1024)
#define TLSIN		(4 * 1024)
#define PUMP_ROUNDS	64

/*
 * A direction's bytes in hand: the buffer is taken when a read may
 * bring some and given back once they are all written, so that an
 * idle connection, the many kept open by clients, holds none.
 */
struct tbuf {
	uint8_t		*data;		/* TLSBUF bytes, or NULL */
	size_t		 off;
	size_t		 len;
};

struct end {
	int		 fd;
	struct tls	*tls;		/* NULL: plain */
	int		 handshaken;
	int		 eof;		/* nothing more to read */
	int		 shut;		/* our write side is closed */
	short		 want;
	short		 armed;		/* what ev waits for now */
	struct event	*ev;
	uint8_t		*in;		/* read ahead of libtls, or NULL */
	size_t		 inoff;
	size_t		 inlen;
	uint64_t	 taken;		/* bytes libtls took from in */
	int		 drained;	/* the socket's last read came short */
};

struct tlsrelay {
	struct server	*server;	/* when terminating */
	struct end	 client;
	struct end	 backend;	/* fd -1 until connected */
	int		 connecting;
	struct tbuf	 up;
	struct tbuf	 down;
	struct event	*ev_handshake;
	struct event	*ev_again;	/* a pump cut short goes on */
};

/*
 * A server context and the connections that started under it: a new
 * keypair set makes a new context, and an old one goes with its last
 * connection.
 */
struct server {
	struct tls	*ctx;
	unsigned int	 refs;
};

struct kpmsg {
	uint8_t		*data;
	size_t		 len;
	struct msg_keypair hdr;
};

static struct {
	struct server		*server;
	struct tls_config	*client_cfg;
	struct kpmsg		*kps;
	size_t			 nkps;
} tw;

static void	tls_pump(struct conn *);

int
tls_worker_keypair(const void *data, size_t len)
{
	struct msg_keypair	 hdr;
	struct kpmsg		*k;

	if (len < sizeof(hdr))
		return (-1);
	memcpy(&hdr, data, sizeof(hdr));
	if ((size_t)hdr.certlen + hdr.keylen + hdr.ocsplen !=
	    len - sizeof(hdr))
		return (-1);
	if ((k = reallocarray(tw.kps, tw.nkps + 1, sizeof(*k))) == NULL)
		return (-1);
	tw.kps = k;
	k += tw.nkps;
	k->hdr = hdr;
	k->len = len - sizeof(hdr);
	if ((k->data = malloc(k->len)) == NULL)
		return (-1);
	memcpy(k->data, (const uint8_t *)data + sizeof(hdr), k->len);
	tw.nkps++;
	return (0);
}

static int
kp_add(struct tls_config *cfg, const struct kpmsg *k, int first)
{
	const uint8_t	*cert = k->data;
	const uint8_t	*key = cert + k->hdr.certlen;
	const uint8_t	*ocsp = k->hdr.ocsplen ? key + k->hdr.keylen : NULL;

	if (first)
		return (tls_config_set_keypair_ocsp_mem(cfg, cert,
		    k->hdr.certlen, key, k->hdr.keylen, ocsp, k->hdr.ocsplen));
	return (tls_config_add_keypair_ocsp_mem(cfg, cert, k->hdr.certlen,
	    key, k->hdr.keylen, ocsp, k->hdr.ocsplen));
}

static int
tls_config_common(struct tls_config *cfg, const struct rule *r)
{
	uint32_t	 protocols;

	if (r->tls.protocols != NULL) {
		if (tls_config_parse_protocols(&protocols,
		    r->tls.protocols) == -1 ||
		    tls_config_set_protocols(cfg, protocols) == -1) {
			log_warnx("tls protocols \"%s\": %s", r->tls.protocols,
			    tls_config_error(cfg));
			return (-1);
		}
	}
	if (r->tls.ciphers != NULL &&
	    tls_config_set_ciphers(cfg, r->tls.ciphers) == -1) {
		log_warnx("tls ciphers: %s", tls_config_error(cfg));
		return (-1);
	}
	return (0);
}

/*
 * The first keypair is served to clients without SNI or with a name no
 * certificate has; libtls picks among the others by SNI.
 */
static void
server_unref(struct server *sv)
{
	if (sv == NULL || --sv->refs > 0)
		return;
	tls_free(sv->ctx);
	free(sv);
}

static int
tls_server_setup(const struct rule *r)
{
	struct tls_config	*cfg;
	struct server		*sv;
	size_t			 i;
	int			 rv = -1;

	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		return (-1);
	sv->refs = 1;
	if ((cfg = tls_config_new()) == NULL ||
	    (sv->ctx = tls_server()) == NULL) {
		tls_config_free(cfg);
		free(sv);
		return (-1);
	}
	if (tls_config_common(cfg, r) == -1)
		goto done;
	if (r->tls.alpn != NULL && tls_config_set_alpn(cfg, r->tls.alpn) ==
	    -1) {
		log_warnx("tls alpn: %s", tls_config_error(cfg));
		goto done;
	}
	for (i = 0; i < tw.nkps; i++)
		if (kp_add(cfg, &tw.kps[i], i == 0) == -1) {
			log_warnx("keypair: %s", tls_config_error(cfg));
			goto done;
		}
	if (tls_configure(sv->ctx, cfg) == -1) {
		log_warnx("tls: %s", tls_error(sv->ctx));
		goto done;
	}
	rv = 0;
 done:
	tls_config_clear_keys(cfg);
	tls_config_free(cfg);
	if (rv == -1) {
		server_unref(sv);
		return (-1);
	}
	/* The old set stays while connections that began under it last. */
	server_unref(tw.server);
	tw.server = sv;
	return (0);
}

static int
tls_client_setup(const struct rule *r)
{
	if ((tw.client_cfg = tls_config_new()) == NULL)
		return (-1);
	if (tls_config_common(tw.client_cfg, r) == -1)
		return (-1);
	if (r->tls.noverify == 1) {
		tls_config_insecure_noverifycert(tw.client_cfg);
		tls_config_insecure_noverifyname(tw.client_cfg);
	} else if (tls_config_set_ca_mem(tw.client_cfg, r->ca, r->calen) ==
	    -1) {
		log_warnx("tls ca: %s", tls_config_error(tw.client_cfg));
		return (-1);
	}
	return (0);
}

/*
 * Every keypair is here: configure, then forget the keys' bytes.  A set
 * sent again, after a renewal, replaces the one new connections get.
 */
int
tls_worker_ready(void)
{
	const struct rule	*r = wk.route;
	size_t			 i;
	int			 rv = 0, again = tw.server != NULL ||
				    tw.client_cfg != NULL;

	if (r->terminate && tls_server_setup(r) == -1)
		rv = -1;
	if (rv == 0 && !again && r->backend_tls && tls_client_setup(r) == -1)
		rv = -1;
	if (again && rv == 0)
		log_debug("route %s: new keypairs in place", r->table->name);
	else if (again) {
		log_warnx("route %s: keeping the keypairs in use",
		    r->table->name);
		rv = 0;
	}
	for (i = 0; i < tw.nkps; i++)
		freezero(tw.kps[i].data, tw.kps[i].len);
	free(tw.kps);
	tw.kps = NULL;
	tw.nkps = 0;
	return (rv);
}

static void
end_close(struct end *e)
{
	if (e->ev != NULL)
		event_free(e->ev);
	if (e->tls != NULL)
		tls_free(e->tls);
	freezero(e->in, TLSIN);
}

/* Emptied: an idle end holds no read-ahead. */
static void
end_in_release(struct end *e)
{
	if (e->inlen == 0 && e->in != NULL) {
		freezero(e->in, TLSIN);
		e->in = NULL;
	}
}

/* Emptied: what it held was plaintext, so it goes zeroed. */
static void
tbuf_release(struct tbuf *b)
{
	if (b->len == 0 && b->data != NULL) {
		freezero(b->data, TLSBUF);
		b->data = NULL;
	}
}

/*
 * libtls reads each record's header and then its body: two system calls
 * a record.  Reading whatever the socket holds into the end's own buffer
 * takes one for all the records that came together.
 */
static ssize_t
end_tls_read(struct tls *ctx, void *buf, size_t len, void *arg)
{
	struct end	*e = arg;
	size_t		 size;
	ssize_t		 n;
	int		 direct;

	(void)ctx;
	if (e->inlen == 0) {
		/*
		 * Most likely empty, and the event that level-triggered
		 * epoll reports at once if not costs no more than the
		 * read that would say so.
		 */
		if (e->drained)
			return (TLS_WANT_POLLIN);
		/* A read as large as the buffer goes straight to libtls. */
		direct = len >= TLSIN;
		size = direct ? len : TLSIN;
		if (!direct && e->in == NULL &&
		    (e->in = malloc(TLSIN)) == NULL)
			return (-1);
		n = read(e->fd, direct ? buf : e->in, size);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			end_in_release(e);
			return (TLS_WANT_POLLIN);
		}
		if (n > 0 && (size_t)n < size)
			e->drained = 1;
		if (n <= 0 || direct) {
			end_in_release(e);
			return (n);
		}
		e->inoff = 0;
		e->inlen = n;
	}
	n = len < e->inlen ? len : e->inlen;
	memcpy(buf, e->in + e->inoff, n);
	e->inoff += n;
	e->inlen -= n;
	e->taken += n;
	end_in_release(e);
	return (n);
}

static ssize_t
end_tls_write(struct tls *ctx, const void *buf, size_t len, void *arg)
{
	struct end	*e = arg;
	ssize_t		 n;

	(void)ctx;
	n = send(e->fd, buf, len, MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (TLS_WANT_POLLOUT);
	return (n);
}

void
tls_relay_free(struct conn *c)
{
	struct tlsrelay	*t = c->tls;

	if (t == NULL)
		return;
	end_close(&t->client);
	end_close(&t->backend);
	freezero(t->up.data, TLSBUF);
	freezero(t->down.data, TLSBUF);
	server_unref(t->server);
	if (t->ev_handshake != NULL)
		event_free(t->ev_handshake);
	if (t->ev_again != NULL)
		event_free(t->ev_again);
	freezero(t, sizeof(*t));
	c->tls = NULL;
}

static void
tls_ready(int fd, short events, void *arg)
{
	struct conn	*c = arg;
	struct tlsrelay	*t = c->tls;

	(void)events;
	if (fd == t->client.fd)
		t->client.drained = 0;
	else
		t->backend.drained = 0;
	tls_pump(c);
}

static void
tls_again(int fd, short events, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)events;
	c->tls->client.drained = c->tls->backend.drained = 0;
	tls_pump(c);
}

static const char *
client_str(const struct conn *c, char *buf, size_t len)
{
	return (addr_str((const struct sockaddr *)&c->mc.client, buf, len));
}

static void
tls_handshake_expired(int fd, short events, void *arg)
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
 * libtls says it waits to read after any record that needs no answer,
 * such as a session ticket, even with the next records already in the
 * end's buffer, which no socket event will announce: it has to be asked
 * again while it takes bytes from there.
 */
static int
end_tls_again(const struct end *e, ssize_t rv, uint64_t before)
{
	return (rv == TLS_WANT_POLLIN && e->inlen > 0 && e->taken != before);
}

/*
 * Returns the bytes moved, 0 at EOF, -1 when the end waits for an event
 * (recorded in e->want), -2 on error.
 */
static ssize_t
end_io(struct end *e, int reading, void *buf, size_t len)
{
	uint64_t	 before;
	ssize_t		 n;

	if (e->tls != NULL) {
		do {
			before = e->taken;
			n = reading ? tls_read(e->tls, buf, len) :
			    tls_write(e->tls, buf, len);
		} while (end_tls_again(e, n, before));
		if (n == TLS_WANT_POLLIN) {
			e->want |= EV_READ;
			return (-1);
		}
		if (n == TLS_WANT_POLLOUT) {
			e->want |= EV_WRITE;
			return (-1);
		}
		return (n < 0 ? -2 : n);
	}
	if (reading && e->drained) {
		e->want |= EV_READ;
		return (-1);
	}
	n = reading ? read(e->fd, buf, len) :
	    send(e->fd, buf, len, MSG_NOSIGNAL);
	if (reading && n > 0 && (size_t)n < len)
		e->drained = 1;
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			return (-2);
		e->want |= reading ? EV_READ : EV_WRITE;
		return (-1);
	}
	return (n);
}

/* Returns 1 when done, 0 when waiting, -1 on failure. */
static int
end_handshake(struct end *e)
{
	uint64_t	 before;
	int		 rv;

	if (e->tls == NULL || e->handshaken)
		return (1);
	do {
		before = e->taken;
		rv = tls_handshake(e->tls);
	} while (end_tls_again(e, rv, before));
	if (rv == 0) {
		e->handshaken = 1;
		return (1);
	}
	if (rv == TLS_WANT_POLLIN)
		e->want |= EV_READ;
	else if (rv == TLS_WANT_POLLOUT)
		e->want |= EV_WRITE;
	else
		return (-1);
	return (0);
}

/* last: the connection ends in this pass, and close(2) sends the FIN. */
static void
end_shutdown(struct end *e, int last)
{
	if (e->shut)
		return;
	e->shut = 1;
	if (e->tls != NULL)
		tls_close(e->tls);
	if (!last)
		shutdown(e->fd, SHUT_WR);
}

/*
 * Moves bytes from src to dst through b.  Returns 1 when something
 * moved, 0 when nothing could, -1 on error.
 */
static int
tls_move(struct conn *c, struct end *src, struct end *dst, struct tbuf *b,
    int last, uint64_t *count)
{
	ssize_t	 n;
	int	 moved = 0;

	if (b->len == 0 && !src->eof && src->handshaken) {
		if (b->data == NULL && (b->data = malloc(TLSBUF)) == NULL) {
			log_warn("%s", __func__);
			return (-1);
		}
		if ((n = end_io(src, 1, b->data, TLSBUF)) == -2) {
			c->client_gone = src == &c->tls->client;
			return (-1);
		}
		if (n == 0)
			src->eof = 1;
		if (n >= 0)
			moved = 1;
		if (n > 0) {
			b->off = 0;
			b->len = n;
			*count += n;
			conn_touch(c);
		}
	}
	if (b->len > 0 && dst->handshaken) {
		if ((n = end_io(dst, 0, b->data + b->off, b->len)) == -2)
			return (-1);
		if (n > 0) {
			b->off += n;
			b->len -= n;
			moved = 1;
		}
	}
	if (src->eof && b->len == 0 && !dst->shut) {
		end_shutdown(dst, last);
		moved = 1;
	}
	tbuf_release(b);
	return (moved);
}

/*
 * Persistent, and changed only when what the end waits for changes: a
 * handshake or a stream mostly waits for the same thing again, and each
 * change costs two epoll_ctl calls.
 */
static void
end_arm(struct conn *c, struct end *e)
{
	short	 want = e->want;

	if (e->fd == -1 || want == e->armed)
		return;
	if (e->armed != 0)
		event_del(e->ev);
	e->armed = want;
	if (want == 0)
		return;
	event_assign(e->ev, wk.base, e->fd, want | EV_PERSIST, tls_ready, c);
	event_add(e->ev, NULL);
}

static const char *
end_error(const struct end *e)
{
	const char	*err;

	if (e->tls != NULL && (err = tls_error(e->tls)) != NULL)
		return (err);
	return (strerror(errno));
}

static int
tls_handshakes(struct conn *c)
{
	struct tlsrelay	*t = c->tls;
	char		 client[ADDRSTR_LEN];
	int		 hc, hb;

	if ((hc = end_handshake(&t->client)) == -1) {
		log_warnx("%s: TLS handshake failed: %s",
		    client_str(c, client, sizeof(client)),
		    end_error(&t->client));
		conn_end(c, "handshake-failed");
		return (-1);
	}
	if (hc == 1 && t->backend.fd == -1 && !t->connecting) {
		t->connecting = 1;
		conn_connect_next(c);
		return (-1);
	}
	if (t->backend.fd == -1)
		return (0);
	if ((hb = end_handshake(&t->backend)) == -1) {
		log_warnx("%s: TLS handshake with server %s failed: %s",
		    client_str(c, client, sizeof(client)), c->backend,
		    end_error(&t->backend));
		conn_end(c, "backend-tls-failed");
		return (-1);
	}
	if (hc == 1 && hb == 1 && t->ev_handshake != NULL) {
		event_free(t->ev_handshake);
		t->ev_handshake = NULL;
	}
	return (hc == 1 && hb == 1);
}

static void
tls_pump(struct conn *c)
{
	struct tlsrelay	*t = c->tls;
	int		 up, down, i, rv;

	for (i = 0; i < PUMP_ROUNDS; i++) {
		t->client.want = t->backend.want = 0;
		if ((rv = tls_handshakes(c)) == -1)
			return;
		if (rv == 0)
			break;
		up = tls_move(c, &t->client, &t->backend, &t->up,
		    t->backend.eof && t->down.len == 0, &c->up.bytes);
		down = tls_move(c, &t->backend, &t->client, &t->down,
		    t->client.eof && t->up.len == 0, &c->down.bytes);
		if (up == -1 || down == -1) {
			conn_end(c, "reset");
			return;
		}
		if (t->client.eof && t->backend.eof && t->up.len == 0 &&
		    t->down.len == 0) {
			conn_end(c, "eof");
			return;
		}
		if (!up && !down)
			break;
	}
	end_arm(c, &t->client);
	end_arm(c, &t->backend);
	/*
	 * Cut short for the other connections' sake, maybe with bytes in
	 * hand that no socket event will announce: carry on next pass.
	 */
	if (i < PUMP_ROUNDS)
		return;
	if (t->ev_again == NULL &&
	    (t->ev_again = event_new(wk.base, -1, 0, tls_again, c)) == NULL) {
		conn_end(c, "reset");
		return;
	}
	event_active(t->ev_again, 0, 0);
}

static int
end_init(struct conn *c, struct end *e, int fd)
{
	e->fd = fd;
	e->handshaken = 1;
	if ((e->ev = event_new(wk.base, fd, 0, tls_ready, c)) == NULL)
		return (-1);
	return (0);
}

/*
 * The client's side: TLS when terminating, with a deadline that also
 * covers reaching the backend and its handshake.  Returns -1 when the
 * connection is gone.
 */
static int
tls_relay_new(struct conn *c)
{
	const struct rule	*r = c->rule;
	struct tlsrelay		*t;
	struct timeval		 tv;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		conn_end(c, "reset");
		return (-1);
	}
	c->tls = t;
	t->backend.fd = -1;
	if (end_init(c, &t->client, c->cfd) == -1 ||
	    (t->ev_handshake = evtimer_new(wk.base, tls_handshake_expired,
	    c)) == NULL) {
		conn_end(c, "reset");
		return (-1);
	}
	timeval_ms(&tv, r->timeout.handshake);
	evtimer_add(t->ev_handshake, &tv);
	if (r->terminate) {
		t->server = tw.server;
		t->server->refs++;
		if (tls_accept_cbs(tw.server->ctx, &t->client.tls,
		    end_tls_read, end_tls_write, &t->client) == -1) {
			log_warnx("tls_accept_cbs: %s",
			    tls_error(tw.server->ctx));
			conn_end(c, "handshake-failed");
			return (-1);
		}
		t->client.handshaken = 0;
	}
	return (0);
}

/* Terminating: the client's handshake comes before the backend. */
void
tls_relay_start(struct conn *c)
{
	if (tls_relay_new(c) == 0)
		tls_pump(c);
}

/* The backend answered: wrap it in TLS if asked, and get going. */
void
tls_relay_connected(struct conn *c)
{
	const struct rule	*r = c->rule;
	struct tlsrelay		*t;
	const char		*name;

	if (c->tls == NULL && tls_relay_new(c) == -1)
		return;
	t = c->tls;
	t->connecting = 1;
	if (end_init(c, &t->backend, c->bfd) == -1) {
		conn_end(c, "reset");
		return;
	}
	/* Just connected: a server that speaks first gets an event. */
	t->backend.drained = 1;
	if (r->backend_tls) {
		name = r->tls.servername != NULL ? r->tls.servername :
		    c->mc.name[0] != '\0' ? c->mc.name : NULL;
		if ((t->backend.tls = tls_client()) == NULL ||
		    tls_configure(t->backend.tls, tw.client_cfg) == -1 ||
		    tls_connect_cbs(t->backend.tls, end_tls_read,
		    end_tls_write, &t->backend, name) == -1) {
			log_warnx("%s: TLS to server: %s", c->backend,
			    t->backend.tls ? tls_error(t->backend.tls) :
			    "tls_client");
			conn_end(c, "backend-tls-failed");
			return;
		}
		t->backend.handshaken = 0;
	}
	tls_pump(c);
}

/*
 * What a terminated session agreed with the client, for the connection's
 * log line; NULL when sniproxyd did not terminate it or the handshake
 * did not finish.
 */
const char *
tls_relay_agreed(struct conn *c, char *buf, size_t len)
{
	struct tls	*t;
	const char	*version, *cipher;

	if (!c->rule->terminate || c->tls == NULL ||
	    (t = c->tls->client.tls) == NULL || !c->tls->client.handshaken ||
	    (version = tls_conn_version(t)) == NULL ||
	    (cipher = tls_conn_cipher(t)) == NULL)
		return (NULL);
	snprintf(buf, len, "version=%s cipher=%s", version, cipher);
	return (buf);
}

/* What the client's finished handshake agreed, for a PROXY v2 header. */
void
tls_relay_session(struct conn *c, struct proxy_tlv_ssl *ssl,
    const char **alpn)
{
	struct tls	*t;

	if (c->tls == NULL || (t = c->tls->client.tls) == NULL ||
	    !c->tls->client.handshaken)
		return;
	ssl->present = 1;
	ssl->verified_client_cert = 0;
	ssl->version = tls_conn_version(t);
	ssl->cipher = tls_conn_cipher(t);
	*alpn = tls_conn_alpn_selected(t);
	if (tls_conn_servername(t) != NULL)
		strlcpy(c->mc.name, tls_conn_servername(t), sizeof(c->mc.name));
}
