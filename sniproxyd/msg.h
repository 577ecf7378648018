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

#ifndef MSG_H
#define MSG_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

#include "hello.h"

/*
 * Every message between sniproxyd's processes.  Bump MSG_VERSION with
 * any change to a type or a payload: a channel drops a peer that speaks
 * another version.
 */
#define MSG_VERSION	12

enum msg_type {
	MSG_WORKER_CHAN = 1,	/* priv -> accept: fd, struct msg_worker */
	MSG_ACCEPT_CHAN,	/* priv -> worker: fd */
	MSG_CONN,		/* accept -> worker: fd, struct msg_conn */
	MSG_CONN_END,		/* worker -> the accept it came from: uint64_t
				   ids that ended */
	MSG_KEYPAIR,		/* priv -> TLS worker: struct msg_keypair */
	MSG_TLS_READY,		/* priv -> TLS worker: every keypair sent */
	MSG_DRAIN,		/* priv -> accept, worker: newer config runs */
	MSG_STATS_REQ,		/* priv -> accept, worker: id names the ask */
	MSG_STATS,		/* accept, worker -> priv: struct msg_stats,
				   then nhosts struct msg_host_stats */
	MSG_CONNS,		/* worker -> priv: text, a line a connection */
	MSG_VERBOSE,		/* priv -> accept, worker: log_setverbose int */
	MSG_HOST_STATE,		/* check -> priv -> workers: msg_host_state */
	MSG_BOOT,		/* priv -> child: struct msg_boot */
	MSG_BOOT_CONF,		/* priv -> child: a part of the bundle */
	MSG_BOOT_DONE,		/* priv -> child: fd of the root, or none */
	MSG_READY,		/* child -> priv: its version, as text */
	MSG_KEYS_WORKER,	/* priv -> keys: fd, struct msg_worker */
	MSG_KEYS_CHAN,		/* priv -> TLS worker: fd */
	MSG_KEYS_RESULT,	/* keys -> priv: uint32_t ok, then text */
	MSG_CERT_INFO,		/* keys -> priv: struct msg_cert_info */
	MSG_HOST_ADMIN,		/* priv -> worker: struct msg_host_admin */
	MSG_HOST_WEIGHT,	/* priv -> worker: struct msg_host_weight */
	MSG_ENDS_RING,		/* accept -> worker: fd, uint32_t entries;
				   see ENDS_RING */
	MSG_ACCEPT_LIMITS	/* priv -> accept: fd of the limits shared
				   by a generation's accept processes */
};

/*
 * A worker puts the ids of the connections that ended into a ring
 * shared with the accept process that sent them (privsep/ring.h), which
 * takes them before it admits or counts: no message and no wake-up a
 * connection.  MSG_CONN_END carries what does not fit.
 */
#define ENDS_RING	4096

/* What sniproxyctl host set for a server, until the next reload. */
enum host_admin {
	HOST_ENABLED,
	HOST_DISABLED,
	HOST_DRAINING,
	HOST_ADMIN_COUNT
};

enum proc_roles {
	ROLE_ACCEPT,
	ROLE_WORKER,
	ROLE_CHECK,
	ROLE_KEYS,
	ROLE_COUNT
};

/*
 * What a child is and who it becomes; the bundle follows.  An accept
 * process learns how many there are from priv, which bound their
 * sockets, rather than from its own count of the CPUs.
 */
struct msg_boot {
	uint32_t	 role;		/* enum proc_roles */
	uint32_t	 route;
	uint32_t	 slot;		/* of a worker, or an accept process */
	uint32_t	 naccept;
	uint32_t	 gen;
	int32_t		 debug;
	int32_t		 verbose;
	uint32_t	 uid;
	uint32_t	 gid;
	uint32_t	 privileged;
	uint32_t	 nlisteners;	/* inherited from fd 4 on */
	uint64_t	 conflen;	/* bytes of the bundle */
};

struct msg_cert_info {
	uint32_t	 id;
	uint32_t	 pad;
	int64_t		 notafter;
	char		 subject[256];
	char		 sans[512];
};

struct msg_host_state {
	uint32_t	 route;
	uint32_t	 host;
	uint32_t	 up;
};

struct msg_host_admin {
	uint32_t	 route;
	uint32_t	 host;
	uint32_t	 state;		/* enum host_admin */
};

struct msg_host_weight {
	uint32_t	 route;
	uint32_t	 host;
	uint32_t	 weight;	/* as a table's: 1 to HOST_WEIGHT_MAX */
};

struct msg_stats {
	uint32_t	 route;		/* UINT32_MAX from accept */
	uint32_t	 nhosts;	/* of the table; 0 from accept */
	uint64_t	 active;
	uint64_t	 total;
	uint64_t	 up;
	uint64_t	 down;
	uint64_t	 errors;
};

/* One server of a worker's table, in table order. */
struct msg_host_stats {
	uint64_t	 active;
	uint64_t	 total;
};

/* Followed by the certificate, key and OCSP response, back to back. */
struct msg_keypair {
	uint32_t	 id;
	uint32_t	 certlen;
	uint32_t	 keylen;
	uint32_t	 ocsplen;
};

struct msg_worker {
	uint32_t	 route;
	uint32_t	 slot;
};

enum conn_class {
	CLASS_UNKNOWN,
	CLASS_TLS,
	CLASS_TIMEOUT,
	CLASS_EOF,
	CLASS_SSH,
	CLASS_HTTP,
	CLASS_OPENVPN,
	CLASS_PAYLOAD,
	CLASS_INVALID,
	CLASS_QUIC
};

/*
 * The fd of MSG_CONN is a TCP connection, or for a QUIC flow (quic set
 * to its version) a UDP socket connected to the client, and the
 * datagrams the accept process took from it follow this struct, in
 * order, each as a uint16_t length and its bytes.
 */
struct msg_conn {
	struct sockaddr_storage	 client;
	struct sockaddr_storage	 local;
	uint32_t		 listener;
	uint32_t		 rule;
	uint32_t		 class;		/* enum conn_class */
	uint32_t		 quic;		/* QUIC version, 0: TCP */
	int64_t			 start_ms;	/* CLOCK_REALTIME */
	char			 name[HELLO_SNI_MAX + 1];	/* SNI, Host */
	char			 alpn[HELLO_ALPN_LEN + 1];	/* first */
};

#endif /* MSG_H */
