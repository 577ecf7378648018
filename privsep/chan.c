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
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"

struct chan_out {
	TAILQ_ENTRY(chan_out)	 entry;
	struct chan_hdr		 hdr;
	int			 fd;
	uint8_t			 data[];
};

struct chan {
	int			 fd;
	uint16_t		 version;
	chan_cb			 cb;
	void			*arg;
	struct event		*ev;
	short			 evflags;
	int			 dead;
	int			 broken;	/* by a malformed message */
	size_t			 queued;
	TAILQ_HEAD(, chan_out)	 outq;
	int			 batch;		/* CHAN_BATCH_* */
	struct event		*ev_flush;
	chan_cb			 undelivered;
};

/*
 * A message carries at most one descriptor.  The buffer takes more, so
 * that a peer that sends two is caught, not cut short unseen.
 */
#define CHAN_MAXFDS	8

union chan_cmsgbuf {
	struct cmsghdr	 hdr;
	char		 buf[CMSG_SPACE(CHAN_MAXFDS * sizeof(int))];
};

/* Messages a batching channel sends, or reads, in one system call. */
#define CHAN_SEND_BATCH	32
#define CHAN_READ_BATCH	8

static void	chan_dispatch(int, short, void *);
static int	chan_flush(struct chan *);
static void	chan_die(struct chan *);

int
chan_pair(int sv[2])
{
	return (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, sv));
}

static void
chan_update(struct chan *c)
{
	short	 want = EV_READ | EV_PERSIST;

	if (!TAILQ_EMPTY(&c->outq))
		want |= EV_WRITE;
	if (want == c->evflags)
		return;
	event_del(c->ev);
	event_assign(c->ev, event_get_base(c->ev), c->fd, want,
	    chan_dispatch, c);
	event_add(c->ev, NULL);
	c->evflags = want;
}

struct chan *
chan_new(struct event_base *base, int fd, uint16_t version, chan_cb cb,
    void *arg)
{
	struct chan	*c;
	int		 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return (NULL);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->fd = fd;
	c->version = version;
	c->cb = cb;
	c->arg = arg;
	TAILQ_INIT(&c->outq);
	if ((c->ev = event_new(base, fd, EV_READ | EV_PERSIST,
	    chan_dispatch, c)) == NULL) {
		free(c);
		return (NULL);
	}
	c->evflags = EV_READ | EV_PERSIST;
	event_add(c->ev, NULL);
	return (c);
}

void
chan_free(struct chan *c)
{
	struct chan_out	*o;

	if (c == NULL)
		return;
	while ((o = TAILQ_FIRST(&c->outq)) != NULL) {
		TAILQ_REMOVE(&c->outq, o, entry);
		if (o->fd != -1)
			close(o->fd);
		freezero(o, sizeof(*o) + o->hdr.len);
	}
	if (c->ev_flush != NULL)
		event_free(c->ev_flush);
	event_free(c->ev);
	close(c->fd);
	free(c);
}

int
chan_broken(const struct chan *c)
{
	return (c->broken);
}

/* The callback hears of it last: it may free the channel. */
static void
chan_die(struct chan *c)
{
	c->dead = 1;
	event_del(c->ev);
	if (c->cb != NULL)
		c->cb(c, NULL, c->arg);
}

static void
chan_flush_batch(int fd, short events, void *arg)
{
	struct chan	*c = arg;

	(void)fd;
	(void)events;
	if (!c->dead && chan_flush(c) == -1)
		chan_die(c);
}

/*
 * For a channel of many small messages, such as connections handed
 * over.  CHAN_BATCH_SEND: what is sent in one pass of the event loop
 * goes at its end, together in one sendmmsg(2).  CHAN_BATCH_READ: a
 * wake-up reads what waits in one recvmmsg(2), several messages at a
 * time, and the callback must not free the channel but on the NULL
 * message.  Returns -1 on error.
 */
int
chan_batch(struct chan *c, int how)
{
	if ((how & CHAN_BATCH_SEND) && c->ev_flush == NULL &&
	    (c->ev_flush = event_new(event_get_base(c->ev), -1, 0,
	    chan_flush_batch, c)) == NULL)
		return (-1);
	c->batch = how;
	return (0);
}

