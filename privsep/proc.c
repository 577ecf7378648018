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
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "proc.h"

static TAILQ_HEAD(, proc_child) children = TAILQ_HEAD_INITIALIZER(children);

/*
 * In the child, once the caller has let go of whatever else it shared
 * with the parent: forget every sibling, whose channel ends belong to
 * the parent only, and start from the default disposition for every
 * signal.
 */
void
proc_child_init(struct proc_child *self)
{
	struct proc_child	*c;
	int			 sig;

	while ((c = TAILQ_FIRST(&children)) != NULL) {
		TAILQ_REMOVE(&children, c, entry);
		if (c != self && c->fd != -1)
			close(c->fd);
	}
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
}

/*
 * Forks a child with a fresh channel.  Returns the pid in the parent,
 * which keeps c->fd; returns 0 in the child with its own end in
 * *childfd.  The child then calls proc_child_init().
 */
pid_t
proc_spawn(struct proc_child *c, int *childfd)
{
	int		 sv[2];
	pid_t		 pid;

	if (chan_pair(sv) == -1)
		return (-1);
	switch (pid = fork()) {
	case -1:
		close(sv[0]);
		close(sv[1]);
		return (-1);
	case 0:
		close(sv[0]);
		*childfd = sv[1];
		return (0);
	default:
		close(sv[1]);
		c->pid = pid;
		c->fd = sv[0];
		clock_gettime(CLOCK_MONOTONIC, &c->started);
		TAILQ_INSERT_TAIL(&children, c, entry);
		return (pid);
	}
}

void
proc_forget(struct proc_child *c)
{
	TAILQ_REMOVE(&children, c, entry);
}

struct proc_child *
proc_find(pid_t pid)
{
	struct proc_child	*c;

	TAILQ_FOREACH(c, &children, entry)
		if (c->pid == pid)
			return (c);
	return (NULL);
}

int
proc_count(void)
{
	struct proc_child	*c;
	int			 n = 0;

	TAILQ_FOREACH(c, &children, entry)
		n++;
	return (n);
}

double
proc_age(const struct proc_child *c)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((now.tv_sec - c->started.tv_sec) +
	    (now.tv_nsec - c->started.tv_nsec) / 1e9);
}

/*
 * Looks up the user and opens the chroot directory while the whole file
 * system is still visible, so that children forked later, when the
 * parent may itself be chrooted elsewhere, can still get there.  The
 * directory must belong to root and not be writable by others, or a
 * process that drops into it could plant files there.
 */
int
proc_user_init(struct proc_user *u, const char *user, const char *root)
{
	struct passwd	*pw;
	struct stat	 st;

	memset(u, 0, sizeof(*u));
	u->rootfd = -1;
	u->privileged = (geteuid() == 0);
	if (!u->privileged)
		return (0);
	if ((pw = getpwnam(user)) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	if ((u->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-2);
	if (fstat(u->rootfd, &st) == -1)
		return (-2);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(u->rootfd);
		u->rootfd = -1;
		errno = EPERM;
		return (-2);
	}
	return (0);
}

/*
 * Chroots into the prepared directory and becomes the user for good.
 * Does nothing when not started as root.
 */
int
proc_drop(const struct proc_user *u)
{
	if (!u->privileged)
		return (0);
	if (fchdir(u->rootfd) == -1 || chroot(".") == -1 || chdir("/") == -1)
		return (-1);
	close(u->rootfd);
	if (setgroups(1, &u->gid) == -1 ||
	    setresgid(u->gid, u->gid, u->gid) == -1 ||
	    setresuid(u->uid, u->uid, u->uid) == -1)
		return (-1);
	/* Make sure there is no way back. */
	if (setuid(0) != -1 || seteuid(0) != -1)
		return (-1);
	return (0);
}

int
proc_chroot_self(const char *dir)
{
	if (chroot(dir) == -1 || chdir("/") == -1)
		return (-1);
	return (0);
}
