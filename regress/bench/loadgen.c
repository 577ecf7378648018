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
 * Benchmark load generator.  Every connection sends a real ClientHello,
 * made from a captured one with its server_name replaced, and reads the
 * line the backend answers with, which names the backend.  A connection
 * that reached the wrong backend is counted as a misroute and is not a
 * data point.
 *
 * With -t the proxy terminates TLS: every connection completes a full
 * TLS 1.3 handshake with libtls, naming the route in its server_name,
 * sends a request line through it and reads the answer the same way.
 * In stream mode the command byte follows the line in the same record,
 * and the bulk data comes back through TLS.
 *
 * usage: loadgen -m mode -H hello.bin -r sni=backend[:port] ...
 *            [-a address] [-p port] [-c conns] [-d seconds] [-j procs]
 *            [-k conns] [-N conns] [-n streams] [-s sources] [-T seconds]
 *            [-u] [-w seconds]
 *        loadgen -t -m probe|rate|stream -r sni=backend[:port] ...
 *            [-a address] [-p port] [-c conns] [-d seconds] [-j procs]
 *            [-n streams] [-T seconds] [-w seconds]
 *
 * Modes:
 *   probe   one connection per route, retried until all are right or
 *           -T seconds have passed; exits 0 when all were right once
 *   rate    -c connections at once, each connect, hello, answer, close,
 *           for -w seconds of warm-up and then -d measured seconds;
 *           with -j, shared among that many processes; with -N, only
 *           that many connections in all (or fewer if -d ends first)
 *   stream  -n connections that, after the answer, receive bulk data
 *           (send it with -u) for -w and then -d seconds
 *   idle    opens -k connections, prints "ready" once they are all
 *           established, then holds them until SIGTERM or -d seconds
 *
 * With -s, the connections come from that many source addresses,
 * 127.0.0.1 onwards, in turn.
 *
 * The answer is the backend's name on a line, which may be padded with
 * spaces to make a larger answer; all of it is read before the close.
 *
 * Each mode ends with one line of key=value pairs on standard output.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <tls.h>

#define MAXROUTES	16
#define BULK		(256 * 1024)
#define MAXINFLIGHT	256		/* idle mode: connects at once */
#define RETRY_MS	10
#define MAXJOBS		64		/* -j */

enum mode {
	M_PROBE,
	M_RATE,
	M_STREAM,
	M_IDLE
};

enum cstate {
	CS_FREE,
	CS_WAIT,
	CS_CONNECTING,
	CS_HANDSHAKE,
	CS_REQUEST,
	CS_REPLY,
	CS_STREAM,
	CS_HELD
};

struct route {
	char			*sni;
	char			*expect;
	int			 port;
	uint8_t			*hello;
	size_t			 hellolen;
	struct sockaddr_in	 sin;
	int			 ok;		/* probe */
};

struct lconn {
	int			 fd;
	enum cstate		 state;
	struct route		*rt;
	struct tls		*tls;
	uint64_t		 t0;
	char			 rbuf[128];
	size_t			 rlen;
	size_t			 sent;		/* of request */
	struct event		*ev;
};

/* What a run counts, in one process or summed over those of -j. */
struct counts {
	uint64_t	 done_total;
	uint64_t	 err_connect;
	uint64_t	 err_timeout;
	uint64_t	 err_closed;
	uint64_t	 err_tls;
	uint64_t	 err_resumed;
	uint64_t	 misroutes;
};

static struct {
	struct event_base	*base;
	enum mode		 mode;
	struct route		 routes[MAXROUTES];
	size_t			 nroutes;
	size_t			 nextroute;
	struct lconn		*conns;
	size_t			 nconns;
	size_t			 quota;		/* -N; 0: no limit */
	size_t			 left;		/* of the quota, to start */
	size_t			 ended;		/* slots with none left */
	int			 timeout_ms;
	int			 upload;
	unsigned int		 sources;	/* -s; 0: the kernel's */
	unsigned int		 nextsrc;
	uint8_t			*bulk;
	struct tls_config	*tlscfg;	/* -t */
	char			 tlsversion[32];
	char			 tlscipher[64];

	int			 measuring;
	uint64_t		 wstart;
	uint64_t		 wend;
	uint32_t		*lat;
	size_t			 nlat;
	size_t			 latcap;
	struct counts		 n;
	uint64_t		 bytes_total;
	uint64_t		 bytes_wstart;

	int			 resultfd;	/* a process of -j */

	size_t			 k;		/* idle */
	size_t			 launched;
	size_t			 established;
	size_t			 failed;
	size_t			 dropped;
	int			 ready;
	int			 launching;
} lg;

/*
 * -t: sent once the handshake is done, for the backend to answer; in
 * stream mode with the command that asks for bulk data after it.
 */
static const char	*request = "hello\n";
static size_t		 requestlen = 6;

