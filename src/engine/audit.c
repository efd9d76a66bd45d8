/*
 * The audit scan. Two sources:
 *
 * report (default): GenerateCredentialReport (polled with backoff until
 *   COMPLETE; AWS reuses a report younger than 4 hours), GetCredentialReport,
 *   the CSV parsed by header name; findings computed from it; then only the
 *   users with a candidate finding are re-read live (ListAccessKeys, and
 *   GetAccessKeyLastUsed where the report's last-use date cannot settle the
 *   "unused" finding), because the report may be 4 hours old and has no key
 *   ids. A reused report (AWS keeps one for 4 hours) misses what changed
 *   since: one bulk read of every user and its tags (changed_since_report)
 *   finds the users created since and those whose keys iamkeys changed
 *   since (ListUsers finds the created ones when that read is denied); both
 *   are read live, as the api source reads them. A report denied with AccessDenied, or one that does not parse,
 *   falls back to the API source.
 *
 * api: ListUsers, then ListAccessKeys and GetAccessKeyLastUsed for every
 *   user, by --jobs workers with a client (and a connection) each.
 *
 * Tags and groups (for the tag and group exemptions) are read only for users
 * with a finding, in both sources, so both print the same result. With
 * o->quarantine, the policies attached to every user with keys: an
 * AWSCompromisedKeyQuarantine policy is the quarantined finding. Read with
 * the tags for the users whose tags are read (from the bulk read when there
 * is one), with ListAttachedUserPolicies for the others.
 */
#include "core/compat.h"
#include "aws/msg.h"
#include "engine/audit.h"
#include "aws/client.h"
#include "aws/iam.h"
#include "core/credreport.h"
#include "core/rotation.h"
#include "core/timeutil.h"
#include "engine/rootkeys.h"
#include "engine/trace.h"
#include "aws/cloudtrail.h"
#include "engine/userstate.h"

#include <pthread.h>

struct work_user {
	const char *name;
	const char *path;
	const struct cr_user *report; /* NULL in api mode */
	/* its tags, groups and attached policies from a reused report's bulk
	 * read (struct kept_detail), for the exemptions; NULL when not read */
	const struct iam_user_detail *detail;
	char *quarantine_name; /* rescan: the policy the bulk read found attached */
	char *key_ids;	       /* with check_rotation: " ID ID " of its keys */
	/* results */
	struct audit_key *keys;
	size_t nkeys;
	size_t dropped;		 /* keys without a finding, counted and released (no --all) */
	char *skipped;		 /* why the user was skipped (AWS sent data that does not parse) */
	unsigned epoch;		 /* the pool's epoch when the scan started */
	unsigned short requeued; /* times put back after throttling (at most MAX_REQUEUE) */
	/* flags: one work_user per user of the account, 5,000 add up (peak RSS) */
	unsigned report_fresh : 1; /* the report is younger than AWS's last-use granularity */
	/* report source: its row shows keys but no finding (or, both sources, its
	 * keys have none): only the quarantine is read (with the bulk read of the
	 * others' tags when there is one, else one ListAttachedUserPolicies), and
	 * the keys (again) only when the user is quarantined (rescan) */
	unsigned quarantine_only : 1;
	unsigned rescan : 1;
	/* quarantine_pending, and nothing else to look up (no finding, or exempt
	 * by name or path): only the attached policies are read */
	unsigned policies_only : 1;
	/* its attached policies are still to read: with the tags (one bulk read,
	 * or per user), its keys kept until then */
	unsigned quarantine_pending : 1;
	/* has a finding and needs its tags or groups to settle the exemption */
	unsigned needs_lookup : 1;
	/* has a finding and two keys: a rotation of iamkeys' own may explain it */
	unsigned check_rotation : 1;
};

/* A user whose calls stay throttled at a concurrency of 1 fails the scan. */
#define MAX_REQUEUE 8

typedef int (*user_task_fn)(struct aws_client *c, const struct audit_options *o,
			    struct work_user *w, unsigned long *calls, struct strbuf *err);

