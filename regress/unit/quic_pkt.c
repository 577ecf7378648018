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

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "hello.h"
#include "quic.h"
#include "quic_pkt.h"

/* The long header up to the packet number, whose offset it returns. */
static size_t
header(uint32_t version, const uint8_t *dcid, size_t dcidlen, uint64_t pn,
    size_t pnlen, size_t plen, uint8_t *out)
{
	size_t	 pos = 0, i;

	out[pos++] = (uint8_t)((version == QUIC_V2 ? 0xd0 : 0xc0) |
	    (pnlen - 1));
	for (i = 0; i < 4; i++)
		out[pos++] = (uint8_t)(version >> (24 - 8 * i));
	out[pos++] = (uint8_t)dcidlen;
	memcpy(out + pos, dcid, dcidlen);
	pos += dcidlen;
	out[pos++] = 0;		/* no SCID */
	out[pos++] = 0;		/* no token */
	out[pos++] = (uint8_t)(0x40 | plen >> 8);
	out[pos++] = (uint8_t)plen;
	for (i = 0; i < pnlen; i++)
		out[pos + i] = (uint8_t)(pn >> (8 * (pnlen - 1 - i)));
	return (pos);
}

size_t
quic_pkt_protect(uint32_t version, const uint8_t *dcid, size_t dcidlen,
    uint64_t pn, size_t pnlen, const uint8_t *fr, size_t frlen, size_t size,
    uint8_t *out)
{
	struct quic_keys	 k;
	EVP_CIPHER_CTX		*ctx;
	uint8_t			 nonce[QUIC_IV_LEN], mask[16];
	size_t			 pnoff, hdrlen, ptlen, i;
	int			 n, ok;

	if (quic_initial_keys(version, dcid, dcidlen, &k) == -1)
		return (0);
	/*
	 * Flags, version, the two ID lengths and the token's: 8 bytes and
	 * the DCID; then 2 for the Length and the packet number.
	 */
	ptlen = frlen;
	hdrlen = 8 + dcidlen + 2 + pnlen;
	if (hdrlen + ptlen + 16 < size)
		ptlen = size - (hdrlen + 16);
	pnoff = header(version, dcid, dcidlen, pn, pnlen, pnlen + ptlen + 16,
	    out);
	memcpy(out + hdrlen, fr, frlen);
	memset(out + hdrlen + frlen, 0, ptlen - frlen);

	memcpy(nonce, k.iv, sizeof(nonce));
	for (i = 0; i < 8; i++)
		nonce[sizeof(nonce) - 1 - i] ^= (uint8_t)(pn >> (8 * i));
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return (0);
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, k.key,
	    nonce) == 1 &&
	    EVP_EncryptUpdate(ctx, NULL, &n, out, (int)hdrlen) == 1 &&
	    EVP_EncryptUpdate(ctx, out + hdrlen, &n, out + hdrlen,
	    (int)ptlen) == 1 &&
	    EVP_EncryptFinal_ex(ctx, out + hdrlen + n, &n) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
	    out + hdrlen + ptlen) == 1 &&
	    EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k.hp,
	    NULL) == 1 &&
	    EVP_EncryptUpdate(ctx, mask, &n, out + pnoff + 4, 16) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return (0);
	out[0] ^= mask[0] & 0x0f;
	for (i = 0; i < pnlen; i++)
		out[pnoff + i] ^= mask[1 + i];
	return (hdrlen + ptlen + 16);
}
