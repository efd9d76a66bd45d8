#include "core/compat.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/iam.h"
#include "core/strbuf.h"
#include "fake_transport.h"

#include <pthread.h>
#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include "testdata.h"

/*
 * The providers that reach out: AssumeRole (profiles, chains, MFA),
 * AssumeRoleWithWebIdentity, ECS container credentials, EC2 instance
 * metadata (all against the scripted fake transport, with a fake clock),
 * credential_process (real processes, no shell), the refresh window, and
 * many threads sharing one provider.
 */

#define NOW 1893456000 /* 2030-01-01T00:00:00Z */
#define STS_URL "https://sts.us-east-1.amazonaws.com/"
#define AUTH_BASE                                                                                  \
	"Authorization: AWS4-HMAC-SHA256 Credential=AKIDBASE/20300101/us-east-1/sts/aws4_request"

static time_t now_value = NOW;
static time_t fake_now(void)
{
	return now_value;
}

/* Every transport a provider makes forwards to one shared fake: its script spans them all. */
struct shared_fake {
	struct http_transport *fake;
	int made; /* transports made */
};

static struct http_transport *shared_http_new(void *ctx, const struct http_options *opts)
{
	struct shared_fake *s = ctx;

	s->made++;
	return fake_forward_new(s->fake);
}

/* A home directory with .aws/config; files removed at the end. */
struct home {
	char dir[64];
	char *files[8];
	size_t nfiles;
};

