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
#include <linux/capability.h>
#endif

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "sandbox.h"
#include "sniproxyd.h"
#include "syscalls.h"

/*
 * The keys helper: the only process besides the TLS workers that ever
 * holds a private key.  It runs as root, as reading the key files needs,
 * chrooted to the deepest directory that holds them all, with no
 * network.  It loads the keypairs, watches their files, and pushes them
 * to the TLS workers over channels of their own.
 */
static struct {
	struct event_base	*base;
	struct config		*conf;
	struct chan		*priv;
	struct chan		**workers;	/* route * prefork + slot */
	struct event		*ev_watch;
} ks;

#ifdef __linux__
static const int keys_caps[] = { CAP_DAC_READ_SEARCH };
#endif

/* File reads, and following links by hand; no network. */

const int keys_syscalls[] = {
	SYSCALLS_COMMON,
	SYS_openat,
#ifdef SYS_open
	SYS_open,
#endif
#ifdef SYS_readlink
	SYS_readlink,
#endif
#ifdef SYS_lstat
	SYS_lstat,
#endif
#ifdef SYS_stat
	SYS_stat,
#endif
	SYS_readlinkat, SYS_lseek, -1
};

static void
keys_send_info(const struct keypair *kp)
{
	struct msg_cert_info	 ci;

	memset(&ci, 0, sizeof(ci));
	ci.id = kp->id;
	ci.notafter = kp->notafter;
	strlcpy(ci.subject, kp->subject, sizeof(ci.subject));
	strlcpy(ci.sans, kp->sans, sizeof(ci.sans));
	chan_send(ks.priv, MSG_CERT_INFO, 0, -1, &ci, sizeof(ci));
}

/*
 * A worker's keypairs: the one its rule names, or all of them, the
 * first being the one for clients that name no known host.  The queue
 * of a full channel is this process's own memory, which nothing else
 * ever sees.
 */
static void
keys_send_route(struct chan *ch, const struct rule *r)
{
	struct keypair		*kp;
	struct msg_keypair	 mk;
	const uint8_t		*cert, *key, *ocsp;
	uint8_t			*buf;
	size_t			 certlen, keylen, ocsplen, len;

	TAILQ_FOREACH(kp, &ks.conf->keypairs, entry) {
		if (r->keypair != NULL && r->keypair != kp)
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
		if (chan_send(ch, MSG_KEYPAIR, 0, -1, buf, len) == -1)
			log_warn("%s: keypair %s", __func__, kp->name);
		freezero(buf, len);
	}
	if (chan_send(ch, MSG_TLS_READY, 0, -1, NULL, 0) == -1)
		log_warn("%s", __func__);
}

static void
keys_worker_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	struct chan	**slot = arg;

	if (m != NULL) {
		/* A worker has nothing to say here: it is broken. */
		if (m->fd != -1)
			close(m->fd);
		log_warnx("unexpected message %u from a TLS worker",
		    m->hdr.type);
	}
	chan_free(ch);
	*slot = NULL;
}

static void
keys_new_worker(struct chan_msg *m)
{
	struct msg_worker	 mw;
	struct chan		**slot;

	if (m->fd == -1 || m->len != sizeof(mw))
		fatalx("malformed worker channel message");
	memcpy(&mw, m->data, sizeof(mw));
	if (mw.route >= ks.conf->nroutes ||
	    mw.slot >= (uint32_t)ks.conf->prefork ||
	    !ks.conf->routes[mw.route]->terminate)
		fatalx("worker channel for route %u slot %u", mw.route,
		    mw.slot);
	slot = &ks.workers[mw.route * ks.conf->prefork + mw.slot];
	if (*slot != NULL)
		chan_free(*slot);
	if ((*slot = chan_new(ks.base, m->fd, MSG_VERSION, keys_worker_msg,
	    slot)) == NULL)
		fatal("%s: chan_new", __func__);
	keys_send_route(*slot, ks.conf->routes[mw.route]);
}

static void
keys_priv_msg(struct chan *ch, struct chan_msg *m, void *arg)
{
	(void)arg;
	if (m == NULL) {
		chan_free(ch);
		fatalx("lost the parent process");
	}
	switch (m->hdr.type) {
	case MSG_KEYS_WORKER:
		keys_new_worker(m);
		break;
	case MSG_VERBOSE:
		if (m->fd != -1 || m->len != sizeof(int))
			fatalx("malformed verbose message");
		log_setverbose(*(const int *)m->data);
		break;
	default:
		fatalx("unexpected message %u from the parent", m->hdr.type);
	}
}

