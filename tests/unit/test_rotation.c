/* The rotation planner: every stage × every condition, and the tag format. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "core/compat.h"
#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include "core/rotation.h"

#define DAY 86400L
static const time_t NOW = 1780000000; /* 2026-05-28T20:26:40Z */
#define OLD "AKIAOLDOLDOLDOLD0001"
#define NEW "AKIANEWNEWNEWNEW0002"
#define IN2 "AKIAINACTIVE00000003"
#define ORP "AKIAORPHAN0000000004"

struct kspec {
	const char *id;
	int active;
	long created_days_ago;
	long used_days_ago; /* -1 never; may be fractional via hours below */
};

struct rcase {
	const char *name;
	const char *tag; /* NULL: no tag; "%T" replaced by the compact time of tag_days_ago */
	long tag_days_ago;
	struct kspec keys[3];
	enum rot_outcome outcome;
	const char *actions;   /* e.g. "delete,tag,create" */
	const char *first_key; /* key id of the first keyed action, or NULL */
	const char *reason_has;
	long long max_grace;
};

static const char *kind_name(enum rot_action_kind k)
{
	switch (k) {
	case ROT_DELETE_KEY:
		return "delete";
	case ROT_TAG:
		return "tag";
	case ROT_CREATE:
		return "create";
	case ROT_DEACTIVATE:
		return "deactivate";
	case ROT_REACTIVATE:
		return "reactivate";
	case ROT_UNTAG:
		return "untag";
	}
	return "?";
}

