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

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "msg.h"
#include "sniproxyd.h"
#include "suites.h"

#ifndef HELLODIR
#define HELLODIR	"regress/hellos"
#endif


static struct ruleset	 rs;
static struct rule	 r_sni, r_wild, r_tls, r_def;
static char		*sni_pat[] = { "openssl.example.com" };
static char		*wild_pat[] = { "*.example.com" };
static uint8_t		 hello[HELLO_MAXBYTES];
static size_t		 hellolen;

static void
load(const char *name)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", HELLODIR, name);
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	hellolen = fread(hello, 1, sizeof(hello), f);
	fclose(f);
	ck_assert_uint_gt(hellolen, 0);
}

static void
rule_init(struct rule *r, unsigned int id, char **pat, size_t npat)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->cond = COND_TLS;
	r->sni = pat;
	r->nsni = npat;
	r->action = ACT_FORWARD;
}

static void
setup(void)
{
	memset(&rs, 0, sizeof(rs));
	TAILQ_INIT(&rs.rules);
	rule_init(&r_sni, 0, sni_pat, 1);
	rule_init(&r_wild, 1, wild_pat, 1);
	rule_init(&r_tls, 2, NULL, 0);
	rule_init(&r_def, 3, NULL, 0);
	r_def.cond = COND_ANY;
	TAILQ_INSERT_TAIL(&rs.rules, &r_sni, entry);
	TAILQ_INSERT_TAIL(&rs.rules, &r_wild, entry);
	rs.def = &r_def;
}

START_TEST(test_first_match)
{
	struct verdict	 v;

	load("openssl.bin");
	classify(&rs, hello, hellolen, 0, &v);
	ck_assert_int_eq(v.more, 0);
	ck_assert_ptr_eq(v.rule, &r_sni);
	ck_assert_int_eq(v.class, CLASS_TLS);
	ck_assert_str_eq(v.sni, "openssl.example.com");

	/* The wildcard matches too, but comes second. */
	TAILQ_REMOVE(&rs.rules, &r_sni, entry);
	classify(&rs, hello, hellolen, 0, &v);
	ck_assert_ptr_eq(v.rule, &r_wild);
}
END_TEST

START_TEST(test_no_match_default)
{
	struct verdict	 v;

	load("gnutls.bin");
	TAILQ_REMOVE(&rs.rules, &r_wild, entry);
	classify(&rs, hello, hellolen, 0, &v);
	ck_assert_ptr_eq(v.rule, &r_def);
	ck_assert_int_eq(v.class, CLASS_TLS);
	ck_assert_str_eq(v.sni, "gnutls.example.com");
	rs.def = NULL;
	classify(&rs, hello, hellolen, 0, &v);
	ck_assert_ptr_null(v.rule);
	ck_assert_int_eq(v.more, 0);
}
END_TEST

START_TEST(test_no_sni)
{
	struct verdict	 v;

	load("openssl-nosni.bin");
	TAILQ_INSERT_TAIL(&rs.rules, &r_tls, entry);
	classify(&rs, hello, hellolen, 0, &v);
	ck_assert_ptr_eq(v.rule, &r_tls);
	ck_assert_str_eq(v.sni, "");
}
END_TEST

START_TEST(test_partial_waits)
{
	struct verdict	 v;
	size_t		 n;

	load("chromium.bin");
	for (n = 1; n < hellolen; n++) {
		classify(&rs, hello, n, 0, &v);
		ck_assert_msg(v.more == 1, "decided at %zu", n);
		/* Nothing more will come: the undecided rules fail. */
		classify(&rs, hello, n, 1, &v);
		ck_assert_int_eq(v.more, 0);
		ck_assert_ptr_eq(v.rule, &r_def);
		ck_assert_int_eq(v.class, CLASS_UNKNOWN);
	}
	classify(&rs, hello, hellolen, 0, &v);
	ck_assert_ptr_eq(v.rule, &r_wild);
}
END_TEST

START_TEST(test_not_tls)
{
	static const char	 ssh[] = "SSH-2.0-OpenSSH_9.2p1\r\n";
	struct verdict		 v;

	classify(&rs, (const uint8_t *)ssh, sizeof(ssh) - 1, 0, &v);
	ck_assert_int_eq(v.more, 0);
	ck_assert_ptr_eq(v.rule, &r_def);
	ck_assert_int_eq(v.class, CLASS_UNKNOWN);
}
END_TEST

START_TEST(test_nothing_yet)
{
	struct verdict	 v;

	classify(&rs, hello, 0, 0, &v);
	ck_assert_int_eq(v.more, 1);
	classify(&rs, hello, 0, 1, &v);
	ck_assert_ptr_eq(v.rule, &r_def);
}
END_TEST

Suite *
classify_suite(void)
{
	Suite	*s = suite_create("classify");
	TCase	*tc = tcase_create("rules");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_first_match);
	tcase_add_test(tc, test_no_match_default);
	tcase_add_test(tc, test_no_sni);
	tcase_add_test(tc, test_partial_waits);
	tcase_add_test(tc, test_not_tls);
	tcase_add_test(tc, test_nothing_yet);
	suite_add_tcase(s, tc);
	return (s);
}
