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
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sniproxyd.h"

/*
 * What a parse read from the file system and the name service.  priv
 * reads for real and keeps a copy of each answer; a child, which can
 * read nothing, is given that copy and parses the same configuration
 * from it.  An entry is a kind, the lengths of a key and a value, the
 * key with its NUL, and the value.
 */
enum bundle_kind {
	BUNDLE_FILE = 1,
	BUNDLE_NAME
};

struct bundle_hdr {
	uint32_t	 kind;
	uint32_t	 keylen;
	uint32_t	 vallen;
};

static struct {
	uint8_t		*rec;		/* priv: what is being read */
	size_t		 reclen;
	size_t		 recsize;
	const uint8_t	*play;		/* a child: what priv read */
	size_t		 playlen;
} bundle;

/*
 * A parse begins: in priv, what it reads is kept anew; in a child, it
 * reads from what priv sent.
 */
void
bundle_begin(void)
{
	if (bundle.play != NULL)
		return;
	free(bundle.rec);
	bundle.rec = NULL;
	bundle.reclen = bundle.recsize = 0;
}

/* Hands over what the last parse read. */
uint8_t *
bundle_take(size_t *len)
{
	uint8_t	*b = bundle.rec;

	*len = bundle.reclen;
	bundle.rec = NULL;
	bundle.reclen = bundle.recsize = 0;
	return (b);
}

static void
bundle_add(uint32_t kind, const char *key, const void *val, size_t vallen)
{
	struct bundle_hdr	 h;
	size_t			 need;
	uint8_t			*p;

	h.kind = kind;
	h.keylen = strlen(key) + 1;
	h.vallen = vallen;
	need = sizeof(h) + h.keylen + vallen;
	if (bundle.reclen + need > bundle.recsize) {
		bundle.recsize = (bundle.reclen + need) * 2;
		if ((p = realloc(bundle.rec, bundle.recsize)) == NULL)
			fatal("%s", __func__);
		bundle.rec = p;
	}
	p = bundle.rec + bundle.reclen;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), key, h.keylen);
	if (vallen)
		memcpy(p + sizeof(h) + h.keylen, val, vallen);
	bundle.reclen += need;
}

/*
 * Walks the entries; with key set, returns the value of the first of
 * that kind and key.  Without, only checks that every entry is whole.
 */
static int
bundle_walk(const uint8_t *b, size_t len, uint32_t kind, const char *key,
    const uint8_t **val, size_t *vallen)
{
	struct bundle_hdr	 h;
	size_t			 off = 0;
	const char		*k;

	while (off < len) {
		if (len - off < sizeof(h))
			return (-1);
		memcpy(&h, b + off, sizeof(h));
		off += sizeof(h);
		if (h.keylen == 0 || h.keylen > len - off ||
		    h.vallen > len - off - h.keylen)
			return (-1);
		k = (const char *)b + off;
		if (k[h.keylen - 1] != '\0' || strlen(k) != h.keylen - 1)
			return (-1);
		if (key != NULL && h.kind == kind && strcmp(k, key) == 0) {
			*val = b + off + h.keylen;
			*vallen = h.vallen;
			return (0);
		}
		off += h.keylen + h.vallen;
	}
	return (key == NULL ? 0 : -1);
}

/* A child: every read from now on is answered from b, kept by caller. */
int
bundle_replay(const uint8_t *b, size_t len)
{
	if (bundle_walk(b, len, 0, NULL, NULL, NULL) == -1)
		return (-1);
	bundle.play = b;
	bundle.playlen = len;
	return (0);
}

int
bundle_replaying(void)
{
	return (bundle.play != NULL);
}

/* The first file read, which is the configuration itself. */
const char *
bundle_main(void)
{
	struct bundle_hdr	 h;

	if (bundle.playlen < sizeof(h))
		return (NULL);
	memcpy(&h, bundle.play, sizeof(h));
	if (h.kind != BUNDLE_FILE)
		return (NULL);
	return ((const char *)bundle.play + sizeof(h));
}

