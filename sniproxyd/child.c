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
#include <sys/socket.h>
#ifdef __linux__
#include <linux/capability.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <tls.h>

#include "chan.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "sniproxyd.h"

#define BUNDLE_MAX	(64 * 1024 * 1024)

/*
 * The socket families each child may open: every one the log's Unix
 * datagram socket, when syslogd went away and it must be opened
 * again; those that connect to servers, the Internet ones too, and
 * so does accept, which opens a UDP socket for each QUIC flow.
 */
static const int	 fam_log[] = { AF_UNIX, -1 };
static const int	 fam_inet[] = { AF_INET, AF_INET6, AF_UNIX, -1 };

/* The process table: what each child is, in the order of proc_roles. */
static const struct proc_role roles[ROLE_COUNT] = {
	[ROLE_ACCEPT] = { "accept", 0, accept_syscalls, fam_inet,
	    accept_init },
	[ROLE_WORKER] = { "route", 0, worker_syscalls, fam_inet,
	    worker_init },
	[ROLE_CHECK] = { "check", 0, check_syscalls, fam_inet, check_init },
	[ROLE_KEYS] = { "keys", 1, keys_syscalls, fam_log, keys_init }
};

#ifdef __linux__
static const int transparent_caps[] = { CAP_NET_ADMIN };
#endif

/* What priv tells a new child before it can start. */
static struct {
	struct msg_boot	 boot;
	int		 booted;
	uint8_t		*bundle;
	size_t		 len;
	int		 rootfd;
	int		 done;
} cb;

/*
 * The accept process peeks without reading, so it needs edge-triggered
 * events and to hear of a half-close while bytes are still waiting.
 */
struct event_base *
event_base_new_features(int features)
{
	struct event_config	*cfg;
	struct event_base	*base;

	if ((cfg = event_config_new()) == NULL ||
	    event_config_require_features(cfg, features) == -1 ||
	    (base = event_base_new_with_config(cfg)) == NULL)
		fatalx("no event mechanism with the features needed");
	event_config_free(cfg);
	return (base);
}

/* Tells priv this process can take work, and which binary it runs. */
void
child_ready(struct chan *priv)
{
	if (chan_send(priv, MSG_READY, 0, -1, SNIPROXYD_VERSION,
	    strlen(SNIPROXYD_VERSION)) == -1)
		fatal("%s", __func__);
}

const char *
proc_role_name(unsigned int role)
{
	return (role < ROLE_COUNT ? roles[role].name : "?");
}

/* A message out of place is a broken parent: nothing to go on with. */
static void
boot_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	if (m == NULL)
		fatalx("lost the parent process while starting");
	if (m->fd != -1 && m->hdr.type != MSG_BOOT_DONE)
		fatalx("boot: unexpected descriptor");
	switch (m->hdr.type) {
	case MSG_BOOT:
		if (cb.booted || m->len != sizeof(cb.boot))
			fatalx("boot: bad MSG_BOOT");
		memcpy(&cb.boot, m->data, sizeof(cb.boot));
		if (cb.boot.role >= ROLE_COUNT ||
		    cb.boot.conflen > BUNDLE_MAX ||
		    (cb.bundle = malloc(cb.boot.conflen + 1)) == NULL)
			fatalx("boot: bad MSG_BOOT");
		cb.booted = 1;
		break;
	case MSG_BOOT_CONF:
		if (!cb.booted || m->len > cb.boot.conflen - cb.len)
			fatalx("boot: bad MSG_BOOT_CONF");
		memcpy(cb.bundle + cb.len, m->data, m->len);
		cb.len += m->len;
		break;
	case MSG_BOOT_DONE:
		if (!cb.booted || cb.len != cb.boot.conflen || m->len != 0)
			fatalx("boot: bad MSG_BOOT_DONE");
		cb.rootfd = m->fd;
		cb.done = 1;
		/* What follows is for the role, once it is set up. */
		chan_set_cb(ch, NULL, NULL);
		event_base_loopbreak(arg);
		break;
	default:
		fatalx("boot: unexpected message %u", m->hdr.type);
	}
}

/*
 * Whether a child uses libtls or libcrypto: it then reads their
 * configuration now, before its chroot and its system call filter.  A
 * child that does not never starts them: each child is a new program,
 * and that start is most of what a new one costs.
 */
