#include "core/compat.h"
#include "cmd/output.h"
#include "cmd/cli.h"
#include "core/strbuf.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include "testdata.h"

static const struct out_column cols[] = {
	{ "Name", "NAME", 0, NULL }, { "Count", "COUNT", 0, NULL }, { "Ok", "OK", 0, NULL },
	{ "Tags", "TAGS", 0, NULL }, { "Note", "NOTE", 0, NULL },
};

/* Awkward values: JSON escapes, UTF-8, control characters, empty lists, nulls. */
static void fill_row(struct out_table *t, size_t row, size_t i)
{
	static const char *const names[] = {
		"alice", "b\"o\\b", "caf\xc3\xa9", "tab\there", "new\nline", "",
	};
	static const char *const tags[] = { "old,unused", "", "two-active", NULL };

	out_set_str(t, row, 0, names[i % ARRAY_SIZE(names)]);
	if (i % 3)
		out_set_int(t, row, 1, (long long)i * 1000 - 7);
	out_set_bool(t, row, 2, (int)(i % 2));
	if (tags[i % ARRAY_SIZE(tags)])
		out_set_list(t, row, 3, tags[i % ARRAY_SIZE(tags)]);
	out_set_str(t, row, 4, i % 4 ? NULL : "\x01 \x7f </script>");
}

static void build_table(struct out_table *t, size_t n)
{
	size_t i;

	out_table_init(t, cols, ARRAY_SIZE(cols));
	for (i = 0; i < n; i++)
		fill_row(t, out_table_add_row(t), i);
}

struct source {
	size_t calls, next;
};

static void fill_source(void *ctx, size_t i, struct out_table *row)
{
	struct source *s = ctx;
	size_t c;

	/* the scratch row comes cleared; rows are asked for in order */
	for (c = 0; c < ARRAY_SIZE(cols); c++) {
		assert_int_equal(row->cells[c].type, CELL_NULL);
		assert_null(row->cells[c].text);
	}
	assert_true(i == s->next || i == 0); /* the table format starts over once */
	s->next = i + 1;
	s->calls++;
	fill_row(row, 0, i);
}

static void source_init(struct out_rows *rows, struct source *s, size_t n)
{
	memset(s, 0, sizeof(*s));
	rows->cols = cols;
	rows->ncols = ARRAY_SIZE(cols);
	rows->nrows = n;
	rows->fill = fill_source;
	rows->ctx = s;
	rows->below = NULL;
	rows->extend = NULL;
}

/* What a FILE writer wrote, as a string (the caller frees it). */
static FILE *capture_start(void)
{
	FILE *f = tmpfile();

	assert_non_null(f);
	return f;
}

static char *capture_end(FILE *f)
{
	struct strbuf sb = STRBUF_INIT;

	rewind(f);
	assert_int_equal(test_read_stream(f, &sb), 0);
	fclose(f);
	return strbuf_detach(&sb, NULL);
}

/* t printed as fmt with st is want, to the byte. */
static void prints(const struct out_table *t, enum output_format fmt, const struct out_style *st,
		   const char *want)
{
	FILE *fp = capture_start();
	char *got;

	assert_int_equal(out_table_print(t, fmt, st, fp), 0);
	got = capture_end(fp);
	assert_string_equal(got, want);
	free(got);
}

static char *dumps(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	assert_non_null(s);
	return s;
}

static void test_rows_print_like_table(void **state)
{
	static const enum output_format fmts[] = { OUTPUT_TABLE, OUTPUT_CSV, OUTPUT_JSON };
	static const size_t sizes[] = { 0, 1, 2, 7, 100 };
	size_t f, n, h;

	for (f = 0; f < ARRAY_SIZE(fmts); f++)
		for (n = 0; n < ARRAY_SIZE(sizes); n++)
			for (h = 0; h < 2; h++) {
				struct out_style st = { (int)h, 0, 0 };
				struct out_table t;
				struct out_rows rows;
				struct source src;
				FILE *fp;
				char *want, *got;

				build_table(&t, sizes[n]);
				fp = capture_start();
				assert_int_equal(out_table_print(&t, fmts[f], &st, fp), 0);
				want = capture_end(fp);
				source_init(&rows, &src, sizes[n]);
				fp = capture_start();
				assert_int_equal(out_rows_print(&rows, fmts[f], &st, fp), 0);
				got = capture_end(fp);
				assert_string_equal(got, want);
				/* the table format reads the rows twice: widths, then lines */
				assert_int_equal(src.calls,
						 fmts[f] == OUTPUT_TABLE ? 2 * sizes[n] : sizes[n]);
				free(want);
				free(got);
				out_table_release(&t);
			}
}

