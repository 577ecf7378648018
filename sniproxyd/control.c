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
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "msg.h"
#include "sniproxyd.h"
#include "control.h"

/*
 * The control socket: one request line in, a reply out ("ok" or
 * "error: why" first), then the connection closes.  What the children
 * know is asked of them and gathered here before the reply goes.
 */
#define CTL_LINE_MAX	256
#define CTL_WAIT_MS	2000

/* A route's counters, summed over its workers and generations. */
struct ctl_route {
	char			 name[NAME_MAX_LEN];
	struct msg_stats	 st;
};

struct ctl_conn {
	struct bufferevent	*bev;
	struct ctl_route	*routes;
	size_t			 nroutes;
	struct evbuffer		*out;
	struct event		*ev_wait;
	uint64_t		 id;
	int			 pending;	/* replies still to come */
	int			 what;
	struct ctl_totals	 tot;
	TAILQ_ENTRY(ctl_conn)	 entry;
};

enum {
	CTL_SUMMARY,
	CTL_ROUTES,
	CTL_CONNECTIONS,
	CTL_HOSTS
};

static struct {
	struct event_base	*base;
	struct ctl_totals	 retired;	/* of processes gone */
	struct ctl_route	*retired_routes;
	size_t			 nretired_routes;
	struct evconnlistener	*listener;
	const struct ctl_ops	*ops;
	uint64_t		 nextid;
	time_t			 started;
	TAILQ_HEAD(, ctl_conn)	 conns;
} ctl;

static void
ctl_close(struct ctl_conn *cc)
{
	TAILQ_REMOVE(&ctl.conns, cc, entry);
	free(cc->routes);
	if (cc->ev_wait != NULL)
		event_free(cc->ev_wait);
	evbuffer_free(cc->out);
	bufferevent_free(cc->bev);
	free(cc);
}

static void
ctl_written(struct bufferevent *bev, void *arg)
{
	(void)bev;
	ctl_close(arg);
}

static void
ctl_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	ctl_close(arg);
}

/* Sends "ok" or the error, then whatever was gathered, then closes. */
static void
ctl_reply(struct ctl_conn *cc, const char *error)
{
	struct evbuffer	*o = bufferevent_get_output(cc->bev);

	if (error != NULL)
		evbuffer_add_printf(o, "error: %s\n", error);
	else {
		evbuffer_add_printf(o, "ok\n");
		evbuffer_add_buffer(o, cc->out);
	}
	bufferevent_setcb(cc->bev, NULL, ctl_written, ctl_event, cc);
	bufferevent_disable(cc->bev, EV_READ);
	bufferevent_enable(cc->bev, EV_WRITE);
}

static void
ctl_finish(struct ctl_conn *cc)
{
	struct ctl_totals	*t = &cc->tot;
	struct msg_stats	*st;
	size_t			 i;

	if (cc->ev_wait != NULL) {
		event_free(cc->ev_wait);
		cc->ev_wait = NULL;
	}
	if (cc->what == CTL_SUMMARY) {
		evbuffer_add_printf(cc->out, "version %s\nuptime %llds\n",
		    SNIPROXYD_VERSION,
		    (long long)(time(NULL) - ctl.started));
		ctl.ops->summary(cc->out);
		evbuffer_add_printf(cc->out, "connections active %llu "
		    "total %llu refused %llu held %llu\n",
		    (unsigned long long)t->active,
		    (unsigned long long)t->total,
		    (unsigned long long)t->refused,
		    (unsigned long long)t->held);
	}
	for (i = 0; cc->what == CTL_ROUTES && i < cc->nroutes; i++) {
		st = &cc->routes[i].st;
		evbuffer_add_printf(cc->out, "route %s connections %llu "
		    "active %llu up %llu down %llu errors %llu\n",
		    cc->routes[i].name, (unsigned long long)st->total,
		    (unsigned long long)st->active,
		    (unsigned long long)st->up, (unsigned long long)st->down,
		    (unsigned long long)st->errors);
	}
	if (cc->what == CTL_HOSTS)
		ctl.ops->hosts(cc->out);
	if (cc->pending > 0)
		evbuffer_add_printf(cc->out, "(%d processes did not answer)\n",
		    cc->pending);
	/* Answers that come later belong to no request. */
	cc->id = 0;
	ctl_reply(cc, NULL);
}

static void
ctl_waited(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	ctl_finish(arg);
}

