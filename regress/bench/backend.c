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

/*
 * Benchmark backend.  It does not speak TLS: a passthrough proxy hands
 * the client's bytes over untouched, so reading one TLS record (the
 * ClientHello) is enough.  A proxy that terminates TLS hands over the
 * plaintext instead, which the client makes one line; a first byte
 * that cannot begin a handshake record tells the two apart.  Either
 * way it then answers "NAME\n" (with -s, padded with spaces before the
 * newline to that many bytes) so that the client can tell which
 * backend it reached, and waits for one command byte: 'D' makes it
 * send bulk data until the client goes away, 'U' makes it read and
 * discard until EOF; EOF alone ends a short connection.
 *
 * usage: backend -n name -p port [-a address] [-s size]
 *
 * Several processes may serve one port (SO_REUSEPORT).
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define BULK		(256 * 1024)
#define TLS_HDR		5
#define TLS_HANDSHAKE	22		/* record type */
#define MAXLINE		1024		/* of a plaintext request */

enum bstate {
	ST_HELLO,
	ST_CMD,
	ST_SOURCE,
	ST_SINK
};

struct bconn {
	int		 fd;
	enum bstate	 state;
	size_t		 got;
	size_t		 need;
	int		 line;		/* plaintext request */
	uint8_t		 hdr[TLS_HDR];
	struct event	*ev;
};

static struct event_base	*base;
static char			*reply;
static size_t			 replylen;
static uint8_t			*bulk;		/* sent */
static uint8_t			*rbuf;		/* read and dropped */

static void	conn_event(int, short, void *);
static void	usage(void) __attribute__((__noreturn__));

static void
conn_free(struct bconn *c)
{
	event_free(c->ev);
	close(c->fd);
	free(c);
}

/* Counts the bytes of the first TLS record.  Returns 1 once it is all in. */
static int
hello_take(struct bconn *c, const uint8_t *p, size_t n, size_t *used)
{
	size_t	 i = 0, take;

	while (i < n && c->got < TLS_HDR)
		c->hdr[c->got++] = p[i++];
	*used = i;
	if (c->got < TLS_HDR)
		return (0);
	if (c->need == 0)
		c->need = TLS_HDR + ((size_t)c->hdr[3] << 8 | c->hdr[4]);
	take = c->need - c->got;
	if (take > n - i)
		take = n - i;
	c->got += take;
	*used = i + take;
	return (c->got == c->need);
}

/*
 * Takes the client's request: a TLS record or a line.  Returns 1 once
 * it is all in, 0 while more is wanted, -1 when the line is too long.
 */
static int
request_take(struct bconn *c, const uint8_t *p, size_t n, size_t *used)
{
	const uint8_t	*nl;

	if (c->got == 0 && p[0] != TLS_HANDSHAKE)
		c->line = 1;
	if (!c->line)
		return (hello_take(c, p, n, used));
	if ((nl = memchr(p, '\n', n)) == NULL) {
		c->got += n;
		*used = n;
		return (c->got > MAXLINE ? -1 : 0);
	}
	*used = nl - p + 1;
	return (1);
}

static int
conn_command(struct bconn *c, uint8_t cmd)
{
	switch (cmd) {
	case 'D':
		c->state = ST_SOURCE;
		event_del(c->ev);
		event_assign(c->ev, base, c->fd, EV_WRITE | EV_PERSIST,
		    conn_event, c);
		event_add(c->ev, NULL);
		return (0);
	case 'U':
		c->state = ST_SINK;
		return (0);
	default:
		return (-1);
	}
}

static void
conn_source(struct bconn *c)
{
	ssize_t	 n;
	int	 i;

	for (i = 0; i < 8; i++) {
		n = send(c->fd, bulk, BULK, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_free(c);
			return;
		}
		if (n < BULK)
			return;
	}
}

static void
conn_event(int fd, short events, void *arg)
{
	struct bconn	*c = arg;
	uint8_t		*buf = rbuf;
	size_t		 used, off;
	ssize_t		 n, sent;
	int		 rv;

	(void)events;
	if (c->state == ST_SOURCE) {
		conn_source(c);
		return;
	}
	n = read(fd, buf, BULK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(c);
		return;
	}
	off = 0;
	if (c->state == ST_HELLO) {
		rv = request_take(c, buf, (size_t)n, &used);
		if (rv == -1) {
			conn_free(c);
			return;
		}
		if (rv == 0)
			return;
		off = used;
		sent = send(fd, reply, replylen, MSG_NOSIGNAL);
		if (sent != (ssize_t)replylen) {
			conn_free(c);
			return;
		}
		c->state = ST_CMD;
	}
	if (c->state == ST_CMD && off < (size_t)n) {
		if (conn_command(c, buf[off]) == -1) {
			conn_free(c);
			return;
		}
		if (c->state == ST_SOURCE)
			conn_source(c);
	}
}

static void
listen_ready(int lfd, short events, void *arg)
{
	struct bconn	*c;
	int		 fd, i;

	(void)events;
	(void)arg;
	for (i = 0; i < 64; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				warn("accept");
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = ST_HELLO;
		if ((c->ev = event_new(base, fd, EV_READ | EV_PERSIST,
		    conn_event, c)) == NULL) {
			close(fd);
			free(c);
			continue;
		}
		event_add(c->ev, NULL);
	}
}

static void
quit(int sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	(void)arg;
	event_base_loopbreak(base);
}

static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: backend -n name -p port [-a address] [-s size]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	struct event		*ev_listen, *ev_term, *ev_int;
	const char		*name = NULL, *addr = "127.0.0.1", *errstr;
	int			 ch, fd, one = 1, port = 0;
	size_t			 size = 0;

	while ((ch = getopt(argc, argv, "a:n:p:s:")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'p':
			port = strtonum(optarg, 1, 65535, &errstr);
			if (errstr != NULL)
				errx(1, "port %s: %s", optarg, errstr);
			break;
		case 's':
			size = strtonum(optarg, 1, BULK, &errstr);
			if (errstr != NULL)
				errx(1, "size %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	if (name == NULL || port == 0 || optind != argc)
		usage();
	replylen = strlen(name) + 1;
	if (size > replylen)
		replylen = size;
	if ((reply = malloc(replylen)) == NULL)
		err(1, "malloc");
	memset(reply, ' ', replylen);
	memcpy(reply, name, strlen(name));
	reply[replylen - 1] = '\n';
	if ((bulk = malloc(BULK)) == NULL || (rbuf = malloc(BULK)) == NULL)
		err(1, "malloc");
	memset(bulk, 'x', BULK);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		errx(1, "bad address %s", addr);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		err(1, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		err(1, "setsockopt");
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "bind %s:%d", addr, port);
	if (listen(fd, 4096) == -1)
		err(1, "listen");

	if ((base = event_base_new()) == NULL)
		errx(1, "event_base_new");
	ev_listen = event_new(base, fd, EV_READ | EV_PERSIST, listen_ready,
	    NULL);
	ev_term = evsignal_new(base, SIGTERM, quit, NULL);
	ev_int = evsignal_new(base, SIGINT, quit, NULL);
	if (ev_listen == NULL || ev_term == NULL || ev_int == NULL)
		errx(1, "event_new");
	event_add(ev_listen, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_base_dispatch(base);
	return (0);
}
