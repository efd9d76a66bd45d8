#include "core/compat.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "core/strbuf.h"
#include "fake_transport.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include "testdata.h"
#include <jansson.h>

/*
 * The IAM Identity Center (SSO) provider through the profile provider,
 * against the scripted fake transport and a fake clock: legacy and
 * sso-session profiles, the token cache in $HOME/.aws/sso/cache, refresh
 * with CreateToken and the cache rewrite, the fallbacks and errors, the
 * endpoint overrides, and an SSO profile as the source of a role.
 */

#define NOW 1893456000 /* 2030-01-01T00:00:00Z */
#define START_URL "https://corp.awsapps.com/start"
/* sha1("https://corp.awsapps.com/start"), sha1("corp") */
#define LEGACY_FILE ".aws/sso/cache/a51746d4aa793ae07b25e90c3a5db96fc7832bd7.json"
#define SESSION_FILE ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json"
#define PORTAL "https://portal.sso.eu-west-1.amazonaws.com/federation/credentials"
#define OIDC "https://oidc.eu-west-1.amazonaws.com/token"
#define QUERY "?account_id=111111111111&role_name=ReadOnly"
#define ACCESS "sso-access-token-SECRET"
#define REFRESH "sso-refresh-token-SECRET"
#define CLIENT_SECRET "sso-client-secret-SECRET"

#define CONFIG                                                                                     \
	"[profile legacy]\nsso_start_url = " START_URL "\nsso_region = eu-west-1\n"                \
	"sso_account_id = 111111111111\nsso_role_name = ReadOnly\n"                                \
	"[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\n"                       \
	"sso_role_name = ReadOnly\nregion = us-west-2\n"                                           \
	"[profile audit]\nrole_arn = arn:aws:iam::222222222222:role/Auditor\n"                     \
	"source_profile = dev\nrole_session_name = me\n"                                           \
	"[sso-session corp]\nsso_start_url = " START_URL "\nsso_region = eu-west-1\n"              \
	"sso_registration_scopes = sso:account:access\n"

#define ROLE_CREDS(key, exp_ms)                                                                    \
	"{\"roleCredentials\":{\"accessKeyId\":\"" key "\",\"secretAccessKey\":\"secret-" key      \
	"\",\"sessionToken\":\"token-" key "\",\"expiration\":" exp_ms "}}"

#define UNAUTHORIZED "{\"message\":\"Session token not found or invalid\"}"

static time_t fake_now(void)
{
	return NOW;
}

/* A temporary home with .aws/config and .aws/sso/cache. */
struct home {
	char dir[64];
};

static void path_of(struct strbuf *sb, const struct home *h, const char *rel)
{
	strbuf_reset(sb);
	strbuf_addf(sb, "%s/%s", h->dir, rel);
}

static void home_write(const struct home *h, const char *rel, const char *text)
{
	struct strbuf p = STRBUF_INIT;
	FILE *f;

	path_of(&p, h, rel);
	f = fopen(p.buf, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p.buf, 0600), 0);
	strbuf_release(&p);
}

/* The file's text (the caller frees), or NULL when it does not exist. */
static char *home_read(const struct home *h, const char *rel, mode_t *mode)
{
	struct strbuf p = STRBUF_INIT, text = STRBUF_INIT;
	struct stat st;

	path_of(&p, h, rel);
	if (test_read_file(p.buf, &text)) {
		strbuf_release(&p);
		strbuf_release(&text);
		return NULL;
	}
	if (mode) {
		assert_int_equal(stat(p.buf, &st), 0);
		*mode = st.st_mode & 07777;
	}
	strbuf_release(&p);
	return strbuf_detach(&text, NULL);
}

