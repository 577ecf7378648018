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

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "probe.h"
#include "suites.h"

#define PROBE(f, s)	f((const uint8_t *)(s), strlen(s))

/* Every proper prefix of a match must ask for more, never decide. */
static void
assert_prefixes_more(enum probe (*f)(const uint8_t *, size_t),
    const uint8_t *buf, size_t len)
{
	size_t	 n;

	for (n = 0; n < len; n++)
		ck_assert_msg(f(buf, n) == PROBE_MORE, "decided at %zu", n);
}

START_TEST(test_ssh)
{
	static const char *const yes[] = {
		"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", "SSH-2.0-", "SSH-1.99-x",
		"SSH-2.0-PuTTY_Release_0.78\r\n"
	};
	static const char *const no[] = {
		"SSH-1.5-old\r\n", "ssh-2.0-x", "SSH-2.1-x", "GET / HTTP/1.1",
		"\x16\x03\x01", "SSH-2.0", "SSH-1.9-"
	};
	size_t	 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		ck_assert_int_eq(PROBE(probe_ssh, yes[i]), PROBE_YES);
		assert_prefixes_more(probe_ssh, (const uint8_t *)yes[i], 8);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(PROBE(probe_ssh, no[i]) != PROBE_YES, "%s",
		    no[i]);
	ck_assert_int_eq(PROBE(probe_ssh, "SSH-2.0"), PROBE_MORE);
	ck_assert_int_eq(PROBE(probe_ssh, "SSH-1.5-"), PROBE_NO);
	ck_assert_int_eq(PROBE(probe_ssh, "X"), PROBE_NO);
}
END_TEST

static enum probe
http(const char *s, char *host)
{
	return (probe_http((const uint8_t *)s, strlen(s), host,
	    HTTP_HOST_MAX + 1));
}

START_TEST(test_http_host)
{
	static const struct {
		const char	*req;
		const char	*host;
	} yes[] = {
		{ "GET / HTTP/1.1\r\nHost: www.Example.com\r\n\r\n",
		    "www.example.com" },
		{ "GET / HTTP/1.1\r\nUser-Agent: x\r\nhost:a.b:8080\r\n",
		    "a.b" },
		{ "POST /x?y HTTP/1.0\r\nHOST: \t[::1]:80 \r\n", "::1" },
		{ "GET http://abs.example:81/p HTTP/1.1\r\nHost: no\r\n",
		    "abs.example" },
		{ "OPTIONS * HTTP/1.1\nHost: lf.example\n\n", "lf.example" },
		{ "GET / HTTP/1.0\r\n\r\n", "" },
		{ "GET / HTTP/1.1\r\nHost: Dot.Example.\r\n", "dot.example" },
		{ "GET http://abs.example.:81/ HTTP/1.1\r\n", "abs.example" },
		{ "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n",
		    "a.example" }
	};
	char	 host[HTTP_HOST_MAX + 1];
	size_t	 i, n, len;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		ck_assert_msg(http(yes[i].req, host) == PROBE_YES, "%s",
		    yes[i].req);
		ck_assert_str_eq(host, yes[i].host);
		/* Split anywhere before the deciding byte: undecided. */
		len = strlen(yes[i].req);
		for (n = 0; n < len; n++) {
			if (probe_http((const uint8_t *)yes[i].req, n, host,
			    sizeof(host)) == PROBE_YES)
				break;
			ck_assert_msg(probe_http((const uint8_t *)yes[i].req,
			    n, host, sizeof(host)) == PROBE_MORE,
			    "%s: %zu", yes[i].req, n);
		}
	}
}
END_TEST

/* A host that is there but is no name: never taken for "no host". */
START_TEST(test_http_invalid)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\nHost: bad host\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a..example\r\n",
		"GET / HTTP/1.1\r\nHost: .\r\n",
		"GET / HTTP/1.1\r\nHost: a.example..\r\n",
		"GET / HTTP/1.1\r\nHost: :443\r\n",
		"GET http://a..b/ HTTP/1.1\r\n"
	};
	char	 host[HTTP_HOST_MAX + 1];
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(http(bad[i], host) == PROBE_INVALID, "%s",
		    bad[i]);
}
END_TEST

START_TEST(test_http_no)
{
	static const char *const no[] = {
		" GET / HTTP/1.1\r\n", "GET  / HTTP/1.1\r\n",
		"GET / HTTP/2.0\r\n", "GET / HTTP/1.x\r\n",
		"GET / HTTP/1.1x\r\n", "GET /\r\n", "\x16\x03\x01\x02\x00",
		"SSH-2.0-x\r\n", "GET / FTP/1.1\r\n",
		"AVERYLONGMETHODNAMETHATISNOTHTTPATALL / HTTP/1.1\r\n"
	};
	char	 host[HTTP_HOST_MAX + 1];
	size_t	 i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(http(no[i], host) != PROBE_YES, "%s", no[i]);
	ck_assert_int_eq(http("GET / HTTP/1.1\r\nHost: a\r", host), PROBE_MORE);
	ck_assert_int_eq(http("GET / HTTP/1.1\r\nX: y\r\n", host), PROBE_MORE);
	ck_assert_int_eq(http("SSH-2.0-x", host), PROBE_NO);
	ck_assert_int_eq(http("\x16", host), PROBE_NO);
}
END_TEST

