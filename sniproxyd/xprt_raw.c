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
#include <fcntl.h>
#include <unistd.h>

#include "relay.h"

/*
 * The plain socket.  Its calls say more than their results: a short
 * read emptied the socket and a short send filled it, so that until
 * the next edge another call would only get EAGAIN, and is not made.
 * A read that empties the socket after the peer's FIN came (hup) is
 * the last one: the next would return 0.
 */

static ssize_t
raw_read(struct end *e, void *buf, size_t len)
{
	ssize_t	 n;

	while ((n = read(e->fd, buf, len)) == -1 && errno == EINTR)
		;
	if (n == -1) {
		if (errno != EAGAIN)
			return (-2);
		e->readable = 0;
		return (-1);
	}
	if (n > 0 && (size_t)n < len) {
		e->readable = 0;
		e->eof = e->hup;
	}
	return (n);
}

static ssize_t
raw_write(struct end *e, const void *buf, size_t len)
{
	ssize_t	 n;

	while ((n = send(e->fd, buf, len, MSG_NOSIGNAL)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1) {
		if (errno != EAGAIN)
			return (-2);
		e->writable = 0;
		return (-1);
	}
	if ((size_t)n < len)
		e->writable = 0;
	return (n);
}

/* A splice may stop short for want of pipe slots, and tells nothing. */
static ssize_t
raw_splice_in(struct end *e, int pipefd, size_t len)
{
	ssize_t	 n;

	while ((n = splice(e->fd, NULL, pipefd, NULL, len,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK)) == -1 && errno == EINTR)
		;
	if (n == -1) {
		if (errno != EAGAIN)
			return (-2);
		e->readable = 0;
		return (-1);
	}
	return (n);
}

static ssize_t
raw_splice_out(struct end *e, int pipefd, size_t len)
{
	ssize_t	 n;

	while ((n = splice(pipefd, NULL, e->fd, NULL, len,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK)) == -1 && errno == EINTR)
		;
	if (n == -1) {
		if (errno != EAGAIN)
			return (-2);
		e->writable = 0;
		return (-1);
	}
	return (n);
}

static void
raw_shutdown(struct end *e, int last)
{
	if (!last)
		shutdown(e->fd, SHUT_WR);
}

const struct xprt_ops xprt_raw = {
	.read = raw_read,
	.write = raw_write,
	.splice_in = raw_splice_in,
	.splice_out = raw_splice_out,
	.shutdown = raw_shutdown
};
