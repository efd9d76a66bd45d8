/*
 * The rotation reconciler (see core/rotation.h for the stages).
 *
 * Order of a due rotation, and why: tag intent → CreateAccessKey → verify
 * (STS GetCallerIdentity signed with the new key, retried while IAM
 * propagates it) → deliver to the sink → tag delivered. The new key is
 * verified before it is delivered, so applications never pick up a key that
 * does not work; if verification or delivery fails, the new key is deleted
 * at once (its secret is gone with this process) and the intent mark
 * dropped. A run that dies between CreateAccessKey and "tag delivered" leaves
 * the intent mark: the next run deletes the key created after it and starts
 * again. At no point is the old key touched before the new one has been
 * delivered and recorded, so a user always keeps a working key.
 */
#include "core/compat.h"
#include "engine/rotate.h"
#include "aws/client.h"
#include "aws/iam.h"
#include "core/timeutil.h"
#include "engine/userstate.h"
#include "sinks/sink.h"

/* The planner's view of a user's live state; the caller frees the returned keys. */
static struct rot_key *planner_view(const struct user_state *u, struct rot_user *pu)
{
	struct rot_key *rk = xcalloc(u->nkeys + 1, sizeof(*rk));
	size_t i;
	for (i = 0; i < u->nkeys; i++) {
		rk[i].id = u->keys[i].id;
		rk[i].active = u->keys[i].active;
		rk[i].created = u->keys[i].created;
		rk[i].last_used = u->keys[i].last_used;
		rk[i].last_service = u->keys[i].service;
		rk[i].last_region = u->keys[i].region;
	}
	pu->name = u->user;
	pu->tag_value = u->rotation_value;
	pu->keys = rk;
	pu->nkeys = u->nkeys;
	return rk;
}

void rotate_describe_action(struct strbuf *out, const struct rot_action *a, const char *sink)
{
	switch (a->kind) {
	case ROT_DELETE_KEY:
		strbuf_addf(out, "delete %s", a->key_id);
		break;
	case ROT_TAG: {
		const char *st = strstr(a->tag_value.buf, "stage=");
		const char *sp = st ? strchr(st, ' ') : NULL;
		strbuf_addstr(out, "tag ");
		if (st)
			strbuf_add(out, st, sp ? (size_t)(sp - st) : strlen(st));
		else
			strbuf_addstr(out, a->tag_value.buf);
		break;
	}
	case ROT_CREATE:
		strbuf_addf(out, "create a new key, verify it, deliver to %s", sink ? sink : "(no sink)");
		break;
	case ROT_DEACTIVATE:
		strbuf_addf(out, "deactivate %s", a->key_id);
		break;
	case ROT_REACTIVATE:
		strbuf_addf(out, "reactivate %s", a->key_id);
		break;
	case ROT_UNTAG:
		strbuf_addf(out, "remove tag %s", ROTATION_TAG);
		break;
	}
}

static int set_tag(struct aws_client *c, const char *user, const char *value, struct strbuf *err)
{
	struct iam_tag t;
	t.key = (char *)ROTATION_TAG;
	t.value = (char *)value;
	return iam_tag_user(c, user, &t, 1, err);
}

static int drop_tag(struct aws_client *c, const char *user, struct strbuf *err)
{
	const char *keys[1] = { ROTATION_TAG };
	return iam_untag_user(c, user, keys, 1, err);
}

/*
 * After a failed create/verify/deliver: delete every key created since the
 * intent mark except old_id (their secrets are lost), then drop the mark.
 * Best effort: what fails here the next run's plan cleans up.
 */
static void clean_up_after_intent(struct aws_client *c, const char *user, const char *old_id,
				  time_t intent_t, long long skew, struct strbuf *detail)
{
	struct user_state lu = USER_STATE_INIT;
	struct strbuf e = STRBUF_INIT;
	size_t i;

	if (user_state_read(c, user, USER_STATE_KEYS, &lu, &e) < 0) {
		strbuf_addf(detail, "; clean-up could not list keys (%s): the next run will", e.buf);
		goto out;
	}
	for (i = 0; i < lu.nkeys; i++) {
		if (!strcmp(lu.keys[i].id, old_id) ||
		    (long long)lu.keys[i].created < (long long)intent_t - skew)
			continue;
		strbuf_reset(&e);
		if (iam_delete_access_key(c, user, lu.keys[i].id, &e) < 0)
			strbuf_addf(detail, "; could not delete %s (%s): the next run will",
				    lu.keys[i].id, e.buf);
		else
			strbuf_addf(detail, "; deleted the new key %s", lu.keys[i].id);
	}
	strbuf_reset(&e);
	if (drop_tag(c, user, &e) < 0)
		strbuf_addf(detail, "; could not drop the intent mark (%s)", e.buf);
out:
	user_state_release(&lu);
	strbuf_release(&e);
}