static void	conn_event(int, short, void *);
static void	conn_start(struct lconn *);
static void	conn_stream(struct lconn *);
static int	source_bind(int);
static void	window_close(int, short, void *);
static void	usage(void) __attribute__((__noreturn__));

static uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

static void
tv_ms(struct timeval *tv, uint64_t ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static void
put16(uint8_t *p, size_t v)
{
	p[0] = (v >> 8) & 0xff;
	p[1] = v & 0xff;
}

/*
 * Builds a ClientHello that is the captured one with its server_name
 * extension replaced by one naming sni (put first, where most clients
 * put it), and every length around it fixed up.  The capture must be
 * one TLS record holding the whole hello.
 */
static uint8_t *
hello_with_sni(const uint8_t *t, size_t tlen, const char *sni, size_t *outlen)
{
	uint8_t		*o;
	size_t		 p, ext, extend, e, elen, namelen, snilen, olen, q;

	if (tlen < 5 + 4 + 34 || t[0] != 22 ||
	    5 + (size_t)get16(t + 3) != tlen || t[5] != 1 ||
	    (size_t)(t[6] << 16 | t[7] << 8 | t[8]) + 4 != tlen - 5)
		errx(1, "hello capture is not one record with a whole hello");
	p = 9 + 2 + 32;				/* version, random */
	p += 1 + t[p];				/* session id */
	if (p + 2 > tlen)
		errx(1, "hello capture truncated");
	p += 2 + get16(t + p);			/* cipher suites */
	if (p + 1 > tlen)
		errx(1, "hello capture truncated");
	p += 1 + t[p];				/* compression methods */
	if (p + 2 > tlen || p + 2 + get16(t + p) != tlen)
		errx(1, "hello capture: bad extensions length");
	ext = p + 2;
	extend = tlen;

	namelen = strlen(sni);
	if (namelen == 0 || namelen > 255)
		errx(1, "bad server name %s", sni);
	snilen = 4 + 2 + 1 + 2 + namelen;
	olen = tlen + snilen;
	if ((o = malloc(olen)) == NULL)
		err(1, "malloc");
	memcpy(o, t, ext);
	q = ext;
	put16(o + q, 0);			/* server_name */
	put16(o + q + 2, snilen - 4);
	put16(o + q + 4, snilen - 6);		/* server_name_list */
	o[q + 6] = 0;				/* host_name */
	put16(o + q + 7, namelen);
	memcpy(o + q + 9, sni, namelen);
	q += snilen;
	for (e = ext; e < extend; e += 4 + elen) {
		if (e + 4 > extend)
			errx(1, "hello capture: bad extension");
		elen = get16(t + e + 2);
		if (e + 4 + elen > extend)
			errx(1, "hello capture: bad extension length");
		if (get16(t + e) == 0)
			continue;
		memcpy(o + q, t + e, 4 + elen);
		q += 4 + elen;
	}
	olen = q;
	if (olen - 5 > 16384)
		errx(1, "hello with %s does not fit one record", sni);
	put16(o + 3, olen - 5);
	o[6] = ((olen - 9) >> 16) & 0xff;
	put16(o + 7, olen - 9);
	put16(o + ext - 2, olen - ext);
	*outlen = olen;
	return (o);
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	struct stat	 st;
	uint8_t		*buf;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		err(1, "%s", path);
	if (st.st_size <= 0 || st.st_size > 65536)
		errx(1, "%s: unlikely size", path);
	if ((buf = malloc(st.st_size)) == NULL)
		err(1, "malloc");
	if ((n = read(fd, buf, st.st_size)) != st.st_size)
		errx(1, "%s: short read", path);
	close(fd);
	*len = (size_t)n;
	return (buf);
}

static void
finish(void)
{
	event_base_loopbreak(lg.base);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x < y ? -1 : x > y);
}

static double
pct_ms(double pct)
{
	size_t	 i;

	if (lg.nlat == 0)
		return (0);
	i = (size_t)((lg.nlat - 1) * pct / 100.0 + 0.5);
	return (lg.lat[i] / 1000.0);
}