/* The JSON array is what jansson writes for out_table_to_json. */
static void test_json_array_is_janssons(void **state)
{
	static const size_t sizes[] = { 0, 1, 6, 50 };
	size_t n;

	for (n = 0; n < ARRAY_SIZE(sizes); n++) {
		struct out_style st = { 0, 0, 0 };
		struct out_table t;
		struct strbuf want = STRBUF_INIT;
		json_t *arr;
		char *s, *got;
		FILE *fp;

		build_table(&t, sizes[n]);
		arr = out_table_to_json(&t);
		s = dumps(arr);
		strbuf_addf(&want, "%s\n", s);
		fp = capture_start();
		assert_int_equal(out_table_print(&t, OUTPUT_JSON, &st, fp), 0);
		got = capture_end(fp);
		assert_string_equal(got, want.buf);
		free(got);
		free(s);
		json_decref(arr);
		strbuf_release(&want);
		out_table_release(&t);
	}
}

/* A document written member by member equals jansson's dump of the whole. */
static void test_json_object_streamed(void **state)
{
	static const size_t sizes[] = { 0, 1, 3, 40 };
	size_t n;

	for (n = 0; n < ARRAY_SIZE(sizes); n++) {
		struct out_json_object o;
		struct out_table t;
		struct out_rows rows;
		struct source src;
		json_t *doc = json_object(), *sum = json_object(), *nested = json_array();
		char *want, *got;
		FILE *fp;

		build_table(&t, sizes[n]);
		json_array_append_new(nested, json_object());
		json_array_append_new(nested, json_pack("{s:i, s:[]}", "a", 1, "b"));
		json_array_append_new(nested, json_pack("{s:s}", "x", "line\nbreak \"q\""));
		json_object_set_new(sum, "Count", json_integer((json_int_t)sizes[n]));
		json_object_set_new(sum, "Empty", json_object());
		json_object_set_new(sum, "Nested", nested);
		json_object_set_new(sum, "Null", json_null());
		json_object_set_new(doc, "Keys", out_table_to_json(&t));
		json_object_set_new(doc, "Summary", json_incref(sum));
		json_object_set_new(doc, "Last", json_string("end"));
		want = dumps(doc);

		source_init(&rows, &src, sizes[n]);
		fp = capture_start();
		out_json_begin(&o, fp);
		out_json_add_rows(&o, "Keys", &rows);
		out_json_add(&o, "Summary", sum);
		out_json_add(&o, "Last", json_string("end"));
		assert_int_equal(out_json_end(&o), 0);
		got = capture_end(fp);
		assert_string_equal(got, want);
		assert_int_equal(src.calls, sizes[n]);
		free(want);
		free(got);
		json_decref(doc);
		out_table_release(&t);
	}
}

static void test_json_object_empty(void **state)
{
	struct out_json_object o;
	json_t *doc = json_object();
	char *want = dumps(doc), *got;
	FILE *fp = capture_start();

	out_json_begin(&o, fp);
	assert_int_equal(out_json_end(&o), 0);
	got = capture_end(fp);
	assert_string_equal(got, want);
	free(want);
	free(got);
	json_decref(doc);
}

/* The aligned table and the CSV themselves, pinned. */
static void test_table_text(void **state)
{
	static const struct out_column two[] = { { "A", "NAME", 0, NULL }, { "B", "N", 0, NULL } };
	struct out_style st = { 0, 0, 0 };
	struct out_table t;
	size_t r;

	out_table_init(&t, two, ARRAY_SIZE(two));
	r = out_table_add_row(&t);
	out_set_str(&t, r, 0, "caf\xc3\xa9-long");
	out_set_int(&t, r, 1, 12);
	r = out_table_add_row(&t);
	out_set_str(&t, r, 0, "x\ty");
	prints(&t, OUTPUT_TABLE, &st,
	       "NAME       N\n"
	       "caf\xc3\xa9-long  12\n"
	       "x?y        -\n");
	prints(&t, OUTPUT_CSV, &st, "A,B\r\ncaf\xc3\xa9-long,12\r\nx\ty,\r\n");
	out_table_release(&t);
}

