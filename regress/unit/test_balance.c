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

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "msg.h"
#include "sniproxyd.h"
#include "suites.h"

static struct host	 hosts[4];
static struct table	 tab;
static struct balance	 bal;

static void
setup(void)
{
	size_t	 i;

	memset(hosts, 0, sizeof(hosts));
	memset(&tab, 0, sizeof(tab));
	for (i = 0; i < 4; i++)
		hosts[i].weight = 1;
	tab.hosts = hosts;
	tab.nhosts = 3;
	ck_assert_int_eq(balance_init(&bal, &tab), 0);
}

static void
teardown(void)
{
	free(bal.up);
	free(bal.admin);
	free(bal.weight);
	free(bal.active);
	free(bal.total);
	free(bal.current);
}

static struct sockaddr_in
v4(const char *a)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, a, &sin.sin_addr);
	return (sin);
}

static void
count(enum balance_mode mode, int n, int *hits)
{
	struct sockaddr_in	 c = v4("127.0.0.1");
	uint16_t		 order[BALANCE_MAX];
	int			 i;

	memset(hits, 0, 4 * sizeof(*hits));
	for (i = 0; i < n; i++) {
		ck_assert_uint_gt(balance_order(&bal, &tab, mode,
		    (struct sockaddr *)&c, order), 0);
		hits[order[0]]++;
	}
}

START_TEST(test_roundrobin_weights)
{
	int	 hits[4];

	count(MODE_ROUNDROBIN, 999, hits);
	ck_assert_int_eq(hits[0], 333);
	ck_assert_int_eq(hits[1], 333);
	ck_assert_int_eq(hits[2], 333);
	/* The worker's weights count, which sniproxyctl may change. */
	bal.weight[1] = 3;
	count(MODE_ROUNDROBIN, 1000, hits);
	ck_assert_int_eq(hits[0], 200);
	ck_assert_int_eq(hits[1], 600);
	ck_assert_int_eq(hits[2], 200);
}
END_TEST

START_TEST(test_down_and_backup)
{
	struct sockaddr_in	 c = v4("127.0.0.1");
	uint16_t		 order[BALANCE_MAX];
	size_t			 n;
	int			 hits[4];

	hosts[2].backup = 1;
	count(MODE_ROUNDROBIN, 100, hits);
	ck_assert_int_eq(hits[2], 0);
	bal.up[0] = 0;
	count(MODE_ROUNDROBIN, 100, hits);
	ck_assert_int_eq(hits[1], 100);
	/* The order still ends with the backup, for when 1 refuses. */
	n = balance_order(&bal, &tab, MODE_ROUNDROBIN, (struct sockaddr *)&c,
	    order);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(order[1], 2);
	bal.up[1] = 0;
	count(MODE_ROUNDROBIN, 10, hits);
	ck_assert_int_eq(hits[2], 10);
	bal.up[2] = 0;
	ck_assert_uint_eq(balance_order(&bal, &tab, MODE_ROUNDROBIN,
	    (struct sockaddr *)&c, order), 0);
}
END_TEST

START_TEST(test_failover_order)
{
	struct sockaddr_in	 c = v4("127.0.0.1");
	uint16_t		 order[BALANCE_MAX];
	int			 hits[4];

	count(MODE_FAILOVER, 50, hits);
	ck_assert_int_eq(hits[0], 50);
	bal.up[0] = 0;
	count(MODE_FAILOVER, 50, hits);
	ck_assert_int_eq(hits[1], 50);
	bal.up[0] = 1;
	ck_assert_uint_eq(balance_order(&bal, &tab, MODE_FAILOVER,
	    (struct sockaddr *)&c, order), 3);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 1);
	ck_assert_int_eq(order[2], 2);
}
END_TEST

START_TEST(test_sourcehash_stable)
{
	struct sockaddr_in	 c;
	uint16_t		 order[BALANCE_MAX];
	char			 a[32];
	int			 i, first[64], hits[3] = { 0, 0, 0 };

	for (i = 0; i < 64; i++) {
		snprintf(a, sizeof(a), "127.0.0.%d", i + 1);
		c = v4(a);
		balance_order(&bal, &tab, MODE_SOURCEHASH,
		    (struct sockaddr *)&c, order);
		first[i] = order[0];
		hits[order[0]]++;
	}
	/* Same address, same server, whatever came in between. */
	for (i = 63; i >= 0; i--) {
		snprintf(a, sizeof(a), "127.0.0.%d", i + 1);
		c = v4(a);
		balance_order(&bal, &tab, MODE_SOURCEHASH,
		    (struct sockaddr *)&c, order);
		ck_assert_int_eq(order[0], first[i]);
	}
	for (i = 0; i < 3; i++)
		ck_assert_int_gt(hits[i], 5);
}
END_TEST

START_TEST(test_leastconn)
{
	int	 hits[4];

	bal.active[0] = 5;
	bal.active[1] = 1;
	bal.active[2] = 3;
	count(MODE_LEASTCONN, 10, hits);
	ck_assert_int_eq(hits[1], 10);
	bal.weight[2] = 4;
	count(MODE_LEASTCONN, 10, hits);
	ck_assert_int_eq(hits[2], 10);
}
END_TEST

START_TEST(test_disable_and_drain)
{
	struct sockaddr_in	 c = v4("127.0.0.1");
	uint16_t		 order[BALANCE_MAX];
	int			 hits[4], mode;

	hosts[2].backup = 1;
	for (mode = MODE_ROUNDROBIN; mode <= MODE_FAILOVER; mode++) {
		bal.admin[0] = HOST_DISABLED;
		bal.admin[1] = HOST_DRAINING;
		bal.admin[2] = HOST_ENABLED;
		/* Neither is tried while the backup is there. */
		ck_assert_uint_eq(balance_order(&bal, &tab, mode,
		    (struct sockaddr *)&c, order), 1);
		ck_assert_int_eq(order[0], 2);
		/* The draining server is the last resort, not the disabled. */
		bal.up[2] = 0;
		ck_assert_uint_eq(balance_order(&bal, &tab, mode,
		    (struct sockaddr *)&c, order), 1);
		ck_assert_int_eq(order[0], 1);
		bal.admin[1] = HOST_DISABLED;
		ck_assert_uint_eq(balance_order(&bal, &tab, mode,
		    (struct sockaddr *)&c, order), 0);
		bal.admin[0] = bal.admin[1] = HOST_ENABLED;
		bal.up[2] = 1;
		count(mode, 10, hits);
		ck_assert_int_eq(hits[2], 0);
	}
}
END_TEST

Suite *
balance_suite(void)
{
	Suite	*s = suite_create("balance");
	TCase	*tc = tcase_create("modes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roundrobin_weights);
	tcase_add_test(tc, test_down_and_backup);
	tcase_add_test(tc, test_failover_order);
	tcase_add_test(tc, test_sourcehash_stable);
	tcase_add_test(tc, test_leastconn);
	tcase_add_test(tc, test_disable_and_drain);
	suite_add_tcase(s, tc);
	return (s);
}
