#ifndef IAMKEYS_CREDENTIALS_H
#define IAMKEYS_CREDENTIALS_H
/*
 * Credential providers, one vtable each (after Fluent Bit's
 * flb_aws_credentials.h). The chain is itself a provider that tries its
 * members in order (the order lives in one table, tested) and remembers the
 * one that answered.
 */
#include "core/awscreds.h"
#include "core/strbuf.h"
#include "core/awsconfig.h"

struct cred_provider;
struct cred_provider_vtable {
	const char *name; /* "environment", "profile", "static", "chain", ... */
	/*
	 * 0: *out filled (caller releases). 1: this provider has nothing (not
	 * configured); one short phrase naming the source and why appended to
	 * err ("environment: AWS_ACCESS_KEY_ID not set"). -1: it is configured
	 * but failed (a one-line message appended to err); the chain stops there.
	 * Secrets never appear in err.
	 */
	int (*get)(struct cred_provider *p, struct aws_credentials *out, struct strbuf *err);
	/* Drop any cache so the next get fetches anew (temporary credentials). */
	void (*invalidate)(struct cred_provider *p);
	void (*destroy)(struct cred_provider *p);
};
struct cred_provider {
	const struct cred_provider_vtable *vt;
};

/* Where providers read the environment and files from: real process or a test fixture. */
struct cred_env {
	aws_getenv_fn getenv_fn; /* NULL = the process environment */
	void *ctx;
	const char *profile;     /* --profile, overrides AWS_PROFILE; may be NULL */
};

/*
 * Constructors return a provider the caller destroys with
 * cred_provider_destroy. env is copied (env->ctx is borrowed: it must
 * outlive the provider).
 */

/*
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN and
 * AWS_ACCOUNT_ID; a blank (whitespace-only) value counts as unset. Only one
 * of the key id and the secret set is -1, naming the missing variable.
 */
struct cred_provider *cred_provider_env_new(const struct cred_env *env);
/*
 * Static keys (aws_access_key_id, aws_secret_access_key, optional
 * aws_session_token, aws_account_id) of the selected profile of the config
 * and credentials files (aws_file_locations_resolve; both files re-read, at
 * most 1 MiB each, on every get). Missing files or profile: 1, unless the
 * profile was chosen by --profile or AWS_PROFILE: then -1. An unreadable or
 * unparsable file, partial keys, or a profile whose credentials come from
 * somewhere else (role_arn, sso, credential_process, ...: not supported yet) is -1.
 */
struct cred_provider *cred_provider_profile_new(const struct cred_env *env);
/* The default chain: cred_default_chain[] below, in order. */
struct cred_provider *cred_provider_default_chain_new(const struct cred_env *env);
/*
 * A chain of any providers, tried in order; takes ownership of the n
 * members (the array itself is copied). NULL members are not allowed.
 */
struct cred_provider *cred_provider_chain_new(struct cred_provider **members, size_t n);
/* The vtable name of the member that answered last, or NULL (also for a non-chain). */
const char *cred_provider_chain_winner(const struct cred_provider *chain);
/* A provider that always returns a copy of creds (tests, verify-new-key). */
struct cred_provider *cred_provider_static_new(const struct aws_credentials *creds);

/* The default chain's members, in the order they are tried (one table, tested). */
struct cred_chain_entry {
	const char *name; /* equals the vtable name of what new_fn returns */
	struct cred_provider *(*new_fn)(const struct cred_env *env);
};
extern const struct cred_chain_entry cred_default_chain[];
extern const size_t cred_default_chain_nr;

/* *out is zeroed first; see the vtable for the return values. p may not be NULL. */
int cred_provider_get(struct cred_provider *p, struct aws_credentials *out, struct strbuf *err);
/* Drops cached credentials of p (and of a chain's members). */
void cred_provider_invalidate(struct cred_provider *p);
/* NULL-safe. */
void cred_provider_destroy(struct cred_provider *p);

/*
 * The chain's error when nothing is found names every source it tried:
 * "no AWS credentials found (tried: environment: AWS_ACCESS_KEY_ID not set;
 * profile 'default': not found in /home/u/.aws/config, /home/u/.aws/credentials)".
 */

/*
 * Where a profile's credentials come from, by the SDKs' precedence
 * (web identity, then role_arn, sso, credential_process, static keys; a
 * session token makes static keys a session). NULL profile: NONE.
 */
enum cred_profile_type {
	CRED_PROFILE_NONE,	   /* no credential settings */
	CRED_PROFILE_BASIC,	   /* aws_access_key_id + aws_secret_access_key */
	CRED_PROFILE_SESSION,	   /* ... + aws_session_token */
	CRED_PROFILE_ASSUME_ROLE,  /* role_arn (source_profile or credential_source) */
	CRED_PROFILE_WEB_IDENTITY, /* web_identity_token_file (+ role_arn) */
	CRED_PROFILE_SSO,	   /* sso_session, sso_start_url, sso_account_id, sso_role_name */
	CRED_PROFILE_PROCESS,	   /* credential_process */
};
enum cred_profile_type cred_profile_type(const struct aws_profile *p);
/* "none", "basic", "session", "assumeRole", "webIdentity", "sso", "process" (the suite's names). */
const char *cred_profile_type_name(enum cred_profile_type type);

#endif