/*
 * A batched message the kernel refuses for want of room (too many
 * descriptors in flight, or memory) is handed to cb, its descriptor
 * closed and errno saying why, and the channel goes on with the next:
 * without cb, such a refusal ends the channel.
 */
void
chan_set_undelivered(struct chan *c, chan_cb cb)
{
	c->undelivered = cb;
}

/*
 * Sends what is queued now, rather than at the end of the pass: for a
 * process about to leave its loop.
 */
void
chan_flush_now(struct chan *c)
{
	if (!c->dead && !TAILQ_EMPTY(&c->outq))
		(void)chan_flush(c);
}

void
chan_set_cb(struct chan *c, chan_cb cb, void *arg)
{
	c->cb = cb;
	c->arg = arg;
}

/*
 * Waits at most ms for the peer to say something and hands it to the
 * callback: for the few answers the parent cannot go on without.
 * Returns 0 when something was handled, -1 on time-out or error.
 */
int
chan_wait(struct chan *c, int ms)
{
	struct pollfd	 pfd;
	int		 rv;

	pfd.fd = c->fd;
	pfd.events = POLLIN;
	while ((rv = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
		;
	if (rv <= 0)
		return (-1);
	chan_dispatch(c->fd, EV_READ, c);
	return (0);
}

size_t
chan_queued(const struct chan *c)
{
	return (c->queued);
}

int
chan_fd(const struct chan *c)
{
	return (c->fd);
}

static void
chan_msghdr(struct msghdr *mh, struct iovec iov[2], union chan_cmsgbuf *cm,
    const struct chan_hdr *hdr, int fd, const void *data)
{
	struct cmsghdr	*cmsg;

	memset(mh, 0, sizeof(*mh));
	iov[0].iov_base = (void *)hdr;
	iov[0].iov_len = sizeof(*hdr);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = hdr->len;
	mh->msg_iov = iov;
	mh->msg_iovlen = hdr->len ? 2 : 1;
	if (fd != -1) {
		memset(cm, 0, sizeof(*cm));
		mh->msg_control = cm->buf;
		mh->msg_controllen = CMSG_SPACE(sizeof(int));
		cmsg = CMSG_FIRSTHDR(mh);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
}

/* For sendmsg(2) and sendmmsg(2): 0 when the socket is full, else -1. */
static int
chan_send_failed(void)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return (0);
	return (-1);
}

/*
 * Returns 1 when sent, 0 when the socket is full, -1 on error.
 */
static int
chan_write(int sock, const struct chan_hdr *hdr, int fd, const void *data)
{
	struct msghdr		 mh;
	struct iovec		 iov[2];
	union chan_cmsgbuf	 cm;

	chan_msghdr(&mh, iov, &cm, hdr, fd, data);
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) == -1)
		if (errno != EINTR)
			return (chan_send_failed());
	return (1);
}

/*
 * Sends a message, taking ownership of fd when it returns 0: the
 * descriptor is closed here once it is on its way.  On -1 the caller
 * keeps fd, so that it can try another peer.  A message that has to
 * wait is copied, and the copy is wiped once sent, as it may hold a
 * private key.
 */
