#include "core/compat.h"
#include "aws/readfile.h"
#include "aws/credentials.h"
#include "aws/client.h"
#include "aws/cred_internal.h"
#include "core/awsconfig.h"
#include "core/awscreds.h"
#include "core/profile_chain.h"
#include "core/strbuf.h"

#include <pthread.h>

/*
 * The credential providers that need no network (environment, shared-files
 * profile, a fixed set), the profile provider's stack of role, process and
 * web-identity providers (built from core/profile_chain.h's plan), the
 * cache of temporary credentials, and the chain that tries its members in
 * order. The providers that talk to STS, run a process or ask an HTTP
 * endpoint live in cred_sts.c, cred_process.c and cred_http.c.
 */

#define PROCESS_TIMEOUT_MS 60000

static const char *process_getenv(void *ctx, const char *name)
{
	return getenv(name);
}

void env_source_init(struct env_source *e, const struct cred_env *env)
{
	memset(e, 0, sizeof(*e));
	e->getenv_fn = env && env->getenv_fn ? env->getenv_fn : process_getenv;
	e->ctx = env ? env->ctx : NULL;
	e->profile = env && env->profile && *env->profile ? xstrdup(env->profile) : NULL;
	e->now = env && env->now ? env->now : aws_clock_now;
	e->process_timeout_ms = PROCESS_TIMEOUT_MS;
	if (!env)
		return;
	e->region = env->region && *env->region ? xstrdup(env->region) : NULL;
	e->endpoint_url =
		env->endpoint_url && *env->endpoint_url ? xstrdup(env->endpoint_url) : NULL;
	e->debug = env->debug;
	e->http_new = env->http_new;
	e->http_ctx = env->http_ctx;
	if (env->process_timeout_ms > 0)
		e->process_timeout_ms = env->process_timeout_ms;
	e->mfa_prompt = env->mfa_prompt;
	e->mfa_ctx = env->mfa_ctx;
}

void env_source_copy(struct env_source *dst, const struct env_source *src)
{
	*dst = *src;
	dst->profile = xstrdup_or_null(src->profile);
	dst->region = xstrdup_or_null(src->region);
	dst->endpoint_url = xstrdup_or_null(src->endpoint_url);
}

void env_source_release(struct env_source *e)
{
	FREE_ALL(e->profile, e->region, e->endpoint_url);
	e->profile = e->region = e->endpoint_url = NULL;
}

static int is_blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

const char *env_value(const struct env_source *e, const char *name)
{
	const char *v = e->getenv_fn(e->ctx, name);
	return v && !is_blank(v) ? v : NULL;
}

int env_true(const struct env_source *e, const char *name)
{
	const char *v = env_value(e, name);
	return v && !strcasecmp(v, "true");
}

struct http_transport *env_source_http(const struct env_source *e, long connect_ms, long total_ms,
				       struct strbuf *err)
{
	struct http_options opts = { 0 };
	struct http_transport *t;

	opts.connect_timeout_ms = connect_ms;
	opts.total_timeout_ms = total_ms;
	opts.ca_bundle = env_value(e, "AWS_CA_BUNDLE");
	opts.user_agent = "iamkeys/" IAMKEYS_VERSION;
	t = e->http_new ? e->http_new(e->http_ctx, &opts) : http_curl_new(&opts);
	if (!t)
		strbuf_addstr(err, "cannot set up the HTTP client");
	return t;
}

struct aws_client *env_source_client(const struct env_source *e, const char *region,
				     const char *profile_region, long connect_ms, long total_ms,
				     struct strbuf *err)
{
	struct aws_client_config cfg = { 0 };
	struct aws_client *c;

