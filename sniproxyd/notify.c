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

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

/*
 * The service manager's readiness protocol (systemd's sd_notify), for
 * Type=notify: a datagram of NAME=VALUE lines to the socket named by
 * $NOTIFY_SOCKET.  The socket is connected at start, before priv is
 * confined, and the variable goes so that children do not speak for
 * the daemon.  Without the variable nothing is sent.
 */
static int	 notify_fd = -1;

void
notify_init(void)
{
	struct sockaddr_un	 sun;
	const char		*path;
	size_t			 len;
	socklen_t		 sunlen;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET %s: not a socket path", path);
		goto done;
	}
	memcpy(sun.sun_path, path, len);
	/* An abstract socket: its name starts with a NUL, not an @. */
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	sunlen = offsetof(struct sockaddr_un, sun_path) + len;
	if ((notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) ==
	    -1 || connect(notify_fd, (struct sockaddr *)&sun, sunlen) == -1) {
		log_warn("NOTIFY_SOCKET %s", path);
		if (notify_fd != -1)
			close(notify_fd);
		notify_fd = -1;
	}
 done:
	unsetenv("NOTIFY_SOCKET");
}

static void
notify_send(const char *msg)
{
	if (notify_fd == -1)
		return;
	if (send(notify_fd, msg, strlen(msg), MSG_NOSIGNAL) == -1)
		log_warn("NOTIFY_SOCKET");
}

/* Every listener and every process of the generation is up. */
void
notify_ready(void)
{
	notify_send("READY=1\nSTATUS=running\n");
}

/* Newer managers want the time the reload began, to match it. */
void
notify_reloading(void)
{
	struct timespec	 ts;
	char		 msg[96];

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return;
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\n",
	    (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\n");
}
