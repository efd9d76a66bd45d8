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
	AWS_SVC_SSO,	    /* IAM Identity Center portal (GetRoleCredentials) */
	AWS_SVC_SSO_OIDC,   /* IAM Identity Center OIDC (CreateToken) */
	AWS_SVC_DYNAMODB,   /* the lease of --lock dynamodb:TABLE (JSON 1.0) */
	AWS_SVC_CLOUDTRAIL, /* LookupEvents (iamkeys trace) */
	AWS_SVC_SNS,	    /* --notify sns:TOPIC_ARN (awsQuery) */
	AWS_SVC_EC2,	    /* DescribeRegions (--regions all; EC2 query protocol) */
	AWS_SVC__COUNT
};

/* getenv_fn(ctx, name), or getenv(name) when getenv_fn is NULL; an empty value is NULL. */
const char *aws_getenv(aws_getenv_fn getenv_fn, void *ctx, const char *name);

/* Region names: lowercase letters, digits and inner dashes (they go into host names). */
int aws_region_valid(const char *region);

/* The clock: real time, or IAMKEYS_TEST_NOW (ISO 8601, fixed) or
 * IAMKEYS_TEST_CLOCK_OFFSET (seconds added to real time), for tests.
 * Invalid values of either are ignored. */
time_t aws_clock_now(void);
/* Sleeps ms milliseconds (through EINTR); nothing for ms <= 0. */
void aws_sleep_ms(long ms);
/* A monotonic clock in milliseconds, for waits and timeouts. */
double aws_monotonic_ms(void);
/* *ts = CLOCK_MONOTONIC's now plus ms (ms >= 0), as pthread_cond_timedwait and poll loops want it. */
void aws_monotonic_deadline(struct timespec *ts, long ms);

/* The partition of a region, for ARNs: "aws", "aws-cn", "aws-us-gov", ... (NULL: "aws"). */
const char *aws_partition_name(const char *region);
/*
 * The regions of region's partition that every account has enabled (no
 * opt-in needed), sorted: what --regions all falls back to when
 * ec2:DescribeRegions is denied. NULL-terminated, static; *n set.
 */
const char *const *aws_partition_regions(const char *region, size_t *n);

/* All strings owned by the struct except signing_name (static). */
struct aws_endpoint {
	char *url;  /* "https://iam.amazonaws.com" (no trailing slash; may have a path) */
	char *host; /* for the host header: the URL's authority, :port if not the default */
	char *signing_region;
	const char *signing_name; /* "iam", "sts", "secretsmanager", "ssm", "organizations",
				     "awsssoportal", "awsssooidc", "dynamodb", "sns" */
};
void aws_endpoint_release(struct aws_endpoint *e);
/* Checks an endpoint override URL as aws_endpoint_resolve would ("invalid
 * endpoint URL '...' from <source>: ..."): 0, or -1 with err. */
int aws_endpoint_url_check(const char *url, const char *source, struct strbuf *err);
/* "IAM", "STS", "SECRETS_MANAGER", "SSM", "ORGANIZATIONS", "SSO", "SSO_OIDC", "DYNAMODB",
 * "SNS"
 * (the AWS_ENDPOINT_URL_ suffix). */
const char *aws_service_env_name(enum aws_service svc);

/*
 * Endpoint for a service in a region. IAM: global endpoint signed for
 * us-east-1 (aws-cn: iam.cn-north-1.amazonaws.com.cn / cn-north-1; aws-us-gov:
 * iam.us-gov.amazonaws.com / us-gov-west-1; FIPS: iam-fips.amazonaws.com).
 * Regional services: https://<svc>.<region>.<partition suffix>, FIPS
 * (AWS_USE_FIPS_ENDPOINT=true) https://<svc>-fips.<region>.amazonaws.com.
 * Organizations is global (us-east-1; aws-cn: cn-northwest-1). IAM Identity
 * Center: https://portal.sso.<region>.<suffix> and https://oidc.<region>.<suffix>
 * (FIPS: portal.sso-fips / oidc-fips, except in aws-us-gov where the plain
 * hosts are FIPS already).
 * Overrides in order: endpoint_url (--endpoint-url), AWS_ENDPOINT_URL_<SVC>
 * (IAM, STS, SECRETS_MANAGER, SSM, ORGANIZATIONS, SSO, SSO_OIDC, DYNAMODB),
 * AWS_ENDPOINT_URL (the two
 * variables are skipped when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true). An
 * override changes the URL and host only: the signing region stays what the
 * service and region dictate, as in the AWS SDKs. An override must be
 * http:// or https:// with a host, no user info, query or fragment.
 * getenv_fn NULL = process environment. 0 / -1 with err; out is always
 * safe to release.
 */
