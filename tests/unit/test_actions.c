/* The pure parts of src/actions.c: the guards, key id syntax, "ago", and the sink key-id scanner. */
#include "core/compat.h"
#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include "engine/actions.h"
#include "sinks/sink.h"

static const time_t NOW = 1780000000; /* 2026-05-28 */
#define HOUR 3600

struct guard_case {
	const char *name;
	enum key_action_kind kind;
	int found, active, other_active, is_self;
	long long used_ago; /* seconds; -1 = never */
	int force, allow_self;
	long long window;
	enum guard_verdict want;
	const char *why; /* a substring of the reason; NULL = empty */
};

static const struct guard_case cases[] = {
	{ "deactivate, plain", KEY_DEACTIVATE, 1, 1, 1, 0, 48 * HOUR, 0, 0, 24 * HOUR, GUARD_GO,
	  NULL },
	{ "deactivate, already inactive", KEY_DEACTIVATE, 1, 0, 1, 0, -1, 0, 0, 24 * HOUR,
	  GUARD_NOTHING, "already Inactive" },
	{ "deactivate, missing", KEY_DEACTIVATE, 0, 0, 1, 0, -1, 0, 0, 24 * HOUR, GUARD_MISSING,
	  "user u has no access key AKIA" },
	{ "deactivate, in use", KEY_DEACTIVATE, 1, 1, 1, 0, 3 * HOUR, 0, 0, 24 * HOUR, GUARD_BLOCK,
	  "used 3 hours ago, within --in-use-window 24h (use --force to override)" },
	{ "deactivate, in use within the 15 min granularity", KEY_DEACTIVATE, 1, 1, 1, 0,
	  24 * HOUR + 14 * 60, 0, 0, 24 * HOUR, GUARD_BLOCK, "within --in-use-window 24h" },
	{ "deactivate, just past the granularity", KEY_DEACTIVATE, 1, 1, 1, 0, 24 * HOUR + 15 * 60,
	  0, 0, 24 * HOUR, GUARD_GO, NULL },
	{ "deactivate, window 0 is off", KEY_DEACTIVATE, 1, 1, 1, 0, 60, 0, 0, 0, GUARD_GO, NULL },
	{ "deactivate, in use, forced", KEY_DEACTIVATE, 1, 1, 1, 0, 3 * HOUR, 1, 0, 24 * HOUR,
	  GUARD_GO, "--force: used 3 hours ago, within --in-use-window 24h" },
	{ "deactivate, last key", KEY_DEACTIVATE, 1, 1, 0, 0, -1, 0, 0, 24 * HOUR, GUARD_BLOCK,
	  "the only Active key of u" },
	{ "deactivate, last key, forced", KEY_DEACTIVATE, 1, 1, 0, 0, -1, 1, 0, 24 * HOUR, GUARD_GO,
	  "--force: the only Active key of u" },
	{ "deactivate, own key", KEY_DEACTIVATE, 1, 1, 1, 1, -1, 1, 0, 24 * HOUR, GUARD_BLOCK,
	  "it is the key this command runs with; refusing to deactivate it" },
	{ "deactivate, own key, self-rotation", KEY_DEACTIVATE, 1, 1, 1, 1, 60, 0, 1, 0, GUARD_GO,
	  NULL },
	{ "activate, in use is fine", KEY_ACTIVATE, 1, 0, 0, 0, 60, 0, 0, 24 * HOUR, GUARD_GO,
	  NULL },
	{ "activate, already", KEY_ACTIVATE, 1, 1, 0, 0, -1, 0, 0, 24 * HOUR, GUARD_NOTHING,
	  "already Active" },
	{ "activate, missing", KEY_ACTIVATE, 0, 0, 0, 0, -1, 0, 0, 24 * HOUR, GUARD_MISSING, NULL },
	{ "delete, missing is nothing", KEY_DELETE, 0, 0, 0, 0, -1, 0, 0, 24 * HOUR, GUARD_NOTHING,
	  "no such key" },
	{ "delete inactive", KEY_DELETE, 1, 0, 0, 0, 100 * 24 * HOUR, 0, 0, 24 * HOUR, GUARD_GO,
	  NULL },
	{ "delete inactive, used recently", KEY_DELETE, 1, 0, 1, 0, 3 * HOUR, 0, 0, 24 * HOUR,
	  GUARD_BLOCK, "used 3 hours ago" },
	{ "delete active", KEY_DELETE, 1, 1, 1, 0, -1, 0, 0, 24 * HOUR, GUARD_BLOCK,
	  "it is Active; deactivate it first (iamkeys deactivate --user u --key" },
	{ "delete active, forced, last key", KEY_DELETE, 1, 1, 0, 0, -1, 1, 0, 24 * HOUR, GUARD_GO,
	  "--force: it is Active; the only Active key of u" },
	{ "delete own key, forced", KEY_DELETE, 1, 0, 1, 1, -1, 1, 0, 24 * HOUR, GUARD_BLOCK,
	  "refusing to delete it" },
};

