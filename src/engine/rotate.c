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
 * the intent mark: once its lease has passed, a later run asks the sink which
 * key it holds and adopts that key, or deletes the key the sink proves it
 * does not hold (docs/safety.md). At no point is the old key touched before the new one has been
 * delivered and recorded, so a user always keeps a working key.
 */
#include "core/compat.h"
#include "engine/rotate.h"
#include "engine/userstate.h"
#include "engine/runid.h"
#include "engine/trace.h"
#include "aws/cloudtrail.h"
#include "aws/client.h"
#include "aws/iam.h"
#include "aws/msg.h"
#include "core/timeutil.h"
#include "sinks/sink.h"
#include <signal.h>

/* The live state of one user. */
struct live_key {
	char *id;
	int active;
	time_t created;
	time_t last_used;
	char *service, *region;
};

struct live_user {
	const char *name;
	const char *path;
	struct live_key *keys;
	size_t nkeys;
	struct iam_tag_page tags;
	char *rotation_tag; /* the logical value (rotation_tag_join), NULL when absent */
};

static void live_key_release(struct live_key *k)
{
	FREE_ALL(k->id, k->service, k->region);
}

static void live_release(struct live_user *u)
{
	FREE_ARRAY(u->keys, u->nkeys, live_key_release);
	u->keys = NULL;
	u->nkeys = 0;
	iam_tag_page_release(&u->tags);
	memset(&u->tags, 0, sizeof(u->tags));
	free(u->rotation_tag);
	u->rotation_tag = NULL;
}

/*
 * The live state comes from engine/userstate.c, the one reader of a user's
 * keys and tags: a date AWS sent that does not parse fails the read (the
 * user is skipped, nothing changed), never "never used".
 */
static int from_state(struct live_user *u, struct user_state *st, unsigned what)
{
	size_t i;
	if (what & USER_STATE_KEYS) {
		u->keys = xcalloc(st->nkeys + 1, sizeof(*u->keys));
		for (i = 0; i < st->nkeys; i++) {
			struct live_key *k = &u->keys[i];
			const struct user_key *sk = &st->keys[i];
			k->id = xstrdup(sk->id);
			k->active = sk->active;
			k->created = sk->created;
			k->last_used = sk->last_used;
			k->service = xstrdup_or_null(sk->service);
			k->region = xstrdup_or_null(sk->region);
		}
		u->nkeys = st->nkeys;
	}
	if (what & USER_STATE_TAGS) {
		/* the tags and the rotation tag move over: st no longer owns them */
		u->tags.tags = st->tags;
		u->tags.ntags = st->ntags;
		u->rotation_tag = st->rotation_value;
		st->tags = NULL;
		st->ntags = 0;
		st->rotation_value = NULL;
	}
	return 0;
}

static int read_state(struct aws_client *c, struct live_user *u, unsigned what, struct strbuf *err)
{
	struct user_state st = USER_STATE_INIT;
	int rc = user_state_read(c, u->name, what, &st, err);
	if (rc == 0)
		from_state(u, &st, what);
	user_state_release(&st);
	return rc < 0 ? -1 : 0;
}

/* ListAccessKeys (+ GetAccessKeyLastUsed for each key when with_use). */
static int read_keys(struct aws_client *c, struct live_user *u, int with_use, struct strbuf *err)
{
	return read_state(c, u, USER_STATE_KEYS | (with_use ? USER_STATE_LAST_USED : 0), err);
}

/* GetAccessKeyLastUsed of every key read so far. */
static int read_last_used(struct aws_client *c, struct live_user *u, struct strbuf *err)
{
	struct user_state st = USER_STATE_INIT;
	size_t i;
	int rc = 0;

	st.user = xstrdup(u->name);
	st.keys = xcalloc(u->nkeys + 1, sizeof(*st.keys));
	st.nkeys = u->nkeys;
	for (i = 0; i < u->nkeys; i++)
		st.keys[i].id = xstrdup(u->keys[i].id);
	for (i = 0; i < u->nkeys && !rc; i++) {
		struct live_key *k = &u->keys[i];
		rc = user_state_read_last_used(c, &st, i, err);
		if (rc)
			break;
		k->last_used = st.keys[i].last_used;
		free(k->service);
		free(k->region);
		k->service = xstrdup_or_null(st.keys[i].service);
		k->region = xstrdup_or_null(st.keys[i].region);
	}
	user_state_release(&st);
	return rc < 0 ? -1 : 0;
}

static int read_tags(struct aws_client *c, struct live_user *u, struct strbuf *err)
{
	iam_tag_page_release(&u->tags);
	memset(&u->tags, 0, sizeof(u->tags));
	free(u->rotation_tag);
	u->rotation_tag = NULL;
	return read_state(c, u, USER_STATE_TAGS, err);
}

/*
 * AWS's quarantine of the user (USER_STATE_POLICIES: ListAttachedUserPolicies):
 * 1 with the policy's name in name, 0 when none, -1 with err.
 */
static int read_quarantine(struct aws_client *c, const char *user, struct strbuf *name,
			   struct strbuf *err)
{
	struct user_state st = USER_STATE_INIT;
	int rc = user_state_read(c, user, USER_STATE_POLICIES, &st, err);

	if (rc == 0 && st.quarantine) {
		strbuf_addstr(name, st.quarantine);
		rc = 1;
	}
	user_state_release(&st);
	return rc < 0 ? -1 : rc;
}

static const struct live_key *live_find(const struct live_user *u, const char *id)
{
	size_t i;
	for (i = 0; i < u->nkeys; i++)
		if (!strcmp(u->keys[i].id, id))
			return &u->keys[i];
	return NULL;
}

/* The planner's view of a user's live state; the caller frees the returned keys. */
static struct rot_key *planner_view(const struct live_user *u, struct rot_user *pu)
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
	pu->name = u->name;
	pu->tag_value = u->rotation_tag;
	pu->keys = rk;
	pu->nkeys = u->nkeys;
	return rk;
}

static void keys_summary(struct strbuf *out, const struct live_user *u)
{
	size_t i;
	for (i = 0; i < u->nkeys; i++)
		strbuf_addf(out, "%s%s:%s", i ? "," : "", u->keys[i].id,
			    u->keys[i].active ? "Active" : "Inactive");
}

void rotate_describe_action(struct strbuf *out, const struct rot_action *a, const char *sink)
{
	static const char *const verb[] = {
		[ROT_DELETE_KEY] = "delete",
		[ROT_DEACTIVATE] = "deactivate",
		[ROT_REACTIVATE] = "reactivate",
	};

	switch (a->kind) {
	case ROT_DELETE_KEY:
	case ROT_DEACTIVATE:
	case ROT_REACTIVATE:
		strbuf_addf(out, "%s %s", verb[a->kind], a->key_id);
		break;
	case ROT_CREATE:
		strbuf_addf(out, "create a new key, verify it, deliver to %s",
			    sink ? sink : "(no sink)");
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
	case ROT_UNTAG:
		strbuf_addf(out, "remove tag %s", ROTATION_TAG);
		break;
	}
}

/* Writes the logical value as its pair of tags, in one TagUser call (an
 * empty ROTATION_NEW_TAG when there is no new key, so no stale one stays). */
static int set_tag(struct aws_client *c, const char *user, const char *value, struct strbuf *err)
{
	struct iam_tag t[2];
	char *main, *new_id;
	int rc;
	if (rotation_tag_split(value, &main, &new_id, err) < 0)
		return -1;
	t[0].key = (char *)ROTATION_TAG;
	t[0].value = main;
	t[1].key = (char *)ROTATION_NEW_TAG;
	t[1].value = new_id ? new_id : (char *)"";
	rc = iam_tag_user(c, user, t, 2, err);
	free(main);
	free(new_id);
	return rc;
}

static int drop_tag(struct aws_client *c, const char *user, struct strbuf *err)
{
	const char *keys[2] = { ROTATION_TAG, ROTATION_NEW_TAG };
	return iam_untag_user(c, user, keys, 2, err);
}

/* The live logical tag value (caller frees; NULL absent); -1 when unreadable. */
static int live_tag(struct aws_client *c, const char *user, char **out, struct strbuf *err)
{
	struct live_user lu;
	memset(&lu, 0, sizeof(lu));
	lu.name = user;
	*out = NULL;
	if (read_tags(c, &lu, err) < 0) {
		live_release(&lu);
		return -1;
	}
	*out = lu.rotation_tag;
	lu.rotation_tag = NULL;
	live_release(&lu);
	return 0;
}

/*
 * After a failed create/verify/deliver: delete the key this run created
 * (new_id, NULL when none is known), never another (it may be another
 * run's, just delivered), then drop the intent mark if it is still this
 * run's (intent_value). With keep_mark the mark stays: the key creation
 * failed because another key appeared (a concurrent run), or its outcome
 * is unknown, and recovery must look at the sink first. Best effort: what
 * fails here the next run's plan recovers.
 */
