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

struct conn;
struct end;
struct event;
struct proxy_tlv_ssl;
struct rule;

/*
 * A transport: how bytes cross one end of a connection, a plain socket
 * or TLS over it, after HAProxy's xprt_ops.  The relay owns the socket
 * and its events and tells the end what they said (readable,
 * writable); a transport clears those when the socket says it can do
 * no more, and the relay waits for the next edge.
 *
 * read and write return the bytes moved, 0 at EOF (read), -1 when the
 * end waits for an event (readable or writable is then clear), -2 on
 * error with errno set.  The splices move between the socket and a
 * pipe, and are NULL where the transport cannot.  handshake returns 1
 * when done, 0 when waiting, -1 on failure, and is NULL where there is
 * none.  pending tells whether the transport holds bytes read ahead
 * that no event will announce.  shutdown closes the write side; last,
 * the connection ends now and close(2) will send the FIN.  close frees
 * what the transport holds, not the socket.
 */
struct xprt_ops {
	int	(*handshake)(struct end *);
	ssize_t	(*read)(struct end *, void *, size_t);
	ssize_t	(*write)(struct end *, const void *, size_t);
	ssize_t	(*splice_in)(struct end *, int, size_t);
	ssize_t	(*splice_out)(struct end *, int, size_t);
	int	(*pending)(const struct end *);
	void	(*shutdown)(struct end *, int);
	void	(*close)(struct end *);
};

struct end {
	const struct xprt_ops	*ops;
	void			*ctx;		/* the transport's own */
	int			 fd;
	int			 readable;	/* the socket may have bytes */
	int			 writable;	/* the socket takes more */
	int			 hup;		/* the peer sent its FIN */
	int			 eof;		/* read to the end */
	int			 shut;		/* our write side is closed */
	struct conn		*conn;
	struct event		*ev;
	struct event		*ev_out;	/* the client's, once full */
};

/* xprt_raw.c */
extern const struct xprt_ops	 xprt_raw;

/* tls.c: the worker's contexts, and ends that take TLS on */
int	tls_worker_keypair(const void *, size_t);
int	tls_worker_ready(const struct rule *);
int	tls_end_accept(struct end *);
int	tls_end_connect(struct end *, const char *);
const char *tls_end_error(const struct end *);
const char *tls_end_agreed(const struct end *, char *, size_t);
void	tls_end_session(const struct end *, struct proxy_tlv_ssl *,
	    const char **, char *, size_t);

#endif /* RELAY_H */
