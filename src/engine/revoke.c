/* iamkeys revoke: incident response for an exposed key (see engine/revoke.h). */
#include "core/compat.h"
#include "engine/revoke.h"
#include "aws/client.h"
#include "aws/iam.h"
#include "core/revoketag.h"
#include "core/rotation.h"
#include "core/timeutil.h"
#include "engine/actions.h"
#include "engine/rotate.h"
#include "engine/userstate.h"
#include "sinks/sink.h"

static const char *const step_labels[] = { "deactivate", "deny-sessions", "replace", "delete",
					   "cleanup" };
static const char *const result_names[] = { "planned", "done", "already-done", "refused",
					    "failed" };

const char *const revoke_persistence_events[] = {
	"CreateUser",	    "CreateAccessKey",	      "CreateLoginProfile", "UpdateLoginProfile",
	"AttachUserPolicy", "PutUserPolicy",	      "AttachRolePolicy",   "PutRolePolicy",
	"CreateRole",	    "UpdateAssumeRolePolicy", "GetSessionToken",    "GetFederationToken",
	"AssumeRole",
};
const size_t revoke_npersistence_events = ARRAY_SIZE(revoke_persistence_events);

const char *revoke_step_label(enum revoke_step s)
{
	return (size_t)s < ARRAY_SIZE(step_labels) ? step_labels[s] : "?";
}

const char *revoke_result_name(enum revoke_result r)
{
	return (size_t)r < ARRAY_SIZE(result_names) ? result_names[r] : "?";
}

const char *revoke_outcome(const struct revoke_report *r)
{
	size_t i;
	int refused = 0, planned = 0;

	for (i = 0; i < r->nsteps; i++) {
		if (r->steps[i].result == REVOKE_FAILED)
			return "failed";
		refused |= r->steps[i].result == REVOKE_REFUSED;
		planned |= r->steps[i].result == REVOKE_PLANNED;
	}
	return refused ? "refused" : planned ? "planned" : "done";
}

void revoke_report_release(struct revoke_report *r)
{
	size_t i;

	for (i = 0; i < r->nsteps; i++)
		free(r->steps[i].detail);
	FREE_ALL(r->steps, r->user, r->key_id, r->policy_name, r->new_key_id, r->timeline.error);
	trace_result_release(&r->timeline.trace);
	memset(r, 0, sizeof(*r));
}

static void step_add(struct revoke_report *r, struct aws_client *c, enum revoke_step s,
		     enum revoke_result res, const char *detail)
{
	ALLOC_GROW(r->steps, r->nsteps + 1, r->alloc);
	r->steps[r->nsteps++] = (struct revoke_step_record){
		.step = s,
		.result = res,
		.at = aws_client_now(c),
		.detail = xstrdup(detail ? detail : ""),
	};
}

/* One run's working state. */
struct run {
	struct action_ctx *a;
	const struct revoke_options *o;
	struct revoke_report *r;
	struct revoke_tag tag;
	struct user_state us;
	struct iam_name_page policies;
	int have_policies;
};

/*
 * Records bit in the tag (with apply): TagUser, which also writes the
 * record of a key change (KEYS_CHANGED_TAG, core/rotation.h: audit reads
 * the user live rather than from an older credential report). 0, or -1
 * with err.
 */
static int record(struct run *x, unsigned bit, struct strbuf *err)
{
	struct strbuf v = STRBUF_INIT, changed = STRBUF_INIT;
	struct iam_tag t[2];
	int rc;

	if (!x->a->o.apply)
		return 0;
	x->tag.done |= bit;
	revoke_tag_format(&v, &x->tag);
	t[0].key = (char *)REVOKE_TAG;
	t[0].value = v.buf;
	keys_changed_format(&changed, aws_client_now(x->a->c));
	t[1].key = (char *)KEYS_CHANGED_TAG;
	t[1].value = changed.buf;
	rc = iam_tag_user(x->a->c, x->o->user, t, 2, err);
	strbuf_release(&v);
	strbuf_release(&changed);
	return rc;
}

