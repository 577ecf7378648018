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
#include <sys/queue.h>

#include <string.h>

#include "hello.h"
#include "msg.h"
#include "sniproxyd.h"
#include "classify.h"

static int
match_sni(const struct rule *r, const struct tls_hello *h)
{
	size_t	 i;

	if (r->nsni == 0)
		return (1);
	if (!h->has_sni)
		return (0);
	for (i = 0; i < r->nsni; i++)
		if (pattern_match(r->sni[i], h->sni))
			return (1);
	return (0);
}

/*
 * Rules are tried in order and the first that matches wins, but a rule
 * that cannot tell yet (a partial hello) holds back every rule after
 * it: deciding for a later rule now could contradict the earlier one
 * once the bytes arrive.  With final set no more bytes will come, and
 * an undecided rule simply fails.
 */
void
classify(const struct ruleset *rs, const uint8_t *buf, size_t len,
    int final, struct verdict *v)
{
	const struct rule	*r;
	enum hello_status	 hs;
	struct tls_hello	 h;

	memset(v, 0, sizeof(*v));
	v->class = CLASS_UNKNOWN;
	hs = len ? hello_parse(buf, len, &h) : HELLO_NEED_MORE;
	if (hs == HELLO_OK) {
		v->class = CLASS_TLS;
		if (h.has_sni)
			strlcpy(v->sni, h.sni, sizeof(v->sni));
	}
	TAILQ_FOREACH(r, &rs->rules, entry) {
		switch (r->cond) {
		case COND_TLS:
			if (hs == HELLO_NEED_MORE && !final) {
				v->more = 1;
				return;
			}
			if (hs == HELLO_OK && match_sni(r, &h)) {
				v->rule = r;
				return;
			}
			break;
		case COND_ANY:
			v->rule = r;
			return;
		}
	}
	v->rule = rs->def;
}