static char *home_write(struct home *h, const char *rel, const char *text, int mode)
{
	struct strbuf p = STRBUF_INIT;
	FILE *f;

	strbuf_addf(&p, "%s/%s", h->dir, rel);
	f = fopen(p.buf, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	if (mode)
		assert_int_equal(chmod(p.buf, (mode_t)mode), 0);
	assert_true(h->nfiles < ARRAY_SIZE(h->files));
	h->files[h->nfiles++] = xstrdup(p.buf);
	return strbuf_detach(&p, NULL);
}

static void home_init(struct home *h, const char *config)
{
	struct strbuf p = STRBUF_INIT;

	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/iamkeys-prov-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	strbuf_addf(&p, "%s/.aws", h->dir);
	assert_int_equal(mkdir(p.buf, 0700), 0);
	strbuf_release(&p);
	if (config)
		free(home_write(h, ".aws/config", config, 0));
}

static void home_release(struct home *h)
{
	struct strbuf p = STRBUF_INIT;

	while (h->nfiles) {
		char *f = h->files[--h->nfiles];
		remove(f);
		free(f);
	}
	strbuf_addf(&p, "%s/.aws", h->dir);
	rmdir(p.buf);
	rmdir(h->dir);
	strbuf_release(&p);
}

static void cred_env_fake(struct cred_env *env, struct test_env *vars, struct shared_fake *http)
{
	memset(env, 0, sizeof(*env));
	env->getenv_fn = fake_getenv;
	env->ctx = vars->vars;
	env->region = "us-east-1";
	env->now = fake_now;
	env->http_new = shared_http_new;
	env->http_ctx = http;
}

static int get(struct cred_provider *p, struct aws_credentials *c, struct strbuf *err)
{
	strbuf_reset(err);
	aws_credentials_release(c);
	return cred_provider_get(p, c, err);
}

#define ASSUMED(op, key, token, exp, arn)                                                          \
	"<" op "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><" op "Result>"       \
	"<Credentials><AccessKeyId>" key "</AccessKeyId><SecretAccessKey>secret-" key              \
	"</SecretAccessKey><SessionToken>" token "</SessionToken><Expiration>" exp                 \
	"</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAX:s</AssumedRoleId>"       \
	"<Arn>" arn "</Arn></AssumedRoleUser></" op "Result><ResponseMetadata><RequestId>r"        \
	"</RequestId></ResponseMetadata></" op "Response>"

/* AssumeRole from a profile: parameters, signing, the cache and the refresh window */

static void test_assume_role_profile(void **state)
{
	static const struct fake_step steps[] = {
		{ .method = "POST",
		  .url = STS_URL,
		  .body_contains = { "Action=AssumeRole&", "Version=2011-06-15",
				     "RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2FOps",
				     "RoleSessionName=sess-1", "ExternalId=ext%2F1",
				     "DurationSeconds=900" },
		  .body_lacks = { "SerialNumber", "secret-base" },
		  .headers = { AUTH_BASE, "X-Amz-Date: 20300101T000000Z" },
		  .headers_absent = { "X-Amz-Security-Token" },
		  .reply_body = ASSUMED("AssumeRole", "ASIAONE", "tok1", "2030-01-01T00:15:00Z",
					"arn:aws:sts::222222222222:assumed-role/Ops/sess-1") },
		/* the refresh, less than 5 minutes before expiry */
		{ .body_contains = { "Action=AssumeRole&" },
		  .reply_body = ASSUMED("AssumeRole", "ASIATWO", "tok2", "2030-01-01T01:00:00Z",
					"arn:aws:sts::222222222222:assumed-role/Ops/sess-1") },
		/* after invalidate */
		{ .body_contains = { "Action=AssumeRole&" },
		  .reply_body = ASSUMED("AssumeRole", "ASIATHREE", "tok3", "2030-01-01T01:00:00Z",
					"arn:aws:sts::222222222222:assumed-role/Ops/sess-1") },
	};
	struct shared_fake http = { fake_transport_new(steps, ARRAY_SIZE(steps)), 0 };
	struct test_env vars = { { 0 }, 0 };
	struct aws_credentials c = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct cred_provider *p;
	struct cred_env env;
	struct home h;

	home_init(&h, "[profile ops]\n"
		      "role_arn = arn:aws:iam::222222222222:role/Ops\n"
		      "source_profile = base\n"
		      "external_id = ext/1\n"
		      "role_session_name = sess-1\n"
		      "duration_seconds = 900\n"
		      "[profile base]\n"
		      "aws_access_key_id = AKIDBASE\n"
		      "aws_secret_access_key = secret-base\n");
	test_env_set(&vars, "HOME", h.dir);
	test_env_set(&vars, "AWS_PROFILE", "ops");
	cred_env_fake(&env, &vars, &http);
	now_value = NOW;
	p = cred_provider_default_chain_new(&env);

	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(cred_provider_chain_winner(p), "profile");
	assert_string_equal(c.access_key_id, "ASIAONE");
	assert_string_equal(c.secret_access_key, "secret-ASIAONE");
	assert_string_equal(c.session_token, "tok1");
	assert_string_equal(c.account_id, "222222222222");
	assert_int_equal(c.expiration, NOW + 900);
	assert_int_equal(fake_transport_count(http.fake), 1);

	/* 10 minutes left: cached */
	now_value = NOW + 300;
	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIAONE");
	assert_int_equal(fake_transport_count(http.fake), 1);

	/* 4 minutes 59 left: refreshed */
	now_value = NOW + 900 - 299;
	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIATWO");
	assert_int_equal(fake_transport_count(http.fake), 2);
	assert_int_equal(get(p, &c, &err), 0);
	assert_int_equal(fake_transport_count(http.fake), 2);

	/* an ExpiredToken drops the cache (through the chain) */
	cred_provider_invalidate(p);
	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIATHREE");
	fake_transport_assert_done(http.fake);
	/* one STS client, made once */
	assert_int_equal(http.made, 1);

	aws_credentials_release(&c);
	cred_provider_destroy(p);
	http_transport_destroy(http.fake);
	test_env_release(&vars);
	home_release(&h);
	strbuf_release(&err);
	now_value = NOW;
}

/* Two roles: the second is assumed with the first one's session; MFA on the last */

static int mfa_calls;
static int fake_mfa(void *ctx, const char *serial, struct strbuf *code, struct strbuf *err)
{
	mfa_calls++;
	assert_string_equal(serial, "arn:aws:iam::111111111111:mfa/me");
	strbuf_addstr(code, ctx);
	return 0;
}

static void test_role_chain_and_mfa(void **state)
{
	static const struct fake_step steps[] = {
		{ .body_contains = { "RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2FJump",
				     "RoleSessionName=iamkeys-1893456000" },
		  .body_lacks = { "ExternalId", "DurationSeconds", "TokenCode" },
		  .headers = { AUTH_BASE },
		  .reply_body = ASSUMED("AssumeRole", "ASIAJUMP", "tokjump", "2030-01-01T01:00:00Z",
					"arn:aws:sts::111111111111:assumed-role/Jump/x") },
		{ .body_contains = { "RoleArn=arn%3Aaws%3Aiam%3A%3A333333333333%3Arole%2FAdmin",
				     "SerialNumber=arn%3Aaws%3Aiam%3A%3A111111111111%3Amfa%2Fme",
				     "TokenCode=123456" },
		  .headers = { "Authorization: AWS4-HMAC-SHA256 Credential=ASIAJUMP/",
			       "X-Amz-Security-Token: tokjump" },
		  .reply_body =
			  ASSUMED("AssumeRole", "ASIAADMIN", "tokadmin", "2030-01-01T01:00:00Z",
				  "arn:aws:sts::333333333333:assumed-role/Admin/x") },
	};
	struct shared_fake http = { fake_transport_new(steps, ARRAY_SIZE(steps)), 0 };
	struct test_env vars = { { 0 }, 0 };
	struct aws_credentials c = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct cred_provider *p;
	struct cred_env env;
	struct home h;

	home_init(&h, "[profile admin]\n"
		      "role_arn = arn:aws:iam::333333333333:role/Admin\n"
		      "source_profile = jump\n"
		      "mfa_serial = arn:aws:iam::111111111111:mfa/me\n"
		      "[profile jump]\n"
		      "role_arn = arn:aws:iam::111111111111:role/Jump\n"
		      "source_profile = base\n"
		      "[profile base]\n"
		      "aws_access_key_id = AKIDBASE\n"
		      "aws_secret_access_key = secret-base\n");
	test_env_set(&vars, "HOME", h.dir);
	cred_env_fake(&env, &vars, &http);
	env.profile = "admin";
	env.mfa_prompt = fake_mfa;
	env.mfa_ctx = (void *)"123456";
	mfa_calls = 0;
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIAADMIN");
	assert_string_equal(c.account_id, "333333333333");
	assert_int_equal(mfa_calls, 1);
	/* both cached */
	assert_int_equal(get(p, &c, &err), 0);
	assert_int_equal(mfa_calls, 1);
	fake_transport_assert_done(http.fake);
	/* two STS clients: one per role */
	assert_int_equal(http.made, 2);
	aws_credentials_release(&c);
	cred_provider_destroy(p);
	http_transport_destroy(http.fake);
	test_env_release(&vars);
	home_release(&h);
	strbuf_release(&err);
}

/* STS errors: one line naming the profile and role */

static int failing_mfa(void *ctx, const char *serial, struct strbuf *code, struct strbuf *err)
{
	strbuf_addstr(err, "no terminal here");
	return -1;
}

static void test_assume_role_errors(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 403,
		  .reply_body =
			  "<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: x is not "
			  "authorized to perform: sts:AssumeRole</Message></Error><RequestId>rq"
			  "</RequestId></ErrorResponse>" },
	};
	struct shared_fake http = { fake_transport_new(steps, ARRAY_SIZE(steps)), 0 };
	struct test_env vars = { { 0 }, 0 };
	struct aws_credentials c = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct cred_provider *p;
	struct cred_env env;
	struct home h;

	home_init(&h, "[default]\n"
		      "role_arn = arn:aws:iam::222222222222:role/Ops\n"
		      "credential_source = Environment\n"
		      "[profile mfa]\n"
		      "role_arn = arn:aws:iam::222222222222:role/Ops\n"
		      "credential_source = Environment\n"
		      "mfa_serial = arn:aws:iam::111111111111:mfa/me\n");
	test_env_set(&vars, "HOME", h.dir);
	test_env_set(&vars, "AWS_MAX_ATTEMPTS", "1");
	/* credential_source = Environment reads the keys; the chain itself has no env keys */
	cred_env_fake(&env, &vars, &http);
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "profile 'default': no source credentials: environment: "
				     "AWS_ACCESS_KEY_ID not set");
	assert_int_equal(fake_transport_count(http.fake), 0);
	test_env_set(&vars, "AWS_ACCESS_KEY_ID", "AKIDBASE");
	test_env_set(&vars, "AWS_SECRET_ACCESS_KEY", "secret-base");
	env.ctx = vars.vars;
	cred_provider_destroy(p);
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf,
			    "profile 'default' (role_arn arn:aws:iam::222222222222:role/Ops"
			    "): AssumeRole: AccessDenied: User: x is not authorized to "
			    "perform: sts:AssumeRole (request id rq)");
	assert_null(strstr(err.buf, "secret-base"));
	cred_provider_destroy(p);

	env.profile = "mfa";
	env.mfa_prompt = failing_mfa;
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "profile 'mfa': no terminal here");
	cred_provider_destroy(p);
	fake_transport_assert_done(http.fake);
	http_transport_destroy(http.fake);
	test_env_release(&vars);
	home_release(&h);
	strbuf_release(&err);
}

