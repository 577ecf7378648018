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

%{
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balance.h"
#include "hello.h"
#include "log.h"
#include "sniproxyd.h"

TAILQ_HEAD(files, file)		 files = TAILQ_HEAD_INITIALIZER(files);
static struct file {
	TAILQ_ENTRY(file)	 entry;
	FILE			*stream;
	char			*text;		/* all of the file */
	char			*name;
	int			 lineno;
	int			 errors;
} *file, *topfile;

struct sym {
	TAILQ_ENTRY(sym)	 entry;
	int			 used;
	int			 persist;
	char			*nam;
	char			*val;
};
TAILQ_HEAD(symhead, sym)	 symhead = TAILQ_HEAD_INITIALIZER(symhead);

static struct file	*pushfile(const char *);
static int		 popfile(void);
static int		 yyparse(void);
static int		 yylex(void);
static int		 yyerror(const char *, ...)
			    __attribute__((__format__ (printf, 1, 2)));
static int		 kw_cmp(const void *, const void *);
static int		 lookup(char *);
static int		 lgetc(int);
static int		 lungetc(int);
static int		 findeol(void);
static int		 symset(const char *, const char *, int);
static char		*symget(const char *);

static struct config	*conf;
static struct ruleset	*ruleset;
static struct rule	*rule;
static int		 errors;

static int		 add_table(const char *, struct host *, size_t);
static int		 add_hosts(const char *, in_port_t, struct host **,
			    size_t *);
static int		 add_listeners(const char *, in_port_t);
static struct rule	*new_rule(enum rule_cond);
static int		 end_rule(void);
static int		 set_timeout(struct timeouts *, int, int64_t);
static int		 rule_patterns(char ***, size_t *, char **, size_t);
static int		 rule_alpn(char **, size_t);
static int		 rule_from(char **, size_t);
static int		 addrmasks(struct addrmask **, size_t *, char **,
			    size_t);
static int		 rule_from_table(const char *);
static int		 rule_payload(int64_t, int, char *);
static const char	*regex_unbounded(const char *);
static int		 rule_regex(struct payload *, const char *);
static void		 strv_free(char **, size_t);
static int		 rule_is_default;
/* A list of servers not yet in a table, for when the table fails. */
static struct host	*pending_hosts;
static struct {
	int		 weight;
	int		 backup;
} hostopts;
static int		 set_mode(const char *);
static int		 check_interval(int64_t);
static int		 set_check(const char *, char *, char *);
static struct keypair	*keypair;
static struct tlsopts	*tlsopts;
static int		 new_keypair(const char *);
static int		 end_keypair(void);
static int		 keypair_path(char **, char *);
static char		*conf_relative(char *);
static int		 tls_opt(char **, char *);
static struct keypair	*config_keypair(const char *);

typedef struct {
	union {
		int64_t			 number;
		char			*string;
		struct {
			struct host	*hosts;
			size_t		 nhosts;
		} hostlist;
		struct {
			char		**v;
			size_t		  n;
		} strv;
	} v;
	int lineno;
} YYSTYPE;

%}

%token	ALPN BLOCK CA CERTIFICATE CHROOT CIPHERS CONNECT CONNECTIONS CONTROL
%token	SOCKET DEFAULT ACCEPT PROXY SEND WEIGHT BACKUP MODE CHECK EXPECT
%token	INTERVAL RISE FALL RELOAD PER SOURCE BACKLOG INVALID
%token	FORWARD FROM HANDSHAKE HEX HOST HTTP IDLE INCLUDE INSPECT KEY KEYPAIR
%token	LISTEN LOG MATCH MAXCONN NO OCSP OFFSET ON OPENVPN PAYLOAD PORT
%token	PREFORK PROTOCOLS REGEX SERVERNAME SHUTDOWN SNI SSH TABLE TERMINATE
%token	TIMEOUT TLS TO USER VERIFY WITH
%token	ERROR
/*
 * "match tls" is a condition, "tls ciphers ..." an option: after
 * "match", tls always starts the condition.
 */
%expect 1
%token	<v.string>	STRING TABLENAME
%token	<v.number>	NUMBER
%type	<v.number>	port duration timeoutkind offset payloadkind
%type	<v.number>	forwardtls maxconn
%type	<v.strv>	strlist strentries
%type	<v.hostlist>	hostlist host
%type	<v.string>	string

%%

grammar		: /* empty */
		| grammar include '\n'
		| grammar '\n'
		| grammar varset '\n'
		| grammar main '\n'
		| grammar table '\n'
		| grammar keypair '\n'
		| grammar listen '\n'
		| grammar error '\n'		{ file->errors++; yyerrok; }
		;

include		: INCLUDE string		{
			struct file	*nfile;

			if ((nfile = pushfile($2)) == NULL) {
				yyerror("failed to include file %s", $2);
				free($2);
				YYERROR;
			}
			free($2);
			file = nfile;
			/*
			 * The newline that ends the include statement is read
			 * again as the first token of the new file: it must
			 * not count as one of that file's lines.
			 */
			file->lineno--;
			lungetc('\n');
		}
		;

string		: string STRING			{
			if (asprintf(&$$, "%s %s", $1, $2) == -1)
				fatal("string: asprintf");
			free($1);
			free($2);
		}
		| STRING
		;

varset		: STRING '=' string		{
			char *s;

			for (s = $1; *s; s++)
				if (!isalnum((unsigned char)*s) && *s != '_') {
					yyerror("macro name \"%s\" may only "
					    "hold letters, digits and _", $1);
					free($1);
					free($3);
					YYERROR;
				}
			if (symset($1, $3, 0) == -1)
				fatal("cannot store variable");
			free($1);
			free($3);
		}
		| STRING '=' NUMBER		{
			char	*v;

			if (asprintf(&v, "%lld", (long long)$3) == -1)
				fatal("varset: asprintf");
			if (symset($1, v, 0) == -1)
				fatal("cannot store variable");
			free($1);
			free(v);
		}
		;

optnl		: /* empty */
		| optnl '\n'
		;

nl		: '\n' optnl
		;

sep		: /* empty */
		| ',' optnl
		| nl
		;

