#include "core/compat.h"
#include "aws/http.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

/* A timeout in ms is passed on as it is. */
static void test_connect_timeout_given(void **state)
{
	(void)state;
	assert_int_equal(http_curl_connect_timeout(1), 1);
	assert_int_equal(http_curl_connect_timeout(5000), 5000);
	assert_int_equal(http_curl_connect_timeout(3600000), 3600000);
}

/*
 * "No limit" (--connect-timeout 0) is never 0 for libcurl, which reads 0
 * as its built-in 300 s, but the largest value it takes, and libcurl
 * accepts it.
 */
static void test_connect_timeout_none(void **state)
{
	CURL *c = curl_easy_init();

	(void)state;
	assert_non_null(c);
	assert_int_equal(http_curl_connect_timeout(-1), (long)INT_MAX);
	assert_true(http_curl_connect_timeout(-1) > 300000L);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
					  http_curl_connect_timeout(-1)),
			 CURLE_OK);
	curl_easy_cleanup(c);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_connect_timeout_given),
	cmocka_unit_test(test_connect_timeout_none),
};

UNIT_TEST_MAIN(tests)
