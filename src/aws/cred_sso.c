/*
 * The IAM Identity Center (SSO) provider: a profile's sso_account_id and
 * sso_role_name, with the access token that `aws sso login` cached in
 * ~/.aws/sso/cache/ (core/ssotoken.h), as botocore's SSOProvider and
 * SSOTokenProvider do:
 *
 *   1. read and parse the cache file (a missing or expired token is an
 *      error telling the user to log in again; nothing is sent);
 *   2. sso-session profiles only: when fewer than 15 minutes remain and the
 *      cache holds a refresh token and an unexpired client registration,
 *      SSO OIDC CreateToken (POST /token, unsigned, grantType
 *      refresh_token), and the new token written back to the cache file
 *      atomically (mode 0600, every other member kept); if that fails while
 *      the old token is still valid, the old one is used;
 *   3. SSO GetRoleCredentials (GET /federation/credentials, unsigned, the
 *      token in the x-amz-sso_bearer_token header): temporary credentials,
 *      cached and refreshed like every provider's (cred_cache_get).
 *
 * Both calls go through the project's client (aws_rest_json_call) with
 * the sso_region, so endpoints (--endpoint-url, AWS_ENDPOINT_URL_SSO /
 * _SSO_OIDC, AWS_ENDPOINT_URL), retries and --debug logging work as for
 * STS. Tokens, the client secret and response bodies are wiped and never
 * put in a message.
 */
#include "core/compat.h"
#include "aws/readfile.h"
#include "aws/msg.h"
#include "aws/client.h"
#include "aws/cred_internal.h"
#include "aws/credentials.h"
#include "core/awsconfig.h"
#include "core/ssotoken.h"
#include "core/timeutil.h"

#include <openssl/crypto.h>
#include <stdatomic.h>

#define SSO_CONNECT_TIMEOUT_MS 5000
#define SSO_TOTAL_TIMEOUT_MS 30000

struct sso_provider {
	struct cred_cached c;	   /* base, env, cache */
	char *profile;		   /* the profile with the SSO settings */
	char *session;		   /* sso_session, or NULL for a legacy profile */
	char *start_url;	   /* sso_start_url */
	char *region;		   /* sso_region: the portal's and OIDC's region */
	char *account_id;	   /* sso_account_id */
	char *role_name;	   /* sso_role_name */
	struct aws_client *client; /* made at the first fetch; unsigned calls only */
	/* c.skew: AWS's clock minus ours, as client learnt it: expiration is AWS's */
};

/* The end of every "log in again" message. */
static void login_hint(const struct sso_provider *p, struct strbuf *err)
{
	strbuf_addf(err, "; run 'aws sso login --profile %s'", p->profile);
}

/* "sso-session 'corp'" or "sso_start_url https://...": what was logged into. */
static void login_name(const struct sso_provider *p, struct strbuf *sb)
{
	if (p->session)
		strbuf_addf(sb, "sso-session '%s'", p->session);
	else
		strbuf_addf(sb, "sso_start_url %s", p->start_url);
}

/* ~/.aws/sso/cache/<sha1>.json into path. 0, or -1 with err. */
static int cache_path(const struct sso_provider *p, struct strbuf *path, struct strbuf *err)
{
	if (aws_home_dir(path, p->c.env.getenv_fn, p->c.env.ctx, "linux", NULL, err))
		return -1;
	strbuf_addstr(path, "/.aws/sso/cache/");
	if (sso_cache_file_name(path, p->session ? p->session : p->start_url)) {
		strbuf_addstr(err, "cannot compute the SSO token cache file name (SHA-1)");
		return -1;
	}
	return 0;
}

/* the sso_region, whatever --region or AWS_REGION say */
static struct aws_client *sso_client_new(const struct env_source *env, const char *region,
					 struct strbuf *err)
{
	return env_source_client(env, region, NULL, SSO_CONNECT_TIMEOUT_MS, SSO_TOTAL_TIMEOUT_MS,
				 err);
}

