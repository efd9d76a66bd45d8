/*
 * engine/userstate.c against the scripted fake transport: the exact calls
 * each part of the state costs, dates parsed once, "N/A" as never used, the
 * rotation tag parsed, and every unparseable date refused (fail closed).
 */
#include "core/compat.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "core/timeutil.h"
#include "engine/userstate.h"
#include "fake_transport.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

#define NS "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\""
#define KEY(id, status, created)                                                                   \
	"<member><UserName>bob</UserName><AccessKeyId>" id "</AccessKeyId><Status>" status         \
	"</Status><CreateDate>" created "</CreateDate></member>"
#define LIST_KEYS(members)                                                                         \
	"<ListAccessKeysResponse " NS "><ListAccessKeysResult><UserName>bob</UserName>"            \
	"<AccessKeyMetadata>" members "</AccessKeyMetadata><IsTruncated>false</IsTruncated>"       \
	"</ListAccessKeysResult></ListAccessKeysResponse>"
#define LAST_USED(inner)                                                                           \
	"<GetAccessKeyLastUsedResponse " NS                                                        \
	"><GetAccessKeyLastUsedResult><AccessKeyLastUsed>" inner                                   \
	"</AccessKeyLastUsed><UserName>bob</UserName></GetAccessKeyLastUsedResult>"                \
	"</GetAccessKeyLastUsedResponse>"
#define USED(date)                                                                                 \
	"<LastUsedDate>" date "</LastUsedDate><ServiceName>s3</ServiceName>"                       \
	"<Region>eu-west-1</Region>"
#define NEVER "<ServiceName>N/A</ServiceName><Region>N/A</Region>"
#define KEYS_BODY "Action=ListAccessKeys&Version=2010-05-08&UserName=bob&MaxItems=1000"
#define LU_BODY(id) "Action=GetAccessKeyLastUsed&Version=2010-05-08&AccessKeyId=" id
/* bob's first key, and the step that lists it alone */
#define KEY1 KEY("AKIA1", "Active", "2026-01-02T03:04:05Z")
#define LIST_KEY1_STEP                                                                             \
	{                                                                                          \
		.body = KEYS_BODY, .reply_body = LIST_KEYS(KEY1)                                   \
	}

static const char *const no_env[] = { NULL };

static time_t fixed_now(void)
{
	return 1780000000;
}

static struct aws_client *client(const struct fake_step *steps, size_t n)
{
	return fake_client_new(steps, n, no_env, fixed_now, NULL, NULL, NULL);
}

/*
 * A test's client on the scripted transport, the state it reads and the error.
 * us_teardown checks that the whole script was used, then releases them.
 */
struct us_test {
	struct aws_client *c;
	struct user_state st;
	struct strbuf err;
};

static int us_setup(void **state)
{
	static const struct user_state init = USER_STATE_INIT;
	struct us_test *t = xcalloc(1, sizeof(*t));

	t->st = init;
	strbuf_init(&t->err, 0);
	*state = t;
	return 0;
}

static int us_teardown(void **state)
{
	struct us_test *t = *state;

	fake_transport_assert_done(t->c->http);
	aws_client_free(t->c);
	user_state_release(&t->st);
	strbuf_release(&t->err);
	free(t);
	return 0;
}

#define US_TEST(fn) cmocka_unit_test_setup_teardown(fn, us_setup, us_teardown)

/* The test's fixture, its client running the N STEPS. */
static struct us_test *us_script(void **state, const struct fake_step *steps, size_t n)
{
	struct us_test *t = *state;

	t->c = client(steps, n);
	return t;
}

