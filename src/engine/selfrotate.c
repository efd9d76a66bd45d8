/*
 * rotate --self (see selfrotate.h): create and deliver with actions.c,
 * then verify, then delete the old key with the new one.
 */
#include "core/compat.h"
#include "engine/selfrotate.h"
#include "engine/actions.h"
#include "engine/rotate.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/iam.h"
#include "core/awsconfig.h"
#include "core/policy.h"
#include "sinks/sink.h"

void self_rotate_result_release(struct self_rotate_result *r)
{
	free(r->user);
	free(r->old_key);
	free(r->new_key);
	free(r->target);
	memset(r, 0, sizeof(*r));
}

/* The profile's long-lived credentials and a client signing with them. NULL with err. */
static struct aws_client *profile_client(const struct self_rotate_options *o,
					 const struct aws_file_locations *loc,
					 struct aws_credentials *old, struct strbuf *err)
{
	struct cred_env env;
	struct cred_provider *prov;
	struct strbuf e = STRBUF_INIT;
	struct aws_client *c;

	memset(&env, 0, sizeof(env));
	env.profile = o->profile;
	prov = cred_provider_profile_new(&env);
	if (!prov || cred_provider_get(prov, old, &e) != 0) {
		strbuf_addf(err, "rotate --self needs long-lived keys in profile '%s' of %s%s%s",
			    loc->profile, loc->credentials_file, e.len ? ": " : "", e.buf);
		cred_provider_destroy(prov);
		strbuf_release(&e);
		return NULL;
	}
	strbuf_release(&e);
	if (old->session_token) {
		strbuf_addf(err,
			    "profile '%s' holds temporary credentials: there is no access key "
			    "to rotate",
			    loc->profile);
		cred_provider_destroy(prov);
		return NULL;
	}
	c = aws_client_new(prov, o->region, o->endpoint_url, NULL, err);
	if (c)
		c->verbose = o->debug;
	return c;
}

/*
 * The new key does not work: the old key goes back into the profile and the
 * new key is deleted. Appends to err.
 */
static int undo(struct aws_client *c, struct sink *sink, const struct aws_credentials *old,
		const struct action_ctx *a, const char *new_key,
		const struct aws_file_locations *loc, struct strbuf *err)
{
	int rc = 0;
	struct new_secret back = { old->access_key_id, old->secret_access_key, a->self.user, NULL,
				   a->self.account };
	struct strbuf why = STRBUF_INIT, e2 = STRBUF_INIT;

	strbuf_addbuf(&why, err);
	strbuf_reset(err);
	if (sink_deliver(sink, &back, &e2) < 0 ||
	    iam_delete_access_key(c, a->self.user, new_key, &e2) < 0) {
		strbuf_addf(err,
			    "the new key %s does not work (%s) and undoing failed (%s): "
			    "the backup of %s is %s.iamkeys.bak",
			    new_key, why.buf, e2.buf, loc->credentials_file, loc->credentials_file);
		rc = -1;
	} else {
		strbuf_addf(err, "%s: profile '%s' restored and the new key %s deleted", why.buf,
			    loc->profile, new_key);
	}
	strbuf_release(&why);
	strbuf_release(&e2);
	return rc;
}

/*
 * A --self that died after writing the profile (the create mark still on
 * the user, the profile holding a key made after it): delete the key of
 * before, then the mark. The command already runs with the profile's key.
 */
static void finish_resumed(const struct self_rotate_options *o, struct aws_client *c,
			   const char *user, const struct aws_credentials *now,
			   const struct create_self *cs, struct self_rotate_result *r,
			   struct strbuf *err)
{
	strbuf_reset(err);
	r->resumed = 1;
	free(r->old_key);
	r->old_key = xstrdup_or_null(cs->old_key);
	r->new_key = xstrdup(now->access_key_id);
	if (!o->apply) {
		r->outcome = SELF_PLANNED;
		return;
	}
	if (cs->old_key && iam_delete_access_key(c, user, cs->old_key, err) < 0)
		return;
	if (create_mark_remove(c, user, cs->mark, err) < 0) {
		struct strbuf e = STRBUF_INIT;
		strbuf_addbuf(&e, err);
		strbuf_reset(err);
		strbuf_addf(err,
			    "finished the interrupted rotation, but the create mark %s could "
			    "not be removed: %s",
			    CREATE_MARK_TAG, e.buf);
		strbuf_release(&e);
		return;
	}
	r->outcome = SELF_DONE;
}

