#include "core/compat.h"
#include "core/csv.h"
#include "core/strbuf.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

#define MAX_ROWS 6
#define MAX_FIELDS 5

/*
 * A parse case: rows end at a row whose first field is NULL, fields at
 * NULL. A row of one empty field is { "" }. len 0 means strlen(in).
 */
struct csv_case {
	const char *in;
	size_t len;
	const char *rows[MAX_ROWS][MAX_FIELDS];
};

static const struct csv_case good[] = {
	{ "", 0, { { NULL } } },
	{ "a", 0, { { "a" } } },
	{ "a\n", 0, { { "a" } } },
	{ "a\r\n", 0, { { "a" } } },
	{ "a\r", 0, { { "a" } } },
	{ "a,b,c\n1,2,3\n", 0, { { "a", "b", "c" }, { "1", "2", "3" } } },
	{ "a,b,c\r\n1,2,3\r\n", 0, { { "a", "b", "c" }, { "1", "2", "3" } } },
	{ "a,b\r\n1,2", 0, { { "a", "b" }, { "1", "2" } } },
	{ "a,b\n1,2\r\n3,4", 0, { { "a", "b" }, { "1", "2" }, { "3", "4" } } },
	{ "a\rb\r\nc\nd", 0, { { "a" }, { "b" }, { "c" }, { "d" } } },
	{ "a,,b\n,,\n", 0, { { "a", "", "b" }, { "", "", "" } } },
	{ ",", 0, { { "", "" } } },
	{ "a,", 0, { { "a", "" } } },
	{ "a,\n", 0, { { "a", "" } } },
	{ ",a", 0, { { "", "a" } } },
	{ "\n", 0, { { "" } } },
	{ "\r\n", 0, { { "" } } },
	{ "\n\n", 0, { { "" }, { "" } } },
	{ "a\n\nb\n", 0, { { "a" }, { "" }, { "b" } } },
	{ "a\n\n", 0, { { "a" }, { "" } } },
	{ " a , b ", 0, { { " a ", " b " } } },
	{ "\t,\t\n", 0, { { "\t", "\t" } } },
	{ "\xc3\xa9t\xc3\xa9,\xe2\x82\xac", 0, { { "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac" } } },
	{ "a'b,c\\d", 0, { { "a'b", "c\\d" } } },
	/* quoted fields */
	{ "\"a\"", 0, { { "a" } } },
	{ "\"a,b\",c", 0, { { "a,b", "c" } } },
	{ "c,\"a,b\"", 0, { { "c", "a,b" } } },
	{ "c,\"a,b\"\n", 0, { { "c", "a,b" } } },
	{ "\"\"", 0, { { "" } } },
	{ "\"\",\"\"", 0, { { "", "" } } },
	{ "\"\"\"\"", 0, { { "\"" } } },
	{ "\"\"\"\"\"\"", 0, { { "\"\"" } } },
	{ "\"he said \"\"hi\"\"\"", 0, { { "he said \"hi\"" } } },
	{ "\"\"\"quoted\"\"\",x", 0, { { "\"quoted\"", "x" } } },
	{ "\"line1\nline2\",x\n", 0, { { "line1\nline2", "x" } } },
	{ "\"a\r\nb\"\r\n", 0, { { "a\r\nb" } } },
	{ "\"a\rb\"", 0, { { "a\rb" } } },
	{ "\"\n\"", 0, { { "\n" } } },
	{ "\"a\"\r\n\"b\"", 0, { { "a" }, { "b" } } },
	{ "\"a\"\n\"b\"\n", 0, { { "a" }, { "b" } } },
	{ "\"a\"\r\"b\"\r", 0, { { "a" }, { "b" } } },
	{ "\" a \",b", 0, { { " a ", "b" } } },
	{ "\",\",\",\"", 0, { { ",", "," } } },
	{ "a,\"\"\n", 0, { { "a", "" } } },
	{ "\"x\",", 0, { { "x", "" } } },
	{ "x,\"multi\nline\nvalue\",y\nz", 0, { { "x", "multi\nline\nvalue", "y" }, { "z" } } },
	{ "\"a\"\"\",\"\"\"b\"", 0, { { "a\"", "\"b" } } },
	/* len is honoured: the text need not end in NUL */
	{ "a,b\nc,d", 5, { { "a", "b" }, { "c" } } },
	{ "\"a\",b", 3, { { "a" } } },
};

