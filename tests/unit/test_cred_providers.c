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

/*
 * What a provider test works with: the fake transport its script runs on (shared by
 * every transport the providers make), a fake environment read through env, a home
 * directory once home_init has made one, the provider in use (p) and what it gave last
 * (c, err). prov_setup makes it empty with the clock at NOW; prov_teardown releases
 * whatever the test left in it and puts the clock back.
 */
struct prov_fixture {
	struct shared_fake http;
	struct test_env vars;
	struct cred_env env;
	struct home h; /* h.dir is "" until home_init */
	struct cred_provider *p;
	struct aws_credentials c;
	struct strbuf err;
};

static int prov_setup(void **state)
{
	struct prov_fixture *f = xcalloc(1, sizeof(*f));

	strbuf_init(&f->err, 0);
	now_value = NOW;
	*state = f;
	return 0;
}

static int prov_teardown(void **state)
{
	struct prov_fixture *f = *state;

	aws_credentials_release(&f->c);
	cred_provider_destroy(f->p);
	http_transport_destroy(f->http.fake);
	test_env_release(&f->vars);
	if (f->h.dir[0])
		home_release(&f->h);
	strbuf_release(&f->err);
	free(f);
	now_value = NOW;
	return 0;
}

#define PROV_TEST(fn) cmocka_unit_test_setup_teardown(fn, prov_setup, prov_teardown)

/* The test's fixture, its transport running the N STEPS, env reading its vars. */
static struct prov_fixture *prov_script(void **state, const struct fake_step *steps, size_t n)
{
	struct prov_fixture *f = *state;

	f->http.fake = fake_transport_new(steps, n);
	cred_env_fake(&f->env, &f->vars, &f->http);
	return f;
}

/* A home directory with CONFIG (NULL: none) as .aws/config, and HOME. */
static void prov_home(struct prov_fixture *f, const char *config)
{
	home_init(&f->h, config);
	test_env_set(&f->vars, "HOME", f->h.dir);
}

/* P (or none) is the provider in use from now on; the one before is destroyed. */
static void prov_use(struct prov_fixture *f, struct cred_provider *p)
{
	cred_provider_destroy(f->p);
	f->p = p;
}

/* Asks the provider in use: what get returns, the credentials in f->c, the error in f->err. */
static int prov_get(struct prov_fixture *f)
{
	strbuf_reset(&f->err);
	aws_credentials_release(&f->c);
	return cred_provider_get(f->p, &f->c, &f->err);
}

/* A new default chain answers from WINNER with KEY_ID, its SECRET and TOKEN, expiring at
 * EXPIRATION; it stays the provider in use. */
static void expect_chain_gives(struct prov_fixture *f, const char *winner, const char *key_id,
			       const char *secret, const char *token, time_t expiration)
{
	prov_use(f, cred_provider_default_chain_new(&f->env));
	assert_int_equal(prov_get(f), 0);
	assert_string_equal(cred_provider_chain_winner(f->p), winner);
	assert_string_equal(f->c.access_key_id, key_id);
	assert_string_equal(f->c.secret_access_key, secret);
	assert_string_equal(f->c.session_token, token);
	assert_int_equal(f->c.expiration, expiration);
}

/* The profile every role test starts from, and a default profile that assumes Ops from it. */
#define BASE_PROFILE                                                                               \
	"[profile base]\n"                                                                         \
	"aws_access_key_id = AKIDBASE\n"                                                           \
	"aws_secret_access_key = secret-base\n"
#define OPS_FROM_BASE                                                                              \
	"[default]\n"                                                                              \
	"role_arn = arn:aws:iam::222222222222:role/Ops\n"                                          \
	"source_profile = base\n" BASE_PROFILE

/* What every AssumeRole of the Ops role sends in its body */
#define ASSUME_OPS_BODY                                                                            \
	"Action=AssumeRole&", "Version=2011-06-15",                                                \
		"RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2FOps"

