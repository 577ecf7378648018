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
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"
#include "suites.h"


#define V2_SIG		"\r\n\r\n\0\r\nQUIT\n"
#define V2_SIG_LEN	12
#define V2_HDR_LEN	16

/*
 * Headers as HAProxy 2.6 sent them to a backend, each followed by the
 * first client bytes, which are not part of the header.
 */

/* send-proxy, client 127.0.0.2:41667 to 127.0.0.1:17001. */
static const char hap_v1_tcp4[] =
    "PROXY TCP4 127.0.0.2 127.0.0.1 41667 17001\r\nhello-v1";

/* send-proxy, client [::1]:40824 to [::1]:17004. */
static const char hap_v1_tcp6[] =
    "PROXY TCP6 ::1 ::1 40824 17004\r\nhello-v1-6";

/* send-proxy-v2, client 127.0.0.2:36503 to 127.0.0.1:17002. */
static const uint8_t hap_v2_tcp4[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
	0x7f, 0x00, 0x00, 0x02, 0x7f, 0x00, 0x00, 0x01,
	0x8e, 0x97, 0x42, 0x6a, 0x68, 0x65, 0x6c, 0x6c,
	0x6f, 0x2d, 0x76, 0x32,
};

/* send-proxy-v2 with crc32c, client [::1]:47444 to [::1]:17005. */
static const uint8_t hap_v2_tcp6_crc[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a, 0x21, 0x21, 0x00, 0x2b,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0xb9, 0x54, 0x42, 0x6d, 0x03, 0x00, 0x04, 0x57,
	0xca, 0x11, 0x62, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
	0x2d, 0x76, 0x32, 0x2d, 0x36,
};

/*
 * An SSL frontend (SNI www.example.org, ALPN h2, TLS 1.3, no client
 * certificate) and send-proxy-v2-ssl-cn with the options ssl,
 * ssl-cipher, cert-sig, cert-key, authority, crc32c and unique-id:
 * CRC32C, ALPN, AUTHORITY, an empty UNIQUE_ID, and an SSL TLV with
 * version, key, signature and cipher sub-TLVs.
 */
static const uint8_t hap_v2_ssl[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x6f,
	0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01,
	0xa9, 0xea, 0x42, 0x6b, 0x03, 0x00, 0x04, 0xa9,
	0x95, 0x46, 0x16, 0x01, 0x00, 0x02, 0x68, 0x32,
	0x02, 0x00, 0x0f, 0x77, 0x77, 0x77, 0x2e, 0x65,
	0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f,
	0x72, 0x67, 0x05, 0x00, 0x00, 0x20, 0x00, 0x3f,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x07,
	0x54, 0x4c, 0x53, 0x76, 0x31, 0x2e, 0x33, 0x25,
	0x00, 0x07, 0x52, 0x53, 0x41, 0x32, 0x30, 0x34,
	0x38, 0x24, 0x00, 0x0a, 0x52, 0x53, 0x41, 0x2d,
	0x53, 0x48, 0x41, 0x32, 0x35, 0x36, 0x23, 0x00,
	0x16, 0x54, 0x4c, 0x53, 0x5f, 0x41, 0x45, 0x53,
	0x5f, 0x32, 0x35, 0x36, 0x5f, 0x47, 0x43, 0x4d,
	0x5f, 0x53, 0x48, 0x41, 0x33, 0x38, 0x34, 0x68,
	0x65, 0x6c, 0x6c, 0x6f, 0x2d, 0x74, 0x6c, 0x73,
	0x0a,
};

/* A health check with send-proxy-v2 and check-send-proxy: LOCAL. */
static const uint8_t hap_v2_local[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a, 0x20, 0x00, 0x00, 0x00,
};

/*
 * The example of section 2.2, written out byte by byte: TCP over IPv4
 * from 192.168.0.1:56324 to 192.168.0.11:443.
 */
static const uint8_t spec_v2_tcp4[] = {
	/* signature */
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
	0x21,			/* version 2, PROXY */
	0x11,			/* AF_INET, STREAM */
	0x00, 0x0c,		/* 12 bytes of addresses follow */
	192, 168, 0, 1,		/* source address */
	192, 168, 0, 11,	/* destination address */
	0xdc, 0x04,		/* source port 56324 */
	0x01, 0xbb,		/* destination port 443 */
	'G', 'E', 'T', ' ',	/* the client's first bytes */
};

/* The same over IPv6, 2001:db8::1 to 2001:db8::11. */
static const uint8_t spec_v2_tcp6[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
	0x21,			/* version 2, PROXY */
	0x21,			/* AF_INET6, STREAM */
	0x00, 0x24,		/* 36 bytes of addresses follow */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11,
	0xdc, 0x04,		/* source port 56324 */
	0x01, 0xbb,		/* destination port 443 */
	'G', 'E', 'T', ' ',
};

/* A LOCAL command that still presents an address block. */
static const uint8_t spec_v2_local_tcp4[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
	0x20,			/* version 2, LOCAL */
	0x11,			/* AF_INET, STREAM: ignored */
	0x00, 0x0c,
	10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x00, 0x50,
};

/* The longest line of each kind in section 2.1. */
static const char *const spec_v1_lines[] = {
	"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
	"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
	"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	"PROXY UNKNOWN\r\n",
	"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
};
#define NSPEC_V1	(sizeof(spec_v1_lines) / sizeof(spec_v1_lines[0]))

struct vector {
	const void	*p;
	size_t		 len;		/* with the trailing client bytes */
	size_t		 hdrlen;
};

static const struct vector v2_vectors[] = {
	{ hap_v2_tcp4, sizeof(hap_v2_tcp4), 28 },
	{ hap_v2_tcp6_crc, sizeof(hap_v2_tcp6_crc), 59 },
	{ hap_v2_ssl, sizeof(hap_v2_ssl), 127 },
	{ hap_v2_local, sizeof(hap_v2_local), 16 },
	{ spec_v2_tcp4, sizeof(spec_v2_tcp4), 28 },
	{ spec_v2_tcp6, sizeof(spec_v2_tcp6), 52 },
	{ spec_v2_local_tcp4, sizeof(spec_v2_local_tcp4), 28 },
};
#define NV2_VECTORS	(sizeof(v2_vectors) / sizeof(v2_vectors[0]))

/* A v2 header under construction. */
struct hdr {
	uint8_t		b[4096];
	size_t		len;
};

/*
 * Parse a heap copy of exactly len bytes, so that the sanitizer sees a
 * read past the end.  An accepted header always lies within the input.
 */
static enum proxy_status
parse(const void *p, size_t len, struct proxy_info *pi)
{
	enum proxy_status	 st;
	uint8_t			*b;

	b = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(b);
	if (len > 0)
		memcpy(b, p, len);
	st = proxy_parse(b, len, pi);
	free(b);
	ck_assert(st == PROXY_NEED_MORE || st == PROXY_OK ||
	    st == PROXY_BAD);
	if (st == PROXY_OK) {
		ck_assert_uint_le(pi->hdrlen, len);
		ck_assert(pi->version == 1 || pi->version == 2);
	}
	return (st);
}

static enum proxy_status
parse_str(const char *s, struct proxy_info *pi)
{
	return (parse(s, strlen(s), pi));
}

/* A mapped address is expected back as the IPv4 address it carries. */
static void
check_sa(const struct sockaddr_storage *ss, const char *addr,
    unsigned int port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	uint8_t				 a[16];

	if (strchr(addr, ':') != NULL && inet_pton(AF_INET6, addr, a) == 1 &&
	    IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {
		ck_assert_int_eq(ss->ss_family, AF_INET);
		ck_assert_mem_eq(&sin->sin_addr, a + 12, 4);
		ck_assert_uint_eq(ntohs(sin->sin_port), port);
	} else if (strchr(addr, ':') == NULL) {
		ck_assert_int_eq(ss->ss_family, AF_INET);
		ck_assert_int_eq(inet_pton(AF_INET, addr, a), 1);
		ck_assert_mem_eq(&sin->sin_addr, a, 4);
		ck_assert_uint_eq(ntohs(sin->sin_port), port);
	} else {
		ck_assert_int_eq(ss->ss_family, AF_INET6);
		ck_assert_int_eq(inet_pton(AF_INET6, addr, a), 1);
		ck_assert_mem_eq(&sin6->sin6_addr, a, 16);
		ck_assert_uint_eq(ntohs(sin6->sin6_port), port);
		ck_assert_uint_eq(sin6->sin6_scope_id, 0);
	}
}

static void
mksa(struct sockaddr_storage *ss, const char *addr, unsigned int port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':') == NULL) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr),
		    1);
	}
}

