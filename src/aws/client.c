/*
 * The AWS request layer: the client, the awsQuery and JSON 1.1 protocols,
 * signing and the retry loop.
 *
 * Retries and idempotency
 * -----------------------
 * Idempotent calls (every read, and writes that can be repeated such as
 * UpdateAccessKey or TagUser) are retried as the SDKs' standard mode does:
 * transport errors (connect, timeout, reset), throttling and transient
 * error codes, HTTP 500/502/503/504, and a 2xx whose body does not parse
 * (truncated or malformed: the typed layer's validate callback says so).
 * Each retry waits random * min(20 s, 100 ms * 2^n) and takes tokens from
 * the client's retry quota. Every response's Date header teaches the
 * client AWS's clock (aws_client_learn_clock): requests are signed, and
 * commands decide, in AWS time. A clock-skew error whose Date moved that
 * clock by 4 minutes or more is retried at once (idempotent calls); an
 * expired-token error drops the provider's cache and retries.
 *
 * Non-idempotent calls (AWS_CALL_NOT_IDEMPOTENT, i.e. CreateAccessKey:
 * each success mints a new secret and uses one of a user's two key slots)
 * are retried ONLY when AWS certainly did not act: the connection could
 * not be made (HTTP_ERR_CONNECT), or AWS answered with a throttling code
 * (rejected before processing). A timeout, a reset, a 5xx, or a 2xx we
 * cannot read may mean the key exists: the call then fails with code
 * "OutcomeUnknown" and a message saying so; the caller must list the
 * user's keys to find out (the command layer does). A 4xx error response
 * is returned as it is: AWS refused the request.
 *
 * Nothing here prints a secret: request bodies, response bodies and
 * credential-bearing headers are never logged, even with --debug.
 */
#include "core/compat.h"
#include "aws/msg.h"
#include "aws/client.h"

#include <pthread.h>
#include "core/sigv4.h"
#include "core/timeutil.h"

#include <jansson.h>

#define DEFAULT_OUTCOME_HINT "AWS may have completed the request"

static const char *const query_versions[AWS_SVC__COUNT] = {
	[AWS_SVC_IAM] = "2010-05-08",
	[AWS_SVC_STS] = "2011-06-15",
	[AWS_SVC_SNS] = "2010-03-31",
	[AWS_SVC_EC2] = "2016-11-15", /* the EC2 query protocol: awsQuery's form, its own XML */
};

const char *aws_client_last_error_code(const struct aws_client *c)
{
	return c && c->last_error.code ? c->last_error.code : "";
}

void aws_client_free(struct aws_client *c)
{
	int i;

	if (!c)
		return;
	http_transport_destroy(c->http);
	if (c->creds)
		cred_provider_destroy(c->creds);
	FREE_ALL(c->region, c->endpoint_url);
	for (i = 0; i < AWS_SVC__COUNT; i++)
		aws_endpoint_release(&c->endpoints[i]);
	aws_error_release(&c->last_error);
	FREE_ALL(c->identity_account, c->identity_arn, c->identity_user_id);
	free(c);
}

struct aws_client *aws_client_new_config(const struct aws_client_config *cfg, struct strbuf *err)
{
	struct aws_client *c = xcalloc(1, sizeof(*c));
	const char *region, *source;
	int i;

	c->creds = cfg->creds;
	c->http = cfg->http;
	c->getenv_fn = cfg->getenv_fn;
	c->getenv_ctx = cfg->getenv_ctx;
	c->now = cfg->now ? cfg->now : aws_clock_now;
	c->quota.tokens = RETRY_QUOTA_INITIAL;

	if (cfg->region && *cfg->region) {
		region = cfg->region;
		source = "--region";
	} else if ((region = aws_getenv(c->getenv_fn, c->getenv_ctx, "AWS_REGION"))) {
		source = "AWS_REGION";
	} else if ((region = aws_getenv(c->getenv_fn, c->getenv_ctx, "AWS_DEFAULT_REGION"))) {
		source = "AWS_DEFAULT_REGION";
	} else if (cfg->profile_region && *cfg->profile_region) {
		region = cfg->profile_region;
		source = "the profile's region setting";
	} else {
		region = "us-east-1";
		source = "the default";
	}
	if (!aws_region_valid(region)) {
		strbuf_addf(err, "invalid region '%s' (from %s)", region, source);
		goto fail;
	}
	c->region = xstrdup(region);
	if (cfg->endpoint_url && *cfg->endpoint_url)
		c->endpoint_url = xstrdup(cfg->endpoint_url);

