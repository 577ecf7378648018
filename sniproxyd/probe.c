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

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "hello.h"
#include "probe.h"

/*
 * Compares what has arrived with the start of a constant: a mismatch is
 * final, a match of fewer bytes than the constant needs more.
 */
static enum probe
probe_prefix(const uint8_t *buf, size_t len, const char *want)
{
	size_t	 wlen = strlen(want), n = len < wlen ? len : wlen;

	if (memcmp(buf, want, n) != 0)
		return (PROBE_NO);
	return (n == wlen ? PROBE_YES : PROBE_MORE);
}

/* RFC 4253 4.2, with the 1.99 of servers that also speak version 1. */
enum probe
probe_ssh(const uint8_t *buf, size_t len)
{
	enum probe	 a, b;

	a = probe_prefix(buf, len, "SSH-2.0-");
	b = probe_prefix(buf, len, "SSH-1.99-");
	if (a == PROBE_YES || b == PROBE_YES)
		return (PROBE_YES);
	if (a == PROBE_MORE || b == PROBE_MORE)
		return (PROBE_MORE);
	return (PROBE_NO);
}

/*
 * OpenVPN over TCP: a 16-bit length, then the opcode in the top five
 * bits of the first byte and the key id, 0 on a first packet, in the
 * low three.  A client opens with P_CONTROL_HARD_RESET_CLIENT_V2 (7) or
 * _V3 (10), and sends nothing more until the server answers, so the
 * whole packet is there to measure against its length.  The smallest
 * is opcode, session id, an empty ack array and a packet id.
 */
#define OVPN_MINLEN	(1 + 8 + 1 + 4)
#define OVPN_MAXLEN	2048

enum probe
probe_openvpn(const uint8_t *buf, size_t len)
{
	size_t	 plen;
	int	 op;

	if (len < 2)
		return (len == 1 && buf[0] > (OVPN_MAXLEN >> 8) ? PROBE_NO :
		    PROBE_MORE);
	plen = (size_t)buf[0] << 8 | buf[1];
	if (plen < OVPN_MINLEN || plen > OVPN_MAXLEN)
		return (PROBE_NO);
	if (len < 3)
		return (PROBE_MORE);
	op = buf[2] >> 3;
	if ((op != 7 && op != 10) || (buf[2] & 7) != 0)
		return (PROBE_NO);
	if (len < plen + 2)
		return (PROBE_MORE);
	return (len == plen + 2 ? PROBE_YES : PROBE_NO);
}

struct line {
	const uint8_t	*p;
	size_t		 len;	/* without the line end */
};

/* The next line, ended by LF or CRLF; 0 if it has not all arrived. */
static int
next_line(const uint8_t *buf, size_t len, size_t *off, struct line *l)
{
	const uint8_t	*nl;

	nl = memchr(buf + *off, '\n', len - *off);
	if (nl == NULL)
		return (0);
	l->p = buf + *off;
	l->len = nl - l->p;
	if (l->len > 0 && l->p[l->len - 1] == '\r')
		l->len--;
	*off = nl - buf + 1;
	return (1);
}

/*
 * Methods are tokens, but every method in use is upper-case letters
 * with the odd '-' or '_': holding to that tells HTTP from other
 * protocols on the first bytes.
 */
#define METHOD_MAX	31

static int
is_methodchar(int c)
{
	return ((c >= 'A' && c <= 'Z') || c == '-' || c == '_');
}

/*
 * Keeps the host of an authority (host[:port], [v6]:port) in the form
 * of name_canon(); returns 0 for anything that cannot be a host.
 */
static int
take_host(const uint8_t *p, size_t len, char *host, size_t hostsz)
{
	size_t	 i, end = len;

	if (len > 0 && p[0] == '[') {
		const uint8_t *rb = memchr(p, ']', len);

		if (rb == NULL)
			return (0);
		p++;
		end = rb - p;
	} else {
		for (i = 0; i < len; i++)
			if (p[i] == ':') {
				end = i;
				break;
			}
	}
	host[0] = '\0';
	if (end == 0 || end >= hostsz)
		return (0);
	for (i = 0; i < end; i++) {
		/* strchr() would find the NUL that ends its string. */
		if (!isalnum(p[i]) && (p[i] == '\0' ||
		    strchr("-._:", p[i]) == NULL)) {
			host[0] = '\0';
			return (0);
		}
		host[i] = p[i];
	}
	host[end] = '\0';
	if (name_canon(host) == -1) {
		host[0] = '\0';
		return (0);
	}
	return (1);
}