static void home_init(struct home *h)
{
	struct strbuf p = STRBUF_INIT;

	snprintf(h->dir, sizeof(h->dir), "/tmp/iamkeys-sso-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	path_of(&p, h, ".aws");
	assert_int_equal(mkdir(p.buf, 0700), 0);
	path_of(&p, h, ".aws/sso");
	assert_int_equal(mkdir(p.buf, 0700), 0);
	path_of(&p, h, ".aws/sso/cache");
	assert_int_equal(mkdir(p.buf, 0700), 0);
	strbuf_release(&p);
	home_write(h, ".aws/config", CONFIG);
}

static void home_release(struct home *h)
{
	static const char *const files[] = { LEGACY_FILE, SESSION_FILE, ".aws/config" };
	static const char *const dirs[] = { ".aws/sso/cache", ".aws/sso", ".aws" };
	struct strbuf p = STRBUF_INIT;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		path_of(&p, h, files[i]);
		remove(p.buf);
	}
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		path_of(&p, h, dirs[i]);
		rmdir(p.buf);
	}
	rmdir(h->dir);
	strbuf_release(&p);
}

/* Every transport a provider makes forwards to one fake. */
static struct http_transport *forward_new(void *ctx, const struct http_options *opts)
{
	return fake_forward_new(ctx);
}

/* Runs the profile provider for profile against steps; returns get's result. */
struct run {
	struct home h;
	char *vars[8];
	struct http_transport *fake;
	struct cred_provider *p;
	struct aws_credentials c;
	struct strbuf err;
};

static void run_start(struct run *r, const struct fake_step *steps, size_t n, const char *profile,
		      const char *extra_env)
{
	struct cred_env env;
	struct strbuf home = STRBUF_INIT;

	memset(&r->c, 0, sizeof(r->c));
	strbuf_init(&r->err, 0);
	strbuf_addf(&home, "HOME=%s", r->h.dir);
	r->vars[0] = strbuf_detach(&home, NULL);
	r->vars[1] = xstrdup("AWS_MAX_ATTEMPTS=1");
	r->vars[2] = extra_env ? xstrdup(extra_env) : NULL;
	r->vars[3] = NULL;
	r->fake = fake_transport_new(steps, n);
	memset(&env, 0, sizeof(env));
	env.getenv_fn = fake_getenv;
	env.ctx = r->vars;
	env.profile = profile;
	env.region = "us-east-1"; /* --region: never the SSO region */
	env.now = fake_now;
	env.http_new = forward_new;
	env.http_ctx = r->fake;
	r->p = cred_provider_profile_new(&env);
}

static int run_get(struct run *r)
{
	strbuf_reset(&r->err);
	aws_credentials_release(&r->c);
	return cred_provider_get(r->p, &r->c, &r->err);
}

static void run_end(struct run *r)
{
	size_t i;

	fake_transport_assert_done(r->fake);
	cred_provider_destroy(r->p);
	http_transport_destroy(r->fake);
	aws_credentials_release(&r->c);
	strbuf_release(&r->err);
	for (i = 0; i < 3; i++)
		free(r->vars[i]);
}

/* run_start, then the credentials are got: those of the key want. */
static void run_ok(struct run *r, const struct fake_step *steps, size_t n, const char *profile,
		   const char *extra_env, const char *want)
{
	run_start(r, steps, n, profile, extra_env);
	assert_int_equal(run_get(r), 0);
	assert_string_equal(r->c.access_key_id, want);
}

static void test_legacy_profile(void **state)
{
	static const struct fake_step steps[] = {
		{ .method = "GET",
		  .url = PORTAL QUERY,
		  .headers = { "x-amz-sso_bearer_token: " ACCESS },
		  .headers_absent = { "Authorization", "X-Amz-Date", "Content-Type" },
		  .reply_headers = { "Content-Type: application/json" },
		  .reply_body = ROLE_CREDS("ASIASSO1", "1893459600000") },
	};
	struct run r;

	home_init(&r.h);
	home_write(&r.h, LEGACY_FILE,
		   "{\"startUrl\": \"" START_URL "\", \"region\": \"eu-west-1\", \"accessToken\": "
		   "\"" ACCESS "\", \"expiresAt\": \"2030-01-01T08:00:00Z\"}");
	run_ok(&r, steps, ARRAY_SIZE(steps), "legacy", NULL, "ASIASSO1");
	assert_string_equal(r.c.secret_access_key, "secret-ASIASSO1");
	assert_string_equal(r.c.session_token, "token-ASIASSO1");
	assert_int_equal(r.c.expiration, NOW + 3600);
	assert_string_equal(r.c.account_id, "111111111111");
	/* cached: no second request */
	assert_int_equal(run_get(&r), 0);
	assert_string_equal(r.c.access_key_id, "ASIASSO1");
	assert_int_equal(fake_transport_count(r.fake), 1);
	run_end(&r);
	home_release(&r.h);
}

