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
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connlimit.h"
#include "sniproxyd.h"
#include "suites.h"

/*
 * maxconn over two accept processes: each keeps to half alone, and to
 * the whole with the table they share, whatever the other's row says.
 */
static struct config	 conf;
static struct ruleset	 rs;

static void
limits_setup(void)
{
	memset(&conf, 0, sizeof(conf));
	memset(&rs, 0, sizeof(rs));
	TAILQ_INIT(&conf.rulesets);
	TAILQ_INSERT_TAIL(&conf.rulesets, &rs, entry);
	conf.nrulesets = 1;
	conf.naccept = 2;
	conf.maxconn = 4;
	ck_assert_int_eq(limits_init(&conf), 0);
}

/* How many are admitted before the first refusal, at most 10. */
static int
admit_all(struct limit_ref *refs)
{
	int	 n;

	for (n = 0; n < 10; n++)
		if (limits_admit(&refs[n], &rs, NULL) != NULL)
			break;
	return (n);
}

START_TEST(test_limits_share_alone)
{
	struct limit_ref	 refs[10];

	limits_setup();
	ck_assert_int_eq(admit_all(refs), 2);
	ck_assert_str_eq(limits_admit(&refs[2], &rs, NULL), "maxconn");
}
END_TEST

START_TEST(test_limits_table)
{
	struct limit_ref	 refs[10];
	uint64_t		*rows, *other;
	size_t			 stride;

	limits_setup();
	ck_assert_ptr_nonnull(rows = calloc(1, limits_table_size(&conf)));
	stride = limits_table_size(&conf) / sizeof(*rows) / conf.naccept;
	other = rows + stride;
	ck_assert_int_eq(limits_table(rows, 2), -1);
	ck_assert_int_eq(limits_table(rows, 0), 0);
	/* One address may take every place. */
	ck_assert_int_eq(admit_all(refs), 4);
	ck_assert_uint_eq(rows[0], 4);
	limits_release(&refs[3]);
	limits_release(&refs[2]);
	ck_assert_uint_eq(rows[0], 2);
	/* The other process holds one: one place is left here. */
	*other = 1;
	ck_assert_int_eq(admit_all(refs + 2), 1);
	/* A row that lies only makes this one refuse. */
	*other = UINT64_MAX;
	ck_assert_int_eq(admit_all(refs + 3), 0);
	*other = 0;
	ck_assert_int_eq(admit_all(refs + 3), 1);
	ck_assert_uint_eq(rows[0], 4);
	free(rows);
}
END_TEST

Suite *
limits_suite(void)
{
	Suite	*s = suite_create("limits");
	TCase	*tc = tcase_create("shared");

	tcase_add_test(tc, test_limits_share_alone);
	tcase_add_test(tc, test_limits_table);
	suite_add_tcase(s, tc);
	return (s);
}
