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
 * QUIC datagram load for the benchmark.  With -s it is the server and
 * sends every datagram back where it came from.  Otherwise it opens -f
 * flows, each a UDP socket of its own: a flow first sends the QUIC
 * Initial packet read from -I, which is what a proxy routes it by, and
 * waits for it to come back; then it keeps -W datagrams of -l bytes in
 * flight, each answered one sent, for -w seconds of warm-up and -d
 * measured seconds.  A flow that hears nothing for 50 ms counts what
 * it had in flight as lost and starts again, as UDP gives no other
 * word of a drop.
 *
 * usage: quicgen -s [-a address] -p port
 *        quicgen -I initial [-a address] -p port [-d seconds] [-f flows]
 *            [-l length] [-W window] [-w seconds]
 *
 * The client ends with one line: flows=N dgrams=N (echoed, measured)
 * bytes=N (of those) secs=S rate=N (echoed per second) lost=N.
 */

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DGRAM_MAX	1500
#define LOSS_MS		50
#define SETUP_TRIES	10

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
usage(void)
{
	fprintf(stderr, "usage: quicgen -s [-a address] -p port\n"
	    "       quicgen -I initial [-a address] -p port [-d seconds] "
	    "[-f flows]\n"
	    "           [-l length] [-W window] [-w seconds]\n");
	exit(2);
}

static __attribute__((noreturn)) void
serve(const struct sockaddr_in *sin)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	uint8_t			 buf[DGRAM_MAX];
	ssize_t			 n;
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	if (bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1)
		err(1, "bind");
	for (;;) {
		fromlen = sizeof(from);
		if ((n = recvfrom(fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &fromlen)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "recvfrom");
		}
		/* A full socket buffer drops it, as a network would. */
		(void)sendto(fd, buf, n, MSG_DONTWAIT,
		    (struct sockaddr *)&from, fromlen);
	}
}

/* The Initial goes out until it comes back: the flow is routed then. */
static int
flow_open(const struct sockaddr_in *sin, const uint8_t *initial,
    size_t initlen)
{
	struct pollfd	 pfd;
	uint8_t		 buf[DGRAM_MAX];
	int		 fd, i;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1)
		err(1, "connect");
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (i = 0; i < SETUP_TRIES; i++) {
		if (send(fd, initial, initlen, 0) == -1)
			err(1, "send Initial");
		if (poll(&pfd, 1, 200) == 1) {
			if (recv(fd, buf, sizeof(buf), 0) == -1)
				err(1, "recv Initial");
			return (fd);
		}
	}
	errx(1, "no answer to the Initial within %d s", SETUP_TRIES / 5);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	struct pollfd		*pfd;
	uint8_t			 initial[DGRAM_MAX], dgram[DGRAM_MAX];
	uint8_t			 buf[DGRAM_MAX];
	const char		*addr = "127.0.0.1", *initfile = NULL, *errstr;
	uint64_t		 echoed = 0, bytes = 0, lost = 0;
	int64_t			*heard, t, start, end;
	size_t			 initlen, len = 1200;
	ssize_t			 n;
	FILE			*fp;
	int			*inflight;
	int			 ch, server = 0, port = 0, flows = 1;
	int			 window = 16;
	int			 warm = 1, secs = 5, measuring = 0, i;

	while ((ch = getopt(argc, argv, "a:d:f:I:l:p:sW:w:")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'd':
			secs = strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				errx(2, "-d %s: %s", optarg, errstr);
			break;
		case 'f':
			flows = strtonum(optarg, 1, 1000, &errstr);
			if (errstr != NULL)
				errx(2, "-f %s: %s", optarg, errstr);
			break;
		case 'I':
			initfile = optarg;
			break;
		case 'l':
			len = strtonum(optarg, 21, DGRAM_MAX, &errstr);
			if (errstr != NULL)
				errx(2, "-l %s: %s", optarg, errstr);
			break;
		case 'p':
			port = strtonum(optarg, 1, 65535, &errstr);
			if (errstr != NULL)
				errx(2, "-p %s: %s", optarg, errstr);
			break;
		case 's':
			server = 1;
			break;
		case 'W':
			window = strtonum(optarg, 1, 1024, &errstr);
			if (errstr != NULL)
				errx(2, "-W %s: %s", optarg, errstr);
			break;
		case 'w':
			warm = strtonum(optarg, 0, 3600, &errstr);
			if (errstr != NULL)
				errx(2, "-w %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	if (port == 0 || (!server && initfile == NULL))
		usage();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		errx(2, "%s: not an IPv4 address", addr);
	if (server)
		serve(&sin);

	if ((fp = fopen(initfile, "rb")) == NULL)
		err(1, "%s", initfile);
	initlen = fread(initial, 1, sizeof(initial), fp);
	if (ferror(fp) || initlen == 0)
		errx(1, "%s: cannot read", initfile);
	fclose(fp);

	/*
	 * A QUIC short header: what a flow carries once its handshake is
	 * done, and never taken for an Initial.
	 */
	memset(dgram, 0xa5, sizeof(dgram));
	dgram[0] = 0x40;

	if ((pfd = calloc(flows, sizeof(*pfd))) == NULL ||
	    (heard = calloc(flows, sizeof(*heard))) == NULL ||
	    (inflight = calloc(flows, sizeof(*inflight))) == NULL)
		err(1, NULL);
	/* One at a time: a proxy keeps few undecided flows per client. */
	for (i = 0; i < flows; i++) {
		pfd[i].fd = flow_open(&sin, initial, initlen);
		pfd[i].events = POLLIN;
	}

	start = now_ms();
	end = start + (int64_t)(warm + secs) * 1000;
	for (i = 0; i < flows; i++)
		heard[i] = start;
	while ((t = now_ms()) < end) {
		if (!measuring && t >= start + warm * 1000) {
			measuring = 1;
			echoed = bytes = lost = 0;
			start = t;
		}
		for (i = 0; i < flows; i++) {
			if (inflight[i] > 0 && t - heard[i] > LOSS_MS) {
				lost += inflight[i];
				inflight[i] = 0;
				heard[i] = t;
			}
			while (inflight[i] < window) {
				if (send(pfd[i].fd, dgram, len, 0) == -1) {
					if (errno == EAGAIN ||
					    errno == ENOBUFS)
						break;
					err(1, "send");
				}
				inflight[i]++;
			}
		}
		if (poll(pfd, flows, 10) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		t = now_ms();
		for (i = 0; i < flows; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((n = recv(pfd[i].fd, buf, sizeof(buf), 0)) > 0) {
				echoed++;
				bytes += n;
				if (inflight[i] > 0)
					inflight[i]--;
				heard[i] = t;
			}
			if (n == -1 && errno != EAGAIN)
				err(1, "recv");
		}
	}
	t = now_ms() - start;
	printf("flows=%d dgrams=%llu bytes=%llu secs=%.3f rate=%.0f "
	    "lost=%llu\n", flows, (unsigned long long)echoed,
	    (unsigned long long)bytes, t / 1000.0,
	    t > 0 ? echoed * 1000.0 / t : 0.0, (unsigned long long)lost);
	return (0);
}
