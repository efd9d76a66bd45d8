#include "core/compat.h"
#include "core/ssotoken.h"
#include "core/awscreds.h"
#include "core/strbuf.h"
#include "core/timeutil.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include <jansson.h>

/*
 * The pure SSO parts: cache file names, the token cache JSON, the
 * refresh decision, the CreateToken request and response, the cache
 * rewrite after a refresh, and the GetRoleCredentials response.
 */

#define ACCESS "aoaAAAAAGV-access-token-SECRET"
#define REFRESH "aorAAAAAGV-refresh-token-SECRET"
#define CLIENT_SECRET "eyJraWQiOiJrZXktY2xpZW50LXNlY3JldA-SECRET"

static time_t at(const char *iso)
{
	time_t t;

	if (iso8601_parse(iso, &t))
		fail_msg("bad time '%s'", iso);
	return t;
}

static void test_cache_file_name(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	/* botocore: sha1(start URL) for legacy profiles, sha1(session name) otherwise */
	assert_int_equal(sso_cache_file_name(&sb, "https://my-sso-portal.awsapps.com/start"), 0);
	assert_string_equal(sb.buf, "c7aaaf71fcc8777ae2475525ed049d39fe16c484.json");
	strbuf_reset(&sb);
	assert_int_equal(sso_cache_file_name(&sb, "my-sso"), 0);
	assert_string_equal(sb.buf, "0ad374308c5a4e22f723adf10145eafad7c4031c.json");
	strbuf_release(&sb);
}

static const char full_token[] =
	"{\"startUrl\": \"https://corp.awsapps.com/start\", \"region\": \"eu-west-1\", "
	"\"accessToken\": \"" ACCESS "\", \"expiresAt\": \"2030-01-31T20:00:00Z\", "
	"\"clientId\": \"client-123\", \"clientSecret\": \"" CLIENT_SECRET "\", "
	"\"registrationExpiresAt\": \"2030-04-01T00:00:00Z\", \"refreshToken\": \"" REFRESH "\"}";

static void test_parse_full_and_minimal(void **state)
{
	struct sso_token t;
	struct strbuf err = STRBUF_INIT;
	json_malloc_t m;
	json_free_t f;

	assert_int_equal(sso_token_parse(full_token, strlen(full_token), &t, &err), 0);
	assert_string_equal(t.access_token, ACCESS);
	assert_true(t.expires_at == at("2030-01-31T20:00:00Z"));
	assert_string_equal(t.refresh_token, REFRESH);
	assert_string_equal(t.client_id, "client-123");
	assert_string_equal(t.client_secret, CLIENT_SECRET);
	assert_true(t.registration_expires_at == at("2030-04-01T00:00:00Z"));
	assert_string_equal(t.region, "eu-west-1");
	assert_string_equal(t.start_url, "https://corp.awsapps.com/start");
	sso_token_release(&t);
	assert_null(t.access_token);

	/* jansson now wipes what it frees: its free function is not plain free */
	json_get_alloc_funcs(&m, &f);
	assert_true(f != free);

	/* legacy: two members; the old CLI's "UTC" suffix; null and "" are absent */
	{
		static const char text[] = "{\"accessToken\": \"tok\", "
					   "\"expiresAt\": \"2030-01-31T20:00:00UTC\", "
					   "\"refreshToken\": null, \"clientId\": \"\"}";

		assert_int_equal(sso_token_parse(text, strlen(text), &t, &err), 0);
		assert_string_equal(t.access_token, "tok");
		assert_true(t.expires_at == at("2030-01-31T20:00:00Z"));
		assert_null(t.refresh_token);
		assert_null(t.client_id);
		assert_null(t.client_secret);
		assert_int_equal(t.registration_expires_at, 0);
		sso_token_release(&t);
	}
	/* fractional seconds and offsets, as ISO 8601 allows */
	{
		static const char text[] = "{\"accessToken\": \"tok\", "
					   "\"expiresAt\": \"2030-01-31T21:00:00.123+01:00\"}";

		assert_int_equal(sso_token_parse(text, strlen(text), &t, &err), 0);
		assert_true(t.expires_at == at("2030-01-31T20:00:00Z"));
		sso_token_release(&t);
	}
	assert_int_equal(err.len, 0);
	sso_token_release(NULL);
	strbuf_release(&err);
}

