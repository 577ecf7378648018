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
#include <sys/wait.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "sniproxyd.h"

enum child_type {
	CHILD_ACCEPT,
	CHILD_WORKER
};

struct child {
	struct proc_child	 pc;
	enum child_type		 type;
	uint32_t		 route;
	uint32_t		 slot;
	struct chan		*chan;
	struct event		*ev_respawn;
};

static struct {
	struct event_base	*base;
	struct config		*conf;
	struct proc_user	 user;
	struct child		 accept;
	struct child		*workers;	/* route * prefork + slot */
	int			 quitting;
	struct event		*ev_kill;
} priv;

extern char	**environ;

static void	child_spawn(struct child *);
static void	usage(void) __attribute__((__noreturn__));

/*
 * The accept process peeks without reading, so it needs edge-triggered
 * events and to hear of a half-close while bytes are still waiting.
 */
static struct event_base *
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

static void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-dnv] [-D macro=value] [-f file]\n",
	    __progname);
	exit(1);
}

static struct child *
worker_child(uint32_t route, uint32_t slot)
{
	return (&priv.workers[route * priv.conf->prefork + slot]);
}

static const char *
child_name(const struct child *c, char *buf, size_t len)
{
	if (c->type == CHILD_ACCEPT)
		strlcpy(buf, "accept", len);
	else
		snprintf(buf, len, "route %s", priv.conf->routes[c->route]->
		    table->name);
	return (buf);
}

static void
listener_bind(struct listener *l)
{
	int	 one = 1, fd;

	fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("%s:%d: socket", l->file, l->line);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		fatal("%s:%d: SO_REUSEADDR", l->file, l->line);
	if (l->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1)
		fatal("%s:%d: IPV6_V6ONLY", l->file, l->line);
	if (bind(fd, (struct sockaddr *)&l->ss, l->sslen) == -1)
		fatal("%s:%d: bind %s", l->file, l->line, l->name);
	if (listen(fd, SOMAXCONN) == -1)
		fatal("%s:%d: listen %s", l->file, l->line, l->name);
	l->fd = fd;
	log_debug("listening on %s", l->name);
}

/* Pairs one worker with the accept process. */
static void
child_pair(struct child *w)
{
	struct msg_worker	 mw;
	int			 sv[2];

	if (w->chan == NULL || priv.accept.chan == NULL)
		return;
	if (chan_pair(sv) == -1) {
		log_warn("%s: socketpair", __func__);
		return;
	}
	mw.route = w->route;
	mw.slot = w->slot;
	if (chan_send(w->chan, MSG_ACCEPT_CHAN, 0, sv[0], NULL, 0) == -1) {
		log_warn("%s: to worker", __func__);
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (chan_send(priv.accept.chan, MSG_WORKER_CHAN, 0, sv[1], &mw,
	    sizeof(mw)) == -1) {
		log_warn("%s: to accept", __func__);
		close(sv[1]);
	}
}

static void
priv_child_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	struct child	*c = arg;

	if (m == NULL) {
		chan_free(ch);
		if (c->chan == ch)
			c->chan = NULL;
		return;
	}
	if (m->fd != -1)
		close(m->fd);
	log_warnx("unexpected message %u from a child", m->hdr.type);
}

/*
 * In the new child: leave the parent's event loop and descriptors
 * behind, then become unprivileged.  The parent's event base must be
 * re-initialised before it is freed, as its kernel objects are shared
 * with the parent until then.
 */
static void
child_enter(struct child *c, const char *title)
{
	struct listener	*l;

	event_reinit(priv.base);
	event_base_free(priv.base);
	proc_child_init(&c->pc);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	log_procinit(title);
	setproctitle("%s", title);
	if (c->type != CHILD_ACCEPT)
		TAILQ_FOREACH(l, &priv.conf->listeners, entry)
			close(l->fd);
	if (proc_drop(&priv.user) == -1)
		fatal("%s: cannot drop privileges", title);
	priv.base = event_base_new_features(EV_FEATURE_ET |
	    EV_FEATURE_EARLY_CLOSE);
}

/*
 * A TLS worker gets its keypairs from here: the copies it inherited at
 * fork are zeros.  A named keypair goes alone; otherwise all of them,
 * the first being the one for clients that name no known host.
 */