/* Every proper prefix of a header is one still arriving. */
static void
check_prefixes(const void *p, size_t hdrlen)
{
	struct proxy_info	pi;
	size_t			n;

	for (n = 0; n < hdrlen; n++)
		ck_assert_msg(parse(p, n, &pi) == PROXY_NEED_MORE,
		    "prefix of %zu bytes of %zu", n, hdrlen);
}

/*
 * What any input must satisfy, prefix by prefix: still arriving, then
 * either refused for good or accepted for good, first at the length
 * the header gives.  Past the first decision, the next prefix and the
 * whole input stand for the rest.
 */
static void
check_consistent(const uint8_t *b, size_t len)
{
	struct proxy_info	pi;
	enum proxy_status	st = PROXY_NEED_MORE;
	size_t			n, hdrlen;

	for (n = 0; n <= len && st == PROXY_NEED_MORE; n++)
		st = parse(b, n, &pi);
	if (st == PROXY_NEED_MORE)
		return;
	hdrlen = pi.hdrlen;
	if (st == PROXY_OK)
		ck_assert_uint_eq(hdrlen, n - 1);
	for (; n <= len; n = n < len ? len : n + 1) {
		ck_assert_int_eq(parse(b, n, &pi), st);
		if (st == PROXY_OK)
			ck_assert_uint_eq(pi.hdrlen, hdrlen);
	}
}

static void
put(struct hdr *h, const void *p, size_t n)
{
	ck_assert_uint_le(h->len + n, sizeof(h->b));
	memcpy(h->b + h->len, p, n);
	h->len += n;
}

static void
put8(struct hdr *h, unsigned int v)
{
	uint8_t	b = v & 0xff;

	put(h, &b, 1);
}

static void
put16(struct hdr *h, size_t v)
{
	put8(h, (unsigned int)(v >> 8));
	put8(h, (unsigned int)v);
}

static void
put_tlv(struct hdr *h, unsigned int type, const void *v, size_t n)
{
	put8(h, type);
	put16(h, n);
	put(h, v, n);
}

/* A v2 header with n address bytes 0x01, 0x02, ... after the fixed part. */
static void
v2_start(struct hdr *h, unsigned int vercmd, unsigned int fam, size_t n)
{
	size_t	i;

	h->len = 0;
	put(h, V2_SIG, V2_SIG_LEN);
	put8(h, vercmd);
	put8(h, fam);
	put16(h, 0);
	for (i = 0; i < n; i++)
		put8(h, (unsigned int)i + 1);
}

static void
v2_end(struct hdr *h)
{
	h->b[14] = ((h->len - V2_HDR_LEN) >> 8) & 0xff;
	h->b[15] = (h->len - V2_HDR_LEN) & 0xff;
}

/* TCP over IPv4 from 10.0.0.1:1234 to 10.0.0.2:80. */
static void
v2_tcp4(struct hdr *h)
{
	static const uint8_t	a[] = { 10, 0, 0, 1, 10, 0, 0, 2,
				    0x04, 0xd2, 0x00, 0x50 };

	v2_start(h, 0x21, 0x11, 0);
	put(h, a, sizeof(a));
}

/* Written apart from the daemon's, to check it. */
static uint32_t
crc32c(const uint8_t *p, size_t n)
{
	uint32_t	crc = 0xffffffff;
	int		k;

	while (n-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78 : crc >> 1;
	}
	return (~crc);
}

/* Append a CRC32C TLV and fill it in, as a sender does. */
static void
v2_crc(struct hdr *h)
{
	static const uint8_t	zero[4];
	size_t			off;
	uint32_t		crc;

	put8(h, 0x03);
	put16(h, 4);
	off = h->len;
	put(h, zero, sizeof(zero));
	v2_end(h);
	crc = crc32c(h->b, h->len);
	h->b[off] = (crc >> 24) & 0xff;
	h->b[off + 1] = (crc >> 16) & 0xff;
	h->b[off + 2] = (crc >> 8) & 0xff;
	h->b[off + 3] = crc & 0xff;
}

/* Where the first TLV of a type starts in a header, or 0. */
static size_t
find_tlv(const uint8_t *b, size_t len, size_t off, unsigned int type)
{
	while (off + 3 <= len) {
		if (b[off] == type)
			return (off);
		off += 3 + ((size_t)b[off + 1] << 8 | b[off + 2]);
	}
	return (0);
}

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return (*s);
}

/*
 * Version 1.
 */

START_TEST(test_v1_spec_example)
{
	struct proxy_info	pi;
	const char		*s = "PROXY TCP4 192.168.0.1 192.168.0.11 "
				    "56324 443\r\nGET / HTTP/1.1\r\n"
				    "Host: 192.168.0.11\r\n\r\n";

	ck_assert_int_eq(parse_str(s, &pi), PROXY_OK);
	ck_assert_int_eq(pi.version, 1);
	ck_assert_int_eq(pi.local, 0);
	ck_assert_uint_eq(pi.hdrlen, strlen(spec_v1_lines[0]));
	check_sa(&pi.src, "192.168.0.1", 56324);
	check_sa(&pi.dst, "192.168.0.11", 443);
	ck_assert_str_eq(pi.authority, "");
	ck_assert_str_eq(pi.alpn, "");
}
END_TEST

/* A balancer on a dual-stack socket: its IPv4 clients count as IPv4. */
START_TEST(test_mapped)
{
	static const uint8_t	 a6[] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1,
		0x30, 0x39, 0x01, 0xbb };
	struct proxy_info	 pi;
	struct hdr		 h;

	ck_assert_int_eq(parse_str("PROXY TCP6 ::ffff:10.1.2.3 "
	    "::ffff:127.0.0.1 12345 443\r\n", &pi), PROXY_OK);
	check_sa(&pi.src, "10.1.2.3", 12345);
	check_sa(&pi.dst, "127.0.0.1", 443);
	ck_assert_int_eq(parse_str("PROXY TCP6 ::ffff:a01:203 2001:db8::1 "
	    "1 2\r\n", &pi), PROXY_OK);
	check_sa(&pi.src, "10.1.2.3", 1);
	check_sa(&pi.dst, "2001:db8::1", 2);
	/* Not mapped: ::a01:203 (IPv4-compatible) and ::fffe:... */
	ck_assert_int_eq(parse_str("PROXY TCP6 ::a01:203 ::fffe:a01:203 "
	    "1 2\r\n", &pi), PROXY_OK);
	check_sa(&pi.src, "::a01:203", 1);
	check_sa(&pi.dst, "::fffe:a01:203", 2);

	v2_start(&h, 0x21, 0x21, 0);
	put(&h, a6, sizeof(a6));
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
	check_sa(&pi.src, "10.1.2.3", 12345);
	check_sa(&pi.dst, "127.0.0.1", 443);
}
END_TEST

START_TEST(test_v1_spec_lines)
{
	struct proxy_info	 pi;
	const char		*s = spec_v1_lines[_i];
	size_t			 n = strlen(s);

	ck_assert_int_eq(parse_str(s, &pi), PROXY_OK);
	ck_assert_uint_eq(pi.hdrlen, n);
	ck_assert_uint_le(n, PROXY_V1_MAXLEN);
	ck_assert_int_eq(pi.local, strstr(s, "UNKNOWN") != NULL);
	check_prefixes(s, n);
	check_consistent((const uint8_t *)s, n);
}
END_TEST

