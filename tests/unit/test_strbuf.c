#include "core/compat.h"
#include "core/strbuf.h"

#include <setjmp.h>
#include <cmocka.h>

static int made;

static char *make(void)
{
	made++;
	return xstrdup("x");
}

/* Each argument is evaluated once: twice would be a double free. */
static void test_free_all_evaluates_each_argument_once(void **state)
{
	made = 0;
	FREE_ALL(make(), make(), NULL, make());
	assert_int_equal(made, 3);
}

static void test_free_secrets_evaluates_each_argument_once(void **state)
{
	made = 0;
	FREE_SECRETS(make(), NULL, make());
	assert_int_equal(made, 2);
}

struct elem {
	int id;
	char *name;
};

static int released[4], nreleased;

static void elem_release(struct elem *e)
{
	released[nreleased++] = e->id;
	free(e->name);
}

static void test_free_array_releases_each_element_in_order(void **state)
{
	struct elem *a = xcalloc(3, sizeof(*a));
	size_t i, n = 3;

	for (i = 0; i < 3; i++) {
		a[i].id = (int)i + 10;
		a[i].name = xstrdup("n");
	}
	nreleased = 0;
	FREE_ARRAY(a, n, elem_release);
	assert_int_equal(nreleased, 3);
	assert_int_equal(released[0], 10);
	assert_int_equal(released[1], 11);
	assert_int_equal(released[2], 12);

	a = NULL;
	n = 0;
	nreleased = 0;
	FREE_ARRAY(a, n, elem_release);
	assert_int_equal(nreleased, 0);
}

static void test_free_strings(void **state)
{
	char **v = xcalloc(2, sizeof(*v));

	v[0] = xstrdup("a");
	v[1] = NULL;
	free_strings(v, 2);
	free_strings(NULL, 5); /* nothing to free */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_all_evaluates_each_argument_once),
		cmocka_unit_test(test_free_secrets_evaluates_each_argument_once),
		cmocka_unit_test(test_free_array_releases_each_element_in_order),
		cmocka_unit_test(test_free_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