/*
 * CreateAccessKey was denied: when AWS has quarantined the user (an
 * AWSCompromisedKeyQuarantine policy attached after it found the key
 * exposed), say so and how to go on. A failed lookup adds nothing.
 */
static void explain_quarantine(struct aws_client *c, const char *user, const char *key,
			       struct strbuf *err)
{
	struct iam_name_page att = { 0 };
	struct strbuf e = STRBUF_INIT;
	size_t i;

	if (iam_list_attached_user_policies(c, user, &att, &e) == 0)
		for (i = 0; i < att.nnames; i++) {
			if (!policy_is_quarantine_arn(att.names[i]))
				continue;
			strbuf_addf(err,
				    "; AWS has attached %s to %s: it found a key of the user "
				    "exposed, and that policy denies creating keys. Revoke %s "
				    "from another principal: iamkeys revoke --user %s --key %s "
				    "--apply",
				    strrchr(att.names[i], '/') + 1, user, key, user, key);
			break;
		}
	iam_name_page_release(&att);
	strbuf_release(&e);
}

/*
 * The new key nk is in the profile: wait until it works (IAM propagation),
 * delete the old key with it, then remove the create mark. SELF_DONE, or
 * err says what is left (a new key that does not work is undone).
 */
static void switch_to_new(const struct self_rotate_options *o, struct aws_client *c,
			  struct action_ctx *a, struct sink *sink,
			  const struct aws_file_locations *loc, const struct aws_credentials *old,
			  const struct iam_access_key *nk, const struct create_self *cs,
			  struct self_rotate_result *r, struct strbuf *err)
{
	struct aws_credentials fresh = { 0 };
	struct aws_client *nc = NULL;
	struct strbuf e = STRBUF_INIT;

	fresh.access_key_id = xstrdup(nk->access_key_id);
	fresh.secret_access_key = xstrdup(nk->secret_access_key);
	if (rotate_verify_key(c, a->self.user, &fresh, o->verify_timeout_ms, err) < 0) {
		if (undo(c, sink, old, a, nk->access_key_id, loc, err) == 0 &&
		    create_mark_remove(c, a->self.user, cs->mark, &e) < 0)
			strbuf_addf(err, "; the create mark %s stays (%s)", CREATE_MARK_TAG, e.buf);
		goto out;
	}
	nc = aws_client_new(cred_provider_static_new(&fresh), o->region, o->endpoint_url, NULL,
			    err);
	if (nc)
		aws_client_copy_settings(nc, c); /* the clock learnt, --debug */
	if (!nc || iam_delete_access_key(nc, a->self.user, old->access_key_id, err) < 0) {
		strbuf_addbuf(&e, err);
		strbuf_reset(err);
		strbuf_addf(err,
			    "profile '%s' now holds the new key %s, but deleting the old key %s "
			    "failed: %s; the next rotate --self (after %d minutes) deletes it",
			    loc->profile, nk->access_key_id, old->access_key_id, e.buf,
			    ROTATION_LEASE / 60);
		goto out;
	}
	if (create_mark_remove(nc, a->self.user, cs->mark, err) < 0) {
		strbuf_addbuf(&e, err);
		strbuf_reset(err);
		strbuf_addf(err,
			    "rotated %s -> %s in profile '%s', but the create mark %s could "
			    "not be removed: %s",
			    old->access_key_id, nk->access_key_id, loc->profile, CREATE_MARK_TAG,
			    e.buf);
		goto out;
	}
	r->new_key = xstrdup(nk->access_key_id);
	r->outcome = SELF_DONE;
out:
	aws_client_free(nc);
	aws_credentials_release(&fresh);
	strbuf_release(&e);
}

