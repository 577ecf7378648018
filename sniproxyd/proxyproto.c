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

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxyproto.h"
#include "sniproxyd.h"

#define V1_FIELDS		6	/* PROXY proto src dst sport dport */
#define V1_PORT_DIGITS		5

enum v1_proto {
	V1_NONE,
	V1_TCP4,
	V1_TCP6,
	V1_UNKNOWN
};

/* The signature holds a NUL, so it is compared with memcmp only. */
#define V2_SIG			"\r\n\r\n\0\r\nQUIT\n"
#define V2_SIG_LEN		12
#define V2_HDR_LEN		16	/* signature, ver_cmd, fam, len */
#define V2_VERSION		0x20
#define V2_CMD_LOCAL		0x00
#define V2_CMD_PROXY		0x01

/* The fam byte: address family in the high nibble, transport low. */
#define V2_FAM_UNSPEC		0x00
#define V2_FAM_TCP4		0x11
#define V2_FAM_UDP4		0x12
#define V2_FAM_TCP6		0x21
#define V2_FAM_UDP6		0x22
#define V2_FAM_UNIX_STREAM	0x31
#define V2_FAM_UNIX_DGRAM	0x32

#define V2_ADDR_INET		12	/* 2 * 4 + 2 * 2 */
#define V2_ADDR_INET6		36	/* 2 * 16 + 2 * 2 */
#define V2_ADDR_UNIX		216	/* 2 * 108 */
#define V2_FAM_INVALID		SIZE_MAX

#define V2_TLV_HDR		3	/* type, length_hi, length_lo */
#define V2_TLV_MAX		0xffff

#define PP2_TYPE_ALPN		0x01
#define PP2_TYPE_AUTHORITY	0x02
#define PP2_TYPE_CRC32C		0x03
#define PP2_TYPE_SSL		0x20
#define PP2_SUBTYPE_SSL_VERSION	0x21
#define PP2_SUBTYPE_SSL_CIPHER	0x23

#define PP2_CLIENT_SSL		0x01
#define PP2_CLIENT_CERT_CONN	0x02
#define PP2_CLIENT_CERT_SESS	0x04
#define PP2_SSL_HDR		5	/* client, verify */
#define PP2_CRC32C_LEN		4

#define CRC32C_POLY		0x82f63b78	/* reflected, RFC 4960 B */

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

/*
 * addr is in network byte order, port in host byte order.  Where the
 * address carries its own length (the BSDs), RFC 3493 has SIN6_LEN
 * defined.
 */
static void
sa_set(struct sockaddr_storage *ss, int af, const void *addr,
    uint16_t port)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin = (struct sockaddr_in *)ss;
#ifdef SIN6_LEN
		sin->sin_len = sizeof(*sin);
#endif
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
	} else {
		sin6 = (struct sockaddr_in6 *)ss;
#ifdef SIN6_LEN
		sin6->sin6_len = sizeof(*sin6);
#endif
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
	}
}

static void
sa_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/*
 * Version 1.
 *
 * The line is checked field by field as it arrives, so that a peer
 * sending something else is turned away before the CRLF or the length
 * bound.  A field still arriving is checked as far as it goes: a word
 * as a prefix, a port for its digits and value, an address only for
 * its characters and length, as inet_pton(3) needs all of it.
 */

/*
 * The line ends at its first CR, which LF must follow.  A lone LF, a CR
 * followed by anything else, or no CR where a line of PROXY_V1_MAXLEN
 * bytes could still end cannot become a valid line.  *end is where the
 * text stops: at the CR, or at the end of what has arrived.
 */
static enum proxy_status
v1_eol(const uint8_t *buf, size_t len, size_t *end)
{
	size_t	i;

	for (i = 0; i < len && i < PROXY_V1_MAXLEN - 1; i++) {
		if (buf[i] == '\n')
			return (PROXY_BAD);
		if (buf[i] != '\r')
			continue;
		*end = i;
		if (i + 1 == len)
			return (PROXY_NEED_MORE);
		return (buf[i + 1] == '\n' ? PROXY_OK : PROXY_BAD);
	}
	if (i == PROXY_V1_MAXLEN - 1)
		return (PROXY_BAD);
	*end = i;
	return (PROXY_NEED_MORE);
}

