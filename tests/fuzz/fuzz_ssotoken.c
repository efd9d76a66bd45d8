/* libFuzzer: the SSO parsers (token cache file, CreateToken and
 * GetRoleCredentials responses) and the cache rewrite after a refresh. */
#include "core/compat.h"
#include "core/ssotoken.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const struct strbuf *err)
{
	if (!err->len || strchr(err->buf, '\n'))
		abort(); /* errors are one line */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct sso_token t;
	struct sso_new_token nt;
	struct aws_credentials c;

	if (sso_token_parse(text, size, &t, &err) == 0) {
		if (!t.access_token || !*t.access_token)
			abort();
		sso_token_plan(&t, 1, t.expires_at - 60);
		if (sso_token_refreshable(&t, 0) && sso_create_token_body(&out, &t))
			abort(); /* parsed strings are UTF-8: the body can always be built */
		strbuf_release_secret(&out);
		sso_token_release(&t);
	} else {
		check_error(&err);
	}
	strbuf_reset(&err);
	if (sso_create_token_parse(text, size, &nt, &err) == 0) {
		if (!nt.access_token || nt.expires_in < 1)
			abort();
		sso_new_token_release(&nt);
	} else {
		check_error(&err);
	}
	strbuf_reset(&err);
	if (sso_role_credentials_parse(text, size, &c, &err) == 0) {
		if (!c.access_key_id || !c.secret_access_key || !c.session_token || !c.expiration)
			abort();
		aws_credentials_release(&c);
	} else {
		check_error(&err);
	}
	strbuf_reset(&err);
	{
		char access[] = "new-access", refresh[] = "new-refresh";
		struct sso_new_token fresh = { access, 3600, refresh };

		if (sso_token_update(text, size, &fresh, 1893456000, &out, &err) == 0) {
			struct sso_token back;
			struct strbuf why = STRBUF_INIT;

			/* the rewritten file has the new token, whatever else it holds */
			if (sso_token_parse(out.buf, out.len, &back, &why) == 0) {
				if (strcmp(back.access_token, "new-access"))
					abort();
				sso_token_release(&back);
			}
			strbuf_release(&why);
		} else {
			check_error(&err);
		}
	}
	strbuf_release_secret(&out);
	strbuf_release(&err);
	return 0;
}