	if (retry_policy_from_env(&c->retry, c->getenv_fn, c->getenv_ctx, err) < 0)
		goto fail;
	for (i = 0; i < AWS_SVC__COUNT; i++)
		if (aws_endpoint_resolve(&c->endpoints[i], (enum aws_service)i, c->region,
					 c->endpoint_url, c->getenv_fn, c->getenv_ctx, err) < 0)
			goto fail;

	if (!c->http) {
		struct http_options opts = { 0 };

		const char *ca_from = "AWS_CA_BUNDLE";

		opts.connect_timeout_ms = cfg->connect_timeout_ms;
		opts.total_timeout_ms = cfg->total_timeout_ms;
		opts.read_timeout_ms = cfg->read_timeout_ms;
		opts.ca_bundle = aws_getenv(c->getenv_fn, c->getenv_ctx, "AWS_CA_BUNDLE");
		if (!opts.ca_bundle && cfg->profile_ca_bundle && *cfg->profile_ca_bundle) {
			opts.ca_bundle = cfg->profile_ca_bundle;
			ca_from = "ca_bundle of the profile";
		}
		opts.user_agent = "iamkeys/" IAMKEYS_VERSION;
		if (opts.ca_bundle && access(opts.ca_bundle, R_OK)) {
			strbuf_addf(err, "cannot read %s '%s': %s", ca_from, opts.ca_bundle,
				    strerror(errno));
			goto fail;
		}
		c->http = http_curl_new(&opts);
		if (!c->http) {
			strbuf_addstr(err, "cannot initialise libcurl");
			goto fail;
		}
	}
	return c;
fail:
	aws_client_free(c);
	return NULL;
}

struct aws_client *aws_client_new(struct cred_provider *creds, const char *region,
				  const char *endpoint_url, const char *profile_region,
				  struct strbuf *err)
{
	struct aws_client_config cfg = { 0 };

	cfg.creds = creds;
	cfg.region = region;
	cfg.endpoint_url = endpoint_url;
	cfg.profile_region = profile_region;
	return aws_client_new_config(&cfg, err);
}

void aws_client_copy_settings(struct aws_client *to, const struct aws_client *from)
{
	to->getenv_fn = from->getenv_fn;
	to->getenv_ctx = from->getenv_ctx;
	to->retry = from->retry;
	to->now = from->now;
	aws_client_copy_clock(to, from);
	to->verbose = from->verbose;
}

struct aws_client *aws_client_clone_region(struct aws_client *c, const char *region,
					   struct strbuf *err)
{
	struct cred_provider *p = cred_provider_borrow(c->creds);
	struct aws_client *n;

	if (!p) {
		strbuf_addstr(err, "cannot share the credentials");
		return NULL;
	}
	n = aws_client_new(p, region, c->endpoint_url, NULL, err);
	if (!n)
		return NULL;
	aws_client_copy_settings(n, c);
	return n;
}

struct aws_client *aws_client_clone(struct aws_client *c, struct strbuf *err)
{
	/* the clone borrows c's provider, so temporary credentials are refreshed
	 * for every worker (c outlives its clones) */
	struct cred_provider *p = cred_provider_borrow(c->creds);
	struct aws_client *n;

	if (!p) {
		strbuf_addstr(err, "cannot share the credentials");
		return NULL;
	}
	n = aws_client_new(p, c->region, c->endpoint_url, NULL, err);
	if (!n)
		return NULL;
	aws_client_copy_settings(n, c);
	return n;
}

void aws_form_encode(struct strbuf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			strbuf_addch(out, ch);
		} else {
			strbuf_addch(out, '%');
			strbuf_addch(out, hex[ch >> 4]);
			strbuf_addch(out, hex[ch & 15]);
		}
	}
}

/* Server-sent text into a message: control characters become spaces. */
static void add_sanitized(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		strbuf_addch(sb, iscntrl((unsigned char)*s) ? ' ' : *s);
}

