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


#ifndef QUIC_H
#define QUIC_H

#include <stddef.h>
#include <stdint.h>

#include "hello.h"

/*
 * The first datagrams of a QUIC flow, as the accept process sees them
 * before it has chosen a server: the client's Initial packets (RFC 9000
 * section 17.2.2) of versions 1 and 2 (RFC 9369), decrypted with keys
 * anyone can derive (RFC 9001 section 5.2), and the ClientHello their
 * CRYPTO frames carry.  Nothing here does I/O or answers the client.
 */

#define QUIC_V1			0x00000001
#define QUIC_V2			0x6b3343cf

#define QUIC_CID_MAX		20	/* RFC 9000 17.2, versions 1 and 2 */
#define QUIC_CID_MIN_INITIAL	8	/* RFC 9000 7.2, a client's first */
#define QUIC_MIN_INITIAL	1200	/* RFC 9000 14.1 */
#define QUIC_DGRAM_MAX		65527	/* largest max_udp_payload_size */

/*
 * What one undecided flow may take before it is given up: a hello of
 * HELLO_MAXBYTES needs about 15 full-size Initial packets, and the
 * caller keeps every datagram it is told to, to replay them.
 */
#define QUIC_FLOW_DGRAMS	16
#define QUIC_FLOW_BYTES		(2 * HELLO_MAXBYTES)

#define QUIC_KEY_LEN		16	/* AEAD_AES_128_GCM */
#define QUIC_IV_LEN		12
#define QUIC_HP_LEN		16

enum quic_status {
	QUIC_NEED_MORE,		/* an Initial of this flow: keep it, wait */
	QUIC_HELLO,		/* the ClientHello is whole: see hello */
	QUIC_NOT_INITIAL,	/* not for us: drop it, never answer */
	QUIC_INVALID		/* malformed, or over a bound: give up */
};

/* The keys that protect a client's Initial packets. */
struct quic_keys {
	uint8_t			 key[QUIC_KEY_LEN];
	uint8_t			 iv[QUIC_IV_LEN];
	uint8_t			 hp[QUIC_HP_LEN];
};

struct quic_flow {
	enum quic_status	 state;	/* QUIC_NEED_MORE until final */
	uint32_t		 version;
	uint8_t			 dcid[QUIC_CID_MAX];
	size_t			 dcidlen;	/* 0 until the first Initial */
	struct quic_keys	 keys;
	uint64_t		 next_pn;	/* largest packet number + 1 */
	size_t			 ndgrams;	/* datagrams taken */
	size_t			 nbytes;	/* and their bytes */
	uint8_t			*crypto;	/* CRYPTO stream from 0 */
	uint8_t			*have;		/* a bit per byte received */
	size_t			 cap;		/* bytes crypto can hold */
	size_t			 contig;	/* bytes from 0 without a gap */
	struct tls_hello	 hello;		/* on QUIC_HELLO */
};

void			 quic_flow_init(struct quic_flow *);
void			 quic_flow_free(struct quic_flow *);

/*
 * Take one datagram of the flow.  QUIC_NEED_MORE and QUIC_HELLO mean
 * the datagram belongs to the flow: the caller keeps it and replays it
 * to the server.  QUIC_NOT_INITIAL leaves the flow as it was.  Once
 * QUIC_HELLO or QUIC_INVALID is returned the flow keeps that state, and
 * later datagrams are not looked at.
 */
enum quic_status	 quic_input(struct quic_flow *, const uint8_t *,
			    size_t);

/*
 * A health check any QUIC server answers without a handshake: a long
 * header of a version reserved never to be used (RFC 9000 section 15)
 * makes it send Version Negotiation, which echoes both connection IDs.
 * cids holds the probe's destination ID, then its source ID.
 */
#define QUIC_PROBE_CIDLEN	8
#define QUIC_PROBE_LEN		QUIC_MIN_INITIAL

void			 quic_probe_make(uint8_t *,
			    const uint8_t [2 * QUIC_PROBE_CIDLEN]);
int			 quic_probe_answered(const uint8_t *, size_t,
			    const uint8_t [2 * QUIC_PROBE_CIDLEN]);

/* The client's Initial keys of a version; -1 for another version. */
int			 quic_initial_keys(uint32_t, const uint8_t *, size_t,
			    struct quic_keys *);

#endif /* QUIC_H */
