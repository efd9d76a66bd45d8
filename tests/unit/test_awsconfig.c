#include "core/compat.h"
#include "core/awsconfig.h"
#include "core/strbuf.h"
#include "aws/credentials.h"

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include "testdata.h"

/*
 * The cross-SDK profile-file suites, read at run time from
 * tests/data/aws-config/: every case of
 * every file becomes one cmocka test, and a count test per file makes sure
 * none is silently skipped. Then the hand-written tests.
 */

#define RUBY_PARSER "aws-sdk-ruby/config-file-parser-tests.json"
#define RUST_PARSER "smithy-rs/aws-runtime/test-data/profile-parser-tests.json"
#define RUBY_LOCATION "aws-sdk-ruby/config-file-location-tests.json"
#define RUST_LOCATION "smithy-rs/aws-runtime/test-data/file-location-tests.json"
#define RUBY_PROFILE "aws-sdk-ruby/config-file-profile-tests.json"

/* Helpers */

static int parse_text(struct aws_profile_set *set, enum aws_file_kind kind, const char *text,
		      struct strbuf *err)
{
	return aws_profiles_parse(set, kind, text, strlen(text),
				  kind == AWS_FILE_CONFIG ? "config" : "credentials", err);
}

/* Compares the sections of set (profiles or sso-sessions) with a JSON object, both ways. */
static int compare_sections(const struct aws_profile_set *set, int sso, json_t *want,
			    struct strbuf *why)
{
	size_t n = sso ? set->nsso_sessions : set->nprofiles;
	const struct aws_profile *sections = sso ? set->sso_sessions : set->profiles;
	const char *kind = sso ? "sso-session" : "profile";
	const char *name;
	json_t *props;
	size_t i;

	if (!json_is_object(want)) {
		strbuf_addf(why, "expected %s map is not an object", kind);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!json_object_get(want, sections[i].name)) {
			strbuf_addf(why, "unexpected %s '%s'", kind, sections[i].name);
			return -1;
		}
	if (n != json_object_size(want)) {
		strbuf_addf(why, "%zu %ss, expected %zu", n, kind, json_object_size(want));
		return -1;
	}
	json_object_foreach(want, name, props)
	{
		const struct aws_profile *p =
			sso ? aws_sso_session_find(set, name) : aws_profile_find(set, name);
		const char *key;
		json_t *value;
		if (!p) {
			strbuf_addf(why, "missing %s '%s'", kind, name);
			return -1;
		}
		for (i = 0; i < p->nprops; i++)
			if (!json_object_get(props, p->props[i].name)) {
				strbuf_addf(why, "%s '%s': unexpected property '%s'", kind, name,
					    p->props[i].name);
				return -1;
			}
		if (p->nprops != json_object_size(props)) {
			strbuf_addf(why, "%s '%s': %zu properties, expected %zu", kind, name,
				    p->nprops, json_object_size(props));
			return -1;
		}
		json_object_foreach(props, key, value)
		{
			const char *got = NULL;
			for (i = 0; i < p->nprops; i++)
				if (!strcmp(p->props[i].name, key))
					got = p->props[i].value;
			if (!got || strlen(got) != json_string_length(value) ||
			    memcmp(got, json_string_value(value), strlen(got))) {
				strbuf_addf(why, "%s '%s': property '%s' is '%s', expected '%s'",
					    kind, name, key, got ? got : "(missing)",
					    json_string_value(value));
				return -1;
			}
		}
	}
	return 0;
}

/* The JSON suites as dynamic cmocka tests */

struct json_case {
	json_t *test;
	int rust; /* the smithy-rs layout: output.config.{profiles,sso_sessions} */
};