/*
 * The authority of an absolute-form target, which wins over Host: 1
 * with the host, 0 for an origin-form target, -1 for an absolute one
 * whose host is not a name.
 */
static int
target_host(const uint8_t *t, size_t len, char *host, size_t hostsz)
{
	size_t	 skip, end, at;

	if (len > 7 && strncasecmp((const char *)t, "http://", 7) == 0)
		skip = 7;
	else if (len > 8 && strncasecmp((const char *)t, "https://", 8) == 0)
		skip = 8;
	else
		return (0);
	for (end = skip; end < len && t[end] != '/' && t[end] != '?'; end++)
		;
	/* user@host: the host is after the last '@'. */
	for (at = end; at > skip; at--)
		if (t[at - 1] == '@') {
			skip = at;
			break;
		}
	return (take_host(t + skip, end - skip, host, hostsz) ? 1 : -1);
}

/*
 * method SP request-target SP HTTP/1.x: checked as far as it has
 * arrived, so that a line that cannot be HTTP fails at once.
 */
static enum probe
request_line(const uint8_t *buf, size_t len, struct line *target)
{
	size_t	 i = 0, t;

	while (i < len && is_methodchar(buf[i]))
		if (++i > METHOD_MAX)
			return (PROBE_NO);
	if (i == len)
		return (PROBE_MORE);
	if (i == 0 || buf[i] != ' ')
		return (PROBE_NO);
	t = ++i;
	while (i < len && buf[i] > ' ' && buf[i] < 0x7f)
		i++;
	if (i == len)
		return (PROBE_MORE);
	if (i == t || buf[i] != ' ')
		return (PROBE_NO);
	target->p = buf + t;
	target->len = i - t;
	switch (probe_prefix(buf + i + 1, len - i - 1, "HTTP/1.")) {
	case PROBE_NO:
		return (PROBE_NO);
	case PROBE_MORE:
		return (PROBE_MORE);
	default:
		break;
	}
	i += 1 + 7;
	if (i == len)
		return (PROBE_MORE);
	if (!isdigit(buf[i]))
		return (PROBE_NO);
	if (++i == len || (buf[i] == '\r' && i + 1 == len))
		return (PROBE_MORE);
	if (buf[i] == '\n' || (buf[i] == '\r' && buf[i + 1] == '\n'))
		return (PROBE_YES);
	return (PROBE_NO);
}

/*
 * An HTTP/1 request: decided once the host is known, from the target
 * or the Host header, or once the header block has ended without one
 * (host then empty).  A host that is there but is no name is invalid:
 * the backend might read a name into it that a rule was meant to stop.
 */
enum probe
probe_http(const uint8_t *buf, size_t len, char *host, size_t hostsz)
{
	struct line	 target, l;
	enum probe	 p;
	size_t		 off = 0, colon;

	host[0] = '\0';
	if ((p = request_line(buf, len, &target)) != PROBE_YES)
		return (p);
	switch (target_host(target.p, target.len, host, hostsz)) {
	case 1:
		return (PROBE_YES);
	case -1:
		return (PROBE_INVALID);
	}
	next_line(buf, len, &off, &l);
	while (next_line(buf, len, &off, &l)) {
		if (l.len == 0)
			return (PROBE_YES);
		if (l.len < 5 || strncasecmp((const char *)l.p, "host:", 5))
			continue;
		for (colon = 5; colon < l.len &&
		    (l.p[colon] == ' ' || l.p[colon] == '\t'); colon++)
			;
		while (l.len > colon &&
		    (l.p[l.len - 1] == ' ' || l.p[l.len - 1] == '\t'))
			l.len--;
		if (!take_host(l.p + colon, l.len - colon, host, hostsz))
			return (PROBE_INVALID);
		return (PROBE_YES);
	}
	return (PROBE_MORE);
}