static int read_policies(struct run *x, struct strbuf *err)
{
	if (x->have_policies)
		return 0;
	if (iam_list_user_policies(x->a->c, x->o->user, &x->policies, err) < 0)
		return -1;
	x->have_policies = 1;
	return 0;
}

static void add_time(struct strbuf *sb, time_t t)
{
	struct strbuf iso = STRBUF_INIT;
	iso8601_format(&iso, t);
	strbuf_addbuf(sb, &iso);
	strbuf_release(&iso);
}

/* Step 1. 0 to go on, -1 to stop (recorded). */
static int step_deactivate(struct run *x, const struct user_key *k)
{
	struct strbuf msg = STRBUF_INIT, err = STRBUF_INIT;
	struct aws_client *c = x->a->c;
	int ret = 0;

	if (!k || !k->active) {
		strbuf_addf(&msg, "%s is %s", x->o->key_id, k ? "already Inactive" : "deleted");
		if (!(x->tag.done & REVOKE_STEP_DEACTIVATE) &&
		    record(x, REVOKE_STEP_DEACTIVATE, &err) < 0) {
			strbuf_addf(&msg, "; could not record it in tag %s: %s", REVOKE_TAG,
				    err.buf);
			step_add(x->r, c, REVOKE_DEACTIVATE, REVOKE_FAILED, msg.buf);
			ret = -1;
		} else {
			step_add(x->r, c, REVOKE_DEACTIVATE, REVOKE_ALREADY, msg.buf);
		}
	} else if (!x->a->o.apply) {
		strbuf_addf(&msg, "deactivate %s now (no in-use window, no last-key guard)",
			    x->o->key_id);
		step_add(x->r, c, REVOKE_DEACTIVATE, REVOKE_PLANNED, msg.buf);
	} else if (iam_update_access_key(c, x->o->user, x->o->key_id, "Inactive", &err) < 0) {
		step_add(x->r, c, REVOKE_DEACTIVATE, REVOKE_FAILED, err.buf);
		ret = -1;
	} else if (record(x, REVOKE_STEP_DEACTIVATE, &err) < 0) {
		strbuf_addf(&msg, "deactivated %s, but could not record it in tag %s: %s",
			    x->o->key_id, REVOKE_TAG, err.buf);
		step_add(x->r, c, REVOKE_DEACTIVATE, REVOKE_FAILED, msg.buf);
		ret = -1;
	} else {
		strbuf_addf(&msg, "deactivated %s", x->o->key_id);
		step_add(x->r, c, REVOKE_DEACTIVATE, REVOKE_DONE, msg.buf);
	}
	strbuf_release(&msg);
	strbuf_release(&err);
	return ret;
}

static void deny_document(struct strbuf *out, time_t t)
{
	strbuf_addstr(out, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":"
			   "\"IamkeysRevokeOlderSessions\",\"Effect\":\"Deny\",\"Action\":\"*\","
			   "\"Resource\":\"*\",\"Condition\":{\"DateLessThan\":"
			   "{\"aws:TokenIssueTime\":\"");
	add_time(out, t);
	strbuf_addstr(out, "\"}}}]}");
}