static void run_parser_case(void **state)
{
	const struct json_case *c = *state;
	json_t *input = json_object_get(c->test, "input");
	json_t *output = json_object_get(c->test, "output");
	json_t *config = json_object_get(input, "configFile");
	json_t *creds = json_object_get(input, "credentialsFile");
	json_t *want_error = json_object_get(output, "errorContaining");
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf err = STRBUF_INIT, why = STRBUF_INIT;
	int ret = 0;

	if (config)
		ret = aws_profiles_parse(&set, AWS_FILE_CONFIG, json_string_value(config),
					 json_string_length(config), "config", &err);
	if (!ret && creds)
		ret = aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, json_string_value(creds),
					 json_string_length(creds), "credentials", &err);
	if (want_error) {
		if (!ret)
			strbuf_addf(&why, "parsed, expected an error containing '%s'",
				    json_string_value(want_error));
		else if (!strstr(err.buf, ": line ") || strchr(err.buf, '\n'))
			strbuf_addf(&why, "error message is not one line naming the line: '%s'",
				    err.buf);
	} else if (ret) {
		strbuf_addf(&why, "unexpected error: %s", err.buf);
	} else if (c->rust) {
		json_t *cfg = json_object_get(output, "config");
		json_t *sso = json_object_get(cfg, "sso_sessions");
		json_t *empty = json_object();
		if (!compare_sections(&set, 0, json_object_get(cfg, "profiles"), &why))
			compare_sections(&set, 1, sso ? sso : empty, &why);
		json_decref(empty);
	} else {
		json_t *empty = json_object();
		if (!compare_sections(&set, 0, json_object_get(output, "profiles"), &why))
			compare_sections(&set, 1, empty, &why);
		json_decref(empty);
	}
	aws_profile_set_release(&set);
	strbuf_release(&err);
	if (why.len) {
		print_error("case '%s': %s\n", json_string_value(json_object_get(c->test, "name")),
			    why.buf);
		strbuf_release(&why);
		fail();
	}
}

static const char *json_getenv(void *ctx, const char *name)
{
	return json_string_value(json_object_get(ctx, name));
}

static void run_location_case(void **state)
{
	const struct json_case *c = *state;
	json_t *t = c->test;
	json_t *env = json_object_get(t, "environment");
	const char *platform = json_string_value(json_object_get(t, "platform"));
	const char *lang_home = json_string_value(json_object_get(t, "languageSpecificHome"));
	const char *profile = json_string_value(json_object_get(t, "profile"));
	const char *config = json_string_value(json_object_get(t, "configLocation"));
	const char *creds = json_string_value(json_object_get(t, "credentialsLocation"));
	struct aws_file_locations loc;
	struct strbuf err = STRBUF_INIT;

	assert_non_null(platform);
	assert_non_null(config);
	assert_non_null(creds);
	assert_int_equal(aws_file_locations_resolve(&loc, json_getenv, env, platform, lang_home,
						    NULL, &err),
			 0);
	assert_string_equal(loc.config_file, config);
	assert_string_equal(loc.credentials_file, creds);
	if (profile)
		assert_string_equal(loc.profile, profile);
	aws_file_locations_release(&loc);
	strbuf_release(&err);
}

/* The profiles of config-file-profile-tests.json, written out as a config file and parsed. */
static void profiles_from_json(struct aws_profile_set *set, json_t *profiles)
{
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	const char *name, *key;
	json_t *props, *value;

	json_object_foreach(profiles, name, props)
	{
		strbuf_addf(&text, "[profile %s]\n", name);
		json_object_foreach(props, key, value)
			strbuf_addf(&text, "%s = %s\n", key, json_string_value(value));
	}
	assert_int_equal(aws_profiles_parse(set, AWS_FILE_CONFIG, text.buf, text.len, "config",
					    &err),
			 0);
	strbuf_release(&text);
	strbuf_release(&err);
}

static void run_profile_suite(void **state)
{
	const struct json_case *c = *state;
	json_t *region_tests = json_object_get(c->test, "regionTests");
	json_t *cred_tests = json_object_get(c->test, "credentialsTests");
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	json_t *list, *t;
	size_t i, nregion = 0, ncred = 0;

	profiles_from_json(&set, json_object_get(c->test, "profiles"));
	assert_int_equal(set.nprofiles, json_object_size(json_object_get(c->test, "profiles")));

	/* regionTests is one object in this copy; accept a list too */
	if (json_is_array(region_tests)) {
		list = json_incref(region_tests);
	} else {
		list = json_array();
		json_array_append(list, region_tests);
	}
	json_array_foreach(list, i, t)
	{
		const char *profile = json_string_value(json_object_get(t, "profile"));
		json_t *want = json_object_get(json_object_get(t, "output"), "region");
		const char *got = aws_profile_get(aws_profile_find(&set, profile), "region");
		if (want)
			assert_string_equal(got ? got : "(none)", json_string_value(want));
		else
			assert_null(got);
		nregion++;
	}
	json_decref(list);

	json_array_foreach(cred_tests, i, t)
	{
		const char *profile = json_string_value(json_object_get(t, "profile"));
		const char *want = json_string_value(
			json_object_get(json_object_get(t, "output"), "credentialType"));
		enum cred_profile_type type = cred_profile_type(aws_profile_find(&set, profile));
		assert_non_null(want);
		assert_string_equal(cred_profile_type_name(type), want);
		ncred++;
	}
	assert_int_equal(nregion, 1);
	assert_int_equal(ncred, 3);
	aws_profile_set_release(&set);
}

