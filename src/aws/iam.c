/*
 * Typed IAM and STS calls: parameters in, parsed structs out.
 *
 * Each call parses the response inside aws_query_call_ex's validate
 * callback, so a 2xx whose body is truncated or malformed is retried like
 * a transient error (idempotent calls), and reported as "<Action>:
 * malformed response: <parser message>" when the attempts run out. The
 * parsers' results are discarded before each attempt.
 */
#include "core/compat.h"
#include "aws/iam.h"
#include "core/timeutil.h"

#define CREATE_KEY_HINT                                                                            \
	"the access key may have been created: list the user's access keys to find out"

/* One attempt's parse: discard the last attempt's result, parse anew. */
#define DEFINE_PARSE_ADAPTER(name, type, parse_fn, release_fn)                                     \
	static int name(void *ctx, const char *xml, size_t len, struct strbuf *err)                \
	{                                                                                          \
		type *out = ctx;                                                                   \
		release_fn(out);                                                                   \
		memset(out, 0, sizeof(*out));                                                      \
		if (parse_fn(xml, len, out, err) < 0) {                                            \
			release_fn(out);                                                           \
			memset(out, 0, sizeof(*out));                                              \
			return -1;                                                                 \
		}                                                                                  \
		return 0;                                                                          \
	}

DEFINE_PARSE_ADAPTER(parse_user, struct iam_user, iam_parse_get_user, iam_user_release)
DEFINE_PARSE_ADAPTER(parse_org_features, struct iam_org_features,
		     iam_parse_list_organizations_features, iam_org_features_release)
DEFINE_PARSE_ADAPTER(parse_key_last_used, struct iam_key_last_used,
		     iam_parse_get_access_key_last_used, iam_key_last_used_release)
DEFINE_PARSE_ADAPTER(parse_caller_identity, struct sts_caller_identity,
		     sts_parse_get_caller_identity, sts_caller_identity_release)
DEFINE_PARSE_ADAPTER(parse_new_key_raw, struct iam_access_key, iam_parse_create_access_key,
		     iam_access_key_release)

/* A truncated page without a marker would loop forever: call it malformed. */
static int check_marker(int is_truncated, const char *marker, struct strbuf *err)
{
	if (is_truncated && (!marker || !*marker)) {
		strbuf_addstr(err, "IsTruncated is true but there is no Marker");
		return -1;
	}
	return 0;
}

