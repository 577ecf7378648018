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
 * Both ends of one TLS connection for the integration tests.  Each side
 * sends a known pseudo-random stream ("up" from the client, "down" from
 * the server) while it reads the other's and compares it byte for byte,
 * so that a proxy in between is caught if it loses, reorders, duplicates
 * or invents a single byte, in either direction, at any size.
 *
 * Both directions move at once, from one poll(2) loop, so the relay has
 * to carry full-duplex traffic; one that stalls when both directions are
 * busy shows up as a timeout.
 *
 * The end of a stream is a TLS close_notify followed by shutdown(2) of
 * the write side, so the TCP half-close passes through the proxy too.
 * With -h the client does that as soon as it has sent everything, and
 * with -w the server sends nothing before both the close_notify and the
 * FIN have arrived: together they check that the proxy passes a
 * half-close on and still carries the other direction to its end.
 *
 * -n is the length of the up stream and -N that of the down stream (-n
 * when not given), -a the address to listen on or connect to
 * (127.0.0.1), -t the longest wait for the peer, in seconds (60).  The
 * exit status is 0 only when every byte came as expected.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#define CHUNK		(64 * 1024)
#define MAXBYTES	(1LL << 40)

/* A deterministic byte stream: splitmix64, seeded from a name. */
struct stream {
	uint64_t	 state;
	uint64_t	 word;
	int		 left;		/* bytes of word unused */
};

struct peer {
	const char	*role;
	struct tls	*tls;
	int		 fd;
	int		 timeout_ms;
	int		 waiteof;	/* send only after the peer's end */
	int		 halfclose;	/* end once all is sent */
	struct stream	 out;
	struct stream	 in;
	long long	 nout;
	long long	 nin;
	long long	 sent;
	long long	 got;
	int		 eof;		/* the close_notify came */
	int		 fin;		/* and its FIN after it */
	int		 closed;	/* our end has been sent */
	size_t		 ooff;
	size_t		 olen;
	uint8_t		 obuf[CHUNK];
	uint8_t		 ibuf[CHUNK];
	uint8_t		 ebuf[CHUNK];
};

static void	usage(void) __attribute__((__noreturn__));

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tlspeer server -p port -c cert -k key -n bytes [-N bytes]"
	    " [-a addr]\n"
	    "               [-t seconds] [-w]\n"
	    "       tlspeer client -p port -s sni -C cafile -n bytes"
	    " [-N bytes] [-a addr]\n"
	    "               [-t seconds] [-h]\n");
	exit(2);
}

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t	 z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

static void
stream_init(struct stream *st, const char *seed)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;

	/* FNV-1a of the name, so "up" and "down" never look alike. */
	while (*seed != '\0') {
		h ^= (uint8_t)*seed++;
		h *= 0x100000001b3ULL;
	}
	st->state = h;
	st->word = 0;
	st->left = 0;
}

static void
stream_fill(struct stream *st, uint8_t *buf, size_t len)
{
	while (len > 0) {
		if (st->left == 0) {
			st->word = splitmix64(&st->state);
			st->left = 8;
		}
		*buf++ = st->word & 0xff;
		st->word >>= 8;
		st->left--;
		len--;
	}
}

static long long
number(const char *s, const char *what)
{
	const char	*errstr;
	long long	 n;

	n = strtonum(s, 0, MAXBYTES, &errstr);
	if (errstr != NULL)
		errx(2, "%s %s: %s", what, s, errstr);
	return (n);
}

static int
peer_addr(const char *addr, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return (0);
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return (0);
	}
	return (-1);
}

static void
set_nonblock(int fd)
{
	int	 flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		err(1, "fcntl");
}

static void
peer_wait(struct peer *p, short events, const char *doing)
{
	struct pollfd	 pfd;
	int		 rv;

	pfd.fd = p->fd;
	pfd.events = events;
	while ((rv = poll(&pfd, 1, p->timeout_ms)) == -1 && errno == EINTR)
		;
	if (rv == -1)
		err(1, "%s: poll", p->role);
	if (rv == 0)
		errx(1, "%s: timed out %s after %d s: sent %lld of %lld, "
		    "received %lld of %lld", p->role, doing,
		    p->timeout_ms / 1000, p->sent, p->nout, p->got, p->nin);
}

/* Compares what arrived with what should have; exits at a difference. */
static void
peer_check(struct peer *p, size_t n)
{
	size_t	 i;

	if ((long long)n > p->nin - p->got)
		errx(1, "%s: received more than the %lld bytes expected",
		    p->role, p->nin);
	stream_fill(&p->in, p->ebuf, n);
	if (memcmp(p->ibuf, p->ebuf, n) == 0) {
		p->got += n;
		return;
	}
	for (i = 0; i < n && p->ibuf[i] == p->ebuf[i]; i++)
		;
	errx(1, "%s: mismatch at offset %lld: received 0x%02x, expected "
	    "0x%02x", p->role, p->got + (long long)i, p->ibuf[i], p->ebuf[i]);
}

