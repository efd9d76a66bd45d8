#include "core/compat.h"
#include "core/shard.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

static void test_fnv1a64_vectors(void **state)
{
	/* the reference vectors of the FNV authors */
	assert_true(fnv1a64("", 0) == UINT64_C(0xcbf29ce484222325));
	assert_true(fnv1a64("a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
	assert_true(fnv1a64("foobar", 6) == UINT64_C(0x85944171f73967e8));
}

/* Pinned: a change here moves accounts between machines (docs/scale.md). */
static void test_shard_of_is_stable(void **state)
{
	assert_true(fnv1a64("111111111111", 12) == UINT64_C(1201439763109306017));
	assert_int_equal(shard_of("111111111111", 1), 0);
	assert_int_equal(shard_of("111111111111", 3), 0);
	assert_int_equal(shard_of("111111111111", 7),
			 (unsigned)(UINT64_C(1201439763109306017) % 7));
	/* the same answer however often and in whatever order it is asked */
	assert_int_equal(shard_of("200000000042", 5), shard_of("200000000042", 5));
}

static void test_shards_are_balanced_and_disjoint(void **state)
{
	static const unsigned ns[] = { 2, 3, 7, 10, 16 };
	size_t t;

	for (t = 0; t < ARRAY_SIZE(ns); t++) {
		unsigned n = ns[t], counts[16] = { 0 }, i, k;
		for (i = 1; i <= 10000; i++) {
			char id[16];
			unsigned owners = 0;
			snprintf(id, sizeof(id), "%012u", 200000000u + i * 7919u);
			for (k = 0; k < n; k++) {
				struct shard s = { k, n };
				owners += (unsigned)shard_keeps(&s, id);
			}
			assert_int_equal(owners, 1); /* exactly one shard keeps each account */
			counts[shard_of(id, n)]++;
		}
		for (k = 0; k < n; k++) {
			/* within 10% of an even split */
			assert_true(counts[k] * 10 * n >= 9u * 10000);
			assert_true(counts[k] * 10 * n <= 11u * 10000);
		}
	}
}

static void test_shard_parse(void **state)
{
	struct shard s;
	struct strbuf err = STRBUF_INIT;
	static const char *const bad[] = { "",	       "1",	      "/",    "0/",   "/3",
					   "3/3",      "4/3",	      "0/0",  "-1/3", "+1/3",
					   "1/-3",     "a/3",	      "1/3x", " 1/3", "1/3/4",
					   "0/100001", "0/9999999999" };
	size_t i;

	assert_int_equal(shard_parse("0/1", &s, &err), 0);
	assert_int_equal(s.index, 0);
	assert_int_equal(s.count, 1);
	assert_int_equal(shard_parse("2/3", &s, &err), 0);
	assert_int_equal(s.index, 2);
	assert_int_equal(s.count, 3);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		strbuf_reset(&err);
		assert_int_equal(shard_parse(bad[i], &s, &err), -1);
		assert_non_null(strstr(err.buf, "invalid --shard"));
	}
	strbuf_release(&err);
}

static void test_account_list_parse(void **state)
{
	struct account_list l = { 0 };
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(account_list_parse(&l, "222222222222, 111111111111,222222222222", &err),
			 0);
	account_list_sort_unique(&l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ids[0], "111111111111");
	assert_string_equal(l.ids[1], "222222222222");
	assert_int_equal(account_list_parse(&l, "111,222222222222", &err), -1);
	assert_string_equal(err.buf,
			    "invalid account id '111' in --accounts: an account id is 12 digits");
	strbuf_reset(&err);
	assert_int_equal(account_list_parse(&l, "111111111111,", &err), -1);
	strbuf_reset(&err);
	assert_int_equal(account_list_parse(&l, "1111111111111", &err), -1);
	strbuf_reset(&err);
	assert_int_equal(account_list_parse(&l, "11111111111a", &err), -1);
	account_list_release(&l);
	strbuf_release(&err);
}

static void test_account_file_parse(void **state)
{
	static const char text[] = "# production\r\n111111111111\r\n\n  222222222222  # payments\n"
				   "333333333333";
	struct account_list l = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct shard all = { 0, 0 }, one = { 0, 2 };

	assert_int_equal(account_file_parse(&l, text, sizeof(text) - 1, "f", &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.ids[2], "333333333333");
	account_list_shard(&l, &all);
	assert_int_equal(l.n, 3);
	account_list_shard(&l, &one);
	assert_true(l.n < 3);
	account_list_release(&l);

	assert_int_equal(account_file_parse(&l, "111111111111\nnope\n", 18, "f", &err), -1);
	assert_string_equal(err.buf,
			    "'f' line 2: invalid account id 'nope': an account id is 12 digits");
	account_list_release(&l);
	strbuf_release(&err);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_fnv1a64_vectors),
	cmocka_unit_test(test_shard_of_is_stable),
	cmocka_unit_test(test_shards_are_balanced_and_disjoint),
	cmocka_unit_test(test_shard_parse),
	cmocka_unit_test(test_account_list_parse),
	cmocka_unit_test(test_account_file_parse),
};

UNIT_TEST_MAIN(tests)
