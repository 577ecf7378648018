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
#include <sys/tree.h>

#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sniproxyd.h"
#include "connlimit.h"

/*
 * Connection limits of an accept process: over all listeners, per
 * listen block, and per client address (an IPv6 client by its /64, as
 * that is what one host is usually given).  The kernel sends every
 * connection of a client address to the same accept process, so the
 * limits per address are whole here; those over all addresses are
 * split evenly between the accept processes, each enforcing its share.
 * A connection holds its place from the moment it is admitted until
 * its worker says it ended.  Apart from these, the pace at which each
 * address opens connections.
 */

struct source {
	uint8_t			 key[17];	/* family, then address */
	unsigned int		 count;
	RB_ENTRY(source)	 entry;
};

struct held {
	uint64_t		 id;
	unsigned int		 slot;
	unsigned int		 rs;
	struct source		*src;
	RB_ENTRY(held)		 entry;
};

/*
 * How fast a client address opens connections on a listen block: a
 * level that each connection raises by RATE_ONE and that drains
 * linearly over the block's interval, so that it exceeds the limit
 * only when more than "maxconn rate" connections came within it.
 */
struct rate {
	uint8_t			 key[17];
	unsigned int		 rs;
	int64_t			 last;		/* ms, monotonic */
	int64_t			 window;	/* ms */
	uint64_t		 level;
	RB_ENTRY(rate)		 entry;
};

#define RATE_ONE	1000
/* The addresses tracked at once; beyond, a new one goes unlimited. */
#define RATE_MAX	65536

static int
source_cmp(const struct source *a, const struct source *b)
{
	return (memcmp(a->key, b->key, sizeof(a->key)));
}

static int
rate_cmp(const struct rate *a, const struct rate *b)
{
	if (a->rs != b->rs)
		return (a->rs < b->rs ? -1 : 1);
	return (memcmp(a->key, b->key, sizeof(a->key)));
}

static int
held_cmp(const struct held *a, const struct held *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

RB_HEAD(sources, source);
RB_PROTOTYPE(sources, source, entry, source_cmp);
RB_GENERATE(sources, source, entry, source_cmp)
RB_HEAD(rates, rate);
RB_PROTOTYPE(rates, rate, entry, rate_cmp);
RB_GENERATE(rates, rate, entry, rate_cmp)
RB_HEAD(helds, held);
RB_PROTOTYPE(helds, held, entry, held_cmp);
RB_GENERATE(helds, held, entry, held_cmp)

/*
 * The accept processes of a generation share maxconn and each
 * listener's maxconn through a table that priv makes for them: a row
 * for each process, written by that process alone, with its counts
 * (the total, then one for each ruleset), on cache lines of its own.
 * A process admits while the rows add up to less than the limit, so
 * that the limits hold whichever process the clients' addresses lead
 * to; processes that admit at the same moment may each go one over.  A
 * row is only a number to the others: one that says too much makes
 * them refuse, and nothing else.  Until the table comes, and without
 * it, each process keeps to its share of every limit.
 */
#define ROW_ALIGN	8		/* uint64_t a cache line */

static struct {
	uint64_t		*rows;
	size_t			 stride;	/* uint64_t a row */
	unsigned int		 nrows;
	unsigned int		 self;
} tab;

static struct {
	const struct config	*conf;
	unsigned int		 maxconn;	/* this process's share */
	unsigned int		*max_rs;	/* the same, per ruleset */
	unsigned int		 total;
	unsigned int		*per_rs;
	struct sources		 sources;
	struct helds		 helds;
	struct rates		 rates;
	unsigned int		 nrates;
	int64_t			 swept;
} lim;

/*
 * Rounded up, so that a limit below the number of accept processes
 * still admits a connection in each; the sum may then exceed the
 * limit by less than that number.
 */
static unsigned int
limits_share(int max, int naccept)
{
	return ((max + naccept - 1) / naccept);
}

int
limits_init(const struct config *conf)
{
	struct ruleset	*rs;

	memset(&lim, 0, sizeof(lim));
	memset(&tab, 0, sizeof(tab));
	lim.conf = conf;
	RB_INIT(&lim.sources);
	RB_INIT(&lim.helds);
	RB_INIT(&lim.rates);
	if ((lim.per_rs = calloc(conf->nrulesets, sizeof(*lim.per_rs))) ==
	    NULL || (lim.max_rs = calloc(conf->nrulesets,
	    sizeof(*lim.max_rs))) == NULL)
		return (-1);
	lim.maxconn = limits_share(conf->maxconn, conf->naccept);
	TAILQ_FOREACH(rs, &conf->rulesets, entry)
		if (rs->maxconn > 0)
			lim.max_rs[rs->id] = limits_share(rs->maxconn,
			    conf->naccept);
	return (0);
}

static void
source_key(const struct sockaddr *sa, uint8_t *key)
{
	memset(key, 0, 17);
	key[0] = sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    8);
}

