#ifndef IAMKEYS_SSOTOKEN_H
#define IAMKEYS_SSOTOKEN_H
/*
 * IAM Identity Center (SSO), the pure parts: the token cache that `aws sso
 * login` writes, the decision to use, refresh or give up on a cached
 * token, and the JSON of the two API calls (SSO OIDC CreateToken, SSO
 * portal GetRoleCredentials). Text in, structs or text out; no file,
 * network or clock (the caller passes now).
 *
 * The cache is the AWS CLI v2's and botocore's: one file per login,
 * ~/.aws/sso/cache/<sha1 hex>.json, the SHA-1 of the sso-session name for
 * an sso-session profile, of the sso_start_url for a legacy profile:
 *
 *   {"startUrl": "...", "region": "us-east-1", "accessToken": "...",
 *    "expiresAt": "2024-01-31T20:00:00Z", "clientId": "...",
 *    "clientSecret": "...", "registrationExpiresAt": "...",
 *    "refreshToken": "..."}
 *
 * Parsed with jansson. Its allocations are wiped when freed: the first
 * call of any function here installs, once for the whole process,
 * json_set_alloc_funcs(malloc, a free that wipes the block first), so the
 * tokens and secrets decoded from the cache never linger in freed memory.
 * (Safe to install at any time: blocks jansson allocated before are plain
 * malloc blocks, freed correctly.) Messages never quote a value from the
 * cache or a response: they name the member and the problem.
 */
#include <stddef.h>
#include <time.h>
#include "core/awscreds.h"
#include "core/strbuf.h"

/* botocore's SSOTokenProvider._REFRESH_WINDOW: refresh when less remains. */
#define SSO_TOKEN_REFRESH_WINDOW (15 * 60)

/*
 * Appends "<sha1 hex of key>.json": key is the sso-session name or the
 * start URL, as written in the config file. 0, or -1 if OpenSSL fails.
 */
int sso_cache_file_name(struct strbuf *out, const char *key);

/* A cached token. Strings owned, wiped when released; NULL when absent. */
struct sso_token {
	char *access_token; /* secret */
	time_t expires_at;
	char *refresh_token; /* secret */
	char *client_id;
	char *client_secret;		/* secret */
	time_t registration_expires_at; /* 0 when absent */
	char *region, *start_url;
};

/*
 * Parses a cache file's text (len bytes, need not be NUL-terminated).
 * Required: a JSON object with a non-empty string accessToken (no control
 * characters: it goes into an HTTP header) and an ISO 8601 expiresAt
 * ("2024-01-31T20:00:00Z"; the old CLI's "2024-01-31T20:00:00UTC" too).
 * refreshToken, clientId, clientSecret, region, startUrl: strings when
 * present (null counts as absent); registrationExpiresAt: ISO 8601 when
 * present. 0, or -1 with a one-line message ("not JSON (line 1, column
 * 3)", "no accessToken", "expiresAt is not an ISO 8601 time"); *out is
 * zeroed first and holds nothing on -1.
 */
int sso_token_parse(const char *text, size_t len, struct sso_token *out, struct strbuf *err);
/* NULL-safe; leaves *t zeroed. */
void sso_token_release(struct sso_token *t);

/* refreshToken, clientId and clientSecret present, the registration not expired at now. */
int sso_token_refreshable(const struct sso_token *t, time_t now);

enum sso_token_action {
	SSO_TOKEN_USE,	   /* the cached token is good for more than the refresh window */
	SSO_TOKEN_REFRESH, /* refresh it (if that fails, use it while it has not expired) */
	SSO_TOKEN_EXPIRED, /* expired and cannot be refreshed: the user must log in again */
};
/*
 * What to do with a cached token at now (botocore's rules): only
 * sso-session tokens (session != 0) are refreshed, when fewer than
 * SSO_TOKEN_REFRESH_WINDOW seconds remain and sso_token_refreshable. A
 * legacy token, or one that cannot be refreshed, is used until it expires.
 */
enum sso_token_action sso_token_plan(const struct sso_token *t, int session, time_t now);

/*
 * The SSO OIDC CreateToken request body for a refresh:
 * {"clientId": ..., "clientSecret": ..., "grantType": "refresh_token",
 * "refreshToken": ...}. Appended to out (a secret: release it with
 * strbuf_release_secret). t must be sso_token_refreshable. 0, or -1 when
 * a value is not UTF-8 (it came from a parsed file: it is).
 */
int sso_create_token_body(struct strbuf *out, const struct sso_token *t);

/* A CreateToken response. Strings owned and wiped. */
struct sso_new_token {
	char *access_token;   /* secret */
	long long expires_in; /* seconds, > 0 */
	char *refresh_token;  /* secret; NULL when the response has none */
};
/*
 * {"accessToken": non-empty string without control characters,
 * "expiresIn": integer 1..31536000, "refreshToken"?: string, "tokenType"?,
 * "idToken"?: ignored}. 0, or -1 with a one-line message; *out zeroed first.
 */
int sso_create_token_parse(const char *text, size_t len, struct sso_new_token *out,
			   struct strbuf *err);
void sso_new_token_release(struct sso_new_token *t);

/*
 * The cache file's new text after a refresh: every member of old_text
 * kept as it was, except accessToken, expiresAt (now + expires_in, as
 * "2024-01-31T20:00:00Z") and, when the response had one, refreshToken.
 * Appended to out (a secret). 0, or -1 with err when old_text is not a
 * JSON object.
 */
int sso_token_update(const char *old_text, size_t len, const struct sso_new_token *nt, time_t now,
		     struct strbuf *out, struct strbuf *err);

/*
 * A GetRoleCredentials response: {"roleCredentials": {"accessKeyId",
 * "secretAccessKey", "sessionToken" (non-empty strings), "expiration"
 * (epoch milliseconds, an integer of at least 1000)}} into out (zeroed first;
 * account_id left NULL). 0, or -1 with a one-line message.
 */
int sso_role_credentials_parse(const char *text, size_t len, struct aws_credentials *out,
			       struct strbuf *err);

/*
 * Makes jansson wipe every block it frees (OPENSSL_cleanse of the whole
 * malloc'd block, then free): JSON here carries SSO tokens, Secrets Manager
 * values and new keys' secrets. Process-wide and idempotent; main() calls
 * it before any thread starts, the SSO parsers again to be sure.
 */
void json_wipe_on_free(void);

#endif
