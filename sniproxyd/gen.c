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
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "chan.h"
#include "connlimit.h"
#include "control.h"
#include "gen.h"
#include "log.h"
#include "msg.h"
#include "notify.h"
#include "proc.h"
#include "shm.h"
#include "sniproxyd.h"

/* How long priv waits for the keys helper to load every keypair. */
#define KEYS_WAIT_MS	30000
/* How long a new generation may take to come up before it takes over. */
#define GEN_UP_WAIT	30

struct generation;

/* What priv knows of one server of a route's table. */
struct gen_host {
	int			 up;		/* as the checks say */
	enum host_admin		 admin;		/* as sniproxyctl says */
	int			 weight;
	time_t			 since;		/* of the state shown */
};

struct child {
	struct proc_child	 pc;
	struct generation	*gen;
	enum proc_roles		 role;
	uint32_t		 route;
	uint32_t		 slot;
	int			 alive;
	int			 ready;
	int			 quick;		/* deaths soon after start */
	uint64_t		 asked;		/* statistics still owed */
	struct msg_host_stats	*hstats;	/* a worker's last answer */
	struct chan		*chan;
	struct event		*ev_respawn;
};

/*
 * One configuration and the processes that serve it, all started from
 * the binary on disk when the generation began.  A reload starts a new
 * generation; the old one stops taking connections and goes away when
 * its last connection has ended.
 */
struct generation {
	unsigned int		 id;
	struct config		*conf;
	uint8_t			*bundle;	/* what conf was parsed from */
	size_t			 bundlelen;
	time_t			 started;
	char			 version[32];	/* as its accept says */
	struct child		*accepts;	/* conf->naccept of them */
	int			 limitfd;	/* their shared limits, or -1 */
	struct child		 check;		/* when any route checks */
	struct child		 keys;		/* when there are keypairs */
	struct child		*workers;	/* route * prefork + slot */
	struct gen_host		**hosts;	/* per route, per server */
	struct msg_cert_info	*certs;		/* by keypair id */
	int			 keys_result;	/* -1 none yet, 0 bad, 1 ok */
	char			*keys_error;
	int			 up_all;	/* every worker and accept */
	struct event		*ev_up;		/* waits for up_all */
	int			 draining;
	TAILQ_ENTRY(generation)	 entry;
};

static struct {
	struct gen_env		 env;
	struct generation	*cur;
	TAILQ_HEAD(, generation) gens;
	unsigned int		 ngens;
	int			 quitting;
} gs;

static void	child_spawn(struct child *);
static void	gen_drain(struct generation *);
static void	gen_up(int, short, void *);
static int	child_send(struct child *, uint16_t, uint64_t, int,
		    const void *, size_t);
static void	gen_reap(struct generation *);

void
gen_init(const struct gen_env *env)
{
	gs.env = *env;
	TAILQ_INIT(&gs.gens);
}

struct config *
gen_config(void)
{
	return (gs.cur->conf);
}

unsigned int
gen_id(void)
{
	return (gs.cur->id);
}

static uint32_t
gen_nworkers(const struct generation *g)
{
	return (g->conf->nroutes * g->conf->prefork);
}

/* Every child of a generation: workers, accept processes, check, keys. */
static struct child *
gen_child(struct generation *g, uint32_t i)
{
	uint32_t	 n = gen_nworkers(g), na = g->conf->naccept;

	if (i < n)
		return (&g->workers[i]);
	if (i < n + na)
		return (&g->accepts[i - n]);
	if (i == n + na)
		return (&g->check);
	if (i == n + na + 1)
		return (&g->keys);
	return (NULL);
}

static int
route_tls(const struct generation *g, uint32_t route)
{
	return (g->conf->routes[route]->terminate);
}

static const char *
child_name(const struct child *c, char *buf, size_t len)
{
	if (c->role == ROLE_WORKER)
		snprintf(buf, len, "route %s", c->gen->conf->routes[c->route]->
		    table->name);
	else if (c->role == ROLE_ACCEPT && c->gen->conf->naccept > 1)
		snprintf(buf, len, "accept %u", c->slot);
	else
		strlcpy(buf, proc_role_name(c->role), len);
	return (buf);
}

/* Gives a worker a channel to a peer: an accept process or keys. */
static void
child_pair(struct child *w, struct child *peer, uint16_t towork,
    uint16_t topeer)
{
	struct msg_worker	 mw;
	int			 sv[2];

	if (w->chan == NULL || peer->chan == NULL || !w->alive)
		return;
	if (chan_pair(sv) == -1) {
		log_warn("%s: socketpair", __func__);
		return;
	}
	mw.route = w->route;
	mw.slot = w->slot;
	if (child_send(w, towork, 0, sv[0], NULL, 0) == -1)
		close(sv[1]);
	else
		child_send(peer, topeer, 0, sv[1], &mw, sizeof(mw));
}

