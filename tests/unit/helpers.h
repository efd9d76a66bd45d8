#ifndef IAMKEYS_TEST_HELPERS_H
#define IAMKEYS_TEST_HELPERS_H
/*
 * What the unit-test files share besides their data (see testdata.h): main(), the
 * row type of the text tables, assertions written the same way in several files.
 * Include after <setjmp.h> and <cmocka.h>.
 */

/*
 * main(): runs the array TESTS (cmocka_unit_test(fn), ...) as one group named after the
 * file, with GROUP_SETUP before the first test and GROUP_TEARDOWN after the last (either
 * may be NULL); exits with the number of tests that failed.
 */
#define UNIT_TEST_MAIN_GROUP(tests, group_setup, group_teardown)                                   \
	int main(void)                                                                             \
	{                                                                                          \
		return cmocka_run_group_tests_name(__FILE__, tests, group_setup, group_teardown);  \
	}

/* main() for tests with no group set-up. */
#define UNIT_TEST_MAIN(tests) UNIT_TEST_MAIN_GROUP(tests, NULL, NULL)

/* One row of a table-driven test: an input text and the text it must give (a value, an
 * error message). */
struct text_case {
	const char *in;
	const char *want;
};

/* PAGE (a parsed IAM list page: is_truncated, marker, request_id) is the last page, the
 * reply to the request REQUEST_ID. */
#define assert_last_page(page, request_id_want)                                                    \
	do {                                                                                       \
		assert_int_equal((page).is_truncated, 0);                                          \
		assert_null((page).marker);                                                        \
		assert_string_equal((page).request_id, (request_id_want));                         \
	} while (0)
#endif
