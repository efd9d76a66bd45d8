#include "core/compat.h"
#include "engine/notify_run.h"
#include "core/iamxml.h"
#include "core/notify_event.h"
#include "core/rotation.h"
#include "core/timeutil.h"
#include "aws/client.h"
#include "aws/iam.h"
#include "engine/userstate.h"
#include "sinks/notify.h"

void notify_run_result_release(struct notify_run_result *res)
{
	if (res)
		strbuf_release(&res->errors);
}

static void add_error(struct notify_run_result *res, const char *user, const char *msg)
{
	if (res->errors.len)
		strbuf_addch(&res->errors, '\n');
	strbuf_addf(&res->errors, "notify %s: %s", user, msg);
}

/* The reason of the first failed or refused step, else the user's reason. */
static const char *failure_reason(const struct rotate_user *ru)
{
	size_t i;

	for (i = 0; i < ru->nsteps; i++)
		if (ru->steps[i].state == STEP_FAILED || ru->steps[i].state == STEP_REFUSED)
			return ru->steps[i].detail.buf;
	return ru->reason.len ? ru->reason.buf : NULL;
}

/* What notify_user knows of one user while it decides and sends. */
struct user_notice {
	struct user_state us;
	struct notify_record rec;
	int have_rec;
	struct notify_state st;
	struct rotation_tag rt;
	struct strbuf due; /* the due-soon key's due date */
	char *due_key, *active_key;
	const char *owner;
};

/* The rotation stage and the Active keys of n->us: n->st. */
static void notice_state(const struct notify_run_options *o, const struct rotate_user *ru,
			 struct user_notice *n)
{
	struct strbuf err = STRBUF_INIT;
	char *joined =
		rotation_tag_join(n->us.rotation_value, user_state_tag(&n->us, ROTATION_NEW_TAG));
	time_t oldest = 0;
	size_t i;

	n->owner = user_state_tag(&n->us, o->owner_tag ? o->owner_tag : NOTIFY_OWNER_TAG_DEFAULT);
	n->have_rec = !notify_record_parse(user_state_tag(&n->us, NOTIFY_TAG), &n->rec);
	if (joined && !rotation_tag_parse(joined, &n->rt, &err) && n->rt.stage != STAGE_IDLE) {
		n->st.rotating = 1;
		n->st.stage = (int)n->rt.stage;
		n->st.old_key = n->rt.old_key;
	}
	n->st.blocked = ru->outcome == ROT_BLOCKED && n->rt.stage == STAGE_DELIVERED;
	n->st.failed = ru->failed;
	for (i = 0; i < n->us.nkeys; i++) {
		const struct user_key *ak = &n->us.keys[i];
		time_t created = ak->created;

		if (n->have_rec && !strcmp(ak->id, n->rec.key))
			n->st.record_key_exists = 1;
		if (!ak->active)
			continue;
		if (!n->active_key || created < oldest) {
			free(n->active_key);
			n->active_key = xstrdup(ak->id);
			oldest = created;
		}
		/* due soon, not due yet: a due key is this run's to rotate (delivered or failed) */
		if (o->warn > 0 && o->now - created >= o->rotate_after - o->warn &&
		    o->now - created < o->rotate_after && !n->due_key) {
			n->due_key = xstrdup(ak->id);
			iso8601_format(&n->due, created + (time_t)o->rotate_after);
		}
	}
	n->st.due_key = n->due_key;
	n->st.active_key = n->active_key;
	free(joined);
	strbuf_release(&err);
}

/* The notify target the --config sets for this user (owner, tag), or NULL. */
static struct notifier *notice_config_target(const struct notify_run_options *o,
					     const struct rotate_user *ru,
					     const struct user_notice *n,
					     struct notify_run_result *res)
{
	struct rotconf_settings s;
	struct strbuf err = STRBUF_INIT;
	struct notifier *extra = NULL;
	const char **tk, **tv;

	if (!o->conf)
		return NULL;
	rotconf_settings_unset(&s);
	iam_tags_split(n->us.tags, n->us.ntags, &tk, &tv);
	rotconf_resolve(o->conf, o->account, ru->user, tk, tv, n->us.ntags, &s);
	free(tk);
	free(tv);
	if (s.notify) {
		extra = notifier_new(s.notify, o->ctx, &err);
		if (!extra)
			add_error(res, ru->user, err.buf);
	}
	strbuf_release(&err);
	return extra;
}

