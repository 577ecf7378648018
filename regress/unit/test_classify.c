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

#include <netinet/in.h>
#include <arpa/inet.h>

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
static struct sockaddr_in	 client4;
static const struct sockaddr	*client = (struct sockaddr *)&client4;
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
	client4.sin_family = AF_INET;
	client4.sin_addr.s_addr = htonl(0x7f000001);
}

START_TEST(test_first_match)
{
	struct verdict	 v;

	load("openssl.bin");
	classify(&rs, client, hello, hellolen, 0, &v);
	ck_assert_int_eq(v.more, 0);
	ck_assert_ptr_eq(v.rule, &r_sni);
	ck_assert_int_eq(v.class, CLASS_TLS);
	ck_assert_str_eq(v.name, "openssl.example.com");

	/* The wildcard matches too, but comes second. */
	TAILQ_REMOVE(&rs.rules, &r_sni, entry);
	classify(&rs, client, hello, hellolen, 0, &v);
	ck_assert_ptr_eq(v.rule, &r_wild);
}
END_TEST

START_TEST(test_no_match_default)
{
	struct verdict	 v;

	load("gnutls.bin");
	TAILQ_REMOVE(&rs.rules, &r_wild, entry);
	classify(&rs, client, hello, hellolen, 0, &v);
	ck_assert_ptr_eq(v.rule, &r_def);
	ck_assert_int_eq(v.class, CLASS_TLS);
	ck_assert_str_eq(v.name, "gnutls.example.com");
	rs.def = NULL;
	classify(&rs, client, hello, hellolen, 0, &v);
	ck_assert_ptr_null(v.rule);
	ck_assert_int_eq(v.more, 0);
}
END_TEST

START_TEST(test_no_sni)
{
	struct verdict	 v;

	load("openssl-nosni.bin");
	TAILQ_INSERT_TAIL(&rs.rules, &r_tls, entry);
	classify(&rs, client, hello, hellolen, 0, &v);
	ck_assert_ptr_eq(v.rule, &r_tls);
	ck_assert_str_eq(v.name, "");
}
END_TEST

START_TEST(test_partial_waits)
{
	struct verdict	 v;
	size_t		 n;

	load("chromium.bin");
	for (n = 1; n < hellolen; n++) {
		classify(&rs, client, hello, n, 0, &v);
		ck_assert_msg(v.more == 1, "decided at %zu", n);
		/*
		 * Nothing more will come: a hello cut short is invalid,
		 * never the default's.
		 */
		classify(&rs, client, hello, n, 1, &v);
		ck_assert_int_eq(v.more, 0);
		ck_assert_ptr_null(v.rule);
		ck_assert_int_eq(v.class, CLASS_INVALID);
	}
	classify(&rs, client, hello, hellolen, 0, &v);
	ck_assert_ptr_eq(v.rule, &r_wild);
}
END_TEST

START_TEST(test_not_tls)
{
	static const char	 ssh[] = "SSH-2.0-OpenSSH_9.2p1\r\n";
	struct verdict		 v;

	classify(&rs, client, (const uint8_t *)ssh, sizeof(ssh) - 1, 0, &v);
	ck_assert_int_eq(v.more, 0);
	ck_assert_ptr_eq(v.rule, &r_def);
	ck_assert_int_eq(v.class, CLASS_SSH);
}
END_TEST

START_TEST(test_nothing_yet)
{
	struct verdict	 v;

	classify(&rs, client, hello, 0, 0, &v);
	ck_assert_int_eq(v.more, 1);
	classify(&rs, client, hello, 0, 1, &v);
	ck_assert_ptr_eq(v.rule, &r_def);
}
END_TEST


static const char mux[] =
    "table <t> { 127.0.0.1 port 1 }\n"
    "table <trusted> { 192.0.2.9 port 1, 2001:db8::9 port 1 }\n"
    "listen on 127.0.0.1 port 8443 {\n"
    "match from <trusted> forward to <t>\n"			/* 4 */
    "match ssh forward to <t>\n"				/* 5 */
    "match tls alpn \"acme-tls/1\" forward to <t>\n"		/* 6 */
    "match tls sni \"curl.example.com\" alpn { \"h2\" } forward to <t>\n"
    "match tls sni \"*.example.com\" forward to <t>\n"		/* 8 */
    "match http host { \"www.example.com\", \"*.web\" } forward to <t>\n"
    "match http forward to <t>\n"				/* 10 */
    "match openvpn forward to <t>\n"				/* 11 */
    "match payload \"8=FIX\" forward to <t>\n"			/* 12 */
    "match payload offset 2 hex \"ca fe\" forward to <t>\n"	/* 13 */
    "match payload regex \"^(HELO|EHLO) \" forward to <t>\n"	/* 14 */
    "match from { 198.51.100.0/24, 2001:db8:1::/48 } tls forward to <t>\n"
    "default forward to <t>\n"					/* 16 */
    "}\n";

