/* The audit policy: findings per key at the boundaries, exemptions, --fail-on. */
#include "core/compat.h"
#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include "core/policy.h"

#define DAY 86400LL
static const time_t NOW = 1780000000; /* 2026-05-28 */

struct key_case {
	const char *name;
	int active;
	long long age_days;	 /* created NOW - age */
	long long used_days_ago; /* -1 = never */
	int active_keys;
	unsigned want;
};

static const struct key_case key_cases[] = {
	{ "young, used today", 1, 10, 0, 1, 0 },
	{ "exactly 90d is not old", 1, 90, 0, 1, FINDING_EXPIRING },
	{ "90d + 1s is old", 1, -1, 0, 1, FINDING_OLD }, /* special-cased below */
	{ "91d old", 1, 91, 0, 1, FINDING_OLD },
	{ "83d is not expiring", 1, 83, 0, 1, 0 },
	{ "84d is expiring", 1, 84, 0, 1, FINDING_EXPIRING },
	{ "400d old and unused", 1, 400, 100, 1, FINDING_OLD | FINDING_UNUSED },
	{ "used 45d ago is not unused", 1, 60, 45, 1, 0 },
	{ "used 46d ago is unused", 1, 60, 46, 1, FINDING_UNUSED },
	{ "never used, 45d", 1, 45, -1, 1, 0 },
	{ "never used, 46d", 1, 46, -1, 1, FINDING_UNUSED },
	{ "never used, young", 1, 3, -1, 1, 0 },
	{ "two active", 1, 10, 0, 2, FINDING_TWO_ACTIVE },
	{ "two active and old", 1, 100, 0, 2, FINDING_TWO_ACTIVE | FINDING_OLD },
	{ "inactive young", 0, 10, 5, 1, 0 },
	{ "inactive 30d not stale", 0, 30, -1, 0, 0 },
	{ "inactive 31d stale", 0, 31, -1, 0, FINDING_INACTIVE_STALE },
	{ "inactive 400d is stale, not old/unused", 0, 400, 399, 2, FINDING_INACTIVE_STALE },
};

static void test_key_findings(void **state)
{
	struct audit_policy p;
	size_t i;
	(void)state;
	audit_policy_defaults(&p);
	for (i = 0; i < ARRAY_SIZE(key_cases); i++) {
		const struct key_case *c = &key_cases[i];
		struct key_facts k;
		unsigned got;
		k.active = c->active;
		k.created = c->age_days < 0 ? NOW - 90 * DAY - 1 : NOW - c->age_days * DAY;
		k.last_used = c->used_days_ago < 0 ? 0 : NOW - c->used_days_ago * DAY;
		got = policy_key_findings(&p, &k, c->active_keys, NOW);
		if (got != c->want)
			fail_msg("case '%s': got 0x%x want 0x%x", c->name, got, c->want);
	}
}

static void test_custom_thresholds(void **state)
{
	struct audit_policy p;
	struct key_facts k = { 1, NOW - 13 * 3600, NOW - 3600 };
	(void)state;
	audit_policy_defaults(&p);
	p.max_age = 12 * 3600;
	p.warn = 0;
	assert_int_equal(policy_key_findings(&p, &k, 1, NOW), FINDING_OLD);
	p.max_age = 14 * 3600;
	p.warn = 2 * 3600;
	assert_int_equal(policy_key_findings(&p, &k, 1, NOW), FINDING_EXPIRING);
	p.warn = 0;
	assert_int_equal(policy_key_findings(&p, &k, 1, NOW), 0);
}

static void test_findings_format_and_names(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	(void)state;
	findings_format(&sb, FINDING_UNUSED | FINDING_OLD | FINDING_EXPIRING | FINDING_ROOT_KEY);
	assert_string_equal(sb.buf, "root-key,old,unused,expiring");
	strbuf_reset(&sb);
	findings_format(&sb, FINDING_OLD | FINDING_QUARANTINED);
	assert_string_equal(sb.buf, "quarantined,old");
	strbuf_reset(&sb);
	findings_format(&sb, 0);
	assert_string_equal(sb.buf, "");
	assert_string_equal(finding_name(FINDING_TWO_ACTIVE), "two-active");
	assert_string_equal(finding_name(FINDING_INACTIVE_STALE), "inactive-stale");
	assert_null(finding_name(1u << 20));
	strbuf_release(&sb);
}

