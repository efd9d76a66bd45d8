#include "core/compat.h"
#include "core/awscreds.h"
#include "core/strbuf.h"

void aws_credentials_release(struct aws_credentials *c)
{
	if (!c)
		return;
	FREE_SECRETS(c->access_key_id, c->secret_access_key, c->session_token);
	free(c->account_id);
	memset(c, 0, sizeof(*c));
}

void aws_credentials_copy(struct aws_credentials *dst, const struct aws_credentials *src)
{
	dst->access_key_id = xstrdup_or_null(src->access_key_id);
	dst->secret_access_key = xstrdup_or_null(src->secret_access_key);
	dst->session_token = xstrdup_or_null(src->session_token);
	dst->expiration = src->expiration;
	dst->account_id = xstrdup_or_null(src->account_id);
}