static struct config	*conf;

static const char quic_conf[] =
    "table <t> { 127.0.0.1 port 1 }\n"
    "listen on 127.0.0.1 port 8443 tcp udp {\n"
    "match ssh forward to <t>\n"				/* 3 */
    "match tls sni \"openssl.example.com\" send proxy v2 forward to <t>\n"
    "match tls sni \"*.example.com\" alpn \"h3\" forward to <t>\n"
    "match from 192.0.2.0/24 block\n"				/* 6 */
    "match tls sni \"*.example.com\" forward to <t>\n"	/* 7 */
    "default send proxy v1 forward to <t>\n"			/* 8 */
    "}\n"
    "listen on 127.0.0.1 port 8444 udp {\n"
    "default forward to <t>\n"				/* 11 */
    "}\n";

/* The config line of the rule a QUIC flow goes to, -1 for none. */
static int
quic_line(const struct ruleset *qrs, const struct sockaddr *sa,
    const char *file)
{
	struct tls_hello	 h;
	struct verdict		 v;

	load(file);
	ck_assert_int_eq(hello_parse(hello, hellolen, &h), HELLO_OK);
	classify_quic(qrs, sa, &h, &v);
	ck_assert_int_eq(v.more, 0);
	ck_assert_int_eq(v.class, CLASS_QUIC);
	ck_assert_str_eq(v.name, h.sni);
	return (v.rule == NULL ? -1 : v.rule->line);
}

/*
 * Rules that cannot take a QUIC flow are passed over, the default
 * too; the others match a QUIC ClientHello as a TLS one.
 */
START_TEST(test_quic)
{
	const struct ruleset	*mixed, *udp;
	struct sockaddr_in	 a4;

	conf = unit_parse(quic_conf);
	ck_assert_msg(conf != NULL, "%s", unit_errs);
	mixed = TAILQ_FIRST(&conf->rulesets);
	udp = TAILQ_NEXT(mixed, entry);
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
	ck_assert_int_eq(quic_line(mixed, (struct sockaddr *)&a4,
	    "openssl.bin"), 7);
	ck_assert_int_eq(quic_line(mixed, (struct sockaddr *)&a4,
	    "openssl-nosni.bin"), -1);
	ck_assert_int_eq(quic_line(udp, (struct sockaddr *)&a4,
	    "openssl-nosni.bin"), 11);
	inet_pton(AF_INET, "192.0.2.1", &a4.sin_addr);
	ck_assert_int_eq(quic_line(mixed, (struct sockaddr *)&a4,
	    "openssl.bin"), 6);
	config_free(conf);
}
END_TEST

static void
mux_setup(void)
{
	unit_setup();
	conf = unit_parse(mux);
	ck_assert_msg(conf != NULL, "%s", unit_errs);
	client4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &client4.sin_addr);
}

static void
mux_teardown(void)
{
	config_free(conf);
	unit_teardown();
}

/* The config line of the rule that takes these bytes, 0 for "wait". */
static int
mux_line(const struct sockaddr *sa, const void *buf, size_t len, int final)
{
	struct verdict	 v;

	classify(TAILQ_FIRST(&conf->rulesets), sa, buf, len, final, &v);
	if (v.more)
		return (0);
	ck_assert_ptr_nonnull(v.rule);
	return (v.rule->line);
}

#define LINE(s, f)	mux_line(client, (s), sizeof(s) - 1, (f))