struct pool {
	const struct audit_options *o;
	struct work_user **users;
	size_t nusers;
	user_task_fn task;
	size_t next; /* next user to take */
	size_t done; /* users finished */
	int stop;    /* an error happened: workers stop taking users */
	struct strbuf err;
	unsigned long calls;
	/*
	 * Adaptive concurrency (additive increase, multiplicative decrease):
	 * at most limit workers scan a user at a time. A user whose calls
	 * were throttled halves it (once per round of in-flight users, never
	 * below 1); limit users in a row without throttling raise it by one,
	 * up to the number of workers. So --jobs is a ceiling that IAM's throttling
	 * lowers, instead of every worker retrying into the same limit until
	 * its attempts run out.
	 */
	int limit, running, workers;
	int ok_streak;
	unsigned epoch; /* cuts so far */
	/* users put back after running out of attempts while throttled */
	struct work_user **again;
	size_t nagain;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void audit_key_release(struct audit_key *k)
{
	FREE_ALL(k->user, k->key_id, k->last_service, k->last_region, k->exempt_reason,
		 k->quarantine);
	trace_result_free(k->callers);
}

void audit_result_release(struct audit_result *r)
{
	FREE_ARRAY(r->keys, r->nkeys, audit_key_release);
	for (size_t i = 0; i < r->nskipped; i++)
		FREE_ALL(r->skipped[i].user, r->skipped[i].reason);
	free(r->skipped);
	memset(r, 0, sizeof(*r));
}

/*
 * The report's slot for a live key: the one with the same creation time (to
 * the second). NULL when none matches, or when both do (two keys created in
 * the same second cannot be told apart: the caller asks AWS instead).
 */
static const struct cr_key *report_slot(const struct cr_user *r, time_t created)
{
	const struct cr_key *found = NULL;
	int i;
	if (!r)
		return NULL;
	for (i = 0; i < 2; i++)
		if (r->keys[i].last_rotated && r->keys[i].last_rotated == created) {
			if (found)
				return NULL;
			found = &r->keys[i];
		}
	return found;
}

/* A quarantined key is never exempt: AWS found the user's key exposed. */
static void set_exempt(struct work_user *w, int exempt, const char *reason)
{
	size_t i;
	for (i = 0; i < w->nkeys; i++) {
		int e = exempt && !(w->keys[i].findings & FINDING_QUARANTINED);
		w->keys[i].exempt = e;
		w->keys[i].exempt_reason = e ? xstrdup(reason) : NULL;
	}
}

static int has_key(const struct work_user *w, const char *id)
{
	char needle[ROTATION_KEY_ID_MAX + 3];

	if (!*id || !w->key_ids)
		return 0;
	snprintf(needle, sizeof(needle), " %s ", id);
	return strstr(w->key_ids, needle) != NULL;
}

/*
 * "rotating (stage delivered since 2026-11-30)" in reason and 1 when the
 * user's rotation tag says iamkeys is rotating it on schedule: stage
 * delivered or deactivated, for both of the user's keys, started at most
 * AUDIT_ROTATION_ON_SCHEDULE ago (AWS time). A tag that does not parse, or
 * names other keys, explains nothing.
 */
static int rotating_on_schedule(const struct audit_options *o, const struct work_user *w,
				const struct iam_tag *tags, size_t ntags, struct strbuf *reason)
{
	struct rotation_tag t;
	struct strbuf err = STRBUF_INIT;
	char *value = user_state_rotation_value(tags, ntags);
	int ok = 0;

	if (value && rotation_tag_parse(value, &t, &err) == 0 &&
	    (t.stage == STAGE_DELIVERED || t.stage == STAGE_DEACTIVATED) && has_key(w, t.old_key) &&
	    has_key(w, t.new_key) && t.t <= o->now && o->now - t.t <= AUDIT_ROTATION_ON_SCHEDULE) {
		struct strbuf when = STRBUF_INIT;
		iso8601_format(&when, t.t);
		strbuf_addf(reason, "rotating (stage %s since %.10s)", rotation_stage_name(t.stage),
			    when.buf);
		strbuf_release(&when);
		ok = 1;
	}
	free(value);
	strbuf_release(&err);
	return ok;
}

static void reset_user(struct work_user *w)
{
	size_t i;
	for (i = 0; i < w->nkeys; i++)
		audit_key_release(&w->keys[i]);
	free(w->keys);
	w->keys = NULL;
	w->nkeys = 0;
	w->dropped = 0;
	w->needs_lookup = 0;
	w->check_rotation = 0;
	w->quarantine_pending = 0;
	w->policies_only = 0;
	free(w->key_ids);
	w->key_ids = NULL;
	FREE_AND_NULL(w->quarantine_name);
}

/* The quarantined finding on every key of w: AWS attached policy name to the user. */
static void set_quarantine(struct work_user *w, const char *name)
{
	size_t i;
	for (i = 0; i < w->nkeys; i++) {
		w->keys[i].findings |= FINDING_QUARANTINED;
		free(w->keys[i].quarantine);
		w->keys[i].quarantine = xstrdup(name);
		/* never exempt (set_exempt may have run first) */
		w->keys[i].exempt = 0;
		w->keys[i].rotating = 0;
		FREE_AND_NULL(w->keys[i].exempt_reason);
	}
}

/* Keeps only keys with a finding (unless --all): 7,500 keys on 5,000 users add up. */
static void drop_clean_keys(const struct audit_options *o, struct work_user *w)
{
	size_t i, kept = 0;

	if (o->all_keys)
		return;
	for (i = 0; i < w->nkeys; i++) {
		if (w->keys[i].findings) {
			w->keys[kept++] = w->keys[i];
		} else {
			audit_key_release(&w->keys[i]);
			w->dropped++;
		}
	}
	w->nkeys = kept;
}

/*
 * A pending quarantine settled from the user's attached policy ARNs. A
 * quarantine-only user found quarantined is left for a rescan (its keys are
 * not read yet); one that is not is done.
 */
static void settle_quarantine(const struct audit_options *o, struct work_user *w, char *const *arns,
			      size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (policy_is_quarantine_arn(arns[i])) {
			set_quarantine(w, strrchr(arns[i], '/') + 1);
			if (w->quarantine_only) {
				w->quarantine_only = 0;
				w->rescan = 1;
				w->quarantine_name = xstrdup(strrchr(arns[i], '/') + 1);
			}
			break;
		}
	w->quarantine_pending = 0;
	drop_clean_keys(o, w);
}

/*
 * w's keys (read into us) with their findings: last use from the report
 * where it settles the question, else live. *any gets every finding. 0, or
 * a user_state_read return (< 0).
 */
static int key_findings(struct aws_client *c, const struct audit_options *o, struct work_user *w,
			struct user_state *us, unsigned *any, struct strbuf *err)
{
	int active = 0;
	size_t i;