main		: USER STRING			{
			if (strlcpy(conf->user, $2, sizeof(conf->user)) >=
			    sizeof(conf->user) || *$2 == '\0') {
				yyerror("invalid user name");
				free($2);
				YYERROR;
			}
			free($2);
		}
		| CHROOT STRING			{
			if (strlcpy(conf->chroot, $2, sizeof(conf->chroot)) >=
			    sizeof(conf->chroot) || *$2 != '/') {
				yyerror("chroot must be an absolute path");
				free($2);
				YYERROR;
			}
			free($2);
		}
		| PREFORK NUMBER		{
			if ($2 < 1 || $2 > PREFORK_MAX) {
				yyerror("prefork must be between 1 and %d",
				    PREFORK_MAX);
				YYERROR;
			}
			conf->prefork = $2;
		}
		| LOG CONNECTIONS		{ conf->log_connections = 1; }
		| CONTROL SOCKET STRING		{
			if (strlcpy(conf->control, $3, sizeof(conf->control)) >=
			    sizeof(conf->control) || *$3 != '/') {
				yyerror("control socket must be an absolute "
				    "path of at most %zu bytes",
				    sizeof(conf->control) - 1);
				free($3);
				YYERROR;
			}
			conf->control_set = 1;
			free($3);
		}
		| MAXCONN maxconn		{ conf->maxconn = $2; }
		| MAXCONN PER SOURCE maxconn	{ conf->maxconn_source = $4; }
		| TIMEOUT SHUTDOWN duration	{ conf->shutdown_ms = $3; }
		| RELOAD CHECK duration		{
			if (check_interval($3) == -1)
				YYERROR;
			conf->keycheck_ms = $3;
		}
		| TIMEOUT timeoutkind duration	{
			if (set_timeout(&conf->timeout, $2, $3) == -1)
				YYERROR;
		}
		;

maxconn		: NUMBER			{
			if ($1 < 1 || $1 > 1000000) {
				yyerror("maxconn must be between 1 and "
				    "1000000");
				YYERROR;
			}
			$$ = $1;
		}
		;

timeoutkind	: INSPECT			{ $$ = INSPECT; }
		| PROXY				{ $$ = PROXY; }
		| HANDSHAKE			{ $$ = HANDSHAKE; }
		| CONNECT			{ $$ = CONNECT; }
		| IDLE				{ $$ = IDLE; }
		;

duration	: NUMBER			{
			if ($1 < 0 || $1 > 7 * 86400) {
				yyerror("duration out of range");
				YYERROR;
			}
			$$ = $1 * 1000;
		}
		| STRING			{
			if (parse_duration($1, &$$) == -1) {
				yyerror("invalid duration \"%s\"", $1);
				free($1);
				YYERROR;
			}
			free($1);
		}
		;

port		: NUMBER			{
			if ($1 < 1 || $1 > 65535) {
				yyerror("port %lld out of range",
				    (long long)$1);
				YYERROR;
			}
			$$ = $1;
		}
		;

keypair		: KEYPAIR STRING		{
			if (new_keypair($2) == -1) {
				free($2);
				YYERROR;
			}
			free($2);
		} '{' optnl kpbody '}'		{
			if (end_keypair() == -1)
				YYERROR;
		}
		;

kpbody		: kpopts
		| kpopts kpopt
		;

kpopts		: /* empty */
		| kpopts kpopt nl
		;

kpopt		: CERTIFICATE STRING		{
			if (keypair_path(&keypair->cert_path, $2) == -1)
				YYERROR;
		}
		| KEY STRING			{
			if (keypair_path(&keypair->key_path, $2) == -1)
				YYERROR;
		}
		| OCSP STRING			{
			if (keypair_path(&keypair->ocsp_path, $2) == -1)
				YYERROR;
		}
		| RELOAD CHECK duration		{
			if (check_interval($3) == -1)
				YYERROR;
			keypair->check_ms = $3;
		}
		;

tlsopt		: PROTOCOLS STRING		{
			if (tls_opt(&tlsopts->protocols, $2) == -1)
				YYERROR;
		}
		| CIPHERS STRING		{
			if (tls_opt(&tlsopts->ciphers, $2) == -1)
				YYERROR;
		}
		| ALPN STRING			{
			if (tls_opt(&tlsopts->alpn, $2) == -1)
				YYERROR;
		}
		| CA STRING			{
			if (tls_opt(&tlsopts->ca, conf_relative($2)) == -1)
				YYERROR;
		}
		| SERVERNAME STRING		{
			if (tls_opt(&tlsopts->servername, $2) == -1)
				YYERROR;
		}
		| NO VERIFY			{ tlsopts->noverify = 1; }
		;

table		: TABLE TABLENAME '{' optnl hostlist '}'	{
			pending_hosts = NULL;
			if (add_table($2, $5.hosts, $5.nhosts) == -1) {
				free($2);
				YYERROR;
			}
			free($2);
		}
		;

hostlist	: host sep			{
			/* Left by a table in error: its list went nowhere. */
			free(pending_hosts);
			pending_hosts = $$.hosts = $1.hosts;
			$$.nhosts = $1.nhosts;
		}
		| hostlist host sep		{
			struct host	*h;

			pending_hosts = NULL;
			if ((h = reallocarray($1.hosts, $1.nhosts + $2.nhosts,
			    sizeof(*h))) == NULL)
				fatal("hostlist");
			pending_hosts = h;
			memcpy(h + $1.nhosts, $2.hosts,
			    $2.nhosts * sizeof(*h));
			free($2.hosts);
			$$.hosts = h;
			$$.nhosts = $1.nhosts + $2.nhosts;
		}
		;

host		: STRING PORT port hostopts	{
			size_t	 i;

			$$.hosts = NULL;
			$$.nhosts = 0;
			if (add_hosts($1, $3, &$$.hosts, &$$.nhosts) == -1) {
				free($1);
				YYERROR;
			}
			free($1);
			for (i = 0; i < $$.nhosts; i++) {
				$$.hosts[i].weight = hostopts.weight;
				$$.hosts[i].backup = hostopts.backup;
			}
		}
		;

hostopts	: /* empty */			{
			hostopts.weight = 1;
			hostopts.backup = 0;
		}
		| hostopts WEIGHT NUMBER	{
			if ($3 < 1 || $3 > 100) {
				yyerror("weight must be between 1 and 100");
				YYERROR;
			}
			hostopts.weight = $3;
		}
		| hostopts BACKUP		{ hostopts.backup = 1; }
		;

listen		: LISTEN ON STRING PORT port	{
			if ((ruleset = calloc(1, sizeof(*ruleset))) == NULL)
				fatal("ruleset");
			TAILQ_INIT(&ruleset->rules);
			ruleset->timeout.inspect = ruleset->timeout.connect =
			    ruleset->timeout.idle = ruleset->timeout.handshake =
			    ruleset->timeout.proxy = -1;
			ruleset->tls.noverify = -1;
			ruleset->maxconn_source = -1;
			TAILQ_INSERT_TAIL(&conf->rulesets, ruleset, entry);
			if (add_listeners($3, $5) == -1) {
				free($3);
				YYERROR;
			}
			free($3);
		} acceptproxy listenblock	{
			/* A rule in error is not there: say nothing more. */
			if (errors == 0 && TAILQ_EMPTY(&ruleset->rules) &&
			    ruleset->def == NULL) {
				yyerror("listener has no rules");
				YYERROR;
			}
			ruleset = NULL;
		}
		| LISTEN ON '*' PORT port	{
			yyerror("internal: * lexed as char");
			YYERROR;
		}
		;

