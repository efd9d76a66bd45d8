#include "compat.h"
#include "aws/credentials.h"
#include "core/awsconfig.h"
#include "core/awscreds.h"
#include "core/strbuf.h"

/*
 * The static credential providers (environment, shared-files profile, a
 * fixed set) and the chain that tries them in order. Files are re-read on
 * every get; nothing is cached except which chain member answered.
 */

#define CRED_FILE_MAX (1024 * 1024)

/* The environment a provider was made with: a copy of struct cred_env. */
struct env_source {
	aws_getenv_fn getenv_fn;
	void *ctx;
	char *profile; /* --profile, NULL when not given */
};

static const char *process_getenv(void *ctx, const char *name)
{
	return getenv(name);
}

static void env_source_init(struct env_source *e, const struct cred_env *env)
{
	e->getenv_fn = env && env->getenv_fn ? env->getenv_fn : process_getenv;
	e->ctx = env ? env->ctx : NULL;
	e->profile = env && env->profile && *env->profile ? xstrdup(env->profile) : NULL;
}

static void env_source_release(struct env_source *e)
{
	free(e->profile);
	e->profile = NULL;
}

static int is_blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

/* The variable's value, or NULL when it is unset or blank. */
static const char *env_value(const struct env_source *e, const char *name)
{
	const char *v = e->getenv_fn(e->ctx, name);
	return v && !is_blank(v) ? v : NULL;
}

/* A profile property, or NULL when it is missing or blank. */
static const char *profile_value(const struct aws_profile *p, const char *name)
{
	const char *v = aws_profile_get(p, name);
	return v && !is_blank(v) ? v : NULL;
}

int cred_provider_get(struct cred_provider *p, struct aws_credentials *out, struct strbuf *err)
{
	memset(out, 0, sizeof(*out));
	return p->vt->get(p, out, err);
}

void cred_provider_invalidate(struct cred_provider *p)
{
	if (p && p->vt->invalidate)
		p->vt->invalidate(p);
}

void cred_provider_destroy(struct cred_provider *p)
{
	if (p)
		p->vt->destroy(p);
}

static void no_invalidate(struct cred_provider *p)
{
}

/* Environment */

struct env_provider {
	struct cred_provider base;
	struct env_source env;
};

static int env_provider_get(struct cred_provider *base, struct aws_credentials *out,
			    struct strbuf *err)
{
	struct env_provider *p = (struct env_provider *)base;
	const char *id = env_value(&p->env, "AWS_ACCESS_KEY_ID");
	const char *secret = env_value(&p->env, "AWS_SECRET_ACCESS_KEY");
	const char *token = env_value(&p->env, "AWS_SESSION_TOKEN");
	const char *account = env_value(&p->env, "AWS_ACCOUNT_ID");

