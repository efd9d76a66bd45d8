#ifndef IAMKEYS_CLIENT_H
#define IAMKEYS_CLIENT_H
/*
 * The AWS request layer: endpoint resolution, SigV4 signing, retries
 * (the SDKs' "standard" mode), the awsQuery and JSON 1.1 protocols.
 */
#include <time.h>
#include "core/strbuf.h"
#include "core/iamxml.h"
#include "aws/http.h"
#include "aws/credentials.h"

enum aws_service {
	AWS_SVC_IAM,
	AWS_SVC_STS,
	AWS_SVC_SECRETS_MANAGER,
	AWS_SVC_SSM,
	AWS_SVC_ORGANIZATIONS,
	AWS_SVC__COUNT
};

/* The clock: real time, or IAMKEYS_TEST_NOW (ISO 8601, fixed) or
 * IAMKEYS_TEST_CLOCK_OFFSET (seconds added to real time), for tests. */
time_t aws_clock_now(void);

struct aws_endpoint {
	char *url;          /* "https://iam.amazonaws.com" (no trailing slash) */
	char *host;         /* for the host header */
	char *signing_region;
	const char *signing_name; /* "iam", "sts", "secretsmanager", "ssm", "organizations" */
};
void aws_endpoint_release(struct aws_endpoint *e);

/*
 * Endpoint for a service in a region. IAM: global endpoint signed for
 * us-east-1 (aws-cn: iam.cn-north-1.amazonaws.com.cn / cn-north-1; aws-us-gov:
 * iam.us-gov.amazonaws.com / us-gov-west-1; FIPS: iam-fips.amazonaws.com).
 * Overrides in order: endpoint_url (--endpoint-url), AWS_ENDPOINT_URL_<SVC>
 * (IAM, STS, SECRETS_MANAGER, SSM, ORGANIZATIONS), AWS_ENDPOINT_URL.
 * getenv_fn NULL = process environment. 0 / -1 with err.
 */
int aws_endpoint_resolve(struct aws_endpoint *out, enum aws_service svc, const char *region,
			 const char *endpoint_url, aws_getenv_fn getenv_fn, void *ctx,
			 struct strbuf *err);

struct retry_policy {
	int max_attempts;    /* AWS_MAX_ATTEMPTS, default 3 */
	int adaptive;        /* AWS_RETRY_MODE=adaptive (treated as standard + client rate limit) */
	long base_delay_ms;  /* 100 in standard mode */
	long max_backoff_ms; /* 20000 */
	/* random in [0,1): injected for tests; NULL = a real PRNG */
	double (*random01)(void *ctx);
	void *random_ctx;
	/* sleeping: injected for tests; NULL = nanosleep */
	void (*sleep_ms)(void *ctx, long ms);
	void *sleep_ctx;
};
/* Full-jitter exponential backoff: random01 * min(max_backoff, base * 2^attempt). */
long retry_backoff_ms(const struct retry_policy *p, int attempt);
/* Is this outcome retryable? idempotent=0 forbids retrying anything that
 * may have reached the server (timeouts, resets, 5xx). */
int retry_is_retryable(const struct http_response *resp, const struct aws_error *e, int idempotent);

struct aws_client {
	struct http_transport *http;   /* owned */
	struct cred_provider *creds;   /* owned */
	char *region;                  /* for regional services */
	char *endpoint_url;            /* --endpoint-url, or NULL */
	aws_getenv_fn getenv_fn;
	void *getenv_ctx;
	struct retry_policy retry;
	time_t (*now)(void);           /* aws_clock_now by default */
	int verbose;                   /* --debug: log request lines (never secrets) to stderr */
	/* counters for --stats and tests */
	unsigned long calls, retries;
};

/* Builds a client: transport from http_curl_new, retry policy from
 * AWS_MAX_ATTEMPTS / AWS_RETRY_MODE, region from the arguments, AWS_REGION,
 * AWS_DEFAULT_REGION or the profile's region (default us-east-1).
 * Takes ownership of creds. NULL with err on bad configuration. */
struct aws_client *aws_client_new(struct cred_provider *creds, const char *region,
				  const char *endpoint_url, const char *profile_region,
				  struct strbuf *err);
void aws_client_free(struct aws_client *c);

struct aws_param {
	const char *name;
	const char *value;
};

enum aws_call_flags {
	AWS_CALL_IDEMPOTENT = 0,
	AWS_CALL_NOT_IDEMPOTENT = 1, /* CreateAccessKey: never re-sent blindly */
};

/*
 * awsQuery: POST form "Action=<action>&Version=<version>&<params...>",
 * signed, retried. On success 0 and the XML body in *body. On failure -1;
 * an AWS error in *aerr (code, message, request id, http status), a
 * transport error as code "RequestFailed"/"RequestTimeout"/"OutcomeUnknown"
 * and the one-line message in err: "ListUsers: Throttling: Rate exceeded
 * (request id 1234)".
 */
int aws_query_call(struct aws_client *c, enum aws_service svc, const char *action,
		   const struct aws_param *params, size_t nparams, int flags,
		   struct strbuf *body, struct aws_error *aerr, struct strbuf *err);

/*
 * JSON 1.1: POST with X-Amz-Target: <target_prefix>.<action>, content type
 * application/x-amz-json-1.1, JSON body in and out; errors from __type.
 */
int aws_json_call(struct aws_client *c, enum aws_service svc, const char *target,
		  const char *json_body, int flags, struct strbuf *body, struct aws_error *aerr,
		  struct strbuf *err);

/* Signs and sends one already-built request with explicit credentials and no
 * retry (for verifying a new key with STS GetCallerIdentity). */

#endif
