/*
 * Guarded key actions: the live re-read, the guards, plan or apply, the
 * records and their output. See actions.h and docs/actions.md.
 */
#include "core/compat.h"
#include "engine/actions.h"
#include "aws/process.h"
#include "aws/msg.h"
#include "aws/client.h"
#include "aws/iam.h"
#include "core/timeutil.h"
#include "engine/userstate.h"
#include "sinks/sink.h"
#include "core/rotation.h"
#include "core/sigv4.h"
#include "engine/runid.h"

/* names */

static const struct {
	const char *name, *past;
} kind_words[] = {
	[KEY_DEACTIVATE] = { "deactivate", "deactivated" },
	[KEY_ACTIVATE] = { "activate", "activated" },
	[KEY_DELETE] = { "delete", "deleted" },
	[KEY_CREATE] = { "create", "created" },
};

const char *key_action_name(enum key_action_kind kind)
{
	return (size_t)kind < ARRAY_SIZE(kind_words) ? kind_words[kind].name : "?";
}

static const char *key_action_past(enum key_action_kind kind)
{
	return (size_t)kind < ARRAY_SIZE(kind_words) ? kind_words[kind].past : "?";
}

const char *action_result_name(enum action_result r)
{
	switch (r) {
	case ACTION_PLANNED:
		return "planned";
	case ACTION_DONE:
		return "done";
	case ACTION_NOTHING:
		return "nothing-to-do";
	case ACTION_BLOCKED:
		return "skipped";
	case ACTION_EXEMPT:
		return "exempt";
	case ACTION_FAILED:
		return "failed";
	}
	return "?";
}

int access_key_id_is_valid(const char *s)
{
	size_t n;
	if (!s || (strncmp(s, "AKIA", 4) && strncmp(s, "ASIA", 4)))
		return 0;
	for (n = 4; s[n]; n++)
		if (!isupper((unsigned char)s[n]) && !isdigit((unsigned char)s[n]))
			return 0;
	return n >= 20 && n <= 128;
}

void format_ago(struct strbuf *out, time_t t, time_t now)
{
	long long d = (long long)now - (long long)t;
	if (d < 0)
		d = 0;
	if (d < 120)
		strbuf_addstr(out, "just now");
	else if (d < 2 * 3600)
		strbuf_addf(out, "%lld minutes ago", d / 60);
	else if (d < 2 * 86400)
		strbuf_addf(out, "%lld hours ago", d / 3600);
	else
		strbuf_addf(out, "%lld days ago", d / 86400);
}

/* A duration for messages: "24h", "30m", "7d" (whole hours below two days). */
static void add_window(struct strbuf *out, long long secs)
{
	if (secs > 0 && secs < 2 * 86400 && secs % 3600 == 0)
		strbuf_addf(out, "%lldh", secs / 3600);
	else
		duration_format(out, secs);
}

/* "2026-11-20" */
static void add_date(struct strbuf *out, time_t t)
{
	struct strbuf sb = STRBUF_INIT;
	iso8601_format(&sb, t);
	strbuf_add(out, sb.buf, sb.len >= 10 ? 10 : sb.len);
	strbuf_release(&sb);
}

/* the guards */

/* Separators: "; " between clauses (guards), ", " between facts. */
static void add_sep(struct strbuf *sb)
{
	if (sb->len)
		strbuf_addstr(sb, "; ");
}

static void add_comma(struct strbuf *sb)
{
	if (sb->len)
		strbuf_addstr(sb, ", ");
}

enum guard_verdict key_guard_check(const struct guard_input *in, const struct action_options *o,
				   struct strbuf *why)
{
	int removes_working; /* would the key stop working? */
	struct strbuf forced = STRBUF_INIT;
	enum guard_verdict v = GUARD_GO;

	if (!in->found) {
		if (in->kind == KEY_DELETE) {
			strbuf_addstr(why, "no such key (already deleted?)");
			return GUARD_NOTHING;
		}
		strbuf_addf(why, "user %s has no access key %s", in->user, in->key_id);
		return GUARD_MISSING;
	}
	if (in->kind == KEY_DEACTIVATE && !in->active) {
		strbuf_addstr(why, "already Inactive");
		return GUARD_NOTHING;
	}
	if (in->kind == KEY_ACTIVATE) {
		if (in->active) {
			strbuf_addstr(why, "already Active");
			return GUARD_NOTHING;
		}
		return GUARD_GO; /* the rollback: no in-use guard */
	}