/* Step 2. */
static int step_deny(struct run *x)
{
	struct strbuf msg = STRBUF_INIT, err = STRBUF_INIT, name = STRBUF_INIT;
	struct aws_client *c = x->a->c;
	time_t found = 0, t;
	size_t i;
	int ret = 0;

	if (x->tag.done & REVOKE_STEP_DENY) {
		revoke_policy_name(&name, x->tag.policy_time);
		x->r->policy_name = xstrdup(name.buf);
		strbuf_addf(&msg, "%s denies sessions issued before ", name.buf);
		add_time(&msg, x->tag.policy_time);
		step_add(x->r, c, REVOKE_DENY, REVOKE_ALREADY, msg.buf);
		goto out;
	}
	if (read_policies(x, &err) < 0) {
		step_add(x->r, c, REVOKE_DENY, REVOKE_FAILED, err.buf);
		ret = -1;
		goto out;
	}
	for (i = 0; i < x->policies.nnames; i++)
		if (!revoke_policy_time(x->policies.names[i], &t) && t >= x->tag.started &&
		    t > found)
			found = t;
	if (found) {
		x->tag.policy_time = found;
		revoke_policy_name(&name, found);
		x->r->policy_name = xstrdup(name.buf);
		if (record(x, REVOKE_STEP_DENY, &err) < 0) {
			strbuf_addf(&msg, "could not record %s in tag %s: %s", name.buf, REVOKE_TAG,
				    err.buf);
			step_add(x->r, c, REVOKE_DENY, REVOKE_FAILED, msg.buf);
			ret = -1;
			goto out;
		}
		strbuf_addf(&msg, "%s denies sessions issued before ", name.buf);
		add_time(&msg, found);
		step_add(x->r, c, REVOKE_DENY, REVOKE_ALREADY, msg.buf);
		goto out;
	}
	/* one second after now (AWS's time): every session the key made is older */
	t = aws_client_now(c) + 1;
	revoke_policy_name(&name, t);
	if (!x->a->o.apply) {
		strbuf_addf(&msg, "put inline policy %s: deny * on * to sessions issued before ",
			    name.buf);
		add_time(&msg, t);
		step_add(x->r, c, REVOKE_DENY, REVOKE_PLANNED, msg.buf);
		goto out;
	}
	{
		struct strbuf doc = STRBUF_INIT;
		deny_document(&doc, t);
		ret = iam_put_user_policy(c, x->o->user, name.buf, doc.buf, &err);
		strbuf_release(&doc);
	}
	if (ret < 0) {
		step_add(x->r, c, REVOKE_DENY, REVOKE_FAILED, err.buf);
		goto out;
	}
	x->tag.policy_time = t;
	x->r->policy_name = xstrdup(name.buf);
	if (record(x, REVOKE_STEP_DENY, &err) < 0) {
		strbuf_addf(&msg, "put %s, but could not record it in tag %s: %s", name.buf,
			    REVOKE_TAG, err.buf);
		step_add(x->r, c, REVOKE_DENY, REVOKE_FAILED, msg.buf);
		ret = -1;
		goto out;
	}
	strbuf_addf(&msg, "put inline policy %s: sessions issued before ", name.buf);
	add_time(&msg, t);
	strbuf_addstr(&msg, " are denied");
	step_add(x->r, c, REVOKE_DENY, REVOKE_DONE, msg.buf);
out:
	strbuf_release(&msg);
	strbuf_release(&err);
	strbuf_release(&name);
	return ret;
}

/*
 * Keys created since the response began, other than the revoked one, that
 * the sink does not hold: a run died between CreateAccessKey and the
 * delivery, and their secrets died with it. Deleted (apply), noted in msg.
 */
static int delete_orphans(struct run *x, struct strbuf *msg)
{
	struct strbuf err = STRBUF_INIT;
	char *held = NULL;
	size_t i;
	int checked = 0, ret = 0;

	for (i = 0; i < x->us.nkeys; i++) {
		const struct user_key *k = &x->us.keys[i];
		if (!strcmp(k->id, x->o->key_id) || k->created < x->tag.started)
			continue;
		if (!checked) {
			(void)sink_preflight(x->o->sink, &held, &err);
			strbuf_reset(&err);
			checked = 1;
		}
		if (held && !strcmp(held, k->id))
			continue;
		if (iam_delete_access_key(x->a->c, x->o->user, k->id, &err) < 0) {
			strbuf_addf(msg,
				    "could not delete %s, created by an interrupted run (its "
				    "secret is lost): %s",
				    k->id, err.buf);
			ret = -1;
			break;
		}
		strbuf_addf(msg,
			    "deleted %s, created by an interrupted run (its secret was lost); ",
			    k->id);
	}
	free(held);
	strbuf_release(&err);
	return ret;
}