/*
 * The current generation has every process up, or has waited long
 * enough: the generations before it stop taking connections now, so
 * that back-to-back reloads never leave a moment with no process to
 * take one.  Said once, in the log and to the service manager.
 */
static void
gen_up(int fd, short events, void *arg)
{
	struct generation	*g = arg, *o, *next;

	(void)fd;
	(void)events;
	if (g->up_all || g != gs.cur)
		return;
	g->up_all = 1;
	evtimer_del(g->ev_up);
	for (o = TAILQ_FIRST(&gs.gens); o != NULL; o = next) {
		next = TAILQ_NEXT(o, entry);
		if (o != g && !o->draining)
			gen_drain(o);
	}
	if (g->id == 1)
		log_info("sniproxyd %s started", SNIPROXYD_VERSION);
	else
		log_info("generation %u is up", g->id);
	/* After a reload too: it ends the one the manager was told of. */
	notify_ready();
}

/*
 * Every worker takes connections from every accept process of its
 * generation, each over a channel of its own.  A draining generation
 * takes no new connection: it needs no pairs.
 */
static void
pair_accept(struct child *w, struct child *a)
{
	if (w->ready && a->ready && !w->gen->draining)
		child_pair(w, a, MSG_ACCEPT_CHAN, MSG_WORKER_CHAN);
}

static void
pair_keys(struct child *w)
{
	if (route_tls(w->gen, w->route) && !w->gen->draining)
		child_pair(w, &w->gen->keys, MSG_KEYS_CHAN, MSG_KEYS_WORKER);
}

/*
 * A process that goes, as an old generation's do, answers no more: the
 * request it owed an answer to stops waiting for it.
 */
static void
child_unasked(struct child *c)
{
	uint64_t	 id = c->asked;

	c->asked = 0;
	if (id != 0)
		control_gone(id);
}

/* A child that says something it must not is killed, and respawned. */
static void
child_broken(struct child *c, const char *why)
{
	char	 title[NAME_MAX_LEN + 16];

	log_warnx("%s (pid %ld): %s: ending it", child_name(c, title,
	    sizeof(title)), (long)c->pc.pid, why);
	kill(c->pc.pid, SIGKILL);
}

/*
 * A message that cannot reach a child leaves it out of step with
 * priv: it is ended and replaced rather than left half told.
 */
static int
child_send(struct child *c, uint16_t type, uint64_t id, int fd,
    const void *data, size_t len)
{
	if (c->chan == NULL) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if (chan_send(c->chan, type, id, fd, data, len) == 0)
		return (0);
	if (fd != -1)
		close(fd);
	/* A child that has gone is reaped, and replaced, as it is. */
	if (errno != EPIPE && errno != ECONNRESET)
		child_broken(c, "cannot send to it");
	return (-1);
}

static void
gen_host_state(struct child *c, const void *data, size_t len)
{
	struct generation	*g = c->gen;
	struct msg_host_state	 hs;
	const struct rule	*r;
	char			 addr[ADDRSTR_LEN];
	uint32_t		 i;

	if (c->role != ROLE_CHECK || len != sizeof(hs)) {
		child_broken(c, "malformed host state");
		return;
	}
	memcpy(&hs, data, sizeof(hs));
	if (hs.route >= g->conf->nroutes ||
	    hs.host >= g->conf->routes[hs.route]->table->nhosts) {
		child_broken(c, "host state out of range");
		return;
	}
	r = g->conf->routes[hs.route];
	/* Set aside by sniproxyctl, a server shows that state instead. */
	if (g->hosts[hs.route][hs.host].up != (hs.up != 0)) {
		g->hosts[hs.route][hs.host].up = hs.up != 0;
		if (g->hosts[hs.route][hs.host].admin == HOST_ENABLED)
			g->hosts[hs.route][hs.host].since = time(NULL);
	}
	log_info("table <%s>: server %s is %s (%s:%d)", r->table->name,
	    addr_str((struct sockaddr *)&r->table->hosts[hs.host].ss, addr,
	    sizeof(addr)), hs.up ? "up" : "down", r->file, r->line);
	for (i = 0; i < gen_nworkers(g); i++)
		if (g->workers[i].route == hs.route)
			child_send(&g->workers[i], MSG_HOST_STATE, 0, -1, &hs,
			    sizeof(hs));
}

/*
 * Statistics name the process's own route and its table's servers; a
 * worker's per-server counts are kept for show hosts.
 */
static int
child_stats(struct child *c, const void *data, size_t len)
{
	struct msg_stats	 st;
	size_t			 n = 0;

	if (len < sizeof(st))
		return (-1);
	memcpy(&st, data, sizeof(st));
	if (c->role == ROLE_WORKER)
		n = c->gen->conf->routes[c->route]->table->nhosts;
	if (st.route != (c->role == ROLE_WORKER ? c->route : UINT32_MAX) ||
	    st.nhosts != n || len != sizeof(st) + n * sizeof(*c->hstats))
		return (-1);
	if (n > 0)
		memcpy(c->hstats, (const uint8_t *)data + sizeof(st),
		    n * sizeof(*c->hstats));
	return (0);
}

