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
#include "classify.h"
#include "hello.h"
#include "log.h"
#include "sniproxyd.h"

#define MINIMUM(a, b)	(((a) < (b)) ? (a) : (b))

/* What a listen line binds. */
#define PROTO_TCP	0x1
#define PROTO_UDP	0x2

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

/*
 * A syntax error says what the grammar would have taken instead, which
 * only the parser's state tells: the state on top of its stack and the
 * one below it.
 */
#define YYERROR_CALL(msg)	parse_error((msg), yystate, \
			    yystack.s_mark > yystack.s_base ? \
			    yystack.s_mark[-1] : -1)
static void		 parse_error(const char *, int, int);
static void		 skip_block(void);

static struct config	*conf;
static struct ruleset	*ruleset;
static struct rule	*rule;
static int		 errors;

static int		 add_table(const char *, struct host *, size_t);
static int		 add_hosts(const char *, in_port_t, struct host **,
			    size_t *);
static int		 add_listeners(const char *, in_port_t, int);
static struct rule	*new_rule(enum rule_cond);
static int		 end_rule(void);
static const char	*rule_tls_unused(const struct rule *);
static int		 set_timeout(struct timeouts *, int, int64_t);
static int		 set_rate(const char *, int *, int64_t *);
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
static int		 set_source(const char *);
static int		 rule_source_family(const struct rule *);
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
static int		 resolve_keypairs(void);
static int		 set_check_http(int, char *, int64_t, char *);
static int		 listeners_clash(const struct listener *,
			    const struct listener *);
static int		 resolve_keypair(struct rule *);

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

%token	ALPN BLOCK CA CERTIFICATE CHROOT CIPHERS CODE CONNECT CONNECTIONS
%token	CONTROL HTTPS
%token	SOCKET DEFAULT ACCEPT PROXY SEND WEIGHT BACKUP MODE CHECK EXPECT
%token	INTERVAL RISE FALL RELOAD PER SOURCE BACKLOG INVALID RATE
%token	FORWARD FROM HANDSHAKE HEX HOST HTTP IDLE INCLUDE INSPECT KEY KEYPAIR
%token	LISTEN LOG MATCH MAXCONN NO OCSP OFFSET ON OPENVPN PAYLOAD PORT
%token	PREFORK PROTOCOLS REGEX SANDBOX SERVERNAME SHUTDOWN SNI SSH TABLE
%token	TERMINATE TCP TIMEOUT TLS TO UDP USER VERIFY WITH
%token	ERROR
/*
 * "match tls" is a condition, "tls ciphers ..." an option: after
 * "match", tls always starts the condition.
 */
%expect 1
%token	<v.string>	STRING TABLENAME
%token	<v.number>	NUMBER
%type	<v.number>	port duration timeoutkind offset payloadkind
%type	<v.number>	forwardtls maxconn protos proto
%type	<v.strv>	strlist strentries
%type	<v.hostlist>	hostlist host
%type	<v.string>	string checkhost

%%

grammar		: /* empty */
		| grammar include '\n'
		| grammar '\n'
		| grammar varset '\n'
		| grammar main '\n'
		| grammar table '\n'
		| grammar keypair '\n'
		| grammar listen '\n'
		| grammar error '\n'		{
			file->errors++;
			yyerrok;
			skip_block();
		}
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
		| ACCEPT NUMBER			{
			if ($2 < 1 || $2 > ACCEPT_MAX) {
				yyerror("accept %lld: the number of accept "
				    "processes is from 1 to %d",
				    (long long)$2, ACCEPT_MAX);
				YYERROR;
			}
			conf->naccept = $2;
		}
		| ACCEPT STRING			{
			yyerror("accept %s: the number of accept processes "
			    "is from 1 to %d", $2, ACCEPT_MAX);
			free($2);
			YYERROR;
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
		| SANDBOX STRING		{
			if (strcmp($2, "none") != 0) {
				yyerror("sandbox takes none only");
				free($2);
				YYERROR;
			}
			conf->unfiltered = 1;
			free($2);
		}
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
		| MAXCONN RATE STRING		{
			if (set_rate($3, &conf->rate_conns,
			    &conf->rate_ms) == -1) {
				free($3);
				YYERROR;
			}
			free($3);
		}
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
			if ($3 < 1 || $3 > HOST_WEIGHT_MAX) {
				yyerror("weight must be between 1 and %d",
				    HOST_WEIGHT_MAX);
				YYERROR;
			}
			hostopts.weight = $3;
		}
		| hostopts BACKUP		{ hostopts.backup = 1; }
		;

