#include "core/compat.h"
#include "aws/credentials.h"
#include "core/awsconfig.h"
#include "core/awscreds.h"
#include "core/strbuf.h"

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include "testdata.h"

/*
 * The credential providers: the smithy-rs default-chain and profile-provider
 * cases from tests/data/aws-config/, the
 * smithy-rs assume-role cases through the profile provider with the network
 * down (none may come back with a profile's static keys), then hand-written
 * cases on files in a mkdtemp directory. The chain planner itself is tested
 * in test_cred_profile_chain.c; the network providers in test_cred_providers.c.
 */

#define SMITHY_DIR "smithy-rs/aws-config/test-data"

/* A temporary directory with files in it, removed by tmpdir_release. */
struct tmpdir {
	char path[64];
	char *created[32]; /* files and directories, removed in reverse order */
	size_t nr;
};

static void tmpdir_init(struct tmpdir *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "/tmp/iamkeys-cred-XXXXXX");
	assert_non_null(mkdtemp(t->path));
}

static char *tmpdir_file(struct tmpdir *t, const char *rel)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s", t->path, rel);
	return strbuf_detach(&sb, NULL);
}

static void tmpdir_mkdir(struct tmpdir *t, const char *rel)
{
	char *p = tmpdir_file(t, rel);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_true(t->nr < ARRAY_SIZE(t->created));
	t->created[t->nr++] = p;
}

static void tmpdir_write(struct tmpdir *t, const char *rel, const char *text, size_t len)
{
	char *p = tmpdir_file(t, rel);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_true(t->nr < ARRAY_SIZE(t->created));
	t->created[t->nr++] = p;
}

static void tmpdir_writestr(struct tmpdir *t, const char *rel, const char *text)
{
	tmpdir_write(t, rel, text, strlen(text));
}

static void tmpdir_release(struct tmpdir *t)
{
	while (t->nr) {
		char *p = t->created[--t->nr];
		remove(p);
		free(p);
	}
	rmdir(t->path);
}

/* A home directory with .aws/config and .aws/credentials (either may be NULL). */
static void make_home(struct tmpdir *t, struct test_env *env, const char *config,
		      const char *credentials)
{
	tmpdir_init(t);
	tmpdir_mkdir(t, ".aws");
	if (config)
		tmpdir_writestr(t, ".aws/config", config);
	if (credentials)
		tmpdir_writestr(t, ".aws/credentials", credentials);
	test_env_set(env, "HOME", t->path);
}

static int get_from(struct cred_provider *p, struct aws_credentials *out, struct strbuf *err)
{
	int ret = cred_provider_get(p, out, err);
	if (ret)
		assert_null(out->access_key_id);
	return ret;
}

/*
 * What a provider test works with: a fake environment (fenv, read through env), a home
 * directory once fixture_home has made one, the provider asked last and what it gave.
 * cred_setup makes it empty; cred_teardown releases whatever the test left in it.
 */
struct cred_fixture {
	struct test_env fenv;
	struct cred_env env;
	struct tmpdir dir; /* dir.path is "" until fixture_home */
	struct cred_provider *p;
	struct aws_credentials creds;
	struct strbuf err, want;
};

static int cred_setup(void **state)
{
	struct cred_fixture *f = xcalloc(1, sizeof(*f));

	f->env.getenv_fn = test_env_get;
	f->env.ctx = &f->fenv;
	strbuf_init(&f->err, 0);
	strbuf_init(&f->want, 0);
	*state = f;
	return 0;
}

static int cred_teardown(void **state)
{
	struct cred_fixture *f = *state;

	aws_credentials_release(&f->creds);
	cred_provider_destroy(f->p);
	test_env_release(&f->fenv);
	if (f->dir.path[0])
		tmpdir_release(&f->dir);
	strbuf_release(&f->err);
	strbuf_release(&f->want);
	free(f);
	return 0;
}

#define CRED_TEST(fn) cmocka_unit_test_setup_teardown(fn, cred_setup, cred_teardown)

/* make_home in the fixture's directory (the one it had before is removed). */
static void fixture_home(struct cred_fixture *f, const char *config, const char *credentials)
{
	if (f->dir.path[0])
		tmpdir_release(&f->dir);
	make_home(&f->dir, &f->fenv, config, credentials);
}

/* Asks P (it replaces the provider asked last, whose credentials are released) for
 * credentials into f->creds: what get returns. f->err is not reset. */
static int fixture_ask(struct cred_fixture *f, struct cred_provider *p)
{
	aws_credentials_release(&f->creds);
	cred_provider_destroy(f->p);
	f->p = p;
	return get_from(p, &f->creds, &f->err);
}

