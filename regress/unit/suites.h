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

#ifndef SUITES_H
#define SUITES_H

#include <check.h>

Suite	*config_suite(void);
Suite	*classify_suite(void);
Suite	*hello_suite(void);
Suite	*probe_suite(void);
Suite	*proxyproto_suite(void);
Suite	*balance_suite(void);
Suite	*sandbox_suite(void);
Suite	*chan_suite(void);
Suite	*quic_suite(void);
Suite	*steer_suite(void);
Suite	*ring_suite(void);
Suite	*limits_suite(void);

struct config;

/* util.c: a scratch directory per test and the parser on a string. */
extern char	 unit_errs[8192];
const char	*unit_dir(void);
void		 unit_setup(void);
void		 unit_teardown(void);
const char	*unit_put_file(const char *, const char *);
struct config	*unit_parse(const char *);

#endif /* SUITES_H */
