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
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "shm.h"

/* Returns the descriptor of len zeroed bytes, or -1. */
int
shm_create(size_t len)
{
	int	 fd, saved;

	if ((fd = memfd_create("shm", MFD_CLOEXEC | MFD_ALLOW_SEALING)) ==
	    -1)
		return (-1);
	if (ftruncate(fd, len) == -1 || fcntl(fd, F_ADD_SEALS,
	    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (fd);
}

/*
 * Maps len bytes of fd, which must be sealed against shrinking and at
 * least that large.  The caller still owns fd.  Returns NULL on error.
 */
void *
shm_map(int fd, size_t len)
{
	struct stat	 st;
	void		*p;
	int		 seals;

	if (fstat(fd, &st) == -1 || (seals = fcntl(fd, F_GET_SEALS)) == -1)
		return (NULL);
	if (!(seals & F_SEAL_SHRINK) || st.st_size < 0 ||
	    (size_t)st.st_size < len) {
		errno = EINVAL;
		return (NULL);
	}
	if ((p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0)) == MAP_FAILED)
		return (NULL);
	return (p);
}