	w->keys = xcalloc(us->nkeys ? us->nkeys : 1, sizeof(*w->keys));
	for (i = 0; i < us->nkeys; i++)
		active += us->keys[i].active;
	for (i = 0; i < us->nkeys; i++) {
		struct user_key *uk = &us->keys[i];
		struct audit_key *k = &w->keys[w->nkeys];
		const struct cr_key *slot;
		struct key_facts f;
		int lrc;

		k->user = xstrdup(w->name);
		k->key_id = xstrdup(uk->id);
		k->active = uk->active;
		k->created = uk->created;
		w->nkeys++;

		/*
		 * Last use: the report's date is at most 4 hours old and only
		 * ever earlier than the truth, so it settles "not unused";
		 * only a key the report calls unused (or cannot match) is
		 * asked about live — unless the report is younger than the
		 * 15 minutes at which AWS records last use anyway: then
		 * asking again would only repeat it.
		 */
		slot = report_slot(w->report, uk->created);
		f.active = k->active;
		f.created = uk->created;
		f.last_used = slot ? slot->last_used : 0;
		if (slot &&
		    (w->report_fresh ||
		     !(policy_key_findings(&o->policy, &f, active, o->now) & FINDING_UNUSED))) {
			k->last_used = slot->last_used;
			k->last_service = xstrdup_or_null(slot->last_used_service);
			k->last_region = xstrdup_or_null(slot->last_used_region);
		} else {
			lrc = user_state_read_last_used(c, us, i, err);
			if (lrc < 0)
				return lrc;
			k->last_used = uk->last_used;
			k->last_service = xstrdup_or_null(uk->service);
			k->last_region = xstrdup_or_null(uk->region);
		}
		f.last_used = k->last_used;
		k->findings = policy_key_findings(&o->policy, &f, active, o->now);
		*any |= k->findings;
	}
	return 0;
}

/*
 * After the keys: the quarantine (known from a rescan, else read later with
 * the tags), the rotation check of a two-key user, and whether the user's
 * exemption needs a lookup or is settled now by name and path.
 */
static void plan_lookups(const struct audit_options *o, struct work_user *w,
			 const struct user_state *us, unsigned any)
{
	struct strbuf reason = STRBUF_INIT;
	int exempt = policy_exempt_by_name(&o->policy, w->name, w->path, &reason);
	size_t i;

	if (w->quarantine_name) {
		/* a rescan: the bulk read found the user quarantined */
		set_quarantine(w, w->quarantine_name);
		FREE_AND_NULL(w->quarantine_name);
		any |= FINDING_QUARANTINED;
	} else if (o->quarantine && us->nkeys) {
		/* read with the others' tags (resolve_exemptions): one bulk read, or per user */
		w->quarantine_pending = 1;
	}
	if (!w->quarantine_pending)
		drop_clean_keys(o, w);
	if (any && us->nkeys >= 2) {
		struct strbuf ids = STRBUF_INIT;
		strbuf_addch(&ids, ' ');
		for (i = 0; i < us->nkeys; i++)
			strbuf_addf(&ids, "%s ", us->keys[i].id);
		w->key_ids = strbuf_detach(&ids, NULL);
		w->check_rotation = 1;
	}
	if (!exempt && any &&
	    (w->check_rotation || policy_needs_tags(&o->policy) ||
	     policy_needs_groups(&o->policy))) {
		w->needs_lookup = 1; /* settled by resolve_exemptions() */
	} else {
		set_exempt(w, exempt, reason.buf);
		w->policies_only = w->quarantine_pending;
		w->needs_lookup = w->quarantine_pending;
		if (w->quarantine_pending && !any && !o->all_keys) {
			/* nothing to report unless AWS quarantined the user: the clean keys
			 * go now (memory) and are read again in a rescan if it did */
			drop_clean_keys(o, w);
			w->quarantine_only = 1;
		}
	}
	strbuf_release(&reason);
}

/*
 * Reads one user's keys live and computes their findings and the name and
 * path exemptions; a user that needs its tags or groups (or its attached
 * policies) is left with needs_lookup set. 0 / -1 (nothing kept).
 */
static int scan_user(struct aws_client *c, const struct audit_options *o, struct work_user *w,
		     unsigned long *calls, struct strbuf *err)
{
	struct user_state us = USER_STATE_INIT;
	unsigned any = 0;
	int rc;

	/* a report row without a finding: its quarantine is read with the others'
	 * tags (resolve_exemptions), its keys only if AWS quarantined the user */
	if (w->quarantine_only) {
		w->quarantine_pending = 1;
		w->needs_lookup = 1;
		w->policies_only = 1;
		return 0;
	}
	rc = user_state_read(c, w->name, USER_STATE_KEYS, &us, err);
	if (rc < 0) {
		/* deleted since the credential report was made: no keys left */
		if (rc == -1 && w->report &&
		    !strcmp(aws_client_last_error_code(c), "NoSuchEntity")) {
			strbuf_reset(err);
			rc = 0;
		}
		goto out;
	}
	rc = key_findings(c, o, w, &us, &any, err);
	if (rc == 0)
		plan_lookups(o, w, &us, any);
out:
	*calls += us.calls;
	if (rc < 0)
		reset_user(w);
	if (rc == USER_STATE_INVALID) {
		/* fail closed: this user is left out, with the reason, the scan goes on */
		w->skipped = strbuf_detach(err, NULL);
		rc = 0;
	}
	user_state_release(&us);
	return rc;
}

/* The tag and group exemptions of w from its tags and groups. */
static void exempt_by(const struct audit_options *o, struct work_user *w,
		      const struct iam_tag *tags, size_t ntags, char *const *groups, size_t ngroups)
{
	struct user_facts uf = { w->name, w->path, NULL, NULL, 0, NULL, 0 };
	struct strbuf reason = STRBUF_INIT;
	const char **tk, **tv;
	int exempt;

	iam_tags_split(tags, ntags, &tk, &tv);
	uf.tag_keys = tk;
	uf.tag_values = tv;
	uf.ntags = ntags;
	uf.groups = (const char *const *)groups;
	uf.ngroups = ngroups;
	exempt = policy_user_exempt(&o->policy, &uf, &reason);
	if (!exempt && w->check_rotation && rotating_on_schedule(o, w, tags, ntags, &reason)) {
		size_t i;
		set_exempt(w, 1, reason.buf);
		for (i = 0; i < w->nkeys; i++)
			w->keys[i].rotating = w->keys[i].exempt;
	} else {
		set_exempt(w, exempt, reason.buf);
	}
	w->needs_lookup = 0;
	free(tk);
	free(tv);
	strbuf_release(&reason);
}

/* Reads one user's tags and groups (as the policy needs them). 0 / -1. */
static int lookup_user(struct aws_client *c, const struct audit_options *o, struct work_user *w,
		       unsigned long *calls, struct strbuf *err)
{
	struct user_state us = USER_STATE_INIT;
	unsigned what = (policy_needs_tags(&o->policy) || w->check_rotation ? USER_STATE_TAGS : 0) |
			(policy_needs_groups(&o->policy) ? USER_STATE_GROUPS : 0) |
			(w->quarantine_pending ? USER_STATE_POLICIES : 0);
	int rc = -1;

	if (w->policies_only)
		what = USER_STATE_POLICIES; /* no exemption to settle */
	if (user_state_read(c, w->name, what, &us, err) < 0) {
		/* deleted since its keys were read: so are its keys */
		if (!strcmp(aws_client_last_error_code(c), "NoSuchEntity")) {
			strbuf_reset(err);
			reset_user(w);
			rc = 0;
		}
		goto out;
	}
	if (w->policies_only) {
		settle_quarantine(o, w, us.attached, us.nattached);
		w->needs_lookup = w->policies_only = 0;
	} else {
		if (w->quarantine_pending)
			settle_quarantine(o, w, us.attached, us.nattached);
		exempt_by(o, w, us.tags, us.ntags, us.groups, us.ngroups);
	}
	rc = 0;
out:
	*calls += us.calls;
	user_state_release(&us);
	return rc;
}

struct worker_arg {
	struct pool *pool;
	struct aws_client *client;
};

/*
 * After a user: adapt the pool's limit (p->lock held). A throttled user
 * halves it only if it started after the last cut (at most one cut per
 * round of in-flight users, as TCP cuts once per round trip).
 */
static void adapt_limit(struct pool *p, const struct work_user *w, int throttled, int verbose)
{
	int before = p->limit;

	if (throttled) {
		p->ok_streak = 0;
		if (p->limit > 1 && w->epoch == p->epoch) {
			p->limit /= 2;
			p->epoch++;
		}
	} else if (p->limit < p->workers && ++p->ok_streak >= p->limit) {
		p->limit++;
		p->ok_streak = 0;
	}
	if (verbose && p->limit != before)
		debug("%s: %d concurrent workers", throttled ? "throttled" : "no throttling",
		      p->limit);
}

/* The next user to scan (p->lock held), or NULL when there is none left. */
static struct work_user *take_user(struct pool *p)
{
	for (;;) {
		int more = p->nagain || p->next < p->nusers;

		if (p->stop || (!more && !p->running))
			return NULL;
		if (more && p->running < p->limit) {
			struct work_user *w =
				p->nagain ? p->again[--p->nagain] : p->users[p->next++];
			w->epoch = p->epoch;
			p->running++;
			return w;
		}
		/* wait for a slot, or for a running user that may be put back */
		pthread_cond_wait(&p->cond, &p->lock);
	}
}

static void *worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct pool *p = wa->pool;
	struct strbuf err = STRBUF_INIT;

	for (;;) {
		struct work_user *w;
		unsigned long calls = 0, throttles;
		int rc, throttled;

		pthread_mutex_lock(&p->lock);
		w = take_user(p);
		pthread_mutex_unlock(&p->lock);
		if (!w)
			break;

		throttles = wa->client->throttles;
		rc = p->task(wa->client, p->o, w, &calls, &err);
		throttled = wa->client->throttles != throttles;

		pthread_mutex_lock(&p->lock);
		p->running--;
		p->calls += calls;
		adapt_limit(p, w, throttled, wa->client->verbose);
		if (rc < 0 && retry_is_throttle_code(aws_client_last_error_code(wa->client)) &&
		    w->requeued < MAX_REQUEUE) {
			/* out of attempts while throttled: again later, at the lower limit */
			w->requeued++;
			p->again[p->nagain++] = w;
			rc = 0;
		} else {
			p->done++;
		}
		if (rc < 0) {
			if (!p->stop)
				strbuf_addbuf(&p->err, &err);
			p->stop = 1;
		}
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		strbuf_reset(&err);
	}
	strbuf_release(&err);
	return NULL;
}