/* A transport with no network: every request fails to connect, and is counted. */
struct offline_transport {
	struct http_transport base;
	int *requests;
};

static int offline_perform(struct http_transport *t, const struct http_request *req,
			   struct http_response *resp)
{
	(*((struct offline_transport *)t)->requests)++;
	http_response_set_error(resp, HTTP_ERR_CONNECT, "offline");
	return -1;
}

static void offline_destroy(struct http_transport *t)
{
	free(t);
}

static const struct http_transport_vtable offline_vt = { offline_perform, offline_destroy };

static struct http_transport *offline_new(void *ctx, const struct http_options *opts)
{
	struct offline_transport *t = xcalloc(1, sizeof(*t));
	t->base.vt = &offline_vt;
	t->requests = ctx;
	return &t->base;
}

/* smithy-rs default-credential-provider-chain and profile-provider cases */

struct json_env {
	json_t *vars;
	const char *home;
};

static const char *json_getenv(void *ctx, const char *name)
{
	const struct json_env *e = ctx;
	if (!strcmp(name, "HOME"))
		return e->home;
	return json_string_value(json_object_get(e->vars, name));
}

static const struct smithy_case {
	const char *dir;
	int chain; /* 1: the default chain; 0: the profile provider alone */
} smithy_cases[] = {
	{ "default-credential-provider-chain/environment_variables", 1 },
	{ "default-credential-provider-chain/environment_variables_blank", 1 },
	{ "default-credential-provider-chain/prefer_environment", 1 },
	{ "default-credential-provider-chain/profile_name", 1 },
	{ "default-credential-provider-chain/profile_static_keys", 1 },
	{ "default-credential-provider-chain/profile_static_keys_case_insensitive", 1 },
	{ "profile-provider/empty_config", 0 },
	{ "profile-provider/invalid_config", 0 },
};

static json_t *load_json(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	if (!j)
		print_error("cannot load '%s': %s\n", path, jerr.text);
	return j;
}

static void run_smithy_case(void **state)
{
	const struct smithy_case *c = *state;
	struct strbuf rel = STRBUF_INIT, path = STRBUF_INIT, err = STRBUF_INIT;
	struct aws_credentials creds = { 0 };
	struct json_env jenv;
	struct cred_env env = { .getenv_fn = json_getenv, .ctx = &jenv, .profile = NULL };
	struct cred_provider *p;
	json_t *vars, *tc, *ok, *traffic;
	char *dir;
	int ret, requests = 0;

	strbuf_addf(&rel, "%s/%s", SMITHY_DIR, c->dir);
	dir = test_data_path(rel.buf);
	strbuf_addf(&path, "%s/env.json", dir);
	vars = load_json(path.buf);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/test-case.json", dir);
	tc = load_json(path.buf);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/http-traffic.json", dir);
	traffic = load_json(path.buf);
	assert_non_null(vars);
	assert_non_null(tc);
	assert_non_null(traffic);
	/* these cases need no network: the providers here have none */
	assert_int_equal(json_array_size(json_object_get(traffic, "events")), 0);
	assert_string_equal(json_string_value(json_object_get(vars, "HOME")), "/home");

	/* fs/home/.aws/config is $HOME/.aws/config */
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/fs/home", dir);
	jenv.vars = vars;
	jenv.home = path.buf;

	env.http_new = offline_new;
	env.http_ctx = &requests;
	p = c->chain ? cred_provider_default_chain_new(&env) : cred_provider_profile_new(&env);
	ret = get_from(p, &creds, &err);
	assert_int_equal(requests, 0);
	ok = json_object_get(json_object_get(tc, "result"), "Ok");
	if (ok) {
		json_t *account = json_object_get(ok, "account_id");
		if (ret)
			print_error("%s: %s\n", c->dir, err.buf);
		assert_int_equal(ret, 0);
		assert_string_equal(creds.access_key_id,
				    json_string_value(json_object_get(ok, "access_key_id")));
		assert_string_equal(creds.secret_access_key,
				    json_string_value(json_object_get(ok, "secret_access_key")));
		assert_null(creds.session_token);
		if (account)
			assert_string_equal(creds.account_id ? creds.account_id : "(none)",
					    json_string_value(account));
	} else {
		assert_non_null(json_object_get(json_object_get(tc, "result"), "ErrorContains"));
		assert_int_not_equal(ret, 0);
		assert_true(err.len > 0);
		assert_null(strchr(err.buf, '\n'));
	}
	aws_credentials_release(&creds);
	cred_provider_destroy(p);
	json_decref(vars);
	json_decref(tc);
	json_decref(traffic);
	free(dir);
	strbuf_release(&rel);
	strbuf_release(&path);
	strbuf_release(&err);
}

