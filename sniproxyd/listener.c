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
#include <linux/filter.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "gen.h"
#include "log.h"
#include "sniproxyd.h"

/*
 * Each accept process has a listening socket of its own on every
 * address, all in one SO_REUSEPORT group.  The kernel numbers the
 * sockets of a group in the order they joined it, and a classic BPF
 * program attached to the group picks one by that number: here a hash
 * of the client's address, an IPv6 one by its /64 as the limits count
 * it, so that every connection and datagram of a client goes to the
 * same accept process and its limits per source need no sharing.
 * Loads at SKF_NET_OFF reach the IP header.  The hash is Fibonacci
 * hashing: the address times 2^32 over the golden ratio, of which the
 * high half depends on every bit of the address, low ones included.
 */
#define STEER_MIX	0x9e3779b1U

size_t
listener_steer_prog(struct sock_filter *p, int family, unsigned int n)
{
	size_t	 i = 0;

	if (family == AF_INET)
		p[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    SKF_NET_OFF + 12);
	else {
		p[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    SKF_NET_OFF + 8);
		p[i++] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0);
		p[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    SKF_NET_OFF + 12);
		p[i++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_XOR | BPF_X,
		    0);
	}
	p[i++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MUL | BPF_K,
	    STEER_MIX);
	p[i++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16);
	p[i++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n);
	p[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
	return (i);
}

/*
 * Without the program, as on a kernel too old for it, the sockets
 * still share the load, by the kernel's own hash of address and port;
 * the limits per source are then each accept process's own.
 */
static void
listener_steer(struct listener *l, unsigned int n)
{
	static int		 warned;
	struct sock_filter	 code[STEER_PROG_MAX];
	struct sock_fprog	 prog;

	/* Padding follows len: all of it goes to the kernel. */
	memset(&prog, 0, sizeof(prog));
	prog.len = listener_steer_prog(code, l->ss.ss_family, n);
	prog.filter = code;
	if (setsockopt(l->fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF,
	    &prog, sizeof(prog)) == -1 && n > 1 && !warned) {
		log_warn("%s:%d: listen on %s: cannot steer clients to accept "
		    "processes by address", l->file, l->line, l->name);
		warned = 1;
	}
}

/*
 * A socket bound to the listener's address.  The sockets of the accept
 * processes share it (group: SO_REUSEPORT).  A QUIC flow, once routed,
 * gets a socket of its own bound to the same address and port and
 * connected to the client, so that the kernel hands its datagrams to
 * the worker: SO_REUSEADDR lets the accept process bind it although it
 * runs as another user than the one that bound the group.  A probe
 * shares the address with nobody, and a UDP probe goes without
 * SO_REUSEADDR too, which alone lets two UDP sockets share it.
 */
static int
listener_socket(const struct listener *l, int group)
{
	int	 one = 1, fd, saved;

	if ((fd = socket(l->ss.ss_family, (l->udp ? SOCK_DGRAM :
	    SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (((group || !l->udp) && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR,
	    &one, sizeof(one)) == -1) ||
	    (group && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1) ||
	    (l->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (const struct sockaddr *)&l->ss, l->sslen) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (fd);
}

/*
 * Accepted sockets inherit TCP_NODELAY: no system call each.  UDP
 * listeners learn each datagram's destination, which tells the flow's
 * own address when listening on every address.
 */
static int
listener_ready(const struct listener *l, int fd)
{
	int	 one = 1;

	if (l->udp)
		return ((l->ss.ss_family == AF_INET && setsockopt(fd,
		    IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == -1) ||
		    (l->ss.ss_family == AF_INET6 && setsockopt(fd,
		    IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) == -1) ?
		    -1 : 0);
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ==
	    -1 || listen(fd, l->rs->backlog ? l->rs->backlog : SOMAXCONN) ==
	    -1)
		return (-1);
	return (0);
}

static int
listener_bind(struct listener *l)
{
	int	 fd;

	if ((fd = listener_socket(l, 1)) == -1 ||
	    listener_ready(l, fd) == -1) {
		log_warn("%s:%d: listen on %s%s", l->file, l->line,
		    l->udp ? "udp " : "", l->name);
		if (fd != -1)
			close(fd);
		return (-1);
	}
	log_debug("listening on %s%s", l->udp ? "udp " : "", l->name);
	return (fd);
}

/*
 * Before the group of a new address is made: a socket of another
 * program, or of another sniproxyd, must make the start or the reload
 * fail as a plain bind would, rather than share the port unseen.
 */
static int
listener_probe(const struct listener *l)
{
	int	 fd;

	if ((fd = listener_socket(l, 0)) == -1) {
		log_warn("%s:%d: listen on %s%s", l->file, l->line,
		    l->udp ? "udp " : "", l->name);
		return (-1);
	}
	close(fd);
	return (0);
}

static struct listener *
listener_same(const struct listener *l, struct config *old)
{
	struct listener	*o;

	if (old == NULL)
		return (NULL);
	TAILQ_FOREACH(o, &old->listeners, entry)
		if (o->udp == l->udp && strcmp(o->name, l->name) == 0)
			return (o);
	return (NULL);
}

/*
 * Gives the new configuration its listening sockets: those it shares
 * with the running one move over as they are, so no connection is
 * refused during a reload; only new addresses, and the sockets of
 * accept processes the running one did not have, are bound.  Those
 * join the group after the ones that moved, which keep their place in
 * it; the ones the new configuration has no use for stay with the old
 * and close with it, the last of the group first.
 */
int
listeners_take(struct config *conf, struct config *old)
{
	struct listener	*l, *o;
	int		 i;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if ((o = listener_same(l, old)) == NULL && l->fds[0] == -1 &&
		    listener_probe(l) == -1)
			return (-1);
		for (i = 0; i < conf->naccept; i++) {
			if (l->fds[i] != -1)
				continue;
			if (o != NULL && o->fds[i] != -1) {
				l->fds[i] = o->fds[i];
				o->fds[i] = -1;
			} else if ((l->fds[i] = listener_bind(l)) == -1)
				return (-1);
		}
		listener_steer(l, conf->naccept);
	}
	return (0);
}

/*
 * Undoes listeners_take() for a configuration that will not be used:
 * sockets bound for it close from the last, so that the running
 * configuration's keep their places in the group.
 */
void
listeners_give_back(struct config *conf, struct config *old)
{
	struct listener	*l, *o;
	int		 i;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		o = listener_same(l, old);
		for (i = ACCEPT_MAX - 1; i >= 0; i--) {
			if (l->fds[i] == -1)
				continue;
			if (o != NULL && o->fds[i] == -1 && i < old->naccept)
				o->fds[i] = l->fds[i];
			else
				close(l->fds[i]);
			l->fds[i] = -1;
		}
		if (o != NULL && o->fds[0] != -1)
			listener_steer(o, old->naccept);
	}
}

void
listeners_close(struct config *conf)
{
	struct listener	*l;
	int		 i;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		for (i = ACCEPT_MAX - 1; i >= 0; i--)
			if (l->fds[i] != -1) {
				close(l->fds[i]);
				l->fds[i] = -1;
			}
}