START_TEST(test_v1_spec_maxima)
{
	struct proxy_info	pi;

	ck_assert_uint_eq(strlen(spec_v1_lines[1]), 56);
	ck_assert_uint_eq(strlen(spec_v1_lines[2]), 104);
	ck_assert_uint_eq(strlen(spec_v1_lines[3]), 15);
	ck_assert_uint_eq(strlen(spec_v1_lines[4]), PROXY_V1_MAXLEN);
	ck_assert_int_eq(parse_str(spec_v1_lines[1], &pi), PROXY_OK);
	check_sa(&pi.src, "255.255.255.255", 65535);
	check_sa(&pi.dst, "255.255.255.255", 65535);
	ck_assert_int_eq(parse_str(spec_v1_lines[2], &pi), PROXY_OK);
	check_sa(&pi.src, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
}
END_TEST

START_TEST(test_v1_haproxy)
{
	struct proxy_info	pi;

	ck_assert_int_eq(parse_str(hap_v1_tcp4, &pi), PROXY_OK);
	ck_assert_uint_eq(pi.hdrlen, strlen(hap_v1_tcp4) - 8);
	check_sa(&pi.src, "127.0.0.2", 41667);
	check_sa(&pi.dst, "127.0.0.1", 17001);
	check_prefixes(hap_v1_tcp4, pi.hdrlen);

	ck_assert_int_eq(parse_str(hap_v1_tcp6, &pi), PROXY_OK);
	ck_assert_uint_eq(pi.hdrlen, strlen(hap_v1_tcp6) - 10);
	ck_assert_int_eq(pi.local, 0);
	check_sa(&pi.src, "::1", 40824);
	check_sa(&pi.dst, "::1", 17004);
	check_prefixes(hap_v1_tcp6, pi.hdrlen);
}
END_TEST

START_TEST(test_v1_unknown)
{
	static const char *const ok[] = {
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN \r\n",
		"PROXY UNKNOWN ::1 ::1 1 2\r\n",
		"PROXY UNKNOWN whatever  the\tsender\x01likes\r\n",
		"PROXY UNKNOWN 1.2.3.4\r\nPROXY TCP4",
	};
	struct proxy_info	pi;
	size_t			i, n;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_int_eq(parse_str(ok[i], &pi), PROXY_OK);
		ck_assert_int_eq(pi.local, 1);
		ck_assert_int_eq(pi.version, 1);
		n = strstr(ok[i], "\r\n") - ok[i] + 2;
		ck_assert_uint_eq(pi.hdrlen, n);
		check_prefixes(ok[i], n);
	}
	ck_assert_int_eq(parse_str("PROXY UNKNOWNX\r\n", &pi), PROXY_BAD);
	ck_assert_int_eq(parse_str("PROXY UNKNOWN\n", &pi), PROXY_BAD);
	ck_assert_int_eq(parse_str("PROXY UNKNOWN x\ny\r\n", &pi),
	    PROXY_BAD);
	ck_assert_int_eq(parse_str("PROXY UNKNOWN x\ry\r\n", &pi),
	    PROXY_BAD);
}
END_TEST

/* The worst case of the specification is the longest line there is. */
START_TEST(test_v1_length)
{
	struct proxy_info	pi;
	char			line[256];
	size_t			n;

	/* 107 bytes with the CRLF, and one byte more. */
	memset(line, 0, sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memset(line + 14, 'x', PROXY_V1_MAXLEN - 16);
	memcpy(line + PROXY_V1_MAXLEN - 2, "\r\n", 2);
	ck_assert_uint_eq(strlen(line), PROXY_V1_MAXLEN);
	ck_assert_int_eq(parse_str(line, &pi), PROXY_OK);
	ck_assert_uint_eq(pi.hdrlen, PROXY_V1_MAXLEN);
	check_prefixes(line, PROXY_V1_MAXLEN);

	memset(line + 14, 'x', PROXY_V1_MAXLEN - 15);
	memcpy(line + PROXY_V1_MAXLEN - 1, "\r\n", 2);
	ck_assert_uint_eq(strlen(line), PROXY_V1_MAXLEN + 1);
	ck_assert_int_eq(parse_str(line, &pi), PROXY_BAD);
	/* Known as soon as the CR is missing where it had to be. */
	for (n = 0; n < PROXY_V1_MAXLEN - 1; n++)
		ck_assert_int_eq(parse(line, n, &pi), PROXY_NEED_MORE);
	for (; n <= PROXY_V1_MAXLEN + 1; n++)
		ck_assert_int_eq(parse(line, n, &pi), PROXY_BAD);

	/* No CRLF at all, whatever the length. */
	memset(line + 14, 'x', sizeof(line) - 15);
	line[sizeof(line) - 1] = '\0';
	ck_assert_int_eq(parse_str(line, &pi), PROXY_BAD);
	check_consistent((const uint8_t *)line, strlen(line));
}
END_TEST

START_TEST(test_v1_length_tcp6)
{
	struct proxy_info	 pi;
	const char		*s;

	/* IPv4-mapped addresses in dotted form: 116 bytes. */
	s = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 65535 65535\r\n";
	ck_assert_int_eq(parse_str(s, &pi), PROXY_BAD);
	s = "PROXY TCP6 ::ffff:192.0.2.1 ::ffff:192.0.2.2 1 2\r\n";
	ck_assert_int_eq(parse_str(s, &pi), PROXY_OK);
	check_sa(&pi.src, "::ffff:192.0.2.1", 1);
}
END_TEST

static const char *const v1_bad[] = {
	"GET / HTTP/1.1\r\n",
	"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXX TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY\r\n",
	"PROXY \r\n",
	"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8\r\n",
	"PROXY TCP4 1.2.3.4\r\n",
	"PROXY TCP4\r\n",
	"PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP44 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4 ::1 ::1 1 2\r\n",
	"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4 ::1 1 2\r\n",
	"PROXY TCP6 ::1 1.2.3.4 1 2\r\n",
	"PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n",
	"PROXY TCP4 .1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4 0x1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8a 1 2\r\n",
	"PROXY TCP4 localhost 5.6.7.8 1 2\r\n",
	"PROXY TCP6 1::2::3 ::1 1 2\r\n",
	"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
	"PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n",
	"PROXY TCP6 12345:: ::1 1 2\r\n",
	"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
	"PROXY TCP6 [::1] ::1 1 2\r\n",
	"PROXY TCP6 g::1 ::1 1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 123456\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 0x10\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2a\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r",
	"PROXY TCP4 1.2.3.4\n 5.6.7.8 1 2\r\n",
};
#define NV1_BAD		(sizeof(v1_bad) / sizeof(v1_bad[0]))

START_TEST(test_v1_malformed)
{
	struct proxy_info	pi;

	ck_assert_msg(parse_str(v1_bad[_i], &pi) == PROXY_BAD, "%s",
	    v1_bad[_i]);
	check_consistent((const uint8_t *)v1_bad[_i], strlen(v1_bad[_i]));
}
END_TEST

START_TEST(test_v1_nul)
{
	static const char	s[] = "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n";
	struct proxy_info	pi;

	ck_assert_int_eq(parse(s, sizeof(s) - 1, &pi), PROXY_BAD);
	ck_assert_int_eq(parse("PROXY \0", 7, &pi), PROXY_BAD);
}
END_TEST

/* Turned away on the first byte that cannot be part of a header. */
START_TEST(test_v1_early)
{
	static const struct {
		const char	*s;
		size_t		 bad;	/* bytes needed to know */
	} cases[] = {
		{ "GET / HTTP/1.1\r\n", 1 },
		{ "\x16\x03\x01", 1 },
		{ "SSH-2.0-OpenSSH\r\n", 1 },
		{ "PROXX", 5 },
		{ "PROXY  ", 7 },
		{ "PROXY TCP5", 10 },
		{ "PROXY TCP4 ::", 12 },
		{ "PROXY TCP4 1.2.3.4  ", 20 },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 01", 29 },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 65536", 34 },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 ", 31 },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 +", 30 },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rx", 32 },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", 31 },
		{ "PROXY TCP4 1234567890123456", 27 },
	};
	struct proxy_info	pi;
	size_t			i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (n = 0; n < cases[i].bad; n++)
			ck_assert_msg(parse(cases[i].s, n, &pi) ==
			    PROXY_NEED_MORE, "%s at %zu", cases[i].s, n);
		ck_assert_msg(parse(cases[i].s, n, &pi) == PROXY_BAD,
		    "%s at %zu", cases[i].s, n);
	}
}
END_TEST

