/*
 * The providers that ask a local HTTP endpoint: ECS / EKS container
 * credentials and EC2 instance metadata (IMDSv2). Both use the project's
 * HTTP transport (env->http_new, else libcurl) with short timeouts, a new
 * transport per fetch (no connection kept between refreshes), and cache
 * what they get (cred_cache_get). Response bodies and tokens are wiped;
 * neither is ever put in a message.
 */
#include "core/compat.h"
#include "aws/readfile.h"
#include "aws/cred_internal.h"
#include "aws/credentials.h"
#include "core/credparse.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#define ECS_HOST "http://169.254.170.2"
#define ECS_CONNECT_MS 2000
#define ECS_TOTAL_MS 5000
#define ECS_ATTEMPTS 3

#define IMDS_HOST "http://169.254.169.254"
#define IMDS_HOST_IPV6 "http://[fd00:ec2::254]"
#define IMDS_TIMEOUT_MS 1000
#define IMDS_TOKEN_TTL "21600"
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

/* Appends a server-sent text to a message: printable, at most 200 characters. */
static void add_sanitized(struct strbuf *sb, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < 200; i++)
		strbuf_addch(sb, isprint((unsigned char)s[i]) ? s[i] : ' ');
}

/* "HTTP 401" and the body's message, if it has one. */
static void describe_status(struct strbuf *sb, const struct http_response *r)
{
	char *msg = NULL;

	strbuf_addf(sb, "HTTP %ld", r->status);
	if (!cred_json_string(r->body.buf, r->body.len, "message", &msg) ||
	    !cred_json_string(r->body.buf, r->body.len, "Message", &msg)) {
		strbuf_addstr(sb, ": ");
		add_sanitized(sb, msg);
	}
	free(msg);
}

static int has_crlf(const char *s)
{
	return strchr(s, '\r') || strchr(s, '\n');
}

/* ECS / EKS container credentials */

struct ecs_provider {
	struct cred_cached c; /* base, env, cache */
};

/*
 * May credentials be fetched from this host over plain http? Loopback
 * addresses and the ECS and EKS Pod Identity agents, as the SDKs allow.
 */
static int http_host_allowed(const char *host)
{
	static const char *const agents[] = { "169.254.170.2", "169.254.170.23", "fd00:ec2::23" };
	struct in_addr a4;
	struct in6_addr a6;
	size_t i;

	if (!strcasecmp(host, "localhost"))
		return 1;
	for (i = 0; i < ARRAY_SIZE(agents); i++)
		if (!strcasecmp(host, agents[i]))
			return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* AWS_CONTAINER_CREDENTIALS_FULL_URI: https anywhere, http only to allowed hosts. */
static int full_uri_allowed(const char *uri, struct strbuf *err)
{
	const char *auth, *end;
	struct strbuf host = STRBUF_INIT;
	int ok;

	if (!strncasecmp(uri, "https://", 8))
		return 1;
	if (strncasecmp(uri, "http://", 7)) {
		strbuf_addstr(err, "AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http:// or "
				   "https:// URL");
		return 0;
	}
	auth = uri + 7;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth))) {
		strbuf_addstr(err, "AWS_CONTAINER_CREDENTIALS_FULL_URI must not hold a user name");
		return 0;
	}
	if (*auth == '[') {
		const char *close = memchr(auth, ']', (size_t)(end - auth));
		if (close)
			strbuf_add(&host, auth + 1, (size_t)(close - auth - 1));
	} else {
		strbuf_add(&host, auth, strcspn(auth, ":/?#"));
	}
	ok = host.len && http_host_allowed(host.buf);
	if (!ok)
		strbuf_addf(err,
			    "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is allowed only to a "
			    "loopback address or the ECS/EKS agent (169.254.170.2, 169.254.170.23, "
			    "fd00:ec2::23), not to '%s': use https",
			    host.buf);
	strbuf_release(&host);
	return ok;
}