/* cred_provider_assume_role_new (iamkeys --org): parameters, and errors that name no profile */

static void test_assume_role_public(void **state)
{
	static const struct fake_step steps[] = {
		{ .method = "POST",
		  .url = STS_URL,
		  .body_contains = { "Action=AssumeRole&", "Version=2011-06-15",
				     "RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2FOps",
				     "RoleSessionName=iamkeys", "ExternalId=ext-1" },
		  .body_lacks = { "DurationSeconds", "SerialNumber", "secret-base" },
		  .headers = { AUTH_BASE },
		  .reply_body = ASSUMED("AssumeRole", "ASIAONE", "tok1", "2030-01-01T01:00:00Z",
					"arn:aws:sts::222222222222:assumed-role/Ops/iamkeys") },
		{ .status = 403,
		  .reply_body =
			  "<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: x is not "
			  "authorized to perform: sts:AssumeRole</Message></Error><RequestId>rq"
			  "</RequestId></ErrorResponse>" },
	};
	struct shared_fake http = { fake_transport_new(steps, ARRAY_SIZE(steps)), 0 };
	struct test_env vars = { { 0 }, 0 };
	struct aws_credentials base = { 0 }, c = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct cred_provider *src, *p;
	struct cred_env env;

	test_env_set(&vars, "AWS_MAX_ATTEMPTS", "1");
	cred_env_fake(&env, &vars, &http);
	base.access_key_id = xstrdup("AKIDBASE");
	base.secret_access_key = xstrdup("secret-base");
	src = cred_provider_static_new(&base);
	aws_credentials_release(&base);

	p = cred_provider_assume_role_new(&env, cred_provider_borrow(src),
					  "arn:aws:iam::222222222222:role/Ops", "ext-1", "iamkeys",
					  0, &err);
	assert_non_null(p);
	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIAONE");
	assert_string_equal(c.session_token, "tok1");
	assert_string_equal(c.account_id, "222222222222");
	cred_provider_destroy(p);

	p = cred_provider_assume_role_new(&env, cred_provider_borrow(src),
					  "arn:aws:iam::333333333333:role/Ops", NULL, "iamkeys", 0,
					  &err);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "AssumeRole: AccessDenied: User: x is not authorized to "
				     "perform: sts:AssumeRole (request id rq)");
	cred_provider_destroy(p);

	strbuf_reset(&err);
	assert_null(cred_provider_assume_role_new(&env, cred_provider_borrow(src),
						  "arn:aws:iam::222222222222:role/Ops", NULL, NULL,
						  60, &err));
	assert_non_null(strstr(err.buf, "from 900 to 43200 seconds"));
	cred_provider_destroy(src); /* the borrowed handles never destroyed it */
	fake_transport_assert_done(http.fake);
	http_transport_destroy(http.fake);
	aws_credentials_release(&c);
	test_env_release(&vars);
	strbuf_release(&err);
}

