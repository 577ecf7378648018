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
#include <sys/socket.h>

#include <string.h>

#include "hello.h"
#include "msg.h"
#include "probe.h"
#include "sniproxyd.h"
#include "classify.h"

/*
 * What the first bytes are, worked out once per look and only as far as
 * some rule asks.
 */
struct sniff {
	const uint8_t		*buf;
	size_t			 len;
	int			 tls_done;
	enum hello_status	 hs;
	struct tls_hello	 hello;
	int			 http_done;
	enum probe		 http;
	char			 host[HTTP_HOST_MAX + 1];
};

static enum hello_status
sniff_tls(struct sniff *s)
{
	if (!s->tls_done) {
		s->hs = s->len ? hello_parse(s->buf, s->len, &s->hello) :
		    HELLO_NEED_MORE;
		s->tls_done = 1;
	}
	return (s->hs);
}

static enum probe
sniff_http(struct sniff *s)
{
	if (!s->http_done) {
		s->http = probe_http(s->buf, s->len, s->host, sizeof(s->host));
		s->http_done = 1;
	}
	return (s->http);
}

static int
match_patterns(char *const *pat, size_t npat, const char *name)
{
	size_t	 i;

	if (npat == 0)
		return (1);
	if (*name == '\0')
		return (0);
	for (i = 0; i < npat; i++)
		if (pattern_match(pat[i], name))
			return (1);
	return (0);
}

/* Any protocol the client offers that the rule names. */
static int
match_alpn(const struct rule *r, const struct tls_hello *h)
{
	size_t	 i, j;

	if (r->nalpn == 0)
		return (1);
	for (i = 0; i < h->nalpn; i++)
		for (j = 0; j < r->nalpn; j++)
			if (strcmp(h->alpn[i], r->alpn[j]) == 0)
				return (1);
	return (0);
}

static int
match_from(const struct rule *r, const struct sockaddr *client)
{
	size_t	 i;

	if (r->nfrom == 0)
		return (1);
	for (i = 0; i < r->nfrom; i++)
		if (addrmask_match(&r->from[i], client))
			return (1);
	return (0);
}

/*
 * The most a regex may cost on one look: a bound on backtracking steps
 * and on nesting, so that no pattern and no input hold the accept
 * process for more than a few milliseconds, whatever else it serves.
 */
#define REGEX_MATCH_LIMIT	100000
#define REGEX_DEPTH_LIMIT	1000
#define REGEX_HEAP_LIMIT	256	/* KiB */

static enum probe
probe_regex(pcre2_code *re, const uint8_t *buf, size_t len)
{
	static pcre2_match_context	*mctx;
	static pcre2_match_data		*md;
	int				 rc;

	if (md == NULL) {
		if ((md = pcre2_match_data_create(1, NULL)) == NULL ||
		    (mctx = pcre2_match_context_create(NULL)) == NULL)
			return (PROBE_INVALID);
		pcre2_set_match_limit(mctx, REGEX_MATCH_LIMIT);
		pcre2_set_depth_limit(mctx, REGEX_DEPTH_LIMIT);
		pcre2_set_heap_limit(mctx, REGEX_HEAP_LIMIT);
	}
	rc = pcre2_match(re, buf, len, 0, 0, md, mctx);
	if (rc >= 0)
		return (PROBE_YES);
	/* Over a limit: undecided for good, which a block must not miss. */
	return (rc == PCRE2_ERROR_NOMATCH ? PROBE_NO : PROBE_INVALID);
}

/*
 * Fixed bytes at an offset are decided as soon as they differ or are
 * all there.  A regex is tried on whatever has arrived: it cannot know
 * what later bytes would do, so it waits only for the first ones.
 */
static enum probe
probe_payload(const struct payload *p, const uint8_t *buf, size_t len)
{
	size_t		 n;

	if (len <= p->offset)
		return (PROBE_MORE);
	buf += p->offset;
	len -= p->offset;
	if (p->re != NULL)
		return (probe_regex(p->re, buf, len));
	n = len < p->len ? len : p->len;
	if (memcmp(buf, p->bytes, n) != 0)
		return (PROBE_NO);
	return (n == p->len ? PROBE_YES : PROBE_MORE);
}

/*
 * A TLS handshake record from its first byte: what follows is a hello
 * or malformed, and never bytes of another protocol.
 */
static int
looks_tls(const struct sniff *s)
{
	return (s->len > 0 && s->buf[0] == 22 && (s->len < 2 ||
	    s->buf[1] == 3));
}

/*
 * A hello that was started but will never be finished (final) is as
 * good as malformed: taken for something else, its missing bytes would
 * come after the decision, unseen by the rules.
 */