int rotate_verify_key(struct aws_client *c, const char *user, const struct aws_credentials *nc,
		      long timeout_ms, struct strbuf *err)
{
	double t0 = aws_monotonic_ms();
	long delay = 250;
	int attempts = 0;

	for (;;) {
		struct sts_caller_identity id = { 0 };
		struct strbuf e = STRBUF_INIT;
		int rc = sts_get_caller_identity_with(c, nc, &id, &e);
		attempts++;
		if (!rc) {
			size_t ul = strlen(user), al = id.arn ? strlen(id.arn) : 0;
			int ok = al > ul && id.arn[al - ul - 1] == '/' && !strcmp(id.arn + al - ul, user);
			if (!ok)
				strbuf_addf(err, "the new key authenticates as %s, not as user %s",
					    id.arn ? id.arn : "?", user);
			sts_caller_identity_release(&id);
			strbuf_release(&e);
			return ok ? 0 : -1;
		}
		sts_caller_identity_release(&id);
		if (aws_monotonic_ms() - t0 + (double)delay > (double)timeout_ms) {
			strbuf_addf(err, "the new key did not work after %d attempts in %lds: %s",
				    attempts, timeout_ms / 1000, e.buf);
			strbuf_release(&e);
			return -1;
		}
		strbuf_release(&e);
		aws_sleep_ms(delay);
		delay = delay * 2 > 4000 ? 4000 : delay * 2;
	}
}

struct exec_ctx {
	struct aws_client *c;
	const struct rotate_options *o;
	const char *account;
	const char *caller_key;  /* the key this process signs with */
	const char *caller_user;
};

static int do_create(const struct exec_ctx *x, struct user_state *u, const struct rotation_tag *intent,
		     const char *sink_spec, struct rotate_step *st)
{
	struct aws_client *c = x->c;
	struct iam_access_key nk = { 0 };
	struct strbuf e = STRBUF_INIT, tagv = STRBUF_INIT;
	struct sink_context sc;
	struct sink *sink = NULL;
	struct aws_credentials creds = { 0 };
	struct new_secret ns;
	struct rotation_tag delivered;
	int rc = -1;

	memset(&sc, 0, sizeof(sc));
	sc.user = u->user;
	sc.account = x->account;
	sc.client = c;
	sc.overwrite = 1; /* the sink holds the user's current key: replacing it is the point */
	sink = sink_new(sink_spec, &sc, &e);
	if (!sink) {
		strbuf_addf(&st->detail, "%s", e.buf);
		clean_up_after_intent(c, u->user, intent->old_key, intent->t, x->o->policy.skew,
				      &st->detail);
		goto out;
	}
	if (iam_create_access_key(c, u->user, &nk, &e) < 0) {
		strbuf_addf(&st->detail, "%s", e.buf);
		clean_up_after_intent(c, u->user, intent->old_key, intent->t, x->o->policy.skew,
				      &st->detail);
		goto out;
	}
	creds.access_key_id = xstrdup(nk.access_key_id);
	creds.secret_access_key = xstrdup(nk.secret_access_key);
	strbuf_reset(&e);
	if (rotate_verify_key(c, u->user, &creds, x->o->verify_timeout_ms, &e) < 0) {
		strbuf_addf(&st->detail, "created %s but %s (not delivered)", nk.access_key_id, e.buf);
		clean_up_after_intent(c, u->user, intent->old_key, intent->t, x->o->policy.skew,
				      &st->detail);
		goto out;
	}
	ns.access_key_id = nk.access_key_id;
	ns.secret_access_key = nk.secret_access_key;
	ns.user_name = u->user;
	ns.create_date = nk.create_date;
	ns.account_id = x->account;
	strbuf_reset(&e);
	if (sink_deliver(sink, &ns, &e) < 0) {
		strbuf_addf(&st->detail, "created %s but delivery failed: %s", nk.access_key_id, e.buf);
		clean_up_after_intent(c, u->user, intent->old_key, intent->t, x->o->policy.skew,
				      &st->detail);
		goto out;
	}
	delivered = *intent;
	delivered.stage = STAGE_DELIVERED;
	memcpy(delivered.new_key, nk.access_key_id,
	       strlen(nk.access_key_id) < sizeof(delivered.new_key) ? strlen(nk.access_key_id) + 1
								     : sizeof(delivered.new_key) - 1);
	delivered.t = c->now ? c->now() : aws_clock_now();
	rotation_tag_format(&tagv, &delivered);
	strbuf_reset(&e);
	if (set_tag(c, u->user, tagv.buf, &e) < 0) {
		/* delivered but not recorded: the next run sees intent and starts again */
		strbuf_addf(&st->detail, "delivered %s to %s but could not record it (%s); the next "
					 "run replaces it", nk.access_key_id, sink->target, e.buf);
		goto out;
	}
	strbuf_addf(&st->detail, "created %s, verified, delivered to %s", nk.access_key_id,
		    sink->target);
	rc = 0;
out:
	aws_credentials_release(&creds);
	iam_access_key_release(&nk);
	sink_free(sink);
	strbuf_release(&e);
	strbuf_release(&tagv);
	return rc;
}