/* An IAM call that meets ExpiredToken: the client drops the cache, a new role session signs */

static void test_expired_token_refetches(void **state)
{
	static const struct fake_step steps[] = {
		{ .body_contains = { "Action=AssumeRole&" },
		  .reply_body = ASSUMED("AssumeRole", "ASIAOLD", "tokold", "2030-01-01T01:00:00Z",
					"arn:aws:sts::222222222222:assumed-role/Ops/x") },
		{ .url = "https://iam.amazonaws.com/",
		  .body_contains = { "Action=GetUser" },
		  .headers = { "Authorization: AWS4-HMAC-SHA256 Credential=ASIAOLD/" },
		  .status = 403,
		  .reply_body =
			  "<ErrorResponse><Error><Code>ExpiredToken</Code><Message>The security "
			  "token included in the request is expired</Message></Error>"
			  "</ErrorResponse>" },
		{ .body_contains = { "Action=AssumeRole&" },
		  .reply_body = ASSUMED("AssumeRole", "ASIANEW", "toknew", "2030-01-01T01:00:00Z",
					"arn:aws:sts::222222222222:assumed-role/Ops/x") },
		{ .url = "https://iam.amazonaws.com/",
		  .headers = { "Authorization: AWS4-HMAC-SHA256 Credential=ASIANEW/",
			       "X-Amz-Security-Token: toknew" },
		  .reply_body =
			  "<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
			  "<GetUserResult><User><Path>/</Path><UserName>u</UserName><UserId>AIDA"
			  "</UserId><Arn>arn:aws:iam::222222222222:user/u</Arn><CreateDate>"
			  "2020-01-01T00:00:00Z</CreateDate></User></GetUserResult>"
			  "</GetUserResponse>" },
	};
	struct shared_fake http = { fake_transport_new(steps, ARRAY_SIZE(steps)), 0 };
	struct test_env vars = { { 0 }, 0 };
	struct aws_client_config cfg = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct iam_user user = { 0 };
	struct aws_client *c;
	struct cred_env env;
	struct home h;

	home_init(&h, "[default]\n"
		      "role_arn = arn:aws:iam::222222222222:role/Ops\n"
		      "source_profile = base\n"
		      "[profile base]\n"
		      "aws_access_key_id = AKIDBASE\n"
		      "aws_secret_access_key = secret-base\n");
	test_env_set(&vars, "HOME", h.dir);
	cred_env_fake(&env, &vars, &http);
	cfg.creds = cred_provider_default_chain_new(&env);
	cfg.http = shared_http_new(&http, NULL);
	cfg.getenv_fn = fake_getenv;
	cfg.getenv_ctx = vars.vars;
	cfg.now = fake_now;
	c = aws_client_new_config(&cfg, &err);
	assert_non_null(c);
	if (iam_get_user(c, NULL, &user, &err))
		fail_msg("%s", err.buf);
	assert_string_equal(user.user_name, "u");
	fake_transport_assert_done(http.fake);
	iam_user_release(&user);
	aws_client_free(c);
	http_transport_destroy(http.fake);
	test_env_release(&vars);
	home_release(&h);
	strbuf_release(&err);
}

/* Web identity */