struct suite_count {
	const char *file;
	const char *key; /* "tests" or "testSuites" */
	size_t want;
	size_t got;
	char *load_error;
};

static void run_count(void **state)
{
	const struct suite_count *sc = *state;
	if (sc->load_error) {
		print_error("%s\n", sc->load_error);
		fail();
	}
	if (sc->got != sc->want) {
		print_error("%s: %zu cases, expected %zu\n", sc->file, sc->got, sc->want);
		fail();
	}
}

/* Hand-written parser tests */

static void test_error_message_names_file_and_line(void **state)
{
	static const struct {
		enum aws_file_kind kind;
		const char *text, *want;
	} cases[] = {
		{ AWS_FILE_CREDENTIALS, "\n\n\n[a\n",
		  "credentials: line 4: profile definition must end with ']'" },
		{ AWS_FILE_CONFIG, "x = 1\n",
		  "config: line 1: expected a profile definition before a property" },
		{ AWS_FILE_CONFIG, "[default]\n= us-east-1\n",
		  "config: line 2: property has no name" },
		{ AWS_FILE_CONFIG, "[default]\n  x = 1\n",
		  "config: line 2: expected a property definition, found continuation" },
		{ AWS_FILE_CONFIG, "[default]\ns3 =\n  a = 1\n  b\n",
		  "config: line 4: expected '=' in sub-property" },
	};
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf err = STRBUF_INIT;
	const char *text = "[profile a]\nx = 1\nkey : value\n";
	size_t i;

	assert_int_equal(aws_profiles_parse(&set, AWS_FILE_CONFIG, text, strlen(text),
					    "/h/.aws/config", &err),
			 -1);
	assert_string_equal(err.buf, "/h/.aws/config: line 3: expected '=' in property");
	aws_profile_set_release(&set);

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		strbuf_reset(&err);
		assert_int_equal(parse_text(&set, cases[i].kind, cases[i].text, &err), -1);
		assert_string_equal(err.buf, cases[i].want);
		aws_profile_set_release(&set);
	}

	/* the error is appended, and err may be NULL */
	assert_int_equal(parse_text(&set, AWS_FILE_CONFIG, "x", NULL), -1);
	aws_profile_set_release(&set);
	strbuf_release(&err);
}

static void test_nul_byte_is_an_error(void **state)
{
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf err = STRBUF_INIT;
	static const char text[] = "[default]\nx = a\0b\n";

	assert_int_equal(aws_profiles_parse(&set, AWS_FILE_CONFIG, text, sizeof(text) - 1, "c",
					    &err),
			 -1);
	assert_string_equal(err.buf, "c: line 2: unexpected NUL byte");
	aws_profile_set_release(&set);
	strbuf_release(&err);
}

static void test_lookup(void **state)
{
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf err = STRBUF_INIT;
	const struct aws_profile *p;

	assert_int_equal(parse_text(&set, AWS_FILE_CONFIG,
				    "[profile Dev]\nRegion = eu-west-1\n"
				    "[sso-session corp]\nsso_region = us-east-1\n"
				    "[default]\nregion = us-east-2\n",
				    &err),
			 0);
	assert_int_equal(parse_text(&set, AWS_FILE_CREDENTIALS,
				    "[Dev]\nAWS_Access_Key_ID = AKIA1\n# c\n;c\n[dev]\nx=y\n",
				    &err),
			 0);
	p = aws_profile_find(&set, "Dev");
	assert_non_null(p);
	assert_string_equal(aws_profile_get(p, "REGION"), "eu-west-1");
	assert_string_equal(aws_profile_get(p, "aws_access_key_id"), "AKIA1");
	assert_string_equal(p->props[1].name, "aws_access_key_id");
	assert_null(aws_profile_get(p, "x"));
	assert_non_null(aws_profile_find(&set, "dev"));
	assert_null(aws_profile_find(&set, "DEV"));
	assert_null(aws_profile_find(&set, "corp"));
	assert_string_equal(aws_profile_get(aws_sso_session_find(&set, "corp"), "sso_region"),
			    "us-east-1");
	assert_string_equal(aws_profile_get(aws_profile_find(&set, "default"), "region"),
			    "us-east-2");
	assert_null(aws_profile_get(NULL, "region"));
	assert_null(aws_profile_find(NULL, "x"));
	aws_profile_set_release(&set);
	aws_profile_set_release(&set);
	aws_profile_set_release(NULL);
	strbuf_release(&err);
}