/* Step 3: what the key did. A failure is kept in the timeline, never a step. */
static void step_timeline(struct run *x)
{
	struct revoke_timeline *tl = &x->r->timeline;
	struct strbuf err = STRBUF_INIT;
	struct trace_options to;

	if (x->o->since <= 0 || !x->o->nregions)
		return;
	memset(&to, 0, sizeof(to));
	tl->end = aws_client_now(x->a->c);
	tl->start = tl->end - (time_t)x->o->since;
	to.key_id = x->o->key_id;
	to.start = tl->start;
	to.end = tl->end;
	to.regions = x->o->regions;
	to.nregions = x->o->nregions;
	to.keep = revoke_persistence_events;
	to.nkeep = revoke_npersistence_events;
	if (trace_key(x->a->c, &to, &tl->trace, &err) < 0) {
		tl->denied = tl->trace.denied;
		tl->error = strbuf_detach(&err, NULL);
		return;
	}
	tl->read = 1;
	strbuf_release(&err);
}

/*
 * The replace step recorded in REVOKE_TAG, then reported with result; when
 * the record fails, reported failed with why. 0 / -1.
 */
static int record_replace(struct run *x, enum revoke_result result, struct strbuf *msg)
{
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (record(x, REVOKE_STEP_REPLACE, &err) < 0) {
		strbuf_addf(msg, "; could not record it in tag %s: %s", REVOKE_TAG, err.buf);
		result = REVOKE_FAILED;
		ret = -1;
	}
	step_add(x->r, x->a->c, REVOKE_REPLACE, result, msg->buf);
	strbuf_release(&err);
	return ret;
}

/* Step 4. */
static int step_replace(struct run *x)
{
	struct action_ctx *a = x->a;
	struct aws_client *c = a->c;
	struct strbuf msg = STRBUF_INIT, err = STRBUF_INIT;
	struct iam_access_key nk = { 0 };
	struct create_options co = { 0 };
	enum action_result res;
	const struct action_record *rec;
	int ret = 0;

	if (x->tag.done & REVOKE_STEP_REPLACE) {
		step_add(x->r, c, REVOKE_REPLACE, REVOKE_ALREADY, "replaced by an earlier run");
		goto out;
	}
	if (a->o.apply && delete_orphans(x, &msg) < 0) {
		step_add(x->r, c, REVOKE_REPLACE, REVOKE_FAILED, msg.buf);
		ret = -1;
		goto out;
	}
	/* the sink holding an Active key made since the response began: replaced */
	co.max_age = (long long)aws_client_now(c) - (long long)x->tag.started + 1;
	co.own_intent_record = 1; /* the revoked tag, and delete_orphans above */
	res = action_create_key_secret(a, x->o->user, x->o->sink, &co, &nk);
	rec = a->nrecs ? &a->recs[a->nrecs - 1] : NULL;
	strbuf_addstr(&msg, rec && rec->reason ? rec->reason : "");
	switch (res) {
	case ACTION_PLANNED:
		step_add(x->r, c, REVOKE_REPLACE, REVOKE_PLANNED, msg.buf);
		break;
	case ACTION_NOTHING:
		x->r->new_key_id = xstrdup_or_null(rec ? rec->key_id : NULL);
		ret = record_replace(x, REVOKE_ALREADY, &msg);
		break;
	case ACTION_DONE: {
		struct aws_credentials nc = { 0 };
		nc.access_key_id = nk.access_key_id;
		nc.secret_access_key = nk.secret_access_key;
		x->r->new_key_id = xstrdup(nk.access_key_id);
		if (rotate_verify_key(c, x->o->user, &nc, x->o->verify_timeout_ms, &err) < 0) {
			strbuf_addf(&msg, "; %s", err.buf);
			step_add(x->r, c, REVOKE_REPLACE, REVOKE_FAILED, msg.buf);
			ret = -1;
			break;
		}
		strbuf_addstr(&msg, "; verified");
		ret = record_replace(x, REVOKE_DONE, &msg);
		break;
	}
	case ACTION_BLOCKED:
	case ACTION_EXEMPT:
		step_add(x->r, c, REVOKE_REPLACE, REVOKE_REFUSED, msg.buf);
		break;
	case ACTION_FAILED:
	default:
		step_add(x->r, c, REVOKE_REPLACE, REVOKE_FAILED, msg.buf);
		ret = -1;
		break;
	}
out:
	iam_access_key_release(&nk);
	strbuf_release(&msg);
	strbuf_release(&err);
	return ret;
}

