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
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "hello.h"
#include "quic.h"

#define QUIC_SECRET_LEN		32	/* SHA-256 */
#define QUIC_TAG_LEN		16
#define QUIC_SAMPLE_LEN		16
#define QUIC_PN_MAXLEN		4
#define QUIC_VARINT_MAX		((uint64_t)1 << 62)

/* RFC 9000 17.2: the long header's Type, as version 1 numbers them. */
#define LONG_INITIAL		0
#define LONG_RETRY		3

/* RFC 9000 12.4: the frames an Initial packet may carry. */
#define FRAME_PADDING		0x00
#define FRAME_PING		0x01
#define FRAME_ACK		0x02
#define FRAME_ACK_ECN		0x03
#define FRAME_CRYPTO		0x06
#define FRAME_CLOSE		0x1c

/* Grow the CRYPTO buffer in steps that divide HELLO_MAXBYTES. */
#define CRYPTO_STEP		2048

/* RFC 9001 5.2 and RFC 9369 3.3.1. */
static const uint8_t salt_v1[] = {
	0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a
};
static const uint8_t salt_v2[] = {
	0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
	0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9
};

/* A packet is decrypted in place in a copy: the datagram is read-only. */
static uint8_t	 pktbuf[QUIC_DGRAM_MAX];

struct reader {
	const uint8_t	*p;
	size_t		 len;
	size_t		 pos;
};

static int
get_byte(struct reader *r, uint8_t *v)
{
	if (r->pos >= r->len)
		return (-1);
	*v = r->p[r->pos++];
	return (0);
}

static int
get_u32(struct reader *r, uint32_t *v)
{
	if (r->len - r->pos < 4)
		return (-1);
	*v = (uint32_t)r->p[r->pos] << 24 | (uint32_t)r->p[r->pos + 1] << 16 |
	    (uint32_t)r->p[r->pos + 2] << 8 | r->p[r->pos + 3];
	r->pos += 4;
	return (0);
}

/* RFC 9000 16: the two high bits give the length, 1 to 8 bytes. */
static int
get_varint(struct reader *r, uint64_t *v)
{
	size_t	 n, i;

	if (r->pos >= r->len)
		return (-1);
	n = (size_t)1 << (r->p[r->pos] >> 6);
	if (n > r->len - r->pos)
		return (-1);
	*v = r->p[r->pos] & 0x3f;
	for (i = 1; i < n; i++)
		*v = *v << 8 | r->p[r->pos + i];
	r->pos += n;
	return (0);
}

static int
skip(struct reader *r, uint64_t n)
{
	if (n > r->len - r->pos)
		return (-1);
	r->pos += n;
	return (0);
}

static int
skip_varints(struct reader *r, size_t n)
{
	uint64_t	 v;

	while (n-- > 0)
		if (get_varint(r, &v) == -1)
			return (-1);
	return (0);
}

static int
hkdf(int mode, const uint8_t *key, size_t keylen, const uint8_t *salt,
    size_t saltlen, const uint8_t *info, size_t infolen, uint8_t *out,
    size_t outlen)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*ctx;
	OSSL_PARAM	 params[6], *p = params;
	int		 ok;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return (-1);
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (ctx == NULL)
		return (-1);
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)key, keylen);
	if (salt != NULL)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, saltlen);
	if (info != NULL)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)info, infolen);
	*p = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(ctx, out, outlen, params) == 1;
	EVP_KDF_CTX_free(ctx);
	return (ok ? 0 : -1);
}

/* RFC 8446 7.1 HKDF-Expand-Label with an empty context. */
static int
expand_label(const uint8_t *secret, const char *label, uint8_t *out,
    size_t outlen)
{
	static const char	 prefix[] = "tls13 ";
	uint8_t			 info[2 + 1 + 255 + 1];
	size_t			 plen = sizeof(prefix) - 1, llen, n = 0;

	llen = strlen(label);
	if (plen + llen > 255)
		return (-1);
	info[n++] = (uint8_t)(outlen >> 8);
	info[n++] = (uint8_t)outlen;
	info[n++] = (uint8_t)(plen + llen);
	memcpy(info + n, prefix, plen);
	n += plen;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = 0;
	return (hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, secret, QUIC_SECRET_LEN,
	    NULL, 0, info, n, out, outlen));
}