static void
gen_ready(struct child *c, const void *data, size_t len)
{
	struct generation	*g = c->gen;
	uint32_t		 i;

	if (len == 0 || len >= sizeof(g->version) ||
	    memchr(data, '\0', len) != NULL) {
		child_broken(c, "malformed ready message");
		return;
	}
	c->ready = 1;
	if (c->role == ROLE_ACCEPT) {
		memcpy(g->version, data, len);
		g->version[len] = '\0';
		for (i = 0; i < gen_nworkers(g); i++)
			pair_accept(&g->workers[i], c);
	} else if (c->role == ROLE_WORKER)
		for (i = 0; i < (uint32_t)g->conf->naccept; i++)
			pair_accept(c, &g->accepts[i]);
	for (i = 0; i < (uint32_t)g->conf->naccept; i++)
		if (!g->accepts[i].ready)
			return;
	for (i = 0; i < gen_nworkers(g); i++)
		if (!g->workers[i].ready)
			return;
	gen_up(-1, 0, g);
}

static void
gen_keys_result(struct child *c, const void *data, size_t len)
{
	struct generation	*g = c->gen;
	uint32_t		 ok;

	if (c->role != ROLE_KEYS || len < sizeof(ok)) {
		child_broken(c, "malformed keys result");
		return;
	}
	memcpy(&ok, data, sizeof(ok));
	free(g->keys_error);
	if ((g->keys_error = strndup((const char *)data + sizeof(ok),
	    len - sizeof(ok))) == NULL)
		fatal("%s", __func__);
	g->keys_result = ok != 0;
}

static void
gen_cert_info(struct child *c, const void *data, size_t len)
{
	struct msg_cert_info	 ci;

	if (c->role != ROLE_KEYS || len != sizeof(ci)) {
		child_broken(c, "malformed certificate information");
		return;
	}
	memcpy(&ci, data, sizeof(ci));
	if (ci.id >= c->gen->conf->nkeypairs ||
	    memchr(ci.subject, '\0', sizeof(ci.subject)) == NULL ||
	    memchr(ci.sans, '\0', sizeof(ci.sans)) == NULL) {
		child_broken(c, "certificate information out of range");
		return;
	}
	c->gen->certs[ci.id] = ci;
}

/*
 * Statistics come from the accept processes and from workers, which
 * alone send the connection list, as text; child_stats() checks and
 * keeps the numbers.
 */
static int
stats_valid(struct child *c, const struct chan_msg *m)
{
	if (c->role != ROLE_WORKER && c->role != ROLE_ACCEPT)
		return (0);
	if (m->hdr.type == MSG_CONNS)
		return (c->role == ROLE_WORKER &&
		    memchr(m->data, '\0', m->len) == NULL);
	return (child_stats(c, m->data, m->len) == 0);
}

static void
gen_child_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	struct child	*c = arg;
	const char	*route = "-";

	if (m == NULL) {
		if (chan_broken(ch))
			child_broken(c, "malformed message");
		chan_free(ch);
		if (c->chan == ch) {
			c->chan = NULL;
			child_unasked(c);
		}
		return;
	}
	/* No child has a descriptor to give priv. */
	if (m->fd != -1) {
		close(m->fd);
		child_broken(c, "sent a descriptor");
		return;
	}
	switch (m->hdr.type) {
	case MSG_READY:
		gen_ready(c, m->data, m->len);
		break;
	case MSG_HOST_STATE:
		gen_host_state(c, m->data, m->len);
		break;
	case MSG_KEYS_RESULT:
		gen_keys_result(c, m->data, m->len);
		break;
	case MSG_CERT_INFO:
		gen_cert_info(c, m->data, m->len);
		break;
	case MSG_STATS:
	case MSG_CONNS:
		if (!stats_valid(c, m)) {
			child_broken(c, "malformed statistics");
			break;
		}
		if (c->role == ROLE_WORKER)
			route = c->gen->conf->routes[c->route]->table->name;
		if (m->hdr.type == MSG_STATS && m->hdr.id == c->asked)
			c->asked = 0;
		/* Id 0: the last words of a process that is going. */
		if (m->hdr.id == 0 && m->hdr.type == MSG_STATS)
			control_retired(m->data, m->len, route);
		else
			control_stats(m->hdr.id, m->hdr.type, m->data, m->len,
			    route);
		break;
	default:
		child_broken(c, "unexpected message");
		break;
	}
}

static void
child_send_admin(struct child *c, size_t host)
{
	const struct gen_host	*gh = &c->gen->hosts[c->route][host];
	struct msg_host_admin	 ha;
	struct msg_host_weight	 hw;

	ha.route = hw.route = c->route;
	ha.host = hw.host = host;
	ha.state = gh->admin;
	hw.weight = gh->weight;
	child_send(c, MSG_HOST_ADMIN, 0, -1, &ha, sizeof(ha));
	child_send(c, MSG_HOST_WEIGHT, 0, -1, &hw, sizeof(hw));
}

