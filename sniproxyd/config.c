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

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tls.h>

#include "log.h"
#include "sniproxyd.h"

/* One accept process per CPU that is online, as many as are allowed. */
static int
config_ncpu(void)
{
	long	 n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return (1);
	return (n > ACCEPT_MAX ? ACCEPT_MAX : n);
}

struct config *
config_new(void)
{
	struct config	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	strlcpy(c->user, SNIPROXYD_USER, sizeof(c->user));
	strlcpy(c->chroot, SNIPROXYD_CHROOT, sizeof(c->chroot));
	strlcpy(c->control, SNIPROXYD_SOCKET, sizeof(c->control));
	c->prefork = 2;
	c->naccept = config_ncpu();
	c->maxconn = 10000;
	/*
	 * Enough for a busy NAT gateway, far too few for one address to
	 * take every place of the default maxconn.
	 */
	c->maxconn_source = 256;
	c->shutdown_ms = 10 * 1000;
	c->keycheck_ms = 10 * 1000;
	c->timeout.inspect = 5 * 1000;
	c->timeout.connect = 5 * 1000;
	c->timeout.idle = 10 * 60 * 1000;
	c->timeout.handshake = 10 * 1000;
	c->timeout.proxy = 5 * 1000;
	TAILQ_INIT(&c->tables);
	TAILQ_INIT(&c->keypairs);
	TAILQ_INIT(&c->rulesets);
	TAILQ_INIT(&c->listeners);
	return (c);
}

static void
strings_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
tlsopts_free(struct tlsopts *t)
{
	free(t->protocols);
	free(t->ciphers);
	free(t->alpn);
	free(t->ca);
	free(t->servername);
}

void
config_rule_free(struct rule *r)
{
	tlsopts_free(&r->tls);
	free(r->keypair_name);
	free(r->check.send);
	free(r->check.expect);
	free(r->check.host);
	free(r->ca);
	strings_free(r->sni, r->nsni);
	strings_free(r->alpn, r->nalpn);
	strings_free(r->host, r->nhost);
	free(r->from);
	free(r->payload.bytes);
	pcre2_code_free(r->payload.re);
	free(r);
}

void
config_free(struct config *c)
{
	struct table	*t;
	struct ruleset	*rs;
	struct rule	*r;
	struct listener	*l;
	struct keypair	*kp;

	if (c == NULL)
		return;
	while ((l = TAILQ_FIRST(&c->listeners)) != NULL) {
		TAILQ_REMOVE(&c->listeners, l, entry);
		free(l);
	}
	while ((rs = TAILQ_FIRST(&c->rulesets)) != NULL) {
		TAILQ_REMOVE(&c->rulesets, rs, entry);
		while ((r = TAILQ_FIRST(&rs->rules)) != NULL) {
			TAILQ_REMOVE(&rs->rules, r, entry);
			config_rule_free(r);
		}
		if (rs->def != NULL)
			config_rule_free(rs->def);
		tlsopts_free(&rs->tls);
		free(rs->proxy_from);
		free(rs);
	}
	while ((kp = TAILQ_FIRST(&c->keypairs)) != NULL) {
		TAILQ_REMOVE(&c->keypairs, kp, entry);
		keypair_free(kp);
	}
	while ((t = TAILQ_FIRST(&c->tables)) != NULL) {
		TAILQ_REMOVE(&c->tables, t, entry);
		free(t->hosts);
		free(t);
	}
	free(c->rules);
	free(c->routes);
	free(c);
}

struct table *
config_table(struct config *c, const char *name)
{
	struct table	*t;

	TAILQ_FOREACH(t, &c->tables, entry)
		if (strcmp(t->name, name) == 0)
			return (t);
	return (NULL);
}

static void
inherit(int64_t *v, int64_t from)
{
	if (*v == -1)
		*v = from;
}

static int
inherit_str(char **v, const char *from)
{
	if (*v == NULL && from != NULL && (*v = strdup(from)) == NULL)
		return (-1);
	return (0);
}

/*
 * A TLS backend is verified against the system's CAs unless told
 * otherwise.  They are read with the configuration, so that the
 * workers, which can read no file, get them with it.
 */
#define CA_MAX	(4 * 1024 * 1024)

static int
rule_load_ca(struct rule *r)
{
	const char	*path;

	if (!r->backend_tls || r->tls.noverify == 1)
		return (0);
	path = r->tls.ca != NULL ? r->tls.ca : tls_default_ca_cert_file();
	if (bundle_file(path, CA_MAX, 0, &r->ca, &r->calen) == -1) {
		log_warn("%s:%d: CA file %s", r->file, r->line, path);
		return (-1);
	}
	return (0);
}

/*
 * TLS settings are tried on a throwaway libtls configuration now, so
 * that a bad one is an error of the file, not of a worker at run time.
 */