static int
v1_word(const char *s, size_t n, const char *word, int whole)
{
	size_t	wn = strlen(word);

	if (whole ? n != wn : n > wn)
		return (0);
	return (memcmp(s, word, n) == 0);
}

static int
v1_proto(const char *s, size_t n, int whole, enum v1_proto *proto)
{
	if (v1_word(s, n, "TCP4", whole))
		*proto = V1_TCP4;
	else if (v1_word(s, n, "TCP6", whole))
		*proto = V1_TCP6;
	else if (v1_word(s, n, "UNKNOWN", whole))
		*proto = V1_UNKNOWN;
	else
		return (-1);
	/* A prefix such as "TCP" may still become any of them. */
	if (!whole)
		*proto = V1_NONE;
	return (0);
}

static int
v1_addr_char(int af, char c)
{
	if (c >= '0' && c <= '9')
		return (1);
	if (af == AF_INET)
		return (c == '.');
	/* inet_pton(3) takes a dotted quad at the end of an IPv6 address. */
	return ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	    c == ':' || c == '.');
}

/*
 * inet_pton(3) holds the address to the rules of the specification: for
 * IPv4 exactly four decimal numbers without leading zeros, for IPv6 at
 * most one "::".
 */
static int
v1_addr(const char *s, size_t n, int whole, int af,
    struct sockaddr_storage *ss)
{
	char		tok[INET6_ADDRSTRLEN];
	uint8_t		addr[sizeof(struct in6_addr)];
	size_t		i, max;

	max = af == AF_INET ? INET_ADDRSTRLEN - 1 : INET6_ADDRSTRLEN - 1;
	if (n > max)
		return (-1);
	for (i = 0; i < n; i++)
		if (!v1_addr_char(af, s[i]))
			return (-1);
	if (!whole)
		return (0);
	memcpy(tok, s, n);
	tok[n] = '\0';
	if (inet_pton(af, tok, addr) != 1)
		return (-1);
	sa_set(ss, af, addr, 0);
	return (0);
}

/* Decimal 0..65535, no sign, no leading zero. */
static int
v1_port(const char *s, size_t n, int whole, struct sockaddr_storage *ss)
{
	size_t		i;
	unsigned long	v = 0;

	if (n > V1_PORT_DIGITS || (n > 1 && s[0] == '0') ||
	    (whole && n == 0))
		return (-1);
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > UINT16_MAX)
		return (-1);
	if (whole)
		sa_set_port(ss, (uint16_t)v);
	return (0);
}

/* Field k of the line, s[0..n); whole when a terminator follows it. */
static int
v1_field(int k, const char *s, size_t n, int whole, enum v1_proto *proto,
    struct proxy_info *pi)
{
	int	af = *proto == V1_TCP4 ? AF_INET : AF_INET6;

	switch (k) {
	case 0:
		return (v1_word(s, n, "PROXY", whole) ? 0 : -1);
	case 1:
		return (v1_proto(s, n, whole, proto));
	case 2:
		return (v1_addr(s, n, whole, af, &pi->src));
	case 3:
		return (v1_addr(s, n, whole, af, &pi->dst));
	case 4:
		return (v1_port(s, n, whole, &pi->src));
	case 5:
		return (v1_port(s, n, whole, &pi->dst));
	}
	return (-1);
}

static enum proxy_status
v1_parse(const uint8_t *buf, size_t len, struct proxy_info *pi)
{
	const char		*line = (const char *)buf;
	enum proxy_status	 st;
	enum v1_proto		 proto = V1_NONE;
	size_t			 end, start, i;
	int			 k, whole;

	if ((st = v1_eol(buf, len, &end)) == PROXY_BAD)
		return (PROXY_BAD);
	for (k = 0, start = 0, i = 0; i <= end; i++) {
		if (i < end && line[i] != ' ')
			continue;
		whole = i < end || st == PROXY_OK;
		if (v1_field(k, line + start, i - start, whole, &proto,
		    pi) == -1)
			return (PROXY_BAD);
		/* The sender may put anything up to the CRLF after it. */
		if (proto == V1_UNKNOWN)
			break;
		k++;
		start = i + 1;
	}
	if (st != PROXY_OK)
		return (st);
	if (proto != V1_UNKNOWN && k != V1_FIELDS)
		return (PROXY_BAD);
	pi->version = 1;
	pi->local = proto == V1_UNKNOWN;
	pi->hdrlen = end + 2;
	return (PROXY_OK);
}