/* A terminal narrower than the table: dates as dates, then columns dropped by rank. */
static void test_table_narrow(void **state)
{
	static const struct out_column cols4[] = {
		{ "User", "USER", 0, NULL },	   { "Created", "CREATED", 0, NULL },
		{ "Age", "AGE", 0, "d" },	   { "Region", "REGION", 1, NULL },
		{ "Service", "SERVICE", 2, NULL },
	};
	static const struct {
		size_t width;
		const char *want;
	} widths[] = {
		/* no limit: everything, with the unit */
		{ 0, "USER   CREATED               AGE  REGION        SERVICE\n"
		     "alice  2026-11-12T18:50:19Z  95d  eu-central-1  secretsmanager\n" },
		/* 56 columns: the dates alone make it fit (54) */
		{ 56, "USER   CREATED     AGE  REGION        SERVICE\n"
		      "alice  2026-11-12  95d  eu-central-1  secretsmanager\n" },
		/* 40: REGION (rank 1) goes; 30: SERVICE (rank 2) too */
		{ 40, "USER   CREATED     AGE  SERVICE\n"
		      "alice  2026-11-12  95d  secretsmanager\n" },
		{ 30, "USER   CREATED     AGE\n"
		      "alice  2026-11-12  95d\n" },
	};
	struct out_style st = { 0, 0, 0 };
	struct out_table t;
	size_t r, i;

	out_table_init(&t, cols4, ARRAY_SIZE(cols4));
	r = out_table_add_row(&t);
	out_set_str(&t, r, 0, "alice");
	out_set_str(&t, r, 1, "2026-11-12T18:50:19Z");
	out_set_int(&t, r, 2, 95);
	out_set_str(&t, r, 3, "eu-central-1");
	out_set_str(&t, r, 4, "secretsmanager");
	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		st.width = widths[i].width;
		prints(&t, OUTPUT_TABLE, &st, widths[i].want);
	}
	/* csv and json never change */
	prints(&t, OUTPUT_CSV, &st,
	       "User,Created,Age,Region,Service\r\n"
	       "alice,2026-11-12T18:50:19Z,95,eu-central-1,secretsmanager\r\n");
	out_table_release(&t);
}

static void test_format_skew(void **state)
{
	static const struct {
		long s;
		const char *want;
	} c[] = {
		{ 0, "0m 0s" },
		{ 61, "1m 1s" },
		{ -330, "5m 30s" },
		{ 3569, "59m 29s" },
		{ 3571, "1h 0m" },
		{ 3599, "1h 0m" },
		{ -3601, "1h 0m" },
		{ 10800, "3h 0m" },
		{ 10829, "3h 0m" },
		{ 10830, "3h 1m" },
		{ 86399, "1d 0h" },
		{ -691200, "8d 0h" },
		{ 8 * 86400 + 5 * 3600 + 1800, "8d 5h" },
	};
	size_t i;
	(void)state;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		struct strbuf sb = STRBUF_INIT;
		cli_format_skew(&sb, c[i].s);
		if (strcmp(sb.buf, c[i].want))
			fail_msg("%ld: '%s', want '%s'", c[i].s, sb.buf, c[i].want);
		strbuf_release(&sb);
	}
}

/* below and extend: a line under some table rows, a member in their JSON objects */
static void below_odd(void *ctx, size_t i, struct strbuf *line)
{
	(void)ctx;
	if (i % 2)
		strbuf_addf(line, "  under %zu", i);
}

static void extend_odd(void *ctx, size_t i, json_t *row)
{
	(void)ctx;
	if (i % 2)
		json_object_set_new(row, "Extra", json_integer((json_int_t)i));
}

/* rows 0..2 with below_odd and extend_odd, printed in fmt (caller frees) */
static char *print_hooked(enum output_format fmt)
{
	struct out_style st = { 0 };
	struct out_rows rows;
	struct source src;
	FILE *fp;

	source_init(&rows, &src, 3);
	rows.below = below_odd;
	rows.extend = extend_odd;
	fp = capture_start();
	assert_int_equal(out_rows_print(&rows, fmt, &st, fp), 0);
	return capture_end(fp);
}

static void test_rows_below_and_extend(void **state)
{
	json_t *doc;
	char *got;

	(void)state;
	got = print_hooked(OUTPUT_TABLE);
	assert_non_null(strstr(got, "\n  under 1\n"));
	assert_null(strstr(got, "under 0"));
	assert_null(strstr(got, "under 2"));
	free(got);
	got = print_hooked(OUTPUT_JSON);
	doc = json_loads(got, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_array_size(doc), 3);
	assert_null(json_object_get(json_array_get(doc, 0), "Extra"));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(doc, 1), "Extra")), 1);
	json_decref(doc);
	free(got);
	got = print_hooked(OUTPUT_CSV); /* csv has neither */
	assert_null(strstr(got, "under"));
	assert_null(strstr(got, "Extra"));
	free(got);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_rows_print_like_table), cmocka_unit_test(test_json_array_is_janssons),
	cmocka_unit_test(test_json_object_streamed),  cmocka_unit_test(test_json_object_empty),
	cmocka_unit_test(test_rows_below_and_extend), cmocka_unit_test(test_table_text),
	cmocka_unit_test(test_table_narrow),	      cmocka_unit_test(test_format_skew),
};

UNIT_TEST_MAIN(tests)