/* Live checks before a key action; 0 to go on, 1 to skip (already done), -1 refused. */
static int check_key(const struct exec_ctx *x, struct user_state *u, const struct rot_action *a,
		     struct strbuf *why)
{
	const struct user_key *k = user_state_find_key(u, a->key_id);
	time_t now = x->o->now;

	if (x->caller_key && !strcmp(a->key_id, x->caller_key) &&
	    (a->kind == ROT_DELETE_KEY || a->kind == ROT_DEACTIVATE)) {
		strbuf_addf(why, "%s is the key this command runs with (use rotate --self)", a->key_id);
		return -1;
	}
	if (!k) {
		if (a->kind == ROT_DELETE_KEY) {
			strbuf_addstr(why, "already gone");
			return 1;
		}
		strbuf_addf(why, "key %s no longer exists", a->key_id);
		return -1;
	}
	if (a->kind == ROT_DEACTIVATE && !k->active) {
		strbuf_addstr(why, "already Inactive");
		return 1;
	}
	if (a->kind == ROT_REACTIVATE && k->active) {
		strbuf_addstr(why, "already Active");
		return 1;
	}
	if (a->expect_active >= 0 && k->active != a->expect_active) {
		strbuf_addf(why, "key %s is %s now, the plan expected %s", a->key_id,
			    k->active ? "Active" : "Inactive", a->expect_active ? "Active" : "Inactive");
		return -1;
	}
	if (a->not_used_since && k->last_used && k->last_used >= a->not_used_since) {
		strbuf_addf(why, "key %s was used since the rotation moved on (", a->key_id);
		iso8601_format(why, k->last_used);
		strbuf_addf(why, ", %s, %s)", k->service ? k->service : "-", k->region ? k->region : "-");
		return -1;
	}
	if (a->in_use_guard && k->last_used &&
	    (long long)now - (long long)k->last_used < x->o->policy.in_use_window) {
		strbuf_addf(why, "key %s was used within the last %lld hours", a->key_id,
			    x->o->policy.in_use_window / 3600);
		return -1;
	}
	return 0;
}