int aws_endpoint_resolve(struct aws_endpoint *out, enum aws_service svc, const char *region,
			 const char *endpoint_url, aws_getenv_fn getenv_fn, void *ctx,
			 struct strbuf *err);

struct retry_policy {
	int max_attempts; /* AWS_MAX_ATTEMPTS, default 3 */
	int adaptive; /* AWS_RETRY_MODE=adaptive (treated as standard: no client rate limiter yet)
		       */
	long base_delay_ms;  /* 100 in standard mode */
	long max_backoff_ms; /* 20000 */
	/* random in [0,1): injected for tests; NULL = a real PRNG */
	double (*random01)(void *ctx);
	void *random_ctx;
	/* sleeping: injected for tests; NULL = nanosleep */
	void (*sleep_ms)(void *ctx, long ms);
	void *sleep_ctx;
};
/*
 * The standard-mode policy from AWS_MAX_ATTEMPTS (an integer 1..100, default
 * 3) and AWS_RETRY_MODE (legacy | standard | adaptive; legacy and adaptive
 * retry as standard does). Empty values count as unset. 0, or -1 with a
 * one-line configuration error in err.
 */
int retry_policy_from_env(struct retry_policy *p, aws_getenv_fn getenv_fn, void *ctx,
			  struct strbuf *err);
/*
 * Full-jitter exponential backoff: random01 * min(max_backoff, base * 2^attempt),
 * where attempt counts retries from 0 (the wait before the first retry is
 * at most base_delay_ms).
 */
long retry_backoff_ms(const struct retry_policy *p, int attempt);
/* Error codes meaning "slow down": the request was rejected unprocessed. */
int retry_is_throttle_code(const char *code);
/* Other transient error codes (RequestTimeout, PriorRequestNotComplete, ...). */
int retry_is_transient_code(const char *code);
/*
 * Is this outcome retryable? e may be NULL (no AWS error parsed). Retryable:
 * transport errors (connect, timeout, recv), throttling codes, transient
 * codes, HTTP 500/502/503/504, and a 2xx whose body did not parse (e->code
 * AWS_MALFORMED_RESPONSE). idempotent=0 allows only what AWS certainly did
 * not act on: HTTP_ERR_CONNECT and throttling codes.
 */
int retry_is_retryable(const struct http_response *resp, const struct aws_error *e, int idempotent);
/*
 * For a failed non-idempotent call: may AWS have acted on it? 1 for
 * timeouts, resets and other transport errors after connecting, 5xx (unless
 * throttling) and a 2xx that did not parse; 0 for a connect failure or a
 * 4xx error response.
 */
int retry_outcome_unknown(const struct http_response *resp, const struct aws_error *e);

/*
 * The standard mode's retry quota (token bucket shared by a client's calls):
 * a retry costs 5 tokens (10 after a timeout); a success gives 1 back, or
 * the retry's cost when it succeeds after one. No tokens, no retry.
 */
struct retry_quota {
	int tokens; /* starts at RETRY_QUOTA_INITIAL */
};
#define RETRY_QUOTA_INITIAL 500
/* Takes the cost of one retry: the cost, or 0 when the bucket is too empty. */
int retry_quota_acquire(struct retry_quota *q, int after_timeout);
/* After a successful attempt; cost = what the last retry took (0 if none). */
void retry_quota_release(struct retry_quota *q, int cost);