acceptproxy	: /* empty */
		| ACCEPT PROXY			{
			yyerror("accept proxy needs \"from\" and the "
			    "addresses of the senders: nobody is trusted "
			    "unless listed");
			YYERROR;
		}
		| ACCEPT PROXY FROM strlist	{
			ruleset->accept_proxy = 1;
			if (addrmasks(&ruleset->proxy_from,
			    &ruleset->nproxy_from, $4.v, $4.n) == -1)
				YYERROR;
		}
		;

listenblock	: /* empty */
		| '{' optnl lstmts '}'
		| '{' optnl lstmts lstmt '}'
		;

lstmts		: /* empty */
		| lstmts lstmt nl
		| lstmts error nl		{ file->errors++; yyerrok; }
		;

lstmt		: TIMEOUT timeoutkind duration	{
			if (set_timeout(&ruleset->timeout, $2, $3) == -1)
				YYERROR;
		}
		| TLS				{
			tlsopts = &ruleset->tls;
		} tlsopt
		| MAXCONN maxconn		{ ruleset->maxconn = $2; }
		| MAXCONN PER SOURCE maxconn	{
			ruleset->maxconn_source = $4;
		}
		| BACKLOG NUMBER		{
			if ($2 < 1 || $2 > 65535) {
				yyerror("backlog must be between 1 and 65535");
				YYERROR;
			}
			ruleset->backlog = $2;
		}
		| MATCH				{
			rule_is_default = 0;
			rule = new_rule(COND_ANY);
		} fromopt condopt ruleopts	{
			if (end_rule() == -1)
				YYERROR;
		}
		| DEFAULT			{
			if (ruleset->def != NULL) {
				yyerror("listener already has a default rule");
				YYERROR;
			}
			rule_is_default = 1;
			rule = new_rule(COND_ANY);
		} ruleopts			{
			if (end_rule() == -1)
				YYERROR;
		}
		;

strlist		: STRING			{
			if (($$.v = calloc(1, sizeof(char *))) == NULL)
				fatal("strlist");
			$$.v[0] = $1;
			$$.n = 1;
		}
		| '{' optnl strentries '}'	{ $$ = $3; }
		;

strentries	: STRING sep			{
			if (($$.v = calloc(1, sizeof(char *))) == NULL)
				fatal("strlist");
			$$.v[0] = $1;
			$$.n = 1;
		}
		| strentries STRING sep		{
			if (($$.v = reallocarray($1.v, $1.n + 1,
			    sizeof(char *))) == NULL)
				fatal("strlist");
			$$.v[$1.n] = $2;
			$$.n = $1.n + 1;
		}
		;

fromopt		: /* empty */
		| FROM strlist			{
			if (rule_from($2.v, $2.n) == -1)
				YYERROR;
		}
		| FROM TABLENAME		{
			if (rule_from_table($2) == -1) {
				free($2);
				YYERROR;
			}
			free($2);
		}
		;

condopt		: /* empty */
		| TLS				{
			rule->cond = COND_TLS;
		} tlsopts
		| SSH				{ rule->cond = COND_SSH; }
		| HTTP				{
			rule->cond = COND_HTTP;
		} httpopts
		| OPENVPN			{ rule->cond = COND_OPENVPN; }
		| INVALID			{ rule->cond = COND_INVALID; }
		| PAYLOAD offset payloadkind STRING	{
			rule->cond = COND_PAYLOAD;
			if (rule_payload($2, $3, $4) == -1) {
				free($4);
				YYERROR;
			}
			free($4);
		}
		;

tlsopts		: /* empty */
		| tlsopts SNI strlist		{
			if (rule_patterns(&rule->sni, &rule->nsni,
			    $3.v, $3.n) == -1)
				YYERROR;
		}
		| tlsopts ALPN strlist		{
			if (rule_alpn($3.v, $3.n) == -1)
				YYERROR;
		}
		;

httpopts	: /* empty */
		| HOST strlist			{
			if (rule_patterns(&rule->host, &rule->nhost,
			    $2.v, $2.n) == -1)
				YYERROR;
		}
		;

offset		: /* empty */			{ $$ = 0; }
		| OFFSET NUMBER			{
			if ($2 >= HELLO_MAXBYTES) {
				yyerror("offset must be below %d",
				    HELLO_MAXBYTES);
				YYERROR;
			}
			$$ = $2;
		}
		;

payloadkind	: /* empty */			{ $$ = 0; }
		| HEX				{ $$ = HEX; }
		| REGEX				{ $$ = REGEX; }
		;

ruleopts	: /* empty */
		| ruleopts ruleopt
		;

ruleopt		: FORWARD forwardtls TO TABLENAME	{
			if (rule->action != ACT_NONE) {
				yyerror("rule has more than one action");
				free($4);
				YYERROR;
			}
			if ((rule->table = config_table(conf, $4)) == NULL) {
				yyerror("table <%s> is not defined", $4);
				free($4);
				YYERROR;
			}
			free($4);
			rule->action = ACT_FORWARD;
			rule->backend_tls = $2;
		} forwardopts
		| TERMINATE TLS			{ rule->terminate = 1; }
		| TERMINATE TLS KEYPAIR STRING	{
			rule->terminate = 1;
			if ((rule->keypair = config_keypair($4)) == NULL) {
				yyerror("keypair \"%s\" is not defined", $4);
				free($4);
				YYERROR;
			}
			free($4);
		}
		| TLS				{ tlsopts = &rule->tls; } tlsopt
		| SEND PROXY STRING		{
			if (strcmp($3, "v1") == 0)
				rule->send_proxy = 1;
			else if (strcmp($3, "v2") == 0)
				rule->send_proxy = 2;
			else {
				yyerror("send proxy v1 or v2, not %s", $3);
				free($3);
				YYERROR;
			}
			free($3);
		}
		| BLOCK				{
			if (rule->action != ACT_NONE) {
				yyerror("rule has more than one action");
				YYERROR;
			}
			rule->action = ACT_BLOCK;
		}
		| TIMEOUT timeoutkind duration	{
			if ($2 == INSPECT || $2 == PROXY) {
				yyerror("timeout %s belongs to a listener, not "
				    "a rule",
				    $2 == INSPECT ? "inspect" : "proxy");
				YYERROR;
			}
			if (set_timeout(&rule->timeout, $2, $3) == -1)
				YYERROR;
		}
		;

