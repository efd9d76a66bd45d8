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

static int notify_user(struct aws_client *c, const struct notify_run_options *o,
		       const struct rotate_user *ru, struct notify_run_result *res)
{
	struct user_state us = USER_STATE_INIT;
	const struct user_key *lu = NULL;
	struct strbuf err = STRBUF_INIT, value = STRBUF_INIT, due = STRBUF_INIT;
	struct strbuf used = STRBUF_INIT;
	struct notify_record rec;
	struct notify_state st = {0};
	struct rotation_tag rt = {0};
	struct notifier *extra = NULL;
	const char *key = NULL, *owner;
	char *joined = NULL, *due_key = NULL, *active_key = NULL;
	time_t oldest = 0;
	const char *where[2] = {ru->sink, NULL};
	unsigned want, done = 0;
	size_t i, t;
	int k, ret = 0, have_rec;

	if (user_state_read(c, ru->user, USER_STATE_KEYS | USER_STATE_TAGS, &us, &err) != 0) {
		add_error(res, ru->user, err.buf);
		ret = -1;
		goto out;
	}
	owner = user_state_tag(&us, o->owner_tag ? o->owner_tag : NOTIFY_OWNER_TAG_DEFAULT);
	have_rec = !notify_record_parse(user_state_tag(&us, NOTIFY_TAG), &rec);
	joined = rotation_tag_join(us.rotation_value, user_state_tag(&us, ROTATION_NEW_TAG));
	strbuf_reset(&err);
	if (joined && !rotation_tag_parse(joined, &rt, &err) && rt.stage != STAGE_IDLE) {
		st.rotating = 1;
		st.stage = (int)rt.stage;
		st.old_key = rt.old_key;
	}
	st.blocked = ru->outcome == ROT_BLOCKED && rt.stage == STAGE_DELIVERED;
	st.failed = ru->failed;
	for (i = 0; i < us.nkeys; i++) {
		const struct user_key *ak = &us.keys[i];
		time_t created = ak->created;

		if (have_rec && !strcmp(ak->id, rec.key))
			st.record_key_exists = 1;
		if (!ak->active)
			continue;
		if (!active_key || created < oldest) {
			free(active_key);
			active_key = xstrdup(ak->id);
			oldest = created;
		}
		/* due soon, not due yet: a due key is this run's to rotate (delivered or failed) */
		if (o->warn > 0 && o->now - created >= o->rotate_after - o->warn &&
		    o->now - created < o->rotate_after && !due_key) {
			due_key = xstrdup(ak->id);
			iso8601_format(&due, created + (time_t)o->rotate_after);
		}
	}
	st.due_key = due_key;
	st.active_key = active_key;
	want = notify_due_events(&st, have_rec ? &rec : NULL, &key);
	if (o->kinds)
		want &= o->kinds;
	if (!want)
		goto out;
	if (want & (1u << NOTIFY_BLOCKED)) {
		for (i = 0; i < us.nkeys; i++)
			if (!strcmp(us.keys[i].id, key)) {
				strbuf_reset(&err);
				/* without it, the event goes out with the reason only */
				if (!user_state_read_last_used(c, &us, i, &err) &&
				    us.keys[i].last_used)
					lu = &us.keys[i];
			}
	}
	if (o->conf) {
		struct rotconf_settings s;
		const char **tk, **tv;

		rotconf_settings_unset(&s);
		iam_tags_split(us.tags, us.ntags, &tk, &tv);
		rotconf_resolve(o->conf, o->account, ru->user, tk, tv, us.ntags, &s);
		free(tk);
		free(tv);
		if (s.notify) {
			strbuf_reset(&err);
			extra = notifier_new(s.notify, o->ctx, &err);
			if (!extra)
				add_error(res, ru->user, err.buf);
		}
	}
	for (k = 0; k < NOTIFY__COUNT; k++) {
		struct notify_event ev = {0};
		int ok = 1;

		if (!(want & (1u << k)))
			continue;
		ev.kind = (enum notify_kind)k;
		ev.user = ru->user;
		ev.account = o->account;
		ev.owner = owner;
		ev.key_id = key;
		ev.time = o->now;
		if (st.rotating && rt.new_key[0])
			ev.new_key_id = rt.new_key;
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
			ev.due_date = due.buf;
		for (t = 0; t < o->ntargets + (extra != NULL); t++) {
			struct notifier *n = t < o->ntargets ? o->targets[t] : extra;
			strbuf_reset(&err);
			if (notifier_send(n, &ev, &err) < 0) {
				add_error(res, ru->user, err.buf);
				ok = 0;
			}
		}
		if (ok) {
			done |= 1u << k;
			res->sent++;
		} else {
			res->failed++;
		}
	}
	if (done) {
		struct iam_tag tag;
		struct notify_record nr = {0};

		if (have_rec && !strcmp(rec.key, key))
			nr = rec;
		snprintf(nr.key, sizeof(nr.key), "%s", key);
		nr.sent |= done;
		notify_record_format(&value, &nr);
		tag.key = (char *)NOTIFY_TAG;
		tag.value = value.buf;
		strbuf_reset(&err);
		if (iam_tag_user(c, ru->user, &tag, 1, &err) < 0) {
			add_error(res, ru->user, err.buf);
			ret = -1;
		}
	}
out:
	notifier_free(extra);
	user_state_release(&us);
	strbuf_release(&used);
	free(joined);
	free(due_key);
	free(active_key);
	strbuf_release(&due);
	strbuf_release(&value);
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
