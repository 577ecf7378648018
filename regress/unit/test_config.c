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
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sniproxyd.h"
#include "suites.h"


static void
assert_error(const char *text, const char *expect)
{
	struct config	*conf;
	char		 want[512];

	conf = unit_parse(text);
	ck_assert_msg(conf == NULL, "accepted: %s", text);
	snprintf(want, sizeof(want), "%s/test.conf:%s", unit_dir(), expect);
	ck_assert_msg(strstr(unit_errs, want) != NULL,
	    "for:\n%s\nwanted \"%s\" in:\n%s", text, want, unit_errs);
}

#define LISTEN	"table <t> { 127.0.0.1 port 1 }\n" \
		"listen on 127.0.0.1 port 8443 {\n"

START_TEST(test_globals)
{
	struct config	*c;

	c = unit_parse("user \"_proxy\"\nchroot \"/var/empty/x\"\n"
	    "prefork 4\nlog connections\nmaxconn 50\n"
	    "timeout inspect 2s\ntimeout connect 500ms\n"
	    "timeout idle 2h\ntimeout shutdown 3\n"
	    LISTEN "default forward to <t>\n}\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	ck_assert_str_eq(c->user, "_proxy");
	ck_assert_str_eq(c->chroot, "/var/empty/x");
	ck_assert_int_eq(c->prefork, 4);
	ck_assert_int_eq(c->log_connections, 1);
	ck_assert_int_eq(c->maxconn, 50);
	ck_assert_int_eq(c->timeout.inspect, 2000);
	ck_assert_int_eq(c->timeout.connect, 500);
	ck_assert_int_eq(c->timeout.idle, 7200000);
	ck_assert_int_eq(c->shutdown_ms, 3000);
	config_free(c);
}
END_TEST

START_TEST(test_defaults)
{
	struct config	*c;

	c = unit_parse(LISTEN "default forward to <t>\n}\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	ck_assert_str_eq(c->user, "_sniproxyd");
	ck_assert_str_eq(c->chroot, "/var/empty");
	ck_assert_int_eq(c->prefork, 2);
	ck_assert_int_eq(c->log_connections, 0);
	ck_assert_int_eq(c->timeout.inspect, 5000);
	ck_assert_int_eq(c->timeout.idle, 600000);
	config_free(c);
}
END_TEST

START_TEST(test_tables)
{
	struct config	*c;
	struct table	*t;

	c = unit_parse("table <a> { 127.0.0.1 port 10, 127.0.0.2 port 11 }\n"
	    "table <b-2.x> {\n\t::1 port 443\n\t127.0.0.3 port 12,\n}\n"
	    "listen on 127.0.0.1 port 1 { default forward to <a> }\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	ck_assert_ptr_nonnull(t = config_table(c, "a"));
	ck_assert_int_eq(t->nhosts, 2);
	ck_assert_ptr_nonnull(t = config_table(c, "b-2.x"));
	ck_assert_int_eq(t->nhosts, 2);
	ck_assert_int_eq(t->hosts[0].ss.ss_family, AF_INET6);
	ck_assert_int_eq(ntohs(((struct sockaddr_in6 *)&t->hosts[0].ss)->
	    sin6_port), 443);
	ck_assert_int_eq(t->hosts[1].ss.ss_family, AF_INET);
	ck_assert_ptr_null(config_table(c, "c"));
	config_free(c);
}
END_TEST

START_TEST(test_rules)
{
	struct config	*c;
	struct listener	*l;
	struct rule	*r;

	c = unit_parse("timeout idle 1m\n"
	    "table <a> { 127.0.0.1 port 10 }\n"
	    "table <b> { 127.0.0.1 port 11 }\n"
	    "listen on 127.0.0.1 port 8443 {\n"
	    "\ttimeout connect 2s\n"
	    "\tmatch tls sni \"A.example.com\" forward to <a> timeout idle 5s\n"
	    "\tmatch tls sni { \"*.b.example.com\", \"b.example.com\"\n"
	    "\t    \"c.example.com\" } forward to <b> port 99\n"
	    "\tmatch tls sni \"x.example.com\" block\n"
	    "\tmatch tls forward to <b>\n"
	    "\tdefault forward to <a>\n"
	    "}\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	ck_assert_int_eq(c->nrules, 5);
	ck_assert_int_eq(c->nroutes, 4);
	l = TAILQ_FIRST(&c->listeners);
	ck_assert_str_eq(l->name, "127.0.0.1:8443");
	r = TAILQ_FIRST(&l->rs->rules);
	ck_assert_int_eq(r->line, 6);
	ck_assert_str_eq(r->sni[0], "a.example.com");
	ck_assert_int_eq(r->timeout.idle, 5000);
	ck_assert_int_eq(r->timeout.connect, 2000);
	r = TAILQ_NEXT(r, entry);
	ck_assert_int_eq(r->nsni, 3);
	ck_assert_int_eq(r->port, 99);
	ck_assert_int_eq(r->timeout.idle, 60000);
	r = TAILQ_NEXT(r, entry);
	ck_assert_int_eq(r->action, ACT_BLOCK);
	ck_assert_int_eq(r->route, -1);
	r = TAILQ_NEXT(r, entry);
	ck_assert_int_eq(r->nsni, 0);
	ck_assert_ptr_nonnull(l->rs->def);
	ck_assert_int_eq(l->rs->def->line, 11);
	ck_assert_int_eq(l->rs->def->cond, COND_ANY);
	config_free(c);
}
END_TEST

START_TEST(test_macros)
{
	struct config	*c;

	ck_assert_int_eq(cmdline_symset("lport=9999"), 0);
	c = unit_parse("ext = \"127.0.0.1\"\nlport = 1234\n"
	    "t = \"<t>\"\n"
	    "table <t> { $ext port 1 }\n"
	    "listen on $ext port $lport { default forward to <t> }\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	/* -D wins over the file. */
	ck_assert_str_eq(TAILQ_FIRST(&c->listeners)->name, "127.0.0.1:9999");
	config_free(c);
}
END_TEST

START_TEST(test_listen_any)
{
	struct config	*c;
	struct listener	*l;
	int		 v4 = 0, v6 = 0;

	c = unit_parse("table <t> { 127.0.0.1 port 1 }\n"
	    "listen on * port 8444 { default forward to <t> }\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	TAILQ_FOREACH(l, &c->listeners, entry) {
		v4 += l->ss.ss_family == AF_INET;
		v6 += l->ss.ss_family == AF_INET6;
		ck_assert_ptr_eq(l->rs, TAILQ_FIRST(&c->rulesets));
	}
	ck_assert_int_eq(v4, 1);
	ck_assert_int_eq(v6, 1);
	config_free(c);
}
END_TEST

START_TEST(test_include)
{
	struct config	*c;
	char		 text[512], want[512];

	unit_put_file("tables.conf", "table <t> { 127.0.0.1 port 1 }\n");
	snprintf(text, sizeof(text), "include \"%s/tables.conf\"\n"
	    "listen on 127.0.0.1 port 1 { default forward to <t> }\n",
	    unit_dir());
	c = unit_parse(text);
	ck_assert_msg(c != NULL, "%s", unit_errs);
	config_free(c);

	unit_put_file("bad.conf", "\n\nprefork 0\n");
	snprintf(text, sizeof(text), "include \"%s/bad.conf\"\n", unit_dir());
	ck_assert_ptr_null(unit_parse(text));
	snprintf(want, sizeof(want), "%s/bad.conf:3: prefork", unit_dir());
	ck_assert_msg(strstr(unit_errs, want) != NULL, "%s", unit_errs);

	snprintf(text, sizeof(text), "include \"%s/missing.conf\"\n",
	    unit_dir());
	ck_assert_ptr_null(unit_parse(text));
	ck_assert_msg(strstr(unit_errs, "missing.conf") != NULL, "%s",
	    unit_errs);
}
END_TEST

/*
 * Every message of a bad file, exactly: one per mistake, on its line,
 * saying what was wrong and what could have stood there.
 */
static const struct {
	const char	*text;
	const char	*errs;
} bad_inputs[] = {
	{ "accept 0\n\naccept many\n" LISTEN "match tls forward to <t>\n}\n",
	  "1: accept 0: the number of accept processes is from 1 to 64\n"
	  "3: accept many: the number of accept processes is from 1 to 64\n" },
	{ "timout inspect 2s\n" LISTEN "match tls sni \"a\" forward to <t>\n"
	  "foward to <t>\n}\n",
	  "1: unknown keyword \"timout\", expected accept, chroot, control, "
	  "include, keypair, listen, log, maxconn, prefork, reload, "
	  "sandbox, table, timeout, user or a macro definition; did you "
	  "mean \"timeout\"?\n"
	  "5: unknown keyword \"foward\", expected backlog, default, match, "
	  "maxconn, timeout, tls or \"}\"; \"forward\" would not start a "
	  "statement either\n" },
	{ LISTEN "timout inspect 2s\nmatch tls sni \"a\" forward to <t>\n"
	  "match tls sni \"b\" foward to <t>\n}\n",
	  "3: unknown keyword \"timout\", expected backlog, default, match, "
	  "maxconn, timeout, tls or \"}\"; did you mean \"timeout\"?\n"
	  "5: syntax error: unexpected \"foward\", expected alpn, block, "
	  "forward, send, sni, terminate, timeout, tls, \"}\" or end of "
	  "line; did you mean \"forward\"?\n" },
	{ "log connection\n" LISTEN "default block\n}\n",
	  "1: syntax error: unexpected \"connection\", expected connections; "
	  "did you mean \"connections\"?\n" },
	{ "table <a> { 10.0.0.3:443 }\n" LISTEN "default block\n}\n",
	  "1: syntax error: unexpected \"}\", expected port; write "
	  "\"10.0.0.3 port 443\", not \"10.0.0.3:443\"\n" },
	{ "table <a> {\n\t127.0.0.3:443\n\t127.0.0.1 port 4\n}\n"
	  LISTEN "default block\n}\n",
	  "2: syntax error: unexpected end of line, expected port; write "
	  "\"127.0.0.3 port 443\", not \"127.0.0.3:443\"\n" },
	{ "set timeout inspect 2s\n" LISTEN "set timeout idle 1m\n"
	  "default block\n}\n",
	  "1: there is no \"set\": write the option alone, as in "
	  "\"timeout idle 1h\"\n"
	  "4: there is no \"set\": write the option alone, as in "
	  "\"timeout idle 1h\"\n" },
	{ "dir = \"/etc\"\nuser $dir \"x\"\n" LISTEN "default block\n}\n",
	  "2: syntax error: unexpected string \"x\" after $dir: macros do "
	  "not concatenate; put the whole value in the macro\n" },
	{ "listen on 127.0.0.1 port 70000 {\nmatch tls block\n"
	  "default block\n}\nprefork 0\n",
	  "1: port 70000 out of range\n"
	  "5: prefork must be between 1 and 32\n" },
	{ LISTEN "match tls sni forward to <t>\nmatch ssh forward <t>\n}\n",
	  "3: syntax error: unexpected \"forward\", expected a string or "
	  "\"{\"\n"
	  "4: syntax error: unexpected <t>, expected to or with\n" },
	{ LISTEN "match tls sni \"a\" forward to <t> tls alpn \"h2\"\n}\n",
	  "3: tls alpn after the action is what terminate tls offers "
	  "clients, and this rule does not terminate tls; to match the "
	  "client's ALPN, write alpn in the condition: match tls alpn "
	  "\"...\"\n" },
	{ LISTEN "match tls forward to <t> tls no verify\n"
	  "default forward to <t> tls ca \"/x\"\n}\n",
	  "3: tls no verify applies to forward with tls, and this rule does "
	  "not forward with tls\n"
	  "4: tls ca applies to forward with tls, and this rule does not "
	  "forward with tls\n" },
	{ LISTEN "match tls tls ciphers \"secure\" block\n}\n",
	  "3: tls protocols and ciphers apply to terminate tls and forward "
	  "with tls, and this rule has neither\n" },
};

START_TEST(test_syntax_messages)
{
	char		 prefix[300], got[4096], *line, *next;
	size_t		 plen;

	snprintf(prefix, sizeof(prefix), "%s/test.conf:", unit_dir());
	plen = strlen(prefix);
	ck_assert_ptr_null(unit_parse(bad_inputs[_i].text));
	got[0] = '\0';
	for (line = unit_errs; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			next = line + strlen(line);
		else
			next++;
		if (strncmp(line, prefix, plen) == 0)
			line += plen;
		strncat(got, line, next - line);
	}
	ck_assert_msg(strcmp(got, bad_inputs[_i].errs) == 0,
	    "for:\n%s\nwanted:\n%sgot:\n%s", bad_inputs[_i].text,
	    bad_inputs[_i].errs, got);
}
END_TEST

START_TEST(test_continuation)
{
	struct config	*c;

	c = unit_parse(LISTEN "match tls sni \"a.example.com\" \\\n"
	    "    forward to <t>\n}\n# comment\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	ck_assert_int_eq(c->rules[0]->line, 3);
	config_free(c);
}
END_TEST

START_TEST(test_limits)
{
	struct config	*c;
	struct ruleset	*rs;

	c = unit_parse(LISTEN "default forward to <t>\n}\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	rs = TAILQ_FIRST(&c->rulesets);
	ck_assert_int_eq(c->maxconn_source, 256);
	ck_assert_int_eq(rs->maxconn_source, 256);
	ck_assert_int_eq(rs->rate_conns, 0);
	config_free(c);

	c = unit_parse("maxconn rate 20/10\n" LISTEN
	    "default forward to <t>\n}\n"
	    "listen on 127.0.0.1 port 8444 {\n\tmaxconn rate 3/1\n"
	    "\tdefault forward to <t>\n}\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	rs = TAILQ_FIRST(&c->rulesets);
	ck_assert_int_eq(rs->rate_conns, 20);
	ck_assert_int_eq(rs->rate_ms, 10000);
	rs = TAILQ_NEXT(rs, entry);
	ck_assert_int_eq(rs->rate_conns, 3);
	ck_assert_int_eq(rs->rate_ms, 1000);
	config_free(c);

	assert_error("maxconn rate 5/\n", "1: maxconn rate must be N/SECONDS");
	assert_error("maxconn rate 0/10\n", "1: maxconn rate must be");
	assert_error("maxconn rate 5/0\n", "1: maxconn rate must be");
	assert_error("maxconn rate 5/x\n", "1: maxconn rate must be");
}
END_TEST

START_TEST(test_errors)
{
	assert_error("foo bar\n", "1: unknown keyword \"foo\"");
	assert_error("prefork 0\n", "1: prefork must be between 1 and 32");
	assert_error("prefork 33\n", "1: prefork must be between");
	assert_error("maxconn 0\n", "1: maxconn must be between");
	assert_error("timeout idle 5x\n", "1: invalid duration \"5x\"");
	assert_error("timeout idle 0\n", "1: timeout must be positive");
	assert_error("timeout idle 9999h\n", "1: invalid duration");
	assert_error("chroot \"var\"\n", "1: chroot must be an absolute path");
	assert_error("table <t> { 127.0.0.1 port 0 }\n", "1: port 0 out of");
	assert_error("table <t> { 127.0.0.1 port 65536 }\n", "1: port 65536");
	assert_error("table <t> { 127.0.0.1 port 1 }\n"
	    "table <t> { 127.0.0.1 port 2 }\n", "2: table <t> defined twice");
	assert_error("table <> { 127.0.0.1 port 1 }\n",
	    "1: table name must be <name>");
	assert_error(LISTEN "match tls forward to <u>\n}\n",
	    "3: table <u> is not defined");
	assert_error(LISTEN "match tls\n}\n", "3: rule needs an action");
	assert_error(LISTEN "match tls block forward to <t>\n}\n",
	    "3: rule has more than one action");
	assert_error(LISTEN "default block\ndefault block\n}\n",
	    "4: listener already has a default rule");
	assert_error(LISTEN "}\n", "3: listener has no rules");
	assert_error(LISTEN "match tls sni \"a*b\" block\n}\n",
	    "3: invalid name pattern \"a*b\"");
	assert_error(LISTEN "match tls sni \"\" block\n}\n",
	    "3: invalid name pattern");
	assert_error(LISTEN "match tls timeout inspect 1s block\n}\n",
	    "3: timeout inspect belongs to a listener");
	assert_error(LISTEN "default block\n}\n"
	    "listen on 127.0.0.1 port 8443 { default block }\n",
	    "5: 127.0.0.1:8443 is already listened on");
	assert_error("user \"a\nb\"\n", "1: unterminated quoted string");
	assert_error("user \"a\\qb\"\n", "1: invalid escape");
	assert_error("user $nope\n", "1: macro 'nope' not defined");
	assert_error("listen on 127.0.0.1 port 1 {\n"
	    "match tls sni \"a.example.com\" forward to <t>\n}\n",
	    "2: table <t> is not defined");
}
END_TEST

START_TEST(test_error_lines_continue)
{
	/* Every error is reported, not only the first. */
	assert_error("prefork 0\n\nmaxconn 0\n", "3: maxconn");
	assert_error("prefork 0\n\nmaxconn 0\n", "1: prefork");
}
END_TEST

START_TEST(test_balance_options)
{
	struct config	*c;
	struct table	*t;
	struct rule	*r;

	c = unit_parse("table <w> { 127.0.0.1 port 1 weight 3, "
	    "127.0.0.2 port 1 backup, 127.0.0.3 port 1 weight 2 backup }\n"
	    "listen on 127.0.0.1 port 1 {\n"
	    "match tls forward to <w> mode source-hash check tls "
	    "interval 2s rise 3 fall 4\n"
	    "match ssh forward to <w> port 22 mode failover "
	    "check send \"HELO\\r\\n\" expect \"250\"\n"
	    "default forward to <w> check tcp mode leastconn\n}\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	t = config_table(c, "w");
	ck_assert_int_eq(t->hosts[0].weight, 3);
	ck_assert_int_eq(t->hosts[0].backup, 0);
	ck_assert_int_eq(t->hosts[1].weight, 1);
	ck_assert_int_eq(t->hosts[1].backup, 1);
	ck_assert_int_eq(t->hosts[2].weight, 2);
	r = c->rules[0];
	ck_assert_int_eq(r->mode, MODE_SOURCEHASH);
	ck_assert_int_eq(r->check.type, CHECK_TLS);
	ck_assert_int_eq(r->check.interval, 2000);
	ck_assert_int_eq(r->check.rise, 3);
	ck_assert_int_eq(r->check.fall, 4);
	r = c->rules[1];
	ck_assert_int_eq(r->mode, MODE_FAILOVER);
	ck_assert_int_eq(r->port, 22);
	ck_assert_str_eq(r->check.send, "HELO\r\n");
	ck_assert_str_eq(r->check.expect, "250");
	ck_assert_int_eq(r->check.rise, 2);
	r = c->rules[2];
	ck_assert_int_eq(r->mode, MODE_LEASTCONN);
	ck_assert_int_eq(r->check.type, CHECK_TCP);
	ck_assert_int_eq(r->check.interval, 5000);
	config_free(c);

	c = unit_parse(LISTEN
	    "match tls forward to <t> check https \"/h?x=1\" code 204 "
	    "host \"a.example\"\n"
	    "match ssh forward to <t> check http \"/\" code 200\n"
	    "default forward to <t> check send \"PING\" expect \"PONG\" "
	    "with tls interval 1s\n}\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	r = c->rules[0];
	ck_assert_int_eq(r->check.type, CHECK_HTTP);
	ck_assert_int_eq(r->check.tls, 1);
	ck_assert_int_eq(r->check.code, 204);
	ck_assert_str_eq(r->check.host, "a.example");
	ck_assert_str_eq(r->check.send, "GET /h?x=1 HTTP/1.0\r\n"
	    "Host: a.example\r\nUser-Agent: sniproxyd-check\r\n"
	    "Connection: close\r\n\r\n");
	r = c->rules[1];
	ck_assert_int_eq(r->check.tls, 0);
	ck_assert_ptr_null(r->check.host);
	ck_assert_str_eq(r->check.send, "GET / HTTP/1.0\r\n"
	    "User-Agent: sniproxyd-check\r\nConnection: close\r\n\r\n");
	r = c->rules[2];
	ck_assert_int_eq(r->check.type, CHECK_SEND);
	ck_assert_int_eq(r->check.tls, 1);
	ck_assert_int_eq(r->check.interval, 1000);
	config_free(c);

	assert_error(LISTEN "default forward to <t> check http \"/\" "
	    "code 99\n}\n", "3: check code must be between 100 and 599");
	assert_error(LISTEN "default forward to <t> check http \"x\" "
	    "code 200\n}\n", "3: check path must begin with /");
	assert_error(LISTEN "default forward to <t> check https \"/\" "
	    "code 200 host \"a b\"\n}\n", "3: check host must be a name");
	assert_error(LISTEN "default forward to <t> mode random\n}\n",
	    "3: mode must be roundrobin");
	assert_error(LISTEN "default forward to <t> check udp\n}\n",
	    "3: check tcp, check tls");
	assert_error(LISTEN "default forward to <t> check tcp check tls\n}\n",
	    "3: check given twice");
	assert_error(LISTEN "default forward to <t> check send \"a\" "
	    "expect \"\"\n}\n", "3: check expect needs");
	assert_error(LISTEN "default forward to <t> interval 10ms\n}\n",
	    "3: interval must be at least 100ms");
	assert_error(LISTEN "default forward to <t> rise 0\n}\n",
	    "3: rise must be between");
	assert_error(LISTEN "default forward to <t> fall 101\n}\n",
	    "3: fall must be between");
	assert_error("table <w> { 127.0.0.1 port 1 weight 0 }\n",
	    "1: weight must be between 1 and 100");
}
END_TEST


/* Two self-signed pairs in the test directory, made by openssl(1). */
static void
make_pairs(void)
{
	char	 cmd[1024];
	int	 i;

	for (i = 1; i <= 2; i++) {
		snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec "
		    "-pkeyopt ec_paramgen_curve:P-256 -nodes -days 3 "
		    "-subj /CN=k%d.example.com -addext "
		    "subjectAltName=DNS:k%d.example.com,DNS:alt%d.example.com "
		    "-keyout %s/k%d.pem -out %s/c%d.pem 2>/dev/null && "
		    "chmod 600 %s/k%d.pem",
		    i, i, i, unit_dir(), i, unit_dir(), i, unit_dir(), i);
		ck_assert_int_eq(system(cmd), 0);
	}
}

START_TEST(test_keypairs)
{
	struct config	*c;
	struct keypair	*kp;
	struct rule	*r;
	char		 text[2048], err[1024];

	make_pairs();
	snprintf(text, sizeof(text),
	    "keypair \"one\" {\n certificate \"%s/c1.pem\"\n"
	    " key \"%s/k1.pem\"\n}\n"
	    "keypair \"two\" { certificate \"%s/c2.pem\"\n"
	    " key \"%s/k2.pem\" }\n"
	    LISTEN "tls protocols \"tlsv1.3\"\n"
	    "match tls sni \"k1.example.com\" terminate tls keypair \"one\" "
	    "forward to <t> tls alpn \"h2,http/1.1\"\n"
	    "match tls terminate tls forward with tls to <t> "
	    "tls servername \"b.example\" tls no verify\n"
	    "}\n", unit_dir(), unit_dir(), unit_dir(), unit_dir());
	c = unit_parse(text);
	ck_assert_msg(c != NULL, "%s", unit_errs);
	ck_assert_int_eq(keys_load_all(c, err, sizeof(err)), 0);
	kp = TAILQ_FIRST(&c->keypairs);
	ck_assert_str_eq(kp->name, "one");
	ck_assert_str_eq(kp->sans, "k1.example.com,alt1.example.com");
	ck_assert_msg(strstr(kp->subject, "CN=k1.example.com") != NULL, "%s",
	    kp->subject);
	ck_assert_int_gt(kp->notafter, time(NULL) + 86400);
	ck_assert_int_eq(c->nkeypairs, 2);
	r = c->rules[0];
	ck_assert_int_eq(r->terminate, 1);
	ck_assert_ptr_eq(r->keypair, kp);
	ck_assert_str_eq(r->tls.alpn, "h2,http/1.1");
	ck_assert_str_eq(r->tls.protocols, "tlsv1.3");
	ck_assert_int_eq(r->backend_tls, 0);
	r = c->rules[1];
	ck_assert_ptr_null(r->keypair);
	ck_assert_int_eq(r->backend_tls, 1);
	ck_assert_int_eq(r->tls.noverify, 1);
	ck_assert_str_eq(r->tls.servername, "b.example");
	config_free(c);
}
END_TEST

/* A rule may name a keypair that is defined further down the file. */
START_TEST(test_keypair_later)
{
	struct config	*c;
	char		 text[2048];

	snprintf(text, sizeof(text), LISTEN
	    "match tls sni \"k2.example.com\" terminate tls keypair \"two\" "
	    "forward to <t>\n"
	    "default terminate tls keypair \"one\" forward to <t>\n}\n"
	    "keypair \"one\" { certificate \"%s/c1.pem\"\n"
	    " key \"%s/k1.pem\" }\n"
	    "keypair \"two\" { certificate \"%s/c2.pem\"\n"
	    " key \"%s/k2.pem\" }\n",
	    unit_dir(), unit_dir(), unit_dir(), unit_dir());
	c = unit_parse(text);
	ck_assert_msg(c != NULL, "%s", unit_errs);
	ck_assert_str_eq(c->rules[0]->keypair->name, "two");
	ck_assert_str_eq(c->rules[1]->keypair->name, "one");
	ck_assert_ptr_null(c->rules[0]->keypair_name);
	config_free(c);

	/* Terminating by SNI needs a keypair somewhere in the file. */
	snprintf(text, sizeof(text), LISTEN
	    "match tls terminate tls forward to <t>\n}\n"
	    "keypair \"one\" { certificate \"%s/c1.pem\"\n"
	    " key \"%s/k1.pem\" }\n",
	    unit_dir(), unit_dir());
	c = unit_parse(text);
	ck_assert_msg(c != NULL, "%s", unit_errs);
	ck_assert_ptr_null(c->rules[0]->keypair);
	config_free(c);

	/* Still named at the rule's line when it is nowhere. */
	assert_error(LISTEN "default block\n"
	    "match tls terminate tls keypair \"k\" forward to <t>\n}\n"
	    "keypair \"one\" { certificate \"/c\"\n key \"/k\" }\n",
	    "4: keypair \"k\" is not defined");
}
END_TEST

/*
 * A keypair that does not load is an error of the keys helper (or of
 * sniproxyd -n), not of the parse: the parser reads no key.
 */
static void
assert_keys_error(const char *text, const char *want)
{
	struct config	*c;
	char		 err[1024];

	c = unit_parse(text);
	ck_assert_msg(c != NULL, "%s", unit_errs);
	ck_assert_int_eq(keys_load_all(c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	config_free(c);
}

START_TEST(test_keypair_errors)
{
	char	 text[2048], want[1024];

	make_pairs();
	/* A key that is not the certificate's. */
	snprintf(text, sizeof(text),
	    "keypair \"x\" {\n certificate \"%s/c1.pem\"\n"
	    " key \"%s/k2.pem\"\n}\n" LISTEN "default block\n}\n", unit_dir(),
	    unit_dir());
	snprintf(want, sizeof(want), ":1: keypair \"x\": the key %s/k2.pem "
	    "does not belong to the certificate %s/c1.pem", unit_dir(),
	    unit_dir());
	assert_keys_error(text, want);
	snprintf(text, sizeof(text),
	    "keypair \"x\" {\n certificate \"%s/nope.pem\"\n"
	    " key \"%s/k2.pem\"\n}\n" LISTEN "default block\n}\n", unit_dir(),
	    unit_dir());
	assert_keys_error(text, "nope.pem: No such file");
	snprintf(text, sizeof(text),
	    "keypair \"x\" {\n certificate \"%s/k1.pem\"\n"
	    " key \"%s/k1.pem\"\n}\n" LISTEN "default block\n}\n", unit_dir(),
	    unit_dir());
	assert_keys_error(text, "no PEM certificate");
	assert_error("keypair \"x\" {\n certificate \"/c\"\n}\n",
	    "3: keypair \"x\" needs a certificate and a key");
	assert_error(LISTEN "match tls terminate tls forward to <t>\n}\n",
	    "3: terminate tls without a keypair defined");
	assert_error(LISTEN "match tls terminate tls keypair \"k\" "
	    "forward to <t>\n}\n", "3: keypair \"k\" is not defined");
	assert_error("table <t> { 127.0.0.1 port 1 }\n"
	    "listen on 127.0.0.1 port 8443 { default block }\n"
	    "listen on * port 8443 { default block }\n",
	    "3: listen on 0.0.0.0:8443 and 127.0.0.1:8443 at ");
	assert_error("table <t> { 127.0.0.1 port 1 }\n"
	    "listen on * port 8443 { default block }\n"
	    "listen on ::1 port 8443 { default block }\n",
	    "3: listen on [::1]:8443 and [::]:8443 at ");
	assert_error(LISTEN "match tls tls ciphers \"a\" tls ciphers \"b\" "
	    "block\n}\n", "3: tls option given twice");
	assert_error(LISTEN "match tls forward to <t> tls verify\n}\n",
	    "3: syntax error: unexpected \"verify\"");
}
END_TEST

START_TEST(test_no_listener)
{
	ck_assert_ptr_null(unit_parse("prefork 1\n"));
	ck_assert_msg(strstr(unit_errs, "no listener") != NULL, "%s",
	    unit_errs);
}
END_TEST

START_TEST(test_durations)
{
	static const struct {
		const char	*s;
		int64_t		 ms;
	} good[] = {
		{ "0", 0 }, { "5", 5000 }, { "5s", 5000 }, { "250ms", 250 },
		{ "2m", 120000 }, { "3h", 10800000 }, { "168h", 604800000 }
	};
	static const char *const bad[] = {
		"", "s", "5x", "5 s", "-1", "1.5s", "169h", "5sm", "5S",
		"99999999999999999999"
	};
	int64_t		 ms;
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(parse_duration(good[i].s, &ms) == 0, "%s",
		    good[i].s);
		ck_assert_int_eq(ms, good[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_duration(bad[i], &ms) == -1, "%s", bad[i]);
}
END_TEST

/* One block for TCP and UDP: what a QUIC flow cannot use is for TCP. */
START_TEST(test_listen_udp)
{
	struct config	*c;
	struct listener	*l;
	struct rule	*r;

	c = unit_parse("table <t> { 127.0.0.1 port 1 }\n"
	    "listen on 127.0.0.1 port 8443 tcp udp {\n"
	    "match ssh forward to <t>\n"
	    "match tls sni \"a.example.com\" forward to <t>\n"
	    "match tls forward with tls to <t>\n"
	    "default send proxy v2 forward to <t>\n}\n"
	    "listen on 127.0.0.1 port 8444 udp { default forward to <t> "
	    "check quic }\n"
	    "listen on 127.0.0.1 port 8445 tcp { default forward to <t> }\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	l = TAILQ_FIRST(&c->listeners);
	ck_assert_int_eq(l->udp, 0);
	ck_assert_str_eq(l->name, "127.0.0.1:8443");
	l = TAILQ_NEXT(l, entry);
	ck_assert_int_eq(l->udp, 1);
	ck_assert_str_eq(l->name, "127.0.0.1:8443");
	ck_assert_ptr_eq(l->rs, TAILQ_FIRST(&c->rulesets));
	l = TAILQ_NEXT(l, entry);
	ck_assert_int_eq(l->udp, 1);
	ck_assert_int_eq(l->rs->def->check.type, CHECK_QUIC);
	l = TAILQ_NEXT(l, entry);
	ck_assert_int_eq(l->udp, 0);
	ck_assert_ptr_null(TAILQ_NEXT(l, entry));
	r = TAILQ_FIRST(&TAILQ_FIRST(&c->rulesets)->rules);
	ck_assert_int_eq(r->quic, 0);
	r = TAILQ_NEXT(r, entry);
	ck_assert_int_eq(r->quic, 1);
	r = TAILQ_NEXT(r, entry);
	ck_assert_int_eq(r->quic, 0);
	ck_assert_int_eq(TAILQ_FIRST(&c->rulesets)->def->quic, 0);
	ck_assert_int_eq(TAILQ_NEXT(TAILQ_FIRST(&c->rulesets), entry)->
	    def->quic, 1);
	ck_assert_int_eq(TAILQ_LAST(&c->rulesets, rulesetlist)->def->quic, 0);
	config_free(c);
}
END_TEST

#define LISTEN_UDP	"table <t> { 127.0.0.1 port 1 }\n" \
			"listen on 127.0.0.1 port 8443 udp {\n"

START_TEST(test_listen_udp_errors)
{
	assert_error(LISTEN_UDP "default forward to <t> check tcp\n}\n",
	    "3: this listener has only udp, and its servers may not take TCP "
	    "at all: check quic");
	assert_error(LISTEN_UDP "default forward to <t> check http \"/\" "
	    "code 200\n}\n", "3: this listener has only udp");
	assert_error("table <t> { 127.0.0.1 port 1 }\n"
	    "listen on 127.0.0.1 port 8443 {\n"
	    "default forward to <t> check quic\n}\n",
	    "3: check quic needs a listener with udp");
	assert_error(LISTEN_UDP "match ssh forward to <t>\n}\n",
	    "3: this condition cannot match a QUIC flow, which carries only "
	    "TLS, and this listener has only udp");
	assert_error(LISTEN_UDP "match http forward to <t>\n}\n",
	    "3: this condition cannot match a QUIC flow");
	assert_error(LISTEN_UDP "match openvpn forward to <t>\n}\n",
	    "3: this condition cannot match a QUIC flow");
	assert_error(LISTEN_UDP "match payload \"x\" forward to <t>\n}\n",
	    "3: this condition cannot match a QUIC flow");
	assert_error(LISTEN_UDP "match invalid block\n}\n",
	    "3: match invalid cannot match a QUIC flow");
	assert_error(LISTEN_UDP "match tls terminate tls forward to <t>\n}\n",
	    "3: terminate tls cannot apply to a QUIC flow");
	assert_error(LISTEN_UDP "default forward with tls to <t>\n}\n",
	    "3: forward with tls cannot apply to a QUIC flow");
	assert_error(LISTEN_UDP "\ndefault send proxy v1 forward to <t>\n}\n",
	    "4: send proxy cannot apply to a QUIC flow");
	assert_error("table <t> { 127.0.0.1 port 1 }\n"
	    "listen on 127.0.0.1 port 8443 udp accept proxy from "
	    "\"127.0.0.1\" {\ndefault forward to <t>\n}\n",
	    "2: accept proxy cannot apply to udp");
	assert_error("table <t> { 127.0.0.1 port 1 }\n"
	    "listen on 127.0.0.1 port 8443 udp udp {\n"
	    "default forward to <t>\n}\n", "2: udp given twice");
	assert_error(LISTEN_UDP "default forward to <t>\n}\n"
	    "listen on 127.0.0.1 port 8443 tcp udp { default forward to <t> }"
	    "\n", "5: udp 127.0.0.1:8443 is already listened on");
}
END_TEST

/* Nobody may send a PROXY header unless listed, not even loopback. */
START_TEST(test_accept_proxy_from)
{
	struct config	*c;

	assert_error("table <t> { 127.0.0.1 port 1 }\n"
	    "listen on 127.0.0.1 port 8443 accept proxy {\n"
	    "default forward to <t>\n}\n", "2: accept proxy needs \"from\"");
	c = unit_parse("table <t> { 127.0.0.1 port 1 }\n"
	    "listen on 127.0.0.1 port 8443 accept proxy from \"::1\" {\n"
	    "default forward to <t>\n}\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	ck_assert_uint_eq(TAILQ_FIRST(&c->rulesets)->nproxy_from, 1);
	config_free(c);
}
END_TEST

/* Constructs whose cost has no bound are refused where they are. */
START_TEST(test_regex_unbounded)
{
	static const struct {
		const char	*re;
		const char	*what;
	} bad[] = {
		{ "(a*)\\\\1b", "backreference" },
		{ "(?<n>a)\\\\k<n>", "backreference" },
		{ "(a)\\\\g1", "backreference" },
		{ "(?P<n>a)(?P=n)", "backreference" },
		{ "a(?R)?b", "recursion" },
		{ "(a)(?1)", "recursion" },
		{ "(a)(?-1)", "recursion" },
		{ "(?<n>a)(?&n)", "recursion" },
		{ "(?P<n>a)(?P>n)", "subroutine" },
		{ "a(?C1)b", "callout" }
	};
	static const char *const good[] = {
		"(a|aa)*b", "^(HELO|EHLO) ", "[\\\\1]x", "(?i)abc", "(?-i)x",
		"(?P<n>a)b", "a\\\\d+"
	};
	char		 text[512], want[128];
	struct config	*c;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), LISTEN "\n"
		    "match payload regex \"%s\" block\n}\n", bad[i].re);
		snprintf(want, sizeof(want), "4: regex \"");
		assert_error(text, want);
		ck_assert_msg(strstr(unit_errs, bad[i].what) != NULL,
		    "%s: %s", bad[i].re, unit_errs);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), LISTEN
		    "match payload regex \"%s\" block\n}\n", good[i]);
		c = unit_parse(text);
		ck_assert_msg(c != NULL, "%s: %s", good[i], unit_errs);
		config_free(c);
	}
}
END_TEST

START_TEST(test_source)
{
	struct config		*c;
	struct sockaddr_in	*sin;

	c = unit_parse(LISTEN "match ssh forward to <t> source 127.0.0.2\n"
	    "default forward to <t> port 2 mode roundrobin source "
	    "::ffff:127.0.0.3\n}\n");
	ck_assert_msg(c != NULL, "%s", unit_errs);
	sin = (struct sockaddr_in *)&c->rules[0]->source;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000002);
	ck_assert_uint_eq(sin->sin_port, 0);
	ck_assert_int_eq(c->rules[0]->transparent, 0);
	/* Mapped, it is the IPv4 address, as the servers are. */
	sin = (struct sockaddr_in *)&c->rules[1]->source;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000003);
	config_free(c);

	assert_error(LISTEN "default forward to <t> source www.example.com\n"
	    "}\n", "3: source \"www.example.com\": not an IPv4 or IPv6 "
	    "address, nor \"client\"");
	assert_error(LISTEN "default forward to <t> source 127.0.0.2 "
	    "source 127.0.0.3\n}\n", "3: rule has more than one source");
	assert_error(LISTEN "default forward to <t> source ::1\n}\n",
	    "3: source ::1 is IPv6 and server 127.0.0.1:1 of table <t> "
	    "is not");
}
END_TEST

START_TEST(test_unmap)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct addrmask		 m;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(4242);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.1.2.3",
	    &sin6->sin6_addr), 1);
	ck_assert_int_eq(sockaddr_unmap(&ss), 1);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin->sin_port), 4242);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x0a010203);
	/* IPv4 stays as it is, and so does IPv6 that is not mapped. */
	ck_assert_int_eq(sockaddr_unmap(&ss), 0);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x0a010203);
	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "::a01:203", &sin6->sin6_addr),
	    1);
	ck_assert_int_eq(sockaddr_unmap(&ss), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);

	/* A rule written with a mapped network is the IPv4 one. */
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x0a010203);
	ck_assert_int_eq(addrmask_parse("::ffff:10.0.0.0/104", &m), 0);
	ck_assert_int_eq(m.af, AF_INET);
	ck_assert_int_eq(m.prefix, 8);
	ck_assert(addrmask_match(&m, (struct sockaddr *)&ss));
	ck_assert_int_eq(addrmask_parse("::ffff:10.1.2.3", &m), 0);
	ck_assert_int_eq(m.af, AF_INET);
	ck_assert_int_eq(m.prefix, 32);
	ck_assert(addrmask_match(&m, (struct sockaddr *)&ss));
	ck_assert_int_eq(addrmask_parse("::ffff:0:0/95", &m), 0);
	ck_assert_int_eq(m.af, AF_INET6);
}
END_TEST

