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

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int		 log_debugging;
static char		*log_capbuf;	/* errors are copied here too */
static size_t		 log_caplen;
static int		 log_verbosity;
static const char	*log_procname = "priv";

/*
 * With debug set, messages go to stderr; otherwise to syslog, whose
 * socket is opened at once so that chrooted children keep it.
 */
void
log_init(int debug, int facility)
{
	log_debugging = debug;
	if (!debug)
		openlog("sniproxyd", LOG_PID | LOG_NDELAY, facility);
	tzset();
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
	if (buf != NULL && len > 0)
		buf[0] = '\0';
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
static void
log_stderr(const char *fmt, va_list ap)
{
	char	 line[2048];
	int	 n;

	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)write(STDERR_FILENO, line, n);
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
	}

	if (log_debugging)
		log_stderr(fmt, ap);
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
