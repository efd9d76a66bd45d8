/*
 * The providers that get temporary credentials from STS: AssumeRole (a
 * profile's role_arn, signed with its source's credentials) and
 * AssumeRoleWithWebIdentity (an OIDC token from a file; the call is not
 * signed). Both go through the project's own client (aws_query_call_ex),
 * so endpoints (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, --endpoint-url),
 * retries and --debug logging are the same as for every other call. Each
 * provider has its own STS client, made at its first fetch, and a cache
 * (cred_cache_get) that refreshes the credentials CRED_REFRESH_WINDOW
 * seconds before they expire.
 *
 * Secrets: the source credentials, the web identity token, the MFA code
 * and the response body are wiped after use; none of them is ever put in a
 * message.
 */
#include "core/compat.h"
#include "aws/readfile.h"
#include "aws/client.h"
#include "aws/cred_internal.h"
#include "aws/credentials.h"
#include "core/iamxml.h"
#include "core/timeutil.h"

#include <openssl/crypto.h>
#include <stdatomic.h>
#include <termios.h>

#define STS_CONNECT_TIMEOUT_MS 5000
#define STS_TOTAL_TIMEOUT_MS 30000
#define DURATION_MIN 900
#define DURATION_MAX 43200

static struct aws_client *sts_client_new(const struct env_source *env, const char *profile_region,
					 struct strbuf *err)
{
	return env_source_client(env, env->region, profile_region, STS_CONNECT_TIMEOUT_MS,
				 STS_TOTAL_TIMEOUT_MS, err);
}