/*
 * A new worker learns which servers the checks have found down, and
 * what sniproxyctl has changed; so does a new check process learn what
 * is down: starting from "all up", it would never report a server that
 * came back while there was none.
 */
static void
child_send_states(struct child *c)
{
	const struct config	*conf = c->gen->conf;
	const struct table	*t;
	const struct gen_host	*gh;
	struct msg_host_state	 hs;
	uint32_t		 r;
	size_t			 i;

	for (r = 0; r < conf->nroutes; r++) {
		if (c->role == ROLE_WORKER && r != c->route)
			continue;
		t = conf->routes[r]->table;
		for (i = 0; i < t->nhosts; i++) {
			gh = &c->gen->hosts[r][i];
			if (c->role == ROLE_WORKER &&
			    (gh->admin != HOST_ENABLED ||
			    gh->weight != t->hosts[i].weight))
				child_send_admin(c, i);
			if (gh->up)
				continue;
			hs.route = r;
			hs.host = i;
			hs.up = 0;
			child_send(c, MSG_HOST_STATE, 0, -1, &hs, sizeof(hs));
		}
	}
}

/* An accept process's first message once started: the shared limits. */
static int
child_boot_limits(struct child *c)
{
	int	 fd;

	if (c->role != ROLE_ACCEPT || c->gen->limitfd == -1)
		return (0);
	if ((fd = dup(c->gen->limitfd)) == -1)
		return (-1);
	if (chan_send(c->chan, MSG_ACCEPT_LIMITS, 0, fd, NULL, 0) == -1) {
		close(fd);
		return (-1);
	}
	return (0);
}

/* What a child is told before it starts: who, what, and the bundle. */
static int
child_boot(struct child *c)
{
	struct generation	*g = c->gen;
	struct msg_boot		 b;
	size_t			 off, n;
	int			 rootfd = -1;

	memset(&b, 0, sizeof(b));
	b.role = c->role;
	b.route = c->route;
	b.slot = c->slot;
	b.naccept = g->conf->naccept;
	b.gen = g->id;
	b.debug = gs.env.debug;
	b.verbose = log_getverbose();
	b.uid = gs.env.user->uid;
	b.gid = gs.env.user->gid;
	b.privileged = gs.env.user->privileged;
	b.nlisteners = c->role == ROLE_ACCEPT ? g->conf->nlisteners : 0;
	b.conflen = g->bundlelen;
	if (chan_send(c->chan, MSG_BOOT, 0, -1, &b, sizeof(b)) == -1)
		return (-1);
	for (off = 0; off < g->bundlelen; off += n) {
		n = g->bundlelen - off;
		if (n > CHAN_MAXMSG - sizeof(struct chan_hdr))
			n = CHAN_MAXMSG - sizeof(struct chan_hdr);
		if (chan_send(c->chan, MSG_BOOT_CONF, 0, -1, g->bundle + off,
		    n) == -1)
			return (-1);
	}
	if (c->role != ROLE_KEYS && gs.env.user->privileged &&
	    (rootfd = dup(gs.env.user->rootfd)) == -1)
		return (-1);
	if (chan_send(c->chan, MSG_BOOT_DONE, 0, rootfd, NULL, 0) == -1) {
		if (rootfd != -1)
			close(rootfd);
		return (-1);
	}
	return (child_boot_limits(c));
}