/*
 * Version 2.
 */

static uint32_t
crc32c_update(uint32_t crc, const uint8_t *p, size_t n)
{
	int	k;

	while (n-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ ((crc & 1) ? CRC32C_POLY : 0);
	}
	return (crc);
}

/* The checksum of the header with its own 4 bytes, at off, zeroed. */
static uint32_t
crc32c_header(const uint8_t *h, size_t hlen, size_t off)
{
	const uint8_t	zero[PP2_CRC32C_LEN] = { 0 };
	uint32_t	crc;

	crc = crc32c_update(0xffffffff, h, off);
	crc = crc32c_update(crc, zero, sizeof(zero));
	off += PP2_CRC32C_LEN;
	crc = crc32c_update(crc, h + off, hlen - off);
	return (crc ^ 0xffffffff);
}

/*
 * Length of the address block for a fam byte, or V2_FAM_INVALID for the
 * values the specification says receivers must reject.  Combinations of
 * valid nibbles that it does not list (0x10, INET with an UNSPEC
 * transport; 0x01, STREAM with an UNSPEC family) are rejected too: no
 * sender emits them, and their address length would be a guess.
 */
static size_t
v2_addrlen(uint8_t fam)
{
	switch (fam) {
	case V2_FAM_UNSPEC:
		return (0);
	case V2_FAM_TCP4:
	case V2_FAM_UDP4:
		return (V2_ADDR_INET);
	case V2_FAM_TCP6:
	case V2_FAM_UDP6:
		return (V2_ADDR_INET6);
	case V2_FAM_UNIX_STREAM:
	case V2_FAM_UNIX_DGRAM:
		return (V2_ADDR_UNIX);
	}
	return (V2_FAM_INVALID);
}

static void
v2_addrs(uint8_t fam, const uint8_t *a, struct proxy_info *pi)
{
	if (fam == V2_FAM_TCP4) {
		sa_set(&pi->src, AF_INET, a, get16(a + 8));
		sa_set(&pi->dst, AF_INET, a + 4, get16(a + 10));
	} else {
		sa_set(&pi->src, AF_INET6, a, get16(a + 32));
		sa_set(&pi->dst, AF_INET6, a + 16, get16(a + 34));
	}
}

struct tlv {
	uint8_t		 type;
	const uint8_t	*v;
	size_t		 n;
};

/*
 * The TLV of p[0..n) at *pos, which then moves past it.  Returns 1, or
 * 0 at the end, or -1 when a TLV does not fit in what is left.
 */
static int
tlv_next(const uint8_t *p, size_t n, size_t *pos, struct tlv *t)
{
	if (*pos == n)
		return (0);
	if (n - *pos < V2_TLV_HDR)
		return (-1);
	t->type = p[*pos];
	t->n = get16(p + *pos + 1);
	if (t->n > n - *pos - V2_TLV_HDR)
		return (-1);
	t->v = p + *pos + V2_TLV_HDR;
	*pos += V2_TLV_HDR + t->n;
	return (1);
}

/*
 * Held to the same rules as the SNI of a ClientHello, which it stands
 * for: matched and logged as a C string, so no NUL, space or control
 * byte can cut it or forge a log line.
 */
static int
tlv_authority(const uint8_t *v, size_t n, struct proxy_info *pi)
{
	size_t	i;

	if (n == 0 || n > PROXY_AUTHORITY_MAX)
		return (-1);
	for (i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] > '~')
			return (-1);
	memcpy(pi->authority, v, n);
	pi->authority[n] = '\0';
	return (0);
}

/*
 * As for a ClientHello protocol: one that is too long to remember, or
 * that holds a NUL a C string would cut, is passed over, not refused.
 */
static int
tlv_alpn(const uint8_t *v, size_t n, struct proxy_info *pi)
{
	if (n == 0)
		return (-1);
	if (n > PROXY_ALPN_MAX || memchr(v, '\0', n) != NULL)
		return (0);
	memcpy(pi->alpn, v, n);
	pi->alpn[n] = '\0';
	return (0);
}

