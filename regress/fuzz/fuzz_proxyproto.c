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
 * libFuzzer target for the PROXY protocol parser.  Besides memory
 * errors, it aborts when an accepted header breaks what callers rely
 * on: it lies within the input, its shorter prefixes are still
 * arriving, no address in it is IPv4-mapped IPv6, and what it says
 * survives being sent on again, as v2 and as v1.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
same_sa(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in	*b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6	*a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6	*b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return (0);
	if (a->ss_family == AF_INET)
		return (a4->sin_port == b4->sin_port &&
		    memcmp(&a4->sin_addr, &b4->sin_addr,
		    sizeof(a4->sin_addr)) == 0);
	if (a->ss_family == AF_INET6)
		return (a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0);
	return (0);
}

static int
is_mapped(const struct sockaddr_storage *ss)
{
	return (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(
	    &((const struct sockaddr_in6 *)ss)->sin6_addr));
}

/*
 * A mapped address beside a genuine IPv6 one leaves the two of
 * different families, which the formats cannot carry: sent on as LOCAL.
 */
static void
check_again(const uint8_t *buf, size_t len, const struct proxy_info *pi,
    int with_tlvs)
{
	struct proxy_info	again;
	int			mixed;

	mixed = pi->src.ss_family != pi->dst.ss_family;
	if (proxy_parse(buf, len, &again) != PROXY_OK ||
	    again.hdrlen != len || again.local != mixed)
		abort();
	if (!mixed && (!same_sa(&again.src, &pi->src) ||
	    !same_sa(&again.dst, &pi->dst)))
		abort();
	if (with_tlvs && (strcmp(again.authority, pi->authority) != 0 ||
	    strcmp(again.alpn, pi->alpn) != 0))
		abort();
}

static void
round_trip(const struct proxy_info *pi)
{
	static const struct proxy_tlv_ssl	 ssl = { 1, 0, "TLSv1.3",
						    "TLS_AES_128_GCM_SHA256" };
	uint8_t					 v2[PROXY_HDR_MAXLEN];
	char					 v1[PROXY_V1_MAXLEN + 1];
	ssize_t					 n;

	n = proxy_build_v2((const struct sockaddr *)&pi->src,
	    (const struct sockaddr *)&pi->dst, pi->authority, pi->alpn, &ssl,
	    v2, sizeof(v2));
	if (n < 0)
		abort();
	check_again(v2, (size_t)n, pi, 1);

	n = proxy_build_v1((const struct sockaddr *)&pi->src,
	    (const struct sockaddr *)&pi->dst, v1, sizeof(v1));
	if (n < 0)
		abort();
	check_again((const uint8_t *)v1, (size_t)n, pi, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info	pi, prefix;
	enum proxy_status	st;

	st = proxy_parse(data, size, &pi);
	if (st == PROXY_NEED_MORE && size > 0 &&
	    proxy_parse(data, size - 1, &prefix) != PROXY_NEED_MORE)
		abort();
	if (st != PROXY_OK)
		return (0);
	if (pi.hdrlen == 0 || pi.hdrlen > size)
		abort();
	if (proxy_parse(data, pi.hdrlen - 1, &prefix) != PROXY_NEED_MORE)
		abort();
	if (proxy_parse(data, pi.hdrlen, &prefix) != PROXY_OK ||
	    prefix.hdrlen != pi.hdrlen)
		abort();
	if (!pi.local && (is_mapped(&pi.src) || is_mapped(&pi.dst)))
		abort();
	if (!pi.local)
		round_trip(&pi);
	return (0);
}
