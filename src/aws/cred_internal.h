#ifndef IAMKEYS_CRED_INTERNAL_H
#define IAMKEYS_CRED_INTERNAL_H
/*
 * What credentials.c and the cred_*.c providers share. Not a public API:
 * only those files include it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "aws/credentials.h"
#include "aws/http.h"
#include "core/profile_chain.h"
#include "core/strbuf.h"

/* A copy of struct cred_env (strings owned). */
struct env_source {
	aws_getenv_fn getenv_fn; /* never NULL */
	void *ctx;
	char *profile; /* --profile, NULL when not given */
	char *region, *endpoint_url;
	int debug;
	time_t (*now)(void); /* never NULL */
	struct http_transport *(*http_new)(void *http_ctx, const struct http_options *opts);
	void *http_ctx;
	long process_timeout_ms; /* > 0 */
	int (*mfa_prompt)(void *mfa_ctx, const char *mfa_serial, struct strbuf *code,
			  struct strbuf *err);
	void *mfa_ctx;
};
void env_source_init(struct env_source *e, const struct cred_env *env);
void env_source_copy(struct env_source *dst, const struct env_source *src);
void env_source_release(struct env_source *e);
/* The variable's value, or NULL when it is unset or blank. */
const char *env_value(const struct env_source *e, const char *name);
/* "true" in any case. */
int env_true(const struct env_source *e, const char *name);
/* A transport with these timeouts (env->http_new, else http_curl_new); NULL with err. */
struct http_transport *env_source_http(const struct env_source *e, long connect_ms, long total_ms,
				       struct strbuf *err);
/*
 * A client of the provider's own (STS, SSO) without credentials of its own:
 * region and profile_region as in aws_client_config, these timeouts, the env's
 * endpoint URL, environment and clock, its transport (env_source_http) when
 * env->http_new is set, --debug when env->debug. NULL with err.
 */
struct aws_client *env_source_client(const struct env_source *e, const char *region,
				     const char *profile_region, long connect_ms, long total_ms,
				     struct strbuf *err);

/*
 * A thread-safe cache of temporary credentials: cred_cache_get returns the
 * cached ones while more than CRED_REFRESH_WINDOW seconds remain (or they
 * never expire), else calls fetch (under the lock, so one thread fetches and
 * the others wait for its result). A failed refresh while the old
 * credentials are still valid returns the old ones.
 */
typedef int (*cred_fetch_fn)(void *self, struct aws_credentials *out, struct strbuf *err);
struct cred_cache {
	pthread_mutex_t lock;
	struct aws_credentials creds; /* valid when creds.access_key_id is set */
	unsigned long fetches;	      /* how many fetches succeeded */
};
void cred_cache_init(struct cred_cache *c);
void cred_cache_release(struct cred_cache *c);
int cred_cache_get(struct cred_cache *c, time_t now, cred_fetch_fn fetch, void *self,
		   struct aws_credentials *out, struct strbuf *err);
void cred_cache_invalidate(struct cred_cache *c);

/*
 * The head of every provider with a cache: its vtable, its environment,
 * the cache, what fills it and AWS's clock minus ours (0 unless the
 * provider learns it: an Expiration in AWS's time). A provider's struct
 * starts with one.
 */
struct cred_cached {
	struct cred_provider base;
	struct env_source env;
	struct cred_cache cache;
	cred_fetch_fn fetch; /* called with the provider */
	atomic_long skew;
};
/* A zeroed provider of size bytes (a struct that starts with a cred_cached), set up. */
void *cred_cached_new(size_t size, const struct cred_provider_vtable *vt,
		      const struct env_source *env, cred_fetch_fn fetch);
/* The vtable's get: cred_cache_get at env.now() + skew with fetch. */
int cred_cached_get(struct cred_provider *base, struct aws_credentials *out, struct strbuf *err);
/* The vtable's invalidate for a provider with nothing else to drop. */
void cred_cached_invalidate(struct cred_provider *base);
/* Releases the cache and the environment, then frees the provider (c is its start). */
void cred_cached_free(struct cred_cached *c);
/* The vtable's destroy for a provider with nothing of its own to free. */
void cred_cached_destroy(struct cred_provider *base);

/*
 * Providers built from a profile plan. Each takes ownership of source
 * (also on failure); NULL with err on bad configuration.
 */
/* AssumeRole with source's credentials; profile_region for the STS client. */
struct cred_provider *cred_assume_role_new(const struct env_source *env,
					   struct cred_provider *source,
					   const struct cred_role_step *step,
					   const char *profile_region, struct strbuf *err);
/* AssumeRoleWithWebIdentity from a profile's web_identity_token_file. */
struct cred_provider *cred_web_identity_profile_new(const struct env_source *env,
						    const struct cred_base_step *step,
						    const char *profile_region, struct strbuf *err);
/* credential_process (the command line is split here: a bad one is NULL with err). */
struct cred_provider *cred_process_new(const struct env_source *env, const char *profile,
				       const char *command_line, struct strbuf *err);
/*
 * IAM Identity Center (cred_sso.c): GetRoleCredentials with the token that
 * `aws sso login` cached (refreshed first for sso-session profiles). NULL
 * with err when the step has no sso_account_id / sso_role_name (a
 * token-only sso-session profile) or a bad sso_region.
 */
struct cred_provider *cred_sso_new(const struct env_source *env, const struct cred_base_step *step,
				   struct strbuf *err);
/* The chain members, made from an env_source (copied) rather than a cred_env. */
struct cred_provider *cred_env_new(const struct env_source *env);
struct cred_provider *cred_web_identity_env_new(const struct env_source *env);
struct cred_provider *cred_ecs_new(const struct env_source *env);
struct cred_provider *cred_imds_new(const struct env_source *env);

/* A session name: role_session_name, else "iamkeys-<unix time>". Caller frees. */
char *cred_session_name(const char *configured, time_t now);

#endif