/* The profile's sink, checked before the key exists: NULL with err when it would refuse. */
static struct sink *profile_sink(const struct self_rotate_options *o, const struct action_ctx *a,
				 const char *target, struct strbuf *err)
{
	struct sink_context sc;
	struct sink *sink;
	char *held = NULL;
	int pf;

	memset(&sc, 0, sizeof(sc));
	sc.user = a->self.user;
	sc.account = a->self.account;
	sc.own_profile_ok = 1; /* the point of --self */
	sc.follow_symlinks = o->follow_symlinks;
	sink = sink_new(target, &sc, err);
	if (!sink || !o->apply)
		return sink;
	/* everything the write would refuse, before the key exists */
	pf = sink_preflight(sink, &held, err);
	free(held);
	if (pf > 0) {
		sink_free(sink);
		return NULL;
	}
	strbuf_reset(err);
	return sink;
}

int self_rotate(const struct self_rotate_options *o, struct self_rotate_result *r,
		struct strbuf *err)
{
	struct aws_file_locations loc = { 0 };
	struct aws_credentials old = { 0 };
	struct action_options ao;
	struct action_ctx a;
	struct create_options co = { 0 };
	struct create_self cs = { 0 };
	struct iam_access_key nk = { 0 };
	struct aws_client *c = NULL;
	struct sink *sink = NULL;
	struct strbuf target = STRBUF_INIT;
	enum action_result res;

	memset(r, 0, sizeof(*r));
	memset(&a, 0, sizeof(a));
	r->outcome = SELF_FAILED;
	if (aws_file_locations_resolve(&loc, NULL, NULL, "linux", NULL, o->profile, err) < 0)
		goto out;
	c = profile_client(o, &loc, &old, err);
	if (!c)
		goto out;
	if (o->client_made)
		o->client_made(o->ctx, c);
	memset(&ao, 0, sizeof(ao));
	ao.apply = o->apply;
	ao.allow_self = 1; /* ao.now 0: AWS's time, from GetCallerIdentity's reply */
	if (action_ctx_init(&a, c, &ao, err) < 0)
		goto out;
	if (!a.self.user) {
		strbuf_addf(err, "profile '%s' is not an IAM user (%s)", loc.profile,
			    a.self.arn ? a.self.arn : "?");
		goto out;
	}
	strbuf_addf(&target, "profile:%s@%s", loc.profile, loc.credentials_file);
	r->user = xstrdup(a.self.user);
	r->old_key = xstrdup(old.access_key_id);
	r->target = strbuf_detach(&target, NULL);

	if (o->apply && o->before_change &&
	    (r->refused = o->before_change(o->ctx, c, a.self.account)) != 0)
		goto out;
	sink = profile_sink(o, &a, r->target, err);
	if (!sink)
		goto out;
	/* the create path: live keys, two-key guard, mark, create, OutcomeUnknown, deliver */
	co.self = &cs;
	res = action_create_key_secret(&a, a.self.user, sink, &co, &nk);
	r->planned = res != ACTION_BLOCKED;
	switch (res) {
	case ACTION_PLANNED:
		r->outcome = SELF_PLANNED;
		break;
	case ACTION_DONE:
		switch_to_new(o, c, &a, sink, &loc, &old, &nk, &cs, r, err);
		break;
	case ACTION_NOTHING:
		if (cs.resumed) {
			finish_resumed(o, c, a.self.user, &old, &cs, r, err);
			break;
		}
		/* fallthrough */
	case ACTION_BLOCKED:
		r->outcome = SELF_BLOCKED;
		/* fallthrough */
	default:
		strbuf_addstr(err, a.nrecs ? a.recs[a.nrecs - 1].reason : "cannot create a key");
		if (res != ACTION_BLOCKED && strstr(err->buf, "AccessDenied"))
			explain_quarantine(c, a.self.user, old.access_key_id, err);
		break;
	}
out:
	create_self_release(&cs);
	sink_free(sink);
	action_ctx_release(&a);
	aws_client_free(c);
	aws_credentials_release(&old);
	iam_access_key_release(&nk);
	aws_file_locations_release(&loc);
	strbuf_release(&target);
	return r->outcome == SELF_FAILED ? -1 : 0;
}