/* CPU seconds of this process and of the processes of -j it waited for. */
static double
cpu_secs(void)
{
	struct rusage	 self, kids;

	if (getrusage(RUSAGE_SELF, &self) == -1 ||
	    getrusage(RUSAGE_CHILDREN, &kids) == -1)
		err(1, "getrusage");
	return (self.ru_utime.tv_sec + self.ru_stime.tv_sec +
	    kids.ru_utime.tv_sec + kids.ru_stime.tv_sec +
	    (self.ru_utime.tv_usec + self.ru_stime.tv_usec +
	    kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e6);
}

static uint64_t
errors(void)
{
	return (lg.n.err_connect + lg.n.err_timeout + lg.n.err_closed +
	    lg.n.err_tls + lg.n.err_resumed);
}

static void
report(void)
{
	double	 secs = (lg.wend - lg.wstart) / 1e6;

	if (errors() + lg.n.misroutes > 0)
		fprintf(stderr, "loadgen: errors: connect %llu timeout %llu "
		    "closed %llu tls %llu resumed %llu, misroutes %llu\n",
		    (unsigned long long)lg.n.err_connect,
		    (unsigned long long)lg.n.err_timeout,
		    (unsigned long long)lg.n.err_closed,
		    (unsigned long long)lg.n.err_tls,
		    (unsigned long long)lg.n.err_resumed,
		    (unsigned long long)lg.n.misroutes);
	switch (lg.mode) {
	case M_PROBE:
		printf("mode=probe errors=%llu misroutes=%llu",
		    (unsigned long long)errors(),
		    (unsigned long long)lg.n.misroutes);
		if (lg.tlscfg != NULL && lg.tlsversion[0] != '\0')
			printf(" version=%s cipher=%s", lg.tlsversion,
			    lg.tlscipher);
		printf("\n");
		break;
	case M_RATE:
		qsort(lg.lat, lg.nlat, sizeof(*lg.lat), cmp_u32);
		/*
		 * handled counts every connection the proxy took a part in,
		 * warm-up included, for its CPU time per connection; cpu_s is
		 * the load generator's own, over the same connections.
		 */
		printf("mode=rate conns=%zu secs=%.3f rate=%.1f p50_ms=%.3f "
		    "p99_ms=%.3f cpu_s=%.3f handled=%llu errors=%llu "
		    "misroutes=%llu\n",
		    lg.nlat, secs, secs > 0 ? lg.nlat / secs : 0,
		    pct_ms(50), pct_ms(99), cpu_secs(),
		    (unsigned long long)(lg.n.done_total + lg.n.misroutes +
		    lg.n.err_timeout + lg.n.err_closed + lg.n.err_tls +
		    lg.n.err_resumed),
		    (unsigned long long)errors(),
		    (unsigned long long)lg.n.misroutes);
		break;
	case M_STREAM:
		printf("mode=stream streams=%zu secs=%.3f gbps=%.3f "
		    "total_bytes=%llu errors=%llu misroutes=%llu\n",
		    lg.nconns, secs, secs > 0 ?
		    (lg.bytes_total - lg.bytes_wstart) * 8 / secs / 1e9 : 0,
		    (unsigned long long)lg.bytes_total,
		    (unsigned long long)errors(),
		    (unsigned long long)lg.n.misroutes);
		break;
	case M_IDLE:
		printf("mode=idle established=%zu failed=%zu dropped=%zu "
		    "errors=%llu misroutes=%llu\n", lg.established, lg.failed,
		    lg.dropped, (unsigned long long)errors(),
		    (unsigned long long)lg.n.misroutes);
		break;
	}
	fflush(stdout);
}

static void
conn_close(struct lconn *c)
{
	event_del(c->ev);
	if (c->tls != NULL) {
		/*
		 * close_notify as a client sends it, but without waiting for
		 * the peer's: the socket goes right after.
		 */
		tls_close(c->tls);
		tls_free(c->tls);
		c->tls = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	c->state = CS_FREE;
}

static void
idle_check(void)
{
	if (lg.ready || lg.established + lg.failed < lg.k)
		return;
	lg.ready = 1;
	printf("ready established=%zu failed=%zu\n", lg.established,
	    lg.failed);
	fflush(stdout);
}

/*
 * Idle mode: starts one more connection, if any is left to start, in
 * place of one that finished connecting.  A connect that fails at once
 * goes on to the next here rather than by recursion.
 */
static void
idle_launch(void)
{
	struct lconn	*c;

	if (lg.launching)
		return;
	lg.launching = 1;
	while (lg.launched < lg.k) {
		c = &lg.conns[lg.launched++];
		conn_start(c);
		if (c->state == CS_CONNECTING)
			break;
	}
	lg.launching = 0;
	idle_check();
}

/* Tries again a little later, so that a refusing peer is not a spin. */
static void
conn_later(struct lconn *c, uint64_t ms)
{
	struct timeval	 tv;

	conn_close(c);
	c->state = CS_WAIT;
	tv_ms(&tv, ms);
	event_assign(c->ev, lg.base, -1, 0, conn_event, c);
	event_add(c->ev, &tv);
}

static void
conn_fail(struct lconn *c, uint64_t *counter)
{
	(*counter)++;
	switch (lg.mode) {
	case M_PROBE:
		conn_later(c, 100);
		break;
	case M_IDLE:
		conn_close(c);
		lg.failed++;
		idle_launch();
		break;
	default:
		conn_later(c, RETRY_MS);
		break;
	}
}

static void
conn_start(struct lconn *c)
{
	struct timeval	 tv;

	if (lg.mode == M_STREAM)
		c->rt = &lg.routes[(c - lg.conns) % lg.nroutes];
	else if (lg.mode == M_PROBE) {
		while (lg.routes[lg.nextroute].ok)
			lg.nextroute = (lg.nextroute + 1) % lg.nroutes;
		c->rt = &lg.routes[lg.nextroute];
	} else {
		c->rt = &lg.routes[lg.nextroute];
		lg.nextroute = (lg.nextroute + 1) % lg.nroutes;
	}
	c->rlen = 0;
	c->t0 = now_us();
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1 || source_bind(c->fd) == -1) {
		if (c->fd != -1)
			close(c->fd);
		c->fd = -1;
		conn_fail(c, &lg.n.err_connect);
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&c->rt->sin,
	    sizeof(c->rt->sin)) == -1 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		conn_fail(c, &lg.n.err_connect);
		return;
	}
	c->state = CS_CONNECTING;
	tv_ms(&tv, lg.timeout_ms);
	event_assign(c->ev, lg.base, c->fd, EV_WRITE, conn_event, c);
	event_add(c->ev, &tv);
}