static void check_table(const struct csv_case *c, const struct csv_table *t)
{
	size_t r, f;

	for (r = 0; r < MAX_ROWS && c->rows[r][0]; r++) {
		if (r >= t->nrows)
			fail_msg("case '%s': %zu rows, want more", c->in, t->nrows);
		for (f = 0; f < MAX_FIELDS && c->rows[r][f]; f++) {
			if (f >= t->rows[r].nfields)
				fail_msg("case '%s': row %zu has %zu fields, want more", c->in, r,
					 t->rows[r].nfields);
			if (strcmp(t->rows[r].fields[f], c->rows[r][f]))
				fail_msg("case '%s': row %zu field %zu is '%s', want '%s'", c->in,
					 r, f, t->rows[r].fields[f], c->rows[r][f]);
		}
		if (f != t->rows[r].nfields)
			fail_msg("case '%s': row %zu has %zu fields, want %zu", c->in, r,
				 t->rows[r].nfields, f);
	}
	if (r != t->nrows)
		fail_msg("case '%s': %zu rows, want %zu", c->in, t->nrows, r);
}

/*
 * Parses IN (LEN bytes, 0 for strlen(IN)): into the table of WANT, or, where WANT is NULL,
 * to the error MSG, with nothing to release.
 */
static void check_parse(const char *in, size_t len, const struct csv_case *want, const char *msg)
{
	struct csv_table t;
	struct strbuf err = STRBUF_INIT;
	int rc;

	if (!len)
		len = strlen(in);
	rc = csv_parse(in, len, &t, &err);
	if (want && rc)
		fail_msg("case '%s': %s", in, err.buf);
	if (!want && !rc)
		fail_msg("case '%s' parsed", in);
	if (want) {
		assert_int_equal(err.len, 0);
		check_table(want, &t);
		csv_table_release(&t);
	} else {
		assert_string_equal(err.buf, msg);
	}
	assert_null(t.rows);
	assert_int_equal(t.nrows, 0);
	if (!want) {
		/* nothing to release after an error, but releasing is harmless */
		csv_table_release(&t);
		assert_int_equal(csv_parse(in, len, &t, NULL), -1);
	}
	strbuf_release(&err);
}

static void test_parse_good(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		check_parse(good[i].in, good[i].len, &good[i], NULL);
}

static const struct {
	const char *in;
	size_t len;
	const char *msg;
} bad[] = {
	{ "\"abc", 0, "CSV line 1: unterminated quoted field" },
	{ "\"", 0, "CSV line 1: unterminated quoted field" },
	{ "a,\"", 0, "CSV line 1: unterminated quoted field" },
	{ "\"abc\"\"", 0, "CSV line 1: unterminated quoted field" },
	{ "a\nb\n\"x\ny\nz", 0, "CSV line 3: unterminated quoted field" },
	{ "a\r\nb\r\n\"c\"\"\r\n", 0, "CSV line 3: unterminated quoted field" },
	{ "a\n\"ok\nstill\",\"open\n\n", 0, "CSV line 3: unterminated quoted field" },
	{ "ab\"c", 0, "CSV line 1: quote inside unquoted field" },
	{ "a\"", 0, "CSV line 1: quote inside unquoted field" },
	{ "a\nb,c\"d\n", 0, "CSV line 2: quote inside unquoted field" },
	{ "x, \"a\"", 0, "CSV line 1: quote inside unquoted field" },
	{ "\"a\nb\"\nc\"", 0, "CSV line 3: quote inside unquoted field" },
	{ "\"ab\"c", 0, "CSV line 1: unexpected character after closing quote" },
	{ "\"ab\" ,c", 0, "CSV line 1: unexpected character after closing quote" },
	{ "\"ab\"\"c\"d", 0, "CSV line 1: unexpected character after closing quote" },
	{ "\"a\nb\"x", 0, "CSV line 2: unexpected character after closing quote" },
	{ "x\r\n\"a\"\"b\"c", 0, "CSV line 2: unexpected character after closing quote" },
	{ "\"a\"\"\"b", 0, "CSV line 1: unexpected character after closing quote" },
	{ "a\0b", 3, "CSV line 1: NUL byte in field" },
	{ "a\n\"b\0\"", 6, "CSV line 2: NUL byte in field" },
	{ "a\n\0", 3, "CSV line 2: NUL byte in field" },
};

static void test_parse_bad(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		check_parse(bad[i].in, bad[i].len, NULL, bad[i].msg);
}

