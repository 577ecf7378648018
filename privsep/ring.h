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

#ifndef PRIVSEP_RING_H
#define PRIVSEP_RING_H

#include <stddef.h>
#include <stdint.h>

/*
 * A ring of 64-bit values in memory that two processes share: one puts,
 * the other takes, with no system call and no wake-up.  The taker makes
 * it and hands its descriptor over a channel; the putter maps it.  Each
 * side keeps its own position and the ring's size to itself, and
 * trusts nothing the other writes but as a hint: a putter that lies
 * about its position is caught, and can never make the taker read
 * outside the ring.
 */
struct ring_shared;

struct ring {
	struct ring_shared	*sh;
	size_t			 maplen;
	uint32_t		 n;		/* entries, a power of two */
	uint64_t		 pos;		/* this side's own */
};

#define RING_MAXN	(1U << 20)

int	ring_create(struct ring *, uint32_t, int *);
int	ring_attach(struct ring *, int, uint32_t);
int	ring_put(struct ring *, uint64_t);
ssize_t	ring_take(struct ring *, uint64_t *, size_t);
void	ring_free(struct ring *);

#endif /* PRIVSEP_RING_H */
