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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
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

/*
 * Where the keypair files are looked for: root is the directory that
 * holds all of them and whatever their links lead to; once the keys
 * helper is chrooted there, prefix is empty, else it is root.
 */
static struct {
	char	 root[PATH_MAX];
	char	 prefix[PATH_MAX];
} kf = { "/", "" };

void
keypair_root(const char *root, int chrooted)
{
	strlcpy(kf.root, root, sizeof(kf.root));
	strlcpy(kf.prefix, chrooted || strcmp(root, "/") == 0 ? "" : root,
	    sizeof(kf.prefix));
}

/* The part of path below the root, with its slash; NULL if none. */
static const char *
below_root(const char *path)
{
	size_t	 len = strlen(kf.root);

	if (strcmp(kf.root, "/") == 0)
		return (path[0] == '/' ? path : NULL);
	if (strncmp(path, kf.root, len) != 0)
		return (NULL);
	if (path[len] == '\0')
		return ("/");
	return (path[len] == '/' ? path + len : NULL);
}

/*
 * Follows a keypair file's links by hand, as the keys helper, chrooted
 * at the root, must: the kernel would take an absolute link from the
 * new root, where its target is not.  An absolute link is taken from
 * the root when it leads below it; a link, relative or not, that leads
 * outside is refused with its name.  real gets the path to open.
 */
int
keypair_resolve(const char *path, char *real, size_t len, char *why,
    size_t whylen)
{
	char		 cur[PATH_MAX], rest[PATH_MAX], tmp[PATH_MAX];
	char		 target[PATH_MAX], *comp, *slash;
	const char	*sub;
	struct stat	 st;
	ssize_t		 n;
	int		 links = 0;

	if ((sub = below_root(path)) == NULL) {
		snprintf(why, whylen, "not below %s", kf.root);
		return (-1);
	}
	cur[0] = '\0';
	strlcpy(rest, sub, sizeof(rest));
	while (rest[0] != '\0') {
		comp = rest + strspn(rest, "/");
		if ((slash = strchr(comp, '/')) != NULL)
			*slash++ = '\0';
		strlcpy(tmp, comp, sizeof(tmp));
		memmove(rest, slash ? slash : comp + strlen(comp),
		    strlen(slash ? slash : comp + strlen(comp)) + 1);
		if (tmp[0] == '\0' || strcmp(tmp, ".") == 0)
			continue;
		if (strcmp(tmp, "..") == 0) {
			if (cur[0] == '\0') {
				snprintf(why, whylen, "leads above %s",
				    kf.root);
				return (-1);
			}
			*strrchr(cur, '/') = '\0';
			continue;
		}
		if (strlcat(cur, "/", sizeof(cur)) >= sizeof(cur) ||
		    strlcat(cur, tmp, sizeof(cur)) >= sizeof(cur))
			goto toolong;
		snprintf(real, len, "%s%s", kf.prefix, cur);
		if (lstat(real, &st) == -1 || !S_ISLNK(st.st_mode))
			continue;
		if (++links > 32 || (n = readlink(real, target,
		    sizeof(target) - 1)) == -1) {
			snprintf(why, whylen, "%s: too many links", real);
			return (-1);
		}
		target[n] = '\0';
		*strrchr(cur, '/') = '\0';
		if (target[0] == '/') {
			if ((sub = below_root(target)) == NULL) {
				snprintf(why, whylen, "the link %s%s leads to "
				    "%s, outside %s", kf.prefix[0] ? "" :
				    kf.root, real, target, kf.root);
				return (-1);
			}
			cur[0] = '\0';
		} else
			sub = target;
		if (snprintf(tmp, sizeof(tmp), "%s/%s", sub, rest) >=
		    (int)sizeof(tmp))
			goto toolong;
		strlcpy(rest, tmp, sizeof(rest));
	}
	if (snprintf(real, len, "%s%s", kf.prefix, cur[0] ? cur : "/") >=
	    (int)len)
		goto toolong;
	return (0);
 toolong:
	snprintf(why, whylen, "path too long");
	return (-1);
}

/*
 * The deepest directory that holds every file of every keypair and
 * every file their links lead to: the keys helper's root.
 */
static void
common_dir(char *dir, const char *path)
{
	size_t	 i, last = 0;

	if (dir[0] == '\0') {
		strlcpy(dir, path, PATH_MAX);
		last = strrchr(dir, '/') - dir;
	} else if (strcmp(dir, "/") == 0)
		return;
	else {
		for (i = 0; dir[i] != '\0' && dir[i] == path[i]; i++)
			if (dir[i] == '/')
				last = i;
		if (dir[i] == '\0' && (path[i] == '/' || path[i] == '\0'))
			return;
	}
	/* The root directory is "/", never the empty string. */
	dir[last == 0 ? 1 : last] = '\0';
}

/*
 * A keypair file counts twice: where its name is, once the directories
 * on the way are resolved, and where its links lead.
 */
static void
root_add(char *root, const char *path)
{
	char	 dir[PATH_MAX], real[PATH_MAX], abs[PATH_MAX], *base;

	strlcpy(dir, path, sizeof(dir));
	if ((base = strrchr(dir, '/')) != NULL) {
		*base++ = '\0';
		if (realpath(dir[0] ? dir : "/", real) != NULL &&
		    snprintf(abs, sizeof(abs), "%s/%s",
		    strcmp(real, "/") ? real : "", base) < (int)sizeof(abs))
			common_dir(root, abs);
	}
	if (realpath(path, real) != NULL)
		common_dir(root, real);
}

