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

/*
 * libFuzzer target for the SSH, HTTP and OpenVPN probes and for the
 * classifier over a ruleset with a rule of every kind.  Besides memory
 * errors, it aborts when a probe changes its mind as bytes arrive in
 * any other way than deciding, when a host is not a lower-case name
 * that stands in the request as it is, or when the classifier waits
 * although nothing more will come, or picks a rule that did not match.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "classify.h"
#include "log.h"
#include "msg.h"
#include "probe.h"
#include "sniproxyd.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* One rule of each condition, with and without sources. */
static const char rules[] =
    "table <t> { 127.0.0.1 port 1 }\n"
    "table <trusted> { 192.0.2.9 port 1, 2001:db8::9 port 1 }\n"
    "listen on 127.0.0.1 port 8443 {\n"
    "match from <trusted> forward to <t>\n"
    "match ssh forward to <t>\n"
    "match tls alpn \"acme-tls/1\" forward to <t>\n"
    "match tls sni \"curl.example.com\" alpn { \"h2\" } forward to <t>\n"
    "match tls sni \"*.example.com\" forward to <t>\n"
    "match http host { \"www.example.com\", \"*.web\" } forward to <t>\n"
    "match http forward to <t>\n"
    "match openvpn forward to <t>\n"
    "match payload \"8=FIX\" forward to <t>\n"
    "match payload offset 2 hex \"ca fe\" forward to <t>\n"
    "match payload regex \"^(HELO|EHLO) \" forward to <t>\n"
    "match from { 198.51.100.0/24, 2001:db8:1::/48 } tls forward to <t>\n"
    "match from 198.51.100.0/24 invalid forward to <t>\n"
    "default forward to <t>\n"
    "}\n";

static const char *const clients[] = {
	"127.0.0.1", "198.51.100.77", "2001:db8:1::1"
};

static struct config		*conf;
static struct sockaddr_storage	 client[sizeof(clients) / sizeof(clients[0])];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp;
	char		 path[1024];
	size_t		 i;
	int		 fd;

	(void)argc;
	(void)argv;
	log_init(1, 0);
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(path, sizeof(path), "%s/fuzz_probe.XXXXXX", tmp);
	if ((fd = mkstemp(path)) == -1)
		abort();
	if (write(fd, rules, sizeof(rules) - 1) != (ssize_t)sizeof(rules) - 1)
		abort();
	close(fd);
	conf = parse_config(path);
	unlink(path);
	if (conf == NULL)
		abort();
	for (i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		struct sockaddr_in	*sin = (struct sockaddr_in *)&client[i];
		struct sockaddr_in6	*sin6 =
		    (struct sockaddr_in6 *)&client[i];

		if (inet_pton(AF_INET, clients[i], &sin->sin_addr) == 1)
			sin->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, clients[i], &sin6->sin6_addr) == 1)
			sin6->sin6_family = AF_INET6;
		else
			abort();
	}
	return (0);
}

/* A copy of exactly len bytes, so that a read past it is seen. */
static uint8_t *
dup_bytes(const uint8_t *data, size_t len)
{
	uint8_t	*buf;

	if ((buf = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(buf, data, len);
	return (buf);
}

/*
 * SSH and HTTP decide on the start of the stream: what a prefix
 * decided, all of it decides the same, and a verdict other than "no"
 * held for every prefix.
 */
static void
check_prefix(enum probe all, enum probe part)
{
	if (all != PROBE_NO && part == PROBE_NO)
		abort();
	if (part == PROBE_YES && all != PROBE_YES)
		abort();
	if (part == PROBE_INVALID && all != PROBE_INVALID)
		abort();
}

/* Byte that may follow a host where the request names it. */
static int
host_end(const uint8_t *p, const uint8_t *end)
{
	return (p == end || (*p != '\0' && strchr(":]/? \t\r\n", *p) != NULL));
}

/*
 * The host is as the request has it, up to case and one trailing dot,
 * stops at its end, and is in the form of name_canon().
 */
static void
check_host(const char *host, size_t hostsz, const uint8_t *buf, size_t len)
{
	const uint8_t	*p, *end = buf + len;
	size_t		 n, i;

	n = strnlen(host, hostsz);
	if (n == hostsz)
		abort();
	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)host[i]) ||
		    isdigit((unsigned char)host[i]) ||
		    strchr("-._:", host[i]) != NULL))
			abort();
	if (host[0] == '.' || host[n - 1] == '.' || strstr(host, "..") != NULL)
		abort();
	for (p = buf; p + n <= end; p++)
		if (strncasecmp((const char *)p, host, n) == 0 &&
		    (host_end(p + n, end) ||
		    (p[n] == '.' && host_end(p + n + 1, end))))
			return;
	abort();
}