/* Carries out the steps of one user in order; stops at the first failure. */
static void apply_user(const struct exec_ctx *x, struct user_state *u, struct rotate_user *ru)
{
	struct aws_client *c = x->c;
	struct strbuf e = STRBUF_INIT;
	/* what we expect the tag to be before the next tag change */
	char *expect_tag = xstrdup_or_null(u->rotation_value);
	struct rotation_tag intent;
	size_t i;

	memset(&intent, 0, sizeof(intent));
	for (i = 0; i < ru->nsteps; i++) {
		struct rotate_step *st = &ru->steps[i];
		struct rot_action *a = &st->a;
		int rc;

		strbuf_reset(&e);
		/* verify live state before every change */
		if (user_state_read(c, u->user,
				    USER_STATE_KEYS | USER_STATE_TAGS |
					(a->kind == ROT_DELETE_KEY || a->kind == ROT_DEACTIVATE
					     ? USER_STATE_LAST_USED
					     : 0),
				    u, &e) < 0) {
			strbuf_addf(&st->detail, "cannot read live state: %s", e.buf);
			st->state = STEP_FAILED;
			break;
		}
		if ((u->rotation_value == NULL) != (expect_tag == NULL) ||
		    (expect_tag && strcmp(u->rotation_value, expect_tag))) {
			strbuf_addf(&st->detail, "tag %s changed since the plan (now '%s')", ROTATION_TAG,
				    u->rotation_value ? u->rotation_value : "absent");
			st->state = STEP_REFUSED;
			break;
		}
		switch (a->kind) {
		case ROT_DELETE_KEY:
		case ROT_DEACTIVATE:
		case ROT_REACTIVATE:
			rc = check_key(x, u, a, &st->detail);
			if (rc < 0) {
				st->state = STEP_REFUSED;
				goto out;
			}
			if (rc > 0) {
				st->state = STEP_SKIPPED;
				continue;
			}
			if (a->kind == ROT_DELETE_KEY)
				rc = iam_delete_access_key(c, u->user, a->key_id, &e);
			else
				rc = iam_update_access_key(c, u->user, a->key_id,
							   a->kind == ROT_REACTIVATE ? "Active" : "Inactive",
							   &e);
			if (rc < 0) {
				strbuf_addbuf(&st->detail, &e);
				st->state = STEP_FAILED;
				goto out;
			}
			strbuf_addstr(&st->detail, a->kind == ROT_DELETE_KEY ? "deleted" :
					 a->kind == ROT_DEACTIVATE ? "deactivated" : "reactivated");
			break;
		case ROT_TAG: {
			struct strbuf perr = STRBUF_INIT;
			if (set_tag(c, u->user, a->tag_value.buf, &e) < 0) {
				strbuf_addbuf(&st->detail, &e);
				st->state = STEP_FAILED;
				strbuf_release(&perr);
				goto out;
			}
			free(expect_tag);
			expect_tag = xstrdup(a->tag_value.buf);
			if (rotation_tag_parse(a->tag_value.buf, &intent, &perr) < 0)
				memset(&intent, 0, sizeof(intent));
			strbuf_release(&perr);
			strbuf_addstr(&st->detail, "tagged");
			break;
		}
		case ROT_UNTAG:
			if (drop_tag(c, u->user, &e) < 0) {
				strbuf_addbuf(&st->detail, &e);
				st->state = STEP_FAILED;
				goto out;
			}
			free(expect_tag);
			expect_tag = NULL;
			strbuf_addstr(&st->detail, "untagged");
			break;
		case ROT_CREATE: {
			size_t n = 0, j;
			if (intent.stage != STAGE_INTENT) {
				strbuf_addstr(&st->detail, "no intent mark recorded before creating");
				st->state = STEP_REFUSED;
				goto out;
			}
			for (j = 0; j < u->nkeys; j++)
				n++;
			if (n >= 2) {
				strbuf_addstr(&st->detail, "the user has two keys already: ");
				user_state_keys_summary(&st->detail, u);
				st->state = STEP_REFUSED;
				goto out;
			}
			if (!ru->sink) {
				strbuf_addstr(&st->detail, "no sink: give --to or 'to' in --config");
				st->state = STEP_REFUSED;
				clean_up_after_intent(c, u->user, intent.old_key, intent.t,
						      x->o->policy.skew, &st->detail);
				goto out;
			}
			if (do_create(x, u, &intent, ru->sink, st) < 0) {
				st->state = STEP_FAILED;
				goto out;
			}
			free(expect_tag);
			expect_tag = NULL; /* do_create wrote "delivered"; nothing may follow */
			break;
		}
		}
		st->state = STEP_DONE;
	}
out:
	for (i = 0; i < ru->nsteps; i++)
		if (ru->steps[i].state == STEP_FAILED || ru->steps[i].state == STEP_REFUSED)
			ru->failed = 1;
	free(expect_tag);
	strbuf_release(&e);
}

static struct rotate_user *report_add(struct rotate_report *r, const char *user)
{
	struct rotate_user *ru;
	ALLOC_GROW(r->users, r->n + 1, r->alloc);
	ru = &r->users[r->n++];
	memset(ru, 0, sizeof(*ru));
	ru->user = xstrdup(user);
	strbuf_init(&ru->reason, 0);
	return ru;
}

void rotate_report_release(struct rotate_report *r)
{
	size_t i, j;
	for (i = 0; i < r->n; i++) {
		struct rotate_user *ru = &r->users[i];
		for (j = 0; j < ru->nsteps; j++) {
			strbuf_release(&ru->steps[j].a.tag_value);
			strbuf_release(&ru->steps[j].a.reason);
			strbuf_release(&ru->steps[j].detail);
		}
		free(ru->steps);
		free(ru->user);
		free(ru->sink);
		free(ru->tag);
		free(ru->keys);
		strbuf_release(&ru->reason);
	}
	free(r->users);
	free(r->account);
	memset(r, 0, sizeof(*r));
}

static void take_plan(struct rotate_user *ru, struct rot_plan *plan)
{
	size_t i;
	ru->stage = plan->stage;
	ru->outcome = plan->outcome;
	strbuf_addbuf(&ru->reason, &plan->reason);
	ru->steps = xcalloc(plan->nactions + 1, sizeof(*ru->steps));
	for (i = 0; i < plan->nactions; i++) {
		ru->steps[i].a = plan->actions[i]; /* moves the strbufs */
		strbuf_init(&ru->steps[i].detail, 0);
	}
	ru->nsteps = plan->nactions;
	plan->nactions = 0;
}

