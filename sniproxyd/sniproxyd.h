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

#ifndef SNIPROXYD_H
#define SNIPROXYD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#define PCRE2_CODE_UNIT_WIDTH	8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#define SNIPROXYD_VERSION	"0.1"
#define SNIPROXYD_CONF		"/etc/sniproxyd.conf"
#define SNIPROXYD_USER		"_sniproxyd"
#define SNIPROXYD_CHROOT	"/var/empty"
#define SNIPROXYD_SOCKET	"/var/run/sniproxyd.sock"

#define NAME_MAX_LEN		64	/* table names */
#define ADDRSTR_LEN		(INET6_ADDRSTRLEN + 9)	/* [addr]:port */
#define PREFORK_MAX		32
#define ACCEPT_MAX		64

/* Timeouts are kept in milliseconds; -1 means "inherit". */
struct timeouts {
	int64_t		 inspect;
	int64_t		 connect;
	int64_t		 idle;
	int64_t		 handshake;
	int64_t		 proxy;
};

/*
 * A certificate and its key.  The files' bytes live in memory that
 * fork(2) hands to children as zeros: only priv has them, and TLS
 * workers get them from priv over their channel.
 */
struct keypair {
	unsigned int		 id;
	char			 name[256];
	char			*cert_path;
	char			*key_path;
	char			*ocsp_path;
	const char		*file;
	int			 line;
	struct keymem		*mem;
	int64_t			 check_ms;	/* -1: the global one */
	uint64_t		 stamp[3];	/* of cert, key, ocsp */
	char			*refused;	/* why the files are not used */
	/* What the certificate says, for logs and sniproxyctl. */
	char			 subject[256];
	char			 sans[512];
	int64_t			 notafter;	/* time_t, UTC */
	TAILQ_ENTRY(keypair)	 entry;
};
TAILQ_HEAD(keypairlist, keypair);

/* TLS settings of a rule, or of a listener for the rules in it. */
struct tlsopts {
	char			*protocols;
	char			*ciphers;
	char			*alpn;		/* offered when terminating */
	char			*ca;		/* for backends */
	char			*servername;
	int			 noverify;	/* -1 inherit, 0, 1 */
};

/* A table's weights, and sniproxyctl's. */
#define HOST_WEIGHT_MAX		100

struct host {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 weight;
	int			 backup;
};

enum balance_mode {
	MODE_ROUNDROBIN,
	MODE_LEASTCONN,
	MODE_SOURCEHASH,
	MODE_FAILOVER
};

enum check_type {
	CHECK_NONE,
	CHECK_TCP,
	CHECK_TLS,
	CHECK_SEND,
	CHECK_HTTP,
	CHECK_QUIC
};

struct check {
	enum check_type		 type;
	char			*send;
	char			*expect;
	int			 tls;		/* send and read over TLS */
	int			 code;		/* HTTP status wanted */
	char			*host;		/* HTTP Host, TLS server name */
	int64_t			 interval;	/* ms */
	int			 rise;
	int			 fall;
};

struct table {
	char			 name[NAME_MAX_LEN];
	struct host		*hosts;
	size_t			 nhosts;
	TAILQ_ENTRY(table)	 entry;
};
TAILQ_HEAD(tablelist, table);

enum rule_cond {
	COND_ANY,		/* default, or a match with no protocol */
	COND_TLS,
	COND_SSH,
	COND_HTTP,
	COND_OPENVPN,
	COND_PAYLOAD,
	COND_INVALID		/* only for a malformed or oversized hello */
};

struct addrmask {
	sa_family_t		 af;
	uint8_t			 addr[16];
	int			 prefix;
};

struct payload {
	size_t			 offset;
	uint8_t			*bytes;		/* NULL for a regex */
	size_t			 len;
	pcre2_code		*re;
};

enum rule_action {
	ACT_NONE,
	ACT_FORWARD,
	ACT_BLOCK
};

struct rule {
	unsigned int		 id;		/* index in config rules */
	const char		*file;
	int			 line;
	enum rule_cond		 cond;
	struct addrmask		*from;
	size_t			 nfrom;
	char			**sni;		/* patterns, name_canon() */
	size_t			 nsni;
	char			**alpn;
	size_t			 nalpn;
	char			**host;		/* patterns, name_canon() */
	size_t			 nhost;
	struct payload		 payload;
	enum rule_action	 action;
	struct table		*table;
	in_port_t		 port;		/* 0: the table's ports */
	int			 terminate;
	struct keypair		*keypair;	/* NULL: chosen by SNI */
	char			*keypair_name;	/* until the end of the parse */
	int			 backend_tls;
	int			 send_proxy;	/* 0, 1 or 2 */
	struct sockaddr_storage	 source;	/* AF_UNSPEC: the kernel's */
	int			 transparent;	/* source client */
	enum balance_mode	 mode;
	struct check		 check;
	struct tlsopts		 tls;
	uint8_t			*ca;		/* CAs for a TLS backend */
	size_t			 calen;
	struct timeouts		 timeout;
	int			 route;		/* -1 unless forwarding */
	int			 quic;		/* can take a QUIC flow */
	TAILQ_ENTRY(rule)	 entry;
};
TAILQ_HEAD(rulelist, rule);