static void clean_up_after_intent(struct aws_client *c, const char *user, const char *new_id,
				  const char *intent_value, int keep_mark, struct strbuf *detail)
{
	struct strbuf e = STRBUF_INIT;
	char *now_tag = NULL;

	if (new_id) {
		if (iam_delete_access_key(c, user, new_id, &e) < 0)
			strbuf_addf(detail, "; could not delete %s (%s): the next run will", new_id,
				    e.buf);
		else
			strbuf_addf(detail, "; deleted the new key %s", new_id);
	}
	if (keep_mark)
		goto out;
	strbuf_reset(&e);
	if (live_tag(c, user, &now_tag, &e) < 0) {
		strbuf_addf(detail, "; could not read the intent mark (%s)", e.buf);
		goto out;
	}
	if (!now_tag || !intent_value || strcmp(now_tag, intent_value))
		goto out; /* another run's now: not ours to drop */
	strbuf_reset(&e);
	if (drop_tag(c, user, &e) < 0)
		strbuf_addf(detail, "; could not drop the intent mark (%s)", e.buf);
out:
	free(now_tag);
	strbuf_release(&e);
}

/* Sleeps ms, telling c's wait hook how long the wait has lasted every 500 ms. */
static void sleep_reporting(struct aws_client *c, const char *what, double t0, long ms)
{
	while (ms > 0) {
		long step = ms > 500 ? 500 : ms;
		aws_sleep_ms(step);
		ms -= step;
		aws_client_waiting(c, what, (long)(aws_monotonic_ms() - t0));
	}
}

static int verify_key(struct aws_client *c, const char *user, const struct aws_credentials *nc,
		      long timeout_ms, struct strbuf *label, struct strbuf *err)
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
			int ok = al > ul && id.arn[al - ul - 1] == '/' &&
				 !strcmp(id.arn + al - ul, user);
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
		if (!label->len)
			strbuf_addf(label, "verifying %s of %s", nc->access_key_id, user);
		aws_client_waiting(c, label->buf, (long)(aws_monotonic_ms() - t0));
		sleep_reporting(c, label->buf, t0, delay);
		delay = delay * 2 > 4000 ? 4000 : delay * 2;
	}
}

int rotate_verify_key(struct aws_client *c, const char *user, const struct aws_credentials *nc,
		      long timeout_ms, struct strbuf *err)
{
	struct strbuf label = STRBUF_INIT;
	int rc = verify_key(c, user, nc, timeout_ms, &label, err);

	if (label.len)
		aws_client_waiting(c, NULL, 0); /* the wait is over */
	strbuf_release(&label);
	return rc;
}

struct exec_ctx {
	struct aws_client *c;
	const struct rotate_options *o;
	const char *account;
	const char *caller_key; /* the key this process signs with */
	const char *caller_user;
	char run_id[ROTATION_RUN_ID_MAX + 1]; /* written in this run's intent marks */
	struct rotate_report *report;
	struct cloudtrail_pacer *pacers; /* the deactivate gate's, one per trace region */
	struct gate_regions *gate;	 /* the gate's regions (o's, or read once) */
	struct sts_caller_identity id;	 /* who runs this (account, caller_user) */
	struct aws_credentials mine;	 /* the credentials it signs with (caller_key) */
};

/* The trace gate's regions: o->trace_regions, or with o->trace_all_regions
 * every enabled region, read once when the first old key is checked. */
struct gate_regions {
	int read; /* tried (regions, or err) */
	char **owned;
	const char **view;
	size_t n;
	struct cloudtrail_pacer *pacers;
	struct strbuf err;
};

static int gate_on(const struct exec_ctx *x)
{
	return x->o->ntrace_regions > 0 || x->o->trace_all_regions;
}

/* The regions the gate asks (*regions, *n, pacers in x): 0, or -1 with err
 * (the enabled regions cannot be read: the gate fails closed). */
static int gate_regions_get(const struct exec_ctx *x, const char *const **regions, size_t *n,
			    struct strbuf *err)
{
	struct gate_regions *g = x->gate;
	struct strbuf note = STRBUF_INIT;

	if (!x->o->trace_all_regions) {
		*regions = x->o->trace_regions;
		*n = x->o->ntrace_regions;
		return 0;
	}
	if (!g->read) {
		g->read = 1;
		if (trace_enabled_regions(x->c, &g->owned, &g->view, &g->n, &note, &g->err) < 0) {
			g->owned = NULL;
			g->n = 0;
		} else {
			if (note.len)
				warning("%s", note.buf);
			g->pacers = xcalloc(g->n + 1, sizeof(*g->pacers));
		}
		strbuf_release(&note);
	}
	if (!g->owned) {
		strbuf_addf(err, "cannot read the enabled regions: %s", g->err.buf);
		return -1;
	}
	*regions = g->view;
	*n = g->n;
	return 0;
}

/* The context every sink of user is made with (check_sinks, do_create). */
static void sink_ctx_for(const struct exec_ctx *x, const char *user, struct sink_context *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->user = user;
	sc->account = x->account;
	sc->client = x->c; /* also: the profile sink refuses the profile x->c runs with */
	sc->overwrite = 1; /* the sink holds the user's current key: replacing it is the point */
	sc->follow_symlinks = x->o->follow_symlinks;
}

static int has_create(const struct rotate_user *ru)
{
	size_t i;
	for (i = 0; i < ru->nsteps; i++)
		if (ru->steps[i].a.kind == ROT_CREATE)
			return 1;
	return 0;
}

/* Marks every step of ru skipped. */
static void skip_steps(struct rotate_user *ru)
{
	size_t i;

	for (i = 0; i < ru->nsteps; i++)
		ru->steps[i].state = STEP_SKIPPED;
}

/* A user this run may not act on (why): blocked, every step skipped. */
static void block_user(struct rotate_user *ru, const char *why)
{
	ru->outcome = ROT_BLOCKED;
	strbuf_reset(&ru->reason);
	strbuf_addstr(&ru->reason, why);
	skip_steps(ru);
}

#define SHARED_NAMES_SHOWN 10

/*
 * Before any change of the run: every user's sink is made (a spec that
 * cannot be is refused); a target that several users' sinks write is
 * refused for each of them that is due (each delivery would overwrite the
 * others': only the last secret would survive); then each due user's sink
 * is preflighted, so that a delivery bound to fail (a missing directory,
 * an unparsable credentials file, a missing command or secret, the
 * profile this command runs with, a device) stops before TagUser and
 * CreateAccessKey. A sink that could not be checked (no permission to
 * read it back) is noted in the reason; delivery may still work.
 */
static void check_sinks(const struct exec_ctx *x, struct rotate_report *r)
{
	struct sink **sinks = xcalloc(r->n + 1, sizeof(*sinks));
	size_t *group = xcalloc(r->n + 1, sizeof(*group));
	size_t *count = xcalloc(r->n + 1, sizeof(*count));
	struct strbuf e = STRBUF_INIT, names = STRBUF_INIT;
	size_t i, j;

	for (i = 0; i < r->n; i++) {
		struct rotate_user *ru = &r->users[i];
		struct sink_context sc;
		if (!ru->sink || ru->exempt)
			continue;
		sink_ctx_for(x, ru->user, &sc);
		strbuf_reset(&e);
		sinks[i] = sink_new(ru->sink, &sc, &e);
		if (!sinks[i] && ru->outcome == ROT_ACT && has_create(ru))
			block_user(ru, e.buf);
	}
	sink_group_shared(sinks, r->n, group);
	for (i = 0; i < r->n; i++)
		count[group[i]]++;
	for (i = 0; i < r->n; i++) {
		struct rotate_user *ru = &r->users[i];
		size_t shown = 0;
		if (!sinks[i] || count[group[i]] < 2 || ru->outcome != ROT_ACT || !has_create(ru))
			continue;
		strbuf_reset(&names);
		strbuf_addf(&names, "sink %s is shared by ", ru->sink);
		for (j = 0; j < r->n; j++) {
			if (group[j] != group[i])
				continue;
			if (shown++ == SHARED_NAMES_SHOWN) {
				strbuf_addf(&names, " and %zu more",
					    count[group[i]] - SHARED_NAMES_SHOWN);
				break;
			}
			strbuf_addf(&names, "%s%s", shown > 1 ? ", " : "", r->users[j].user);
		}
		strbuf_addstr(&names, ": each user needs a target of its own (use {user})");
		block_user(ru, names.buf);
	}
	for (i = 0; i < r->n; i++) {
		struct rotate_user *ru = &r->users[i];
		char *held = NULL;
		int pf;
		if (!sinks[i] || ru->outcome != ROT_ACT || !has_create(ru))
			continue;
		strbuf_reset(&e);
		pf = sink_preflight(sinks[i], &held, &e);
		if (pf > 0)
			block_user(ru, e.buf);
		else if (pf < 0)
			strbuf_addf(&ru->reason, " (could not check the sink: %s)", e.buf);
		free(held);
	}
	for (i = 0; i < r->n; i++)
		sink_free(sinks[i]);
	free(sinks);
	free(group);
	free(count);
	strbuf_release(&e);
	strbuf_release(&names);
}