int
quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcidlen,
    struct quic_keys *k)
{
	uint8_t		 initial[QUIC_SECRET_LEN], client[QUIC_SECRET_LEN];
	const uint8_t	*salt;
	const char	*lkey, *liv, *lhp;
	int		 rv = -1;

	if (version == QUIC_V1) {
		salt = salt_v1;
		lkey = "quic key";
		liv = "quic iv";
		lhp = "quic hp";
	} else if (version == QUIC_V2) {
		salt = salt_v2;
		lkey = "quicv2 key";
		liv = "quicv2 iv";
		lhp = "quicv2 hp";
	} else
		return (-1);
	/* Both salts are 20 bytes. */
	if (hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, dcid, dcidlen, salt,
	    sizeof(salt_v1), NULL, 0, initial, sizeof(initial)) == 0 &&
	    expand_label(initial, "client in", client, sizeof(client)) == 0 &&
	    expand_label(client, lkey, k->key, sizeof(k->key)) == 0 &&
	    expand_label(client, liv, k->iv, sizeof(k->iv)) == 0 &&
	    expand_label(client, lhp, k->hp, sizeof(k->hp)) == 0)
		rv = 0;
	explicit_bzero(initial, sizeof(initial));
	explicit_bzero(client, sizeof(client));
	return (rv);
}

/* RFC 9001 5.4.3: the first bytes of AES-ECB(hp, sample). */
static int
hp_mask(const uint8_t *hp, const uint8_t *sample, uint8_t *mask)
{
	EVP_CIPHER_CTX	*ctx;
	int		 n, ok;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return (-1);
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, hp, NULL) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_EncryptUpdate(ctx, mask, &n, sample, QUIC_SAMPLE_LEN) == 1 &&
	    n == QUIC_SAMPLE_LEN;
	EVP_CIPHER_CTX_free(ctx);
	return (ok ? 0 : -1);
}

/* RFC 9001 5.3: AEAD_AES_128_GCM, the tag after the ciphertext. */
static int
aead_open(const struct quic_keys *k, const uint8_t *nonce,
    const uint8_t *aad, size_t aadlen, uint8_t *buf, size_t len)
{
	EVP_CIPHER_CTX	*ctx;
	int		 n, ok;

	if (len > QUIC_DGRAM_MAX || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return (-1);
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, k->key,
	    nonce) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1 &&
	    EVP_DecryptUpdate(ctx, buf, &n, buf, (int)len) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, QUIC_TAG_LEN,
	    buf + len) == 1 &&
	    EVP_DecryptFinal_ex(ctx, buf + n, &n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return (ok ? 0 : -1);
}

/* RFC 9000 A.3: the packet number nearest the one expected next. */
static uint64_t
decode_pn(uint64_t expected, uint64_t truncated, size_t bits)
{
	uint64_t	 win = (uint64_t)1 << bits, hwin = win / 2;
	uint64_t	 pn = (expected & ~(win - 1)) | truncated;

	if (expected >= hwin && pn <= expected - hwin &&
	    pn < QUIC_VARINT_MAX - win)
		return (pn + win);
	if (pn > expected + hwin && pn >= win)
		return (pn - win);
	return (pn);
}

/* The long header's Type in version 1 terms (RFC 9369 3.2). */
static int
long_type(uint32_t version, uint8_t first)
{
	int	 t = (first >> 4) & 3;

	return (version == QUIC_V2 ? (t + 3) & 3 : t);
}

static int
have_byte(const struct quic_flow *f, size_t i)
{
	return (f->have[i / 8] & (1 << (i % 8)));
}

static int
crypto_grow(struct quic_flow *f, size_t need)
{
	uint8_t	*p;
	size_t	 cap;

	if (need <= f->cap)
		return (0);
	cap = (need + CRYPTO_STEP - 1) / CRYPTO_STEP * CRYPTO_STEP;
	if ((p = recallocarray(f->have, f->cap / 8, cap / 8, 1)) == NULL)
		return (-1);
	f->have = p;
	if ((p = recallocarray(f->crypto, f->cap, cap, 1)) == NULL)
		return (-1);
	f->crypto = p;
	f->cap = cap;
	return (0);
}