#define SESSION_TOKEN(expires)                                                                     \
	"{\"startUrl\": \"" START_URL "\", \"region\": \"eu-west-1\", \"accessToken\": \"" ACCESS  \
	"\", \"expiresAt\": \"" expires                                                            \
	"\", \"clientId\": \"client-1\", \"clientSecret\": \"" CLIENT_SECRET                       \
	"\", \"registrationExpiresAt\": \"2030-03-01T00:00:00Z\", "                                \
	"\"refreshToken\": \"" REFRESH "\", \"extra\": {\"kept\": [1, \"two\"]}}"

static void test_session_refresh_rewrites_cache(void **state)
{
	static const struct fake_step steps[] = {
		{ .method = "POST",
		  .url = OIDC,
		  .body = "{\"clientId\":\"client-1\",\"clientSecret\":\"" CLIENT_SECRET
			  "\",\"grantType\":\"refresh_token\",\"refreshToken\":\"" REFRESH "\"}",
		  .headers = { "Content-Type: application/json" },
		  .headers_absent = { "Authorization", "x-amz-sso_bearer_token" },
		  .reply_body = "{\"accessToken\":\"new-access-SECRET\",\"tokenType\":\"Bearer\","
				"\"expiresIn\":28800,\"refreshToken\":\"new-refresh-SECRET\"}" },
		{ .method = "GET",
		  .url = PORTAL QUERY,
		  .headers = { "x-amz-sso_bearer_token: new-access-SECRET" },
		  .reply_body = ROLE_CREDS("ASIASSO2", "1893459600000") },
	};
	json_t *got;
	json_error_t jerr;
	mode_t mode = 0;
	char *text;
	struct run r;

	home_init(&r.h);
	/* 10 minutes left: inside the 15-minute window */
	home_write(&r.h, SESSION_FILE, SESSION_TOKEN("2030-01-01T00:10:00Z"));
	run_ok(&r, steps, ARRAY_SIZE(steps), "dev", NULL, "ASIASSO2");
	text = home_read(&r.h, SESSION_FILE, &mode);
	assert_non_null(text);
	assert_int_equal(mode, 0600);
	got = json_loads(text, 0, &jerr);
	assert_non_null(got);
	assert_string_equal(json_string_value(json_object_get(got, "accessToken")),
			    "new-access-SECRET");
	assert_string_equal(json_string_value(json_object_get(got, "expiresAt")),
			    "2030-01-01T08:00:00Z");
	assert_string_equal(json_string_value(json_object_get(got, "refreshToken")),
			    "new-refresh-SECRET");
	assert_string_equal(json_string_value(json_object_get(got, "clientSecret")), CLIENT_SECRET);
	assert_string_equal(json_string_value(json_object_get(got, "startUrl")), START_URL);
	assert_string_equal(json_string_value(json_object_get(got, "registrationExpiresAt")),
			    "2030-03-01T00:00:00Z");
	assert_int_equal(json_array_size(json_object_get(json_object_get(got, "extra"), "kept")),
			 2);
	json_decref(got);
	free(text);
	run_end(&r);
	home_release(&r.h);
}

/* CreateToken refusing the cached refresh token */
#define REFRESH_REFUSED                                                                            \
	{                                                                                          \
		.method = "POST", .url = OIDC, .status = 400,                                      \
		.reply_headers = { "x-amzn-ErrorType: InvalidGrantException" },                    \
		.reply_body =                                                                      \
			"{\"error\":\"invalid_grant\",\"error_description\":\"Invalid refresh "    \
			"token provided\"}"                                                        \
	}

