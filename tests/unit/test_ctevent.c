/* CloudTrailEvent strings (core/ctevent.c): the fields iamkeys trace reports, and one
 * line for everything it cannot use. */
#include "core/compat.h"
#include "core/ctevent.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

/* an event as CloudTrail writes it (AWS CloudTrail User Guide, "CloudTrail record contents") */
static const char GET_SESSION_TOKEN[] =
	"{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":"
	"\"AIDAEXAMPLE\",\"arn\":\"arn:aws:iam::111111111111:user/ci\",\"accountId\":"
	"\"111111111111\",\"accessKeyId\":\"AKIAEXAMPLE000000001\",\"userName\":\"ci\"},"
	"\"eventTime\":\"2026-11-30T10:11:12Z\",\"eventSource\":\"sts.amazonaws.com\","
	"\"eventName\":\"GetSessionToken\",\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":"
	"\"10.0.3.7\",\"userAgent\":\"aws-sdk-java/2.20.1 Linux/5.10\",\"requestParameters\":"
	"{\"durationSeconds\":3600},\"responseElements\":{\"credentials\":{\"accessKeyId\":"
	"\"ASIAEXAMPLE000000001\",\"sessionToken\":\"x\",\"expiration\":\"Nov 30, 2026 11:11:12 "
	"AM\"}},\"requestID\":\"r\",\"eventID\":\"e\",\"readOnly\":true}";

/* TEXT parses into E (the caller releases it). */
static void parsed(const char *text, struct ct_event *e)
{
	struct strbuf err = STRBUF_INIT;

	if (ct_event_parse(text, strlen(text), e, &err))
		fail_msg("%s", err.buf);
	strbuf_release(&err);
}

static void test_fields(void **state)
{
	struct ct_event e;

	parsed(GET_SESSION_TOKEN, &e);
	assert_string_equal(e.event_name, "GetSessionToken");
	assert_string_equal(e.event_source, "sts.amazonaws.com");
	assert_string_equal(e.region, "eu-west-1");
	assert_string_equal(e.source_ip, "10.0.3.7");
	assert_string_equal(e.user_agent, "aws-sdk-java/2.20.1 Linux/5.10");
	assert_string_equal(e.access_key_id, "AKIAEXAMPLE000000001");
	assert_string_equal(e.issued_key, "ASIAEXAMPLE000000001");
	assert_null(e.error_code);
	assert_int_equal(e.time, 1796033472); /* 2026-11-30T10:11:12Z */
	ct_event_release(&e);
}

static void test_optional_fields(void **state)
{
	const char *t = "{\"eventTime\":\"2026-11-30T10:11:12Z\",\"eventSource\":"
			"\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\",\"sourceIPAddress\":"
			"\"AWS Internal\",\"errorCode\":\"AccessDenied\"}";
	struct ct_event e;

	parsed(t, &e);
	assert_string_equal(e.source_ip, "AWS Internal");
	assert_string_equal(e.user_agent, "");
	assert_string_equal(e.error_code, "AccessDenied");
	assert_null(e.access_key_id);
	assert_null(e.issued_key);
	assert_null(e.region);
	ct_event_release(&e);
}

static void refused(const char *text, const char *why)
{
	struct ct_event e;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(ct_event_parse(text, strlen(text), &e, &err), -1);
	if (!strstr(err.buf, why))
		print_error("for %s: '%s', not '%s'\n", text, err.buf, why);
	assert_non_null(strstr(err.buf, why));
	assert_null(strchr(err.buf, '\n'));
	assert_null(e.event_name);
	strbuf_release(&err);
}

static void test_refused(void **state)
{
	(void)state;
	refused("", "not JSON");
	refused("{\"eventTime\": \"\\\n", "not JSON");
	refused("[]", "not a JSON object");
	refused("{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"X\"}", "no eventTime");
	refused("{\"eventTime\":\"yesterday\",\"eventSource\":\"a\",\"eventName\":\"X\"}",
		"unparseable eventTime");
	refused("{\"eventTime\":\"2026-11-30T10:11:12Z\",\"eventSource\":\"a\"}", "no eventName");
	refused("{\"eventTime\":\"2026-11-30T10:11:12Z\",\"eventName\":\"a\"}", "no eventSource");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_fields),
	cmocka_unit_test(test_optional_fields),
	cmocka_unit_test(test_refused),
};

UNIT_TEST_MAIN(tests)