static int do_create(const struct exec_ctx *x, struct live_user *u,
		     const struct rotation_tag *intent, const char *intent_value, double intent_ms,
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

	sink_ctx_for(x, u->name, &sc);
	sink = sink_new(sink_spec, &sc, &e);
	if (!sink) {
		strbuf_addf(&st->detail, "%s", e.buf);
		clean_up_after_intent(c, u->name, NULL, intent_value, 0, &st->detail);
		goto out;
	}
	if (iam_create_access_key(c, u->name, &nk, &e) < 0) {
		strbuf_addf(&st->detail, "%s", e.buf);
		clean_up_after_intent(c, u->name, NULL, intent_value,
				      !strcmp(aws_client_last_error_code(c), "LimitExceeded") ||
					      !strcmp(aws_client_last_error_code(c),
						      AWS_OUTCOME_UNKNOWN),
				      &st->detail);
		goto out;
	}
	creds.access_key_id = xstrdup(nk.access_key_id);
	creds.secret_access_key = xstrdup(nk.secret_access_key);
	strbuf_reset(&e);
	if (rotate_verify_key(c, u->name, &creds, x->o->verify_timeout_ms, &e) < 0) {
		strbuf_addf(&st->detail, "created %s but %s (not delivered)", nk.access_key_id,
			    e.buf);
		clean_up_after_intent(c, u->name, nk.access_key_id, intent_value, 0, &st->detail);
		goto out;
	}
	if (aws_monotonic_ms() - intent_ms > ROTATION_DELIVER_BY * 1000.0) {
		strbuf_addf(&st->detail,
			    "created %s but more than %ds passed since the intent mark: "
			    "not delivered",
			    nk.access_key_id, ROTATION_DELIVER_BY);
		clean_up_after_intent(c, u->name, nk.access_key_id, intent_value, 0, &st->detail);
		goto out;
	}
	ns.access_key_id = nk.access_key_id;
	ns.secret_access_key = nk.secret_access_key;
	ns.user_name = u->name;
	ns.create_date = nk.create_date;
	ns.account_id = x->account;
	strbuf_reset(&e);
	if (sink_deliver(sink, &ns, &e) < 0) {
		strbuf_addf(&st->detail, "created %s but delivery failed: %s", nk.access_key_id,
			    e.buf);
		clean_up_after_intent(c, u->name, nk.access_key_id, intent_value, 0, &st->detail);
		goto out;
	}
	aws_test_crash_at("after-deliver");
	delivered = *intent;
	delivered.stage = STAGE_DELIVERED;
	if (strlen(nk.access_key_id) >= sizeof(delivered.new_key)) {
		strbuf_addf(&st->detail, "delivered %s to %s but its id is too long to record",
			    nk.access_key_id, sink->target);
		goto out;
	}
	memcpy(delivered.new_key, nk.access_key_id, strlen(nk.access_key_id) + 1);
	delivered.t = aws_client_now(c); /* AWS's time, like the CreateDate it is compared with */
	rotation_tag_format(&tagv, &delivered);
	strbuf_reset(&e);
	if (set_tag(c, u->name, tagv.buf, &e) < 0) {
		/* delivered but not recorded: the next run sees intent and starts again */
		strbuf_addf(&st->detail,
			    "delivered %s to %s but could not record it (%s); the next "
			    "run replaces it",
			    nk.access_key_id, sink->target, e.buf);
		goto out;
	}
	/* the step says "create a new key, verify it, deliver to <sink>" already */
	strbuf_addf(&st->detail, "created %s", nk.access_key_id);
	rc = 0;
out:
	aws_credentials_release(&creds);
	iam_access_key_release(&nk);
	sink_free(sink);
	strbuf_release(&e);
	strbuf_release(&tagv);
	return rc;
}

/*
 * CloudTrail's events signed with key_id since `since`: 0 (tr filled; kept
 * in ru when there are events), or -1 with err (tr->denied: LookupEvents
 * is denied, and the report says so).
 */
static int ask_cloudtrail(const struct exec_ctx *x, struct rotate_user *ru, const char *key_id,
			  time_t since, struct trace_result *tr, struct strbuf *err)
{
	struct trace_options to;

	memset(&to, 0, sizeof(to));
	to.key_id = key_id;
	to.start = since;
	to.end = x->o->now > since ? x->o->now : since + 1;
	memset(tr, 0, sizeof(*tr));
	if (gate_regions_get(x, &to.regions, &to.nregions, err) < 0)
		return -1;
	to.pacers = x->o->trace_all_regions ? x->gate->pacers : x->pacers;
	if (trace_key(x->c, &to, tr, err) < 0) {
		if (tr->denied)
			x->report->trace_gate_denied = 1;
		return -1;
	}
	if (tr->events && ru && !ru->callers) {
		ru->callers = xmalloc(sizeof(*ru->callers));
		*ru->callers = *tr;
		memset(tr, 0, sizeof(*tr));
	}
	return 0;
}

/*
 * The deactivate gate's CloudTrail witness: 0 when no event signed with
 * key_id since `since` is in LookupEvents (or LookupEvents is denied: the
 * report says so, GetAccessKeyLastUsed alone decides); -1 with why when
 * one is (naming the callers), or when CloudTrail cannot be read (fail
 * closed).
 */
static int trace_gate(const struct exec_ctx *x, struct rotate_user *ru, const char *key_id,
		      time_t since, struct strbuf *why)
{
	struct trace_result tr;
	struct strbuf err = STRBUF_INIT;
	int rc = 0;

	if (!gate_on(x))
		return 0;
	if (ask_cloudtrail(x, ru, key_id, since, &tr, &err) < 0) {
		/* denied: GetAccessKeyLastUsed alone decides, unless a region that
		 * did answer saw the key; any other failure keeps it blocked */
		if (!tr.denied || tr.events) {
			strbuf_addf(why, "cannot ask CloudTrail whether key %s is still used: %s",
				    key_id, err.buf);
			rc = -1;
		}
	} else if (ru && ru->callers) {
		strbuf_addf(
			why,
			"old key %s is still in use since delivery per CloudTrail (%lu event%s): ",
			key_id, ru->callers->events, ru->callers->events == 1 ? "" : "s");
		trace_callers_describe(why, ru->callers, ROTATE_CALLERS);
		rc = -1;
	}
	trace_result_release(&tr);
	strbuf_release(&err);
	return rc;
}

/*
 * Stage 2 found the old key in use (GetAccessKeyLastUsed): with the trace
 * gate on, the blocked line also says who calls with it, per CloudTrail.
 */
static void blocked_callers(const struct exec_ctx *x, struct rotate_user *ru,
			    const struct rot_plan *plan)
{
	struct trace_result tr;
	struct strbuf err = STRBUF_INIT;

	if (!gate_on(x) || ru->outcome != ROT_BLOCKED || ru->nsteps ||
	    plan->stage != STAGE_DELIVERED || !plan->tag.old_key[0])
		return;
	if (ask_cloudtrail(x, ru, plan->tag.old_key, plan->tag.t, &tr, &err) < 0) {
		if (!tr.denied)
			strbuf_addf(&ru->reason, "; CloudTrail cannot say who: %s", err.buf);
	} else if (ru->callers) {
		strbuf_addf(&ru->reason,
			    "; callers per CloudTrail (%lu event%s): ", ru->callers->events,
			    ru->callers->events == 1 ? "" : "s");
		trace_callers_describe(&ru->reason, ru->callers, ROTATE_CALLERS);
	} else {
		strbuf_addstr(&ru->reason, "; CloudTrail has no event of it yet");
	}
	trace_result_release(&tr);
	strbuf_release(&err);
}