START_TEST(test_v1_ports)
{
	static const struct {
		const char	*port;
		int		 ok;
		unsigned int	 v;
	} ports[] = {
		{ "0", 1, 0 }, { "1", 1, 1 }, { "9", 1, 9 }, { "10", 1, 10 },
		{ "443", 1, 443 }, { "65535", 1, 65535 }, { "65536", 0, 0 },
		{ "00", 0, 0 }, { "007", 0, 0 }, { "", 0, 0 },
		{ "6553x", 0, 0 }, { "100000", 0, 0 }, { " 1", 0, 0 },
		{ "1 ", 0, 0 },
	};
	struct proxy_info	pi;
	char			line[128];
	size_t			i;

	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		snprintf(line, sizeof(line),
		    "PROXY TCP4 1.2.3.4 5.6.7.8 %s 80\r\n", ports[i].port);
		ck_assert_msg(parse_str(line, &pi) ==
		    (ports[i].ok ? PROXY_OK : PROXY_BAD), "%s", line);
		if (ports[i].ok)
			check_sa(&pi.src, "1.2.3.4", ports[i].v);
		snprintf(line, sizeof(line),
		    "PROXY TCP4 1.2.3.4 5.6.7.8 80 %s\r\n", ports[i].port);
		ck_assert_msg(parse_str(line, &pi) ==
		    (ports[i].ok ? PROXY_OK : PROXY_BAD), "%s", line);
		if (ports[i].ok)
			check_sa(&pi.dst, "5.6.7.8", ports[i].v);
	}
}
END_TEST

START_TEST(test_v1_addresses)
{
	static const char *const ok6[] = {
		"::", "::1", "1::", "2001:db8::1", "2001:DB8::A",
		"0001:0002:0003:0004:0005:0006:0007:0008", "1:2:3:4:5:6:7::",
		"::ffff:10.0.0.1",
	};
	static const char *const ok4[] = {
		"0.0.0.0", "10.0.0.1", "127.0.0.1", "255.255.255.255",
	};
	struct proxy_info	pi;
	char			line[160];
	size_t			i;

	for (i = 0; i < sizeof(ok6) / sizeof(ok6[0]); i++) {
		snprintf(line, sizeof(line), "PROXY TCP6 %s %s 1 2\r\n",
		    ok6[i], ok6[i]);
		ck_assert_msg(parse_str(line, &pi) == PROXY_OK, "%s", line);
		check_sa(&pi.src, ok6[i], 1);
		check_sa(&pi.dst, ok6[i], 2);
	}
	for (i = 0; i < sizeof(ok4) / sizeof(ok4[0]); i++) {
		snprintf(line, sizeof(line), "PROXY TCP4 %s %s 1 2\r\n",
		    ok4[i], ok4[i]);
		ck_assert_msg(parse_str(line, &pi) == PROXY_OK, "%s", line);
		check_sa(&pi.src, ok4[i], 1);
		check_sa(&pi.dst, ok4[i], 2);
	}
}
END_TEST

/*
 * Version 2.
 */

START_TEST(test_v2_spec_by_hand)
{
	struct proxy_info	pi;

	ck_assert_int_eq(parse(spec_v2_tcp4, sizeof(spec_v2_tcp4), &pi),
	    PROXY_OK);
	ck_assert_int_eq(pi.version, 2);
	ck_assert_int_eq(pi.local, 0);
	ck_assert_uint_eq(pi.hdrlen, 28);
	check_sa(&pi.src, "192.168.0.1", 56324);
	check_sa(&pi.dst, "192.168.0.11", 443);

	ck_assert_int_eq(parse(spec_v2_tcp6, sizeof(spec_v2_tcp6), &pi),
	    PROXY_OK);
	ck_assert_int_eq(pi.local, 0);
	ck_assert_uint_eq(pi.hdrlen, 52);
	check_sa(&pi.src, "2001:db8::1", 56324);
	check_sa(&pi.dst, "2001:db8::11", 443);

	ck_assert_int_eq(parse(spec_v2_local_tcp4, sizeof(spec_v2_local_tcp4),
	    &pi), PROXY_OK);
	ck_assert_int_eq(pi.local, 1);
	ck_assert_uint_eq(pi.hdrlen, 28);
}
END_TEST

START_TEST(test_v2_haproxy)
{
	struct proxy_info	pi;

	ck_assert_int_eq(parse(hap_v2_tcp4, sizeof(hap_v2_tcp4), &pi),
	    PROXY_OK);
	ck_assert_int_eq(pi.local, 0);
	ck_assert_uint_eq(pi.hdrlen, 28);
	check_sa(&pi.src, "127.0.0.2", 36503);
	check_sa(&pi.dst, "127.0.0.1", 17002);

	ck_assert_int_eq(parse(hap_v2_tcp6_crc, sizeof(hap_v2_tcp6_crc),
	    &pi), PROXY_OK);
	ck_assert_uint_eq(pi.hdrlen, 59);
	check_sa(&pi.src, "::1", 47444);
	check_sa(&pi.dst, "::1", 17005);

	ck_assert_int_eq(parse(hap_v2_ssl, sizeof(hap_v2_ssl), &pi),
	    PROXY_OK);
	ck_assert_uint_eq(pi.hdrlen, 127);
	check_sa(&pi.src, "127.0.0.1", 43498);
	check_sa(&pi.dst, "127.0.0.1", 17003);
	ck_assert_str_eq(pi.authority, "www.example.org");
	ck_assert_str_eq(pi.alpn, "h2");

	ck_assert_int_eq(parse(hap_v2_local, sizeof(hap_v2_local), &pi),
	    PROXY_OK);
	ck_assert_int_eq(pi.version, 2);
	ck_assert_int_eq(pi.local, 1);
	ck_assert_uint_eq(pi.hdrlen, 16);
}
END_TEST

START_TEST(test_v2_prefixes)
{
	const struct vector	*v = &v2_vectors[_i];
	struct proxy_info	 pi;

	ck_assert_int_eq(parse(v->p, v->len, &pi), PROXY_OK);
	ck_assert_uint_eq(pi.hdrlen, v->hdrlen);
	check_prefixes(v->p, v->hdrlen);
	check_consistent(v->p, v->len);
}
END_TEST

START_TEST(test_v2_signature)
{
	struct proxy_info	pi;
	uint8_t			b[sizeof(spec_v2_tcp4)];
	size_t			i, n;

	for (i = 0; i < V2_SIG_LEN; i++) {
		memcpy(b, spec_v2_tcp4, sizeof(b));
		b[i] ^= 0x20;
		for (n = 0; n <= i; n++)
			ck_assert_int_eq(parse(b, n, &pi), PROXY_NEED_MORE);
		for (; n <= sizeof(b); n++)
			ck_assert_int_eq(parse(b, n, &pi), PROXY_BAD);
	}
	/* Its NUL is a byte like the others. */
	ck_assert_int_eq(parse("\r\n\r\n", 5, &pi), PROXY_NEED_MORE);
	ck_assert_int_eq(parse("\r\n\r\nX", 5, &pi), PROXY_BAD);
}
END_TEST

START_TEST(test_v2_version_command)
{
	struct proxy_info	pi;
	uint8_t			b[sizeof(spec_v2_tcp4)];
	unsigned int		v;
	enum proxy_status	want;

	for (v = 0; v < 256; v++) {
		memcpy(b, spec_v2_tcp4, sizeof(b));
		b[12] = v;
		want = v == 0x20 || v == 0x21 ? PROXY_OK : PROXY_BAD;
		ck_assert_msg(parse(b, sizeof(b), &pi) == want, "0x%02x", v);
		if (want == PROXY_OK)
			ck_assert_int_eq(pi.local, v == 0x20);
		ck_assert_int_eq(parse(b, 12, &pi), PROXY_NEED_MORE);
		ck_assert_int_eq(parse(b, 13, &pi),
		    want == PROXY_OK ? PROXY_NEED_MORE : PROXY_BAD);
	}
}
END_TEST

