#include "core/compat.h"
#include "core/ssotoken.h"
#include "core/awscreds.h"
#include "core/strbuf.h"
#include "core/timeutil.h"

#include <malloc.h>
#include <pthread.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

/*
 * The SSO token cache and API payloads (see ssotoken.h). Every JSON value
 * goes through jansson with a wiping free installed, and every string we
 * copy out is freed with free_secret.
 */

/* The largest expiresIn accepted: a year. */
#define SSO_MAX_EXPIRES_IN (365LL * 86400)
/* Epoch milliseconds before 10000-01-01. */
#define SSO_MAX_EPOCH_MS 253402300800000LL

static void *plain_malloc(size_t n)
{
	return malloc(n);
}

/* Any malloc'd block, whoever allocated it: wiped in full, then freed. */
static void wiping_free(void *p)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

static pthread_once_t json_alloc_once = PTHREAD_ONCE_INIT;

static void install_wiping_free(void)
{
	json_set_alloc_funcs(plain_malloc, wiping_free);
}

void json_wipe_on_free(void)
{
	pthread_once(&json_alloc_once, install_wiping_free);
}

int sso_cache_file_name(struct strbuf *out, const char *key)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(key, strlen(key), md, &n, EVP_sha1(), NULL) || n != 20)
		return -1;
	strbuf_addhex(out, md, n);
	strbuf_addstr(out, ".json");
	return 0;
}

/* A JSON object from text, or NULL with err (never quoting the text: it is secret). */
static json_t *load_object(const char *text, size_t len, struct strbuf *err)
{
	json_error_t jerr;
	json_t *root;

	json_wipe_on_free();
	root = json_loadb(text, len, 0, &jerr);
	if (!root) {
		strbuf_addf(err, "not valid JSON (line %d, column %d)", jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		strbuf_addstr(err, "not a JSON object");
		return NULL;
	}
	return root;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * A required string member: non-empty, and without control characters
 * when it goes into a header. 0, or -1 with err naming it (where is the
 * prefix for nested members, "" at the top).
 */
static int req_string(json_t *obj, const char *where, const char *name, int no_control, char **out,
		      struct strbuf *err)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (!v || json_is_null(v)) {
		strbuf_addf(err, "no %s%s", where, name);
		return -1;
	}
	if (!json_is_string(v) || !json_string_length(v)) {
		strbuf_addf(err, "%s%s is %s", where, name,
			    json_is_string(v) ? "empty" : "not a string");
		return -1;
	}
	if (no_control && has_control(json_string_value(v))) {
		strbuf_addf(err, "%s%s has a control character", where, name);
		return -1;
	}
	*out = xmemdupz(json_string_value(v), json_string_length(v));
	return 0;
}

/* A member that must be there (null counts as there): it, or NULL with "no <where><name>". */
static json_t *req_member(json_t *obj, const char *where, const char *name, struct strbuf *err)
{
	json_t *v = json_object_get(obj, name);

	if (!v)
		strbuf_addf(err, "no %s%s", where, name);
	return v;
}

/* An optional string member: absent, null and "" leave *out NULL. 0, or -1 (not a string). */
static int opt_string(json_t *obj, const char *name, char **out, struct strbuf *err)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		strbuf_addf(err, "%s is not a string", name);
		return -1;
	}
	if (json_string_length(v))
		*out = xmemdupz(json_string_value(v), json_string_length(v));
	return 0;
}

/* ISO 8601, or the old AWS CLI's "2024-01-31T20:00:00UTC". 0 / -1. */
static int parse_time(const char *s, time_t *out)
{
	size_t n = strlen(s);
	char buf[64];

	if (n > 3 && n < sizeof(buf) && !strcmp(s + n - 3, "UTC")) {
		memcpy(buf, s, n - 3);
		buf[n - 3] = 'Z';
		buf[n - 2] = '\0';
		return iso8601_parse(buf, out);
	}
	return iso8601_parse(s, out);
}

/* A time member: required or not. 0 (absent and optional: *out = 0), or -1. */
static int time_member(json_t *obj, const char *name, int required, time_t *out, struct strbuf *err)
{
	json_t *v = json_object_get(obj, name);

	*out = 0;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		strbuf_addf(err, "no %s", name);
		return -1;
	}
	if (!json_is_string(v) || parse_time(json_string_value(v), out)) {
		strbuf_addf(err, "%s is not an ISO 8601 time", name);
		return -1;
	}
	return 0;
}

void sso_token_release(struct sso_token *t)
{
	if (!t)
		return;
	FREE_SECRETS(t->access_token, t->refresh_token, t->client_secret);
	FREE_ALL(t->client_id, t->region, t->start_url);
	memset(t, 0, sizeof(*t));
}

int sso_token_parse(const char *text, size_t len, struct sso_token *out, struct strbuf *err)
{
	json_t *root;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	root = load_object(text, len, err);
	if (!root)
		return -1;
	if (req_string(root, "", "accessToken", 1, &out->access_token, err) ||
	    time_member(root, "expiresAt", 1, &out->expires_at, err) ||
	    opt_string(root, "refreshToken", &out->refresh_token, err) ||
	    opt_string(root, "clientId", &out->client_id, err) ||
	    opt_string(root, "clientSecret", &out->client_secret, err) ||
	    time_member(root, "registrationExpiresAt", 0, &out->registration_expires_at, err) ||
	    opt_string(root, "region", &out->region, err) ||
	    opt_string(root, "startUrl", &out->start_url, err))
		goto out;
	ret = 0;
out:
	json_decref(root);
	if (ret)
		sso_token_release(out);
	return ret;
}

