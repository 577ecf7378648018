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

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hello.h"

#define TLS_HEADER_LEN		5
#define TLS_CT_HANDSHAKE	22
#define TLS_MAJOR		3
#define TLS_RECORD_MAX		16384	/* 2^14, RFC 8446 section 5.1 */
#define TLS_HT_CLIENT_HELLO	1
#define TLS_RANDOM_LEN		32
#define TLS_SESSION_ID_MAX	32
#define TLS_EXT_SERVER_NAME	0
#define TLS_EXT_ALPN		16
#define TLS_SNI_HOST_NAME	0

/*
 * A cursor over the handshake bytes carried by a run of TLS records.
 * The record headers are stepped over as they are reached, so a message
 * fragmented over many records is read in place, without a copy.  left
 * bounds what a reader may take (the enclosing length field); err is
 * sticky and tells why a read failed: running out of peeked bytes is
 * HELLO_NEED_MORE unless the peek already holds HELLO_MAXBYTES.
 */
struct cursor {
	const uint8_t		*buf;
	size_t			 len;	/* usable bytes of buf */
	size_t			 pos;	/* next byte of buf */
	size_t			 frag;	/* payload left in this record */
	size_t			 left;	/* bytes this reader may take */
	int			 full;	/* len is the bound, not the peek */
	enum hello_status	 err;	/* HELLO_OK until a read fails */
};

static int
fail(struct cursor *c, enum hello_status why)
{
	if (c->err == HELLO_OK)
		c->err = why;
	return (-1);
}

static int
short_read(struct cursor *c)
{
	return (fail(c, c->full ? HELLO_BAD : HELLO_NEED_MORE));
}

/*
 * Check what is there of the next record header before waiting for the
 * rest, so that a non-TLS client is turned away on its first byte.
 */
static int
next_record(struct cursor *c)
{
	const uint8_t	*p = c->buf + c->pos;
	size_t		 avail = c->len - c->pos, n;

	if (avail > 0 && p[0] != TLS_CT_HANDSHAKE)
		return (fail(c, HELLO_BAD));
	if (avail > 1 && p[1] != TLS_MAJOR)
		return (fail(c, HELLO_BAD));
	if (avail < TLS_HEADER_LEN)
		return (short_read(c));
	n = (size_t)p[3] << 8 | p[4];
	/* RFC 8446 5.1: no empty handshake fragments, none over 2^14. */
	if (n == 0 || n > TLS_RECORD_MAX)
		return (fail(c, HELLO_BAD));
	c->pos += TLS_HEADER_LEN;
	c->frag = n;
	return (0);
}

/* Take n bytes into dst, or step over them when dst is NULL. */
static int
take(struct cursor *c, uint8_t *dst, size_t n)
{
	size_t	k;

	if (c->err != HELLO_OK)
		return (-1);
	if (n > c->left)
		return (fail(c, HELLO_BAD));
	while (n > 0) {
		if (c->frag == 0 && next_record(c) == -1)
			return (-1);
		k = n < c->frag ? n : c->frag;
		if (k > c->len - c->pos)
			k = c->len - c->pos;
		if (k == 0)
			return (short_read(c));
		if (dst != NULL) {
			memcpy(dst, c->buf + c->pos, k);
			dst += k;
		}
		c->pos += k;
		c->frag -= k;
		c->left -= k;
		n -= k;
	}
	return (0);
}

static int
get_u8(struct cursor *c, size_t *v)
{
	uint8_t	b;

	if (take(c, &b, 1) == -1)
		return (-1);
	*v = b;
	return (0);
}

static int
get_u16(struct cursor *c, size_t *v)
{
	uint8_t	b[2];

	if (take(c, b, sizeof(b)) == -1)
		return (-1);
	*v = (size_t)b[0] << 8 | b[1];
	return (0);
}

static int
get_u24(struct cursor *c, size_t *v)
{
	uint8_t	b[3];

	if (take(c, b, sizeof(b)) == -1)
		return (-1);
	*v = (size_t)b[0] << 16 | (size_t)b[1] << 8 | b[2];
	return (0);
}

/* Split the next n bytes of c off into sub, moving c past them. */
static int
sub(struct cursor *c, struct cursor *s, size_t n)
{
	if (c->err != HELLO_OK)
		return (-1);
	if (n > c->left)
		return (fail(c, HELLO_BAD));
	*s = *c;
	s->left = n;
	return (take(c, NULL, n));
}

/* A vector of 1-byte length, e.g. session_id. */
static int
skip_vec8(struct cursor *c, size_t min, size_t max)
{
	size_t	n;

	if (get_u8(c, &n) == -1)
		return (-1);
	if (n < min || n > max)
		return (fail(c, HELLO_BAD));
	return (take(c, NULL, n));
}

int
name_canon(char *s)
{
	size_t	 i, len;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	len = i;
	if (len > 0 && s[len - 1] == '.')
		s[--len] = '\0';
	if (len == 0 || s[0] == '.' || s[len - 1] == '.' ||
	    strstr(s, "..") != NULL)
		return (-1);
	return (0);
}

/*
 * RFC 6066 3: like most TLS stacks, accept exactly one host_name, as
 * no other name type was ever defined and a list of several is bogus.
 * Space and control bytes are refused too: the name is logged and
 * matched as a C string.  A name with an empty label matches no rule
 * as written, so it is malformed rather than merely unknown.
 */
