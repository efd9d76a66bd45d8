#ifndef IAMKEYS_IAM_H
#define IAMKEYS_IAM_H
/*
 * Typed IAM and STS calls over aws_query_call. 0 / -1 with err (one line);
 * on failure c->last_error holds the AWS error code (NoSuchEntity,
 * LimitExceeded, AccessDenied, OutcomeUnknown, ...), status and request id.
 * Each parses the response while the call can still be retried: a 2xx
 * whose body does not parse is retried like a 5xx (idempotent calls only).
 * Results are owned by the caller (release them with the *_release
 * functions of core/iamxml.h); they are zeroed first, and on failure hold
 * nothing to release.
 */
#include "aws/client.h"
#include "core/iamxml.h"

struct iam_user_list {
	struct iam_user *users;
	size_t nusers, alloc;
	unsigned pages; /* how many ListUsers calls it took */
};
/* Every page (Marker / IsTruncated), MaxItems 1000. path_prefix may be NULL. */
int iam_list_users(struct aws_client *c, const char *path_prefix, struct iam_user_list *out,
		   struct strbuf *err);
void iam_user_list_release(struct iam_user_list *l);

/* user_name NULL = the caller's own user. */
int iam_get_user(struct aws_client *c, const char *user_name, struct iam_user *out,
		 struct strbuf *err);

/* Every page, merged into out (is_truncated 0, marker NULL, the last page's
 * request id). user_name NULL = the caller's own keys. */
int iam_list_access_keys(struct aws_client *c, const char *user_name,
			 struct iam_access_key_page *out, struct strbuf *err);
int iam_get_access_key_last_used(struct aws_client *c, const char *key_id,
				 struct iam_key_last_used *out, struct strbuf *err);
/*
 * Not idempotent: retried only after a connection failure or throttling.
 * When AWS may have acted (timeout, reset, 5xx, unreadable 200) it fails
 * with last_error.code AWS_OUTCOME_UNKNOWN: the caller must list the user's
 * keys to find out. out->secret_access_key is wiped by iam_access_key_release.
 */
int iam_create_access_key(struct aws_client *c, const char *user_name, struct iam_access_key *out,
			  struct strbuf *err);
/* status: "Active" or "Inactive". user_name may be NULL (the caller). */
int iam_update_access_key(struct aws_client *c, const char *user_name, const char *key_id,
			  const char *status, struct strbuf *err);
int iam_delete_access_key(struct aws_client *c, const char *user_name, const char *key_id,
			  struct strbuf *err);

/* Every page, merged into out (is_truncated 0, marker NULL). */
int iam_list_user_tags(struct aws_client *c, const char *user_name, struct iam_tag_page *out,
		       struct strbuf *err);
/* Adds or replaces tags (Tags.member.N.Key / .Value). */
int iam_tag_user(struct aws_client *c, const char *user_name, const struct iam_tag *tags,
		 size_t ntags, struct strbuf *err);
int iam_untag_user(struct aws_client *c, const char *user_name, const char *const *keys,
		   size_t nkeys, struct strbuf *err);
/* Every page, merged into out (is_truncated 0, marker NULL). */
int iam_list_groups_for_user(struct aws_client *c, const char *user_name,
			     struct iam_group_page *out, struct strbuf *err);

/* Inline policy names (ListUserPolicies) and attached policy ARNs
 * (ListAttachedUserPolicies): every page, merged into out. */
int iam_list_user_policies(struct aws_client *c, const char *user_name, struct iam_name_page *out,
			   struct strbuf *err);
int iam_list_attached_user_policies(struct aws_client *c, const char *user_name,
				    struct iam_name_page *out, struct strbuf *err);
/* PutUserPolicy (adds or replaces the inline policy; idempotent) and DeleteUserPolicy. */
int iam_put_user_policy(struct aws_client *c, const char *user_name, const char *policy_name,
			const char *document, struct strbuf *err);
int iam_delete_user_policy(struct aws_client *c, const char *user_name, const char *policy_name,
			   struct strbuf *err);

/*
 * GetAccountAuthorizationDetails with Filter=User, every page (MaxItems
 * 1000): calls on_user for each user that want (may be NULL: all) accepts,
 * with its Path, Tags and GroupList, one page at a time (a page is freed
 * before the next is read). *pages counts the calls made. Needs
 * iam:GetAccountAuthorizationDetails (in SecurityAudit and ReadOnlyAccess);
 * on AccessDenied the AWS error is in c's last_error.
 */
int iam_get_user_details(struct aws_client *c, iam_user_want_fn want, void *want_ctx,
			 void (*on_user)(const struct iam_user_detail *u, void *ctx),
			 void *on_user_ctx, unsigned long *pages, struct strbuf *err);

/* *state: STARTED | INPROGRESS | COMPLETE (caller frees). */
int iam_generate_credential_report(struct aws_client *c, char **state, struct strbuf *err);
/* The decoded CSV in content (reset first), GeneratedTime as sent in
 * *generated_time (caller frees; may be NULL). Not ready: the AWS error
 * (ReportNotPresent, ReportInProgress, ReportExpired) in last_error. */
int iam_get_credential_report(struct aws_client *c, struct strbuf *content, char **generated_time,
			      struct strbuf *err);
/* The same, with the AWS error of a failure copied into *aerr (released first). */
int iam_generate_credential_report_ex(struct aws_client *c, char **state, struct aws_error *aerr,
				      struct strbuf *err);
int iam_get_credential_report_ex(struct aws_client *c, struct strbuf *content,
				 char **generated_time, struct aws_error *aerr, struct strbuf *err);
/* The SummaryMap (caller frees each key and the array). */
int iam_get_account_summary(struct aws_client *c, struct iam_summary_entry **entries, size_t *n,
			    struct strbuf *err);

/*
 * IAM ListOrganizationsFeatures: the organization's id and which centralized
 * root access features are enabled. The AWS error of a refusal
 * (AccountNotManagementOrDelegatedAdministratorException,
 * OrganizationNotFoundException, ServiceAccessNotEnabledException) is in
 * last_error.
 */
int iam_list_organizations_features(struct aws_client *c, struct iam_org_features *out,
				    struct strbuf *err);

/* The AWS managed task policies of AssumeRoot that iamkeys uses. */
#define ROOT_TASK_AUDIT_POLICY "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
#define ROOT_TASK_DELETE_POLICY "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"
#define ROOT_SESSION_MAX_SECONDS 900
/*
 * STS AssumeRoot (c's regional STS endpoint; AWS refuses the global one):
 * a root session in member account `account` (12 digits) limited by
 * task_policy_arn, for duration_seconds (1..900; 0 = AWS's default, 900).
 * out gets the session's credentials (account_id = account); release them
 * with aws_credentials_release (wipes the secrets).
 */
int sts_assume_root(struct aws_client *c, const char *account, const char *task_policy_arn,
		    int duration_seconds, struct aws_credentials *out, struct strbuf *err);

/* Asked once per client: later calls copy the first answer (no request). */
int sts_get_caller_identity(struct aws_client *c, struct sts_caller_identity *out,
			    struct strbuf *err);
/* With explicit credentials and a single attempt (verifying a new key). */
int sts_get_caller_identity_with(struct aws_client *c, const struct aws_credentials *creds,
				 struct sts_caller_identity *out, struct strbuf *err);

#endif