static void test_fail_on(void **state)
{
	unsigned m;
	(void)state;
	assert_int_equal(fail_on_parse("old", &m), 0);
	assert_int_equal(m, FINDING_OLD | FINDING_ROOT_KEY | FINDING_QUARANTINED);
	assert_int_equal(fail_on_parse("root-key", &m), 0);
	assert_int_equal(m, FINDING_ROOT_KEY | FINDING_QUARANTINED);
	assert_int_equal(fail_on_parse("quarantined", &m), 0);
	assert_int_equal(m, FINDING_QUARANTINED);
	assert_int_equal(fail_on_parse("expiring", &m), 0);
	assert_int_equal(m, 0x7f);
	assert_int_equal(fail_on_parse("unused", &m), 0);
	assert_int_equal(m, FINDING_UNUSED | FINDING_TWO_ACTIVE | FINDING_OLD | FINDING_ROOT_KEY |
				    FINDING_QUARANTINED);
	assert_int_equal(fail_on_parse("any", &m), 0);
	assert_int_equal(m, 0x7f);
	assert_int_equal(fail_on_parse("none", &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(fail_on_parse("OLD", &m), -1);
	assert_int_equal(fail_on_parse("", &m), -1);
	assert_int_equal(fail_on_parse("stale", &m), -1);
}

static void test_quarantine_arn(void **state)
{
	(void)state;
	assert_true(
		policy_is_quarantine_arn("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"));
	assert_true(
		policy_is_quarantine_arn("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"));
	assert_true(
		policy_is_quarantine_arn("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine"));
	assert_true(policy_is_quarantine_arn(
		"arn:aws-us-gov:iam::aws:policy/AWSCompromisedKeyQuarantineV3"));
	assert_true(
		policy_is_quarantine_arn("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV4"));
	assert_true(
		policy_is_quarantine_arn("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV10"));
	assert_false(
		policy_is_quarantine_arn("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV"));
	assert_false(
		policy_is_quarantine_arn("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantinev2"));
	assert_false(
		policy_is_quarantine_arn("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2x"));
	assert_false(policy_is_quarantine_arn(
		"arn:aws:iam::123456789012:policy/AWSCompromisedKeyQuarantineV2"));
	assert_false(policy_is_quarantine_arn("arn:aws:iam::aws:policy/ReadOnlyAccess"));
	assert_false(policy_is_quarantine_arn("AWSCompromisedKeyQuarantineV2"));
	assert_false(policy_is_quarantine_arn("arn:aws"));
	assert_false(policy_is_quarantine_arn(""));
	assert_false(policy_is_quarantine_arn(NULL));
}

/* policy_user_exempt(p, u) is 1 with the reason WANT, or 0 (WANT NULL) with no reason;
 * r is emptied after. */
static void expect_exempt(const struct audit_policy *p, const struct user_facts *u,
			  struct strbuf *r, const char *want)
{
	assert_int_equal(policy_user_exempt(p, u, r), want != NULL);
	assert_string_equal(r->buf, want ? want : "");
	strbuf_reset(r);
}

static void test_exemptions(void **state)
{
	struct audit_policy p;
	const char *globs[] = { "ci-*", "svc-?" };
	const char *paths[] = { "/system/" };
	const char *groups[] = { "breakglass" };
	const char *tk[] = { "team", "iamkeys:exempt" };
	const char *tv[] = { "a", "TRUE" };
	const char *tv_false[] = { "a", "false" };
	const char *ug[] = { "devs", "breakglass" };
	struct user_facts u = { "alice", "/", NULL, NULL, 0, NULL, 0 };
	struct strbuf r = STRBUF_INIT;
	(void)state;

	audit_policy_defaults(&p);
	expect_exempt(&p, &u, &r, NULL);
	assert_true(policy_needs_tags(&p));
	assert_false(policy_needs_groups(&p));

	p.exclude = globs;
	p.nexclude = 2;
	u.name = "ci-deploy";
	expect_exempt(&p, &u, &r, "excluded by --exclude 'ci-*'");
	u.name = "svc-1";
	expect_exempt(&p, &u, &r, "excluded by --exclude 'svc-?'");
	u.name = "svc-12";
	expect_exempt(&p, &u, &r, NULL);
	u.name = "xci-deploy";
	expect_exempt(&p, &u, &r, NULL);

	p.exempt_paths = paths;
	p.nexempt_paths = 1;
	u.path = "/system/robots/";
	expect_exempt(&p, &u, &r, "path /system/");
	u.path = "/systems/";
	expect_exempt(&p, &u, &r, NULL);

	u.tag_keys = tk;
	u.tag_values = tv;
	u.ntags = 2;
	expect_exempt(&p, &u, &r, "tag iamkeys:exempt=TRUE");
	u.tag_values = tv_false;
	expect_exempt(&p, &u, &r, NULL);
	p.exempt_tag_value = "false";
	expect_exempt(&p, &u, &r, "tag iamkeys:exempt=false");
	p.exempt_tag_key = NULL;
	expect_exempt(&p, &u, &r, NULL);
	assert_false(policy_needs_tags(&p));

	p.exempt_groups = groups;
	p.nexempt_groups = 1;
	assert_true(policy_needs_groups(&p));
	expect_exempt(&p, &u, &r, NULL); /* groups not read */
	u.groups = ug;
	u.ngroups = 1;
	expect_exempt(&p, &u, &r, NULL);
	u.ngroups = 2;
	expect_exempt(&p, &u, &r, "group breakglass");
	strbuf_release(&r);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_key_findings),
	cmocka_unit_test(test_custom_thresholds),
	cmocka_unit_test(test_findings_format_and_names),
	cmocka_unit_test(test_fail_on),
	cmocka_unit_test(test_quarantine_arn),
	cmocka_unit_test(test_exemptions),
};

UNIT_TEST_MAIN(tests)
