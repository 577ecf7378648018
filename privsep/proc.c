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
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"

static TAILQ_HEAD(, proc_child) children = TAILQ_HEAD_INITIALIZER(children);

extern char	**environ;

/*
 * In the new process: the channel to PROC_CHAN_FD, the descriptors
 * passed after it, everything else closed, then the program again.
 * Each is first moved above the range, so that none is overwritten
 * before it is moved down.
 */
static void
proc_exec(const char *path, const char *role, int chan, const int *fds,
    size_t nfds)
{
	char	*argv[4];
	int	 top = PROC_CHAN_FD + 1 + (int)nfds, high[PROC_MAXFDS + 1];
	int	 sig;
	size_t	 i;

	if (nfds > PROC_MAXFDS)
		_exit(127);
	for (i = 0; i <= nfds; i++)
		if ((high[i] = fcntl(i == 0 ? chan : fds[i - 1], F_DUPFD,
		    top)) == -1)
			_exit(127);
	for (i = 0; i <= nfds; i++)
		if (dup2(high[i], PROC_CHAN_FD + i) == -1)
			_exit(127);
	closefrom(top);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	argv[0] = (char *)getprogname();
	argv[1] = "-P";
	argv[2] = (char *)role;
	argv[3] = NULL;
	execve(path, argv, environ);
	_exit(127);
}

/*
 * Starts path as a child in the given role, with a channel to it and
 * the descriptors fds.  Returns its pid; c->fd is the parent's end.
 */
pid_t
proc_spawn(struct proc_child *c, const char *path, const char *role,
    const int *fds, size_t nfds)
{
	sigset_t	 all, old;
	int		 sv[2];
	pid_t		 pid;

	if (chan_pair(sv) == -1)
		return (-1);
	/* No signal handler of the parent may run in the child. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		proc_exec(path, role, sv[1], fds, nfds);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid == -1) {
		close(sv[0]);
		return (-1);
	}
	c->pid = pid;
	c->fd = sv[0];
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	TAILQ_INSERT_TAIL(&children, c, entry);
	return (pid);
}

/*
 * The title says what a process is in ps(1).  On Linux the short name
 * the kernel keeps says it too: it is what top(1) and the kernel's own
 * messages, a seccomp kill among them, show.
 */
void
proc_title(const char *title)
{
	setproctitle("%s", title);
#ifdef __linux__
	prctl(PR_SET_NAME, title, 0, 0, 0);
#endif
}

void
proc_run(const struct proc_role *role, const char *title,
    const struct proc_user *u, struct event_base *base, struct chan *chan,
    void *arg)
{
	size_t	 n, nfam;

	proc_title(title);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (!role->keep_root && proc_drop(u) == -1)
		fatal("%s: cannot drop privileges", title);
	role->init(base, chan, arg);
	for (n = 0; role->syscalls[n] != -1; n++)
		;
	for (nfam = 0; role->families[nfam] != -1; nfam++)
		;
	if (!u->unfiltered && sandbox_syscalls(role->syscalls, n,
	    role->families, nfam) == -1)
		fatal("%s: sandbox", title);
	event_base_dispatch(base);
	log_debug("%s: exiting", title);
	exit(0);
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
 * Chroots into the prepared directory and becomes the user for good,
 * with no capability but those u names.  Does nothing when not started
 * as root.
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
	    sandbox_setuid_caps(u->uid, u->caps, u->ncaps) == -1)
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