static void test_many_profiles_parse_fast(void **state)
{
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	char name[32];
	size_t i;
	clock_t t0;

	/* 1 MiB-ish of distinct profiles, then one profile with many keys */
	for (i = 0; i < 60000; i++)
		strbuf_addf(&text, "[p%zu]\n", i);
	for (i = 0; i < 60000; i++)
		strbuf_addf(&text, "k%zu=v\n", i);
	t0 = clock();
	assert_int_equal(aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, text.buf, text.len, "c",
					    &err),
			 0);
	assert_true(clock() - t0 < 5 * CLOCKS_PER_SEC);
	assert_int_equal(set.nprofiles, 60000);
	snprintf(name, sizeof(name), "p%d", 59999);
	assert_int_equal(aws_profile_find(&set, name)->nprops, 60000);
	assert_string_equal(aws_profile_get(aws_profile_find(&set, name), "k59999"), "v");
	aws_profile_set_release(&set);
	strbuf_release(&text);
	strbuf_release(&err);
}

/* Hand-written location tests */

static void test_location_tilde_and_override(void **state)
{
	static const char *const env[] = {
		"HOME=/h/",
		"AWS_CONFIG_FILE=~/cfg",
		"AWS_SHARED_CREDENTIALS_FILE=~x/creds",
		"AWS_PROFILE=envprof",
		NULL,
	};
	struct aws_file_locations loc;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(aws_file_locations_resolve(&loc, test_envp_get, (void *)env, "linux", NULL,
						    "cli", &err),
			 0);
	assert_string_equal(loc.config_file, "/h/cfg");
	assert_string_equal(loc.credentials_file, "~x/creds");
	assert_string_equal(loc.profile, "cli");
	aws_file_locations_release(&loc);

	assert_int_equal(aws_file_locations_resolve(&loc, test_envp_get, (void *)env, "linux", NULL,
						    "", &err),
			 0);
	assert_string_equal(loc.profile, "envprof");
	aws_file_locations_release(&loc);
	aws_file_locations_release(&loc);
	strbuf_release(&err);
}

static void test_location_without_home(void **state)
{
	static const char *const no_home[] = { "HOME=", "AWS_PROFILE=", NULL };
	static const char *const files[] = { "AWS_CONFIG_FILE=/c", "AWS_SHARED_CREDENTIALS_FILE=/k",
					     NULL };
	static const char *const tilde[] = { "AWS_CONFIG_FILE=~/c",
					     "AWS_SHARED_CREDENTIALS_FILE=/k", NULL };
	struct aws_file_locations loc;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(aws_file_locations_resolve(&loc, test_envp_get, (void *)no_home, "linux",
						    NULL, NULL, &err),
			 -1);
	assert_string_equal(err.buf, "cannot find the home directory (HOME is not set)");
	assert_null(loc.config_file);

	/* no home needed */
	assert_int_equal(aws_file_locations_resolve(&loc, test_envp_get, (void *)files, "linux",
						    NULL, NULL, NULL),
			 0);
	assert_string_equal(loc.config_file, "/c");
	assert_string_equal(loc.credentials_file, "/k");
	assert_string_equal(loc.profile, "default");
	aws_file_locations_release(&loc);

	assert_int_equal(aws_file_locations_resolve(&loc, test_envp_get, (void *)tilde, "linux",
						    NULL, NULL, NULL),
			 -1);
	assert_int_equal(aws_file_locations_resolve(&loc, test_envp_get, (void *)tilde, "linux",
						    "/fallback", NULL, NULL),
			 0);
	assert_string_equal(loc.config_file, "/fallback/c");
	aws_file_locations_release(&loc);
	strbuf_release(&err);
}