forwardtls	: /* empty */			{ $$ = 0; }
		| WITH TLS			{ $$ = 1; }
		;

forwardopts	: /* empty */
		| forwardopts PORT port		{ rule->port = $3; }
		| forwardopts MODE STRING	{
			if (set_mode($3) == -1) {
				free($3);
				YYERROR;
			}
			free($3);
		}
		| forwardopts CHECK STRING	{
			if (set_check($3, NULL, NULL) == -1) {
				free($3);
				YYERROR;
			}
			free($3);
		}
		| forwardopts CHECK TLS		{
			if (set_check(NULL, NULL, NULL) == -1)
				YYERROR;
			rule->check.type = CHECK_TLS;
		}
		| forwardopts CHECK SEND STRING EXPECT STRING {
			if (set_check(NULL, $4, $6) == -1)
				YYERROR;
		}
		| forwardopts INTERVAL duration	{
			if ($3 < 100) {
				yyerror("interval must be at least 100ms");
				YYERROR;
			}
			rule->check.interval = $3;
		}
		| forwardopts RISE NUMBER	{
			if ($3 < 1 || $3 > 100) {
				yyerror("rise must be between 1 and 100");
				YYERROR;
			}
			rule->check.rise = $3;
		}
		| forwardopts FALL NUMBER	{
			if ($3 < 1 || $3 > 100) {
				yyerror("fall must be between 1 and 100");
				YYERROR;
			}
			rule->check.fall = $3;
		}
		;

%%

struct keywords {
	const char	*k_name;
	int		 k_val;
};

static int
yyerror(const char *fmt, ...)
{
	va_list		 ap;
	char		*msg;

	file->errors++;
	errors++;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("yyerror vasprintf");
	va_end(ap);
	log_warnx("%s:%d: %s", file->name, yylval.lineno, msg);
	free(msg);
	return (0);
}

static int
kw_cmp(const void *k, const void *e)
{
	return (strcmp(k, ((const struct keywords *)e)->k_name));
}

static int
lookup(char *s)
{
	/* this has to be sorted always */
	static const struct keywords keywords[] = {
		{ "accept",		ACCEPT },
		{ "alpn",		ALPN },
		{ "backlog",		BACKLOG },
		{ "backup",		BACKUP },
		{ "block",		BLOCK },
		{ "ca",			CA },
		{ "certificate",	CERTIFICATE },
		{ "check",		CHECK },
		{ "chroot",		CHROOT },
		{ "ciphers",		CIPHERS },
		{ "connect",		CONNECT },
		{ "connections",	CONNECTIONS },
		{ "control",		CONTROL },
		{ "default",		DEFAULT },
		{ "expect",		EXPECT },
		{ "fall",		FALL },
		{ "forward",		FORWARD },
		{ "from",		FROM },
		{ "handshake",		HANDSHAKE },
		{ "hex",		HEX },
		{ "host",		HOST },
		{ "http",		HTTP },
		{ "idle",		IDLE },
		{ "include",		INCLUDE },
		{ "inspect",		INSPECT },
		{ "interval",		INTERVAL },
		{ "invalid",		INVALID },
		{ "key",		KEY },
		{ "keypair",		KEYPAIR },
		{ "listen",		LISTEN },
		{ "log",		LOG },
		{ "match",		MATCH },
		{ "maxconn",		MAXCONN },
		{ "mode",		MODE },
		{ "no",			NO },
		{ "ocsp",		OCSP },
		{ "offset",		OFFSET },
		{ "on",			ON },
		{ "openvpn",		OPENVPN },
		{ "payload",		PAYLOAD },
		{ "per",		PER },
		{ "port",		PORT },
		{ "prefork",		PREFORK },
		{ "protocols",		PROTOCOLS },
		{ "proxy",		PROXY },
		{ "regex",		REGEX },
		{ "reload",		RELOAD },
		{ "rise",		RISE },
		{ "send",		SEND },
		{ "servername",		SERVERNAME },
		{ "shutdown",		SHUTDOWN },
		{ "sni",		SNI },
		{ "socket",		SOCKET },
		{ "source",		SOURCE },
		{ "ssh",		SSH },
		{ "table",		TABLE },
		{ "terminate",		TERMINATE },
		{ "timeout",		TIMEOUT },
		{ "tls",		TLS },
		{ "to",			TO },
		{ "user",		USER },
		{ "verify",		VERIFY },
		{ "weight",		WEIGHT },
		{ "with",		WITH }
	};
	const struct keywords	*p;

	p = bsearch(s, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), kw_cmp);
	if (p != NULL)
		return (p->k_val);
	return (STRING);
}

/* Set while a macro's value is read, so that it cannot expand another. */
static int	expanding;

static int
igetc(void)
{
	return (getc(file->stream));
}

static unsigned char	*parsebuf;
static int		 parseindex;
static unsigned char	 pushback_buffer[1024];
static int		 pushback_index;

static int
lgetc(int quotec)
{
	int	 c, next;

	if (parsebuf) {
		/* Read character from the parsebuffer instead of input. */
		if (parseindex >= 0) {
			c = parsebuf[parseindex++];
			if (c != '\0')
				return (c);
			parsebuf = NULL;
			expanding = 0;
		} else
			parseindex++;
	}
	if (pushback_index)
		return (pushback_buffer[--pushback_index]);
	if (quotec) {
		if ((c = igetc()) == EOF) {
			yyerror("reached end of file while parsing "
			    "quoted string");
			if (file == topfile || popfile() == EOF)
				return (EOF);
			return (quotec);
		}
		return (c);
	}
	while ((c = igetc()) == '\\') {
		next = igetc();
		if (next != '\n') {
			c = next;
			break;
		}
		yylval.lineno = file->lineno;
		file->lineno++;
	}
	if (c == '\t' || c == ' ') {
		/* Compress blanks to a single space. */
		do {
			c = getc(file->stream);
		} while (c == '\t' || c == ' ');
		ungetc(c, file->stream);
		c = ' ';
	}
	if (c == EOF) {
		/*
		 * Fake EOL when hit EOF for the first time. This gets line
		 * count right if last line in included file is syntactically
		 * invalid and has no newline.
		 */
		if (file->stream != NULL && !feof(file->stream)) {
			getc(file->stream);
			return ('\n');
		}
		while (c == EOF) {
			if (file == topfile || popfile() == EOF)
				return (EOF);
			c = igetc();
		}
	}
	return (c);
}

static int
lungetc(int c)
{
	if (c == EOF)
		return (EOF);
	if (parsebuf) {
		parseindex--;
		if (parseindex >= 0)
			return (c);
	}
	if (pushback_index + 1 >= (int)sizeof(pushback_buffer))
		return (EOF);
	pushback_buffer[pushback_index++] = c;
	return (c);
}

