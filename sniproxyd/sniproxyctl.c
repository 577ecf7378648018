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
#include <sys/un.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SNIPROXYD_SOCKET	"/var/run/sniproxyd.sock"
#define SNIPROXYD_CONF		"/etc/sniproxyd.conf"
#define REPLY_MAX		(1024 * 1024)
/* Seconds for the whole exchange, so that a hung daemon cannot hang us. */
#define REPLY_TIMEOUT		10

/* The words of each command; ARG stands for one the user chooses. */
#define ARG			""
#define COMMAND_WORDS		5

static const struct command {
	const char	*words[COMMAND_WORDS];
} commands[] = {
	{ { "reload" } },
	{ { "show", "summary" } },
	{ { "show", "routes" } },
	{ { "show", "connections" } },
	{ { "show", "hosts" } },
	{ { "show", "certificates" } },
	{ { "log", "verbose" } },
	{ { "log", "brief" } },
	{ { "host", "disable", ARG, ARG } },
	{ { "host", "enable", ARG, ARG } },
	{ { "host", "drain", ARG, ARG } },
	{ { "table", ARG, "weight", ARG, ARG } },
};

static void	usage(void) __attribute__((__noreturn__));
static char	*conf_socket(const char *, int);
static const struct command *lookup(int, char **);
static int	remaining(const struct timespec *);
static void	waitfor(int, short, const struct timespec *, const char *);
static void	sendline(int, const char *, const struct timespec *,
		    const char *);
static char	*readreply(int, size_t *, const struct timespec *,
		    const char *);
static void	sanitize(char *, size_t);
static void	output(FILE *, const char *);

/*
 * The control socket the configuration sets, found by a scan of its
 * lines rather than by its parser, which would pull in the whole daemon:
 * the last top-level "control socket PATH", the path quoted or not.
 * NULL when the file sets none, or is missing and was not asked for.
 */
static char *
conf_socket(const char *file, int asked)
{
	FILE	*fp;
	char	*line = NULL, *p, *end, *found = NULL;
	size_t	 size = 0;

	if ((fp = fopen(file, "r")) == NULL) {
		if (asked)
			err(1, "%s", file);
		return (NULL);
	}
	while (getline(&line, &size, fp) != -1) {
		p = line + strspn(line, " \t");
		if (strncmp(p, "control", 7) != 0 || !strchr(" \t", p[7]))
			continue;
		p += 7 + strspn(p + 7, " \t");
		if (strncmp(p, "socket", 6) != 0 || !strchr(" \t", p[6]))
			continue;
		p += 6 + strspn(p + 6, " \t");
		if (*p == '"') {
			if ((end = strchr(++p, '"')) == NULL)
				continue;
		} else
			end = p + strcspn(p, " \t\n#");
		if (end == p)
			continue;
		free(found);
		if ((found = strndup(p, end - p)) == NULL)
			err(1, "strndup");
	}
	if (ferror(fp))
		err(1, "%s", file);
	free(line);
	fclose(fp);
	return (found);
}

static void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-f file] [-s socket] command "
	    "[argument ...]\n"
	    "commands: reload, show summary, show routes, show connections,\n"
	    "          show hosts, show certificates, log verbose, log brief,\n"
	    "          host disable|enable|drain table host[:port],\n"
	    "          table table weight host[:port] n\n",
	    __progname);
	exit(1);
}

/*
 * The daemon reads one line of words separated by spaces: an argument
 * must be a word of printable characters.
 */
static int
matches(const struct command *cmd, int argc, char **argv)
{
	const char	*s;
	int		 i;

	if (argc > COMMAND_WORDS || (argc < COMMAND_WORDS &&
	    cmd->words[argc] != NULL))
		return (0);
	for (i = 0; i < argc; i++) {
		if (cmd->words[i] == NULL)
			return (0);
		if (*cmd->words[i] != '\0') {
			if (strcmp(argv[i], cmd->words[i]) != 0)
				return (0);
			continue;
		}
		if (*argv[i] == '\0')
			return (0);
		for (s = argv[i]; *s != '\0'; s++)
			if (!isgraph((unsigned char)*s))
				return (0);
	}
	return (1);
}

static const struct command *
lookup(int argc, char **argv)
{
	size_t	 i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (matches(&commands[i], argc, argv))
			return (&commands[i]);
	return (NULL);
}

