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
	const char *name; /* "environment", "shared-credentials-file", ... */
	/*
	 * 0: *out filled (caller releases). 1: this provider has nothing (not
	 * configured); why, in one short phrase, appended to err. -1: it is
	 * configured but failed (err says why); the chain stops there.
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

struct cred_provider *cred_provider_env_new(const struct cred_env *env);
struct cred_provider *cred_provider_profile_new(const struct cred_env *env);
/* The default chain: environment, then the shared files' profile. */
struct cred_provider *cred_provider_default_chain_new(const struct cred_env *env);
/* A provider that always returns a copy of creds (tests, verify-new-key). */
struct cred_provider *cred_provider_static_new(const struct aws_credentials *creds);

int cred_provider_get(struct cred_provider *p, struct aws_credentials *out, struct strbuf *err);
void cred_provider_destroy(struct cred_provider *p);

/*
 * The chain's error when nothing is found names every source it tried:
 * "no AWS credentials found (tried: environment: AWS_ACCESS_KEY_ID not set;
 * shared files: profile 'default' not found in /home/u/.aws/credentials, /home/u/.aws/config)".
 */

#endif
