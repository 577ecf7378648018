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

#ifndef QUIC_PKT_H
#define QUIC_PKT_H

#include <stddef.h>
#include <stdint.h>

/*
 * A client's Initial packet, the mirror of what quic.c undoes, for the
 * unit tests and the fuzz target: frames padded with zeros (PADDING) to
 * make the packet size bytes long, then AES-128-GCM and header
 * protection (RFC 9001 5.3, 5.4).  Returns the packet's length, written
 * at out, or 0 when libcrypto fails or the version has no keys.
 */
size_t	quic_pkt_protect(uint32_t, const uint8_t *, size_t, uint64_t,
	    size_t, const uint8_t *, size_t, size_t, uint8_t *);

#endif /* QUIC_PKT_H */
