#include "core/compat.h"
#include "core/awsconfig.h"
#include "core/profile_chain.h"
#include "core/strbuf.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include <jansson.h>
#include "testdata.h"

/*
 * The profile credential-chain planner (pure): all 28 cases of smithy-rs's
 * assume-role-tests.json from tests/data/aws-config/,
 * each step compared exactly, then hand-written cases.
 */

/* Parses config-file text into set (asserting it parses). */
static void parse_config(struct aws_profile_set *set, const char *text)
{
	struct strbuf err = STRBUF_INIT;

	if (aws_profiles_parse(set, AWS_FILE_CONFIG, text, strlen(text), "config", &err))
		fail_msg("cannot parse: %s", err.buf);
	strbuf_release(&err);
}

/* One field of a step: the name the suite uses and our value. */
struct field {
	const char *name;
	const char *value;
};

/*
 * want (a JSON object of strings) must name exactly the fields that are
 * set, with the same values: a field we set that the case does not
 * mention is a mismatch too.
 */
static void compare_fields(size_t case_no, const char *step, json_t *want,
			   const struct field *fields, size_t n)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(want, key, v)
	{
		for (i = 0; i < n; i++)
			if (!strcmp(fields[i].name, key))
				break;
		if (i == n)
			fail_msg("case %zu %s: unknown field %s", case_no, step, key);
		if (!fields[i].value || strcmp(fields[i].value, json_string_value(v)))
			fail_msg("case %zu %s: %s is '%s', want '%s'", case_no, step, key,
				 fields[i].value ? fields[i].value : "(unset)",
				 json_string_value(v));
	}
	for (i = 0; i < n; i++)
		if (fields[i].value && !json_object_get(want, fields[i].name))
			fail_msg("case %zu %s: %s is '%s', want it unset", case_no, step,
				 fields[i].name, fields[i].value);
}

static void compare_base(size_t case_no, json_t *want, const struct cred_base_step *b)
{
	const char *kind = cred_base_kind_name(b->kind);
	json_t *w = json_object_get(want, kind);

	if (!w)
		fail_msg("case %zu: base is %s, want %s", case_no, kind,
			 json_object_iter_key(json_object_iter(want)));
	switch (b->kind) {
	case CRED_BASE_ACCESS_KEY: {
		const struct field f[] = {
			{ "access_key_id", b->access_key_id },
			{ "secret_access_key", b->secret_access_key },
			{ "session_token", b->session_token },
			{ "account_id", b->account_id },
		};
		compare_fields(case_no, kind, w, f, ARRAY_SIZE(f));
		break;
	}
	case CRED_BASE_NAMED_SOURCE:
		assert_string_equal(b->credential_source, json_string_value(w));
		break;
	case CRED_BASE_WEB_IDENTITY: {
		const struct field f[] = {
			{ "role_arn", b->role_arn },
			{ "web_identity_token_file", b->web_identity_token_file },
			{ "role_session_name", b->role_session_name },
		};
		compare_fields(case_no, kind, w, f, ARRAY_SIZE(f));
		break;
	}
	case CRED_BASE_SSO: {
		const struct field f[] = {
			{ "sso_session", b->sso_session },
			{ "sso_region", b->sso_region },
			{ "sso_start_url", b->sso_start_url },
			{ "sso_account_id", b->sso_account_id },
			{ "sso_role_name", b->sso_role_name },
		};
		compare_fields(case_no, kind, w, f, ARRAY_SIZE(f));
		break;
	}
	case CRED_BASE_PROCESS:
		fail_msg("case %zu: no case expects credential_process", case_no);
		break;
	}
}

static void compare_role(size_t case_no, json_t *want, const struct cred_role_step *r)
{
	json_t *w = json_object_get(want, "AssumeRole");
	const struct field f[] = {
		{ "role_arn", r->role_arn },
		{ "external_id", r->external_id },
		{ "role_session_name", r->role_session_name },
		{ "duration_seconds", r->duration_seconds },
		{ "mfa_serial", r->mfa_serial },
	};

	if (!w)
		fail_msg("case %zu: step is AssumeRole, want %s", case_no,
			 json_object_iter_key(json_object_iter(want)));
	compare_fields(case_no, "AssumeRole", w, f, ARRAY_SIZE(f));
}

