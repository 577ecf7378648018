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
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

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
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <tls.h>

#include <event2/buffer.h>

#include "chan.h"
#include "control.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "sandbox.h"
#include "sniproxyd.h"

enum child_type {
	CHILD_ACCEPT,
	CHILD_WORKER,
	CHILD_CHECK
};

struct generation;

struct child {
	struct proc_child	 pc;
	struct generation	*gen;
	enum child_type		 type;
	uint32_t		 route;
	uint32_t		 slot;
	int			 alive;
	int			 quick;		/* deaths soon after start */
	struct chan		*chan;
	struct event		*ev_respawn;
};

/*
 * One configuration and the processes that serve it.  A reload starts
 * a new generation; the old one stops taking connections and goes away
 * when its last connection has ended.
 */
struct generation {
	unsigned int		 id;
	struct config		*conf;
	struct child		 accept;
	struct child		 check;		/* when any route checks */
	struct child		*workers;	/* route * prefork + slot */
	uint8_t			**up;		/* per route, per server */
	int			 draining;
	TAILQ_ENTRY(generation)	 entry;
};
TAILQ_HEAD(genlist, generation);

static const int	 priv_sigs[] = { SIGTERM, SIGINT, SIGCHLD, SIGHUP };
#define PRIV_NSIGS	(sizeof(priv_sigs) / sizeof(priv_sigs[0]))

static struct {
	struct event_base	*base;
	struct generation	*cur;
	struct genlist		 gens;
	unsigned int		 ngens;
	const char		*conffile;
	struct proc_user	 user;
	int			 quitting;
	struct event		*ev_kill;
	struct event		*ev_keywatch;
	struct event		*ev_signal[PRIV_NSIGS];
} priv;

extern char	**environ;

static void	child_spawn(struct child *);
static void	gen_reap(struct generation *);
static void	priv_host_state(struct child *, const void *, size_t);
int		priv_reload(char *, size_t);
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

/*
 * libevent's own complaints: errors are ours to report; its warnings
 * (such as the one about signals after a fork) are noise at the level
 * of normal operation.
 */
static void
libevent_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_ERR)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
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
worker_child(struct generation *g, uint32_t route, uint32_t slot)
{
	return (&g->workers[route * g->conf->prefork + slot]);
}

static uint32_t
gen_nworkers(const struct generation *g)
{
	return (g->conf->nroutes * g->conf->prefork);
}

static const char *
child_name(const struct child *c, char *buf, size_t len)
{
	if (c->type == CHILD_ACCEPT)
		strlcpy(buf, "accept", len);
	else if (c->type == CHILD_CHECK)
		strlcpy(buf, "check", len);
	else
		snprintf(buf, len, "route %s", c->gen->conf->routes[c->route]->
		    table->name);
	return (buf);
}

static int
listener_bind(struct listener *l)
{
	int	 one = 1, fd;

	fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("%s:%d: socket", l->file, l->line);
		return (-1);
	}
	/* Accepted sockets inherit TCP_NODELAY: no system call each. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == -1 ||
	    (l->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (struct sockaddr *)&l->ss, l->sslen) == -1 ||
	    listen(fd, l->rs->backlog ? l->rs->backlog : SOMAXCONN) == -1) {
		log_warn("%s:%d: listen on %s", l->file, l->line, l->name);
		close(fd);
		return (-1);
	}
	l->fd = fd;
	log_debug("listening on %s", l->name);
	return (0);
}

/*
 * Gives the new configuration its listening sockets: those it shares
 * with the running one move over as they are, so no connection is
 * refused during a reload; only new addresses are bound.
 */
static int
listeners_take(struct config *conf, struct config *old)
{
	struct listener	*l, *o;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		o = NULL;
		if (old != NULL)
			TAILQ_FOREACH(o, &old->listeners, entry)
				if (o->fd != -1 &&
				    strcmp(o->name, l->name) == 0)
					break;
		if (o != NULL) {
			l->fd = o->fd;
			o->fd = -1;
		} else if (listener_bind(l) == -1)
			return (-1);
	}
	return (0);
}