/* Step 5. */
static void step_delete(struct run *x, const struct user_key *k)
{
	struct aws_client *c = x->a->c;
	struct strbuf msg = STRBUF_INIT, err = STRBUF_INIT;
	size_t i;

	for (i = 0; i < x->r->nsteps; i++) {
		enum revoke_result res = x->r->steps[i].result;
		if (res == REVOKE_REFUSED || res == REVOKE_FAILED) {
			strbuf_addf(&msg, "%s is kept: step %s is not done", x->o->key_id,
				    revoke_step_label(x->r->steps[i].step));
			step_add(x->r, c, REVOKE_DELETE, REVOKE_REFUSED, msg.buf);
			goto out;
		}
	}
	if (!k) {
		strbuf_addf(&msg, "%s is deleted", x->o->key_id);
		if (!(x->tag.done & REVOKE_STEP_DELETE) &&
		    record(x, REVOKE_STEP_DELETE, &err) < 0) {
			strbuf_addf(&msg, "; could not record it in tag %s: %s", REVOKE_TAG,
				    err.buf);
			step_add(x->r, c, REVOKE_DELETE, REVOKE_FAILED, msg.buf);
		} else {
			step_add(x->r, c, REVOKE_DELETE, REVOKE_ALREADY, msg.buf);
		}
	} else if (!x->a->o.apply) {
		strbuf_addf(&msg, "delete %s", x->o->key_id);
		step_add(x->r, c, REVOKE_DELETE, REVOKE_PLANNED, msg.buf);
	} else if (iam_delete_access_key(c, x->o->user, x->o->key_id, &err) < 0) {
		step_add(x->r, c, REVOKE_DELETE, REVOKE_FAILED, err.buf);
	} else if (record(x, REVOKE_STEP_DELETE, &err) < 0) {
		strbuf_addf(&msg, "deleted %s, but could not record it in tag %s: %s", x->o->key_id,
			    REVOKE_TAG, err.buf);
		step_add(x->r, c, REVOKE_DELETE, REVOKE_FAILED, msg.buf);
	} else {
		strbuf_addf(&msg, "deleted %s", x->o->key_id);
		step_add(x->r, c, REVOKE_DELETE, REVOKE_DONE, msg.buf);
	}
out:
	strbuf_release(&msg);
	strbuf_release(&err);
}

/* --cleanup-after: the user's deny policies older than that. */
static void step_cleanup(struct run *x)
{
	struct aws_client *c = x->a->c;
	struct strbuf msg = STRBUF_INIT, err = STRBUF_INIT, kept = STRBUF_INIT;
	time_t now = aws_client_now(c), t;
	size_t i, removed = 0, young = 0;
	enum revoke_result res;

	if (read_policies(x, &err) < 0) {
		step_add(x->r, c, REVOKE_CLEANUP, REVOKE_FAILED, err.buf);
		goto out;
	}
	for (i = 0; i < x->policies.nnames; i++) {
		const char *name = x->policies.names[i];
		if (revoke_policy_time(name, &t) < 0)
			continue;
		if ((long long)now - (long long)t < x->o->cleanup_after) {
			strbuf_addf(&kept, "%s%s stays until ", young++ ? "; " : "", name);
			add_time(&kept, t + (time_t)x->o->cleanup_after);
			continue;
		}
		if (x->a->o.apply && iam_delete_user_policy(c, x->o->user, name, &err) < 0) {
			strbuf_addf(&msg, "%s: %s", name, err.buf);
			step_add(x->r, c, REVOKE_CLEANUP, REVOKE_FAILED, msg.buf);
			goto out;
		}
		strbuf_addf(&msg, "%s%s %s", removed++ ? "; " : "",
			    x->a->o.apply ? "removed" : "remove", name);
	}
	if (young) {
		if (msg.len)
			strbuf_addstr(&msg, "; ");
		strbuf_addbuf(&msg, &kept);
		strbuf_addstr(&msg, " (--cleanup-after: run again then)");
		res = REVOKE_REFUSED;
	} else if (!removed) {
		strbuf_addf(&msg, "no %s* policy left", REVOKE_POLICY_PREFIX);
		res = REVOKE_ALREADY;
	} else {
		res = x->a->o.apply ? REVOKE_DONE : REVOKE_PLANNED;
	}
	step_add(x->r, c, REVOKE_CLEANUP, res, msg.buf);
out:
	strbuf_release(&msg);
	strbuf_release(&err);
	strbuf_release(&kept);
}