static enum probe
probe_tls(struct sniff *s, const struct rule *r, int final)
{
	switch (sniff_tls(s)) {
	case HELLO_NEED_MORE:
		return (final && s->len > 0 ? PROBE_INVALID : PROBE_MORE);
	case HELLO_BAD:
		return (looks_tls(s) ? PROBE_INVALID : PROBE_NO);
	default:
		if (r == NULL)
			return (PROBE_YES);
		return (match_patterns(r->sni, r->nsni, s->hello.sni) &&
		    match_alpn(r, &s->hello) ? PROBE_YES : PROBE_NO);
	}
}

static enum probe
probe_http_rule(struct sniff *s, const struct rule *r, int final)
{
	enum probe	 p;

	p = sniff_http(s);
	/* The request line is all there: only headers are missing. */
	if (p == PROBE_MORE && final && memchr(s->buf, '\n', s->len) != NULL)
		return (PROBE_INVALID);
	if (p != PROBE_YES || r == NULL)
		return (p);
	return (match_patterns(r->host, r->nhost, s->host) ? PROBE_YES :
	    PROBE_NO);
}

static enum probe
probe_ssh_rule(struct sniff *s, const struct rule *r, int final)
{
	(void)r;
	(void)final;
	return (probe_ssh(s->buf, s->len));
}

static enum probe
probe_openvpn_rule(struct sniff *s, const struct rule *r, int final)
{
	(void)r;
	(void)final;
	return (probe_openvpn(s->buf, s->len));
}

/* The bytes are whatever the rule's pattern says; without one, nothing. */
static enum probe
probe_payload_rule(struct sniff *s, const struct rule *r, int final)
{
	(void)final;
	if (r == NULL)
		return (PROBE_NO);
	return (probe_payload(&r->payload, s->buf, s->len));
}

/*
 * No bytes are invalid in themselves: a connection is, when a probe
 * that had to read its bytes could not, and invalid() then takes it.
 */
static enum probe
probe_invalid(struct sniff *s, const struct rule *r, int final)
{
	(void)s;
	(void)r;
	(void)final;
	return (PROBE_NO);
}

/*
 * What a QUIC flow shows is the ClientHello of its Initial packets, so
 * a rule that may take one decides on that hello as it would on TCP.
 */
static enum probe
probe_quic(struct sniff *s, const struct rule *r, int final)
{
	if (r == NULL || r->cond == COND_ANY)
		return (PROBE_YES);
	return (protocol_cond(r->cond)->probe(s, r, final));
}

static void
describe_hello(const struct sniff *s, struct verdict *v)
{
	strlcpy(v->name, s->hello.sni, sizeof(v->name));
	if (s->hello.nalpn > 0)
		strlcpy(v->alpn, s->hello.alpn[0], sizeof(v->alpn));
}

static void
describe_http(const struct sniff *s, struct verdict *v)
{
	strlcpy(v->name, s->host, sizeof(v->name));
}

#define QUIC_ONLY_TLS	"this condition cannot match a QUIC flow, which " \
			"carries only TLS"

/*
 * Every protocol sniproxyd tells apart, one row each.  To add one:
 * write its probe (bytes to yes, more, no or invalid, and given a rule,
 * whether the rule's own options match), give it a class in enum
 * conn_class and a condition in enum rule_cond, a row here, its
 * condition's keyword in parse.y, and its page in sniproxyd.conf(5).
 * The log and the QUIC checks of the configuration follow the row.
 * The order matters for bytes no rule claimed: the first row whose
 * probe says yes to them names them in the log.
 */
const struct protocol protocols[] = {
	{ "tls", CLASS_TLS, COND_TLS, probe_tls, describe_hello, "sni",
	    PROTO_SESSION, NULL },
	{ "http", CLASS_HTTP, COND_HTTP, probe_http_rule, describe_http,
	    "host", 0, QUIC_ONLY_TLS },
	{ "ssh", CLASS_SSH, COND_SSH, probe_ssh_rule, NULL, NULL, 0,
	    QUIC_ONLY_TLS },
	{ "openvpn", CLASS_OPENVPN, COND_OPENVPN, probe_openvpn_rule, NULL,
	    NULL, 0, QUIC_ONLY_TLS },
	{ "payload", CLASS_PAYLOAD, COND_PAYLOAD, probe_payload_rule, NULL,
	    NULL, 0, QUIC_ONLY_TLS },
	{ "invalid", CLASS_INVALID, COND_INVALID, probe_invalid, NULL, NULL,
	    0, "match invalid cannot match a QUIC flow: an Initial that does "
	    "not decrypt or parse is dropped" },
	{ "quic", CLASS_QUIC, COND_ANY, probe_quic, describe_hello, "sni",
	    PROTO_QUIC, NULL }
};
const size_t nprotocols = sizeof(protocols) / sizeof(protocols[0]);