static void
check_http(const uint8_t *data, size_t size)
{
	char		*host, *phost, small[8];
	uint8_t		*buf;
	enum probe	 all, part;

	if ((host = malloc(HTTP_HOST_MAX + 1)) == NULL ||
	    (phost = malloc(HTTP_HOST_MAX + 1)) == NULL)
		abort();
	buf = dup_bytes(data, size);
	all = probe_http(buf, size, host, HTTP_HOST_MAX + 1);
	if (all == PROBE_YES)
		check_host(host, HTTP_HOST_MAX + 1, buf, size);
	/* Little room: the host, if any, still fits and is whole. */
	if (probe_http(buf, size, small, sizeof(small)) == PROBE_YES)
		check_host(small, sizeof(small), buf, size);
	if (size > 0) {
		part = probe_http(buf, size - 1, phost, HTTP_HOST_MAX + 1);
		check_prefix(all, part);
		if (part == PROBE_YES && strcmp(phost, host) != 0)
			abort();
	}
	free(buf);
	free(phost);
	free(host);
}

static void
check_probes(const uint8_t *data, size_t size)
{
	uint8_t		*buf;
	enum probe	 all, part;

	buf = dup_bytes(data, size);
	all = probe_ssh(buf, size);
	if (size > 0)
		check_prefix(all, probe_ssh(buf, size - 1));

	/*
	 * An OpenVPN client sends one packet and waits: only the exact
	 * length is a yes, and every prefix of it still waits.
	 */
	all = probe_openvpn(buf, size);
	if (size > 0) {
		part = probe_openvpn(buf, size - 1);
		if (all != PROBE_NO && part != PROBE_MORE)
			abort();
	}
	if (all == PROBE_YES && size != ((size_t)buf[0] << 8 | buf[1]) + 2)
		abort();
	free(buf);
	check_http(data, size);
}

/* The rule taken must say yes to the bytes on its own. */
static void
check_rule(const struct rule *r, const uint8_t *buf, size_t len)
{
	char			 host[HTTP_HOST_MAX + 1];
	struct tls_hello	 h;

	switch (r->cond) {
	case COND_TLS:
		if (hello_parse(buf, len, &h) != HELLO_OK)
			abort();
		break;
	case COND_SSH:
		if (probe_ssh(buf, len) != PROBE_YES)
			abort();
		break;
	case COND_HTTP:
		if (probe_http(buf, len, host, sizeof(host)) != PROBE_YES)
			abort();
		break;
	case COND_OPENVPN:
		if (probe_openvpn(buf, len) != PROBE_YES)
			abort();
		break;
	default:
		break;
	}
}

static void
check_classify(const uint8_t *data, size_t size)
{
	const struct ruleset	*rs = TAILQ_FIRST(&conf->rulesets);
	const struct rule	*r;
	struct verdict		 v;
	uint8_t			*buf;
	size_t			 i, len;
	int			 final, found;

	/* The accept process never peeks at more. */
	len = size < HELLO_MAXBYTES ? size : HELLO_MAXBYTES;
	buf = dup_bytes(data, len);
	for (i = 0; i < sizeof(client) / sizeof(client[0]); i++) {
		for (final = 0; final <= 1; final++) {
			classify(rs, (struct sockaddr *)&client[i], buf, len,
			    final, &v);
			if (v.more) {
				if (final)
					abort();
				continue;
			}
			/*
			 * An invalid hello is closed or taken by "match
			 * invalid", never by another rule or the default.
			 */
			if (v.class == CLASS_INVALID) {
				if (v.rule != NULL &&
				    v.rule->cond != COND_INVALID)
					abort();
				if (v.rule == NULL)
					continue;
			}
			if (v.rule == NULL || v.class < CLASS_UNKNOWN ||
			    v.class > CLASS_INVALID ||
			    strnlen(v.name, sizeof(v.name)) == sizeof(v.name) ||
			    strnlen(v.alpn, sizeof(v.alpn)) == sizeof(v.alpn))
				abort();
			found = v.rule == rs->def;
			TAILQ_FOREACH(r, &rs->rules, entry)
				if (r == v.rule)
					found = 1;
			if (!found)
				abort();
			check_rule(v.rule, buf, len);
		}
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_probes(data, size);
	check_classify(data, size);
	return (0);
}