listen		: LISTEN ON STRING PORT port protos	{
			if ((ruleset = calloc(1, sizeof(*ruleset))) == NULL)
				fatal("ruleset");
			TAILQ_INIT(&ruleset->rules);
			ruleset->timeout.inspect = ruleset->timeout.connect =
			    ruleset->timeout.idle = ruleset->timeout.handshake =
			    ruleset->timeout.proxy = -1;
			ruleset->tls.noverify = -1;
			ruleset->maxconn_source = -1;
			ruleset->rate_conns = -1;
			ruleset->tcp = ($6 & PROTO_TCP) != 0;
			ruleset->udp = ($6 & PROTO_UDP) != 0;
			TAILQ_INSERT_TAIL(&conf->rulesets, ruleset, entry);
			if (add_listeners($3, $5, $6) == -1) {
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

protos		: /* empty */			{ $$ = PROTO_TCP; }
		| proto				{ $$ = $1; }
		| proto proto			{
			if ($1 == $2) {
				yyerror("%s given twice",
				    $1 == PROTO_TCP ? "tcp" : "udp");
				YYERROR;
			}
			$$ = $1 | $2;
		}
		;

proto		: TCP				{ $$ = PROTO_TCP; }
		| UDP				{ $$ = PROTO_UDP; }
		;

acceptproxy	: /* empty */
		| ACCEPT PROXY			{
			yyerror("accept proxy needs \"from\" and the "
			    "addresses of the senders: nobody is trusted "
			    "unless listed");
			YYERROR;
		}
		| ACCEPT PROXY FROM strlist	{
			if (ruleset->udp) {
				yyerror("accept proxy cannot apply to udp: "
				    "no PROXY header comes before QUIC "
				    "datagrams");
				strv_free($4.v, $4.n);
				YYERROR;
			}
			ruleset->accept_proxy = 1;
			if (addrmasks(&ruleset->proxy_from,
			    &ruleset->nproxy_from, $4.v, $4.n) == -1)
				YYERROR;
		}
		;

/*
 * Blank lines are statements of their own, so that the state right after
 * the brace already holds the error rule: a mistake on the first line
 * of the block is then recovered from inside the block.
 */
listenblock	: /* empty */
		| '{' lstmts '}'
		| '{' lstmts lstmt '}'
		| '{' lstmts error '}'		{ file->errors++; yyerrok; }
		;

lstmts		: /* empty */
		| lstmts '\n'
		| lstmts lstmt '\n'
		| lstmts error '\n'		{ file->errors++; yyerrok; }
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
		| MAXCONN RATE STRING		{
			if (set_rate($3, &ruleset->rate_conns,
			    &ruleset->rate_ms) == -1) {
				free($3);
				YYERROR;
			}
			free($3);
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
			/* Named now, found once every keypair is read. */
			rule->terminate = 1;
			free(rule->keypair_name);
			rule->keypair_name = $4;
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

checkhost	: /* empty */			{ $$ = NULL; }
		| HOST STRING			{ $$ = $2; }
		;

forwardopts	: /* empty */
		| forwardopts PORT port		{ rule->port = $3; }
		| forwardopts SOURCE STRING	{
			if (set_source($3) == -1) {
				free($3);
				YYERROR;
			}
			free($3);
		}
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
		| forwardopts CHECK TCP		{
			if (set_check("tcp", NULL, NULL) == -1)
				YYERROR;
		}
		| forwardopts CHECK UDP		{
			(void)set_check("udp", NULL, NULL);
			YYERROR;
		}
		| forwardopts CHECK TLS		{
			if (set_check(NULL, NULL, NULL) == -1)
				YYERROR;
			rule->check.type = CHECK_TLS;
			rule->check.tls = 1;
		}
		| forwardopts CHECK SEND STRING EXPECT STRING {
			if (set_check(NULL, $4, $6) == -1)
				YYERROR;
		}
		| forwardopts CHECK SEND STRING EXPECT STRING WITH TLS {
			if (set_check(NULL, $4, $6) == -1)
				YYERROR;
			rule->check.tls = 1;
		}
		| forwardopts CHECK HTTP STRING CODE NUMBER checkhost {
			if (set_check_http(0, $4, $6, $7) == -1)
				YYERROR;
		}
		| forwardopts CHECK HTTPS STRING CODE NUMBER checkhost {
			if (set_check_http(1, $4, $6, $7) == -1)
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

/* Sorted, for bsearch. */
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
	{ "code",		CODE },
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
	{ "https",		HTTPS },
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
	{ "rate",		RATE },
	{ "regex",		REGEX },
	{ "reload",		RELOAD },
	{ "rise",		RISE },
	{ "sandbox",		SANDBOX },
	{ "send",		SEND },
	{ "servername",		SERVERNAME },
	{ "shutdown",		SHUTDOWN },
	{ "sni",		SNI },
	{ "socket",		SOCKET },
	{ "source",		SOURCE },
	{ "ssh",		SSH },
	{ "table",		TABLE },
	{ "tcp",		TCP },
	{ "terminate",		TERMINATE },
	{ "timeout",		TIMEOUT },
	{ "tls",		TLS },
	{ "to",			TO },
	{ "udp",		UDP },
	{ "user",		USER },
	{ "verify",		VERIFY },
	{ "weight",		WEIGHT },
	{ "with",		WITH }
};
#define NKEYWORDS	(sizeof(keywords) / sizeof(keywords[0]))

static int
lookup(char *s)
{
	const struct keywords	*p;

	p = bsearch(s, keywords, NKEYWORDS, sizeof(keywords[0]), kw_cmp);
	if (p != NULL)
		return (p->k_val);
	return (STRING);
}

/* Set while a macro's value is read, so that it cannot expand another. */
static int	expanding;

/* What the token being read was, for the messages of syntax errors. */
static int	lex_wasquoted;
static int	lex_wasmacro;
static char	lex_macroname[64];

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
	lex_wasquoted = 1;
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
	strlcpy(lex_macroname, buf, sizeof(lex_macroname));
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
lex_token(void)
{
	char	 buf[8096];
	int	 c, token;

	lex_wasquoted = 0;
top:
	while ((c = lgetc(0)) == ' ' || c == '\t')
		; /* nothing */
	lex_wasmacro = parsebuf != NULL;

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
 * The last two tokens as written: a syntax error is often explained by
 * the word before the one the grammar stopped at.
 */
struct tokinfo {
	int	 tok;
	int	 quoted;
	int	 first;		/* the first of its statement */
	char	 macro[64];	/* the macro it came from, or "" */
	char	 text[64];
};
static struct tokinfo	 tok_cur, tok_prev;
static int		 lex_depth;	/* braces open */

static int
yylex(void)
{
	struct tokinfo	*t = &tok_cur;
	size_t		 i;
	int		 tok;

	tok_prev = tok_cur;
	tok = lex_token();
	memset(t, 0, sizeof(*t));
	t->tok = tok;
	t->quoted = lex_wasquoted;
	t->first = tok_prev.tok == '\n' || tok_prev.tok == '{' ||
	    tok_prev.tok == 0;
	if (lex_wasmacro)
		strlcpy(t->macro, lex_macroname, sizeof(t->macro));
	switch (tok) {
	case STRING:
		strlcpy(t->text, yylval.v.string, sizeof(t->text));
		break;
	case TABLENAME:
		snprintf(t->text, sizeof(t->text), "<%s>", yylval.v.string);
		break;
	case NUMBER:
		snprintf(t->text, sizeof(t->text), "%lld",
		    (long long)yylval.v.number);
		break;
	case '{':
		lex_depth++;
		break;
	case '}':
		if (lex_depth > 0)
			lex_depth--;
		break;
	}
	for (i = 0; i < NKEYWORDS; i++)
		if (keywords[i].k_val == tok)
			strlcpy(t->text, keywords[i].k_name, sizeof(t->text));
	return (tok);
}

/*
 * A statement in error that opened a block (a listener on a bad port, a
 * table with a bad server) is skipped to the end of the block: each of
 * its lines would be another, false, error at the top level.
 */
static void
skip_block(void)
{
	int	 tok;

	while (lex_depth > 0 && (tok = yylex()) != 0)
		if (tok == STRING || tok == TABLENAME)
			free(yylval.v.string);
}

/* Whether the grammar takes tok in state, from yacc's tables. */
static int
takes(int state, int tok)
{
	int	 i;

	if ((i = yysindex[state]) != 0 && (i += tok) >= 0 &&
	    i <= YYTABLESIZE && yycheck[i] == tok)
		return (1);
	if ((i = yyrindex[state]) != 0 && (i += tok) >= 0 &&
	    i <= YYTABLESIZE && yycheck[i] == tok)
		return (1);
	return (0);
}

static size_t
edit_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, diag, up;
	size_t	 d[64];

	if (la >= sizeof(d) / sizeof(d[0]) || lb >= sizeof(d) / sizeof(d[0]))
		return (SIZE_MAX);
	for (j = 0; j <= lb; j++)
		d[j] = j;
	for (i = 1; i <= la; i++) {
		diag = d[0];
		d[0] = i;
		for (j = 1; j <= lb; j++) {
			up = d[j];
			d[j] = MINIMUM(MINIMUM(up, d[j - 1]) + 1,
			    diag + (a[i - 1] != b[j - 1]));
			diag = up;
		}
	}
	return (d[lb]);
}

/*
 * The keyword that word is a typo of, among those the grammar takes in
 * state, or with state -1 among all.
 */
static const char *
nearest_keyword(int state, const char *word)
{
	const char	*best = NULL;
	size_t		 i, d, bestd, len = strlen(word);

	bestd = len <= 4 ? 1 : 2;
	for (i = 0; i < NKEYWORDS; i++) {
		if (state != -1 && !takes(state, keywords[i].k_val))
			continue;
		d = edit_distance(word, keywords[i].k_name);
		if (d <= bestd && d < len && (best == NULL || d < bestd)) {
			best = keywords[i].k_name;
			bestd = d;
		}
	}
	return (best);
}

/* "a, b or c": what the grammar takes in state. */
static void
expected_list(int state, int stmt_start, char *buf, size_t len)
{
	static const struct {
		int		 tok;
		const char	*name;
	} others[] = {
		{ STRING,	"a string" },
		{ NUMBER,	"a number" },
		{ TABLENAME,	"<table>" },
		{ '{',		"\"{\"" },
		{ '}',		"\"}\"" },
		{ ',',		"\",\"" },
		{ '=',		"\"=\"" },
		{ '*',		"\"*\"" },
		{ '\n',		"end of line" }
	};
	const char	*names[NKEYWORDS + 16];
	size_t		 i, n = 0;

	for (i = 0; i < NKEYWORDS; i++)
		if (takes(state, keywords[i].k_val))
			names[n++] = keywords[i].k_name;
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (!takes(state, others[i].tok))
			continue;
		/* A blank line is no answer to a mistake in a statement. */
		if (others[i].tok == '\n' && stmt_start && n > 0)
			continue;
		if (others[i].tok == STRING && stmt_start)
			names[n++] = "a macro definition";
		else
			names[n++] = others[i].name;
	}
	*buf = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strlcat(buf, i == n - 1 ? " or " : ", ", len);
		strlcat(buf, names[i], len);
	}
}

static void
token_describe(const struct tokinfo *t, char *buf, size_t len)
{
	switch (t->tok) {
	case 0:
		strlcpy(buf, "end of file", len);
		break;
	case '\n':
		strlcpy(buf, "end of line", len);
		break;
	case STRING:
		snprintf(buf, len, "%s\"%s\"", t->quoted ? "string " : "",
		    t->text);
		break;
	case TABLENAME:
		strlcpy(buf, t->text, len);
		break;
	default:
		if (t->tok > 0 && t->tok < 256)
			snprintf(buf, len, "\"%c\"", t->tok);
		else
			snprintf(buf, len, "\"%s\"", t->text);
		break;
	}
}

/* A server written host:port, as HAProxy does: its port, host in host. */
static const char *
hostport(const char *word, char *host, size_t len)
{
	const char	*colon;

	/* With more than one colon, it is an IPv6 address. */
	if ((colon = strchr(word, ':')) == NULL || colon == word ||
	    colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return (NULL);
	snprintf(host, len, "%.*s", (int)(colon - word), word);
	return (colon + 1);
}

static void
parse_error(const char *msg, int state, int below)
{
	const struct tokinfo	*t = &tok_cur, *p = &tok_prev;
	const char		*word = NULL, *near = NULL, *port;
	char			 what[96], list[1024], host[64];
	int			 wstate = state;

	if (strcmp(msg, "syntax error") != 0) {
		yyerror("%s", msg);
		return;
	}
	/* The lexer has already said what was wrong with its token. */
	if (t->tok == ERROR)
		return;

	/*
	 * An unknown word that starts a statement: at the top level the
	 * grammar takes it for a macro's name and stops at the next token.
	 */
	if (t->tok == STRING && !t->quoted && t->first)
		word = t->text;
	else if (p->tok == STRING && !p->quoted && p->first && below != -1 &&
	    takes(state, '=')) {
		word = p->text;
		wstate = below;
	}
	if (word != NULL && strcmp(word, "set") == 0) {
		yyerror("there is no \"set\": write the option alone, as in "
		    "\"timeout idle 1h\"");
		return;
	}
	if (word != NULL) {
		expected_list(wstate, 1, list, sizeof(list));
		if ((near = nearest_keyword(wstate, word)) != NULL)
			yyerror("unknown keyword \"%s\", expected %s; did you "
			    "mean \"%s\"?", word, list, near);
		else if ((near = nearest_keyword(-1, word)) != NULL)
			yyerror("unknown keyword \"%s\", expected %s; "
			    "\"%s\" would not start a statement either", word,
			    list, near);
		else
			yyerror("unknown keyword \"%s\", expected %s", word,
			    list);
		return;
	}

	token_describe(t, what, sizeof(what));
	if (p->macro[0] != '\0' && (t->tok == STRING || t->tok == NUMBER) &&
	    !takes(state, t->tok)) {
		yyerror("syntax error: unexpected %s after $%s: macros do not "
		    "concatenate; put the whole value in the macro", what,
		    p->macro);
		return;
	}
	expected_list(state, t->first, list, sizeof(list));
	if (p->tok == STRING && !p->quoted && takes(state, PORT) &&
	    (port = hostport(p->text, host, sizeof(host))) != NULL) {
		yyerror("syntax error: unexpected %s, expected %s; write "
		    "\"%s port %s\", not \"%s\"", what, list, host, port,
		    p->text);
		return;
	}
	if (t->tok == STRING && !t->quoted)
		near = nearest_keyword(state, t->text);
	yyerror("syntax error: unexpected %s, expected %s%s%s%s", what, list,
	    near ? "; did you mean \"" : "", near ? near : "",
	    near ? "\"?" : "");
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

	if (bundle_file(f->name, CONF_MAX, 1, &text, &len) == -1) {
		if (errno == EFBIG)
			log_warnx("%s: not a file of at most %d bytes",
			    f->name, CONF_MAX);
		else if (errno == EPERM)
			log_warnx("%s: must belong to root or the user running "
			    "sniproxyd and not be writable by group or others",
			    f->name);
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
	bundle_begin();
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
	memset(&tok_cur, 0, sizeof(tok_cur));
	lex_depth = 0;

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
	if (errors == 0 && resolve_keypairs() == -1)
		errors++;
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

/*
 * A socket bound to every address of a family takes the port on all of
 * them: another of the same family and port would fail to bind at
 * start, however its address is written.
 */
static int
listeners_clash(const struct listener *a, const struct listener *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ss.ss_family != b->ss.ss_family || a->udp != b->udp)
		return (0);
	if (a->ss.ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)&a->ss;
		b4 = (const struct sockaddr_in *)&b->ss;
		return (a4->sin_port == b4->sin_port &&
		    (a4->sin_addr.s_addr == htonl(INADDR_ANY) ||
		    b4->sin_addr.s_addr == htonl(INADDR_ANY)));
	}
	a6 = (const struct sockaddr_in6 *)&a->ss;
	b6 = (const struct sockaddr_in6 *)&b->ss;
	return (a6->sin6_port == b6->sin6_port &&
	    (IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ||
	    IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr)));
}

static int
add_listeners(const char *name, in_port_t port, int protos)
{
	struct sockaddr_storage	*ss;
	struct listener		*l, *o;
	size_t			 i, j, n;
	int			 udp;

	if (resolve(name, port, 1, &ss, &n) == -1)
		return (-1);
	for (i = 0; i < n * 2; i++) {
		udp = i % 2;
		if (!(protos & (udp ? PROTO_UDP : PROTO_TCP)))
			continue;
		if ((l = calloc(1, sizeof(*l))) == NULL)
			fatal("%s", __func__);
		l->ss = ss[i / 2];
		l->udp = udp;
		l->sslen = sockaddr_len(&l->ss);
		l->fd = -1;
		for (j = 0; j < ACCEPT_MAX; j++)
			l->fds[j] = -1;
		l->file = file_name_keep(file->name);
		l->line = yylval.lineno;
		l->rs = ruleset;
		addr_str((struct sockaddr *)&l->ss, l->name, sizeof(l->name));
		TAILQ_FOREACH(o, &conf->listeners, entry)
			if ((o->udp == l->udp &&
			    strcmp(o->name, l->name) == 0) ||
			    listeners_clash(o, l))
				break;
		if (o != NULL && strcmp(o->name, l->name) == 0) {
			yyerror("%s%s is already listened on at %s:%d",
			    l->udp ? "udp " : "", l->name, o->file, o->line);
			free(l);
			free(ss);
			return (-1);
		}
		if (o != NULL) {
			yyerror("listen on %s and %s at %s:%d cannot both "
			    "bind: one of them takes the port on every "
			    "address", l->name, o->name, o->file, o->line);
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

/*
 * A rule's tls options that nothing in it would use: what they set goes
 * to terminate tls or to forward with tls, and an option written where
 * neither is, most often "tls alpn" meant as a condition, would
 * otherwise be accepted and do nothing.
 */
static const char *
rule_tls_unused(const struct rule *r)
{
	if (r->tls.alpn != NULL && !r->terminate)
		return ("tls alpn after the action is what terminate tls "
		    "offers clients, and this rule does not terminate tls; "
		    "to match the client's ALPN, write alpn in the "
		    "condition: match tls alpn \"...\"");
	if (r->backend_tls)
		return (NULL);
	if (r->tls.noverify == 1)
		return ("tls no verify applies to forward with tls, and this "
		    "rule does not forward with tls");
	if (r->tls.ca != NULL)
		return ("tls ca applies to forward with tls, and this rule "
		    "does not forward with tls");
	if (r->tls.servername != NULL)
		return ("tls servername applies to forward with tls, and this "
		    "rule does not forward with tls");
	if (!r->terminate && (r->tls.protocols != NULL ||
	    r->tls.ciphers != NULL))
		return ("tls protocols and ciphers apply to terminate tls and "
		    "forward with tls, and this rule has neither");
	return (NULL);
}

/* A check that could never reach the servers the listener's flows do. */
static const char *
rule_check_unreachable(const struct rule *r)
{
	if (r->check.type == CHECK_QUIC && !ruleset->udp)
		return ("check quic needs a listener with udp");
	if (r->check.type != CHECK_NONE && r->check.type != CHECK_QUIC &&
	    !ruleset->tcp)
		return ("this listener has only udp, and its servers may not "
		    "take TCP at all: check quic");
	return (NULL);
}

/*
 * Why a rule can never take a QUIC flow: the flow is UDP datagrams that
 * carry their TLS end to end, and only a ClientHello is known of it.
 */
static const char *
rule_not_quic(const struct rule *r)
{
	const struct protocol	*p = protocol_cond(r->cond);

	if (p != NULL && p->notquic != NULL)
		return (p->notquic);
	if (r->terminate)
		return ("terminate tls cannot apply to a QUIC flow: its TLS "
		    "runs end to end inside QUIC");
	if (r->backend_tls)
		return ("forward with tls cannot apply to a QUIC flow: it is "
		    "relayed as datagrams");
	if (r->send_proxy)
		return ("send proxy cannot apply to a QUIC flow: a PROXY "
		    "header has no place in its datagrams");
	if (r->transparent)
		return ("source client cannot apply to a QUIC flow");
	return (NULL);
}

static int
end_rule(void)
{
	struct rule	*r = rule;
	const char	*what;

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
	if ((what = rule_tls_unused(r)) != NULL ||
	    (what = rule_check_unreachable(r)) != NULL) {
		yyerror("%s", what);
		config_rule_free(r);
		return (-1);
	}
	if (rule_source_family(r) == -1) {
		config_rule_free(r);
		return (-1);
	}
	/*
	 * Where TCP is listened on too, such a rule is for TCP alone; on
	 * UDP alone it would never match, which is a mistake to say.
	 */
	what = rule_not_quic(r);
	if (what != NULL && ruleset->udp && !ruleset->tcp) {
		yyerror("%s, and this listener has only udp", what);
		config_rule_free(r);
		return (-1);
	}
	r->quic = ruleset->udp && what == NULL;
	if (rule_is_default)
		ruleset->def = r;
	else
		TAILQ_INSERT_TAIL(&ruleset->rules, r, entry);
	return (0);
}

/* pf's max-src-conn-rate: "N/SECONDS". */
static int
set_rate(const char *str, int *conns, int64_t *ms)
{
	char		 buf[32], *slash;
	const char	*errstr;
	long long	 n, secs;

	if (strlcpy(buf, str, sizeof(buf)) >= sizeof(buf) ||
	    (slash = strchr(buf, '/')) == NULL)
		goto bad;
	*slash++ = '\0';
	n = strtonum(buf, 1, 1000000, &errstr);
	if (errstr != NULL)
		goto bad;
	secs = strtonum(slash, 1, 86400, &errstr);
	if (errstr != NULL)
		goto bad;
	*conns = n;
	*ms = secs * 1000;
	return (0);
 bad:
	yyerror("maxconn rate must be N/SECONDS, N from 1 to 1000000 and "
	    "SECONDS from 1 to 86400: \"%s\"", str);
	return (-1);
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

/*
 * source ADDRESS: a numeric address, so that what the backend sees does
 * not change with the name service; source client: the client's own.
 */
static int
set_source(const char *addr)
{
	struct addrinfo	 hints, *res;
	int		 error;

	if (rule->transparent || rule->source.ss_family != AF_UNSPEC) {
		yyerror("rule has more than one source");
		return (-1);
	}
	if (strcmp(addr, "client") == 0) {
#ifdef IP_TRANSPARENT
		rule->transparent = 1;
		return (0);
#else
		yyerror("source client needs IP_TRANSPARENT, which this "
		    "system does not have");
		return (-1);
#endif
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if ((error = getaddrinfo(addr, NULL, &hints, &res)) != 0) {
		yyerror("source \"%s\": not an IPv4 or IPv6 address, nor "
		    "\"client\"", addr);
		return (-1);
	}
	memcpy(&rule->source, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	sockaddr_unmap(&rule->source);
	return (0);
}

/*
 * A socket of one family cannot be bound to an address of the other:
 * a source that no server of the table could use is said now rather
 * than at every connection.
 */
static int
rule_source_family(const struct rule *r)
{
	const struct host	*h;
	char			 src[NI_MAXHOST], dst[ADDRSTR_LEN];
	size_t			 i;

	if (r->source.ss_family == AF_UNSPEC)
		return (0);
	for (i = 0; i < r->table->nhosts; i++) {
		h = &r->table->hosts[i];
		if (h->ss.ss_family == r->source.ss_family)
			continue;
		if (getnameinfo((const struct sockaddr *)&r->source,
		    sockaddr_len(&r->source), src, sizeof(src), NULL, 0,
		    NI_NUMERICHOST) != 0)
			strlcpy(src, "?", sizeof(src));
		addr_str((const struct sockaddr *)&h->ss, dst, sizeof(dst));
		yyerror("source %s is %s and server %s of table <%s> is not",
		    src, r->source.ss_family == AF_INET ? "IPv4" : "IPv6",
		    dst, r->table->name);
		return (-1);
	}
	return (0);
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
	if (strcmp(word, "quic") == 0) {
		rule->check.type = CHECK_QUIC;
		return (0);
	}
	if (strcmp(word, "tcp") != 0) {
		yyerror("check tcp, check tls, check http, check https, "
		    "check quic or check send ... expect ..., not check %s",
		    word);
		return (-1);
	}
	rule->check.type = CHECK_TCP;
	return (0);
}

/*
 * check http|https "PATH" code N [host "NAME"]: one HTTP/1.0 request,
 * which needs no Host header unless a virtual host wants one; the
 * status line of the answer decides.  Takes path and host.
 */
static int
set_check_http(int tls, char *path, int64_t code, char *host)
{
	char	*req = NULL;
	int	 rv = -1;

	if (code < 100 || code > 599)
		yyerror("check code must be between 100 and 599");
	else if (*path != '/' || strpbrk(path, " \r\n") != NULL)
		yyerror("check path must begin with / and hold no space "
		    "or line break");
	else if (host != NULL && (*host == '\0' ||
	    strpbrk(host, " \r\n") != NULL))
		yyerror("check host must be a name without space or line "
		    "break");
	else if (set_check(NULL, NULL, NULL) == 0) {
		if (asprintf(&req, "GET %s HTTP/1.0\r\n%s%s%s"
		    "User-Agent: sniproxyd-check\r\nConnection: close\r\n"
		    "\r\n", path, host ? "Host: " : "", host ? host : "",
		    host ? "\r\n" : "") == -1)
			fatal("%s", __func__);
		rule->check.type = CHECK_HTTP;
		rule->check.tls = tls;
		rule->check.send = req;
		rule->check.code = code;
		rule->check.host = host;
		host = NULL;
		rv = 0;
	}
	free(path);
	free(host);
	return (rv);
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

/*
 * A rule may name a keypair defined further down, as certbot hooks
 * that append keypairs to the end of a file do.
 */
static int
resolve_keypair(struct rule *r)
{
	if (!r->terminate)
		return (0);
	if (r->keypair_name == NULL) {
		if (!TAILQ_EMPTY(&conf->keypairs))
			return (0);
		log_warnx("%s:%d: terminate tls without a keypair defined",
		    r->file, r->line);
		return (-1);
	}
	if ((r->keypair = config_keypair(r->keypair_name)) == NULL) {
		log_warnx("%s:%d: keypair \"%s\" is not defined", r->file,
		    r->line, r->keypair_name);
		return (-1);
	}
	free(r->keypair_name);
	r->keypair_name = NULL;
	return (0);
}

static int
resolve_keypairs(void)
{
	struct ruleset	*rs;
	struct rule	*r;
	int		 rv = 0;

	TAILQ_FOREACH(rs, &conf->rulesets, entry) {
		TAILQ_FOREACH(r, &rs->rules, entry)
			if (resolve_keypair(r) == -1)
				rv = -1;
		if (rs->def != NULL && resolve_keypair(rs->def) == -1)
			rv = -1;
	}
	return (rv);
}