/*
 * Our message for each error case (the suite's are Rust's wording): the
 * index in the file and a substring of ours.
 */
static const struct {
	size_t case_no;
	int ret;
	const char *message;
} error_messages[] = {
	{ 6, -1, "profile 'A' has role_arn but neither source_profile nor credential_source" },
	{ 7, -1, "profile 'A' has both source_profile and credential_source (use one)" },
	{ 8, -1, "profile 'B' has aws_access_key_id but no aws_secret_access_key" },
	{ 9, -1, "profile 'B' has aws_secret_access_key but no aws_access_key_id" },
	{ 10, -1, "profile 'B' has no credentials (it is the source_profile of 'A')" },
	{ 11, 1, "profile 'A' has no credentials" },
	{ 12, -1, "profile 'A': source_profile 'B' not found" },
	{ 13, 1, "no profiles defined" },
	{ 16, -1, "profile 'A': source_profile chain forms a loop: A -> B -> A" },
	{ 17, -1, "profile 'A': source_profile chain forms a loop: A -> B -> A" },
	{ 20, -1, "profile 'A' has web_identity_token_file but no role_arn" },
	{ 23, -1, "profile 'A' has sso_role_name but no sso_account_id" },
	{ 24, -1, "profile 'A' has sso_account_id but no sso_role_name" },
	{ 25, -1, "profile 'A': with sso_session, sso_region belongs in [sso-session A]" },
	{ 27, -1, "profile 'A': sso-session 'oops' not found" },
};

static void test_assume_role_cases(void **state)
{
	char *path = test_data_path("smithy-rs/aws-config/test-data/assume-role-tests.json");
	json_error_t jerr;
	json_t *cases = json_load_file(path, 0, &jerr);
	size_t i, nchains = 0, nerrors = 0;
	json_t *t;

	if (!cases)
		fail_msg("cannot load '%s': %s", path, jerr.text);
	assert_int_equal(json_array_size(cases), 28);
	json_array_foreach(cases, i, t)
	{
		json_t *input = json_object_get(t, "input");
		json_t *output = json_object_get(t, "output");
		json_t *chain = json_object_get(output, "ProfileChain");
		const char *selected =
			json_string_value(json_object_get(input, "selected_profile"));
		struct aws_profile_set set = AWS_PROFILE_SET_INIT;
		struct profile_chain plan = PROFILE_CHAIN_INIT;
		struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
		size_t j;
		int ret;

		test_vector_config(&text, input);
		parse_config(&set, text.buf);
		ret = profile_chain_resolve(&set, selected, &plan, &err);
		if (chain) {
			if (ret)
				fail_msg("case %zu (%s): %s", i,
					 json_string_value(json_object_get(t, "docs")), err.buf);
			assert_int_equal(err.len, 0);
			assert_int_equal(plan.nroles + 1, json_array_size(chain));
			compare_base(i, json_array_get(chain, 0), &plan.base);
			for (j = 0; j < plan.nroles; j++)
				compare_role(i, json_array_get(chain, j + 1), &plan.roles[j]);
			nchains++;
		} else {
			assert_non_null(json_object_get(output, "Error"));
			if (!ret)
				fail_msg("case %zu (%s): planned a chain, want an error", i,
					 json_string_value(json_object_get(t, "docs")));
			assert_null(plan.roles);
			assert_true(err.len > 0);
			assert_null(strchr(err.buf, '\n'));
			for (j = 0; j < ARRAY_SIZE(error_messages); j++)
				if (error_messages[j].case_no == i)
					break;
			if (j == ARRAY_SIZE(error_messages))
				fail_msg("case %zu: no expected message (got '%s')", i, err.buf);
			assert_int_equal(ret, error_messages[j].ret);
			if (!strstr(err.buf, error_messages[j].message))
				fail_msg("case %zu: '%s' does not say '%s'", i, err.buf,
					 error_messages[j].message);
			nerrors++;
		}
		profile_chain_release(&plan);
		aws_profile_set_release(&set);
		strbuf_release(&text);
		strbuf_release(&err);
	}
	assert_int_equal(nchains, 13);
	assert_int_equal(nerrors, ARRAY_SIZE(error_messages));
	json_decref(cases);
	free(path);
}