static int
findeol(void)
{
	int	 c;

	parsebuf = NULL;
	pushback_index = 0;

	/* skip to either EOF or the first real EOL */
	while (1) {
		c = lgetc(0);
		if (c == '\n') {
			file->lineno++;
			break;
		}
		if (c == EOF)
			break;
	}
	return (ERROR);
}

static int
is_wordchar(int c)
{
	return (isalnum(c) || c == '-' || c == '_' || c == '.' ||
	    c == ':' || c == '/' || c == '$' || c == '*');
}

/* Reads \n \r \t \\ \" \xHH inside a quoted string. */
static int
lex_escape(void)
{
	int	 c, i, v = 0;

	switch (c = lgetc('"')) {
	case 'n':
		return ('\n');
	case 'r':
		return ('\r');
	case 't':
		return ('\t');
	case '\\':
	case '"':
		return (c);
	case 'x':
		for (i = 0; i < 2; i++) {
			c = lgetc('"');
			if (!isxdigit(c))
				return (-1);
			v = v * 16 + (isdigit(c) ? c - '0' :
			    tolower(c) - 'a' + 10);
		}
		return (v == 0 ? -1 : v);
	default:
		return (-1);
	}
}

static int
lex_quoted(char *buf, size_t bufsz)
{
	char	*p = buf;
	int	 c;

	for (;;) {
		if ((c = lgetc('"')) == EOF)
			return (0);
		if (c == '"')
			break;
		if (c == '\n') {
			yyerror("unterminated quoted string");
			file->lineno++;
			return (findeol());
		}
		if (c == '\\' && (c = lex_escape()) == -1) {
			yyerror("invalid escape in quoted string");
			return (findeol());
		}
		if (p + 1 >= buf + bufsz - 1) {
			yyerror("string too long");
			return (findeol());
		}
		*p++ = c;
	}
	*p = '\0';
	if ((yylval.v.string = strdup(buf)) == NULL)
		fatal("yylex: strdup");
	return (STRING);
}

static int
lex_tablename(char *buf, size_t bufsz)
{
	char	*p = buf;
	int	 c;

	while ((c = lgetc(0)) != EOF && (isalnum(c) || c == '-' ||
	    c == '_' || c == '.')) {
		if (p + 1 >= buf + bufsz) {
			yyerror("table name too long");
			return (findeol());
		}
		*p++ = c;
	}
	*p = '\0';
	if (c != '>' || p == buf) {
		yyerror("table name must be <name>");
		lungetc(c);
		return (findeol());
	}
	if ((yylval.v.string = strdup(buf)) == NULL)
		fatal("yylex: strdup");
	return (TABLENAME);
}

static int
lex_macro(char *buf, size_t bufsz)
{
	char	*p = buf, *val;
	int	 c;

	while (1) {
		if ((c = lgetc(0)) == EOF)
			return (0);
		if (p + 1 >= buf + bufsz - 1) {
			yyerror("string too long");
			return (findeol());
		}
		if (isalnum(c) || c == '_') {
			*p++ = c;
			continue;
		}
		*p = '\0';
		lungetc(c);
		break;
	}
	val = symget(buf);
	if (val == NULL) {
		yyerror("macro '%s' not defined", buf);
		return (findeol());
	}
	parsebuf = (unsigned char *)val;
	parseindex = 0;
	expanding = 1;
	return (-1);
}

static int
lex_word(char *buf, size_t bufsz, int c)
{
	char		*p = buf;
	const char	*errstr = NULL;
	int		 token, onlydigits = 1;

	do {
		if (!isdigit(c))
			onlydigits = 0;
		*p++ = c;
		if ((size_t)(p - buf) >= bufsz) {
			yyerror("string too long");
			return (findeol());
		}
	} while ((c = lgetc(0)) != EOF && is_wordchar(c) && c != '$');
	lungetc(c);
	*p = '\0';
	if (onlydigits) {
		yylval.v.number = strtonum(buf, 0, INT64_MAX, &errstr);
		if (errstr != NULL) {
			yyerror("\"%s\" invalid number: %s", buf, errstr);
			return (findeol());
		}
		return (NUMBER);
	}
	if ((token = lookup(buf)) == STRING)
		if ((yylval.v.string = strdup(buf)) == NULL)
			fatal("yylex: strdup");
	return (token);
}

static int
yylex(void)
{
	char	 buf[8096];
	int	 c, token;

top:
	while ((c = lgetc(0)) == ' ' || c == '\t')
		; /* nothing */

	yylval.lineno = file->lineno;
	if (c == '#')
		while ((c = lgetc(0)) != '\n' && c != EOF)
			; /* nothing */
	if (c == '$' && !expanding) {
		if ((token = lex_macro(buf, sizeof(buf))) == -1)
			goto top;
		return (token);
	}

	switch (c) {
	case '"':
		return (lex_quoted(buf, sizeof(buf)));
	case '<':
		return (lex_tablename(buf, sizeof(buf)));
	case '*':
		c = lgetc(0);
		lungetc(c);
		if (!is_wordchar(c)) {
			if ((yylval.v.string = strdup("*")) == NULL)
				fatal("yylex: strdup");
			return (STRING);
		}
		c = '*';
		break;
	}

	if (is_wordchar(c) && c != '$')
		return (lex_word(buf, sizeof(buf), c));
	if (c == '\n') {
		yylval.lineno = file->lineno;
		file->lineno++;
	}
	if (c == EOF)
		return (0);
	return (c);
}

/*
 * The file is read whole and parsed from memory: in priv, from what was
 * just read and is kept for the children; in a child, from that copy.
 */
#define CONF_MAX	(4 * 1024 * 1024)

static int
read_file(struct file *f)
{
	uint8_t	*text;
	size_t	 len;

	if (bundle_file(f->name, CONF_MAX, &text, &len) == -1) {
		if (errno == EFBIG)
			log_warnx("%s: not a file of at most %d bytes",
			    f->name, CONF_MAX);
		else
			log_warn("%s", f->name);
		return (-1);
	}
	f->text = (char *)text;
	/* An empty file reads as one empty line: fmemopen wants a byte. */
	if (len == 0)
		f->text[len++] = '\n';
	if ((f->stream = fmemopen(f->text, len, "r")) == NULL)
		fatal("%s: fmemopen", __func__);
	return (0);
}