static void test_web_identity(void **state)
{
	static const struct fake_step steps[] = {
		{ .method = "POST",
		  .url = "http://127.0.0.1:4566/",
		  .body_contains = { "Action=AssumeRoleWithWebIdentity",
				     "RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fci",
				     "RoleSessionName=gha", "WebIdentityToken=eyJ.jwt-token" },
		  .headers_absent = { "Authorization", "X-Amz-Date", "X-Amz-Security-Token" },
		  .reply_body = ASSUMED("AssumeRoleWithWebIdentity", "ASIAWEB", "tokweb",
					"2030-01-01T01:00:00Z",
					"arn:aws:sts::111111111111:assumed-role/ci/gha") },
		/* the profile's: its own session name, the default endpoint */
		{ .url = STS_URL,
		  .body_contains = { "Action=AssumeRoleWithWebIdentity",
				     "RoleSessionName=iamkeys-" },
		  .headers_absent = { "Authorization" },
		  .status = 400,
		  .reply_body =
			  "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>bad"
			  "</Message></Error></ErrorResponse>" },
	};
	struct shared_fake http = { fake_transport_new(steps, ARRAY_SIZE(steps)), 0 };
	struct test_env vars = { { 0 }, 0 };
	struct aws_credentials c = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct cred_provider *p;
	struct cred_env env;
	struct home h;
	char *token;

	home_init(&h, NULL);
	token = home_write(&h, "token", "eyJ.jwt-token\n", 0600);
	{
		struct strbuf cfg = STRBUF_INIT;
		strbuf_addf(&cfg,
			    "[profile wi]\nrole_arn = arn:aws:iam::1:role/x\n"
			    "web_identity_token_file = %s\n",
			    token);
		free(home_write(&h, ".aws/config", cfg.buf, 0));
		strbuf_release(&cfg);
	}
	test_env_set(&vars, "HOME", h.dir);
	test_env_set(&vars, "AWS_MAX_ATTEMPTS", "1");
	cred_env_fake(&env, &vars, &http);

	/* only the token file: an error; neither: nothing */
	p = cred_provider_web_identity_new(&env);
	assert_string_equal(p->vt->name, "web-identity");
	assert_int_equal(get(p, &c, &err), 1);
	assert_string_equal(err.buf, "web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set");
	cred_provider_destroy(p);
	test_env_set(&vars, "AWS_WEB_IDENTITY_TOKEN_FILE", token);
	env.ctx = vars.vars;
	p = cred_provider_default_chain_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
	cred_provider_destroy(p);

	test_env_set(&vars, "AWS_ROLE_ARN", "arn:aws:iam::111111111111:role/ci");
	test_env_set(&vars, "AWS_ROLE_SESSION_NAME", "gha");
	test_env_set(&vars, "AWS_ENDPOINT_URL_STS", "http://127.0.0.1:4566");
	env.ctx = vars.vars;
	p = cred_provider_default_chain_new(&env);
	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(cred_provider_chain_winner(p), "web-identity");
	assert_string_equal(c.access_key_id, "ASIAWEB");
	assert_string_equal(c.session_token, "tokweb");
	assert_int_equal(c.expiration, NOW + 3600);
	assert_int_equal(get(p, &c, &err), 0);
	assert_int_equal(fake_transport_count(http.fake), 1);
	cred_provider_destroy(p);

	/* from a profile */
	test_env_release(&vars);
	test_env_set(&vars, "HOME", h.dir);
	test_env_set(&vars, "AWS_MAX_ATTEMPTS", "1");
	cred_env_fake(&env, &vars, &http);
	env.profile = "wi";
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "profile 'wi' (web_identity_token_file): "
				     "AssumeRoleWithWebIdentity: InvalidIdentityToken: bad");
	assert_null(strstr(err.buf, "jwt-token"));
	cred_provider_destroy(p);
	fake_transport_assert_done(http.fake);

	/* a missing or empty token file */
	free(home_write(&h, "token", " \n", 0600));
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_non_null(strstr(err.buf, "is empty"));
	cred_provider_destroy(p);

	aws_credentials_release(&c);
	http_transport_destroy(http.fake);
	free(token);
	test_env_release(&vars);
	home_release(&h);
	strbuf_release(&err);
}

/* ECS container credentials */

#define ECS_JSON                                                                                   \
	"{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"secret-ecs\",\"Token\":\"tokecs\","    \
	"\"Expiration\":\"2030-01-01T06:00:00Z\",\"RoleArn\":\"arn:aws:iam::1:role/task\"}"

