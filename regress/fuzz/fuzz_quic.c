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
 * libFuzzer target for the QUIC Initial decoder and the reassembly of
 * CRYPTO frames: datagrams fed to one flow.  An input that starts like
 * a long header is one datagram, as the seeds of the RFC samples are.
 * Any other input is a list of records, each a flags byte, a 16-bit
 * length and that many bytes: a raw datagram, or (flag 1) the frames of
 * an Initial packet this target protects itself, so that the fuzzer
 * reaches past the AEAD: flag 2 for version 2, bits 2-3 the packet
 * number length less one.  Besides memory errors it aborts when the
 * flow breaks a promise of quic.h: final states stay final, bounds
 * hold, and a hello is a C string fit to match.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hello.h"
#include "quic.h"
#include "quic_pkt.h"

#define REC_PROTECT	0x01
#define REC_V2		0x02
#define REC_PNLEN(f)	((((f) >> 2) & 3) + 1)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint8_t	 dcid[] = {
	0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08
};
static const uint8_t	 dcid_pair[2 * QUIC_PROBE_CIDLEN];
static uint8_t		 dgram[QUIC_DGRAM_MAX + 64];

/* An Initial of at least 1200 bytes. */
static size_t
protect(uint32_t version, uint64_t pn, size_t pnlen, const uint8_t *fr,
    size_t frlen, uint8_t *out)
{
	size_t	 n;

	n = quic_pkt_protect(version, dcid, sizeof(dcid), pn, pnlen, fr, frlen,
	    QUIC_MIN_INITIAL, out);
	if (n == 0)
		abort();
	return (n);
}

static void
check_flow(const struct quic_flow *f, enum quic_status st)
{
	size_t	 i, n;

	if (f->ndgrams > QUIC_FLOW_DGRAMS || f->nbytes > QUIC_FLOW_BYTES ||
	    f->contig > f->cap || f->cap > HELLO_MAXBYTES)
		abort();
	if (st != QUIC_HELLO)
		return;
	if (f->version != QUIC_V1 && f->version != QUIC_V2)
		abort();
	n = strnlen(f->hello.sni, sizeof(f->hello.sni));
	if (n == sizeof(f->hello.sni) || (n > 0) != (f->hello.has_sni != 0))
		abort();
	if (f->hello.nalpn > HELLO_ALPN_MAX)
		abort();
	for (i = 0; i < f->hello.nalpn; i++) {
		n = strnlen(f->hello.alpn[i], sizeof(f->hello.alpn[i]));
		if (n == 0 || n == sizeof(f->hello.alpn[i]))
			abort();
	}
}

/* A copy of exactly len bytes, so that a read past it is seen. */
static enum quic_status
input_copy(struct quic_flow *f, const uint8_t *d, size_t len)
{
	enum quic_status	 st;
	uint8_t			*buf;

	if ((buf = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(buf, d, len);
	st = quic_input(f, buf, len);
	free(buf);
	return (st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct quic_flow	 f;
	enum quic_status	 st, final = QUIC_NEED_MORE;
	size_t			 pos = 0, len, n;
	uint64_t		 pn = 0;
	uint8_t			 flags;

	quic_flow_init(&f);
	if (size > 0 && (data[0] & 0x80)) {
		/* The check process reads any datagram the server sends. */
		(void)quic_probe_answered(data, size, dcid_pair);
		st = input_copy(&f, data, size);
		check_flow(&f, st);
		quic_flow_free(&f);
		return (0);
	}
	while (size - pos >= 3) {
		flags = data[pos];
		len = (size_t)data[pos + 1] << 8 | data[pos + 2];
		pos += 3;
		if (len > size - pos)
			len = size - pos;
		if (flags & REC_PROTECT) {
			n = protect(flags & REC_V2 ? QUIC_V2 : QUIC_V1, pn++,
			    REC_PNLEN(flags), data + pos, len, dgram);
			st = input_copy(&f, dgram, n);
		} else
			st = input_copy(&f, data + pos, len);
		pos += len;
		check_flow(&f, st);
		/* Final states stay: nothing is read after them. */
		if (final != QUIC_NEED_MORE && st != final)
			abort();
		if (st == QUIC_HELLO || st == QUIC_INVALID)
			final = st;
	}
	quic_flow_free(&f);
	return (0);
}