/*
 * With -s, connections come from 127.0.0.1 up to 127.0.0.N in turn, as
 * many clients would: a proxy that spreads its work by client address
 * sees more than one.  The port is left to connect(2).
 */
static int
source_bind(int fd)
{
	struct sockaddr_in	 sin;
	int			 one = 1;

	if (lg.sources == 0)
		return (0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000001 + lg.nextsrc);
	lg.nextsrc = (lg.nextsrc + 1) % lg.sources;
	if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one)) == -1)
		return (-1);
	return (bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
}

static void
conn_answered(struct lconn *c)
{
	uint64_t	 t = now_us();
	uint8_t		 cmd = lg.upload ? 'U' : 'D';
	size_t		 i;

	switch (lg.mode) {
	case M_PROBE:
		c->rt->ok = 1;
		if (c->tls != NULL && lg.tlsversion[0] == '\0') {
			strlcpy(lg.tlsversion, tls_conn_version(c->tls),
			    sizeof(lg.tlsversion));
			strlcpy(lg.tlscipher, tls_conn_cipher(c->tls),
			    sizeof(lg.tlscipher));
		}
		conn_close(c);
		for (i = 0; i < lg.nroutes; i++)
			if (!lg.routes[i].ok) {
				conn_start(c);
				return;
			}
		finish();
		break;
	case M_RATE:
		lg.n.done_total++;
		if (lg.measuring) {
			if (lg.nlat == lg.latcap) {
				lg.latcap = lg.latcap ? lg.latcap * 2 : 65536;
				if ((lg.lat = reallocarray(lg.lat, lg.latcap,
				    sizeof(*lg.lat))) == NULL)
					err(1, "reallocarray");
			}
			lg.lat[lg.nlat++] = t - c->t0 > UINT32_MAX ?
			    UINT32_MAX : (uint32_t)(t - c->t0);
		}
		conn_close(c);
		if (lg.quota == 0 || lg.left > 0) {
			if (lg.quota != 0)
				lg.left--;
			conn_start(c);
		} else if (++lg.ended == lg.nconns)
			window_close(-1, 0, NULL);
		break;
	case M_STREAM:
		if (c->tls == NULL && send(c->fd, &cmd, 1, MSG_NOSIGNAL) != 1) {
			conn_fail(c, &lg.n.err_closed);
			return;
		}
		c->state = CS_STREAM;
		event_del(c->ev);
		event_assign(c->ev, lg.base, c->fd, (lg.upload ? EV_WRITE :
		    EV_READ) | EV_PERSIST, conn_event, c);
		event_add(c->ev, NULL);
		/* libtls may hold a record that came with the answer. */
		if (c->tls != NULL)
			conn_stream(c);
		break;
	case M_IDLE:
		c->state = CS_HELD;
		event_del(c->ev);
		event_assign(c->ev, lg.base, c->fd, EV_READ | EV_PERSIST,
		    conn_event, c);
		event_add(c->ev, NULL);
		lg.established++;
		idle_launch();
		break;
	}
}

/* The whole answer is in: checks the name it begins with. */
static void
reply_check(struct lconn *c)
{
	c->rbuf[strcspn(c->rbuf, " \n")] = '\0';
	if (strcmp(c->rbuf, c->rt->expect) != 0) {
		if (lg.mode == M_PROBE)
			warnx("%s reached %s, not %s", c->rt->sni, c->rbuf,
			    c->rt->expect);
		conn_fail(c, &lg.n.misroutes);
		return;
	}
	conn_answered(c);
}

/*
 * Takes n more bytes of the answer, already in rbuf.  Returns 0 while
 * the line is incomplete, 1 once the connection has been dealt with.
 * Past the room in rbuf only padding can follow the name, which
 * conn_reply() reads on its own; through TLS there is none.
 */
static int
reply_take(struct lconn *c, size_t n)
{
	c->rlen += n;
	c->rbuf[c->rlen] = '\0';
	if (strchr(c->rbuf, '\n') == NULL) {
		if (c->rlen < sizeof(c->rbuf) - 1 || c->tls == NULL)
			return (0);
		conn_fail(c, &lg.n.misroutes);
		return (1);
	}
	reply_check(c);
	return (1);
}