/*
 * Whoever can write the configuration decides what runs as root, so it
 * must be root's or ours and nobody else's to write, as OpenBSD's
 * daemons want theirs.
 */
static int
file_guarded(const struct stat *st)
{
	return ((st->st_uid == 0 || st->st_uid == geteuid()) &&
	    (st->st_mode & (S_IWGRP | S_IWOTH)) == 0);
}

static int
file_read(const char *path, size_t max, int guarded, uint8_t **data,
    size_t *len)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return (-1);
	}
	if (guarded && !file_guarded(&st)) {
		close(fd);
		errno = EPERM;
		return (-1);
	}
	if ((*data = malloc(st.st_size + 1)) == NULL)
		fatal("%s", __func__);
	while (off < (size_t)st.st_size) {
		if ((n = read(fd, *data + off, st.st_size - off)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	close(fd);
	*len = off;
	return (0);
}

/*
 * A file's bytes in a new buffer with one byte to spare.  In a child,
 * a file priv did not read does not exist.  A guarded file (the
 * configuration) that others could write fails with EPERM; priv checks
 * it, a child trusts what priv read.
 */
int
bundle_file(const char *path, size_t max, int guarded, uint8_t **data,
    size_t *len)
{
	const uint8_t	*v;

	if (bundle.play == NULL) {
		if (file_read(path, max, guarded, data, len) == -1)
			return (-1);
		bundle_add(BUNDLE_FILE, path, *data, *len);
		return (0);
	}
	if (bundle_walk(bundle.play, bundle.playlen, BUNDLE_FILE, path, &v,
	    len) == -1) {
		errno = ENOENT;
		return (-1);
	}
	if ((*data = malloc(*len + 1)) == NULL)
		fatal("%s", __func__);
	memcpy(*data, v, *len);
	return (0);
}

static int
name_lookup(const char *name, in_port_t port, int passive,
    struct sockaddr_storage **ss, size_t *n, const char **why)
{
	struct addrinfo	 hints, *res, *ai;
	char		 portstr[6];
	int		 error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | (passive ? AI_PASSIVE : 0);
	snprintf(portstr, sizeof(portstr), "%u", port);
	error = getaddrinfo(name, portstr, &hints, &res);
	if (error == EAI_NONAME && name != NULL) {
		hints.ai_flags &= ~AI_NUMERICHOST;
		error = getaddrinfo(name, portstr, &hints, &res);
	}
	if (error) {
		*why = gai_strerror(error);
		return (-1);
	}
	*n = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		(*n)++;
	if ((*ss = calloc(*n, sizeof(**ss))) == NULL)
		fatal("%s", __func__);
	*n = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		memcpy(&(*ss)[(*n)++], ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	return (0);
}

/*
 * The addresses of a host name (NULL: any address), as getaddrinfo(3)
 * gives them, in a new array.
 */
int
bundle_resolve(const char *name, in_port_t port, int passive,
    struct sockaddr_storage **ss, size_t *n, const char **why)
{
	const uint8_t	*v;
	char		 key[NI_MAXHOST + 16];
	size_t		 len;

	snprintf(key, sizeof(key), "%s %u %d", name ? name : "*", port,
	    passive);
	if (bundle.play == NULL) {
		if (name_lookup(name, port, passive, ss, n, why) == -1)
			return (-1);
		bundle_add(BUNDLE_NAME, key, *ss, *n * sizeof(**ss));
		return (0);
	}
	if (bundle_walk(bundle.play, bundle.playlen, BUNDLE_NAME, key, &v,
	    &len) == -1 || len == 0 || len % sizeof(**ss) != 0) {
		*why = "not resolved by the parent process";
		return (-1);
	}
	if ((*ss = malloc(len)) == NULL)
		fatal("%s", __func__);
	memcpy(*ss, v, len);
	*n = len / sizeof(**ss);
	return (0);
}