	/* deactivate an Active key, or delete any key */
	if (in->is_self && !o->allow_self) {
		strbuf_addf(why,
			    "it is the key this command runs with; refusing to %s it (run with "
			    "other credentials, or rotate your own key with 'iamkeys rotate')",
			    key_action_name(in->kind));
		return GUARD_BLOCK;
	}
	if (in->kind == KEY_DELETE && in->active) {
		if (!o->force) {
			strbuf_addf(
				why,
				"it is Active; deactivate it first (iamkeys deactivate --user %s "
				"--key %s), or use --force",
				in->user, in->key_id);
			return GUARD_BLOCK;
		}
		add_sep(&forced);
		strbuf_addstr(&forced, "it is Active");
	}
	if (o->in_use_window > 0 && in->last_used &&
	    (long long)o->now - (long long)in->last_used <
		    o->in_use_window + LAST_USED_GRANULARITY) {
		struct strbuf used = STRBUF_INIT;
		strbuf_addstr(&used, "used ");
		format_ago(&used, in->last_used, o->now);
		strbuf_addstr(&used, ", within --in-use-window ");
		add_window(&used, o->in_use_window);
		if (!o->force) {
			strbuf_addf(why, "%s (use --force to override)", used.buf);
			strbuf_release(&used);
			v = GUARD_BLOCK;
			goto out;
		}
		add_sep(&forced);
		strbuf_addbuf(&forced, &used);
		strbuf_release(&used);
	}
	removes_working = in->active;
	if (removes_working && in->other_active == 0) {
		if (!o->force) {
			strbuf_addf(why,
				    "it is the only Active key of %s, who would be left without a "
				    "working key (create a new key first, or use --force)",
				    in->user);
			v = GUARD_BLOCK;
			goto out;
		}
		add_sep(&forced);
		strbuf_addf(&forced, "the only Active key of %s", in->user);
	}
	if (forced.len)
		strbuf_addf(why, "--force: %s", forced.buf);
out:
	strbuf_release(&forced);
	return v;
}

/* the context and its records */

static void caller_identity_release(struct caller_identity *s)
{
	FREE_ALL(s->account, s->arn, s->user, s->key_id);
	memset(s, 0, sizeof(*s));
}

/* "arn:aws:iam::111:user/path/name" -> "name"; NULL for anything but a user. */
static char *user_from_arn(const char *arn)
{
	const char *p = arn ? strstr(arn, ":user/") : NULL;
	if (!p)
		return NULL;
	return xstrdup(strrchr(p, '/') + 1);
}

int action_ctx_init(struct action_ctx *a, struct aws_client *c, const struct action_options *o,
		    struct strbuf *err)
{
	struct aws_credentials creds = { 0 };
	struct sts_caller_identity id = { 0 };

	memset(a, 0, sizeof(*a));
	a->c = c;
	a->o = *o;
	if (cred_provider_get(c->creds, &creds, err) < 0)
		return -1;
	a->self.key_id = xstrdup_or_null(creds.access_key_id);
	aws_credentials_release(&creds);
	if (sts_get_caller_identity(c, &id, err) < 0)
		return -1;
	a->self.account = xstrdup_or_null(id.account);
	a->self.arn = xstrdup_or_null(id.arn);
	a->self.user = user_from_arn(id.arn);
	sts_caller_identity_release(&id);
	/* decisions in AWS's time, known now that GetCallerIdentity answered */
	if (!a->o.now)
		a->o.now = aws_client_now(c);
	return 0;
}

static void action_record_release(struct action_record *r)
{
	FREE_ALL(r->user, r->key_id, r->reason);
}

void action_ctx_release(struct action_ctx *a)
{
	FREE_ARRAY(a->recs, a->nrecs, action_record_release);
	for (size_t i = 0; i < a->neffects; i++)
		FREE_ALL(a->effects[i].user, a->effects[i].key_id);
	free(a->effects);
	caller_identity_release(&a->self);
	memset(a, 0, sizeof(*a));
}

void action_record_format(struct strbuf *out, const struct action_record *r)
{
	const char *key = r->key_id ? r->key_id : r->kind == KEY_CREATE ? "a new key" : "the keys";
	const char *reason = r->reason && *r->reason ? r->reason : NULL;

	if (r->kind == KEY_CREATE) {
		switch (r->result) {
		case ACTION_PLANNED:
			strbuf_addf(out, "create a new key for %s", r->user);
			break;
		case ACTION_DONE:
			strbuf_addf(out, "created %s for %s", key, r->user);
			break;
		case ACTION_NOTHING:
			strbuf_addf(out, "nothing to do for %s", r->user);
			break;
		case ACTION_BLOCKED:
		case ACTION_EXEMPT:
			strbuf_addf(out, "skip creating a key for %s", r->user);
			break;
		case ACTION_FAILED:
			strbuf_addf(out, "failed to create a key for %s", r->user);
			break;
		}
	} else {
		switch (r->result) {
		case ACTION_PLANNED:
			strbuf_addf(out, "%s %s of %s", key_action_name(r->kind), key, r->user);
			break;
		case ACTION_DONE:
			strbuf_addf(out, "%s %s of %s", key_action_past(r->kind), key, r->user);
			reason = NULL;
			break;
		case ACTION_NOTHING:
			strbuf_addf(out, "nothing to do for %s of %s", key, r->user);
			break;
		case ACTION_BLOCKED:
			strbuf_addf(out, "skip %s of %s", key, r->user);
			break;
		case ACTION_EXEMPT:
			strbuf_addf(out, "exempt %s of %s", key, r->user);
			break;
		case ACTION_FAILED:
			strbuf_addf(out, "failed to %s %s of %s", key_action_name(r->kind), key,
				    r->user);
			break;
		}
	}
	if (reason)
		strbuf_addf(out, ": %s", reason);
}

void action_record_add(struct action_ctx *a, enum key_action_kind kind, enum action_result res,
		       const char *user, const char *key_id, const char *reason)
{
	struct action_record *r;

	ALLOC_GROW(a->recs, a->nrecs + 1, a->alloc_recs);
	r = &a->recs[a->nrecs++];
	r->kind = kind;
	r->result = res;
	r->user = xstrdup_or_null(user);
	r->key_id = xstrdup_or_null(key_id);
	r->reason = xstrdup_or_null(reason);
	if (a->on_record)
		a->on_record(r, a->on_record_ctx);
}