static void
keys_watch_arm(void)
{
	struct keypair	*kp;
	struct timeval	 tv;
	int64_t		 ms = ks.conf->keycheck_ms;

	TAILQ_FOREACH(kp, &ks.conf->keypairs, entry)
		if (kp->check_ms != -1 && kp->check_ms < ms)
			ms = kp->check_ms;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ks.ev_watch, &tv);
}

/*
 * A renewal writes its files one after the other, and each is a change
 * that may leave the pair as wrong as the last one did: the reason is
 * logged when it is news, not at every step.
 */
static void
keys_refused(struct keypair *kp, const char *why)
{
	char	*line, *copy, *p;

	if (kp->refused != NULL && strcmp(kp->refused, why) == 0)
		return;
	free(kp->refused);
	if ((kp->refused = strdup(why)) == NULL || (copy = strdup(why)) ==
	    NULL)
		fatal("%s", __func__);
	for (p = copy; (line = strsep(&p, "\n")) != NULL; )
		if (*line != '\0')
			log_warnx("%s", line);
	free(copy);
	log_warnx("keypair %s: files changed, but they do not make a usable "
	    "pair: keeping the one in use until they do", kp->name);
}

/*
 * Certificates renew by themselves.  A changed keypair is loaded and
 * checked again, then handed to the TLS workers that serve it, which
 * give it to new connections while those under way finish on the old
 * one.  A pair caught half-written is refused and the one in use stays;
 * the file that completes it is another change, and another try.
 */
static void
keys_watch(int fd, short events, void *arg)
{
	struct keypair	*kp;
	const struct rule *r;
	uint32_t	 i;
	char		 why[1024];
	int		 rv;

	(void)fd;
	(void)events;
	(void)arg;
	TAILQ_FOREACH(kp, &ks.conf->keypairs, entry) {
		if (!keypair_changed(kp))
			continue;
		log_hold(why, sizeof(why));
		rv = keypair_reload(kp);
		log_capture(NULL, 0);
		if (rv == -1) {
			keys_refused(kp, why);
			continue;
		}
		free(kp->refused);
		kp->refused = NULL;
		keypair_log(kp, "files changed, now serving ");
		keys_send_info(kp);
		for (i = 0; i < ks.conf->nroutes * ks.conf->prefork; i++) {
			r = ks.conf->routes[i / ks.conf->prefork];
			if (ks.workers[i] != NULL && (r->keypair == NULL ||
			    r->keypair == kp))
				keys_send_route(ks.workers[i], r);
		}
	}
	keys_watch_arm();
}

/* Loads every keypair; what went wrong is in err. */
int
keys_load_all(struct config *conf, char *err, size_t errlen)
{
	struct keypair	*kp;
	int		 rv = 0;

	log_capture(err, errlen);
	TAILQ_FOREACH(kp, &conf->keypairs, entry) {
		if (keypair_load(kp) == -1)
			rv = -1;
		else
			keypair_log(kp, "");
	}
	log_capture(NULL, 0);
	return (rv);
}

void
keys_init(struct event_base *base, struct chan *priv, void *arg)
{
	struct child_ctx	*ctx = arg;
	struct keypair		*kp;
	char			 root[PATH_MAX], err[1024];
	uint32_t		 ok;
	uint8_t			 msg[sizeof(ok) + sizeof(err)];

	memset(&ks, 0, sizeof(ks));
	ks.base = base;
	ks.conf = ctx->conf;
	ks.priv = priv;
	chan_set_cb(priv, keys_priv_msg, NULL);
	if ((ks.workers = calloc(ks.conf->nroutes * ks.conf->prefork,
	    sizeof(*ks.workers))) == NULL ||
	    (ks.ev_watch = evtimer_new(base, keys_watch, NULL)) == NULL)
		fatal("%s", __func__);
	keypair_common_root(ks.conf, root, sizeof(root));
	if (geteuid() == 0) {
		if (proc_chroot_self(root) == -1)
			fatal("chroot %s", root);
#ifdef __linux__
		/* Reading key files whatever their owner is all root is for. */
		if (sandbox_caps_narrow(keys_caps, sizeof(keys_caps) /
		    sizeof(keys_caps[0])) == -1)
			fatal("cannot drop capabilities");
#endif
		keypair_root(root, 1);
	} else
		keypair_root(root, 0);
	log_debug("keys: reading keypairs below %s", root);
	err[0] = '\0';
	ok = keys_load_all(ks.conf, err, sizeof(err)) == 0;
	TAILQ_FOREACH(kp, &ks.conf->keypairs, entry)
		if (ok)
			keys_send_info(kp);
	memcpy(msg, &ok, sizeof(ok));
	memcpy(msg + sizeof(ok), err, strlen(err));
	if (chan_send(priv, MSG_KEYS_RESULT, 0, -1, msg, sizeof(ok) +
	    strlen(err)) == -1 || !ok)
		exit(1);
	keys_watch_arm();
}
