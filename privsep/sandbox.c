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

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"

#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <unistd.h>

#include <linux/landlock.h>
#endif

#if defined(__linux__) && !defined(SANDBOX_SANITIZED)

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#if defined(__x86_64__)
#define SANDBOX_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH	AUDIT_ARCH_AARCH64
#endif
#endif /* __linux__ */

#ifdef SANDBOX_ARCH

#define LOAD_ARCH	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, \
			    offsetof(struct seccomp_data, arch))
#define LOAD_NR		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, \
			    offsetof(struct seccomp_data, nr))
#define RET(v)		BPF_STMT(BPF_RET | BPF_K, (v))
#define IF_NR(nr)	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1)

/*
 * The kernel takes an int argument from the low 32 bits of its
 * register, so comparing those is comparing what the call will use.
 */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i)	(offsetof(struct seccomp_data, args[(i)]))
#else
#define ARG_LO(i)	(offsetof(struct seccomp_data, args[(i)]) + 4)
#endif
#define LOAD_ARG(i)	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(i))

/*
 * Looking at files is refused, not fatal: a library that asks for an
 * optional file in the empty chroot carries on without it.
 */
static const int	 refused[] = {
#ifdef SYS_open
	SYS_open,
#endif
#ifdef SYS_access
	SYS_access,
#endif
#ifdef SYS_stat
	SYS_stat,
#endif
	SYS_openat,
	SYS_faccessat
};

/* Signals go to the process itself only (abort(3), raise(3)). */
static const int	 selfonly[] = {
#ifdef SYS_kill
	SYS_kill,
#endif
	SYS_tkill, SYS_tgkill
};

static int
is_selfonly(int nr)
{
	size_t	 i;

	for (i = 0; i < sizeof(selfonly) / sizeof(selfonly[0]); i++)
		if (selfonly[i] == nr)
			return (1);
	return (0);
}

/* The longest block one system call can take in the filter. */
#define BLOCK_MAX(nfam)	(8 + (nfam))

/*
 * socket(2) with one of the families given.  A Unix socket may only be
 * a datagram one: the log's, opened again when syslogd went away.
 * Another family or type is refused rather than fatal, so that a
 * library trying one (glibc's syslog falls back to a stream socket)
 * carries on without it.  connect(2) cannot be checked this way (its
 * address is behind a pointer), but it can only use the family of the
 * socket it is given.
 */
static struct sock_filter *
socket_block(struct sock_filter *p, const int *fam, size_t nfam)
{
	struct sock_filter	*b = p + 1, *jeq[SANDBOX_MAXFAMILIES];
	struct sock_filter	*unix_jeq = NULL, *deny, *allow;
	size_t			 i, nj = 0;

	*b++ = (struct sock_filter)LOAD_ARG(0);
	for (i = 0; i < nfam; i++) {
		if (fam[i] == AF_UNIX)
			continue;
		jeq[nj] = b;
		*b++ = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    (uint32_t)fam[i], 0, 0);
		nj++;
	}
	for (i = 0; i < nfam; i++)
		if (fam[i] == AF_UNIX)
			unix_jeq = b;
	if (unix_jeq != NULL) {
		*b++ = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    AF_UNIX, 0, 0);
		*b++ = (struct sock_filter)LOAD_ARG(1);
		*b++ = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K,
		    ~(uint32_t)(SOCK_NONBLOCK | SOCK_CLOEXEC));
		*b++ = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    SOCK_DGRAM, 1, 0);
	}
	deny = b;
	*b++ = (struct sock_filter)RET(SECCOMP_RET_ERRNO | EAFNOSUPPORT);
	allow = b;
	*b++ = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
	for (i = 0; i < nj; i++)
		jeq[i]->jt = allow - jeq[i] - 1;
	if (unix_jeq != NULL)
		unix_jeq->jf = deny - unix_jeq - 1;
	*p = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    SYS_socket, 0, b - p - 1);
	return (b);
}

/* A signal system call whose first argument must be our own pid. */
static struct sock_filter *
selfonly_block(struct sock_filter *p, int nr, pid_t self)
{
	*p++ = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    nr, 0, 4);
	*p++ = (struct sock_filter)LOAD_ARG(0);
	*p++ = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    (uint32_t)self, 0, 1);
	*p++ = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
	*p++ = (struct sock_filter)RET(SECCOMP_RET_ERRNO | EPERM);
	return (p);
}

int
sandbox_syscalls(const int *allow, size_t n, const int *fam, size_t nfam)
{
	struct sock_filter	*f, *p;
	struct sock_fprog	 prog;
	struct rlimit		 none = { 0, 0 };
	size_t			 i, nref = sizeof(refused) / sizeof(refused[0]);
	pid_t			 self = getpid();
	int			 rv = -1;

	if (nfam > SANDBOX_MAXFAMILIES) {
		errno = EINVAL;
		return (-1);
	}
	/* No fork: a network-facing process has no use for one. */
	if (setrlimit(RLIMIT_NPROC, &none) == -1)
		return (-1);
	/*
	 * Arch check, syscall number, at most a block per syscall, two
	 * per refused one, the verdict.
	 */
	if ((f = calloc(4 + BLOCK_MAX(nfam) * n + 2 * nref + 1,
	    sizeof(*f))) == NULL)
		return (-1);
	p = f;
	*p++ = (struct sock_filter)LOAD_ARCH;
	*p++ = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    SANDBOX_ARCH, 1, 0);
	*p++ = (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS);
	*p++ = (struct sock_filter)LOAD_NR;
	/* Each block ends in a verdict: the number is still loaded after. */
	for (i = 0; i < n; i++) {
		if (allow[i] == SYS_socket)
			p = socket_block(p, fam, nfam);
		else if (is_selfonly(allow[i]))
			p = selfonly_block(p, allow[i], self);
		else {
			*p++ = (struct sock_filter)IF_NR(allow[i]);
			*p++ = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
		}
	}
	for (i = 0; i < nref; i++) {
		*p++ = (struct sock_filter)IF_NR(refused[i]);
		*p++ = (struct sock_filter)RET(SECCOMP_RET_ERRNO | EACCES);
	}
	*p++ = (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS);
	prog.len = p - f;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
		rv = 0;
	free(f);
	return (rv);
}