/* The reader gives csv_parse's rows one at a time, then 0; an error ends it. */
static void test_reader(void **state)
{
	static const char in[] = "a,b\n\"c\nd\"\n\ne,\"never closed";
	struct strbuf err = STRBUF_INIT;
	struct csv_reader r;
	struct csv_row row;

	csv_reader_init(&r, in, 11, &err);
	assert_int_equal(csv_reader_next(&r, &row), 1);
	assert_int_equal(row.nfields, 2);
	assert_string_equal(row.fields[1], "b");
	csv_row_release(&row);
	assert_int_equal(csv_reader_next(&r, &row), 1);
	assert_int_equal(row.nfields, 1);
	assert_string_equal(row.fields[0], "c\nd");
	assert_int_equal(row.line, 2);
	csv_row_release(&row);
	assert_int_equal(csv_reader_next(&r, &row), 1);
	assert_int_equal(row.nfields, 1);
	assert_string_equal(row.fields[0], "");
	assert_int_equal(row.line, 4);
	csv_row_release(&row);
	assert_int_equal(csv_reader_next(&r, &row), 0);
	assert_null(row.fields);
	assert_int_equal(csv_reader_next(&r, &row), 0);
	csv_reader_release(&r);
	assert_int_equal(err.len, 0);

	csv_reader_init(&r, in, strlen(in), &err);
	assert_int_equal(csv_reader_next(&r, &row), 1);
	csv_row_release(&row);
	assert_int_equal(csv_reader_next(&r, &row), 1);
	csv_row_release(&row);
	assert_int_equal(csv_reader_next(&r, &row), 1);
	csv_row_release(&row);
	assert_int_equal(csv_reader_next(&r, &row), -1);
	assert_null(row.fields);
	assert_int_equal(row.nfields, 0);
	assert_string_equal(err.buf, "CSV line 5: unterminated quoted field");
	csv_reader_release(&r);
	strbuf_release(&err);
}

static void test_row_lines(void **state)
{
	static const char in[] = "a\n\"b\nc\"\nd\r\ne\rf\n\n\"g\r\nh\",\"i\n\"\nj";
	static const size_t want[] = { 1, 2, 4, 5, 6, 7, 8, 11 };
	struct csv_table t;
	size_t i;

	assert_int_equal(csv_parse(in, strlen(in), &t, NULL), 0);
	assert_int_equal(t.nrows, ARRAY_SIZE(want));
	for (i = 0; i < ARRAY_SIZE(want); i++)
		if (t.rows[i].line != want[i])
			fail_msg("row %zu starts on line %zu, want %zu", i, t.rows[i].line,
				 want[i]);
	csv_table_release(&t);
	csv_table_release(NULL);
}

static void test_steal_field(void **state)
{
	struct csv_table t;
	char *s;

	assert_int_equal(csv_parse("a,b\n", 4, &t, NULL), 0);
	s = t.rows[0].fields[1];
	t.rows[0].fields[1] = NULL;
	csv_table_release(&t);
	assert_string_equal(s, "b");
	free(s);
}

static const struct text_case fields[] = {
	{ "", "" },
	{ "abc", "abc" },
	{ "a b", "a b" },
	{ "a'b", "a'b" },
	{ "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice" },
	{ "a,b", "\"a,b\"" },
	{ ",", "\",\"" },
	{ "a\"b", "\"a\"\"b\"" },
	{ "\"", "\"\"\"\"" },
	{ "\"\"", "\"\"\"\"\"\"" },
	{ "say \"hi\", ok", "\"say \"\"hi\"\", ok\"" },
	{ "a\nb", "\"a\nb\"" },
	{ "a\rb", "\"a\rb\"" },
	{ "a\r\n", "\"a\r\n\"" },
	{ " a", "\" a\"" },
	{ "a ", "\"a \"" },
	{ "\ta", "\"\ta\"" },
	{ "a\t", "\"a\t\"" },
	{ " ", "\" \"" },
	{ "\xc3\xa9", "\xc3\xa9" },
};

static void test_add_field(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		struct strbuf sb = STRBUF_INIT;

		csv_add_field(&sb, fields[i].in, 1);
		assert_string_equal(sb.buf, fields[i].want);
		strbuf_reset(&sb);
		strbuf_addstr(&sb, "x");
		csv_add_field(&sb, fields[i].in, 0);
		assert_int_equal(sb.buf[1], ',');
		assert_string_equal(sb.buf + 2, fields[i].want);
		strbuf_release(&sb);
	}
}