/* Hand-written cases: config text, selected profile, expected plan or error. */

static void plan_of(const char *config, const char *selected, struct aws_profile_set *set,
		    struct profile_chain *plan, struct strbuf *err, int want_ret)
{
	int ret;

	parse_config(set, config);
	ret = profile_chain_resolve(set, selected, plan, err);
	if (ret != want_ret)
		fail_msg("'%s': returned %d, want %d (%s)", selected ? selected : "(default)", ret,
			 want_ret, err->buf);
}

/* ops assumes Ops with jump's credentials, jump assumes Jump with proc's process */
#define OPS_JUMP_PROC_CONFIG                                                                       \
	"[profile ops]\n"                                                                          \
	"role_arn = arn:aws:iam::222222222222:role/Ops\n"                                          \
	"source_profile = jump\n"                                                                  \
	"external_id = ext-1\n"                                                                    \
	"role_session_name = me\n"                                                                 \
	"duration_seconds = 900\n"                                                                 \
	"mfa_serial = arn:aws:iam::111111111111:mfa/me\n"                                          \
	"[profile jump]\n"                                                                         \
	"role_arn = arn:aws:iam::111111111111:role/Jump\n"                                         \
	"source_profile = proc\n"                                                                  \
	"[profile proc]\n"                                                                         \
	"credential_process = /usr/bin/creds --profile 'a b'\n"

static void test_role_settings_and_process(void **state)
{
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct profile_chain plan = PROFILE_CHAIN_INIT;
	struct strbuf err = STRBUF_INIT;

	plan_of(OPS_JUMP_PROC_CONFIG "aws_access_key_id = IGNORED\n"
				     "aws_secret_access_key = IGNORED\n",
		"ops", &set, &plan, &err, 0);
	/* from the second profile on, static keys win: here proc has both, and a process */
	assert_int_equal(plan.base.kind, CRED_BASE_ACCESS_KEY);
	assert_string_equal(plan.base.profile, "proc");
	profile_chain_release(&plan);
	aws_profile_set_release(&set);

	plan_of(OPS_JUMP_PROC_CONFIG, "ops", &set, &plan, &err, 0);
	assert_int_equal(plan.base.kind, CRED_BASE_PROCESS);
	assert_string_equal(plan.base.credential_process, "/usr/bin/creds --profile 'a b'");
	assert_string_equal(plan.base.profile, "proc");
	assert_int_equal(plan.nroles, 2);
	assert_string_equal(plan.roles[0].role_arn, "arn:aws:iam::111111111111:role/Jump");
	assert_string_equal(plan.roles[0].profile, "jump");
	assert_null(plan.roles[0].external_id);
	assert_null(plan.roles[0].mfa_serial);
	assert_string_equal(plan.roles[1].role_arn, "arn:aws:iam::222222222222:role/Ops");
	assert_string_equal(plan.roles[1].profile, "ops");
	assert_string_equal(plan.roles[1].external_id, "ext-1");
	assert_string_equal(plan.roles[1].role_session_name, "me");
	assert_string_equal(plan.roles[1].duration_seconds, "900");
	assert_string_equal(plan.roles[1].mfa_serial, "arn:aws:iam::111111111111:mfa/me");
	assert_int_equal(err.len, 0);
	profile_chain_release(&plan);
	aws_profile_set_release(&set);
	strbuf_release(&err);
}