/* Undoes listeners_take() for a configuration that will not be used. */
static void
listeners_give_back(struct config *conf, struct config *old)
{
	struct listener	*l, *o;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->fd == -1)
			continue;
		o = NULL;
		if (old != NULL)
			TAILQ_FOREACH(o, &old->listeners, entry)
				if (o->fd == -1 &&
				    strcmp(o->name, l->name) == 0)
					break;
		if (o != NULL)
			o->fd = l->fd;
		else
			close(l->fd);
		l->fd = -1;
	}
}

static void
listeners_close(struct config *conf)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (l->fd != -1) {
			close(l->fd);
			l->fd = -1;
		}
}

/* Pairs one worker with the accept process of its generation. */
static void
child_pair(struct child *w)
{
	struct msg_worker	 mw;
	int			 sv[2];

	if (w->chan == NULL || w->gen->accept.chan == NULL)
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
	if (chan_send(w->gen->accept.chan, MSG_WORKER_CHAN, 0, sv[1], &mw,
	    sizeof(mw)) == -1) {
		log_warn("%s: to accept", __func__);
		close(sv[1]);
	}
}

static void
priv_child_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	struct child	*c = arg;
	const char	*name = "-";

	if (m == NULL) {
		chan_free(ch);
		if (c->chan == ch)
			c->chan = NULL;
		return;
	}
	if (m->fd != -1)
		close(m->fd);
	switch (m->hdr.type) {
	case MSG_HOST_STATE:
		priv_host_state(c, m->data, m->len);
		break;
	case MSG_STATS:
	case MSG_CONNS:
		if (c->type == CHILD_WORKER)
			name = c->gen->conf->routes[c->route]->table->name;
		/* Id 0: the last words of a process that is going. */
		if (m->hdr.id == 0 && m->hdr.type == MSG_STATS)
			control_retired(m->data, m->len, name);
		else
			control_stats(m->hdr.id, m->hdr.type, m->data, m->len,
			    name);
		break;
	default:
		log_warnx("unexpected message %u from a child", m->hdr.type);
		break;
	}
}

/* Sends a message to every live process of every generation. */
static int
priv_broadcast(uint16_t type, uint64_t id, const void *data, size_t len)
{
	struct generation	*g;
	uint32_t		 i;
	int			 n = 0;

	TAILQ_FOREACH(g, &priv.gens, entry) {
		for (i = 0; i < gen_nworkers(g); i++)
			if (g->workers[i].chan != NULL && chan_send(
			    g->workers[i].chan, type, id, -1, data, len) == 0)
				n++;
		if (g->accept.chan != NULL && chan_send(g->accept.chan, type,
		    id, -1, data, len) == 0)
			n++;
		if (type == MSG_VERBOSE && g->check.chan != NULL)
			chan_send(g->check.chan, type, id, -1, data, len);
	}
	return (n);
}

static int
ctl_ask_all(uint64_t id)
{
	return (priv_broadcast(MSG_STATS_REQ, id, NULL, 0));
}

static void
ctl_summary(struct evbuffer *out)
{
	struct generation	*g;

	TAILQ_FOREACH(g, &priv.gens, entry)
		evbuffer_add_printf(out, "generation %u %s, %u routes, "
		    "%u listeners\n", g->id, g == priv.cur ? "current" :
		    "draining", g->conf->nroutes, g->conf->nlisteners);
}

static void
ctl_certificates(struct evbuffer *out)
{
	struct keypair	*kp;
	struct tm	 tm;
	time_t		 t;
	char		 date[32];

	TAILQ_FOREACH(kp, &priv.cur->conf->keypairs, entry) {
		t = kp->notafter;
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ",
		    gmtime_r(&t, &tm));
		evbuffer_add_printf(out, "keypair %s subject %s names %s "
		    "notafter %s\n", kp->name, kp->subject,
		    kp->sans[0] ? kp->sans : "-", date);
	}
}

static void
ctl_verbose(int v)
{
	log_setverbose(v);
	priv_broadcast(MSG_VERBOSE, 0, &v, sizeof(v));
}

static const struct ctl_ops ctl_ops = {
	.reload = priv_reload,
	.ask = ctl_ask_all,
	.summary = ctl_summary,
	.certificates = ctl_certificates,
	.verbose = ctl_verbose
};

/*
 * The title says what a process is in ps(1).  On Linux the short name
 * the kernel keeps says it too: it is what top(1) and the kernel's own
 * messages, a seccomp kill among them, show.
 */