/* STS refusing an AssumeRole */
#define ASSUME_ROLE_DENIED                                                                         \
	{                                                                                          \
		.status = 403,                                                                     \
		.reply_body =                                                                      \
			"<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: x is not "  \
			"authorized to perform: sts:AssumeRole</Message></Error><RequestId>rq"     \
			"</RequestId></ErrorResponse>"                                             \
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
		  .body_contains = { ASSUME_OPS_BODY, "RoleSessionName=sess-1",
				     "ExternalId=ext%2F1", "DurationSeconds=900" },
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
	struct prov_fixture *f = prov_script(state, steps, ARRAY_SIZE(steps));

	prov_home(f, "[profile ops]\n"
		     "role_arn = arn:aws:iam::222222222222:role/Ops\n"
		     "source_profile = base\n"
		     "external_id = ext/1\n"
		     "role_session_name = sess-1\n"
		     "duration_seconds = 900\n" BASE_PROFILE);
	test_env_set(&f->vars, "AWS_PROFILE", "ops");
	now_value = NOW;
	expect_chain_gives(f, "profile", "ASIAONE", "secret-ASIAONE", "tok1", NOW + 900);
	assert_string_equal(f->c.account_id, "222222222222");
	assert_int_equal(fake_transport_count(f->http.fake), 1);

	/* 10 minutes left: cached */
	now_value = NOW + 300;
	assert_int_equal(prov_get(f), 0);
	assert_string_equal(f->c.access_key_id, "ASIAONE");
	assert_int_equal(fake_transport_count(f->http.fake), 1);

	/* 4 minutes 59 left: refreshed */
	now_value = NOW + 900 - 299;
	assert_int_equal(prov_get(f), 0);
	assert_string_equal(f->c.access_key_id, "ASIATWO");
	assert_int_equal(fake_transport_count(f->http.fake), 2);
	assert_int_equal(prov_get(f), 0);
	assert_int_equal(fake_transport_count(f->http.fake), 2);

	/* an ExpiredToken drops the cache (through the chain) */
	cred_provider_invalidate(f->p);
	assert_int_equal(prov_get(f), 0);
	assert_string_equal(f->c.access_key_id, "ASIATHREE");
	fake_transport_assert_done(f->http.fake);
	/* one STS client, made once */
	assert_int_equal(f->http.made, 1);
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
	struct prov_fixture *f = prov_script(state, steps, ARRAY_SIZE(steps));

	prov_home(f, "[profile admin]\n"
		     "role_arn = arn:aws:iam::333333333333:role/Admin\n"
		     "source_profile = jump\n"
		     "mfa_serial = arn:aws:iam::111111111111:mfa/me\n"
		     "[profile jump]\n"
		     "role_arn = arn:aws:iam::111111111111:role/Jump\n"
		     "source_profile = base\n" BASE_PROFILE);
	f->env.profile = "admin";
	f->env.mfa_prompt = fake_mfa;
	f->env.mfa_ctx = (void *)"123456";
	mfa_calls = 0;
	prov_use(f, cred_provider_profile_new(&f->env));
	assert_int_equal(prov_get(f), 0);
	assert_string_equal(f->c.access_key_id, "ASIAADMIN");
	assert_string_equal(f->c.account_id, "333333333333");
	assert_int_equal(mfa_calls, 1);
	/* both cached */
	assert_int_equal(prov_get(f), 0);
	assert_int_equal(mfa_calls, 1);
	fake_transport_assert_done(f->http.fake);
	/* two STS clients: one per role */
	assert_int_equal(f->http.made, 2);
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
		ASSUME_ROLE_DENIED,
	};
	struct prov_fixture *f = prov_script(state, steps, ARRAY_SIZE(steps));

	prov_home(f, "[default]\n"
		     "role_arn = arn:aws:iam::222222222222:role/Ops\n"
		     "credential_source = Environment\n"
		     "[profile mfa]\n"
		     "role_arn = arn:aws:iam::222222222222:role/Ops\n"
		     "credential_source = Environment\n"
		     "mfa_serial = arn:aws:iam::111111111111:mfa/me\n");
	test_env_set(&f->vars, "AWS_MAX_ATTEMPTS", "1");
	/* credential_source = Environment reads the keys; the chain itself has no env keys */
	prov_use(f, cred_provider_profile_new(&f->env));
	assert_int_equal(prov_get(f), -1);
	assert_string_equal(f->err.buf, "profile 'default': no source credentials: environment: "
					"AWS_ACCESS_KEY_ID not set");
	assert_int_equal(fake_transport_count(f->http.fake), 0);
	test_env_set(&f->vars, "AWS_ACCESS_KEY_ID", "AKIDBASE");
	test_env_set(&f->vars, "AWS_SECRET_ACCESS_KEY", "secret-base");
	prov_use(f, cred_provider_profile_new(&f->env));
	assert_int_equal(prov_get(f), -1);
	assert_string_equal(f->err.buf,
			    "profile 'default' (role_arn arn:aws:iam::222222222222:role/Ops"
			    "): AssumeRole: AccessDenied: User: x is not authorized to "
			    "perform: sts:AssumeRole (request id rq)");
	assert_null(strstr(f->err.buf, "secret-base"));

	f->env.profile = "mfa";
	f->env.mfa_prompt = failing_mfa;
	prov_use(f, cred_provider_profile_new(&f->env));
	assert_int_equal(prov_get(f), -1);
	assert_string_equal(f->err.buf, "profile 'mfa': no terminal here");
	fake_transport_assert_done(f->http.fake);
}