/* Event kind k to every target (and extra): 1 when all took it. */
static int notice_send(const struct notify_run_options *o, const struct rotate_user *ru,
		       const struct user_notice *n, const char *key, const struct user_key *lu,
		       int k, struct notifier *extra, struct notify_run_result *res)
{
	struct notify_event ev = { 0 };
	struct strbuf err = STRBUF_INIT, used = STRBUF_INIT;
	const char *where[2] = { ru->sink, NULL };
	size_t t;
	int ok = 1;

	ev.kind = (enum notify_kind)k;
	ev.user = ru->user;
	ev.account = o->account;
	ev.owner = n->owner;
	ev.key_id = key;
	ev.time = o->now;
	if (n->st.rotating && n->rt.new_key[0])
		ev.new_key_id = n->rt.new_key;
	if (k == NOTIFY_DELIVERED && ru->sink)
		ev.where = where;
	if (k == NOTIFY_BLOCKED) {
		ev.reason = ru->reason.len ? ru->reason.buf : NULL;
		if (lu) {
			iso8601_format(&used, lu->last_used);
			ev.last_used_service = lu->service;
			ev.last_used_region = lu->region;
			ev.last_used_date = used.buf;
		}
	}
	if (k == NOTIFY_FAILED)
		ev.reason = failure_reason(ru);
	if (k == NOTIFY_DUE_SOON)
		ev.due_date = n->due.buf;
	for (t = 0; t < o->ntargets + (extra != NULL); t++) {
		struct notifier *to = t < o->ntargets ? o->targets[t] : extra;
		strbuf_reset(&err);
		if (notifier_send(to, &ev, &err) < 0) {
			add_error(res, ru->user, err.buf);
			ok = 0;
		}
	}
	strbuf_release(&err);
	strbuf_release(&used);
	return ok;
}

/* What was sent (done) recorded in NOTIFY_TAG, so that a re-run does not send it again. */
static int notice_record(struct aws_client *c, const struct rotate_user *ru,
			 const struct user_notice *n, const char *key, unsigned done,
			 struct notify_run_result *res)
{
	struct strbuf value = STRBUF_INIT, err = STRBUF_INIT;
	struct notify_record nr = { 0 };
	struct iam_tag tag;
	int ret = 0;

	if (n->have_rec && !strcmp(n->rec.key, key))
		nr = n->rec;
	snprintf(nr.key, sizeof(nr.key), "%s", key);
	nr.sent |= done;
	notify_record_format(&value, &nr);
	tag.key = (char *)NOTIFY_TAG;
	tag.value = value.buf;
	if (iam_tag_user(c, ru->user, &tag, 1, &err) < 0) {
		add_error(res, ru->user, err.buf);
		ret = -1;
	}
	strbuf_release(&value);
	strbuf_release(&err);
	return ret;
}

static int notify_user(struct aws_client *c, const struct notify_run_options *o,
		       const struct rotate_user *ru, struct notify_run_result *res)
{
	struct user_notice n;
	const struct user_key *lu = NULL;
	struct strbuf err = STRBUF_INIT;
	struct notifier *extra = NULL;
	const char *key = NULL;
	unsigned want, done = 0;
	size_t i;
	int k, ret = 0;

	memset(&n, 0, sizeof(n));
	strbuf_init(&n.due, 0);
	if (user_state_read(c, ru->user, USER_STATE_KEYS | USER_STATE_TAGS, &n.us, &err) != 0) {
		add_error(res, ru->user, err.buf);
		ret = -1;
		goto out;
	}
	notice_state(o, ru, &n);
	want = notify_due_events(&n.st, n.have_rec ? &n.rec : NULL, &key);
	if (o->kinds)
		want &= o->kinds;
	if (!want)
		goto out;
	if (want & (1u << NOTIFY_BLOCKED)) {
		for (i = 0; i < n.us.nkeys; i++)
			if (!strcmp(n.us.keys[i].id, key)) {
				strbuf_reset(&err);
				/* without it, the event goes out with the reason only */
				if (!user_state_read_last_used(c, &n.us, i, &err) &&
				    n.us.keys[i].last_used)
					lu = &n.us.keys[i];
			}
	}
	extra = notice_config_target(o, ru, &n, res);
	for (k = 0; k < NOTIFY__COUNT; k++) {
		if (!(want & (1u << k)))
			continue;
		if (notice_send(o, ru, &n, key, lu, k, extra, res)) {
			done |= 1u << k;
			res->sent++;
		} else {
			res->failed++;
		}
	}
	if (done && notice_record(c, ru, &n, key, done, res) < 0)
		ret = -1;
out:
	notifier_free(extra);
	user_state_release(&n.us);
	free(n.due_key);
	free(n.active_key);
	strbuf_release(&n.due);
	strbuf_release(&err);
	return ret;
}

void notify_report_of_users(struct rotate_report *r, const char *const *users, size_t n)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->users = xcalloc(n ? n : 1, sizeof(*r->users));
	r->alloc = n ? n : 1;
	for (i = 0; i < n; i++) {
		struct rotate_user *ru = &r->users[r->n++];
		ru->user = xstrdup(users[i]);
		strbuf_init(&ru->reason, 0);
		ru->outcome = ROT_NOTHING;
	}
}

int notify_after_rotate(struct aws_client *c, const struct notify_run_options *o,
			const struct rotate_report *r, struct notify_run_result *res)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < r->n; i++) {
		if (r->users[i].exempt)
			continue;
		if (notify_user(c, o, &r->users[i], res) < 0)
			ret = -1;
	}
	return ret;
}