/* Live checks before a key action; 0 to go on, 1 to skip (already done), -1 refused. */
static int check_key(const struct exec_ctx *x, struct rotate_user *ru, struct live_user *u,
		     const struct rot_action *a, struct strbuf *why)
{
	const struct live_key *k = live_find(u, a->key_id);
	time_t now = x->o->now;

	if (x->caller_key && !strcmp(a->key_id, x->caller_key) &&
	    (a->kind == ROT_DELETE_KEY || a->kind == ROT_DEACTIVATE)) {
		strbuf_addf(why, "%s is the key this command runs with (use rotate --self)",
			    a->key_id);
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
			    k->active ? "Active" : "Inactive",
			    a->expect_active ? "Active" : "Inactive");
		return -1;
	}
	if (a->not_used_since && k->last_used && k->last_used >= a->not_used_since) {
		strbuf_addf(why, "key %s was used since the rotation moved on (", a->key_id);
		iso8601_format(why, k->last_used);
		strbuf_addf(why, ", %s, %s)", k->service ? k->service : "-",
			    k->region ? k->region : "-");
		return -1;
	}
	if (a->in_use_guard && k->last_used &&
	    (long long)now - (long long)k->last_used < x->o->policy.in_use_window) {
		strbuf_addf(why, "key %s was used within the last %lld hours", a->key_id,
			    x->o->policy.in_use_window / 3600);
		return -1;
	}
	/* the CloudTrail witness, unless this run's plan of the user asked it */
	if (a->kind == ROT_DEACTIVATE && a->not_used_since && !ru->traced &&
	    trace_gate(x, ru, a->key_id, a->not_used_since, why) < 0)
		return -1;
	return 0;
}

/*
 * The deactivate gate's CloudTrail witness, asked when the user is planned,
 * so that a dry run says what --apply will do and an old key still in use
 * is a blocked user, not a refused step: a deactivation whose old key
 * CloudTrail saw in use since delivery, or that CloudTrail cannot be asked
 * about, blocks the user. 1 when it does, 0 to go on.
 */
static int trace_blocks(const struct exec_ctx *x, struct rotate_user *ru)
{
	struct strbuf why = STRBUF_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < ru->nsteps; i++) {
		const struct rot_action *a = &ru->steps[i].a;

		if (a->kind != ROT_DEACTIVATE || !a->not_used_since)
			continue;
		if (trace_gate(x, ru, a->key_id, a->not_used_since, &why) < 0) {
			block_user(ru, why.buf);
			ru->failed = !ru->callers; /* CloudTrail could not be asked */
			rc = 1;
		}
		ru->traced = 1;
		break;
	}
	strbuf_release(&why);
	return rc;
}

/*
 * 0 when the user's sink proves it does not hold key_id (it holds another
 * key, or nothing); -1 with why otherwise: no sink given, a sink that cannot
 * say what it holds (exec:, -), one that cannot be read, or one holding it.
 */
static int sink_not_holding(const struct exec_ctx *x, const char *user, const char *spec,
			    const char *key_id, struct strbuf *why)
{
	struct sink_context sc;
	struct sink *k = NULL;
	struct strbuf e = STRBUF_INIT;
	char *held = NULL;
	int pf, rc = -1;

	if (!spec) {
		strbuf_addf(why,
			    "no sink given: iamkeys cannot check that the user's sink does not "
			    "hold %s; give the rotation's --to or --config (or --force)",
			    key_id);
		return -1;
	}
	memset(&sc, 0, sizeof(sc));
	sc.user = user;
	sc.account = x->account;
	sc.client = x->c;
	sc.overwrite = 1;
	k = sink_new(spec, &sc, &e);
	if (!k) {
		strbuf_addbuf(why, &e);
		goto out;
	}
	if (!strcmp(k->vt->scheme, "exec") || !strcmp(k->vt->scheme, "-")) {
		strbuf_addf(why,
			    "%s cannot say which key it holds: it may hold %s, which would then "
			    "be a deleted key (--force aborts anyway)",
			    k->target, key_id);
		goto out;
	}
	pf = sink_preflight(k, &held, &e);
	if (held && !strcmp(held, key_id))
		strbuf_addf(why,
			    "%s holds %s: after the abort it would hold a deleted key, and the "
			    "old key's secret cannot be put back (AWS shows a secret once); put "
			    "the old key's secret into %s yourself and abort again, or use --force",
			    k->target, key_id, k->target);
	else if (pf < 0)
		strbuf_addf(why, "cannot tell whether %s holds %s (%s); --force aborts anyway",
			    k->target, key_id, e.buf);
	else
		rc = 0;
out:
	free(held);
	sink_free(k);
	strbuf_release(&e);
	return rc;
}

static int stop_requested(const struct rotate_options *o)
{
	return o->stop && o->stop(o->stop_arg);
}

/* What apply_user carries from one step to the next. */
struct apply_state {
	/* what we expect the tag to be before the next tag change */
	char *expect_tag;
	struct rotation_tag intent; /* the last tag this run wrote */
	double intent_ms;	    /* when it wrote its intent mark (0: not yet) */
};

/*
 * The run is to stop before step i: marks it and every later step skipped
 * (and drops this run's intent mark when step i was to create the key).
 */
static void stop_steps(const struct exec_ctx *x, struct live_user *u, struct rotate_user *ru,
		       size_t i, const struct apply_state *as)
{
	/* between steps: every step so far is complete, the next is not begun.
	 * This run's intent mark without its key means nothing: drop it (if it
	 * is still ours), or later runs would wait out its lease. */
	if (as->intent_ms > 0 && ru->steps[i].a.kind == ROT_CREATE)
		clean_up_after_intent(x->c, u->name, NULL, as->expect_tag, 0, &ru->steps[i].detail);
	for (; i < ru->nsteps; i++) {
		ru->steps[i].state = STEP_SKIPPED;
		strbuf_addstr(&ru->steps[i].detail, "not started: the run was stopped");
	}
	ru->stopped = 1;
}

/*
 * Reads the user's keys and tag again before step st: 0 when the tag is
 * still expect_tag, -1 with st failed (unreadable) or refused (changed).
 */
static int recheck_live(struct aws_client *c, struct live_user *u, struct rotate_step *st,
			const char *expect_tag, struct strbuf *e)
{
	const struct rot_action *a = &st->a;

	/* verify live state before every change */
	live_release(u);
	if (read_keys(c, u, a->kind == ROT_DELETE_KEY || a->kind == ROT_DEACTIVATE, e) < 0 ||
	    read_tags(c, u, e) < 0) {
		strbuf_addf(&st->detail, "cannot read live state: %s", e->buf);
		st->state = STEP_FAILED;
		return -1;
	}
	if ((u->rotation_tag == NULL) != (expect_tag == NULL) ||
	    (expect_tag && strcmp(u->rotation_tag, expect_tag))) {
		strbuf_addf(&st->detail, "tag %s changed since the plan (now '%s')", ROTATION_TAG,
			    u->rotation_tag ? u->rotation_tag : "absent");
		st->state = STEP_REFUSED;
		return -1;
	}
	return 0;
}

/*
 * A DeleteKey, Deactivate or Reactivate step: 0 done, 1 skipped (already
 * done), -1 with st refused or failed.
 */
static int apply_key_step(const struct exec_ctx *x, struct live_user *u, struct rotate_user *ru,
			  struct rotate_step *st, struct strbuf *e)
{
	struct aws_client *c = x->c;
	struct rot_action *a = &st->a;
	int rc;

	rc = check_key(x, ru, u, a, &st->detail);
	if (rc < 0) {
		st->state = STEP_REFUSED;
		return -1;
	}
	if (rc > 0) {
		st->state = STEP_SKIPPED;
		return 1;
	}
	if (a->sink_guard && sink_not_holding(x, u->name, ru->sink, a->key_id, &st->detail) < 0) {
		st->state = STEP_REFUSED;
		return -1;
	}
	if (a->kind == ROT_DELETE_KEY)
		rc = iam_delete_access_key(c, u->name, a->key_id, e);
	else
		rc = iam_update_access_key(c, u->name, a->key_id,
					   a->kind == ROT_REACTIVATE ? "Active" : "Inactive", e);
	if (rc < 0) {
		strbuf_addbuf(&st->detail, e);
		st->state = STEP_FAILED;
		return -1;
	}
	strbuf_addstr(&st->detail, a->kind == ROT_DELETE_KEY   ? "deleted"
				   : a->kind == ROT_DEACTIVATE ? "deactivated"
							       : "reactivated");
	return 0;
}

/*
 * A Tag step (an intent mark gets this run's id and time, and is read back):
 * 0 tagged (as records it), -1 with st refused or failed.
 */
static int apply_tag_step(const struct exec_ctx *x, struct live_user *u, struct rotate_step *st,
			  struct apply_state *as, struct strbuf *e)
{
	struct aws_client *c = x->c;
	struct rot_action *a = &st->a;
	struct strbuf perr = STRBUF_INIT;
	struct rotation_tag t;
	char *mine = NULL;

