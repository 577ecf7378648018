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

#include <check.h>

#include "log.h"
#include "suites.h"
#include <stdlib.h>


int
main(void)
{
	SRunner	*sr;
	int	 failed;

	log_init(1, 0);
	sr = srunner_create(config_suite());
	srunner_add_suite(sr, classify_suite());
	srunner_add_suite(sr, hello_suite());
	srunner_add_suite(sr, probe_suite());
	srunner_add_suite(sr, proxyproto_suite());
	srunner_add_suite(sr, balance_suite());
	srunner_add_suite(sr, sandbox_suite());
	srunner_add_suite(sr, chan_suite());
	srunner_add_suite(sr, ring_suite());
	srunner_add_suite(sr, limits_suite());
	srunner_add_suite(sr, quic_suite());
	srunner_add_suite(sr, steer_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