/* A listen block: its rules serve every address the block binds. */
struct ruleset {
	unsigned int		 id;
	int			 maxconn;	/* 0: none of its own */
	int			 maxconn_source;
	int			 rate_conns;	/* per source; -1: inherit */
	int64_t			 rate_ms;
	int			 backlog;
	int			 tcp;		/* listens on TCP */
	int			 udp;		/* and/or on UDP, for QUIC */
	struct rulelist		 rules;
	struct rule		*def;
	struct timeouts		 timeout;
	struct tlsopts		 tls;
	int			 accept_proxy;
	struct addrmask		*proxy_from;	/* the only trusted senders */
	size_t			 nproxy_from;
	TAILQ_ENTRY(ruleset)	 entry;
};
TAILQ_HEAD(rulesetlist, ruleset);

struct listener {
	unsigned int		 id;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 name[ADDRSTR_LEN];
	int			 udp;		/* a UDP socket, for QUIC */
	int			 fd;		/* in an accept process */
	int			 fds[ACCEPT_MAX];	/* priv's, one each */
	const char		*file;
	int			 line;
	struct ruleset		*rs;
	TAILQ_ENTRY(listener)	 entry;
};
TAILQ_HEAD(listenerlist, listener);

struct config {
	char			 user[64];
	char			 chroot[1024];
	int			 prefork;
	int			 naccept;	/* accept processes */
	int			 log_connections;
	int			 unfiltered;	/* sandbox none */
	int			 maxconn;
	int			 maxconn_source;	/* 0: no limit */
	int			 rate_conns;	/* per source, 0: no limit */
	int64_t			 rate_ms;
	int64_t			 shutdown_ms;
	int64_t			 keycheck_ms;	/* reload check */
	char			 control[104];	/* sun_path */
	int			 control_set;
	struct timeouts		 timeout;
	struct tablelist	 tables;
	struct keypairlist	 keypairs;
	unsigned int		 nkeypairs;
	struct rulesetlist	 rulesets;
	struct listenerlist	 listeners;
	struct rule		**rules;	/* by id */
	unsigned int		 nrules;
	struct rule		**routes;	/* forwarding rules by route */
	unsigned int		 nroutes;
	unsigned int		 nlisteners;
	unsigned int		 nrulesets;
};

struct event_base;
struct chan;

/* What a child knows of itself once started (child.c). */
struct child_ctx {
	struct config	*conf;
	uint32_t	 route;
	uint32_t	 slot;
	unsigned int	 gen;
};

/* child.c */
void		 child_main(const char *) __attribute__((__noreturn__));
const char	*proc_role_name(unsigned int);
struct event_base *event_base_new_features(int);
void		 child_ready(struct chan *);

/*
 * The roles' set-up, before their system call filter (-1 ends each
 * list) is applied and their loop runs.
 */
extern const int accept_syscalls[];
extern const int worker_syscalls[];
extern const int check_syscalls[];
extern const int keys_syscalls[];
void		 accept_init(struct event_base *, struct chan *, void *);
void		 worker_init(struct event_base *, struct chan *, void *);
void		 check_init(struct event_base *, struct chan *, void *);
void		 keys_init(struct event_base *, struct chan *, void *);

/* keys.c */
int		 keys_load_all(struct config *, char *, size_t);

/* keypair.c */
void		 keypair_root(const char *, int);
int		 keypair_resolve(const char *, char *, size_t, char *, size_t);
void		 keypair_common_root(const struct config *, char *, size_t);
int		 keypair_load(struct keypair *);
void		 keypair_log(const struct keypair *, const char *);
void		 keypair_free(struct keypair *);
const uint8_t	*keypair_cert(const struct keypair *, size_t *);
const uint8_t	*keypair_key(const struct keypair *, size_t *);
const uint8_t	*keypair_ocsp(const struct keypair *, size_t *);
int		 keypair_changed(struct keypair *);
int		 keypair_reload(struct keypair *);

/* check.c */
int		 check_wanted(const struct config *);

/* bundle.c */
void		 bundle_begin(void);
uint8_t		*bundle_take(size_t *);
int		 bundle_replay(const uint8_t *, size_t);
const char	*bundle_main(void);
int		 bundle_replaying(void);
int		 bundle_file(const char *, size_t, int, uint8_t **, size_t *);
int		 bundle_resolve(const char *, in_port_t, int,
		    struct sockaddr_storage **, size_t *, const char **);

/* parse.y */
struct config	*parse_config(const char *);
int		 cmdline_symset(const char *);

/* config.c */
struct config	*config_new(void);
void		 config_free(struct config *);
int		 config_finish(struct config *);
int		 config_transparent(const struct config *);
void		 config_rule_free(struct rule *);
struct table	*config_table(struct config *, const char *);
int		 parse_duration(const char *, int64_t *);
/* version.c */
void		 version_print(void) __attribute__((__noreturn__));

int		 pattern_valid(const char *);
int		 pattern_match(const char *, const char *);
const char	*addr_str(const struct sockaddr *, char *, size_t);
socklen_t	 sockaddr_len(const struct sockaddr_storage *);
int		 sockaddr_is_any(const struct sockaddr *);
int		 sockaddr_unmap(struct sockaddr_storage *);
int		 addrmask_parse(const char *, struct addrmask *);
int		 addrmask_match(const struct addrmask *,
		    const struct sockaddr *);

#endif /* SNIPROXYD_H */
