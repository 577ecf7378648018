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

#ifndef PRIVSEP_PROC_H
#define PRIVSEP_PROC_H

#include <sys/types.h>
#include <sys/queue.h>

#include <time.h>

/*
 * A child process as its parent sees it.  The parent keeps one end of a
 * channel pair for each child; every child closes the parent's ends of
 * its siblings' channels, so that a sibling's death is seen as EOF.
 */
struct proc_child {
	pid_t			 pid;
	int			 fd;		/* parent's end */
	struct timespec		 started;	/* CLOCK_MONOTONIC */
	void			*arg;		/* the owner's */
	TAILQ_ENTRY(proc_child)	 entry;
};

/* Who a dropped process becomes, looked up once before any chroot. */
struct proc_user {
	uid_t		 uid;
	gid_t		 gid;
	int		 rootfd;	/* directory to chroot into */
	int		 privileged;	/* started as root: drop for real */
};

pid_t			 proc_spawn(struct proc_child *, int *);
void			 proc_child_init(struct proc_child *);
void			 proc_forget(struct proc_child *);
struct proc_child	*proc_find(pid_t);
int			 proc_count(void);
int			 proc_user_init(struct proc_user *, const char *,
			    const char *);
int			 proc_drop(const struct proc_user *);
int			 proc_chroot_self(const char *);
double			 proc_age(const struct proc_child *);

#endif /* PRIVSEP_PROC_H */