static void
route_add(struct ctl_route **routes, size_t *nroutes, const char *name,
    const struct msg_stats *st)
{
	struct ctl_route	*r;
	size_t			 i;

	for (i = 0; i < *nroutes; i++)
		if (strcmp((*routes)[i].name, name) == 0)
			break;
	if (i == *nroutes) {
		if ((r = reallocarray(*routes, *nroutes + 1,
		    sizeof(*r))) == NULL)
			return;
		*routes = r;
		memset(&r[i], 0, sizeof(r[i]));
		strlcpy(r[i].name, name, sizeof(r[i].name));
		(*nroutes)++;
	}
	r = &(*routes)[i];
	r->st.total += st->total;
	r->st.active += st->active;
	r->st.up += st->up;
	r->st.down += st->down;
	r->st.errors += st->errors;
}

/*
 * A process of an old generation says what it counted as it goes, so
 * that the totals still hold them.
 */
void
control_retired(const void *data, size_t len, const char *routename)
{
	struct msg_stats	 st;

	if (len < sizeof(st))
		return;
	memcpy(&st, data, sizeof(st));
	st.active = 0;
	if (st.route == UINT32_MAX) {
		ctl.retired.total += st.total;
		ctl.retired.refused += st.errors;
	} else
		route_add(&ctl.retired_routes, &ctl.nretired_routes,
		    routename, &st);
}

static struct ctl_conn *
ctl_find(uint64_t id)
{
	struct ctl_conn	*cc;

	TAILQ_FOREACH(cc, &ctl.conns, entry)
		if (cc->id == id)
			return (cc);
	return (NULL);
}

/* A process asked for request id has gone without answering. */
void
control_gone(uint64_t id)
{
	struct ctl_conn	*cc;

	if ((cc = ctl_find(id)) == NULL || cc->pending <= 0)
		return;
	if (--cc->pending == 0)
		ctl_finish(cc);
}

/* A child's answer to MSG_STATS_REQ, or its list of connections. */
void
control_stats(uint64_t id, int type, const void *data, size_t len,
    const char *routename)
{
	struct ctl_conn		*cc;
	struct msg_stats	 st;

	if ((cc = ctl_find(id)) == NULL || cc->pending <= 0)
		return;
	if (type == MSG_CONNS) {
		if (cc->what == CTL_CONNECTIONS)
			evbuffer_add(cc->out, data, len);
		return;
	}
	if (len < sizeof(st))
		return;
	memcpy(&st, data, sizeof(st));
	if (st.route == UINT32_MAX) {
		cc->tot.total += st.total;
		cc->tot.refused += st.errors;
		cc->tot.held += st.active;
	} else {
		cc->tot.active += st.active;
		if (cc->what == CTL_ROUTES)
			route_add(&cc->routes, &cc->nroutes, routename, &st);
	}
	if (--cc->pending == 0)
		ctl_finish(cc);
}

static void
ctl_ask(struct ctl_conn *cc, int what)
{
	struct timeval	 tv = { CTL_WAIT_MS / 1000, 0 };
	size_t		 i;

	cc->what = what;
	cc->id = ++ctl.nextid;
	cc->tot = ctl.retired;
	for (i = 0; what == CTL_ROUTES && i < ctl.nretired_routes; i++)
		route_add(&cc->routes, &cc->nroutes, ctl.retired_routes[i].name,
		    &ctl.retired_routes[i].st);
	cc->pending = ctl.ops->ask(cc->id);
	if (cc->pending == 0) {
		ctl_finish(cc);
		return;
	}
	if ((cc->ev_wait = evtimer_new(ctl.base, ctl_waited, cc)) == NULL) {
		ctl_reply(cc, "out of memory");
		return;
	}
	evtimer_add(cc->ev_wait, &tv);
}

/*
 * "host disable|enable|drain TABLE HOST" or "table TABLE weight HOST N":
 * words is the request split at its spaces.
 */
static void
ctl_host(struct ctl_conn *cc, char **words, int nwords)
{
	static const char *const states[HOST_ADMIN_COUNT] = {
		[HOST_ENABLED] = "enable",
		[HOST_DISABLED] = "disable",
		[HOST_DRAINING] = "drain"
	};
	const char	*errstr;
	char		 err[256];
	int		 state = -1, weight = -1;

	if (nwords == 4 && strcmp(words[0], "host") == 0) {
		for (state = 0; state < HOST_ADMIN_COUNT; state++)
			if (strcmp(words[1], states[state]) == 0)
				break;
		if (state == HOST_ADMIN_COUNT) {
			ctl_reply(cc, "unknown request");
			return;
		}
		words[1] = words[2];
		words[2] = words[3];
	} else if (nwords == 5 && strcmp(words[0], "table") == 0 &&
	    strcmp(words[2], "weight") == 0) {
		weight = strtonum(words[4], 1, HOST_WEIGHT_MAX, &errstr);
		if (errstr != NULL) {
			snprintf(err, sizeof(err), "weight %s is %s: it must "
			    "be between 1 and %d", words[4], errstr,
			    HOST_WEIGHT_MAX);
			ctl_reply(cc, err);
			return;
		}
		words[2] = words[3];
	} else {
		ctl_reply(cc, "unknown request");
		return;
	}
	if (ctl.ops->host(words[1], words[2], state, weight, cc->out, err,
	    sizeof(err)) == -1)
		ctl_reply(cc, err);
	else
		ctl_reply(cc, NULL);
}

