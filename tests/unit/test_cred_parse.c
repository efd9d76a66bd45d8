#include "core/compat.h"
#include "core/awscreds.h"
#include "core/credparse.h"
#include "core/strbuf.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

/*
 * credential_process / container / instance-metadata JSON, and the
 * credential_process command-line splitter (core/credparse.h).
 */

/* cred_json_parse of TEXT into C (what C held is released first), the error emptied first. */
static int parse(enum cred_json_format f, const char *text, struct aws_credentials *c,
		 struct strbuf *err)
{
	strbuf_reset(err);
	aws_credentials_release(c);
	return cred_json_parse(f, text, strlen(text), c, err);
}

/* TEXT (format F) parses into C. */
static void parse_ok(enum cred_json_format f, const char *text, struct aws_credentials *c,
		     struct strbuf *err)
{
	if (parse(f, text, c, err))
		fail_msg("'%s': %s", text, err->buf);
}

static void test_process_version_1(void **state)
{
	struct aws_credentials c = { 0 };
	struct strbuf err = STRBUF_INIT;

	parse_ok(CRED_JSON_PROCESS,
		 " {\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\",\n"
		 "  \"SecretAccessKey\": \"s\\/e\\u00e9\\\"x\", \"SessionToken\": \"tok\","
		 "  \"Expiration\": \"2030-01-02T03:04:05Z\", \"AccountId\": "
		 "\"123456789012\", \"Extra\": {\"a\": [1, 2.5e3, true, null, \"x\"]}}\n",
		 &c, &err);
	assert_string_equal(c.access_key_id, "ASIAPROC");
	assert_string_equal(c.secret_access_key, "s/e\xc3\xa9\"x");
	assert_string_equal(c.session_token, "tok");
	assert_string_equal(c.account_id, "123456789012");
	assert_int_equal(c.expiration, 1893553445);

	/* long-lived: no token, no expiration; null counts as absent; 1.0 is 1 */
	parse_ok(CRED_JSON_PROCESS,
		 "{\"Version\":1.0,\"AccessKeyId\":\"AKIA\",\"SecretAccessKey\":\"s\","
		 "\"SessionToken\":null,\"Expiration\":null}",
		 &c, &err);
	assert_null(c.session_token);
	assert_int_equal(c.expiration, 0);

	/* a surrogate pair */
	parse_ok(CRED_JSON_PROCESS,
		 "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":"
		 "\"\\ud83d\\ude02\"}",
		 &c, &err);
	assert_string_equal(c.secret_access_key, "\xf0\x9f\x98\x82");
	aws_credentials_release(&c);
	strbuf_release(&err);
}

static void test_process_errors(void **state)
{
	static const struct text_case cases[] = {
		{ "", "empty output" },
		{ "  \n", "empty output" },
		{ "[1]", "not a JSON object" },
		{ "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"hunter2\"}",
		  "no Version (it must be 1)" },
		{ "{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"hunter2\"}",
		  "Version is 2, not 1" },
		{ "{\"Version\":\"1\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"hunter2\"}",
		  "Version is not a number" },
		{ "{\"Version\":1,\"SecretAccessKey\":\"hunter2\"}", "no AccessKeyId" },
		{ "{\"Version\":1,\"AccessKeyId\":\"\",\"SecretAccessKey\":\"hunter2\"}",
		  "no AccessKeyId" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\"}", "no SecretAccessKey" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":7}",
		  "SecretAccessKey is not a string" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"hunter2\","
		  "\"Expiration\":\"tomorrow\"}",
		  "Expiration 'tomorrow' is not an ISO 8601 time" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"hunter2\","
		  "\"Expiration\":\"2030-02-30T00:00:00Z\"}",
		  "is not an ISO 8601 time" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\",\"AccessKeyId\":\"B\",\"SecretAccessKey\":"
		  "\"x\"}",
		  "AccessKeyId appears twice" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"hunter2\"",
		  "not valid JSON at offset 58" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"hunter2\"}x",
		  "not valid JSON at offset 59" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"hun\nter2\"}",
		  "not valid JSON" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"a\\u0000b\"}",
		  "not valid JSON" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"\\ud83d\"}",
		  "not valid JSON" },
		{ "{\"Version\":01,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"x\"}",
		  "not valid JSON" },
		{ "{\"Version\":1,,\"AccessKeyId\":\"A\"}", "not valid JSON" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"x\",}",
		  "not valid JSON" },
		{ "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"x\",\"N\":tru}",
		  "not valid JSON" },
	};
	struct strbuf err = STRBUF_INIT, deep = STRBUF_INIT;
	struct aws_credentials c = { 0 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!parse(CRED_JSON_PROCESS, cases[i].in, &c, &err))
			fail_msg("case %zu parsed", i);
		if (!strstr(err.buf, cases[i].want))
			fail_msg("case %zu: '%s' does not say '%s'", i, err.buf, cases[i].want);
		assert_null(strstr(err.buf, "hunter2"));
		assert_null(c.access_key_id);
		assert_null(c.secret_access_key);
	}

	/* nesting is bounded */
	strbuf_addstr(&deep,
		      "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"x\",\"d\":");
	for (i = 0; i < 100; i++)
		strbuf_addch(&deep, '[');
	for (i = 0; i < 100; i++)
		strbuf_addch(&deep, ']');
	strbuf_addch(&deep, '}');
	assert_int_equal(parse(CRED_JSON_PROCESS, deep.buf, &c, &err), -1);
	strbuf_release(&deep);

	/* a NUL byte inside the text is not JSON */
	strbuf_reset(&err);
	assert_int_equal(cred_json_parse(CRED_JSON_PROCESS, "{\"Version\":1\0}", 14, &c, &err), -1);
	strbuf_release(&err);
}

