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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "sandbox.h"
#include "suites.h"

/*
 * A channel as a broken or compromised peer would use it: what it must
 * not send ends the channel, and no descriptor it sent is left open.
 */
static struct {
	int	 msgs;
	int	 dead;
	int	 broken;
	int	 fd;
	int	 lost;
} got;

static void
record(struct chan *c, struct chan_msg *m, void *arg)
{
	(void)arg;
	if (m == NULL) {
		got.dead = 1;
		got.broken = chan_broken(c);
		chan_free(c);
		return;
	}
	got.msgs++;
	got.fd = m->fd;
	got.lost = m->fd_lost;
}

/* Sends a header and the descriptors fds by hand, as a peer could. */
static void
raw_send(int sock, uint16_t version, const int *fds, int nfds)
{
	struct chan_hdr	 hdr;
	struct msghdr	 mh;
	struct iovec	 iov;
	char		 cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct cmsghdr	*cmsg;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = 1;
	hdr.version = version;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &hdr;
	iov.iov_len = sizeof(hdr);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
	}
	ck_assert_int_eq(sendmsg(sock, &mh, 0), (ssize_t)sizeof(hdr));
}

/* How many descriptors this process has open. */
static int
open_fds(void)
{
	int	 fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return (n);
}

static void
run_one(uint16_t version, int nfds)
{
	struct event_base	*base;
	int			 sv[2], p[2], fds[2], before;

	memset(&got, 0, sizeof(got));
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_int_eq(chan_pair(sv), 0);
	ck_assert_int_eq(pipe(p), 0);
	fds[0] = p[0];
	fds[1] = p[1];
	ck_assert_ptr_nonnull(chan_new(base, sv[0], 7, record, NULL));
	raw_send(sv[1], version, fds, nfds);
	close(p[0]);
	close(p[1]);
	before = open_fds();
	ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	if (got.msgs == 1 && got.fd != -1)
		close(got.fd);
	/* No copy is left open; a dead channel has closed its socket. */
	ck_assert_int_eq(open_fds(), before - (got.dead ? 1 : 0));
	close(sv[1]);
	while (!got.dead)
		event_base_loop(base, EVLOOP_ONCE);
	event_base_free(base);
}

START_TEST(test_one_fd)
{
	run_one(7, 1);
	ck_assert_int_eq(got.msgs, 1);
	/* It went because the peer closed, which is no fault. */
	ck_assert_int_eq(got.broken, 0);
}
END_TEST

START_TEST(test_two_fds_end_the_channel)
{
	run_one(7, 2);
	ck_assert_int_eq(got.msgs, 0);
	ck_assert_int_eq(got.dead, 1);
	ck_assert_int_eq(got.broken, 1);
}
END_TEST

START_TEST(test_other_version_ends_the_channel)
{
	run_one(6, 1);
	ck_assert_int_eq(got.msgs, 0);
	ck_assert_int_eq(got.dead, 1);
	ck_assert_int_eq(got.broken, 1);
}
END_TEST

/*
 * With no descriptor free the kernel drops the one passed: the message
 * still comes, flagged, and the channel goes on.
 */
