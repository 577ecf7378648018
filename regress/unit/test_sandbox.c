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

/* Runs f in a sandboxed child; returns its wait status. */
static int
sandboxed(void (*f)(void))
{
	pid_t	 pid;
	int	 status;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if (sandbox_syscalls(allow, sizeof(allow) / sizeof(allow[0])) ==
		    -1)
			_exit(2);
		f();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return (status);
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
#endif
	suite_add_tcase(s, tc);
	return (s);
}
