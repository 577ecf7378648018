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
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <tls.h>

#include "chan.h"
#include "log.h"
#include "sniproxyd.h"

/*
 * libtls can load a keypair but cannot say what a certificate holds,
 * so the certificate (never the key) is read with libcrypto.
 */

#define KEYFILE_MAX	(16 * 1024)	/* each of cert, key, ocsp */
#define EXPIRY_WARN	(14 * 86400)

struct keymem {
	size_t		 size;		/* of the mapping */
	size_t		 certlen;
	size_t		 keylen;
	size_t		 ocsplen;
	uint8_t		 data[];	/* cert, key, ocsp */
};

static void
kp_error(const struct keypair *kp, const char *fmt, const char *arg,
    const char *why)
{
	char	 msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	log_warnx("%s:%d: keypair \"%s\": %s%s%s", kp->file, kp->line,
	    kp->name, msg, why ? ": " : "", why ? why : "");
}

static ssize_t
file_size(const struct keypair *kp, const char *path, int *fd)
{
	struct stat	 st;

	if (path == NULL) {
		*fd = -1;
		return (0);
	}
	if (!config_path_inside(path)) {
		kp_error(kp, "%s is outside the directory of the "
		    "configuration, where sniproxyd is chrooted", path, NULL);
		*fd = -1;
		return (-1);
	}
	if ((*fd = open(config_path(path), O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(*fd, &st) == -1) {
		kp_error(kp, "%s", path, strerror(errno));
		if (*fd != -1)
			close(*fd);
		return (-1);
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0 ||
	    st.st_size > KEYFILE_MAX) {
		kp_error(kp, "%s: not a file of 1 to 16384 bytes", path, NULL);
		close(*fd);
		return (-1);
	}
	return (st.st_size);
}

/*
 * What a file is now, in one number: device, inode, size and time of
 * change.  A Let's Encrypt renewal points a symlink at new files, so
 * following the link shows another inode.
 */
static uint64_t
file_stamp(const char *path)
{
	struct stat	 st;
	uint64_t	 h = 1469598103934665603ULL;
	uint64_t	 v[5];
	size_t		 i;

	if (path == NULL)
		return (0);
	if (stat(config_path(path), &st) == -1)
		return (1);
	v[0] = st.st_dev;
	v[1] = st.st_ino;
	v[2] = st.st_size;
	v[3] = st.st_mtim.tv_sec;
	v[4] = st.st_mtim.tv_nsec;
	for (i = 0; i < 5; i++)
		h = (h ^ v[i]) * 1099511628211ULL;
	return (h);
}

/*
 * Whether any of the keypair's files has changed since it was loaded
 * or since the last call that said so.
 */
int
keypair_changed(struct keypair *kp)
{
	const char	*paths[3] = { kp->cert_path, kp->key_path,
			    kp->ocsp_path };
	uint64_t	 now;
	size_t		 i;
	int		 changed = 0;

	for (i = 0; i < 3; i++) {
		now = file_stamp(paths[i]);
		if (now != kp->stamp[i]) {
			kp->stamp[i] = now;
			changed = 1;
		}
	}
	return (changed);
}

static int
read_all(int fd, uint8_t *buf, size_t len)
{
	ssize_t	 n;
	size_t	 off = 0;

	while (off < len) {
		if ((n = read(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0)
			return (-1);
		off += n;
	}
	return (0);
}

static void
keymem_free(struct keymem *m)
{
	size_t	 size;

	if (m == NULL)
		return;
	size = m->size;
	explicit_bzero(m, size);
	munmap(m, size);
}

/*
 * Reads the three files straight into an anonymous mapping: no stdio
 * buffer or heap block ever holds a copy that a later fork would
 * hand on.
 */
static struct keymem *
keymem_read(const struct keypair *kp)
{
	struct keymem	*m;
	const char	*paths[3] = { kp->cert_path, kp->key_path,
			    kp->ocsp_path };
	ssize_t		 len[3];
	int		 fd[3] = { -1, -1, -1 }, i, ok = 1;
	size_t		 size, off = 0;

	for (i = 0; i < 3; i++)
		if ((len[i] = file_size(kp, paths[i], &fd[i])) == -1)
			ok = 0;
	m = MAP_FAILED;
	if (ok) {
		size = sizeof(*m) + len[0] + len[1] + len[2];
		m = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (m != MAP_FAILED) {
		m->size = size;
		m->certlen = len[0];
		m->keylen = len[1];
		m->ocsplen = len[2];
		for (i = 0; i < 3; i++) {
			if (fd[i] != -1 && read_all(fd[i], m->data + off,
			    len[i]) == -1) {
				kp_error(kp, "%s", paths[i], "short read");
				ok = 0;
			}
			off += len[i];
		}
	}
	for (i = 0; i < 3; i++)
		if (fd[i] != -1)
			close(fd[i]);
	if (m == MAP_FAILED)
		return (NULL);
	if (!ok) {
		keymem_free(m);
		return (NULL);
	}
	return (m);
}

/* From here on, a child forked off this process sees only zeros. */
static int
keymem_seal(struct keymem *m)
{
#ifdef __OpenBSD__
	return (minherit(m, m->size, MAP_INHERIT_ZERO));
#else
	return (madvise(m, m->size, MADV_WIPEONFORK));
#endif
}

static void
cert_sans(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*g;
	const unsigned char	*s;
	int			 i;

	buf[0] = '\0';
	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL)) == NULL)
		return;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		s = ASN1_STRING_get0_data(g->d.dNSName);
		if (buf[0] != '\0')
			strlcat(buf, ",", len);
		strlcat(buf, (const char *)s, len);
	}
	GENERAL_NAMES_free(gens);
}

static int
cert_describe(struct keypair *kp)
{
	BIO		*bio;
	X509		*x;
	struct tm	 tm;

	if ((bio = BIO_new_mem_buf(kp->mem->data, kp->mem->certlen)) == NULL)
		return (-1);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x == NULL) {
		kp_error(kp, "%s: no PEM certificate", kp->cert_path, NULL);
		return (-1);
	}
	X509_NAME_oneline(X509_get_subject_name(x), kp->subject,
	    sizeof(kp->subject));
	cert_sans(x, kp->sans, sizeof(kp->sans));
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		X509_free(x);
		kp_error(kp, "%s: unreadable expiry", kp->cert_path, NULL);
		return (-1);
	}
	kp->notafter = timegm(&tm);
	X509_free(x);
	return (0);
}