static double monotonic_s(void)
{
	return aws_monotonic_ms() / 1000.0;
}

/* Runs task on every user in users[] with o->jobs workers. 0 / -1. */
static int run_pool(struct aws_client *c, const struct audit_options *o, user_task_fn task,
		    struct work_user **users, size_t nusers, unsigned long *calls,
		    struct strbuf *err)
{
	struct pool p;
	int jobs = o->jobs < 1 ? 1 : o->jobs;
	pthread_t *th;
	struct worker_arg *args;
	int started = 0, i, rc = 0, shown = 0;
	double t0 = monotonic_s();

	if (!nusers)
		return 0;
	if ((size_t)jobs > nusers)
		jobs = (int)nusers;
	memset(&p, 0, sizeof(p));
	p.o = o;
	p.users = users;
	p.nusers = nusers;
	p.task = task;
	p.limit = p.workers = jobs;
	p.again = xcalloc(nusers, sizeof(*p.again));
	strbuf_init(&p.err, 0);
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	th = xcalloc((size_t)jobs, sizeof(*th));
	args = xcalloc((size_t)jobs, sizeof(*args));

	for (i = 0; i < jobs; i++) {
		args[i].pool = &p;
		args[i].client = i == 0 ? c : aws_client_clone(c, err);
		if (!args[i].client) {
			rc = -1;
			break;
		}
		if (pthread_create(&th[i], NULL, worker, &args[i])) {
			if (i)
				aws_client_free(args[i].client);
			args[i].client = NULL;
			strbuf_addstr(err, "cannot start a worker thread");
			rc = -1;
			break;
		}
		started++;
	}
	if (rc < 0) {
		pthread_mutex_lock(&p.lock);
		p.stop = 1;
		pthread_cond_broadcast(&p.cond);
		pthread_mutex_unlock(&p.lock);
	}
	/* progress while the workers run */
	for (;;) {
		size_t done;
		int stop;
		pthread_mutex_lock(&p.lock);
		done = p.done;
		stop = p.stop || !started;
		pthread_mutex_unlock(&p.lock);
		if (done >= nusers || stop)
			break;
		if (o->progress && monotonic_s() - t0 > 1.0) {
			o->progress(done, nusers, o->progress_ctx);
			shown = 1;
		}
		aws_sleep_ms(100);
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (shown)
		o->progress(0, 0, o->progress_ctx);
	for (i = 1; i < jobs; i++)
		if (args[i].client)
			aws_client_free(args[i].client);
	if (p.stop && p.err.len) {
		strbuf_addbuf(err, &p.err);
		rc = -1;
	}
	*calls += p.calls;
	strbuf_release(&p.err);
	free(p.again);
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
	free(th);
	free(args);
	return rc;
}

/* GenerateCredentialReport until COMPLETE, then GetCredentialReport. */
static int fetch_report(struct aws_client *c, const struct audit_options *o,
			struct cred_report *rep, struct audit_result *out, unsigned long *calls,
			struct aws_error *aerr, struct strbuf *err)
{
	double t0 = monotonic_s();
	long delay = 250;
	int first = 1;
	struct strbuf csv = STRBUF_INIT;
	char *generated = NULL;
	int rc = -1;

	for (;;) {
		char *state = NULL;
		(*calls)++;
		if (iam_generate_credential_report_ex(c, &state, aerr, err) < 0)
			goto out;
		if (state && !strcmp(state, "COMPLETE")) {
			out->report_reused = first;
			free(state);
			break;
		}
		free(state);
		first = 0;
		if (monotonic_s() - t0 > (double)o->report_timeout_s) {
			strbuf_addf(err,
				    "GenerateCredentialReport: the report was not ready after %lds",
				    o->report_timeout_s);
			goto out;
		}
		aws_sleep_ms(delay);
		delay = delay * 2 > 4000 ? 4000 : delay * 2;
	}
	(*calls)++;
	if (iam_get_credential_report_ex(c, &csv, &generated, aerr, err) < 0)
		goto out;
	if (generated)
		iso8601_parse(generated, &out->report_generated);
	if (cred_report_parse(csv.buf, csv.len, rep, err) < 0) {
		out->report_unparseable = 1;
		goto out;
	}
	rc = 0;
out:
	free(generated);
	strbuf_release(&csv);
	return rc;
}

static int cmp_keys(const void *a, const void *b)
{
	const struct audit_key *x = a, *y = b;
	int c;
	if (x->is_root != y->is_root)
		return x->is_root ? -1 : 1;
	c = strcmp(x->user, y->user);
	if (c)
		return c;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->key_id ? x->key_id : "", y->key_id ? y->key_id : "");
}

/* Takes k over (scan_user already dropped keys without a finding unless --all). */
static void add_key(struct audit_result *r, struct audit_key *k)
{
	size_t b;
	r->keys_scanned += !k->is_root;
	if (!k->exempt)
		for (b = 0; b < FINDING_COUNT; b++)
			if (k->findings & (1u << b))
				r->findings_count[b]++;
	ALLOC_GROW(r->keys, r->nkeys + 1, r->alloc);
	r->keys[r->nkeys++] = *k;
}

static void add_root_row(struct audit_result *r)
{
	struct audit_key k;
	memset(&k, 0, sizeof(k));
	k.user = xstrdup("<root_account>");
	k.is_root = 1;
	k.active = 1;
	k.findings = FINDING_ROOT_KEY;
	add_key(r, &k);
}

static void collect(struct audit_result *out, struct work_user *users, size_t n)
{
	size_t i, j, total = out->nkeys;

	/* one allocation, not a growing copy (peak RSS) */
	for (i = 0; i < n; i++)
		total += users[i].nkeys;
	if (total > out->alloc) {
		out->keys = xrealloc(out->keys, total * sizeof(*out->keys));
		out->alloc = total;
	}
	for (i = 0; i < n; i++) {
		if (users[i].skipped) {
			struct audit_skip *sk;
			ALLOC_GROW(out->skipped, out->nskipped + 1, out->alloc_skipped);
			sk = &out->skipped[out->nskipped++];
			sk->user = xstrdup(users[i].name);
			sk->reason = users[i].skipped;
			users[i].skipped = NULL;
		}
		out->keys_scanned += users[i].dropped;
		for (j = 0; j < users[i].nkeys; j++)
			add_key(out, &users[i].keys[j]);
		free(users[i].keys);
		users[i].keys = NULL;
		users[i].nkeys = 0;
	}
}

static void release_work(struct work_user *users, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		reset_user(&users[i]);
		free(users[i].skipped);
	}
	free(users);
}

/* Root keys in api mode: GetAccountSummary's AccountAccessKeysPresent. */
static int root_has_keys(struct aws_client *c, unsigned long *calls, int *present,
			 struct strbuf *err)
{
	struct iam_summary_entry *e = NULL;
	size_t n = 0, i;
	(*calls)++;
	if (iam_get_account_summary(c, &e, &n, err) < 0)
		return -1;
	*present = 0;
	for (i = 0; i < n; i++) {
		if (!strcmp(e[i].key, "AccountAccessKeysPresent"))
			*present = e[i].value > 0;
		free(e[i].key);
	}
	free(e);
	return 0;
}