/*
 * Data at an offset of the CRYPTO stream.  Bytes sent again must be
 * the same: otherwise the server could read another hello than ours.
 */
static int
crypto_add(struct quic_flow *f, uint64_t off, const uint8_t *data,
    uint64_t len)
{
	size_t	 i;

	if (off > HELLO_MAXBYTES || len > HELLO_MAXBYTES - off)
		return (-1);
	if (crypto_grow(f, off + len) == -1)
		return (-1);
	for (i = 0; i < len; i++) {
		if (have_byte(f, off + i)) {
			if (f->crypto[off + i] != data[i])
				return (-1);
			continue;
		}
		f->crypto[off + i] = data[i];
		f->have[(off + i) / 8] |= 1 << ((off + i) % 8);
	}
	while (f->contig < f->cap && have_byte(f, f->contig))
		f->contig++;
	return (0);
}

/* RFC 9000 19: the frames of one decrypted Initial packet. */
static enum quic_status
frames(struct quic_flow *f, const uint8_t *p, size_t len)
{
	struct reader	 r = { p, len, 0 };
	uint64_t	 type, off, n, count;

	if (len == 0)
		return (QUIC_INVALID);
	while (r.pos < r.len) {
		if (get_varint(&r, &type) == -1)
			return (QUIC_INVALID);
		switch (type) {
		case FRAME_PADDING:
		case FRAME_PING:
			break;
		case FRAME_ACK:
		case FRAME_ACK_ECN:
			/* Largest, delay, range count, first range. */
			if (skip_varints(&r, 2) == -1 ||
			    get_varint(&r, &count) == -1 ||
			    skip_varints(&r, 1) == -1)
				return (QUIC_INVALID);
			/* A gap and a length each; no more than fit. */
			if (count > r.len - r.pos ||
			    skip_varints(&r, 2 * count) == -1)
				return (QUIC_INVALID);
			if (type == FRAME_ACK_ECN &&
			    skip_varints(&r, 3) == -1)
				return (QUIC_INVALID);
			break;
		case FRAME_CRYPTO:
			if (get_varint(&r, &off) == -1 ||
			    get_varint(&r, &n) == -1 ||
			    n > r.len - r.pos ||
			    crypto_add(f, off, r.p + r.pos, n) == -1)
				return (QUIC_INVALID);
			r.pos += n;
			break;
		case FRAME_CLOSE:
			/* The client gave up: there is nothing to route. */
			return (QUIC_INVALID);
		default:
			return (QUIC_INVALID);
		}
	}
	return (QUIC_NEED_MORE);
}

/*
 * RFC 9001 5.4 and 5.3: remove header protection, then the packet
 * protection, of the Initial packet d[start..end), whose packet number
 * starts at pnoff; then take its frames.
 */
static enum quic_status
unprotect(struct quic_flow *f, const uint8_t *d, size_t start, size_t pnoff,
    size_t end)
{
	uint8_t		 mask[QUIC_SAMPLE_LEN], nonce[QUIC_IV_LEN];
	uint8_t		*pkt = pktbuf;
	uint64_t	 truncated = 0, pn;
	size_t		 len = end - start, pnlen, hdrlen, i;

	pnoff -= start;
	/* The sample is taken as if the packet number were 4 bytes. */
	if (len - pnoff < QUIC_PN_MAXLEN + QUIC_SAMPLE_LEN)
		return (QUIC_INVALID);
	memcpy(pkt, d + start, len);
	if (hp_mask(f->keys.hp, pkt + pnoff + QUIC_PN_MAXLEN, mask) == -1)
		return (QUIC_INVALID);
	pkt[0] ^= mask[0] & 0x0f;
	pnlen = (pkt[0] & 0x03) + 1;
	for (i = 0; i < pnlen; i++) {
		pkt[pnoff + i] ^= mask[1 + i];
		truncated = truncated << 8 | pkt[pnoff + i];
	}
	hdrlen = pnoff + pnlen;
	if (len - hdrlen <= QUIC_TAG_LEN)
		return (QUIC_INVALID);
	pn = decode_pn(f->next_pn, truncated, pnlen * 8);

	memcpy(nonce, f->keys.iv, sizeof(nonce));
	for (i = 0; i < 8; i++)
		nonce[sizeof(nonce) - 1 - i] ^= (uint8_t)(pn >> (8 * i));
	if (aead_open(&f->keys, nonce, pkt, hdrlen, pkt + hdrlen,
	    len - hdrlen - QUIC_TAG_LEN) == -1)
		return (QUIC_INVALID);
	/* RFC 9000 17.2: reserved bits, known only now, must be zero. */
	if (pkt[0] & 0x0c)
		return (QUIC_INVALID);
	if (pn >= f->next_pn)
		f->next_pn = pn + 1;
	return (frames(f, pkt + hdrlen, len - hdrlen - QUIC_TAG_LEN));
}