/* cred_provider_assume_role_new (iamkeys --org): parameters, and errors that name no profile */

static void test_assume_role_public(void **state)
{
	static const struct fake_step steps[] = {
		{ .method = "POST",
		  .url = STS_URL,
		  .body_contains = { ASSUME_OPS_BODY, "RoleSessionName=iamkeys",
				     "ExternalId=ext-1" },
		  .body_lacks = { "DurationSeconds", "SerialNumber", "secret-base" },
		  .headers = { AUTH_BASE },
		  .reply_body = ASSUMED("AssumeRole", "ASIAONE", "tok1", "2030-01-01T01:00:00Z",
					"arn:aws:sts::222222222222:assumed-role/Ops/iamkeys") },
		ASSUME_ROLE_DENIED,
	};
	struct prov_fixture *f = prov_script(state, steps, ARRAY_SIZE(steps));
	struct aws_credentials base = { 0 };
	struct cred_provider *src;

	test_env_set(&f->vars, "AWS_MAX_ATTEMPTS", "1");
	base.access_key_id = xstrdup("AKIDBASE");
	base.secret_access_key = xstrdup("secret-base");
	src = cred_provider_static_new(&base);
	aws_credentials_release(&base);

	prov_use(f, cred_provider_assume_role_new(&f->env, cred_provider_borrow(src),
						  "arn:aws:iam::222222222222:role/Ops", "ext-1",
						  "iamkeys", 0, &f->err));
	assert_non_null(f->p);
	assert_int_equal(prov_get(f), 0);
	assert_string_equal(f->c.access_key_id, "ASIAONE");
	assert_string_equal(f->c.session_token, "tok1");
	assert_string_equal(f->c.account_id, "222222222222");

	prov_use(f, cred_provider_assume_role_new(&f->env, cred_provider_borrow(src),
						  "arn:aws:iam::333333333333:role/Ops", NULL,
						  "iamkeys", 0, &f->err));
	assert_int_equal(prov_get(f), -1);
	assert_string_equal(f->err.buf, "AssumeRole: AccessDenied: User: x is not authorized to "
					"perform: sts:AssumeRole (request id rq)");

	strbuf_reset(&f->err);
	assert_null(cred_provider_assume_role_new(&f->env, cred_provider_borrow(src),
						  "arn:aws:iam::222222222222:role/Ops", NULL, NULL,
						  60, &f->err));
	assert_non_null(strstr(f->err.buf, "from 900 to 43200 seconds"));
	prov_use(f, NULL);
	cred_provider_destroy(src); /* the borrowed handles never destroyed it */
	fake_transport_assert_done(f->http.fake);
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
	struct prov_fixture *f = prov_script(state, steps, ARRAY_SIZE(steps));
	struct aws_client_config cfg = { 0 };
	struct iam_user user = { 0 };
	struct aws_client *c;

	prov_home(f, OPS_FROM_BASE);
	cfg.creds = cred_provider_default_chain_new(&f->env);
	cfg.http = shared_http_new(&f->http, NULL);
	cfg.getenv_fn = fake_getenv;
	cfg.getenv_ctx = f->vars.vars;
	cfg.now = fake_now;
	c = aws_client_new_config(&cfg, &f->err);
	assert_non_null(c);
	if (iam_get_user(c, NULL, &user, &f->err))
		fail_msg("%s", f->err.buf);
	assert_string_equal(user.user_name, "u");
	fake_transport_assert_done(f->http.fake);
	iam_user_release(&user);
	aws_client_free(c);
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
	struct prov_fixture *f = prov_script(state, steps, ARRAY_SIZE(steps));
	char *token;

	prov_home(f, NULL);
	token = home_write(&f->h, "token", "eyJ.jwt-token\n", 0600);
	{
		struct strbuf cfg = STRBUF_INIT;
		strbuf_addf(&cfg,
			    "[profile wi]\nrole_arn = arn:aws:iam::1:role/x\n"
			    "web_identity_token_file = %s\n",
			    token);
		free(home_write(&f->h, ".aws/config", cfg.buf, 0));
		strbuf_release(&cfg);
	}
	test_env_set(&f->vars, "AWS_MAX_ATTEMPTS", "1");

	/* only the token file: an error; neither: nothing */
	prov_use(f, cred_provider_web_identity_new(&f->env));
	assert_string_equal(f->p->vt->name, "web-identity");
	assert_int_equal(prov_get(f), 1);
	assert_string_equal(f->err.buf, "web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set");
	test_env_set(&f->vars, "AWS_WEB_IDENTITY_TOKEN_FILE", token);
	prov_use(f, cred_provider_default_chain_new(&f->env));
	assert_int_equal(prov_get(f), -1);
	assert_string_equal(f->err.buf,
			    "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");

	test_env_set(&f->vars, "AWS_ROLE_ARN", "arn:aws:iam::111111111111:role/ci");
	test_env_set(&f->vars, "AWS_ROLE_SESSION_NAME", "gha");
	test_env_set(&f->vars, "AWS_ENDPOINT_URL_STS", "http://127.0.0.1:4566");
	expect_chain_gives(f, "web-identity", "ASIAWEB", "secret-ASIAWEB", "tokweb", NOW + 3600);
	assert_int_equal(prov_get(f), 0);
	assert_int_equal(fake_transport_count(f->http.fake), 1);

	/* from a profile */
	test_env_release(&f->vars);
	test_env_set(&f->vars, "HOME", f->h.dir);
	test_env_set(&f->vars, "AWS_MAX_ATTEMPTS", "1");
	cred_env_fake(&f->env, &f->vars, &f->http);
	f->env.profile = "wi";
	prov_use(f, cred_provider_profile_new(&f->env));
	assert_int_equal(prov_get(f), -1);
	assert_string_equal(f->err.buf, "profile 'wi' (web_identity_token_file): "
					"AssumeRoleWithWebIdentity: InvalidIdentityToken: bad");
	assert_null(strstr(f->err.buf, "jwt-token"));
	fake_transport_assert_done(f->http.fake);

	/* a missing or empty token file */
	free(home_write(&f->h, "token", " \n", 0600));
	prov_use(f, cred_provider_profile_new(&f->env));
	assert_int_equal(prov_get(f), -1);
	assert_non_null(strstr(f->err.buf, "is empty"));

	free(token);
}