static size_t
fam_addrlen(unsigned int fam)
{
	switch (fam) {
	case 0x00:
		return (0);
	case 0x11:
	case 0x12:
		return (12);
	case 0x21:
	case 0x22:
		return (36);
	case 0x31:
	case 0x32:
		return (216);
	}
	return (SIZE_MAX);
}

/*
 * Only the combinations listed in the specification are accepted, and
 * only TCP over IPv4 or IPv6 carries addresses; TLVs follow the address
 * block whatever it holds.
 */
START_TEST(test_v2_families)
{
	struct proxy_info	pi;
	struct hdr		h;
	unsigned int		fam, cmd;
	size_t			alen;

	for (cmd = 0x20; cmd <= 0x21; cmd++) {
		for (fam = 0; fam < 256; fam++) {
			alen = fam_addrlen(fam);
			v2_start(&h, cmd, fam, alen == SIZE_MAX ? 0 : alen);
			put_tlv(&h, 0x02, "a.example", 9);
			v2_end(&h);
			if (alen == SIZE_MAX) {
				ck_assert_int_eq(parse(h.b, 14, &pi),
				    PROXY_BAD);
				ck_assert_int_eq(parse(h.b, h.len, &pi),
				    PROXY_BAD);
				continue;
			}
			ck_assert_int_eq(parse(h.b, 14, &pi),
			    PROXY_NEED_MORE);
			ck_assert_msg(parse(h.b, h.len, &pi) == PROXY_OK,
			    "0x%02x 0x%02x", cmd, fam);
			ck_assert_int_eq(pi.local, cmd == 0x20 ||
			    (fam != 0x11 && fam != 0x21));
			ck_assert_str_eq(pi.authority, "a.example");
			ck_assert_uint_eq(pi.hdrlen, h.len);
		}
	}
}
END_TEST

/* An address block one byte short of its family. */
START_TEST(test_v2_addr_short)
{
	static const unsigned int	fams[] = { 0x11, 0x12, 0x21, 0x22,
					    0x31, 0x32 };
	struct proxy_info		pi;
	struct hdr			h;
	size_t				i, alen;
	unsigned int			cmd;

	for (cmd = 0x20; cmd <= 0x21; cmd++) {
		for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
			alen = fam_addrlen(fams[i]);
			v2_start(&h, cmd, fams[i], alen - 1);
			v2_end(&h);
			put(&h, "payload!", 8);
			ck_assert_int_eq(parse(h.b, V2_HDR_LEN, &pi),
			    PROXY_BAD);
			ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

			v2_start(&h, cmd, fams[i], alen);
			v2_end(&h);
			ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
			check_prefixes(h.b, h.len);
		}
	}
}
END_TEST

START_TEST(test_v2_total_length)
{
	static uint8_t		pad[PROXY_HDR_MAXLEN];
	struct proxy_info	pi;
	struct hdr		h;
	size_t			n;

	/* Exactly PROXY_HDR_MAXLEN, padded with a NOOP TLV. */
	n = PROXY_HDR_MAXLEN - V2_HDR_LEN - 12 - 3;
	v2_tcp4(&h);
	put_tlv(&h, 0x04, pad, n);
	v2_end(&h);
	ck_assert_uint_eq(h.len, PROXY_HDR_MAXLEN);
	put(&h, "GET", 3);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
	ck_assert_uint_eq(pi.hdrlen, PROXY_HDR_MAXLEN);
	check_sa(&pi.src, "10.0.0.1", 1234);
	check_prefixes(h.b, PROXY_HDR_MAXLEN);

	/* One more, refused as soon as the length is known. */
	v2_tcp4(&h);
	put_tlv(&h, 0x04, pad, n + 1);
	v2_end(&h);
	ck_assert_uint_eq(h.len, PROXY_HDR_MAXLEN + 1);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);
	ck_assert_int_eq(parse(h.b, V2_HDR_LEN - 1, &pi), PROXY_NEED_MORE);
	ck_assert_int_eq(parse(h.b, V2_HDR_LEN, &pi), PROXY_BAD);

	/* The largest length the field can hold. */
	h.b[14] = h.b[15] = 0xff;
	ck_assert_int_eq(parse(h.b, V2_HDR_LEN, &pi), PROXY_BAD);
}
END_TEST

START_TEST(test_v2_tlv_bounds)
{
	struct proxy_info	pi;
	struct hdr		h;
	size_t			hdrlen;

	/* A TLV whose value runs one byte past the end of the header. */
	v2_tcp4(&h);
	put_tlv(&h, 0xe0, "abcd", 4);
	v2_end(&h);
	hdrlen = h.len;
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
	h.b[h.len - 5] = 5;
	put(&h, "x", 1);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);
	ck_assert_int_eq(parse(h.b, hdrlen, &pi), PROXY_BAD);
	check_prefixes(h.b, hdrlen);

	/* One or two bytes left over: not even a TLV header. */
	v2_tcp4(&h);
	put8(&h, 0x04);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);
	v2_tcp4(&h);
	put_tlv(&h, 0x04, "", 0);
	put8(&h, 0x04);
	put8(&h, 0x00);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	/* Empty TLVs and unknown types are skipped. */
	v2_tcp4(&h);
	put_tlv(&h, 0x04, "", 0);
	put_tlv(&h, 0x05, "", 0);
	put_tlv(&h, 0x30, "netns", 5);
	put_tlv(&h, 0xe0, "custom", 6);
	put_tlv(&h, 0xff, "", 0);
	put_tlv(&h, 0x00, "zero", 4);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
	ck_assert_str_eq(pi.authority, "");
	ck_assert_str_eq(pi.alpn, "");
	check_prefixes(h.b, h.len);
}
END_TEST

START_TEST(test_v2_authority)
{
	struct proxy_info	pi;
	struct hdr		h;
	char			name[300];

	memset(name, 'a', sizeof(name));
	v2_tcp4(&h);
	put_tlv(&h, 0x02, name, PROXY_AUTHORITY_MAX);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
	ck_assert_uint_eq(strlen(pi.authority), PROXY_AUTHORITY_MAX);

	v2_tcp4(&h);
	put_tlv(&h, 0x02, name, PROXY_AUTHORITY_MAX + 1);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	/* Kept as sent, upper case included. */
	v2_tcp4(&h);
	put_tlv(&h, 0x02, "WWW.Example.COM", 15);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
	ck_assert_str_eq(pi.authority, "WWW.Example.COM");

	v2_tcp4(&h);
	put_tlv(&h, 0x02, "", 0);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	v2_tcp4(&h);
	put_tlv(&h, 0x02, "a.example\0b.example", 19);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	v2_tcp4(&h);
	put_tlv(&h, 0x02, "a example", 9);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	v2_tcp4(&h);
	put_tlv(&h, 0x02, "a\nexample", 9);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	v2_tcp4(&h);
	put_tlv(&h, 0x02, "\xc3\xa9.example", 10);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	v2_tcp4(&h);
	put_tlv(&h, 0x02, "a.example", 9);
	put_tlv(&h, 0x02, "a.example", 9);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);
}
END_TEST

START_TEST(test_v2_alpn)
{
	struct proxy_info	pi;
	struct hdr		h;
	char			proto[PROXY_ALPN_MAX + 1];

	memset(proto, 'p', sizeof(proto));
	v2_tcp4(&h);
	put_tlv(&h, 0x01, proto, PROXY_ALPN_MAX);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
	ck_assert_uint_eq(strlen(pi.alpn), PROXY_ALPN_MAX);

	/* Too long to remember, or cut by a NUL: passed over. */
	v2_tcp4(&h);
	put_tlv(&h, 0x01, proto, PROXY_ALPN_MAX + 1);
	put_tlv(&h, 0x02, "a.example", 9);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
	ck_assert_str_eq(pi.alpn, "");
	ck_assert_str_eq(pi.authority, "a.example");

	v2_tcp4(&h);
	put_tlv(&h, 0x01, "h2\0x", 4);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
	ck_assert_str_eq(pi.alpn, "");

	v2_tcp4(&h);
	put_tlv(&h, 0x01, "", 0);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	v2_tcp4(&h);
	put_tlv(&h, 0x01, "h2", 2);
	put_tlv(&h, 0x01, "h2", 2);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);
}
END_TEST