/* Returns 1 when bytes moved, 0 when waiting, and sets *events. */
static int
peer_read(struct peer *p, short *events)
{
	ssize_t	 n;

	n = tls_read(p->tls, p->ibuf, sizeof(p->ibuf));
	if (n == TLS_WANT_POLLIN) {
		*events |= POLLIN;
		return (0);
	}
	if (n == TLS_WANT_POLLOUT) {
		*events |= POLLOUT;
		return (0);
	}
	if (n == -1)
		errx(1, "%s: read at offset %lld: %s", p->role, p->got,
		    tls_error(p->tls));
	if (n == 0) {
		if (p->got != p->nin)
			errx(1, "%s: end of stream after %lld of %lld bytes",
			    p->role, p->got, p->nin);
		p->eof = 1;
		return (1);
	}
	peer_check(p, n);
	return (1);
}

static int
peer_write(struct peer *p, short *events)
{
	ssize_t	 n;

	if (p->ooff == p->olen) {
		p->olen = sizeof(p->obuf);
		if ((long long)p->olen > p->nout - p->sent)
			p->olen = p->nout - p->sent;
		stream_fill(&p->out, p->obuf, p->olen);
		p->ooff = 0;
	}
	n = tls_write(p->tls, p->obuf + p->ooff, p->olen - p->ooff);
	if (n == TLS_WANT_POLLIN) {
		*events |= POLLIN;
		return (0);
	}
	if (n == TLS_WANT_POLLOUT) {
		*events |= POLLOUT;
		return (0);
	}
	if (n == -1)
		errx(1, "%s: write at offset %lld: %s", p->role, p->sent,
		    tls_error(p->tls));
	p->ooff += n;
	p->sent += n;
	return (1);
}

/*
 * close_notify first, so that the peer sees a clean end of the TLS
 * stream, then the TCP FIN, which is what the proxy has to pass on.
 */
static int
peer_close(struct peer *p, short *events)
{
	int	 rv;

	rv = tls_close(p->tls);
	if (rv == TLS_WANT_POLLIN) {
		*events |= POLLIN;
		return (0);
	}
	if (rv == TLS_WANT_POLLOUT) {
		*events |= POLLOUT;
		return (0);
	}
	if (rv == -1)
		errx(1, "%s: close: %s", p->role, tls_error(p->tls));
	if (shutdown(p->fd, SHUT_WR) == -1)
		err(1, "%s: shutdown", p->role);
	p->closed = 1;
	return (1);
}

/*
 * The FIN that follows the peer's close_notify.  Nothing may come in
 * between; the TLS library does not read past the close_notify record.
 */
static void
peer_wait_fin(struct peer *p)
{
	ssize_t	 n;
	char	 c;

	for (;;) {
		if ((n = read(p->fd, &c, 1)) == 0)
			break;
		if (n > 0)
			errx(1, "%s: bytes after the close_notify", p->role);
		if (errno != EAGAIN && errno != EINTR)
			err(1, "%s: read", p->role);
		peer_wait(p, POLLIN, "waiting for the FIN");
	}
	p->fin = 1;
}

static int
peer_may_close(const struct peer *p)
{
	if (p->closed || p->sent < p->nout)
		return (0);
	if (p->halfclose || p->eof)
		return (1);
	/* The client ends once it has everything; the server waits. */
	return (strcmp(p->role, "client") == 0 && p->got == p->nin);
}

static void
peer_run(struct peer *p)
{
	short	 events;
	int	 moved, rv;

	for (;;) {
		if ((rv = tls_handshake(p->tls)) == 0)
			break;
		if (rv == TLS_WANT_POLLIN)
			peer_wait(p, POLLIN, "in the handshake");
		else if (rv == TLS_WANT_POLLOUT)
			peer_wait(p, POLLOUT, "in the handshake");
		else
			errx(1, "%s: handshake: %s", p->role,
			    tls_error(p->tls));
	}
	while (!p->eof || !p->closed) {
		events = 0;
		moved = 0;
		if (!p->eof)
			moved |= peer_read(p, &events);
		if (p->eof && p->waiteof && !p->fin)
			peer_wait_fin(p);
		if (p->sent < p->nout && (!p->waiteof || p->fin))
			moved |= peer_write(p, &events);
		if (peer_may_close(p))
			moved |= peer_close(p, &events);
		if (!moved && events != 0)
			peer_wait(p, events, "relaying");
	}
	close(p->fd);
	tls_free(p->tls);
	printf("%s: sent %lld, received %lld, all as expected\n", p->role,
	    p->sent, p->got);
}