static void test_keys_and_last_use(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = KEYS_BODY,
		  .reply_body = LIST_KEYS(KEY1 KEY("AKIA2", "Inactive", "2025-01-01T00:00:00Z")) },
		{ .body = LU_BODY("AKIA1"), .reply_body = LAST_USED(USED("2026-05-01T00:00:00Z")) },
		{ .body = LU_BODY("AKIA2"), .reply_body = LAST_USED(NEVER) },
	};
	struct us_test *t = us_script(state, steps, ARRAY_SIZE(steps));
	struct strbuf sum = STRBUF_INIT;
	time_t when;

	assert_int_equal(user_state_read(t->c, "bob", USER_STATE_LAST_USED, &t->st, &t->err), 0);
	assert_string_equal(t->st.user, "bob");
	assert_int_equal(t->st.nkeys, 2);
	assert_int_equal(t->st.calls, 3);
	assert_string_equal(t->st.keys[0].id, "AKIA1");
	assert_true(t->st.keys[0].active);
	assert_int_equal(iso8601_parse("2026-01-02T03:04:05Z", &when), 0);
	assert_int_equal(t->st.keys[0].created, when);
	assert_true(t->st.keys[0].last_used_read);
	assert_int_equal(iso8601_parse("2026-05-01T00:00:00Z", &when), 0);
	assert_int_equal(t->st.keys[0].last_used, when);
	assert_string_equal(t->st.keys[0].service, "s3");
	assert_string_equal(t->st.keys[0].region, "eu-west-1");
	/* N/A: never used, and absent */
	assert_false(t->st.keys[1].active);
	assert_string_equal(t->st.keys[1].status, "Inactive");
	assert_true(t->st.keys[1].last_used_read);
	assert_int_equal(t->st.keys[1].last_used, 0);
	assert_null(t->st.keys[1].service);
	assert_null(t->st.keys[1].region);
	assert_ptr_equal(user_state_find_key(&t->st, "AKIA2"), &t->st.keys[1]);
	assert_null(user_state_find_key(&t->st, "AKIA3"));
	user_state_keys_summary(&sum, &t->st);
	assert_string_equal(sum.buf, "AKIA1:Active,AKIA2:Inactive");
	assert_null(t->st.tags);
	assert_null(t->st.groups);
	strbuf_release(&sum);
}

static void test_unparseable_last_used(void **state)
{
	static const struct fake_step steps[] = {
		LIST_KEY1_STEP,
		{ .body = LU_BODY("AKIA1"), .reply_body = LAST_USED(USED("last tuesday")) },
	};
	struct us_test *t = us_script(state, steps, ARRAY_SIZE(steps));

	assert_int_equal(user_state_read(t->c, "bob", USER_STATE_LAST_USED, &t->st, &t->err),
			 USER_STATE_INVALID);
	assert_string_equal(t->err.buf, "unparseable LastUsedDate 'last tuesday' of key AKIA1 "
					"(GetAccessKeyLastUsed)");
	/* nothing half-read is left to decide on */
	assert_int_equal(t->st.nkeys, 0);
	assert_null(t->st.keys);
}

static void test_unparseable_last_used_one_key(void **state)
{
	static const struct fake_step steps[] = {
		LIST_KEY1_STEP,
		{ .body = LU_BODY("AKIA1"), .reply_body = LAST_USED(USED("2026-13-45T00:00:00Z")) },
	};
	struct us_test *t = us_script(state, steps, ARRAY_SIZE(steps));

	assert_int_equal(user_state_read(t->c, "bob", USER_STATE_KEYS, &t->st, &t->err), 0);
	assert_false(t->st.keys[0].last_used_read);
	assert_int_equal(user_state_read_last_used(t->c, &t->st, 0, &t->err), USER_STATE_INVALID);
	assert_string_equal(t->err.buf, "unparseable LastUsedDate '2026-13-45T00:00:00Z' of key "
					"AKIA1 (GetAccessKeyLastUsed)");
	assert_false(t->st.keys[0].last_used_read);
	assert_int_equal(t->st.keys[0].last_used, 0);
	assert_null(t->st.keys[0].service);
}

static void test_unparseable_create_date(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = KEYS_BODY,
		  .reply_body = LIST_KEYS(KEY1 KEY("AKIA2", "Active", "yesterday")) },
	};
	struct us_test *t = us_script(state, steps, ARRAY_SIZE(steps));

	/* the last-use calls are not made: the keys already failed */
	assert_int_equal(user_state_read(t->c, "bob", USER_STATE_LAST_USED, &t->st, &t->err),
			 USER_STATE_INVALID);
	assert_string_equal(t->err.buf,
			    "unparseable CreateDate 'yesterday' of key AKIA2 (ListAccessKeys)");
	assert_int_equal(t->st.nkeys, 0);
}