static void test_parse_errors(void **state)
{
	static const struct text_case cases[] = {
		{ "", "not valid JSON (line 1, column 0)" },
		{ "{\"accessToken\": \"" ACCESS "\"", "not valid JSON" },
		{ "[\"" ACCESS "\"]", "not a JSON object" },
		{ "\"" ACCESS "\"", "not valid JSON" },
		{ "{\"expiresAt\": \"2030-01-31T20:00:00Z\"}", "no accessToken" },
		{ "{\"accessToken\": null, \"expiresAt\": \"2030-01-31T20:00:00Z\"}",
		  "no accessToken" },
		{ "{\"accessToken\": \"\", \"expiresAt\": \"2030-01-31T20:00:00Z\"}",
		  "accessToken is empty" },
		{ "{\"accessToken\": 12, \"expiresAt\": \"2030-01-31T20:00:00Z\"}",
		  "accessToken is not a string" },
		{ "{\"accessToken\": \"a\\r\\nX-Evil: 1\", \"expiresAt\": \"2030-01-31T20:00:00Z\"}",
		  "accessToken has a control character" },
		{ "{\"accessToken\": \"" ACCESS "\"}", "no expiresAt" },
		{ "{\"accessToken\": \"" ACCESS "\", \"expiresAt\": \"" ACCESS "\"}",
		  "expiresAt is not an ISO 8601 time" },
		{ "{\"accessToken\": \"" ACCESS "\", \"expiresAt\": 1700000000}",
		  "expiresAt is not an ISO 8601 time" },
		{ "{\"accessToken\": \"" ACCESS "\", \"expiresAt\": \"2030-02-30T00:00:00Z\"}",
		  "expiresAt is not an ISO 8601 time" },
		{ "{\"accessToken\": \"" ACCESS "\", \"expiresAt\": \"2030-01-31T20:00:00Z\", "
		  "\"refreshToken\": [\"" REFRESH "\"]}",
		  "refreshToken is not a string" },
		{ "{\"accessToken\": \"" ACCESS "\", \"expiresAt\": \"2030-01-31T20:00:00Z\", "
		  "\"registrationExpiresAt\": \"soon\"}",
		  "registrationExpiresAt is not an ISO 8601 time" },
		{ "{\"accessToken\": \"\\u0000" ACCESS
		  "\", \"expiresAt\": \"2030-01-31T20:00:00Z\"}",
		  "not valid JSON" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf err = STRBUF_INIT;
		struct sso_token t;

		assert_int_equal(sso_token_parse(cases[i].in, strlen(cases[i].in), &t, &err), -1);
		if (strncmp(err.buf, cases[i].want, strlen(cases[i].want)))
			fail_msg("case %zu: '%s', want '%s'", i, err.buf, cases[i].want);
		assert_null(strchr(err.buf, '\n'));
		/* secrets are never quoted */
		assert_null(strstr(err.buf, "SECRET"));
		assert_null(t.access_token);
		assert_null(t.refresh_token);
		strbuf_release(&err);
	}
}

static void test_plan(void **state)
{
	static const struct {
		int session;
		long left;		/* expiresAt - now */
		int refreshable;	/* refresh token, client and registration */
		long registration_left; /* registrationExpiresAt - now (0 = absent) */
		enum sso_token_action want;
	} cases[] = {
		{ 1, 3600, 1, 86400, SSO_TOKEN_USE },
		{ 1, 901, 1, 86400, SSO_TOKEN_USE },
		{ 1, 900, 1, 86400, SSO_TOKEN_USE },
		{ 1, 899, 1, 86400, SSO_TOKEN_REFRESH },
		{ 1, 60, 1, 86400, SSO_TOKEN_REFRESH },
		{ 1, -60, 1, 86400, SSO_TOKEN_REFRESH },
		{ 1, -60, 1, -1, SSO_TOKEN_EXPIRED },	 /* the registration expired */
		{ 1, -60, 1, 0, SSO_TOKEN_EXPIRED },	 /* no registrationExpiresAt */
		{ 1, 60, 1, -1, SSO_TOKEN_USE },	 /* cannot refresh: used until it expires */
		{ 1, -60, 0, 86400, SSO_TOKEN_EXPIRED }, /* no refresh token */
		{ 1, 60, 0, 86400, SSO_TOKEN_USE },
		{ 1, 0, 0, 86400, SSO_TOKEN_EXPIRED }, /* expiresAt == now: expired */
		{ 0, 60, 1, 86400, SSO_TOKEN_USE },    /* legacy: never refreshed */
		{ 0, -1, 1, 86400, SSO_TOKEN_EXPIRED },
		{ 0, 3600, 0, 0, SSO_TOKEN_USE },
	};
	time_t now = at("2030-01-01T00:00:00Z");
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sso_token t = { 0 };
		char r[] = REFRESH, id[] = "client", secret[] = CLIENT_SECRET;

		t.expires_at = now + cases[i].left;
		if (cases[i].refreshable) {
			t.refresh_token = r;
			t.client_id = id;
			t.client_secret = secret;
		}
		if (cases[i].registration_left)
			t.registration_expires_at = now + cases[i].registration_left;
		if (sso_token_plan(&t, cases[i].session, now) != cases[i].want)
			fail_msg("case %zu: got %d, want %d", i,
				 (int)sso_token_plan(&t, cases[i].session, now),
				 (int)cases[i].want);
	}
}