/* Milliseconds left before the deadline, for poll(2). */
static int
remaining(const struct timespec *deadline)
{
	struct timespec	 now;
	long long	 ms;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		err(1, "clock_gettime");
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return (ms > 0 ? (int)ms : 0);
}

static void
waitfor(int fd, short events, const struct timespec *deadline,
    const char *sock)
{
	struct pollfd	 pfd;
	int		 n;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		n = poll(&pfd, 1, remaining(deadline));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (n == 0)
			errx(1, "%s: no reply within %d seconds", sock,
			    REPLY_TIMEOUT);
		return;
	}
}

static void
sendline(int fd, const char *line, const struct timespec *deadline,
    const char *sock)
{
	size_t	 len = strlen(line);
	ssize_t	 n;

	while (len > 0) {
		waitfor(fd, POLLOUT, deadline, sock);
		/* A daemon that hangs up early must not kill us by SIGPIPE. */
		n = send(fd, line, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err(1, "%s", sock);
		}
		line += n;
		len -= n;
	}
}

static char *
readreply(int fd, size_t *lenp, const struct timespec *deadline,
    const char *sock)
{
	char	*buf;
	size_t	 len = 0;
	ssize_t	 n;

	/* One byte more than allowed, to tell a full reply from a long one. */
	if ((buf = malloc(REPLY_MAX + 1)) == NULL)
		err(1, NULL);
	for (;;) {
		waitfor(fd, POLLIN, deadline, sock);
		n = read(fd, buf + len, REPLY_MAX + 1 - len);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err(1, "%s", sock);
		}
		if (n == 0)
			break;
		len += n;
		if (len > REPLY_MAX)
			errx(1, "%s: reply longer than %d bytes", sock,
			    REPLY_MAX);
	}
	buf[len] = '\0';
	*lenp = len;
	return (buf);
}

/*
 * The reply carries names taken from clients and certificates; their
 * control characters must not reach the terminal.
 */
static void
sanitize(char *s, size_t len)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			s[i] = '?';
	}
}

static void
output(FILE *fp, const char *s)
{
	size_t	 len = strlen(s);

	if (len == 0)
		return;
	fputs(s, fp);
	if (s[len - 1] != '\n')
		putc('\n', fp);
}

int
main(int argc, char *argv[])
{
	const char		*sock = NULL, *conffile = SNIPROXYD_CONF;
	struct sockaddr_un	 sun;
	struct timespec		 deadline;
	char			 line[256];
	char			*reply, *rest, *msg;
	size_t			 len;
	int			 ch, fd, fflag = 0, i;

	while ((ch = getopt(argc, argv, "f:s:")) != -1) {
		switch (ch) {
		case 'f':
			conffile = optarg;
			fflag = 1;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || lookup(argc, argv) == NULL)
		usage();
	if (sock == NULL && (sock = conf_socket(conffile, fflag)) == NULL)
		sock = SNIPROXYD_SOCKET;

#ifdef __OpenBSD__
	if (pledge("stdio unix", NULL) == -1)
		err(1, "pledge");
#endif

	line[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strlcat(line, " ", sizeof(line));
		strlcat(line, argv[i], sizeof(line));
	}
	if (strlcat(line, "\n", sizeof(line)) >= sizeof(line))
		errx(1, "command too long");

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sun.sun_path))
		errx(1, "%s: %s", sock, strerror(ENAMETOOLONG));
	memcpy(sun.sun_path, sock, strlen(sock));

	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "%s", sock);

	if (clock_gettime(CLOCK_MONOTONIC, &deadline) == -1)
		err(1, "clock_gettime");
	deadline.tv_sec += REPLY_TIMEOUT;
	sendline(fd, line, &deadline, sock);
	reply = readreply(fd, &len, &deadline, sock);
	close(fd);
	if (len == 0)
		errx(1, "%s: empty reply", sock);
	sanitize(reply, len);

	rest = reply + strcspn(reply, "\n");
	if (*rest != '\0')
		*rest++ = '\0';

	if (strcmp(reply, "ok") == 0) {
		output(stdout, rest);
		if (fflush(stdout) == EOF)
			err(1, "stdout");
		return (0);
	}
	if (strncmp(reply, "error:", 6) == 0) {
		msg = reply + 6;
		msg += strspn(msg, " ");
		warnx("%s", *msg != '\0' ? msg : "unspecified error");
		output(stderr, rest);
		return (1);
	}
	errx(1, "%s: unexpected reply", sock);
}
