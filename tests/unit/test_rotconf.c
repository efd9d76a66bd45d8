/* The rotate config file: sections, precedence, errors. */
#include "core/compat.h"
#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include "core/rotconf.h"

static const char good[] = "# comment\n"
			   "; another\n"
			   "[default]\n"
			   "to = secretsmanager:iamkeys/{account}/{user}\n"
			   "rotate_after = 90d\n"
			   "delete_after=14d\n"
			   "\n"
			   "[tag team=payments]   # inline comment after the header\n"
			   "to = ssm:/payments/{user}\n"
			   "rotate_after = 30d\n"
			   "[tag owner]\n"
			   "deactivate_after = 2w\n"
			   "[user alice]\n"
			   "to = file:/srv/keys/alice.json\n"
			   "exempt = false\n"
			   "[user bob]\n"
			   "exempt = true\n"
			   "max_grace = 60d\n";

/* A test's file, parsed by parse_good(), released after the test. */
static int conf_setup(void **state)
{
	*state = xcalloc(1, sizeof(struct rotconf));
	return 0;
}

static int conf_teardown(void **state)
{
	rotconf_release(*state);
	free(*state);
	return 0;
}

#define CONF_TEST(fn) cmocka_unit_test_setup_teardown(fn, conf_setup, conf_teardown)

/* The test's file: TEXT, which must parse. */
static const struct rotconf *parse_good(void **state, const char *text)
{
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(rotconf_parse(*state, text, strlen(text), "r.ini", &err), 0);
	strbuf_release(&err);
	return *state;
}

/* The settings of user (in account, with the tags k=v) from the file alone. */
static void resolve(const struct rotconf *c, const char *account, const char *user,
		    const char *const *k, const char *const *v, size_t ntags,
		    struct rotconf_settings *s)
{
	rotconf_settings_unset(s);
	rotconf_resolve(c, account, user, k, v, ntags, s);
}

/* The tags of the users resolved below: team=payments, then owner=x (ntags 1 or 2). */
static const char *const k[] = { "team", "owner" };
static const char *const v[] = { "payments", "x" };

static void test_precedence(void **state)
{
	const struct rotconf *c = parse_good(state, good);
	struct rotconf_settings s;

	assert_int_equal(c->n, 5);

	resolve(c, NULL, "zed", NULL, NULL, 0, &s);
	assert_string_equal(s.to, "secretsmanager:iamkeys/{account}/{user}");
	assert_int_equal(s.rotate_after, 90 * 86400);
	assert_int_equal(s.delete_after, 14 * 86400);
	assert_int_equal(s.deactivate_after, -1);
	assert_int_equal(s.exempt, -1);

	resolve(c, NULL, "zed", k, v, 2, &s);
	assert_string_equal(s.to, "ssm:/payments/{user}");
	assert_int_equal(s.rotate_after, 30 * 86400);
	assert_int_equal(s.deactivate_after, 14 * 86400);

	resolve(c, NULL, "alice", k, v, 2, &s);
	assert_string_equal(s.to, "file:/srv/keys/alice.json");
	assert_int_equal(s.rotate_after, 30 * 86400);
	assert_int_equal(s.exempt, 0);

	resolve(c, NULL, "bob", NULL, NULL, 0, &s);
	assert_int_equal(s.exempt, 1);
	assert_int_equal(s.max_grace, 60 * 86400);

	/* what the command line set wins */
	rotconf_settings_unset(&s);
	s.rotate_after = 5;
	s.to = (char *)"file:/cli";
	rotconf_resolve(c, NULL, "alice", k, v, 2, &s);
	assert_int_equal(s.rotate_after, 5);
	assert_string_equal(s.to, "file:/cli");

	/* a tag value that does not match */
	resolve(c, NULL, "zed", k, (const char *const[]){ "other" }, 1, &s);
	assert_int_equal(s.rotate_after, 90 * 86400);
}