static void
proc_title(const char *title)
{
	setproctitle("%s", title);
#ifdef __linux__
	prctl(PR_SET_NAME, title, 0, 0, 0);
#endif
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
	size_t	i;

	event_reinit(priv.base);
	for (i = 0; i < PRIV_NSIGS; i++) {
		event_free(priv.ev_signal[i]);
		priv.ev_signal[i] = NULL;
	}
	event_base_free(priv.base);
	control_child_cleanup();
	proc_child_init(&c->pc);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	log_procinit(title);
	proc_title(title);
	if (c->type != CHILD_ACCEPT)
		listeners_close(priv.cur->conf);
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
	const struct rule	*r = c->gen->conf->routes[c->route];
	struct keypair		*kp;
	struct msg_keypair	 mk;
	const uint8_t		*cert, *key, *ocsp;
	uint8_t			*buf;
	size_t			 certlen, keylen, ocsplen, len;

	TAILQ_FOREACH(kp, &c->gen->conf->keypairs, entry) {
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

/* A new worker learns which servers the checks have found down. */
static void
child_send_states(struct child *c)
{
	const struct table	*t = c->gen->conf->routes[c->route]->table;
	struct msg_host_state	 hs;
	size_t			 i;

	for (i = 0; i < t->nhosts; i++) {
		if (c->gen->up[c->route][i])
			continue;
		hs.route = c->route;
		hs.host = i;
		hs.up = 0;
		chan_send(c->chan, MSG_HOST_STATE, 0, -1, &hs, sizeof(hs));
	}
}

static void
priv_host_state(struct child *c, const void *data, size_t len)
{
	struct generation	*g = c->gen;
	struct msg_host_state	 hs;
	const struct rule	*r;
	char			 addr[ADDRSTR_LEN];
	uint32_t		 i;

	if (c->type != CHILD_CHECK || len != sizeof(hs))
		return;
	memcpy(&hs, data, sizeof(hs));
	if (hs.route >= g->conf->nroutes ||
	    hs.host >= g->conf->routes[hs.route]->table->nhosts)
		return;
	r = g->conf->routes[hs.route];
	g->up[hs.route][hs.host] = hs.up != 0;
	log_info("table <%s>: server %s is %s (%s:%d)", r->table->name,
	    addr_str((struct sockaddr *)&r->table->hosts[hs.host].ss, addr,
	    sizeof(addr)), hs.up ? "up" : "down", r->file, r->line);
	for (i = 0; i < gen_nworkers(g); i++)
		if (g->workers[i].route == hs.route && g->workers[i].chan)
			chan_send(g->workers[i].chan, MSG_HOST_STATE, 0, -1,
			    &hs, sizeof(hs));
}

static void
child_spawn(struct child *c)
{
	struct config	*conf = c->gen->conf;
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
			accept_main(priv.base, conf, fd);
		if (c->type == CHILD_CHECK)
			check_main(priv.base, conf, fd);
		worker_main(priv.base, conf, conf->routes[c->route], fd);
	}
	c->alive = 1;
	if ((c->chan = chan_new(priv.base, c->pc.fd, MSG_VERSION,
	    priv_child_msg, c)) == NULL)
		fatal("%s: chan_new", __func__);
	if (c->type == CHILD_WORKER && (conf->routes[c->route]->terminate ||
	    conf->routes[c->route]->backend_tls))
		child_send_keypairs(c);
	if (c->type == CHILD_WORKER)
		child_send_states(c);
	log_debug("%s: started, pid %ld", title, (long)pid);
}

static void
child_respawn(int fd, short events, void *arg)
{
	struct child		*c = arg;
	struct generation	*g = c->gen;
	uint32_t		 i;

	(void)fd;
	(void)events;
	if (priv.quitting || g->draining)
		return;
	child_spawn(c);
	if (c->type == CHILD_WORKER) {
		child_pair(c);
		return;
	}
	if (c->type == CHILD_CHECK)
		return;
	for (i = 0; i < gen_nworkers(g); i++)
		child_pair(&g->workers[i]);
}

/*
 * A child that dies within seconds of its start would die again at
 * once: wait before trying, longer each time, so that a crash loop
 * shows in the log at a readable pace instead of eating the machine.
 */
static void
child_died(struct child *c, int status)
{
	char		 title[NAME_MAX_LEN + 16];
	struct timeval	 tv = { 0, 0 };
	double		 age = proc_age(&c->pc);

	child_name(c, title, sizeof(title));
	proc_forget(&c->pc);
	c->alive = 0;
	if (c->chan != NULL) {
		chan_free(c->chan);
		c->chan = NULL;
	}
	if (c->gen->draining) {
		log_debug("%s (pid %ld) of generation %u done", title,
		    (long)c->pc.pid, c->gen->id);
		gen_reap(c->gen);
		return;
	}
	if (priv.quitting)
		return;
	if (WIFSIGNALED(status))
		log_warnx("%s (pid %ld) killed by signal %d", title,
		    (long)c->pc.pid, WTERMSIG(status));
	else
		log_warnx("%s (pid %ld) exited with status %d", title,
		    (long)c->pc.pid, WEXITSTATUS(status));
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		log_warnx("%s: a system call outside its sandbox", title);
	/*
	 * Dying within seconds of the start, again and again, is a crash
	 * loop: say so, and wait twice as long each time, up to a minute.
	 */
	if (age < 10.0)
		c->quick++;
	else
		c->quick = 0;
	if (c->quick > 0) {
		tv.tv_sec = c->quick > 6 ? 60 : 1 << (c->quick - 1);
		log_warnx("%s: died %.2fs after start%s, respawning in %llds",
		    title, age, c->quick >= 3 ? " (crash loop)" : "",
		    (long long)tv.tv_sec);
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
gen_kill(struct generation *g, int sig)
{
	uint32_t	 i;

	for (i = 0; i < gen_nworkers(g); i++)
		if (g->workers[i].alive)
			kill(g->workers[i].pc.pid, sig);
	if (g->accept.alive)
		kill(g->accept.pc.pid, sig);
	if (g->check.alive)
		kill(g->check.pc.pid, sig);
}

static void
priv_kill_all(int sig)
{
	struct generation	*g;

	TAILQ_FOREACH(g, &priv.gens, entry)
		gen_kill(g, sig);
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
	int64_t		 ms = priv.cur->conf->shutdown_ms + 2000;

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

/*
 * Certificates renew by themselves.  A changed keypair is loaded and
 * checked again, then handed to the TLS workers, which serve it to new
 * connections while those under way finish on the old one.  A pair
 * caught half-written is refused and the one in use stays; the file
 * that completes it is another change, and another try.
 */
static void
priv_keywatch_arm(void)
{
	struct config	*conf = priv.cur->conf;
	struct keypair	*kp;
	struct timeval	 tv;
	int64_t		 ms = conf->keycheck_ms;

	if (TAILQ_EMPTY(&conf->keypairs))
		return;
	TAILQ_FOREACH(kp, &conf->keypairs, entry)
		if (kp->check_ms != -1 && kp->check_ms < ms)
			ms = kp->check_ms;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(priv.ev_keywatch, &tv);
}

static void
priv_keywatch(int fd, short events, void *arg)
{
	struct generation	*g = priv.cur;
	struct keypair		*kp;
	uint32_t		 i;
	int			 changed = 0;

	(void)fd;
	(void)events;
	(void)arg;
	TAILQ_FOREACH(kp, &g->conf->keypairs, entry) {
		if (!keypair_changed(kp))
			continue;
		log_info("keypair %s: files changed", kp->name);
		if (keypair_reload(kp) == -1)
			log_warnx("keypair %s: keeping the one in use",
			    kp->name);
		else
			changed = 1;
	}
	for (i = 0; changed && i < gen_nworkers(g); i++)
		if (g->conf->routes[g->workers[i].route]->terminate &&
		    g->workers[i].chan != NULL)
			child_send_keypairs(&g->workers[i]);
	priv_keywatch_arm();
}

static void
priv_sighup(int sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	(void)arg;
	priv_reload(NULL, 0);
}

static void
priv_signals(void)
{
	struct event		*ev;
	size_t			 i;
	int			 sig;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < PRIV_NSIGS; i++) {
		sig = priv_sigs[i];
		ev = evsignal_new(priv.base, sig,
		    sig == SIGCHLD ? priv_sigchld :
		    sig == SIGHUP ? priv_sighup : priv_sigterm, NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("cannot handle signal %d", sig);
		priv.ev_signal[i] = ev;
	}
}

static struct generation *
gen_new(struct config *conf)
{
	struct generation	*g;
	struct child		*c;
	uint32_t		 r, s;

	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->workers = calloc(conf->nroutes * conf->prefork,
	    sizeof(*g->workers))) == NULL)
		fatal("%s", __func__);
	g->id = ++priv.ngens;
	g->conf = conf;
	g->accept.gen = g;
	g->accept.type = CHILD_ACCEPT;
	g->check.gen = g;
	g->check.type = CHILD_CHECK;
	if ((g->up = calloc(conf->nroutes, sizeof(*g->up))) == NULL)
		fatal("%s", __func__);
	for (r = 0; r < conf->nroutes; r++) {
		if ((g->up[r] = malloc(conf->routes[r]->table->nhosts)) == NULL)
			fatal("%s", __func__);
		memset(g->up[r], 1, conf->routes[r]->table->nhosts);
	}
	for (r = 0; r < conf->nroutes; r++)
		for (s = 0; s < (uint32_t)conf->prefork; s++) {
			c = worker_child(g, r, s);
			c->gen = g;
			c->type = CHILD_WORKER;
			c->route = r;
			c->slot = s;
		}
	for (r = 0; r < gen_nworkers(g); r++)
		if ((g->workers[r].ev_respawn = evtimer_new(priv.base,
		    child_respawn, &g->workers[r])) == NULL)
			fatal("%s", __func__);
	if ((g->accept.ev_respawn = evtimer_new(priv.base, child_respawn,
	    &g->accept)) == NULL ||
	    (g->check.ev_respawn = evtimer_new(priv.base, child_respawn,
	    &g->check)) == NULL)
		fatal("%s", __func__);
	TAILQ_INSERT_TAIL(&priv.gens, g, entry);
	return (g);
}

static void
gen_start(struct generation *g)
{
	uint32_t	 i, n = gen_nworkers(g);

	for (i = 0; i < n; i++)
		child_spawn(&g->workers[i]);
	child_spawn(&g->accept);
	for (i = 0; i < n; i++)
		child_pair(&g->workers[i]);
	if (check_wanted(g->conf))
		child_spawn(&g->check);
}

/* Frees a draining generation once none of its processes is left. */
static void
gen_reap(struct generation *g)
{
	uint32_t	 i;

	if (!g->draining || g->accept.alive || g->check.alive)
		return;
	for (i = 0; i < gen_nworkers(g); i++)
		if (g->workers[i].alive)
			return;
	log_info("generation %u finished", g->id);
	TAILQ_REMOVE(&priv.gens, g, entry);
	for (i = 0; i < gen_nworkers(g); i++)
		event_free(g->workers[i].ev_respawn);
	event_free(g->accept.ev_respawn);
	event_free(g->check.ev_respawn);
	for (i = 0; i < g->conf->nroutes; i++)
		free(g->up[i]);
	free(g->up);
	free(g->workers);
	listeners_close(g->conf);
	config_free(g->conf);
	free(g);
}

/*
 * The old accept process stops listening and goes once the connections
 * it is looking at have gone to workers; the old workers go once their
 * last connection has ended, however long that takes.
 */
static void
gen_drain(struct generation *g)
{
	uint32_t	 i;

	g->draining = 1;
	for (i = 0; i < gen_nworkers(g); i++) {
		evtimer_del(g->workers[i].ev_respawn);
		if (g->workers[i].chan != NULL)
			chan_send(g->workers[i].chan, MSG_DRAIN, 0, -1,
			    NULL, 0);
	}
	evtimer_del(g->accept.ev_respawn);
	if (g->accept.chan != NULL)
		chan_send(g->accept.chan, MSG_DRAIN, 0, -1, NULL, 0);
	/* Checks are of no use to a generation that takes nothing new. */
	evtimer_del(g->check.ev_respawn);
	if (g->check.alive)
		kill(g->check.pc.pid, SIGTERM);
	gen_reap(g);
}

/*
 * Reads the configuration again.  On any error the running one stays,
 * and the reason goes to the log and, through err, to whoever asked.
 */
int
priv_reload(char *err, size_t errlen)
{
	struct config		*conf;
	struct generation	*old = priv.cur;

	log_info("reloading %s", priv.conffile);
	log_capture(err, errlen);
	if ((conf = parse_config(priv.conffile)) == NULL) {
		log_warnx("reload failed: keeping the running configuration");
		log_capture(NULL, 0);
		return (-1);
	}
	if (listeners_take(conf, old->conf) == -1) {
		listeners_give_back(conf, old->conf);
		config_free(conf);
		log_warnx("reload failed: keeping the running configuration");
		log_capture(NULL, 0);
		return (-1);
	}
	log_capture(NULL, 0);
	/* Sockets the new configuration does not name close with it. */
	listeners_close(old->conf);
	priv.cur = gen_new(conf);
	gen_start(priv.cur);
	gen_drain(old);
	evtimer_del(priv.ev_keywatch);
	priv_keywatch_arm();
	log_info("configuration reloaded, generation %u", priv.cur->id);
	return (0);
}

/*
 * As root, the parent keeps only what it needs: the directory of the
 * configuration, where every file it may read again lives.
 */
/* Every connection is a descriptor or two: take all the system allows. */
static void
priv_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit");
	}
}