static void
ctl_request(struct ctl_conn *cc, const char *req)
{
	char	*words[6], line[CTL_LINE_MAX + 1], *p;
	int	 nwords = 0;
	char	 err[2048];
	size_t	 len;

	log_debug("control: %s", req);
	if (strcmp(req, "reload") == 0) {
		if (ctl.ops->reload(err, sizeof(err)) == -1) {
			len = strlen(err);
			while (len > 0 && err[len - 1] == '\n')
				err[--len] = '\0';
			ctl_reply(cc, len ? err : "reload failed");
		} else
			ctl_reply(cc, NULL);
	} else if (strcmp(req, "show summary") == 0)
		ctl_ask(cc, CTL_SUMMARY);
	else if (strcmp(req, "show routes") == 0)
		ctl_ask(cc, CTL_ROUTES);
	else if (strcmp(req, "show connections") == 0)
		ctl_ask(cc, CTL_CONNECTIONS);
	else if (strcmp(req, "show hosts") == 0)
		ctl_ask(cc, CTL_HOSTS);
	else if (strcmp(req, "show certificates") == 0) {
		ctl.ops->certificates(cc->out);
		ctl_reply(cc, NULL);
	} else if (strcmp(req, "log verbose") == 0 ||
	    strcmp(req, "log brief") == 0) {
		ctl.ops->verbose(strcmp(req, "log verbose") == 0 ? 2 : 0);
		ctl_reply(cc, NULL);
	} else if (strncmp(req, "host ", 5) == 0 ||
	    strncmp(req, "table ", 6) == 0) {
		strlcpy(line, req, sizeof(line));
		for (p = line; nwords < 6 && (words[nwords] = strsep(&p,
		    " ")) != NULL; nwords++)
			if (*words[nwords] == '\0')
				break;
		if (p != NULL || nwords == 6)
			ctl_reply(cc, "unknown request");
		else
			ctl_host(cc, words, nwords);
	} else
		ctl_reply(cc, "unknown request");
}

static void
ctl_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn	*cc = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 len;

	if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) == NULL) {
		if (evbuffer_get_length(in) > CTL_LINE_MAX)
			ctl_reply(cc, "request too long");
		return;
	}
	bufferevent_disable(bev, EV_READ);
	if (len > CTL_LINE_MAX)
		ctl_reply(cc, "request too long");
	else
		ctl_request(cc, line);
	free(line);
}

static void
ctl_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct ctl_conn	*cc;
	struct timeval	 tv = { 10, 0 };

	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	if ((cc = calloc(1, sizeof(*cc))) == NULL ||
	    (cc->out = evbuffer_new()) == NULL ||
	    (cc->bev = bufferevent_socket_new(ctl.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warn("control");
		if (cc != NULL && cc->out != NULL)
			evbuffer_free(cc->out);
		free(cc);
		close(fd);
		return;
	}
	TAILQ_INSERT_TAIL(&ctl.conns, cc, entry);
	bufferevent_setcb(cc->bev, ctl_read, NULL, ctl_event, cc);
	bufferevent_set_timeouts(cc->bev, &tv, &tv);
	bufferevent_enable(cc->bev, EV_READ);
}

/*
 * A socket that still answers belongs to a running sniproxyd; one that
 * does not is left over and can go.
 */
static int
ctl_in_use(const struct sockaddr_un *sun)
{
	int	 fd, rv;

	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return (0);
	rv = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return (rv);
}

int
control_init(struct event_base *base, const char *path,
    const struct ctl_ops *ops)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	memset(&ctl, 0, sizeof(ctl));
	TAILQ_INIT(&ctl.conns);
	ctl.base = base;
	ctl.ops = ops;
	ctl.started = time(NULL);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket %s: path too long", path);
		return (-1);
	}
	if (ctl_in_use(&sun)) {
		log_warnx("control socket %s: another sniproxyd answers "
		    "there", path);
		return (-1);
	}
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("control socket %s", path);
		umask(old);
		close(fd);
		return (-1);
	}
	umask(old);
	if ((ctl.listener = evconnlistener_new(base, ctl_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE, 16, fd)) == NULL) {
		close(fd);
		return (-1);
	}
	return (0);
}