/* Only the framing is checked: the daemon takes nothing from it. */
static int
tlv_ssl(const uint8_t *v, size_t n)
{
	struct tlv	t;
	size_t		pos = 0;
	int		r;

	if (n < PP2_SSL_HDR)
		return (-1);
	while ((r = tlv_next(v + PP2_SSL_HDR, n - PP2_SSL_HDR, &pos,
	    &t)) == 1)
		;
	return (r);
}

/*
 * One TLV.  A second AUTHORITY or ALPN is refused: which one the sender
 * meant is anybody's guess, and whatever vetted the header on its way
 * may have looked at the other.  A second CRC32C likewise.
 */
static int
tlv_one(uint8_t type, const uint8_t *v, size_t n, unsigned int *seen,
    struct proxy_info *pi)
{
	unsigned int	bit;

	if (type == PP2_TYPE_ALPN || type == PP2_TYPE_AUTHORITY ||
	    type == PP2_TYPE_CRC32C) {
		bit = 1U << type;
		if (*seen & bit)
			return (-1);
		*seen |= bit;
	}
	switch (type) {
	case PP2_TYPE_ALPN:
		return (tlv_alpn(v, n, pi));
	case PP2_TYPE_AUTHORITY:
		return (tlv_authority(v, n, pi));
	case PP2_TYPE_CRC32C:
		return (n == PP2_CRC32C_LEN ? 0 : -1);
	case PP2_TYPE_SSL:
		return (tlv_ssl(v, n));
	}
	/* NOOP, UNIQUE_ID, NETNS and types to come carry nothing for us. */
	return (0);
}

/* The TLVs of header h[0..hlen), from off to its end. */
static enum proxy_status
v2_tlvs(const uint8_t *h, size_t hlen, size_t off, struct proxy_info *pi)
{
	struct tlv	t;
	size_t		pos = 0, crc = 0;
	unsigned int	seen = 0;
	int		r;

	while ((r = tlv_next(h + off, hlen - off, &pos, &t)) == 1) {
		if (tlv_one(t.type, t.v, t.n, &seen, pi) == -1)
			return (PROXY_BAD);
		if (t.type == PP2_TYPE_CRC32C)
			crc = (size_t)(t.v - h);
	}
	if (r == -1)
		return (PROXY_BAD);
	/* The specification lets a receiver check it; a mismatch is fatal. */
	if (crc != 0 && crc32c_header(h, hlen, crc) != get32(h + crc))
		return (PROXY_BAD);
	return (PROXY_OK);
}

/* The signature, version, command and family, as far as they came. */
static int
v2_fixed(const uint8_t *buf, size_t len)
{
	size_t	n = len < V2_SIG_LEN ? len : V2_SIG_LEN;
	uint8_t	cmd;

	if (memcmp(buf, V2_SIG, n) != 0)
		return (-1);
	if (len > V2_SIG_LEN) {
		cmd = buf[V2_SIG_LEN] & 0x0f;
		if ((buf[V2_SIG_LEN] & 0xf0) != V2_VERSION ||
		    (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY))
			return (-1);
	}
	if (len > V2_SIG_LEN + 1 &&
	    v2_addrlen(buf[V2_SIG_LEN + 1]) == V2_FAM_INVALID)
		return (-1);
	return (0);
}

/*
 * The fixed part is checked byte by byte as it arrives; the rest only
 * once the whole header, whose length is then known, is there.
 *
 * LOCAL, UNSPEC, and the DGRAM and UNIX combinations all give a local
 * result, the connection's own endpoints standing for the client: the
 * specification has receivers that do not support a valid combination
 * fall back to UNSPEC, and a stream relay has no use for a datagram or
 * Unix socket address.  Their address block must still be as long as
 * the family says, since the TLVs follow it.  LOCAL is held to these
 * rules too, although the specification has its family ignored:
 * senders pair it with UNSPEC, and with a short address block there is
 * no telling where the TLVs start.
 */