static void test_errors(void **state)
{
	static const struct text_case cases[] = {
		{ "to = x\n", "r.ini: line 1: property before any section" },
		{ "[default]\nrotate_after = soon\n",
		  "r.ini: line 2: rotate_after: invalid duration 'soon'" },
		{ "[default]\nfrobnicate = 1\n", "r.ini: line 2: unknown key 'frobnicate'" },
		{ "[default]\nto\n", "r.ini: line 2: expected 'key = value'" },
		{ "[default]\nto = \n", "r.ini: line 2: 'to' is empty" },
		{ "[user a]\nnotify =\n", "r.ini: line 2: 'notify' is empty" },
		{ "[profile x]\n", "r.ini: line 1: unknown section '[profile x]'" },
		{ "[user ]\n", "r.ini: line 1: section '[user]' needs a name" },
		{ "[default\n", "r.ini: line 1: missing ']'" },
		{ "[default] x\n", "r.ini: line 1: text after ']'" },
		{ "[user a]\nexempt = maybe\n",
		  "r.ini: line 2: exempt must be true or false, not 'maybe'" },
		{ "[account 12345]\n",
		  "r.ini: line 1: section '[account 12345]': not a 12-digit account id" },
		{ "[account 12345678901a]\n",
		  "r.ini: line 1: section '[account 12345678901a]': not a 12-digit" },
		{ "[account]\n", "r.ini: line 1: section '[account]' needs a name" },
	};
	size_t i;
	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct rotconf c = { 0 };
		struct strbuf err = STRBUF_INIT;
		assert_int_equal(rotconf_parse(&c, cases[i].in, strlen(cases[i].in), "r.ini", &err),
				 -1);
		if (strncmp(err.buf, cases[i].want, strlen(cases[i].want)))
			fail_msg("case %zu: got '%s' want '%s'", i, err.buf, cases[i].want);
		assert_null(strchr(err.buf, '\n'));
		rotconf_release(&c);
		strbuf_release(&err);
	}
}

/* [account ID]: below [user] and [tag], above [default]; only for that account. */
static void test_account_sections(void **state)
{
	static const char text[] = "[default]\n"
				   "to = secretsmanager:iamkeys/{user}\n"
				   "rotate_after = 90d\n"
				   "[account 222222222222]\n"
				   "to = ssm:/prod/{user}\n"
				   "rotate_after = 30d\n"
				   "delete_after = 3d\n"
				   "[tag team=payments]\n"
				   "to = ssm:/payments/{user}\n"
				   "[user alice]\n"
				   "rotate_after = 7d\n";
	const struct rotconf *c = parse_good(state, text);
	struct rotconf_settings s;

	assert_int_equal(c->n, 4);
	assert_int_equal(c->sections[1].kind, ROTCONF_ACCOUNT);

	resolve(c, "222222222222", "zed", NULL, NULL, 0, &s);
	assert_string_equal(s.to, "ssm:/prod/{user}");
	assert_int_equal(s.rotate_after, 30 * 86400);
	assert_int_equal(s.delete_after, 3 * 86400);

	/* another account, or none: [default] */
	resolve(c, "111111111111", "zed", NULL, NULL, 0, &s);
	assert_string_equal(s.to, "secretsmanager:iamkeys/{user}");
	assert_int_equal(s.rotate_after, 90 * 86400);
	assert_int_equal(s.delete_after, -1);
	resolve(c, NULL, "zed", NULL, NULL, 0, &s);
	assert_string_equal(s.to, "secretsmanager:iamkeys/{user}");

	/* [tag] and [user] come before [account] */
	resolve(c, "222222222222", "alice", k, v, 1, &s);
	assert_string_equal(s.to, "ssm:/payments/{user}");
	assert_int_equal(s.rotate_after, 7 * 86400);
	assert_int_equal(s.delete_after, 3 * 86400);
}

static void test_notify_target(void **state)
{
	static const char text[] =
		"[default]\nnotify = sns:arn:aws:sns:us-east-1:111111111111:all\n"
		"[tag team=payments]\nnotify = exec:page-payments\n"
		"[user alice]\nnotify = webhook:https://hooks.example.com/a\n";
	const struct rotconf *c = parse_good(state, text);
	struct rotconf_settings s;

	resolve(c, NULL, "alice", k, v, 1, &s);
	assert_string_equal(s.notify, "webhook:https://hooks.example.com/a");
	resolve(c, NULL, "bob", k, v, 1, &s);
	assert_string_equal(s.notify, "exec:page-payments");
	resolve(c, NULL, "bob", NULL, NULL, 0, &s);
	assert_string_equal(s.notify, "sns:arn:aws:sns:us-east-1:111111111111:all");
	assert_null(s.to);
}

static const struct CMUnitTest tests[] = {
	CONF_TEST(test_precedence),
	cmocka_unit_test(test_errors),
	CONF_TEST(test_account_sections),
	CONF_TEST(test_notify_target),
};

UNIT_TEST_MAIN(tests)
