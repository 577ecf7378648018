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

#ifndef CONTROL_H
#define CONTROL_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct event_base;

struct ctl_totals {
	uint64_t	 active;
	uint64_t	 total;
	uint64_t	 refused;
	uint64_t	 held;		/* against the limits, in accept */
};

/* What the control socket needs from priv. */
struct ctl_ops {
	int	(*reload)(char *, size_t);
	int	(*ask)(uint64_t);	/* returns how many will answer */
	void	(*summary)(struct evbuffer *);
	void	(*hosts)(struct evbuffer *);
	int	(*host)(const char *, const char *, int, int,
		    struct evbuffer *, char *, size_t);
	void	(*certificates)(struct evbuffer *);
	void	(*verbose)(int);
};

int	control_init(struct event_base *, const char *,
	    const struct ctl_ops *);
void	control_retired(const void *, size_t, const char *);
void	control_gone(uint64_t);
void	control_stats(uint64_t, int, const void *, size_t, const char *);

#endif /* CONTROL_H */