void
keypair_common_root(const struct config *conf, char *root, size_t len)
{
	const struct keypair	*kp;

	root[0] = '\0';
	TAILQ_FOREACH(kp, &conf->keypairs, entry) {
		if (kp->cert_path != NULL)
			root_add(root, kp->cert_path);
		if (kp->key_path != NULL)
			root_add(root, kp->key_path);
		if (kp->ocsp_path != NULL)
			root_add(root, kp->ocsp_path);
	}
	if (root[0] == '\0')
		strlcpy(root, "/", len);
}

static void
kp_error(const struct keypair *kp, const char *fmt, const char *arg,
    const char *why)
{
	char	 msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	log_warnx("%s:%d: keypair \"%s\": %s%s%s", kp->file, kp->line,
	    kp->name, msg, why ? ": " : "", why ? why : "");
}

/*
 * A private key that group or others can read has leaked already, and
 * one they can write is theirs: neither is served.
 */
static ssize_t
file_size(const struct keypair *kp, const char *path, int secret, int *fd)
{
	struct stat	 st;
	char		 real[PATH_MAX], why[PATH_MAX + 64];

	*fd = -1;
	if (path == NULL)
		return (0);
	if (keypair_resolve(path, real, sizeof(real), why, sizeof(why)) ==
	    -1) {
		kp_error(kp, "%s", path, why);
		return (-1);
	}
	if ((*fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
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
	if (secret &&
	    (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH))) {
		kp_error(kp, "%s", path, "key file readable or writable by "
		    "group or others");
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
	char		 real[PATH_MAX], why[PATH_MAX + 64];

	if (path == NULL)
		return (0);
	if (keypair_resolve(path, real, sizeof(real), why, sizeof(why)) ==
	    -1 || stat(real, &st) == -1)
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
		if ((len[i] = file_size(kp, paths[i], i == 1,
		    &fd[i])) == -1)
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

/* An encrypted key is an error to report, not a prompt on a terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return (-1);
}

/*
 * libtls says only that it failed to load the key when the key is of
 * another certificate, the commonest mistake of all (a renewal caught
 * half-way, a copy from the wrong directory): compare the public keys
 * to say so.  Neither key is ever printed.
 */
static int
keymem_match(const struct keypair *kp)
{
	const struct keymem	*m = kp->mem;
	BIO			*bio;
	X509			*x = NULL;
	EVP_PKEY		*pk = NULL;
	int			 same = 0;

	if ((bio = BIO_new_mem_buf(m->data, m->certlen)) != NULL) {
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if ((bio = BIO_new_mem_buf(m->data + m->certlen, m->keylen)) != NULL) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	if (x == NULL || pk == NULL) {
		if (pk == NULL)
			kp_error(kp, "%s: no private key that can be read "
			    "(PEM, not encrypted)", kp->key_path, NULL);
	} else {
#if defined(LIBRESSL_VERSION_NUMBER) || OPENSSL_VERSION_NUMBER < 0x30000000L
		same = EVP_PKEY_cmp(X509_get0_pubkey(x), pk) == 1;
#else
		same = EVP_PKEY_eq(X509_get0_pubkey(x), pk) == 1;
#endif
		if (!same)
			log_warnx("%s:%d: keypair \"%s\": the key %s does not "
			    "belong to the certificate %s", kp->file, kp->line,
			    kp->name, kp->key_path, kp->cert_path);
	}
	EVP_PKEY_free(pk);
	X509_free(x);
	return (same ? 0 : -1);
}

/*
 * Whether libtls takes the pair: a key that does not belong to the
 * certificate is refused.  Only the keys helper and sniproxyd -n get
 * here, and both hold the key anyway.
 */
static int
keymem_try(const struct keypair *kp)
{
	struct tls_config	*cfg;
	struct tls		*ctx = NULL;
	const struct keymem	*m = kp->mem;
	const char		*why = NULL;

	if ((cfg = tls_config_new()) == NULL || (ctx = tls_server()) == NULL)
		why = "out of memory";
	else if (tls_config_set_keypair_ocsp_mem(cfg, m->data, m->certlen,
	    m->data + m->certlen, m->keylen, m->ocsplen ?
	    m->data + m->certlen + m->keylen : NULL, m->ocsplen) == -1)
		why = tls_config_error(cfg);
	else if (tls_configure(ctx, cfg) == -1)
		why = tls_error(ctx);
	if (why != NULL)
		kp_error(kp, "%s", "cannot use", why);
	if (cfg != NULL)
		tls_config_clear_keys(cfg);
	tls_free(ctx);
	tls_config_free(cfg);
	return (why != NULL ? -1 : 0);
}

/* Loads a keypair's files and checks that they make a usable pair. */
int
keypair_load(struct keypair *kp)
{
	keypair_changed(kp);
	if ((kp->mem = keymem_read(kp)) == NULL)
		return (-1);
	if (cert_describe(kp) == -1 || keymem_match(kp) == -1 ||
	    keymem_try(kp) == -1) {
		keymem_free(kp->mem);
		kp->mem = NULL;
		return (-1);
	}
	return (0);
}

/* One line for a keypair loaded, and a warning when it expires soon. */
void
keypair_log(const struct keypair *kp, const char *what)
{
	time_t		 now = time(NULL), na = kp->notafter;
	struct tm	 tm;
	char		 date[32];

	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC",
	    gmtime_r(&na, &tm));
	log_info("keypair %s: %ssubject %s, names %s, not after %s", kp->name,
	    what, kp->subject, kp->sans[0] ? kp->sans : "-", date);
	if (kp->notafter < now)
		log_warnx("keypair %s: certificate has expired", kp->name);
	else if (kp->notafter - now < EXPIRY_WARN)
		log_warnx("keypair %s: certificate expires in %lld hours",
		    kp->name, (long long)(kp->notafter - now) / 3600);
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
	free(kp->refused);
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
