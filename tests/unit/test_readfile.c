/* aws/readfile.c: whole files with a limit; over the limit is an error, never cut short. */
#include "core/compat.h"
#include "aws/readfile.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include <sys/stat.h>

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/iamkeys-readfile-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static void write_file(const char *path, size_t n)
{
	FILE *f = fopen(path, "w");
	size_t i;

	assert_non_null(f);
	for (i = 0; i < n; i++)
		fputc('a' + (int)(i % 26), f);
	fclose(f);
}

static void test_limits(void **state)
{
	struct strbuf path = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT, want = STRBUF_INIT;

	(void)state;
	strbuf_addf(&path, "%s/f", dir);
	/* exactly the limit: read whole */
	write_file(path.buf, 100);
	assert_int_equal(read_file(path.buf, 100, NULL, &out, &err), 0);
	assert_int_equal(out.len, 100);
	assert_int_equal(out.buf[99], 'a' + 99 % 26);
	assert_string_equal(err.buf, "");
	/* one byte over: an error, not the first 100 bytes */
	strbuf_reset(&out);
	write_file(path.buf, 101);
	assert_int_equal(read_file(path.buf, 100, NULL, &out, &err), -1);
	strbuf_addf(&want, "cannot read '%s': larger than 100 bytes", path.buf);
	assert_string_equal(err.buf, want.buf);
	/* named */
	strbuf_reset(&err);
	strbuf_reset(&want);
	assert_int_equal(read_file(path.buf, 100, "accounts file", &out, &err), -1);
	strbuf_addf(&want, "cannot read the accounts file '%s': larger than 100 bytes", path.buf);
	assert_string_equal(err.buf, want.buf);
	strbuf_release(&path);
	strbuf_release(&out);
	strbuf_release(&err);
	strbuf_release(&want);
}

static void test_missing_and_directory(void **state)
{
	struct strbuf path = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT, want = STRBUF_INIT;

	(void)state;
	strbuf_addf(&path, "%s/missing", dir);
	assert_int_equal(read_file(path.buf, 10, NULL, &out, &err), 1);
	assert_string_equal(err.buf, "");
	assert_int_equal(read_file_or_error(path.buf, 10, "plan", &out, &err), -1);
	strbuf_addf(&want, "cannot read the plan '%s': No such file or directory", path.buf);
	assert_string_equal(err.buf, want.buf);
	strbuf_reset(&err);
	strbuf_reset(&want);
	assert_int_equal(read_file(dir, 10, NULL, &out, &err), -1);
	strbuf_addf(&want, "cannot read '%s': is a directory", dir);
	assert_string_equal(err.buf, want.buf);
	strbuf_release(&path);
	strbuf_release(&out);
	strbuf_release(&err);
	strbuf_release(&want);
}

static int teardown(void **state)
{
	struct strbuf p = STRBUF_INIT;

	(void)state;
	strbuf_addf(&p, "%s/f", dir);
	unlink(p.buf);
	strbuf_release(&p);
	return rmdir(dir);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_limits),
	cmocka_unit_test(test_missing_and_directory),
};

UNIT_TEST_MAIN_GROUP(tests, setup, teardown)