START_TEST(test_mux_protocols)
{
	static const uint8_t	 ovpn[] = { 0x00, 0x0e, 0x38,
	    1, 2, 3, 4, 5, 6, 7, 8, 0x00, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t	 cafe[] = { 'x', 'y', 0xca, 0xfe, 0 };

	ck_assert_int_eq(LINE("SSH-2.0-OpenSSH_9.2\r\n", 0), 5);
	ck_assert_int_eq(LINE("GET / HTTP/1.1\r\nHost: www.example.com\r\n",
	    0), 9);
	ck_assert_int_eq(LINE("GET / HTTP/1.1\r\nHost: a.b.web:80\r\n", 0),
	    9);
	ck_assert_int_eq(LINE("GET / HTTP/1.1\r\nHost: other\r\n", 0), 10);
	ck_assert_int_eq(mux_line(client, ovpn, sizeof(ovpn), 0), 11);
	ck_assert_int_eq(LINE("8=FIX.4.2\x01" "9=12\x01", 0), 12);
	ck_assert_int_eq(mux_line(client, cafe, 4, 0), 13);
	ck_assert_int_eq(LINE("EHLO there\r\n", 0), 14);
	ck_assert_int_eq(LINE("QUIT\r\n", 0), 16);

	load("curl.bin");
	ck_assert_int_eq(mux_line(client, hello, hellolen, 0), 7);
	load("openssl.bin");
	ck_assert_int_eq(mux_line(client, hello, hellolen, 0), 8);
	load("openssl-nosni.bin");
	ck_assert_int_eq(mux_line(client, hello, hellolen, 0), 16);
}
END_TEST

START_TEST(test_mux_waits)
{
	/* No bytes: every protocol rule could still match. */
	ck_assert_int_eq(mux_line(client, "", 0, 0), 0);
	ck_assert_int_eq(mux_line(client, "", 0, 1), 16);
	/* "SSH-2" is still SSH; "8=F" still FIX, but "8=G" is not. */
	ck_assert_int_eq(LINE("SSH-2", 0), 0);
	ck_assert_int_eq(LINE("SSH-2", 1), 16);
	ck_assert_int_eq(LINE("8=F", 0), 0);
	ck_assert_int_eq(LINE("8=G", 0), 16);
	/* A split hello waits, then decides without the timeout. */
	load("chromium.bin");
	ck_assert_int_eq(mux_line(client, hello, 100, 0), 0);
	ck_assert_int_eq(mux_line(client, hello, hellolen, 0), 8);
}
END_TEST

START_TEST(test_mux_from)
{
	struct sockaddr_in	 a4;
	struct sockaddr_in6	 a6;
	const struct sockaddr	*sa4 = (struct sockaddr *)&a4;
	const struct sockaddr	*sa6 = (struct sockaddr *)&a6;

	memset(&a4, 0, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	a4.sin_family = AF_INET;
	a6.sin6_family = AF_INET6;
	/* A table's hosts match on their own, before any byte. */
	inet_pton(AF_INET, "192.0.2.9", &a4.sin_addr);
	ck_assert_int_eq(mux_line(sa4, "", 0, 0), 4);
	inet_pton(AF_INET6, "2001:db8::9", &a6.sin6_addr);
	ck_assert_int_eq(mux_line(sa6, "", 0, 0), 4);
	/* A prefix, with a condition. */
	load("openssl-nosni.bin");
	inet_pton(AF_INET, "198.51.100.77", &a4.sin_addr);
	ck_assert_int_eq(mux_line(sa4, hello, hellolen, 0), 15);
	inet_pton(AF_INET, "198.51.101.77", &a4.sin_addr);
	ck_assert_int_eq(mux_line(sa4, hello, hellolen, 0), 16);
	inet_pton(AF_INET6, "2001:db8:1:ffff::1", &a6.sin6_addr);
	ck_assert_int_eq(mux_line(sa6, hello, hellolen, 0), 15);
	inet_pton(AF_INET6, "2001:db8:2::1", &a6.sin6_addr);
	ck_assert_int_eq(mux_line(sa6, hello, hellolen, 0), 16);
}
END_TEST

static const char invalid_conf[] =
    "table <t> { 127.0.0.1 port 1 }\n"
    "listen on 127.0.0.1 port 8443 {\n"
    "match tls sni \"OpenSSL.Example.COM.\" block\n"		/* 3 */
    "match http host \"admin.example.com\" block\n"		/* 4 */
    "match from 192.0.2.0/24 invalid forward to <t>\n"	/* 5 */
    "default forward to <t>\n"					/* 6 */
    "}\n";

/* The config line that takes these bytes from sa, -1 for "closed". */
static int
invalid_line(const struct sockaddr *sa, const void *buf, size_t len,
    int final, int class)
{
	struct verdict	 v;

	classify(TAILQ_FIRST(&conf->rulesets), sa, buf, len, final, &v);
	ck_assert_int_eq(v.more, 0);
	ck_assert_int_eq(v.class, class);
	return (v.rule == NULL ? -1 : v.rule->line);
}

#define INVALID(s, c)	invalid_line(client, (s), sizeof(s) - 1, 0, (c))

START_TEST(test_invalid)
{
	/* A handshake longer than the bytes ever looked at. */
	static const uint8_t	 big[] = { 0x16, 0x03, 0x01, 0x40, 0x00,
	    0x01, 0x00, 0x44, 0x00, 0x03, 0x03 };
	static const char	 headers[] = "GET / HTTP/1.1\r\nX: y\r\n";
	struct sockaddr_in	 lan;

	conf = unit_parse(invalid_conf);
	ck_assert_msg(conf != NULL, "%s", unit_errs);
	memset(&lan, 0, sizeof(lan));
	lan.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &lan.sin_addr);

	load("openssl.bin");
	ck_assert_int_eq(invalid_line(client, hello, hellolen, 0, CLASS_TLS),
	    3);
	/* Cut short, then EOF or the timeout: the default never has it. */
	ck_assert_int_eq(invalid_line(client, hello, 100, 1, CLASS_INVALID),
	    -1);
	ck_assert_int_eq(invalid_line(client, hello, 1, 1, CLASS_INVALID),
	    -1);
	ck_assert_int_eq(invalid_line(client, big, sizeof(big), 0,
	    CLASS_INVALID), -1);
	ck_assert_int_eq(invalid_line((struct sockaddr *)&lan, big,
	    sizeof(big), 0, CLASS_INVALID), 5);

	ck_assert_int_eq(INVALID("GET / HTTP/1.1\r\nHost: ADMIN.example.com."
	    "\r\n", CLASS_HTTP), 4);
	ck_assert_int_eq(INVALID("GET / HTTP/1.1\r\nHost: admin..example.com"
	    "\r\n", CLASS_INVALID), -1);
	ck_assert_int_eq(invalid_line(client, headers, sizeof(headers) - 1, 1,
	    CLASS_INVALID), -1);
	/* Silence and bytes of no protocol a rule reads: the default. */
	ck_assert_int_eq(invalid_line(client, "", 0, 1, CLASS_UNKNOWN), 6);
	ck_assert_int_eq(INVALID("\x80\x2e\x01\x03\x01", CLASS_UNKNOWN), 6);
	config_free(conf);
}
END_TEST

/*
 * The table is all the log and the configuration know of a protocol:
 * a row they cannot find by its class, condition or name would be a
 * protocol that connections get but nobody can log or ask for.
 */
START_TEST(test_protocol_table)
{
	const struct protocol	*p;
	const struct rule	*r;
	char			 text[256];
	size_t			 i, j;

	for (i = 0; i < nprotocols; i++) {
		p = &protocols[i];
		ck_assert_ptr_nonnull(p->name);
		ck_assert_uint_gt(strlen(p->name), 0);
		ck_assert_ptr_nonnull(p->probe);
		for (j = 0; j < i; j++)
			ck_assert_int_ne(protocols[j].class, p->class);
		ck_assert_ptr_eq(protocol_class(p->class), p);
		ck_assert_str_eq(class_name(p->class), p->name);

		/* Only payload's condition cannot be written bare. */
		snprintf(text, sizeof(text),
		    "table <t> { 127.0.0.1 port 1 }\n"
		    "listen on 127.0.0.1 port 8443 {\n"
		    "match %s%s forward to <t>\n"
		    "}\n", p->name, p->cond == COND_PAYLOAD ? " \"x\"" : "");
		conf = unit_parse(text);
		if (p->cond == COND_ANY) {
			ck_assert_msg(conf == NULL, "%s is a condition",
			    p->name);
			continue;
		}
		ck_assert_msg(conf != NULL, "%s: %s", p->name, unit_errs);
		ck_assert_ptr_eq(protocol_cond(p->cond), p);
		r = TAILQ_FIRST(&TAILQ_FIRST(&conf->rulesets)->rules);
		ck_assert_int_eq(r->cond, p->cond);
		config_free(conf);
	}
	ck_assert_ptr_null(protocol_cond(COND_ANY));
	ck_assert_ptr_null(protocol_class(CLASS_TIMEOUT));
	ck_assert_str_eq(class_name(CLASS_TIMEOUT), "timeout");
	ck_assert_str_eq(class_name(CLASS_EOF), "eof");
	ck_assert_str_eq(class_name(CLASS_UNKNOWN), "unknown");
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
	tc = tcase_create("multiplexer");
	tcase_add_checked_fixture(tc, mux_setup, mux_teardown);
	tcase_add_test(tc, test_mux_protocols);
	tcase_add_test(tc, test_mux_waits);
	tcase_add_test(tc, test_mux_from);
	suite_add_tcase(s, tc);
	tc = tcase_create("invalid");
	tcase_add_checked_fixture(tc, unit_setup, unit_teardown);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_quic);
	tcase_add_test(tc, test_protocol_table);
	suite_add_tcase(s, tc);
	return (s);
}
