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
#include "msg.h"
#include "probe.h"
#include "sniproxyd.h"

struct sniff;

struct verdict {
	const struct rule	*rule;	/* NULL: no rule and no default */
	int			 more;	/* undecided: wait for more bytes */
	int			 class;	/* enum conn_class */
	char			 name[HELLO_SNI_MAX + 1];	/* SNI, Host */
	char			 alpn[HELLO_ALPN_LEN + 1];	/* first */
};

/*
 * One protocol: its name, as the configuration and the log write it,
 * the class it gives a connection, the condition of the rules that ask
 * for it (COND_ANY: none), and its probe, which says what the bytes are
 * and, given a rule, whether the rule's own options match them.
 */
struct protocol {
	const char	*name;
	enum conn_class	 class;
	enum rule_cond	 cond;
	enum probe	 (*probe)(struct sniff *, const struct rule *, int);
	void		 (*describe)(const struct sniff *, struct verdict *);
	const char	*namekey;	/* the log's word for verdict name */
	int		 flags;
	const char	*notquic;	/* why the condition cannot take QUIC */
};

#define PROTO_SESSION	0x01	/* the log adds the TLS session agreed */
#define PROTO_QUIC	0x02	/* a QUIC flow: the log adds the version */

extern const struct protocol	protocols[];
extern const size_t		nprotocols;

const struct protocol	*protocol_cond(enum rule_cond);
const struct protocol	*protocol_class(int);
const char		*class_name(int);

void	classify(const struct ruleset *, const struct sockaddr *,
	    const uint8_t *, size_t, int, struct verdict *);
void	classify_quic(const struct ruleset *, const struct sockaddr *,
	    const struct tls_hello *, struct verdict *);

#endif /* CLASSIFY_H */