static int scan_users(struct aws_client *c, const struct audit_options *o, struct work_user *work,
		      size_t n, size_t nusers, int bulk, unsigned long *calls, struct strbuf *err);

/*
 * Root keys from a root session (o->root_caller): one row per key, with its
 * id; an Active one is a root-key finding. 1 when read (rows added), 0
 * when the session could not be had (a warning: GetAccountSummary then).
 */
static int root_keys_assumed(const struct audit_options *o, struct audit_result *out)
{
	struct root_options ro;
	struct root_account *ra = NULL;
	struct strbuf why = STRBUF_INIT;
	size_t i;
	int rc = 0;

	memset(&ro, 0, sizeof(ro));
	ro.mode = ROOT_READ;
	out->api_calls += 2;
	if (rootkeys_account(o->root_caller, o->root_account, &ro, &ra, &why) < 0) {
		warning("account %s: root keys not read with AssumeRoot (%s); asking "
			"GetAccountSummary",
			o->root_account, why.buf);
		goto out;
	}
	for (i = 0; i < ra->nkeys; i++) {
		const struct root_key *rk = &ra->keys[i];
		struct audit_key k;

		out->api_calls++;
		memset(&k, 0, sizeof(k));
		k.user = xstrdup("<root_account>");
		k.key_id = xstrdup(rk->key_id);
		k.is_root = 1;
		k.active = rk->active;
		if (rk->create_date)
			iso8601_parse(rk->create_date, &k.created);
		k.last_used = rk->last_used;
		k.last_service = xstrdup_or_null(rk->last_used_service);
		k.findings = rk->active ? FINDING_ROOT_KEY : 0;
		if (k.findings || o->all_keys) {
			add_key(out, &k);
		} else {
			free(k.user);
			free(k.key_id);
			free(k.last_service);
		}
	}
	rc = 1;
out:
	root_account_free(ra);
	strbuf_release(&why);
	return rc;
}

/* Before the first decision, after the first response: AWS's time. */
static void take_aws_time(struct aws_client *c, struct audit_options *o, struct audit_result *out)
{
	if (!o->now)
		o->now = aws_client_now(c);
	out->now = o->now;
}

static int audit_api(struct aws_client *c, struct audit_options *o, struct audit_result *out,
		     struct strbuf *err)
{
	struct iam_user_list users = { 0 };
	struct work_user *work;
	size_t i;
	int rc = -1, root = 0;

	out->source_used = AUDIT_SOURCE_API;
	if (o->nusers) {
		for (i = 0; i < o->nusers; i++) {
			struct iam_user u = { 0 };
			size_t err_len = err->len;

			size_t j;

			for (j = 0; j < i && strcmp(o->users[j], o->users[i]); j++)
				;
			if (j < i)
				continue; /* a name given twice */
			out->api_calls++;
			if (iam_get_user(c, o->users[i], &u, err) < 0) {
				if (o->user_may_be_missing &&
				    !strcmp(aws_client_last_error_code(c), "NoSuchEntity")) {
					strbuf_setlen(err, err_len);
					continue;
				}
				iam_user_list_release(&users);
				return -1;
			}
			ALLOC_GROW(users.users, users.nusers + 1, users.alloc);
			users.users[users.nusers++] = u;
		}
		if (!users.nusers) {
			iam_user_list_release(&users);
			return 0;
		}
	} else {
		if (o->root_caller && o->root_account && root_keys_assumed(o, out))
			; /* rows added */
		else if (root_has_keys(c, &out->api_calls, &root, err) < 0)
			return -1;
		if (iam_list_users(c, NULL, &users, err) < 0) {
			iam_user_list_release(&users);
			return -1;
		}
		out->api_calls += users.pages;
	}
	take_aws_time(c, o, out);
	work = xcalloc(users.nusers + 1, sizeof(*work));
	for (i = 0; i < users.nusers; i++) {
		struct iam_user *u = &users.users[i];
		work[i].name = u->user_name;
		work[i].path = u->path;
		/* only the name and path are used: the rest goes now (peak RSS) */
		FREE_AND_NULL(u->user_id);
		FREE_AND_NULL(u->arn);
		FREE_AND_NULL(u->create_date);
		FREE_AND_NULL(u->password_last_used);
	}
	if (scan_users(c, o, work, users.nusers, users.nusers, 1, &out->api_calls, err) < 0)
		goto out;
	out->users_scanned = users.nusers;
	if (root)
		add_root_row(out);
	collect(out, work, users.nusers);
	rc = 0;
out:
	release_work(work, users.nusers);
	iam_user_list_release(&users);
	return rc;
}

/* Would this report row's keys have a finding now? */
static int report_candidate(const struct audit_options *o, const struct cr_user *u)
{
	int i, active = 0;
	for (i = 0; i < 2; i++)
		active += u->keys[i].active == CR_TRUE;
	for (i = 0; i < 2; i++) {
		struct key_facts f;
		if (u->keys[i].active == CR_NA || !u->keys[i].last_rotated)
			continue;
		f.active = u->keys[i].active == CR_TRUE;
		f.created = u->keys[i].last_rotated;
		f.last_used = u->keys[i].last_used;
		if (policy_key_findings(&o->policy, &f, active, o->now))
			return 1;
	}
	return 0;
}

static int report_has_keys(const struct cr_user *u)
{
	return (u->keys[0].active != CR_NA && u->keys[0].last_rotated) ||
	       (u->keys[1].active != CR_NA && u->keys[1].last_rotated);
}

/* Is this report row read live: a candidate, or (o->quarantine) a user with keys? */
static int report_wanted(const struct audit_options *o, const struct cr_user *u)
{
	return o->all_keys || report_candidate(o, u) || (o->quarantine && report_has_keys(u));
}

static const char *path_from_arn(const char *arn, struct strbuf *buf)
{
	/* arn:aws:iam::123456789012:user/division/name -> /division/ */
	const char *p = arn ? strstr(arn, ":user/") : NULL;
	const char *last;
	if (!p)
		return "/";
	p += 5;
	last = strrchr(p, '/');
	if (last == p)
		return "/"; /* most users: no allocation */
	strbuf_reset(buf);
	strbuf_add(buf, p, (size_t)(last - p) + 1);
	return buf->buf;
}

static int cmp_work_name(const void *a, const void *b)
{
	return strcmp((*(struct work_user *const *)a)->name, (*(struct work_user *const *)b)->name);
}

/* The users waiting for their tags and groups, sorted by name. */
struct details_ctx {
	const struct audit_options *o;
	struct work_user **need;
	size_t m;
};

static struct work_user *find_need(const struct details_ctx *d, const char *name)
{
	struct work_user key, *kp = &key, **found;

	key.name = name;
	found = bsearch(&kp, d->need, d->m, sizeof(*d->need), cmp_work_name);
	return found ? *found : NULL;
}