/* "<Code>: <Message> (request id <id>)", parts left out when absent. */
static void describe_aws_error(struct strbuf *sb, const struct aws_error *e)
{
	add_sanitized(sb, e->code ? e->code : "unknown error");
	if (e->message && *e->message) {
		strbuf_addstr(sb, ": ");
		add_sanitized(sb, e->message);
	}
	if (e->request_id && *e->request_id) {
		strbuf_addstr(sb, " (request id ");
		add_sanitized(sb, e->request_id);
		strbuf_addch(sb, ')');
	}
}

static const char *response_request_id(const struct http_response *resp)
{
	const char *id = http_response_header(resp, "x-amzn-requestid");

	return id ? id : http_response_header(resp, "x-amz-request-id");
}

static void parse_xml_error(const struct http_response *resp, struct aws_error *e)
{
	struct strbuf perr = STRBUF_INIT;

	if (aws_parse_xml_error(resp->body.buf, resp->body.len, e, &perr) < 0 || !e->code) {
		struct strbuf code = STRBUF_INIT;

		aws_error_release(e);
		strbuf_addf(&code, "HTTP %ld", resp->status);
		e->code = strbuf_detach(&code, NULL);
	}
	if (!e->request_id && response_request_id(resp))
		e->request_id = xstrdup(response_request_id(resp));
	strbuf_release(&perr);
}

/* "aws.foo#Code:http://..." -> "Code" */
static char *clean_error_type(const char *t)
{
	size_t len = strcspn(t, ":");
	const char *hash;

	while ((hash = memchr(t, '#', len))) {
		len -= (size_t)(hash + 1 - t);
		t = hash + 1;
	}
	return len ? xmemdupz(t, len) : NULL;
}

static const char *json_string_member(json_t *obj, const char *const *names, size_t n)
{
	size_t i;

	if (!obj)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *s = json_string_value(json_object_get(obj, names[i]));

		if (s && *s)
			return s;
	}
	return NULL;
}

static void parse_json_error(const struct http_response *resp, struct aws_error *e)
{
	static const char *const type_names[] = { "__type", "code", "Code" };
	static const char *const message_names[] = { "message", "Message", "errorMessage",
						     "error_description" };
	const char *hdr = http_response_header(resp, "x-amzn-errortype");
	const char *s;
	json_t *root = NULL;
	json_error_t jerr;

	if (resp->body.len) {
		root = json_loadb(resp->body.buf, resp->body.len, 0, &jerr);
		if (root && !json_is_object(root)) {
			json_decref(root);
			root = NULL;
		}
	}
	if (hdr && *hdr)
		e->code = clean_error_type(hdr);
	if (!e->code && (s = json_string_member(root, type_names, ARRAY_SIZE(type_names))))
		e->code = clean_error_type(s);
	if (!e->code) {
		struct strbuf code = STRBUF_INIT;

		strbuf_addf(&code, "HTTP %ld", resp->status);
		e->code = strbuf_detach(&code, NULL);
	}
	if ((s = json_string_member(root, message_names, ARRAY_SIZE(message_names))))
		e->message = xstrdup(s);
	if (response_request_id(resp))
		e->request_id = xstrdup(response_request_id(resp));
	json_decref(root);
}

static int is_skew_code(const char *code)
{
	static const char *const codes[] = {
		"RequestTimeTooSkewed",	 "RequestExpired", "InvalidSignatureException",
		"SignatureDoesNotMatch", "AuthFailure",	   "RequestInTheFuture",
	};
	size_t i;

	for (i = 0; code && i < ARRAY_SIZE(codes); i++)
		if (!strcmp(code, codes[i]))
			return 1;
	return 0;
}

static int is_expired_token_code(const char *code)
{
	return code && (!strcmp(code, "ExpiredToken") || !strcmp(code, "ExpiredTokenException"));
}

/* RFC 7231 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". 0 / -1. */
static int parse_http_date(const char *s, time_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4];
	int d, y, hh, mm, ss, n = 0;
	const char *p;

	if (!s ||
	    sscanf(s, "%*3s, %d %3s %d %d:%d:%d GMT%n", &d, mon, &y, &hh, &mm, &ss, &n) != 6 || !n)
		return -1;
	mon[3] = '\0';
	p = strstr(months, mon);
	if (strlen(mon) != 3 || !p || (p - months) % 3 || d < 1 || d > 31 || y < 1970 || y > 9999 ||
	    hh > 23 || mm > 59 || ss > 60 || hh < 0 || mm < 0 || ss < 0)
		return -1;
	*out = utc_from_civil(y, (int)((p - months) / 3 + 1), d, hh, mm, ss);
	return 0;
}

