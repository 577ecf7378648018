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

struct event_base;
struct chan;

/*
 * A child is started by fork and exec of the program itself: it begins
 * with a fresh address space and holds only what is passed on purpose,
 * its channel to the parent at PROC_CHAN_FD and the descriptors given
 * to proc_spawn() from PROC_CHAN_FD + 1 on.
 */
#define PROC_CHAN_FD	3
#define PROC_MAXFDS	1024

struct proc_child {
	pid_t			 pid;
	int			 fd;		/* parent's end */
	struct timespec		 started;	/* CLOCK_MONOTONIC */
	TAILQ_ENTRY(proc_child)	 entry;
};

/* Who a dropped process becomes, looked up once by the parent. */
struct proc_user {
	uid_t		 uid;
	gid_t		 gid;
	int		 rootfd;	/* directory to chroot into */
	int		 privileged;	/* started as root: drop for real */
	const int	*caps;		/* kept across the drop */
	size_t		 ncaps;
	int		 unfiltered;	/* no system call filter */
};

/*
 * One row per kind of child.  proc_run() does what every child does
 * before its main loop: title, privileges, the role's own set-up, the
 * system call filter; then it runs the loop and exits.  A role that
 * keeps root confines itself in init.
 */
struct proc_role {
	const char	*name;
	int		 keep_root;
	const int	*syscalls;	/* ends with -1 */
	const int	*families;	/* for socket(2); ends with -1 */
	void		(*init)(struct event_base *, struct chan *, void *);
};

pid_t			 proc_spawn(struct proc_child *, const char *,
			    const char *, const int *, size_t);
void			 proc_run(const struct proc_role *, const char *,
			    const struct proc_user *, struct event_base *,
			    struct chan *, void *)
			    __attribute__((__noreturn__));
void			 proc_title(const char *);
void			 proc_forget(struct proc_child *);
struct proc_child	*proc_find(pid_t);
int			 proc_count(void);
int			 proc_user_init(struct proc_user *, const char *,
			    const char *);
int			 proc_drop(const struct proc_user *);
int			 proc_chroot_self(const char *);
double			 proc_age(const struct proc_child *);

#endif /* PRIVSEP_PROC_H */