static void test_add_field_null_and_rows(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	csv_add_field(&sb, NULL, 1);
	csv_add_field(&sb, "b", 0);
	csv_add_field(&sb, NULL, 0);
	strbuf_addstr(&sb, "\r\n");
	csv_add_field(&sb, "c", 1);
	strbuf_addstr(&sb, "\r\n");
	assert_string_equal(sb.buf, ",b,\r\nc\r\n");
	strbuf_release(&sb);
}

static void test_write_then_parse(void **state)
{
	const struct csv_case rows = {
		"written",
		0,
		{
			{ "user", "arn", "note" },
			{ "alice, the admin", "arn:aws:iam::1:user/a", "says \"hi\"" },
			{ "", "multi\nline\r\nvalue\r", " padded " },
			{ "\"", ",", "" },
			{ "" },
			{ "last" },
		},
	};
	const char *eols[] = { "\n", "\r\n" };
	size_t e, r, f;

	for (e = 0; e < ARRAY_SIZE(eols); e++) {
		struct strbuf sb = STRBUF_INIT;
		struct csv_table t;

		for (r = 0; r < MAX_ROWS && rows.rows[r][0]; r++) {
			for (f = 0; f < MAX_FIELDS && rows.rows[r][f]; f++)
				csv_add_field(&sb, rows.rows[r][f], f == 0);
			strbuf_addstr(&sb, eols[e]);
		}
		assert_int_equal(csv_parse(sb.buf, sb.len, &t, NULL), 0);
		check_table(&rows, &t);
		csv_table_release(&t);
		strbuf_release(&sb);
	}
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* SB becomes N copies of C, which parse into T, NROWS rows (the caller releases T). */
static void parse_copies(struct strbuf *sb, char c, size_t n, struct csv_table *t, size_t nrows)
{
	size_t i;

	strbuf_reset(sb);
	for (i = 0; i < n; i++)
		strbuf_addch(sb, c);
	assert_int_equal(csv_parse(sb->buf, sb->len, t, NULL), 0);
	assert_int_equal(t->nrows, nrows);
}

static void test_large_inputs(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct csv_table t;
	double t0 = now_seconds();
	size_t i;

	/* a 5,000-row, 22-column report of about 1.5 MB with some quoted fields */
	for (i = 0; i <= 5000; i++) {
		int f;
		for (f = 0; f < 22; f++) {
			char buf[64];
			if (f == 0)
				snprintf(buf, sizeof(buf), "user, number %zu", i);
			else
				snprintf(buf, sizeof(buf), "2024-01-31T12:00:00+00:00/%zu%d", i, f);
			csv_add_field(&sb, buf, f == 0);
		}
		strbuf_addch(&sb, '\n');
	}
	assert_true(sb.len > 1400000);
	assert_int_equal(csv_parse(sb.buf, sb.len, &t, NULL), 0);
	assert_int_equal(t.nrows, 5001);
	assert_int_equal(t.rows[5000].nfields, 22);
	assert_string_equal(t.rows[4999].fields[0], "user, number 4999");
	assert_int_equal(t.rows[4999].line, 5000);
	csv_table_release(&t);

	/* one huge quoted field full of "" escapes and line breaks */
	strbuf_reset(&sb);
	strbuf_addch(&sb, '"');
	for (i = 0; i < 300000; i++)
		strbuf_addstr(&sb, i % 2 ? "\"\"" : "ab\n");
	strbuf_addch(&sb, '"');
	assert_int_equal(csv_parse(sb.buf, sb.len, &t, NULL), 0);
	assert_int_equal(t.nrows, 1);
	assert_int_equal(strlen(t.rows[0].fields[0]), 150000 * 4);
	csv_table_release(&t);

	/* one row of a million empty fields */
	parse_copies(&sb, ',', 1000000, &t, 1);
	assert_int_equal(t.rows[0].nfields, 1000001);
	csv_table_release(&t);

	/* a million blank lines */
	parse_copies(&sb, '\n', 1000000, &t, 1000000);
	csv_table_release(&t);

	strbuf_release(&sb);
	/* linear: all of this takes well under a second, even under ASan */
	if (now_seconds() - t0 > 20)
		fail_msg("parsing took %.1f s", now_seconds() - t0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_parse_good),
	cmocka_unit_test(test_parse_bad),
	cmocka_unit_test(test_reader),
	cmocka_unit_test(test_row_lines),
	cmocka_unit_test(test_steal_field),
	cmocka_unit_test(test_add_field),
	cmocka_unit_test(test_add_field_null_and_rows),
	cmocka_unit_test(test_write_then_parse),
	cmocka_unit_test(test_large_inputs),
};

UNIT_TEST_MAIN(tests)