static void
child_send_keypairs(struct child *c)
{
	const struct rule	*r = priv.conf->routes[c->route];
	struct keypair		*kp;
	struct msg_keypair	 mk;
	const uint8_t		*cert, *key, *ocsp;
	uint8_t			*buf;
	size_t			 certlen, keylen, ocsplen, len;

	TAILQ_FOREACH(kp, &priv.conf->keypairs, entry) {
		if (!r->terminate || (r->keypair != NULL && r->keypair != kp))
			continue;
		cert = keypair_cert(kp, &certlen);
		key = keypair_key(kp, &keylen);
		ocsp = keypair_ocsp(kp, &ocsplen);
		len = sizeof(mk) + certlen + keylen + ocsplen;
		if ((buf = malloc(len)) == NULL)
			fatal("%s", __func__);
		mk.id = kp->id;
		mk.certlen = certlen;
		mk.keylen = keylen;
		mk.ocsplen = ocsplen;
		memcpy(buf, &mk, sizeof(mk));
		memcpy(buf + sizeof(mk), cert, certlen);
		memcpy(buf + sizeof(mk) + certlen, key, keylen);
		if (ocsplen)
			memcpy(buf + sizeof(mk) + certlen + keylen, ocsp,
			    ocsplen);
		if (chan_send(c->chan, MSG_KEYPAIR, 0, -1, buf, len) == -1)
			log_warn("%s: keypair %s", __func__, kp->name);
		freezero(buf, len);
	}
	if (chan_send(c->chan, MSG_TLS_READY, 0, -1, NULL, 0) == -1)
		log_warn("%s", __func__);
}

static void
child_spawn(struct child *c)
{
	char		 title[NAME_MAX_LEN + 16];
	int		 fd;
	pid_t		 pid;

	child_name(c, title, sizeof(title));
	if ((pid = proc_spawn(&c->pc, &fd)) == -1) {
		log_warn("%s: fork", title);
		return;
	}
	if (pid == 0) {
		child_enter(c, title);
		if (c->type == CHILD_ACCEPT)
			accept_main(priv.base, priv.conf, fd);
		worker_main(priv.base, priv.conf,
		    priv.conf->routes[c->route], fd);
	}
	if ((c->chan = chan_new(priv.base, c->pc.fd, MSG_VERSION,
	    priv_child_msg, c)) == NULL)
		fatal("%s: chan_new", __func__);
	if (c->type == CHILD_WORKER && (priv.conf->routes[c->route]->
	    terminate || priv.conf->routes[c->route]->backend_tls))
		child_send_keypairs(c);
	log_debug("%s: started, pid %ld", title, (long)pid);
}

static void
child_respawn(int fd, short events, void *arg)
{
	struct child	*c = arg;
	uint32_t	 r, s;

	(void)fd;
	(void)events;
	if (priv.quitting)
		return;
	child_spawn(c);
	if (c->type == CHILD_WORKER) {
		child_pair(c);
		return;
	}
	for (r = 0; r < priv.conf->nroutes; r++)
		for (s = 0; s < (uint32_t)priv.conf->prefork; s++)
			child_pair(worker_child(r, s));
}

/*
 * A child that dies within a second of its start would die again at
 * once: wait a moment before trying, so that a crash loop shows in the
 * log at a readable pace instead of eating the machine.
 */
static void
child_died(struct child *c, int status)
{
	char		 title[NAME_MAX_LEN + 16];
	struct timeval	 tv = { 0, 0 };
	double		 age = proc_age(&c->pc);

	child_name(c, title, sizeof(title));
	proc_forget(&c->pc);
	if (c->chan != NULL) {
		chan_free(c->chan);
		c->chan = NULL;
	}
	if (priv.quitting)
		return;
	if (WIFSIGNALED(status))
		log_warnx("%s (pid %ld) killed by signal %d", title,
		    (long)c->pc.pid, WTERMSIG(status));
	else
		log_warnx("%s (pid %ld) exited with status %d", title,
		    (long)c->pc.pid, WEXITSTATUS(status));
	if (age < 1.0) {
		tv.tv_sec = 1;
		log_warnx("%s: died %.2fs after start, respawning in 1s",
		    title, age);
	}
	evtimer_add(c->ev_respawn, &tv);
}

static void
priv_sigchld(int sig, short events, void *arg)
{
	struct proc_child	*pc;
	pid_t			 pid;
	int			 status;

	(void)sig;
	(void)events;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((pc = proc_find(pid)) == NULL)
			continue;
		child_died((struct child *)pc, status);
	}
	if (priv.quitting && proc_count() == 0)
		event_base_loopbreak(priv.base);
}

static void
priv_kill_all(int sig)
{
	struct proc_child	*pc;
	uint32_t		 i, n = priv.conf->nroutes * priv.conf->prefork;

	for (i = 0; i < n; i++)
		if ((pc = &priv.workers[i].pc)->pid > 0 && proc_find(pc->pid))
			kill(pc->pid, sig);
	if (priv.accept.pc.pid > 0 && proc_find(priv.accept.pc.pid))
		kill(priv.accept.pc.pid, sig);
}