static void effect_add(struct action_ctx *a, enum key_action_kind kind, const char *user,
		       const char *key_id)
{
	struct planned_effect *e;
	ALLOC_GROW(a->effects, a->neffects + 1, a->alloc_effects);
	e = &a->effects[a->neffects++];
	e->kind = kind;
	e->user = xstrdup(user);
	e->key_id = xstrdup_or_null(key_id);
}

/*
 * A live key's status after this run's planned effects: 1 Active, 0
 * Inactive, -1 deleted. User names compare case-insensitively, as IAM's do.
 */
static int effective_status(const struct action_ctx *a, const char *user, const struct user_key *k)
{
	int st = k->active;
	size_t i;
	for (i = 0; i < a->neffects; i++) {
		const struct planned_effect *e = &a->effects[i];
		if (!e->key_id || strcmp(e->key_id, k->id) || strcasecmp(e->user, user))
			continue;
		if (e->kind == KEY_DEACTIVATE)
			st = 0;
		else if (e->kind == KEY_ACTIVATE)
			st = 1;
		else if (e->kind == KEY_DELETE)
			st = -1;
	}
	return st;
}

static int planned_new_keys(const struct action_ctx *a, const char *user)
{
	size_t i;
	int n = 0;
	for (i = 0; i < a->neffects; i++)
		if (a->effects[i].kind == KEY_CREATE && !strcasecmp(a->effects[i].user, user))
			n++;
	return n;
}

/* ", last used 2026-11-20 (iam, us-east-1)" or ", never used" */
static void add_last_used(struct strbuf *sb, const struct user_key *k)
{
	add_comma(sb);
	if (!k || !k->last_used) {
		strbuf_addstr(sb, "never used");
		return;
	}
	strbuf_addstr(sb, "last used ");
	add_date(sb, k->last_used);
	if (k->service)
		strbuf_addf(sb, " (%s%s%s)", k->service, k->region ? ", " : "",
			    k->region ? k->region : "");
}

enum action_result action_change_key(struct action_ctx *a, enum key_action_kind kind,
				     const char *user, const char *key_id, const char *why)
{
	struct user_state us = USER_STATE_INIT;
	struct strbuf reason = STRBUF_INIT, g = STRBUF_INIT, err = STRBUF_INIT;
	struct guard_input in;
	const struct user_key *k = NULL;
	enum action_result res = ACTION_FAILED;
	size_t i, ki = 0;

	memset(&in, 0, sizeof(in));
	in.kind = kind;
	in.user = user;
	in.key_id = key_id;

	/* the live re-read, right before the change */
	if (user_state_read(a->c, user, USER_STATE_KEYS, &us, &err) < 0) {
		action_record_add(a, kind, ACTION_FAILED, user, key_id, err.buf);
		goto out;
	}
	for (i = 0; i < us.nkeys; i++) {
		const struct user_key *x = &us.keys[i];
		int st = effective_status(a, user, x);
		if (!strcmp(x->id, key_id)) {
			if (st >= 0) {
				k = x;
				ki = i;
				in.found = 1;
				in.active = st;
			}
		} else if (st == 1) {
			in.other_active++;
		}
	}
	in.other_active += planned_new_keys(a, user);
	/* last use: not needed to reactivate, nor for a key already Inactive */
	if (k && kind != KEY_ACTIVATE && !(kind == KEY_DEACTIVATE && !in.active)) {
		if (user_state_read_last_used(a->c, &us, ki, &err) < 0) {
			action_record_add(a, kind, ACTION_FAILED, user, key_id, err.buf);
			goto out;
		}
		in.last_used = k->last_used;
	}
	in.is_self = a->self.key_id && !strcmp(a->self.key_id, key_id);

	switch (key_guard_check(&in, &a->o, &g)) {
	case GUARD_MISSING:
		action_record_add(a, kind, ACTION_FAILED, user, key_id, g.buf);
		goto out;
	case GUARD_NOTHING:
		res = ACTION_NOTHING;
		action_record_add(a, kind, res, user, key_id, g.buf);
		goto out;
	case GUARD_BLOCK:
		res = ACTION_BLOCKED;
		action_record_add(a, kind, res, user, key_id, g.buf);
		goto out;
	case GUARD_GO:
		break;
	}

	/* the reason: why it was selected, the live facts, overridden guards */
	if (why && *why)
		strbuf_addstr(&reason, why);
	else if (k && k->created)
		strbuf_addf(&reason, "%ld days old", days_between(k->created, a->o.now));
	if (kind != KEY_ACTIVATE)
		add_last_used(&reason, k);
	if (g.len) {
		add_sep(&reason);
		strbuf_addbuf(&reason, &g);
	}

	if (!a->o.apply) {
		effect_add(a, kind, user, key_id);
		res = ACTION_PLANNED;
		action_record_add(a, kind, res, user, key_id, reason.buf);
		goto out;
	}
	if (kind == KEY_DELETE) {
		if (iam_delete_access_key(a->c, user, key_id, &err) < 0) {
			/* a retried DeleteAccessKey whose first attempt went through */
			if (!strcmp(aws_client_last_error_code(a->c), "NoSuchEntity")) {
				res = ACTION_NOTHING;
				action_record_add(a, kind, res, user, key_id,
						  "no such key (already deleted?)");
			} else {
				action_record_add(a, kind, ACTION_FAILED, user, key_id, err.buf);
			}
			goto out;
		}
	} else if (iam_update_access_key(a->c, user, key_id,
					 kind == KEY_ACTIVATE ? "Active" : "Inactive", &err) < 0) {
		action_record_add(a, kind, ACTION_FAILED, user, key_id, err.buf);
		goto out;
	}
	res = ACTION_DONE;
	action_record_add(a, kind, res, user, key_id, reason.buf);
out:
	user_state_release(&us);
	strbuf_release(&reason);
	strbuf_release(&g);
	strbuf_release(&err);
	return res;
}