static void
priv_root(const char *conffile)
{
	static char	 path[PATH_MAX];
	char		 dir[PATH_MAX];

	if (realpath(conffile, path) == NULL)
		fatal("%s", conffile);
	priv.conffile = path;
	strlcpy(dir, path, sizeof(dir));
	config_root(dirname(dir), geteuid() == 0);
}

static void
priv_chroot(const char *conffile)
{
	char		 dir[PATH_MAX];

	if (!priv.user.privileged)
		return;
	strlcpy(dir, conffile, sizeof(dir));
	strlcpy(dir, dirname(dir), sizeof(dir));
	if (proc_chroot_self(dir) == -1)
		fatal("chroot %s", dir);
	config_chrooted();
	/* Where the kernel allows, priv may read there and do no more. */
	switch (sandbox_readonly("/")) {
	case -1:
		fatal("landlock");
	case 0:
		log_info("no Landlock: priv's file system access is its "
		    "chroot alone");
		break;
	default:
		log_debug("priv reads %s and writes nothing", dir);
		break;
	}
}

static void
priv_user(struct config *conf)
{
	int	 rv;

	rv = proc_user_init(&priv.user, conf->user, conf->chroot);
	if (rv == -1)
		fatalx("unknown user %s", conf->user);
	if (rv == -2)
		fatal("chroot directory %s (must exist, belong to root and "
		    "not be writable by others)", conf->chroot);
	if (!priv.user.privileged)
		log_warnx("not started as root: no privilege drop, no chroot");
}