static void test_ecs(void **state)
{
	static const struct fake_step steps[] = {
		{ .method = "GET",
		  .url = "http://127.0.0.1:9999/v2/credentials/abc?x=1",
		  .headers = { "Authorization: file-token", "Accept: application/json" },
		  .reply_body = ECS_JSON },
		{ .method = "GET",
		  .url = "http://[::1]:8080/creds",
		  .headers = { "Authorization: env-token" },
		  .status = 401,
		  .reply_body = "{\"code\":\"Unauthorized\",\"message\":\"bad token\"}" },
		{ .url = "https://creds.example.com/x",
		  .headers_absent = { "Authorization" },
		  .reply_body = "{\"AccessKeyId\":\"ASIAECS\"}" },
	};
	static const struct {
		const char *full, *want; /* want NULL: allowed */
	} uris[] = {
		{ "http://127.0.0.1:9/x", NULL },
		{ "http://127.9.8.7/x", NULL },
		{ "http://localhost/x", NULL },
		{ "http://[::1]/x", NULL },
		{ "http://169.254.170.2/x", NULL },
		{ "http://169.254.170.23/v1/credentials", NULL },
		{ "http://[fd00:ec2::23]/x", NULL },
		{ "https://anything.example.com/x", NULL },
		{ "http://example.com/x", "not to 'example.com': use https" },
		{ "http://10.0.0.1:80/x", "not to '10.0.0.1'" },
		{ "http://user@127.0.0.1/x", "must not hold a user name" },
		{ "ftp://127.0.0.1/x", "must be an http:// or https:// URL" },
	};
	struct shared_fake http = { fake_transport_new(steps, ARRAY_SIZE(steps)), 0 };
	struct test_env vars = { { 0 }, 0 };
	struct aws_credentials c = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct cred_provider *p;
	struct cred_env env;
	struct home h;
	char *tokfile;
	size_t i;

	home_init(&h, NULL);
	tokfile = home_write(&h, "ecs-token", "file-token\n", 0600);
	test_env_set(&vars, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc?x=1");
	test_env_set(&vars, "IAMKEYS_TEST_ECS_ENDPOINT", "http://127.0.0.1:9999/");
	test_env_set(&vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/ignored");
	test_env_set(&vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile);
	test_env_set(&vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token");
	cred_env_fake(&env, &vars, &http);
	p = cred_provider_ecs_new(&env);
	assert_string_equal(p->vt->name, "container");
	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIAECS");
	assert_string_equal(c.session_token, "tokecs");
	assert_int_equal(c.expiration, NOW + 6 * 3600);
	assert_int_equal(get(p, &c, &err), 0);
	assert_int_equal(fake_transport_count(http.fake), 1);
	cred_provider_destroy(p);

	test_env_release(&vars);
	test_env_set(&vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://[::1]:8080/creds");
	test_env_set(&vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token");
	cred_env_fake(&env, &vars, &http);
	p = cred_provider_ecs_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "container: GET http://[::1]:8080/creds: HTTP 401: bad token");
	cred_provider_destroy(p);

	test_env_release(&vars);
	test_env_set(&vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://creds.example.com/x");
	cred_env_fake(&env, &vars, &http);
	p = cred_provider_ecs_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "container: GET https://creds.example.com/x: bad "
				     "credentials: no SecretAccessKey");
	cred_provider_destroy(p);
	fake_transport_assert_done(http.fake);

	for (i = 0; i < ARRAY_SIZE(uris); i++) {
		test_env_release(&vars);
		test_env_set(&vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI", uris[i].full);
		test_env_set(&vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "line\nbreak");
		cred_env_fake(&env, &vars, &http);
		p = cred_provider_ecs_new(&env);
		assert_int_equal(get(p, &c, &err), -1);
		/* allowed URLs get as far as the token, which is refused */
		if (!strstr(err.buf, uris[i].want ? uris[i].want : "has a line break in it"))
			fail_msg("%s: %s", uris[i].full, err.buf);
		cred_provider_destroy(p);
	}

	test_env_release(&vars);
	test_env_set(&vars, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/no-slash");
	cred_env_fake(&env, &vars, &http);
	p = cred_provider_ecs_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a "
				     "path starting with '/'");
	cred_provider_destroy(p);

	aws_credentials_release(&c);
	http_transport_destroy(http.fake);
	free(tokfile);
	test_env_release(&vars);
	home_release(&h);
	strbuf_release(&err);
}

/* EC2 instance metadata */

#define IMDS "http://127.0.0.1:1338"
#define IMDS_JSON                                                                                  \
	"{\"Code\":\"Success\",\"LastUpdated\":\"2029-12-31T23:00:00Z\",\"Type\":\"AWS-HMAC\","    \
	"\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":\"secret-imds\",\"Token\":\"tokimds\","  \
	"\"Expiration\":\"2030-01-01T06:00:00Z\"}"

static void test_imds(void **state)
{
	static const struct fake_step steps[] = {
		{ .method = "PUT",
		  .url = IMDS "/latest/api/token",
		  .headers = { "X-aws-ec2-metadata-token-ttl-seconds: 21600" },
		  .reply_body = "imds-token-1" },
		{ .method = "GET",
		  .url = IMDS "/latest/meta-data/iam/security-credentials/",
		  .headers = { "X-aws-ec2-metadata-token: imds-token-1" },
		  .reply_body = "web-role\n" },
		{ .method = "GET",
		  .url = IMDS "/latest/meta-data/iam/security-credentials/web-role",
		  .headers = { "X-aws-ec2-metadata-token: imds-token-1" },
		  .reply_body = IMDS_JSON },
		/* IMDSv1 fallback */
		{ .method = "PUT", .status = 404 },
		{ .method = "GET",
		  .url = IMDS "/latest/meta-data/iam/security-credentials/",
		  .headers_absent = { "X-aws-ec2-metadata-token" },
		  .reply_body = "web-role" },
		{ .method = "GET",
		  .headers_absent = { "X-aws-ec2-metadata-token" },
		  .reply_body = IMDS_JSON },
		/* no service */
		{ .method = "PUT", .error = HTTP_ERR_CONNECT, .error_text = "Connection refused" },
		/* no role */
		{ .method = "PUT", .reply_body = "t" },
		{ .method = "GET", .status = 404 },
		/* v1 disabled */
		{ .method = "PUT", .status = 403 },
	};
	struct shared_fake http = { fake_transport_new(steps, ARRAY_SIZE(steps)), 0 };
	struct test_env vars = { { 0 }, 0 };
	struct aws_credentials c = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct cred_provider *p;
	struct cred_env env;

	test_env_set(&vars, "AWS_EC2_METADATA_SERVICE_ENDPOINT", IMDS "/");
	cred_env_fake(&env, &vars, &http);
	p = cred_provider_imds_new(&env);
	assert_string_equal(p->vt->name, "instance-metadata");
	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIAIMDS");
	assert_string_equal(c.session_token, "tokimds");
	assert_int_equal(c.expiration, NOW + 6 * 3600);
	assert_int_equal(get(p, &c, &err), 0);
	assert_int_equal(fake_transport_count(http.fake), 3);
	cred_provider_invalidate(p);
	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIAIMDS");
	assert_int_equal(fake_transport_count(http.fake), 6);

	cred_provider_invalidate(p);
	assert_int_equal(get(p, &c, &err), 1);
	assert_string_equal(err.buf,
			    "instance metadata: no service at " IMDS " (Connection refused)");
	assert_int_equal(get(p, &c, &err), 1);
	assert_string_equal(err.buf, "instance metadata: no IAM role attached to this instance");
	cred_provider_destroy(p);

	test_env_set(&vars, "AWS_EC2_METADATA_V1_DISABLED", "true");
	env.ctx = vars.vars;
	p = cred_provider_imds_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "instance metadata: PUT " IMDS "/latest/api/token: HTTP 403");
	cred_provider_destroy(p);
	fake_transport_assert_done(http.fake);

	/* disabled: not a single request */
	test_env_set(&vars, "AWS_EC2_METADATA_DISABLED", "TRUE");
	env.ctx = vars.vars;
	p = cred_provider_imds_new(&env);
	assert_int_equal(get(p, &c, &err), 1);
	assert_string_equal(err.buf, "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
	cred_provider_destroy(p);
	assert_int_equal(fake_transport_count(http.fake), 10);

	aws_credentials_release(&c);
	http_transport_destroy(http.fake);
	test_env_release(&vars);
	strbuf_release(&err);
}

/* credential_process: real processes, no shell */

static void process_profile(struct home *h, const char *command)
{
	struct strbuf cfg = STRBUF_INIT;

	strbuf_addf(&cfg, "[default]\ncredential_process = %s\n", command);
	free(home_write(h, ".aws/config", cfg.buf, 0));
	strbuf_release(&cfg);
}

static size_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int ch;

	if (!f)
		return 0;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void test_credential_process(void **state)
{
	struct shared_fake http = { fake_transport_new(NULL, 0), 0 };
	struct test_env vars = { { 0 }, 0 };
	struct aws_credentials c = { 0 };
	struct strbuf err = STRBUF_INIT, cmd = STRBUF_INIT, count = STRBUF_INIT;
	struct cred_provider *p;
	struct cred_env env;
	struct home h;

	home_init(&h, NULL);
	strbuf_addf(&count, "%s/runs", h.dir);
	test_env_set(&vars, "HOME", h.dir);
	cred_env_fake(&env, &vars, &http);

	/* printf prints the JSON; the single-quoted argument keeps its spaces and quotes */
	process_profile(&h, "printf '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", "
			    "\"SecretAccessKey\": \"secret proc\", \"SessionToken\": \"tokproc\", "
			    "\"Expiration\": \"2030-01-01T02:00:00Z\"}'");
	p = cred_provider_default_chain_new(&env);
	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(cred_provider_chain_winner(p), "profile");
	assert_string_equal(c.access_key_id, "ASIAPROC");
	assert_string_equal(c.secret_access_key, "secret proc");
	assert_string_equal(c.session_token, "tokproc");
	assert_int_equal(c.expiration, NOW + 7200);
	cred_provider_destroy(p);

	/* expiring within 5 minutes: run again at every get */
	strbuf_addf(&cmd,
		    "sh -c 'echo run >> \"$0\"; printf \"%%s\" \"$1\"' %s "
		    "'{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\","
		    "\"Expiration\":\"2030-01-01T00:01:00Z\"}'",
		    count.buf);
	process_profile(&h, cmd.buf);
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), 0);
	assert_int_equal(count_lines(count.buf), 1);
	assert_int_equal(get(p, &c, &err), 0);
	assert_int_equal(get(p, &c, &err), 0);
	assert_int_equal(count_lines(count.buf), 3);
	cred_provider_destroy(p);

	/* a failed refresh keeps what is still valid; once expired, the failure shows */
	unlink(count.buf);
	strbuf_reset(&cmd);
	strbuf_addf(&cmd,
		    "sh -c 'test -e \"$0\" && { echo refused >&2; exit 1; }; "
		    "echo run > \"$0\"; printf \"%%s\" \"$1\"' %s "
		    "'{\"Version\":1,\"AccessKeyId\":\"OLD\",\"SecretAccessKey\":\"s\","
		    "\"Expiration\":\"2030-01-01T00:01:00Z\"}'",
		    count.buf);
	process_profile(&h, cmd.buf);
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), 0);
	assert_int_equal(get(p, &c, &err), 0);
	assert_string_equal(c.access_key_id, "OLD");
	now_value = NOW + 60;
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "profile 'default': credential_process 'sh' exited with "
				     "status 1: refused");
	now_value = NOW;
	cred_provider_destroy(p);

	/* failures */
	process_profile(&h, "sh -c 'echo \"first line\" >&2; echo second >&2; exit 3'");
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "profile 'default': credential_process 'sh' exited with "
				     "status 3: first line");
	cred_provider_destroy(p);

	process_profile(&h, "printf '{\"Version\": 2, \"AccessKeyId\": \"A\", "
			    "\"SecretAccessKey\": \"hunter2\"}'");
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "profile 'default': credential_process 'printf' printed bad "
				     "credentials: Version is 2, not 1");
	cred_provider_destroy(p);

	process_profile(&h, "sleep 5");
	env.process_timeout_ms = 300;
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "profile 'default': credential_process 'sleep' timed out "
				     "after 300 ms");
	cred_provider_destroy(p);

	/* no shell: a ';' is an argument, not a second command */
	process_profile(&h, "true ; echo hi");
	p = cred_provider_profile_new(&env);
	assert_int_equal(get(p, &c, &err), -1);
	assert_string_equal(err.buf, "profile 'default': credential_process 'true' printed bad "
				     "credentials: empty output");
	cred_provider_destroy(p);

	assert_int_equal(fake_transport_count(http.fake), 0);
	unlink(count.buf);
	aws_credentials_release(&c);
	http_transport_destroy(http.fake);
	test_env_release(&vars);
	home_release(&h);
	strbuf_release(&err);
	strbuf_release(&cmd);
	strbuf_release(&count);
}

