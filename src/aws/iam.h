#ifndef IAMKEYS_IAM_H
#define IAMKEYS_IAM_H
/* Typed IAM and STS calls over aws_query_call. 0 / -1 with err (one line). */
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

int iam_get_user(struct aws_client *c, const char *user_name, struct iam_user *out,
		 struct strbuf *err);

/* Every page. */
int iam_list_access_keys(struct aws_client *c, const char *user_name,
			 struct iam_access_key_page *out, struct strbuf *err);
int iam_get_access_key_last_used(struct aws_client *c, const char *key_id,
				 struct iam_key_last_used *out, struct strbuf *err);
/* Not idempotent: never retried after the request may have reached AWS. */
int iam_create_access_key(struct aws_client *c, const char *user_name, struct iam_access_key *out,
			  struct strbuf *err);
int iam_update_access_key(struct aws_client *c, const char *user_name, const char *key_id,
			  const char *status, struct strbuf *err);
int iam_delete_access_key(struct aws_client *c, const char *user_name, const char *key_id,
			  struct strbuf *err);

int sts_get_caller_identity(struct aws_client *c, struct sts_caller_identity *out,
			    struct strbuf *err);

#endif