unsigned int
limits_active(void)
{
	return (lim.total);
}

static size_t
table_stride(const struct config *conf)
{
	size_t	 n = 1 + conf->nrulesets;

	return ((n + ROW_ALIGN - 1) / ROW_ALIGN * ROW_ALIGN);
}

size_t
limits_table_size(const struct config *conf)
{
	return (table_stride(conf) * conf->naccept * sizeof(uint64_t));
}

/*
 * The table priv made, mapped, limits_table_size() bytes; self is this
 * process's row.  What a predecessor left in it is its own no more.
 */
int
limits_table(void *mem, unsigned int self)
{
	const struct config	*conf = lim.conf;
	size_t			 i;

	if (self >= (unsigned int)conf->naccept)
		return (-1);
	tab.rows = mem;
	tab.stride = table_stride(conf);
	tab.nrows = conf->naccept;
	tab.self = self;
	__atomic_store_n(&tab.rows[self * tab.stride], lim.total,
	    __ATOMIC_RELAXED);
	for (i = 0; i < conf->nrulesets; i++)
		__atomic_store_n(&tab.rows[self * tab.stride + 1 + i],
		    lim.per_rs[i], __ATOMIC_RELAXED);
	return (0);
}

/* This process's count in column col, for the others to see. */
static void
table_publish(size_t col, unsigned int count)
{
	if (tab.rows != NULL)
		__atomic_store_n(&tab.rows[tab.self * tab.stride + col], count,
		    __ATOMIC_RELAXED);
}

/* Whether one more in column col would go over max, or mine over share. */
static int
table_full(size_t col, unsigned int mine, unsigned int share, unsigned int max)
{
	uint64_t	 sum = mine, v;
	unsigned int	 r;

	if (tab.rows == NULL)
		return (mine >= share);
	for (r = 0; r < tab.nrows; r++) {
		if (r == tab.self)
			continue;
		v = __atomic_load_n(&tab.rows[r * tab.stride + col],
		    __ATOMIC_RELAXED);
		sum += v < max ? v : max;
	}
	return (sum >= max);
}

/*
 * Admits a connection or says which limit it is over.  A NULL client
 * leaves the source for later: behind a PROXY header it is known only
 * once the header is read (limits_admit_source).
 */
const char *
limits_admit(struct limit_ref *ref, const struct ruleset *rs,
    const struct sockaddr *client)
{
	const char	*why;

	if (table_full(0, lim.total, lim.maxconn, lim.conf->maxconn))
		return ("maxconn");
	if (rs->maxconn > 0 && table_full(1 + rs->id, lim.per_rs[rs->id],
	    lim.max_rs[rs->id], rs->maxconn))
		return ("listener maxconn");
	ref->rs = rs->id;
	ref->src = NULL;
	if (client != NULL && (why = limits_admit_source(ref, rs,
	    client)) != NULL)
		return (why);
	lim.total++;
	lim.per_rs[rs->id]++;
	table_publish(0, lim.total);
	table_publish(1 + rs->id, lim.per_rs[rs->id]);
	return (NULL);
}