/* aws_error.code for a 2xx response whose body did not parse. */
#define AWS_MALFORMED_RESPONSE "MalformedResponse"
/* aws_error.code when a non-idempotent call may or may not have been acted on. */
#define AWS_OUTCOME_UNKNOWN "OutcomeUnknown"

struct aws_client {
	struct http_transport *http; /* owned */
	struct cred_provider *creds; /* owned */
	char *region;		     /* for regional services */
	char *endpoint_url;	     /* --endpoint-url, or NULL */
	aws_getenv_fn getenv_fn;
	void *getenv_ctx;
	struct retry_policy retry;
	time_t (*now)(void); /* our clock: aws_clock_now by default */
	int verbose;	     /* --debug: log request lines (never secrets) to stderr */
	/* counters for --stats and tests; throttles: responses with a
	 * throttling error code (retried or not) */
	unsigned long calls, retries, throttles;

	/* resolved at creation (so a bad endpoint URL is a configuration error) */
	struct aws_endpoint endpoints[AWS_SVC__COUNT];
	struct retry_quota quota;
	/*
	 * AWS's clock minus ours, in seconds, learnt from the Date header of
	 * every response (see aws_client_now): it dates signatures and
	 * decisions. clock_lo..clock_hi are the offsets consistent with every
	 * Date seen so far; clock_samples counts them (0: nothing learnt yet).
	 */
	long clock_skew;
	long clock_lo, clock_hi;
	unsigned long clock_samples;
	/* Called once per client, when the offset first exceeds
	 * AWS_CLOCK_WARN_SECONDS either way (the command layer warns). */
	void (*clock_warn)(void *ctx, long offset);
	void *clock_warn_ctx;
	int clock_warned;
	/*
	 * Told about a long wait of the caller's (a new key's propagation):
	 * what ("verifying AKIA... of alice") and for how long so far, every
	 * few hundred milliseconds; what NULL when the wait is over. The
	 * command layer shows it (a progress line on a terminal). May be NULL.
	 */
	void (*wait_hook)(void *ctx, const char *what, long elapsed_ms);
	void *wait_ctx;
	/* The last failed call's error (typed calls in iam.h fill it; code
	 * AWS_OUTCOME_UNKNOWN after an ambiguous CreateAccessKey). Cleared by
	 * each call; valid until the next. */
	struct aws_error last_error;
	/* who the client's credentials are: sts_get_caller_identity asks once */
	char *identity_account, *identity_arn, *identity_user_id;
};

/* For aws_client_new_config: every field optional (zero = default). */
struct aws_client_config {
	struct cred_provider *creds; /* ownership passes to the client, even on failure */
	const char *region;	     /* --region */
	const char *endpoint_url;    /* --endpoint-url */
	const char *profile_region;  /* the profile's region setting */
	struct http_transport *http; /* NULL = http_curl_new(); owned, even on failure */
	aws_getenv_fn getenv_fn;     /* NULL = the process environment */
	void *getenv_ctx;
	time_t (*now)(void);	 /* NULL = aws_clock_now */
	long connect_timeout_ms; /* 0 = 5000; -1 = none */
	long total_timeout_ms;	 /* 0 = 60000; -1 = none */
	long read_timeout_ms;	 /* no byte for this long ends a transfer; 0 = none */
	/* The profile's ca_bundle setting; AWS_CA_BUNDLE wins over it. */
	const char *profile_ca_bundle;
};

/* Builds a client: transport from http_curl_new, retry policy from
 * AWS_MAX_ATTEMPTS / AWS_RETRY_MODE, region from the arguments, AWS_REGION,
 * AWS_DEFAULT_REGION or the profile's region (default us-east-1), CA bundle
 * from AWS_CA_BUNDLE, every service's endpoint resolved.
 * Takes ownership of creds (destroyed on failure too). NULL with err on
 * bad configuration. */
struct aws_client *aws_client_new(struct cred_provider *creds, const char *region,
				  const char *endpoint_url, const char *profile_region,
				  struct strbuf *err);