/* create */

static int in_list(const char *id, char **ids, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!strcmp(ids[i], id))
			return 1;
	return 0;
}

/*
 * The create mark (CREATE_MARK_TAG, core/rotation.h) of this run: written
 * before CreateAccessKey (with KEYS_CHANGED_TAG, which stays), read back
 * (the last writer goes on, alone), removed once the secret is delivered
 * or the new key deleted. A mark left behind tells the next run that a key
 * created after it may have a lost secret, and which sink to ask.
 */
struct create_mark_run {
	struct create_mark m;
	char *value;	   /* as written; NULL before */
	double written_ms; /* aws_monotonic_ms() when written */
};

static void sink_hash(const struct sink *sink, char out[CREATE_MARK_SINK_HEX + 1])
{
	char hex[65];
	sigv4_sha256_hex(sink->target, strlen(sink->target), hex);
	memcpy(out, hex, CREATE_MARK_SINK_HEX);
	out[CREATE_MARK_SINK_HEX] = '\0';
}

/* The user's create mark as it is now: 0 (*value owned, NULL = absent) or -1. */
static int create_mark_read(struct aws_client *c, const char *user, char **value,
			    struct strbuf *err)
{
	struct user_state us = USER_STATE_INIT;
	const char *v;
	int rc = user_state_read(c, user, USER_STATE_TAGS, &us, err);

	*value = NULL;
	if (rc == 0 && (v = user_state_tag(&us, CREATE_MARK_TAG)) != NULL)
		*value = xstrdup(v);
	user_state_release(&us);
	return rc < 0 ? -1 : 0;
}

/* 0 = written and read back as ours; 1 = another run's mark replaced it (msg); -1 = failed (msg) */
static int create_mark_write(struct action_ctx *a, const char *user, const struct sink *sink,
			     struct create_mark_run *cm, struct strbuf *msg)
{
	struct strbuf v = STRBUF_INIT, changed = STRBUF_INIT, err = STRBUF_INIT;
	struct iam_tag tags[2];
	char *now = NULL;
	int rc = -1;

	if (run_id_make(cm->m.run, &err) < 0) {
		strbuf_addf(msg, "%s: no key created", err.buf);
		goto out;
	}
	cm->m.t = aws_client_now(a->c);
	sink_hash(sink, cm->m.sink);
	create_mark_format(&v, &cm->m);
	tags[0].key = (char *)CREATE_MARK_TAG;
	tags[0].value = v.buf;
	/* the lasting record (audit of a reused credential report), in the same call */
	keys_changed_format(&changed, cm->m.t);
	tags[1].key = (char *)KEYS_CHANGED_TAG;
	tags[1].value = changed.buf;
	if (iam_tag_user(a->c, user, tags, 2, &err) < 0) {
		strbuf_addf(msg, "cannot write the create mark %s: %s", CREATE_MARK_TAG, err.buf);
		goto out;
	}
	cm->value = strbuf_detach(&v, NULL);
	cm->written_ms = aws_monotonic_ms();
	if (create_mark_read(a->c, user, &now, &err) < 0) {
		strbuf_addf(msg,
			    "wrote the create mark but cannot read it back (%s): no key "
			    "created; the next create removes the mark",
			    err.buf);
		goto out;
	}
	if (!now || strcmp(now, cm->value)) {
		strbuf_addf(msg,
			    "another run is creating a key for %s (its create mark '%s' "
			    "replaced this run's): no key created",
			    user, now ? now : "absent");
		free(cm->value);
		cm->value = NULL; /* not ours to remove */
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	free(now);
	strbuf_release(&v);
	strbuf_release(&changed);
	strbuf_release(&err);
	return rc;
}

int create_mark_remove(struct aws_client *c, const char *user, const char *value,
		       struct strbuf *err)
{
	static const char *const keys[] = { CREATE_MARK_TAG };
	char *now = NULL;
	int rc = 0;

	if (!value)
		return 0;
	if (create_mark_read(c, user, &now, err) < 0)
		return -1;
	if (now && !strcmp(now, value))
		rc = iam_untag_user(c, user, keys, 1, err);
	free(now);
	return rc;
}

/* Removes this run's mark if it is still this run's. 0, or -1 with why in err. */
static int create_mark_drop(struct action_ctx *a, const char *user, struct create_mark_run *cm,
			    struct strbuf *err)
{
	if (!cm->value)
		return 0;
	if (create_mark_remove(a->c, user, cm->value, err) < 0)
		return -1;
	free(cm->value);
	cm->value = NULL;
	return 0;
}

void create_self_release(struct create_self *cs)
{
	FREE_AND_NULL(cs->mark);
	FREE_AND_NULL(cs->old_key);
	cs->resumed = 0;
}

static void create_mark_run_release(struct create_mark_run *cm)
{
	free(cm->value);
	cm->value = NULL;
}

/*
 * The new key new_id (this run's, by id) was not delivered: delete it, then
 * remove the mark; when the delete fails the mark stays, and the next
 * create deletes the key (its sink does not hold it).
 */
static void undo_create(struct action_ctx *a, const char *user, const char *new_id,
			struct create_mark_run *cm, struct strbuf *msg)
{
	struct strbuf err = STRBUF_INIT;

