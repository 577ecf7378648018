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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tls.h>

#include "log.h"
#include "msg.h"
#include "proxyproto.h"
#include "sniproxyd.h"
#include "relay.h"

/*
 * The TLS transport: libtls over the end's socket, through callbacks
 * that keep to what the relay knows of the socket.  A read that libtls
 * asks for is made ahead into a buffer of the end's, taken while it
 * holds bytes or the socket may, so that an idle connection holds none.
 * The buffer holds the largest record of TLS 1.3 (header, 16 KB and
 * what its protection adds): libtls asks for a record's header and then
 * for its body, and a smaller buffer needs a second read for the rest
 * of the body of every large record.
 */
#define TLSIN		(5 + 16 * 1024 + 256)

struct tls_end {
	struct tls	*tls;
	struct server	*server;	/* when terminating */
	int		 done;		/* handshake finished */
	uint8_t		*in;		/* read ahead of libtls, or NULL */
	size_t		 inoff;
	size_t		 inlen;
	uint64_t	 taken;		/* bytes libtls took from the socket */
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
tls_worker_ready(const struct rule *r)
{
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

/* Emptied: an idle end holds no read-ahead. */
static void
in_release(struct tls_end *x)
{
	if (x->inlen == 0 && x->in != NULL) {
		freezero(x->in, TLSIN);
		x->in = NULL;
	}
}

/*
 * libtls reads each record's header and then its body: two system calls
 * a record.  Reading whatever the socket holds into the end's own buffer
 * takes one for all the records that came together.  A socket the relay
 * knows to be empty is not read until its next edge.
 */
static ssize_t
sock_read(struct tls *ctx, void *buf, size_t len, void *arg)
{
	struct end	*e = arg;
	struct tls_end	*x = e->ctx;
	size_t		 size;
	ssize_t		 n;
	int		 direct;

	(void)ctx;
	if (x->inlen == 0) {
		if (!e->readable)
			return (TLS_WANT_POLLIN);
		/* A read as large as the buffer goes straight to libtls. */
		direct = len >= TLSIN;
		size = direct ? len : TLSIN;
		if (!direct && x->in == NULL &&
		    (x->in = malloc(TLSIN)) == NULL)
			return (-1);
		while ((n = read(e->fd, direct ? buf : x->in, size)) == -1 &&
		    errno == EINTR)
			;
		if (n == -1 && errno == EAGAIN) {
			e->readable = 0;
			in_release(x);
			return (TLS_WANT_POLLIN);
		}
		if (n > 0 && (size_t)n < size)
			e->readable = 0;
		if (n <= 0 || direct) {
			in_release(x);
			if (n > 0)
				x->taken += n;
			return (n);
		}
		x->inoff = 0;
		x->inlen = n;
	}
	n = len < x->inlen ? len : x->inlen;
	memcpy(buf, x->in + x->inoff, n);
	x->inoff += n;
	x->inlen -= n;
	x->taken += n;
	/* Kept while a stream goes on, not made again for each read. */
	if (!e->readable)
		in_release(x);
	return (n);
}

/* A short send filled the socket: the next would get EAGAIN. */
static ssize_t
sock_write(struct tls *ctx, const void *buf, size_t len, void *arg)
{
	struct end	*e = arg;
	ssize_t		 n;

	(void)ctx;
	if (!e->writable)
		return (TLS_WANT_POLLOUT);
	while ((n = send(e->fd, buf, len, MSG_NOSIGNAL)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1 && errno == EAGAIN) {
		e->writable = 0;
		return (TLS_WANT_POLLOUT);
	}
	if (n >= 0 && (size_t)n < len)
		e->writable = 0;
	return (n);
}

/*
 * libtls says it waits to read after any record that needs no answer,
 * such as a session ticket, even with the next records already in the
 * end's buffer or the socket, which no edge will announce: it is asked
 * again while it takes bytes and may find more.  A call that took
 * nothing is repeated once.
 */
static int
tls_again(const struct end *e, ssize_t rv, uint64_t before, int *stalls)
{
	const struct tls_end	*x = e->ctx;

	if (rv != TLS_WANT_POLLIN || (x->inlen == 0 && !e->readable))
		return (0);
	if (x->taken != before)
		return (1);
	return ((*stalls)++ == 0);
}

/* op: 'r' read, 'w' write, 'h' handshake. */
static ssize_t
tls_call(struct end *e, int op, void *buf, size_t len)
{
	struct tls_end	*x = e->ctx;
	uint64_t	 before;
	ssize_t		 n;
	int		 stalls = 0;

	do {
		before = x->taken;
		if (op == 'r')
			n = tls_read(x->tls, buf, len);
		else if (op == 'w')
			n = tls_write(x->tls, buf, len);
		else
			n = tls_handshake(x->tls);
	} while (tls_again(e, n, before, &stalls));
	if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT)
		return (-1);
	return (n < 0 ? -2 : n);
}

static int
xtls_handshake(struct end *e)
{
	struct tls_end	*x = e->ctx;
	ssize_t		 rv;

	if ((rv = tls_call(e, 'h', NULL, 0)) == -2)
		return (-1);
	if (rv == -1)
		return (0);
	x->done = 1;
	return (1);
}

static ssize_t
xtls_read(struct end *e, void *buf, size_t len)
{
	return (tls_call(e, 'r', buf, len));
}

static ssize_t
xtls_write(struct end *e, const void *buf, size_t len)
{
	return (tls_call(e, 'w', (void *)buf, len));
}

static int
xtls_pending(const struct end *e)
{
	const struct tls_end	*x = e->ctx;

	return (x->inlen > 0);
}

/* close_notify, and the FIN unless close(2) is about to send it. */
static void
xtls_shutdown(struct end *e, int last)
{
	struct tls_end	*x = e->ctx;

	tls_close(x->tls);
	if (!last)
		shutdown(e->fd, SHUT_WR);
}

static void
xtls_close(struct end *e)
{
	struct tls_end	*x = e->ctx;

	if (x == NULL)
		return;
	if (x->tls != NULL)
		tls_free(x->tls);
	freezero(x->in, TLSIN);
	server_unref(x->server);
	freezero(x, sizeof(*x));
	e->ctx = NULL;
}

static const struct xprt_ops xprt_tls = {
	.handshake = xtls_handshake,
	.read = xtls_read,
	.write = xtls_write,
	.pending = xtls_pending,
	.shutdown = xtls_shutdown,
	.close = xtls_close
};

static int
tls_end_new(struct end *e)
{
	struct tls_end	*x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return (-1);
	e->ctx = x;
	e->ops = &xprt_tls;
	return (0);
}

/*
 * The client's end, under the keypairs of now; a renewal leaves them
 * to the connections that started under them.
 */
int
tls_end_accept(struct end *e)
{
	struct tls_end	*x;

	if (tls_end_new(e) == -1)
		return (-1);
	x = e->ctx;
	x->server = tw.server;
	x->server->refs++;
	if (tls_accept_cbs(tw.server->ctx, &x->tls, sock_read, sock_write,
	    e) == -1) {
		log_warnx("tls_accept_cbs: %s", tls_error(tw.server->ctx));
		return (-1);
	}
	return (0);
}

/* The server's end; name is what its certificate must say, or NULL. */
int
tls_end_connect(struct end *e, const char *name)
{
	struct tls_end	*x;

	if (tls_end_new(e) == -1)
		return (-1);
	x = e->ctx;
	if ((x->tls = tls_client()) == NULL ||
	    tls_configure(x->tls, tw.client_cfg) == -1 ||
	    tls_connect_cbs(x->tls, sock_read, sock_write, e, name) == -1)
		return (-1);
	return (0);
}

const char *
tls_end_error(const struct end *e)
{
	const struct tls_end	*x = e->ctx;
	const char		*err;

	if (x == NULL || x->tls == NULL)
		return ("tls_client");
	if ((err = tls_error(x->tls)) != NULL)
		return (err);
	return (strerror(errno));
}

/*
 * What a terminated session agreed with the client, for the connection's
 * log line; NULL when sniproxyd did not terminate it or the handshake
 * did not finish.
 */
const char *
tls_end_agreed(const struct end *e, char *buf, size_t len)
{
	const struct tls_end	*x = e->ctx;
	const char		*version, *cipher;

	if (e->ops != &xprt_tls || !x->done ||
	    (version = tls_conn_version(x->tls)) == NULL ||
	    (cipher = tls_conn_cipher(x->tls)) == NULL)
		return (NULL);
	snprintf(buf, len, "version=%s cipher=%s", version, cipher);
	return (buf);
}

/*
 * What the client's finished handshake agreed, for a PROXY v2 header,
 * and the name it asked for.
 */
void
tls_end_session(const struct end *e, struct proxy_tlv_ssl *ssl,
    const char **alpn, char *name, size_t namelen)
{
	const struct tls_end	*x = e->ctx;

	if (e->ops != &xprt_tls || !x->done)
		return;
	ssl->present = 1;
	ssl->verified_client_cert = 0;
	ssl->version = tls_conn_version(x->tls);
	ssl->cipher = tls_conn_cipher(x->tls);
	*alpn = tls_conn_alpn_selected(x->tls);
	if (tls_conn_servername(x->tls) != NULL)
		strlcpy(name, tls_conn_servername(x->tls), namelen);
}