static void
child_spawn(struct child *c)
{
	struct config	*conf = c->gen->conf;
	struct listener	*l;
	char		 title[NAME_MAX_LEN + 16];
	int		*fds = NULL;
	size_t		 nfds = 0;
	pid_t		 pid;

	child_name(c, title, sizeof(title));
	if (c->role == ROLE_ACCEPT) {
		if ((fds = calloc(conf->nlisteners, sizeof(*fds))) == NULL)
			fatal("%s", __func__);
		TAILQ_FOREACH(l, &conf->listeners, entry)
			fds[nfds++] = l->fds[c->slot];
	}
	pid = proc_spawn(&c->pc, gs.env.binary, proc_role_name(c->role), fds,
	    nfds);
	free(fds);
	if (pid == -1) {
		log_warn("%s: fork", title);
		return;
	}
	c->alive = 1;
	c->ready = 0;
	if (c->hstats != NULL)
		memset(c->hstats, 0, conf->routes[c->route]->table->nhosts *
		    sizeof(*c->hstats));
	if ((c->chan = chan_new(gs.env.base, c->pc.fd, MSG_VERSION,
	    gen_child_msg, c)) == NULL)
		fatal("%s: chan_new", __func__);
	if (child_boot(c) == -1) {
		log_warn("%s: cannot start", title);
		kill(pid, SIGKILL);
		return;
	}
	if (c->role == ROLE_WORKER || c->role == ROLE_CHECK)
		child_send_states(c);
	if (c->role == ROLE_WORKER)
		pair_keys(c);
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
	if (gs.quitting || g->draining)
		return;
	child_spawn(c);
	if (c->role != ROLE_KEYS)
		return;
	for (i = 0; i < gen_nworkers(g); i++)
		pair_keys(&g->workers[i]);
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
	c->ready = 0;
	if (c->chan != NULL) {
		chan_free(c->chan);
		c->chan = NULL;
	}
	child_unasked(c);
	if (c->gen->draining) {
		log_debug("%s (pid %ld) of generation %u done", title,
		    (long)c->pc.pid, c->gen->id);
		gen_reap(c->gen);
		return;
	}
	if (gs.quitting)
		return;
	if (WIFSIGNALED(status))
		log_warnx("%s (pid %ld) killed by signal %d", title,
		    (long)c->pc.pid, WTERMSIG(status));
	else
		log_warnx("%s (pid %ld) exited with status %d", title,
		    (long)c->pc.pid, WEXITSTATUS(status));
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		log_warnx("%s: a system call outside its sandbox", title);
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

/* SIGCHLD: children that have gone are reaped, and replaced. */
void
gen_reaped(void)
{
	struct proc_child	*pc;
	pid_t			 pid;
	int			 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((pc = proc_find(pid)) == NULL)
			continue;
		child_died((struct child *)pc, status);
	}
	if (gs.quitting && proc_count() == 0)
		event_base_loopbreak(gs.env.base);
}

static void
gen_kill(struct generation *g, int sig)
{
	struct child	*c;
	uint32_t	 i;

	for (i = 0; (c = gen_child(g, i)) != NULL; i++)
		if (c->alive)
			kill(c->pc.pid, sig);
}

int
gen_quitting(void)
{
	return (gs.quitting);
}

/* Every child is told to finish; priv's loop ends when all have. */
void
gen_quit(int sig)
{
	struct generation	*g;

	gs.quitting = 1;
	TAILQ_FOREACH(g, &gs.gens, entry)
		gen_kill(g, sig);
	if (proc_count() == 0)
		event_base_loopbreak(gs.env.base);
}

static void
child_setup(struct generation *g, struct child *c, enum proc_roles role,
    uint32_t route, uint32_t slot)
{
	c->gen = g;
	c->role = role;
	c->route = route;
	c->slot = slot;
	if ((c->ev_respawn = evtimer_new(gs.env.base, child_respawn, c)) ==
	    NULL)
		fatal("%s", __func__);
	if (role == ROLE_WORKER && (c->hstats = calloc(g->conf->routes[route]->
	    table->nhosts, sizeof(*c->hstats))) == NULL)
		fatal("%s", __func__);
}

static struct generation *
gen_new(struct config *conf, uint8_t *bundle, size_t bundlelen)
{
	struct generation	*g;
	uint32_t		 r, s;
	size_t			 h, nhosts;

	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->workers = calloc(conf->nroutes * conf->prefork,
	    sizeof(*g->workers))) == NULL ||
	    (g->accepts = calloc(conf->naccept, sizeof(*g->accepts))) ==
	    NULL ||
	    (g->hosts = calloc(conf->nroutes, sizeof(*g->hosts))) == NULL ||
	    (g->certs = calloc(conf->nkeypairs + 1, sizeof(*g->certs))) ==
	    NULL)
		fatal("%s", __func__);
	g->id = ++gs.ngens;
	g->conf = conf;
	g->bundle = bundle;
	g->bundlelen = bundlelen;
	g->started = time(NULL);
	g->keys_result = -1;
	strlcpy(g->version, "-", sizeof(g->version));
	for (r = 0; r < conf->nroutes; r++) {
		nhosts = conf->routes[r]->table->nhosts;
		if ((g->hosts[r] = calloc(nhosts, sizeof(*g->hosts[r]))) ==
		    NULL)
			fatal("%s", __func__);
		for (h = 0; h < nhosts; h++) {
			g->hosts[r][h].up = 1;
			g->hosts[r][h].weight = conf->routes[r]->table->
			    hosts[h].weight;
			g->hosts[r][h].since = g->started;
		}
		for (s = 0; s < (uint32_t)conf->prefork; s++)
			child_setup(g, &g->workers[r * conf->prefork + s],
			    ROLE_WORKER, r, s);
	}
	for (s = 0; s < (uint32_t)conf->naccept; s++)
		child_setup(g, &g->accepts[s], ROLE_ACCEPT, 0, s);
	/* Without it each accept process keeps to its share of a limit. */
	if ((g->limitfd = shm_create(limits_table_size(conf))) == -1)
		log_warn("generation %u: shared limits", g->id);
	child_setup(g, &g->check, ROLE_CHECK, 0, 0);
	child_setup(g, &g->keys, ROLE_KEYS, 0, 0);
	if ((g->ev_up = evtimer_new(gs.env.base, gen_up, g)) == NULL)
		fatal("%s", __func__);
	TAILQ_INSERT_TAIL(&gs.gens, g, entry);
	return (g);
}

