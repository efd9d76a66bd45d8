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

static const char *const no_env[] = { NULL };

static time_t fixed_now(void)
{
	return 1780000000;
}

static struct aws_client *client(const struct fake_step *steps, size_t n)
{
	return fake_client_new(steps, n, no_env, fixed_now, NULL, NULL, NULL);
}

static void done(struct aws_client *c)
{
	fake_transport_assert_done(c->http);
	aws_client_free(c);
}

static void test_keys_and_last_use(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = KEYS_BODY,
		  .reply_body =
			  LIST_KEYS(KEY("AKIA1", "Active", "2026-01-02T03:04:05Z")
					    KEY("AKIA2", "Inactive", "2025-01-01T00:00:00Z")) },
		{ .body = LU_BODY("AKIA1"), .reply_body = LAST_USED(USED("2026-05-01T00:00:00Z")) },
		{ .body = LU_BODY("AKIA2"), .reply_body = LAST_USED(NEVER) },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct user_state st = USER_STATE_INIT;
	struct strbuf err = STRBUF_INIT, sum = STRBUF_INIT;
	time_t t;

	(void)state;
	assert_int_equal(user_state_read(c, "bob", USER_STATE_LAST_USED, &st, &err), 0);
	assert_string_equal(st.user, "bob");
	assert_int_equal(st.nkeys, 2);
	assert_int_equal(st.calls, 3);
	assert_string_equal(st.keys[0].id, "AKIA1");
	assert_true(st.keys[0].active);
	assert_int_equal(iso8601_parse("2026-01-02T03:04:05Z", &t), 0);
	assert_int_equal(st.keys[0].created, t);
	assert_true(st.keys[0].last_used_read);
	assert_int_equal(iso8601_parse("2026-05-01T00:00:00Z", &t), 0);
	assert_int_equal(st.keys[0].last_used, t);
	assert_string_equal(st.keys[0].service, "s3");
	assert_string_equal(st.keys[0].region, "eu-west-1");
	/* N/A: never used, and absent */
	assert_false(st.keys[1].active);
	assert_string_equal(st.keys[1].status, "Inactive");
	assert_true(st.keys[1].last_used_read);
	assert_int_equal(st.keys[1].last_used, 0);
	assert_null(st.keys[1].service);
	assert_null(st.keys[1].region);
	assert_ptr_equal(user_state_find_key(&st, "AKIA2"), &st.keys[1]);
	assert_null(user_state_find_key(&st, "AKIA3"));
	user_state_keys_summary(&sum, &st);
	assert_string_equal(sum.buf, "AKIA1:Active,AKIA2:Inactive");
	assert_null(st.tags);
	assert_null(st.groups);
	user_state_release(&st);
	done(c);
	strbuf_release(&err);
	strbuf_release(&sum);
}

static void test_unparseable_last_used(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = KEYS_BODY,
		  .reply_body = LIST_KEYS(KEY("AKIA1", "Active", "2026-01-02T03:04:05Z")) },
		{ .body = LU_BODY("AKIA1"), .reply_body = LAST_USED(USED("last tuesday")) },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct user_state st = USER_STATE_INIT;
	struct strbuf err = STRBUF_INIT;

	(void)state;
	assert_int_equal(user_state_read(c, "bob", USER_STATE_LAST_USED, &st, &err),
			 USER_STATE_INVALID);
	assert_string_equal(err.buf, "unparseable LastUsedDate 'last tuesday' of key AKIA1 "
				     "(GetAccessKeyLastUsed)");
	/* nothing half-read is left to decide on */
	assert_int_equal(st.nkeys, 0);
	assert_null(st.keys);
	user_state_release(&st);
	done(c);
	strbuf_release(&err);
}

