#include "core/compat.h"
#include "core/profile_chain.h"
#include "core/awsconfig.h"
#include "core/strbuf.h"

/*
 * The profile credential-chain planner. The walk mirrors smithy-rs's
 * aws-config profile/credentials/repr.rs (resolve_chain), whose test
 * vectors are the contract; messages follow this project's style.
 */

static const char *const base_kind_names[] = {
	[CRED_BASE_ACCESS_KEY] = "AccessKey",
	[CRED_BASE_NAMED_SOURCE] = "NamedSource",
	[CRED_BASE_WEB_IDENTITY] = "WebIdentityToken",
	[CRED_BASE_SSO] = "Sso",
	[CRED_BASE_PROCESS] = "Process",
};

const char *cred_base_kind_name(enum cred_base_kind kind)
{
	if ((unsigned)kind < ARRAY_SIZE(base_kind_names) && base_kind_names[kind])
		return base_kind_names[kind];
	return "unknown";
}

void profile_chain_release(struct profile_chain *c)
{
	if (!c)
		return;
	free(c->roles);
	memset(c, 0, sizeof(*c));
}

/* A property, or NULL when it is missing or blank. */
static const char *val(const struct aws_profile *p, const char *name)
{
	const char *v = aws_profile_get(p, name);
	const char *s;

	if (!v)
		return NULL;
	for (s = v; *s; s++)
		if (!isspace((unsigned char)*s))
			return v;
	return NULL;
}

/*
 * Static keys. 0: filled; 1: the profile has none of the three settings;
 * -1: partial keys.
 */
static int static_keys(const struct aws_profile *p, struct cred_base_step *b, struct strbuf *err)
{
	const char *id = val(p, "aws_access_key_id");
	const char *secret = val(p, "aws_secret_access_key");
	const char *token = val(p, "aws_session_token");

	if (!id && !secret && !token) {
		strbuf_addf(err, "profile '%s' has no credentials", p->name);
		return 1;
	}
	if (!id || !secret) {
		strbuf_addf(err, "profile '%s' has %s but no %s", p->name,
			    id	     ? "aws_access_key_id"
			    : secret ? "aws_secret_access_key"
				     : "aws_session_token",
			    id ? "aws_secret_access_key" : "aws_access_key_id");
		return -1;
	}
	*b = (struct cred_base_step){ .kind = CRED_BASE_ACCESS_KEY,
				      .profile = p->name,
				      .access_key_id = id,
				      .secret_access_key = secret,
				      .session_token = token,
				      .account_id = val(p, "aws_account_id") };
	return 0;
}

/*
 * SSO settings; 1 when the profile has none. botocore's rules (a setting in
 * both the profile and its [sso-session] must agree; the start URL and the
 * region are required), and smithy-rs's: with sso_session, sso_region
 * belongs in the [sso-session].
 */
static int sso_base(const struct aws_profile_set *set, const struct aws_profile *p,
		    struct cred_base_step *b, struct strbuf *err)
{
	const char *account = val(p, "sso_account_id");
	const char *region = val(p, "sso_region");
	const char *role = val(p, "sso_role_name");
	const char *url = val(p, "sso_start_url");
	const char *session = val(p, "sso_session");

	if (!account && !region && !role && !url && !session)
		return 1;
	if (session) {
		const struct aws_profile *s = aws_sso_session_find(set, session);
		const char *sregion, *surl;

		if (!s) {
			strbuf_addf(err, "profile '%s': sso-session '%s' not found", p->name,
				    session);
			return -1;
		}
		sregion = val(s, "sso_region");
		surl = val(s, "sso_start_url");
		if (region && !sregion) {
			strbuf_addf(err,
				    "profile '%s': with sso_session, sso_region belongs in "
				    "[sso-session %s], not in the profile",
				    p->name, session);
			return -1;
		}
		if (region && strcmp(region, sregion)) {
			strbuf_addf(err,
				    "profile '%s': sso_region differs from the one in "
				    "[sso-session %s]",
				    p->name, session);
			return -1;
		}
		if (url && surl && strcmp(url, surl)) {
			strbuf_addf(err,
				    "profile '%s': sso_start_url differs from the one in "
				    "[sso-session %s]",
				    p->name, session);
			return -1;
		}
		region = sregion;
		if (surl)
			url = surl;
		if (!url || !region) {
			strbuf_addf(err, "profile '%s': [sso-session %s] has no %s", p->name,
				    session, !url ? "sso_start_url" : "sso_region");
			return -1;
		}
	}
	if (role && !account) {
		strbuf_addf(err, "profile '%s' has sso_role_name but no sso_account_id", p->name);
		return -1;
	}
	if (account && !role) {
		strbuf_addf(err, "profile '%s' has sso_account_id but no sso_role_name", p->name);
		return -1;
	}
	if (!account && !session) {
		strbuf_addf(err,
			    "profile '%s' has SSO settings but neither sso_session nor "
			    "sso_account_id and sso_role_name",
			    p->name);
		return -1;
	}
	if (!session && (!url || !region)) {
		strbuf_addf(err, "profile '%s' has sso_account_id and sso_role_name but no %s",
			    p->name, !url ? "sso_start_url" : "sso_region");
		return -1;
	}
	*b = (struct cred_base_step){ .kind = CRED_BASE_SSO,
				      .profile = p->name,
				      .sso_session = session,
				      .sso_region = region,
				      .sso_start_url = url,
				      .sso_account_id = account,
				      .sso_role_name = role };
	return 0;
}