	if (iam_delete_access_key(a->c, user, new_id, &err) < 0) {
		strbuf_addf(msg,
			    "; the new key %s could not be deleted (%s): delete it with "
			    "'iamkeys delete --user %s --key %s --force'",
			    new_id, err.buf, user, new_id);
		goto out;
	}
	strbuf_addf(msg, "; deleted the new key %s (its secret was not delivered)", new_id);
	strbuf_reset(&err);
	if (create_mark_drop(a, user, cm, &err) < 0)
		strbuf_addf(msg, "; the create mark stays (%s)", err.buf);
out:
	strbuf_release(&err);
}

/*
 * After CreateAccessKey ended with OutcomeUnknown: list the user's keys,
 * delete any that was not there before (its secret is lost) while this
 * run's create mark is still on the user (else another run may have made
 * the key: nothing is deleted). 0 when the user's keys are known again, -1
 * when not (the mark stays for the next run's recovery). Appends what
 * happened to msg.
 */
static int clean_up_unknown_create(struct action_ctx *a, const char *user, char **before,
				   size_t nbefore, const struct create_mark_run *cm,
				   struct strbuf *msg)
{
	struct user_state us = USER_STATE_INIT;
	struct strbuf err = STRBUF_INIT;
	const char *mark;
	size_t i, found = 0;
	int ret = -1;

	if (user_state_read(a->c, user, USER_STATE_KEYS | (cm->value ? USER_STATE_TAGS : 0), &us,
			    &err) < 0) {
		strbuf_addf(msg,
			    "; cannot list the keys of %s to find out (%s): check them with "
			    "'iamkeys audit --source api --user %s --all'%s",
			    user, err.buf, user,
			    cm->value
				    ? "; the create mark stays, and the next create deletes a key "
				      "whose secret is lost"
				    : " and delete any new key");
		goto out;
	}
	mark = user_state_tag(&us, CREATE_MARK_TAG);
	if (cm->value && (!mark || strcmp(mark, cm->value))) {
		strbuf_addf(msg,
			    "; another run is creating a key for %s: nothing deleted (check "
			    "with 'iamkeys audit --source api --user %s --all')",
			    user, user);
		goto out;
	}
	for (i = 0; i < us.nkeys; i++) {
		const char *id = us.keys[i].id;
		if (in_list(id, before, nbefore))
			continue;
		found++;
		strbuf_reset(&err);
		if (iam_delete_access_key(a->c, user, id, &err) < 0) {
			strbuf_addf(msg,
				    "; AWS did create %s, whose secret is lost, and it could "
				    "not be deleted (%s): the create mark stays, and the next "
				    "create of %s deletes it",
				    id, err.buf, user);
			goto out;
		}
		strbuf_addf(msg, "; AWS did create %s, whose secret is lost: deleted it", id);
	}
	if (!found)
		strbuf_addf(msg, "; no new key was created (the keys of %s are unchanged)", user);
	ret = 0;
out:
	user_state_release(&us);
	strbuf_release(&err);
	return ret;
}

/*
 * rotate --self's mark, left by a run that died after writing the profile:
 * the profile (held) has a key made after the mark and this command runs
 * with it. The rotation is finished by the caller: cs gets the key of
 * before the mark to delete (none when it is gone) and the mark. 1 when so
 * (cs->resumed, or blocked with msg when the old key is not one), 0 when
 * the mark is not that.
 */
static int resume_self(struct action_ctx *a, const char *user, const struct user_state *us,
		       const struct create_mark *m, const char *held, const char *mark,
		       struct create_self *cs, struct strbuf *msg)
{
	const struct user_key *hk = user_state_find_key(us, held);
	const char *old = NULL;
	size_t i, nold = 0;

	if (!hk || hk->created < m->t || !a->self.key_id || strcmp(held, a->self.key_id))
		return 0;
	for (i = 0; i < us->nkeys; i++)
		if (strcmp(us->keys[i].id, held) && us->keys[i].created < m->t) {
			old = us->keys[i].id;
			nold++;
		}
	if (nold > 1) {
		strbuf_addf(msg,
			    "a rotate --self of %s died after delivering %s, and %zu keys of "
			    "before it are left: delete the old one (iamkeys delete --user %s "
			    "--key AKIA... --force from another principal)",
			    user, held, nold, user);
		return 1;
	}
	cs->resumed = 1;
	cs->old_key = xstrdup_or_null(old);
	cs->mark = xstrdup(mark);
	strbuf_addf(msg, "a rotate --self that died after delivering %s is finished", held);
	return 1;
}

/*
 * A create mark found on user (us holds its keys and tags). A mark younger
 * than ROTATION_LEASE (AWS time) is a live run's: blocked. An older one was
 * left by a run that died between CreateAccessKey and delivery (or before
 * removing the mark): the sink of that run, which must be this run's sink,
 * says which key it holds; a key created after the mark that it holds was
 * delivered and is kept, one it does not hold has a lost secret and is
 * deleted (planned, in a dry run: dropped from us), and when the sink cannot
 * tell, nothing is deleted and the user is blocked. 1 = blocked (msg), -1 =
 * failed (msg), 0 = recovered (with --apply: keys deleted, mark removed, us
 * read again; msg says what was done), 2 = a rotate --self to finish
 * (resume_self).
 */
static int create_mark_recover(struct action_ctx *a, const char *user, struct sink *sink,
			       const struct create_options *co, struct user_state *us,
			       struct strbuf *msg)
{
	static const char *const keys[] = { CREATE_MARK_TAG };
	struct strbuf why = STRBUF_INIT, err = STRBUF_INIT;
	char *mark = xstrdup(user_state_tag(us, CREATE_MARK_TAG));
	char hash[CREATE_MARK_SINK_HEX + 1];
	struct create_mark m;
	char *held = NULL;
	size_t i;
	int rc = 1, pf;

