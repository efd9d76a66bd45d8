/*
 * A user's live state: the four IAM reads, their dates parsed once, and
 * unparseable data refused (see userstate.h).
 */
#include "core/compat.h"
#include "engine/userstate.h"
#include "aws/client.h"
#include "aws/iam.h"
#include "core/policy.h"
#include "core/timeutil.h"

static void key_release(struct user_key *k)
{
	FREE_ALL(k->id, k->status, k->service, k->region);
}

static void keys_release(struct user_state *st)
{
	size_t i;

	for (i = 0; i < st->nkeys; i++)
		key_release(&st->keys[i]);
	FREE_AND_NULL(st->keys);
	st->nkeys = 0;
}

static void tags_release(struct user_state *st)
{
	size_t i;

	for (i = 0; i < st->ntags; i++)
		FREE_ALL(st->tags[i].key, st->tags[i].value);
	FREE_AND_NULL(st->tags);
	st->ntags = 0;
	FREE_AND_NULL(st->rotation_value);
	memset(&st->rotation, 0, sizeof(st->rotation));
	st->rotation_valid = false;
}

/* Frees *v's n strings and *v; *v = NULL, *n = 0. */
static void names_release(char ***v, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free((*v)[i]);
	FREE_AND_NULL(*v);
	*n = 0;
}

static void groups_release(struct user_state *st)
{
	names_release(&st->groups, &st->ngroups);
}

static void policies_release(struct user_state *st)
{
	names_release(&st->attached, &st->nattached);
	st->quarantine = NULL;
}

void user_state_release(struct user_state *st)
{
	if (!st)
		return;
	keys_release(st);
	tags_release(st);
	groups_release(st);
	policies_release(st);
	free(st->user);
	memset(st, 0, sizeof(*st));
}

/* A date AWS sent: parsed, or USER_STATE_INVALID naming the field. */
static int parse_date(const char *value, const char *field, const char *action, const char *key_id,
		      time_t *out, struct strbuf *err)
{
	if (value && !iso8601_parse(value, out))
		return 0;
	if (value)
		strbuf_addf(err, "unparseable %s '%.64s' of key %s (%s)", field, value, key_id,
			    action);
	else
		strbuf_addf(err, "no %s for key %s (%s)", field, key_id, action);
	return USER_STATE_INVALID;
}

static int read_keys(struct aws_client *c, struct user_state *st, struct strbuf *err)
{
	struct iam_access_key_page page = { 0 };
	size_t i;
	int rc;

	keys_release(st);
	st->calls++;
	if (iam_list_access_keys(c, st->user, &page, err) < 0)
		return -1;
	st->keys = xcalloc(page.nkeys + 1, sizeof(*st->keys));
	for (i = 0; i < page.nkeys; i++) {
		struct iam_access_key *ak = &page.keys[i];
		struct user_key *k = &st->keys[st->nkeys];

		rc = parse_date(ak->create_date, "CreateDate", "ListAccessKeys", ak->access_key_id,
				&k->created, err);
		if (rc < 0)
			goto fail;
		k->id = ak->access_key_id;
		k->status = ak->status;
		ak->access_key_id = ak->status = NULL; /* moved */
		k->active = k->status && !strcmp(k->status, "Active");
		st->nkeys++;
	}
	iam_access_key_page_release(&page);
	return 0;
fail:
	iam_access_key_page_release(&page);
	keys_release(st);
	return rc;
}

int user_state_read_last_used(struct aws_client *c, struct user_state *st, size_t i,
			      struct strbuf *err)
{
	struct user_key *k = &st->keys[i];
	struct iam_key_last_used lu = { 0 };
	int rc = 0;

	FREE_AND_NULL(k->service);
	FREE_AND_NULL(k->region);
	k->last_used = 0;
	k->last_used_read = false;
	st->calls++;
	if (iam_get_access_key_last_used(c, k->id, &lu, err) < 0)
		return -1;
	if (lu.last_used_date) {
		rc = parse_date(lu.last_used_date, "LastUsedDate", "GetAccessKeyLastUsed", k->id,
				&k->last_used, err);
		if (rc < 0)
			goto out;
		k->service = lu.service_name;
		k->region = lu.region;
		lu.service_name = lu.region = NULL; /* moved */
	}
	k->last_used_read = true;
out:
	iam_key_last_used_release(&lu);
	return rc;
}