START_TEST(test_v2_ssl_tlv)
{
	static const uint8_t	ok[] = { 0x01, 0, 0, 0, 1,
				    0x21, 0x00, 0x07, 'T', 'L', 'S', 'v',
				    '1', '.', '3' };
	struct proxy_info	pi;
	struct hdr		h;
	uint8_t			b[sizeof(ok)];

	v2_tcp4(&h);
	put_tlv(&h, 0x20, ok, sizeof(ok));
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);

	v2_tcp4(&h);
	put_tlv(&h, 0x20, ok, 5);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);

	v2_tcp4(&h);
	put_tlv(&h, 0x20, ok, 4);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	/* A sub-TLV one byte past the end of the SSL TLV. */
	memcpy(b, ok, sizeof(b));
	b[7] = 8;
	v2_tcp4(&h);
	put_tlv(&h, 0x20, b, sizeof(b));
	put_tlv(&h, 0x04, "", 0);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	/* Bytes left over after the sub-TLVs. */
	v2_tcp4(&h);
	put_tlv(&h, 0x20, ok, 7);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);
}
END_TEST

START_TEST(test_v2_crc32c)
{
	struct proxy_info	pi;
	struct hdr		h;
	size_t			i;

	/* The check value of RFC 3720 B.4 and iSCSI. */
	ck_assert_uint_eq(crc32c((const uint8_t *)"123456789", 9),
	    0xe3069283);

	v2_tcp4(&h);
	put_tlv(&h, 0x02, "a.example", 9);
	v2_crc(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
	ck_assert_str_eq(pi.authority, "a.example");
	check_prefixes(h.b, h.len);

	/* Any change to the header, the checksum itself included. */
	for (i = 0; i < h.len; i++) {
		h.b[i] ^= 0x01;
		ck_assert_msg(parse(h.b, h.len, &pi) != PROXY_OK, "%zu", i);
		h.b[i] ^= 0x01;
	}

	/* The checksum TLV first, and one carried by a LOCAL header. */
	v2_start(&h, 0x20, 0x00, 0);
	v2_crc(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_OK);
	h.b[h.len - 1] ^= 0x80;
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	/* Zero is a checksum like any other, not "none". */
	v2_tcp4(&h);
	put_tlv(&h, 0x03, "\0\0\0\0", 4);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	v2_tcp4(&h);
	put_tlv(&h, 0x03, "\0\0\0", 3);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	v2_tcp4(&h);
	put_tlv(&h, 0x03, "\0\0\0\0\0", 5);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);

	v2_tcp4(&h);
	v2_crc(&h);
	put_tlv(&h, 0x03, "\0\0\0\0", 4);
	v2_end(&h);
	ck_assert_int_eq(parse(h.b, h.len, &pi), PROXY_BAD);
}
END_TEST

/*
 * HAProxy's checksums, checked byte by byte the same way, but for the
 * type of the checksum TLV: changed, it makes another TLV of it.
 */
START_TEST(test_v2_crc32c_haproxy)
{
	const struct vector	*v = &v2_vectors[_i];
	struct proxy_info	 pi;
	uint8_t			 b[256];
	size_t			 i, crc;

	ck_assert_uint_le(v->len, sizeof(b));
	memcpy(b, v->p, v->len);
	crc = find_tlv(b, v->hdrlen, b[13] == 0x11 ? 28 : 52, 0x03);
	ck_assert_uint_ne(crc, 0);
	for (i = 0; i < v->hdrlen; i++) {
		b[i] ^= 0x04;
		ck_assert_msg((parse(b, v->len, &pi) == PROXY_OK) ==
		    (i == crc), "%zu", i);
		b[i] ^= 0x04;
	}
	for (; i < v->len; i++) {
		b[i] ^= 0x04;
		ck_assert_int_eq(parse(b, v->len, &pi), PROXY_OK);
		b[i] ^= 0x04;
	}
}
END_TEST

/*
 * Building.
 */

static const struct pair {
	const char	*src, *dst;
	unsigned int	 sport, dport;
	const char	*line;
} pairs[] = {
	{ "192.0.2.1", "198.51.100.7", 56324, 443,
	    "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n" },
	{ "0.0.0.0", "255.255.255.255", 0, 65535,
	    "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n" },
	{ "2001:db8::1", "2001:db8::11", 1, 2,
	    "PROXY TCP6 2001:db8::1 2001:db8::11 1 2\r\n" },
	{ "::", "::1", 10, 20,
	    "PROXY TCP6 :: ::1 10 20\r\n" },
	{ "1::", "1:2:3:4:5:6:7:8", 10, 20,
	    "PROXY TCP6 1:: 1:2:3:4:5:6:7:8 10 20\r\n" },
	{ "1:0:0:2:0:0:0:3", "1:0:0:2:0:0:3:4", 1, 1,
	    "PROXY TCP6 1:0:0:2::3 1::2:0:0:3:4 1 1\r\n" },
	{ "1:0:2:3:4:5:6:7", "fe80::abcd:0:0:1", 1, 1,
	    "PROXY TCP6 1:0:2:3:4:5:6:7 fe80::abcd:0:0:1 1 1\r\n" },
	{ "::ffff:192.0.2.1", "::ffff:198.51.100.7", 5, 6,
	    "PROXY TCP6 ::ffff:c000:201 ::ffff:c633:6407 5 6\r\n" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535, 65535,
	    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65535\r\n" },
};
#define NPAIRS		(sizeof(pairs) / sizeof(pairs[0]))

START_TEST(test_build_v1)
{
	const struct pair	*p = &pairs[_i];
	struct sockaddr_storage	 src, dst;
	struct proxy_info	 pi;
	char			 buf[PROXY_V1_MAXLEN + 1], *small;
	ssize_t			 n;
	size_t			 len;

	mksa(&src, p->src, p->sport);
	mksa(&dst, p->dst, p->dport);
	n = proxy_build_v1((struct sockaddr *)&src, (struct sockaddr *)&dst,
	    buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)strlen(p->line));
	ck_assert_str_eq(buf, p->line);

	ck_assert_int_eq(parse(buf, (size_t)n, &pi), PROXY_OK);
	ck_assert_int_eq(pi.version, 1);
	ck_assert_int_eq(pi.local, 0);
	ck_assert_uint_eq(pi.hdrlen, (size_t)n);
	check_sa(&pi.src, p->src, p->sport);
	check_sa(&pi.dst, p->dst, p->dport);

	/* Room for the line and its NUL, not a byte less. */
	for (len = 0; len <= (size_t)n; len++) {
		small = malloc(len > 0 ? len : 1);
		ck_assert_ptr_nonnull(small);
		ck_assert_int_eq(proxy_build_v1((struct sockaddr *)&src,
		    (struct sockaddr *)&dst, small, len), -1);
		free(small);
	}
	small = malloc(len);
	ck_assert_ptr_nonnull(small);
	ck_assert_int_eq(proxy_build_v1((struct sockaddr *)&src,
	    (struct sockaddr *)&dst, small, len), n);
	ck_assert_str_eq(small, p->line);
	free(small);
}
END_TEST

START_TEST(test_build_v1_unknown)
{
	struct sockaddr_storage	 v4, v6;
	struct sockaddr_un	 sun;
	struct proxy_info	 pi;
	char			 buf[PROXY_V1_MAXLEN + 1];

	mksa(&v4, "192.0.2.1", 1);
	mksa(&v6, "2001:db8::1", 2);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;

	ck_assert_int_eq(proxy_build_v1((struct sockaddr *)&v4,
	    (struct sockaddr *)&v6, buf, sizeof(buf)), 15);
	ck_assert_str_eq(buf, "PROXY UNKNOWN\r\n");
	ck_assert_int_eq(parse_str(buf, &pi), PROXY_OK);
	ck_assert_int_eq(pi.local, 1);

	ck_assert_int_eq(proxy_build_v1((struct sockaddr *)&v6,
	    (struct sockaddr *)&v4, buf, sizeof(buf)), 15);
	ck_assert_int_eq(proxy_build_v1((struct sockaddr *)&sun,
	    (struct sockaddr *)&sun, buf, sizeof(buf)), 15);
	ck_assert_int_eq(proxy_build_v1(NULL, (struct sockaddr *)&v4, buf,
	    sizeof(buf)), 15);
	ck_assert_int_eq(proxy_build_v1((struct sockaddr *)&v4, NULL, buf,
	    sizeof(buf)), 15);
	ck_assert_int_eq(proxy_build_v1((struct sockaddr *)&v4,
	    (struct sockaddr *)&v6, buf, 15), -1);
	ck_assert_int_eq(proxy_build_v1((struct sockaddr *)&v4,
	    (struct sockaddr *)&v6, NULL, 0), -1);
}
END_TEST

