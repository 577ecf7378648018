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

#ifndef CLASSIFY_H
#define CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "hello.h"

struct ruleset;
struct rule;
struct sockaddr;

struct verdict {
	const struct rule	*rule;	/* NULL: no rule and no default */
	int			 more;	/* undecided: wait for more bytes */
	int			 class;	/* enum conn_class */
	char			 name[HELLO_SNI_MAX + 1];	/* SNI, Host */
	char			 alpn[HELLO_ALPN_LEN + 1];	/* first */
};

void	classify(const struct ruleset *, const struct sockaddr *,
	    const uint8_t *, size_t, int, struct verdict *);
void	classify_quic(const struct ruleset *, const struct sockaddr *,
	    const struct tls_hello *, struct verdict *);

#endif /* CLASSIFY_H */
