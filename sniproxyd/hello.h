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

#ifndef HELLO_H
#define HELLO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bound on the bytes the classifier will peek at to find a complete
 * ClientHello.  Post-quantum key shares make hellos of 1.5-2 KiB common,
 * and some clients split them over several TLS records; 16 KiB leaves
 * room for any real hello while keeping per-connection memory small.
 */
#define HELLO_MAXBYTES		16384

#define HELLO_SNI_MAX		255	/* RFC 6066: HostName is 1..2^16-1,
					   DNS names are at most 255 */
#define HELLO_ALPN_MAX		16	/* protocols remembered */
#define HELLO_ALPN_LEN		32	/* longest protocol remembered */

enum hello_status {
	HELLO_NEED_MORE,	/* a prefix of a valid hello: peek again */
	HELLO_OK,		/* complete hello parsed */
	HELLO_BAD		/* not TLS, malformed, or over the bound */
};

struct tls_hello {
	uint16_t	 record_version;	/* of the first record */
	uint16_t	 client_version;	/* the hello's legacy_version */
	int		 has_sni;
	char		 sni[HELLO_SNI_MAX + 1];	/* name_canon(), NUL */
	size_t		 nalpn;
	char		 alpn[HELLO_ALPN_MAX][HELLO_ALPN_LEN + 1];
};

/*
 * Parse the first len bytes a client sent.  Never reads past buf[len - 1]
 * and never allocates.  On HELLO_OK, *h is filled in; on the other
 * results its contents are unspecified.
 */
enum hello_status	 hello_parse(const uint8_t *buf, size_t len,
			    struct tls_hello *h);

/*
 * The same for a bare handshake message, without the TLS record layer,
 * as QUIC carries it in CRYPTO frames (RFC 9001 section 4).  The bound
 * is HELLO_MAXBYTES of message; record_version is left 0.
 */
enum hello_status	 hello_parse_handshake(const uint8_t *buf, size_t len,
			    struct tls_hello *h);

/*
 * Names are compared in one form only: lower case, without the one
 * trailing dot of a fully qualified name.  Rewrites s in place; -1 when
 * what is left cannot be a name (empty, or an empty label).
 */
int			 name_canon(char *s);

#endif /* HELLO_H */