static void test_refresh_failure_fallbacks(void **state)
{
	static const struct fake_step still_valid[] = {
		REFRESH_REFUSED,
		/* the old token, still valid for 10 minutes */
		{ .method = "GET",
		  .url = PORTAL QUERY,
		  .headers = { "x-amz-sso_bearer_token: " ACCESS },
		  .reply_body = ROLE_CREDS("ASIASSO3", "1893459600000") },
	};
	static const struct fake_step expired[] = {
		REFRESH_REFUSED,
	};
	char *before, *after;
	struct run r;

	home_init(&r.h);
	home_write(&r.h, SESSION_FILE, SESSION_TOKEN("2030-01-01T00:10:00Z"));
	before = home_read(&r.h, SESSION_FILE, NULL);
	run_ok(&r, still_valid, ARRAY_SIZE(still_valid), "dev", NULL, "ASIASSO3");
	after = home_read(&r.h, SESSION_FILE, NULL);
	assert_string_equal(before, after); /* nothing written */
	free(after);
	run_end(&r);

	/* expired and not refreshable: an error, no GetRoleCredentials, the file unchanged */
	home_write(&r.h, SESSION_FILE, SESSION_TOKEN("2029-12-31T23:00:00Z"));
	free(before);
	before = home_read(&r.h, SESSION_FILE, NULL);
	run_start(&r, expired, ARRAY_SIZE(expired), "dev", NULL);
	assert_int_equal(run_get(&r), -1);
	assert_string_equal(r.err.buf,
			    "profile 'dev': the SSO token for sso-session 'corp' expired at "
			    "2029-12-31T23:00:00Z and could not be refreshed (CreateToken: "
			    "InvalidGrantException: Invalid refresh token provided); run 'aws sso "
			    "login --profile dev'");
	assert_null(strstr(r.err.buf, "SECRET"));
	after = home_read(&r.h, SESSION_FILE, NULL);
	assert_string_equal(before, after);
	free(after);
	free(before);
	run_end(&r);
	home_release(&r.h);
}

static void test_errors_before_any_request(void **state)
{
	static const struct {
		const char *profile;
		const char *file; /* NULL = no cache file */
		const char *text;
		const char *want; /* '~' is the home directory */
	} cases[] = {
		{ "legacy", NULL, NULL,
		  "profile 'legacy': no cached SSO token for sso_start_url " START_URL
		  " (no file '~/" LEGACY_FILE "'); run 'aws sso login --profile legacy'" },
		{ "dev", NULL, NULL,
		  "profile 'dev': no cached SSO token for sso-session 'corp' (no file '~/" SESSION_FILE
		  "'); run 'aws sso login --profile dev'" },
		{ "legacy", LEGACY_FILE,
		  "{\"accessToken\": \"" ACCESS "\", \"expiresAt\": \"2029-12-31T23:59:59Z\"}",
		  "profile 'legacy': the SSO token for sso_start_url " START_URL
		  " expired at 2029-12-31T23:59:59Z; run 'aws sso login --profile legacy'" },
		/* legacy tokens are never refreshed, even with a refresh token */
		{ "legacy", LEGACY_FILE,
		  "{\"accessToken\": \"" ACCESS "\", \"expiresAt\": \"2029-12-31T23:59:59Z\", "
		  "\"refreshToken\": \"" REFRESH
		  "\", \"clientId\": \"c\", \"clientSecret\": \"s\", "
		  "\"registrationExpiresAt\": \"2030-06-01T00:00:00Z\"}",
		  "profile 'legacy': the SSO token for sso_start_url " START_URL
		  " expired at 2029-12-31T23:59:59Z; run 'aws sso login --profile legacy'" },
		/* no refresh token: expired is expired */
		{ "dev", SESSION_FILE,
		  "{\"accessToken\": \"" ACCESS "\", \"expiresAt\": \"2029-12-31T00:00:00Z\"}",
		  "profile 'dev': the SSO token for sso-session 'corp' expired at "
		  "2029-12-31T00:00:00Z; run 'aws sso login --profile dev'" },
		{ "dev", SESSION_FILE, "{\"accessToken\": \"" ACCESS "\", ",
		  "profile 'dev': the SSO token cache file '~/" SESSION_FILE
		  "' is invalid: not valid JSON (line 1, column 43); run 'aws sso login --profile dev'" },
		{ "dev", SESSION_FILE, "{\"accessToken\": \"" ACCESS "\"}",
		  "profile 'dev': the SSO token cache file '~/" SESSION_FILE
		  "' is invalid: no expiresAt; run 'aws sso login --profile dev'" },
		/* as the source of a role: the SSO profile is named */
		{ "audit", NULL, NULL,
		  "profile 'dev': no cached SSO token for sso-session 'corp' (no file '~/" SESSION_FILE
		  "'); run 'aws sso login --profile dev'" },
	};
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf want = STRBUF_INIT;
		struct run r;

		home_init(&r.h);
		if (cases[i].file)
			home_write(&r.h, cases[i].file, cases[i].text);
		run_start(&r, NULL, 0, cases[i].profile, NULL);
		assert_int_equal(run_get(&r), -1);
		for (j = 0; cases[i].want[j]; j++)
			if (cases[i].want[j] == '~')
				strbuf_addstr(&want, r.h.dir);
			else
				strbuf_addch(&want, cases[i].want[j]);
		if (strcmp(r.err.buf, want.buf))
			fail_msg("case %zu:\n got '%s'\nwant '%s'", i, r.err.buf, want.buf);
		assert_null(strstr(r.err.buf, "SECRET"));
		assert_int_equal(fake_transport_count(r.fake), 0);
		run_end(&r);
		home_release(&r.h);
		strbuf_release(&want);
	}
}