/* Found by fuzzing: each once passed for a host it was not. */
START_TEST(test_http_fuzzed)
{
	static const char	 nul[] = "GET / HTTP/1.1\r\n"
	    "Host: www.example.com\0.evil.org\r\n\r\n";
	char			 host[HTTP_HOST_MAX + 1];
	char			 method[64];
	size_t			 n;

	ck_assert_int_eq(probe_http((const uint8_t *)nul, sizeof(nul) - 1,
	    host, sizeof(host)), PROBE_INVALID);
	ck_assert_int_eq(http("GET http://www.example.com!evil.org/ "
	    "HTTP/1.1\r\n\r\n", host), PROBE_INVALID);
	ck_assert_int_eq(http("GET http://a.web:80@evil.org/ HTTP/1.1\r\n",
	    host), PROBE_YES);
	ck_assert_str_eq(host, "evil.org");
	/* A method too long is refused at any length, not only at one. */
	memset(method, 'A', sizeof(method));
	for (n = 32; n < sizeof(method); n++)
		ck_assert_int_eq(probe_http((const uint8_t *)method, n, host,
		    sizeof(host)), PROBE_NO);
	ck_assert_int_eq(probe_http((const uint8_t *)method, 31, host,
	    sizeof(host)), PROBE_MORE);
}
END_TEST

START_TEST(test_openvpn)
{
	/* A client's first packet: length 14, P_CONTROL_HARD_RESET_V2. */
	static const uint8_t	 v2[] = { 0x00, 0x0e, 0x38,
	    1, 2, 3, 4, 5, 6, 7, 8, 0x00, 0x00, 0x00, 0x00, 0x00 };
	uint8_t			 p[64];

	ck_assert_int_eq(probe_openvpn(v2, sizeof(v2)), PROBE_YES);
	assert_prefixes_more(probe_openvpn, v2, sizeof(v2));
	memcpy(p, v2, sizeof(v2));
	p[2] = 10 << 3;				/* V3 */
	ck_assert_int_eq(probe_openvpn(p, sizeof(v2)), PROBE_YES);
	p[2] = (7 << 3) | 1;			/* key id must be 0 */
	ck_assert_int_eq(probe_openvpn(p, sizeof(v2)), PROBE_NO);
	p[2] = 4 << 3;				/* P_CONTROL_V1 */
	ck_assert_int_eq(probe_openvpn(p, sizeof(v2)), PROBE_NO);
	p[2] = 0x38;
	p[1] = 0x0d;				/* too short to be one */
	ck_assert_int_eq(probe_openvpn(p, sizeof(v2) - 1), PROBE_NO);
	p[1] = 0x0e;
	p[sizeof(v2)] = 0;			/* more than the packet */
	ck_assert_int_eq(probe_openvpn(p, sizeof(v2) + 1), PROBE_NO);
	ck_assert_int_eq(PROBE(probe_openvpn, "\x16\x03\x01\x02\x00"),
	    PROBE_NO);
	ck_assert_int_eq(PROBE(probe_openvpn, "GET / HTTP/1.1\r\n"),
	    PROBE_NO);
	ck_assert_int_eq(PROBE(probe_openvpn, "SSH-2.0-x"), PROBE_NO);
}
END_TEST

START_TEST(test_garbage)
{
	uint8_t	 buf[512];
	char	 host[HTTP_HOST_MAX + 1];
	size_t	 i, n;
	unsigned int seed = 1;

	/* Nothing may read past the end, whatever the bytes. */
	for (i = 0; i < 2000; i++) {
		for (n = 0; n < sizeof(buf); n++) {
			seed = seed * 1103515245 + 12345;
			buf[n] = seed >> 16;
		}
		n = (seed >> 8) % sizeof(buf);
		probe_ssh(buf, n);
		probe_openvpn(buf, n);
		probe_http(buf, n, host, sizeof(host));
	}
}
END_TEST

Suite *
probe_suite(void)
{
	Suite	*s = suite_create("probe");
	TCase	*tc = tcase_create("protocols");

	tcase_add_test(tc, test_ssh);
	tcase_add_test(tc, test_http_host);
	tcase_add_test(tc, test_http_no);
	tcase_add_test(tc, test_http_invalid);
	tcase_add_test(tc, test_http_fuzzed);
	tcase_add_test(tc, test_openvpn);
	tcase_add_test(tc, test_garbage);
	suite_add_tcase(s, tc);
	return (s);
}
