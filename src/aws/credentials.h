#ifndef IAMKEYS_CREDENTIALS_H
#define IAMKEYS_CREDENTIALS_H
/*
 * Credential providers, one vtable each (after Fluent Bit's
 * flb_aws_credentials.h). The chain is itself a provider that tries its
 * members in order (the order lives in one table, tested) and remembers the
 * one that answered.
 */
#include <time.h>
#include "core/awscreds.h"
#include "core/strbuf.h"
#include "core/awsconfig.h"
#include "aws/http.h"

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

/*
 * Where providers read the environment and files from: real process or a
 * test fixture. Every field after profile is optional (zero = default), so
 * { getenv_fn, ctx, profile } stays a complete initialiser.
 */
struct cred_env {
	aws_getenv_fn getenv_fn; /* NULL = the process environment */
	void *ctx;
	const char *profile; /* --profile, overrides AWS_PROFILE; may be NULL */

	/* For the STS calls of role and web-identity providers (aws_client_new_config):
	 * --region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's region,
	 * us-east-1) and --endpoint-url (else AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL).
	 * SSO profiles use endpoint_url too (else AWS_ENDPOINT_URL_SSO / _SSO_OIDC,
	 * AWS_ENDPOINT_URL), with the profile's sso_region. */
	const char *region;
	const char *endpoint_url;
	int debug;	     /* --debug: the STS clients log their requests too */
	time_t (*now)(void); /* NULL = aws_clock_now (expiry and refresh decisions) */
	/*
	 * Makes each HTTP transport the providers use (STS, container, instance
	 * metadata); the caller of http_new owns the result. NULL = http_curl_new.
	 * Tests plug in a scripted fake here.
	 */
	struct http_transport *(*http_new)(void *http_ctx, const struct http_options *opts);
	void *http_ctx;
	long process_timeout_ms; /* credential_process; 0 = 60000 */
	/*
	 * Asks for an MFA code (mfa_serial): appends it to code; 0, or -1 with
	 * err. NULL = read it from /dev/tty without echo, and only when stdin is
	 * a terminal (otherwise it is an error saying so).
	 */
	int (*mfa_prompt)(void *mfa_ctx, const char *mfa_serial, struct strbuf *code,
			  struct strbuf *err);
	void *mfa_ctx;
};

/* Temporary credentials are fetched anew when fewer than this many seconds remain. */
#define CRED_REFRESH_WINDOW 300

/*
 * Constructors return a provider the caller destroys with
 * cred_provider_destroy. env is copied (env->ctx is borrowed: it must
 * outlive the provider).
 */

/*
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN and
 * AWS_ACCOUNT_ID; a blank (whitespace-only) value counts as unset. Only one
 * of the key id and the secret set is -1, naming the missing variable.
 * With env->profile (an explicit --profile) it reads nothing and is 1, as
 * botocore drops its environment provider then; so is the web identity one.
 */
struct cred_provider *cred_provider_env_new(const struct cred_env *env);
/*
 * AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME):
 * STS AssumeRoleWithWebIdentity (an unsigned call), the token file re-read
 * at each fetch. Only the token file set is -1; neither is 1. Cached and
 * refreshed as every provider of temporary credentials here.
 */
struct cred_provider *cred_provider_web_identity_new(const struct cred_env *env);
/*
 * The selected profile of the config and credentials files
 * (aws_file_locations_resolve; both files at most 1 MiB each). Missing
 * files or profile, or a profile without credential settings: 1, unless the
 * profile was chosen by --profile or AWS_PROFILE and does not exist: then -1.
 * An unreadable or unparsable file, partial keys or a bad chain is -1.
 *
 * The plan comes from profile_chain_resolve (core/profile_chain.h): static
 * keys (the files are then re-read on every get); or a base provider
 * (static keys, credential_source Environment / Ec2InstanceMetadata /
 * EcsContainer, web_identity_token_file, IAM Identity Center (SSO: the
 * token cached by `aws sso login`, then GetRoleCredentials),
 * credential_process) followed by AssumeRole steps (role_arn with
 * external_id, role_session_name, duration_seconds, mfa_serial). That
 * stack is built at the first get and kept: its temporary credentials are
 * cached and refreshed.
 */
struct cred_provider *cred_provider_profile_new(const struct cred_env *env);
/*
 * ECS / EKS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 * (http://169.254.170.2<uri>; the base is IAMKEYS_TEST_ECS_ENDPOINT in
 * test builds, -DIAMKEYS_TESTING) or AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a
 * loopback address or the ECS / EKS agent addresses only), with
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read at each fetch) or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN as the Authorization header. Neither
 * URI set: 1.
 */