static void
conn_reply(struct lconn *c, short events)
{
	ssize_t	 n;

	if (events & EV_TIMEOUT) {
		conn_fail(c, &lg.n.err_timeout);
		return;
	}
	if (c->rlen < sizeof(c->rbuf) - 1)
		n = read(c->fd, c->rbuf + c->rlen,
		    sizeof(c->rbuf) - 1 - c->rlen);
	else
		n = read(c->fd, lg.bulk, BULK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_fail(c, &lg.n.err_closed);
		return;
	}
	if (c->rlen < sizeof(c->rbuf) - 1)
		reply_take(c, n);
	else if (memchr(lg.bulk, '\n', n) != NULL)
		reply_check(c);
}

/* Waits, for at most the timeout, until fd is ready for what libtls wants. */
static void
conn_tls_wait(struct lconn *c, ssize_t want)
{
	struct timeval	 tv;

	event_del(c->ev);
	event_assign(c->ev, lg.base, c->fd, want == TLS_WANT_POLLIN ?
	    EV_READ : EV_WRITE, conn_event, c);
	tv_ms(&tv, lg.timeout_ms);
	event_add(c->ev, &tv);
}

/*
 * Takes a TLS connection as far as it goes without waiting: through the
 * handshake, the request and the answer.  libtls may want to read while
 * writing and the reverse, so each step waits for what it asks.
 */
static void
conn_tls(struct lconn *c, short events)
{
	ssize_t	 n;

	if (events & EV_TIMEOUT) {
		conn_fail(c, &lg.n.err_timeout);
		return;
	}
	for (;;) {
		switch (c->state) {
		case CS_HANDSHAKE:
			n = tls_handshake(c->tls);
			break;
		case CS_REQUEST:
			n = tls_write(c->tls, request + c->sent,
			    requestlen - c->sent);
			break;
		case CS_REPLY:
			n = tls_read(c->tls, c->rbuf + c->rlen,
			    sizeof(c->rbuf) - 1 - c->rlen);
			break;
		default:
			return;
		}
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			conn_tls_wait(c, n);
			return;
		}
		if (n == -1) {
			if (lg.mode == M_PROBE)
				warnx("%s: %s", c->rt->sni,
				    tls_error(c->tls));
			conn_fail(c, &lg.n.err_tls);
			return;
		}
		switch (c->state) {
		case CS_HANDSHAKE:
			/* A resumed handshake would not be a data point. */
			if (tls_conn_session_resumed(c->tls)) {
				conn_fail(c, &lg.n.err_resumed);
				return;
			}
			c->state = CS_REQUEST;
			c->sent = 0;
			break;
		case CS_REQUEST:
			c->sent += n;
			if (c->sent == requestlen)
				c->state = CS_REPLY;
			break;
		default:	/* CS_REPLY */
			if (n == 0) {
				conn_fail(c, &lg.n.err_closed);
				return;
			}
			if (reply_take(c, n))
				return;
			break;
		}
	}
}

/*
 * Every connection gets a context of its own, and the configuration
 * names no session file, so that there is no session to resume.
 */
static void
conn_tls_start(struct lconn *c)
{
	if ((c->tls = tls_client()) == NULL)
		err(1, "tls_client");
	if (tls_configure(c->tls, lg.tlscfg) == -1 ||
	    tls_connect_socket(c->tls, c->fd, c->rt->sni) == -1) {
		if (lg.mode == M_PROBE)
			warnx("%s: %s", c->rt->sni, tls_error(c->tls));
		conn_fail(c, &lg.n.err_tls);
		return;
	}
	c->state = CS_HANDSHAKE;
	conn_tls(c, 0);
}

/*
 * Through TLS a read returns one record at most, 16 KB: the loop goes on
 * until libtls wants the socket again, within a bound that leaves the
 * other connections their turn.
 */
static void
conn_stream_tls(struct lconn *c)
{
	ssize_t	 n;
	int	 i;

	for (i = 0; i < 64; i++) {
		n = tls_read(c->tls, lg.bulk, BULK);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT)
			return;
		if (n <= 0) {
			conn_fail(c, n == 0 ? &lg.n.err_closed : &lg.n.err_tls);
			return;
		}
		lg.bytes_total += n;
	}
}

static void
conn_stream(struct lconn *c)
{
	ssize_t	 n;
	int	 i;

	if (c->tls != NULL) {
		conn_stream_tls(c);
		return;
	}
	for (i = 0; i < 8; i++) {
		if (lg.upload)
			n = send(c->fd, lg.bulk, BULK, MSG_NOSIGNAL);
		else
			n = read(c->fd, lg.bulk, BULK);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_fail(c, &lg.n.err_closed);
			return;
		}
		lg.bytes_total += n;
		if (n < BULK)
			return;
	}
}

