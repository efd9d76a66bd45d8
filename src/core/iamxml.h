#ifndef IAMKEYS_IAMXML_H
#define IAMKEYS_IAMXML_H
/*
 * awsQuery XML responses (IAM, STS) to structs, with libxml2 (no network,
 * no DTD loading, no entity expansion beyond the five predefined ones).
 * Pure: buffers in, structs out. Every function returns 0 on success or -1
 * with a one-line message in err ("malformed XML at line 3: ..." or
 * "ListUsers response has no ListUsersResult").
 *
 * Text: names, ARNs, paths and messages are kept exactly as sent (no
 * trimming; entities decoded). Tokens (key ids, secrets, dates, status,
 * booleans, markers) have surrounding whitespace trimmed.
 * Dates stay strings (ISO 8601 as sent); see core/timeutil.h to parse.
 * Optional elements that are absent are NULL.
 *
 * On error err is reset to the message; out is left released (all NULL /
 * zero), so calling its release function is harmless either way. Lists
 * that say IsTruncated=true must carry a Marker (else -1), so callers can
 * rely on marker != NULL while paging. A document with a DOCTYPE is
 * refused. Elements are matched by local name, with or without xmlns.
 * List items without their identifying field (ListUsers UserName,
 * ListAccessKeys AccessKeyId, tag Key, GroupName) fail the whole call.
 */
#include <stddef.h>
#include "core/strbuf.h"

struct aws_error {
	int http_status; /* filled by the caller, not the parser */
	char *type;	 /* Sender / Receiver, may be NULL */
	char *code;	 /* e.g. NoSuchEntity; JSON __type without its prefix */
	char *message;
	char *request_id;
};
void aws_error_release(struct aws_error *e);
/* Parses <ErrorResponse><Error>... and <ErrorResponse><Errors><Error>... (also <Response><Errors>).
 * RequestId directly under the root (or RequestID), or in ResponseMetadata. Code is required;
 * type, message, request_id may be NULL. out->http_status is left as it was. */
int aws_parse_xml_error(const char *xml, size_t len, struct aws_error *out, struct strbuf *err);

struct iam_tag {
	char *key;
	char *value;
};

/*
 * The keys and the values of tags as two NULL-terminated arrays pointing
 * into tags (for core/policy.h and core/rotconf.h); free both arrays.
 */
void iam_tags_split(const struct iam_tag *tags, size_t n, const char ***keys, const char ***values);

struct iam_user {
	char *user_name;
	char *user_id;
	char *arn;
	char *path;
	char *create_date;
	char *password_last_used; /* NULL when absent */
	struct iam_tag *tags;	  /* GetUser returns tags; ListUsers does not */
	size_t ntags;
};

struct iam_user_page {
	struct iam_user *users;
	size_t nusers;
	int is_truncated;
	char *marker; /* NULL when not truncated */
	char *request_id;
};
int iam_parse_list_users(const char *xml, size_t len, struct iam_user_page *out,
			 struct strbuf *err);
int iam_parse_get_user(const char *xml, size_t len, struct iam_user *out, struct strbuf *err);
void iam_user_release(struct iam_user *u);
void iam_user_page_release(struct iam_user_page *p);

struct iam_access_key {
	char *user_name;
	char *access_key_id;
	char *status; /* Active | Inactive */
	char *create_date;
	char *secret_access_key; /* CreateAccessKey only; wiped on release */
};
struct iam_access_key_page {
	struct iam_access_key *keys;
	size_t nkeys;
	int is_truncated;
	char *marker;
	char *request_id;
};
int iam_parse_list_access_keys(const char *xml, size_t len, struct iam_access_key_page *out,
			       struct strbuf *err);
/* The secret is also in xml: callers wipe that body (strbuf_release_secret). */
int iam_parse_create_access_key(const char *xml, size_t len, struct iam_access_key *out,
				struct strbuf *err);
void iam_access_key_release(struct iam_access_key *k);
void iam_access_key_page_release(struct iam_access_key_page *p);

struct iam_key_last_used {
	char *user_name;
	/* NULL when never used: AWS's "N/A" (and an empty value) are absent */
	char *last_used_date;
	char *service_name;
	char *region;
};
int iam_parse_get_access_key_last_used(const char *xml, size_t len, struct iam_key_last_used *out,
				       struct strbuf *err);
void iam_key_last_used_release(struct iam_key_last_used *l);

/* GenerateCredentialReport: State (STARTED | INPROGRESS | COMPLETE). */
int iam_parse_generate_credential_report(const char *xml, size_t len, char **state,
					 struct strbuf *err);
/* GetCredentialReport: Content base64-decoded into content (reset first), GeneratedTime as
 * sent (NULL if absent). -1 when Content is missing or not valid base64. */
int iam_parse_get_credential_report(const char *xml, size_t len, struct strbuf *content,
				    char **generated_time, struct strbuf *err);

