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

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <tls.h>

#include "sniproxyd.h"

/*
 * The libraries are named as they are at run time where they say so: a
 * report of a bug is about the libraries that were loaded, which an
 * upgrade may have changed since the build.  libtls has no such call,
 * so its API version is the one built against.
 */
void
version_print(void)
{
	printf("sniproxyd %s\n", SNIPROXYD_VERSION);
	printf("libevent %s\n", event_get_version());
	printf("libtls API %d\n", TLS_API);
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	exit(0);
}