static void
conn_event(int fd, short events, void *arg)
{
	struct lconn	*c = arg;
	struct timeval	 tv;
	socklen_t	 len = sizeof(int);
	int		 soerr = 0;
	ssize_t		 n;

	switch (c->state) {
	case CS_WAIT:
		conn_start(c);
		break;
	case CS_CONNECTING:
		if (events & EV_TIMEOUT) {
			conn_fail(c, &lg.n.err_timeout);
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1 ||
		    soerr != 0) {
			conn_fail(c, &lg.n.err_connect);
			return;
		}
		if (lg.tlscfg != NULL) {
			conn_tls_start(c);
			return;
		}
		n = send(fd, c->rt->hello, c->rt->hellolen, MSG_NOSIGNAL);
		if (n != (ssize_t)c->rt->hellolen) {
			conn_fail(c, &lg.n.err_closed);
			return;
		}
		c->state = CS_REPLY;
		event_assign(c->ev, lg.base, fd, EV_READ | EV_PERSIST,
		    conn_event, c);
		tv_ms(&tv, lg.timeout_ms);
		event_add(c->ev, &tv);
		break;
	case CS_HANDSHAKE:
	case CS_REQUEST:
		conn_tls(c, events);
		break;
	case CS_REPLY:
		if (c->tls != NULL)
			conn_tls(c, events);
		else
			conn_reply(c, events);
		break;
	case CS_STREAM:
		conn_stream(c);
		break;
	case CS_HELD:
		n = read(fd, lg.bulk, BULK);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			lg.dropped++;
		}
		break;
	case CS_FREE:
		break;
	}
}

static void
window_open(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	lg.measuring = 1;
	lg.wstart = now_us();
	lg.bytes_wstart = lg.bytes_total;
}

static void
window_close(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	lg.measuring = 0;
	lg.wend = now_us();
	finish();
}

static void
quit(int sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	(void)arg;
	finish();
}

static void
add_route(const char *spec, const char *addr, int port)
{
	struct route	*rt;
	char		*s, *eq, *colon;
	const char	*errstr;

	if (lg.nroutes == MAXROUTES)
		errx(1, "too many routes");
	rt = &lg.routes[lg.nroutes++];
	if ((s = strdup(spec)) == NULL)
		err(1, "strdup");
	if ((eq = strchr(s, '=')) == NULL)
		errx(1, "route %s: want sni=backend[:port]", spec);
	*eq++ = '\0';
	rt->sni = s;
	rt->expect = eq;
	rt->port = port;
	if ((colon = strchr(eq, ':')) != NULL) {
		*colon++ = '\0';
		rt->port = strtonum(colon, 1, 65535, &errstr);
		if (errstr != NULL)
			errx(1, "route %s: port %s", spec, errstr);
	}
	if (rt->port == 0)
		errx(1, "route %s: no port (-p)", spec);
	rt->sin.sin_family = AF_INET;
	rt->sin.sin_port = htons(rt->port);
	if (inet_pton(AF_INET, addr, &rt->sin.sin_addr) != 1)
		errx(1, "bad address %s", addr);
}

/*
 * The client of -t.  The certificates are self-signed for the run and
 * what is measured is the handshake, so they are not verified.  TLS 1.3
 * with X25519 alone makes every proxy do the same handshake: one that
 * cannot fails the probe rather than doing another.
 */
static void
tls_setup(void)
{
	if (tls_init() == -1)
		errx(1, "tls_init");
	if ((lg.tlscfg = tls_config_new()) == NULL)
		errx(1, "tls_config_new");
	if (tls_config_set_protocols(lg.tlscfg, TLS_PROTOCOL_TLSv1_3) == -1 ||
	    tls_config_set_ecdhecurves(lg.tlscfg, "X25519") == -1)
		errx(1, "tls: %s", tls_config_error(lg.tlscfg));
	tls_config_insecure_noverifycert(lg.tlscfg);
	tls_config_insecure_noverifyname(lg.tlscfg);
}

/* What a process of -j hands back: its counters, then its latencies. */
struct jobresult {
	uint64_t	 wstart;
	uint64_t	 wend;
	uint64_t	 nlat;
	struct counts	 n;
};

static void
write_all(int fd, const void *buf, size_t len)
{
	size_t	 off;
	ssize_t	 n;

	for (off = 0; off < len; off += n)
		if ((n = write(fd, (const uint8_t *)buf + off, len - off)) <= 0)
			err(1, "job result");
}

static void
read_all(int fd, void *buf, size_t len)
{
	size_t	 off;
	ssize_t	 n;

	for (off = 0; off < len; off += n)
		if ((n = read(fd, (uint8_t *)buf + off, len - off)) <= 0)
			errx(1, "a job ended without its figures");
}

