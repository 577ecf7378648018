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

#ifndef CONNLIMIT_H
#define CONNLIMIT_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct ruleset;
struct sockaddr;
struct source;

/* What a connection holds of the limits, to give back when it ends. */
struct limit_ref {
	unsigned int	 rs;
	struct source	*src;
};

int		 limits_init(const struct config *);
size_t		 limits_table_size(const struct config *);
int		 limits_table(void *, unsigned int);
unsigned int	 limits_active(void);
const char	*limits_admit(struct limit_ref *, const struct ruleset *,
		    const struct sockaddr *);
const char	*limits_admit_source(struct limit_ref *,
		    const struct ruleset *, const struct sockaddr *);
void		 limits_release(struct limit_ref *);
void		 limits_handed(uint64_t, unsigned int,
		    const struct limit_ref *);
void		 limits_ended(uint64_t, unsigned int);
unsigned int	 limits_slot_gone(unsigned int);

#endif /* CONNLIMIT_H */