static const struct rcase cases[] = {
	/* idle */
	{ "idle, young key",
	  NULL,
	  0,
	  { { OLD, 1, 30, 1 } },
	  ROT_NOTHING,
	  "",
	  NULL,
	  "30 days old; due" },
	{ "idle, exactly 90d is not due",
	  NULL,
	  0,
	  { { OLD, 1, 90, 1 } },
	  ROT_NOTHING,
	  "",
	  NULL,
	  "due" },
	{ "idle, due",
	  NULL,
	  0,
	  { { OLD, 1, 91, 1 } },
	  ROT_ACT,
	  "tag,create",
	  OLD,
	  "due: key " OLD " is 91 days old" },
	{ "idle, due, never used",
	  NULL,
	  0,
	  { { OLD, 1, 200, -1 } },
	  ROT_ACT,
	  "tag,create",
	  OLD,
	  "due" },
	{ "idle, no keys", NULL, 0, { { NULL } }, ROT_NOTHING, "", NULL, "no active key" },
	{ "idle, only inactive",
	  NULL,
	  0,
	  { { OLD, 0, 200, -1 } },
	  ROT_NOTHING,
	  "",
	  NULL,
	  "no active key" },
	{ "idle, two active",
	  NULL,
	  0,
	  { { OLD, 1, 200, 1 }, { NEW, 1, 10, 1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "two active keys" },
	{ "idle, due, old inactive makes room",
	  NULL,
	  0,
	  { { OLD, 1, 200, 1 }, { IN2, 0, 300, 100 } },
	  ROT_ACT,
	  "delete,tag,create",
	  IN2,
	  "due" },
	{ "idle, due, inactive used recently blocks",
	  NULL,
	  0,
	  { { OLD, 1, 200, 1 }, { IN2, 0, 300, 3 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "no room for a new key" },
	{ "idle, due, young inactive blocks",
	  NULL,
	  0,
	  { { OLD, 1, 200, 1 }, { IN2, 0, 5, -1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "not past --delete-after" },
	{ "idle, not due, inactive present",
	  NULL,
	  0,
	  { { OLD, 1, 20, 1 }, { IN2, 0, 300, 100 } },
	  ROT_NOTHING,
	  "",
	  NULL,
	  "20 days old" },
	/* intent */
	{ "intent, crashed before create",
	  "v=1 stage=intent old=" OLD " t=%T",
	  0,
	  { { OLD, 1, 200, 1 } },
	  ROT_ACT,
	  "tag,create",
	  OLD,
	  "interrupted rotation" },
	{ "intent, orphan deleted then again",
	  "v=1 stage=intent old=" OLD " t=%T",
	  1,
	  { { OLD, 1, 200, 1 }, { ORP, 1, 0, 0 } },
	  ROT_ACT,
	  "delete,tag,create",
	  ORP,
	  "interrupted rotation, start again" },
	{ "intent, inactive orphan deleted too",
	  "v=1 stage=intent old=" OLD " t=%T",
	  1,
	  { { OLD, 1, 200, 1 }, { ORP, 0, 0, -1 } },
	  ROT_ACT,
	  "delete,tag,create",
	  ORP,
	  "start again" },
	{ "intent, old key gone",
	  "v=1 stage=intent old=" OLD " t=%T",
	  1,
	  { { ORP, 1, 0, 0 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "which is gone" },
	{ "intent, old key inactive",
	  "v=1 stage=intent old=" OLD " t=%T",
	  1,
	  { { OLD, 0, 200, 5 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "which is Inactive" },
	{ "intent, unexpected older active key",
	  "v=1 stage=intent old=" OLD " t=%T",
	  1,
	  { { OLD, 1, 200, 1 }, { NEW, 1, 50, 1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "unexpected active key" },
	{ "intent, no longer due: untag",
	  "v=1 stage=intent old=" OLD " t=%T",
	  1,
	  { { OLD, 1, 10, 1 } },
	  ROT_ACT,
	  "untag",
	  NULL,
	  "stage intent" },
	{ "intent, orphan, then blocked by young inactive",
	  "v=1 stage=intent old=" OLD " t=%T",
	  1,
	  { { OLD, 1, 200, 1 }, { ORP, 1, 0, 0 }, { IN2, 0, 5, -1 } },
	  ROT_ACT,
	  "delete,untag",
	  ORP,
	  "then blocked" },
	/* delivered */
	{ "delivered, new key too young",
	  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
	  3,
	  { { OLD, 1, 200, 4 }, { NEW, 1, 3, 1 } },
	  ROT_NOTHING,
	  "",
	  NULL,
	  "deactivated after" },
	{ "delivered, old unused since: deactivate",
	  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
	  8,
	  { { OLD, 1, 200, 9 }, { NEW, 1, 8, 1 } },
	  ROT_ACT,
	  "deactivate,tag",
	  OLD,
	  "new key " NEW " delivered 8 days ago: deactivate old key " OLD },
	{ "delivered, old never used: deactivate",
	  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
	  8,
	  { { OLD, 1, 200, -1 }, { NEW, 1, 8, 1 } },
	  ROT_ACT,
	  "deactivate,tag",
	  OLD,
	  "delivered 8 days ago" },
	{ "delivered, old still used: blocked",
	  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
	  8,
	  { { OLD, 1, 200, 1 }, { NEW, 1, 8, 1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "still in use since delivery" },
	{ "delivered, old used, max-grace passed",
	  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
	  20,
	  { { OLD, 1, 200, 1 }, { NEW, 1, 20, 1 } },
	  ROT_ACT,
	  "deactivate,tag",
	  OLD,
	  "delivered 20 days ago",
	  14 * DAY },
	{ "delivered, old used, max-grace not passed",
	  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
	  10,
	  { { OLD, 1, 200, 1 }, { NEW, 1, 10, 1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "still in use",
	  14 * DAY },
	{ "delivered, new key gone",
	  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
	  8,
	  { { OLD, 1, 200, 9 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "is gone" },
	{ "delivered, new key inactive",
	  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
	  8,
	  { { OLD, 1, 200, 9 }, { NEW, 0, 8, 1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "is Inactive" },
	{ "delivered, old gone: complete",
	  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
	  8,
	  { { NEW, 1, 8, 1 } },
	  ROT_ACT,
	  "untag",
	  NULL,
	  "stage delivered" },
	{ "delivered, old deactivated by hand",
	  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
	  2,
	  { { OLD, 0, 200, 9 }, { NEW, 1, 2, 1 } },
	  ROT_ACT,
	  "tag",
	  NULL,
	  "stage delivered" },
	/* deactivated */
	{ "deactivated, too early",
	  "v=1 stage=deactivated old=" OLD " new=" NEW " t=%T",
	  3,
	  { { OLD, 0, 200, 20 }, { NEW, 1, 12, 1 } },
	  ROT_NOTHING,
	  "",
	  NULL,
	  "deleted after" },
	{ "deactivated, delete",
	  "v=1 stage=deactivated old=" OLD " new=" NEW " t=%T",
	  8,
	  { { OLD, 0, 200, 20 }, { NEW, 1, 16, 1 } },
	  ROT_ACT,
	  "delete,untag",
	  OLD,
	  "old key " OLD " inactive for 8 days: delete it" },
	{ "deactivated, old gone",
	  "v=1 stage=deactivated old=" OLD " new=" NEW " t=%T",
	  8,
	  { { NEW, 1, 16, 1 } },
	  ROT_ACT,
	  "untag",
	  NULL,
	  "stage deactivated" },
	{ "delivered again later: the window counts from the tag",
	  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
	  2,
	  { { OLD, 1, 200, 9 }, { NEW, 1, 30, 1 } },
	  ROT_NOTHING,
	  "",
	  NULL,
	  "deactivated after" },
	{ "deactivated, old reactivated",
	  "v=1 stage=deactivated old=" OLD " new=" NEW " t=%T",
	  2,
	  { { OLD, 1, 200, 1 }, { NEW, 1, 10, 1 } },
	  ROT_ACT,
	  "tag",
	  NULL,
	  "stage deactivated" },
	/* broken tags */
	{ "bad tag: garbage",
	  "hello",
	  0,
	  { { OLD, 1, 200, 1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "cannot read tag iamkeys:rotation" },
	{ "bad tag: version",
	  "v=2 stage=intent old=" OLD " t=%T",
	  0,
	  { { OLD, 1, 200, 1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "version '2'" },
	{ "bad tag: stage",
	  "v=1 stage=done old=" OLD " t=%T",
	  0,
	  { { OLD, 1, 200, 1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "unknown rotation stage 'done'" },
	{ "bad tag: delivered without new",
	  "v=1 stage=delivered old=" OLD " t=%T",
	  0,
	  { { OLD, 1, 200, 1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "lacks the new key" },
	{ "bad tag: bad time",
	  "v=1 stage=intent old=" OLD " t=2026-01-01",
	  0,
	  { { OLD, 1, 200, 1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "invalid time" },
	{ "bad tag: bad key",
	  "v=1 stage=intent old=akia t=%T",
	  0,
	  { { OLD, 1, 200, 1 } },
	  ROT_BLOCKED,
	  "",
	  NULL,
	  "invalid key id" },
};

static void build_tag(struct strbuf *out, const char *tmpl, long days_ago)
{
	const char *p = strstr(tmpl, "%T");
	if (!p) {
		strbuf_addstr(out, tmpl);
		return;
	}
	strbuf_add(out, tmpl, (size_t)(p - tmpl));
	rotation_format_compact_time(out, NOW - days_ago * DAY - 60);
	strbuf_addstr(out, p + 2);
}

static void test_planner_cases(void **state)
{
	size_t i, j;
	int failures = 0;
	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct rcase *c = &cases[i];
		struct rot_key keys[3];
		struct rot_user u = { "alice", NULL, keys, 0, 1, OLD, NULL };
		struct rot_policy pol;
		struct rot_plan plan;
		struct strbuf tag = STRBUF_INIT, kinds = STRBUF_INIT;
		const char *first_key = NULL;

		rot_policy_defaults(&pol);
		pol.max_grace = c->max_grace;
		for (j = 0; j < 3 && c->keys[j].id; j++) {
			keys[j].id = c->keys[j].id;
			keys[j].active = c->keys[j].active;
			keys[j].created = NOW - c->keys[j].created_days_ago * DAY;
			keys[j].last_used = c->keys[j].used_days_ago < 0
						    ? 0
						    : NOW - c->keys[j].used_days_ago * DAY - 3600;
			keys[j].last_service = "s3";
			keys[j].last_region = "eu-west-1";
			u.nkeys++;
		}
		if (c->tag) {
			build_tag(&tag, c->tag, c->tag_days_ago);
			u.tag_value = tag.buf;
		}
		rot_plan_init(&plan);
		assert_int_equal(rotation_plan_user(&u, &pol, NOW, &plan), 0);
		for (j = 0; j < plan.nactions; j++) {
			if (j)
				strbuf_addch(&kinds, ',');
			strbuf_addstr(&kinds, kind_name(plan.actions[j].kind));
			if (!first_key && plan.actions[j].key_id[0])
				first_key = plan.actions[j].key_id;
			if (!plan.actions[j].reason.len) {
				print_error("case '%s': action %zu has no reason\n", c->name, j);
				failures++;
			}
		}
		if (plan.outcome != c->outcome || strcmp(kinds.buf, c->actions) ||
		    (c->first_key && (!first_key || strcmp(first_key, c->first_key))) ||
		    !strstr(plan.reason.buf, c->reason_has)) {
			print_error("case '%s': outcome %d actions '%s' first key %s reason '%s'\n",
				    c->name, plan.outcome, kinds.buf, first_key ? first_key : "-",
				    plan.reason.buf);
			failures++;
		}
		rot_plan_release(&plan);
		strbuf_release(&tag);
		strbuf_release(&kinds);
	}
	assert_int_equal(failures, 0);
}

static void test_due_plan_details(void **state)
{
	struct rot_key k[2] = { { OLD, 1, NOW - 100 * DAY, NOW - DAY, "s3", "us-east-1" },
				{ IN2, 0, NOW - 300 * DAY, 0, NULL, NULL } };
	struct rot_user u = { "alice", NULL, k, 2 };
	struct rot_policy pol;
	struct rot_plan plan;
	struct rotation_tag t;
	struct strbuf err = STRBUF_INIT;
	(void)state;
	rot_policy_defaults(&pol);
	rot_plan_init(&plan);
	rotation_plan_user(&u, &pol, NOW, &plan);
	assert_int_equal(plan.nactions, 3);
	assert_int_equal(plan.actions[0].kind, ROT_DELETE_KEY);
	assert_int_equal(plan.actions[0].expect_active, 0);
	assert_true(plan.actions[0].in_use_guard);
	assert_string_equal(plan.actions[1].tag_value.buf,
			    "v=1 stage=intent old=" OLD " t=20260528T202640Z");
	assert_int_equal(rotation_tag_parse(plan.actions[1].tag_value.buf, &t, &err), 0);
	assert_int_equal(t.stage, STAGE_INTENT);
	assert_int_equal(t.t, NOW);
	assert_string_equal(t.old_key, OLD);
	assert_string_equal(plan.actions[2].key_id, OLD);
	rot_plan_release(&plan);
	strbuf_release(&err);
}

static void test_delivered_deactivate_preconditions(void **state)
{
	struct rot_key k[2] = { { OLD, 1, NOW - 100 * DAY, 0, NULL, NULL },
				{ NEW, 1, NOW - 8 * DAY, NOW - 60, "s3", "us-east-1" } };
	struct rot_user u = { "alice",
			      "v=1 stage=delivered old=" OLD " new=" NEW " t=20260520T202640Z", k,
			      2 };
	struct rot_policy pol;
	struct rot_plan plan;
	(void)state;
	rot_policy_defaults(&pol);
	rot_plan_init(&plan);
	rotation_plan_user(&u, &pol, NOW, &plan);
	assert_int_equal(plan.outcome, ROT_ACT);
	assert_int_equal(plan.actions[0].kind, ROT_DEACTIVATE);
	assert_int_equal(plan.actions[0].expect_active, 1);
	assert_int_equal(plan.actions[0].not_used_since, NOW - 8 * DAY);
	assert_string_equal(plan.actions[1].tag_value.buf,
			    "v=1 stage=deactivated old=" OLD " new=" NEW " t=20260528T202640Z");
	rot_plan_release(&plan);
}

static const char *const TAG_DEACT =
	"v=1 stage=deactivated old=" OLD " new=" NEW " t=20260527T202640Z";
static const char *const TAG_DELIV =
	"v=1 stage=delivered old=" OLD " new=" NEW " t=20260527T202640Z";
static const char *const TAG_ROLLED =
	"v=1 stage=rolled-back old=" OLD " new=" NEW " t=20260527T202640Z";

/* rotation_plan_rollback(u) is refused (ROT_BLOCKED), the reason saying WHY. */
static void expect_rollback_blocked(const struct rot_user *u, const char *why)
{
	struct rot_plan plan;

	rot_plan_init(&plan);
	rotation_plan_rollback(u, NOW, &plan);
	assert_int_equal(plan.outcome, ROT_BLOCKED);
	assert_non_null(strstr(plan.reason.buf, why));
	rot_plan_release(&plan);
}

static void test_rollback(void **state)
{
	struct rot_key k[2] = { { OLD, 0, NOW - 100 * DAY, 0, NULL, NULL },
				{ NEW, 1, NOW - 9 * DAY, NOW - 60, NULL, NULL } };
	struct rot_user u = { "alice", TAG_DEACT, k, 2 };
	struct rot_plan plan;
	(void)state;
	rot_plan_init(&plan);
	rotation_plan_rollback(&u, NOW, &plan);
	assert_int_equal(plan.outcome, ROT_ACT);
	assert_int_equal(plan.nactions, 2);
	assert_int_equal(plan.actions[0].kind, ROT_REACTIVATE);
	assert_string_equal(plan.actions[0].key_id, OLD);
	assert_string_equal(plan.actions[1].tag_value.buf,
			    "v=1 stage=rolled-back old=" OLD " new=" NEW " t=20260528T202640Z");
	rot_plan_release(&plan);

	/* delivered: the old key is still Active; the rollback only pauses */
	k[0].active = 1;
	u.tag_value = TAG_DELIV;
	rot_plan_init(&plan);
	rotation_plan_rollback(&u, NOW, &plan);
	assert_int_equal(plan.outcome, ROT_ACT);
	assert_int_equal(plan.nactions, 1);
	assert_int_equal(plan.actions[0].kind, ROT_TAG);
	assert_non_null(strstr(plan.actions[0].tag_value.buf, "stage=rolled-back"));
	rot_plan_release(&plan);

	/* a second rollback: nothing to do */
	u.tag_value = TAG_ROLLED;
	rot_plan_init(&plan);
	rotation_plan_rollback(&u, NOW, &plan);
	assert_int_equal(plan.outcome, ROT_NOTHING);
	assert_int_equal(plan.nactions, 0);
	assert_non_null(strstr(plan.reason.buf, "already rolled back"));
	rot_plan_release(&plan);
	/* ... unless the old key was deactivated again meanwhile */
	k[0].active = 0;
	rot_plan_init(&plan);
	rotation_plan_rollback(&u, NOW, &plan);
	assert_int_equal(plan.outcome, ROT_ACT);
	assert_int_equal(plan.nactions, 1);
	assert_int_equal(plan.actions[0].kind, ROT_REACTIVATE);
	rot_plan_release(&plan);

	u.tag_value = "v=1 stage=intent old=" OLD " t=20260527T202640Z";
	expect_rollback_blocked(&u, "nothing to roll back");

	u.tag_value = NULL;
	expect_rollback_blocked(&u, "no rotation in progress");

	u.tag_value = TAG_DEACT;
	u.keys = &k[1];
	u.nkeys = 1;
	expect_rollback_blocked(&u, "already deleted");
}

static void test_rolled_back_pauses_and_resume(void **state)
{
	struct rot_key k[2] = { { OLD, 1, NOW - 100 * DAY, NOW - 3600, NULL, NULL },
				{ NEW, 1, NOW - 90 * DAY, NOW - 60, NULL, NULL } };
	struct rot_user u = { "alice", TAG_ROLLED, k, 2 };
	struct rot_policy pol;
	struct rot_plan plan;
	(void)state;
	rot_policy_defaults(&pol);
	pol.max_grace = DAY; /* even --max-grace does not end a pause */
	k[0].last_used = 0;
	rot_plan_init(&plan);
	rotation_plan_user(&u, &pol, NOW, &plan);
	assert_int_equal(plan.outcome, ROT_BLOCKED);
	assert_int_equal(plan.nactions, 0);
	assert_int_equal(plan.stage, STAGE_ROLLED_BACK);
	assert_non_null(strstr(plan.reason.buf, "paused by a rollback on 2026-05-27T20:26:40Z"));
	assert_non_null(strstr(plan.reason.buf, "rotate --resume --user alice"));
	rot_plan_release(&plan);

	rot_plan_init(&plan);
	rotation_plan_resume(&u, NOW, &plan);
	assert_int_equal(plan.outcome, ROT_ACT);
	assert_int_equal(plan.nactions, 1);
	assert_string_equal(plan.actions[0].tag_value.buf,
			    "v=1 stage=delivered old=" OLD " new=" NEW " t=20260528T202640Z");
	rot_plan_release(&plan);

	/* resumed: the old key gets the whole window again, from the resume */
	u.tag_value = "v=1 stage=delivered old=" OLD " new=" NEW " t=20260528T202640Z";
	pol.max_grace = 0;
	rot_plan_init(&plan);
	rotation_plan_user(&u, &pol, NOW + DAY, &plan);
	assert_int_equal(plan.outcome, ROT_NOTHING);
	assert_non_null(strstr(plan.reason.buf, "deactivated after 2026-06-04T20:26:40Z"));
	rot_plan_release(&plan);
	rot_plan_init(&plan);
	rotation_plan_user(&u, &pol, NOW + 8 * DAY, &plan);
	assert_int_equal(plan.outcome, ROT_ACT);
	assert_int_equal(plan.actions[0].kind, ROT_DEACTIVATE);
	assert_int_equal(plan.actions[0].not_used_since, NOW);
	rot_plan_release(&plan);

	/* resume of a rotation that is not paused, or whose new key is gone */
	rot_plan_init(&plan);
	rotation_plan_resume(&u, NOW, &plan);
	assert_int_equal(plan.outcome, ROT_NOTHING);
	assert_non_null(strstr(plan.reason.buf, "not paused"));
	rot_plan_release(&plan);
	u.tag_value = TAG_ROLLED;
	u.nkeys = 1;
	rot_plan_init(&plan);
	rotation_plan_resume(&u, NOW, &plan);
	assert_int_equal(plan.outcome, ROT_BLOCKED);
	assert_non_null(strstr(plan.reason.buf, "is gone"));
	rot_plan_release(&plan);
}

static void plan_kinds(struct strbuf *out, const struct rot_plan *plan)
{
	size_t i;
	for (i = 0; i < plan->nactions; i++)
		strbuf_addf(out, "%s%s%s%s", i ? "," : "", kind_name(plan->actions[i].kind),
			    plan->actions[i].key_id[0] ? ":" : "", plan->actions[i].key_id);
}

static void test_abort(void **state)
{
	static const struct {
		const char *name, *tag;
		struct kspec keys[3];
		int force;
		enum rot_outcome outcome;
		const char *actions;
	} acases[] = {
		{ "no rotation", NULL, { { OLD, 1, 100, 1 } }, 0, ROT_NOTHING, "" },
		{ "stuck intent, no key created",
		  "v=1 stage=intent old=" OLD " t=%T",
		  { { OLD, 1, 100, 1 } },
		  0,
		  ROT_ACT,
		  "untag" },
		{ "intent, orphan after the mark",
		  "v=1 stage=intent old=" OLD " t=%T",
		  { { OLD, 1, 100, 1 }, { ORP, 1, 0, -1 } },
		  0,
		  ROT_ACT,
		  "delete:" ORP ",untag" },
		{ "intent, older inactive key stays",
		  "v=1 stage=intent old=" OLD " t=%T",
		  { { OLD, 1, 100, 1 }, { IN2, 0, 300, -1 } },
		  0,
		  ROT_ACT,
		  "untag" },
		{ "intent, older active key blocks",
		  "v=1 stage=intent old=" OLD " t=%T",
		  { { OLD, 1, 100, 1 }, { IN2, 1, 300, 1 } },
		  0,
		  ROT_BLOCKED,
		  "" },
		{ "intent, old key inactive",
		  "v=1 stage=intent old=" OLD " t=%T",
		  { { OLD, 0, 100, 1 } },
		  0,
		  ROT_BLOCKED,
		  "" },
		{ "delivered",
		  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
		  { { OLD, 1, 100, 1 }, { NEW, 1, 0, -1 } },
		  0,
		  ROT_ACT,
		  "delete:" NEW ",untag" },
		{ "rolled back",
		  "v=1 stage=rolled-back old=" OLD " new=" NEW " t=%T",
		  { { OLD, 1, 100, 1 }, { NEW, 1, 0, -1 } },
		  0,
		  ROT_ACT,
		  "delete:" NEW ",untag" },
		{ "deactivated: reactivate first",
		  "v=1 stage=deactivated old=" OLD " new=" NEW " t=%T",
		  { { OLD, 0, 100, 9 }, { NEW, 1, 0, -1 } },
		  0,
		  ROT_ACT,
		  "reactivate:" OLD ",delete:" NEW ",untag" },
		{ "new key gone already",
		  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
		  { { OLD, 1, 100, 1 } },
		  0,
		  ROT_ACT,
		  "untag" },
		{ "old key gone",
		  "v=1 stage=deactivated old=" OLD " new=" NEW " t=%T",
		  { { NEW, 1, 10, 1 } },
		  0,
		  ROT_BLOCKED,
		  "" },
		{ "unreadable tag, one key",
		  "garbage",
		  { { OLD, 1, 100, 1 } },
		  0,
		  ROT_ACT,
		  "untag" },
		{ "unreadable tag, two keys",
		  "garbage",
		  { { OLD, 1, 100, 1 }, { NEW, 1, 1, 1 } },
		  0,
		  ROT_BLOCKED,
		  "" },
		{ "forced",
		  "v=1 stage=delivered old=" OLD " new=" NEW " t=%T",
		  { { OLD, 1, 100, 1 }, { NEW, 1, 0, 0 } },
		  1,
		  ROT_ACT,
		  "delete:" NEW ",untag" },
	};
	size_t i, j;
	int failures = 0;
	(void)state;
	for (i = 0; i < ARRAY_SIZE(acases); i++) {
		struct rot_key keys[3];
		struct rot_user u = { "alice", NULL, keys, 0 };
		struct rot_policy pol;
		struct rot_plan plan;
		struct strbuf tag = STRBUF_INIT, kinds = STRBUF_INIT;

		rot_policy_defaults(&pol);
		for (j = 0; j < 3 && acases[i].keys[j].id; j++) {
			keys[j].id = acases[i].keys[j].id;
			keys[j].active = acases[i].keys[j].active;
			keys[j].created = NOW - acases[i].keys[j].created_days_ago * DAY;
			keys[j].last_used = acases[i].keys[j].used_days_ago < 0
						    ? 0
						    : NOW - acases[i].keys[j].used_days_ago * DAY;
			keys[j].last_service = keys[j].last_region = NULL;
			u.nkeys++;
		}
		if (acases[i].tag) {
			build_tag(&tag, acases[i].tag, 0); /* the mark: a minute before NOW */
			u.tag_value = tag.buf;
		}
		rot_plan_init(&plan);
		rotation_plan_abort(&u, &pol, NOW, acases[i].force, &plan);
		plan_kinds(&kinds, &plan);
		if (plan.outcome != acases[i].outcome || strcmp(kinds.buf, acases[i].actions)) {
			print_error("abort case '%s': outcome %d actions '%s' reason '%s'\n",
				    acases[i].name, plan.outcome, kinds.buf, plan.reason.buf);
			failures++;
		}
		for (j = 0; j < plan.nactions; j++) {
			const struct rot_action *a = &plan.actions[j];
			if (a->kind != ROT_DELETE_KEY)
				continue;
			/* guards: unused since creation (but for verification), not in the sink */
			if (acases[i].force
				    ? (a->sink_guard || a->not_used_since)
				    : (!a->sink_guard ||
				       a->not_used_since != keys[1].created + ROT_VERIFY_WINDOW)) {
				print_error("abort case '%s': guards %d %lld\n", acases[i].name,
					    a->sink_guard, (long long)a->not_used_since);
				failures++;
			}
		}
		rot_plan_release(&plan);
		strbuf_release(&tag);
		strbuf_release(&kinds);
	}
	assert_int_equal(failures, 0);
}

static void test_tag_roundtrip_and_charset(void **state)
{
	struct rotation_tag t, back;
	struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT;
	size_t i;
	(void)state;
	memset(&t, 0, sizeof(t));
	t.stage = STAGE_DEACTIVATED;
	memcpy(t.old_key, OLD, sizeof(OLD));
	memcpy(t.new_key, NEW, sizeof(NEW));
	t.t = 4102444799; /* 2099-12-31T23:59:59Z */
	rotation_tag_format(&sb, &t);
	assert_string_equal(sb.buf,
			    "v=1 stage=deactivated old=" OLD " new=" NEW " t=20991231T235959Z");
	assert_true(sb.len <= 256);
	/* IAM tag values: letters, digits, space and _ . : / = + - @ */
	for (i = 0; i < sb.len; i++)
		assert_non_null(strchr(
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.:/=+-@",
			sb.buf[i]));
	assert_int_equal(rotation_tag_parse(sb.buf, &back, &err), 0);
	assert_int_equal(back.stage, t.stage);
	assert_int_equal(back.t, t.t);
	assert_string_equal(back.new_key, NEW);
	assert_int_equal(rotation_tag_parse("", &back, &err), -1);
	assert_int_equal(rotation_tag_parse("v=1 stage=intent old=" OLD " t=20261301T000000Z",
					    &back, &err),
			 -1);
	assert_int_equal(rotation_tag_parse("v=1 stage=intent old=" OLD " t=20261201T000000Z x=1",
					    &back, &err),
			 -1);
	/* a message about a value is one line, whatever the value holds */
	strbuf_reset(&err);
	assert_int_equal(rotation_tag_parse("\n", &back, &err), -1);
	assert_null(strchr(err.buf, '\n'));
	strbuf_release(&sb);
	strbuf_release(&err);
}

static int iam_tag_charset(const char *s)
{
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.:/=+-@",
			    *s))
			return 0;
	return 1;
}

/* The create mark: formats within IAM's tag rules and parses back (what it refuses: refused[]). */
static void test_create_mark(void **state)
{
	struct create_mark m, back;
	struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT;
	(void)state;

	memset(&m, 0, sizeof(m));
	memcpy(m.run, "abcdefghijklmnop", ROTATION_RUN_ID_MAX + 1); /* the longest */
	m.t = 4102444799;					    /* 2099-12-31T23:59:59Z */
	memcpy(m.sink, "0123456789abcdef", CREATE_MARK_SINK_HEX + 1);
	create_mark_format(&sb, &m);
	assert_string_equal(sb.buf,
			    "v=1 run=abcdefghijklmnop t=20991231T235959Z sink=0123456789abcdef");
	assert_true(sb.len <= 256);
	assert_true(iam_tag_charset(sb.buf));
	assert_int_equal(create_mark_parse(sb.buf, &back, &err), 0);
	assert_string_equal(back.run, m.run);
	assert_int_equal(back.t, m.t);
	assert_string_equal(back.sink, m.sink);
	strbuf_release(&sb);
	strbuf_release(&err);
}

static void test_keys_changed(void **state)
{
	struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT;
	time_t t = 1;
	(void)state;

	keys_changed_format(&sb, 4102444799); /* 2099-12-31T23:59:59Z */
	assert_string_equal(sb.buf, "v=1 t=20991231T235959Z");
	assert_true(iam_tag_charset(sb.buf));
	assert_int_equal(keys_changed_parse(sb.buf, &t, &err), 0);
	assert_int_equal(t, 4102444799);
	/* fields in any order, extra spaces */
	assert_int_equal(keys_changed_parse(" t=20261203T130000Z  v=1 ", &t, &err), 0);
	assert_int_equal(t, 1796302800);
	assert_int_equal(err.len, 0);
	assert_int_equal(keys_changed_parse(NULL, &t, &err), -1);
	strbuf_release(&sb);
	strbuf_release(&err);
}

/* A create mark or a key-change record (iamkeys:changed) that its parser must refuse. */
struct refusal {
	int (*parse)(const char *text, struct strbuf *err);
	const char *text;
};

static int parse_create_mark(const char *text, struct strbuf *err)
{
	struct create_mark m;

	return create_mark_parse(text, &m, err);
}

/* A refused record leaves the time 0. */
static int parse_keys_changed(const char *text, struct strbuf *err)
{
	time_t t = 1;
	int rc = keys_changed_parse(text, &t, err);

	if (rc < 0)
		assert_int_equal(t, 0);
	return rc;
}

static const struct refusal refused[] = {
	{ parse_create_mark, "" },
	{ parse_create_mark, "v=1" },
	{ parse_create_mark, "v=2 run=abcdefgh1234 t=20261203T130000Z sink=0123456789abcdef" },
	{ parse_create_mark, "v=1 run=ABCDEFGH1234 t=20261203T130000Z sink=0123456789abcdef" },
	{ parse_create_mark, "v=1 run=short t=20261203T130000Z sink=0123456789abcdef" },
	{ parse_create_mark, "v=1 run=abcdefgh1234 t=20261303T130000Z sink=0123456789abcdef" },
	{ parse_create_mark, "v=1 run=abcdefgh1234 t=20261203T130000Z sink=0123456789ABCDEF" },
	{ parse_create_mark, "v=1 run=abcdefgh1234 t=20261203T130000Z sink=0123456789abcde" },
	{ parse_create_mark, "v=1 run=abcdefgh1234 t=20261203T130000Z" },
	{ parse_create_mark, "v=1 run=abcdefgh1234 t=20261203T130000Z sink=0123456789abcdef x=1" },
	{ parse_create_mark, "v=1 v=1 run=abcdefgh1234 t=20261203T130000Z sink=0123456789abcdef" },
	{ parse_create_mark,
	  "v=1 run=abcdefgh1234 run=abcdefgh1235 t=20261203T130000Z sink=0123456789abcdef" },
	{ parse_create_mark, "run=zz t=yesterday" },
	{ parse_create_mark, "v=1 run=abcdefgh1234 t=20261203T130000Z sink=0123456789abcdef\n" },
	{ parse_create_mark, "\n" },
	{ parse_keys_changed, "" },
	{ parse_keys_changed, "v=1" },
	{ parse_keys_changed, "t=20261203T130000Z" },
	{ parse_keys_changed, "v=2 t=20261203T130000Z" },
	{ parse_keys_changed, "v=1 t=20261303T130000Z" },
	{ parse_keys_changed, "v=1 t=2026-12-03T13:00:00Z" },
	{ parse_keys_changed, "v=1 t=20261203T130000Z t=20261203T130001Z" },
	{ parse_keys_changed, "v=1 v=1 t=20261203T130000Z" },
	{ parse_keys_changed, "v=1 t=20261203T130000Z key=AKIAEXAMPLE1234567" },
	{ parse_keys_changed, "v=1 t=20261203T130000Z\n" },
	{ parse_keys_changed,
	  "v=1 t=20261203T130000Z0000000000000000000000000000000000000000000000000000" },
};

/* Each is refused with a one-line message. */
static void test_marks_refused(void **state)
{
	struct strbuf err = STRBUF_INIT;
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		strbuf_reset(&err);
		assert_int_equal(refused[i].parse(refused[i].text, &err), -1);
		assert_true(err.len > 0);
		assert_null(strchr(err.buf, '\n'));
	}
	strbuf_release(&err);
}

/* Every value we can write, with 128-character key ids and the longest run id and stage,
 * splits into two tag values of at most 256 IAM characters and joins back unchanged. */
static void test_tag_pair_fits_max_ids(void **state)
{
	static const enum rotation_stage stages[] = { STAGE_INTENT, STAGE_DELIVERED,
						      STAGE_DEACTIVATED };
	struct rotation_tag t, back;
	struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT;
	char *main_v, *new_v, *joined;
	size_t i, with_run;
	(void)state;
	for (with_run = 0; with_run < 2; with_run++)
		for (i = 0; i < ARRAY_SIZE(stages); i++) {
			memset(&t, 0, sizeof(t));
			t.stage = stages[i];
			memset(t.old_key, 'A', ROTATION_KEY_ID_MAX);
			if (stages[i] != STAGE_INTENT)
				memset(t.new_key, '9', ROTATION_KEY_ID_MAX);
			if (with_run)
				memset(t.run, 'z', ROTATION_RUN_ID_MAX);
			t.t = 253402300799; /* 9999-12-31T23:59:59Z */
			strbuf_reset(&sb);
			rotation_tag_format(&sb, &t);
			assert_int_equal(rotation_tag_split(sb.buf, &main_v, &new_v, &err), 0);
			assert_true(strlen(main_v) <= ROTATION_TAG_MAX);
			assert_true(iam_tag_charset(main_v));
			assert_true(rotation_tag_value_valid(main_v));
			assert_null(strstr(main_v, "new="));
			if (stages[i] == STAGE_INTENT) {
				assert_null(new_v);
			} else {
				assert_int_equal(strlen(new_v), ROTATION_KEY_ID_MAX);
				assert_true(iam_tag_charset(new_v));
			}
			joined = rotation_tag_join(main_v, new_v);
			assert_string_equal(joined, sb.buf);
			assert_int_equal(rotation_tag_parse(joined, &back, &err), 0);
			assert_string_equal(back.old_key, t.old_key);
			assert_string_equal(back.new_key, t.new_key);
			assert_string_equal(back.run, t.run);
			assert_int_equal(back.t, t.t);
			free(main_v);
			free(new_v);
			free(joined);
		}
	/* one character more is refused, not truncated */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "v=1 stage=intent old=");
	for (i = 0; i <= ROTATION_KEY_ID_MAX; i++)
		strbuf_addch(&sb, 'A');
	strbuf_addstr(&sb, " t=20261201T000000Z");
	strbuf_reset(&err);
	assert_int_equal(rotation_tag_parse(sb.buf, &back, &err), -1);
	assert_non_null(strstr(err.buf, "invalid key id"));
	/* malformed run ids and values outside IAM's character set */
	assert_int_equal(rotation_tag_parse("v=1 stage=intent run=ABCDEFGH old=" OLD
					    " t=20261201T000000Z",
					    &back, &err),
			 -1);
	assert_int_equal(rotation_tag_parse("v=1 stage=intent run=abc old=" OLD
					    " t=20261201T000000Z",
					    &back, &err),
			 -1);
	assert_false(rotation_tag_value_valid("v=1 stage=intent old=AKIA,X"));
	assert_int_equal(rotation_tag_split("v=1 stage=delivered old=" OLD " new=" NEW
					    "# t=20261201T000000Z",
					    &main_v, &new_v, &err),
			 -1);
	/* a lone rotation-new tag is ignored; an empty one means no new key */
	assert_null(rotation_tag_join(NULL, NEW));
	joined = rotation_tag_join("v=1 stage=intent old=" OLD " t=20261201T000000Z", NULL);
	assert_string_equal(joined, "v=1 stage=intent old=" OLD " t=20261201T000000Z");
	free(joined);
	strbuf_release(&sb);
	strbuf_release(&err);
}

/* An intent mark with a run id is another run's until ROTATION_LEASE + skew has passed. */
static void test_intent_lease(void **state)
{
	struct rot_key k[2] = { { OLD, 1, NOW - 200 * DAY, NOW - DAY, "s3", "us-east-1" },
				{ ORP, 1, NOW - 60, 0, NULL, NULL } };
	struct rot_user u = { "alice", NULL, k, 2, 1, OLD, NULL };
	struct rot_policy pol;
	struct rot_plan plan;
	struct strbuf tag = STRBUF_INIT;
	(void)state;
	rot_policy_defaults(&pol);
	strbuf_addstr(&tag, "v=1 stage=intent run=abcdefgh0123 old=" OLD " t=");
	rotation_format_compact_time(&tag, NOW - 120);
	u.tag_value = tag.buf;
	rot_plan_init(&plan);
	rotation_plan_user(&u, &pol, NOW, &plan);
	assert_int_equal(plan.outcome, ROT_BLOCKED);
	assert_int_equal(plan.nactions, 0);
	assert_non_null(
		strstr(plan.reason.buf, "another run (run abcdefgh0123) is rotating this user"));
	rot_plan_release(&plan);
	/* past the lease: recovered */
	rot_plan_init(&plan);
	rotation_plan_user(&u, &pol, NOW - 120 + ROTATION_LEASE + pol.skew, &plan);
	assert_int_equal(plan.outcome, ROT_ACT);
	assert_int_equal(plan.actions[0].kind, ROT_DELETE_KEY);
	assert_string_equal(plan.actions[0].key_id, ORP);
	rot_plan_release(&plan);
	/* the sink holds the unrecorded key: adopted, nothing deleted */
	u.sink_key = ORP;
	rot_plan_init(&plan);
	rotation_plan_user(&u, &pol, NOW + ROTATION_LEASE + pol.skew, &plan);
	assert_int_equal(plan.outcome, ROT_ACT);
	assert_int_equal(plan.nactions, 1);
	assert_int_equal(plan.actions[0].kind, ROT_TAG);
	assert_non_null(strstr(plan.actions[0].tag_value.buf,
			       "stage=delivered run=abcdefgh0123 old=" OLD " new=" ORP " t="));
	rot_plan_release(&plan);
	/* the sink cannot be read: blocked, nothing deleted */
	u.sink_known = 0;
	u.sink_why = "exec: sinks cannot say which key they hold";
	rot_plan_init(&plan);
	rotation_plan_user(&u, &pol, NOW + ROTATION_LEASE + pol.skew, &plan);
	assert_int_equal(plan.outcome, ROT_BLOCKED);
	assert_int_equal(plan.nactions, 0);
	assert_non_null(strstr(
		plan.reason.buf,
		"cannot tell whether it holds it (exec: sinks cannot say which key they hold): nothing deleted"));
	rot_plan_release(&plan);
	strbuf_release(&tag);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_planner_cases),
	cmocka_unit_test(test_due_plan_details),
	cmocka_unit_test(test_delivered_deactivate_preconditions),
	cmocka_unit_test(test_rollback),
	cmocka_unit_test(test_rolled_back_pauses_and_resume),
	cmocka_unit_test(test_abort),
	cmocka_unit_test(test_tag_roundtrip_and_charset),
	cmocka_unit_test(test_tag_pair_fits_max_ids),
	cmocka_unit_test(test_intent_lease),
	cmocka_unit_test(test_create_mark),
	cmocka_unit_test(test_keys_changed),
	cmocka_unit_test(test_marks_refused),
};

UNIT_TEST_MAIN(tests)
