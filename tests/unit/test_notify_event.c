#include "core/compat.h"
#include "core/notify_event.h"
#include "core/timeutil.h"
#include "core/rotation.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

static void test_kind_names_round_trip(void **state)
{
	static const char *const names[] = { "due-soon", "delivered",	"blocked", "deactivated",
					     "deleted",	 "rolled-back", "failed" };
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
	struct notify_event ev = { 0 };
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
	static const char *const where[] = { "file:/srv/\"a\".json", "ssm:/k", NULL };
	struct strbuf out = STRBUF_INIT;
	struct notify_event ev = { 0 };

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
	static const struct {
		enum notify_kind kind;
		const char *reason, *want;
	} texts[] = {
		{ NOTIFY_DUE_SOON, NULL,
		  "iamkeys: carol: key AKIAX is due for rotation on 2026-04-01T00:00:00Z" },
		{ NOTIFY_FAILED, "CreateAccessKey: LimitExceeded",
		  "iamkeys: carol: rotation of key AKIAX failed: CreateAccessKey: LimitExceeded" },
		{ NOTIFY_ROLLED_BACK, NULL,
		  "iamkeys: carol: rotation rolled back: key AKIAX active again" },
		{ NOTIFY_DELETED, NULL, "iamkeys: carol: old key AKIAX deleted" },
		{ NOTIFY_DEACTIVATED, NULL, "iamkeys: carol: old key AKIAX deactivated" },
	};
	struct strbuf out = STRBUF_INIT;
	struct notify_event ev = { 0 };
	size_t i;

	ev.user = "carol";
	ev.key_id = "AKIAX";
	ev.due_date = "2026-04-01T00:00:00Z";
	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		ev.kind = texts[i].kind;
		ev.reason = texts[i].reason;
		notify_event_text(&out, &ev);
		assert_string_equal(out.buf, texts[i].want);
		strbuf_reset(&out);
	}
	ev.kind = NOTIFY__COUNT;
	assert_int_equal(notify_event_json(&out, &ev), -1);
	ev.kind = NOTIFY_DELETED;
	ev.user = NULL;
	assert_int_equal(notify_event_json(&out, &ev), -1);
	assert_int_equal(out.len, 0);
	strbuf_release(&out);
}

static void test_record_round_trip_and_rejects(void **state)
{
	struct notify_record r = { 0 }, back;
	struct strbuf out = STRBUF_INIT;
	static const char *const bad[] = { "",
					   "v=2 key=AKIA sent=",
					   "v=1 key= sent=blocked",
					   "v=1 key=akia sent=blocked",
					   "v=1 key=AKIA sent=bogus",
					   "v=1 key=AKIA sent=blocked/",
					   "v=1 key=AKIA sent=//",
					   "v=1 key=AKIA",
					   "v=1 key=AKIA sent=due-soon,blocked" };
	size_t i;

	snprintf(r.key, sizeof(r.key), "%s", "AKIAOLD0000000000001");
	r.sent = 1u << NOTIFY_DELIVERED | 1u << NOTIFY_BLOCKED | 1u << NOTIFY_DUE_SOON;
	notify_record_format(&out, &r);
	assert_string_equal(out.buf,
			    "v=1 key=AKIAOLD0000000000001 sent=due-soon/delivered/blocked");
	assert_int_equal(notify_record_parse(out.buf, &back), 0);
	assert_string_equal(back.key, r.key);
	assert_int_equal(back.sent, r.sent);
	assert_int_equal(notify_record_parse("v=1 key=AKIAX sent=", &back), 0);
	assert_int_equal(back.sent, 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(notify_record_parse(bad[i], &back), -1);
		assert_int_equal(back.sent, 0);
		assert_string_equal(back.key, "");
	}
	/* every kind at the longest key still fits an IAM tag value */
	memset(r.key, 'A', 128);
	r.key[128] = '\0';
	r.sent = (1u << NOTIFY__COUNT) - 1;
	strbuf_reset(&out);
	notify_record_format(&out, &r);
	assert_true(out.len <= ROTATION_TAG_MAX);
	assert_true(rotation_tag_value_valid(out.buf));
	strbuf_release(&out);
}

