#include "core/compat.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/iam.h"
#include "core/strbuf.h"
#include "fake_transport.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

/*
 * The retry policy in isolation: backoff values with an injected random,
 * the 20 s cap, the classification table (which outcomes are retried, for
 * idempotent and non-idempotent calls), the retry quota and the
 * configuration variables.
 */

static void test_backoff_values(void **state)
{
	static const struct {
		int attempt;
		long r0, r5, r999; /* random01 = 0.0, 0.5, 0.999 */
	} rows[] = {
		/* clang-format off */
		{ -1, 0, 50, 99 },
		{ 0, 0, 50, 99 },
		{ 1, 0, 100, 199 },
		{ 2, 0, 200, 399 },
		{ 3, 0, 400, 799 },
		{ 4, 0, 800, 1598 },
		{ 5, 0, 1600, 3196 },
		{ 6, 0, 3200, 6393 },
		{ 7, 0, 6400, 12787 },
		{ 8, 0, 10000, 19980 }, /* 25600 capped at 20000 */
		{ 9, 0, 10000, 19980 },
		{ 30, 0, 10000, 19980 },
		{ 31, 0, 10000, 19980 },
		{ 1000, 0, 10000, 19980 },
		/* clang-format on */
	};
	struct retry_policy p;
	struct strbuf err = STRBUF_INIT;
	double r;
	size_t i;

	assert_int_equal(retry_policy_from_env(&p, fake_getenv, NULL, &err), 0);
	assert_int_equal(p.max_attempts, 3);
	assert_int_equal(p.base_delay_ms, 100);
	assert_int_equal(p.max_backoff_ms, 20000);
	p.random01 = fake_random_fixed;
	p.random_ctx = &r;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		r = 0.0;
		assert_int_equal(retry_backoff_ms(&p, rows[i].attempt), rows[i].r0);
		r = 0.5;
		assert_int_equal(retry_backoff_ms(&p, rows[i].attempt), rows[i].r5);
		r = 0.999;
		assert_int_equal(retry_backoff_ms(&p, rows[i].attempt), rows[i].r999);
	}
	/* out-of-range randoms never give more than the ceiling */
	r = 1.0;
	assert_int_equal(retry_backoff_ms(&p, 2), 0);
	r = -0.5;
	assert_int_equal(retry_backoff_ms(&p, 2), 0);
	strbuf_release(&err);
}

static void test_backoff_custom_base_and_cap(void **state)
{
	struct retry_policy p = { 0 };
	double r = 0.5;

	p.base_delay_ms = 500;
	p.max_backoff_ms = 1000;
	p.random01 = fake_random_fixed;
	p.random_ctx = &r;
	assert_int_equal(retry_backoff_ms(&p, 0), 250);
	assert_int_equal(retry_backoff_ms(&p, 1), 500);
	assert_int_equal(retry_backoff_ms(&p, 2), 500);
	/* zero fields fall back to the standard values */
	p.base_delay_ms = 0;
	p.max_backoff_ms = 0;
	assert_int_equal(retry_backoff_ms(&p, 0), 50);
	assert_int_equal(retry_backoff_ms(&p, 20), 10000);
}

static void test_backoff_default_random(void **state)
{
	struct retry_policy p = { 0 };
	long first, v;
	int i, differ = 0;

	p.base_delay_ms = 100;
	p.max_backoff_ms = 20000;
	first = retry_backoff_ms(&p, 5);
	for (i = 0; i < 200; i++) {
		v = retry_backoff_ms(&p, 5);
		assert_true(v >= 0 && v < 3200);
		if (v != first)
			differ = 1;
	}
	assert_true(differ);
}

/*
 * What each error code is to the retry policy: a throttle (retried even for calls that
 * are not idempotent), transient (retried for idempotent calls), or neither. The test's
 * own expectations, not a copy of retry.c's tables: a code dropped from them fails here.
 */
static void test_throttle_codes(void **state)
{
	enum { NEITHER, THROTTLE, TRANSIENT };
	static const struct {
		const char *code;
		int class;
	} codes[] = {
		{ "Throttling", THROTTLE },
		{ "ThrottlingException", THROTTLE },
		{ "ThrottledException", THROTTLE },
		{ "RequestThrottledException", THROTTLE },
		{ "TooManyRequestsException", THROTTLE },
		{ "ProvisionedThroughputExceededException", THROTTLE },
		{ "TransactionInProgressException", THROTTLE },
		{ "RequestLimitExceeded", THROTTLE },
		{ "BandwidthLimitExceeded", THROTTLE },
		{ "PriorRequestNotComplete", THROTTLE },
		{ "RequestTimeout", TRANSIENT },
		{ "RequestTimeoutException", TRANSIENT },
		{ "IDPCommunicationError", TRANSIENT },
		{ "LimitExceeded", NEITHER }, /* IAM quota: retrying cannot help */
		{ "LimitExceededException", NEITHER },
		{ "ServiceFailure", NEITHER },
		{ "AccessDenied", NEITHER },
		{ "throttling", NEITHER },
		{ "", NEITHER },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		assert_int_equal(retry_is_throttle_code(codes[i].code), codes[i].class == THROTTLE);
		assert_int_equal(retry_is_transient_code(codes[i].code),
				 codes[i].class == TRANSIENT);
	}
	assert_false(retry_is_throttle_code(NULL));
}