time_t aws_client_now(const struct aws_client *c)
{
	time_t local = c && c->now ? c->now() : aws_clock_now();

	return c ? local + (time_t)c->clock_skew : local;
}

int aws_client_clock_known(const struct aws_client *c)
{
	return c && c->clock_samples > 0;
}

void aws_client_copy_clock(struct aws_client *dst, const struct aws_client *src)
{
	dst->clock_skew = src->clock_skew;
	dst->clock_lo = src->clock_lo;
	dst->clock_hi = src->clock_hi;
	dst->clock_samples = src->clock_samples;
	dst->clock_warn = src->clock_warn;
	dst->clock_warn_ctx = src->clock_warn_ctx;
	dst->clock_warned = src->clock_warned;
	dst->wait_hook = src->wait_hook;
	dst->wait_ctx = src->wait_ctx;
}

void aws_client_waiting(struct aws_client *c, const char *what, long elapsed_ms)
{
	if (c && c->wait_hook)
		c->wait_hook(c->wait_ctx, what, elapsed_ms);
}

int aws_client_learn_clock(struct aws_client *c, const char *date, time_t sent, time_t received)
{
	time_t server;
	long lo, hi, before;

	if (parse_http_date(date, &server) < 0 || received < sent)
		return 0;
	lo = (long)(server - received) - 1;
	hi = (long)(server - sent) + 1;
	if (c->clock_samples && lo <= c->clock_hi && hi >= c->clock_lo) {
		/* consistent with what we knew: narrow it down */
		if (lo < c->clock_lo)
			lo = c->clock_lo;
		if (hi > c->clock_hi)
			hi = c->clock_hi;
	}
	c->clock_lo = lo;
	c->clock_hi = hi;
	before = c->clock_skew;
	c->clock_skew = lo + (hi - lo) / 2;
	if (c->verbose && (!c->clock_samples || labs(c->clock_skew - before) >= 2))
		fprintf(stderr, "iamkeys: debug: AWS's clock is %+lds from ours (Date: %s)\n",
			c->clock_skew, date);
	c->clock_samples++;
	if (labs(c->clock_skew) > AWS_CLOCK_WARN_SECONDS && !c->clock_warned && c->clock_warn) {
		c->clock_warned = 1;
		c->clock_warn(c->clock_warn_ctx, c->clock_skew);
	}
	return 1;
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000L;
}

/* At most this many extra request headers (REST-JSON). */
#define AWS_REST_MAX_HEADERS 4

/* One prepared call: the protocol-specific parts. */
struct aws_call {
	struct aws_client *c;
	enum aws_service svc;
	const char *action;			   /* for messages */
	const char *method;			   /* NULL = "POST" */
	const char *path;			   /* after the endpoint's own path; NULL = "/" */
	const char *query;			   /* encoded, without '?'; NULL = none */
	const char *content_type;		   /* NULL = no Content-Type header */
	const char *target;			   /* X-Amz-Target (JSON), or NULL */
	const struct http_request_header *headers; /* extra ones (REST-JSON); never logged */
	size_t nheaders;
	const char *body;
	size_t body_len;
	int json;
	const struct aws_call_opts *opts;
};

/* The path part of an endpoint URL ("" when it has none). */
static const char *url_path(const char *url)
{
	const char *p = strstr(url, "://");

	p = p ? p + 3 : url;
	return p + strcspn(p, "/");
}

/* Signs and performs one attempt. -1 (with err) only if it could not be signed. */
static int send_once(const struct aws_call *k, const struct aws_credentials *creds,
		     struct http_response *resp, struct strbuf *err)
{
	const struct aws_endpoint *ep = &k->c->endpoints[k->svc];
	const char *method = k->method ? k->method : "POST";
	const char *rel = k->path ? k->path : "/";
	struct sigv4_header sh[3 + AWS_REST_MAX_HEADERS];
	struct http_request_header
		hh[3 + AWS_REST_MAX_HEADERS + ARRAY_SIZE(((struct sigv4_signed *)0)->add_headers)];
	struct sigv4_request sreq = { 0 };
	struct sigv4_params sp = { 0 };
	struct sigv4_signed sig = SIGV4_SIGNED_INIT;
	struct http_request req = { 0 };
	struct strbuf path = STRBUF_INIT, url = STRBUF_INIT;
	size_t n = 0, i,
	       nextra = k->nheaders < AWS_REST_MAX_HEADERS ? k->nheaders : AWS_REST_MAX_HEADERS;
	int ret = -1;

