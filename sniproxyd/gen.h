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

#ifndef GEN_H
#define GEN_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct event_base;
struct evbuffer;
struct proc_user;
struct sock_filter;

/* How priv starts its children: set once at start. */
struct gen_env {
	struct event_base	*base;
	const char		*binary;	/* exec'd for every child */
	const struct proc_user	*user;
	int			 debug;
};

void	 gen_init(const struct gen_env *);
int	 gen_begin(struct config *, uint8_t *, size_t, char *, size_t);
int	 gen_quitting(void);
void	 gen_quit(int);
void	 gen_reaped(void);
int	 gen_broadcast(uint16_t, uint64_t, const void *, size_t);
void	 gen_summary(struct evbuffer *);
void	 gen_hosts(struct evbuffer *);
int	 gen_host_admin(const char *, const char *, int, int,
	    struct evbuffer *, char *, size_t);
void	 gen_certificates(struct evbuffer *);
struct config *gen_config(void);
unsigned int gen_id(void);

/* listener.c */
#define STEER_PROG_MAX	8	/* instructions */
size_t	 listener_steer_prog(struct sock_filter *, int, unsigned int);
int	 listeners_take(struct config *, struct config *);
void	 listeners_give_back(struct config *, struct config *);
void	 listeners_close(struct config *);

#endif /* GEN_H */