static const char *const kind_names[] = {
	[ROT_DELETE_KEY] = "DeleteKey", [ROT_TAG] = "Tag",         [ROT_CREATE] = "CreateKey",
	[ROT_DEACTIVATE] = "Deactivate", [ROT_REACTIVATE] = "Reactivate", [ROT_UNTAG] = "Untag",
};

static int kind_from_name(const char *s, enum rot_action_kind *out)
{
	size_t i;
	for (i = 0; i < ARRAY_SIZE(kind_names); i++)
		if (kind_names[i] && !strcmp(s, kind_names[i])) {
			*out = (enum rot_action_kind)i;
			return 0;
		}
	return -1;
}

static const char *const state_names[] = {
	[STEP_PLANNED] = "planned", [STEP_DONE] = "done",       [STEP_FAILED] = "failed",
	[STEP_REFUSED] = "refused", [STEP_SKIPPED] = "skipped",
};
static const char *const outcome_names[] = {
	[ROT_NOTHING] = "nothing", [ROT_ACT] = "act", [ROT_BLOCKED] = "blocked",
};

json_t *rotate_report_json(const struct rotate_report *r, time_t now)
{
	json_t *doc = json_object(), *users = json_array();
	struct strbuf sb = STRBUF_INIT;
	size_t i, j;

	iso8601_format(&sb, now);
	json_object_set_new(doc, "Version", json_integer(1));
	json_object_set_new(doc, "GeneratedAt", json_string(sb.buf));
	if (r->account)
		json_object_set_new(doc, "Account", json_string(r->account));
	for (i = 0; i < r->n; i++) {
		const struct rotate_user *ru = &r->users[i];
		json_t *u = json_object(), *acts = json_array();
		json_object_set_new(u, "UserName", json_string(ru->user));
		json_object_set_new(u, "Stage", json_string(rotation_stage_name(ru->stage)));
		json_object_set_new(u, "Outcome", json_string(ru->failed ? "failed" : outcome_names[ru->outcome]));
		json_object_set_new(u, "Reason", json_string(ru->reason.buf));
		json_object_set_new(u, "Exempt", json_boolean(ru->exempt));
		json_object_set_new(u, "Sink", ru->sink ? json_string(ru->sink) : json_null());
		json_object_set_new(u, "Tag", ru->tag ? json_string(ru->tag) : json_null());
		json_object_set_new(u, "Keys", json_string(ru->keys ? ru->keys : ""));
		for (j = 0; j < ru->nsteps; j++) {
			const struct rotate_step *st = &ru->steps[j];
			json_t *a = json_object();
			json_object_set_new(a, "Action", json_string(kind_names[st->a.kind]));
			json_object_set_new(a, "AccessKeyId", st->a.key_id[0] ? json_string(st->a.key_id) : json_null());
			json_object_set_new(a, "TagValue", st->a.tag_value.len ? json_string(st->a.tag_value.buf) : json_null());
			json_object_set_new(a, "ExpectActive", json_integer(st->a.expect_active));
			json_object_set_new(a, "InUseGuard", json_boolean(st->a.in_use_guard));
			json_object_set_new(a, "NotUsedSince", json_integer((json_int_t)st->a.not_used_since));
			json_object_set_new(a, "Reason", json_string(st->a.reason.buf));
			json_object_set_new(a, "Result", json_string(state_names[st->state]));
			json_object_set_new(a, "Detail", json_string(st->detail.buf));
			json_array_append_new(acts, a);
		}
		json_object_set_new(u, "Actions", acts);
		json_array_append_new(users, u);
	}
	json_object_set_new(doc, "Users", users);
	strbuf_release(&sb);
	return doc;
}

