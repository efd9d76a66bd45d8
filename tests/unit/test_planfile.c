/* The saved plan's schema: what plan_file_parse accepts and, one line each, what it refuses. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "core/compat.h"
#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include "core/planfile.h"

#define KEY "AKIAOLDOLDOLDOLD0001"
#define ACT_TAG                                                                                     \
	"{\"Action\": \"Tag\", \"AccessKeyId\": null, \"TagValue\": \"v=1 stage=intent old=" KEY    \
	" t=20261128T120000Z\", \"ExpectActive\": -1, \"InUseGuard\": false, \"NotUsedSince\": 0, " \
	"\"Reason\": \"mark\", \"Result\": \"planned\", \"Detail\": \"\"}"
#define ACT_CREATE                                                                                 \
	"{\"Action\": \"CreateKey\", \"AccessKeyId\": \"" KEY "\", \"TagValue\": null, "           \
	"\"ExpectActive\": -1, \"InUseGuard\": false, \"NotUsedSince\": 0, \"Reason\": \"due\", "  \
	"\"Result\": \"planned\", \"Detail\": \"\"}"
#define ROW(name, extra, acts)                                                                     \
	"{" extra "\"UserName\": \"" name "\", \"Stage\": \"idle\", \"Outcome\": \"act\", "        \
	"\"Reason\": \"due\", \"Exempt\": false, \"Sink\": \"file:/s/" name                        \
	".json\", \"Tag\": null, "                                                                 \
	"\"Keys\": \"" KEY ":Active\", \"Actions\": [" acts "]}"
#define PLAN(rows)                                                                                    \
	"{\"Version\": 1, \"GeneratedAt\": \"2026-11-28T12:00:00Z\", \"Account\": \"111111111111\", " \
	"\"Users\": [" rows "]}"
/* one action, its fields as JSON text: the given ones, empty Reason and Detail, then extra */
#define ACTION(action, key_id, tag, expect_active, guard, extra)                                   \
	"{\"Action\": \"" action "\", \"AccessKeyId\": " key_id ", \"TagValue\": " tag             \
	", \"ExpectActive\": " expect_active ", \"InUseGuard\": " guard                            \
	", \"NotUsedSince\": 0, \"Reason\": \"\", \"Result\": \"planned\", \"Detail\": \"\"" extra \
	"}"
#define ORG_PLAN(rows)                                                                             \
	"{\"Version\": 1, \"GeneratedAt\": \"2026-11-28T12:00:00Z\", \"Users\": [" rows "], "      \
	"\"FailedAccounts\": []}"

static void expect(const char *text, int several, const char *error)
{
	struct strbuf err = STRBUF_INIT;
	json_t *doc = plan_file_parse(text, strlen(text), several, &err);
	if (!error) {
		if (!doc)
			print_error("refused: %s\n", err.buf);
		assert_non_null(doc);
		assert_int_equal(err.len, 0);
	} else {
		if (doc || !strstr(err.buf, error))
			print_error("for %s\nexpected '%s', got '%s'\n", text, error, err.buf);
		assert_null(doc);
		assert_non_null(strstr(err.buf, error));
		assert_null(strchr(err.buf, '\n'));
	}
	json_decref(doc);
	strbuf_release(&err);
}

static void test_accepts_what_plan_out_writes(void **state)
{
	(void)state;
	expect(PLAN(ROW("alice", "", ACT_TAG "," ACT_CREATE) "," ROW("bob", "", "")), 0, NULL);
	expect(PLAN(""), 0, NULL);
	expect(ORG_PLAN(
		       ROW("alice", "\"AccountId\": \"222222222222\", ",
			   ACT_TAG) "," ROW("alice", "\"AccountId\": \"333333333333\", ", ACT_TAG)),
	       1, NULL);
}

static void test_refuses(void **state)
{
	(void)state;
	/* jansson quotes the input near the error, newline and all (found by fuzz_planfile) */
	expect("\"\\\n", 0, "invalid escape near");
	expect("{\"Version\": 1, \"Users\": [", 0, "plan: line 1"); /* truncated */
	expect("", 0, "plan: line");
	expect("[]", 0, "not a JSON object");
	expect("{\"Version\": 2, \"Users\": []}", 0, "not a version 1 plan");
	expect("{\"Version\": \"1\", \"Users\": []}", 0, "not a version 1 plan");
	expect(PLAN("") " x", 0, "plan: line 1");		       /* trailing data */
	expect("{\"Version\": 1, \"Version\": 1}", 0, "plan: line 1"); /* duplicate key */
	expect("{\"Version\": 1, \"GeneratedAt\": \"x\", \"Account\": \"111111111111\", "
	       "\"Users\": [], \"Extra\": 1}",
	       0, "the plan has an unknown field 'Extra'");
	expect("{\"Version\": 1, \"GeneratedAt\": \"x\", \"Users\": []}", 0,
	       "the plan lacks the field 'Account'");
	expect("{\"Version\": 1, \"GeneratedAt\": \"x\", \"Account\": \"1111\", \"Users\": []}", 0,
	       "is not an account id");
	expect(PLAN(ROW("alice", "\"Extra\": true, ", "")), 0,
	       "row 1 (alice) has an unknown field 'Extra'");
	expect(PLAN("{\"UserName\": \"alice\"}"), 0, "row 1 (alice) lacks the field 'Stage'");
	expect(PLAN(ROW("alice", "", "") "," ROW("alice", "", "")), 0,
	       "rows 1 and 2 are both user alice");
	expect(PLAN(ROW("", "", "")), 0, "empty UserName");
	expect(PLAN(ROW("alice", "", "{}")), 0, "row 1 (alice) action 1 lacks the field 'Action'");
	expect(PLAN(ROW("alice", "",
			ACTION("CreateKey", "\"" KEY "\"", "null", "-1", "false",
			       ", \"Sink\": \"file:/x\""))),
	       0, "action 1 has an unknown field 'Sink'");
	expect(PLAN(ROW("alice", "", ACTION("Shred", "\"" KEY "\"", "null", "-1", "false", ""))), 0,
	       "unknown action 'Shred'");
	expect(PLAN(ROW("alice", "", ACTION("DeleteKey", "\"akia\"", "null", "-1", "false", ""))),
	       0, "an invalid or unexpected AccessKeyId for DeleteKey");
	expect(PLAN(ROW("alice", "", ACTION("Tag", "null", "\"v=9\"", "-1", "false", ""))), 0,
	       "TagValue: rotation tag version '9' is not supported");
	expect(PLAN(ROW("alice", "", ACTION("Untag", "null", "null", "5", "false", ""))), 0,
	       "out of range");
	expect(PLAN(ROW("alice", "", ACTION("Untag", "null", "null", "-1", "0", ""))), 0,
	       "'InUseGuard' is not true or false");
	/* one account's plan and a plan for several accounts do not mix */
	expect(PLAN(ROW("alice", "\"AccountId\": \"222222222222\", ", "")), 0, "has an AccountId");
	expect(ORG_PLAN(ROW("alice", "", "")), 1, "row 1 of the plan has no AccountId");
	expect(PLAN(ROW("alice", "", "")), 1, "row 1 of the plan has no AccountId");
	expect(ORG_PLAN(""), 0, "a plan for several accounts is applied with --org");
	expect(ORG_PLAN(ROW("alice", "\"AccountId\": \"222222222222\", ",
			    "") "," ROW("alice", "\"AccountId\": \"222222222222\", ", "")),
	       1, "rows 1 and 2 are both user alice");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_accepts_what_plan_out_writes),
	cmocka_unit_test(test_refuses),
};

UNIT_TEST_MAIN(tests)