START_TEST(test_no_room_loses_the_fd_not_the_message)
{
	struct event_base	*base;
	struct rlimit		 rl, low;
	int			 sv[2], p[2], fill[1024], nfill = 0;
	int			 fd, top = 0;

	memset(&got, 0, sizeof(got));
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_int_eq(chan_pair(sv), 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_ptr_nonnull(chan_new(base, sv[0], 7, record, NULL));
	raw_send(sv[1], 7, p, 1);
	close(p[0]);
	close(p[1]);
	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			top = fd;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = top + 1;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (nfill < 1024 && (fd = dup(sv[1])) != -1)
		fill[nfill++] = fd;
	ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	while (nfill > 0)
		close(fill[--nfill]);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_eq(got.msgs, 1);
	ck_assert_int_eq(got.fd, -1);
	ck_assert_int_eq(got.lost, 1);
	ck_assert_int_eq(got.dead, 0);
	close(sv[1]);
	while (!got.dead)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(got.broken, 0);
	event_base_free(base);
}
END_TEST

/* What a batching receiver got, in order. */
static struct {
	int		 n;
	uint64_t	 ids[64];
	int		 fds[64];
} batch;

static void
batch_record(struct chan *c, struct chan_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	if (m == NULL || batch.n == 64)
		return;
	batch.ids[batch.n] = m->hdr.id;
	batch.fds[batch.n++] = m->fd;
}

/*
 * Sent in one pass of the loop, messages wait for its end and go
 * together; they come out in order, each with its own descriptor.
 */
START_TEST(test_batch_goes_at_the_end_of_the_pass)
{
	struct event_base	*base;
	struct chan		*tx, *rx;
	struct stat		 st;
	int			 sv[2], p[2], i, n = 20, left;
	char			 b;

	memset(&batch, 0, sizeof(batch));
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_int_eq(chan_pair(sv), 0);
	ck_assert_ptr_nonnull(tx = chan_new(base, sv[0], 7, NULL, NULL));
	ck_assert_int_eq(chan_batch(tx, CHAN_BATCH_SEND), 0);
	ck_assert_int_eq(pipe(p), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(chan_send(tx, 1, i, dup(i % 2 ? p[0] : p[1]),
		    &i, sizeof(i)), 0);
	/* Nothing has gone yet. */
	ck_assert_int_eq(recv(sv[1], &b, 1, MSG_PEEK | MSG_DONTWAIT), -1);
	ck_assert_uint_eq(chan_queued(tx), n);
	ck_assert_ptr_nonnull(rx = chan_new(base, sv[1], 7, batch_record,
	    NULL));
	ck_assert_int_eq(chan_batch(rx, CHAN_BATCH_READ), 0);
	for (left = 10; batch.n < n && left > 0; left--)
		ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(batch.n, n);
	ck_assert_uint_eq(chan_queued(tx), 0);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(batch.ids[i], (uint64_t)i);
		ck_assert_int_eq(fstat(batch.fds[i], &st), 0);
		ck_assert(S_ISFIFO(st.st_mode));
		close(batch.fds[i]);
	}
	close(p[0]);
	close(p[1]);
	chan_free(tx);
	chan_free(rx);
	event_base_free(base);
}
END_TEST

/*
 * Read together, the messages before a bad one are handled; the bad
 * one ends the channel, and the descriptors after it are closed.
 */
START_TEST(test_batch_read_stops_at_a_bad_message)
{
	struct event_base	*base;
	struct chan		*rx;
	int			 sv[2], p[2], before;

	memset(&got, 0, sizeof(got));
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_int_eq(chan_pair(sv), 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_ptr_nonnull(rx = chan_new(base, sv[0], 7, record, NULL));
	ck_assert_int_eq(chan_batch(rx, CHAN_BATCH_READ), 0);
	raw_send(sv[1], 7, p, 1);
	raw_send(sv[1], 6, p, 1);
	raw_send(sv[1], 7, p + 1, 1);
	close(p[0]);
	close(p[1]);
	before = open_fds();
	ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(got.msgs, 1);
	ck_assert_int_eq(got.dead, 1);
	ck_assert_int_eq(got.broken, 1);
	close(got.fd);
	/* The channel's socket went with it, and nothing else is open. */
	ck_assert_int_eq(open_fds(), before - 1);
	close(sv[1]);
	event_base_free(base);
}
END_TEST

static int	 undelivered;

static void
count_undelivered(struct chan *c, struct chan_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	ck_assert_int_eq(m->fd, -1);
	ck_assert_int_eq(errno, ETOOMANYREFS);
	undelivered++;
}

/*
 * Past the descriptor limit, descriptors in flight are refused: each
 * such message is handed back, and the channel goes on.  Root is let
 * past the limit, so the capabilities go first (this test runs in a
 * process of its own).
 */
START_TEST(test_batch_refused_goes_on)
{
	struct event_base	*base;
	struct chan		*tx, *rx;
	struct rlimit		 rl, low;
	int			 sv[2], p[2], i, n = 24, left;

	memset(&batch, 0, sizeof(batch));
	undelivered = 0;
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_int_eq(chan_pair(sv), 0);
	ck_assert_ptr_nonnull(tx = chan_new(base, sv[0], 7, NULL, NULL));
	ck_assert_int_eq(chan_batch(tx, CHAN_BATCH_SEND), 0);
	chan_set_undelivered(tx, count_undelivered);
	ck_assert_int_eq(pipe(p), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(chan_send(tx, 1, i, dup(p[0]), NULL, 0), 0);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(sandbox_caps_narrow(NULL, 0), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = 8;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_gt(undelivered, 0);
	ck_assert_uint_eq(chan_queued(tx), 0);
	ck_assert_int_eq(chan_broken(tx), 0);
	ck_assert_ptr_nonnull(rx = chan_new(base, sv[1], 7, batch_record,
	    NULL));
	ck_assert_int_eq(chan_batch(rx, CHAN_BATCH_READ), 0);
	for (left = 10; batch.n < n - undelivered && left > 0; left--)
		ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(batch.n, n - undelivered);
	for (i = 0; i < batch.n; i++)
		close(batch.fds[i]);
	/* Once the peer has read, the next goes through. */
	ck_assert_int_eq(chan_send(tx, 1, n, -1, NULL, 0), 0);
	for (left = 10; batch.n < n - undelivered + 1 && left > 0; left--)
		ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	ck_assert_uint_eq(batch.ids[batch.n - 1], (uint64_t)n);
	chan_free(tx);
	chan_free(rx);
	event_base_free(base);
}
END_TEST

Suite *
chan_suite(void)
{
	Suite	*s = suite_create("chan");
	TCase	*tc = tcase_create("peer");

	tcase_add_test(tc, test_one_fd);
	tcase_add_test(tc, test_two_fds_end_the_channel);
	tcase_add_test(tc, test_other_version_ends_the_channel);
	tcase_add_test(tc, test_no_room_loses_the_fd_not_the_message);
	tcase_add_test(tc, test_batch_goes_at_the_end_of_the_pass);
	tcase_add_test(tc, test_batch_read_stops_at_a_bad_message);
	tcase_add_test(tc, test_batch_refused_goes_on);
	suite_add_tcase(s, tc);
	return (s);
}