/* P is the provider in use, called NAME: it gives KEY_ID and TOKEN expiring at EXPIRATION,
 * then the same from its cache; the transport has served REQUESTS requests by then. */
static void expect_fetched_then_cached(struct prov_fixture *f, struct cred_provider *p,
				       const char *name, const char *key_id, const char *token,
				       time_t expiration, int requests)
{
	prov_use(f, p);
	assert_string_equal(f->p->vt->name, name);
	assert_int_equal(prov_get(f), 0);
	assert_string_equal(f->c.access_key_id, key_id);
	assert_string_equal(f->c.session_token, token);
	assert_int_equal(f->c.expiration, expiration);
	assert_int_equal(prov_get(f), 0);
	assert_int_equal(fake_transport_count(f->http.fake), requests);
}

/* ECS container credentials */

#define ECS_JSON                                                                                   \
	"{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"secret-ecs\",\"Token\":\"tokecs\","    \
	"\"Expiration\":\"2030-01-01T06:00:00Z\",\"RoleArn\":\"arn:aws:iam::1:role/task\"}"

/* What a new container provider gives with only AWS_CONTAINER_CREDENTIALS_FULL_URI=URI and
 * AWS_CONTAINER_AUTHORIZATION_TOKEN=TOKEN (NULL: unset) in the environment. */