	if (create_mark_parse(mark, &m, &why) < 0) {
		strbuf_addf(msg,
			    "tag %s='%s' does not parse (%s): remove it once no create runs "
			    "(aws iam untag-user --user-name %s --tag-keys %s)",
			    CREATE_MARK_TAG, mark, why.buf, user, CREATE_MARK_TAG);
		goto out;
	}
	if ((long long)aws_client_now(a->c) < (long long)m.t + ROTATION_LEASE) {
		strbuf_addf(msg, "another run is creating a key for %s since ", user);
		add_date(msg, m.t);
		strbuf_addstr(msg, "; if it died, the next create recovers after ");
		add_date(msg, m.t + ROTATION_LEASE);
		goto out;
	}
	sink_hash(sink, hash);
	if (strcmp(hash, m.sink)) {
		strbuf_addf(msg, "a create of %s to another target died on ", user);
		add_date(msg, m.t);
		strbuf_addstr(msg, ": run it again with that --to to recover (only its sink can "
				   "tell whether it holds a key created since)");
		goto out;
	}
	/* the sink can tell when it names the key it holds, or holds none (and would take one) */
	pf = sink_preflight(sink, &held, &why);
	if ((!held && pf != 0) || !strcmp(sink->vt->scheme, "exec") || !strcmp(sink->target, "-")) {
		for (i = 0; i < us->nkeys; i++)
			if (us->keys[i].created >= m.t)
				break;
		if (i < us->nkeys) {
			strbuf_addf(msg, "key %s was created by a create of %s that died on ",
				    us->keys[i].id, user);
			add_date(msg, m.t);
			strbuf_addf(msg,
				    ", and %s cannot tell whether it holds it%s%s%s: nothing "
				    "deleted; if it does not, delete the key (iamkeys delete "
				    "--user %s --key %s --force) and remove the mark (aws iam "
				    "untag-user --user-name %s --tag-keys %s)",
				    sink->target, why.len ? " (" : "", why.buf, why.len ? ")" : "",
				    user, us->keys[i].id, user, CREATE_MARK_TAG);
			goto out;
		}
	}
	for (i = 0; i < us->nkeys;) {
		const struct user_key *k = &us->keys[i];
		if (k->created < m.t || (held && !strcmp(held, k->id))) {
			i++;
			continue;
		}
		if (!a->o.apply) {
			strbuf_addf(msg,
				    "would delete %s (created by a create that died before "
				    "delivering it: its secret is lost); ",
				    k->id);
			user_state_remove_key(us, i);
			continue;
		}
		strbuf_reset(&err);
		if (iam_delete_access_key(a->c, user, k->id, &err) < 0) {
			strbuf_addf(msg,
				    "cannot delete %s, created by a create that died before "
				    "delivering it (%s)",
				    k->id, err.buf);
			rc = -1;
			goto out;
		}
		strbuf_addf(msg,
			    "deleted %s (created by a create that died before delivering "
			    "it: its secret is lost); ",
			    k->id);
		i++;
	}
	rc = 0;
	if (co->self && held && resume_self(a, user, us, &m, held, mark, co->self, msg)) {
		rc = co->self->resumed ? 2 : 1;
		goto out;
	}
	if (!a->o.apply)
		goto out;
	strbuf_reset(&err);
	if (iam_untag_user(a->c, user, keys, 1, &err) < 0 ||
	    user_state_read(a->c, user, USER_STATE_KEYS | USER_STATE_TAGS, us, &err) < 0) {
		strbuf_addbuf(msg, &err);
		rc = -1;
	}
out:
	free(mark);
	free(held);
	strbuf_release(&why);
	strbuf_release(&err);
	return rc;
}

/* "AKIA... (Active, created 2026-01-01)" for each key, oldest first, comma-separated. */
static void describe_keys(struct strbuf *sb, const struct user_state *us)
{
	size_t *order = xcalloc(us->nkeys + 1, sizeof(*order));
	size_t i, j;

	for (i = 0; i < us->nkeys; i++) {
		/* insertion sort: a user has at most a few keys */
		for (j = i; j > 0 && us->keys[order[j - 1]].created > us->keys[i].created; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (i = 0; i < us->nkeys; i++) {
		const struct user_key *k = &us->keys[order[i]];
		if (i)
			strbuf_addstr(sb, ", ");
		strbuf_addf(sb, "%s (%s", k->id, k->status ? k->status : "?");
		if (k->created) {
			strbuf_addstr(sb, ", created ");
			add_date(sb, k->created);
		}
		strbuf_addch(sb, ')');
	}
	free(order);
}

/* The key to suggest deleting: the first Inactive one, else the oldest; never the
 * key this command runs with (self, may be NULL) while there is another. */
static const char *deletion_candidate(const struct user_state *us, const char *self)
{
	const struct user_key *oldest = NULL;
	size_t i;
	for (i = 0; i < us->nkeys; i++) {
		const struct user_key *k = &us->keys[i];
		if (self && !strcmp(k->id, self) && us->nkeys > 1)
			continue;
		if (k->status && !strcmp(k->status, "Inactive"))
			return k->id;
		if (!oldest || k->created < oldest->created)
			oldest = k;
	}
	return oldest ? oldest->id : "AKIA...";
}

enum action_result action_create_key(struct action_ctx *a, const char *user, struct sink *sink,
				     const struct create_options *co, char **new_key_id)
{
	struct iam_access_key nk = { 0 };
	enum action_result res = action_create_key_secret(a, user, sink, co, &nk);

	if (new_key_id)
		*new_key_id = res == ACTION_DONE ? xstrdup(nk.access_key_id) : NULL;
	iam_access_key_release(&nk);
	return res;
}

enum action_result action_create_key_secret(struct action_ctx *a, const char *user,
					    struct sink *sink, const struct create_options *co,
					    struct iam_access_key *out)
{
	struct user_state us = USER_STATE_INIT;
	struct iam_access_key nk = { 0 };
	struct strbuf err = STRBUF_INIT, msg = STRBUF_INIT;
	char **before = NULL;
	char *held = NULL;
	struct create_mark_run cm = { 0 };
	size_t i, nbefore = 0;
	int count = 0, pf;
	enum action_result res = ACTION_FAILED;

	memset(out, 0, sizeof(*out));
	if (user_state_read(a->c, user,
			    USER_STATE_KEYS | (co->own_intent_record ? 0 : USER_STATE_TAGS), &us,
			    &err) < 0) {
		action_record_add(a, KEY_CREATE, ACTION_FAILED, user, NULL, err.buf);
		goto out;
	}
	if (user_state_tag(&us, CREATE_MARK_TAG)) {
		int rc = create_mark_recover(a, user, sink, co, &us, &msg);
		if (rc == 2) {
			res = ACTION_NOTHING;
			action_record_add(a, KEY_CREATE, res, user, a->self.key_id, msg.buf);
			goto out;
		}
		if (rc) {
			res = rc > 0 ? ACTION_BLOCKED : ACTION_FAILED;
			action_record_add(a, KEY_CREATE, res, user, NULL, msg.buf);
			goto out;
		}
	}
	before = xcalloc(us.nkeys + 1, sizeof(*before));
	for (i = 0; i < us.nkeys; i++) {
		before[nbefore++] = us.keys[i].id;
		count += effective_status(a, user, &us.keys[i]) >= 0;
	}
	count += planned_new_keys(a, user);

	/* the sink, before the key exists: does it hold a current key already? */
	pf = sink_preflight(sink, &held, &err);
	if (held) {
		for (i = 0; i < us.nkeys; i++) {
			const struct user_key *k = &us.keys[i];
			time_t t = k->created;
			if (strcmp(k->id, held) || effective_status(a, user, k) != 1)
				continue;
			if (co->max_age > 0 && (long long)a->o.now - (long long)t < co->max_age) {
				strbuf_addf(&msg,
					    "%s already holds %s, an Active key of %s created ",
					    sink->target, held, user);
				add_date(&msg, t);
				strbuf_addstr(&msg, " (younger than --max-age ");
				add_window(&msg, co->max_age);
				strbuf_addstr(&msg,
					      "; use --max-age 0 to create a new key anyway)");
				res = ACTION_NOTHING;
				action_record_add(a, KEY_CREATE, res, user, held, msg.buf);
				goto out;
			}
		}
	}
	if (count >= 2) {
		strbuf_addf(&msg, "%s already has %d access keys: ", user, count);
		describe_keys(&msg, &us);
		strbuf_addf(&msg, "; delete one first (iamkeys delete --user %s --key %s)", user,
			    deletion_candidate(&us, a->self.key_id));
		res = ACTION_BLOCKED;
		action_record_add(a, KEY_CREATE, res, user, NULL, msg.buf);
		goto out;
	}

	if (pf > 0) {
		res = ACTION_BLOCKED;
		action_record_add(a, KEY_CREATE, res, user, NULL, err.buf);
		goto out;
	}
	if (pf < 0)
		warning("%s", err.buf);
	strbuf_reset(&err);

	if (!a->o.apply) {
		strbuf_addf(&msg, "secret to %s", sink->target);
		effect_add(a, KEY_CREATE, user, NULL);
		res = ACTION_PLANNED;
		action_record_add(a, KEY_CREATE, res, user, NULL, msg.buf);
		goto out;
	}

	switch (co->own_intent_record ? 0 : create_mark_write(a, user, sink, &cm, &msg)) {
	case 0:
		break;
	case 1:
		res = ACTION_BLOCKED;
		action_record_add(a, KEY_CREATE, res, user, NULL, msg.buf);
		goto out;
	default:
		action_record_add(a, KEY_CREATE, ACTION_FAILED, user, NULL, msg.buf);
		goto out;
	}
	if (iam_create_access_key(a->c, user, &nk, &err) < 0) {
		strbuf_addbuf(&msg, &err);
		/* a key of unknown fate may exist: the mark stays until it is known */
		if (strcmp(aws_client_last_error_code(a->c), AWS_OUTCOME_UNKNOWN) ||
		    clean_up_unknown_create(a, user, before, nbefore, &cm, &msg) == 0) {
			strbuf_reset(&err);
			if (create_mark_drop(a, user, &cm, &err) < 0)
				strbuf_addf(&msg, "; the create mark stays (%s)", err.buf);
		}
		action_record_add(a, KEY_CREATE, ACTION_FAILED, user, NULL, msg.buf);
		goto out;
	}
	if (cm.value && aws_monotonic_ms() - cm.written_ms > ROTATION_DELIVER_BY * 1000.0) {
		strbuf_addf(&msg,
			    "created %s but more than %ds passed since the create mark: not "
			    "delivered",
			    nk.access_key_id, ROTATION_DELIVER_BY);
		undo_create(a, user, nk.access_key_id, &cm, &msg);
		action_record_add(a, KEY_CREATE, ACTION_FAILED, user, nk.access_key_id, msg.buf);
		goto out;
	}
	{
		struct new_secret s;
		s.access_key_id = nk.access_key_id;
		s.secret_access_key = nk.secret_access_key;
		s.user_name = nk.user_name ? nk.user_name : user;
		s.create_date = nk.create_date;
		s.account_id = a->self.account;
		if (sink_deliver(sink, &s, &err) < 0) {
			strbuf_addf(&msg, "delivery failed: %s", err.buf);
			undo_create(a, user, nk.access_key_id, &cm, &msg);
			action_record_add(a, KEY_CREATE, ACTION_FAILED, user, nk.access_key_id,
					  msg.buf);
			goto out;
		}
	}
	aws_test_crash_at("create-after-deliver");
	strbuf_addf(&msg, "secret delivered to %s", sink->target);
	strbuf_reset(&err);
	if (co->self) {
		co->self->mark = cm.value; /* moved: removed once the old key is gone */
		cm.value = NULL;
	} else if (create_mark_drop(a, user, &cm, &err) < 0) {
		/* the key is delivered and kept; a mark left here blocks the next create */
		strbuf_addf(&msg,
			    ", but the create mark %s could not be removed (%s): the next "
			    "create of %s waits for it, then asks %s and keeps %s",
			    CREATE_MARK_TAG, err.buf, user, sink->target, nk.access_key_id);
		action_record_add(a, KEY_CREATE, ACTION_FAILED, user, nk.access_key_id, msg.buf);
		goto out;
	}
	res = ACTION_DONE;
	action_record_add(a, KEY_CREATE, res, user, nk.access_key_id, msg.buf);
	*out = nk; /* moved: the caller wipes the secret */
	memset(&nk, 0, sizeof(nk));
out:
	create_mark_run_release(&cm);
	free(before);
	free(held);
	iam_access_key_release(&nk);
	user_state_release(&us);
	strbuf_release(&err);
	strbuf_release(&msg);
	return res;
}

/* bulk selection */

static void selection_reason(struct strbuf *sb, const struct audit_key *k, unsigned findings,
			     time_t now)
{
	long age = days_between(k->created, now);
	if (findings & FINDING_OLD) {
		add_comma(sb);
		strbuf_addf(sb, "old (%ld days)", age);
	}
	if (findings & FINDING_UNUSED) {
		add_comma(sb);
		if (k->last_used)
			strbuf_addf(sb, "unused for %ld days", days_between(k->last_used, now));
		else
			strbuf_addf(sb, "unused (never used, %ld days old)", age);
	}
	if (findings & FINDING_INACTIVE_STALE) {
		add_comma(sb);
		strbuf_addf(sb, "Inactive, %ld days old", age);
	}
}

int action_run_selection(struct action_ctx *a, enum key_action_kind kind,
			 const struct key_selection *sel, size_t *selected, struct strbuf *err)
{
	struct audit_result r;
	struct strbuf why = STRBUF_INIT;
	size_t i, n = 0;

	if (audit_run(a->c, &sel->audit, &r, err) < 0)
		return -1;
	/* users whose live state does not parse: nothing changes for them */
	for (i = 0; i < r.nskipped; i++, n++)
		action_record_add(a, kind, ACTION_FAILED, r.skipped[i].user, NULL,
				  r.skipped[i].reason);
	for (i = 0; i < r.nkeys; i++) {
		const struct audit_key *k = &r.keys[i];
		unsigned f = k->findings & sel->findings;
		if (k->is_root || !k->key_id || !f)
			continue;
		n++;
		if (k->exempt) {
			action_record_add(a, kind, ACTION_EXEMPT, k->user, k->key_id,
					  k->exempt_reason);
			continue;
		}
		/* SIGINT/SIGTERM: the change in flight completed; no next one */
		if (interrupt_signal())
			break;
		strbuf_reset(&why);
		selection_reason(&why, k, f, a->o.now);
		action_change_key(a, kind, k->user, k->key_id, why.buf);
	}
	*selected = n;
	strbuf_release(&why);
	audit_result_release(&r);
	return 0;
}