char *user_state_rotation_value(const struct iam_tag *tags, size_t ntags)
{
	const char *main = NULL, *new_id = NULL;
	size_t i;

	for (i = 0; i < ntags; i++) {
		const char *v = tags[i].value ? tags[i].value : "";
		if (!strcmp(tags[i].key, ROTATION_TAG))
			main = v;
		else if (!strcmp(tags[i].key, ROTATION_NEW_TAG) && *v)
			new_id = v;
	}
	return rotation_tag_join(main, new_id);
}

static void find_rotation_tag(struct user_state *st)
{
	struct strbuf perr = STRBUF_INIT;

	st->rotation_value = user_state_rotation_value(st->tags, st->ntags);
	if (st->rotation_value)
		st->rotation_valid = !rotation_tag_parse(st->rotation_value, &st->rotation, &perr);
	strbuf_release(&perr);
}

/* A part about to be read again: released, and the call counted. */
static void reread(struct user_state *st, void (*release)(struct user_state *))
{
	release(st);
	st->calls++;
}

/* ListUserTags, ListGroupsForUser and ListAttachedUserPolicies: the merged pages, moved into st. */
static int read_tags_groups(struct aws_client *c, struct user_state *st, unsigned what,
			    struct strbuf *err)
{
	struct iam_tag_page tags = { 0 };
	struct iam_group_page groups = { 0 };
	struct iam_name_page att = { 0 };
	size_t i;

	if (what & USER_STATE_TAGS) {
		reread(st, tags_release);
		if (iam_list_user_tags(c, st->user, &tags, err) < 0)
			return -1;
		st->tags = tags.tags, st->ntags = tags.ntags;
		find_rotation_tag(st);
	}
	if (what & USER_STATE_GROUPS) {
		reread(st, groups_release);
		if (iam_list_groups_for_user(c, st->user, &groups, err) < 0)
			return -1;
		st->groups = groups.group_names, st->ngroups = groups.ngroups;
	}
	if (what & USER_STATE_POLICIES) {
		reread(st, policies_release);
		if (iam_list_attached_user_policies(c, st->user, &att, err) < 0)
			return -1;
		st->attached = att.names, st->nattached = att.nnames;
		att.names = NULL, att.nnames = 0; /* moved */
		iam_name_page_release(&att);
		for (i = 0; i < st->nattached && !st->quarantine; i++)
			if (policy_is_quarantine_arn(st->attached[i]))
				st->quarantine = strrchr(st->attached[i], '/') + 1;
	}
	return 0;
}

int user_state_read(struct aws_client *c, const char *user, unsigned what, struct user_state *st,
		    struct strbuf *err)
{
	size_t i;
	int rc;

	if (!st->user)
		st->user = xstrdup(user);
	if (what & (USER_STATE_KEYS | USER_STATE_LAST_USED)) {
		rc = read_keys(c, st, err);
		if (rc < 0)
			return rc;
	}
	for (i = 0; (what & USER_STATE_LAST_USED) && i < st->nkeys; i++) {
		rc = user_state_read_last_used(c, st, i, err);
		if (rc < 0) {
			keys_release(st);
			return rc;
		}
	}
	return read_tags_groups(c, st, what, err);
}

const struct user_key *user_state_find_key(const struct user_state *st, const char *id)
{
	size_t i;

	for (i = 0; i < st->nkeys; i++)
		if (!strcmp(st->keys[i].id, id))
			return &st->keys[i];
	return NULL;
}

void user_state_keys_summary(struct strbuf *out, const struct user_state *st)
{
	size_t i;

	for (i = 0; i < st->nkeys; i++)
		strbuf_addf(out, "%s%s:%s", i ? "," : "", st->keys[i].id,
			    st->keys[i].active ? "Active" : "Inactive");
}

const char *user_state_tag(const struct user_state *st, const char *key)
{
	size_t i;

	for (i = 0; i < st->ntags; i++)
		if (st->tags[i].key && !strcmp(st->tags[i].key, key))
			return st->tags[i].value ? st->tags[i].value : "";
	return NULL;
}

void user_state_remove_key(struct user_state *st, size_t i)
{
	key_release(&st->keys[i]);
	memmove(&st->keys[i], &st->keys[i + 1], (st->nkeys - i - 1) * sizeof(st->keys[0]));
	st->nkeys--;
}
