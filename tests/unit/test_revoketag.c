/* The iamkeys:revoked tag: parse, format, errors; the deny policy's name. */
#include "core/compat.h"
#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include "core/revoketag.h"

static void test_round_trip(void **state)
{
	struct revoke_tag t, u;
	struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT;

	(void)state;
	memset(&t, 0, sizeof(t));
	memcpy(t.key_id, "AKIAIOSFODNN7EXAMPLE", 21);
	t.started = 1796281500; /* 2026-12-03T07:05:00Z */
	revoke_tag_format(&sb, &t);
	assert_string_equal(sb.buf, "v=1 key=AKIAIOSFODNN7EXAMPLE at=20261203T070500Z");
	t.done = REVOKE_STEP_DENY | REVOKE_STEP_DEACTIVATE | REVOKE_STEP_DELETE;
	t.policy_time = t.started + 1;
	strbuf_reset(&sb);
	revoke_tag_format(&sb, &t);
	assert_string_equal(sb.buf, "v=1 key=AKIAIOSFODNN7EXAMPLE at=20261203T070500Z "
				    "done=deactivate+deny+delete policy=20261203T070501Z");
	assert_int_equal(revoke_tag_parse(sb.buf, &u, &err), 0);
	assert_string_equal(u.key_id, t.key_id);
	assert_int_equal(u.started, t.started);
	assert_int_equal(u.done, t.done);
	assert_int_equal(u.policy_time, t.policy_time);
	strbuf_release(&sb);
	strbuf_release(&err);
}

static void test_errors(void **state)
{
	static const char *const bad[] = {
		"",
		"v=1 key=AKIAIOSFODNN7EXAMPLE",
		"v=2 key=AKIAIOSFODNN7EXAMPLE at=20261203T070500Z",
		"v=1 key=akia at=20261203T070500Z",
		"v=1 key=AKIAIOSFODNN7EXAMPLE at=20261303T070500Z",
		"v=1 key=AKIAIOSFODNN7EXAMPLE at=20261203T070500Z done=deny+",
		"v=1 key=AKIAIOSFODNN7EXAMPLE at=20261203T070500Z done=rm",
		"v=1 key=AKIAIOSFODNN7EXAMPLE at=20261203T070500Z other=x",
		"v=1 key=AKIAIOSFODNN7EXAMPLE at=20261203T070500Z junk",
	};
	struct revoke_tag t;
	struct strbuf err = STRBUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(revoke_tag_parse(bad[i], &t, &err), -1);
		assert_non_null(strstr(err.buf, "tag iamkeys:revoked: "));
		assert_null(strchr(err.buf, '\n'));
		assert_int_equal(t.key_id[0], '\0');
	}
	assert_int_equal(revoke_tag_parse("v=1 key=AKIAIOSFODNN7EXAMPLE at=20261203T070500Z x", &t,
					  &err),
			 -1);
	assert_string_equal(err.buf, "tag iamkeys:revoked: cannot read field at offset 49");
	strbuf_release(&err);
}

static void test_policy_name(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	time_t t = 0;

	(void)state;
	revoke_policy_name(&sb, 1796281501);
	assert_string_equal(sb.buf, "iamkeys-revoke-20261203T070501Z");
	assert_int_equal(revoke_policy_time(sb.buf, &t), 0);
	assert_int_equal(t, 1796281501);
	assert_int_equal(revoke_policy_time("iamkeys-revoke-x", &t), -1);
	assert_int_equal(revoke_policy_time("AllAccess", &t), -1);
	assert_string_equal(revoke_step_name(REVOKE_STEP_REPLACE), "replace");
	assert_null(revoke_step_name(3));
	strbuf_release(&sb);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_round_trip),
	cmocka_unit_test(test_errors),
	cmocka_unit_test(test_policy_name),
};

UNIT_TEST_MAIN(tests)