static int
child_uses_tls(unsigned int role, const struct child_ctx *ctx)
{
	const struct config	*conf = ctx->conf;
	const struct listener	*l;
	const struct rule	*r;

	switch (role) {
	case ROLE_ACCEPT:
		TAILQ_FOREACH(l, &conf->listeners, entry)
			if (l->udp)
				return (1);
		return (0);
	case ROLE_WORKER:
		r = conf->routes[ctx->route];
		return (r->terminate || r->backend_tls);
	default:
		/* keys loads keypairs; check makes a TLS context at start. */
		return (1);
	}
}

/*
 * A child as started by proc_spawn(): it learns from its channel what
 * it is, parses the configuration priv read for it, and becomes it.
 */
void
child_main(const char *rolearg)
{
	struct event_base	*base;
	struct chan		*ch;
	struct child_ctx	 ctx;
	struct proc_user	 u;
	struct listener		*l;
	char			 title[NAME_MAX_LEN + 16];

	log_init(1, LOG_DAEMON);
	log_procinit(rolearg);
	cb.rootfd = -1;
	base = event_base_new_features(EV_FEATURE_ET | EV_FEATURE_EARLY_CLOSE);
	if ((ch = chan_new(base, PROC_CHAN_FD, MSG_VERSION, boot_msg,
	    base)) == NULL)
		fatal("chan_new");
	event_base_dispatch(base);
	if (!cb.done)
		fatalx("no start-up message from the parent");
	if (strcmp(rolearg, roles[cb.boot.role].name) != 0)
		fatalx("started as %s, told to be %s", rolearg,
		    roles[cb.boot.role].name);
	log_init(cb.boot.debug, LOG_DAEMON);
	log_setverbose(cb.boot.verbose);
	if (bundle_replay(cb.bundle, cb.len) == -1)
		fatalx("malformed configuration from the parent");
	memset(&ctx, 0, sizeof(ctx));
	if ((ctx.conf = parse_config(NULL)) == NULL)
		fatalx("the configuration from the parent does not parse");
	ctx.route = cb.boot.route;
	ctx.slot = cb.boot.slot;
	ctx.gen = cb.boot.gen;
	if (cb.boot.naccept < 1 || cb.boot.naccept > ACCEPT_MAX)
		fatalx("boot: accept processes out of range");
	ctx.conf->naccept = cb.boot.naccept;
	if ((cb.boot.role == ROLE_WORKER && (ctx.route >=
	    ctx.conf->nroutes || ctx.slot >= (uint32_t)ctx.conf->prefork)) ||
	    (cb.boot.role == ROLE_ACCEPT &&
	    (cb.boot.nlisteners != ctx.conf->nlisteners ||
	    ctx.slot >= cb.boot.naccept)))
		fatalx("boot: route, slot or listeners out of range");
	if (cb.boot.role == ROLE_ACCEPT)
		TAILQ_FOREACH(l, &ctx.conf->listeners, entry)
			l->fd = PROC_CHAN_FD + 1 + l->id;
	if (cb.boot.role == ROLE_WORKER)
		snprintf(title, sizeof(title), "route %s",
		    ctx.conf->routes[ctx.route]->table->name);
	else
		strlcpy(title, roles[cb.boot.role].name, sizeof(title));
	log_procinit(title);
	u.uid = cb.boot.uid;
	u.gid = cb.boot.gid;
	u.privileged = cb.boot.privileged;
	u.rootfd = cb.rootfd;
	u.caps = NULL;
	u.ncaps = 0;
#ifdef __linux__
	/* source client: IP_TRANSPARENT, and binding the client's address. */
	if (cb.boot.role == ROLE_WORKER &&
	    ctx.conf->routes[ctx.route]->transparent) {
		u.caps = transparent_caps;
		u.ncaps = sizeof(transparent_caps) /
		    sizeof(transparent_caps[0]);
	}
#endif
	u.unfiltered = ctx.conf->unfiltered;
	if (child_uses_tls(cb.boot.role, &ctx) && tls_init() == -1)
		fatalx("tls_init");
	if (u.privileged && u.rootfd == -1 && !roles[cb.boot.role].keep_root)
		fatalx("no root directory from the parent");
	proc_run(&roles[cb.boot.role], title, &u, base, ch, &ctx);
}