/* A paged list's parse: the one-attempt parse, then the marker check. */
#define DEFINE_PAGE_ADAPTER(name, type, parse_fn, release_fn)                                      \
	DEFINE_PARSE_ADAPTER(name##_raw, type, parse_fn, release_fn)                               \
	static int name(void *ctx, const char *xml, size_t len, struct strbuf *err)                \
	{                                                                                          \
		type *p = ctx;                                                                     \
		if (name##_raw(ctx, xml, len, err) < 0)                                            \
			return -1;                                                                 \
		return check_marker(p->is_truncated, p->marker, err);                              \
	}

DEFINE_PAGE_ADAPTER(parse_user_page, struct iam_user_page, iam_parse_list_users,
		    iam_user_page_release)
DEFINE_PAGE_ADAPTER(parse_key_page, struct iam_access_key_page, iam_parse_list_access_keys,
		    iam_access_key_page_release)
DEFINE_PAGE_ADAPTER(parse_tag_page, struct iam_tag_page, iam_parse_list_user_tags,
		    iam_tag_page_release)
DEFINE_PAGE_ADAPTER(parse_group_page, struct iam_group_page, iam_parse_list_groups_for_user,
		    iam_group_page_release)
DEFINE_PAGE_ADAPTER(parse_policy_name_page, struct iam_name_page, iam_parse_list_user_policies,
		    iam_name_page_release)
DEFINE_PAGE_ADAPTER(parse_attached_page, struct iam_name_page,
		    iam_parse_list_attached_user_policies, iam_name_page_release)

static int parse_new_key(void *ctx, const char *xml, size_t len, struct strbuf *err)
{
	struct iam_access_key *k = ctx;

	if (parse_new_key_raw(ctx, xml, len, err) < 0)
		return -1;
	if (!k->access_key_id || !*k->access_key_id || !k->secret_access_key ||
	    !*k->secret_access_key) {
		strbuf_addstr(err,
			      "CreateAccessKey response has no AccessKeyId or SecretAccessKey");
		iam_access_key_release(k);
		memset(k, 0, sizeof(*k));
		return -1;
	}
	return 0;
}

static int parse_request_id(void *ctx, const char *xml, size_t len, struct strbuf *err)
{
	char **id = ctx;

	free(*id);
	*id = NULL;
	return aws_parse_request_id(xml, len, id, err);
}

static int parse_report_state(void *ctx, const char *xml, size_t len, struct strbuf *err)
{
	char **state = ctx;

	free(*state);
	*state = NULL;
	if (iam_parse_generate_credential_report(xml, len, state, err) < 0) {
		free(*state);
		*state = NULL;
		return -1;
	}
	return 0;
}

struct report_out {
	struct strbuf *content;
	char *generated_time;
};

static int parse_report(void *ctx, const char *xml, size_t len, struct strbuf *err)
{
	struct report_out *r = ctx;

	strbuf_reset(r->content);
	free(r->generated_time);
	r->generated_time = NULL;
	if (iam_parse_get_credential_report(xml, len, r->content, &r->generated_time, err) < 0) {
		strbuf_reset(r->content);
		free(r->generated_time);
		r->generated_time = NULL;
		return -1;
	}
	return 0;
}

struct summary_out {
	struct iam_summary_entry *entries;
	size_t n;
};

static void summary_out_release(struct summary_out *s)
{
	size_t i;

	for (i = 0; s->entries && i < s->n; i++)
		free(s->entries[i].key);
	free(s->entries);
	s->entries = NULL;
	s->n = 0;
}

static int parse_summary(void *ctx, const char *xml, size_t len, struct strbuf *err)
{
	struct summary_out *s = ctx;

	summary_out_release(s);
	if (iam_parse_get_account_summary(xml, len, &s->entries, &s->n, err) < 0) {
		summary_out_release(s);
		return -1;
	}
	return 0;
}

/* One call; the body is wiped afterwards (it may hold a secret). */
static int query(struct aws_client *c, enum aws_service svc, const char *action,
		 const struct aws_param *params, size_t nparams, int flags,
		 aws_validate_fn validate, void *ctx, const struct aws_credentials *creds,
		 struct strbuf *err)
{
	struct aws_call_opts opts = { 0 };
	struct strbuf body = STRBUF_INIT;
	int ret;

	opts.flags = flags;
	opts.validate = validate;
	opts.validate_ctx = ctx;
	opts.creds = creds;
	if (flags & AWS_CALL_NOT_IDEMPOTENT)
		opts.outcome_unknown_hint = CREATE_KEY_HINT;
	ret = aws_query_call_ex(c, svc, action, params, nparams, &opts, &body, &c->last_error, err);
	strbuf_release_secret(&body);
	return ret;
}

/*
 * After a page: 1 to fetch the next one (*marker updated), 0 when done,
 * -1 when AWS sends the same marker again (it would never end).
 */
static int next_page(struct aws_client *c, const char *action, int is_truncated,
		     const char *page_marker, char **marker, struct strbuf *err)
{
	if (!is_truncated)
		return 0;
	if (*marker && !strcmp(*marker, page_marker)) {
		strbuf_addf(err, "%s: malformed response: the same Marker was returned twice",
			    action);
		aws_error_release(&c->last_error);
		c->last_error.code = xstrdup(AWS_MALFORMED_RESPONSE);
		return -1;
	}
	free(*marker);
	*marker = xstrdup(page_marker);
	return 1;
}

/*
 * A paged list (Marker / IsTruncated, MaxItems 1000): each page is parsed
 * into page, take moves its items out (into ctx) and says whether there
 * is more, then the page is released. *pages counts the calls made.
 */
struct pager {
	const char *action;
	struct aws_param first; /* UserName, PathPrefix or Filter.member.1 */
	aws_validate_fn parse;
	void *page;
	void (*release)(void *page); /* releases and zeroes */
	void (*take)(void *page, void *ctx, int *truncated, const char **marker);
	void *ctx;
};

static int list_pages(struct aws_client *c, const struct pager *pg, unsigned long *pages,
		      struct strbuf *err)
{
	char *marker = NULL;
	int more, truncated;

	do {
		struct aws_param params[] = { pg->first,
					      { "Marker", NULL },
					      { "MaxItems", "1000" } };
		const char *page_marker = NULL;

		params[1].value = marker;
		if (pages)
			(*pages)++;
		if (query(c, AWS_SVC_IAM, pg->action, params, ARRAY_SIZE(params),
			  AWS_CALL_IDEMPOTENT, pg->parse, pg->page, NULL, err) < 0)
			goto fail;
		pg->take(pg->page, pg->ctx, &truncated, &page_marker);
		more = next_page(c, pg->action, truncated, page_marker, &marker, err);
		pg->release(pg->page);
		if (more < 0)
			goto fail;
	} while (more);
	free(marker);
	return 0;
fail:
	pg->release(pg->page);
	free(marker);
	return -1;
}

/* Appends a page's n items of size sz to *items (*count, *alloc): moved, not copied. */
static void move_items(void **items, size_t *count, size_t *alloc, void *from, size_t n, size_t sz)
{
	if (!n)
		return;
	if (*count + n > *alloc) {
		*alloc = (*count + n) * 2;
		*items = xrealloc(*items, *alloc * sz);
	}
	memcpy((char *)*items + *count * sz, from, n * sz);
	*count += n;
}

#define PAGE_RELEASE(name, type, release_fn)                                                       \
	static void name(void *p)                                                                  \
	{                                                                                          \
		release_fn((type *)p);                                                             \
		memset(p, 0, sizeof(type));                                                        \
	}
PAGE_RELEASE(release_user_page, struct iam_user_page, iam_user_page_release)
PAGE_RELEASE(release_key_page, struct iam_access_key_page, iam_access_key_page_release)
PAGE_RELEASE(release_tag_page, struct iam_tag_page, iam_tag_page_release)
PAGE_RELEASE(release_group_page, struct iam_group_page, iam_group_page_release)
PAGE_RELEASE(release_name_page, struct iam_name_page, iam_name_page_release)

void iam_user_list_release(struct iam_user_list *l)
{
	if (!l)
		return;
	FREE_ARRAY(l->users, l->nusers, iam_user_release);
	memset(l, 0, sizeof(*l));
}

static void take_users(void *page, void *ctx, int *truncated, const char **marker)
{
	struct iam_user_page *p = page;
	struct iam_user_list *out = ctx;

	move_items((void **)&out->users, &out->nusers, &out->alloc, p->users, p->nusers,
		   sizeof(*p->users));
	p->nusers = 0; /* moved */
	*truncated = p->is_truncated;
	*marker = p->marker;
}

int iam_list_users(struct aws_client *c, const char *path_prefix, struct iam_user_list *out,
		   struct strbuf *err)
{
	struct iam_user_page page = { 0 };
	struct pager pg = { "ListUsers", { "PathPrefix", NULL }, parse_user_page,
			    NULL,	 release_user_page,	 take_users,
			    NULL };
	unsigned long pages = 0;

	memset(out, 0, sizeof(*out));
	pg.first.value = path_prefix;
	pg.page = &page;
	pg.ctx = out;
	if (list_pages(c, &pg, &pages, err) < 0) {
		iam_user_list_release(out);
		return -1;
	}
	out->pages = (unsigned)pages;
	return 0;
}

int iam_get_user(struct aws_client *c, const char *user_name, struct iam_user *out,
		 struct strbuf *err)
{
	struct aws_param params[] = { { "UserName", user_name } };

	memset(out, 0, sizeof(*out));
	return query(c, AWS_SVC_IAM, "GetUser", params, ARRAY_SIZE(params), AWS_CALL_IDEMPOTENT,
		     parse_user, out, NULL, err);
}

/* Where a user's list goes: out (a page type), its items' allocated count. */
struct user_list {
	void *out;
	size_t alloc;
};

/* A per-user list (UserName): every page moved into out by take. */
struct user_lister {
	const char *action;
	aws_validate_fn parse;
	void (*release)(void *page); /* releases and zeroes */
	void (*take)(void *page, void *ctx, int *truncated, const char **marker);
	size_t size; /* of out, of the same type as the page */
};

static int list_for_user(struct aws_client *c, const struct user_lister *ls, const char *user_name,
			 void *page, void *out, struct strbuf *err)
{
	struct user_list l = { out, 0 };
	struct pager pg = {
		ls->action, { "UserName", user_name }, ls->parse, page, ls->release, ls->take, &l
	};

	memset(out, 0, ls->size);
	if (list_pages(c, &pg, NULL, err) < 0) {
		ls->release(out);
		return -1;
	}
	return 0;
}

static void take_keys(void *page, void *ctx, int *truncated, const char **marker)
{
	struct iam_access_key_page *p = page;
	struct user_list *l = ctx;
	struct iam_access_key_page *out = l->out;

	move_items((void **)&out->keys, &out->nkeys, &l->alloc, p->keys, p->nkeys,
		   sizeof(*p->keys));
	p->nkeys = 0;
	free(out->request_id);
	out->request_id = p->request_id;
	p->request_id = NULL;
	*truncated = p->is_truncated;
	*marker = p->marker;
}

int iam_list_access_keys(struct aws_client *c, const char *user_name,
			 struct iam_access_key_page *out, struct strbuf *err)
{
	static const struct user_lister ls = { "ListAccessKeys", parse_key_page, release_key_page,
					       take_keys, sizeof(*out) };
	struct iam_access_key_page page = { 0 };

	return list_for_user(c, &ls, user_name, &page, out, err);
}

int iam_get_access_key_last_used(struct aws_client *c, const char *key_id,
				 struct iam_key_last_used *out, struct strbuf *err)
{
	struct aws_param params[] = { { "AccessKeyId", key_id } };

	memset(out, 0, sizeof(*out));
	return query(c, AWS_SVC_IAM, "GetAccessKeyLastUsed", params, ARRAY_SIZE(params),
		     AWS_CALL_IDEMPOTENT, parse_key_last_used, out, NULL, err);
}

int iam_create_access_key(struct aws_client *c, const char *user_name, struct iam_access_key *out,
			  struct strbuf *err)
{
	struct aws_param params[] = { { "UserName", user_name } };

	memset(out, 0, sizeof(*out));
	return query(c, AWS_SVC_IAM, "CreateAccessKey", params, ARRAY_SIZE(params),
		     AWS_CALL_NOT_IDEMPOTENT, parse_new_key, out, NULL, err);
}

static int simple_call(struct aws_client *c, const char *action, const struct aws_param *params,
		       size_t nparams, struct strbuf *err)
{
	char *request_id = NULL;
	int ret = query(c, AWS_SVC_IAM, action, params, nparams, AWS_CALL_IDEMPOTENT,
			parse_request_id, &request_id, NULL, err);

	free(request_id);
	return ret;
}

int iam_update_access_key(struct aws_client *c, const char *user_name, const char *key_id,
			  const char *status, struct strbuf *err)
{
	struct aws_param params[] = {
		{ "UserName", user_name },
		{ "AccessKeyId", key_id },
		{ "Status", status },
	};

	return simple_call(c, "UpdateAccessKey", params, ARRAY_SIZE(params), err);
}

int iam_delete_access_key(struct aws_client *c, const char *user_name, const char *key_id,
			  struct strbuf *err)
{
	struct aws_param params[] = {
		{ "UserName", user_name },
		{ "AccessKeyId", key_id },
	};

	return simple_call(c, "DeleteAccessKey", params, ARRAY_SIZE(params), err);
}

static void take_tags(void *page, void *ctx, int *truncated, const char **marker)
{
	struct iam_tag_page *p = page;
	struct user_list *l = ctx;
	struct iam_tag_page *out = l->out;

	move_items((void **)&out->tags, &out->ntags, &l->alloc, p->tags, p->ntags,
		   sizeof(*p->tags));
	p->ntags = 0;
	*truncated = p->is_truncated;
	*marker = p->marker;
}

int iam_list_user_tags(struct aws_client *c, const char *user_name, struct iam_tag_page *out,
		       struct strbuf *err)
{
	static const struct user_lister ls = { "ListUserTags", parse_tag_page, release_tag_page,
					       take_tags, sizeof(*out) };
	struct iam_tag_page page = { 0 };

	return list_for_user(c, &ls, user_name, &page, out, err);
}

int iam_tag_user(struct aws_client *c, const char *user_name, const struct iam_tag *tags,
		 size_t ntags, struct strbuf *err)
{
	struct aws_param *params = xcalloc(1 + 2 * ntags, sizeof(*params));
	char **names = xcalloc(2 * ntags + 1, sizeof(*names));
	size_t i, n = 0;
	int ret;

	params[n].name = "UserName";
	params[n++].value = user_name;
	for (i = 0; i < ntags; i++) {
		struct strbuf k = STRBUF_INIT, v = STRBUF_INIT;

		strbuf_addf(&k, "Tags.member.%zu.Key", i + 1);
		strbuf_addf(&v, "Tags.member.%zu.Value", i + 1);
		names[2 * i] = strbuf_detach(&k, NULL);
		names[2 * i + 1] = strbuf_detach(&v, NULL);
		params[n].name = names[2 * i];
		params[n++].value = tags[i].key;
		params[n].name = names[2 * i + 1];
		params[n++].value = tags[i].value ? tags[i].value : "";
	}
	ret = simple_call(c, "TagUser", params, n, err);
	for (i = 0; i < 2 * ntags; i++)
		free(names[i]);
	free(names);
	free(params);
	return ret;
}

int iam_untag_user(struct aws_client *c, const char *user_name, const char *const *keys,
		   size_t nkeys, struct strbuf *err)
{
	struct aws_param *params = xcalloc(1 + nkeys, sizeof(*params));
	char **names = xcalloc(nkeys + 1, sizeof(*names));
	size_t i, n = 0;
	int ret;

	params[n].name = "UserName";
	params[n++].value = user_name;
	for (i = 0; i < nkeys; i++) {
		struct strbuf k = STRBUF_INIT;

		strbuf_addf(&k, "TagKeys.member.%zu", i + 1);
		names[i] = strbuf_detach(&k, NULL);
		params[n].name = names[i];
		params[n++].value = keys[i];
	}
	ret = simple_call(c, "UntagUser", params, n, err);
	for (i = 0; i < nkeys; i++)
		free(names[i]);
	free(names);
	free(params);
	return ret;
}

static void take_groups(void *page, void *ctx, int *truncated, const char **marker)
{
	struct iam_group_page *p = page;
	struct user_list *l = ctx;
	struct iam_group_page *out = l->out;

	move_items((void **)&out->group_names, &out->ngroups, &l->alloc, p->group_names, p->ngroups,
		   sizeof(*p->group_names));
	p->ngroups = 0;
	*truncated = p->is_truncated;
	*marker = p->marker;
}

int iam_list_groups_for_user(struct aws_client *c, const char *user_name,
			     struct iam_group_page *out, struct strbuf *err)
{
	static const struct user_lister ls = { "ListGroupsForUser", parse_group_page,
					       release_group_page, take_groups, sizeof(*out) };
	struct iam_group_page page = { 0 };

	return list_for_user(c, &ls, user_name, &page, out, err);
}

static void take_names(void *page, void *ctx, int *truncated, const char **marker)
{
	struct iam_name_page *p = page;
	struct user_list *l = ctx;
	struct iam_name_page *out = l->out;

	move_items((void **)&out->names, &out->nnames, &l->alloc, p->names, p->nnames,
		   sizeof(*p->names));
	p->nnames = 0;
	*truncated = p->is_truncated;
	*marker = p->marker;
}

static int list_names(struct aws_client *c, const char *action, aws_validate_fn parse,
		      const char *user_name, struct iam_name_page *out, struct strbuf *err)
{
	struct user_lister ls = { action, parse, release_name_page, take_names, sizeof(*out) };
	struct iam_name_page page = { 0 };

	return list_for_user(c, &ls, user_name, &page, out, err);
}

int iam_list_user_policies(struct aws_client *c, const char *user_name, struct iam_name_page *out,
			   struct strbuf *err)
{
	return list_names(c, "ListUserPolicies", parse_policy_name_page, user_name, out, err);
}

int iam_list_attached_user_policies(struct aws_client *c, const char *user_name,
				    struct iam_name_page *out, struct strbuf *err)
{
	return list_names(c, "ListAttachedUserPolicies", parse_attached_page, user_name, out, err);
}

int iam_put_user_policy(struct aws_client *c, const char *user_name, const char *policy_name,
			const char *document, struct strbuf *err)
{
	struct aws_param params[] = {
		{ "UserName", user_name },
		{ "PolicyName", policy_name },
		{ "PolicyDocument", document },
	};

	return simple_call(c, "PutUserPolicy", params, ARRAY_SIZE(params), err);
}

int iam_delete_user_policy(struct aws_client *c, const char *user_name, const char *policy_name,
			   struct strbuf *err)
{
	struct aws_param params[] = {
		{ "UserName", user_name },
		{ "PolicyName", policy_name },
	};

	return simple_call(c, "DeleteUserPolicy", params, ARRAY_SIZE(params), err);
}

int iam_generate_credential_report(struct aws_client *c, char **state, struct strbuf *err)
{
	*state = NULL;
	return query(c, AWS_SVC_IAM, "GenerateCredentialReport", NULL, 0, AWS_CALL_IDEMPOTENT,
		     parse_report_state, state, NULL, err);
}

int iam_get_credential_report(struct aws_client *c, struct strbuf *content, char **generated_time,
			      struct strbuf *err)
{
	struct report_out r = { content, NULL };
	int ret;

	strbuf_reset(content);
	ret = query(c, AWS_SVC_IAM, "GetCredentialReport", NULL, 0, AWS_CALL_IDEMPOTENT,
		    parse_report, &r, NULL, err);
	if (generated_time)
		*generated_time = r.generated_time;
	else
		free(r.generated_time);
	return ret;
}

static void copy_last_error(const struct aws_client *c, struct aws_error *aerr)
{
	aws_error_release(aerr);
	aerr->http_status = c->last_error.http_status;
	aerr->type = xstrdup_or_null(c->last_error.type);
	aerr->code = xstrdup_or_null(c->last_error.code);
	aerr->message = xstrdup_or_null(c->last_error.message);
	aerr->request_id = xstrdup_or_null(c->last_error.request_id);
}

int iam_generate_credential_report_ex(struct aws_client *c, char **state, struct aws_error *aerr,
				      struct strbuf *err)
{
	int ret = iam_generate_credential_report(c, state, err);

	if (ret < 0 && aerr)
		copy_last_error(c, aerr);
	return ret;
}

int iam_get_credential_report_ex(struct aws_client *c, struct strbuf *content,
				 char **generated_time, struct aws_error *aerr, struct strbuf *err)
{
	int ret = iam_get_credential_report(c, content, generated_time, err);

	if (ret < 0 && aerr)
		copy_last_error(c, aerr);
	return ret;
}

int iam_get_account_summary(struct aws_client *c, struct iam_summary_entry **entries, size_t *n,
			    struct strbuf *err)
{
	struct summary_out s = { NULL, 0 };
	int ret = query(c, AWS_SVC_IAM, "GetAccountSummary", NULL, 0, AWS_CALL_IDEMPOTENT,
			parse_summary, &s, NULL, err);

	*entries = s.entries;
	*n = s.n;
	return ret;
}

int sts_get_caller_identity(struct aws_client *c, struct sts_caller_identity *out,
			    struct strbuf *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->identity_account) {
		/* a client's credentials are one principal: asked once (the lock, then the run) */
		aws_error_release(&c->last_error);
		out->account = xstrdup(c->identity_account);
		out->arn = xstrdup_or_null(c->identity_arn);
		out->user_id = xstrdup_or_null(c->identity_user_id);
		return 0;
	}
	rc = query(c, AWS_SVC_STS, "GetCallerIdentity", NULL, 0, AWS_CALL_IDEMPOTENT,
		   parse_caller_identity, out, NULL, err);
	if (!rc && out->account) {
		c->identity_account = xstrdup(out->account);
		c->identity_arn = xstrdup_or_null(out->arn);
		c->identity_user_id = xstrdup_or_null(out->user_id);
	}
	return rc;
}

int sts_get_caller_identity_with(struct aws_client *c, const struct aws_credentials *creds,
				 struct sts_caller_identity *out, struct strbuf *err)
{
	memset(out, 0, sizeof(*out));
	return query(c, AWS_SVC_STS, "GetCallerIdentity", NULL, 0, AWS_CALL_NO_RETRY,
		     parse_caller_identity, out, creds, err);
}

struct user_details_out {
	struct iam_user_detail_page page;
	iam_user_want_fn want;
	void *want_ctx;
};

static int parse_user_details(void *ctx, const char *xml, size_t len, struct strbuf *err)
{
	struct user_details_out *o = ctx;

	iam_user_detail_page_release(&o->page);
	return iam_parse_get_account_authorization_details(xml, len, o->want, o->want_ctx, &o->page,
							   err);
}

struct details_take {
	void (*on_user)(const struct iam_user_detail *u, void *ctx);
	void *ctx;
};

static void take_details(void *page, void *ctx, int *truncated, const char **marker)
{
	struct user_details_out *o = page;
	struct details_take *t = ctx;
	size_t i;

	for (i = 0; i < o->page.nusers; i++)
		t->on_user(&o->page.users[i], t->ctx);
	*truncated = o->page.is_truncated;
	*marker = o->page.marker;
}

static void release_details(void *page)
{
	struct user_details_out *o = page;

	iam_user_detail_page_release(&o->page);
}

int iam_get_user_details(struct aws_client *c, iam_user_want_fn want, void *want_ctx,
			 void (*on_user)(const struct iam_user_detail *u, void *ctx),
			 void *on_user_ctx, unsigned long *pages, struct strbuf *err)
{
	struct user_details_out o;
	struct details_take t = { on_user, on_user_ctx };
	struct pager pg = { "GetAccountAuthorizationDetails",
			    { "Filter.member.1", "User" },
			    parse_user_details,
			    NULL,
			    release_details,
			    take_details,
			    NULL };

	memset(&o, 0, sizeof(o));
	o.want = want;
	o.want_ctx = want_ctx;
	pg.page = &o;
	pg.ctx = &t;
	return list_pages(c, &pg, pages, err);
}

int iam_list_organizations_features(struct aws_client *c, struct iam_org_features *out,
				    struct strbuf *err)
{
	memset(out, 0, sizeof(*out));
	return query(c, AWS_SVC_IAM, "ListOrganizationsFeatures", NULL, 0, AWS_CALL_IDEMPOTENT,
		     parse_org_features, out, NULL, err);
}

int sts_assume_root(struct aws_client *c, const char *account, const char *task_policy_arn,
		    int duration_seconds, struct aws_credentials *out, struct strbuf *err)
{
	char duration[16];
	struct sts_assumed a = { 0 };
	struct aws_param params[] = {
		{ "TargetPrincipal", account },
		{ "TaskPolicyArn.arn", task_policy_arn },
		{ "DurationSeconds", NULL },
	};
	int rc;

	memset(out, 0, sizeof(*out));
	if (duration_seconds > 0) {
		snprintf(duration, sizeof(duration), "%d", duration_seconds);
		params[2].value = duration;
	}
	rc = query(c, AWS_SVC_STS, "AssumeRoot", params, ARRAY_SIZE(params), AWS_CALL_IDEMPOTENT,
		   sts_validate_assumed, &a, NULL, err);
	if (rc < 0) {
		sts_assumed_release(&a);
		return -1;
	}
	out->access_key_id = a.access_key_id;
	out->secret_access_key = a.secret_access_key;
	out->session_token = a.session_token;
	iso8601_parse(a.expiration, &out->expiration);
	out->account_id = xstrdup(account);
	a.access_key_id = a.secret_access_key = a.session_token = NULL;
	sts_assumed_release(&a);
	return 0;
}