/* What a look ends with when no protocol could say. */
static const struct {
	enum conn_class	 class;
	const char	*name;
} outcomes[] = {
	{ CLASS_TIMEOUT, "timeout" },
	{ CLASS_EOF, "eof" },
	{ CLASS_UNKNOWN, "unknown" }
};

const struct protocol *
protocol_cond(enum rule_cond cond)
{
	size_t	 i;

	for (i = 0; i < nprotocols; i++)
		if (cond != COND_ANY && protocols[i].cond == cond)
			return (&protocols[i]);
	return (NULL);
}

const struct protocol *
protocol_class(int class)
{
	size_t	 i;

	for (i = 0; i < nprotocols; i++)
		if (protocols[i].class == (enum conn_class)class)
			return (&protocols[i]);
	return (NULL);
}

const char *
class_name(int class)
{
	const struct protocol	*p;
	size_t			 i;

	if ((p = protocol_class(class)) != NULL)
		return (p->name);
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		if (outcomes[i].class == (enum conn_class)class)
			return (outcomes[i].name);
	return ("unknown");
}

static enum probe
rule_probe(const struct rule *r, struct sniff *s, const struct sockaddr *sa,
    int final)
{
	if (!match_from(r, sa))
		return (PROBE_NO);
	if (r->cond == COND_ANY)
		return (PROBE_YES);
	return (protocol_cond(r->cond)->probe(s, r, final));
}

/* For the log: what the bytes were, whichever rule took them. */
static void
describe(struct sniff *s, const struct rule *r, struct verdict *v)
{
	const struct protocol	*p = NULL;
	size_t			 i;

	if (r != NULL && r->cond != COND_ANY)
		p = protocol_cond(r->cond);
	else
		for (i = 0; i < nprotocols && p == NULL; i++)
			if (!(protocols[i].flags & PROTO_QUIC) &&
			    protocols[i].probe(s, NULL, 0) == PROBE_YES)
				p = &protocols[i];
	if (p == NULL) {
		v->class = CLASS_UNKNOWN;
		return;
	}
	v->class = p->class;
	if (p->describe != NULL)
		p->describe(s, v);
}

/*
 * Bytes that some rule had to read and could not are decided by no rule
 * about names and never by the default: only a "match invalid" rule
 * takes them, and without one they are closed.
 */
static void
invalid(const struct ruleset *rs, const struct sockaddr *client,
    struct verdict *v)
{
	const struct rule	*r;

	TAILQ_FOREACH(r, &rs->rules, entry)
		if (r->cond == COND_INVALID && match_from(r, client)) {
			v->rule = r;
			break;
		}
	v->class = CLASS_INVALID;
}

/*
 * Rules are tried in order and the first that matches wins, but a rule
 * that cannot tell yet holds back every rule after it: deciding for a
 * later rule now could contradict the earlier one once the bytes
 * arrive.  With final set no more bytes will come, and an undecided
 * rule simply fails.
 */
void
classify(const struct ruleset *rs, const struct sockaddr *client,
    const uint8_t *buf, size_t len, int final, struct verdict *v)
{
	const struct rule	*r;
	struct sniff		 s;

	memset(v, 0, sizeof(*v));
	memset(&s, 0, sizeof(s));
	s.buf = buf;
	s.len = len;
	TAILQ_FOREACH(r, &rs->rules, entry) {
		switch (rule_probe(r, &s, client, final)) {
		case PROBE_INVALID:
			invalid(rs, client, v);
			return;
		case PROBE_YES:
			v->rule = r;
			describe(&s, r, v);
			return;
		case PROBE_MORE:
			if (!final) {
				v->more = 1;
				return;
			}
			break;
		case PROBE_NO:
			break;
		}
	}
	v->rule = rs->def;
	describe(&s, NULL, v);
}

/*
 * A QUIC flow is decided on its whole ClientHello, by the rules that
 * can take one; the others are for the listener's TCP connections.
 */
void
classify_quic(const struct ruleset *rs, const struct sockaddr *client,
    const struct tls_hello *h, struct verdict *v)
{
	const struct protocol	*quic = protocol_class(CLASS_QUIC);
	const struct rule	*r;
	struct sniff		 s;

	memset(v, 0, sizeof(*v));
	memset(&s, 0, sizeof(s));
	s.tls_done = 1;
	s.hs = HELLO_OK;
	s.hello = *h;
	v->class = quic->class;
	quic->describe(&s, v);
	TAILQ_FOREACH(r, &rs->rules, entry) {
		if (!r->quic || !match_from(r, client))
			continue;
		if (quic->probe(&s, r, 1) == PROBE_YES) {
			v->rule = r;
			return;
		}
	}
	if (rs->def != NULL && rs->def->quic)
		v->rule = rs->def;
}
