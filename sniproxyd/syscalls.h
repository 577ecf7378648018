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

#ifndef SYSCALLS_H
#define SYSCALLS_H

#include <sys/syscall.h>

/*
 * What every network-facing process of sniproxyd calls once it is set
 * up: memory, time, its event loop and channels, and the log (stderr,
 * or the syslog socket, which may need connecting again).  The lists
 * of each process add to these next to its main loop.
 */
#define SYSCALLS_COMMON							\
	SYS_brk, SYS_mmap, SYS_munmap, SYS_mremap, SYS_madvise,		\
	SYS_clock_gettime, SYS_gettimeofday, SYS_getpid, SYS_gettid,	\
	SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_ctl,			\
	SYS_read, SYS_write, SYS_writev, SYS_close, SYS_fcntl,		\
	SYS_recvmsg, SYS_sendmsg, SYS_recvmmsg, SYS_sendmmsg,		\
	SYS_recvfrom, SYS_sendto,					\
	SYS_socket, SYS_connect, SYS_fstat, SYS_newfstatat,		\
	SYS_futex, SYS_getrandom, SYS_rt_sigreturn, SYS_rt_sigprocmask,	\
	SYS_tgkill, SYS_exit, SYS_exit_group

#endif /* SYSCALLS_H */
