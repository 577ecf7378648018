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

#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/filter.h>

#include <check.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "gen.h"
#include "suites.h"

#define NSOCK	3

/* What the program computes, written out: the accept process's index. */
static unsigned int
steer(uint32_t a, unsigned int n)
{
	return (((a * 0x9e3779b1U) >> 16) % n);
}

static in_port_t
group_bind(int *s, int type, unsigned int n)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct sock_filter	 code[STEER_PROG_MAX];
	struct sock_fprog	 prog;
	unsigned int		 i;
	int			 one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < n; i++) {
		ck_assert_int_ne(s[i] = socket(AF_INET, type, 0), -1);
		ck_assert_int_eq(setsockopt(s[i], SOL_SOCKET, SO_REUSEPORT,
		    &one, sizeof(one)), 0);
		ck_assert_int_eq(bind(s[i], (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
		if (type == SOCK_STREAM)
			ck_assert_int_eq(listen(s[i], 16), 0);
		if (i == 0)
			ck_assert_int_eq(getsockname(s[0],
			    (struct sockaddr *)&sin, &len), 0);
	}
	prog.len = listener_steer_prog(code, AF_INET, n);
	prog.filter = code;
	ck_assert_int_le(prog.len, STEER_PROG_MAX);
	ck_assert_int_eq(setsockopt(s[0], SOL_SOCKET,
	    SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)), 0);
	return (sin.sin_port);
}

/* The socket of the group that has something waiting, or -1. */
static int
group_ready(const int *s, unsigned int n)
{
	struct pollfd	 pfd[NSOCK];
	unsigned int	 i;
	int		 found = -1;

	for (i = 0; i < n; i++) {
		pfd[i].fd = s[i];
		pfd[i].events = POLLIN;
	}
	ck_assert_int_eq(poll(pfd, n, 1000) >= 1, 1);
	for (i = 0; i < n; i++)
		if (pfd[i].revents & POLLIN) {
			ck_assert_int_eq(found, -1);
			found = i;
		}
	return (found);
}

static int
client(int type, uint32_t src, in_port_t port)
{
	struct sockaddr_in	 sin;
	int			 fd;

	ck_assert_int_ne(fd = socket(AF_INET, type, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(src);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = port;
	if (type == SOCK_STREAM)
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
	else
		ck_assert_int_eq(sendto(fd, "x", 1, 0,
		    (struct sockaddr *)&sin, sizeof(sin)), 1);
	return (fd);
}

/*
 * Every connection, and every datagram, from one address reaches the
 * socket the hash names, whatever its source port; the addresses of
 * 127.0.0.0/8 are all the host's own on Linux.
 */
static void
steer_check(int type)
{
	int		 s[NSOCK], fd, i, got, c;
	unsigned int	 n, seen = 0;
	uint32_t	 src;
	in_port_t	 port;
	char		 b;

	for (n = 1; n <= NSOCK; n++) {
		port = group_bind(s, type, n);
		for (i = 0; i < 24; i++) {
			src = 0x7f000001 + i % 8;
			c = client(type, src, port);
			got = group_ready(s, n);
			ck_assert_int_eq(got, steer(src, n));
			seen |= 1U << got;
			if (type == SOCK_STREAM) {
				ck_assert_int_ne(fd = accept(s[got], NULL,
				    NULL), -1);
				close(fd);
			} else
				ck_assert_int_eq(recv(s[got], &b, 1, 0), 1);
			close(c);
		}
		for (i = 0; i < (int)n; i++)
			close(s[i]);
	}
	/* Eight addresses over three sockets: every one was used. */
	ck_assert_uint_eq(seen, (1U << NSOCK) - 1);
}

START_TEST(steer_tcp)
{
	steer_check(SOCK_STREAM);
}
END_TEST

START_TEST(steer_udp)
{
	steer_check(SOCK_DGRAM);
}
END_TEST

/* For IPv6 the program hashes the /64, the words at bytes 8 and 12. */
START_TEST(steer_prog_ipv6)
{
	struct sock_filter	 code[STEER_PROG_MAX];
	size_t			 n;

	n = listener_steer_prog(code, AF_INET6, 4);
	ck_assert_uint_le(n, STEER_PROG_MAX);
	ck_assert_uint_eq(code[0].k, (uint32_t)(SKF_NET_OFF + 8));
	ck_assert_uint_eq(code[2].k, (uint32_t)(SKF_NET_OFF + 12));
	ck_assert_uint_eq(code[n - 2].code, BPF_ALU | BPF_MOD | BPF_K);
	ck_assert_uint_eq(code[n - 2].k, 4);
	ck_assert_uint_eq(code[n - 1].code, BPF_RET | BPF_A);
}
END_TEST

Suite *
steer_suite(void)
{
	Suite	*s = suite_create("steer");
	TCase	*tc = tcase_create("reuseport");

	tcase_add_test(tc, steer_tcp);
	tcase_add_test(tc, steer_udp);
	tcase_add_test(tc, steer_prog_ipv6);
	suite_add_tcase(s, tc);
	return (s);
}
