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

#ifndef PROBE_H
#define PROBE_H

#include <stddef.h>
#include <stdint.h>

/*
 * What the first bytes say about one protocol.  PROBE_MORE means the
 * bytes so far are a proper prefix of something that could still match;
 * PROBE_INVALID that they are that protocol but malformed, so that no
 * rule can say what they are for.
 */
enum probe {
	PROBE_NO,
	PROBE_YES,
	PROBE_MORE,
	PROBE_INVALID
};

#define HTTP_HOST_MAX	255

enum probe	probe_ssh(const uint8_t *, size_t);
enum probe	probe_http(const uint8_t *, size_t, char *, size_t);
enum probe	probe_openvpn(const uint8_t *, size_t);

#endif /* PROBE_H */
