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

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int		 log_debugging;
static int		 log_inits;
static int		 log_fd = STDERR_FILENO;
static int		 log_journal;	/* stderr is systemd's journal */
static char		*log_capbuf;	/* errors are copied here too */
static size_t		 log_caplen;
static int		 log_held;	/* captured errors are not logged */
static int		 log_verbosity;
static const char	*log_procname = "priv";

/*
 * Whether syslogd listens: openlog(3) says nothing when it does not, and
 * every message would then be lost without a word.
 */
static int
log_syslog_reachable(void)
{
	struct sockaddr_un	 sun;
	int			 fd, rv;

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, _PATH_LOG, sizeof(sun.sun_path));
	rv = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return (rv == 0);
}

/*
 * systemd names the stream it gives a service as stderr in
 * $JOURNAL_STREAM ("device:inode").  The journal keeps its own time and
 * takes the level from a "<N>" in front of the line, so that the line
 * itself is the message, as syslog would have it, and filters written
 * for syslog lines (fail2ban's) match it.
 */
static int
log_is_journal(void)
{
	struct stat		 st;
	const char		*js;
	unsigned long long	 dev, ino;

	if ((js = getenv("JOURNAL_STREAM")) == NULL ||
	    sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(log_fd, &st) == -1)
		return (0);
	return ((unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino);
}

/*
 * With debug set, messages go to stderr; otherwise to syslog, whose
 * socket is opened at once so that chrooted children keep it.  Without
 * syslog they go to the stderr sniproxyd was started with, kept on a
 * descriptor of its own since daemon(3) sends fd 2 to /dev/null.
 *
 * A second call is the daemon choosing where its log goes: its stderr
 * lines carry the time and the level from then on.  Before it, the
 * messages are a configuration check's, for a person at a terminal.
 */
void
log_init(int debug, int facility)
{
	int	 fd;

	log_inits++;
	log_debugging = debug;
	tzset();
	log_journal = log_is_journal();
	if (debug)
		return;
	if (log_syslog_reachable()) {
		openlog("sniproxyd", LOG_PID | LOG_NDELAY, facility);
		return;
	}
	log_debugging = 1;
	if (log_fd == STDERR_FILENO &&
	    (fd = fcntl(STDERR_FILENO, F_DUPFD, 3)) != -1)
		log_fd = fd;
	log_warnx("no syslog at %s: logging to stderr", _PATH_LOG);
}

void
log_procinit(const char *name)
{
	if (name != NULL)
		log_procname = name;
}

void
log_setverbose(int v)
{
	log_verbosity = v;
}

int
log_getverbose(void)
{
	return (log_verbosity);
}

/*
 * While set, every error logged is also kept in buf, one a line, so
 * that whoever asked for the work can be told what went wrong.
 */
void
log_capture(char *buf, size_t len)
{
	log_capbuf = buf;
	log_caplen = len;
	log_held = 0;
	if (buf != NULL && len > 0)
		buf[0] = '\0';
}

/*
 * As log_capture, but the errors go only to buf, for a caller that
 * decides whether they are news; log_capture(NULL, 0) ends it.
 */
void
log_hold(char *buf, size_t len)
{
	log_capture(buf, len);
	log_held = buf != NULL;
}

static void
log_capture_add(const char *fmt, va_list ap)
{
	size_t	 used = strlen(log_capbuf);

	if (used + 1 >= log_caplen)
		return;
	vsnprintf(log_capbuf + used, log_caplen - used, fmt, ap);
	strlcat(log_capbuf, "\n", log_caplen);
}

/*
 * One write(2) a line: the processes share stderr, and a line written
 * in two pieces could have another's in its middle.
 */
static const char *
log_level(int pri)
{
	switch (pri) {
	case LOG_CRIT:
		return ("fatal");
	case LOG_ERR:
		return ("error");
	case LOG_WARNING:
		return ("warning");
	case LOG_INFO:
		return ("info");
	default:
		return ("debug");
	}
}

static void
log_stderr(int pri, const char *fmt, va_list ap)
{
	char		 line[2048];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 off = 0;
	int		 n;

	if (log_inits > 1 && log_journal)
		off = snprintf(line, sizeof(line), "<%d>", pri);
	else if (log_inits > 1 && clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    localtime_r(&ts.tv_sec, &tm) != NULL) {
		off = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
		off += snprintf(line + off, sizeof(line) - off, ".%03ld %s ",
		    ts.tv_nsec / 1000000, log_level(pri));
	}
	n = vsnprintf(line + off, sizeof(line) - off - 1, fmt, ap);
	if (n < 0)
		return;
	n += off;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)write(log_fd, line, n);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	int	 saved_errno = errno;
	va_list	 aq;

	if (log_capbuf != NULL && pri <= LOG_WARNING) {
		va_copy(aq, ap);
		log_capture_add(fmt, aq);
		va_end(aq);
		if (log_held) {
			errno = saved_errno;
			return;
		}
	}

	if (log_debugging)
		log_stderr(pri, fmt, ap);
	else
		vsyslog(pri, fmt, ap);
	errno = saved_errno;
}

static void
logit(int pri, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

static void
vlog_errno(int pri, const char *emsg, va_list ap)
{
	char	 buf[1024];
	int	 saved_errno = errno;

	if (emsg == NULL)
		logit(pri, "%s", strerror(saved_errno));
	else {
		vsnprintf(buf, sizeof(buf), emsg, ap);
		logit(pri, "%s: %s", buf, strerror(saved_errno));
	}
	errno = saved_errno;
}

void
log_warn(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog_errno(LOG_ERR, emsg, ap);
	va_end(ap);
}

void
log_warnx(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_ERR, emsg, ap);
	va_end(ap);
}

void
log_info(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_INFO, emsg, ap);
	va_end(ap);
}

void
log_debug(const char *emsg, ...)
{
	va_list	 ap;

	if (log_verbosity < 1)
		return;
	va_start(ap, emsg);
	vlog(LOG_DEBUG, emsg, ap);
	va_end(ap);
}

static void
vfatalc(int code, const char *emsg, va_list ap)
{
	char	 buf[1024];

	if (emsg != NULL)
		vsnprintf(buf, sizeof(buf), emsg, ap);
	else
		buf[0] = '\0';
	if (code)
		logit(LOG_CRIT, "%s: fatal: %s%s%s", log_procname, buf,
		    buf[0] ? ": " : "", strerror(code));
	else
		logit(LOG_CRIT, "%s: fatal: %s", log_procname, buf);
}

void
fatal(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vfatalc(errno, emsg, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vfatalc(0, emsg, ap);
	va_end(ap);
	exit(1);
}