int
main(int argc, char *argv[])
{
	const char	*conffile = SNIPROXYD_CONF;
	int		 ch, debug = 0, noaction = 0, verbose = 0;
	struct config	*conf;

	setproctitle_init(argc, argv, environ);
	log_init(1, LOG_DAEMON);
	event_set_log_callback(libevent_log);
	/* Before any fork: libtls reads its configuration files now. */
	if (tls_init() == -1)
		fatalx("tls_init");
	config_load_system_ca();
	while ((ch = getopt(argc, argv, "D:df:nvV")) != -1) {
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
		case 'V':
			version_print();
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	log_setverbose(verbose);

	priv_root(conffile);
	if ((conf = parse_config(priv.conffile)) == NULL)
		exit(1);
	if (noaction) {
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	priv_nofile();
	priv_user(conf);
	TAILQ_INIT(&priv.gens);
	if (listeners_take(conf, NULL) == -1)
		exit(1);
	if (!debug && daemon(0, 0) == -1)
		fatal("daemon");
	priv.base = event_base_new_features(0);
	if (control_init(priv.base, conf->control, &ctl_ops) == -1) {
		if (conf->control_set)
			fatalx("cannot open the control socket");
		log_warnx("running without a control socket");
	}
	priv_chroot(priv.conffile);
	proc_title("priv");
	priv_signals();
	if ((priv.ev_kill = evtimer_new(priv.base, priv_kill_expired,
	    NULL)) == NULL)
		fatal("evtimer_new");
	priv.cur = gen_new(conf);
	gen_start(priv.cur);
	if ((priv.ev_keywatch = evtimer_new(priv.base, priv_keywatch,
	    NULL)) == NULL)
		fatal("evtimer_new");
	priv_keywatch_arm();
	log_info("sniproxyd %s started", SNIPROXYD_VERSION);

	event_base_dispatch(priv.base);
	log_info("exiting");
	return (0);
}