/* The same with every knob (tests inject the transport and environment). */
struct aws_client *aws_client_new_config(const struct aws_client_config *cfg, struct strbuf *err);
/* NULL-safe. */
void aws_client_free(struct aws_client *c);
/*
 * AWS's time: our clock (c->now) plus the offset learnt from responses'
 * Date headers. Every decision that compares with a date AWS wrote
 * (CreateDate, LastUsedDate, the rotation tag's times) uses it, after at
 * least one response (aws_client_clock_known): before, it is our clock.
 */
time_t aws_client_now(const struct aws_client *c);
/* Has a response with a usable Date header been seen (or copied)? */
int aws_client_clock_known(const struct aws_client *c);
/* For a client of the same AWS (a worker, another account): the learnt
 * clock and the warning hook of src. */
void aws_client_copy_clock(struct aws_client *dst, const struct aws_client *src);
/* Skew beyond which the command warns (once): decisions use AWS time anyway. */
#define AWS_CLOCK_WARN_SECONDS 60
/*
 * Learns from one response's Date (IMF-fixdate, to the second) written by
 * AWS between sent and received (our clock, to the second): the offset is
 * within [date - received - 1, date - sent + 1]. The interval is
 * intersected with the earlier ones; when they do not overlap (a clock was
 * stepped) it starts over from this one. The offset is the interval's
 * middle. 0 if the header was unusable, else 1.
 */
int aws_client_learn_clock(struct aws_client *c, const char *date, time_t sent, time_t received);

/* A new client with the same configuration, borrowing c's credential
 * provider (one per worker thread; c must outlive it). NULL with err. */
/* A clone of c (see aws_client_clone) for another region. */
struct aws_client *aws_client_clone_region(struct aws_client *c, const char *region,
					   struct strbuf *err);
struct aws_client *aws_client_clone(struct aws_client *c, struct strbuf *err);
/* The settings a client made from another keeps: environment, retry policy,
 * clock, --debug. */
/* Tells c's wait_hook about a wait (what NULL: it is over). */
void aws_client_waiting(struct aws_client *c, const char *what, long elapsed_ms);
void aws_client_copy_settings(struct aws_client *to, const struct aws_client *from);
/* c->last_error.code, or "" when there is none. */
const char *aws_client_last_error_code(const struct aws_client *c);
/*
 * Test builds only (IAMKEYS_TESTING): IAMKEYS_TEST_CRASH_AT=point makes the
 * process SIGKILL itself when it reaches this named point (for example
 * "after-deliver": right after a delivery, before it is recorded), as
 * IAMKEYS_TEST_CRASH_AFTER does after a mutating call. A no-op otherwise.
 */
void aws_test_crash_at(const char *point);

struct aws_param {
	const char *name;
	const char *value;
};

enum aws_call_flags {
	AWS_CALL_IDEMPOTENT = 0,
	AWS_CALL_NOT_IDEMPOTENT = 1, /* CreateAccessKey: never re-sent blindly */
	AWS_CALL_NO_RETRY = 2,	     /* one attempt only */
	AWS_CALL_UNSIGNED = 4,	     /* no credentials, no signature (AssumeRoleWithWebIdentity) */
};

/*
 * Checks a 2xx body (usually by parsing it into the caller's result): 0 if
 * good, -1 with a one-line parser message in err. A failure counts as a
 * transient error: retried for idempotent calls, then reported as
 * "<Action>: malformed response: <message>" with code AWS_MALFORMED_RESPONSE.
 * It may be called once per attempt: it must discard what an earlier call
 * left in its result.
 */
typedef int (*aws_validate_fn)(void *ctx, const char *body, size_t len, struct strbuf *err);

struct aws_call_opts {
	int flags;		  /* enum aws_call_flags, or-ed */
	aws_validate_fn validate; /* may be NULL */
	void *validate_ctx;
	const struct aws_credentials *creds; /* sign with these instead of c->creds; may be NULL */
	/* the end of an OutcomeUnknown message; NULL = "AWS may have completed the request" */
	const char *outcome_unknown_hint;
};

