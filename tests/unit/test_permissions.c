#include "core/compat.h"
#include "core/permissions.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

static const char *policy_text(const char *command, const char *sink, int org)
{
	static char buf[8192];
	struct strbuf err = STRBUF_INIT;
	json_t *doc = permissions_policy(command, sink, org, 0, NULL, &err);
	char *s;

	assert_non_null(doc);
	assert_int_equal(err.len, 0);
	s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	json_decref(doc);
	strbuf_release(&err);
	return buf;
}

static void test_table_is_consistent(void **state)
{
	const struct permission *p, *q;
	for (p = permissions; p->scope; p++) {
		assert_non_null(p->action);
		assert_non_null(p->resource);
		assert_non_null(p->when);
		assert_non_null(strchr(p->action, ':'));
		if (!strncmp(p->scope, "sink:", 5)) {
			const struct sink_scheme *k;
			size_t len = strlen(p->scope + 5);
			if (len > 4 && !strcmp(p->scope + 5 + len - 4, "-arn"))
				len -= 4; /* the sink given as an ARN */
			for (k = sink_schemes; k->scheme; k++)
				if (strlen(k->scheme) == len &&
				    !strncmp(k->scheme, p->scope + 5, len))
					break;
			assert_non_null(k->scheme);
			assert_string_equal(p->resource, "{sink}");
		} else {
			assert_string_not_equal(p->resource, "{sink}");
		}
		/* an optional action says what happens without it */
		if (p->flags & PERM_FALLBACK)
			assert_non_null(p->note);
		for (q = p + 1; q->scope; q++)
			assert_false(!strcmp(p->scope, q->scope) && !strcmp(p->action, q->action));
	}
}

static void test_users(void **state)
{
	assert_string_equal(policy_text("users", NULL, 0),
			    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
			    "\"Action\":[\"iam:ListUsers\"],\"Resource\":\"*\"}]}");
}

static void test_sink_patterns(void **state)
{
	assert_non_null(strstr(policy_text("create", "secretsmanager:a/{user}/b", 0),
			       "\"Resource\":\"arn:aws:secretsmanager:*:*:secret:a/*/b-??????\""));
	assert_non_null(strstr(policy_text("rotate", "ssm:/x/{account}-{user}", 0),
			       "\"Resource\":\"arn:aws:ssm:*:*:parameter/x/*-*\""));
	assert_non_null(strstr(policy_text("rotate", "ssm:plain", 0),
			       "\"Resource\":\"arn:aws:ssm:*:*:parameter/plain\""));
	/* local sinks call no AWS API */
	{
		char *plain = xstrdup(policy_text("create", NULL, 0));
		assert_string_equal(policy_text("create", "exec:/bin/true", 0), plain);
		assert_string_equal(policy_text("create", "-", 0), plain);
		assert_string_equal(policy_text("create", "file:/x/{user}", 0), plain);
		free(plain);
	}
}

static void test_org_and_sorting(void **state)
{
	const char *t = policy_text("users", NULL, 1);
	assert_non_null(strstr(t, "\"Action\":[\"iam:ListUsers\",\"organizations:ListAccounts\"]"));
	assert_non_null(strstr(t, "\"Action\":[\"sts:AssumeRole\"],\"Resource\":"
				  "\"arn:aws:iam::*:role/OrganizationAccountAccessRole\""));
}

static void test_errors(void **state)
{
	static const struct {
		const char *command, *sink, *want;
	} cases[] = {
		{ "nope", NULL, "unknown command 'nope'" },
		{ "audit", "file:x", "'audit' takes no sink (--to is for create and rotate)" },
		{ "create", "s3:bucket",
		  "unknown sink 's3:bucket' (use file:PATH, profile:NAME[@FILE], "
		  "secretsmanager:NAME, ssm:NAME, exec:COMMAND or -)" },
		{ "create", "secretsmanager:", "secretsmanager:: empty target" },
	};
	size_t i;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf err = STRBUF_INIT;
		assert_null(permissions_policy(cases[i].command, cases[i].sink, 0, 0, NULL, &err));
		assert_string_equal(err.buf, cases[i].want);
		strbuf_release(&err);
	}
	assert_int_equal(permissions_know_command("rollback"), 1);
	assert_int_equal(permissions_know_command("org"), 0);
	assert_int_equal(permissions_know_command("sink:ssm"), 0);
	assert_int_equal(permissions_know_command("help"), 0);
}

/* --root: delete --root calls only AssumeRoot and ListOrganizationsFeatures (and
 * ListAccounts with --org, no AssumeRole); audit adds them to its own */
static void test_root_modes(void **state)
{
	struct strbuf err = STRBUF_INIT;
	json_t *doc;
	char *s;

	(void)state;
	doc = permissions_policy("delete", NULL, 1, 1, NULL, &err);
	assert_non_null(doc);
	s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s,
			    "{\"Version\":\"2012-10-17\",\"Statement\":["
			    "{\"Effect\":\"Allow\",\"Action\":[\"iam:ListOrganizationsFeatures\","
			    "\"organizations:ListAccounts\"],\"Resource\":\"*\"},"
			    "{\"Effect\":\"Allow\",\"Action\":[\"sts:AssumeRoot\"],"
			    "\"Resource\":\"arn:aws:iam::*:root\"}]}");
	free(s);
	json_decref(doc);
	doc = permissions_policy("audit", NULL, 0, 1, NULL, &err);
	s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(strstr(s, "\"iam:GenerateCredentialReport\""));
	assert_non_null(strstr(s, "\"iam:ListOrganizationsFeatures\""));
	assert_non_null(strstr(s, "\"Action\":[\"sts:AssumeRoot\"]"));
	free(s);
	json_decref(doc);
	/* without --root neither appears */
	assert_null(strstr(policy_text("delete", NULL, 1), "AssumeRoot"));
	assert_null(strstr(policy_text(NULL, NULL, 1), "ListOrganizationsFeatures"));
	assert_null(permissions_policy("users", NULL, 0, 1, NULL, &err));
	assert_string_equal(err.buf, "'users' has no root access key mode (--root is for delete "
				     "and audit)");
	assert_int_equal(permissions_know_command("root"), 0);
	strbuf_release(&err);
}

/* --lock dynamodb:TABLE: the lease calls on that table, nothing else added */
static void test_lock_table(void **state)
{
	struct strbuf err = STRBUF_INIT;
	json_t *doc = permissions_policy("users", NULL, 0, 0, "iamkeys-locks", &err);
	char *s;

	(void)state;
	assert_non_null(doc);
	s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, "{\"Version\":\"2012-10-17\",\"Statement\":["
			       "{\"Effect\":\"Allow\",\"Action\":[\"iam:ListUsers\"],"
			       "\"Resource\":\"*\"},"
			       "{\"Effect\":\"Allow\",\"Action\":[\"dynamodb:DeleteItem\","
			       "\"dynamodb:GetItem\",\"dynamodb:PutItem\",\"dynamodb:UpdateItem\"],"
			       "\"Resource\":\"arn:aws:dynamodb:*:*:table/iamkeys-locks\"}]}");
	free(s);
	json_decref(doc);
	assert_int_equal(permissions_know_command("lock:dynamodb"), 0);
	strbuf_release(&err);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_table_is_consistent),
	cmocka_unit_test(test_users),
	cmocka_unit_test(test_sink_patterns),
	cmocka_unit_test(test_org_and_sorting),
	cmocka_unit_test(test_errors),
	cmocka_unit_test(test_lock_table),
	cmocka_unit_test(test_root_modes),
};

UNIT_TEST_MAIN(tests)