/*
 * The long-header packet at *off of the datagram.  The first is the
 * Initial quic_input() found; those coalesced after it are taken when
 * they are Initial packets of the same connection and stepped over
 * otherwise.  QUIC_NOT_INITIAL: the rest of the datagram is not ours.
 */
static enum quic_status
packet(struct quic_flow *f, const uint8_t *d, size_t len, size_t *off,
    int first)
{
	struct reader	 r = { d, len, *off };
	const uint8_t	*dcid;
	uint64_t	 n;
	uint32_t	 version;
	size_t		 start = *off, pnoff;
	uint8_t		 b0, dcidlen, scidlen;
	int		 type;

	if (get_byte(&r, &b0) == -1 || get_u32(&r, &version) == -1)
		return (first ? QUIC_INVALID : QUIC_NOT_INITIAL);
	/* A short header, or a version whose packets we cannot delimit. */
	if (!(b0 & 0x80) || version != f->version)
		return (QUIC_NOT_INITIAL);
	type = long_type(version, b0);
	if (type == LONG_RETRY)
		return (first ? QUIC_INVALID : QUIC_NOT_INITIAL);
	if (get_byte(&r, &dcidlen) == -1 || dcidlen > QUIC_CID_MAX)
		return (QUIC_INVALID);
	dcid = r.p + r.pos;
	if (skip(&r, dcidlen) == -1 || get_byte(&r, &scidlen) == -1 ||
	    scidlen > QUIC_CID_MAX || skip(&r, scidlen) == -1)
		return (QUIC_INVALID);
	if (type == LONG_INITIAL &&
	    (get_varint(&r, &n) == -1 || skip(&r, n) == -1))
		return (QUIC_INVALID);
	if (get_varint(&r, &n) == -1 || n > r.len - r.pos)
		return (QUIC_INVALID);
	pnoff = r.pos;
	*off = pnoff + n;
	if (type != LONG_INITIAL)
		return (QUIC_NEED_MORE);

	if (f->dcidlen == 0) {
		if (dcidlen < QUIC_CID_MIN_INITIAL ||
		    quic_initial_keys(version, dcid, dcidlen, &f->keys) == -1)
			return (QUIC_INVALID);
		memcpy(f->dcid, dcid, dcidlen);
		f->dcidlen = dcidlen;
	} else if (dcidlen != f->dcidlen ||
	    memcmp(dcid, f->dcid, dcidlen) != 0) {
		/*
		 * RFC 9000 7.2: the client keeps its first DCID until the
		 * server answers, which it has not.  12.2: coalesced
		 * packets of another connection are ignored.
		 */
		return (first ? QUIC_INVALID : QUIC_NEED_MORE);
	}
	return (unprotect(f, d, start, pnoff, *off));
}

/* Whether a datagram starts with a client's Initial of v1 or v2. */
static int
is_initial(const uint8_t *d, size_t len, uint32_t *version)
{
	struct reader	 r = { d, len, 0 };
	uint8_t		 b0;

	if (get_byte(&r, &b0) == -1 || !(b0 & 0x80) ||
	    get_u32(&r, version) == -1)
		return (0);
	if (*version != QUIC_V1 && *version != QUIC_V2)
		return (0);
	return (long_type(*version, b0) == LONG_INITIAL);
}