static int
parse_sni(struct cursor *e, struct tls_hello *h)
{
	size_t		list, type, n, i;
	unsigned char	ch;

	if (get_u16(e, &list) == -1 || get_u8(e, &type) == -1 ||
	    get_u16(e, &n) == -1)
		return (-1);
	if (list != n + 3 || type != TLS_SNI_HOST_NAME ||
	    n == 0 || n > HELLO_SNI_MAX)
		return (fail(e, HELLO_BAD));
	if (take(e, (uint8_t *)h->sni, n) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		ch = (unsigned char)h->sni[i];
		if (ch <= ' ' || ch > '~')
			return (fail(e, HELLO_BAD));
	}
	h->sni[n] = '\0';
	if (name_canon(h->sni) == -1 || e->left != 0)
		return (fail(e, HELLO_BAD));
	h->has_sni = 1;
	return (0);
}

/*
 * One ProtocolName: remembered while there is room, unless too long or
 * holding anything but printable ASCII without spaces: a NUL would cut
 * the C string into another protocol, and a space or a newline would
 * let a client write words of its own into the log.
 */
static int
alpn_printable(const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] <= ' ' || p[i] > '~')
			return (0);
	return (1);
}

static int
parse_alpn_name(struct cursor *e, struct tls_hello *h)
{
	size_t	 n;
	char	*p;

	if (get_u8(e, &n) == -1)
		return (-1);
	if (n == 0)
		return (fail(e, HELLO_BAD));
	if (n > HELLO_ALPN_LEN || h->nalpn >= HELLO_ALPN_MAX)
		return (take(e, NULL, n));
	p = h->alpn[h->nalpn];
	if (take(e, (uint8_t *)p, n) == -1)
		return (-1);
	p[n] = '\0';
	if (alpn_printable(p, n))
		h->nalpn++;
	return (0);
}

/* RFC 7301 3.1: ProtocolName protocol_name_list<2..2^16-1>. */
static int
parse_alpn(struct cursor *e, struct tls_hello *h)
{
	size_t	list;

	if (get_u16(e, &list) == -1)
		return (-1);
	if (list != e->left || list < 2)
		return (fail(e, HELLO_BAD));
	while (e->left > 0)
		if (parse_alpn_name(e, h) == -1)
			return (-1);
	return (0);
}

static int
parse_extensions(struct cursor *c, struct tls_hello *h)
{
	struct cursor	e;
	size_t		type, n;
	int		seen_alpn = 0;

	while (c->left > 0) {
		if (get_u16(c, &type) == -1 || get_u16(c, &n) == -1 ||
		    sub(c, &e, n) == -1)
			return (-1);
		if (type == TLS_EXT_SERVER_NAME) {
			if (h->has_sni || parse_sni(&e, h) == -1)
				return (fail(c, HELLO_BAD));
		} else if (type == TLS_EXT_ALPN) {
			if (seen_alpn || parse_alpn(&e, h) == -1)
				return (fail(c, HELLO_BAD));
			seen_alpn = 1;
		}
	}
	return (0);
}

/* RFC 8446 4.1.2, RFC 5246 7.4.1.2; c holds exactly the message body. */
static int
parse_client_hello(struct cursor *c, struct tls_hello *h)
{
	size_t	n;

	if (get_u16(c, &n) == -1)
		return (-1);
	if (n >> 8 != TLS_MAJOR)
		return (fail(c, HELLO_BAD));
	h->client_version = (uint16_t)n;
	if (take(c, NULL, TLS_RANDOM_LEN) == -1 ||
	    skip_vec8(c, 0, TLS_SESSION_ID_MAX) == -1 ||
	    get_u16(c, &n) == -1)
		return (-1);
	if (n < 2 || n % 2 != 0)
		return (fail(c, HELLO_BAD));
	if (take(c, NULL, n) == -1 || skip_vec8(c, 1, 255) == -1)
		return (-1);
	/* Extensions are optional before TLS 1.3. */
	if (c->left == 0)
		return (0);
	if (get_u16(c, &n) == -1)
		return (-1);
	if (n != c->left)
		return (fail(c, HELLO_BAD));
	return (parse_extensions(c, h));
}

static void
cursor_init(struct cursor *c, const uint8_t *buf, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->buf = buf;
	c->full = len >= HELLO_MAXBYTES;
	c->len = c->full ? HELLO_MAXBYTES : len;
	c->left = HELLO_MAXBYTES;
	c->err = HELLO_OK;
}

/* The handshake message header, then the ClientHello it announces. */
static enum hello_status
parse_handshake(struct cursor *c, struct tls_hello *h)
{
	struct cursor	m;
	size_t		type, n;

	if (get_u8(c, &type) == -1)
		return (c->err);
	if (type != TLS_HT_CLIENT_HELLO)
		return (HELLO_BAD);
	if (get_u24(c, &n) == -1)
		return (c->err);
	/* Too long to ever fit: no need to wait for it. */
	if (n > HELLO_MAXBYTES - c->pos)
		return (HELLO_BAD);
	/* Wait until the whole message is there before judging it. */
	if (sub(c, &m, n) == -1)
		return (c->err);

	memset(h, 0, sizeof(*h));
	if (parse_client_hello(&m, h) == -1)
		return (HELLO_BAD);
	return (HELLO_OK);
}

enum hello_status
hello_parse(const uint8_t *buf, size_t len, struct tls_hello *h)
{
	struct cursor		c;
	enum hello_status	st;

	cursor_init(&c, buf, len);
	if ((st = parse_handshake(&c, h)) == HELLO_OK)
		h->record_version = (uint16_t)(buf[1] << 8 | buf[2]);
	return (st);
}

enum hello_status
hello_parse_handshake(const uint8_t *buf, size_t len, struct tls_hello *h)
{
	struct cursor	c;

	cursor_init(&c, buf, len);
	/*
	 * All of buf as one fragment: running out of it is then a short
	 * read, never the start of a record header.
	 */
	c.frag = c.len;
	return (parse_handshake(&c, h));
}