int
chan_send(struct chan *c, uint16_t type, uint64_t id, int fd,
    const void *data, size_t len)
{
	struct chan_hdr	 hdr;
	struct chan_out	*o;
	int		 rv;

	if (c->dead || len > CHAN_MAXMSG - sizeof(hdr)) {
		errno = c->dead ? EPIPE : EMSGSIZE;
		return (-1);
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.version = c->version;
	hdr.len = len;
	hdr.id = id;
	if (TAILQ_EMPTY(&c->outq) && !(c->batch & CHAN_BATCH_SEND)) {
		if ((rv = chan_write(c->fd, &hdr, fd, data)) == -1)
			return (-1);
		if (rv == 1) {
			if (fd != -1)
				close(fd);
			return (0);
		}
	}
	if ((o = malloc(sizeof(*o) + len)) == NULL)
		return (-1);
	o->hdr = hdr;
	o->fd = fd;
	if (len)
		memcpy(o->data, data, len);
	TAILQ_INSERT_TAIL(&c->outq, o, entry);
	c->queued++;
	/* Batching, the socket is watched only once it is found full. */
	if ((c->batch & CHAN_BATCH_SEND) && !(c->evflags & EV_WRITE))
		event_active(c->ev_flush, EV_TIMEOUT, 0);
	else
		chan_update(c);
	return (0);
}

/* Sends up to CHAN_SEND_BATCH queued messages; how many went, or -1. */
static int
chan_write_queued(struct chan *c)
{
	struct mmsghdr		 mm[CHAN_SEND_BATCH];
	struct iovec		 iov[CHAN_SEND_BATCH][2];
	union chan_cmsgbuf	 cm[CHAN_SEND_BATCH];
	struct chan_out		*o;
	int			 i = 0, n;

	memset(mm, 0, sizeof(mm));
	TAILQ_FOREACH(o, &c->outq, entry) {
		if (i == CHAN_SEND_BATCH)
			break;
		chan_msghdr(&mm[i].msg_hdr, iov[i], &cm[i], &o->hdr, o->fd,
		    o->data);
		i++;
	}
	while ((n = sendmmsg(c->fd, mm, i, MSG_NOSIGNAL)) == -1)
		if (errno != EINTR)
			return (chan_send_failed());
	return (n);
}

/* The message at the head of the queue, which the kernel refused. */
static void
chan_drop_head(struct chan *c)
{
	struct chan_out	*o = TAILQ_FIRST(&c->outq);
	struct chan_msg	 m;
	int		 err = errno;

	TAILQ_REMOVE(&c->outq, o, entry);
	c->queued--;
	if (o->fd != -1)
		close(o->fd);
	errno = err;
	memset(&m, 0, sizeof(m));
	m.hdr = o->hdr;
	m.fd = -1;
	m.data = o->data;
	m.len = o->hdr.len;
	c->undelivered(c, &m, c->arg);
	freezero(o, sizeof(*o) + o->hdr.len);
}

static int
chan_flush(struct chan *c)
{
	struct chan_out	*o;
	int		 n;

	while (!TAILQ_EMPTY(&c->outq)) {
		if ((n = chan_write_queued(c)) == -1 && c->undelivered != NULL &&
		    (errno == ETOOMANYREFS || errno == EMFILE ||
		    errno == ENFILE || errno == ENOMEM)) {
			chan_drop_head(c);
			continue;
		}
		if (n == -1)
			return (-1);
		if (n == 0)
			break;
		while (n-- > 0) {
			o = TAILQ_FIRST(&c->outq);
			TAILQ_REMOVE(&c->outq, o, entry);
			c->queued--;
			if (o->fd != -1)
				close(o->fd);
			freezero(o, sizeof(*o) + o->hdr.len);
		}
	}
	chan_update(c);
	return (0);
}

/* The one descriptor of a message; -2 when there were more. */
static int
chan_takefd(struct msghdr *mh)
{
	struct cmsghdr	*cmsg;
	int		 fd = -1, f, extra = 0;
	size_t		 i, n;

	for (cmsg = CMSG_FIRSTHDR(mh); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(mh, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&f, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(f));
			if (fd == -1)
				fd = f;
			else {
				close(f);
				extra = 1;
			}
		}
	}
	if (extra && fd != -1) {
		close(fd);
		return (-2);
	}
	return (fd);
}

static void
chan_recvhdr(struct msghdr *mh, struct iovec *iov, union chan_cmsgbuf *cm,
    uint8_t *buf)
{
	memset(mh, 0, sizeof(*mh));
	iov->iov_base = buf;
	iov->iov_len = CHAN_MAXMSG;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	mh->msg_control = cm->buf;
	mh->msg_controllen = sizeof(cm->buf);
}

/*
 * The message of n bytes that mh received into buf: 1 with it in *m, -1
 * when it breaks the rules, and then the channel is finished.
 */