static void test_due_events(void **state)
{
	struct notify_state in = { 0 };
	struct notify_record rec = { 0 };
	const char *key = NULL;

	/* delivered, then blocked on a later run: each once */
	in.rotating = 1;
	in.stage = STAGE_DELIVERED;
	in.old_key = "AKIAOLD";
	assert_int_equal(notify_due_events(&in, NULL, &key), 1u << NOTIFY_DELIVERED);
	assert_string_equal(key, "AKIAOLD");
	snprintf(rec.key, sizeof(rec.key), "%s", "AKIAOLD");
	rec.sent = 1u << NOTIFY_DELIVERED;
	assert_int_equal(notify_due_events(&in, &rec, &key), 0);
	in.blocked = 1;
	assert_int_equal(notify_due_events(&in, &rec, &key), 1u << NOTIFY_BLOCKED);
	/* a crash before the delivered notification: both on the run that finds it */
	assert_int_equal(notify_due_events(&in, NULL, &key),
			 1u << NOTIFY_DELIVERED | 1u << NOTIFY_BLOCKED);
	/* a record of another rotation does not count */
	snprintf(rec.key, sizeof(rec.key), "%s", "AKIAOTHER");
	in.blocked = 0;
	in.stage = STAGE_DEACTIVATED;
	assert_int_equal(notify_due_events(&in, &rec, &key),
			 1u << NOTIFY_DELIVERED | 1u << NOTIFY_DEACTIVATED);
	in.stage = STAGE_ROLLED_BACK;
	assert_int_equal(notify_due_events(&in, &rec, &key),
			 1u << NOTIFY_DELIVERED | 1u << NOTIFY_ROLLED_BACK);
	in.stage = STAGE_INTENT;
	assert_int_equal(notify_due_events(&in, &rec, &key), 0);
	in.failed = 1;
	assert_int_equal(notify_due_events(&in, &rec, &key), 1u << NOTIFY_FAILED);
	assert_string_equal(key, "AKIAOLD");

	/* the rotation ended: deleted, once; never for a key that was only due */
	memset(&in, 0, sizeof(in));
	snprintf(rec.key, sizeof(rec.key), "%s", "AKIAOLD");
	rec.sent = 1u << NOTIFY_DELIVERED | 1u << NOTIFY_DEACTIVATED;
	assert_int_equal(notify_due_events(&in, &rec, &key), 1u << NOTIFY_DELETED);
	assert_string_equal(key, "AKIAOLD");
	rec.sent |= 1u << NOTIFY_DELETED;
	assert_int_equal(notify_due_events(&in, &rec, &key), 0);
	in.record_key_exists = 1;
	rec.sent = 1u << NOTIFY_DUE_SOON;
	in.due_key = "AKIAOLD";
	assert_int_equal(notify_due_events(&in, &rec, &key), 0);
	in.due_key = "AKIANEXT";
	assert_int_equal(notify_due_events(&in, &rec, &key), 1u << NOTIFY_DUE_SOON);
	assert_string_equal(key, "AKIANEXT");
	in.due_key = NULL;
	assert_int_equal(notify_due_events(&in, &rec, &key), 0);
	assert_null(key);
	/* a failure outside a rotation is about the oldest active key */
	in.failed = 1;
	in.active_key = "AKIAACTIVE";
	assert_int_equal(notify_due_events(&in, &rec, &key), 1u << NOTIFY_FAILED);
	assert_string_equal(key, "AKIAACTIVE");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_kind_names_round_trip),
	cmocka_unit_test(test_blocked_event_json),
	cmocka_unit_test(test_delivered_and_escaping),
	cmocka_unit_test(test_texts_and_bad_events),
	cmocka_unit_test(test_record_round_trip_and_rejects),
	cmocka_unit_test(test_due_events),
};

UNIT_TEST_MAIN(tests)
