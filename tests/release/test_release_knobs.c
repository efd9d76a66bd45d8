/*
 * A release build ignores the test knobs. The Makefile compiles the sources
 * that have knobs (aws/clock.c, aws/client.c, aws/cred_http.c,
 * aws/cloudtrail.c) without
 * -DIAMKEYS_TESTING, as `make release` does, and links them into this test;
 * `make check` runs it. Each knob is set; each must have no effect.
 */
#include "core/compat.h"
#include "aws/client.h"
#include "aws/cloudtrail.h"
#include "aws/credentials.h"
#include "aws/iam.h"
#include "fake_transport.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

#ifdef IAMKEYS_TESTING
#error "this test must be built without IAMKEYS_TESTING"
#endif

static void test_clock_knobs(void **state)
{
	time_t t;

	(void)state;
	setenv("IAMKEYS_TEST_NOW", "2001-02-03T04:05:06Z", 1);
	t = aws_clock_now();
	assert_true(llabs((long long)t - (long long)time(NULL)) < 5);
	unsetenv("IAMKEYS_TEST_NOW");
	setenv("IAMKEYS_TEST_CLOCK_OFFSET", "-100000000", 1);
	t = aws_clock_now();
	assert_true(llabs((long long)t - (long long)time(NULL)) < 5);
	unsetenv("IAMKEYS_TEST_CLOCK_OFFSET");
}

static const struct fake_step ecs_steps[] = {
	/* the container agent's address, never IAMKEYS_TEST_ECS_ENDPOINT's */
	{ .method = "GET",
	  .url = "http://169.254.170.2/creds",
	  .reply_body = "{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
			"\"Expiration\":\"2030-01-01T06:00:00Z\"}" },
};

static int ecs_requests;

static struct http_transport *ecs_http(void *ctx, const struct http_options *opts)
{
	(void)ctx;
	(void)opts;
	ecs_requests++;
	return fake_transport_new(ecs_steps, ARRAY_SIZE(ecs_steps));
}

static void test_ecs_endpoint_knob(void **state)
{
	static const char *const vars[] = {
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/creds",
		"IAMKEYS_TEST_ECS_ENDPOINT=http://127.0.0.1:9/",
		NULL,
	};
	struct cred_env env;
	struct aws_credentials c = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct cred_provider *p;

	(void)state;
	memset(&env, 0, sizeof(env));
	env.getenv_fn = fake_getenv;
	env.ctx = (void *)vars;
	env.http_new = ecs_http;
	p = cred_provider_ecs_new(&env);
	assert_non_null(p);
	assert_int_equal(cred_provider_get(p, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIAECS");
	assert_int_equal(ecs_requests, 1);
	aws_credentials_release(&c);
	cred_provider_destroy(p);
	strbuf_release(&err);
}

/* A client with static credentials whose requests get the replies of steps. */
static struct aws_client *fake_client(const struct fake_step *steps, size_t n)
{
	struct aws_credentials creds = { 0 };
	struct aws_client_config cfg = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct aws_client *c;

	creds.access_key_id = xstrdup("AKIDEXAMPLE");
	creds.secret_access_key = xstrdup("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	cfg.creds = cred_provider_static_new(&creds);
	aws_credentials_release(&creds);
	cfg.http = fake_transport_new(steps, n);
	c = aws_client_new_config(&cfg, &err);
	assert_non_null(c);
	strbuf_release(&err);
	return c;
}

static void test_crash_after_knob(void **state)
{
	static const struct fake_step steps[] = {
		{ .reply_body = "<UpdateAccessKeyResponse><ResponseMetadata><RequestId>r"
				"</RequestId></ResponseMetadata></UpdateAccessKeyResponse>" },
	};
	struct strbuf err = STRBUF_INIT;
	struct aws_client *c;

	(void)state;
	setenv("IAMKEYS_TEST_CRASH_AFTER", "1", 1);
	c = fake_client(steps, ARRAY_SIZE(steps));
	/* a test build SIGKILLs itself right after this mutating call */
	assert_int_equal(iam_update_access_key(c, "bob", "AKIAAAAAAAAAAAAAAAAA", "Inactive", &err),
			 0);
	aws_client_free(c);
	unsetenv("IAMKEYS_TEST_CRASH_AFTER");
	strbuf_release(&err);
}

static int no_event(void *ctx, const char *event, size_t len, struct strbuf *err)
{
	(void)ctx;
	(void)event;
	(void)len;
	(void)err;
	return 0;
}

static void test_cloudtrail_tps_knob(void **state)
{
	static const struct fake_step steps[] = {
		{ .reply_body = "{\"Events\":[]}" },
		{ .reply_body = "{\"Events\":[]}" },
	};
	struct cloudtrail_pacer pacer = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct aws_client *c;
	unsigned long calls = 0;
	double t0;

	(void)state;
	setenv("IAMKEYS_TEST_CLOUDTRAIL_TPS", "10000", 1);
	c = fake_client(steps, ARRAY_SIZE(steps));
	/* two lookups of one region: still CloudTrail's 2 a second apart */
	t0 = aws_monotonic_ms();
	assert_int_equal(cloudtrail_lookup_key(c, &pacer, "AKIAAAAAAAAAAAAAAAAA", 1, 2, no_event,
					       NULL, &calls, &err),
			 0);
	assert_int_equal(cloudtrail_lookup_key(c, &pacer, "AKIAAAAAAAAAAAAAAAAA", 1, 2, no_event,
					       NULL, &calls, &err),
			 0);
	assert_true(aws_monotonic_ms() - t0 >= CLOUDTRAIL_LOOKUP_INTERVAL_MS);
	assert_int_equal(calls, 2);
	aws_client_free(c);
	unsetenv("IAMKEYS_TEST_CLOUDTRAIL_TPS");
	strbuf_release(&err);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_clock_knobs),
	cmocka_unit_test(test_ecs_endpoint_knob),
	cmocka_unit_test(test_crash_after_knob),
	cmocka_unit_test(test_cloudtrail_tps_knob),
};

UNIT_TEST_MAIN(tests)
