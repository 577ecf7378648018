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
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "sniproxyd.h"
#include "balance.h"

/*
 * Which server of a table a new connection tries first, and which after
 * it when that one fails.  The state is this worker's own: with several
 * workers per route each balances its share, which evens out over the
 * connections the accept process deals among them.
 */

int
balance_init(struct balance *b, const struct table *t)
{
	size_t	 i;

	memset(b, 0, sizeof(*b));
	b->n = t->nhosts;
	if ((b->up = calloc(b->n, sizeof(*b->up))) == NULL ||
	    (b->admin = calloc(b->n, sizeof(*b->admin))) == NULL ||
	    (b->weight = calloc(b->n, sizeof(*b->weight))) == NULL ||
	    (b->active = calloc(b->n, sizeof(*b->active))) == NULL ||
	    (b->total = calloc(b->n, sizeof(*b->total))) == NULL ||
	    (b->current = calloc(b->n, sizeof(*b->current))) == NULL)
		return (-1);
	memset(b->up, 1, b->n);
	for (i = 0; i < b->n; i++)
		b->weight[i] = t->hosts[i].weight;
	return (0);
}

/* Smooth weighted round robin, as nginx does it: no bursts. */
static int
pick_roundrobin(struct balance *b, const uint8_t *ok)
{
	size_t	 i;
	int	 best = -1, total = 0;

	for (i = 0; i < b->n; i++) {
		if (!ok[i])
			continue;
		b->current[i] += b->weight[i];
		total += b->weight[i];
		if (best == -1 || b->current[i] > b->current[best])
			best = i;
	}
	if (best != -1)
		b->current[best] -= total;
	return (best);
}

static int
pick_leastconn(struct balance *b, const uint8_t *ok)
{
	size_t	 i;
	int	 best = -1;

	/* Fewest connections per unit of weight; a tie goes to the first. */
	for (i = 0; i < b->n; i++) {
		if (!ok[i])
			continue;
		if (best == -1 || (uint64_t)b->active[i] *
		    b->weight[best] < (uint64_t)b->active[best] *
		    b->weight[i])
			best = i;
	}
	return (best);
}

static uint32_t
hash_addr(const struct sockaddr *sa)
{
	const uint8_t	*p;
	size_t		 len, i;
	uint32_t	 h = 2166136261u;

	if (sa->sa_family == AF_INET6) {
		p = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		len = 16;
	} else {
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)->
		    sin_addr;
		len = 4;
	}
	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return (h);
}

/* The same address lands on the same server while the set holds. */
static int
pick_sourcehash(struct balance *b, const uint8_t *ok,
    const struct sockaddr *client)
{
	size_t		 i;
	uint32_t	 total = 0, at;

	for (i = 0; i < b->n; i++)
		if (ok[i])
			total += b->weight[i];
	if (total == 0)
		return (-1);
	at = hash_addr(client) % total;
	for (i = 0; i < b->n; i++) {
		if (!ok[i])
			continue;
		if (at < (uint32_t)b->weight[i])
			return (i);
		at -= b->weight[i];
	}
	return (-1);
}

static int
pick_first(struct balance *b, const uint8_t *ok)
{
	size_t	 i;

	for (i = 0; i < b->n; i++)
		if (ok[i])
			return (i);
	return (-1);
}

/*
 * Whether server i takes part in a pass of balance_order: the servers
 * that are neither backups nor set aside, then the backups, then, when
 * those give none, the servers being drained.  A disabled server is
 * never tried.
 */
static int
usable(const struct balance *b, const struct table *t, size_t i, int pass)
{
	if (!b->up[i])
		return (0);
	if (pass == 2)
		return (b->admin[i] == HOST_DRAINING);
	return (b->admin[i] == HOST_ENABLED && t->hosts[i].backup == pass);
}

/*
 * Fills order with the servers to try: the first choice, then the
 * other usable servers of the same kind in table order after it, then
 * the backups.  Backups come first only when no other server is up,
 * and servers being drained only when nothing else is.  Returns how
 * many there are; 0 when every server is down or set aside.
 */
size_t
balance_order(struct balance *b, const struct table *t,
    enum balance_mode mode, const struct sockaddr *client, uint16_t *order)
{
	uint8_t	 ok[BALANCE_MAX];
	size_t	 i, n = 0;
	int	 first = -1, pass;

	for (pass = 0; pass < 3; pass++) {
		if (pass == 2 && n > 0)
			break;
		for (i = 0; i < b->n; i++)
			ok[i] = usable(b, t, i, pass);
		if (pass == 0 || n == 0) {
			switch (mode) {
			case MODE_LEASTCONN:
				first = pick_leastconn(b, ok);
				break;
			case MODE_SOURCEHASH:
				first = pick_sourcehash(b, ok, client);
				break;
			case MODE_FAILOVER:
				first = pick_first(b, ok);
				break;
			default:
				first = pick_roundrobin(b, ok);
				break;
			}
		} else
			first = pick_first(b, ok);
		if (first == -1)
			continue;
		for (i = 0; i < b->n; i++)
			if (ok[(first + i) % b->n])
				order[n++] = (first + i) % b->n;
	}
	return (n);
}
