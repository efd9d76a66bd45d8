#include "core/compat.h"
#include "core/notify_event.h"
#include "core/timeutil.h"

#include <setjmp.h>
#include <cmocka.h>

static void test_kind_names_round_trip(void **state)
{
	static const char *const names[] = {"due-soon", "delivered", "blocked", "deactivated",
					    "deleted", "rolled-back", "failed"};
	enum notify_kind k;
	size_t i;

	assert_int_equal(ARRAY_SIZE(names), NOTIFY__COUNT);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		assert_string_equal(notify_kind_name((enum notify_kind)i), names[i]);
		assert_int_equal(notify_kind_parse(names[i], &k), 0);
		assert_int_equal(k, (enum notify_kind)i);
	}
	assert_int_equal(notify_kind_parse("Blocked", &k), -1);
	assert_int_equal(notify_kind_parse(NULL, &k), -1);
	assert_string_equal(notify_kind_name(NOTIFY__COUNT), "");
}

static void test_blocked_event_json(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct notify_event ev = {0};
	time_t t;

	assert_int_equal(iso8601_parse("2026-03-01T10:00:00Z", &t), 0);
	ev.kind = NOTIFY_BLOCKED;
	ev.user = "alice";
	ev.account = "111111111111";
	ev.owner = "team-a@example.com";
	ev.key_id = "AKIAOLD0000000000001";
	ev.new_key_id = "AKIANEW0000000000002";
	ev.last_used_service = "s3";
	ev.last_used_region = "eu-west-1";
	ev.last_used_date = "2026-02-28T09:00:00Z";
	ev.time = t;
	assert_int_equal(notify_event_json(&out, &ev), 0);
	assert_string_equal(
	    out.buf,
	    "{\"source\":\"iamkeys\",\"event\":\"blocked\",\"time\":\"2026-03-01T10:00:00Z\","
	    "\"user\":\"alice\",\"account\":\"111111111111\",\"owner\":\"team-a@example.com\","
	    "\"access_key_id\":\"AKIAOLD0000000000001\","
	    "\"new_access_key_id\":\"AKIANEW0000000000002\","
	    "\"last_used\":{\"service\":\"s3\",\"region\":\"eu-west-1\","
	    "\"date\":\"2026-02-28T09:00:00Z\"},"
	    "\"text\":\"iamkeys: alice (account 111111111111), owner team-a@example.com: old key "
	    "AKIAOLD0000000000001 is still in use (last used: s3, eu-west-1, "
	    "2026-02-28T09:00:00Z); the rotation waits until it is not\"}");
	strbuf_release(&out);
}

static void test_delivered_and_escaping(void **state)
{
	static const char *const where[] = {"file:/srv/\"a\".json", "ssm:/k", NULL};
	struct strbuf out = STRBUF_INIT;
	struct notify_event ev = {0};

	ev.kind = NOTIFY_DELIVERED;
	ev.user = "bob\n";
	ev.key_id = "AKIAOLD";
	ev.new_key_id = "AKIANEW";
	ev.where = where;
	ev.time = 0;
	assert_int_equal(notify_event_json(&out, &ev), 0);
	assert_string_equal(out.buf,
			    "{\"source\":\"iamkeys\",\"event\":\"delivered\",\"time\":"
			    "\"1970-01-01T00:00:00Z\",\"user\":\"bob\\n\",\"access_key_id\":"
			    "\"AKIAOLD\",\"new_access_key_id\":\"AKIANEW\",\"where\":"
			    "[\"file:/srv/\\\"a\\\".json\",\"ssm:/k\"],\"text\":\"iamkeys: bob\\n: "
			    "new key AKIANEW delivered to file:/srv/\\\"a\\\".json, ssm:/k; update "
			    "every application using AKIAOLD\"}");
	strbuf_release(&out);
}

static void test_texts_and_bad_events(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct notify_event ev = {0};

	ev.user = "carol";
	ev.key_id = "AKIAX";
	ev.kind = NOTIFY_DUE_SOON;
	ev.due_date = "2026-04-01T00:00:00Z";
	notify_event_text(&out, &ev);
	assert_string_equal(out.buf, "iamkeys: carol: key AKIAX is due for rotation on "
				     "2026-04-01T00:00:00Z");
	strbuf_reset(&out);
	ev.kind = NOTIFY_FAILED;
	ev.reason = "CreateAccessKey: LimitExceeded";
	notify_event_text(&out, &ev);
	assert_string_equal(out.buf, "iamkeys: carol: rotation of key AKIAX failed: "
				     "CreateAccessKey: LimitExceeded");
	strbuf_reset(&out);
	ev.kind = NOTIFY_ROLLED_BACK;
	ev.reason = NULL;
	notify_event_text(&out, &ev);
	assert_string_equal(out.buf, "iamkeys: carol: rotation rolled back: key AKIAX active again");
	strbuf_reset(&out);
	ev.kind = NOTIFY_DELETED;
	notify_event_text(&out, &ev);
	assert_string_equal(out.buf, "iamkeys: carol: old key AKIAX deleted");
	strbuf_reset(&out);
	ev.kind = NOTIFY_DEACTIVATED;
	notify_event_text(&out, &ev);
	assert_string_equal(out.buf, "iamkeys: carol: old key AKIAX deactivated");
	strbuf_reset(&out);
	ev.kind = NOTIFY__COUNT;
	assert_int_equal(notify_event_json(&out, &ev), -1);
	ev.kind = NOTIFY_DELETED;
	ev.user = NULL;
	assert_int_equal(notify_event_json(&out, &ev), -1);
	assert_int_equal(out.len, 0);
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names_round_trip),
		cmocka_unit_test(test_blocked_event_json),
		cmocka_unit_test(test_delivered_and_escaping),
		cmocka_unit_test(test_texts_and_bad_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
