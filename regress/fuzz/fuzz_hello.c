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
 * libFuzzer target for the ClientHello parser.  Besides memory errors,
 * it aborts when a result breaks what the accept process relies on:
 * a full peek is never "need more"; a verdict on some bytes does not
 * change when fewer of them had arrived, other than to wait; what is
 * kept is a C string fit to log and match; and the same handshake
 * message cut into other records reads the same.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hello.h"

#define REC_HEADER	5
#define REC_MAX		16384

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Parses a copy of exactly len bytes, so that a read past it is seen. */
static enum hello_status
parse_copy(const uint8_t *data, size_t len, struct tls_hello *h)
{
	enum hello_status	 st;
	uint8_t			*buf;

	if ((buf = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(buf, data, len);
	st = hello_parse(buf, len, h);
	free(buf);
	return (st);
}

static void
check_hello(const struct tls_hello *h)
{
	size_t	 i, n;

	n = strnlen(h->sni, sizeof(h->sni));
	if (n == sizeof(h->sni) || (n > 0) != (h->has_sni != 0))
		abort();
	for (i = 0; i < n; i++)
		if (h->sni[i] <= ' ' || h->sni[i] > '~' ||
		    (h->sni[i] >= 'A' && h->sni[i] <= 'Z'))
			abort();
	/* One form for every name compared: see name_canon(). */
	if (n > 0 && (h->sni[0] == '.' || h->sni[n - 1] == '.' ||
	    strstr(h->sni, "..") != NULL))
		abort();
	if (h->nalpn > HELLO_ALPN_MAX)
		abort();
	for (i = 0; i < h->nalpn; i++) {
		n = strnlen(h->alpn[i], sizeof(h->alpn[i]));
		if (n == 0 || n == sizeof(h->alpn[i]))
			abort();
	}
}

/*
 * The handshake message of an accepted hello, gathered from its
 * records; returns its length.
 */
static size_t
gather(const uint8_t *data, size_t size, uint8_t *msg, size_t msgsz)
{
	size_t	 pos = 0, have = 0, want = 4, frag = 0, n;

	while (have < want) {
		if (frag == 0) {
			if (pos + REC_HEADER > size)
				abort();
			frag = (size_t)data[pos + 3] << 8 | data[pos + 4];
			pos += REC_HEADER;
		}
		n = frag < want - have ? frag : want - have;
		if (pos + n > size || have + n > msgsz)
			abort();
		memcpy(msg + have, data + pos, n);
		pos += n;
		frag -= n;
		have += n;
		if (want == 4 && have >= 4)
			want = 4 + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 |
			    msg[3]);
	}
	return (have);
}

/* The message again, in records of at most frag bytes each. */
static size_t
refragment(const uint8_t *data, const uint8_t *msg, size_t len, size_t frag,
    uint8_t *out, size_t outsz)
{
	size_t	 pos = 0, off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < frag ? len - off : frag;
		if (pos + REC_HEADER + n > outsz)
			return (0);
		memcpy(out + pos, data, 3);
		out[pos + 3] = (uint8_t)(n >> 8);
		out[pos + 4] = (uint8_t)n;
		memcpy(out + pos + REC_HEADER, msg + off, n);
		pos += REC_HEADER + n;
	}
	return (pos);
}

static void
check_fragments(const uint8_t *data, size_t size, const struct tls_hello *h)
{
	static uint8_t		 msg[HELLO_MAXBYTES], out[HELLO_MAXBYTES];
	struct tls_hello	 again;
	size_t			 len, n, frag;

	len = gather(data, size, msg, sizeof(msg));
	frag = 1 + data[size - 1] % 64;
	/* One record when it fits; under the bound, or it may be refused. */
	n = len <= REC_MAX ? refragment(data, msg, len, REC_MAX, out,
	    HELLO_MAXBYTES - 1) : 0;
	if (n > 0 && (parse_copy(out, n, &again) != HELLO_OK ||
	    memcmp(&again, h, sizeof(again)) != 0))
		abort();
	n = refragment(data, msg, len, frag, out, HELLO_MAXBYTES - 1);
	if (n > 0 && (parse_copy(out, n, &again) != HELLO_OK ||
	    memcmp(&again, h, sizeof(again)) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_hello	 h, prefix;
	enum hello_status	 st, pst;

	st = parse_copy(data, size, &h);
	if (st == HELLO_NEED_MORE && size >= HELLO_MAXBYTES)
		abort();
	if (st == HELLO_OK)
		check_hello(&h);
	/* Past the bound the end of the peek is final: nothing to compare. */
	if (st == HELLO_BAD || size == 0 || size > HELLO_MAXBYTES)
		return (0);
	pst = parse_copy(data, size - 1, &prefix);
	if (st == HELLO_NEED_MORE && pst != HELLO_NEED_MORE)
		abort();
	if (pst == HELLO_BAD ||
	    (pst == HELLO_OK && memcmp(&prefix, &h, sizeof(h)) != 0))
		abort();
	if (st == HELLO_OK)
		check_fragments(data, size, &h);
	return (0);
}