static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Once a second, forget the addresses that have drained. */
static void
rate_sweep(int64_t now)
{
	struct rate	*r, *next;

	if (now - lim.swept < 1000)
		return;
	lim.swept = now;
	RB_FOREACH_SAFE(r, rates, &lim.rates, next)
		if (now - r->last >= r->window) {
			RB_REMOVE(rates, &lim.rates, r);
			free(r);
			lim.nrates--;
		}
}

/*
 * Every attempt counts, those refused too: a client that keeps trying
 * at the same pace stays refused until it slows down.
 */
static const char *
rate_admit(const struct ruleset *rs, const uint8_t *key)
{
	struct rate	 find, *r;
	int64_t		 now = mono_ms(), elapsed;

	if (rs->rate_conns <= 0)
		return (NULL);
	rate_sweep(now);
	memcpy(find.key, key, sizeof(find.key));
	find.rs = rs->id;
	if ((r = RB_FIND(rates, &lim.rates, &find)) == NULL) {
		if (lim.nrates >= RATE_MAX ||
		    (r = calloc(1, sizeof(*r))) == NULL)
			return (NULL);
		memcpy(r->key, key, sizeof(r->key));
		r->rs = rs->id;
		r->window = rs->rate_ms;
		r->last = now;
		RB_INSERT(rates, &lim.rates, r);
		lim.nrates++;
	}
	elapsed = now - r->last;
	if (elapsed >= r->window)
		r->level = 0;
	else
		r->level -= r->level * elapsed / r->window;
	r->last = now;
	r->level += RATE_ONE;
	if (r->level > (uint64_t)rs->rate_conns * RATE_ONE)
		return ("maxconn rate");
	return (NULL);
}

const char *
limits_admit_source(struct limit_ref *ref, const struct ruleset *rs,
    const struct sockaddr *client)
{
	struct source	 find, *s;
	const char	*why;

	source_key(client, find.key);
	if ((why = rate_admit(rs, find.key)) != NULL)
		return (why);
	if (rs->maxconn_source <= 0)
		return (NULL);
	if ((s = RB_FIND(sources, &lim.sources, &find)) == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return ("memory");
		memcpy(s->key, find.key, sizeof(s->key));
		RB_INSERT(sources, &lim.sources, s);
	}
	if (s->count >= (unsigned int)rs->maxconn_source)
		return ("maxconn per source");
	s->count++;
	ref->src = s;
	return (NULL);
}

void
limits_release(struct limit_ref *ref)
{
	lim.total--;
	lim.per_rs[ref->rs]--;
	table_publish(0, lim.total);
	table_publish(1 + ref->rs, lim.per_rs[ref->rs]);
	if (ref->src != NULL && --ref->src->count == 0) {
		RB_REMOVE(sources, &lim.sources, ref->src);
		free(ref->src);
	}
	ref->src = NULL;
}

/* The connection went to a worker, which will say when it ends. */
void
limits_handed(uint64_t id, unsigned int slot, const struct limit_ref *ref)
{
	struct held	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		/* Unknown when it ends: release the share now instead. */
		limits_release((struct limit_ref *)ref);
		return;
	}
	h->id = id;
	h->slot = slot;
	h->rs = ref->rs;
	h->src = ref->src;
	RB_INSERT(helds, &lim.helds, h);
}

static void
held_release(struct held *h)
{
	struct limit_ref	 ref;

	RB_REMOVE(helds, &lim.helds, h);
	ref.rs = h->rs;
	ref.src = h->src;
	limits_release(&ref);
	free(h);
}

/* A worker can end only what it was given, not another worker's. */
void
limits_ended(uint64_t id, unsigned int slot)
{
	struct held		 find, *h;

	find.id = id;
	if ((h = RB_FIND(helds, &lim.helds, &find)) == NULL ||
	    h->slot != slot)
		return;
	held_release(h);
}

/*
 * The worker of a slot is gone, and with it every connection it held:
 * nobody is left to say that they ended.
 */
unsigned int
limits_slot_gone(unsigned int slot)
{
	struct held	*h, *next;
	unsigned int	 n = 0;

	RB_FOREACH_SAFE(h, helds, &lim.helds, next)
		if (h->slot == slot) {
			held_release(h);
			n++;
		}
	return (n);
}