static void test_create_token_body(void **state)
{
	struct sso_token t;
	struct strbuf err = STRBUF_INIT, body = STRBUF_INIT;

	assert_int_equal(sso_token_parse(full_token, strlen(full_token), &t, &err), 0);
	assert_int_equal(sso_create_token_body(&body, &t), 0);
	assert_string_equal(body.buf,
			    "{\"clientId\":\"client-123\",\"clientSecret\":\"" CLIENT_SECRET
			    "\",\"grantType\":\"refresh_token\",\"refreshToken\":\"" REFRESH "\"}");
	sso_token_release(&t);
	strbuf_release_secret(&body);

	/* without a refresh token there is no request */
	{
		static const char text[] = "{\"accessToken\": \"tok\", "
					   "\"expiresAt\": \"2030-01-31T20:00:00Z\"}";

		assert_int_equal(sso_token_parse(text, strlen(text), &t, &err), 0);
		assert_int_equal(sso_create_token_body(&body, &t), -1);
		sso_token_release(&t);
	}
	strbuf_release(&body);
	strbuf_release(&err);
}

static void test_create_token_response(void **state)
{
	/* want NULL: the text is valid */
	static const struct text_case cases[] = {
		{ "{\"accessToken\":\"new\",\"tokenType\":\"Bearer\",\"expiresIn\":28800,"
		  "\"refreshToken\":\"r2\",\"idToken\":\"id\"}",
		  NULL },
		{ "{\"accessToken\":\"new\",\"expiresIn\":3600}", NULL },
		{ "{\"expiresIn\":3600}", "no accessToken" },
		{ "{\"accessToken\":\"new\"}", "no expiresIn" },
		{ "{\"accessToken\":\"new\",\"expiresIn\":\"3600\"}", "expiresIn is not a number" },
		{ "{\"accessToken\":\"new\",\"expiresIn\":0}", "expiresIn is not a number" },
		{ "{\"accessToken\":\"new\",\"expiresIn\":-5}", "expiresIn is not a number" },
		{ "{\"accessToken\":\"new\",\"expiresIn\":3600.5}", "expiresIn is not a number" },
		{ "{\"accessToken\":\"new\",\"expiresIn\":99999999999}",
		  "expiresIn is not a number" },
		{ "{\"accessToken\":\"new\",\"expiresIn\":3600,\"refreshToken\":7}",
		  "refreshToken is not a string" },
		{ "{\"accessToken\":\"n\\u0001w\",\"expiresIn\":3600}",
		  "accessToken has a control character" },
		{ "null", "not valid JSON" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf err = STRBUF_INIT;
		struct sso_new_token nt;
		int rc = sso_create_token_parse(cases[i].in, strlen(cases[i].in), &nt, &err);

		if (!cases[i].want) {
			if (rc)
				fail_msg("case %zu: %s", i, err.buf);
			assert_string_equal(nt.access_token, "new");
			assert_true(nt.expires_in == (i == 0 ? 28800 : 3600));
			if (i == 0)
				assert_string_equal(nt.refresh_token, "r2");
			else
				assert_null(nt.refresh_token);
		} else {
			assert_int_equal(rc, -1);
			if (strncmp(err.buf, cases[i].want, strlen(cases[i].want)))
				fail_msg("case %zu: '%s', want '%s'", i, err.buf, cases[i].want);
			assert_null(nt.access_token);
		}
		sso_new_token_release(&nt);
		strbuf_release(&err);
	}
}

static void test_token_update_keeps_other_members(void **state)
{
	static const char old[] =
		"{\"startUrl\": \"https://corp.awsapps.com/start\", \"region\": \"eu-west-1\", "
		"\"accessToken\": \"old\", \"expiresAt\": \"2030-01-01T00:05:00Z\", "
		"\"clientId\": \"client-123\", \"clientSecret\": \"" CLIENT_SECRET "\", "
		"\"registrationExpiresAt\": \"2030-04-01T00:00:00Z\", \"refreshToken\": \"" REFRESH
		"\", \"future\": {\"nested\": [1, 2.5, true, null]}}";
	char access[] = "new-access", refresh[] = "new-refresh";
	struct sso_new_token nt = { access, 28800, refresh };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	time_t now = at("2030-01-01T00:00:00Z");
	struct sso_token t;
	json_t *root, *want;
	json_error_t jerr;

	assert_int_equal(sso_token_update(old, strlen(old), &nt, now, &out, &err), 0);
	root = json_loads(out.buf, 0, &jerr);
	assert_non_null(root);
	want = json_loads(old, 0, &jerr);
	assert_non_null(want);
	json_object_set_new(want, "accessToken", json_string("new-access"));
	json_object_set_new(want, "expiresAt", json_string("2030-01-01T08:00:00Z"));
	json_object_set_new(want, "refreshToken", json_string("new-refresh"));
	assert_true(json_equal(root, want));
	/* the members keep their order: the file reads like the CLI's */
	assert_true(strstr(out.buf, "\"startUrl\"") < strstr(out.buf, "\"accessToken\""));
	assert_true(strstr(out.buf, "\"accessToken\"") < strstr(out.buf, "\"future\""));
	json_decref(root);
	json_decref(want);
	/* and it parses back */
	assert_int_equal(sso_token_parse(out.buf, out.len, &t, &err), 0);
	assert_string_equal(t.access_token, "new-access");
	assert_true(t.expires_at == at("2030-01-01T08:00:00Z"));
	assert_string_equal(t.refresh_token, "new-refresh");
	assert_string_equal(t.client_secret, CLIENT_SECRET);
	sso_token_release(&t);
	strbuf_release_secret(&out);

	/* no refresh token in the response: the old one stays */
	nt.refresh_token = NULL;
	assert_int_equal(sso_token_update(old, strlen(old), &nt, now, &out, &err), 0);
	assert_int_equal(sso_token_parse(out.buf, out.len, &t, &err), 0);
	assert_string_equal(t.refresh_token, REFRESH);
	sso_token_release(&t);
	strbuf_release_secret(&out);

	assert_int_equal(sso_token_update("[1]", 3, &nt, now, &out, &err), -1);
	assert_string_equal(err.buf, "not a JSON object");
	assert_int_equal(out.len, 0);
	strbuf_release(&err);
}

static void test_role_credentials(void **state)
{
	static const char ok[] =
		"{\"roleCredentials\":{\"accessKeyId\":\"ASIAEXAMPLE\",\"secretAccessKey\":\"sk-"
		"SECRET\",\"sessionToken\":\"st-SECRET\",\"expiration\":1893456000123}}";
	static const struct text_case errors[] = {
		{ "{}", "no roleCredentials" },
		{ "{\"roleCredentials\": []}", "roleCredentials is not an object" },
		{ "{\"roleCredentials\":{\"secretAccessKey\":\"s-SECRET\",\"sessionToken\":\"t\","
		  "\"expiration\":1893456000000}}",
		  "no roleCredentials.accessKeyId" },
		{ "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"sessionToken\":\"t-SECRET\","
		  "\"expiration\":1893456000000}}",
		  "no roleCredentials.secretAccessKey" },
		{ "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s-SECRET\","
		  "\"expiration\":1893456000000}}",
		  "no roleCredentials.sessionToken" },
		{ "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s-SECRET\","
		  "\"sessionToken\":\"t-SECRET\"}}",
		  "no roleCredentials.expiration" },
		{ "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s-SECRET\","
		  "\"sessionToken\":\"t-SECRET\",\"expiration\":\"1893456000000\"}}",
		  "roleCredentials.expiration is not a time in epoch milliseconds" },
		{ "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s-SECRET\","
		  "\"sessionToken\":\"t-SECRET\",\"expiration\":999}}",
		  "roleCredentials.expiration is not a time in epoch milliseconds" },
		{ "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s-SECRET\","
		  "\"sessionToken\":\"t-SECRET\",\"expiration\":253402300800000}}",
		  "roleCredentials.expiration is not a time in epoch milliseconds" },
		{ "{\"roleCredentials\":{\"accessKeyId\":\"\",\"secretAccessKey\":\"s-SECRET\","
		  "\"sessionToken\":\"t-SECRET\",\"expiration\":1893456000000}}",
		  "roleCredentials.accessKeyId is empty" },
		{ "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s-SECRET\","
		  "\"sessionToken\":\"t-\\nSECRET\",\"expiration\":1893456000000}}",
		  "roleCredentials.sessionToken has a control character" },
	};
	struct aws_credentials c;
	struct strbuf err = STRBUF_INIT;
	size_t i;

	assert_int_equal(sso_role_credentials_parse(ok, strlen(ok), &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIAEXAMPLE");
	assert_string_equal(c.secret_access_key, "sk-SECRET");
	assert_string_equal(c.session_token, "st-SECRET");
	assert_true(c.expiration == at("2030-01-01T00:00:00Z"));
	assert_null(c.account_id);
	aws_credentials_release(&c);

	for (i = 0; i < ARRAY_SIZE(errors); i++) {
		strbuf_reset(&err);
		assert_int_equal(sso_role_credentials_parse(errors[i].in, strlen(errors[i].in), &c,
							    &err),
				 -1);
		if (strcmp(err.buf, errors[i].want))
			fail_msg("case %zu: '%s', want '%s'", i, err.buf, errors[i].want);
		assert_null(strstr(err.buf, "SECRET"));
		assert_null(c.access_key_id);
		assert_null(c.secret_access_key);
	}
	strbuf_release(&err);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_cache_file_name),
	cmocka_unit_test(test_parse_full_and_minimal),
	cmocka_unit_test(test_parse_errors),
	cmocka_unit_test(test_plan),
	cmocka_unit_test(test_create_token_body),
	cmocka_unit_test(test_create_token_response),
	cmocka_unit_test(test_token_update_keeps_other_members),
	cmocka_unit_test(test_role_credentials),
};

UNIT_TEST_MAIN(tests)