static void test_location_process_environment(void **state)
{
	struct aws_file_locations loc;

	setenv("HOME", "/proc-home", 1);
	setenv("AWS_PROFILE", "from-env", 1);
	unsetenv("AWS_CONFIG_FILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	assert_int_equal(aws_file_locations_resolve(&loc, NULL, NULL, "linux", NULL, NULL, NULL),
			 0);
	assert_string_equal(loc.config_file, "/proc-home/.aws/config");
	assert_string_equal(loc.credentials_file, "/proc-home/.aws/credentials");
	assert_string_equal(loc.profile, "from-env");
	aws_file_locations_release(&loc);
	unsetenv("AWS_PROFILE");
}

/* main: load the JSON files and build the test list */

struct loaded {
	json_t *root;
	struct json_case *cases;
	size_t ncases;
};

static void load_suite(struct suite_count *sc, struct loaded *l, int rust)
{
	char *path = test_data_path(sc->file);
	json_error_t jerr;
	json_t *list;
	size_t i;

	memset(l, 0, sizeof(*l));
	l->root = json_load_file(path, 0, &jerr);
	if (!l->root) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "cannot load '%s': %s", path, jerr.text);
		sc->load_error = strbuf_detach(&sb, NULL);
		free(path);
		return;
	}
	free(path);
	list = json_object_get(l->root, sc->key);
	sc->got = json_array_size(list);
	l->ncases = sc->got;
	l->cases = xcalloc(l->ncases, sizeof(*l->cases));
	for (i = 0; i < l->ncases; i++) {
		l->cases[i].test = json_array_get(list, i);
		l->cases[i].rust = rust;
	}
}

int main(void)
{
	struct suite_count counts[] = {
		{ RUBY_PARSER, "tests", 61, 0, NULL },	    { RUST_PARSER, "tests", 65, 0, NULL },
		{ RUBY_LOCATION, "tests", 11, 0, NULL },    { RUST_LOCATION, "tests", 9, 0, NULL },
		{ RUBY_PROFILE, "testSuites", 1, 0, NULL },
	};
	static const char *const labels[] = { "ruby parser", "rust parser", "ruby location",
					      "rust location", "ruby profile" };
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_error_message_names_file_and_line),
		cmocka_unit_test(test_nul_byte_is_an_error),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_many_profiles_parse_fast),
		cmocka_unit_test(test_location_tilde_and_override),
		cmocka_unit_test(test_location_without_home),
		cmocka_unit_test(test_location_process_environment),
	};
	struct loaded loaded[ARRAY_SIZE(counts)];
	struct CMUnitTest *tests;
	char **names;
	size_t i, j, nr = 0, total = ARRAY_SIZE(fixed);
	int ret;

	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		load_suite(&counts[i], &loaded[i], i == 1);
		total += 1 + loaded[i].ncases;
	}
	tests = xcalloc(total, sizeof(*tests));
	names = xcalloc(total, sizeof(*names));
	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s: %zu cases", labels[i], counts[i].want);
		names[nr] = strbuf_detach(&sb, NULL);
		tests[nr].name = names[nr];
		tests[nr].test_func = run_count;
		tests[nr].initial_state = &counts[i];
		nr++;
		for (j = 0; j < loaded[i].ncases; j++) {
			const char *n =
				json_string_value(json_object_get(loaded[i].cases[j].test, "name"));
			strbuf_addf(&sb, "%s %zu: %s", labels[i], j + 1, n ? n : "(suite)");
			names[nr] = strbuf_detach(&sb, NULL);
			tests[nr].name = names[nr];
			tests[nr].test_func = i < 2   ? run_parser_case
					      : i < 4 ? run_location_case
						      : run_profile_suite;
			tests[nr].initial_state = &loaded[i].cases[j];
			nr++;
		}
	}
	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[nr++] = fixed[i];

	ret = _cmocka_run_group_tests("awsconfig", tests, nr, NULL, NULL);

	for (i = 0; i < nr - ARRAY_SIZE(fixed); i++)
		free(names[i]);
	free(names);
	free(tests);
	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		free(loaded[i].cases);
		json_decref(loaded[i].root);
		free(counts[i].load_error);
	}
	return ret;
}