int sso_token_refreshable(const struct sso_token *t, time_t now)
{
	return t->refresh_token && t->client_id && t->client_secret &&
	       t->registration_expires_at > now;
}

enum sso_token_action sso_token_plan(const struct sso_token *t, int session, time_t now)
{
	if (session && t->expires_at - now < SSO_TOKEN_REFRESH_WINDOW &&
	    sso_token_refreshable(t, now))
		return SSO_TOKEN_REFRESH;
	return t->expires_at > now ? SSO_TOKEN_USE : SSO_TOKEN_EXPIRED;
}

/* Appends the JSON text of v without a jansson-allocated copy. 0 / -1. */
static int dump_into(struct strbuf *out, const json_t *v, size_t flags)
{
	size_t n = json_dumpb(v, NULL, 0, flags);

	if (!n)
		return -1;
	/* one allocation: a secret is never left behind by a realloc */
	strbuf_grow(out, n + 1);
	if (json_dumpb(v, out->buf + out->len, n, flags) != n)
		return -1;
	strbuf_setlen(out, out->len + n);
	return 0;
}

int sso_create_token_body(struct strbuf *out, const struct sso_token *t)
{
	json_t *o;
	int ret;

	json_wipe_on_free();
	if (!t->client_id || !t->client_secret || !t->refresh_token)
		return -1;
	o = json_pack("{s:s, s:s, s:s, s:s}", "clientId", t->client_id, "clientSecret",
		      t->client_secret, "grantType", "refresh_token", "refreshToken",
		      t->refresh_token);
	if (!o)
		return -1;
	ret = dump_into(out, o, JSON_COMPACT);
	json_decref(o);
	return ret;
}

void sso_new_token_release(struct sso_new_token *t)
{
	if (!t)
		return;
	FREE_SECRETS(t->access_token, t->refresh_token);
	memset(t, 0, sizeof(*t));
}

int sso_create_token_parse(const char *text, size_t len, struct sso_new_token *out,
			   struct strbuf *err)
{
	json_t *root, *v;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	root = load_object(text, len, err);
	if (!root)
		return -1;
	if (req_string(root, "", "accessToken", 1, &out->access_token, err))
		goto out;
	v = req_member(root, "", "expiresIn", err);
	if (!v)
		goto out;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > SSO_MAX_EXPIRES_IN) {
		strbuf_addf(err, "expiresIn is not a number of seconds from 1 to %lld",
			    SSO_MAX_EXPIRES_IN);
		goto out;
	}
	out->expires_in = json_integer_value(v);
	if (opt_string(root, "refreshToken", &out->refresh_token, err))
		goto out;
	ret = 0;
out:
	json_decref(root);
	if (ret)
		sso_new_token_release(out);
	return ret;
}

/* Sets a string member; -1 if jansson refuses (not UTF-8). */
static int set_string(json_t *obj, const char *name, const char *value)
{
	json_t *v = json_string(value);

	return v ? json_object_set_new(obj, name, v) : -1;
}

int sso_token_update(const char *old_text, size_t len, const struct sso_new_token *nt, time_t now,
		     struct strbuf *out, struct strbuf *err)
{
	struct strbuf when = STRBUF_INIT;
	json_t *root = load_object(old_text, len, err);
	int ret = -1;

	if (!root)
		return -1;
	iso8601_format(&when, now + (time_t)nt->expires_in);
	if (set_string(root, "accessToken", nt->access_token) ||
	    set_string(root, "expiresAt", when.buf) ||
	    (nt->refresh_token && set_string(root, "refreshToken", nt->refresh_token)) ||
	    dump_into(out, root, 0)) {
		strbuf_addstr(err, "cannot write the token as JSON");
		goto out;
	}
	ret = 0;
out:
	json_decref(root);
	strbuf_release(&when);
	return ret;
}

int sso_role_credentials_parse(const char *text, size_t len, struct aws_credentials *out,
			       struct strbuf *err)
{
	json_t *root, *rc, *v;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	root = load_object(text, len, err);
	if (!root)
		return -1;
	rc = json_object_get(root, "roleCredentials");
	if (!json_is_object(rc)) {
		strbuf_addstr(err, rc ? "roleCredentials is not an object" : "no roleCredentials");
		goto out;
	}
	if (req_string(rc, "roleCredentials.", "accessKeyId", 1, &out->access_key_id, err) ||
	    req_string(rc, "roleCredentials.", "secretAccessKey", 1, &out->secret_access_key,
		       err) ||
	    req_string(rc, "roleCredentials.", "sessionToken", 1, &out->session_token, err))
		goto out;
	v = req_member(rc, "roleCredentials.", "expiration", err);
	if (!v)
		goto out;
	/* under a second would be 0 seconds: "never expires" here */
	if (!json_is_integer(v) || json_integer_value(v) < 1000 ||
	    json_integer_value(v) >= SSO_MAX_EPOCH_MS) {
		strbuf_addstr(err,
			      "roleCredentials.expiration is not a time in epoch milliseconds");
		goto out;
	}
	out->expiration = (time_t)(json_integer_value(v) / 1000);
	ret = 0;
out:
	json_decref(root);
	if (ret)
		aws_credentials_release(out);
	return ret;
}