/* The endpoint URL into url. 0, 1 (not configured) or -1. */
static int ecs_url(const struct env_source *env, struct strbuf *url, struct strbuf *err)
{
	const char *rel = env_value(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env_value(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");

	if (rel) {
#ifdef IAMKEYS_TESTING
		/* test builds only: where the "agent" listens */
		const char *base = env_value(env, "IAMKEYS_TEST_ECS_ENDPOINT");
#else
		const char *base = NULL;
#endif
		size_t len;

		if (!base)
			base = ECS_HOST;
		if (*rel != '/' || has_crlf(rel)) {
			strbuf_addstr(err, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path "
					   "starting with '/'");
			return -1;
		}
		len = strlen(base);
		while (len && base[len - 1] == '/')
			len--;
		strbuf_add(url, base, len);
		strbuf_addstr(url, rel);
		return 0;
	}
	if (full) {
		if (has_crlf(full) || !full_uri_allowed(full, err)) {
			if (!err->len)
				strbuf_addstr(err,
					      "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL");
			return -1;
		}
		strbuf_addstr(url, full);
		return 0;
	}
	strbuf_addstr(err, "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI "
			   "not set");
	return 1;
}

/* The Authorization header's value into token (may stay empty). 0 or -1. */
static int ecs_auth_token(const struct env_source *env, struct strbuf *token, struct strbuf *err)
{
	const char *file = env_value(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *value = env_value(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");

	if (file) {
		int ret = read_file(file, LIMIT_CONTAINER_TOKEN, NULL, token, err);
		if (ret > 0)
			strbuf_addf(err,
				    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '%s' does not exist",
				    file);
		if (ret)
			return -1;
		strbuf_trim(token);
	} else if (value) {
		strbuf_grow(token, strlen(value) + 1);
		strbuf_addstr(token, value);
	}
	if (memchr(token->buf, '\r', token->len) || memchr(token->buf, '\n', token->len) ||
	    memchr(token->buf, '\0', token->len)) {
		strbuf_addstr(err, "the container authorization token has a line break in it");
		return -1;
	}
	return 0;
}

/*
 * The credentials in the response to GET <get> on host: 0, or -1 with
 * "<who>: cannot reach <host>: …", "<who>: GET <get>: <status>" or
 * "<who>: <whose>: bad credentials: …".
 */
static int response_credentials(const struct http_response *resp, enum cred_json_format format,
				const char *who, const char *host, const char *get,
				const char *whose, struct aws_credentials *out, struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	int ret = -1;

	if (resp->error != HTTP_OK) {
		strbuf_addf(err, "%s: cannot reach %s: %s", who, host, resp->error_text.buf);
	} else if (resp->status != 200) {
		strbuf_addf(err, "%s: GET %s: ", who, get);
		describe_status(err, resp);
	} else if (cred_json_parse(format, resp->body.buf, resp->body.len, out, &why)) {
		strbuf_addf(err, "%s: %s: bad credentials: %s", who, whose, why.buf);
	} else {
		ret = 0;
	}
	strbuf_release(&why);
	return ret;
}

static int ecs_fetch(void *self, struct aws_credentials *out, struct strbuf *err)
{
	struct ecs_provider *p = self;
	struct strbuf url = STRBUF_INIT, token = STRBUF_INIT, why = STRBUF_INIT;
	struct http_request_header hdr[2];
	struct http_request req = { 0 };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_transport *t = NULL;
	int ret, attempt;

	ret = ecs_url(&p->c.env, &url, &why);
	if (!ret && ecs_auth_token(&p->c.env, &token, &why))
		ret = -1;
	if (!ret && !(t = env_source_http(&p->c.env, ECS_CONNECT_MS, ECS_TOTAL_MS, &why)))
		ret = -1;
	if (ret) {
		if (ret < 0)
			strbuf_addstr(err, "container: ");
		strbuf_addbuf(err, &why);
		goto out;
	}
	hdr[0].name = "Accept";
	hdr[0].value = "application/json";
	hdr[1].name = "Authorization";
	hdr[1].value = token.buf;
	req.method = "GET";
	req.url = url.buf;
	req.headers = hdr;
	req.nheaders = token.len ? 2 : 1;
	for (attempt = 1;; attempt++) {
		http_response_reset(&resp);
		http_perform(t, &req, &resp);
		if (attempt >= ECS_ATTEMPTS || (resp.error == HTTP_OK && resp.status < 500))
			break;
		{
			struct timespec ts = { 0, 100 * 1000000L * attempt };
			nanosleep(&ts, NULL);
		}
	}
	strbuf_reset(&why);
	strbuf_addf(&why, "GET %s", url.buf);
	ret = response_credentials(&resp, CRED_JSON_CONTAINER, "container", url.buf, url.buf,
				   why.buf, out, err);
out:
	http_transport_destroy(t);
	http_response_release(&resp);
	strbuf_release_secret(&token);
	strbuf_release(&url);
	strbuf_release(&why);
	return ret;
}

static int ecs_get(struct cred_provider *base, struct aws_credentials *out, struct strbuf *err)
{
	struct ecs_provider *p = (struct ecs_provider *)base;
	struct strbuf url = STRBUF_INIT, why = STRBUF_INIT;
	int ret = ecs_url(&p->c.env, &url, &why);

	strbuf_release(&url);
	if (ret) {
		if (ret < 0)
			strbuf_addstr(err, "container: ");
		strbuf_addbuf(err, &why);
		strbuf_release(&why);
		return ret;
	}
	strbuf_release(&why);
	return cred_cached_get(base, out, err);
}

static const struct cred_provider_vtable ecs_vt = {
	"container",
	ecs_get,
	cred_cached_invalidate,
	cred_cached_destroy,
};

struct cred_provider *cred_ecs_new(const struct env_source *env)
{
	struct ecs_provider *p = cred_cached_new(sizeof(*p), &ecs_vt, env, ecs_fetch);

	return &p->c.base;
}

/* EC2 instance metadata (IMDSv2) */

struct imds_provider {
	struct cred_cached c; /* base, env, cache */
};

static void imds_base(const struct env_source *env, struct strbuf *base)
{
	const char *ep = env_value(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = env_value(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	size_t len;

	if (!ep)
		ep = mode && !strcasecmp(mode, "IPv6") ? IMDS_HOST_IPV6 : IMDS_HOST;
	len = strlen(ep);
	while (len && ep[len - 1] == '/')
		len--;
	strbuf_add(base, ep, len);
}

/* One request; the response in resp. */
static void imds_request(struct http_transport *t, const char *method, const struct strbuf *base,
			 const char *path, const char *hname, const char *hvalue,
			 struct http_response *resp)
{
	struct strbuf url = STRBUF_INIT;
	struct http_request_header h;
	struct http_request req = { 0 };

	strbuf_addbuf(&url, base);
	strbuf_addstr(&url, path);
	h.name = hname;
	h.value = hvalue;
	req.method = method;
	req.url = url.buf;
	req.headers = &h;
	req.nheaders = hname ? 1 : 0;
	http_response_reset(resp);
	http_perform(t, &req, resp);
	strbuf_release(&url);
}

/* IAM role names: [\w+=,.@-], 1..64 characters. */
static int role_name_valid(const struct strbuf *s)
{
	size_t i;

	if (!s->len || s->len > 64)
		return 0;
	for (i = 0; i < s->len; i++)
		if (!isalnum((unsigned char)s->buf[i]) && !strchr("_+=,.@-", s->buf[i]))
			return 0;
	return 1;
}

static int imds_fetch(void *self, struct aws_credentials *out, struct strbuf *err)
{
	struct imds_provider *p = self;
	struct strbuf base = STRBUF_INIT, token = STRBUF_INIT, role = STRBUF_INIT,
		      path = STRBUF_INIT, get = STRBUF_INIT, why = STRBUF_INIT;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_transport *t;
	const char *token_hdr = NULL;
	int ret = -1;

	imds_base(&p->c.env, &base);
	t = env_source_http(&p->c.env, IMDS_TIMEOUT_MS, IMDS_TIMEOUT_MS, &why);
	if (!t) {
		strbuf_addf(err, "instance metadata: %s", why.buf);
		goto out;
	}
	imds_request(t, "PUT", &base, "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds",
		     IMDS_TOKEN_TTL, &resp);
	if (resp.error != HTTP_OK) {
		strbuf_addf(err, "instance metadata: no service at %s (%s)", base.buf,
			    resp.error_text.buf);
		ret = 1;
		goto out;
	}
	if (resp.status == 200) {
		strbuf_grow(&token, resp.body.len + 1);
		strbuf_add(&token, resp.body.buf, resp.body.len);
		strbuf_trim(&token);
		if (!token.len || memchr(token.buf, '\n', token.len) ||
		    memchr(token.buf, '\r', token.len) || memchr(token.buf, '\0', token.len)) {
			strbuf_addstr(err, "instance metadata: PUT /latest/api/token: bad token");
			goto out;
		}
		token_hdr = "X-aws-ec2-metadata-token";
	} else if ((resp.status == 403 || resp.status == 404 || resp.status == 405) &&
		   !env_true(&p->c.env, "AWS_EC2_METADATA_V1_DISABLED")) {
		/* no IMDSv2 here: IMDSv1, without a token */
	} else {
		strbuf_addf(err, "instance metadata: PUT %s/latest/api/token: ", base.buf);
		describe_status(err, &resp);
		goto out;
	}

	imds_request(t, "GET", &base, IMDS_CREDS_PATH, token_hdr, token.buf, &resp);
	if (resp.error != HTTP_OK) {
		strbuf_addf(err, "instance metadata: cannot reach %s: %s", base.buf,
			    resp.error_text.buf);
		goto out;
	}
	if (resp.status == 404) {
		strbuf_addstr(err, "instance metadata: no IAM role attached to this instance");
		ret = 1;
		goto out;
	}
	if (resp.status != 200) {
		strbuf_addf(err, "instance metadata: GET %s%s: ", base.buf, IMDS_CREDS_PATH);
		describe_status(err, &resp);
		goto out;
	}
	strbuf_add(&role, resp.body.buf, strcspn(resp.body.buf, "\r\n"));
	strbuf_trim(&role);
	if (!role.len) {
		strbuf_addstr(err, "instance metadata: no IAM role attached to this instance");
		ret = 1;
		goto out;
	}
	if (!role_name_valid(&role)) {
		strbuf_addstr(err, "instance metadata: the role name is not a valid IAM role name");
		goto out;
	}
	strbuf_addf(&path, "%s%s", IMDS_CREDS_PATH, role.buf);
	imds_request(t, "GET", &base, path.buf, token_hdr, token.buf, &resp);
	strbuf_reset(&why);
	strbuf_addf(&why, "role '%s'", role.buf);
	strbuf_addf(&get, "%s%s", base.buf, path.buf);
	ret = response_credentials(&resp, CRED_JSON_IMDS, "instance metadata", base.buf, get.buf,
				   why.buf, out, err);
out:
	http_transport_destroy(t);
	http_response_release(&resp);
	strbuf_release_secret(&token);
	strbuf_release(&base);
	strbuf_release(&role);
	strbuf_release(&path);
	strbuf_release(&get);
	strbuf_release(&why);
	return ret;
}

static int imds_get(struct cred_provider *base, struct aws_credentials *out, struct strbuf *err)
{
	struct imds_provider *p = (struct imds_provider *)base;

	if (env_true(&p->c.env, "AWS_EC2_METADATA_DISABLED")) {
		strbuf_addstr(err, "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
		return 1;
	}
	return cred_cached_get(base, out, err);
}

static const struct cred_provider_vtable imds_vt = {
	"instance-metadata",
	imds_get,
	cred_cached_invalidate,
	cred_cached_destroy,
};

struct cred_provider *cred_imds_new(const struct env_source *env)
{
	struct imds_provider *p = cred_cached_new(sizeof(*p), &imds_vt, env, imds_fetch);

	return &p->c.base;
}
