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

#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "shm.h"

/*
 * The two positions count without wrapping; each is written by one
 * side only, and on a line of its own so that the two sides do not
 * contend for one cache line.
 */
struct ring_shared {
	uint64_t	 put;
	uint8_t		 pad0[56];
	uint64_t	 taken;
	uint8_t		 pad1[56];
	uint64_t	 v[];
};

static size_t
ring_len(uint32_t n)
{
	return (sizeof(struct ring_shared) + (size_t)n * sizeof(uint64_t));
}

static int
ring_size_ok(uint32_t n)
{
	return (n >= 2 && n <= RING_MAXN && (n & (n - 1)) == 0);
}

static int
ring_map(struct ring *r, int fd, uint32_t n)
{
	void	*p;

	if (!ring_size_ok(n)) {
		errno = EINVAL;
		return (-1);
	}
	if ((p = shm_map(fd, ring_len(n))) == NULL)
		return (-1);
	memset(r, 0, sizeof(*r));
	r->sh = p;
	r->maplen = ring_len(n);
	r->n = n;
	return (0);
}

/*
 * The taker's side, with n entries.  Returns -1 on error, else 0 and
 * the descriptor to hand over in *fdp.
 */
int
ring_create(struct ring *r, uint32_t n, int *fdp)
{
	int	 fd, saved;

	if (!ring_size_ok(n)) {
		errno = EINVAL;
		return (-1);
	}
	if ((fd = shm_create(ring_len(n))) == -1)
		return (-1);
	if (ring_map(r, fd, n) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	*fdp = fd;
	return (0);
}

/*
 * The putter's side, from the descriptor the taker sent.  The caller
 * still owns fd.
 */
int
ring_attach(struct ring *r, int fd, uint32_t n)
{
	if (ring_map(r, fd, n) == -1)
		return (-1);
	r->pos = __atomic_load_n(&r->sh->put, __ATOMIC_ACQUIRE);
	return (0);
}

/* Returns 0, or -1 when the ring is full. */
int
ring_put(struct ring *r, uint64_t v)
{
	uint64_t	 taken;

	taken = __atomic_load_n(&r->sh->taken, __ATOMIC_ACQUIRE);
	if (r->pos - taken >= r->n)
		return (-1);
	r->sh->v[r->pos & (r->n - 1)] = v;
	r->pos++;
	__atomic_store_n(&r->sh->put, r->pos, __ATOMIC_RELEASE);
	return (0);
}

/*
 * Takes up to max values into out; returns how many, or -1 when the
 * putter claims more than the ring holds, which it never does unless
 * it is broken.
 */
ssize_t
ring_take(struct ring *r, uint64_t *out, size_t max)
{
	uint64_t	 put;
	size_t		 i, n;

	put = __atomic_load_n(&r->sh->put, __ATOMIC_ACQUIRE);
	if (put - r->pos > r->n)
		return (-1);
	n = put - r->pos;
	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		out[i] = r->sh->v[(r->pos + i) & (r->n - 1)];
	r->pos += n;
	__atomic_store_n(&r->sh->taken, r->pos, __ATOMIC_RELEASE);
	return (n);
}

void
ring_free(struct ring *r)
{
	if (r->sh != NULL)
		munmap(r->sh, r->maplen);
	memset(r, 0, sizeof(*r));
}