/* --plan FILE: the user's steps from the saved plan. 0 / -1 (bad plan). */
static int steps_from_json(struct rotate_user *ru, json_t *ju, struct strbuf *err)
{
	json_t *acts = json_object_get(ju, "Actions"), *a;
	size_t i;
	if (!json_is_array(acts)) {
		strbuf_addf(err, "plan: user %s has no Actions array", ru->user);
		return -1;
	}
	ru->steps = xcalloc(json_array_size(acts) + 1, sizeof(*ru->steps));
	json_array_foreach(acts, i, a) {
		struct rotate_step *st = &ru->steps[ru->nsteps];
		const char *kind = json_string_value(json_object_get(a, "Action"));
		const char *key = json_string_value(json_object_get(a, "AccessKeyId"));
		const char *tag = json_string_value(json_object_get(a, "TagValue"));
		const char *why = json_string_value(json_object_get(a, "Reason"));
		memset(st, 0, sizeof(*st));
		strbuf_init(&st->a.tag_value, 0);
		strbuf_init(&st->a.reason, 0);
		strbuf_init(&st->detail, 0);
		ru->nsteps++;
		if (!kind || kind_from_name(kind, &st->a.kind) < 0) {
			strbuf_addf(err, "plan: unknown action for user %s", ru->user);
			return -1;
		}
		if (key) {
			if (strlen(key) >= sizeof(st->a.key_id)) {
				strbuf_addf(err, "plan: bad key id for user %s", ru->user);
				return -1;
			}
			memcpy(st->a.key_id, key, strlen(key) + 1);
		}
		if (tag)
			strbuf_addstr(&st->a.tag_value, tag);
		if (why)
			strbuf_addstr(&st->a.reason, why);
		st->a.expect_active = (int)json_integer_value(json_object_get(a, "ExpectActive"));
		if (!json_is_integer(json_object_get(a, "ExpectActive")))
			st->a.expect_active = -1;
		st->a.in_use_guard = json_is_true(json_object_get(a, "InUseGuard"));
		st->a.not_used_since = (time_t)json_integer_value(json_object_get(a, "NotUsedSince"));
	}
	return 0;
}

/* Sinks on this machine (a file, a credentials profile): one per expanded name. */
static int sink_spec_is_local(const char *spec)
{
	return !strncmp(spec, "file:", 5) || !strncmp(spec, "profile:", 8);
}

/* Plans (and applies) one user. 0, or -1 only for errors that stop the run. */
static int rotate_one(const struct exec_ctx *x, const char *name, const char *path, json_t *planned,
		      struct rotate_report *r)
{
	const struct rotate_options *o = x->o;
	struct aws_client *c = x->c;
	struct user_state u = USER_STATE_INIT;
	struct rotate_user *ru = report_add(r, name);
	struct strbuf e = STRBUF_INIT, why = STRBUF_INIT, ks = STRBUF_INIT;
	struct rotconf_settings s;
	struct rot_policy pol = o->policy;
	const char **tk = NULL, **tv = NULL;
	struct rot_key *rk = NULL;
	struct rot_plan plan;
	size_t i;
	int exempt;

	rot_plan_init(&plan);
	/*
	 * Last use matters only to a rotation in progress (is the old key
	 * still used?) and to a user with two keys (may the inactive one go?):
	 * the common single-key user costs two calls, not three.
	 */
	if (user_state_read(c, name, USER_STATE_KEYS | USER_STATE_TAGS, &u, &e) < 0 ||
	    ((u.rotation_value || u.nkeys > 1) &&
	     user_state_read(c, name, USER_STATE_LAST_USED, &u, &e) < 0)) {
		ru->outcome = ROT_BLOCKED;
		ru->failed = 1;
		strbuf_addf(&ru->reason, "cannot read live state: %s", e.buf);
		goto out;
	}
	user_state_keys_summary(&ks, &u);
	ru->keys = strbuf_detach(&ks, NULL);
	ru->tag = xstrdup_or_null(u.rotation_value);
	iam_tags_split(u.tags, u.ntags, &tk, &tv);

	/* settings: command line, then [user], [tag], [account], [default], built-in */
	s = o->cli;
	if (o->conf)
		rotconf_resolve(o->conf, r->account, name, tk, tv, u.ntags, &s);
	if (s.rotate_after >= 0)
		pol.rotate_after = s.rotate_after;
	if (s.deactivate_after >= 0)
		pol.deactivate_after = s.deactivate_after;
	if (s.delete_after >= 0)
		pol.delete_after = s.delete_after;
	if (s.max_grace >= 0)
		pol.max_grace = s.max_grace;
	if (s.to) {
		struct strbuf sink = STRBUF_INIT;
		strbuf_reset(&e);
		if (sink_expand_template(&sink, s.to, name, r->account, &e) < 0) {
			ru->outcome = ROT_BLOCKED;
			ru->failed = 1;
			strbuf_addf(&ru->reason, "bad sink '%s': %s", s.to, e.buf);
			strbuf_release(&sink);
			goto out;
		}
		ru->sink = strbuf_detach(&sink, NULL);
	}

