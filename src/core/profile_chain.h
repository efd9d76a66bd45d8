#ifndef IAMKEYS_PROFILE_CHAIN_H
#define IAMKEYS_PROFILE_CHAIN_H
/*
 * Where a shared-config profile's credentials come from, as a plan (pure:
 * parsed profiles in, a list of steps out; no file, network or process).
 * Follows the cross-SDK rules that smithy-rs's assume-role-tests.json
 * encodes (tests/data/aws-config/, README section 3):
 *
 *   - a profile with role_arn (and no web_identity_token_file) is an
 *     AssumeRole step; its credentials come from source_profile (followed,
 *     loops detected; a profile naming itself loads its own keys) or from
 *     credential_source (Environment, Ec2InstanceMetadata, EcsContainer);
 *     having both, or neither, is an error;
 *   - from the second profile on, static keys win over that profile's own
 *     role_arn;
 *   - otherwise the base provider is, in order: credential_source, web
 *     identity (web_identity_token_file + role_arn), SSO, credential_process,
 *     static keys.
 *
 * The steps are applied in order: the base provider's credentials assume
 * roles[0], whose credentials assume roles[1], and so on.
 */
#include <stddef.h>
#include "core/awsconfig.h"
#include "core/strbuf.h"

enum cred_base_kind {
	CRED_BASE_ACCESS_KEY,	/* static keys of a profile */
	CRED_BASE_NAMED_SOURCE, /* credential_source */
	CRED_BASE_WEB_IDENTITY, /* web_identity_token_file + role_arn */
	CRED_BASE_SSO,		/* IAM Identity Center (sso_account_id, sso_role_name) */
	CRED_BASE_PROCESS,	/* credential_process */
};

/*
 * Every string is borrowed from the profile set (which must outlive the
 * plan); a field that does not apply, or is not set, is NULL. Blank values
 * count as unset.
 */
struct cred_base_step {
	enum cred_base_kind kind;
	const char *profile; /* the profile it was read from */
	/* ACCESS_KEY */
	const char *access_key_id, *secret_access_key, *session_token, *account_id;
	/* NAMED_SOURCE */
	const char *credential_source;
	/* WEB_IDENTITY (role_session_name too) */
	const char *role_arn, *web_identity_token_file, *role_session_name;
	/*
	 * SSO: sso_region and sso_start_url come from the [sso-session] when
	 * sso_session is set, and are then never NULL; so are they for a
	 * legacy profile. sso_account_id and sso_role_name are NULL only for
	 * an sso-session profile without them (a token-only profile: it gives
	 * no AWS credentials; the planner keeps it, as the suite does).
	 */
	const char *sso_session, *sso_region, *sso_start_url, *sso_account_id, *sso_role_name;
	/* PROCESS */
	const char *credential_process;
};

struct cred_role_step {
	const char *profile; /* the profile that has the role_arn */
	const char *role_arn;
	const char *external_id;       /* NULL = none */
	const char *role_session_name; /* NULL = a generated name */
	const char *duration_seconds;  /* NULL = the default (as text: checked when used) */
	const char *mfa_serial;	       /* NULL = no MFA */
};

struct profile_chain {
	struct cred_base_step base;
	struct cred_role_step *roles; /* applied in this order */
	size_t nroles, alloc;
};
#define PROFILE_CHAIN_INIT                                                                         \
	{                                                                                          \
		{ 0 }, NULL, 0, 0                                                                  \
	}

/*
 * Plans the credentials of profile `selected` of set. Returns:
 *   0  out filled (release it with profile_chain_release);
 *   1  nothing here: no profiles at all, or the selected profile is
 *      "default" and does not exist, or it has no credential settings
 *      (only region and the like); one short phrase appended to err;
 *  -1  the configuration is wrong (a missing or partial source profile, a
 *      loop, both or neither of source_profile and credential_source, ...):
 *      one line appended to err naming the profile(s), e.g.
 *      "profile 'A': source_profile chain forms a loop: A -> B -> A".
 * out is zeroed first and holds nothing to release unless 0 is returned.
 */
int profile_chain_resolve(const struct aws_profile_set *set, const char *selected,
			  struct profile_chain *out, struct strbuf *err);
/* NULL-safe; leaves *c as PROFILE_CHAIN_INIT. */
void profile_chain_release(struct profile_chain *c);

/* "AccessKey", "NamedSource", "WebIdentityToken", "Sso", "Process" (the suite's names). */
const char *cred_base_kind_name(enum cred_base_kind kind);

#endif