static void test_unparseable_last_used_one_key(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = KEYS_BODY,
		  .reply_body = LIST_KEYS(KEY("AKIA1", "Active", "2026-01-02T03:04:05Z")) },
		{ .body = LU_BODY("AKIA1"), .reply_body = LAST_USED(USED("2026-13-45T00:00:00Z")) },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct user_state st = USER_STATE_INIT;
	struct strbuf err = STRBUF_INIT;

	(void)state;
	assert_int_equal(user_state_read(c, "bob", USER_STATE_KEYS, &st, &err), 0);
	assert_false(st.keys[0].last_used_read);
	assert_int_equal(user_state_read_last_used(c, &st, 0, &err), USER_STATE_INVALID);
	assert_string_equal(err.buf, "unparseable LastUsedDate '2026-13-45T00:00:00Z' of key "
				     "AKIA1 (GetAccessKeyLastUsed)");
	assert_false(st.keys[0].last_used_read);
	assert_int_equal(st.keys[0].last_used, 0);
	assert_null(st.keys[0].service);
	user_state_release(&st);
	done(c);
	strbuf_release(&err);
}

static void test_unparseable_create_date(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = KEYS_BODY,
		  .reply_body = LIST_KEYS(KEY("AKIA1", "Active", "2026-01-02T03:04:05Z")
						  KEY("AKIA2", "Active", "yesterday")) },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct user_state st = USER_STATE_INIT;
	struct strbuf err = STRBUF_INIT;

	(void)state;
	/* the last-use calls are not made: the keys already failed */
	assert_int_equal(user_state_read(c, "bob", USER_STATE_LAST_USED, &st, &err),
			 USER_STATE_INVALID);
	assert_string_equal(err.buf,
			    "unparseable CreateDate 'yesterday' of key AKIA2 (ListAccessKeys)");
	assert_int_equal(st.nkeys, 0);
	user_state_release(&st);
	done(c);
	strbuf_release(&err);
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
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct user_state st = USER_STATE_INIT;
	struct strbuf err = STRBUF_INIT;

	(void)state;
	assert_int_equal(user_state_read(c, "bob", USER_STATE_TAGS | USER_STATE_GROUPS, &st, &err),
			 0);
	assert_int_equal(st.calls, 2);
	assert_int_equal(st.nkeys, 0);
	assert_int_equal(st.ntags, 2);
	assert_string_equal(st.tags[0].key, "team");
	assert_string_equal(st.rotation_value,
			    "v=1 stage=intent old=AKIAAAAAAAAAAAAAAAAA t=20261128T120000Z");
	assert_true(st.rotation_valid);
	assert_int_equal(st.rotation.stage, STAGE_INTENT);
	assert_string_equal(st.rotation.old_key, "AKIAAAAAAAAAAAAAAAAA");
	assert_int_equal(st.ngroups, 1);
	assert_string_equal(st.groups[0], "admins");
	assert_int_equal(user_state_read(c, "bob", USER_STATE_TAGS, &st, &err), 0);
	assert_string_equal(st.rotation_value, "garbage");
	assert_false(st.rotation_valid);
	assert_int_equal(st.ngroups, 1); /* kept */
	user_state_release(&st);
	done(c);
	strbuf_release(&err);
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
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct user_state st = USER_STATE_INIT;
	struct strbuf err = STRBUF_INIT;

	(void)state;
	assert_int_equal(user_state_read(c, "bob", USER_STATE_KEYS, &st, &err), -1);
	assert_string_equal(aws_client_last_error_code(c), "NoSuchEntity");
	assert_non_null(strstr(err.buf, "cannot be found"));
	assert_int_equal(st.nkeys, 0);
	user_state_release(&st);
	done(c);
	strbuf_release(&err);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_keys_and_last_use),
	cmocka_unit_test(test_unparseable_last_used),
	cmocka_unit_test(test_unparseable_last_used_one_key),
	cmocka_unit_test(test_unparseable_create_date),
	cmocka_unit_test(test_tags_groups_and_rotation),
	cmocka_unit_test(test_api_error),
};

UNIT_TEST_MAIN(tests)
