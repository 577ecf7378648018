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

#ifndef PRIVSEP_CHAN_H
#define PRIVSEP_CHAN_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

/*
 * A channel is one end of an AF_UNIX SOCK_SEQPACKET socket pair: every
 * message is one datagram, so framing is the kernel's and a descriptor
 * always travels with the message it belongs to.
 */
#define CHAN_MAXMSG	(64 * 1024)

#define CHAN_BATCH_SEND	0x1
#define CHAN_BATCH_READ	0x2

struct chan_hdr {
	uint16_t	 type;
	uint16_t	 version;
	uint32_t	 len;		/* of the payload that follows */
	uint64_t	 id;
};

struct chan_msg {
	struct chan_hdr	 hdr;
	int		 fd;		/* -1, or passed: now the receiver's */
	int		 fd_lost;	/* one came, but there was no room */
	const void	*data;		/* valid until the callback returns */
	size_t		 len;
};

struct chan;

/*
 * Called for every message; msg is NULL once when the peer has gone or
 * sent something unreadable (chan_broken() then says which).  After
 * that call the channel is dead and the callback must chan_free() it.
 * A callback must not free the channel while handling a message.
 */
typedef void	(*chan_cb)(struct chan *, struct chan_msg *, void *);

/*
 * chan_set_cb() hands the channel to another callback; with none, what
 * the peer sends waits in the socket until one is set.
 */

int		 chan_pair(int [2]);
struct chan	*chan_new(struct event_base *, int, uint16_t, chan_cb, void *);
void		 chan_free(struct chan *);
int		 chan_send(struct chan *, uint16_t, uint64_t, int,
		    const void *, size_t);
void		 chan_set_cb(struct chan *, chan_cb, void *);
int		 chan_batch(struct chan *, int);
void		 chan_flush_now(struct chan *);
void		 chan_set_undelivered(struct chan *, chan_cb);
int		 chan_broken(const struct chan *);
int		 chan_wait(struct chan *, int);
size_t		 chan_queued(const struct chan *);
int		 chan_fd(const struct chan *);

#endif /* PRIVSEP_CHAN_H */