	strbuf_addf(&path, "%s%s", url_path(ep->url), rel);
	strbuf_addf(&url, "%s%s", ep->url, rel);
	if (k->query)
		strbuf_addf(&url, "?%s", k->query);

	/* the headers sent are the headers signed (sigv4 lowercases their names), then the
	 * signature's */
	hh[n].name = "Host";
	hh[n++].value = ep->host;
	if (k->content_type) {
		hh[n].name = "Content-Type";
		hh[n++].value = k->content_type;
	}
	if (k->target) {
		hh[n].name = "X-Amz-Target";
		hh[n++].value = k->target;
	}
	for (i = 0; i < nextra; i++)
		hh[n++] = k->headers[i];
	for (i = 0; i < n; i++) {
		sh[i].name = hh[i].name;
		sh[i].value = hh[i].value;
	}
	sreq.method = method;
	sreq.path = path.buf;
	sreq.query = k->query;
	sreq.headers = sh;
	sreq.nheaders = n;
	sreq.body = k->body;
	sreq.body_len = k->body_len;

	sp.creds = creds;
	sp.region = ep->signing_region;
	sp.service = ep->signing_name;
	sp.now = aws_client_now(k->c);
	sp.normalize_path = 1;
	sp.single_encode_path = 0;

	if (creds && sigv4_sign(&sreq, &sp, &sig, err) < 0)
		goto out;

	for (i = 0; i < sig.nadd_headers && i < ARRAY_SIZE(sig.add_headers); i++) {
		hh[n].name = sig.add_headers[i].name;
		hh[n++].value = sig.add_headers[i].value;
	}
	req.method = method;
	req.url = url.buf;
	req.headers = hh;
	req.nheaders = n;
	req.body = k->body;
	req.body_len = k->body_len;
	/* never re-sent, not even by libcurl on a reused connection that died */
	req.fresh_connection = k->opts && (k->opts->flags & AWS_CALL_NOT_IDEMPOTENT);
	http_perform(k->c->http, &req, resp);
	ret = 0;
out:
	sigv4_signed_release(&sig);
	strbuf_release(&path);
	strbuf_release(&url);
	return ret;
}

static void debug_log_attempt(const struct aws_call *k, const struct http_response *resp, long ms)
{
	const struct aws_endpoint *ep = &k->c->endpoints[k->svc];
	const char *id = response_request_id(resp);
	const char *method = k->method ? k->method : "POST";
	const char *rel = k->path ? k->path : "/";

	/* the path only: no query, no header, no body (they may hold secrets) */
	if (resp->error != HTTP_OK)
		debug("%s %s%s %s -> %s (%ld ms)", method, ep->url, rel, k->action,
		      resp->error_text.buf, ms);
	else
		debug("%s %s%s %s -> %ld (%ld ms%s%s)", method, ep->url, rel, k->action,
		      resp->status, ms, id ? ", request id " : "", id ? id : "");
}

/* The retry loop; see the comment at the top of this file. */
/*
 * Test-only: IAMKEYS_TEST_CRASH_AFTER=k makes the process SIGKILL itself
 * right after the k-th successful mutating AWS call (of any client in the
 * process), so the rotate crash-matrix test can stop a run at every point.
 * Compiled in only with IAMKEYS_TESTING (not in make release).
 */
static const char *const mutating_actions[] = {
	"CreateAccessKey", "UpdateAccessKey",  "DeleteAccessKey", "TagUser",
	"UntagUser",	   "CreateSecret",     "PutSecretValue",  "PutParameter",
	"PutUserPolicy",   "DeleteUserPolicy",
};

static void test_crash_point(const char *action)
{
	static long crash_after = -1;
	static long count;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	size_t i;
	int hit = 0;

	for (i = 0; i < ARRAY_SIZE(mutating_actions); i++)
		if (!strcmp(action, mutating_actions[i]))
			hit = 1;
	if (!hit)
		return;
	pthread_mutex_lock(&lock);
	if (crash_after < 0) {
#ifdef IAMKEYS_TESTING
		const char *v = getenv("IAMKEYS_TEST_CRASH_AFTER");
#else
		const char *v = NULL;
#endif
		crash_after = v && *v ? strtol(v, NULL, 10) : 0;
	}
	count++;
	if (crash_after > 0 && count >= crash_after) {
		fflush(stdout);
		raise(SIGKILL);
	}
	pthread_mutex_unlock(&lock);
}