struct cred_provider *cred_provider_ecs_new(const struct cred_env *env);
/*
 * EC2 instance metadata, IMDSv2: PUT /latest/api/token, then the role name
 * and its credentials under /latest/meta-data/iam/security-credentials/
 * (IMDSv1 without a token if the PUT is refused with 403/404/405, unless
 * AWS_EC2_METADATA_V1_DISABLED=true). AWS_EC2_METADATA_SERVICE_ENDPOINT
 * overrides http://169.254.169.254 (AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6:
 * http://[fd00:ec2::254]); AWS_EC2_METADATA_DISABLED=true: 1 at once.
 * 1-second timeouts, one attempt: no service (or no role) is 1.
 */
struct cred_provider *cred_provider_imds_new(const struct cred_env *env);
/*
 * STS AssumeRole of role_arn signed with source's credentials (source is
 * owned by the provider, also on failure: pass cred_provider_borrow(p) to
 * share one), with ExternalId external_id and RoleSessionName session_name
 * when not NULL (else "iamkeys-<unix time>"), DurationSeconds when
 * duration_seconds > 0 (900..43200, else NULL with err). The STS client
 * follows env (region, endpoint_url, debug, http_new). Cached and refreshed
 * CRED_REFRESH_WINDOW seconds before expiry, like a profile's role.
 * Errors are the STS call's line ("AssumeRole: AccessDenied: ... (request
 * id ...)"), naming no profile. For iamkeys --org (src/org.c).
 */
struct cred_provider *cred_provider_assume_role_new(const struct cred_env *env,
						    struct cred_provider *source,
						    const char *role_arn, const char *external_id,
						    const char *session_name, int duration_seconds,
						    struct strbuf *err);
/* The default chain: cred_default_chain[] below, in order. */
struct cred_provider *cred_provider_default_chain_new(const struct cred_env *env);
/*
 * A chain of any providers, tried in order; takes ownership of the n
 * members (the array itself is copied). NULL members are not allowed.
 */
struct cred_provider *cred_provider_chain_new(struct cred_provider **members, size_t n);
/* The vtable name of the member that answered last, or NULL (also for a non-chain). */
const char *cred_provider_chain_winner(const struct cred_provider *chain);
/*
 * Where the credentials p returned last were read from, when a profile of
 * the shared files gave them: the credentials file as resolved (*file) and
 * the profiles involved, the selected one first, then each source_profile
 * down to the one that holds the keys (*profiles, NULL-terminated). A chain
 * is followed to the member that answered, a borrowed handle to its
 * provider. 0 with both set (caller frees *file, each profile and the
 * array), or 1 with both NULL: not from a profile, or nothing got yet.
 * For the profile sink, which must not overwrite what iamkeys runs with.
 */
int cred_provider_profile_origin(struct cred_provider *p, char **file, char ***profiles);
/* A provider that always returns a copy of creds (tests, verify-new-key). */
struct cred_provider *cred_provider_static_new(const struct aws_credentials *creds);
/*
 * A handle that forwards get and invalidate to p and does not destroy it:
 * p must outlive the handle. For clients that share one provider (worker
 * threads: every provider here is thread-safe, so all of them refresh the
 * same cached temporary credentials). The vtable name is p's.
 */
struct cred_provider *cred_provider_borrow(struct cred_provider *p);

/*
 * The default chain's members, in the order they are tried (one table,
 * tested): "environment", "web-identity", "profile", "container",
 * "instance-metadata" (the SDKs' order).
 */
struct cred_chain_entry {
	const char *name; /* equals the vtable name of what new_fn returns */
	struct cred_provider *(*new_fn)(const struct cred_env *env);
};
extern const struct cred_chain_entry cred_default_chain[];
extern const size_t cred_default_chain_nr;

/*
 * *out is zeroed first; see the vtable for the return values. p may not be
 * NULL. Every provider made here may be called from several threads at once.
 */
int cred_provider_get(struct cred_provider *p, struct aws_credentials *out, struct strbuf *err);
/* Drops cached credentials of p (and of a chain's members). */
void cred_provider_invalidate(struct cred_provider *p);
/* NULL-safe. */
void cred_provider_destroy(struct cred_provider *p);

/*
 * The chain's error when nothing is found names every source it tried:
 * "no AWS credentials found (tried: environment: AWS_ACCESS_KEY_ID not set;
 * web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set; profile 'default': not
 * found in /home/u/.aws/config, /home/u/.aws/credentials; container:
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set; instance
 * metadata: disabled by AWS_EC2_METADATA_DISABLED)".
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