static void test_classification_table(void **state)
{
	static const struct {
		enum http_transport_error error;
		long status;
		const char *code;
		int idempotent, not_idempotent, outcome_unknown;
	} rows[] = {
		/* transport errors */
		{ HTTP_ERR_CONNECT, 0, "RequestFailed", 1, 1, 0 },
		{ HTTP_ERR_TIMEOUT, 0, "RequestTimeout", 1, 0, 1 },
		{ HTTP_ERR_RECV, 0, "RequestFailed", 1, 0, 1 },
		{ HTTP_ERR_OTHER, 0, "RequestFailed", 0, 0, 1 },
		/* throttling: rejected unprocessed */
		{ HTTP_OK, 400, "Throttling", 1, 1, 0 },
		{ HTTP_OK, 400, "ThrottlingException", 1, 1, 0 },
		{ HTTP_OK, 429, "TooManyRequestsException", 1, 1, 0 },
		{ HTTP_OK, 503, "RequestLimitExceeded", 1, 1, 0 },
		{ HTTP_OK, 400, "PriorRequestNotComplete", 1, 1, 0 },
		/* transient codes */
		{ HTTP_OK, 400, "RequestTimeout", 1, 0, 0 },
		{ HTTP_OK, 408, "RequestTimeoutException", 1, 0, 0 },
		{ HTTP_OK, 400, "IDPCommunicationError", 1, 0, 0 },
		/* 5xx */
		{ HTTP_OK, 500, "ServiceFailure", 1, 0, 1 },
		{ HTTP_OK, 500, "InternalError", 1, 0, 1 },
		{ HTTP_OK, 502, "HTTP 502", 1, 0, 1 },
		{ HTTP_OK, 503, "ServiceUnavailable", 1, 0, 1 },
		{ HTTP_OK, 504, "HTTP 504", 1, 0, 1 },
		{ HTTP_OK, 501, "NotImplemented", 0, 0, 1 },
		{ HTTP_OK, 505, "HTTP 505", 0, 0, 1 },
		/* refusals */
		{ HTTP_OK, 409, "LimitExceeded", 0, 0, 0 },
		{ HTTP_OK, 400, "LimitExceededException", 0, 0, 0 },
		{ HTTP_OK, 404, "NoSuchEntity", 0, 0, 0 },
		{ HTTP_OK, 403, "AccessDenied", 0, 0, 0 },
		{ HTTP_OK, 400, "ValidationError", 0, 0, 0 },
		{ HTTP_OK, 403, "HTTP 403", 0, 0, 0 },
		/* a 2xx we could not read */
		{ HTTP_OK, 200, AWS_MALFORMED_RESPONSE, 1, 0, 1 },
		{ HTTP_OK, 200, NULL, 0, 0, 1 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct http_response resp = HTTP_RESPONSE_INIT;
		struct aws_error e = { 0 };

		resp.error = rows[i].error;
		resp.status = rows[i].status;
		e.code = (char *)rows[i].code;
		e.http_status = (int)rows[i].status;
		if (retry_is_retryable(&resp, &e, 1) != rows[i].idempotent)
			fail_msg("row %zu (%s): idempotent: expected %d", i, rows[i].code,
				 rows[i].idempotent);
		if (retry_is_retryable(&resp, &e, 0) != rows[i].not_idempotent)
			fail_msg("row %zu (%s): not idempotent: expected %d", i, rows[i].code,
				 rows[i].not_idempotent);
		if (retry_outcome_unknown(&resp, &e) != rows[i].outcome_unknown)
			fail_msg("row %zu (%s): outcome unknown: expected %d", i, rows[i].code,
				 rows[i].outcome_unknown);
	}
	/* no parsed error at all */
	{
		struct http_response resp = HTTP_RESPONSE_INIT;

		resp.status = 503;
		assert_true(retry_is_retryable(&resp, NULL, 1));
		assert_false(retry_is_retryable(&resp, NULL, 0));
		resp.error = HTTP_ERR_CONNECT;
		assert_true(retry_is_retryable(&resp, NULL, 0));
	}
}

static void test_quota(void **state)
{
	struct retry_quota q = { RETRY_QUOTA_INITIAL };
	int i, cost;

	for (i = 0; i < 100; i++)
		assert_int_equal(retry_quota_acquire(&q, 0), 5);
	assert_int_equal(q.tokens, 0);
	assert_int_equal(retry_quota_acquire(&q, 0), 0);
	retry_quota_release(&q, 0);
	assert_int_equal(q.tokens, 1);
	retry_quota_release(&q, 5);
	assert_int_equal(q.tokens, 6);
	assert_int_equal(retry_quota_acquire(&q, 1), 0); /* a timeout costs 10 */
	assert_int_equal(retry_quota_acquire(&q, 0), 5);
	q.tokens = RETRY_QUOTA_INITIAL;
	cost = retry_quota_acquire(&q, 1);
	assert_int_equal(cost, 10);
	retry_quota_release(&q, cost);
	assert_int_equal(q.tokens, RETRY_QUOTA_INITIAL);
	retry_quota_release(&q, 0);
	assert_int_equal(q.tokens, RETRY_QUOTA_INITIAL); /* never above the start */
}

static void test_quota_exhausted_stops_retries(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 500 },
	};
	struct aws_client_config cfg = { 0 };
	struct aws_credentials creds = { 0 };
	struct strbuf err = STRBUF_INIT, body = STRBUF_INIT;
	struct aws_client *c;
	struct fake_sleeps sleeps = { { 0 }, 0 };

	creds.access_key_id = xstrdup("AKID");
	creds.secret_access_key = xstrdup("secret");
	cfg.creds = cred_provider_static_new(&creds);
	aws_credentials_release(&creds);
	cfg.http = fake_transport_new(steps, ARRAY_SIZE(steps));
	cfg.getenv_fn = fake_getenv;
	c = aws_client_new_config(&cfg, &err);
	assert_non_null(c);
	c->retry.sleep_ms = fake_sleep_ms;
	c->retry.sleep_ctx = &sleeps;
	c->quota.tokens = 4;
	assert_int_equal(aws_query_call(c, AWS_SVC_IAM, "ListUsers", NULL, 0, AWS_CALL_IDEMPOTENT,
					&body, NULL, &err),
			 -1);
	assert_string_equal(err.buf, "ListUsers: HTTP 500");
	assert_int_equal(c->retries, 0);
	assert_int_equal(sleeps.n, 0);
	fake_transport_assert_done(c->http);
	aws_client_free(c);
	strbuf_release(&err);
	strbuf_release(&body);
}