	/* exemptions: the audit's, plus exempt = true in the config */
	{
		struct user_facts uf = { name, path, tk, tv, u.ntags, NULL, 0 };
		if (policy_needs_groups(&o->exempt)) {
			strbuf_reset(&e);
			if (user_state_read(c, name, USER_STATE_GROUPS, &u, &e) < 0) {
				ru->outcome = ROT_BLOCKED;
				ru->failed = 1;
				strbuf_addf(&ru->reason, "cannot read groups: %s", e.buf);
				goto out;
			}
			uf.groups = (const char *const *)u.groups;
			uf.ngroups = u.ngroups;
		}
		exempt = policy_user_exempt(&o->exempt, &uf, &why);
		if (!exempt && s.exempt == 1) {
			exempt = 1;
			strbuf_addstr(&why, "exempt = true in the config");
		}
	}
	if (exempt && !u.rotation_value) {
		ru->exempt = 1;
		ru->outcome = ROT_NOTHING;
		strbuf_addf(&ru->reason, "exempt: %s", why.buf);
		goto out;
	}

	if (planned) {
		/* --plan FILE: the live state must still be what the plan saw */
		const char *ptag = json_string_value(json_object_get(planned, "Tag"));
		const char *pkeys = json_string_value(json_object_get(planned, "Keys"));
		const char *psink = json_string_value(json_object_get(planned, "Sink"));
		ru->stage = STAGE_IDLE;
		if (ru->tag) {
			struct rotation_tag t;
			struct strbuf pe = STRBUF_INIT;
			if (!rotation_tag_parse(ru->tag, &t, &pe))
				ru->stage = t.stage;
			strbuf_release(&pe);
		}
		if ((!ptag) != (!ru->tag) || (ptag && strcmp(ptag, ru->tag)) || !pkeys ||
		    strcmp(pkeys, ru->keys)) {
			ru->outcome = ROT_BLOCKED;
			ru->failed = 1;
			strbuf_addf(&ru->reason, "live state changed since the plan (keys %s, tag %s): "
						 "refusing its steps", ru->keys, ru->tag ? ru->tag : "absent");
			goto out;
		}
		free(ru->sink);
		ru->sink = xstrdup_or_null(psink);
		strbuf_reset(&e);
		if (steps_from_json(ru, planned, &e) < 0) {
			ru->outcome = ROT_BLOCKED;
			ru->failed = 1;
			strbuf_addbuf(&ru->reason, &e);
			goto out;
		}
		ru->outcome = ru->nsteps ? ROT_ACT : ROT_NOTHING;
		strbuf_addstr(&ru->reason, "from the saved plan");
	} else {
		struct rot_user pu;
		rk = planner_view(&u, &pu);
		rotation_plan_user(&pu, &pol, o->now, &plan);
		take_plan(ru, &plan);
	}
	/* the key this command runs with is never deactivated or deleted here */
	for (i = 0; x->caller_key && i < ru->nsteps; i++)
		if ((ru->steps[i].a.kind == ROT_CREATE || ru->steps[i].a.kind == ROT_DEACTIVATE ||
		     ru->steps[i].a.kind == ROT_DELETE_KEY) &&
		    !strcmp(ru->steps[i].a.key_id, x->caller_key)) {
			ru->outcome = ROT_BLOCKED;
			strbuf_reset(&ru->reason);
			strbuf_addf(&ru->reason, "key %s is the key this command runs with: use "
						 "'iamkeys rotate --self'", x->caller_key);
			for (i = 0; i < ru->nsteps; i++)
				ru->steps[i].state = STEP_SKIPPED;
			goto out;
		}
	for (i = 0; i < ru->nsteps; i++)
		if (ru->steps[i].a.kind == ROT_CREATE && ru->sink && o->local_sinks_need_account &&
		    s.to && sink_spec_is_local(s.to) && !strstr(s.to, "{account}")) {
			ru->outcome = ROT_BLOCKED;
			strbuf_reset(&ru->reason);
			strbuf_addf(&ru->reason, "due, but sink '%s' has no {account}: with several "
						 "accounts, users of the same name would share it", s.to);
			for (i = 0; i < ru->nsteps; i++)
				ru->steps[i].state = STEP_SKIPPED;
			goto out;
		}
	for (i = 0; i < ru->nsteps; i++)
		if (ru->steps[i].a.kind == ROT_CREATE && !ru->sink) {
			ru->outcome = ROT_BLOCKED;
			strbuf_reset(&ru->reason);
			strbuf_addstr(&ru->reason, "due, but no sink for the new secret: give --to or "
						   "'to' in --config");
			for (i = 0; i < ru->nsteps; i++)
				ru->steps[i].state = STEP_SKIPPED;
			goto out;
		}
	if (o->apply && ru->outcome == ROT_ACT)
		apply_user(x, &u, ru);
out:
	free(tk);
	free(tv);
	free(rk);
	rot_plan_release(&plan);
	user_state_release(&u);
	strbuf_release(&e);
	strbuf_release(&why);
	strbuf_release(&ks);
	return 0;
}