	if (!id && !secret) {
		strbuf_addstr(err, "environment: AWS_ACCESS_KEY_ID not set");
		return 1;
	}
	if (!secret) {
		strbuf_addstr(err, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
		return -1;
	}
	if (!id) {
		strbuf_addstr(err, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
		return -1;
	}
	out->access_key_id = xstrdup(id);
	out->secret_access_key = xstrdup(secret);
	out->session_token = xstrdup_or_null(token);
	out->account_id = xstrdup_or_null(account);
	return 0;
}

static void env_provider_destroy(struct cred_provider *base)
{
	struct env_provider *p = (struct env_provider *)base;
	env_source_release(&p->env);
	free(p);
}

static const struct cred_provider_vtable env_provider_vt = {
	"environment",
	env_provider_get,
	no_invalidate,
	env_provider_destroy,
};

struct cred_provider *cred_provider_env_new(const struct cred_env *env)
{
	struct env_provider *p = xcalloc(1, sizeof(*p));
	p->base.vt = &env_provider_vt;
	env_source_init(&p->env, env);
	return &p->base;
}

/* Profile type */

enum cred_profile_type cred_profile_type(const struct aws_profile *p)
{
	if (!p)
		return CRED_PROFILE_NONE;
	if (profile_value(p, "web_identity_token_file"))
		return CRED_PROFILE_WEB_IDENTITY;
	if (profile_value(p, "role_arn"))
		return CRED_PROFILE_ASSUME_ROLE;
	if (profile_value(p, "sso_session") || profile_value(p, "sso_start_url") ||
	    profile_value(p, "sso_account_id") || profile_value(p, "sso_role_name"))
		return CRED_PROFILE_SSO;
	if (profile_value(p, "credential_process"))
		return CRED_PROFILE_PROCESS;
	if (profile_value(p, "aws_access_key_id") || profile_value(p, "aws_secret_access_key") ||
	    profile_value(p, "aws_session_token"))
		return profile_value(p, "aws_session_token") ? CRED_PROFILE_SESSION
							     : CRED_PROFILE_BASIC;
	return CRED_PROFILE_NONE;
}

static const struct {
	enum cred_profile_type type;
	const char *name;
	const char *source; /* what the profile uses, for "not supported yet" */
} profile_types[] = {
	{CRED_PROFILE_NONE, "none", NULL},
	{CRED_PROFILE_BASIC, "basic", NULL},
	{CRED_PROFILE_SESSION, "session", NULL},
	{CRED_PROFILE_ASSUME_ROLE, "assumeRole", "role_arn (assume role)"},
	{CRED_PROFILE_WEB_IDENTITY, "webIdentity", "web_identity_token_file"},
	{CRED_PROFILE_SSO, "sso", "sso_session/sso_start_url (IAM Identity Center)"},
	{CRED_PROFILE_PROCESS, "process", "credential_process"},
};

const char *cred_profile_type_name(enum cred_profile_type type)
{
	size_t i;
	for (i = 0; i < ARRAY_SIZE(profile_types); i++)
		if (profile_types[i].type == type)
			return profile_types[i].name;
	return "unknown";
}

static const char *profile_type_source(enum cred_profile_type type)
{
	size_t i;
	for (i = 0; i < ARRAY_SIZE(profile_types); i++)
		if (profile_types[i].type == type)
			return profile_types[i].source;
	return NULL;
}

/* Shared files */

/*
 * Reads at most CRED_FILE_MAX bytes of path into out, which is allocated
 * once so the (secret) text is never copied by a realloc. 0: read; 1: the
 * file does not exist; -1: err says why.
 */
static int read_file_capped(const char *path, struct strbuf *out, struct strbuf *err)
{
	struct stat st;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		strbuf_addf(err, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		strbuf_addf(err, "cannot read '%s': %s", path,
			    S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
		close(fd);
		return -1;
	}
	strbuf_grow(out, CRED_FILE_MAX + 1);
	for (;;) {
		ssize_t n = read(fd, out->buf + len, CRED_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strbuf_addf(err, "cannot read '%s': %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (!n)
			break;
		len += (size_t)n;
		if (len > CRED_FILE_MAX) {
			strbuf_addf(err, "cannot read '%s': larger than %d bytes", path,
				    CRED_FILE_MAX);
			close(fd);
			return -1;
		}
	}
	close(fd);
	strbuf_setlen(out, len);
	return 0;
}

/* Reads and parses one file into set; a missing file is fine. 0 or -1. */
static int load_profile_file(struct aws_profile_set *set, enum aws_file_kind kind, const char *path,
			     struct strbuf *err)
{
	struct strbuf text = STRBUF_INIT;
	int ret = read_file_capped(path, &text, err);
	if (!ret)
		ret = aws_profiles_parse(set, kind, text.buf, text.len, path, err);
	else if (ret > 0)
		ret = 0;
	strbuf_release_secret(&text);
	return ret;
}

struct profile_provider {
	struct cred_provider base;
	struct env_source env;
};

static int profile_credentials(const struct aws_profile *p, const struct aws_file_locations *loc,
			       struct aws_credentials *out, struct strbuf *err)
{
	enum cred_profile_type type = cred_profile_type(p);
	const char *id, *secret;

	switch (type) {
	case CRED_PROFILE_NONE:
		strbuf_addf(err, "profile '%s': no aws_access_key_id in %s, %s", loc->profile,
			    loc->config_file, loc->credentials_file);
		return 1;
	case CRED_PROFILE_BASIC:
	case CRED_PROFILE_SESSION:
		break;
	default:
		strbuf_addf(err, "profile '%s' uses %s, which is not supported yet", loc->profile,
			    profile_type_source(type));
		return -1;
	}
	id = profile_value(p, "aws_access_key_id");
	secret = profile_value(p, "aws_secret_access_key");
	if (!id || !secret) {
		strbuf_addf(err, "profile '%s' has %s but no %s (in %s, %s)", loc->profile,
			    id ? "aws_access_key_id" : "aws_secret_access_key",
			    id ? "aws_secret_access_key" : "aws_access_key_id", loc->config_file,
			    loc->credentials_file);
		return -1;
	}
	out->access_key_id = xstrdup(id);
	out->secret_access_key = xstrdup(secret);
	out->session_token = xstrdup_or_null(profile_value(p, "aws_session_token"));
	out->account_id = xstrdup_or_null(profile_value(p, "aws_account_id"));
	return 0;
}

static int profile_provider_get(struct cred_provider *base, struct aws_credentials *out,
				struct strbuf *err)
{
	struct profile_provider *pp = (struct profile_provider *)base;
	const char *aws_profile = pp->env.getenv_fn(pp->env.ctx, "AWS_PROFILE");
	int explicit = pp->env.profile || (aws_profile && *aws_profile);
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct aws_file_locations loc;
	struct strbuf why = STRBUF_INIT;
	const struct aws_profile *p;
	int ret;

	if (aws_file_locations_resolve(&loc, pp->env.getenv_fn, pp->env.ctx, "linux", NULL,
				       pp->env.profile, &why)) {
		const char *name = pp->env.profile ? pp->env.profile
				   : explicit	   ? aws_profile
						   : "default";
		strbuf_addf(err, "profile '%s': %s", name, why.buf);
		strbuf_release(&why);
		return explicit ? -1 : 1;
	}
	ret = load_profile_file(&set, AWS_FILE_CONFIG, loc.config_file, err);
	if (!ret)
		ret = load_profile_file(&set, AWS_FILE_CREDENTIALS, loc.credentials_file, err);
	if (ret)
		goto done;

	p = aws_profile_find(&set, loc.profile);
	if (!p) {
		if (explicit) {
			strbuf_addf(err, "profile '%s' not found in %s, %s", loc.profile,
				    loc.config_file, loc.credentials_file);
			ret = -1;
		} else {
			strbuf_addf(err, "profile '%s': not found in %s, %s", loc.profile,
				    loc.config_file, loc.credentials_file);
			ret = 1;
		}
		goto done;
	}
	ret = profile_credentials(p, &loc, out, err);
done:
	aws_profile_set_release(&set);
	aws_file_locations_release(&loc);
	return ret;
}

static void profile_provider_destroy(struct cred_provider *base)
{
	struct profile_provider *p = (struct profile_provider *)base;
	env_source_release(&p->env);
	free(p);
}

static const struct cred_provider_vtable profile_provider_vt = {
	"profile",
	profile_provider_get,
	no_invalidate,
	profile_provider_destroy,
};

struct cred_provider *cred_provider_profile_new(const struct cred_env *env)
{
	struct profile_provider *p = xcalloc(1, sizeof(*p));
	p->base.vt = &profile_provider_vt;
	env_source_init(&p->env, env);
	return &p->base;
}

/* Static */

struct static_provider {
	struct cred_provider base;
	struct aws_credentials creds;
};

static int static_provider_get(struct cred_provider *base, struct aws_credentials *out,
			       struct strbuf *err)
{
	struct static_provider *p = (struct static_provider *)base;
	aws_credentials_copy(out, &p->creds);
	return 0;
}

static void static_provider_destroy(struct cred_provider *base)
{
	struct static_provider *p = (struct static_provider *)base;
	aws_credentials_release(&p->creds);
	free(p);
}

static const struct cred_provider_vtable static_provider_vt = {
	"static",
	static_provider_get,
	no_invalidate,
	static_provider_destroy,
};

struct cred_provider *cred_provider_static_new(const struct aws_credentials *creds)
{
	struct static_provider *p = xcalloc(1, sizeof(*p));
	p->base.vt = &static_provider_vt;
	aws_credentials_copy(&p->creds, creds);
	return &p->base;
}

/* Chain */

const struct cred_chain_entry cred_default_chain[] = {
	{"environment", cred_provider_env_new},
	{"profile", cred_provider_profile_new},
};
const size_t cred_default_chain_nr = ARRAY_SIZE(cred_default_chain);

struct chain_provider {
	struct cred_provider base;
	struct cred_provider **members;
	size_t nr;
	struct cred_provider *winner; /* the member that answered last, or NULL */
};

static int chain_provider_get(struct cred_provider *base, struct aws_credentials *out,
			      struct strbuf *err)
{
	struct chain_provider *c = (struct chain_provider *)base;
	struct strbuf tried = STRBUF_INIT, one = STRBUF_INIT;
	size_t i;

	if (c->winner) {
		if (!cred_provider_get(c->winner, out, &one)) {
			strbuf_release(&one);
			return 0;
		}
		/* it has nothing now: start over from the top */
		aws_credentials_release(out);
		strbuf_reset(&one);
		c->winner = NULL;
	}
	for (i = 0; i < c->nr; i++) {
		struct cred_provider *m = c->members[i];
		int ret = cred_provider_get(m, out, &one);
		if (!ret) {
			c->winner = m;
			strbuf_release(&one);
			strbuf_release(&tried);
			return 0;
		}
		aws_credentials_release(out);
		if (ret < 0) {
			if (one.len)
				strbuf_addbuf(err, &one);
			else
				strbuf_addf(err, "%s: failed", m->vt->name);
			strbuf_release(&one);
			strbuf_release(&tried);
			return -1;
		}
		if (tried.len)
			strbuf_addstr(&tried, "; ");
		if (one.len)
			strbuf_addbuf(&tried, &one);
		else
			strbuf_addf(&tried, "%s: not configured", m->vt->name);
		strbuf_reset(&one);
	}
	strbuf_addf(err, "no AWS credentials found (tried: %s)", c->nr ? tried.buf : "nothing");
	strbuf_release(&one);
	strbuf_release(&tried);
	return -1;
}

static void chain_provider_invalidate(struct cred_provider *base)
{
	struct chain_provider *c = (struct chain_provider *)base;
	size_t i;
	for (i = 0; i < c->nr; i++)
		cred_provider_invalidate(c->members[i]);
	c->winner = NULL;
}

static void chain_provider_destroy(struct cred_provider *base)
{
	struct chain_provider *c = (struct chain_provider *)base;
	size_t i;
	for (i = 0; i < c->nr; i++)
		cred_provider_destroy(c->members[i]);
	free(c->members);
	free(c);
}

static const struct cred_provider_vtable chain_provider_vt = {
	"chain",
	chain_provider_get,
	chain_provider_invalidate,
	chain_provider_destroy,
};

struct cred_provider *cred_provider_chain_new(struct cred_provider **members, size_t n)
{
	struct chain_provider *c = xcalloc(1, sizeof(*c));
	c->base.vt = &chain_provider_vt;
	c->members = xcalloc(n, sizeof(*c->members));
	if (n)
		memcpy(c->members, members, n * sizeof(*members));
	c->nr = n;
	return &c->base;
}

const char *cred_provider_chain_winner(const struct cred_provider *chain)
{
	const struct chain_provider *c = (const struct chain_provider *)chain;
	if (!chain || chain->vt != &chain_provider_vt || !c->winner)
		return NULL;
	return c->winner->vt->name;
}

struct cred_provider *cred_provider_default_chain_new(const struct cred_env *env)
{
	struct cred_provider *members[ARRAY_SIZE(cred_default_chain)];
	size_t i;
	for (i = 0; i < ARRAY_SIZE(cred_default_chain); i++)
		members[i] = cred_default_chain[i].new_fn(env);
	return cred_provider_chain_new(members, ARRAY_SIZE(cred_default_chain));
}