/*
 * assume-role-tests.json through the profile provider, with the network
 * down: no case may come back with credentials (in particular never with a
 * source profile's or a role profile's own static keys). Each expected
 * chain fails where it should: an AssumeRole that cannot reach STS, a web
 * identity token file that does not exist, SSO (no cached token, or a
 * token-only sso-session profile); each
 * expected error fails before any request.
 */
static void test_assume_role_cases_offline(void **state)
{
	char *path = test_data_path(SMITHY_DIR "/assume-role-tests.json");
	json_t *cases = load_json(path);
	json_t *t;
	size_t i, chains = 0;

	assert_non_null(cases);
	assert_int_equal(json_array_size(cases), 28);
	json_array_foreach(cases, i, t)
	{
		json_t *input = json_object_get(t, "input");
		json_t *chain = json_object_get(json_object_get(t, "output"), "ProfileChain");
		struct strbuf text = STRBUF_INIT;
		struct cred_fixture *f;
		void *fixture;
		int requests = 0;

		cred_setup(&fixture);
		f = fixture;
		f->env.profile = json_string_value(json_object_get(input, "selected_profile"));
		test_vector_config(&text, input);
		fixture_home(f, text.buf, NULL);
		test_env_set(&f->fenv, "AWS_MAX_ATTEMPTS", "1");
		test_env_set(&f->fenv, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9");
		f->env.http_new = offline_new;
		f->env.http_ctx = &requests;
		if (!fixture_ask(f, cred_provider_profile_new(&f->env)))
			fail_msg("case %zu (%s): returned credentials", i,
				 json_string_value(json_object_get(t, "docs")));
		assert_null(strchr(f->err.buf, '\n'));
		assert_null(strstr(f->err.buf, "def456"));
		if (chain) {
			/* the base fails first, then the first AssumeRole */
			json_t *first = json_array_get(chain, 0);
			const char *want =
				json_object_get(first, "AccessKey") ? "AssumeRole: cannot reach"
				: json_object_get(first, "WebIdentityToken")
					? "token file '/var/token.jwt' does not exist"
				: json_object_get(first, "Sso")
					? (json_object_get(json_object_get(first, "Sso"),
							   "sso_account_id")
						   ? "no cached SSO token for sso_start_url "
						     "https://foo.bar"
						   : "gives an SSO token, not AWS credentials")
				: json_object_get(first, "NamedSource")
					? "no service at http://127.0.0.1:9"
					: "?";
			if (!strstr(f->err.buf, want))
				fail_msg("case %zu (%s): '%s' does not say '%s'", i,
					 json_string_value(json_object_get(t, "docs")), f->err.buf,
					 want);
			chains++;
		} else {
			assert_int_equal(requests, 0);
		}
		cred_teardown(&fixture);
		strbuf_release(&text);
	}
	assert_int_equal(chains, 13);
	json_decref(cases);
	free(path);
}

/* Environment provider */

/* What the environment provider gives with these AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
 * and AWS_SESSION_TOKEN added to the environment. */
static int ask_env(struct cred_fixture *f, const char *key_id, const char *secret,
		   const char *token)
{
	test_env_set(&f->fenv, "AWS_ACCESS_KEY_ID", key_id);
	test_env_set(&f->fenv, "AWS_SECRET_ACCESS_KEY", secret);
	test_env_set(&f->fenv, "AWS_SESSION_TOKEN", token);
	return fixture_ask(f, cred_provider_env_new(&f->env));
}

static void test_env_blank_counts_as_unset(void **state)
{
	struct cred_fixture *f = *state;

	assert_int_equal(ask_env(f, " \t", "", "tok"), 1);
	assert_string_equal(f->p->vt->name, "environment");
	assert_string_equal(f->err.buf, "environment: AWS_ACCESS_KEY_ID not set");
}

static void test_env_keys(void **state)
{
	struct cred_fixture *f = *state;

	assert_int_equal(ask_env(f, "AKIDENV", "secretenv", " "), 0);
	assert_string_equal(f->creds.access_key_id, "AKIDENV");
	assert_string_equal(f->creds.secret_access_key, "secretenv");
	assert_null(f->creds.session_token);
	assert_null(f->creds.account_id);
	assert_int_equal(f->creds.expiration, 0);
	test_env_release(&f->fenv);

	test_env_set(&f->fenv, "AWS_ACCOUNT_ID", "123456789012");
	assert_int_equal(ask_env(f, "AKIDENV", "secretenv", "tokenenv"), 0);
	assert_string_equal(f->creds.session_token, "tokenenv");
	assert_string_equal(f->creds.account_id, "123456789012");
	assert_int_equal(f->err.len, 0);
}

static void test_env_only_one_key_is_an_error(void **state)
{
	struct cred_fixture *f = *state;

	/* the chain stops there: the profile (which has keys) is not tried */
	fixture_home(f, NULL, "[default]\naws_access_key_id = A\naws_secret_access_key = B\n");
	test_env_set(&f->fenv, "AWS_ACCESS_KEY_ID", "AKIDONLY");
	assert_int_equal(fixture_ask(f, cred_provider_default_chain_new(&f->env)), -1);
	assert_string_equal(f->err.buf,
			    "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
	assert_null(cred_provider_chain_winner(f->p));
	test_env_release(&f->fenv);

	strbuf_reset(&f->err);
	test_env_set(&f->fenv, "AWS_SECRET_ACCESS_KEY", "topsecret");
	assert_int_equal(fixture_ask(f, cred_provider_env_new(&f->env)), -1);
	assert_string_equal(f->err.buf,
			    "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
	assert_null(strstr(f->err.buf, "topsecret"));
}

/* Profile provider */

static void test_profile_static_keys(void **state)
{
	struct cred_fixture *f = *state;

	fixture_home(f, "[default]\nregion = eu-west-1\naws_account_id = 111122223333\n",
		     "[default]\r\nAWS_ACCESS_KEY_ID = AKIDFILE\r\naws_secret_access_key=s/e+c=\r\n"
		     "Aws_Session_Token = tok\r\n");
	assert_int_equal(fixture_ask(f, cred_provider_profile_new(&f->env)), 0);
	assert_string_equal(f->p->vt->name, "profile");
	assert_string_equal(f->creds.access_key_id, "AKIDFILE");
	assert_string_equal(f->creds.secret_access_key, "s/e+c=");
	assert_string_equal(f->creds.session_token, "tok");
	assert_string_equal(f->creds.account_id, "111122223333");
	assert_int_equal(f->err.len, 0);
}

/* The key id the profile provider finds with --profile PROFILE (NULL: none). */
static const char *profile_key(struct cred_fixture *f, const char *profile)
{
	f->env.profile = profile;
	assert_int_equal(fixture_ask(f, cred_provider_profile_new(&f->env)), 0);
	return f->creds.access_key_id;
}

static void test_profile_override_beats_aws_profile(void **state)
{
	struct cred_fixture *f = *state;

	fixture_home(f, "[profile cli]\naws_access_key_id = FROMCONFIG\n",
		     "[default]\naws_access_key_id = D\naws_secret_access_key = D\n"
		     "[envprof]\naws_access_key_id = E\naws_secret_access_key = E\n"
		     "[cli]\naws_access_key_id = C\naws_secret_access_key = C\n");
	test_env_set(&f->fenv, "AWS_PROFILE", "envprof");
	assert_string_equal(profile_key(f, "cli"), "C"); /* the credentials file wins */
	assert_string_equal(profile_key(f, NULL), "E");
	/* an empty --profile is no --profile */
	assert_string_equal(profile_key(f, ""), "E");
}

static void test_profile_file_env_vars(void **state)
{
	struct cred_fixture *f = *state;
	char *cfg, *cred;

	fixture_home(f, "[default]\naws_access_key_id = HOMECFG\naws_secret_access_key = x\n",
		     "[default]\naws_access_key_id = HOMECRED\naws_secret_access_key = x\n");
	tmpdir_writestr(&f->dir, "other-config",
			"[profile p]\naws_access_key_id = OTHERCFG\naws_secret_access_key = y\n");
	tmpdir_writestr(&f->dir, "other-creds",
			"[q]\naws_access_key_id = OTHERCRED\n"
			"aws_secret_access_key = z\n");
	cfg = tmpdir_file(&f->dir, "other-config");
	cred = tmpdir_file(&f->dir, "other-creds");
	test_env_set(&f->fenv, "AWS_CONFIG_FILE", "~/other-config");
	test_env_set(&f->fenv, "AWS_SHARED_CREDENTIALS_FILE", cred);
	assert_string_equal(profile_key(f, "p"), "OTHERCFG");
	assert_string_equal(profile_key(f, "q"), "OTHERCRED");

	/* the files in ~/.aws are not read any more */
	f->env.profile = NULL;
	assert_int_equal(fixture_ask(f, cred_provider_profile_new(&f->env)), 1);
	strbuf_addf(&f->want, "profile 'default': not found in %s, %s", cfg, cred);
	assert_string_equal(f->err.buf, f->want.buf);
	free(cfg);
	free(cred);
}

static void test_profile_explicit_but_missing(void **state)
{
	struct cred_fixture *f = *state;

	fixture_home(f, "[default]\nregion = us-east-1\n", NULL);
	test_env_set(&f->fenv, "AWS_PROFILE", "x");
	assert_int_equal(fixture_ask(f, cred_provider_default_chain_new(&f->env)), -1);
	strbuf_addf(&f->want, "profile 'x' not found in %s/.aws/config, %s/.aws/credentials",
		    f->dir.path, f->dir.path);
	assert_string_equal(f->err.buf, f->want.buf);

	/* a profile without keys is "nothing here", not an error */
	test_env_release(&f->fenv);
	test_env_set(&f->fenv, "HOME", f->dir.path);
	strbuf_reset(&f->err);
	strbuf_reset(&f->want);
	assert_int_equal(fixture_ask(f, cred_provider_profile_new(&f->env)), 1);
	strbuf_addf(&f->want,
		    "profile 'default': no aws_access_key_id in %s/.aws/config, "
		    "%s/.aws/credentials",
		    f->dir.path, f->dir.path);
	assert_string_equal(f->err.buf, f->want.buf);
}

/* The error the default chain gives for a home with CONFIG and CREDENTIALS (either may be
 * NULL) and --profile PROFILE is WANT, each ~ in it the home directory. */
static void expect_profile_error(const char *config, const char *credentials, const char *profile,
				 const char *want)
{
	struct cred_fixture *f;
	void *fixture;
	size_t j;

	cred_setup(&fixture);
	f = fixture;
	f->env.profile = profile;
	fixture_home(f, config, credentials);
	/* the chain: environment has nothing, the profile stops it */
	assert_int_equal(fixture_ask(f, cred_provider_default_chain_new(&f->env)), -1);
	for (j = 0; want[j]; j++)
		if (want[j] == '~')
			strbuf_addstr(&f->want, f->dir.path);
		else
			strbuf_addch(&f->want, want[j]);
	assert_string_equal(f->err.buf, f->want.buf);
	assert_null(strstr(f->err.buf, "hunter2"));
	assert_null(strstr(f->err.buf, "IGNORED"));
	cred_teardown(&fixture);
}
static void test_profile_errors(void **state)
{
	static const struct {
		const char *config, *credentials, *profile, *want; /* ~: the home directory */
	} cases[] = {
		{ "[profile r]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = b\n"
		  "aws_access_key_id = IGNORED\naws_secret_access_key = IGNORED\n",
		  NULL, "r",
		  "profile 'r': source_profile 'b' not found (in ~/.aws/config, ~/.aws/credentials)" },
		{ "[profile r]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = r\n", NULL, "r",
		  "profile 'r' has no credentials (it is its own source_profile) "
		  "(in ~/.aws/config, ~/.aws/credentials)" },
		{ "[profile r]\nrole_arn = arn:aws:iam::1:role/R\ncredential_source = Laptop\n",
		  NULL, "r",
		  "profile 'r': unknown credential_source 'Laptop' (use Environment, "
		  "Ec2InstanceMetadata or EcsContainer)" },
		{ "[profile r]\nrole_arn = arn:aws:iam::1:role/R\ncredential_source = Environment\n"
		  "duration_seconds = 60\n",
		  NULL, "r",
		  "profile 'r': duration_seconds '60' is not a number of seconds from 900 to 43200" },
		{ "[profile r]\nrole_arn = arn:aws:iam::1:role/R\ncredential_source = Environment\n",
		  NULL, "r",
		  "profile 'r': no source credentials: environment: AWS_ACCESS_KEY_ID not set" },
		{ "[profile a]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = b\n"
		  "[profile b]\nrole_arn = arn:aws:iam::1:role/B\nsource_profile = c\n"
		  "[profile c]\nrole_arn = arn:aws:iam::1:role/C\nsource_profile = a\n",
		  NULL, "a",
		  "profile 'a': source_profile chain forms a loop: a -> b -> c -> a "
		  "(in ~/.aws/config, ~/.aws/credentials)" },
		{ "[default]\ncredential_process = \"/bin/creds\n", NULL, NULL,
		  "profile 'default': credential_process: unterminated \" quote" },
		{ "[profile s]\nsso_session = corp\n[sso-session corp]\nsso_region = us-east-1\n",
		  NULL, "s",
		  "profile 's': [sso-session corp] has no sso_start_url "
		  "(in ~/.aws/config, ~/.aws/credentials)" },
		{ "[profile s]\nsso_session = corp\nsso_account_id = 111111111111\n"
		  "sso_role_name = Admin\n[sso-session corp]\nsso_region = us-east-1\n"
		  "sso_start_url = https://corp.awsapps.com/start\n",
		  NULL, "s",
		  "profile 's': no cached SSO token for sso-session 'corp' (no file "
		  "'~/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json'); run 'aws sso "
		  "login --profile s'" },
		{ "[profile s]\nsso_start_url = https://corp.awsapps.com/start\n"
		  "sso_account_id = 111111111111\nsso_role_name = Admin\n",
		  NULL, "s",
		  "profile 's' has sso_account_id and sso_role_name but no sso_region "
		  "(in ~/.aws/config, ~/.aws/credentials)" },
		{ "[default]\ncredential_process = /nonexistent/creds --json\n", NULL, NULL,
		  "profile 'default': credential_process cannot run '/nonexistent/creds': No such "
		  "file or directory" },
		{ NULL, "[default]\naws_access_key_id = AKID\n", NULL,
		  "profile 'default' has aws_access_key_id but no aws_secret_access_key "
		  "(in ~/.aws/config, ~/.aws/credentials)" },
		{ NULL, "[default]\naws_secret_access_key = hunter2\n", NULL,
		  "profile 'default' has aws_secret_access_key but no aws_access_key_id "
		  "(in ~/.aws/config, ~/.aws/credentials)" },
		{ "[default]\nregion = us-east-1\n", "[default]\naws_access_key_id = A\nbad line\n",
		  NULL, "~/.aws/credentials: line 3: expected '=' in property" },
		{ "[default]\n= us-east-1\n", NULL, NULL,
		  "~/.aws/config: line 2: property has no name" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		expect_profile_error(cases[i].config, cases[i].credentials, cases[i].profile,
				     cases[i].want);
}

static void test_profile_unreadable_and_oversized_files(void **state)
{
	struct cred_fixture *f = *state;
	struct strbuf big = STRBUF_INIT;

	/* a directory where the config file should be */
	fixture_home(f, NULL, "[default]\naws_access_key_id = A\naws_secret_access_key = B\n");
	tmpdir_mkdir(&f->dir, ".aws/config");
	assert_int_equal(fixture_ask(f, cred_provider_profile_new(&f->env)), -1);
	strbuf_addf(&f->want, "cannot read '%s/.aws/config': is a directory", f->dir.path);
	assert_string_equal(f->err.buf, f->want.buf);
	test_env_release(&f->fenv);

	/* 1 MiB is fine, one byte more is not */
	strbuf_addstr(&big, "[default]\naws_access_key_id = A\naws_secret_access_key = B\n");
	while (big.len < 1024 * 1024)
		strbuf_addch(&big, '#');
	strbuf_setlen(&big, 1024 * 1024 - 1);
	strbuf_addch(&big, '\n');
	fixture_home(f, NULL, NULL);
	tmpdir_write(&f->dir, ".aws/credentials", big.buf, big.len);
	strbuf_reset(&f->err);
	assert_int_equal(fixture_ask(f, cred_provider_profile_new(&f->env)), 0);
	assert_string_equal(f->creds.access_key_id, "A");
	test_env_release(&f->fenv);

	strbuf_addch(&big, '\n');
	fixture_home(f, NULL, NULL);
	tmpdir_write(&f->dir, ".aws/credentials", big.buf, big.len);
	assert_int_equal(fixture_ask(f, cred_provider_profile_new(&f->env)), -1);
	strbuf_reset(&f->want);
	strbuf_addf(&f->want, "cannot read '%s/.aws/credentials': larger than 1048576 bytes",
		    f->dir.path);
	assert_string_equal(f->err.buf, f->want.buf);
	strbuf_release(&big);
}

static void test_profile_without_home(void **state)
{
	struct cred_fixture *f = *state;

	assert_int_equal(fixture_ask(f, cred_provider_profile_new(&f->env)), 1);
	assert_string_equal(f->err.buf,
			    "profile 'default': cannot find the home directory (HOME is not set)");

	strbuf_reset(&f->err);
	test_env_set(&f->fenv, "AWS_PROFILE", "x");
	assert_int_equal(fixture_ask(f, cred_provider_profile_new(&f->env)), -1);
	assert_string_equal(f->err.buf,
			    "profile 'x': cannot find the home directory (HOME is not set)");
}

/* The process environment (getenv_fn NULL) */

static void test_process_environment(void **state)
{
	struct cred_fixture *f = *state;

	/* fenv is not read: HOME is set in it, unused */
	fixture_home(f, NULL, "[proc]\naws_access_key_id = PROC\naws_secret_access_key = S\n");
	setenv("HOME", f->dir.path, 1);
	setenv("AWS_PROFILE", "proc", 1);
	unsetenv("AWS_CONFIG_FILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_int_equal(fixture_ask(f, cred_provider_default_chain_new(NULL)), 0);
	assert_string_equal(f->creds.access_key_id, "PROC");
	assert_string_equal(cred_provider_chain_winner(f->p), "profile");
	unsetenv("AWS_PROFILE");
}

/* The chain */

static void test_default_chain_order(void **state)
{
	static const char *const want[] = { "environment", "web-identity", "profile", "container",
					    "instance-metadata" };
	struct cred_fixture *f = *state;
	size_t i;

	assert_int_equal(cred_default_chain_nr, ARRAY_SIZE(want));
	for (i = 0; i < cred_default_chain_nr; i++) {
		struct cred_provider *p = cred_default_chain[i].new_fn(&f->env);
		assert_string_equal(cred_default_chain[i].name, want[i]);
		assert_string_equal(p->vt->name, want[i]);
		cred_provider_destroy(p);
	}
}

static void test_chain_nothing_found_names_every_source(void **state)
{
	struct cred_fixture *f = *state;

	test_env_set(&f->fenv, "HOME", "/h");
	test_env_set(&f->fenv, "AWS_EC2_METADATA_DISABLED", "True");
	assert_int_equal(fixture_ask(f, cred_provider_default_chain_new(&f->env)), -1);
	assert_string_equal(f->p->vt->name, "chain");
	assert_string_equal(f->err.buf,
			    "no AWS credentials found (tried: environment: "
			    "AWS_ACCESS_KEY_ID not set; web identity: "
			    "AWS_WEB_IDENTITY_TOKEN_FILE not set; profile 'default': not "
			    "found in /h/.aws/config, /h/.aws/credentials; container: "
			    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set; "
			    "instance metadata: disabled by AWS_EC2_METADATA_DISABLED)");
	assert_null(cred_provider_chain_winner(f->p));

	strbuf_reset(&f->err);
	assert_int_equal(fixture_ask(f, cred_provider_chain_new(NULL, 0)), -1);
	assert_string_equal(f->err.buf, "no AWS credentials found (tried: nothing)");
}

static void test_chain_env_beats_profile(void **state)
{
	struct cred_fixture *f = *state;

	fixture_home(f, NULL, "[default]\naws_access_key_id = FILE\naws_secret_access_key = F\n");
	test_env_set(&f->fenv, "AWS_ACCESS_KEY_ID", "ENV");
	test_env_set(&f->fenv, "AWS_SECRET_ACCESS_KEY", "E");
	assert_int_equal(fixture_ask(f, cred_provider_default_chain_new(&f->env)), 0);
	assert_string_equal(f->creds.access_key_id, "ENV");
	assert_string_equal(cred_provider_chain_winner(f->p), "environment");
	test_env_release(&f->fenv);

	/* without the environment keys the profile answers */
	test_env_set(&f->fenv, "HOME", f->dir.path);
	assert_int_equal(fixture_ask(f, cred_provider_default_chain_new(&f->env)), 0);
	assert_string_equal(f->creds.access_key_id, "FILE");
	assert_string_equal(cred_provider_chain_winner(f->p), "profile");
	assert_int_equal(f->err.len, 0);
}

/* A scripted provider that counts its calls. */
struct counting_provider {
	struct cred_provider base;
	int result; /* what get returns */
	int calls, invalidations;
	int *destroyed;
};

static int counting_get(struct cred_provider *base, struct aws_credentials *out, struct strbuf *err)
{
	struct counting_provider *p = (struct counting_provider *)base;
	p->calls++;
	if (p->result == 0) {
		out->access_key_id = xstrdup("COUNT");
		out->secret_access_key = xstrdup("c");
	} else if (p->result > 0) {
		strbuf_addstr(err, "counting: nothing");
	} else {
		strbuf_addstr(err, "counting: broken");
	}
	return p->result;
}

static void counting_invalidate(struct cred_provider *base)
{
	((struct counting_provider *)base)->invalidations++;
}

static void counting_destroy(struct cred_provider *base)
{
	(*((struct counting_provider *)base)->destroyed)++;
}

static const struct cred_provider_vtable counting_vt = {
	"counting",
	counting_get,
	counting_invalidate,
	counting_destroy,
};

static void test_chain_remembers_winner(void **state)
{
	int destroyed = 0;
	struct counting_provider a = { { &counting_vt }, 1, 0, 0, &destroyed };
	struct counting_provider b = { { &counting_vt }, 0, 0, 0, &destroyed };
	struct counting_provider c = { { &counting_vt }, -1, 0, 0, &destroyed };
	struct cred_provider *members[] = { &a.base, &b.base, &c.base };
	struct cred_provider *chain = cred_provider_chain_new(members, ARRAY_SIZE(members));
	struct aws_credentials creds = { 0 };
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(get_from(chain, &creds, &err), 0);
	aws_credentials_release(&creds);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(c.calls, 0);

	/* the winner is asked first */
	assert_int_equal(get_from(chain, &creds, &err), 0);
	aws_credentials_release(&creds);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 2);

	/* invalidate reaches every member and forgets the winner */
	cred_provider_invalidate(chain);
	assert_int_equal(a.invalidations + b.invalidations + c.invalidations, 3);
	assert_null(cred_provider_chain_winner(chain));
	assert_int_equal(get_from(chain, &creds, &err), 0);
	aws_credentials_release(&creds);
	assert_int_equal(a.calls, 2);

	/* a winner that has nothing any more: start over; a failing member stops the chain */
	b.result = 1;
	assert_int_equal(get_from(chain, &creds, &err), -1);
	assert_string_equal(err.buf, "counting: broken");
	assert_int_equal(c.calls, 1);
	assert_int_equal(err.len, strlen("counting: broken"));
	cred_provider_destroy(chain);
	assert_int_equal(destroyed, 3);
	strbuf_release(&err);
}

static void test_static_provider(void **state)
{
	struct aws_credentials in = { 0 }, out = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct cred_provider *p;

	in.access_key_id = xstrdup("AKIDSTATIC");
	in.secret_access_key = xstrdup("s");
	in.session_token = xstrdup("t");
	in.expiration = 42;
	p = cred_provider_static_new(&in);
	aws_credentials_release(&in);
	assert_string_equal(p->vt->name, "static");
	assert_int_equal(get_from(p, &out, &err), 0);
	assert_string_equal(out.access_key_id, "AKIDSTATIC");
	assert_string_equal(out.session_token, "t");
	assert_int_equal(out.expiration, 42);
	aws_credentials_release(&out);
	cred_provider_invalidate(p);
	assert_int_equal(get_from(p, &out, &err), 0);
	aws_credentials_release(&out);
	cred_provider_destroy(p);
	cred_provider_destroy(NULL);
	strbuf_release(&err);
}

static void test_profile_type_names(void **state)
{
	assert_string_equal(cred_profile_type_name(CRED_PROFILE_NONE), "none");
	assert_string_equal(cred_profile_type_name(CRED_PROFILE_BASIC), "basic");
	assert_string_equal(cred_profile_type_name(CRED_PROFILE_SESSION), "session");
	assert_string_equal(cred_profile_type_name(CRED_PROFILE_ASSUME_ROLE), "assumeRole");
	assert_string_equal(cred_profile_type_name(CRED_PROFILE_WEB_IDENTITY), "webIdentity");
	assert_string_equal(cred_profile_type_name(CRED_PROFILE_SSO), "sso");
	assert_string_equal(cred_profile_type_name(CRED_PROFILE_PROCESS), "process");
	assert_int_equal(cred_profile_type(NULL), CRED_PROFILE_NONE);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_assume_role_cases_offline),
		CRED_TEST(test_env_blank_counts_as_unset),
		CRED_TEST(test_env_keys),
		CRED_TEST(test_env_only_one_key_is_an_error),
		CRED_TEST(test_profile_static_keys),
		CRED_TEST(test_profile_override_beats_aws_profile),
		CRED_TEST(test_profile_file_env_vars),
		CRED_TEST(test_profile_explicit_but_missing),
		cmocka_unit_test(test_profile_errors),
		CRED_TEST(test_profile_unreadable_and_oversized_files),
		CRED_TEST(test_profile_without_home),
		CRED_TEST(test_process_environment),
		CRED_TEST(test_default_chain_order),
		CRED_TEST(test_chain_nothing_found_names_every_source),
		CRED_TEST(test_chain_env_beats_profile),
		cmocka_unit_test(test_chain_remembers_winner),
		cmocka_unit_test(test_static_provider),
		cmocka_unit_test(test_profile_type_names),
	};
	struct CMUnitTest tests[ARRAY_SIZE(smithy_cases) + ARRAY_SIZE(fixed)];
	char *names[ARRAY_SIZE(smithy_cases)];
	size_t i, nr = 0;
	int ret;

	for (i = 0; i < ARRAY_SIZE(smithy_cases); i++) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "smithy-rs %s", smithy_cases[i].dir);
		names[i] = strbuf_detach(&sb, NULL);
		memset(&tests[nr], 0, sizeof(tests[nr]));
		tests[nr].name = names[i];
		tests[nr].test_func = run_smithy_case;
		tests[nr].initial_state = (void *)&smithy_cases[i];
		nr++;
	}
	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[nr++] = fixed[i];
	ret = _cmocka_run_group_tests("credentials", tests, nr, NULL, NULL);
	for (i = 0; i < ARRAY_SIZE(smithy_cases); i++)
		free(names[i]);
	return ret;
}
