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

#include <string.h>
#include <unistd.h>

#include "gen.h"
#include "log.h"
#include "sniproxyd.h"

/*
 * A QUIC flow, once routed, gets a socket of its own bound to the same
 * address and port and connected to the client, so that the kernel
 * hands its datagrams to the worker: SO_REUSEADDR lets the accept
 * process bind it although it runs as another user than the one that
 * bound this socket.  The destination address of each datagram tells
 * the flow's own address when listening on every address.
 */
static int
listener_bind_udp(struct listener *l)
{
	int	 one = 1, fd;

	fd = socket(l->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("%s:%d: socket", l->file, l->line);
		return (-1);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1 ||
	    (l->ss.ss_family == AF_INET && setsockopt(fd, IPPROTO_IP,
	    IP_PKTINFO, &one, sizeof(one)) == -1) ||
	    (l->ss.ss_family == AF_INET6 && (setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1 || setsockopt(fd,
	    IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) == -1)) ||
	    bind(fd, (struct sockaddr *)&l->ss, l->sslen) == -1) {
		log_warn("%s:%d: listen on udp %s", l->file, l->line, l->name);
		close(fd);
		return (-1);
	}
	l->fd = fd;
	log_debug("listening on udp %s", l->name);
	return (0);
}

static int
listener_bind(struct listener *l)
{
	int	 one = 1, fd;

	if (l->udp)
		return (listener_bind_udp(l));
	fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("%s:%d: socket", l->file, l->line);
		return (-1);
	}
	/* Accepted sockets inherit TCP_NODELAY: no system call each. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == -1 ||
	    (l->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (struct sockaddr *)&l->ss, l->sslen) == -1 ||
	    listen(fd, l->rs->backlog ? l->rs->backlog : SOMAXCONN) == -1) {
		log_warn("%s:%d: listen on %s", l->file, l->line, l->name);
		close(fd);
		return (-1);
	}
	l->fd = fd;
	log_debug("listening on %s", l->name);
	return (0);
}

/*
 * Gives the new configuration its listening sockets: those it shares
 * with the running one move over as they are, so no connection is
 * refused during a reload; only new addresses are bound.
 */
int
listeners_take(struct config *conf, struct config *old)
{
	struct listener	*l, *o;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->fd != -1)
			continue;
		o = NULL;
		if (old != NULL)
			TAILQ_FOREACH(o, &old->listeners, entry)
				if (o->fd != -1 && o->udp == l->udp &&
				    strcmp(o->name, l->name) == 0)
					break;
		if (o != NULL) {
			l->fd = o->fd;
			o->fd = -1;
		} else if (listener_bind(l) == -1)
			return (-1);
	}
	return (0);
}

/* Undoes listeners_take() for a configuration that will not be used. */
void
listeners_give_back(struct config *conf, struct config *old)
{
	struct listener	*l, *o;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->fd == -1)
			continue;
		o = NULL;
		if (old != NULL)
			TAILQ_FOREACH(o, &old->listeners, entry)
				if (o->fd == -1 && o->udp == l->udp &&
				    strcmp(o->name, l->name) == 0)
					break;
		if (o != NULL)
			o->fd = l->fd;
		else
			close(l->fd);
		l->fd = -1;
	}
}

void
listeners_close(struct config *conf)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (l->fd != -1) {
			close(l->fd);
			l->fd = -1;
		}
}