/* "arn:aws:sts::123456789012:assumed-role/R/s" -> "123456789012", or NULL. */
static char *account_of_arn(const char *arn)
{
	const char *p = arn;
	size_t len;
	int i;

	for (i = 0; p && i < 4; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (!p)
		return NULL;
	len = strcspn(p, ":");
	return len == 12 && p[len] == ':' ? xmemdupz(p, len) : NULL;
}

/* Moves the parsed response into out. */
static void assumed_to_credentials(struct sts_assumed *a, struct aws_credentials *out)
{
	out->access_key_id = a->access_key_id;
	out->secret_access_key = a->secret_access_key;
	out->session_token = a->session_token;
	iso8601_parse(a->expiration, &out->expiration);
	out->account_id = a->assumed_role_arn ? account_of_arn(a->assumed_role_arn) : NULL;
	a->access_key_id = a->secret_access_key = a->session_token = NULL;
	sts_assumed_release(a);
}

/*
 * Calls the STS action (signed with creds, unsigned when creds is NULL)
 * through sts and moves the credentials of its reply into out; the
 * provider c learns sts's clock skew. 0, or nonzero with why.
 */
static int sts_assume(struct cred_cached *c, struct aws_client *sts, const char *action,
		      const struct aws_param *params, size_t n, const struct aws_credentials *creds,
		      struct aws_credentials *out, struct strbuf *why)
{
	struct sts_assumed a = { 0 };
	struct aws_call_opts opts = { 0 };
	struct strbuf body = STRBUF_INIT;
	int ret;

	opts.flags = creds ? 0 : AWS_CALL_UNSIGNED;
	opts.validate = sts_validate_assumed;
	opts.validate_ctx = &a;
	opts.creds = creds;
	ret = aws_query_call_ex(sts, AWS_SVC_STS, action, params, n, &opts, &body, NULL, why);
	atomic_store(&c->skew, sts->clock_skew);
	if (!ret)
		assumed_to_credentials(&a, out);
	sts_assumed_release(&a);
	strbuf_release_secret(&body);
	return ret;
}

/* MFA codes */

/*
 * Reads the MFA code from /dev/tty with echo off; only when stdin is a
 * terminal, so a script or a CI job gets an error rather than a hang.
 */
static int tty_mfa_prompt(void *ctx, const char *serial, struct strbuf *code, struct strbuf *err)
{
	struct termios old, quiet;
	char buf[64];
	size_t len = 0;
	int fd, echo_off = 0, ret = -1;

	if (!isatty(STDIN_FILENO)) {
		strbuf_addf(err, "an MFA code for %s is needed but stdin is not a terminal",
			    serial);
		return -1;
	}
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		strbuf_addf(err, "an MFA code for %s is needed but /dev/tty cannot be opened: %s",
			    serial, strerror(errno));
		return -1;
	}
	if (!tcgetattr(fd, &old)) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		echo_off = !tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	dprintf(fd, "Enter MFA code for %s: ", serial);
	for (;;) {
		char ch;
		ssize_t n = read(fd, &ch, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || ch == '\n' || ch == '\r')
			break;
		if (len < sizeof(buf) - 1)
			buf[len++] = ch;
	}
	if (echo_off)
		tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	close(fd);
	strbuf_add(code, buf, len);
	strbuf_trim(code);
	if (!code->len)
		strbuf_addf(err, "no MFA code entered for %s", serial);
	else
		ret = 0;
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

/* AssumeRole */

struct assume_role_provider {
	struct cred_cached c;	      /* base, env, cache */
	struct cred_provider *source; /* owned */
	/* profile NULL: made by cred_provider_assume_role_new (messages name no profile) */
	char *profile, *role_arn, *external_id, *session_name, *duration, *mfa_serial;
	char *region;		/* the profile's region setting, or NULL */
	struct aws_client *sts; /* made at the first fetch */
	/* c.skew: AWS's clock minus ours, as sts learnt it: Expiration is AWS's */
};

/* "profile 'x': " for a profile's role; nothing for cred_provider_assume_role_new's. */
static void assume_role_where(const struct assume_role_provider *p, struct strbuf *err)
{
	if (p->profile)
		strbuf_addf(err, "profile '%s': ", p->profile);
}

static int assume_role_fetch(void *self, struct aws_credentials *out, struct strbuf *err)
{
	struct assume_role_provider *p = self;
	struct aws_credentials src = { 0 };
	struct strbuf why = STRBUF_INIT, code = STRBUF_INIT;
	struct aws_param params[6];
	char *session = NULL;
	size_t n = 0;
	int ret = cred_provider_get(p->source, &src, &why);

	if (ret) {
		/* a failing source names itself; an empty one (credential_source) does not */
		if (ret > 0) {
			assume_role_where(p, err);
			strbuf_addstr(err, "no source credentials: ");
		}
		strbuf_addbuf(err, &why);
		ret = -1;
		goto out;
	}
	if (!p->sts) {
		p->sts = sts_client_new(&p->c.env, p->region, &why);
		if (!p->sts) {
			assume_role_where(p, err);
			strbuf_addbuf(err, &why);
			ret = -1;
			goto out;
		}
	}
	session = cred_session_name(p->session_name, p->c.env.now());
	params[n].name = "RoleArn";
	params[n++].value = p->role_arn;
	params[n].name = "RoleSessionName";
	params[n++].value = session;
	params[n].name = "ExternalId";
	params[n++].value = p->external_id;
	params[n].name = "DurationSeconds";
	params[n++].value = p->duration;
	if (p->mfa_serial) {
		int (*prompt)(void *, const char *, struct strbuf *, struct strbuf *) =
			p->c.env.mfa_prompt ? p->c.env.mfa_prompt : tty_mfa_prompt;

		if (prompt(p->c.env.mfa_ctx, p->mfa_serial, &code, &why)) {
			assume_role_where(p, err);
			strbuf_addbuf(err, &why);
			ret = -1;
			goto out;
		}
		params[n].name = "SerialNumber";
		params[n++].value = p->mfa_serial;
		params[n].name = "TokenCode";
		params[n++].value = code.buf;
	}
	ret = sts_assume(&p->c, p->sts, "AssumeRole", params, n, &src, out, &why);
	if (ret) {
		if (p->profile)
			strbuf_addf(err, "profile '%s' (role_arn %s): ", p->profile, p->role_arn);
		strbuf_addbuf(err, &why);
		ret = -1;
	}
out:
	aws_credentials_release(&src);
	strbuf_release_secret(&code);
	strbuf_release(&why);
	free(session);
	return ret;
}

static void assume_role_invalidate(struct cred_provider *base)
{
	struct assume_role_provider *p = (struct assume_role_provider *)base;

	cred_cache_invalidate(&p->c.cache);
	/* an expired session may be the source's too */
	cred_provider_invalidate(p->source);
}

static void assume_role_destroy(struct cred_provider *base)
{
	struct assume_role_provider *p = (struct assume_role_provider *)base;

	cred_provider_destroy(p->source);
	aws_client_free(p->sts);
	FREE_ALL(p->profile, p->role_arn, p->external_id, p->session_name, p->duration,
		 p->mfa_serial, p->region);
	cred_cached_free(&p->c);
}

static const struct cred_provider_vtable assume_role_vt = {
	"assume-role",
	cred_cached_get,
	assume_role_invalidate,
	assume_role_destroy,
};

/* duration_seconds: digits only, DURATION_MIN..DURATION_MAX. */
static int duration_valid(const char *s)
{
	long v = 0;

	if (!*s || strlen(s) > 6)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v >= DURATION_MIN && v <= DURATION_MAX;
}

struct cred_provider *cred_assume_role_new(const struct env_source *env,
					   struct cred_provider *source,
					   const struct cred_role_step *step,
					   const char *profile_region, struct strbuf *err)
{
	struct assume_role_provider *p;

	if (step->duration_seconds && !duration_valid(step->duration_seconds)) {
		strbuf_addf(err,
			    "profile '%s': duration_seconds '%s' is not a number of seconds from "
			    "%d to %d",
			    step->profile, step->duration_seconds, DURATION_MIN, DURATION_MAX);
		cred_provider_destroy(source);
		return NULL;
	}
	p = cred_cached_new(sizeof(*p), &assume_role_vt, env, assume_role_fetch);
	p->source = source;
	p->profile = xstrdup_or_null(step->profile);
	p->role_arn = xstrdup(step->role_arn);
	p->external_id = xstrdup_or_null(step->external_id);
	p->session_name = xstrdup_or_null(step->role_session_name);
	p->duration = xstrdup_or_null(step->duration_seconds);
	p->mfa_serial = xstrdup_or_null(step->mfa_serial);
	p->region = xstrdup_or_null(profile_region);
	return &p->c.base;
}

struct cred_provider *cred_provider_assume_role_new(const struct cred_env *env,
						    struct cred_provider *source,
						    const char *role_arn, const char *external_id,
						    const char *session_name, int duration_seconds,
						    struct strbuf *err)
{
	struct env_source es;
	struct cred_role_step step;
	struct cred_provider *p;
	char duration[16];

	if (!source || !role_arn || !*role_arn) {
		strbuf_addstr(err, "AssumeRole: no role ARN or no source credentials");
		cred_provider_destroy(source);
		return NULL;
	}
	memset(&step, 0, sizeof(step));
	step.role_arn = role_arn;
	step.external_id = external_id && *external_id ? external_id : NULL;
	step.role_session_name = session_name && *session_name ? session_name : NULL;
	if (duration_seconds > 0) {
		snprintf(duration, sizeof(duration), "%d", duration_seconds);
		step.duration_seconds = duration;
	}
	if (step.duration_seconds && !duration_valid(step.duration_seconds)) {
		strbuf_addf(err, "AssumeRole: a session lasts from %d to %d seconds, not %d",
			    DURATION_MIN, DURATION_MAX, duration_seconds);
		cred_provider_destroy(source);
		return NULL;
	}
	env_source_init(&es, env);
	p = cred_assume_role_new(&es, source, &step, NULL, err);
	env_source_release(&es);
	return p;
}

/* AssumeRoleWithWebIdentity */

struct web_identity_provider {
	struct cred_cached c; /* base, env, cache */
	int from_env;	      /* AWS_WEB_IDENTITY_TOKEN_FILE etc., read at each get */
	/* from a profile (from_env = 0) */
	char *profile, *role_arn, *token_file, *session_name, *region;
	struct aws_client *sts;
	/* c.skew: AWS's clock minus ours, as sts learnt it: Expiration is AWS's */
};

/* What a fetch uses: borrowed from the provider or the environment. */
struct web_identity_config {
	const char *role_arn, *token_file, *session_name;
};

static int web_identity_config(struct web_identity_provider *p, struct web_identity_config *c,
			       struct strbuf *err)
{
	if (!p->from_env) {
		c->role_arn = p->role_arn;
		c->token_file = p->token_file;
		c->session_name = p->session_name;
		return 0;
	}
	c->token_file = env_value(&p->c.env, "AWS_WEB_IDENTITY_TOKEN_FILE");
	c->role_arn = env_value(&p->c.env, "AWS_ROLE_ARN");
	c->session_name = env_value(&p->c.env, "AWS_ROLE_SESSION_NAME");
	if (!c->token_file) {
		strbuf_addstr(err, "web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set");
		return 1;
	}
	if (!c->role_arn) {
		strbuf_addstr(err, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
		return -1;
	}
	return 0;
}

/* "web identity (AWS_ROLE_ARN ...)" or "profile 'x' (web_identity_token_file)": for messages. */
static void web_identity_where(const struct web_identity_provider *p, struct strbuf *sb)
{
	if (p->from_env)
		strbuf_addstr(sb, "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)");
	else
		strbuf_addf(sb, "profile '%s' (web_identity_token_file)", p->profile);
}

static int web_identity_fetch(void *self, struct aws_credentials *out, struct strbuf *err)
{
	struct web_identity_provider *p = self;
	struct web_identity_config c = { 0 };
	struct strbuf why = STRBUF_INIT, token = STRBUF_INIT;
	struct aws_param params[3];
	char *session = NULL;
	int ret = web_identity_config(p, &c, err);

	if (ret)
		return ret;
	ret = read_file(c.token_file, LIMIT_WEB_IDENTITY_TOKEN, NULL, &token, &why);
	if (ret > 0)
		strbuf_addf(&why, "token file '%s' does not exist", c.token_file);
	if (!ret) {
		strbuf_trim(&token);
		if (!token.len) {
			strbuf_addf(&why, "token file '%s' is empty", c.token_file);
			ret = -1;
		}
	}
	if (!ret && !p->sts && !(p->sts = sts_client_new(&p->c.env, p->region, &why)))
		ret = -1;
	if (ret) {
		web_identity_where(p, err);
		strbuf_addf(err, ": %s", why.buf);
		ret = -1;
		goto out;
	}
	session = cred_session_name(c.session_name, p->c.env.now());
	params[0].name = "RoleArn";
	params[0].value = c.role_arn;
	params[1].name = "RoleSessionName";
	params[1].value = session;
	params[2].name = "WebIdentityToken";
	params[2].value = token.buf;
	ret = sts_assume(&p->c, p->sts, "AssumeRoleWithWebIdentity", params, 3, NULL, out, &why);
	if (ret) {
		web_identity_where(p, err);
		strbuf_addf(err, ": %s", why.buf);
		ret = -1;
	}
out:
	strbuf_release_secret(&token);
	strbuf_release(&why);
	free(session);
	return ret;
}

static int web_identity_get(struct cred_provider *base, struct aws_credentials *out,
			    struct strbuf *err)
{
	struct web_identity_provider *p = (struct web_identity_provider *)base;
	struct web_identity_config c;

	if (p->from_env) {
		/* not configured (or misconfigured): say so before looking at the cache */
		int ret = web_identity_config(p, &c, err);
		if (ret)
			return ret;
	}
	return cred_cached_get(base, out, err);
}

static void web_identity_destroy(struct cred_provider *base)
{
	struct web_identity_provider *p = (struct web_identity_provider *)base;

	aws_client_free(p->sts);
	FREE_ALL(p->profile, p->role_arn, p->token_file, p->session_name, p->region);
	cred_cached_free(&p->c);
}

static const struct cred_provider_vtable web_identity_vt = {
	"web-identity",
	web_identity_get,
	cred_cached_invalidate,
	web_identity_destroy,
};

static struct web_identity_provider *web_identity_alloc(const struct env_source *env)
{
	return cred_cached_new(sizeof(struct web_identity_provider), &web_identity_vt, env,
			       web_identity_fetch);
}

struct cred_provider *cred_web_identity_env_new(const struct env_source *env)
{
	struct web_identity_provider *p = web_identity_alloc(env);

	p->from_env = 1;
	return &p->c.base;
}

struct cred_provider *cred_web_identity_profile_new(const struct env_source *env,
						    const struct cred_base_step *step,
						    const char *profile_region, struct strbuf *err)
{
	struct web_identity_provider *p = web_identity_alloc(env);

	p->profile = xstrdup(step->profile);
	p->role_arn = xstrdup(step->role_arn);
	p->token_file = xstrdup(step->web_identity_token_file);
	p->session_name = xstrdup_or_null(step->role_session_name);
	p->region = xstrdup_or_null(profile_region);
	return &p->c.base;
}