	if (rotation_tag_parse(a->tag_value.buf, &t, &perr) < 0) {
		strbuf_addf(&st->detail, "bad tag value: %s", perr.buf);
		st->state = STEP_REFUSED;
		strbuf_release(&perr);
		return -1;
	}
	if (t.stage == STAGE_INTENT) {
		/* this run's mark: its run id, the time it is written */
		memcpy(t.run, x->run_id, sizeof(t.run));
		t.t = aws_client_now(c);
		strbuf_reset(&a->tag_value);
		rotation_tag_format(&a->tag_value, &t);
		as->intent_ms = aws_monotonic_ms();
	}
	if (set_tag(c, u->name, a->tag_value.buf, e) < 0) {
		strbuf_addbuf(&st->detail, e);
		st->state = STEP_FAILED;
		strbuf_release(&perr);
		return -1;
	}
	free(as->expect_tag);
	as->expect_tag = xstrdup(a->tag_value.buf);
	as->intent = t;
	strbuf_release(&perr);
	if (t.stage == STAGE_INTENT) {
		/* two runs may tag at once: the last writer goes on, alone */
		strbuf_reset(e);
		if (live_tag(c, u->name, &mine, e) < 0) {
			strbuf_addf(&st->detail, "tagged, but cannot read it back: %s", e->buf);
			st->state = STEP_FAILED;
			return -1;
		}
		if (!mine || strcmp(mine, as->expect_tag)) {
			strbuf_addf(&st->detail,
				    "another run took over the rotation (tag now '%s')",
				    mine ? mine : "absent");
			st->state = STEP_REFUSED;
			free(mine);
			return -1;
		}
		free(mine);
	}
	strbuf_addstr(&st->detail, "tagged");
	return 0;
}

/* An Untag step: 0 untagged, -1 with st failed. */
static int apply_untag_step(const struct exec_ctx *x, struct live_user *u, struct rotate_step *st,
			    struct apply_state *as, struct strbuf *e)
{
	if (drop_tag(x->c, u->name, e) < 0) {
		strbuf_addbuf(&st->detail, e);
		st->state = STEP_FAILED;
		return -1;
	}
	free(as->expect_tag);
	as->expect_tag = NULL;
	strbuf_addstr(&st->detail, "untagged");
	return 0;
}

/*
 * A Create step, after this run's intent mark (do_create): 0 created and
 * delivered, -1 with st refused or failed.
 */
static int apply_create_step(const struct exec_ctx *x, struct live_user *u, struct rotate_user *ru,
			     struct rotate_step *st, struct apply_state *as)
{
	size_t n = 0, j;

	if (as->intent.stage != STAGE_INTENT) {
		strbuf_addstr(&st->detail, "no intent mark recorded before creating");
		st->state = STEP_REFUSED;
		return -1;
	}
	for (j = 0; j < u->nkeys; j++)
		n++;
	if (n >= 2) {
		strbuf_addstr(&st->detail, "the user has two keys already: ");
		keys_summary(&st->detail, u);
		st->state = STEP_REFUSED;
		return -1;
	}
	if (!ru->sink) {
		strbuf_addstr(&st->detail, "no sink: give --to or 'to' in --config");
		st->state = STEP_REFUSED;
		clean_up_after_intent(x->c, u->name, NULL, as->expect_tag, 0, &st->detail);
		return -1;
	}
	if (do_create(x, u, &as->intent, as->expect_tag, as->intent_ms, ru->sink, st) < 0) {
		st->state = STEP_FAILED;
		return -1;
	}
	free(as->expect_tag);
	as->expect_tag = NULL; /* do_create wrote "delivered"; nothing may follow */
	return 0;
}

/* Carries out step st (live state checked): 0 done, 1 skipped, -1 refused or failed. */
static int apply_step(const struct exec_ctx *x, struct live_user *u, struct rotate_user *ru,
		      struct rotate_step *st, struct apply_state *as, struct strbuf *e)
{
	switch (st->a.kind) {
	case ROT_DELETE_KEY:
	case ROT_DEACTIVATE:
	case ROT_REACTIVATE:
		return apply_key_step(x, u, ru, st, e);
	case ROT_TAG:
		return apply_tag_step(x, u, st, as, e);
	case ROT_UNTAG:
		return apply_untag_step(x, u, st, as, e);
	case ROT_CREATE:
		return apply_create_step(x, u, ru, st, as);
	}
	return 0;
}

/* Carries out the steps of one user in order; stops at the first failure. */
static void apply_user(const struct exec_ctx *x, struct live_user *u, struct rotate_user *ru)
{
	struct strbuf e = STRBUF_INIT;
	struct apply_state as;
	size_t i;

	memset(&as, 0, sizeof(as));
	as.expect_tag = xstrdup_or_null(u->rotation_tag);
	for (i = 0; i < ru->nsteps; i++) {
		struct rotate_step *st = &ru->steps[i];
		int rc;

		if (stop_requested(x->o)) {
			stop_steps(x, u, ru, i, &as);
			break;
		}
		strbuf_reset(&e);
		if (recheck_live(x->c, u, st, as.expect_tag, &e) < 0)
			break;
		rc = apply_step(x, u, ru, st, &as, &e);
		if (rc < 0)
			break;
		if (rc > 0)
			continue;
		st->state = STEP_DONE;
	}
	for (i = 0; i < ru->nsteps; i++)
		if (ru->steps[i].state == STEP_FAILED || ru->steps[i].state == STEP_REFUSED)
			ru->failed = 1;
	free(as.expect_tag);
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

static void release_steps(struct rotate_user *ru)
{
	size_t i;
	for (i = 0; i < ru->nsteps; i++) {
		strbuf_release(&ru->steps[i].a.tag_value);
		strbuf_release(&ru->steps[i].a.reason);
		strbuf_release(&ru->steps[i].detail);
	}
	ru->nsteps = 0;
}

static void rotate_user_release(struct rotate_user *ru)
{
	release_steps(ru);
	FREE_ALL(ru->steps, ru->user, ru->sink, ru->tag, ru->keys);
	strbuf_release(&ru->reason);
	trace_result_free(ru->callers);
}

void rotate_report_release(struct rotate_report *r)
{
	FREE_ARRAY(r->users, r->n, rotate_user_release);
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

static const char *const state_names[] = {
	[STEP_PLANNED] = "planned", [STEP_DONE] = "done",	[STEP_FAILED] = "failed",
	[STEP_REFUSED] = "refused", [STEP_SKIPPED] = "skipped",
};
static const char *const outcome_names[] = {
	[ROT_NOTHING] = "nothing",
	[ROT_ACT] = "act",
	[ROT_BLOCKED] = "blocked",
};

const char *rotate_gate_name(const struct rotate_report *r)
{
	return r->trace_gate && !r->trace_gate_denied ? "last-used+cloudtrail" : "last-used";
}

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
		json_object_set_new(u, "Outcome",
				    json_string(ru->failed ? "failed"
							   : outcome_names[ru->outcome]));
		json_object_set_new(u, "Reason", json_string(ru->reason.buf));
		json_object_set_new(u, "Exempt", json_boolean(ru->exempt));
		json_object_set_new(u, "Sink", ru->sink ? json_string(ru->sink) : json_null());
		json_object_set_new(u, "Tag", ru->tag ? json_string(ru->tag) : json_null());
		json_object_set_new(u, "Keys", json_string(ru->keys ? ru->keys : ""));
		for (j = 0; j < ru->nsteps; j++) {
			const struct rotate_step *st = &ru->steps[j];
			json_t *a = json_object();
			json_object_set_new(a, "Action",
					    json_string(rot_action_kind_name(st->a.kind)));
			json_object_set_new(a, "AccessKeyId",
					    st->a.key_id[0] ? json_string(st->a.key_id)
							    : json_null());
			json_object_set_new(a, "TagValue",
					    st->a.tag_value.len ? json_string(st->a.tag_value.buf)
								: json_null());
			json_object_set_new(a, "ExpectActive", json_integer(st->a.expect_active));
			json_object_set_new(a, "InUseGuard", json_boolean(st->a.in_use_guard));
			json_object_set_new(a, "NotUsedSince",
					    json_integer((json_int_t)st->a.not_used_since));
			json_object_set_new(a, "Reason", json_string(st->a.reason.buf));
			json_object_set_new(a, "Result", json_string(state_names[st->state]));
			json_object_set_new(a, "Detail", json_string(st->detail.buf));
			json_array_append_new(acts, a);
		}
		json_object_set_new(u, "Actions", acts);
		if (ru->callers)
			json_object_set_new(u, "Callers",
					    trace_callers_json(ru->callers, ROTATE_CALLERS));
		json_array_append_new(users, u);
	}
	json_object_set_new(doc, "Users", users);
	strbuf_release(&sb);
	return doc;
}

/*
 * A user's settings: command line, then [user], [tag], [account], [default],
 * built-in; and the expanded sink (NULL without one). 0, or -1 with err.
 */