static void test_guards(void **state)
{
	size_t i;
	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct guard_case *c = &cases[i];
		struct guard_input in;
		struct action_options o;
		struct strbuf why = STRBUF_INIT;
		enum guard_verdict got;

		memset(&in, 0, sizeof(in));
		memset(&o, 0, sizeof(o));
		in.kind = c->kind;
		in.user = "u";
		in.key_id = "AKIAAAAAAAAAAAAAAAAA";
		in.found = c->found;
		in.active = c->active;
		in.other_active = c->other_active;
		in.is_self = c->is_self;
		in.last_used = c->used_ago < 0 ? 0 : NOW - c->used_ago;
		o.force = c->force;
		o.allow_self = c->allow_self;
		o.in_use_window = c->window;
		o.now = NOW;
		got = key_guard_check(&in, &o, &why);
		if (got != c->want)
			fail_msg("case '%s': verdict %d, want %d (%s)", c->name, got, c->want,
				 why.buf);
		if (c->why ? !strstr(why.buf, c->why) : c->want == GUARD_GO && why.len)
			fail_msg("case '%s': reason '%s', want '%s'", c->name, why.buf,
				 c->why ? c->why : "");
		strbuf_release(&why);
	}
}

static void test_key_id_syntax(void **state)
{
	(void)state;
	assert_true(access_key_id_is_valid("AKIAIOSFODNN7EXAMPLE"));
	assert_true(access_key_id_is_valid("ASIAIOSFODNN7EXAMPLE"));
	assert_true(access_key_id_is_valid("AKIAIOSFODNN7EXAMPLE0123"));
	assert_false(access_key_id_is_valid("AKIAIOSFODNN7EXAMPL")); /* 15 after the prefix */
	assert_false(access_key_id_is_valid("akiaIOSFODNN7EXAMPLE"));
	assert_false(access_key_id_is_valid("AIDAIOSFODNN7EXAMPLE")); /* a user id */
	assert_false(access_key_id_is_valid("AKIAIOSFODNN7EXAMPLe"));
	assert_false(access_key_id_is_valid("AKIAIOSFODNN7EXAMP E"));
	assert_false(access_key_id_is_valid(""));
	assert_false(access_key_id_is_valid(NULL));
}

static void test_format_ago(void **state)
{
	static const struct {
		long long ago;
		const char *want;
	} c[] = {
		{ 0, "just now" },	     { 119, "just now" },
		{ 120, "2 minutes ago" },    { 2 * HOUR - 1, "119 minutes ago" },
		{ 2 * HOUR, "2 hours ago" }, { 47 * HOUR, "47 hours ago" },
		{ 48 * HOUR, "2 days ago" }, { -50, "just now" },
	};
	size_t i;
	(void)state;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		struct strbuf sb = STRBUF_INIT;
		format_ago(&sb, NOW - c[i].ago, NOW);
		assert_string_equal(sb.buf, c[i].want);
		strbuf_release(&sb);
	}
}

static void test_json_key_id(void **state)
{
	static const struct text_case c[] = {
		{ "{\"AccessKeyId\":\"AKIAIOSFODNN7EXAMPLE\",\"SecretAccessKey\":\"x\"}",
		  "AKIAIOSFODNN7EXAMPLE" },
		{ "{ \"AccessKeyId\" : \"AKIAIOSFODNN7EXAMPLE\" }", "AKIAIOSFODNN7EXAMPLE" },
		/* inside a JSON string (GetSecretValue's SecretString) */
		{ "{\"SecretString\":\"{\\\"AccessKeyId\\\":\\\"AKIAIOSFODNN7EXAMPLE\\\"}\"}",
		  "AKIAIOSFODNN7EXAMPLE" },
		{ "{\"AccessKeyId\":\"short\"}", NULL },
		{ "{\"AccessKeyId\":\"AKIAIOSFODNN7EXAMPLE", NULL },
		{ "{\"AccessKeyIdX\":\"AKIAIOSFODNN7EXAMPLE\"}", NULL },
		{ "not json at all", NULL },
		{ "", NULL },
	};
	size_t i;
	(void)state;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		char *got = new_secret_json_key_id(c[i].in, strlen(c[i].in));
		if (c[i].want)
			assert_string_equal(got, c[i].want);
		else
			assert_null(got);
		free(got);
	}
}

static void test_record_lines(void **state)
{
	char user[] = "alice", key[] = "AKIAIOSFODNN7EXAMPLE", old[] = "old (120 days)";
	char used[] = "used 3 hours ago", to[] = "secret to file:/x";
	/* each case changes the record of the one before it */
	const struct {
		enum key_action_kind kind;
		enum action_result result;
		char *key_id, *reason;
		const char *want;
	} c[] = {
		{ KEY_DEACTIVATE, ACTION_PLANNED, key, old,
		  "deactivate AKIAIOSFODNN7EXAMPLE of alice: old (120 days)" },
		{ KEY_DEACTIVATE, ACTION_DONE, key, old,
		  "deactivated AKIAIOSFODNN7EXAMPLE of alice" },
		{ KEY_DEACTIVATE, ACTION_BLOCKED, key, used,
		  "skip AKIAIOSFODNN7EXAMPLE of alice: used 3 hours ago" },
		{ KEY_CREATE, ACTION_PLANNED, NULL, to,
		  "create a new key for alice: secret to file:/x" },
	};
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	(void)state;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		struct action_record r = { c[i].kind, c[i].result, user, c[i].key_id, c[i].reason };

		strbuf_reset(&sb);
		action_record_format(&sb, &r);
		assert_string_equal(sb.buf, c[i].want);
	}
	strbuf_release(&sb);
	assert_string_equal(action_result_name(ACTION_BLOCKED), "skipped");
	assert_string_equal(key_action_name(KEY_ACTIVATE), "activate");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_guards),	     cmocka_unit_test(test_key_id_syntax),
	cmocka_unit_test(test_format_ago),   cmocka_unit_test(test_json_key_id),
	cmocka_unit_test(test_record_lines),
};

UNIT_TEST_MAIN(tests)