static int want_detail(const char *name, void *ctx)
{
	return find_need(ctx, name) != NULL;
}

/* Settles w's pending lookups from its bulk-read details u. */
static void apply_user_detail(const struct audit_options *o, struct work_user *w,
			      const struct iam_user_detail *u)
{
	if (w->needs_lookup && w->policies_only) {
		settle_quarantine(o, w, u->attached, u->nattached);
		w->needs_lookup = w->policies_only = 0;
	} else if (w->needs_lookup) {
		if (w->quarantine_pending)
			settle_quarantine(o, w, u->attached, u->nattached);
		exempt_by(o, w, u->user.tags, u->user.ntags, u->groups, u->ngroups);
	}
}

static void apply_detail(const struct iam_user_detail *u, void *ctx)
{
	const struct details_ctx *d = ctx;
	struct work_user *w = find_need(d, u->user.user_name);

	if (w)
		apply_user_detail(d->o, w, u);
}

/*
 * The tag and group exemptions of the users in need[] (those with a finding
 * that no name or path exemption covers): from the details read already
 * (w->detail), else one ListUserTags (and ListGroupsForUser) per user, or
 * for everyone at once GetAccountAuthorizationDetails at 1,000 users a page
 * (unless !bulk: denied already), whichever takes fewer calls. nusers is
 * the account's user count. The users the bulk read does not cover (not
 * allowed: AccessDenied; or not found) are read one by one. 0 / -1.
 */
static int resolve_exemptions(struct aws_client *c, const struct audit_options *o,
			      struct work_user **need, size_t m, size_t nusers, int bulk,
			      unsigned long *calls, struct strbuf *err)
{
	size_t i, k,
		per_user = (size_t)policy_needs_tags(&o->policy) +
			   (size_t)policy_needs_groups(&o->policy);

	for (i = k = 0; i < m; i++) {
		if (need[i]->detail)
			apply_user_detail(o, need[i], need[i]->detail);
		if (need[i]->needs_lookup)
			need[k++] = need[i];
	}
	m = k;
	if (!m)
		return 0;
	if (!per_user)
		per_user = 1; /* only rotation tags to read */
	if (bulk && m * per_user > nusers / 1000 + 1) {
		struct details_ctx d = { o, need, m };
		size_t err_len = err->len;

		qsort(need, m, sizeof(*need), cmp_work_name);
		if (iam_get_user_details(c, want_detail, &d, apply_detail, &d, calls, err) < 0) {
			if (strcmp(aws_client_last_error_code(c), "AccessDenied"))
				return -1;
			strbuf_setlen(err, err_len);
		}
		for (i = k = 0; i < m; i++)
			if (need[i]->needs_lookup)
				need[k++] = need[i];
		m = k;
	}
	return run_pool(c, o, lookup_user, need, m, calls, err);
}

/*
 * Reads the users in work[]: their keys and findings (scan_user), then the
 * tags and groups of those whose exemption depends on them. 0 / -1.
 */
static int scan_users(struct aws_client *c, const struct audit_options *o, struct work_user *work,
		      size_t n, size_t nusers, int bulk, unsigned long *calls, struct strbuf *err)
{
	struct work_user **ptrs = xcalloc(n + 1, sizeof(*ptrs));
	size_t i, m = 0;
	int rc;

	for (i = 0; i < n; i++)
		ptrs[i] = &work[i];
	rc = run_pool(c, o, scan_user, ptrs, n, calls, err);
	if (rc == 0) {
		for (i = 0; i < n; i++)
			if (work[i].needs_lookup)
				ptrs[m++] = &work[i];
		rc = resolve_exemptions(c, o, ptrs, m, nusers, bulk, calls, err);
	}
	/* the quarantine-only users AWS quarantined: now their keys, read live */
	for (i = m = 0; rc == 0 && i < n; i++)
		if (work[i].rescan) {
			char *name = work[i].quarantine_name;
			work[i].quarantine_name = NULL;
			reset_user(&work[i]); /* its clean keys were counted and dropped */
			work[i].quarantine_name = name;
			work[i].rescan = 0;
			ptrs[m++] = &work[i];
		}
	if (rc == 0 && m) {
		size_t k = m;
		rc = run_pool(c, o, scan_user, ptrs, k, calls, err);
		for (i = m = 0; rc == 0 && i < k; i++)
			if (ptrs[i]->needs_lookup)
				ptrs[m++] = ptrs[i];
		if (rc == 0)
			rc = resolve_exemptions(c, o, ptrs, m, nusers, bulk, calls, err);
	}
	free(ptrs);
	return rc;
}

static int cmp_report_name(const void *a, const void *b)
{
	return strcmp((*(const struct cr_user *const *)a)->user,
		      (*(const struct cr_user *const *)b)->user);
}

/*
 * Do these tags record a key change by iamkeys at or after since? A create
 * mark (a create under way, or one that died), a rotation stage entered
 * then, or a KEYS_CHANGED_TAG record of then. A record that does not parse
 * cannot tell: read live too.
 */
static int tags_show_change(const struct iam_tag *tags, size_t ntags, time_t since)
{
	struct strbuf err = STRBUF_INIT;
	char *rot = user_state_rotation_value(tags, ntags);
	struct rotation_tag t;
	time_t when;
	size_t i;
	int changed = 0;

	for (i = 0; i < ntags && !changed; i++) {
		if (!strcmp(tags[i].key, CREATE_MARK_TAG))
			changed = 1;
		else if (!strcmp(tags[i].key, KEYS_CHANGED_TAG))
			changed =
				keys_changed_parse(tags[i].value, &when, &err) < 0 || when >= since;
	}
	if (!changed && rot)
		changed = rotation_tag_parse(rot, &t, &err) < 0 || t.t >= since;
	free(rot);
	strbuf_release(&err);
	return changed;
}

/* A user's details from the bulk read of a reused report's pass. */
struct kept_detail {
	struct iam_user_detail d; /* name, tags; groups and attached policies when needed */
	int changed;		  /* its tags record a key change since the report */
	int not_in_report;	  /* created since the report (d.user.path kept) */
};

struct since_ctx {
	const struct audit_options *o;
	const struct cr_user **rows; /* the report's users, by name */
	size_t nrows;
	time_t since;
	struct kept_detail *kept;
	size_t nkept, alloc;
};

static const struct cr_user *find_row(const struct since_ctx *x, const char *name)
{
	struct cr_user key;
	const struct cr_user *kp = &key, **found;

	key.user = (char *)name;
	found = bsearch(&kp, x->rows, x->nrows, sizeof(*x->rows), cmp_report_name);
	return found ? *found : NULL;
}

/*
 * A reused report lacks the users created since, and the bulk read that
 * lists them was denied: ListUsers, keeping in lu only the users not in the
 * report's rows (x->rows; a list of every user costs more memory than the
 * rest of a reused report's audit), read live as --source api would.
 * 0, or -1 with err.
 */
static int users_since_report(struct aws_client *c, const struct since_ctx *x,
			      struct iam_user_list *lu, unsigned long *calls, struct strbuf *err)
{
	size_t i, n = 0;
	int rc = iam_list_users(c, NULL, lu, err);