static struct tls_config *
config_new(void)
{
	struct tls_config	*cfg;

	if (tls_init() == -1)
		errx(1, "tls_init");
	if ((cfg = tls_config_new()) == NULL)
		errx(1, "tls_config_new");
	return (cfg);
}

static void
serve(struct peer *p, struct sockaddr_storage *ss, socklen_t sslen,
    const char *cert, const char *key)
{
	struct tls_config	*cfg;
	struct tls		*tls;
	int			 lfd, one = 1;

	cfg = config_new();
	if (tls_config_set_cert_file(cfg, cert) == -1 ||
	    tls_config_set_key_file(cfg, key) == -1)
		errx(1, "%s", tls_config_error(cfg));
	if ((tls = tls_server()) == NULL)
		errx(1, "tls_server");
	if (tls_configure(tls, cfg) == -1)
		errx(1, "tls_configure: %s", tls_error(tls));

	if ((lfd = socket(ss->ss_family, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		err(1, "SO_REUSEADDR");
	if (bind(lfd, (struct sockaddr *)ss, sslen) == -1)
		err(1, "bind");
	if (listen(lfd, 1) == -1)
		err(1, "listen");
	p->fd = lfd;
	peer_wait(p, POLLIN, "waiting for a connection");
	if ((p->fd = accept(lfd, NULL, NULL)) == -1)
		err(1, "accept");
	close(lfd);
	set_nonblock(p->fd);
	if (tls_accept_socket(tls, &p->tls, p->fd) == -1)
		errx(1, "tls_accept_socket: %s", tls_error(tls));
	peer_run(p);
	tls_free(tls);
	tls_config_free(cfg);
}

static void
connect_to(struct peer *p, struct sockaddr_storage *ss, socklen_t sslen,
    const char *sni, const char *cafile)
{
	struct tls_config	*cfg;

	cfg = config_new();
	if (tls_config_set_ca_file(cfg, cafile) == -1)
		errx(1, "%s", tls_config_error(cfg));
	if ((p->tls = tls_client()) == NULL)
		errx(1, "tls_client");
	if (tls_configure(p->tls, cfg) == -1)
		errx(1, "tls_configure: %s", tls_error(p->tls));
	if ((p->fd = socket(ss->ss_family, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (connect(p->fd, (struct sockaddr *)ss, sslen) == -1)
		err(1, "connect");
	set_nonblock(p->fd);
	if (tls_connect_socket(p->tls, p->fd, sni) == -1)
		errx(1, "tls_connect_socket: %s", tls_error(p->tls));
	peer_run(p);
	tls_config_free(cfg);
}

int
main(int argc, char *argv[])
{
	static struct peer	 peer;
	struct peer		*p = &peer;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*addr = "127.0.0.1", *errstr;
	const char		*cert = NULL, *key = NULL;
	const char		*sni = NULL, *cafile = NULL;
	long long		 port = -1, nup = -1, ndown = -1;
	int			 ch, server;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "server") == 0)
		server = 1;
	else if (strcmp(argv[1], "client") == 0)
		server = 0;
	else
		usage();
	p->role = argv[1];
	p->timeout_ms = 60 * 1000;
	argc--;
	argv++;
	while ((ch = getopt(argc, argv, "a:C:c:hk:N:n:p:s:t:w")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'C':
			cafile = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'h':
			p->halfclose = 1;
			break;
		case 'k':
			key = optarg;
			break;
		case 'N':
			ndown = number(optarg, "byte count");
			break;
		case 'n':
			nup = number(optarg, "byte count");
			break;
		case 'p':
			port = strtonum(optarg, 1, 65535, &errstr);
			if (errstr != NULL)
				errx(2, "port %s: %s", optarg, errstr);
			break;
		case 's':
			sni = optarg;
			break;
		case 't':
			p->timeout_ms = strtonum(optarg, 1, 3600, &errstr) *
			    1000;
			if (errstr != NULL)
				errx(2, "timeout %s: %s", optarg, errstr);
			break;
		case 'w':
			p->waiteof = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || port == -1 || nup == -1)
		usage();
	if (ndown == -1)
		ndown = nup;
	if (peer_addr(addr, port, &ss, &sslen) == -1)
		errx(2, "%s: not a numeric address", addr);

	if (server) {
		if (cert == NULL || key == NULL || sni != NULL ||
		    cafile != NULL || p->halfclose)
			usage();
		stream_init(&p->out, "down");
		stream_init(&p->in, "up");
		p->nout = ndown;
		p->nin = nup;
		serve(p, &ss, sslen, cert, key);
	} else {
		if (sni == NULL || cafile == NULL || cert != NULL ||
		    key != NULL || p->waiteof)
			usage();
		stream_init(&p->out, "up");
		stream_init(&p->in, "down");
		p->nout = nup;
		p->nin = ndown;
		connect_to(p, &ss, sslen, sni, cafile);
	}
	return (0);
}
