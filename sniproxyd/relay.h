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

#ifndef RELAY_H
#define RELAY_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <stdint.h>

#include "balance.h"
#include "msg.h"
#include "sniproxyd.h"

struct chan;
struct event;
struct event_base;
struct tlsrelay;
struct proxy_tlv_ssl;

/*
 * Both directions of a connection once the backend has answered.  The
 * first bytes are copied (see dir_fill); past that, they move through a
 * pipe with splice(2) and never enter this process.  An idle
 * connection holds neither pipe nor buffer.  The sockets are watched
 * edge-triggered, so a direction remembers what its last events and
 * calls said: whether src may have bytes, whether dst takes more.
 */
#define PIPE_CAP	(64 * 1024)
#define COPYBUF		(16 * 1024)
#define SPLICE_AFTER	(64 * 1024)

struct conn;

struct dir {
	struct conn		*conn;
	int			 src;
	int			 dst;
	int			 pipe[2];
	uint8_t			*buf;
	size_t			 off;
	size_t			 pending;	/* in the pipe or buf */
	uint64_t		 bytes;
	int			 eof;
	int			 shut;
	int			 nosplice;
	int			 readable;
	int			 writable;
	int			 hup;		/* src's peer sent its FIN */
};

struct conn {
	uint64_t		 id;
	struct origin		*origin;	/* NULL once accept is gone */
	struct msg_conn		 mc;
	const struct rule	*rule;
	int			 cfd;
	int			 bfd;
	uint16_t		*order;		/* servers to try */
	size_t			 norder;
	size_t			 tried;
	int			 hostidx;	/* the one connected */
	int			 timedout;
	int			 connected;
	int			 client_gone;	/* reset or closed by it */
	char			 backend[ADDRSTR_LEN];
	struct event		*ev_connect;	/* its deadline */
	struct event		*ev_client;
	struct event		*ev_client_out;	/* once it was full */
	struct event		*ev_backend;	/* from connect on */
	struct event		*ev_idle;
	int64_t			 last_ms;
	int64_t			 start_ms;
	struct dir		 up;		/* client to backend */
	struct dir		 down;		/* backend to client */
	struct tlsrelay		*tls;		/* when either side is TLS */
	uint8_t			*dgrams;	/* QUIC: to replay until answered */
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

extern struct worker	 wk;

/* relay.c */
void	conn_end(struct conn *, const char *);
void	conn_connect_next(struct conn *);
void	conn_touch(struct conn *);
void	timeval_ms(struct timeval *, int64_t);

/* tls.c */
int	tls_worker_keypair(const void *, size_t);
int	tls_worker_ready(void);
void	tls_relay_start(struct conn *);
void	tls_relay_connected(struct conn *);
void	tls_relay_session(struct conn *, struct proxy_tlv_ssl *,
	    const char **);
void	tls_relay_free(struct conn *);
const char *tls_relay_agreed(struct conn *, char *, size_t);

#endif /* RELAY_H */