static const struct tlvset {
	const char		*authority;
	const char		*alpn;
	struct proxy_tlv_ssl	 ssl;
} tlvsets[] = {
	{ NULL, NULL, { 0, 0, NULL, NULL } },
	{ "", "", { 0, 0, NULL, NULL } },
	{ "www.example.com", NULL, { 0, 0, NULL, NULL } },
	{ NULL, "h2", { 0, 0, NULL, NULL } },
	{ "www.example.com", "http/1.1",
	    { 1, 0, "TLSv1.3", "TLS_AES_256_GCM_SHA384" } },
	{ "a.example", "acme-tls/1",
	    { 1, 1, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256" } },
	{ NULL, NULL, { 1, 0, NULL, NULL } },
};
#define NTLVSETS	(sizeof(tlvsets) / sizeof(tlvsets[0]))

static const char *
str_or_empty(const char *s)
{
	return (s == NULL ? "" : s);
}

static void
check_ssl_tlv(const uint8_t *b, size_t len, size_t off,
    const struct proxy_tlv_ssl *ssl)
{
	size_t		 at, n, end;
	unsigned int	 client;
	uint32_t	 verify;

	at = find_tlv(b, len, off, 0x20);
	if (!ssl->present) {
		ck_assert_uint_eq(at, 0);
		return;
	}
	ck_assert_uint_ne(at, 0);
	n = (size_t)b[at + 1] << 8 | b[at + 2];
	end = at + 3 + n;
	ck_assert_uint_eq(end, len);
	client = b[at + 3];
	verify = (uint32_t)b[at + 4] << 24 | (uint32_t)b[at + 5] << 16 |
	    (uint32_t)b[at + 6] << 8 | b[at + 7];
	if (ssl->verified_client_cert) {
		ck_assert_uint_eq(client, 0x07);
		ck_assert_uint_eq(verify, 0);
	} else {
		ck_assert_uint_eq(client, 0x01);
		ck_assert_uint_ne(verify, 0);
	}
	at += 8;
	if (ssl->version != NULL) {
		ck_assert_uint_eq(b[at], 0x21);
		n = (size_t)b[at + 1] << 8 | b[at + 2];
		ck_assert_uint_eq(n, strlen(ssl->version));
		ck_assert_mem_eq(b + at + 3, ssl->version, n);
		at += 3 + n;
	}
	if (ssl->cipher != NULL) {
		ck_assert_uint_eq(b[at], 0x23);
		n = (size_t)b[at + 1] << 8 | b[at + 2];
		ck_assert_uint_eq(n, strlen(ssl->cipher));
		ck_assert_mem_eq(b + at + 3, ssl->cipher, n);
		at += 3 + n;
	}
	ck_assert_uint_eq(at, end);
}

START_TEST(test_build_v2)
{
	const struct pair	*p = &pairs[_i % NPAIRS];
	const struct tlvset	*t = &tlvsets[_i / NPAIRS];
	struct sockaddr_storage	 src, dst;
	struct proxy_info	 pi;
	uint8_t			 buf[PROXY_HDR_MAXLEN], *small;
	ssize_t			 n;
	size_t			 len, alen;

	mksa(&src, p->src, p->sport);
	mksa(&dst, p->dst, p->dport);
	n = proxy_build_v2((struct sockaddr *)&src, (struct sockaddr *)&dst,
	    t->authority, t->alpn, &t->ssl, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_mem_eq(buf, V2_SIG, V2_SIG_LEN);
	ck_assert_uint_eq(buf[12], 0x21);
	ck_assert_uint_eq(buf[13], src.ss_family == AF_INET ? 0x11 : 0x21);
	ck_assert_uint_eq((size_t)buf[14] << 8 | buf[15],
	    (size_t)n - V2_HDR_LEN);
	alen = src.ss_family == AF_INET ? 12 : 36;
	check_ssl_tlv(buf, (size_t)n, V2_HDR_LEN + alen, &t->ssl);

	ck_assert_int_eq(parse(buf, (size_t)n, &pi), PROXY_OK);
	ck_assert_int_eq(pi.version, 2);
	ck_assert_int_eq(pi.local, 0);
	ck_assert_uint_eq(pi.hdrlen, (size_t)n);
	check_sa(&pi.src, p->src, p->sport);
	check_sa(&pi.dst, p->dst, p->dport);
	ck_assert_str_eq(pi.authority, str_or_empty(t->authority));
	ck_assert_str_eq(pi.alpn, str_or_empty(t->alpn));
	check_prefixes(buf, (size_t)n);

	for (len = 0; len < (size_t)n; len++) {
		small = malloc(len > 0 ? len : 1);
		ck_assert_ptr_nonnull(small);
		ck_assert_int_eq(proxy_build_v2((struct sockaddr *)&src,
		    (struct sockaddr *)&dst, t->authority, t->alpn, &t->ssl,
		    small, len), -1);
		free(small);
	}
	small = malloc(len);
	ck_assert_ptr_nonnull(small);
	ck_assert_int_eq(proxy_build_v2((struct sockaddr *)&src,
	    (struct sockaddr *)&dst, t->authority, t->alpn, &t->ssl, small,
	    len), n);
	ck_assert_mem_eq(small, buf, len);
	free(small);
}
END_TEST

/* The bytes of one header, put together apart from the builder. */
START_TEST(test_build_v2_bytes)
{
	static const struct proxy_tlv_ssl ssl = { 1, 0, "TLSv1.3",
				    "TLS_AES_128_GCM_SHA256" };
	static const uint8_t	 addrs[] = { 192, 0, 2, 1, 198, 51, 100, 7,
				    0xdc, 0x04, 0x01, 0xbb };
	struct sockaddr_storage	 src, dst;
	struct hdr		 h;
	uint8_t			 buf[PROXY_HDR_MAXLEN];
	ssize_t			 n;

	v2_start(&h, 0x21, 0x11, 0);
	put(&h, addrs, sizeof(addrs));
	put_tlv(&h, 0x01, "h2", 2);
	put_tlv(&h, 0x02, "example.com", 11);
	put8(&h, 0x20);
	put16(&h, 5 + 3 + 7 + 3 + 22);
	put8(&h, 0x01);
	put(&h, "\0\0\0\1", 4);
	put_tlv(&h, 0x21, "TLSv1.3", 7);
	put_tlv(&h, 0x23, "TLS_AES_128_GCM_SHA256", 22);
	v2_end(&h);

	mksa(&src, "192.0.2.1", 56324);
	mksa(&dst, "198.51.100.7", 443);
	n = proxy_build_v2((struct sockaddr *)&src, (struct sockaddr *)&dst,
	    "example.com", "h2", &ssl, buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)h.len);
	ck_assert_mem_eq(buf, h.b, h.len);

	/* Only the header: nothing is written past it. */
	memset(buf, 0xaa, sizeof(buf));
	n = proxy_build_v2((struct sockaddr *)&src, (struct sockaddr *)&dst,
	    NULL, NULL, NULL, buf, sizeof(buf));
	ck_assert_int_eq(n, 28);
	ck_assert_mem_eq(buf, h.b, V2_SIG_LEN + 2);
	ck_assert_uint_eq(buf[14], 0);
	ck_assert_uint_eq(buf[15], 12);
	ck_assert_mem_eq(buf + 16, addrs, sizeof(addrs));
	ck_assert_uint_eq(buf[28], 0xaa);
}
END_TEST

START_TEST(test_build_v2_local)
{
	static const struct proxy_tlv_ssl ssl = { 1, 1, "TLSv1.3", NULL };
	struct sockaddr_storage	 v4, v6;
	struct sockaddr_un	 sun;
	struct proxy_info	 pi;
	uint8_t			 buf[PROXY_HDR_MAXLEN];
	ssize_t			 n;

	mksa(&v4, "192.0.2.1", 1);
	mksa(&v6, "2001:db8::1", 2);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;

	n = proxy_build_v2((struct sockaddr *)&v4, (struct sockaddr *)&v6,
	    NULL, NULL, NULL, buf, sizeof(buf));
	ck_assert_int_eq(n, V2_HDR_LEN);
	ck_assert_mem_eq(buf, hap_v2_local, V2_HDR_LEN);

	n = proxy_build_v2((struct sockaddr *)&sun, (struct sockaddr *)&sun,
	    "a.example", "h2", &ssl, buf, sizeof(buf));
	ck_assert_int_gt(n, V2_HDR_LEN);
	ck_assert_uint_eq(buf[12], 0x20);
	ck_assert_uint_eq(buf[13], 0x00);
	check_ssl_tlv(buf, (size_t)n, V2_HDR_LEN, &ssl);
	ck_assert_int_eq(parse(buf, (size_t)n, &pi), PROXY_OK);
	ck_assert_int_eq(pi.local, 1);
	ck_assert_str_eq(pi.authority, "a.example");
	ck_assert_str_eq(pi.alpn, "h2");

	n = proxy_build_v2(NULL, NULL, NULL, NULL, NULL, buf, sizeof(buf));
	ck_assert_int_eq(n, V2_HDR_LEN);
	ck_assert_int_eq(proxy_build_v2(NULL, NULL, NULL, NULL, NULL, NULL,
	    0), -1);
}
END_TEST

/* Values the 16-bit lengths cannot carry. */
START_TEST(test_build_v2_too_long)
{
	struct sockaddr_storage	 src, dst;
	struct proxy_tlv_ssl	 ssl = { 1, 0, NULL, NULL };
	char			*big;
	uint8_t			*buf;
	size_t			 len = 3 * 65536;

	mksa(&src, "192.0.2.1", 1);
	mksa(&dst, "192.0.2.2", 2);
	big = malloc(65536 + 1);
	buf = malloc(len);
	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(buf);
	memset(big, 'a', 65536);
	big[65536] = '\0';
	ck_assert_int_eq(proxy_build_v2((struct sockaddr *)&src,
	    (struct sockaddr *)&dst, big, NULL, NULL, buf, len), -1);
	big[65535] = '\0';
	ck_assert_int_eq(proxy_build_v2((struct sockaddr *)&src,
	    (struct sockaddr *)&dst, NULL, big, NULL, buf, len), -1);
	/* An address block, a TLV header and this fill the 16 bits. */
	big[65535 - 12 - 3] = '\0';
	ck_assert_int_eq(proxy_build_v2((struct sockaddr *)&src,
	    (struct sockaddr *)&dst, NULL, big, NULL, buf, len), 16 + 65535);
	big[65535 - 12 - 3] = 'a';
	ssl.cipher = big;
	ck_assert_int_eq(proxy_build_v2((struct sockaddr *)&src,
	    (struct sockaddr *)&dst, NULL, NULL, &ssl, buf, len), -1);
	free(big);
	free(buf);
}
END_TEST

/*
 * Whatever comes in: random bytes, random bytes behind a signature, and
 * valid headers with a few bytes changed, cut or added.
 */
START_TEST(test_garbage)
{
	static const char	*const starts[] = { "", "P", "PROXY ",
				    "PROXY TCP4 ", "PROXY TCP6 ",
				    "PROXY UNKNOWN", "\r", V2_SIG };
	struct proxy_info	 pi;
	uint8_t			 b[512];
	uint32_t		 seed = 0x9e3779b9;
	size_t			 i, n, k, s;

	for (i = 0; i < 10000; i++) {
		n = rnd(&seed) % sizeof(b);
		for (k = 0; k < n; k++)
			b[k] = rnd(&seed) & 0xff;
		s = rnd(&seed) % (sizeof(starts) / sizeof(starts[0]));
		k = s == 7 ? V2_SIG_LEN : strlen(starts[s]);
		if (k > n)
			k = n;
		memcpy(b, starts[s], k);
		if (s == 7 && n > 14)
			b[12] = 0x20 | (b[12] & 1);
		if (i % 16 == 0)
			check_consistent(b, n);
		else
			(void)parse(b, n, &pi);
	}
}
END_TEST

START_TEST(test_mutations)
{
	uint8_t			 b[512];
	uint32_t		 seed = 0x2545f491 + _i;
	size_t			 i, n, k, len;
	const void		*src;

	if (_i < (int)NV2_VECTORS) {
		src = v2_vectors[_i].p;
		len = v2_vectors[_i].len;
	} else {
		src = spec_v1_lines[_i - NV2_VECTORS];
		len = strlen(src);
	}
	for (i = 0; i < 500; i++) {
		memcpy(b, src, len);
		n = len;
		for (k = rnd(&seed) % 4 + 1; k > 0; k--)
			b[rnd(&seed) % len] = rnd(&seed) & 0xff;
		if (rnd(&seed) % 4 == 0)
			n = rnd(&seed) % (len + 1);
		else if (rnd(&seed) % 4 == 0)
			for (; n < sizeof(b) && rnd(&seed) % 8 != 0; n++)
				b[n] = rnd(&seed) & 0xff;
		check_consistent(b, n);
	}
}
END_TEST

Suite *
proxyproto_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("proxyproto");

	tc = tcase_create("v1");
	tcase_add_test(tc, test_v1_spec_example);
	tcase_add_loop_test(tc, test_v1_spec_lines, 0, NSPEC_V1);
	tcase_add_test(tc, test_v1_spec_maxima);
	tcase_add_test(tc, test_v1_haproxy);
	tcase_add_test(tc, test_v1_unknown);
	tcase_add_test(tc, test_v1_length);
	tcase_add_test(tc, test_v1_length_tcp6);
	tcase_add_loop_test(tc, test_v1_malformed, 0, NV1_BAD);
	tcase_add_test(tc, test_v1_nul);
	tcase_add_test(tc, test_v1_early);
	tcase_add_test(tc, test_v1_ports);
	tcase_add_test(tc, test_v1_addresses);
	suite_add_tcase(s, tc);

	tc = tcase_create("v2");
	tcase_add_test(tc, test_v2_spec_by_hand);
	tcase_add_test(tc, test_v2_haproxy);
	tcase_add_test(tc, test_mapped);
	tcase_add_loop_test(tc, test_v2_prefixes, 0, NV2_VECTORS);
	tcase_add_test(tc, test_v2_signature);
	tcase_add_test(tc, test_v2_version_command);
	tcase_add_test(tc, test_v2_families);
	tcase_add_test(tc, test_v2_addr_short);
	tcase_add_test(tc, test_v2_total_length);
	tcase_add_test(tc, test_v2_tlv_bounds);
	tcase_add_test(tc, test_v2_authority);
	tcase_add_test(tc, test_v2_alpn);
	tcase_add_test(tc, test_v2_ssl_tlv);
	tcase_add_test(tc, test_v2_crc32c);
	tcase_add_loop_test(tc, test_v2_crc32c_haproxy, 1, 3);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_loop_test(tc, test_build_v1, 0, NPAIRS);
	tcase_add_test(tc, test_build_v1_unknown);
	tcase_add_loop_test(tc, test_build_v2, 0, NPAIRS * NTLVSETS);
	tcase_add_test(tc, test_build_v2_bytes);
	tcase_add_test(tc, test_build_v2_local);
	tcase_add_test(tc, test_build_v2_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("garbage");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_garbage);
	tcase_add_loop_test(tc, test_mutations, 0, NV2_VECTORS + NSPEC_V1);
	suite_add_tcase(s, tc);

	return (s);
}