static void test_credential_sources_and_defaults(void **state)
{
	static const char *const sources[] = { "Environment", "Ec2InstanceMetadata",
					       "EcsContainer" };
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct profile_chain plan = PROFILE_CHAIN_INIT;
	struct strbuf err = STRBUF_INIT, cfg = STRBUF_INIT;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sources); i++) {
		strbuf_reset(&cfg);
		strbuf_addf(&cfg,
			    "[default]\nrole_arn = arn:aws:iam::1:role/R\n"
			    "credential_source = %s\n",
			    sources[i]);
		plan_of(cfg.buf, NULL, &set, &plan, &err, 0);
		assert_int_equal(plan.base.kind, CRED_BASE_NAMED_SOURCE);
		assert_string_equal(plan.base.credential_source, sources[i]);
		assert_int_equal(plan.nroles, 1);
		profile_chain_release(&plan);
		aws_profile_set_release(&set);
	}

	/* no default profile: nothing here (the chain goes on); a named one: an error */
	plan_of("[profile other]\naws_access_key_id = A\naws_secret_access_key = B\n", NULL, &set,
		&plan, &err, 1);
	assert_string_equal(err.buf, "profile 'default' not found");
	aws_profile_set_release(&set);
	strbuf_reset(&err);
	plan_of("[profile other]\naws_access_key_id = A\naws_secret_access_key = B\n", "x", &set,
		&plan, &err, -1);
	assert_string_equal(err.buf, "profile 'x' not found");
	aws_profile_set_release(&set);
	strbuf_reset(&err);

	/* blank values count as unset */
	plan_of("[default]\nrole_arn = \nregion = us-east-1\naws_access_key_id = A\n"
		"aws_secret_access_key = B\naws_session_token = T\n",
		"", &set, &plan, &err, 0);
	assert_int_equal(plan.base.kind, CRED_BASE_ACCESS_KEY);
	assert_string_equal(plan.base.session_token, "T");
	assert_int_equal(plan.nroles, 0);
	profile_chain_release(&plan);
	aws_profile_set_release(&set);

	/* a token without keys is partial */
	plan_of("[default]\naws_session_token = T\n", NULL, &set, &plan, &err, -1);
	assert_string_equal(err.buf, "profile 'default' has aws_session_token but no "
				     "aws_access_key_id");
	aws_profile_set_release(&set);
	profile_chain_release(NULL);
	strbuf_release(&err);
	strbuf_release(&cfg);
	assert_string_equal(cred_base_kind_name((enum cred_base_kind)42), "unknown");
}

#define SSO_SESSION_CORP                                                                           \
	"[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"                     \
	"sso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n"

