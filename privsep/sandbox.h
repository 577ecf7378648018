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

#ifndef PRIVSEP_SANDBOX_H
#define PRIVSEP_SANDBOX_H

#include <sys/types.h>

#include <stddef.h>

/*
 * AddressSanitizer makes system calls of its own (at exit, to look for
 * leaks, it clones and traces): a sanitized build runs unconfined.  So
 * does one built with SANDBOX_UNCONFINED, for valgrind, which makes the
 * program's system calls and many of its own from inside the process.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(SANDBOX_UNCONFINED)
#define SANDBOX_SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZED	1
#endif
#endif

#define SANDBOX_MAXFAMILIES	8

/*
 * Confines the calling process, for good, to the system calls it
 * names: any other kills it, except the opening of files, which fails
 * with EACCES so that a library looking for an optional file carries
 * on.  socket(2), where named, is allowed for the address families
 * given only (AF_UNIX for datagram sockets only); kill(2), tkill(2)
 * and tgkill(2), where named, only with the caller's own pid.  Also
 * sets no_new_privs.  Does nothing where the system has no such
 * mechanism.
 */
int	sandbox_syscalls(const int *, size_t, const int *, size_t);

/* Whether sandbox_syscalls() can confine a process on this system. */
int	sandbox_supported(void);

/*
 * Leaves the calling process (and its children, exec'd or not) able to
 * read and execute the files named and those below the directories
 * named, and to do nothing else with the file system.  Returns 1 when
 * applied, 0 where the kernel cannot, -1 on error.
 */
int	sandbox_readonly(const char *const *, size_t);

/*
 * Keeps the capabilities named (CAP_* numbers) and drops every other,
 * for good, for the calling process and every program it execs.  Does
 * nothing where the system has no capabilities.
 */
int	sandbox_caps(const int *, size_t);

/*
 * Keeps the capabilities named, effective and permitted, and gives up
 * every other this process has; the bounding set stays as it is, as
 * changing it takes a capability (CAP_SETPCAP) not kept.
 */
int	sandbox_caps_narrow(const int *, size_t);

/*
 * Becomes uid (real, effective and saved) keeping the capabilities
 * named, and only those, effective and permitted: the ones root had,
 * as a process that gave the rest up before may not have them all.
 * Fails where the system has no capabilities and some are asked for.
 */
int	sandbox_setuid_caps(uid_t, const int *, size_t);

#endif /* PRIVSEP_SANDBOX_H */