/* A profile that ends the walk. 0, 1 (no credential settings) or -1. */
static int base_provider(const struct aws_profile_set *set, const struct aws_profile *p,
			 struct cred_base_step *b, struct strbuf *err)
{
	const char *source = val(p, "credential_source");
	const char *token_file = val(p, "web_identity_token_file");
	int ret;

	memset(b, 0, sizeof(*b));
	b->profile = p->name;
	if (source) {
		b->kind = CRED_BASE_NAMED_SOURCE;
		b->credential_source = source;
		return 0;
	}
	if (token_file) {
		if (!val(p, "role_arn")) {
			strbuf_addf(err, "profile '%s' has web_identity_token_file but no role_arn",
				    p->name);
			return -1;
		}
		b->kind = CRED_BASE_WEB_IDENTITY;
		b->role_arn = val(p, "role_arn");
		b->web_identity_token_file = token_file;
		b->role_session_name = val(p, "role_session_name");
		return 0;
	}
	ret = sso_base(set, p, b, err);
	if (ret <= 0)
		return ret;
	if (val(p, "credential_process")) {
		b->kind = CRED_BASE_PROCESS;
		b->credential_process = val(p, "credential_process");
		return 0;
	}
	return static_keys(p, b, err);
}

static void add_role(struct profile_chain *c, const struct aws_profile *p)
{
	struct cred_role_step *r;

	ALLOC_GROW(c->roles, c->nroles + 1, c->alloc);
	r = &c->roles[c->nroles++];
	r->profile = p->name;
	r->role_arn = val(p, "role_arn");
	r->external_id = val(p, "external_id");
	r->role_session_name = val(p, "role_session_name");
	r->duration_seconds = val(p, "duration_seconds");
	r->mfa_serial = val(p, "mfa_serial");
}

static void loop_error(struct strbuf *err, const char *const *visited, size_t n, const char *next)
{
	size_t i;

	strbuf_addf(err, "profile '%s': source_profile chain forms a loop: ", visited[0]);
	for (i = 0; i < n; i++)
		strbuf_addf(err, "%s -> ", visited[i]);
	strbuf_addstr(err, next);
}

int profile_chain_resolve(const struct aws_profile_set *set, const char *selected,
			  struct profile_chain *out, struct strbuf *err)
{
	const char *name = selected && *selected ? selected : "default";
	const char **visited = NULL;
	size_t nvisited = 0, valloc = 0, i;
	const struct aws_profile *p;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!set->nprofiles) {
		strbuf_addstr(err, "no profiles defined");
		return 1;
	}
	p = aws_profile_find(set, name);
	if (!p) {
		strbuf_addf(err, "profile '%s' not found", name);
		return strcmp(name, "default") ? -1 : 1;
	}
	for (;;) {
		const char *role_arn, *source, *cs;

		for (i = 0; i < nvisited; i++)
			if (!strcmp(visited[i], p->name)) {
				loop_error(err, visited, nvisited, p->name);
				ret = -1;
				goto out;
			}
		ALLOC_GROW(visited, nvisited + 1, valloc);
		visited[nvisited++] = p->name;

		/* after the first profile, static keys win over a role */
		if (nvisited > 1 && val(p, "aws_access_key_id") &&
		    val(p, "aws_secret_access_key")) {
			ret = static_keys(p, &out->base, err);
			goto out;
		}
		role_arn = val(p, "role_arn");
		if (!role_arn || val(p, "web_identity_token_file")) {
			ret = base_provider(set, p, &out->base, err);
			if (ret > 0 && nvisited > 1) {
				strbuf_addf(err, " (it is the source_profile of '%s')",
					    visited[nvisited - 2]);
				ret = -1;
			}
			goto out;
		}
		source = val(p, "source_profile");
		cs = val(p, "credential_source");
		if (source && cs) {
			strbuf_addf(err,
				    "profile '%s' has both source_profile and credential_source "
				    "(use one)",
				    p->name);
			ret = -1;
			goto out;
		}
		if (!source && !cs) {
			strbuf_addf(err,
				    "profile '%s' has role_arn but neither source_profile nor "
				    "credential_source",
				    p->name);
			ret = -1;
			goto out;
		}
		add_role(out, p);
		if (cs) {
			memset(&out->base, 0, sizeof(out->base));
			out->base.kind = CRED_BASE_NAMED_SOURCE;
			out->base.profile = p->name;
			out->base.credential_source = cs;
			ret = 0;
			goto out;
		}
		if (!strcmp(source, p->name)) {
			/* a profile that is its own source: its own keys assume its role */
			ret = base_provider(set, p, &out->base, err);
			if (ret > 0) {
				strbuf_addstr(err, " (it is its own source_profile)");
				ret = -1;
			}
			goto out;
		}
		{
			const struct aws_profile *next = aws_profile_find(set, source);

			if (!next) {
				strbuf_addf(err, "profile '%s': source_profile '%s' not found",
					    p->name, source);
				ret = -1;
				goto out;
			}
			p = next;
		}
	}
out:
	free(visited);
	if (ret) {
		profile_chain_release(out);
		return ret;
	}
	/* roles were found from the selected profile down: apply them bottom-up */
	for (i = 0; i < out->nroles / 2; i++) {
		struct cred_role_step t = out->roles[i];

		out->roles[i] = out->roles[out->nroles - 1 - i];
		out->roles[out->nroles - 1 - i] = t;
	}
	return 0;
}