START_TEST(test_patterns)
{
	ck_assert(pattern_valid("example.com"));
	ck_assert(pattern_valid("*.example.com"));
	ck_assert(pattern_valid("localhost"));
	ck_assert(!pattern_valid("*"));
	ck_assert(!pattern_valid("*."));
	ck_assert(!pattern_valid("a.*.com"));
	ck_assert(!pattern_valid("*example.com"));
	ck_assert(!pattern_valid(".example.com"));
	ck_assert(!pattern_valid("exa mple.com"));
	ck_assert(pattern_valid("example.com."));
	ck_assert(pattern_valid("*.example.com."));
	ck_assert(!pattern_valid("example.com.."));
	ck_assert(!pattern_valid("a..example.com"));
	ck_assert(!pattern_valid("*.."));

	ck_assert(pattern_match("example.com", "example.com"));
	ck_assert(pattern_match("example.com", "EXAMPLE.com"));
	ck_assert(!pattern_match("example.com", "www.example.com"));
	ck_assert(!pattern_match("example.com", "example.co"));
	ck_assert(pattern_match("*.example.com", "a.example.com"));
	ck_assert(pattern_match("*.example.com", "a.b.Example.COM"));
	ck_assert(!pattern_match("*.example.com", "example.com"));
	ck_assert(!pattern_match("*.example.com", ".example.com"));
	ck_assert(!pattern_match("*.example.com", "aexample.com"));
	ck_assert(!pattern_match("*.example.com", "a.example.com.evil"));
	/* One canonical form: case and one trailing dot do not count. */
	ck_assert(pattern_match("example.com", "example.com."));
	ck_assert(pattern_match("example.com.", "EXAMPLE.com"));
	ck_assert(pattern_match("*.example.com", "a.example.com."));
	ck_assert(!pattern_match("example.com", "example.com.."));
	ck_assert(!pattern_match("*.example.com", "a.example.com.."));
}
END_TEST