void aws_test_crash_at(const char *point)
{
#ifdef IAMKEYS_TESTING
	const char *v = getenv("IAMKEYS_TEST_CRASH_AT");
	if (v && !strcmp(v, point)) {
		fflush(stdout);
		raise(SIGKILL);
	}
#else
	(void)point;
#endif
}

/* The credentials an attempt signs with: 0, or -1 with e and err set. */
static int attempt_credentials(const struct aws_call *k, const struct aws_call_opts *opts,
			       struct aws_credentials *creds, struct aws_error *e,
			       struct strbuf *err)
{
	struct aws_client *c = k->c;
	struct strbuf perr = STRBUF_INIT;

	if (opts->flags & AWS_CALL_UNSIGNED)
		return 0; /* sent without credentials: nothing to fetch or sign with */
	if (opts->creds) {
		aws_credentials_copy(creds, opts->creds);
		return 0;
	}
	if (c->creds && !cred_provider_get(c->creds, creds, &perr))
		return 0;
	if (!c->creds)
		strbuf_addstr(&perr, "no AWS credential provider");
	aws_credentials_release(creds);
	e->code = xstrdup("NoCredentials");
	e->message = xstrdup(perr.buf);
	strbuf_addbuf(err, &perr);
	strbuf_release(&perr);
	return -1;
}

/*
 * A response that arrived (or did not): 1 on success (the body moved into
 * out_body), else 0 with e and reason describing the failure.
 */
static int classify_response(const struct aws_call *k, const struct aws_call_opts *opts,
			     struct http_response *resp, struct strbuf *out_body,
			     struct aws_error *e, struct strbuf *reason)
{
	const struct aws_endpoint *ep = &k->c->endpoints[k->svc];
	struct strbuf perr = STRBUF_INIT;

	if (resp->error != HTTP_OK) {
		strbuf_addf(reason, "cannot reach %s: %s", ep->host, resp->error_text.buf);
		e->code = xstrdup(resp->error == HTTP_ERR_TIMEOUT ? "RequestTimeout"
								  : "RequestFailed");
		e->message = xstrdup(reason->buf);
	} else if (resp->status >= 200 && resp->status < 300) {
		if (!opts->validate ||
		    !opts->validate(opts->validate_ctx, resp->body.buf, resp->body.len, &perr)) {
			/* success: hand the body over without copying it */
			struct strbuf tmp = *out_body;

			strbuf_reset(&tmp);
			*out_body = resp->body;
			resp->body = tmp;
			strbuf_release(&perr);
			return 1;
		}
		strbuf_addstr(reason, "malformed response: ");
		add_sanitized(reason, perr.len ? perr.buf : "cannot parse");
		e->code = xstrdup(AWS_MALFORMED_RESPONSE);
		e->message = xstrdup(reason->buf);
		if (response_request_id(resp))
			e->request_id = xstrdup(response_request_id(resp));
	} else {
		if (k->json)
			parse_json_error(resp, e);
		else
			parse_xml_error(resp, e);
		describe_aws_error(reason, e);
	}
	e->http_status = (int)resp->status;
	strbuf_release(&perr);
	return 0;
}

/*
 * After a failed attempt: 1 when it is retried (the backoff slept), 0 when
 * the call ends here. *last_cost keeps the retry quota's last charge.
 */
static int retry_wait(const struct aws_call *k, int idempotent, int extra, int attempt,
		      int max_attempts, const struct http_response *resp, const struct aws_error *e,
		      const char *reason, int *last_cost)
{
	struct aws_client *c = k->c;
	const struct aws_endpoint *ep = &c->endpoints[k->svc];
	long ms;
	int cost;

	if (resp->error == HTTP_OK && retry_is_throttle_code(e->code))
		c->throttles++;
	if (!(extra || retry_is_retryable(resp, e, idempotent)) || attempt >= max_attempts)
		return 0;
	cost = retry_quota_acquire(&c->quota, resp->error == HTTP_ERR_TIMEOUT);
	if (!cost) {
		if (c->verbose)
			debug("%s: retry quota exhausted", k->action);
		return 0;
	}
	ms = retry_backoff_ms(&c->retry, attempt - 1);
	*last_cost = cost;
	c->retries++;
	if (c->verbose)
		debug("%s: retry %d/%d after %ldms: %s", k->action, attempt, max_attempts - 1, ms,
		      reason);
	verbose("waiting for %s (attempt %d/%d): %s", ep->host, attempt + 1, max_attempts, reason);
	if (c->retry.sleep_ms)
		c->retry.sleep_ms(c->retry.sleep_ctx, ms);
	else
		aws_sleep_ms(ms);
	return 1;
}