static void test_portal_errors(void **state)
{
	static const struct fake_step unauthorized[] = {
		{ .url = PORTAL QUERY,
		  .status = 401,
		  .reply_headers = { "x-amzn-ErrorType: UnauthorizedException",
				     "x-amzn-RequestId: req-401" },
		  .reply_body = UNAUTHORIZED },
	};
	static const struct fake_step forbidden[] = {
		{ .url = PORTAL QUERY,
		  .status = 403,
		  .reply_headers = { "x-amzn-ErrorType: ForbiddenException" },
		  .reply_body = "{\"message\":\"No access\"}" },
	};
	static const struct fake_step malformed[] = {
		{ .url = PORTAL QUERY,
		  .reply_body = "{\"roleCredentials\":{\"accessKeyId\":\"A\"}}" },
	};
	static const struct {
		const struct fake_step *steps;
		size_t n;
		const char *want;
	} refused[] = {
		{ unauthorized, ARRAY_SIZE(unauthorized),
		  "profile 'legacy' (sso_account_id 111111111111, sso_role_name ReadOnly): "
		  "GetRoleCredentials: UnauthorizedException: Session token not found or "
		  "invalid (request id req-401) (the SSO token was refused); run 'aws sso "
		  "login --profile legacy'" },
		{ forbidden, ARRAY_SIZE(forbidden),
		  "profile 'legacy' (sso_account_id 111111111111, sso_role_name ReadOnly): "
		  "GetRoleCredentials: ForbiddenException: No access (is the role assigned "
		  "to you in account 111111111111?)" },
	};
	struct run r;
	size_t i;

	home_init(&r.h);
	home_write(&r.h, LEGACY_FILE,
		   "{\"accessToken\": \"" ACCESS "\", \"expiresAt\": \"2030-01-01T08:00:00Z\"}");

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		run_start(&r, refused[i].steps, refused[i].n, "legacy", NULL);
		assert_int_equal(run_get(&r), -1);
		assert_string_equal(r.err.buf, refused[i].want);
		run_end(&r);
	}

	run_start(&r, malformed, ARRAY_SIZE(malformed), "legacy", NULL);
	assert_int_equal(run_get(&r), -1);
	assert_non_null(strstr(r.err.buf, "GetRoleCredentials: malformed response: no "
					  "roleCredentials.secretAccessKey"));
	assert_null(strstr(r.err.buf, "SECRET"));
	run_end(&r);
	home_release(&r.h);
}