static enum proxy_status
v2_parse(const uint8_t *buf, size_t len, struct proxy_info *pi)
{
	size_t	blen, alen;
	uint8_t	cmd, fam;

	if (v2_fixed(buf, len) == -1)
		return (PROXY_BAD);
	if (len < V2_HDR_LEN)
		return (PROXY_NEED_MORE);
	cmd = buf[V2_SIG_LEN] & 0x0f;
	fam = buf[V2_SIG_LEN + 1];
	alen = v2_addrlen(fam);
	blen = get16(buf + V2_SIG_LEN + 2);
	if (blen > PROXY_HDR_MAXLEN - V2_HDR_LEN || blen < alen)
		return (PROXY_BAD);
	if (len < V2_HDR_LEN + blen)
		return (PROXY_NEED_MORE);
	pi->version = 2;
	pi->hdrlen = V2_HDR_LEN + blen;
	pi->local = cmd == V2_CMD_LOCAL ||
	    (fam != V2_FAM_TCP4 && fam != V2_FAM_TCP6);
	if (!pi->local)
		v2_addrs(fam, buf + V2_HDR_LEN, pi);
	return (v2_tlvs(buf, pi->hdrlen, V2_HDR_LEN + alen, pi));
}

/*
 * A balancer on a dual-stack socket writes its IPv4 clients as mapped
 * IPv6 addresses: they are IPv4 clients all the same.
 */
enum proxy_status
proxy_parse(const uint8_t *buf, size_t len, struct proxy_info *pi)
{
	enum proxy_status	 st;

	memset(pi, 0, sizeof(*pi));
	if (len == 0)
		return (PROXY_NEED_MORE);
	if (buf[0] == 'P')
		st = v1_parse(buf, len, pi);
	else if (buf[0] == '\r')
		st = v2_parse(buf, len, pi);
	else
		return (PROXY_BAD);
	if (st == PROXY_OK && !pi->local) {
		sockaddr_unmap(&pi->src);
		sockaddr_unmap(&pi->dst);
	}
	return (st);
}

/*
 * Building.
 */

/* Both IPv4 or both IPv6, or AF_UNSPEC: nothing the formats can carry. */
static int
ip_family(const struct sockaddr *src, const struct sockaddr *dst)
{
	if (src == NULL || dst == NULL || src->sa_family != dst->sa_family)
		return (AF_UNSPEC);
	if (src->sa_family != AF_INET && src->sa_family != AF_INET6)
		return (AF_UNSPEC);
	return (src->sa_family);
}

static const void *
sa_addr(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (&((const struct sockaddr_in *)sa)->sin_addr);
	return (&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

static uint16_t
sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohs(((const struct sockaddr_in *)sa)->sin_port));
	return (ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
}

/*
 * RFC 5952 text, but never with a dotted quad: inet_ntop(3) writes an
 * IPv4-mapped address as ::ffff:a.b.c.d, which the v1 grammar, only
 * hexadecimal groups, does not allow.  len is INET6_ADDRSTRLEN.
 */
static void
fmt_in6(const uint8_t *a, char *buf, size_t len)
{
	unsigned int	w[8];
	int		i, n, best = -1, bestn = 1;
	size_t		pos = 0;

	for (i = 0; i < 8; i++)
		w[i] = (unsigned int)a[2 * i] << 8 | a[2 * i + 1];
	/* The longest run of two or more zero groups, the first if tied. */
	for (i = 0; i < 8; i++) {
		for (n = 0; i + n < 8 && w[i + n] == 0; n++)
			;
		if (n > bestn) {
			best = i;
			bestn = n;
		}
	}
	buf[0] = '\0';
	for (i = 0; i < 8; i++) {
		if (i == best) {
			pos += (size_t)snprintf(buf + pos, len - pos, "::");
			i += bestn - 1;
			continue;
		}
		if (i > 0 && i != best + bestn)
			pos += (size_t)snprintf(buf + pos, len - pos, ":");
		pos += (size_t)snprintf(buf + pos, len - pos, "%x", w[i]);
	}
}

static void
fmt_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, sa_addr(sa), buf, (socklen_t)len);
	else
		fmt_in6(sa_addr(sa), buf, len);
}

ssize_t
proxy_build_v1(const struct sockaddr *src, const struct sockaddr *dst,
    char *buf, size_t len)
{
	char	s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int	af, n;

	af = ip_family(src, dst);
	if (af == AF_UNSPEC)
		n = snprintf(buf, len, "PROXY UNKNOWN\r\n");
	else {
		fmt_addr(src, s, sizeof(s));
		fmt_addr(dst, d, sizeof(d));
		n = snprintf(buf, len, "PROXY %s %s %s %u %u\r\n",
		    af == AF_INET ? "TCP4" : "TCP6", s, d,
		    (unsigned int)sa_port(src), (unsigned int)sa_port(dst));
	}
	if (n < 0 || (size_t)n >= len)
		return (-1);
	return (n);
}