/*
 * A certbot tree: live/a links into archive/ relatively, live/b
 * absolutely.  The keys helper's root is the tree itself, and its own
 * link walk finds the files, chrooted or not; a link that leads out of
 * the root is refused by name.
 */
START_TEST(test_keypair_root)
{
	struct config	*c;
	char		 buf[PATH_MAX], top[512], le[600], root[PATH_MAX];
	char		 cmd[8192], text[4096], real[PATH_MAX], why[PATH_MAX];

	ck_assert_ptr_nonnull(realpath(unit_dir(), buf));
	ck_assert_uint_lt(strlcpy(top, buf, sizeof(top)), sizeof(top));
	snprintf(le, sizeof(le), "%s/le", top);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/archive/a %s/archive/b "
	    "%s/live/a %s/live/b %s/out && touch %s/archive/a/k1.pem "
	    "%s/archive/b/k1.pem %s/out/k.pem && "
	    "ln -s ../../archive/a/k1.pem %s/live/a/k.pem && "
	    "ln -s %s/archive/b/k1.pem %s/live/b/k.pem && "
	    "ln -s %s/out/k.pem %s/live/b/out.pem", le, le, le, le, top, le,
	    le, top, le, le, le, top, le);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(text, sizeof(text),
	    "keypair \"a\" {\n certificate \"%s/live/a/k.pem\"\n"
	    " key \"%s/live/a/k.pem\"\n}\n"
	    "keypair \"b\" {\n certificate \"%s/live/b/k.pem\"\n"
	    " key \"%s/live/b/k.pem\"\n}\n"
	    LISTEN "default block\n}\n", le, le, le, le);
	c = unit_parse(text);
	ck_assert_msg(c != NULL, "%s", unit_errs);
	keypair_common_root(c, root, sizeof(root));
	ck_assert_str_eq(root, le);
	config_free(c);

	keypair_root(le, 0);
	snprintf(text, sizeof(text), "%s/live/b/k.pem", le);
	ck_assert_int_eq(keypair_resolve(text, real, sizeof(real), why,
	    sizeof(why)), 0);
	snprintf(text, sizeof(text), "%s/archive/b/k1.pem", le);
	ck_assert_str_eq(real, text);
	snprintf(text, sizeof(text), "%s/live/a/k.pem", le);
	ck_assert_int_eq(keypair_resolve(text, real, sizeof(real), why,
	    sizeof(why)), 0);
	snprintf(text, sizeof(text), "%s/archive/a/k1.pem", le);
	ck_assert_str_eq(real, text);
	snprintf(text, sizeof(text), "%s/live/b/out.pem", le);
	ck_assert_int_eq(keypair_resolve(text, real, sizeof(real), why,
	    sizeof(why)), -1);
	ck_assert_msg(strstr(why, "live/b/out.pem leads to ") != NULL &&
	    strstr(why, ", outside ") != NULL, "%s", why);
	snprintf(text, sizeof(text), "%s/x.pem", top);
	ck_assert_int_eq(keypair_resolve(text, real, sizeof(real), why,
	    sizeof(why)), -1);
	keypair_root("/", 0);
}
END_TEST

Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, unit_setup, unit_teardown);
	tcase_add_test(tc, test_globals);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_rules);
	tcase_add_test(tc, test_macros);
	tcase_add_test(tc, test_listen_any);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_continuation);
	tcase_add_test(tc, test_errors);
	tcase_add_loop_test(tc, test_syntax_messages, 0,
	    sizeof(bad_inputs) / sizeof(bad_inputs[0]));
	tcase_add_test(tc, test_error_lines_continue);
	tcase_add_test(tc, test_balance_options);
	tcase_add_test(tc, test_no_listener);
	tcase_add_test(tc, test_keypairs);
	tcase_add_test(tc, test_keypair_errors);
	tcase_add_test(tc, test_keypair_root);
	tcase_add_test(tc, test_keypair_later);
	suite_add_tcase(s, tc);
	tc = tcase_create("values");
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_patterns);
	tcase_add_test(tc, test_unmap);
	tcase_add_test(tc, test_source);
	tcase_add_test(tc, test_regex_unbounded);
	tcase_add_test(tc, test_accept_proxy_from);
	tcase_add_test(tc, test_listen_udp);
	tcase_add_test(tc, test_listen_udp_errors);
	suite_add_tcase(s, tc);
	return (s);
}