/*
 * Whether libtls takes the pair (a key that does not belong to the
 * certificate is refused) is asked in a child, so that none of what
 * libtls and libcrypto make of the key stays in this process.
 */
static const char *
keymem_tls_error(const struct keymem *m)
{
	struct tls_config	*cfg;
	struct tls		*ctx;

	if ((cfg = tls_config_new()) == NULL || (ctx = tls_server()) == NULL)
		return ("out of memory");
	if (tls_config_set_keypair_ocsp_mem(cfg, m->data, m->certlen,
	    m->data + m->certlen, m->keylen, m->ocsplen ?
	    m->data + m->certlen + m->keylen : NULL, m->ocsplen) == -1)
		return (tls_config_error(cfg));
	if (tls_configure(ctx, cfg) == -1)
		return (tls_error(ctx));
	return (NULL);
}

/*
 * The child says why through a pipe, so that the parent logs it: the
 * parent's log may be copied to whoever asked for a reload.
 */
static int
keymem_try(const struct keypair *kp)
{
	const char	*err;
	char		 why[256];
	int		 fds[2], status;
	ssize_t		 n;
	pid_t		 pid;

	if (pipe2(fds, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		kp_error(kp, "%s", "fork", strerror(errno));
		return (-1);
	}
	if (pid == 0) {
		close(fds[0]);
		if ((err = keymem_tls_error(kp->mem)) == NULL)
			_exit(0);
		(void)write(fds[1], err, strlen(err));
		_exit(1);
	}
	close(fds[1]);
	while ((n = read(fds[0], why, sizeof(why) - 1)) == -1 &&
	    errno == EINTR)
		;
	close(fds[0]);
	why[n > 0 ? n : 0] = '\0';
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return (-1);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return (0);
	kp_error(kp, "%s", "cannot use", why[0] ? why :
	    "no reason given");
	return (-1);
}

/*
 * Loads a keypair's files, checks that they make a usable pair, then
 * marks the memory so that children forked later see only zeros.
 */
int
keypair_load(struct keypair *kp)
{
	time_t		 now = time(NULL), na;
	struct tm	 tm;
	char		 date[32];

	keypair_changed(kp);
	if ((kp->mem = keymem_read(kp)) == NULL)
		return (-1);
	if (cert_describe(kp) == -1 || keymem_try(kp) == -1)
		goto fail;
	if (keymem_seal(kp->mem) == -1) {
		kp_error(kp, "%s", "madvise", strerror(errno));
		goto fail;
	}
	na = kp->notafter;
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC",
	    gmtime_r(&na, &tm));
	log_info("keypair %s: subject %s, names %s, not after %s", kp->name,
	    kp->subject, kp->sans[0] ? kp->sans : "-", date);
	if (kp->notafter < now)
		log_warnx("keypair %s: certificate has expired", kp->name);
	else if (kp->notafter - now < EXPIRY_WARN)
		log_warnx("keypair %s: certificate expires in %lld hours",
		    kp->name, (long long)(kp->notafter - now) / 3600);
	return (0);
 fail:
	keymem_free(kp->mem);
	kp->mem = NULL;
	return (-1);
}