	*calls += lu->pages;
	if (rc < 0)
		return -1;
	for (i = 0; i < lu->nusers; i++) {
		if (!lu->users[i].user_name || find_row(x, lu->users[i].user_name)) {
			iam_user_release(&lu->users[i]);
			continue;
		}
		lu->users[n++] = lu->users[i];
	}
	lu->nusers = n;
	return 0;
}

static char **copy_names(char *const *v, size_t n)
{
	char **out = xcalloc(n + 1, sizeof(*out));
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

/*
 * Keeps the details of the users audit reads live (the report's candidates,
 * those it does not list, those changed since it); only what the exemptions
 * and the quarantine use.
 */
static void since_detail(const struct iam_user_detail *u, void *ctx)
{
	struct since_ctx *x = ctx;
	const struct cr_user *row = find_row(x, u->user.user_name);
	int changed = row && tags_show_change(u->user.tags, u->user.ntags, x->since);
	struct kept_detail *k;
	size_t i;

	if (row && !changed && !report_wanted(x->o, row))
		return; /* its report row is all audit reads */
	ALLOC_GROW(x->kept, x->nkept + 1, x->alloc);
	k = &x->kept[x->nkept++];
	memset(k, 0, sizeof(*k));
	k->changed = changed;
	k->not_in_report = !row;
	k->d.user.user_name = xstrdup(u->user.user_name);
	if (!row)
		k->d.user.path = xstrdup_or_null(u->user.path);
	/* the tags the exemptions read: the exempt tag and iamkeys' own */
	k->d.user.tags = xcalloc(u->user.ntags + 1, sizeof(*k->d.user.tags));
	for (i = 0; i < u->user.ntags; i++) {
		const char *key = u->user.tags[i].key;

		if (strncmp(key, "iamkeys:", 8) &&
		    (!x->o->policy.exempt_tag_key || strcmp(key, x->o->policy.exempt_tag_key)))
			continue;
		k->d.user.tags[k->d.user.ntags].key = xstrdup(key);
		k->d.user.tags[k->d.user.ntags++].value = xstrdup_or_null(u->user.tags[i].value);
	}
	if (policy_needs_groups(&x->o->policy)) {
		k->d.groups = copy_names(u->groups, u->ngroups);
		k->d.ngroups = u->ngroups;
	}
	if (x->o->quarantine) {
		k->d.attached = copy_names(u->attached, u->nattached);
		k->d.nattached = u->nattached;
	}
}

static int cmp_kept_name(const void *a, const void *b)
{
	return strcmp(((const struct kept_detail *)a)->d.user.user_name,
		      ((const struct kept_detail *)b)->d.user.user_name);
}

static const struct kept_detail *find_kept(const struct since_ctx *x, const char *name)
{
	struct kept_detail key;

	if (!x->nkept)
		return NULL;
	key.d.user.user_name = (char *)name;
	return bsearch(&key, x->kept, x->nkept, sizeof(*x->kept), cmp_kept_name);
}

static void kept_detail_release(struct kept_detail *k)
{
	iam_user_detail_release(&k->d);
}

static void since_release(struct since_ctx *x)
{
	FREE_ARRAY(x->kept, x->nkept, kept_detail_release);
	free(x->rows);
	memset(x, 0, sizeof(*x));
}

/*
 * A reused report may predate key changes iamkeys made: every user's tags
 * in one bulk read (GetAccountAuthorizationDetails, 1,000 users a page),
 * the users whose tags record a change since the report marked changed
 * (tags_show_change), and the details of those audit reads live kept for
 * their exemptions (x->kept, by name). Denied: a warning, nothing kept,
 * *bulk = 0 (the exemptions are read per user). 0, or -1 with err.
 */
static int changed_since_report(struct aws_client *c, const struct cred_report *rep,
				const struct audit_result *out, struct since_ctx *x, int *bulk,
				unsigned long *calls, struct strbuf *err)
{
	size_t i, err_len = err->len;

	x->rows = xcalloc(rep->nusers + 1, sizeof(*x->rows));
	for (i = 0; i < rep->nusers; i++)
		if (!rep->users[i].is_root)
			x->rows[x->nrows++] = &rep->users[i];
	qsort(x->rows, x->nrows, sizeof(*x->rows), cmp_report_name);
	x->since = (time_t)((long long)out->report_generated - AUDIT_REPORT_LAG);
	if (iam_get_user_details(c, NULL, NULL, since_detail, x, calls, err) < 0) {
		if (strcmp(aws_client_last_error_code(c), "AccessDenied"))
			return -1;
		warning("%s: users whose keys iamkeys changed since the reused report are read "
			"from it, not live",
			err->buf + err_len);
		strbuf_setlen(err, err_len);
		FREE_ARRAY(x->kept, x->nkept, kept_detail_release);
		x->kept = NULL;
		x->nkept = x->alloc = 0;
		*bulk = 0;
		return 0;
	}
	qsort(x->kept, x->nkept, sizeof(*x->kept), cmp_kept_name);
	return 0;
}

/* The users audit_report reads live: work[0, nrep) with their report rows, then the others. */
struct report_work {
	struct work_user *work;
	struct strbuf *paths;
	size_t n, nrep;
	/* a reused report: the users it lacks (from the bulk read, or ListUsers) */
	struct iam_user_list lu;
};

static void report_work_release(struct report_work *rw)
{
	if (rw->work)
		release_work(rw->work, rw->n);
	if (rw->paths)
		FREE_ARRAY(rw->paths, rw->n, strbuf_release);
	iam_user_list_release(&rw->lu);
}

static void report_work_add(struct report_work *rw, const char *name, const char *arn,
			    const char *path)
{
	struct work_user *w = &rw->work[rw->n];

	strbuf_init(&rw->paths[rw->n], 0);
	w->name = name;
	w->path = arn ? path_from_arn(arn, &rw->paths[rw->n]) : path ? path : "/";
	rw->n++;
}

/*
 * The work of a report: its candidates (report_wanted) with their rows,
 * then the users it does not list (lu) and those changed since it
 * (x), read live. Counts the users and the keys of the report's rows.
 */
static void report_work_build(const struct audit_options *o, const struct cred_report *rep,
			      const struct iam_user_list *lu, const struct since_ctx *x,
			      struct audit_result *out, struct report_work *rw, int *root)
{
	const struct cr_user **changed = xcalloc(rep->nusers + 1, sizeof(*changed));
	size_t i, n = 0, nchanged = 0;

	/* arrays for the candidates only (peak RSS: a fifth of them may do) */
	for (i = 0; i < rep->nusers; i++) {
		const struct kept_detail *k = find_kept(x, rep->users[i].user);
		if (rep->users[i].is_root)
			continue;
		if (k && k->changed)
			changed[nchanged++] = &rep->users[i];
		else
			n += report_wanted(o, &rep->users[i]);
	}
	rw->work = xcalloc(n + lu->nusers + nchanged + 1, sizeof(*rw->work));
	rw->paths = xcalloc(n + lu->nusers + nchanged + 1, sizeof(*rw->paths));
	for (i = 0; i < rep->nusers; i++) {
		const struct cr_user *u = &rep->users[i];
		const struct kept_detail *k = find_kept(x, u->user);
		struct work_user *w = &rw->work[rw->n];

		if (u->is_root) {
			*root = u->keys[0].active == CR_TRUE || u->keys[1].active == CR_TRUE;
			continue;
		}
		out->users_scanned++;
		if (k && k->changed)
			continue; /* read live below: its keys are counted as they are read */
		out->keys_scanned += (u->keys[0].active != CR_NA && u->keys[0].last_rotated) +
				     (u->keys[1].active != CR_NA && u->keys[1].last_rotated);
		if (!report_wanted(o, u))
			continue;
		report_work_add(rw, u->user, u->arn, NULL);
		w->quarantine_only = !o->all_keys && !report_candidate(o, u);
		w->report = u;
		w->report_fresh = out->report_generated &&
				  (long long)o->now - (long long)out->report_generated <= 15 * 60;
	}
	rw->nrep = rw->n;
	for (i = 0; i < lu->nusers; i++) {
		const struct iam_user *u = &lu->users[i];
		report_work_add(rw, u->user_name, NULL, u->path);
		out->users_scanned++;
	}
	for (i = 0; i < nchanged; i++)
		report_work_add(rw, changed[i]->user, changed[i]->arn, NULL);
	out->report_changed_users = nchanged;
	for (i = 0; i < rw->n; i++) {
		const struct kept_detail *k = find_kept(x, rw->work[i].name);
		rw->work[i].detail = k ? &k->d : NULL;
	}
	free(changed);
}

/*
 * The users a reused report lacks, from the bulk read that listed every
 * user (x, when it was allowed): into rw's list, as users_since_report
 * would give them, without a ListUsers.
 */
static void added_from_details(const struct since_ctx *x, struct report_work *rw)
{
	size_t i;

	rw->lu.users = xcalloc(x->nkept + 1, sizeof(*rw->lu.users));
	for (i = 0; i < x->nkept; i++) {
		struct iam_user *u;

		if (!x->kept[i].not_in_report)
			continue;
		u = &rw->lu.users[rw->lu.nusers++];
		u->user_name = xstrdup(x->kept[i].d.user.user_name);
		u->path = xstrdup_or_null(x->kept[i].d.user.path);
	}
}

static int audit_report(struct aws_client *c, struct audit_options *o, struct audit_result *out,
			struct strbuf *err)
{
	struct cred_report rep = { 0 };
	struct aws_error aerr = { 0 };
	struct report_work rw = { 0 };
	struct since_ctx since = { 0 };
	int rc = -1, root = 0, bulk = 1;

	if (fetch_report(c, o, &rep, out, &out->api_calls, &aerr, err) < 0) {
		if ((aerr.code && !strcmp(aerr.code, "AccessDenied")) || out->report_unparseable) {
			warning("the credential report was %s (%s); falling back to --source api",
				out->report_unparseable ? "not readable" : "denied", err->buf);
			strbuf_reset(err);
			aws_error_release(&aerr);
			cred_report_release(&rep);
			return audit_api(c, o, out, err);
		}
		goto out;
	}
	out->source_used = AUDIT_SOURCE_REPORT;
	take_aws_time(c, o, out);
	/* a reused report: one bulk read of every user finds those created and
	 * those changed since; without it, ListUsers finds those created */
	since.o = o;
	if (out->report_reused &&
	    changed_since_report(c, &rep, out, &since, &bulk, &out->api_calls, err) < 0)
		goto out;
	if (out->report_reused && bulk) {
		added_from_details(&since, &rw);
	} else if (out->report_reused &&
		   users_since_report(c, &since, &rw.lu, &out->api_calls, err) < 0) {
		if (strcmp(aws_client_last_error_code(c), "AccessDenied"))
			goto out;
		warning("%s: users created since the reused report are not read", err->buf);
		strbuf_reset(err);
	}
	out->report_new_users = rw.lu.nusers;
	report_work_build(o, &rep, &rw.lu, &since, out, &rw, &root);
	if (scan_users(c, o, rw.work, rw.n, out->users_scanned, bulk, &out->api_calls, err) < 0)
		goto out;
	if (root)
		add_root_row(out);
	/* keys_scanned counted from the report; don't count re-read keys twice
	 * (those of the users read live count as they are collected) */
	{
		size_t scanned;
		collect(out, rw.work + rw.nrep, rw.n - rw.nrep);
		scanned = out->keys_scanned;
		collect(out, rw.work, rw.nrep);
		out->keys_scanned = scanned;
	}
	rc = 0;
out:
	report_work_release(&rw);
	since_release(&since);
	aws_error_release(&aerr);
	cred_report_release(&rep);
	return rc;
}

int audit_trace(struct aws_client *c, struct audit_result *r, const char *const *regions,
		size_t nregions, time_t start, time_t end, struct audit_trace_stats *st,
		struct strbuf *err)
{
	struct cloudtrail_pacer *pacers = xcalloc(nregions + 1, sizeof(*pacers));
	struct trace_options o = { .start = start,
				   .end = end,
				   .regions = regions,
				   .nregions = nregions,
				   .pacers = pacers };
	size_t i;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < r->nkeys && !rc; i++) {
		struct audit_key *k = &r->keys[i];
		struct trace_result *tr;
		struct strbuf e = STRBUF_INIT;

		if (k->is_root || !k->key_id || !k->findings || k->callers)
			continue;
		tr = xcalloc(1, sizeof(*tr));
		o.key_id = k->key_id;
		if (trace_key(c, &o, tr, &e) < 0) {
			st->calls += tr->calls;
			if (tr->denied) {
				st->denied = 1;
			} else {
				strbuf_addf(err, "trace of %s: %s", k->key_id, e.buf);
				rc = -1;
			}
			trace_result_release(tr);
			free(tr);
			strbuf_release(&e);
			break;
		}
		st->keys++;
		st->calls += tr->calls;
		st->malformed += tr->malformed;
		k->callers = tr;
		strbuf_release(&e);
	}
	if (st->denied || rc) {
		/* all or nothing: a partial trace would read as "no callers" */
		for (i = 0; i < r->nkeys; i++)
			if (r->keys[i].callers) {
				trace_result_release(r->keys[i].callers);
				free(r->keys[i].callers);
				r->keys[i].callers = NULL;
			}
		st->keys = 0;
	}
	free(pacers);
	return rc;
}

/* The scan (audit.h): --user and --source api read live, else the report; AWS's time. */
int audit_run(struct aws_client *c, const struct audit_options *o, struct audit_result *out,
	      struct strbuf *err)
{
	struct audit_options at = *o; /* at.now: AWS's time (take_aws_time) */
	int rc;
	memset(out, 0, sizeof(*out));
	if (o->nusers || o->source == AUDIT_SOURCE_API)
		rc = audit_api(c, &at, out, err);
	else
		rc = audit_report(c, &at, out, err);
	if (!out->now)
		take_aws_time(c, &at, out);
	if (rc == 0 && out->nkeys)
		qsort(out->keys, out->nkeys, sizeof(*out->keys), cmp_keys);
	return rc;
}