static void test_tags_groups_and_rotation(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = "Action=ListUserTags&Version=2010-05-08&UserName=bob&MaxItems=1000",
		  .reply_body =
			  "<ListUserTagsResponse " NS "><ListUserTagsResult><Tags>"
			  "<member><Key>team</Key><Value>x</Value></member>"
			  "<member><Key>iamkeys:rotation</Key><Value>v=1 stage=intent "
			  "old=AKIAAAAAAAAAAAAAAAAA t=20261128T120000Z</Value></member></Tags>"
			  "<IsTruncated>false</IsTruncated></ListUserTagsResult>"
			  "</ListUserTagsResponse>" },
		{ .body = "Action=ListGroupsForUser&Version=2010-05-08&UserName=bob&MaxItems=1000",
		  .reply_body =
			  "<ListGroupsForUserResponse " NS "><ListGroupsForUserResult><Groups>"
			  "<member><Path>/</Path><GroupName>admins</GroupName><GroupId>G1"
			  "</GroupId><Arn>arn:aws:iam::1:group/admins</Arn><CreateDate>"
			  "2020-01-01T00:00:00Z</CreateDate></member></Groups><IsTruncated>"
			  "false</IsTruncated></ListGroupsForUserResult>"
			  "</ListGroupsForUserResponse>" },
		/* a second read of the tags replaces them */
		{ .body = "Action=ListUserTags&Version=2010-05-08&UserName=bob&MaxItems=1000",
		  .reply_body = "<ListUserTagsResponse " NS "><ListUserTagsResult><Tags>"
				"<member><Key>iamkeys:rotation</Key><Value>garbage</Value></member>"
				"</Tags><IsTruncated>false</IsTruncated></ListUserTagsResult>"
				"</ListUserTagsResponse>" },
	};
	struct us_test *t = us_script(state, steps, ARRAY_SIZE(steps));

	assert_int_equal(user_state_read(t->c, "bob", USER_STATE_TAGS | USER_STATE_GROUPS, &t->st,
					 &t->err),
			 0);
	assert_int_equal(t->st.calls, 2);
	assert_int_equal(t->st.nkeys, 0);
	assert_int_equal(t->st.ntags, 2);
	assert_string_equal(t->st.tags[0].key, "team");
	assert_string_equal(t->st.rotation_value,
			    "v=1 stage=intent old=AKIAAAAAAAAAAAAAAAAA t=20261128T120000Z");
	assert_true(t->st.rotation_valid);
	assert_int_equal(t->st.rotation.stage, STAGE_INTENT);
	assert_string_equal(t->st.rotation.old_key, "AKIAAAAAAAAAAAAAAAAA");
	assert_int_equal(t->st.ngroups, 1);
	assert_string_equal(t->st.groups[0], "admins");
	assert_int_equal(user_state_read(t->c, "bob", USER_STATE_TAGS, &t->st, &t->err), 0);
	assert_string_equal(t->st.rotation_value, "garbage");
	assert_false(t->st.rotation_valid);
	assert_int_equal(t->st.ngroups, 1); /* kept */
}

static void test_api_error(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = KEYS_BODY,
		  .status = 404,
		  .reply_body = "<ErrorResponse " NS "><Error><Type>Sender</Type><Code>NoSuchEntity"
				"</Code><Message>The user with name bob cannot be found.</Message>"
				"</Error><RequestId>r1</RequestId></ErrorResponse>" },
	};
	struct us_test *t = us_script(state, steps, ARRAY_SIZE(steps));

	assert_int_equal(user_state_read(t->c, "bob", USER_STATE_KEYS, &t->st, &t->err), -1);
	assert_string_equal(aws_client_last_error_code(t->c), "NoSuchEntity");
	assert_non_null(strstr(t->err.buf, "cannot be found"));
	assert_int_equal(t->st.nkeys, 0);
}

static const struct CMUnitTest tests[] = {
	US_TEST(test_keys_and_last_use),
	US_TEST(test_unparseable_last_used),
	US_TEST(test_unparseable_last_used_one_key),
	US_TEST(test_unparseable_create_date),
	US_TEST(test_tags_groups_and_rotation),
	US_TEST(test_api_error),
};

UNIT_TEST_MAIN(tests)