void
keypair_free(struct keypair *kp)
{
	if (kp == NULL)
		return;
	keymem_free(kp->mem);
	free(kp->cert_path);
	free(kp->key_path);
	free(kp->ocsp_path);
	free(kp);
}

const uint8_t *
keypair_cert(const struct keypair *kp, size_t *len)
{
	*len = kp->mem->certlen;
	return (kp->mem->data);
}

const uint8_t *
keypair_key(const struct keypair *kp, size_t *len)
{
	*len = kp->mem->keylen;
	return (kp->mem->data + kp->mem->certlen);
}

const uint8_t *
keypair_ocsp(const struct keypair *kp, size_t *len)
{
	*len = kp->mem->ocsplen;
	return (kp->mem->ocsplen ? kp->mem->data + kp->mem->certlen +
	    kp->mem->keylen : NULL);
}

/*
 * Loads the keypair's files again into a new keypair; on success the
 * old one takes what was loaded and the new one is freed.  On failure
 * the old one is left as it was.
 */
int
keypair_reload(struct keypair *kp)
{
	struct keypair	*n;
	int		 rv = -1;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return (-1);
	strlcpy(n->name, kp->name, sizeof(n->name));
	n->file = kp->file;
	n->line = kp->line;
	if ((kp->cert_path && (n->cert_path = strdup(kp->cert_path)) ==
	    NULL) || (kp->key_path && (n->key_path = strdup(kp->key_path)) ==
	    NULL) || (kp->ocsp_path && (n->ocsp_path =
	    strdup(kp->ocsp_path)) == NULL))
		goto done;
	if (keypair_load(n) == -1)
		goto done;
	keymem_free(kp->mem);
	kp->mem = n->mem;
	n->mem = NULL;
	memcpy(kp->subject, n->subject, sizeof(kp->subject));
	memcpy(kp->sans, n->sans, sizeof(kp->sans));
	kp->notafter = n->notafter;
	memcpy(kp->stamp, n->stamp, sizeof(kp->stamp));
	rv = 0;
 done:
	keypair_free(n);
	return (rv);
}