static int
rule_check_tls(const struct rule *r)
{
	struct tls_config	*cfg;
	uint32_t		 protocols;
	const char		*what = NULL;

	if ((cfg = tls_config_new()) == NULL)
		return (-1);
	if (r->tls.protocols != NULL && tls_config_parse_protocols(&protocols,
	    r->tls.protocols) == -1)
		what = "tls protocols";
	else if (r->tls.ciphers != NULL &&
	    tls_config_set_ciphers(cfg, r->tls.ciphers) == -1)
		what = "tls ciphers";
	else if (r->tls.alpn != NULL &&
	    tls_config_set_alpn(cfg, r->tls.alpn) == -1)
		what = "tls alpn";
	if (what != NULL)
		log_warnx("%s:%d: invalid %s", r->file, r->line, what);
	tls_config_free(cfg);
	return (what == NULL ? 0 : -1);
}

static int
config_add_rule(struct config *c, struct ruleset *rs, struct rule *r)
{
	inherit(&r->timeout.connect, rs->timeout.connect);
	inherit(&r->timeout.idle, rs->timeout.idle);
	inherit(&r->timeout.handshake, rs->timeout.handshake);
	if (r->tls.noverify == -1)
		r->tls.noverify = rs->tls.noverify == 1;
	if (inherit_str(&r->tls.protocols, rs->tls.protocols) == -1 ||
	    inherit_str(&r->tls.ciphers, rs->tls.ciphers) == -1 ||
	    inherit_str(&r->tls.alpn, rs->tls.alpn) == -1 ||
	    inherit_str(&r->tls.ca, rs->tls.ca) == -1 ||
	    inherit_str(&r->tls.servername, rs->tls.servername) == -1)
		fatal("%s", __func__);
	/* A child parses what priv has checked, and need not start libtls. */
	if (rule_load_ca(r) == -1 ||
	    (!bundle_replaying() && rule_check_tls(r) == -1))
		return (-1);
	r->id = c->nrules;
	c->rules[c->nrules++] = r;
	if (r->action == ACT_FORWARD) {
		r->route = c->nroutes;
		c->routes[c->nroutes++] = r;
	}
	return (0);
}

/* Does a rule connect from the client's address (source client)? */
int
config_transparent(const struct config *c)
{
	unsigned int	 i;

	for (i = 0; i < c->nroutes; i++)
		if (c->routes[i]->transparent)
			return (1);
	return (0);
}

/*
 * Once the whole file is read: settle inherited timeouts (global, then
 * listener, then rule) and number rules and routes, so that processes
 * can name them to each other by index.
 */
int
config_finish(struct config *c)
{
	struct ruleset	*rs;
	struct rule	*r;
	struct listener	*l;
	size_t		 n = 0;

	TAILQ_FOREACH(rs, &c->rulesets, entry) {
		TAILQ_FOREACH(r, &rs->rules, entry)
			n++;
		if (rs->def != NULL)
			n++;
	}
	if (n == 0) {
		log_warnx("no listener defined");
		return (-1);
	}
	if ((c->rules = calloc(n, sizeof(*c->rules))) == NULL ||
	    (c->routes = calloc(n, sizeof(*c->routes))) == NULL)
		fatal("%s", __func__);
	TAILQ_FOREACH(rs, &c->rulesets, entry) {
		rs->id = c->nrulesets++;
		if (rs->maxconn_source == -1)
			rs->maxconn_source = c->maxconn_source;
		if (rs->rate_conns == -1) {
			rs->rate_conns = c->rate_conns;
			rs->rate_ms = c->rate_ms;
		}
		inherit(&rs->timeout.inspect, c->timeout.inspect);
		inherit(&rs->timeout.connect, c->timeout.connect);
		inherit(&rs->timeout.idle, c->timeout.idle);
		inherit(&rs->timeout.handshake, c->timeout.handshake);
		inherit(&rs->timeout.proxy, c->timeout.proxy);
		TAILQ_FOREACH(r, &rs->rules, entry)
			if (config_add_rule(c, rs, r) == -1)
				return (-1);
		if (rs->def != NULL && config_add_rule(c, rs, rs->def) == -1)
			return (-1);
	}
	TAILQ_FOREACH(l, &c->listeners, entry)
		l->id = c->nlisteners++;
	return (0);
}

/*
 * Durations: a number of milliseconds, seconds, minutes or hours, with
 * a bare number meaning seconds.  At most a week, which is longer than
 * any sensible timeout and keeps every sum far from overflow.
 */