static int user_settings(const struct rotate_options *o, const char *account,
			 const struct live_user *u, const char **tk, const char **tv,
			 struct rotconf_settings *s, struct rot_policy *pol, char **sink,
			 struct strbuf *err)
{
	*s = o->cli;
	*pol = o->policy;
	if (o->conf)
		rotconf_resolve(o->conf, account, u->name, tk, tv, u->tags.ntags, s);
	if (s->rotate_after >= 0)
		pol->rotate_after = s->rotate_after;
	if (s->deactivate_after >= 0)
		pol->deactivate_after = s->deactivate_after;
	if (s->delete_after >= 0)
		pol->delete_after = s->delete_after;
	if (s->max_grace >= 0)
		pol->max_grace = s->max_grace;
	if (s->to) {
		struct strbuf sb = STRBUF_INIT, e = STRBUF_INIT;
		if (sink_expand_template(&sb, s->to, u->name, account, &e) < 0) {
			strbuf_addf(err, "bad sink '%s': %s", s->to, e.buf);
			strbuf_release(&sb);
			strbuf_release(&e);
			return -1;
		}
		strbuf_release(&e);
		*sink = strbuf_detach(&sb, NULL);
	}
	return 0;
}

/* One step as compared with a saved plan: "DeleteKey AKIA...", "Tag stage=intent old=AKIA...". */
static void step_signature(struct strbuf *out, enum rot_action_kind kind, const char *key_id,
			   const char *tag_value, const char *sink)
{
	struct rotation_tag t;
	struct strbuf e = STRBUF_INIT;

	strbuf_addstr(out, rot_action_kind_name(kind));
	if (key_id && *key_id)
		strbuf_addf(out, " %s", key_id);
	if (kind == ROT_TAG && tag_value) {
		/* what the tag records, not when: a fresh plan stamps its own time */
		if (!rotation_tag_parse(tag_value, &t, &e)) {
			strbuf_addf(out, " stage=%s old=%s", rotation_stage_name(t.stage),
				    t.old_key);
			if (t.new_key[0])
				strbuf_addf(out, " new=%s", t.new_key);
		} else {
			strbuf_addf(out, " '%s'", tag_value);
		}
	}
	if (kind == ROT_CREATE)
		strbuf_addf(out, " to %s", sink ? sink : "(no sink)");
	strbuf_release(&e);
}

/*
 * --plan FILE: 1 (and why) when the user's saved row may not be carried out:
 * the live keys or tag are not what the plan saw, or the steps the plan
 * would carry out (none unless its Outcome is "act") are not exactly the
 * fresh plan's (actions, key ids, what a tag records, the sink of a new key).
 * When neither would do anything, 0: the fresh outcome stands.
 */
static int plan_refuses(const struct rotate_user *ru, json_t *planned, struct strbuf *why)
{
	const char *ptag = json_string_value(json_object_get(planned, "Tag"));
	const char *pkeys = json_string_value(json_object_get(planned, "Keys"));
	const char *psink = json_string_value(json_object_get(planned, "Sink"));
	const char *pout = json_string_value(json_object_get(planned, "Outcome"));
	struct strbuf saved = STRBUF_INIT, fresh = STRBUF_INIT;
	int saved_acts = pout && !strcmp(pout, "act"), fresh_acts = ru->outcome == ROT_ACT;
	json_t *a;
	size_t i;
	int refused = 1;

	if ((!ptag) != (!ru->tag) || (ptag && strcmp(ptag, ru->tag)) || !pkeys ||
	    strcmp(pkeys, ru->keys ? ru->keys : "")) {
		strbuf_addf(why,
			    "live state changed since the plan (it saw keys %s, tag %s; now keys "
			    "%s, tag %s): refused",
			    pkeys ? pkeys : "?", ptag ? ptag : "absent", ru->keys ? ru->keys : "",
			    ru->tag ? ru->tag : "absent");
		return 1;
	}
	if (!saved_acts && !fresh_acts)
		return 0;
	if (saved_acts) {
		json_array_foreach(json_object_get(planned, "Actions"), i, a)
		{
			enum rot_action_kind kind;
			if (rot_action_kind_parse(json_string_value(json_object_get(a, "Action")),
						  &kind) < 0)
				continue; /* plan_file_check refused it already */
			if (i)
				strbuf_addstr(&saved, ", ");
			step_signature(&saved, kind,
				       json_string_value(json_object_get(a, "AccessKeyId")),
				       json_string_value(json_object_get(a, "TagValue")), psink);
		}
	} else {
		strbuf_addstr(&saved, !strcmp(pout, "nothing") ? "nothing to do" : "blocked");
	}
	if (fresh_acts) {
		for (i = 0; i < ru->nsteps; i++) {
			if (i)
				strbuf_addstr(&fresh, ", ");
			step_signature(&fresh, ru->steps[i].a.kind, ru->steps[i].a.key_id,
				       ru->steps[i].a.tag_value.buf, ru->sink);
		}
	} else {
		strbuf_addf(&fresh, "%s (%s)",
			    ru->outcome == ROT_BLOCKED ? "blocked" : "nothing to do",
			    ru->reason.buf);
	}
	if (saved_acts && fresh_acts && !strcmp(saved.buf, fresh.buf))
		refused = 0;
	else
		strbuf_addf(why, "the plan says %s, a fresh plan says %s: refused", saved.buf,
			    fresh.buf);
	strbuf_release(&saved);
	strbuf_release(&fresh);
	return refused;
}

/*
 * Which key the sink holds: 1 and *held (NULL = none) when the sink can
 * say so (its preflight read it), 0 with why otherwise (no sink, an exec
 * or stdout sink, a target that cannot be read).
 */
static int ask_sink(const struct exec_ctx *x, const char *spec, const char *user,
		    const char *account, char **held, struct strbuf *why)
{
	struct sink_context sc;
	struct sink *k;
	int rc;

	*held = NULL;
	if (!spec) {
		strbuf_addstr(why, "no sink configured");
		return 0;
	}
	sink_ctx_for(x, user, &sc);
	sc.account = account;
	k = sink_new(spec, &sc, why);
	if (!k)
		return 0;
	if (!strcmp(k->vt->scheme, "exec") || !k->vt->preflight || !strncmp(spec, "-", 1)) {
		strbuf_addf(why, "%s cannot say which key it holds", k->target);
		sink_free(k);
		return 0;
	}
	rc = sink_preflight(k, held, why);
	sink_free(k);
	if (rc) {
		free(*held);
		*held = NULL;
		if (!why->len)
			strbuf_addstr(why, "the sink cannot be read");
		return 0;
	}
	return 1;
}

/* Sinks on this machine (a file, a credentials profile): one per expanded name. */
static int sink_spec_is_local(const char *spec)
{
	return !strncmp(spec, "file:", 5) || !strncmp(spec, "profile:", 8);
}

/*
 * Whether the user is exempt: the audit's exemptions (its groups read when
 * they need them), plus exempt = true in the config. 1 (why says which), 0,
 * or -1 with err when its groups cannot be read.
 */
static int user_exempt(const struct exec_ctx *x, const struct live_user *u, const char *const *tk,
		       const char *const *tv, const struct rotconf_settings *s, struct strbuf *why,
		       struct strbuf *err)
{
	struct user_facts uf = { u->name, u->path, tk, tv, u->tags.ntags, NULL, 0 };
	struct iam_group_page groups = { 0 };
	int exempt;

	if (policy_needs_groups(&x->o->exempt)) {
		strbuf_reset(err);
		if (iam_list_groups_for_user(x->c, u->name, &groups, err) < 0)
			return -1;
		uf.groups = (const char *const *)groups.group_names;
		uf.ngroups = groups.ngroups;
	}
	exempt = policy_user_exempt(&x->o->exempt, &uf, why);
	iam_group_page_release(&groups);
	if (!exempt && s->exempt == 1) {
		exempt = 1;
		strbuf_addstr(why, "exempt = true in the config");
	}
	return exempt;
}

/*
 * Plans the user (the plan taken into ru, its blocked line naming the
 * callers): returns the planner's view of its keys, for the caller to free.
 */
static struct rot_key *plan_user(const struct exec_ctx *x, struct live_user *u,
				 struct rotate_user *ru, const char *account,
				 const struct rot_policy *pol, struct rot_plan *plan)
{
	struct rot_user pu;
	struct rotation_tag it;
	struct strbuf pe = STRBUF_INIT, sink_why = STRBUF_INIT;
	char *held = NULL;
	struct rot_key *rk;

	rk = planner_view(u, &pu);
	/* recovering an intent mark: which key does the sink hold? */
	if (u->rotation_tag && !rotation_tag_parse(u->rotation_tag, &it, &pe) &&
	    it.stage == STAGE_INTENT && u->nkeys > 1)
		pu.sink_known = ask_sink(x, ru->sink, u->name, account, &held, &sink_why);
	pu.sink_key = held;
	pu.sink_why = sink_why.buf;
	rotation_plan_user(&pu, pol, x->o->now, plan);
	free(held);
	strbuf_release(&pe);
	strbuf_release(&sink_why);
	take_plan(ru, plan);
	blocked_callers(x, ru, plan);
	return rk;
}