static int
chan_parse(struct chan *c, struct msghdr *mh, ssize_t n, uint8_t *buf,
    struct chan_msg *m)
{
	/* From here on the peer sent what it must not: it is broken. */
	c->broken = 1;
	if ((m->fd = chan_takefd(mh)) == -2)
		return (-1);
	/*
	 * Out of descriptors, the kernel drops the one passed and flags the
	 * control data as cut short.  The message itself is whole: the
	 * receiver decides what a connection without its socket means.
	 * A cut with a descriptor taken is a peer that sent more than one.
	 */
	m->fd_lost = m->fd == -1 && (mh->msg_flags & MSG_CTRUNC);
	if (m->fd_lost)
		mh->msg_flags &= ~MSG_CTRUNC;
	memcpy(&m->hdr, buf, sizeof(m->hdr));
	if ((size_t)n < sizeof(m->hdr) ||
	    (mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    m->hdr.version != c->version ||
	    m->hdr.len != (size_t)n - sizeof(m->hdr)) {
		if (m->fd != -1)
			close(m->fd);
		return (-1);
	}
	c->broken = 0;
	m->data = buf + sizeof(m->hdr);
	m->len = m->hdr.len;
	return (1);
}

/*
 * Returns 1 with a message in *m, 0 when nothing is waiting, -1 when the
 * channel is finished (EOF, error, or a message that breaks the rules).
 */
static int
chan_read(struct chan *c, uint8_t *buf, struct chan_msg *m)
{
	struct msghdr		 mh;
	struct iovec		 iov;
	union chan_cmsgbuf	 cm;
	ssize_t			 n;

	chan_recvhdr(&mh, &iov, &cm, buf);
	while ((n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1)
		return ((errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1);
	if (n == 0)
		return (-1);
	return (chan_parse(c, &mh, n, buf, m));
}

/*
 * A batching channel's wake-up: every message that waits, up to
 * CHAN_READ_BATCH, in one call.  Once one breaks the rules, the
 * descriptors of those after it are closed unseen.  Returns 0, or -1
 * when the channel is finished.
 */
static int
chan_read_batch(struct chan *c, uint8_t *bufs)
{
	struct mmsghdr		 mm[CHAN_READ_BATCH];
	struct iovec		 iov[CHAN_READ_BATCH];
	union chan_cmsgbuf	 cm[CHAN_READ_BATCH];
	struct chan_msg		 m;
	int			 i, n, fd;

	for (i = 0; i < CHAN_READ_BATCH; i++) {
		chan_recvhdr(&mm[i].msg_hdr, &iov[i], &cm[i],
		    bufs + (size_t)i * CHAN_MAXMSG);
		mm[i].msg_len = 0;
	}
	while ((n = recvmmsg(c->fd, mm, CHAN_READ_BATCH, MSG_CMSG_CLOEXEC |
	    MSG_DONTWAIT, NULL)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return ((errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1);
	for (i = 0; i < n; i++) {
		if (mm[i].msg_len == 0 || chan_parse(c, &mm[i].msg_hdr,
		    mm[i].msg_len, bufs + (size_t)i * CHAN_MAXMSG, &m) == -1)
			break;
		c->cb(c, &m, c->arg);
	}
	if (i == n)
		return (0);
	while (++i < n)
		if ((fd = chan_takefd(&mm[i].msg_hdr)) >= 0)
			close(fd);
	return (-1);
}

static void
chan_dispatch(int fd, short events, void *arg)
{
	static uint8_t	*buf, *bufs;
	struct chan	*c = arg;
	struct chan_msg	 m;
	int		 rv;

	(void)fd;
	if ((events & EV_WRITE) && chan_flush(c) == -1)
		goto dead;
	if (!(events & EV_READ) || c->cb == NULL)
		return;
	if (c->batch & CHAN_BATCH_READ) {
		/* Pages are touched only as far as messages fill them. */
		if (bufs == NULL && (bufs = malloc((size_t)CHAN_READ_BATCH *
		    CHAN_MAXMSG)) == NULL)
			goto dead;
		if (chan_read_batch(c, bufs) == 0)
			return;
		goto dead;
	}
	if (buf == NULL && (buf = malloc(CHAN_MAXMSG)) == NULL)
		goto dead;
	/*
	 * One message a wake-up: the event is level-triggered, so the loop
	 * comes back for the next, and reading on until EAGAIN costs a
	 * call per wake-up, most of which find a single message.  It also
	 * keeps a busy peer from starving the others.
	 */
	if ((rv = chan_read(c, buf, &m)) == 0)
		return;
	if (rv == -1)
		goto dead;
	c->cb(c, &m, c->arg);
	return;
 dead:
	chan_die(c);
}
