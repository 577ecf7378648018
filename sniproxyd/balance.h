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

#ifndef BALANCE_H
#define BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "sniproxyd.h"

/* Servers in one table, so that orders fit on the stack. */
#define BALANCE_MAX	256

struct balance {
	size_t		 n;
	uint8_t		*up;		/* health checks say so */
	uint8_t		*admin;		/* enum host_admin */
	int		*weight;	/* the table's, or sniproxyctl's */
	uint32_t	*active;	/* this worker's connections */
	uint64_t	*total;		/* connected since it started */
	int		*current;	/* weighted round robin */
};

int	balance_init(struct balance *, const struct table *);
size_t	balance_order(struct balance *, const struct table *,
	    enum balance_mode, const struct sockaddr *, uint16_t *);

#endif /* BALANCE_H */