static int ecs_with(struct prov_fixture *f, const char *uri, const char *token)
{
	test_env_release(&f->vars);
	test_env_set(&f->vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI", uri);
	if (token)
		test_env_set(&f->vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
	cred_env_fake(&f->env, &f->vars, &f->http);
	prov_use(f, cred_provider_ecs_new(&f->env));
	return prov_get(f);
}

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
	struct prov_fixture *f = prov_script(state, steps, ARRAY_SIZE(steps));
	char *tokfile;
	size_t i;

	home_init(&f->h, NULL);
	tokfile = home_write(&f->h, "ecs-token", "file-token\n", 0600);
	test_env_set(&f->vars, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc?x=1");
	test_env_set(&f->vars, "IAMKEYS_TEST_ECS_ENDPOINT", "http://127.0.0.1:9999/");
	test_env_set(&f->vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/ignored");
	test_env_set(&f->vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile);
	test_env_set(&f->vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token");
	expect_fetched_then_cached(f, cred_provider_ecs_new(&f->env), "container", "ASIAECS",
				   "tokecs", NOW + 6 * 3600, 1);

	assert_int_equal(ecs_with(f, "http://[::1]:8080/creds", "env-token"), -1);
	assert_string_equal(f->err.buf,
			    "container: GET http://[::1]:8080/creds: HTTP 401: bad token");

	assert_int_equal(ecs_with(f, "https://creds.example.com/x", NULL), -1);
	assert_string_equal(f->err.buf, "container: GET https://creds.example.com/x: bad "
					"credentials: no SecretAccessKey");
	fake_transport_assert_done(f->http.fake);

	for (i = 0; i < ARRAY_SIZE(uris); i++) {
		assert_int_equal(ecs_with(f, uris[i].full, "line\nbreak"), -1);
		/* allowed URLs get as far as the token, which is refused */
		if (!strstr(f->err.buf, uris[i].want ? uris[i].want : "has a line break in it"))
			fail_msg("%s: %s", uris[i].full, f->err.buf);
	}

	test_env_release(&f->vars);
	test_env_set(&f->vars, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/no-slash");
	cred_env_fake(&f->env, &f->vars, &f->http);
	prov_use(f, cred_provider_ecs_new(&f->env));
	assert_int_equal(prov_get(f), -1);
	assert_string_equal(f->err.buf,
			    "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a "
			    "path starting with '/'");

	free(tokfile);
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
	struct prov_fixture *f = prov_script(state, steps, ARRAY_SIZE(steps));

	test_env_set(&f->vars, "AWS_EC2_METADATA_SERVICE_ENDPOINT", IMDS "/");
	expect_fetched_then_cached(f, cred_provider_imds_new(&f->env), "instance-metadata",
				   "ASIAIMDS", "tokimds", NOW + 6 * 3600, 3);
	cred_provider_invalidate(f->p);
	assert_int_equal(prov_get(f), 0);
	assert_string_equal(f->c.access_key_id, "ASIAIMDS");
	assert_int_equal(fake_transport_count(f->http.fake), 6);

	cred_provider_invalidate(f->p);
	assert_int_equal(prov_get(f), 1);
	assert_string_equal(f->err.buf,
			    "instance metadata: no service at " IMDS " (Connection refused)");
	assert_int_equal(prov_get(f), 1);
	assert_string_equal(f->err.buf, "instance metadata: no IAM role attached to this instance");

	test_env_set(&f->vars, "AWS_EC2_METADATA_V1_DISABLED", "true");
	prov_use(f, cred_provider_imds_new(&f->env));
	assert_int_equal(prov_get(f), -1);
	assert_string_equal(f->err.buf,
			    "instance metadata: PUT " IMDS "/latest/api/token: HTTP 403");
	fake_transport_assert_done(f->http.fake);

	/* disabled: not a single request */
	test_env_set(&f->vars, "AWS_EC2_METADATA_DISABLED", "TRUE");
	prov_use(f, cred_provider_imds_new(&f->env));
	assert_int_equal(prov_get(f), 1);
	assert_string_equal(f->err.buf, "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
	assert_int_equal(fake_transport_count(f->http.fake), 10);
}

/* credential_process: real processes, no shell */

static void process_profile(struct home *h, const char *command)
{
	struct strbuf cfg = STRBUF_INIT;

	strbuf_addf(&cfg, "[default]\ncredential_process = %s\n", command);
	free(home_write(h, ".aws/config", cfg.buf, 0));
	strbuf_release(&cfg);
}

/* The default profile runs COMMAND as its credential_process; a new profile provider is in
 * use. */
static void use_process(struct prov_fixture *f, const char *command)
{
	process_profile(&f->h, command);
	prov_use(f, cred_provider_profile_new(&f->env));
}

/* use_process of sh running SCRIPT ($0 is the file LOG) and then printing credentials
 * KEY_ID that expire at 00:01, within the refresh window from NOW. */
static void use_logged_process(struct prov_fixture *f, const char *log, const char *script,
			       const char *key_id)
{
	struct strbuf cmd = STRBUF_INIT;

	strbuf_addf(&cmd,
		    "sh -c '%s printf \"%%s\" \"$1\"' %s "
		    "'{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"s\","
		    "\"Expiration\":\"2030-01-01T00:01:00Z\"}'",
		    script, log, key_id);
	use_process(f, cmd.buf);
	strbuf_release(&cmd);
}

/* use_process(COMMAND), and asking it fails with the error WANT. */
static void expect_process_error(struct prov_fixture *f, const char *command, const char *want)
{
	use_process(f, command);
	assert_int_equal(prov_get(f), -1);
	assert_string_equal(f->err.buf, want);
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
	struct prov_fixture *f = prov_script(state, NULL, 0);
	struct strbuf count = STRBUF_INIT;

	prov_home(f, NULL);
	strbuf_addf(&count, "%s/runs", f->h.dir);

	/* printf prints the JSON; the single-quoted argument keeps its spaces and quotes */
	process_profile(&f->h,
			"printf '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", "
			"\"SecretAccessKey\": \"secret proc\", \"SessionToken\": \"tokproc\", "
			"\"Expiration\": \"2030-01-01T02:00:00Z\"}'");
	expect_chain_gives(f, "profile", "ASIAPROC", "secret proc", "tokproc", NOW + 7200);

	/* expiring within 5 minutes: run again at every get */
	use_logged_process(f, count.buf, "echo run >> \"$0\";", "A");
	assert_int_equal(prov_get(f), 0);
	assert_int_equal(count_lines(count.buf), 1);
	assert_int_equal(prov_get(f), 0);
	assert_int_equal(prov_get(f), 0);
	assert_int_equal(count_lines(count.buf), 3);

	/* a failed refresh keeps what is still valid; once expired, the failure shows */
	unlink(count.buf);
	use_logged_process(f, count.buf,
			   "test -e \"$0\" && { echo refused >&2; exit 1; }; echo run > \"$0\";",
			   "OLD");
	assert_int_equal(prov_get(f), 0);
	assert_int_equal(prov_get(f), 0);
	assert_string_equal(f->c.access_key_id, "OLD");
	now_value = NOW + 60;
	assert_int_equal(prov_get(f), -1);
	assert_string_equal(f->err.buf, "profile 'default': credential_process 'sh' exited with "
					"status 1: refused");
	now_value = NOW;

	/* failures */
	expect_process_error(f, "sh -c 'echo \"first line\" >&2; echo second >&2; exit 3'",
			     "profile 'default': credential_process 'sh' exited with status 3: "
			     "first line");

	expect_process_error(f,
			     "printf '{\"Version\": 2, \"AccessKeyId\": \"A\", "
			     "\"SecretAccessKey\": \"hunter2\"}'",
			     "profile 'default': credential_process 'printf' printed bad "
			     "credentials: Version is 2, not 1");

	f->env.process_timeout_ms = 300;
	expect_process_error(
		f, "sleep 5",
		"profile 'default': credential_process 'sleep' timed out after 300 ms");

	/* no shell: a ';' is an argument, not a second command */
	expect_process_error(f, "true ; echo hi",
			     "profile 'default': credential_process 'true' printed bad "
			     "credentials: empty output");

	assert_int_equal(fake_transport_count(f->http.fake), 0);
	unlink(count.buf);
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
	struct prov_fixture *f = prov_script(state, steps, ARRAY_SIZE(steps));
	struct worker w[8];
	pthread_t tid[8];
	struct cred_provider *chain, *handles[8];
	size_t i;

	prov_home(f, OPS_FROM_BASE);
	chain = cred_provider_default_chain_new(&f->env);
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
	fake_transport_assert_done(f->http.fake);
	cred_provider_destroy(chain);
}

static const struct CMUnitTest tests[] = {
	PROV_TEST(test_assume_role_profile),
	PROV_TEST(test_role_chain_and_mfa),
	PROV_TEST(test_assume_role_errors),
	PROV_TEST(test_assume_role_public),
	PROV_TEST(test_expired_token_refetches),
	PROV_TEST(test_web_identity),
	PROV_TEST(test_ecs),
	PROV_TEST(test_imds),
	PROV_TEST(test_credential_process),
	PROV_TEST(test_threads_share_one_session),
};

UNIT_TEST_MAIN(tests)