static void
gen_free(struct generation *g)
{
	struct child	*c;
	uint32_t	 i;

	TAILQ_REMOVE(&gs.gens, g, entry);
	for (i = 0; (c = gen_child(g, i)) != NULL; i++) {
		event_free(c->ev_respawn);
		free(c->hstats);
	}
	event_free(g->ev_up);
	if (g->limitfd != -1)
		close(g->limitfd);
	for (i = 0; i < g->conf->nroutes; i++)
		free(g->hosts[i]);
	free(g->hosts);
	free(g->workers);
	free(g->accepts);
	free(g->certs);
	free(g->keys_error);
	freezero(g->bundle, g->bundlelen);
	listeners_close(g->conf);
	config_free(g->conf);
	free(g);
}

/*
 * The keys helper comes first: a generation whose keypairs do not load
 * does not start, and the reason goes to whoever asked.
 */
static int
gen_keys(struct generation *g, char *err, size_t errlen)
{
	if (g->conf->nkeypairs == 0)
		return (0);
	child_spawn(&g->keys);
	while (g->keys.chan != NULL && g->keys_result == -1)
		if (chan_wait(g->keys.chan, KEYS_WAIT_MS) == -1)
			break;
	if (g->keys_result == 1)
		return (0);
	if (g->keys_result == -1)
		log_warnx("keys: no answer about the keypairs");
	else if (err != NULL)
		strlcpy(err, g->keys_error, errlen);
	return (-1);
}

static void
gen_start(struct generation *g)
{
	uint32_t	 i, n = gen_nworkers(g);

	for (i = 0; i < n; i++)
		child_spawn(&g->workers[i]);
	for (i = 0; i < (uint32_t)g->conf->naccept; i++)
		child_spawn(&g->accepts[i]);
	if (check_wanted(g->conf))
		child_spawn(&g->check);
}

/* Frees a draining generation once none of its processes is left. */
static void
gen_reap(struct generation *g)
{
	struct child	*c;
	uint32_t	 i;

	if (!g->draining)
		return;
	for (i = 0; (c = gen_child(g, i)) != NULL; i++)
		if (c->alive)
			return;
	log_info("generation %u finished", g->id);
	gen_free(g);
}

/*
 * The old accept processes stop listening and go once the connections
 * each is looking at have gone to workers; the old workers go once their
 * last connection has ended, however long that takes.
 */
static void
gen_drain(struct generation *g)
{
	struct child	*c;
	uint32_t	 i;

	g->draining = 1;
	for (i = 0; (c = gen_child(g, i)) != NULL; i++) {
		evtimer_del(c->ev_respawn);
		if (c->role == ROLE_WORKER || c->role == ROLE_ACCEPT)
			child_send(c, MSG_DRAIN, 0, -1, NULL, 0);
	}
	/*
	 * Checks are of no use to a generation that takes nothing new,
	 * and its workers have their keypairs.
	 */
	if (g->check.alive)
		kill(g->check.pc.pid, SIGTERM);
	if (g->keys.alive)
		kill(g->keys.pc.pid, SIGTERM);
	gen_reap(g);
}

/*
 * Starts a generation for conf, parsed from bundle (both taken).  On
 * failure the running generation stays and err says why.
 */
int
gen_begin(struct config *conf, uint8_t *bundle, size_t len, char *err,
    size_t errlen)
{
	struct generation	*g, *old = gs.cur;
	struct timeval		 tv = { GEN_UP_WAIT, 0 };

	g = gen_new(conf, bundle, len);
	if (gen_keys(g, err, errlen) == -1 ||
	    listeners_take(conf, old ? old->conf : NULL) == -1) {
		listeners_give_back(conf, old ? old->conf : NULL);
		g->draining = 1;
		if (g->keys.alive)
			kill(g->keys.pc.pid, SIGKILL);
		else
			gen_free(g);
		return (-1);
	}
	gs.cur = g;
	gen_start(g);
	/* Sockets the new configuration does not name close now. */
	if (old != NULL)
		listeners_close(old->conf);
	/* One that never came up took nothing: it can go at once. */
	if (old != NULL && !old->up_all)
		gen_drain(old);
	evtimer_add(g->ev_up, &tv);
	return (0);
}

/*
 * Sends a message to every live process of every generation; returns
 * how many of them owe an answer to MSG_STATS_REQ.  A process that has
 * not said it is ready may still be starting and holds no connection:
 * it is not asked, so that a reload does not make the next question
 * wait for it.
 */