/* SSO: both forms, their settings merged and checked as botocore does. */
static void test_sso_settings(void **state)
{
	static const struct text_case errors[] = {
		/* legacy: the four settings are required */
		{ "[profile d]\nsso_account_id = 111111111111\nsso_role_name = R\n"
		  "sso_region = eu-west-1\n",
		  "profile 'd' has sso_account_id and sso_role_name but no sso_start_url" },
		{ "[profile d]\nsso_account_id = 111111111111\nsso_role_name = R\n"
		  "sso_start_url = https://x/start\n",
		  "profile 'd' has sso_account_id and sso_role_name but no sso_region" },
		{ "[profile d]\nsso_start_url = https://x/start\nsso_region = eu-west-1\n",
		  "profile 'd' has SSO settings but neither sso_session nor sso_account_id and "
		  "sso_role_name" },
		{ "[profile d]\nsso_session = corp\nsso_account_id = 111111111111\n" SSO_SESSION_CORP,
		  "profile 'd' has sso_account_id but no sso_role_name" },
		/* sso-session: what the profile repeats must agree */
		{ "[profile d]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n"
		  "sso_start_url = https://other/start\n" SSO_SESSION_CORP,
		  "profile 'd': sso_start_url differs from the one in [sso-session corp]" },
		{ "[profile d]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n"
		  "sso_region = us-east-1\n" SSO_SESSION_CORP,
		  "profile 'd': sso_region differs from the one in [sso-session corp]" },
		{ "[profile d]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n"
		  "[sso-session corp]\nsso_region = eu-west-1\n",
		  "profile 'd': [sso-session corp] has no sso_start_url" },
		{ "[profile d]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n"
		  "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n",
		  "profile 'd': [sso-session corp] has no sso_region" },
		{ "[profile d]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = R\n",
		  "profile 'd': sso-session 'nope' not found" },
		/* as the source of a role */
		{ "[profile r]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = d\n"
		  "[profile d]\nsso_role_name = R\nsso_start_url = https://x\nsso_region = eu-west-1\n",
		  "profile 'd' has sso_role_name but no sso_account_id" },
	};
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct profile_chain plan = PROFILE_CHAIN_INIT;
	struct strbuf err = STRBUF_INIT;
	size_t i;

	/* legacy */
	plan_of("[profile dev]\nsso_start_url = https://my.awsapps.com/start\n"
		"sso_region = us-east-2\nsso_account_id = 111111111111\n"
		"sso_role_name = ReadOnly\nregion = eu-west-1\n",
		"dev", &set, &plan, &err, 0);
	assert_int_equal(plan.base.kind, CRED_BASE_SSO);
	assert_string_equal(plan.base.profile, "dev");
	assert_null(plan.base.sso_session);
	assert_string_equal(plan.base.sso_start_url, "https://my.awsapps.com/start");
	assert_string_equal(plan.base.sso_region, "us-east-2");
	assert_string_equal(plan.base.sso_account_id, "111111111111");
	assert_string_equal(plan.base.sso_role_name, "ReadOnly");
	assert_int_equal(plan.nroles, 0);
	profile_chain_release(&plan);
	aws_profile_set_release(&set);

	/* sso-session: the URL and region from the section; equal repeats are fine */
	plan_of("[profile dev]\nsso_session = corp\nsso_account_id = 222222222222\n"
		"sso_role_name = Admin\nsso_start_url = https://corp.awsapps.com/start\n"
		"sso_region = eu-west-1\n" SSO_SESSION_CORP,
		"dev", &set, &plan, &err, 0);
	assert_int_equal(plan.base.kind, CRED_BASE_SSO);
	assert_string_equal(plan.base.sso_session, "corp");
	assert_string_equal(plan.base.sso_start_url, "https://corp.awsapps.com/start");
	assert_string_equal(plan.base.sso_region, "eu-west-1");
	assert_string_equal(plan.base.sso_account_id, "222222222222");
	assert_string_equal(plan.base.sso_role_name, "Admin");
	profile_chain_release(&plan);
	aws_profile_set_release(&set);

	/* the source of a role chain; SSO wins over credential_process and keys */
	plan_of("[profile audit]\nrole_arn = arn:aws:iam::333333333333:role/Auditor\n"
		"source_profile = dev\n"
		"[profile dev]\nsso_session = corp\nsso_account_id = 222222222222\n"
		"sso_role_name = Admin\ncredential_process = /bin/false\n" SSO_SESSION_CORP,
		"audit", &set, &plan, &err, 0);
	assert_int_equal(plan.base.kind, CRED_BASE_SSO);
	assert_string_equal(plan.base.profile, "dev");
	assert_int_equal(plan.nroles, 1);
	assert_string_equal(plan.roles[0].role_arn, "arn:aws:iam::333333333333:role/Auditor");
	profile_chain_release(&plan);
	aws_profile_set_release(&set);
	assert_int_equal(err.len, 0);

	for (i = 0; i < ARRAY_SIZE(errors); i++) {
		const char *sel = strstr(errors[i].in, "[profile r]") ? "r" : "d";

		plan_of(errors[i].in, sel, &set, &plan, &err, -1);
		if (!strstr(err.buf, errors[i].want))
			fail_msg("case %zu: '%s' does not say '%s'", i, err.buf, errors[i].want);
		assert_null(strchr(err.buf, '\n'));
		assert_null(plan.roles);
		aws_profile_set_release(&set);
		strbuf_reset(&err);
	}
	strbuf_release(&err);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_assume_role_cases),
	cmocka_unit_test(test_role_settings_and_process),
	cmocka_unit_test(test_credential_sources_and_defaults),
	cmocka_unit_test(test_sso_settings),
};

UNIT_TEST_MAIN(tests)