static void test_policy_from_env(void **state)
{
	static const struct {
		const char *env[3];
		int ok, max_attempts, adaptive;
	} rows[] = {
		{ { NULL }, 1, 3, 0 },
		{ { "AWS_MAX_ATTEMPTS=1" }, 1, 1, 0 },
		{ { "AWS_MAX_ATTEMPTS=10", "AWS_RETRY_MODE=standard" }, 1, 10, 0 },
		{ { "AWS_MAX_ATTEMPTS=100" }, 1, 100, 0 },
		{ { "AWS_RETRY_MODE=legacy" }, 1, 3, 0 },
		{ { "AWS_RETRY_MODE=adaptive" }, 1, 3, 1 },
		{ { "AWS_RETRY_MODE=" }, 1, 3, 0 },
		{ { "AWS_MAX_ATTEMPTS=" }, 1, 3, 0 },
		{ { "AWS_MAX_ATTEMPTS=0" }, 0, 0, 0 },
		{ { "AWS_MAX_ATTEMPTS=101" }, 0, 0, 0 },
		{ { "AWS_MAX_ATTEMPTS=-1" }, 0, 0, 0 },
		{ { "AWS_MAX_ATTEMPTS=+3" }, 0, 0, 0 },
		{ { "AWS_MAX_ATTEMPTS=3.0" }, 0, 0, 0 },
		{ { "AWS_MAX_ATTEMPTS=99999999999999999999" }, 0, 0, 0 },
		{ { "AWS_RETRY_MODE=STANDARD" }, 0, 0, 0 },
		{ { "AWS_RETRY_MODE=none" }, 0, 0, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct retry_policy p;
		struct strbuf err = STRBUF_INIT;
		int rc = retry_policy_from_env(&p, fake_getenv, (void *)rows[i].env, &err);

		if (rows[i].ok) {
			if (rc)
				fail_msg("row %zu: %s", i, err.buf);
			assert_int_equal(p.max_attempts, rows[i].max_attempts);
			assert_int_equal(p.adaptive, rows[i].adaptive);
			assert_int_equal(p.base_delay_ms, 100);
			assert_int_equal(p.max_backoff_ms, 20000);
		} else {
			if (rc != -1)
				fail_msg("row %zu: accepted %s", i, rows[i].env[0]);
			assert_true(err.len > 0);
			assert_true(!strncmp(err.buf, "invalid AWS_", 12));
		}
		strbuf_release(&err);
	}
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_backoff_values),
	cmocka_unit_test(test_backoff_custom_base_and_cap),
	cmocka_unit_test(test_backoff_default_random),
	cmocka_unit_test(test_throttle_codes),
	cmocka_unit_test(test_classification_table),
	cmocka_unit_test(test_quota),
	cmocka_unit_test(test_quota_exhausted_stops_retries),
	cmocka_unit_test(test_policy_from_env),
};

UNIT_TEST_MAIN(tests)