void
quic_flow_init(struct quic_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->state = QUIC_NEED_MORE;
}

void
quic_flow_free(struct quic_flow *f)
{
	free(f->have);
	free(f->crypto);
	explicit_bzero(f, sizeof(*f));
}

enum quic_status
quic_input(struct quic_flow *f, const uint8_t *d, size_t len)
{
	enum quic_status	 st;
	enum hello_status	 hst;
	uint32_t		 version;
	size_t			 off = 0;

	if (f->state != QUIC_NEED_MORE)
		return (f->state);
	if (!is_initial(d, len, &version))
		return (QUIC_NOT_INITIAL);
	/*
	 * RFC 9000 14.1: servers drop a client's Initial in a datagram of
	 * less than 1200 bytes, so no hello is read from one either.
	 */
	if ((f->version != 0 && version != f->version) ||
	    len < QUIC_MIN_INITIAL || len > QUIC_DGRAM_MAX ||
	    f->ndgrams >= QUIC_FLOW_DGRAMS || len > QUIC_FLOW_BYTES - f->nbytes)
		return (f->state = QUIC_INVALID);
	f->version = version;
	f->ndgrams++;
	f->nbytes += len;

	for (st = QUIC_NEED_MORE; off < len && st == QUIC_NEED_MORE; )
		st = packet(f, d, len, &off, off == 0);
	if (st == QUIC_INVALID)
		return (f->state = QUIC_INVALID);

	if (f->contig == 0)
		return (QUIC_NEED_MORE);
	hst = hello_parse_handshake(f->crypto, f->contig, &f->hello);
	if (hst == HELLO_NEED_MORE)
		return (QUIC_NEED_MORE);
	return (f->state = hst == HELLO_OK ? QUIC_HELLO : QUIC_INVALID);
}

/*
 * 0x?a?a?a?a versions exist to exercise version negotiation; one is
 * never supported.  A server sends Version Negotiation only for a
 * datagram as large as a client's first, so that it cannot be used to
 * amplify.
 */
#define QUIC_PROBE_VERSION	0x5a6a7a8a

void
quic_probe_make(uint8_t *p, const uint8_t cids[2 * QUIC_PROBE_CIDLEN])
{
	uint32_t	 v = QUIC_PROBE_VERSION;
	size_t		 off = 0;

	memset(p, 0, QUIC_PROBE_LEN);
	p[off++] = 0xc0;	/* long header, fixed bit */
	p[off++] = v >> 24;
	p[off++] = v >> 16;
	p[off++] = v >> 8;
	p[off++] = v;
	p[off++] = QUIC_PROBE_CIDLEN;
	memcpy(p + off, cids, QUIC_PROBE_CIDLEN);
	off += QUIC_PROBE_CIDLEN;
	p[off++] = QUIC_PROBE_CIDLEN;
	memcpy(p + off, cids + QUIC_PROBE_CIDLEN, QUIC_PROBE_CIDLEN);
}

/* Version Negotiation: version 0, the IDs swapped (RFC 8999 6). */
int
quic_probe_answered(const uint8_t *p, size_t len,
    const uint8_t cids[2 * QUIC_PROBE_CIDLEN])
{
	const size_t	 dcid = 6, scid = 7 + QUIC_PROBE_CIDLEN;

	if (len < scid + QUIC_PROBE_CIDLEN + 4 || (p[0] & 0x80) == 0 ||
	    p[1] != 0 || p[2] != 0 || p[3] != 0 || p[4] != 0 ||
	    p[5] != QUIC_PROBE_CIDLEN || p[scid - 1] != QUIC_PROBE_CIDLEN)
		return (0);
	return (memcmp(p + dcid, cids + QUIC_PROBE_CIDLEN,
	    QUIC_PROBE_CIDLEN) == 0 &&
	    memcmp(p + scid, cids, QUIC_PROBE_CIDLEN) == 0);
}