int revoke_run(struct action_ctx *a, const struct revoke_options *o, struct revoke_report *r,
	       struct strbuf *err)
{
	struct run x;
	const struct user_key *k;
	const char *tag;
	int rc, stopped;

	memset(r, 0, sizeof(*r));
	memset(&x, 0, sizeof(x));
	x.a = a;
	x.o = o;
	x.r = r;
	r->user = xstrdup(o->user);
	r->key_id = xstrdup(o->key_id);
	r->started = aws_client_now(a->c);

	if (a->self.key_id && !strcmp(a->self.key_id, o->key_id)) {
		struct strbuf msg = STRBUF_INIT;
		strbuf_addf(&msg,
			    "%s is the key iamkeys runs with: revoke it from another "
			    "principal (--profile of another user or a role)",
			    o->key_id);
		step_add(r, a->c, REVOKE_DEACTIVATE, REVOKE_REFUSED, msg.buf);
		strbuf_release(&msg);
		r->finished = aws_client_now(a->c);
		return 0;
	}
	rc = user_state_read(a->c, o->user, USER_STATE_KEYS | USER_STATE_TAGS, &x.us, err);
	if (rc < 0) {
		if (!strcmp(aws_client_last_error_code(a->c), "NoSuchEntity")) {
			strbuf_reset(err);
			strbuf_addf(err, "there is no user %s", o->user);
		}
		goto fail;
	}
	if ((tag = user_state_tag(&x.us, REVOKE_TAG)) != NULL) {
		if (revoke_tag_parse(tag, &x.tag, err) < 0) {
			strbuf_addf(err, " (user %s): remove the tag to start anew", o->user);
			goto fail;
		}
		if (strcmp(x.tag.key_id, o->key_id))
			memset(&x.tag, 0, sizeof(x.tag)); /* another key's response: a new one */
	}
	k = user_state_find_key(&x.us, o->key_id);
	if (!k && !x.tag.key_id[0]) {
		strbuf_addf(err, "user %s has no access key %s", o->user, o->key_id);
		goto fail;
	}
	if (!x.tag.key_id[0]) {
		memcpy(x.tag.key_id, o->key_id, strlen(o->key_id) + 1);
		x.tag.started = r->started;
	}
	r->started = x.tag.started;

	stopped = step_deactivate(&x, k) < 0 || step_deny(&x) < 0;
	step_timeline(&x); /* a read: also when a step stopped the run */
	if (stopped)
		goto done;
	if (o->sink && step_replace(&x) < 0)
		goto done;
	if (o->do_delete)
		step_delete(&x, k);
	if (o->cleanup_after > 0)
		step_cleanup(&x);
done:
	r->finished = aws_client_now(a->c);
	user_state_release(&x.us);
	iam_name_page_release(&x.policies);
	return 0;
fail:
	user_state_release(&x.us);
	iam_name_page_release(&x.policies);
	revoke_report_release(r);
	return -1;
}