int
sandbox_supported(void)
{
	return (1);
}

#elif defined(__OpenBSD__) && !defined(SANDBOX_SANITIZED)

#include <unistd.h>

/* pledge(2) speaks of promises, not system calls: these cover all. */
int
sandbox_syscalls(const int *allow, size_t n, const int *fam, size_t nfam)
{
	(void)allow;
	(void)n;
	(void)fam;
	(void)nfam;
	return (pledge("stdio inet unix recvfd sendfd", NULL));
}

int
sandbox_supported(void)
{
	return (1);
}

#else

int
sandbox_syscalls(const int *allow, size_t n, const int *fam, size_t nfam)
{
	(void)allow;
	(void)n;
	(void)fam;
	(void)nfam;
	return (0);
}

/*
 * A build made to run unconfined (sanitizers, valgrind) chose so; any
 * other build that lands here has no filter for this system.
 */
int
sandbox_supported(void)
{
#ifdef SANDBOX_SANITIZED
	return (1);
#else
	return (0);
#endif
}

#endif

#if defined(__linux__) && defined(SYS_landlock_create_ruleset)

/* The file system rights of the first Landlock ABI: all of them then. */
#define LANDLOCK_FS_ALL	(LANDLOCK_ACCESS_FS_EXECUTE |			\
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |	\
	LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |	\
	LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |	\
	LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |	\
	LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |	\
	LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)

int
sandbox_readonly(const char *const *paths, size_t n)
{
	struct landlock_ruleset_attr	 attr;
	struct landlock_path_beneath_attr beneath;
	struct stat			 st;
	size_t				 i;
	int				 rs, rv = -1;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = LANDLOCK_FS_ALL;
	if ((rs = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr),
	    0)) == -1)
		return ((errno == ENOSYS || errno == EOPNOTSUPP) ? 0 : -1);
	for (i = 0; i < n; i++) {
		memset(&beneath, 0, sizeof(beneath));
		/* A path that is not there has nothing to allow. */
		if ((beneath.parent_fd = open(paths[i], O_PATH |
		    O_CLOEXEC)) == -1)
			continue;
		beneath.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE |
		    LANDLOCK_ACCESS_FS_EXECUTE;
		if (fstat(beneath.parent_fd, &st) == 0 && S_ISDIR(st.st_mode))
			beneath.allowed_access |= LANDLOCK_ACCESS_FS_READ_DIR;
		if (syscall(SYS_landlock_add_rule, rs,
		    LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) == -1) {
			close(beneath.parent_fd);
			goto done;
		}
		close(beneath.parent_fd);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	    syscall(SYS_landlock_restrict_self, rs, 0) == 0)
		rv = 1;
 done:
	close(rs);
	return (rv);
}

#else

int
sandbox_readonly(const char *const *paths, size_t n)
{
	(void)paths;
	(void)n;
	return (0);
}

#endif

#if defined(__linux__)

#include <linux/capability.h>

/*
 * Keeps the capabilities named and gives up every other, for this
 * process and, through the bounding set, for every program it execs.
 */
int
sandbox_caps_narrow(const int *keep, size_t n)
{
	struct __user_cap_header_struct	 hdr;
	struct __user_cap_data_struct	 data[2];
	size_t				 i;

	memset(data, 0, sizeof(data));
	for (i = 0; i < n; i++) {
		if (keep[i] < 0 || keep[i] >= 64) {
			errno = EINVAL;
			return (-1);
		}
		data[keep[i] / 32].effective |= 1U << (keep[i] % 32);
		data[keep[i] / 32].permitted |= 1U << (keep[i] % 32);
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	return (syscall(SYS_capset, &hdr, data) == -1 ? -1 : 0);
}

int
sandbox_caps(const int *keep, size_t n)
{
	size_t	 i;
	int	 cap, kept;

	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
		for (i = 0, kept = 0; i < n; i++)
			if (keep[i] == cap)
				kept = 1;
		if (!kept && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			return (-1);
	}
	return (sandbox_caps_narrow(keep, n));
}

/*
 * Only the permitted set carries capabilities over a change of user,
 * and only with PR_SET_KEEPCAPS; the effective set is emptied, and set
 * again from what was kept.
 */
int
sandbox_setuid_caps(uid_t uid, const int *keep, size_t n)
{
	if (n > 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1)
		return (-1);
	if (setresuid(uid, uid, uid) == -1)
		return (-1);
	if (n == 0)
		return (0);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == -1)
		return (-1);
	return (sandbox_caps_narrow(keep, n));
}

#else

int
sandbox_caps(const int *keep, size_t n)
{
	(void)keep;
	(void)n;
	return (0);
}

int
sandbox_caps_narrow(const int *keep, size_t n)
{
	(void)keep;
	(void)n;
	return (0);
}

int
sandbox_setuid_caps(uid_t uid, const int *keep, size_t n)
{
	if (n > 0) {
		errno = ENOTSUP;
		return (-1);
	}
	return (setresuid(uid, uid, uid));
}

#endif