int
gen_broadcast(uint16_t type, uint64_t id, const void *data, size_t len)
{
	struct generation	*g;
	struct child		*c;
	uint32_t		 i;
	int			 n = 0;

	TAILQ_FOREACH(g, &gs.gens, entry)
		for (i = 0; (c = gen_child(g, i)) != NULL; i++) {
			if (c->chan == NULL || (c->role != ROLE_WORKER &&
			    c->role != ROLE_ACCEPT && type != MSG_VERBOSE))
				continue;
			if (type == MSG_STATS_REQ && !c->ready)
				continue;
			if (child_send(c, type, id, -1, data, len) == -1 ||
			    type != MSG_STATS_REQ)
				continue;
			c->asked = id;
			n++;
		}
	return (n);
}

void
gen_summary(struct evbuffer *out)
{
	struct generation	*g;
	struct tm		 tm;
	char			 date[32];

	TAILQ_FOREACH(g, &gs.gens, entry) {
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ",
		    gmtime_r(&g->started, &tm));
		evbuffer_add_printf(out, "generation %u %s, %u routes, "
		    "%u listeners, %d accept processes, sniproxyd %s, "
		    "started %s\n", g->id, g == gs.cur ? "current" :
		    "draining", g->conf->nroutes, g->conf->nlisteners,
		    g->conf->naccept, g->version, date);
	}
}

void
gen_certificates(struct evbuffer *out)
{
	struct keypair		*kp;
	struct msg_cert_info	*ci;
	struct tm		 tm;
	time_t			 t;
	char			 date[32];

	TAILQ_FOREACH(kp, &gs.cur->conf->keypairs, entry) {
		ci = &gs.cur->certs[kp->id];
		t = ci->notafter;
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ",
		    gmtime_r(&t, &tm));
		evbuffer_add_printf(out, "keypair %s subject %s names %s "
		    "notafter %s\n", kp->name, ci->subject[0] ? ci->subject :
		    "-", ci->sans[0] ? ci->sans : "-", date);
	}
}

/* The server of a route as its connections go to it: port included. */
static const char *
route_host_str(const struct rule *r, const struct host *h, char *buf,
    size_t len)
{
	struct sockaddr_storage	 ss = h->ss;

	if (r->port != 0) {
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(r->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port =
			    htons(r->port);
	}
	return (addr_str((struct sockaddr *)&ss, buf, len));
}

static const char *
host_state(const struct gen_host *gh)
{
	switch (gh->admin) {
	case HOST_DISABLED:
		return ("disabled");
	case HOST_DRAINING:
		return ("draining");
	default:
		return (gh->up ? "up" : "down");
	}
}

/*
 * The servers of every route of the current generation: what priv
 * knows of them, and the connections its workers last said they had.
 */
void
gen_hosts(struct evbuffer *out)
{
	struct generation	*g = gs.cur;
	const struct rule	*r;
	const struct gen_host	*gh;
	struct tm		 tm;
	char			 addr[ADDRSTR_LEN], date[32];
	uint64_t		 active, total;
	uint32_t		 ri, i;
	size_t			 h;

	for (ri = 0; ri < g->conf->nroutes; ri++) {
		r = g->conf->routes[ri];
		for (h = 0; h < r->table->nhosts; h++) {
			gh = &g->hosts[ri][h];
			active = total = 0;
			for (i = 0; i < gen_nworkers(g); i++) {
				if (g->workers[i].route != ri)
					continue;
				active += g->workers[i].hstats[h].active;
				total += g->workers[i].hstats[h].total;
			}
			strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ",
			    gmtime_r(&gh->since, &tm));
			evbuffer_add_printf(out, "table <%s> host %s state %s "
			    "since %s active %llu total %llu weight %d "
			    "rule %s:%d\n", r->table->name,
			    route_host_str(r, &r->table->hosts[h], addr,
			    sizeof(addr)), host_state(gh), date,
			    (unsigned long long)active,
			    (unsigned long long)total, gh->weight, r->file,
			    r->line);
		}
	}
}

/*
 * HOST or HOST:PORT, an IPv6 address in brackets when it has a port;
 * port 0 when none is given.
 */
static int
host_arg(const char *arg, struct sockaddr_storage *ss, in_port_t *port)
{
	char		 buf[ADDRSTR_LEN], *p, *colon;
	const char	*errstr;
	void		*a;

	if (strlcpy(buf, arg, sizeof(buf)) >= sizeof(buf))
		return (-1);
	p = buf;
	colon = strrchr(buf, ':');
	if (buf[0] == '[') {
		p = buf + 1;
		if ((colon = strchr(p, ']')) == NULL)
			return (-1);
		*colon++ = '\0';
		if (*colon == '\0')
			colon = NULL;
		else if (*colon != ':')
			return (-1);
	} else if (colon != NULL && strchr(buf, ':') != colon)
		colon = NULL;	/* an IPv6 address without a port */
	*port = 0;
	if (colon != NULL) {
		*colon = '\0';
		*port = strtonum(colon + 1, 1, 65535, &errstr);
		if (errstr != NULL)
			return (-1);
	}
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = strchr(p, ':') != NULL ? AF_INET6 : AF_INET;
	if (ss->ss_family == AF_INET6)
		a = &((struct sockaddr_in6 *)ss)->sin6_addr;
	else
		a = &((struct sockaddr_in *)ss)->sin_addr;
	return (inet_pton(ss->ss_family, p, a) == 1 ? 0 : -1);
}

