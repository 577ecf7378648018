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

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "suites.h"

/*
 * The ring as the two processes use it, both ends mapped here, and as a
 * broken putter would abuse it.
 */
static void
ring_pair(struct ring *taker, struct ring *putter, uint32_t n)
{
	int	 fd;

	ck_assert_int_eq(ring_create(taker, n, &fd), 0);
	ck_assert_int_eq(ring_attach(putter, fd, n), 0);
	close(fd);
}

START_TEST(test_ring_in_order_and_around)
{
	struct ring	 t, p;
	uint64_t	 got[8];
	uint64_t	 next = 1, want = 1;
	int		 round, i;

	ring_pair(&t, &p, 8);
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 5; i++)
			ck_assert_int_eq(ring_put(&p, next++), 0);
		ck_assert_int_eq(ring_take(&t, got, 8), 5);
		for (i = 0; i < 5; i++)
			ck_assert_uint_eq(got[i], want++);
	}
	ck_assert_int_eq(ring_take(&t, got, 8), 0);
	ring_free(&t);
	ring_free(&p);
}
END_TEST

/* Full, the putter is told so, and nothing already in is lost. */
START_TEST(test_ring_full)
{
	struct ring	 t, p;
	uint64_t	 got[8];
	int		 i;

	ring_pair(&t, &p, 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(ring_put(&p, 100 + i), 0);
	ck_assert_int_eq(ring_put(&p, 104), -1);
	ck_assert_int_eq(ring_take(&t, got, 2), 2);
	ck_assert_uint_eq(got[0], 100);
	ck_assert_int_eq(ring_put(&p, 104), 0);
	ck_assert_int_eq(ring_take(&t, got, 8), 3);
	ck_assert_uint_eq(got[0], 102);
	ck_assert_uint_eq(got[2], 104);
	ring_free(&t);
	ring_free(&p);
}
END_TEST

/*
 * A putter that claims more than the ring holds, or goes back, is
 * caught; and it cannot shrink the memory under the taker.
 */
START_TEST(test_ring_lying_putter)
{
	struct ring	 t;
	uint64_t	 got[8], *put;
	int		 fd;

	ck_assert_int_eq(ring_create(&t, 8, &fd), 0);
	put = (uint64_t *)(void *)t.sh;
	*put = 9;
	ck_assert_int_eq(ring_take(&t, got, 8), -1);
	*put = 8;
	ck_assert_int_eq(ring_take(&t, got, 8), 8);
	*put = 3;
	ck_assert_int_eq(ring_take(&t, got, 8), -1);
	ck_assert_int_eq(ftruncate(fd, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	close(fd);
	ring_free(&t);
}
END_TEST

/* The putter maps only what was sealed and large enough. */
START_TEST(test_ring_attach_checks)
{
	struct ring	 t, p;
	int		 fd, plain;

	ck_assert_int_eq(ring_create(&t, 8, &fd), 0);
	ck_assert_int_eq(ring_attach(&p, fd, 16), -1);
	ck_assert_int_eq(ring_attach(&p, fd, 6), -1);
	ck_assert_int_eq(ring_attach(&p, fd, 8), 0);
	ring_free(&p);
	ck_assert_int_ne(plain = memfd_create("plain", MFD_CLOEXEC), -1);
	ck_assert_int_eq(ftruncate(plain, 4096), 0);
	ck_assert_int_eq(ring_attach(&p, plain, 8), -1);
	close(plain);
	close(fd);
	ring_free(&t);
}
END_TEST

Suite *
ring_suite(void)
{
	Suite	*s = suite_create("ring");
	TCase	*tc = tcase_create("shared");

	tcase_add_test(tc, test_ring_in_order_and_around);
	tcase_add_test(tc, test_ring_full);
	tcase_add_test(tc, test_ring_lying_putter);
	tcase_add_test(tc, test_ring_attach_checks);
	suite_add_tcase(s, tc);
	return (s);
}