static void
priv_kill_expired(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	log_warnx("children still running after the grace period, killing");
	priv_kill_all(SIGKILL);
}

static void
priv_sigterm(int sig, short events, void *arg)
{
	struct timeval	 tv;
	int64_t		 ms = priv.conf->shutdown_ms + 2000;

	(void)events;
	(void)arg;
	if (priv.quitting)
		return;
	log_info("received signal %d, shutting down", sig);
	priv.quitting = 1;
	priv_kill_all(SIGTERM);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(priv.ev_kill, &tv);
	if (proc_count() == 0)
		event_base_loopbreak(priv.base);
}

static void
priv_sighup(int sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	(void)arg;
	log_warnx("reload is not supported yet: restart to apply changes");
}

static void
priv_signals(void)
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGCHLD, SIGHUP };
	struct event		*ev;
	size_t			 i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		ev = evsignal_new(priv.base, sigs[i],
		    sigs[i] == SIGCHLD ? priv_sigchld :
		    sigs[i] == SIGHUP ? priv_sighup : priv_sigterm, NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("cannot handle signal %d", sigs[i]);
	}
}

static void
priv_children_init(void)
{
	struct child	*c;
	uint32_t	 r, s;

	if ((priv.workers = calloc(priv.conf->nroutes * priv.conf->prefork,
	    sizeof(*priv.workers))) == NULL)
		fatal("%s", __func__);
	priv.accept.type = CHILD_ACCEPT;
	for (r = 0; r < priv.conf->nroutes; r++)
		for (s = 0; s < (uint32_t)priv.conf->prefork; s++) {
			c = worker_child(r, s);
			c->type = CHILD_WORKER;
			c->route = r;
			c->slot = s;
		}
	for (r = 0; r < priv.conf->nroutes * priv.conf->prefork; r++)
		if ((priv.workers[r].ev_respawn = evtimer_new(priv.base,
		    child_respawn, &priv.workers[r])) == NULL)
			fatal("%s", __func__);
	if ((priv.accept.ev_respawn = evtimer_new(priv.base, child_respawn,
	    &priv.accept)) == NULL ||
	    (priv.ev_kill = evtimer_new(priv.base, priv_kill_expired,
	    NULL)) == NULL)
		fatal("%s", __func__);
}

static void
priv_start(void)
{
	uint32_t	 r, n = priv.conf->nroutes * priv.conf->prefork;

	priv_children_init();
	for (r = 0; r < n; r++)
		child_spawn(&priv.workers[r]);
	child_spawn(&priv.accept);
	for (r = 0; r < n; r++)
		child_pair(&priv.workers[r]);
}

/*
 * As root, the parent keeps only what it needs: the directory of the
 * configuration, where every file it may read again lives.
 */
static void
priv_chroot(const char *conffile)
{
	char	 path[PATH_MAX], *dir;

	if (!priv.user.privileged)
		return;
	if (realpath(conffile, path) == NULL)
		fatal("%s", conffile);
	dir = dirname(path);
	if (proc_chroot_self(dir) == -1)
		fatal("chroot %s", dir);
}

static void
priv_user(void)
{
	int	 rv;

	rv = proc_user_init(&priv.user, priv.conf->user, priv.conf->chroot);
	if (rv == -1)
		fatalx("unknown user %s", priv.conf->user);
	if (rv == -2)
		fatal("chroot directory %s (must exist, belong to root and "
		    "not be writable by others)", priv.conf->chroot);
	if (!priv.user.privileged)
		log_warnx("not started as root: no privilege drop, no chroot");
}

int
main(int argc, char *argv[])
{
	const char	*conffile = SNIPROXYD_CONF;
	int		 ch, debug = 0, noaction = 0, verbose = 0;
	struct listener	*l;

	setproctitle_init(argc, argv, environ);
	log_init(1, LOG_DAEMON);
	while ((ch = getopt(argc, argv, "D:df:nv")) != -1) {
		switch (ch) {
		case 'D':
			if (cmdline_symset(optarg) < 0)
				log_warnx("could not parse macro definition %s",
				    optarg);
			break;
		case 'd':
			debug = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	log_setverbose(verbose);

	if ((priv.conf = parse_config(conffile)) == NULL)
		exit(1);
	if (noaction) {
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	priv_user();
	TAILQ_FOREACH(l, &priv.conf->listeners, entry)
		listener_bind(l);
	if (!debug && daemon(0, 0) == -1)
		fatal("daemon");
	priv_chroot(conffile);
	setproctitle("%s", "priv");
	priv.base = event_base_new_features(0);
	priv_signals();
	priv_start();
	log_info("sniproxyd %s started", SNIPROXYD_VERSION);

	event_base_dispatch(priv.base);
	log_info("exiting");
	return (0);
}