/* Whether server h of route r is at the address, and the port if any. */
static int
host_is(const struct rule *r, size_t h, const struct sockaddr_storage *ss,
    in_port_t port)
{
	const struct sockaddr_storage	*hs = &r->table->hosts[h].ss;
	const struct sockaddr_in	*h4, *s4;
	const struct sockaddr_in6	*h6, *s6;
	in_port_t			 hport;

	if (hs->ss_family != ss->ss_family)
		return (0);
	if (ss->ss_family == AF_INET) {
		h4 = (const struct sockaddr_in *)hs;
		s4 = (const struct sockaddr_in *)ss;
		if (h4->sin_addr.s_addr != s4->sin_addr.s_addr)
			return (0);
		hport = ntohs(h4->sin_port);
	} else {
		h6 = (const struct sockaddr_in6 *)hs;
		s6 = (const struct sockaddr_in6 *)ss;
		if (memcmp(&h6->sin6_addr, &s6->sin6_addr,
		    sizeof(h6->sin6_addr)) != 0)
			return (0);
		hport = ntohs(h6->sin6_port);
	}
	if (r->port != 0)
		hport = r->port;
	return (port == 0 || port == hport);
}

/*
 * sniproxyctl host and table weight: the server of the named table at
 * the address, in every route of the current generation that forwards
 * to it, takes the state (enum host_admin) or the weight given, -1 for
 * neither.  A new generation starts from its configuration, so the
 * next reload undoes this.
 */
int
gen_host_admin(const char *table, const char *host, int state, int weight,
    struct evbuffer *out, char *err, size_t errlen)
{
	struct generation	*g = gs.cur;
	struct sockaddr_storage	 ss;
	struct gen_host		*gh;
	const struct rule	*r;
	char			 addr[ADDRSTR_LEN], name[NAME_MAX_LEN + 2];
	in_port_t		 port;
	uint32_t		 ri, i, nroutes = 0, nfound = 0, n;
	size_t			 h, len;

	if (host_arg(host, &ss, &port) == -1) {
		snprintf(err, errlen, "%s: not an address or address:port",
		    host);
		return (-1);
	}
	/* The table as the configuration writes it, or its bare name. */
	strlcpy(name, table[0] == '<' ? table + 1 : table, sizeof(name));
	len = strlen(name);
	if (table[0] == '<' && len > 0 && name[len - 1] == '>')
		name[len - 1] = '\0';
	/* Nothing changes unless the request is right for every route. */
	for (ri = 0; ri < g->conf->nroutes; ri++) {
		r = g->conf->routes[ri];
		if (strcmp(r->table->name, name) != 0)
			continue;
		nroutes++;
		for (h = 0, n = 0; h < r->table->nhosts; h++)
			n += host_is(r, h, &ss, port);
		if (n > 1) {
			snprintf(err, errlen, "table <%s> has %u servers at "
			    "%s: give the port", name, n, host);
			return (-1);
		}
		nfound += n;
	}
	if (nroutes == 0) {
		snprintf(err, errlen, "no rule of the running configuration "
		    "forwards to a table <%s>", name);
		return (-1);
	}
	if (nfound == 0) {
		snprintf(err, errlen, "table <%s> has no server %s", name,
		    host);
		return (-1);
	}
	for (ri = 0; ri < g->conf->nroutes; ri++) {
		r = g->conf->routes[ri];
		if (strcmp(r->table->name, name) != 0)
			continue;
		for (h = 0; h < r->table->nhosts; h++) {
			if (!host_is(r, h, &ss, port))
				continue;
			gh = &g->hosts[ri][h];
			if (state != -1 &&
			    gh->admin != (enum host_admin)state) {
				gh->admin = state;
				gh->since = time(NULL);
			}
			if (weight != -1)
				gh->weight = weight;
			for (i = 0; i < gen_nworkers(g); i++)
				if (g->workers[i].route == ri)
					child_send_admin(&g->workers[i], h);
			route_host_str(r, &r->table->hosts[h], addr,
			    sizeof(addr));
			log_info("table <%s>: server %s %s, weight %d, until "
			    "the next reload (%s:%d)", name, addr,
			    host_state(gh), gh->weight, r->file, r->line);
			evbuffer_add_printf(out, "table <%s> host %s state %s "
			    "weight %d rule %s:%d until the next reload\n",
			    name, addr, host_state(gh), gh->weight, r->file,
			    r->line);
		}
	}
	return (0);
}