/*
 * awsQuery: POST form "Action=<action>&Version=<version>&<params...>",
 * signed, retried. On success 0 and the XML body in *body (reset first;
 * release it with strbuf_release_secret when it may hold a secret). On
 * failure -1; an AWS error in *aerr (code, message, request id, http
 * status), a transport error as code "RequestFailed"/"RequestTimeout"/
 * "OutcomeUnknown", and the one-line message in err: "ListUsers: Throttling:
 * Rate exceeded (request id 1234)", "ListUsers: cannot reach
 * iam.amazonaws.com: <curl's text>". aerr may be NULL; otherwise it must be
 * zeroed or hold an earlier result (released first).
 */
int aws_query_call(struct aws_client *c, enum aws_service svc, const char *action,
		   const struct aws_param *params, size_t nparams, int flags, struct strbuf *body,
		   struct aws_error *aerr, struct strbuf *err);
/* The same with a validate callback and/or explicit credentials. opts may be NULL. */
int aws_query_call_ex(struct aws_client *c, enum aws_service svc, const char *action,
		      const struct aws_param *params, size_t nparams,
		      const struct aws_call_opts *opts, struct strbuf *body, struct aws_error *aerr,
		      struct strbuf *err);

/*
 * JSON 1.1: POST / with X-Amz-Target: <target> (the full value, e.g.
 * "secretsmanager.CreateSecret", "AmazonSSM.PutParameter"), content type
 * application/x-amz-json-1.1 (DynamoDB: JSON 1.0, application/x-amz-json-1.0), JSON body in and out (json_body NULL = "{}");
 * errors from the x-amzn-ErrorType header or the body's __type / code
 * (prefix up to '#' and suffix from ':' removed), message / Message.
 * Messages are prefixed with the action (the target after its last '.').
 */
int aws_json_call(struct aws_client *c, enum aws_service svc, const char *target,
		  const char *json_body, int flags, struct strbuf *body, struct aws_error *aerr,
		  struct strbuf *err);
int aws_json_call_ex(struct aws_client *c, enum aws_service svc, const char *target,
		     const char *json_body, const struct aws_call_opts *opts, struct strbuf *body,
		     struct aws_error *aerr, struct strbuf *err);

/*
 * REST-JSON, for IAM Identity Center (SSO portal and OIDC): a request to
 * path (after the endpoint URL's own path) with an encoded query, extra
 * headers and an optional JSON body (Content-Type application/json; no
 * body and no Content-Type when json_body is NULL). Usually sent with
 * AWS_CALL_UNSIGNED. Errors as aws_json_call (x-amzn-ErrorType, else the
 * body's __type / code), the message from message / Message /
 * error_description. --debug logs the method, URL without query and
 * action only: header values and bodies may be secrets (bearer tokens).
 */
struct aws_rest_request {
	const char *action;			   /* for messages: "GetRoleCredentials" */
	const char *method;			   /* "GET", "POST" */
	const char *path;			   /* "/federation/credentials" */
	const char *query;			   /* encoded, without '?', or NULL */
	const struct http_request_header *headers; /* at most 4 */
	size_t nheaders;
	const char *json_body; /* NULL = no body */
};
int aws_rest_json_call(struct aws_client *c, enum aws_service svc, const struct aws_rest_request *r,
		       const struct aws_call_opts *opts, struct strbuf *body,
		       struct aws_error *aerr, struct strbuf *err);

/* Form encoding of one name or value (RFC 3986 unreserved kept, space as %20).
 * In aws_query_call, a parameter whose value is NULL is left out. */
void aws_form_encode(struct strbuf *out, const char *s);

/* To sign and send one request with explicit credentials and no retry (for
 * verifying a new key with STS GetCallerIdentity), use aws_query_call_ex
 * with opts.creds and AWS_CALL_NO_RETRY (see sts_get_caller_identity_with). */

#endif