/*
 * A due user whose create mark is on (why is scratch): 1 when it is blocked
 * for it, 0 to go on.
 */
static int create_mark_blocks(const struct live_user *u, struct rotate_user *ru, struct strbuf *why)
{
	size_t i;

	/* a create (create, rotate --self, revoke --replace) of this user is under way or died */
	for (i = 0; i < u->tags.ntags; i++)
		if (!strcmp(u->tags.tags[i].key, CREATE_MARK_TAG) && ru->outcome == ROT_ACT) {
			strbuf_reset(why);
			strbuf_addf(why,
				    "a create of a key for %s is under way or died (tag %s='%s'): "
				    "run that create again to finish it, then rotate",
				    u->name, CREATE_MARK_TAG, u->tags.tags[i].value);
			block_user(ru, why->buf);
			return 1;
		}
	return 0;
}

/*
 * A user with steps whose quarantine (AWS's policy) is attached, or cannot be
 * read: 1 when it is blocked for it, 0 to go on (why and e are scratch).
 */
static int quarantine_blocks(const struct exec_ctx *x, const struct live_user *u,
			     struct rotate_user *ru, struct strbuf *why, struct strbuf *e)
{
	const char *key = NULL; /* the key rotated: the old one of the create step */
	size_t i;
	int q;

	/* a user AWS quarantined is not acted on: revoke is the response (one call,
	 * only for users with something to do) */
	if (!ru->nsteps)
		return 0;
	for (i = 0; i < ru->nsteps; i++) {
		const struct rot_action *a = &ru->steps[i].a;
		if (a->kind == ROT_CREATE) {
			key = a->key_id;
			break;
		}
		if (!key && a->key_id[0])
			key = a->key_id;
	}
	strbuf_reset(e);
	strbuf_reset(why);
	q = read_quarantine(x->c, u->name, why, e);
	if (!q)
		return 0;
	ru->outcome = ROT_BLOCKED;
	ru->failed = q < 0;
	strbuf_reset(&ru->reason);
	if (q < 0)
		strbuf_addf(&ru->reason, "cannot read live state: %s", e->buf);
	else
		strbuf_addf(&ru->reason,
			    "AWS has attached %s: revoke the key with "
			    "iamkeys revoke --user %s --key %s --apply",
			    why->buf, u->name, key ? key : "KEY");
	skip_steps(ru);
	return 1;
}

/*
 * Steps this run may not carry out: on the key it runs with, a new key for
 * a local sink without {account} (several accounts), or for no sink. 1 when
 * the user is blocked for them, 0 to go on.
 */
static int steps_block(const struct exec_ctx *x, const struct rotconf_settings *s,
		       struct rotate_user *ru)
{
	const struct rotate_options *o = x->o;
	struct strbuf why = STRBUF_INIT;
	size_t i;

	/* the key this command runs with is never deactivated or deleted here */
	for (i = 0; x->caller_key && !why.len && i < ru->nsteps; i++)
		if ((ru->steps[i].a.kind == ROT_CREATE || ru->steps[i].a.kind == ROT_DEACTIVATE ||
		     ru->steps[i].a.kind == ROT_DELETE_KEY) &&
		    !strcmp(ru->steps[i].a.key_id, x->caller_key))
			strbuf_addf(&why,
				    "key %s is the key this command runs with: use "
				    "'iamkeys rotate --self'",
				    x->caller_key);
	for (i = 0; !why.len && i < ru->nsteps; i++)
		if (ru->steps[i].a.kind == ROT_CREATE && ru->sink && o->local_sinks_need_account &&
		    s->to && sink_spec_is_local(s->to) && !strstr(s->to, "{account}"))
			strbuf_addf(&why,
				    "due, but sink '%s' has no {account}: with several "
				    "accounts, users of the same name would share it",
				    s->to);
	for (i = 0; !why.len && i < ru->nsteps; i++)
		if (ru->steps[i].a.kind == ROT_CREATE && !ru->sink)
			strbuf_addstr(&why, "due, but no sink for the new secret: give --to or "
					    "'to' in --config");
	if (!why.len)
		return 0;
	block_user(ru, why.buf);
	strbuf_release(&why);
	return 1;
}

/* Plans (and applies) one user. 0, or -1 only for errors that stop the run. */
static int rotate_one(const struct exec_ctx *x, const char *name, const char *path, json_t *planned,
		      struct rotate_report *r)
{
	const struct rotate_options *o = x->o;
	struct aws_client *c = x->c;
	struct live_user u;
	struct rotate_user *ru = report_add(r, name);
	struct strbuf e = STRBUF_INIT, why = STRBUF_INIT, ks = STRBUF_INIT;
	struct rotconf_settings s;
	struct rot_policy pol = o->policy;
	const char **tk = NULL, **tv = NULL;
	struct rot_key *rk = NULL;
	struct rot_plan plan;
	int exempt;

	memset(&u, 0, sizeof(u));
	u.name = name;
	u.path = path;
	rot_plan_init(&plan);
	/*
	 * Last use matters only to a rotation in progress (is the old key
	 * still used?) and to a user with two keys (may the inactive one go?):
	 * the common single-key user costs two calls, not three.
	 */
	if (read_keys(c, &u, 0, &e) < 0 || read_tags(c, &u, &e) < 0 ||
	    ((u.rotation_tag || u.nkeys > 1) && read_last_used(c, &u, &e) < 0)) {
		ru->outcome = ROT_BLOCKED;
		ru->failed = 1;
		strbuf_addf(&ru->reason, "cannot read live state: %s", e.buf);
		goto out;
	}
	keys_summary(&ks, &u);
	ru->keys = strbuf_detach(&ks, NULL);
	ru->tag = xstrdup_or_null(u.rotation_tag);
	iam_tags_split(u.tags.tags, u.tags.ntags, &tk, &tv);

	strbuf_reset(&e);
	if (user_settings(o, r->account, &u, tk, tv, &s, &pol, &ru->sink, &e) < 0) {
		ru->outcome = ROT_BLOCKED;
		ru->failed = 1;
		strbuf_addbuf(&ru->reason, &e);
		goto out;
	}

	/* exemptions: the audit's, plus exempt = true in the config */
	exempt = user_exempt(x, &u, tk, tv, &s, &why, &e);
	if (exempt < 0) {
		ru->outcome = ROT_BLOCKED;
		ru->failed = 1;
		strbuf_addf(&ru->reason, "cannot read groups: %s", e.buf);
		goto out;
	}
	if (exempt && !u.rotation_tag) {
		ru->exempt = 1;
		ru->outcome = ROT_NOTHING;
		strbuf_addf(&ru->reason, "exempt: %s", why.buf);
		goto checked;
	}

	rk = plan_user(x, &u, ru, r->account, &pol, &plan);
	if (create_mark_blocks(&u, ru, &why) || quarantine_blocks(x, &u, ru, &why, &e))
		goto checked;
	if (!steps_block(x, &s, ru))
		trace_blocks(x, ru);
checked:
	/* --plan FILE: the saved steps only where they equal the fresh ones */
	strbuf_reset(&why);
	if (planned && plan_refuses(ru, planned, &why)) {
		ru->outcome = ROT_BLOCKED;
		ru->failed = 1;
		strbuf_reset(&ru->reason);
		strbuf_addbuf(&ru->reason, &why);
		release_steps(ru);
		goto out;
	}
	/* applied by rotate_run once every user is planned and every sink checked */
out:
	free(tk);
	free(tv);
	free(rk);
	rot_plan_release(&plan);
	live_release(&u);
	strbuf_release(&e);
	strbuf_release(&why);
	strbuf_release(&ks);
	return 0;
}

/*
 * rotate_one for the next user unless the run is to stop (left: the users
 * not done yet, this one included), then the user_done callback.
 * 1 when the run stops here.
 */
static int next_user(const struct exec_ctx *x, const char *name, const char *path, json_t *planned,
		     struct rotate_report *r, size_t left)
{
	if (stop_requested(x->o)) {
		r->stopped = 1;
		r->not_started = left;
		return 1;
	}
	rotate_one(x, name, path, planned, r);
	return 0;
}

static void exec_ctx_release(struct exec_ctx *x)
{
	struct gate_regions *g = x->gate;

	free(x->pacers);
	sts_caller_identity_release(&x->id);
	aws_credentials_release(&x->mine);
	if (!g)
		return;
	trace_regions_free(g->owned, g->n);
	free(g->view);
	free(g->pacers);
	strbuf_release(&g->err);
	free(g);
}