struct iam_tag_page {
	struct iam_tag *tags;
	size_t ntags;
	int is_truncated;
	char *marker;
};
int iam_parse_list_user_tags(const char *xml, size_t len, struct iam_tag_page *out,
			     struct strbuf *err);
void iam_tag_page_release(struct iam_tag_page *p);

struct iam_group_page {
	char **group_names;
	size_t ngroups;
	int is_truncated;
	char *marker;
};
int iam_parse_list_groups_for_user(const char *xml, size_t len, struct iam_group_page *out,
				   struct strbuf *err);
void iam_group_page_release(struct iam_group_page *p);

/*
 * GetAccountAuthorizationDetails (Filter=User): the UserDetailList's users
 * with their Path, Tags and GroupList; groups, roles and policies are
 * skipped. Read with a pull parser, one user at a time; want (may be NULL)
 * picks the users to keep, so a page of 1,000 costs only the kept ones.
 * Users without UserName fail the call; IsTruncated=true needs a Marker.
 */
struct iam_user_detail {
	struct iam_user user; /* user_name, user_id, arn, path, create_date, tags */
	char **groups;	      /* GroupList: group names */
	size_t ngroups;
	char **attached; /* AttachedManagedPolicies: PolicyArn of each */
	size_t nattached;
};

struct iam_user_detail_page {
	struct iam_user_detail *users;
	size_t nusers;
	int is_truncated;
	char *marker;
};

typedef int (*iam_user_want_fn)(const char *user_name, void *ctx);

int iam_parse_get_account_authorization_details(const char *xml, size_t len, iam_user_want_fn want,
						void *want_ctx, struct iam_user_detail_page *out,
						struct strbuf *err);
void iam_user_detail_release(struct iam_user_detail *u);
void iam_user_detail_page_release(struct iam_user_detail_page *p);

/*
 * ListUserPolicies: PolicyNames/member (inline policy names);
 * ListAttachedUserPolicies: AttachedPolicies/member/PolicyArn (each member
 * needs a PolicyArn). Names and ARNs as sent.
 */
struct iam_name_page {
	char **names;
	size_t nnames;
	int is_truncated;
	char *marker;
};
int iam_parse_list_user_policies(const char *xml, size_t len, struct iam_name_page *out,
				 struct strbuf *err);
int iam_parse_list_attached_user_policies(const char *xml, size_t len, struct iam_name_page *out,
					  struct strbuf *err);
void iam_name_page_release(struct iam_name_page *p);

/* GetAccountSummary: the SummaryMap entries. */
struct iam_summary_entry {
	char *key;
	long long value;
};
int iam_parse_get_account_summary(const char *xml, size_t len, struct iam_summary_entry **entries,
				  size_t *n, struct strbuf *err);
/* Frees the keys and the array from iam_parse_get_account_summary; NULL is fine. */
void iam_summary_entries_free(struct iam_summary_entry *entries, size_t n);

/* ListOrganizationsFeatures: OrganizationId (required) and the EnabledFeatures this
 * version knows, as bits (others are ignored). */
#define IAM_ORG_ROOT_CREDENTIALS_MANAGEMENT 0x1u
#define IAM_ORG_ROOT_SESSIONS 0x2u
struct iam_org_features {
	char *organization_id;
	unsigned features;
};
int iam_parse_list_organizations_features(const char *xml, size_t len, struct iam_org_features *out,
					  struct strbuf *err);
void iam_org_features_release(struct iam_org_features *f);

/* Responses with only ResponseMetadata (UpdateAccessKey, DeleteAccessKey, TagUser, ...).
 * Any root element but an error; *request_id is NULL if the response has none. */
int aws_parse_request_id(const char *xml, size_t len, char **request_id, struct strbuf *err);

/* STS */
struct sts_caller_identity {
	char *account;
	char *arn;
	char *user_id;
};
int sts_parse_get_caller_identity(const char *xml, size_t len, struct sts_caller_identity *out,
				  struct strbuf *err);
void sts_caller_identity_release(struct sts_caller_identity *c);

/* AssumeRole / AssumeRoleWithWebIdentity / AssumeRoot (also AssumeRoleWithSAML), told apart by the root
 * element: Credentials{AccessKeyId, SecretAccessKey, SessionToken, Expiration}, all required;
 * assumed_role_arn from AssumedRoleUser/Arn (may be NULL). Secrets wiped on release. */
struct sts_assumed {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	char *expiration;
	char *assumed_role_arn;
};
int sts_parse_assume_role(const char *xml, size_t len, struct sts_assumed *out, struct strbuf *err);
/*
 * A client's response check (ctx: a struct sts_assumed): sts_parse_assume_role
 * into ctx, and an Expiration that is an ISO 8601 time, so that a bad reply
 * is retried. 0, or -1 with ctx released and a one-line error in err.
 */
int sts_validate_assumed(void *ctx, const char *xml, size_t len, struct strbuf *err);
void sts_assumed_release(struct sts_assumed *a);

#endif