static void
job_send(void)
{
	struct jobresult	 r;

	memset(&r, 0, sizeof(r));
	r.wstart = lg.wstart;
	r.wend = lg.wend;
	r.nlat = lg.nlat;
	r.n = lg.n;
	write_all(lg.resultfd, &r, sizeof(r));
	write_all(lg.resultfd, lg.lat, lg.nlat * sizeof(*lg.lat));
}

/* Adds the figures of one process of -j to this one's. */
static void
job_gather(int fd)
{
	struct jobresult	 r;

	read_all(fd, &r, sizeof(r));
	if (lg.nlat + r.nlat > lg.latcap) {
		lg.latcap = lg.nlat + r.nlat;
		if ((lg.lat = reallocarray(lg.lat, lg.latcap,
		    sizeof(*lg.lat))) == NULL)
			err(1, "reallocarray");
	}
	read_all(fd, lg.lat + lg.nlat, r.nlat * sizeof(*lg.lat));
	lg.nlat += r.nlat;
	/* The windows nearly coincide: their union is the one measured. */
	if (lg.wstart == 0 || r.wstart < lg.wstart)
		lg.wstart = r.wstart;
	if (r.wend > lg.wend)
		lg.wend = r.wend;
	lg.n.done_total += r.n.done_total;
	lg.n.err_connect += r.n.err_connect;
	lg.n.err_timeout += r.n.err_timeout;
	lg.n.err_closed += r.n.err_closed;
	lg.n.err_tls += r.n.err_tls;
	lg.n.err_resumed += r.n.err_resumed;
	lg.n.misroutes += r.n.misroutes;
}

/*
 * -j: one process cannot make enough TLS handshakes to keep a proxy
 * busy, so procs processes, each with its own event loop, share the
 * conc connections.  Returns 1 in each of them, with its share in
 * nconns, and 0 in the parent once all have handed back their figures.
 */
static int
jobs_run(int procs, size_t conc)
{
	pid_t	 pids[MAXJOBS];
	int	 fds[MAXJOBS], p[2], i, j, status, failed = 0;

	for (i = 0; i < procs; i++) {
		if (pipe(p) == -1)
			err(1, "pipe");
		if ((pids[i] = fork()) == -1)
			err(1, "fork");
		if (pids[i] == 0) {
			for (j = 0; j < i; j++)
				close(fds[j]);
			close(p[0]);
			lg.resultfd = p[1];
			lg.nconns = conc / procs + ((size_t)i < conc % procs);
			return (1);
		}
		close(p[1]);
		fds[i] = p[0];
	}
	for (i = 0; i < procs; i++) {
		job_gather(fds[i]);
		close(fds[i]);
		if (waitpid(pids[i], &status, 0) == -1 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	if (failed)
		errx(1, "a job failed");
	return (0);
}

static void
raise_nofile(size_t want)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(1, "getrlimit");
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			err(1, "setrlimit");
	}
	if (rl.rlim_cur < want + 32)
		errx(1, "file limit %llu is too low for %zu connections",
		    (unsigned long long)rl.rlim_cur, want);
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen -m probe|rate|stream|idle "
	    "-H hello.bin -r sni=backend[:port] ...\n"
	    "\t[-a address] [-p port] [-c conns] [-d seconds] [-j procs]\n"
	    "\t[-k conns] [-N conns] [-n streams] [-s sources] [-T seconds] "
	    "[-u]\n\t[-w seconds]\n"
	    "       loadgen -t -m probe|rate|stream -r sni=backend[:port] "
	    "...\n"
	    "\t[-a address] [-p port] [-c conns] [-d seconds] [-j procs]\n"
	    "\t[-n streams] [-T seconds] [-w seconds]\n");
	exit(1);
}

static double
number(const char *s, double lo, double hi)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		errx(1, "%s: not a number in [%g, %g]", s, lo, hi);
	return (v);
}