	cfg.region = region;
	cfg.endpoint_url = e->endpoint_url;
	cfg.profile_region = profile_region;
	cfg.getenv_fn = e->getenv_fn;
	cfg.getenv_ctx = e->ctx;
	cfg.now = e->now;
	cfg.connect_timeout_ms = connect_ms;
	cfg.total_timeout_ms = total_ms;
	if (e->http_new) {
		cfg.http = env_source_http(e, connect_ms, total_ms, err);
		if (!cfg.http)
			return NULL;
	}
	c = aws_client_new_config(&cfg, err);
	if (c)
		c->verbose = e->debug;
	return c;
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

/* The cache of temporary credentials */

void cred_cache_init(struct cred_cache *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void cred_cache_release(struct cred_cache *c)
{
	aws_credentials_release(&c->creds);
	pthread_mutex_destroy(&c->lock);
}

void cred_cache_invalidate(struct cred_cache *c)
{
	pthread_mutex_lock(&c->lock);
	aws_credentials_release(&c->creds);
	pthread_mutex_unlock(&c->lock);
}

/* A zeroed provider of size bytes (a struct that starts with a cred_provider) with vtable vt. */
static void *provider_new(size_t size, const struct cred_provider_vtable *vt)
{
	struct cred_provider *p = xcalloc(1, size);

	p->vt = vt;
	return p;
}

/* The destroy of a provider that owns nothing but itself. */
static void provider_free(struct cred_provider *base)
{
	free(base);
}

void *cred_cached_new(size_t size, const struct cred_provider_vtable *vt,
		      const struct env_source *env, cred_fetch_fn fetch)
{
	struct cred_cached *c = provider_new(size, vt);

	env_source_copy(&c->env, env);
	cred_cache_init(&c->cache);
	c->fetch = fetch;
	atomic_init(&c->skew, 0);
	return c;
}

int cred_cached_get(struct cred_provider *base, struct aws_credentials *out, struct strbuf *err)
{
	struct cred_cached *c = (struct cred_cached *)base;

	return cred_cache_get(&c->cache, c->env.now() + (time_t)atomic_load(&c->skew), c->fetch, c,
			      out, err);
}

void cred_cached_invalidate(struct cred_provider *base)
{
	cred_cache_invalidate(&((struct cred_cached *)base)->cache);
}

void cred_cached_free(struct cred_cached *c)
{
	cred_cache_release(&c->cache);
	env_source_release(&c->env);
	free(c);
}

void cred_cached_destroy(struct cred_provider *base)
{
	cred_cached_free((struct cred_cached *)base);
}

int cred_cache_get(struct cred_cache *c, time_t now, cred_fetch_fn fetch, void *self,
		   struct aws_credentials *out, struct strbuf *err)
{
	struct aws_credentials fresh = { 0 };
	struct strbuf why = STRBUF_INIT;
	int ret;

	pthread_mutex_lock(&c->lock);
	if (c->creds.access_key_id &&
	    (!c->creds.expiration || c->creds.expiration - now > CRED_REFRESH_WINDOW)) {
		aws_credentials_copy(out, &c->creds);
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	ret = fetch(self, &fresh, &why);
	if (!ret) {
		aws_credentials_release(&c->creds);
		c->creds = fresh;
		c->fetches++;
		aws_credentials_copy(out, &c->creds);
	} else if (c->creds.access_key_id && c->creds.expiration > now) {
		/* the refresh failed, but what we have is still good for a while */
		aws_credentials_release(&fresh);
		aws_credentials_copy(out, &c->creds);
		ret = 0;
	} else {
		aws_credentials_release(&fresh);
		strbuf_addbuf(err, &why);
	}
	pthread_mutex_unlock(&c->lock);
	strbuf_release(&why);
	return ret;
}

char *cred_session_name(const char *configured, time_t now)
{
	struct strbuf sb = STRBUF_INIT;

	if (configured)
		return xstrdup(configured);
	strbuf_addf(&sb, "iamkeys-%lld", (long long)now);
	return strbuf_detach(&sb, NULL);
}

/* Borrowed */

struct borrowed_provider {
	struct cred_provider base;
	struct cred_provider_vtable vt; /* p's name, our functions */
	struct cred_provider *p;
};

static int borrowed_get(struct cred_provider *base, struct aws_credentials *out, struct strbuf *err)
{
	return cred_provider_get(((struct borrowed_provider *)base)->p, out, err);
}

static void borrowed_invalidate(struct cred_provider *base)
{
	cred_provider_invalidate(((struct borrowed_provider *)base)->p);
}

struct cred_provider *cred_provider_borrow(struct cred_provider *p)
{
	struct borrowed_provider *b = xcalloc(1, sizeof(*b));

	b->vt.name = p->vt->name;
	b->vt.get = borrowed_get;
	b->vt.invalidate = borrowed_invalidate;
	b->vt.destroy = provider_free;
	b->base.vt = &b->vt;
	b->p = p;
	return &b->base;
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

struct cred_provider *cred_env_new(const struct env_source *env)
{
	struct env_provider *p = provider_new(sizeof(*p), &env_provider_vt);
	env_source_copy(&p->env, env);
	return &p->base;
}

/*
 * A chain member that an explicit --profile turns off: as botocore, which
 * drops the environment provider (and the environment's web identity) when
 * a profile is given, so that --profile p signs with p even when
 * AWS_ACCESS_KEY_ID is set. AWS_PROFILE is no such choice. The vtable name
 * is the member's; get says why it found nothing.
 */
struct skipped_provider {
	struct cred_provider base;
	struct cred_provider_vtable vt;
	const char *label;
};

static int skipped_get(struct cred_provider *base, struct aws_credentials *out, struct strbuf *err)
{
	strbuf_addf(err, "%s: not read with --profile", ((struct skipped_provider *)base)->label);
	return 1;
}

static struct cred_provider *skipped_new(const char *name, const char *label)
{
	struct skipped_provider *p = xcalloc(1, sizeof(*p));
	const struct cred_provider_vtable vt = { name, skipped_get, no_invalidate, provider_free };

	p->vt = vt;
	p->label = label;
	p->base.vt = &p->vt;
	return &p->base;
}

static int profile_given(const struct cred_env *env)
{
	return env && env->profile && *env->profile;
}

struct cred_provider *cred_provider_env_new(const struct cred_env *env)
{
	struct env_provider *p;

	if (profile_given(env))
		return skipped_new("environment", "environment");
	p = provider_new(sizeof(*p), &env_provider_vt);
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
} profile_types[] = {
	{ CRED_PROFILE_NONE, "none" },
	{ CRED_PROFILE_BASIC, "basic" },
	{ CRED_PROFILE_SESSION, "session" },
	{ CRED_PROFILE_ASSUME_ROLE, "assumeRole" },
	{ CRED_PROFILE_WEB_IDENTITY, "webIdentity" },
	{ CRED_PROFILE_SSO, "sso" },
	{ CRED_PROFILE_PROCESS, "process" },
};

const char *cred_profile_type_name(enum cred_profile_type type)
{
	size_t i;
	for (i = 0; i < ARRAY_SIZE(profile_types); i++)
		if (profile_types[i].type == type)
			return profile_types[i].name;
	return "unknown";
}

/* Shared files */

/* Reads and parses one file into set; a missing file is fine. 0 or -1. */
static int load_profile_file(struct aws_profile_set *set, enum aws_file_kind kind, const char *path,
			     struct strbuf *err)
{
	struct strbuf text = STRBUF_INIT;
	int ret = read_file(path, LIMIT_AWS_SHARED_FILE, NULL, &text, err);
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
	pthread_mutex_t lock;
	/* the stack for a profile whose credentials are temporary (roles,
	 * credential_process, web identity, SSO): built at the first get, kept
	 * so that its cache lives on */
	struct cred_provider *stack;
	char *stack_profile;
	/* where the last credentials came from (cred_provider_profile_origin) */
	char *origin_file;
	char **origin_profiles; /* NULL-terminated */
};

static void origin_clear(struct profile_provider *pp)
{
	size_t i;
	for (i = 0; pp->origin_profiles && pp->origin_profiles[i]; i++)
		free(pp->origin_profiles[i]);
	FREE_AND_NULL(pp->origin_profiles);
	FREE_AND_NULL(pp->origin_file);
}

/* Records the credentials file and the profiles of plan (selected first, the keys' last). */
static void origin_set(struct profile_provider *pp, const char *file, const char *selected,
		       const struct profile_chain *plan)
{
	size_t n = 0, i;

	origin_clear(pp);
	pp->origin_file = xstrdup(file);
	pp->origin_profiles = xcalloc(plan->nroles + 3, sizeof(*pp->origin_profiles));
	pp->origin_profiles[n++] = xstrdup(selected);
	for (i = 0; i <= plan->nroles; i++) {
		const char *name = i < plan->nroles ? plan->roles[i].profile : plan->base.profile;
		if (name && strcmp(name, pp->origin_profiles[n - 1]))
			pp->origin_profiles[n++] = xstrdup(name);
	}
}

/* A named credential_source (the names are case-sensitive, as in the SDKs). */
static struct cred_provider *named_source_new(const struct env_source *env,
					      const struct cred_base_step *b, struct strbuf *err)
{
	if (!strcmp(b->credential_source, "Environment"))
		return cred_env_new(env);
	if (!strcmp(b->credential_source, "Ec2InstanceMetadata"))
		return cred_imds_new(env);
	if (!strcmp(b->credential_source, "EcsContainer"))
		return cred_ecs_new(env);
	strbuf_addf(err,
		    "profile '%s': unknown credential_source '%s' (use Environment, "
		    "Ec2InstanceMetadata or EcsContainer)",
		    b->profile, b->credential_source);
	return NULL;
}

/* The providers for a plan: the base, then one AssumeRole per role step. NULL with err. */
static struct cred_provider *build_stack(const struct env_source *env,
					 const struct profile_chain *plan, const char *region,
					 struct strbuf *err)
{
	const struct cred_base_step *b = &plan->base;
	struct cred_provider *p = NULL;
	size_t i;

	switch (b->kind) {
	case CRED_BASE_ACCESS_KEY: {
		struct aws_credentials c = { 0 };

		c.access_key_id = xstrdup(b->access_key_id);
		c.secret_access_key = xstrdup(b->secret_access_key);
		c.session_token = xstrdup_or_null(b->session_token);
		c.account_id = xstrdup_or_null(b->account_id);
		p = cred_provider_static_new(&c);
		aws_credentials_release(&c);
		break;
	}
	case CRED_BASE_NAMED_SOURCE:
		p = named_source_new(env, b, err);
		break;
	case CRED_BASE_WEB_IDENTITY:
		p = cred_web_identity_profile_new(env, b, region, err);
		break;
	case CRED_BASE_PROCESS:
		p = cred_process_new(env, b->profile, b->credential_process, err);
		break;
	case CRED_BASE_SSO:
		p = cred_sso_new(env, b, err);
		break;
	}
	for (i = 0; p && i < plan->nroles; i++)
		p = cred_assume_role_new(env, p, &plan->roles[i], region, err);
	return p;
}

/* Gets from the stack: "nothing" from there (an empty credential_source) is an error. */
static int stack_get(struct profile_provider *pp, struct aws_credentials *out, struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	int ret = cred_provider_get(pp->stack, out, &why);

	if (ret > 0) {
		strbuf_addf(err, "profile '%s': %s", pp->stack_profile, why.buf);
		ret = -1;
	} else if (ret < 0) {
		strbuf_addbuf(err, &why);
	}
	strbuf_release(&why);
	return ret;
}

static int profile_provider_get_locked(struct profile_provider *pp, struct aws_credentials *out,
				       struct strbuf *err)
{
	const char *aws_profile = pp->env.getenv_fn(pp->env.ctx, "AWS_PROFILE");
	int explicit = pp->env.profile || (aws_profile && *aws_profile);
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct profile_chain plan = PROFILE_CHAIN_INIT;
	struct aws_file_locations loc;
	struct strbuf why = STRBUF_INIT;
	const struct aws_profile *p;
	int ret;

	if (pp->stack)
		return stack_get(pp, out, err);
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
	ret = profile_chain_resolve(&set, loc.profile, &plan, &why);
	if (ret > 0) {
		strbuf_addf(err, "profile '%s': no aws_access_key_id in %s, %s", loc.profile,
			    loc.config_file, loc.credentials_file);
		goto done;
	}
	if (ret < 0) {
		strbuf_addf(err, "%s (in %s, %s)", why.buf, loc.config_file, loc.credentials_file);
		goto done;
	}
	if (plan.base.kind == CRED_BASE_ACCESS_KEY && !plan.nroles) {
		/* long-lived keys: nothing to keep, the files are read again next time */
		out->access_key_id = xstrdup(plan.base.access_key_id);
		out->secret_access_key = xstrdup(plan.base.secret_access_key);
		out->session_token = xstrdup_or_null(plan.base.session_token);
		out->account_id = xstrdup_or_null(plan.base.account_id);
		origin_set(pp, loc.credentials_file, loc.profile, &plan);
		goto done;
	}
	pp->stack = build_stack(&pp->env, &plan, profile_value(p, "region"), err);
	if (!pp->stack) {
		ret = -1;
		goto done;
	}
	pp->stack_profile = xstrdup(loc.profile);
	origin_set(pp, loc.credentials_file, loc.profile, &plan);
	ret = stack_get(pp, out, err);
done:
	profile_chain_release(&plan);
	aws_profile_set_release(&set);
	aws_file_locations_release(&loc);
	strbuf_release(&why);
	return ret;
}

static int profile_provider_get(struct cred_provider *base, struct aws_credentials *out,
				struct strbuf *err)
{
	struct profile_provider *pp = (struct profile_provider *)base;
	int ret;

	pthread_mutex_lock(&pp->lock);
	ret = profile_provider_get_locked(pp, out, err);
	pthread_mutex_unlock(&pp->lock);
	return ret;
}

static void profile_provider_invalidate(struct cred_provider *base)
{
	struct profile_provider *pp = (struct profile_provider *)base;

	pthread_mutex_lock(&pp->lock);
	if (pp->stack)
		cred_provider_invalidate(pp->stack);
	pthread_mutex_unlock(&pp->lock);
}

static void profile_provider_destroy(struct cred_provider *base)
{
	struct profile_provider *p = (struct profile_provider *)base;
	cred_provider_destroy(p->stack);
	free(p->stack_profile);
	origin_clear(p);
	pthread_mutex_destroy(&p->lock);
	env_source_release(&p->env);
	free(p);
}

static const struct cred_provider_vtable profile_provider_vt = {
	"profile",
	profile_provider_get,
	profile_provider_invalidate,
	profile_provider_destroy,
};

struct cred_provider *cred_provider_profile_new(const struct cred_env *env)
{
	struct profile_provider *p = provider_new(sizeof(*p), &profile_provider_vt);
	env_source_init(&p->env, env);
	pthread_mutex_init(&p->lock, NULL);
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
	struct static_provider *p = provider_new(sizeof(*p), &static_provider_vt);
	aws_credentials_copy(&p->creds, creds);
	return &p->base;
}

/* Chain */

/* The public constructors of the chain members, from a cred_env. */
#define FROM_CRED_ENV(public_fn, src_fn)                                                           \
	struct cred_provider *public_fn(const struct cred_env *env)                                \
	{                                                                                          \
		struct env_source e;                                                               \
		struct cred_provider *p;                                                           \
		env_source_init(&e, env);                                                          \
		p = src_fn(&e);                                                                    \
		env_source_release(&e);                                                            \
		return p;                                                                          \
	}
/* (internal linkage from this declaration) */
static struct cred_provider *web_identity_from_env(const struct cred_env *env);
FROM_CRED_ENV(web_identity_from_env, cred_web_identity_env_new)
FROM_CRED_ENV(cred_provider_ecs_new, cred_ecs_new)
FROM_CRED_ENV(cred_provider_imds_new, cred_imds_new)

struct cred_provider *cred_provider_web_identity_new(const struct cred_env *env)
{
	/* a profile's web_identity_token_file is the profile member's */
	if (profile_given(env))
		return skipped_new("web-identity", "web identity");
	return web_identity_from_env(env);
}

/* The SDKs' order. */
const struct cred_chain_entry cred_default_chain[] = {
	{ "environment", cred_provider_env_new },
	{ "web-identity", cred_provider_web_identity_new },
	{ "profile", cred_provider_profile_new },
	{ "container", cred_provider_ecs_new },
	{ "instance-metadata", cred_provider_imds_new },
};
const size_t cred_default_chain_nr = ARRAY_SIZE(cred_default_chain);

struct chain_provider {
	struct cred_provider base;
	struct cred_provider **members;
	size_t nr;
	pthread_mutex_t lock;
	struct cred_provider *winner; /* the member that answered last, or NULL */
};

static int chain_provider_get_locked(struct chain_provider *c, struct aws_credentials *out,
				     struct strbuf *err)
{
	struct strbuf tried = STRBUF_INIT, one = STRBUF_INIT;
	size_t i;

	if (c->winner) {
		int ret = cred_provider_get(c->winner, out, &one);

		if (ret <= 0) {
			/* its credentials, or its error (the next member would not be right) */
			if (ret < 0)
				strbuf_addbuf(err, &one);
			strbuf_release(&one);
			return ret;
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

static int chain_provider_get(struct cred_provider *base, struct aws_credentials *out,
			      struct strbuf *err)
{
	struct chain_provider *c = (struct chain_provider *)base;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = chain_provider_get_locked(c, out, err);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static void chain_provider_invalidate(struct cred_provider *base)
{
	struct chain_provider *c = (struct chain_provider *)base;
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->nr; i++)
		cred_provider_invalidate(c->members[i]);
	c->winner = NULL;
	pthread_mutex_unlock(&c->lock);
}

static void chain_provider_destroy(struct cred_provider *base)
{
	struct chain_provider *c = (struct chain_provider *)base;
	size_t i;
	for (i = 0; i < c->nr; i++)
		cred_provider_destroy(c->members[i]);
	free(c->members);
	pthread_mutex_destroy(&c->lock);
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
	pthread_mutex_init(&c->lock, NULL);
	return &c->base;
}

const char *cred_provider_chain_winner(const struct cred_provider *chain)
{
	struct chain_provider *c = (struct chain_provider *)chain;
	const char *name;

	if (!chain || chain->vt != &chain_provider_vt)
		return NULL;
	pthread_mutex_lock(&c->lock);
	name = c->winner ? c->winner->vt->name : NULL;
	pthread_mutex_unlock(&c->lock);
	return name;
}

int cred_provider_profile_origin(struct cred_provider *p, char **file, char ***profiles)
{
	*file = NULL;
	*profiles = NULL;
	while (p && p->vt->get == borrowed_get)
		p = ((struct borrowed_provider *)p)->p;
	if (p && p->vt == &chain_provider_vt) {
		struct chain_provider *c = (struct chain_provider *)p;
		pthread_mutex_lock(&c->lock);
		p = c->winner;
		pthread_mutex_unlock(&c->lock);
		while (p && p->vt->get == borrowed_get)
			p = ((struct borrowed_provider *)p)->p;
	}
	if (p && p->vt == &profile_provider_vt) {
		struct profile_provider *pp = (struct profile_provider *)p;
		size_t n = 0, i;

		pthread_mutex_lock(&pp->lock);
		if (pp->origin_file) {
			*file = xstrdup(pp->origin_file);
			while (pp->origin_profiles[n])
				n++;
			*profiles = xcalloc(n + 1, sizeof(**profiles));
			for (i = 0; i < n; i++)
				(*profiles)[i] = xstrdup(pp->origin_profiles[i]);
		}
		pthread_mutex_unlock(&pp->lock);
	}
	return *file ? 0 : 1;
}

struct cred_provider *cred_provider_default_chain_new(const struct cred_env *env)
{
	struct cred_provider *members[ARRAY_SIZE(cred_default_chain)];
	size_t i;
	for (i = 0; i < ARRAY_SIZE(cred_default_chain); i++)
		members[i] = cred_default_chain[i].new_fn(env);
	return cred_provider_chain_new(members, ARRAY_SIZE(cred_default_chain));
}