static int setup_ctx(struct aws_client *c, struct exec_ctx *x, struct rotate_report *r,
		     struct strbuf *err)
{
	struct sts_caller_identity *id = &x->id;
	struct aws_credentials *mine = &x->mine;

	x->gate = xcalloc(1, sizeof(*x->gate));
	strbuf_init(&x->gate->err, 0);
	if (sts_get_caller_identity(c, id, err) < 0)
		return -1;
	if (cred_provider_get(c->creds, mine, err) < 0)
		return -1;
	r->account = xstrdup_or_null(id->account);
	x->report = r;
	r->trace_gate = gate_on(x);
	if (x->o->ntrace_regions && !x->pacers)
		x->pacers = xcalloc(x->o->ntrace_regions, sizeof(*x->pacers));
	x->c = c;
	x->account = id->account;
	x->caller_key = mine->access_key_id;
	if (run_id_make(x->run_id, err) < 0)
		return -1;
	x->caller_user = id->arn ? strrchr(id->arn, '/') : NULL;
	if (x->caller_user)
		x->caller_user++;
	return 0;
}

int rotate_run(struct aws_client *c, const struct rotate_options *o, struct rotate_report *r,
	       struct strbuf *err)
{
	struct exec_ctx x;
	struct rotate_options at = *o;
	struct iam_user_list users = { 0 };
	int rc = -1;
	size_t i;

	memset(r, 0, sizeof(*r));
	memset(&x, 0, sizeof(x));
	x.o = &at;
	if (setup_ctx(c, &x, r, err) < 0)
		goto out;
	/* every decision in AWS's time, known now that GetCallerIdentity answered */
	if (!at.now)
		at.now = aws_client_now(c);
	r->now = at.now;
	if (o->plan_in) {
		json_t *ju, *list = json_object_get(o->plan_in, "Users");
		const char *acc = json_string_value(json_object_get(o->plan_in, "Account"));
		if (!json_is_array(list)) {
			strbuf_addstr(err, "the plan has no Users array");
			r->bad_plan = 1;
			goto out;
		}
		if (!acc || !r->account || strcmp(acc, r->account)) {
			strbuf_addf(err,
				    "the plan is for account %s, but these credentials are for "
				    "account %s: refusing the plan",
				    acc ? acc : "(none)", r->account ? r->account : "(unknown)");
			r->bad_plan = 1;
			goto out;
		}
		json_array_foreach(list, i, ju)
		{
			const char *name = json_string_value(json_object_get(ju, "UserName"));
			if (!name) {
				strbuf_addstr(err, "the plan has a user without UserName");
				goto out;
			}
			if (next_user(&x, name, NULL, ju, r, json_array_size(list) - i))
				break;
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
			if (next_user(&x, u.user_name, u.path, NULL, r, o->nusers - i)) {
				iam_user_release(&u);
				break;
			}
			iam_user_release(&u);
		}
	} else {
		if (iam_list_users(c, NULL, &users, err) < 0)
			goto out;
		for (i = 0; i < users.nusers; i++)
			if (next_user(&x, users.users[i].user_name, users.users[i].path, NULL, r,
				      users.nusers - i))
				break;
	}
	check_sinks(&x, r);
	for (i = 0; i < r->n; i++) {
		struct rotate_user *ru = &r->users[i];
		if (o->apply && ru->outcome == ROT_ACT && !ru->failed) {
			struct live_user u;
			if (stop_requested(o))
				break;
			memset(&u, 0, sizeof(u));
			u.name = ru->user;
			u.rotation_tag = xstrdup_or_null(ru->tag); /* the tag the plan saw */
			apply_user(&x, &u, ru);
			live_release(&u);
		}
		if (o->user_done)
			o->user_done(o->user_done_arg, ru);
		if (ru->stopped) {
			i++;
			break;
		}
	}
	if (i < r->n) {
		/* stopped: the users not come to are not reported, only counted */
		r->stopped = 1;
		r->not_started += r->n - i;
		while (r->n > i)
			rotate_user_release(&r->users[--r->n]);
	}
	rc = 0;
out:
	iam_user_list_release(&users);
	exec_ctx_release(&x);
	return rc;
}

enum fix_op { FIX_ROLLBACK, FIX_RESUME, FIX_ABORT };

/*
 * rotate --abort before anything changes: a key to delete must be unused
 * since its creation (but for the verification) and absent from the sink,
 * unless --force. 0, or -1 with ru blocked and why in its reason.
 */
static int abort_precheck(const struct exec_ctx *x, const struct live_user *u,
			  struct rotate_user *ru)
{
	struct strbuf why = STRBUF_INIT;
	size_t i;

	for (i = 0; i < ru->nsteps && !why.len; i++) {
		const struct rot_action *a = &ru->steps[i].a;
		const struct live_key *k = live_find(u, a->key_id);
		if (a->kind != ROT_DELETE_KEY || !k)
			continue;
		if (a->not_used_since && k->last_used >= a->not_used_since) {
			strbuf_addf(&why, "key %s was used on ", k->id);
			iso8601_format(&why, k->last_used);
			strbuf_addf(&why,
				    " (%s, %s), after its creation and verification: an "
				    "application may depend on it (--force deletes it anyway)",
				    k->service ? k->service : "-", k->region ? k->region : "-");
		} else if (a->sink_guard) {
			sink_not_holding(x, u->name, ru->sink, a->key_id, &why);
		}
	}
	if (!why.len)
		return 0;
	block_user(ru, why.buf);
	strbuf_release(&why);
	return -1;
}

/* rollback, --resume, --abort of one user: read, plan, [check], [apply]. */
static int fix_user(struct aws_client *c, enum fix_op op, const struct rotate_options *o,
		    const char *user, struct rotate_report *r, struct strbuf *err)
{
	struct exec_ctx x;
	struct rotate_options at = *o;
	struct live_user u;
	struct rotate_user *ru;
	struct rot_key *rk = NULL;
	struct rot_user pu;
	struct rot_plan plan;
	struct strbuf ks = STRBUF_INIT;
	const char **tk = NULL, **tv = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	memset(&x, 0, sizeof(x));
	memset(&u, 0, sizeof(u));
	x.o = &at;
	rot_plan_init(&plan);
	if (setup_ctx(c, &x, r, err) < 0)
		goto out;
	/* every decision in AWS's time, known now that GetCallerIdentity answered */
	if (!at.now)
		at.now = aws_client_now(c);
	r->now = at.now;
	o = &at;
	u.name = user;
	if (read_keys(c, &u, 1, err) < 0 || read_tags(c, &u, err) < 0)
		goto out;
	ru = report_add(r, user);
	keys_summary(&ks, &u);
	ru->keys = strbuf_detach(&ks, NULL);
	ru->tag = xstrdup_or_null(u.rotation_tag);
	rk = planner_view(&u, &pu);
	if (op == FIX_ABORT) {
		struct rotconf_settings s;
		struct rot_policy pol;
		iam_tags_split(u.tags.tags, u.tags.ntags, &tk, &tv);
		if (user_settings(o, r->account, &u, tk, tv, &s, &pol, &ru->sink, err) < 0)
			goto out;
		rotation_plan_abort(&pu, &pol, o->now, o->force, &plan);
	} else if (op == FIX_RESUME) {
		rotation_plan_resume(&pu, o->now, &plan);
	} else {
		rotation_plan_rollback(&pu, o->now, &plan);
	}
	take_plan(ru, &plan);
	if (op == FIX_ABORT && ru->outcome == ROT_ACT)
		abort_precheck(&x, &u, ru);
	if (o->apply && ru->outcome == ROT_ACT)
		apply_user(&x, &u, ru);
	rc = 0;
out:
	FREE_ALL(tk, tv, rk);
	rot_plan_release(&plan);
	live_release(&u);
	strbuf_release(&ks);
	exec_ctx_release(&x);
	return rc;
}

int rotate_resume(struct aws_client *c, const struct rotate_options *o, struct rotate_report *r,
		  struct strbuf *err)
{
	return fix_user(c, FIX_RESUME, o, o->users[0], r, err);
}

int rotate_abort(struct aws_client *c, const struct rotate_options *o, struct rotate_report *r,
		 struct strbuf *err)
{
	return fix_user(c, FIX_ABORT, o, o->users[0], r, err);
}

int rotate_rollback(struct aws_client *c, const char *user, int apply, time_t now,
		    struct rotate_report *r, struct strbuf *err)
{
	struct rotate_options o;

	memset(&o, 0, sizeof(o));
	rot_policy_defaults(&o.policy);
	rotconf_settings_unset(&o.cli);
	o.now = now;
	o.apply = apply;
	return fix_user(c, FIX_ROLLBACK, &o, user, r, err);
}