/* A bounded writer: the first write that does not fit spoils it. */
struct out {
	uint8_t	*buf;
	size_t	 len;
	size_t	 pos;
	int	 err;
};

static void
put(struct out *o, const void *p, size_t n)
{
	if (o->err || n > o->len - o->pos) {
		o->err = 1;
		return;
	}
	memcpy(o->buf + o->pos, p, n);
	o->pos += n;
}

static void
put8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void
put16(struct out *o, size_t v)
{
	uint8_t	b[2];

	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
	put(o, b, sizeof(b));
}

static void
put32(struct out *o, uint32_t v)
{
	uint8_t	b[4];

	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
	put(o, b, sizeof(b));
}

/* Fill in the 16-bit length at off with what was written after it. */
static void
close_len(struct out *o, size_t off)
{
	size_t	n;

	if (o->err)
		return;
	n = o->pos - off - 2;
	if (n > V2_TLV_MAX) {
		o->err = 1;
		return;
	}
	o->buf[off] = (uint8_t)(n >> 8);
	o->buf[off + 1] = (uint8_t)n;
}

static size_t
tlv_open(struct out *o, uint8_t type)
{
	size_t	off;

	put8(o, type);
	off = o->pos;
	put16(o, 0);
	return (off);
}

static void
tlv_string(struct out *o, uint8_t type, const char *s)
{
	size_t	off;

	if (s == NULL || *s == '\0')
		return;
	off = tlv_open(o, type);
	put(o, s, strlen(s));
	close_len(o, off);
}

/*
 * verify is 0 only for a client certificate that was verified; 1 stands
 * for "none", as no X.509 result code applies.
 */
static void
tlv_ssl_put(struct out *o, const struct proxy_tlv_ssl *ssl)
{
	size_t	off;
	uint8_t	client = PP2_CLIENT_SSL;

	if (ssl == NULL || !ssl->present)
		return;
	if (ssl->verified_client_cert)
		client |= PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS;
	off = tlv_open(o, PP2_TYPE_SSL);
	put8(o, client);
	put32(o, ssl->verified_client_cert ? 0 : 1);
	tlv_string(o, PP2_SUBTYPE_SSL_VERSION, ssl->version);
	tlv_string(o, PP2_SUBTYPE_SSL_CIPHER, ssl->cipher);
	close_len(o, off);
}

static void
put_addrs(struct out *o, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	size_t	n;

	n = src->sa_family == AF_INET ? sizeof(struct in_addr) :
	    sizeof(struct in6_addr);
	put(o, sa_addr(src), n);
	put(o, sa_addr(dst), n);
	put16(o, sa_port(src));
	put16(o, sa_port(dst));
}

/*
 * Addresses the header cannot carry make it a LOCAL one with AF_UNSPEC,
 * as HAProxy sends: the receiver then uses our own address, which is
 * the truth about the connection it sees.  TLVs are sent all the same.
 */
ssize_t
proxy_build_v2(const struct sockaddr *src, const struct sockaddr *dst,
    const char *authority, const char *alpn,
    const struct proxy_tlv_ssl *ssl, uint8_t *buf, size_t len)
{
	struct out	o = { buf, len, 0, 0 };
	size_t		off;
	int		af;

	af = ip_family(src, dst);
	put(&o, V2_SIG, V2_SIG_LEN);
	if (af == AF_UNSPEC) {
		put8(&o, V2_VERSION | V2_CMD_LOCAL);
		put8(&o, V2_FAM_UNSPEC);
	} else {
		put8(&o, V2_VERSION | V2_CMD_PROXY);
		put8(&o, af == AF_INET ? V2_FAM_TCP4 : V2_FAM_TCP6);
	}
	off = o.pos;
	put16(&o, 0);
	if (af != AF_UNSPEC)
		put_addrs(&o, src, dst);
	tlv_string(&o, PP2_TYPE_ALPN, alpn);
	tlv_string(&o, PP2_TYPE_AUTHORITY, authority);
	tlv_ssl_put(&o, ssl);
	close_len(&o, off);
	if (o.err)
		return (-1);
	return ((ssize_t)o.pos);
}