int
parse_duration(const char *s, int64_t *ms)
{
	const char	*errstr = NULL;
	char		 num[32];
	size_t		 n;
	int64_t		 v, mult;

	for (n = 0; isdigit((unsigned char)s[n]); n++)
		;
	if (n == 0 || n >= sizeof(num))
		return (-1);
	memcpy(num, s, n);
	num[n] = '\0';
	if (strcmp(s + n, "ms") == 0)
		mult = 1;
	else if (strcmp(s + n, "s") == 0 || s[n] == '\0')
		mult = 1000;
	else if (strcmp(s + n, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(s + n, "h") == 0)
		mult = 3600 * 1000;
	else
		return (-1);
	v = strtonum(num, 0, 7LL * 86400 * 1000 / mult, &errstr);
	if (errstr != NULL)
		return (-1);
	*ms = v * mult;
	return (0);
}

/*
 * A server name pattern is a host name, optionally with a leading "*."
 * that stands for one or more labels, and optionally fully qualified
 * with a trailing dot.
 */
int
pattern_valid(const char *p)
{
	size_t	 len;

	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	len = strlen(p);
	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || *p == '.' || p[len - 1] == '.' ||
	    strstr(p, "..") != NULL)
		return (0);
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			return (0);
	return (1);
}

/* The length of a name without its one trailing dot. */
static size_t
name_len(const char *s)
{
	size_t	 len = strlen(s);

	return (len > 0 && s[len - 1] == '.' ? len - 1 : len);
}

/*
 * Both sides compare in the form of name_canon() whatever the caller
 * passes: without regard to case or to one trailing dot.
 */
int
pattern_match(const char *pat, const char *name)
{
	size_t	 plen, nlen;

	plen = name_len(pat);
	nlen = name_len(name);
	if (strncmp(pat, "*.", 2) != 0)
		return (plen == nlen && strncasecmp(pat, name, nlen) == 0);
	pat++;		/* ".rest" must end the name, after a label */
	plen--;
	if (nlen <= plen || name[0] == '.')
		return (0);
	return (strncasecmp(name + nlen - plen, pat, plen) == 0);
}

const char *
addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char		 host[INET6_ADDRSTRLEN];
	const void	*a;
	in_port_t	 port;

	if (sa->sa_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		port = ((const struct sockaddr_in6 *)sa)->sin6_port;
	} else if (sa->sa_family == AF_INET) {
		a = &((const struct sockaddr_in *)sa)->sin_addr;
		port = ((const struct sockaddr_in *)sa)->sin_port;
	} else {
		strlcpy(buf, "-", len);
		return (buf);
	}
	if (inet_ntop(sa->sa_family, a, host, sizeof(host)) == NULL)
		strlcpy(host, "?", sizeof(host));
	snprintf(buf, len, sa->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    host, ntohs(port));
	return (buf);
}

/* Is this the address of every interface, 0.0.0.0 or ::? */
socklen_t
sockaddr_len(const struct sockaddr_storage *ss)
{
	return (ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
}

int
sockaddr_is_any(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		    htonl(INADDR_ANY));
	if (sa->sa_family == AF_INET6)
		return (IN6_IS_ADDR_UNSPECIFIED(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr));
	return (1);
}

/*
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address it
 * carries: rewritten as such, port kept, so that rules, limits, logs and
 * onward headers see one address, not two.  Returns 1 when it rewrote.
 */
int
sockaddr_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6	 sin6;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	if (ss->ss_family != AF_INET6)
		return (0);
	memcpy(&sin6, ss, sizeof(sin6));
	if (!IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
		return (0);
	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = sin6.sin6_port;
	memcpy(&sin->sin_addr, &sin6.sin6_addr.s6_addr[12],
	    sizeof(sin->sin_addr));
	return (1);
}

/* The first twelve bytes of an IPv4-mapped IPv6 address. */
static const uint8_t	v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/*
 * ADDR or ADDR/PREFIX, IPv4 or IPv6.  A mapped network is the IPv4 one
 * it stands for, as the addresses it is matched against are.
 */
int
addrmask_parse(const char *s, struct addrmask *m)
{
	char		 buf[INET6_ADDRSTRLEN + 5], *slash;
	const char	*errstr = NULL;
	int		 max;

	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return (-1);
	memset(m, 0, sizeof(*m));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, m->addr) == 1) {
		m->af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, m->addr) == 1) {
		m->af = AF_INET6;
		max = 128;
	} else
		return (-1);
	m->prefix = max;
	if (slash != NULL) {
		m->prefix = strtonum(slash, 0, max, &errstr);
		if (errstr != NULL)
			return (-1);
	}
	if (m->af == AF_INET6 && m->prefix >= 96 &&
	    memcmp(m->addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(m->addr, m->addr + 12, 4);
		memset(m->addr + 4, 0, 12);
		m->af = AF_INET;
		m->prefix -= 96;
	}
	return (0);
}

int
addrmask_match(const struct addrmask *m, const struct sockaddr *sa)
{
	const uint8_t	*a;
	int		 full, rest;

	if (sa->sa_family != m->af)
		return (0);
	if (sa->sa_family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->
		    sin_addr;
	else
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	full = m->prefix / 8;
	rest = m->prefix % 8;
	if (memcmp(a, m->addr, full) != 0)
		return (0);
	if (rest == 0)
		return (1);
	return (((a[full] ^ m->addr[full]) & (0xff << (8 - rest))) == 0);
}
