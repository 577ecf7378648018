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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "sandbox.h"
#include "suites.h"
#include "syscalls.h"

#if defined(__linux__) && !defined(SANDBOX_SANITIZED)

static const int	 allow[] = { SYSCALLS_COMMON };
static const int	 fam_inet[] = { AF_INET, AF_INET6, AF_UNIX };
static const int	 fam_log[] = { AF_UNIX };
static pid_t		 parent;

/* Runs f in a child confined to families fam; returns its wait status. */
static int
sandboxed_with(void (*f)(void), const int *fam, size_t nfam)
{
	pid_t	 pid;
	int	 status;

	parent = getpid();
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if (sandbox_syscalls(allow, sizeof(allow) / sizeof(allow[0]),
		    fam, nfam) == -1)
			_exit(2);
		f();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return (status);
}

static int
sandboxed(void (*f)(void))
{
	return (sandboxed_with(f, fam_inet, sizeof(fam_inet) /
	    sizeof(fam_inet[0])));
}

/* The child exits 0 when the outcome was the one wanted. */
#define ck_assert_exit0(status)						\
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,	\
	    "status %#x", (status))

static void
socket_refused(int family, int type)
{
	int	 fd;

	if ((fd = socket(family, type, 0)) != -1 || errno != EAFNOSUPPORT)
		_exit(6);
}

static void
socket_allowed(int family, int type)
{
	int	 fd;

	if ((fd = socket(family, type, 0)) == -1)
		_exit(7);
	close(fd);
}

static void
do_netlink(void)
{
	socket_refused(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC);
	socket_refused(AF_NETLINK, SOCK_DGRAM);
}

static void
do_alg(void)
{
	socket_refused(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC);
}

static void
do_inet(void)
{
	socket_allowed(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
	socket_allowed(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
	socket_allowed(AF_INET, SOCK_DGRAM);
}

static void
do_inet_refused(void)
{
	socket_refused(AF_INET, SOCK_STREAM | SOCK_CLOEXEC);
	socket_refused(AF_INET6, SOCK_DGRAM);
}

/* The log's socket may be reopened; no other kind of Unix socket. */
static void
do_unix(void)
{
	socket_allowed(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC);
	socket_allowed(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
	socket_refused(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC);
	socket_refused(AF_UNIX, SOCK_SEQPACKET);
}

/* Signal 0: asks whether it could, and harms nobody if it can. */
static void
do_tgkill_other(void)
{
	if (syscall(SYS_tgkill, parent, parent, 0) != -1 || errno != EPERM)
		_exit(8);
}

static void
do_tgkill_self(void)
{
	if (syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0) == -1)
		_exit(9);
}

static void
do_execve(void)
{
	char	*argv[] = { "true", NULL };

	execve("/bin/true", argv, NULL);
	_exit(3);
}

static void
do_open(void)
{
	if (open("/etc/passwd", O_RDONLY) != -1 || errno != EACCES)
		_exit(4);
}

static void
do_fork(void)
{
	if (fork() == 0)
		_exit(0);
	_exit(5);
}

START_TEST(test_execve_kills)
{
	int	 status = sandboxed(do_execve);

	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "status %#x", status);
}
END_TEST

START_TEST(test_fork_kills)
{
	int	 status = sandboxed(do_fork);

	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "status %#x", status);
}
END_TEST

START_TEST(test_open_refused)
{
	int	 status = sandboxed(do_open);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %#x", status);
}
END_TEST

START_TEST(test_netlink_refused)
{
	ck_assert_exit0(sandboxed(do_netlink));
}
END_TEST

START_TEST(test_alg_refused)
{
	ck_assert_exit0(sandboxed(do_alg));
}
END_TEST

START_TEST(test_inet_allowed)
{
	ck_assert_exit0(sandboxed(do_inet));
}
END_TEST

START_TEST(test_inet_unlisted)
{
	ck_assert_exit0(sandboxed_with(do_inet_refused, fam_log,
	    sizeof(fam_log) / sizeof(fam_log[0])));
}
END_TEST

START_TEST(test_unix_dgram_only)
{
	ck_assert_exit0(sandboxed_with(do_unix, fam_log,
	    sizeof(fam_log) / sizeof(fam_log[0])));
}
END_TEST

START_TEST(test_tgkill_other_refused)
{
	ck_assert_exit0(sandboxed(do_tgkill_other));
}
END_TEST

START_TEST(test_tgkill_self)
{
	ck_assert_exit0(sandboxed(do_tgkill_self));
}
END_TEST

#endif

Suite *
sandbox_suite(void)
{
	Suite	*s = suite_create("sandbox");
	TCase	*tc = tcase_create("seccomp");

#if defined(__linux__) && !defined(SANDBOX_SANITIZED)
	tcase_add_test(tc, test_execve_kills);
	tcase_add_test(tc, test_fork_kills);
	tcase_add_test(tc, test_open_refused);
	tcase_add_test(tc, test_netlink_refused);
	tcase_add_test(tc, test_alg_refused);
	tcase_add_test(tc, test_inet_allowed);
	tcase_add_test(tc, test_inet_unlisted);
	tcase_add_test(tc, test_unix_dgram_only);
	tcase_add_test(tc, test_tgkill_other_refused);
	tcase_add_test(tc, test_tgkill_self);
#endif
	suite_add_tcase(s, tc);
	return (s);
}
