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

/* A test's buffers: the file's path, what was read, the error and the error expected. */
struct rf_test {
	struct strbuf path, out, err, want;
};
#define RF_TEST_INIT                                                                               \
	{                                                                                          \
		STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT                                 \
	}

static void rf_release(struct rf_test *t)
{
	strbuf_release(&t->path);
	strbuf_release(&t->out);
	strbuf_release(&t->err);
	strbuf_release(&t->want);
}

/* t->err is the printf of WANT; both are emptied after. */
__attribute__((format(printf, 2, 3))) static void expect_error(struct rf_test *t, const char *want,
							       ...)
{
	va_list ap;

	va_start(ap, want);
	strbuf_vaddf(&t->want, want, ap);
	va_end(ap);
	assert_string_equal(t->err.buf, t->want.buf);
	strbuf_reset(&t->err);
	strbuf_reset(&t->want);
}

static void test_limits(void **state)
{
	struct rf_test buffers = RF_TEST_INIT, *t = &buffers;

	strbuf_addf(&t->path, "%s/f", dir);
	/* exactly the limit: read whole */
	write_file(t->path.buf, 100);
	assert_int_equal(read_file(t->path.buf, 100, NULL, &t->out, &t->err), 0);
	assert_int_equal(t->out.len, 100);
	assert_int_equal(t->out.buf[99], 'a' + 99 % 26);
	assert_string_equal(t->err.buf, "");
	/* one byte over: an error, not the first 100 bytes */
	strbuf_reset(&t->out);
	write_file(t->path.buf, 101);
	assert_int_equal(read_file(t->path.buf, 100, NULL, &t->out, &t->err), -1);
	expect_error(t, "cannot read '%s': larger than 100 bytes", t->path.buf);
	/* named */
	assert_int_equal(read_file(t->path.buf, 100, "accounts file", &t->out, &t->err), -1);
	expect_error(t, "cannot read the accounts file '%s': larger than 100 bytes", t->path.buf);
	rf_release(t);
}

static void test_missing_and_directory(void **state)
{
	struct rf_test buffers = RF_TEST_INIT, *t = &buffers;

	strbuf_addf(&t->path, "%s/missing", dir);
	assert_int_equal(read_file(t->path.buf, 10, NULL, &t->out, &t->err), 1);
	assert_string_equal(t->err.buf, "");
	assert_int_equal(read_file_or_error(t->path.buf, 10, "plan", &t->out, &t->err), -1);
	expect_error(t, "cannot read the plan '%s': No such file or directory", t->path.buf);
	assert_int_equal(read_file(dir, 10, NULL, &t->out, &t->err), -1);
	expect_error(t, "cannot read '%s': is a directory", dir);
	rf_release(t);
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