static struct file *
pushfile(const char *name)
{
	struct file	*nfile;

	if ((nfile = calloc(1, sizeof(struct file))) == NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	if ((nfile->name = strdup(name)) == NULL) {
		log_warn("%s", __func__);
		free(nfile);
		return (NULL);
	}
	nfile->name = conf_relative(nfile->name);
	if (read_file(nfile) == -1) {
		free(nfile->name);
		free(nfile);
		return (NULL);
	}
	nfile->lineno = 1;
	TAILQ_INSERT_TAIL(&files, nfile, entry);
	return (nfile);
}

static int
popfile(void)
{
	struct file	*prev;

	if ((prev = TAILQ_PREV(file, files, entry)) != NULL)
		prev->errors += file->errors;

	TAILQ_REMOVE(&files, file, entry);
	fclose(file->stream);
	free(file->text);
	free(file->name);
	free(file);
	file = prev;
	return (file ? 0 : EOF);
}

/*
 * File names outlive the parse because rules name the file they came
 * from in every log line.
 */
static const char *
file_name_keep(const char *name)
{
	static char	**names;
	static size_t	  nnames;
	size_t		  i;

	for (i = 0; i < nnames; i++)
		if (strcmp(names[i], name) == 0)
			return (names[i]);
	if ((names = reallocarray(names, nnames + 1, sizeof(*names))) ==
	    NULL || (names[nnames] = strdup(name)) == NULL)
		fatal("%s", __func__);
	return (names[nnames++]);
}

struct config *
parse_config(const char *filename)
{
	struct sym	*sym, *next;

	if ((conf = config_new()) == NULL)
		fatal("%s", __func__);
	errors = 0;
	topfile = NULL;
	if (filename == NULL && (filename = bundle_main()) == NULL) {
		log_warnx("no configuration was given");
		config_free(conf);
		return (NULL);
	}
	if ((file = pushfile(filename)) == NULL) {
		config_free(conf);
		return (NULL);
	}
	topfile = file;

	yyparse();
	errors += file->errors;
	while (popfile() != EOF)
		;
	ruleset = NULL;
	if (rule != NULL)
		config_rule_free(rule);
	rule = NULL;
	if (keypair != NULL)
		keypair_free(keypair);
	keypair = NULL;
	free(pending_hosts);
	pending_hosts = NULL;

	/* Free macros and check which have not been used. */
	TAILQ_FOREACH_SAFE(sym, &symhead, entry, next) {
		if (!sym->used)
			log_debug("warning: macro '%s' not used", sym->nam);
		if (!sym->persist) {
			free(sym->nam);
			free(sym->val);
			TAILQ_REMOVE(&symhead, sym, entry);
			free(sym);
		}
	}
	if (errors == 0 && config_finish(conf) == -1)
		errors++;
	if (errors) {
		config_free(conf);
		return (NULL);
	}
	return (conf);
}

static int
symset(const char *nam, const char *val, int persist)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry) {
		if (strcmp(nam, sym->nam) == 0)
			break;
	}

	if (sym != NULL) {
		if (sym->persist == 1)
			return (0);
		else {
			free(sym->nam);
			free(sym->val);
			TAILQ_REMOVE(&symhead, sym, entry);
			free(sym);
		}
	}
	if ((sym = calloc(1, sizeof(*sym))) == NULL)
		return (-1);

	sym->nam = strdup(nam);
	if (sym->nam == NULL) {
		free(sym);
		return (-1);
	}
	sym->val = strdup(val);
	if (sym->val == NULL) {
		free(sym->nam);
		free(sym);
		return (-1);
	}
	sym->used = 0;
	sym->persist = persist;
	TAILQ_INSERT_TAIL(&symhead, sym, entry);
	return (0);
}

int
cmdline_symset(const char *s)
{
	char	*sym, *val;
	int	 ret;

	if ((val = strchr(s, '=')) == NULL)
		return (-1);
	sym = strndup(s, val - s);
	if (sym == NULL)
		fatal("%s: strndup", __func__);
	ret = symset(sym, val + 1, 1);
	free(sym);

	return (ret);
}

static char *
symget(const char *nam)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry) {
		if (strcmp(nam, sym->nam) == 0) {
			sym->used = 1;
			return (sym->val);
		}
	}
	return (NULL);
}