static void test_container_and_imds(void **state)
{
	struct aws_credentials c = { 0 };
	struct strbuf err = STRBUF_INIT;
	char *msg;

	parse_ok(CRED_JSON_CONTAINER,
		 "{\"RoleArn\":\"arn:aws:iam::1:role/task\",\"AccessKeyId\":\"ASIAECS\","
		 "\"SecretAccessKey\":\"s\",\"Token\":\"t\","
		 "\"Expiration\":\"2030-01-02T03:04:05Z\",\"Code\":\"Whatever\"}",
		 &c, &err);
	assert_string_equal(c.access_key_id, "ASIAECS");
	assert_string_equal(c.session_token, "t");
	assert_int_equal(c.expiration, 1893553445);

	parse_ok(CRED_JSON_IMDS,
		 "{\"Code\":\"Success\",\"LastUpdated\":\"2030-01-01T00:00:00Z\","
		 "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":"
		 "\"s\",\"Token\":\"t\",\"Expiration\":\"2030-01-02T03:04:05Z\"}",
		 &c, &err);
	assert_string_equal(c.access_key_id, "ASIAIMDS");
	assert_int_equal(parse(CRED_JSON_IMDS,
			       "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"AccessKeyId\":\"A\","
			       "\"SecretAccessKey\":\"s\"}",
			       &c, &err),
			 -1);
	assert_string_equal(err.buf, "Code is 'AssumeRoleUnauthorizedAccess', not 'Success'");
	/* the process format's names are not the container's */
	parse_ok(CRED_JSON_CONTAINER,
		 "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"x\"}", &c,
		 &err);
	assert_null(c.session_token);
	aws_credentials_release(&c);

	{
		const char *body = "{\"code\":\"x\",\"message\":\"denied\"}";
		assert_int_equal(cred_json_string(body, strlen(body), "message", &msg), 0);
	}
	assert_string_equal(msg, "denied");
	free(msg);
	assert_int_equal(cred_json_string("not json", 8, "message", &msg), -1);
	assert_null(msg);
	assert_int_equal(cred_json_string("{}", 2, "message", &msg), -1);
	strbuf_release(&err);
}

static void expect_argv(const char *line, const char *const *want, size_t n)
{
	struct strbuf err = STRBUF_INIT;
	char **argv;
	size_t argc, i;

	if (cred_argv_split(line, &argv, &argc, &err))
		fail_msg("'%s': %s", line, err.buf);
	assert_int_equal(argc, n);
	for (i = 0; i < n; i++)
		assert_string_equal(argv[i], want[i]);
	assert_null(argv[n]);
	cred_argv_free(argv);
	strbuf_release(&err);
}

static void test_argv_split(void **state)
{
	static const char *const w1[] = { "/usr/bin/creds", "--profile", "prod" };
	static const char *const w2[] = { "my tool", "a b", "c\"d", "e'f", "g\\h", "$HOME", "" };
	static const char *const w3[] = { "x\\y", "ab", "a b" };
	static const char *const w4[] = { "cmd", "*", ";", "|", "&&", "`id`" };
	static const struct text_case bad[] = {
		{ "", "empty command" },
		{ " \t\n", "empty command" },
		{ "cmd 'open", "unterminated ' quote" },
		{ "cmd \"open", "unterminated \" quote" },
		{ "cmd \\", "trailing backslash" },
	};
	struct strbuf err = STRBUF_INIT;
	char **argv;
	size_t argc, i;

	expect_argv("  /usr/bin/creds\t--profile   prod \n", w1, ARRAY_SIZE(w1));
	expect_argv("'my tool' a\\ b \"c\\\"d\" \"e'f\" 'g\\h' '$HOME' ''", w2, ARRAY_SIZE(w2));
	expect_argv("\"x\\y\" a\"b\" \"a \"'b'", w3, ARRAY_SIZE(w3));
	/* no shell: metacharacters are plain words */
	expect_argv("cmd * ; | && `id`", w4, ARRAY_SIZE(w4));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		strbuf_reset(&err);
		assert_int_equal(cred_argv_split(bad[i].in, &argv, &argc, &err), -1);
		assert_string_equal(err.buf, bad[i].want);
		assert_null(argv);
		assert_int_equal(argc, 0);
	}
	cred_argv_free(NULL);
	strbuf_release(&err);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_process_version_1),
	cmocka_unit_test(test_process_errors),
	cmocka_unit_test(test_container_and_imds),
	cmocka_unit_test(test_argv_split),
};

UNIT_TEST_MAIN(tests)