static int run_call(const struct aws_call *k, struct strbuf *out_body, struct aws_error *aerr,
		    struct strbuf *err)
{
	static const struct aws_call_opts no_opts;
	struct aws_client *c = k->c;
	const struct aws_call_opts *opts = k->opts ? k->opts : &no_opts;
	int idempotent = !(opts->flags & AWS_CALL_NOT_IDEMPOTENT);
	int max_attempts = c->retry.max_attempts > 0 ? c->retry.max_attempts : 1;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct aws_error e = { 0 };
	struct strbuf reason = STRBUF_INIT, perr = STRBUF_INIT;
	int attempt, last_cost = 0, ret = -1;

	if (opts->flags & AWS_CALL_NO_RETRY)
		max_attempts = 1;
	c->calls++;

	for (attempt = 1;; attempt++) {
		struct aws_credentials creds = { 0 };
		struct timespec start;
		int extra = 0, rc;
		long signed_skew = c->clock_skew;
		time_t sent, received;

		aws_error_release(&e);
		strbuf_reset(&reason);
		strbuf_reset(&perr);
		if (attempt_credentials(k, opts, &creds, &e, err) < 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &start);
		sent = c->now();
		rc = send_once(k, opts->flags & AWS_CALL_UNSIGNED ? NULL : &creds, &resp, &perr);
		received = c->now();
		aws_credentials_release(&creds);
		if (rc < 0) {
			e.code = xstrdup("SigningFailed");
			e.message = xstrdup(perr.buf);
			strbuf_addf(err, "%s: cannot sign the request: %s", k->action, perr.buf);
			break;
		}
		if (c->verbose)
			debug_log_attempt(k, &resp, elapsed_ms(&start));
		if (resp.error == HTTP_OK)
			aws_client_learn_clock(c, http_response_header(&resp, "date"), sent,
					       received);
		if (classify_response(k, opts, &resp, out_body, &e, &reason)) {
			retry_quota_release(&c->quota, last_cost);
			ret = 0;
			test_crash_point(k->action);
			break;
		}

		/* signed with a clock this response has just corrected: once more */
		if (resp.error == HTTP_OK && is_skew_code(e.code) &&
		    labs(c->clock_skew - signed_skew) >= 240)
			extra = idempotent;
		if (resp.error == HTTP_OK && is_expired_token_code(e.code) && !opts->creds &&
		    !(opts->flags & AWS_CALL_UNSIGNED)) {
			cred_provider_invalidate(c->creds);
			extra = idempotent;
		}
		if (retry_wait(k, idempotent, extra, attempt, max_attempts, &resp, &e, reason.buf,
			       &last_cost))
			continue;

		if (!idempotent && retry_outcome_unknown(&resp, &e)) {
			const char *hint = opts->outcome_unknown_hint ? opts->outcome_unknown_hint
								      : DEFAULT_OUTCOME_HINT;

			free(e.code);
			e.code = xstrdup(AWS_OUTCOME_UNKNOWN);
			free(e.message);
			e.message = xstrdup(reason.buf);
			strbuf_addf(err, "%s: outcome unknown: %s; %s", k->action, reason.buf,
				    hint);
		} else {
			strbuf_addf(err, "%s: %s", k->action, reason.buf);
		}
		break;
	}

	if (aerr) {
		aws_error_release(aerr);
		memset(aerr, 0, sizeof(*aerr));
		if (ret < 0)
			*aerr = e;
		else
			aws_error_release(&e);
	} else {
		aws_error_release(&e);
	}
	http_response_release(&resp);
	strbuf_release(&reason);
	strbuf_release(&perr);
	return ret;
}

int aws_query_call_ex(struct aws_client *c, enum aws_service svc, const char *action,
		      const struct aws_param *params, size_t nparams,
		      const struct aws_call_opts *opts, struct strbuf *body, struct aws_error *aerr,
		      struct strbuf *err)
{
	struct strbuf form = STRBUF_INIT;
	struct aws_call k = { 0 };
	size_t i;
	int ret;