static int
add_table(const char *name, struct host *hosts, size_t nhosts)
{
	struct table	*t;

	if (config_table(conf, name) != NULL) {
		yyerror("table <%s> defined twice", name);
		free(hosts);
		return (-1);
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatal("%s", __func__);
	if (strlcpy(t->name, name, sizeof(t->name)) >= sizeof(t->name)) {
		yyerror("table name <%s> too long", name);
		free(hosts);
		free(t);
		return (-1);
	}
	if (nhosts > BALANCE_MAX) {
		yyerror("table <%s> has more than %d servers", name,
		    BALANCE_MAX);
		free(hosts);
		free(t);
		return (-1);
	}
	t->hosts = hosts;
	t->nhosts = nhosts;
	TAILQ_INSERT_TAIL(&conf->tables, t, entry);
	return (0);
}

static int
resolve(const char *name, in_port_t port, int passive,
    struct sockaddr_storage **ss, size_t *n)
{
	const char	*why;

	if (passive && strcmp(name, "*") == 0)
		name = NULL;
	if (bundle_resolve(name, port, passive, ss, n, &why) == -1) {
		yyerror("cannot resolve %s: %s", name ? name : "*", why);
		return (-1);
	}
	return (0);
}

static int
add_hosts(const char *name, in_port_t port, struct host **hosts,
    size_t *nhosts)
{
	struct sockaddr_storage	*ss;
	struct host		*h;
	size_t			 i, n;

	if (resolve(name, port, 0, &ss, &n) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		if ((h = reallocarray(*hosts, *nhosts + 1, sizeof(*h))) ==
		    NULL)
			fatal("%s", __func__);
		*hosts = h;
		h += *nhosts;
		memset(h, 0, sizeof(*h));
		h->ss = ss[i];
		h->sslen = sockaddr_len(&ss[i]);
		(*nhosts)++;
	}
	free(ss);
	return (0);
}

static int
add_listeners(const char *name, in_port_t port)
{
	struct sockaddr_storage	*ss;
	struct listener		*l, *o;
	size_t			 i, n;

	if (resolve(name, port, 1, &ss, &n) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		if ((l = calloc(1, sizeof(*l))) == NULL)
			fatal("%s", __func__);
		l->ss = ss[i];
		l->sslen = sockaddr_len(&ss[i]);
		l->fd = -1;
		l->file = file_name_keep(file->name);
		l->line = yylval.lineno;
		l->rs = ruleset;
		addr_str((struct sockaddr *)&l->ss, l->name, sizeof(l->name));
		TAILQ_FOREACH(o, &conf->listeners, entry)
			if (strcmp(o->name, l->name) == 0)
				break;
		if (o != NULL) {
			yyerror("%s is already listened on at %s:%d",
			    l->name, o->file, o->line);
			free(l);
			free(ss);
			return (-1);
		}
		TAILQ_INSERT_TAIL(&conf->listeners, l, entry);
	}
	free(ss);
	return (0);
}

static struct rule *
new_rule(enum rule_cond cond)
{
	struct rule	*r;

	/* What is left of a rule that was in error. */
	if (rule != NULL)
		config_rule_free(rule);

	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("%s", __func__);
	r->cond = cond;
	r->file = file_name_keep(file->name);
	r->line = yylval.lineno;
	r->timeout.inspect = r->timeout.connect = r->timeout.idle =
	    r->timeout.handshake = -1;
	r->tls.noverify = -1;
	r->route = -1;
	r->check.interval = 5000;
	r->check.rise = 2;
	r->check.fall = 3;
	return (r);
}

static int
end_rule(void)
{
	struct rule	*r = rule;

	rule = NULL;
	if (r->action == ACT_NONE) {
		yyerror("rule needs an action: forward to <table> or block");
		config_rule_free(r);
		return (-1);
	}
	if (r->check.type == CHECK_NONE && (r->check.interval != 5000 ||
	    r->check.rise != 2 || r->check.fall != 3)) {
		yyerror("interval, rise and fall go with a check");
		config_rule_free(r);
		return (-1);
	}
	if (r->terminate && r->action != ACT_FORWARD) {
		yyerror("terminate tls needs forward to <table>");
		config_rule_free(r);
		return (-1);
	}
	if (r->terminate && r->keypair == NULL &&
	    TAILQ_EMPTY(&conf->keypairs)) {
		yyerror("terminate tls without a keypair defined");
		config_rule_free(r);
		return (-1);
	}
	if (rule_is_default)
		ruleset->def = r;
	else
		TAILQ_INSERT_TAIL(&ruleset->rules, r, entry);
	return (0);
}

static int
set_timeout(struct timeouts *t, int kind, int64_t ms)
{
	if (ms <= 0) {
		yyerror("timeout must be positive");
		return (-1);
	}
	switch (kind) {
	case INSPECT:
		t->inspect = ms;
		break;
	case CONNECT:
		t->connect = ms;
		break;
	case IDLE:
		t->idle = ms;
		break;
	case HANDSHAKE:
		t->handshake = ms;
		break;
	case PROXY:
		t->proxy = ms;
		break;
	}
	return (0);
}

static void
strv_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Server name and host patterns, kept as name_canon() has them; takes v. */
static int
rule_patterns(char ***dst, size_t *ndst, char **v, size_t n)
{
	size_t	 i;

	if (*dst != NULL) {
		yyerror("pattern list given twice");
		strv_free(v, n);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if (!pattern_valid(v[i]) || name_canon(v[i]) == -1) {
			yyerror("invalid name pattern \"%s\"", v[i]);
			strv_free(v, n);
			return (-1);
		}
	}
	*dst = v;
	*ndst = n;
	return (0);
}

static int
rule_alpn(char **v, size_t n)
{
	size_t	 i, len;

	if (rule->alpn != NULL) {
		yyerror("alpn given twice");
		strv_free(v, n);
		return (-1);
	}
	for (i = 0; i < n; i++)
		if ((len = strlen(v[i])) == 0 || len > HELLO_ALPN_LEN) {
			yyerror("alpn protocol must be 1 to %d bytes",
			    HELLO_ALPN_LEN);
			strv_free(v, n);
			return (-1);
		}
	rule->alpn = v;
	rule->nalpn = n;
	return (0);
}

static int
addrmasks(struct addrmask **dst, size_t *ndst, char **v, size_t n)
{
	size_t	 i;

	if ((*dst = calloc(n, sizeof(**dst))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < n; i++)
		if (addrmask_parse(v[i], &(*dst)[i]) == -1) {
			yyerror("invalid address \"%s\": want ADDR or "
			    "ADDR/PREFIX", v[i]);
			strv_free(v, n);
			return (-1);
		}
	*ndst = n;
	strv_free(v, n);
	return (0);
}

static int
rule_from(char **v, size_t n)
{
	return (addrmasks(&rule->from, &rule->nfrom, v, n));
}

static int
rule_from_table(const char *name)
{
	struct table	*t;
	struct addrmask	*m;
	size_t		 i;

	if ((t = config_table(conf, name)) == NULL) {
		yyerror("table <%s> is not defined", name);
		return (-1);
	}
	if ((rule->from = calloc(t->nhosts, sizeof(*m))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < t->nhosts; i++) {
		m = &rule->from[i];
		m->af = t->hosts[i].ss.ss_family;
		if (m->af == AF_INET) {
			memcpy(m->addr, &((struct sockaddr_in *)
			    &t->hosts[i].ss)->sin_addr, 4);
			m->prefix = 32;
		} else {
			memcpy(m->addr, &((struct sockaddr_in6 *)
			    &t->hosts[i].ss)->sin6_addr, 16);
			m->prefix = 128;
		}
	}
	rule->nfrom = t->nhosts;
	return (0);
}

static int
hex_decode(const char *s, uint8_t **out, size_t *outlen)
{
	size_t	 i, n = 0;
	char	 byte[3] = { 0, 0, 0 };

	if ((*out = malloc(strlen(s) / 2 + 1)) == NULL)
		fatal("%s", __func__);
	for (i = 0; s[i] != '\0'; ) {
		if (isspace((unsigned char)s[i])) {
			i++;
			continue;
		}
		if (!isxdigit((unsigned char)s[i]) ||
		    !isxdigit((unsigned char)s[i + 1]))
			return (-1);
		byte[0] = s[i];
		byte[1] = s[i + 1];
		(*out)[n++] = strtoul(byte, NULL, 16);
		i += 2;
	}
	*outlen = n;
	return (n == 0 ? -1 : 0);
}

/*
 * What a regex may not hold: constructs whose cost no limit on the
 * matcher's steps keeps proportional to the input, or that run code.
 * Returns the name of the first one, or NULL.
 */
static const char *
regex_unbounded(const char *re)
{
	const char	*p;
	int		 class = 0;

	for (p = re; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0')
				break;
			p++;
			if (class)
				continue;
			if (*p >= '1' && *p <= '9')
				return ("backreference");
			if (*p == 'g' || *p == 'k')
				return ("backreference or subroutine call");
			continue;
		}
		if (class) {
			if (*p == ']')
				class = 0;
			continue;
		}
		if (*p == '[') {
			class = 1;
			/* A ']' first in a class is one of its members. */
			if (p[1] == '^')
				p++;
			if (p[1] == ']')
				p++;
			continue;
		}
		if (*p != '(' || p[1] != '?')
			continue;
		switch (p[2]) {
		case '+':
		case '-':
			/* (?-i) sets an option, (?-1) calls a group. */
			if (p[3] >= '0' && p[3] <= '9')
				return ("recursion or subroutine call");
			break;
		case 'R':
		case '&':
		case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			return ("recursion or subroutine call");
		case 'P':
			if (p[3] == '=')
				return ("backreference");
			if (p[3] == '>')
				return ("subroutine call");
			break;
		case 'C':
			return ("callout");
		}
	}
	return (NULL);
}

static int
rule_regex(struct payload *p, const char *str)
{
	PCRE2_UCHAR	 err[128];
	PCRE2_SIZE	 off;
	uint32_t	 refs = 0;
	const char	*what;
	int		 rc;

	if ((what = regex_unbounded(str)) != NULL) {
		yyerror("regex \"%s\": %s not allowed: its cost has no bound",
		    str, what);
		return (-1);
	}
	/* Bytes, not text: no UTF checks and no way to ask for them. */
	if ((p->re = pcre2_compile((PCRE2_SPTR)str, PCRE2_ZERO_TERMINATED,
	    PCRE2_NEVER_UTF | PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C,
	    &rc, &off, NULL)) == NULL) {
		pcre2_get_error_message(rc, err, sizeof(err));
		yyerror("invalid regex \"%s\": %s at offset %zu", str,
		    (char *)err, (size_t)off);
		return (-1);
	}
	/* Whatever the scan above missed, PCRE2 itself knows. */
	pcre2_pattern_info(p->re, PCRE2_INFO_BACKREFMAX, &refs);
	if (refs > 0) {
		pcre2_code_free(p->re);
		p->re = NULL;
		yyerror("regex \"%s\": backreference not allowed: its cost "
		    "has no bound", str);
		return (-1);
	}
	/* Without JIT, the interpreter keeps to the same limits. */
	(void)pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE);
	return (0);
}

static int
rule_payload(int64_t offset, int kind, char *str)
{
	struct payload	*p = &rule->payload;

	p->offset = offset;
	if (kind == HEX) {
		if (hex_decode(str, &p->bytes, &p->len) == -1) {
			yyerror("invalid hex string \"%s\"", str);
			return (-1);
		}
	} else if (kind == REGEX) {
		if (rule_regex(p, str) == -1)
			return (-1);
	} else {
		if ((p->len = strlen(str)) == 0) {
			yyerror("empty payload string");
			return (-1);
		}
		if ((p->bytes = malloc(p->len)) == NULL)
			fatal("%s", __func__);
		memcpy(p->bytes, str, p->len);
	}
	if (p->offset + p->len > HELLO_MAXBYTES) {
		yyerror("payload reaches past the %d bytes looked at",
		    HELLO_MAXBYTES);
		return (-1);
	}
	return (0);
}

static int
new_keypair(const char *name)
{
	/* What is left of a keypair block that was in error. */
	if (keypair != NULL) {
		keypair_free(keypair);
		keypair = NULL;
	}
	if (config_keypair(name) != NULL) {
		yyerror("keypair \"%s\" defined twice", name);
		return (-1);
	}
	if ((keypair = calloc(1, sizeof(*keypair))) == NULL)
		fatal("%s", __func__);
	if (strlcpy(keypair->name, name, sizeof(keypair->name)) >=
	    sizeof(keypair->name) || *name == '\0') {
		yyerror("invalid keypair name");
		free(keypair);
		keypair = NULL;
		return (-1);
	}
	keypair->file = file_name_keep(file->name);
	keypair->line = yylval.lineno;
	keypair->check_ms = -1;
	return (0);
}

/*
 * The files are not read here: only the keys helper, and sniproxyd -n,
 * ever read a key (keys.c).
 */
static int
end_keypair(void)
{
	struct keypair	*kp = keypair;

	keypair = NULL;
	if (kp->cert_path == NULL || kp->key_path == NULL) {
		yyerror("keypair \"%s\" needs a certificate and a key",
		    kp->name);
		keypair_free(kp);
		return (-1);
	}
	kp->id = conf->nkeypairs++;
	TAILQ_INSERT_TAIL(&conf->keypairs, kp, entry);
	return (0);
}

/*
 * A relative file name is taken from the directory of the main file,
 * wherever sniproxyd was started: the name then means the same file at
 * start and on every reload.  Takes path.
 */
static char *
conf_relative(char *path)
{
	const char	*slash;
	char		*abs;

	if (path[0] == '/' || topfile == NULL ||
	    (slash = strrchr(topfile->name, '/')) == NULL)
		return (path);
	if (asprintf(&abs, "%.*s/%s", (int)(slash - topfile->name),
	    topfile->name, path) == -1)
		fatal("%s", __func__);
	free(path);
	return (abs);
}

static int
keypair_path(char **dst, char *path)
{
	if (*dst != NULL) {
		yyerror("file given twice");
		free(path);
		return (-1);
	}
	*dst = conf_relative(path);
	return (0);
}

static int
tls_opt(char **dst, char *val)
{
	if (*dst != NULL) {
		yyerror("tls option given twice");
		free(val);
		return (-1);
	}
	*dst = val;
	return (0);
}

static struct keypair *
config_keypair(const char *name)
{
	struct keypair	*kp;

	TAILQ_FOREACH(kp, &conf->keypairs, entry)
		if (strcmp(kp->name, name) == 0)
			return (kp);
	return (NULL);
}

static int
set_mode(const char *m)
{
	static const char *const modes[] = {
		"roundrobin", "leastconn", "source-hash", "failover"
	};
	size_t	 i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(m, modes[i]) == 0) {
			rule->mode = i;
			return (0);
		}
	yyerror("mode must be roundrobin, leastconn, source-hash or "
	    "failover, not %s", m);
	return (-1);
}

/* check tcp, check tls, check send "..." expect "..."; takes s and e. */
static int
set_check(const char *word, char *s, char *e)
{
	if (rule->check.type != CHECK_NONE) {
		yyerror("check given twice");
		free(s);
		free(e);
		return (-1);
	}
	if (s != NULL) {
		if (*e == '\0') {
			yyerror("check expect needs a string to wait for");
			free(s);
			free(e);
			return (-1);
		}
		rule->check.type = CHECK_SEND;
		rule->check.send = s;
		rule->check.expect = e;
		return (0);
	}
	if (word == NULL)
		return (0);
	if (strcmp(word, "tcp") != 0) {
		yyerror("check tcp, check tls or check send ... expect ..., "
		    "not check %s", word);
		return (-1);
	}
	rule->check.type = CHECK_TCP;
	return (0);
}

static int
check_interval(int64_t ms)
{
	if (ms < 100) {
		yyerror("reload check must be at least 100ms");
		return (-1);
	}
	return (0);
}
