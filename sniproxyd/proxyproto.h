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

#ifndef PROXYPROTO_H
#define PROXYPROTO_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/*
 * The PROXY protocol, versions 1 and 2, as HAProxy's proxy-protocol.txt
 * specifies it.  Both directions work on caller buffers only: nothing
 * here does I/O, allocates or keeps state.
 */

/* Longest v1 line, CRLF included ("PROXY UNKNOWN" with two IPv6). */
#define PROXY_V1_MAXLEN		107

/*
 * Largest inbound header accepted.  A v2 header may announce up to
 * 16 + 65535 bytes, but addresses and the TLVs senders use fit well
 * within this, and a bound keeps the peek buffer small.
 */
#define PROXY_HDR_MAXLEN	1024

#define PROXY_AUTHORITY_MAX	255	/* a DNS name, as the SNI is */
#define PROXY_ALPN_MAX		32	/* longest protocol remembered */

enum proxy_status {
	PROXY_NEED_MORE,	/* a prefix of a valid header: peek again */
	PROXY_OK,		/* complete header parsed */
	PROXY_BAD		/* cannot become a valid header */
};

struct proxy_info {
	int			 version;	/* 1 or 2 */
	int			 local;		/* no usable addresses */
	struct sockaddr_storage	 src, dst;	/* when !local */
	size_t			 hdrlen;	/* bytes to consume */
	char			 authority[PROXY_AUTHORITY_MAX + 1];
	char			 alpn[PROXY_ALPN_MAX + 1];
};

/* What a PP2_TYPE_SSL TLV reports about a terminated TLS session. */
struct proxy_tlv_ssl {
	int			 present;
	int			 verified_client_cert;
	const char		*version;	/* "TLSv1.3", or NULL */
	const char		*cipher;	/* or NULL */
};

/*
 * Parse the first len bytes a peer sent.  Never reads past buf[len - 1].
 * On PROXY_OK, *pi is filled in and the header is pi->hdrlen bytes long;
 * on the other results its contents are unspecified.
 */
enum proxy_status	 proxy_parse(const uint8_t *buf, size_t len,
			    struct proxy_info *pi);

/*
 * Write a v1 line and a NUL into buf.  Returns the length of the line
 * without the NUL, or -1 when buf is too small; PROXY_V1_MAXLEN + 1
 * bytes are always enough.
 */
ssize_t			 proxy_build_v1(const struct sockaddr *src,
			    const struct sockaddr *dst, char *buf, size_t len);

/*
 * Write a v2 header into buf.  authority and alpn may be NULL or "" to
 * leave their TLV out, ssl may be NULL.  Returns the header length, or
 * -1 when buf is too small or a value does not fit the format.
 */
ssize_t			 proxy_build_v2(const struct sockaddr *src,
			    const struct sockaddr *dst, const char *authority,
			    const char *alpn, const struct proxy_tlv_ssl *ssl,
			    uint8_t *buf, size_t len);

#endif /* PROXYPROTO_H */