/*
 * Writes text to path atomically: a temporary file in the same directory
 * (mode 0600), fsync, rename over path, fsync the directory. 0, or -1
 * with err (the temporary file removed).
 */
static int write_cache_file(const char *path, const struct strbuf *text, struct strbuf *err)
{
	struct strbuf tmp = STRBUF_INIT;
	const char *slash = strrchr(path, '/');
	size_t off = 0;
	int fd;

	strbuf_add(&tmp, path, slash ? (size_t)(slash - path) + 1 : 0);
	strbuf_addf(&tmp, ".%s.XXXXXX", slash ? slash + 1 : path);
	fd = mkostemp(tmp.buf, O_CLOEXEC);
	if (fd < 0) {
		strbuf_addf(err, "cannot write '%s': %s", path, strerror(errno));
		strbuf_release(&tmp);
		return -1;
	}
	if (fchmod(fd, 0600) < 0)
		goto fail;
	while (off < text->len) {
		ssize_t n = write(fd, text->buf + off, text->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp.buf, path) < 0)
		goto fail;
	if (slash) {
		struct strbuf dir = STRBUF_INIT;
		int dfd;

		strbuf_add(&dir, path, slash > path ? (size_t)(slash - path) : 1);
		dfd = open(dir.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		strbuf_release(&dir);
	}
	strbuf_release(&tmp);
	return 0;
fail:
	strbuf_addf(err, "cannot write '%s': %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp.buf);
	strbuf_release(&tmp);
	return -1;
}

/* The CreateToken response, checked while the call can still be retried. */
static int parse_new_token(void *ctx, const char *body, size_t len, struct strbuf *err)
{
	struct sso_new_token *nt = ctx;

	sso_new_token_release(nt);
	return sso_create_token_parse(body, len, nt, err);
}

/*
 * CreateToken with the cached refresh token; on success tok holds the new
 * token and the cache file (old text in text) is rewritten. 0, or -1 with
 * err (the CreateToken error, or why the file could not be written: the
 * new token is then still used, but a later run cannot refresh it).
 */
static int sso_refresh(struct sso_provider *p, struct sso_token *tok, const struct strbuf *text,
		       const char *path, time_t now, struct strbuf *err)
{
	struct strbuf body = STRBUF_INIT, resp = STRBUF_INIT, newtext = STRBUF_INIT;
	struct sso_new_token nt = { 0 };
	struct aws_rest_request r = { 0 };
	struct aws_call_opts opts = { 0 };
	int ret = -1;

	if (sso_create_token_body(&body, tok)) {
		strbuf_addstr(err, "cannot build the CreateToken request");
		goto out;
	}
	r.action = "CreateToken";
	r.method = "POST";
	r.path = "/token";
	r.json_body = body.buf;
	opts.flags = AWS_CALL_UNSIGNED;
	opts.validate = parse_new_token;
	opts.validate_ctx = &nt;
	if (aws_rest_json_call(p->client, AWS_SVC_SSO_OIDC, &r, &opts, &resp, NULL, err))
		goto out;
	if (sso_token_update(text->buf, text->len, &nt, now, &newtext, err))
		goto out;
	/* from here on the new token is used, whether or not the file can be written */
	free_secret(tok->access_token);
	tok->access_token = nt.access_token;
	nt.access_token = NULL;
	tok->expires_at = now + (time_t)nt.expires_in;
	if (nt.refresh_token) {
		free_secret(tok->refresh_token);
		tok->refresh_token = nt.refresh_token;
		nt.refresh_token = NULL;
	}
	if (write_cache_file(path, &newtext, err)) {
		ret = 1;
		goto out;
	}
	ret = 0;
out:
	sso_new_token_release(&nt);
	strbuf_release_secret(&body);
	strbuf_release_secret(&resp);
	strbuf_release_secret(&newtext);
	return ret;
}

/* The GetRoleCredentials response, checked while the call can still be retried. */
static int parse_role_credentials(void *ctx, const char *body, size_t len, struct strbuf *err)
{
	struct aws_credentials *c = ctx;

	aws_credentials_release(c);
	return sso_role_credentials_parse(body, len, c, err);
}

static int sso_get_role_credentials(struct sso_provider *p, const char *token,
				    struct aws_credentials *out, struct strbuf *err)
{
	struct strbuf query = STRBUF_INIT, resp = STRBUF_INIT, why = STRBUF_INIT;
	struct http_request_header hdr;
	struct aws_rest_request r = { 0 };
	struct aws_call_opts opts = { 0 };
	struct aws_error aerr = { 0 };
	struct aws_credentials c = { 0 };
	int ret = -1, rc;

	strbuf_addstr(&query, "account_id=");
	aws_form_encode(&query, p->account_id);
	strbuf_addstr(&query, "&role_name=");
	aws_form_encode(&query, p->role_name);
	hdr.name = "x-amz-sso_bearer_token";
	hdr.value = token;
	r.action = "GetRoleCredentials";
	r.method = "GET";
	r.path = "/federation/credentials";
	r.query = query.buf;
	r.headers = &hdr;
	r.nheaders = 1;
	opts.flags = AWS_CALL_UNSIGNED;
	opts.validate = parse_role_credentials;
	opts.validate_ctx = &c;
	rc = aws_rest_json_call(p->client, AWS_SVC_SSO, &r, &opts, &resp, &aerr, &why);
	atomic_store(&p->c.skew, p->client->clock_skew);
	if (rc) {
		int unauthorized = aerr.http_status == 401 ||
				   (aerr.code && !strcmp(aerr.code, "UnauthorizedException"));
		int forbidden = aerr.http_status == 403 ||
				(aerr.code && !strcmp(aerr.code, "ForbiddenException"));

		strbuf_addf(err, "profile '%s' (sso_account_id %s, sso_role_name %s): %s",
			    p->profile, p->account_id, p->role_name, why.buf);
		if (unauthorized) {
			strbuf_addstr(err, " (the SSO token was refused)");
			login_hint(p, err);
		} else if (forbidden) {
			strbuf_addf(err, " (is the role assigned to you in account %s?)",
				    p->account_id);
		}
		goto out;
	}
	*out = c;
	memset(&c, 0, sizeof(c));
	out->account_id = xstrdup(p->account_id);
	ret = 0;
out:
	aws_credentials_release(&c);
	aws_error_release(&aerr);
	strbuf_release(&query);
	strbuf_release_secret(&resp);
	strbuf_release(&why);
	return ret;
}

static int sso_fetch(void *self, struct aws_credentials *out, struct strbuf *err)
{
	struct sso_provider *p = self;
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT, why = STRBUF_INIT, when = STRBUF_INIT;
	struct sso_token tok = { 0 };
	time_t now = p->c.env.now();
	int ret = -1;

	if (cache_path(p, &path, &why)) {
		strbuf_addf(err, "profile '%s': %s", p->profile, why.buf);
		goto out;
	}
	ret = read_file(path.buf, LIMIT_SSO_CACHE_FILE, NULL, &text, &why);
	if (ret) {
		strbuf_addf(err, "profile '%s': ", p->profile);
		if (ret > 0) {
			strbuf_addstr(err, "no cached SSO token for ");
			login_name(p, err);
			strbuf_addf(err, " (no file '%s')", path.buf);
		} else {
			strbuf_addbuf(err, &why);
		}
		login_hint(p, err);
		ret = -1;
		goto out;
	}
	ret = -1;
	if (sso_token_parse(text.buf, text.len, &tok, &why)) {
		strbuf_addf(err, "profile '%s': the SSO token cache file '%s' is invalid: %s",
			    p->profile, path.buf, why.buf);
		login_hint(p, err);
		goto out;
	}
	iso8601_format(&when, tok.expires_at);
	switch (sso_token_plan(&tok, p->session != NULL, now)) {
	case SSO_TOKEN_REFRESH: {
		int rc = -1;

		if (!p->client && !(p->client = sso_client_new(&p->c.env, p->region, &why))) {
			strbuf_addf(err, "profile '%s': %s", p->profile, why.buf);
			goto out;
		}
		rc = sso_refresh(p, &tok, &text, path.buf, now, &why);
		if (rc > 0) {
			/* refreshed, but the cache file could not be rewritten */
			warning("profile '%s': the SSO token was refreshed but the cache was not "
				"updated: %s",
				p->profile, why.buf);
		} else if (rc < 0 && tok.expires_at > now) {
			if (p->c.env.debug)
				debug("profile '%s': the SSO token could not be refreshed (%s); "
				      "using it until it expires at %s",
				      p->profile, why.buf, when.buf);
		} else if (rc < 0) {
			strbuf_addf(err, "profile '%s': the SSO token for ", p->profile);
			login_name(p, err);
			strbuf_addf(err, " expired at %s and could not be refreshed (%s)", when.buf,
				    why.buf);
			login_hint(p, err);
			goto out;
		}
		strbuf_reset(&why);
		break;
	}
	case SSO_TOKEN_EXPIRED:
		strbuf_addf(err, "profile '%s': the SSO token for ", p->profile);
		login_name(p, err);
		strbuf_addf(err, " expired at %s", when.buf);
		login_hint(p, err);
		goto out;
	case SSO_TOKEN_USE:
		break;
	}
	if (!p->client && !(p->client = sso_client_new(&p->c.env, p->region, &why))) {
		strbuf_addf(err, "profile '%s': %s", p->profile, why.buf);
		goto out;
	}
	ret = sso_get_role_credentials(p, tok.access_token, out, err);
out:
	sso_token_release(&tok);
	strbuf_release_secret(&text);
	strbuf_release(&path);
	strbuf_release(&why);
	strbuf_release(&when);
	return ret;
}

static void sso_destroy(struct cred_provider *base)
{
	struct sso_provider *p = (struct sso_provider *)base;

	aws_client_free(p->client);
	FREE_ALL(p->profile, p->session, p->start_url, p->region, p->account_id, p->role_name);
	cred_cached_free(&p->c);
}

static const struct cred_provider_vtable sso_vt = {
	"sso",
	cred_cached_get,
	cred_cached_invalidate,
	sso_destroy,
};

struct cred_provider *cred_sso_new(const struct env_source *env, const struct cred_base_step *step,
				   struct strbuf *err)
{
	struct sso_provider *p;

	if (!step->sso_account_id || !step->sso_role_name) {
		strbuf_addf(err,
			    "profile '%s' has sso_session but no sso_account_id and sso_role_name "
			    "(such a profile gives an SSO token, not AWS credentials)",
			    step->profile);
		return NULL;
	}
	if (!step->sso_start_url || !step->sso_region) {
		strbuf_addf(err, "profile '%s' has no %s", step->profile,
			    !step->sso_start_url ? "sso_start_url" : "sso_region");
		return NULL;
	}
	if (!aws_region_valid(step->sso_region)) {
		strbuf_addf(err, "profile '%s': invalid sso_region '%s'", step->profile,
			    step->sso_region);
		return NULL;
	}
	p = cred_cached_new(sizeof(*p), &sso_vt, env, sso_fetch);
	p->profile = xstrdup(step->profile);
	p->session = xstrdup_or_null(step->sso_session);
	p->start_url = xstrdup(step->sso_start_url);
	p->region = xstrdup(step->sso_region);
	p->account_id = xstrdup(step->sso_account_id);
	p->role_name = xstrdup(step->sso_role_name);
	return &p->c.base;
}