	if (aerr)
		aws_error_release(aerr);
	if ((unsigned)svc >= AWS_SVC__COUNT || !query_versions[svc]) {
		strbuf_addf(err, "%s: %s does not use the awsQuery protocol", action,
			    aws_service_env_name(svc));
		return -1;
	}
	strbuf_addstr(&form, "Action=");
	aws_form_encode(&form, action);
	strbuf_addstr(&form, "&Version=");
	aws_form_encode(&form, query_versions[svc]);
	for (i = 0; i < nparams; i++) {
		if (!params[i].value)
			continue;
		strbuf_addch(&form, '&');
		aws_form_encode(&form, params[i].name);
		strbuf_addch(&form, '=');
		aws_form_encode(&form, params[i].value);
	}

	k.c = c;
	k.svc = svc;
	k.action = action;
	k.content_type = "application/x-www-form-urlencoded; charset=utf-8";
	k.body = form.buf;
	k.body_len = form.len;
	k.opts = opts;
	ret = run_call(&k, body, aerr, err);
	/* parameters may be secrets one day (e.g. a new key's tags): wipe */
	strbuf_release_secret(&form);
	return ret;
}

int aws_query_call(struct aws_client *c, enum aws_service svc, const char *action,
		   const struct aws_param *params, size_t nparams, int flags, struct strbuf *body,
		   struct aws_error *aerr, struct strbuf *err)
{
	struct aws_call_opts opts = { 0 };

	opts.flags = flags;
	return aws_query_call_ex(c, svc, action, params, nparams, &opts, body, aerr, err);
}

int aws_json_call_ex(struct aws_client *c, enum aws_service svc, const char *target,
		     const char *json_body, const struct aws_call_opts *opts, struct strbuf *body,
		     struct aws_error *aerr, struct strbuf *err)
{
	struct aws_call k = { 0 };
	const char *dot = strrchr(target, '.');

	if (aerr)
		aws_error_release(aerr);
	if ((unsigned)svc >= AWS_SVC__COUNT) {
		strbuf_addf(err, "%s: unknown AWS service", target);
		return -1;
	}
	if (!json_body)
		json_body = "{}";
	k.c = c;
	k.svc = svc;
	k.action = dot && dot[1] ? dot + 1 : target;
	/* the same protocol but for the version (botocore: metadata.jsonVersion) */
	k.content_type = svc == AWS_SVC_DYNAMODB ? "application/x-amz-json-1.0"
						 : "application/x-amz-json-1.1";
	k.target = target;
	k.body = json_body;
	k.body_len = strlen(json_body);
	k.json = 1;
	k.opts = opts;
	return run_call(&k, body, aerr, err);
}

int aws_json_call(struct aws_client *c, enum aws_service svc, const char *target,
		  const char *json_body, int flags, struct strbuf *body, struct aws_error *aerr,
		  struct strbuf *err)
{
	struct aws_call_opts opts = { 0 };

	opts.flags = flags;
	return aws_json_call_ex(c, svc, target, json_body, &opts, body, aerr, err);
}

int aws_rest_json_call(struct aws_client *c, enum aws_service svc, const struct aws_rest_request *r,
		       const struct aws_call_opts *opts, struct strbuf *body,
		       struct aws_error *aerr, struct strbuf *err)
{
	struct aws_call k = { 0 };

	if (aerr)
		aws_error_release(aerr);
	if ((unsigned)svc >= AWS_SVC__COUNT) {
		strbuf_addf(err, "%s: unknown AWS service", r->action);
		return -1;
	}
	if (r->nheaders > AWS_REST_MAX_HEADERS) {
		strbuf_addf(err, "%s: more than %d request headers", r->action,
			    AWS_REST_MAX_HEADERS);
		return -1;
	}
	k.c = c;
	k.svc = svc;
	k.action = r->action;
	k.method = r->method;
	k.path = r->path;
	k.query = r->query;
	k.headers = r->headers;
	k.nheaders = r->nheaders;
	if (r->json_body) {
		k.content_type = "application/json";
		k.body = r->json_body;
		k.body_len = strlen(r->json_body);
	}
	k.json = 1;
	k.opts = opts;
	return run_call(&k, body, aerr, err);
}