int
main(int argc, char *argv[])
{
	struct event	*ev_open, *ev_close, *ev_term, *ev_int;
	struct timeval	 tv;
	const char	*hellofile = NULL, *addr = "127.0.0.1";
	char		*specs[MAXROUTES];
	uint8_t		*tmpl;
	size_t		 i, nspecs = 0, tlen;
	double		 duration = 5, warmup = 1, timeout = 5;
	int		 ch, port = 0, conc = 64, streams = 1, k = 10000;
	int		 tls = 0, jobs = 1;

	lg.resultfd = -1;
	while ((ch = getopt(argc, argv, "a:c:d:H:j:k:m:N:n:p:r:s:tT:uw:")) !=
	    -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'c':
			conc = number(optarg, 1, 100000);
			break;
		case 'd':
			duration = number(optarg, 0.1, 86400);
			break;
		case 'H':
			hellofile = optarg;
			break;
		case 'j':
			jobs = number(optarg, 1, MAXJOBS);
			break;
		case 'k':
			k = number(optarg, 1, 1000000);
			break;
		case 'm':
			if (strcmp(optarg, "probe") == 0)
				lg.mode = M_PROBE;
			else if (strcmp(optarg, "rate") == 0)
				lg.mode = M_RATE;
			else if (strcmp(optarg, "stream") == 0)
				lg.mode = M_STREAM;
			else if (strcmp(optarg, "idle") == 0)
				lg.mode = M_IDLE;
			else
				usage();
			break;
		case 'N':
			lg.quota = number(optarg, 1, 1e9);
			break;
		case 'n':
			streams = number(optarg, 1, 1024);
			break;
		case 'p':
			port = number(optarg, 1, 65535);
			break;
		case 'r':
			if (nspecs == MAXROUTES)
				errx(1, "too many routes");
			specs[nspecs++] = optarg;
			break;
		case 's':
			lg.sources = number(optarg, 1, 254);
			break;
		case 't':
			tls = 1;
			break;
		case 'T':
			timeout = number(optarg, 0.1, 3600);
			break;
		case 'u':
			lg.upload = 1;
			break;
		case 'w':
			warmup = number(optarg, 0, 3600);
			break;
		default:
			usage();
		}
	}
	if (nspecs == 0 || optind != argc || (jobs > 1 && lg.mode != M_RATE) ||
	    (lg.quota != 0 && (lg.mode != M_RATE || jobs > 1)))
		usage();
	if (tls) {
		if (hellofile != NULL || lg.mode == M_IDLE || lg.upload)
			usage();
		if (lg.mode == M_STREAM) {
			request = "hello\nD";
			requestlen = 7;
		}
		tls_setup();
	} else if (hellofile == NULL)
		usage();
	for (i = 0; i < nspecs; i++)
		add_route(specs[i], addr, port);
	if (!tls) {
		tmpl = read_file(hellofile, &tlen);
		for (i = 0; i < lg.nroutes; i++)
			lg.routes[i].hello = hello_with_sni(tmpl, tlen,
			    lg.routes[i].sni, &lg.routes[i].hellolen);
		free(tmpl);
	}
	lg.timeout_ms = timeout * 1000;

	switch (lg.mode) {
	case M_PROBE:
		lg.nconns = 1;
		break;
	case M_RATE:
		lg.nconns = conc;
		if (lg.quota != 0) {
			if (lg.nconns > lg.quota)
				lg.nconns = lg.quota;
			lg.left = lg.quota - lg.nconns;
		}
		break;
	case M_STREAM:
		lg.nconns = streams;
		break;
	case M_IDLE:
		lg.nconns = lg.k = k;
		break;
	}
	if (jobs > 1 && !jobs_run(jobs < conc ? jobs : conc, conc)) {
		report();
		return (lg.n.misroutes > 0);
	}
	raise_nofile(lg.nconns);
	signal(SIGPIPE, SIG_IGN);
	if ((lg.bulk = malloc(BULK)) == NULL ||
	    (lg.conns = calloc(lg.nconns, sizeof(*lg.conns))) == NULL)
		err(1, "malloc");
	memset(lg.bulk, 'x', BULK);
	if ((lg.base = event_base_new()) == NULL)
		errx(1, "event_base_new");
	for (i = 0; i < lg.nconns; i++) {
		lg.conns[i].fd = -1;
		if ((lg.conns[i].ev = event_new(lg.base, -1, 0, conn_event,
		    &lg.conns[i])) == NULL)
			errx(1, "event_new");
	}
	ev_open = evtimer_new(lg.base, window_open, NULL);
	ev_close = evtimer_new(lg.base, window_close, NULL);
	ev_term = evsignal_new(lg.base, SIGTERM, quit, NULL);
	ev_int = evsignal_new(lg.base, SIGINT, quit, NULL);
	if (ev_open == NULL || ev_close == NULL || ev_term == NULL ||
	    ev_int == NULL)
		errx(1, "event_new");
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);

	switch (lg.mode) {
	case M_PROBE:
		tv_ms(&tv, lg.timeout_ms);
		event_add(ev_close, &tv);
		conn_start(&lg.conns[0]);
		break;
	case M_RATE:
	case M_STREAM:
		tv_ms(&tv, warmup * 1000);
		event_add(ev_open, &tv);
		tv_ms(&tv, (warmup + duration) * 1000);
		event_add(ev_close, &tv);
		for (i = 0; i < lg.nconns; i++)
			conn_start(&lg.conns[i]);
		break;
	case M_IDLE:
		tv_ms(&tv, duration * 1000);
		event_add(ev_close, &tv);
		for (i = 0; i < MAXINFLIGHT; i++)
			idle_launch();
		break;
	}
	event_base_dispatch(lg.base);
	if (lg.resultfd != -1) {
		job_send();
		return (0);
	}
	report();

	/* A probe succeeds once every route answered right. */
	if (lg.mode == M_PROBE) {
		for (i = 0; i < lg.nroutes; i++)
			if (!lg.routes[i].ok) {
				warnx("%s: no right answer", lg.routes[i].sni);
				return (1);
			}
		return (0);
	}
	return (lg.n.misroutes > 0);
}