static int setup_ctx(struct aws_client *c, struct exec_ctx *x, struct rotate_report *r,
		     struct sts_caller_identity *id, struct aws_credentials *mine, struct strbuf *err)
{
	if (sts_get_caller_identity(c, id, err) < 0)
		return -1;
	if (cred_provider_get(c->creds, mine, err) < 0)
		return -1;
	r->account = xstrdup_or_null(id->account);
	x->c = c;
	x->account = id->account;
	x->caller_key = mine->access_key_id;
	x->caller_user = id->arn ? strrchr(id->arn, '/') : NULL;
	if (x->caller_user)
		x->caller_user++;
	return 0;
}

int rotate_run(struct aws_client *c, const struct rotate_options *o, struct rotate_report *r,
	       struct strbuf *err)
{
	struct exec_ctx x;
	struct sts_caller_identity id = { 0 };
	struct aws_credentials mine = { 0 };
	struct iam_user_list users = { 0 };
	int rc = -1;
	size_t i;

	memset(r, 0, sizeof(*r));
	memset(&x, 0, sizeof(x));
	x.o = o;
	if (setup_ctx(c, &x, r, &id, &mine, err) < 0)
		goto out;
	if (o->plan_in) {
		json_t *ju, *list = json_object_get(o->plan_in, "Users");
		if (!json_is_array(list)) {
			strbuf_addstr(err, "the plan has no Users array");
			goto out;
		}
		json_array_foreach(list, i, ju) {
			const char *name = json_string_value(json_object_get(ju, "UserName"));
			if (!name) {
				strbuf_addstr(err, "the plan has a user without UserName");
				goto out;
			}
			rotate_one(&x, name, NULL, ju, r);
		}
	} else if (o->nusers) {
		for (i = 0; i < o->nusers; i++) {
			struct iam_user u = { 0 };
			size_t err_len = err->len;
			if (iam_get_user(c, o->users[i], &u, err) < 0) {
				iam_user_release(&u);
				if (o->skip_missing_users &&
				    !strcmp(aws_client_last_error_code(c), "NoSuchEntity")) {
					strbuf_setlen(err, err_len);
					continue;
				}
				goto out;
			}
			rotate_one(&x, u.user_name, u.path, NULL, r);
			iam_user_release(&u);
		}
	} else {
		if (iam_list_users(c, NULL, &users, err) < 0)
			goto out;
		for (i = 0; i < users.nusers; i++)
			rotate_one(&x, users.users[i].user_name, users.users[i].path, NULL, r);
	}
	rc = 0;
out:
	iam_user_list_release(&users);
	sts_caller_identity_release(&id);
	aws_credentials_release(&mine);
	return rc;
}

int rotate_rollback(struct aws_client *c, const char *user, int apply, time_t now,
		    struct rotate_report *r, struct strbuf *err)
{
	struct exec_ctx x;
	struct rotate_options o;
	struct sts_caller_identity id = { 0 };
	struct aws_credentials mine = { 0 };
	struct user_state u = USER_STATE_INIT;
	struct rotate_user *ru;
	struct rot_key *rk = NULL;
	struct rot_user pu;
	struct rot_plan plan;
	struct strbuf ks = STRBUF_INIT;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	memset(&x, 0, sizeof(x));
	memset(&o, 0, sizeof(o));
	rot_policy_defaults(&o.policy);
	rotconf_settings_unset(&o.cli);
	o.now = now;
	o.apply = apply;
	x.o = &o;
	rot_plan_init(&plan);
	if (setup_ctx(c, &x, r, &id, &mine, err) < 0)
		goto out;
	if (user_state_read(c, user, USER_STATE_LAST_USED | USER_STATE_TAGS, &u, err) < 0)
		goto out;
	ru = report_add(r, user);
	user_state_keys_summary(&ks, &u);
	ru->keys = strbuf_detach(&ks, NULL);
	ru->tag = xstrdup_or_null(u.rotation_value);
	rk = planner_view(&u, &pu);
	rotation_plan_rollback(&pu, now, &plan);
	take_plan(ru, &plan);
	if (apply && ru->outcome == ROT_ACT)
		apply_user(&x, &u, ru);
	rc = 0;
out:
	free(rk);
	rot_plan_release(&plan);
	user_state_release(&u);
	strbuf_release(&ks);
	sts_caller_identity_release(&id);
	aws_credentials_release(&mine);
	return rc;
}