static void test_endpoint_overrides(void **state)
{
	static const struct fake_step sso_env[] = {
		{ .url = "http://127.0.0.1:4566/federation/credentials" QUERY,
		  .reply_body = ROLE_CREDS("ASIASSO4", "1893459600000") },
	};
	static const struct fake_step global_env[] = {
		{ .url = "http://127.0.0.1:9000/base/token",
		  .reply_body = "{\"accessToken\":\"n\","
				"\"expiresIn\":3600}" },
		{ .url = "http://127.0.0.1:9000/base/federation/credentials" QUERY,
		  .headers = { "x-amz-sso_bearer_token: n" },
		  .reply_body = ROLE_CREDS("ASIASSO5", "1893459600000") },
	};
	struct run r;

	home_init(&r.h);
	home_write(&r.h, LEGACY_FILE,
		   "{\"accessToken\": \"" ACCESS "\", \"expiresAt\": \"2030-01-01T08:00:00Z\"}");
	run_ok(&r, sso_env, ARRAY_SIZE(sso_env), "legacy",
	       "AWS_ENDPOINT_URL_SSO=http://127.0.0.1:4566", "ASIASSO4");
	run_end(&r);

	/* AWS_ENDPOINT_URL serves both, with a path prefix */
	home_write(&r.h, SESSION_FILE, SESSION_TOKEN("2030-01-01T00:01:00Z"));
	run_ok(&r, global_env, ARRAY_SIZE(global_env), "dev",
	       "AWS_ENDPOINT_URL=http://127.0.0.1:9000/base/", "ASIASSO5");
	run_end(&r);
	home_release(&r.h);
}

static void test_role_from_sso_source(void **state)
{
	static const struct fake_step steps[] = {
		{ .method = "GET",
		  .url = PORTAL QUERY,
		  .headers = { "x-amz-sso_bearer_token: " ACCESS },
		  .reply_body = ROLE_CREDS("ASIASSO6", "1893459600000") },
		/* AssumeRole signed with the SSO session, in the profile's region */
		{ .method = "POST",
		  .url = "https://sts.us-east-1.amazonaws.com/",
		  .body_contains = { "Action=AssumeRole",
				     "RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2FAuditor",
				     "RoleSessionName=me" },
		  .headers = { "Authorization: AWS4-HMAC-SHA256 Credential=ASIASSO6/20300101/us-east-1/"
			       "sts/aws4_request",
			       "X-Amz-Security-Token: token-ASIASSO6" },
		  .reply_body =
			  "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
			  "<AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId>"
			  "<SecretAccessKey>secret-role</SecretAccessKey><SessionToken>token-role"
			  "</SessionToken><Expiration>2030-01-01T01:00:00Z</Expiration></Credentials>"
			  "<AssumedRoleUser><AssumedRoleId>AROAX:me</AssumedRoleId><Arn>arn:aws:sts::"
			  "222222222222:assumed-role/Auditor/me</Arn></AssumedRoleUser></AssumeRoleResult>"
			  "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
			  "</AssumeRoleResponse>" },
	};
	struct run r;

	home_init(&r.h);
	home_write(&r.h, SESSION_FILE, SESSION_TOKEN("2030-01-01T08:00:00Z"));
	run_ok(&r, steps, ARRAY_SIZE(steps), "audit", NULL, "ASIAROLE");
	assert_string_equal(r.c.account_id, "222222222222");
	run_end(&r);
	home_release(&r.h);
}

static void test_token_only_profile(void **state)
{
	struct run r;

	home_init(&r.h);
	home_write(&r.h, ".aws/config",
		   "[profile tok]\nsso_session = corp\n"
		   "[sso-session corp]\nsso_start_url = " START_URL "\nsso_region = eu-west-1\n");
	run_start(&r, NULL, 0, "tok", NULL);
	assert_int_equal(run_get(&r), -1);
	assert_string_equal(r.err.buf, "profile 'tok' has sso_session but no sso_account_id and "
				       "sso_role_name (such a profile gives an SSO token, not AWS "
				       "credentials)");
	run_end(&r);
	home_release(&r.h);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_legacy_profile),
	cmocka_unit_test(test_session_refresh_rewrites_cache),
	cmocka_unit_test(test_refresh_failure_fallbacks),
	cmocka_unit_test(test_errors_before_any_request),
	cmocka_unit_test(test_portal_errors),
	cmocka_unit_test(test_endpoint_overrides),
	cmocka_unit_test(test_role_from_sso_source),
	cmocka_unit_test(test_token_only_profile),
};

UNIT_TEST_MAIN(tests)
