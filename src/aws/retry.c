/*
 * Retries as the AWS SDKs' "standard" mode does: up to AWS_MAX_ATTEMPTS
 * attempts (default 3), full-jitter exponential backoff capped at 20 s, a
 * retry quota, and one table of retryable error codes.
 */
#include "core/compat.h"
#include "aws/client.h"

/* Rejected before processing: safe to retry even a non-idempotent call. */
static const char *const throttle_codes[] = {
	"Throttling",
	"ThrottlingException",
	"ThrottledException",
	"RequestThrottledException",
	"TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException",
	"RequestLimitExceeded",
	"BandwidthLimitExceeded",
	"RequestThrottled",
	"SlowDown",
	"PriorRequestNotComplete",
	"EC2ThrottledException",
};

/*
 * Transient, but retried for idempotent calls only. Not here on purpose:
 * LimitExceeded / LimitExceededException (IAM quotas such as "two access
 * keys per user": retrying cannot help).
 */
static const char *const transient_codes[] = {
	"RequestTimeout",
	"RequestTimeoutException",
	"IDPCommunicationError",
};

static int in_table(const char *const *table, size_t n, const char *code)
{
	size_t i;

	if (!code)
		return 0;
	for (i = 0; i < n; i++)
		if (!strcmp(table[i], code))
			return 1;
	return 0;
}

int retry_is_throttle_code(const char *code)
{
	return in_table(throttle_codes, ARRAY_SIZE(throttle_codes), code);
}

int retry_is_transient_code(const char *code)
{
	return in_table(transient_codes, ARRAY_SIZE(transient_codes), code);
}

static int is_2xx(long status)
{
	return status >= 200 && status < 300;
}

int retry_is_retryable(const struct http_response *resp, const struct aws_error *e, int idempotent)
{
	const char *code = e ? e->code : NULL;

	switch (resp->error) {
	case HTTP_OK:
		break;
	case HTTP_ERR_CONNECT:
		return 1;
	case HTTP_ERR_TIMEOUT:
	case HTTP_ERR_RECV:
		return idempotent;
	case HTTP_ERR_OTHER:
	default:
		return 0;
	}
	if (is_2xx(resp->status))
		return idempotent && code && !strcmp(code, AWS_MALFORMED_RESPONSE);
	if (retry_is_throttle_code(code))
		return 1;
	if (!idempotent)
		return 0;
	if (retry_is_transient_code(code))
		return 1;
	switch (resp->status) {
	case 500:
	case 502:
	case 503:
	case 504:
		return 1;
	}
	return 0;
}

int retry_outcome_unknown(const struct http_response *resp, const struct aws_error *e)
{
	if (resp->error == HTTP_ERR_CONNECT)
		return 0;
	if (resp->error != HTTP_OK)
		return 1;
	if (retry_is_throttle_code(e ? e->code : NULL))
		return 0;
	return is_2xx(resp->status) || resp->status >= 500;
}

/* xorshift64* per thread, seeded from the clock: jitter, not cryptography. */
static double default_random01(void)
{
	static _Thread_local uint64_t state;
	uint64_t x;

	if (!state) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		state = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^
			((uint64_t)(uintptr_t)&state << 16) ^ (uint64_t)getpid();
		if (!state)
			state = 0x9e3779b97f4a7c15u;
	}
	x = state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	state = x;
	return (double)((x * 0x2545f4914f6cdd1du) >> 11) / 9007199254740992.0; /* 2^53 */
}

long retry_backoff_ms(const struct retry_policy *p, int attempt)
{
	long base = p->base_delay_ms > 0 ? p->base_delay_ms : 100;
	long cap = p->max_backoff_ms > 0 ? p->max_backoff_ms : 20000;
	long ceiling = cap;
	double r;

	if (attempt < 0)
		attempt = 0;
	/* base * 2^attempt without overflowing */
	if (attempt < 31 && base <= (cap >> attempt))
		ceiling = base << attempt;
	r = p->random01 ? p->random01(p->random_ctx) : default_random01();
	if (!(r >= 0.0))
		r = 0.0;
	if (r >= 1.0)
		r = 0.0;
	return (long)(r * (double)ceiling);
}

int retry_policy_from_env(struct retry_policy *p, aws_getenv_fn getenv_fn, void *ctx,
			  struct strbuf *err)
{
	const char *v;

	memset(p, 0, sizeof(*p));
	p->max_attempts = 3;
	p->base_delay_ms = 100;
	p->max_backoff_ms = 20000;

	v = aws_getenv(getenv_fn, ctx, "AWS_RETRY_MODE");
	if (v) {
		if (!strcmp(v, "adaptive")) {
			p->adaptive = 1;
		} else if (strcmp(v, "standard") && strcmp(v, "legacy")) {
			strbuf_addf(err,
				    "invalid AWS_RETRY_MODE '%s': expected legacy, standard "
				    "or adaptive",
				    v);
			return -1;
		}
	}
	v = aws_getenv(getenv_fn, ctx, "AWS_MAX_ATTEMPTS");
	if (v) {
		char *end;
		long n;

		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end || n < 1 || n > 100 || !isdigit((unsigned char)*v)) {
			strbuf_addf(err,
				    "invalid AWS_MAX_ATTEMPTS '%s': expected an integer from 1 "
				    "to 100",
				    v);
			return -1;
		}
		p->max_attempts = (int)n;
	}
	return 0;
}

#define RETRY_COST 5
#define RETRY_COST_TIMEOUT 10

int retry_quota_acquire(struct retry_quota *q, int after_timeout)
{
	int cost = after_timeout ? RETRY_COST_TIMEOUT : RETRY_COST;

	if (q->tokens < cost)
		return 0;
	q->tokens -= cost;
	return cost;
}

void retry_quota_release(struct retry_quota *q, int cost)
{
	q->tokens += cost ? cost : 1;
	if (q->tokens > RETRY_QUOTA_INITIAL)
		q->tokens = RETRY_QUOTA_INITIAL;
}