/* Many threads, one provider: one fetch for all of them */

struct worker {
	struct cred_provider *p;
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < 200; i++) {
		struct aws_credentials c = { 0 };
		struct strbuf err = STRBUF_INIT;

		if (cred_provider_get(w->p, &c, &err) || strcmp(c.access_key_id, "ASIAONE"))
			w->failures++;
		aws_credentials_release(&c);
		strbuf_release(&err);
	}
	return NULL;
}

static void test_threads_share_one_session(void **state)
{
	static const struct fake_step steps[] = {
		{ .reply_body = ASSUMED("AssumeRole", "ASIAONE", "tok1", "2030-01-01T01:00:00Z",
					"arn:aws:sts::222222222222:assumed-role/Ops/x") },
	};
	struct shared_fake http = { fake_transport_new(steps, ARRAY_SIZE(steps)), 0 };
	struct test_env vars = { { 0 }, 0 };
	struct worker w[8];
	pthread_t tid[8];
	struct cred_provider *chain, *handles[8];
	struct cred_env env;
	struct home h;
	size_t i;

	home_init(&h, "[default]\n"
		      "role_arn = arn:aws:iam::222222222222:role/Ops\n"
		      "source_profile = base\n"
		      "[profile base]\n"
		      "aws_access_key_id = AKIDBASE\n"
		      "aws_secret_access_key = secret-base\n");
	test_env_set(&vars, "HOME", h.dir);
	cred_env_fake(&env, &vars, &http);
	chain = cred_provider_default_chain_new(&env);
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		/* as the audit's workers would: a borrowed handle each */
		handles[i] = cred_provider_borrow(chain);
		assert_string_equal(handles[i]->vt->name, "chain");
		w[i].p = handles[i];
		w[i].failures = 0;
		assert_int_equal(pthread_create(&tid[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
		cred_provider_destroy(handles[i]);
	}
	fake_transport_assert_done(http.fake);
	cred_provider_destroy(chain);
	http_transport_destroy(http.fake);
	test_env_release(&vars);
	home_release(&h);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_assume_role_profile),
	cmocka_unit_test(test_role_chain_and_mfa),
	cmocka_unit_test(test_assume_role_errors),
	cmocka_unit_test(test_assume_role_public),
	cmocka_unit_test(test_expired_token_refetches),
	cmocka_unit_test(test_web_identity),
	cmocka_unit_test(test_ecs),
	cmocka_unit_test(test_imds),
	cmocka_unit_test(test_credential_process),
	cmocka_unit_test(test_threads_share_one_session),
};

UNIT_TEST_MAIN(tests)
