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

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "log.h"
#include "msg.h"
#include "quic.h"
#include "sniproxyd.h"
#include "connlog.h"

static const char *
class_str(const struct msg_conn *mc, const char *session, char *buf,
    size_t len)
{
	const struct protocol	*p = protocol_class(mc->class);

	strlcpy(buf, class_name(mc->class), len);
	if (p == NULL)
		return (buf);
	if (p->flags & PROTO_QUIC) {
		if (mc->quic == QUIC_V1 || mc->quic == QUIC_V2)
			snprintf(buf, len, "%s v%d", p->name,
			    mc->quic == QUIC_V1 ? 1 : 2);
		else
			snprintf(buf, len, "%s 0x%08x", p->name, mc->quic);
	}
	if (p->namekey != NULL && mc->name[0] != '\0') {
		strlcat(buf, " ", len);
		strlcat(buf, p->namekey, len);
		strlcat(buf, "=", len);
		strlcat(buf, mc->name, len);
	}
	/* Only a hello offers protocols; no other class sets alpn. */
	if (mc->alpn[0] != '\0') {
		strlcat(buf, " alpn=", len);
		strlcat(buf, mc->alpn, len);
	}
	if ((p->flags & PROTO_SESSION) && session != NULL) {
		strlcat(buf, " ", len);
		strlcat(buf, session, len);
	}
	return (buf);
}

int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void
connlog(const struct config *conf, const struct msg_conn *mc,
    const char *backend, uint64_t up, uint64_t down, const char *reason)
{
	connlog_session(conf, mc, NULL, backend, up, down, reason);
}

/*
 * The one line a finished connection leaves.  Its fields keep their
 * order, the client address first, so that log readers can rely on it;
 * what a terminated TLS session agreed (session, "version=V cipher=C")
 * follows the hello's fields, as more of them.
 */
void
connlog_session(const struct config *conf, const struct msg_conn *mc,
    const char *session, const char *backend, uint64_t up, uint64_t down,
    const char *reason)
{
	char			 client[ADDRSTR_LEN];
	char			 cls[HELLO_SNI_MAX + HELLO_ALPN_LEN + 160];
	char			 rule[1100];
	const struct listener	*l;
	const struct rule	*r = NULL;
	const char		*lname = "-";
	int64_t			 ms;

	if (!conf->log_connections)
		return;
	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (l->id == mc->listener) {
			lname = l->name;
			break;
		}
	if (mc->rule < conf->nrules)
		r = conf->rules[mc->rule];
	if (r != NULL)
		snprintf(rule, sizeof(rule), "%s:%d", r->file, r->line);
	else
		strlcpy(rule, "none", sizeof(rule));
	ms = now_ms() - mc->start_ms;
	if (ms < 0)
		ms = 0;
	log_info("%s on %s rule %s %s to %s up %llu down %llu "
	    "time %lld.%03lld end %s",
	    addr_str((const struct sockaddr *)&mc->client, client,
	    sizeof(client)), lname, rule,
	    class_str(mc, session, cls, sizeof(cls)),
	    backend ? backend : "-", (unsigned long long)up,
	    (unsigned long long)down, (long long)(ms / 1000),
	    (long long)(ms % 1000), reason);
}
