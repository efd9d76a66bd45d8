#include "core/compat.h"
#include "core/credreport.h"
#include "core/csv.h"
#include "core/strbuf.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include "testdata.h"

/*
 * Reports are built from the real header line (the 22 columns AWS
 * documents), read at run time from tests/data/.
 */
#define HEADER_FILE "/iam-responses/credential-report-header.csv"
#define MAX_COLS 32

struct columns {
	const char *name[MAX_COLS];
	size_t nr;
};

static struct strbuf header_text = STRBUF_INIT;
static struct csv_table header_table;
static struct columns real;

static int load_header(void **state)
{
	struct strbuf path = STRBUF_INIT;
	size_t i;

	strbuf_addf(&path, "%s%s", test_data_dir(), HEADER_FILE);
	if (test_read_file(path.buf, &header_text)) {
		fprintf(stderr, "cannot read '%s': %s\n", path.buf, strerror(errno));
		strbuf_release(&path);
		return -1;
	}
	strbuf_release(&path);
	if (csv_parse(header_text.buf, header_text.len, &header_table, NULL) ||
	    header_table.nrows != 1 || header_table.rows[0].nfields > MAX_COLS)
		return -1;
	for (i = 0; i < header_table.rows[0].nfields; i++)
		real.name[i] = header_table.rows[0].fields[i];
	real.nr = i;
	return 0;
}

static int free_header(void **state)
{
	csv_table_release(&header_table);
	strbuf_release(&header_text);
	return 0;
}

/* A row: name/value pairs, NULL-terminated; unlisted columns get "N/A". */
typedef const char *const row_spec[2 * MAX_COLS + 1];

static const char *spec_value(const char *const *spec, const char *col)
{
	size_t i;

	for (i = 0; spec[i]; i += 2)
		if (!strcmp(spec[i], col))
			return spec[i + 1];
	return "N/A";
}

static void add_row(struct strbuf *csv, const struct columns *cols, const char *const *spec,
		    const char *eol)
{
	size_t c;

	for (c = 0; c < cols->nr; c++)
		csv_add_field(csv, spec ? spec_value(spec, cols->name[c]) : cols->name[c], c == 0);
	strbuf_addstr(csv, eol);
}

#define ACCOUNT "arn:aws:iam::123456789012:"

/* The report's users, in order; what each must parse into is in check_users(). */
static row_spec users[] = {
	{ "user",
	  "<root_account>",
	  "arn",
	  ACCOUNT "root",
	  "user_creation_time",
	  "2015-06-24T12:45:00+00:00",
	  "password_enabled",
	  "not_supported",
	  "password_last_used",
	  "2022-08-31T11:10:33+00:00",
	  "password_last_changed",
	  "not_supported",
	  "password_next_rotation",
	  "not_supported",
	  "mfa_active",
	  "true",
	  "access_key_1_active",
	  "false",
	  "access_key_2_active",
	  "false",
	  "cert_1_active",
	  "false",
	  "cert_2_active",
	  "false",
	  NULL },
	/* no keys at all, never logged in */
	{ "user",
	  "alice",
	  "arn",
	  ACCOUNT "user/alice",
	  "user_creation_time",
	  "2024-01-31T12:00:00+00:00",
	  "password_enabled",
	  "true",
	  "password_last_used",
	  "no_information",
	  "password_last_changed",
	  "2024-01-31T12:00:00+00:00",
	  "mfa_active",
	  "false",
	  "access_key_1_active",
	  "false",
	  "access_key_2_active",
	  "false",
	  "cert_1_active",
	  "false",
	  "cert_2_active",
	  "false",
	  NULL },
	/* one key, never used */
	{ "user",
	  "bob",
	  "arn",
	  ACCOUNT "user/engineering/bob",
	  "user_creation_time",
	  "2023-11-15T09:30:00+00:00",
	  "password_enabled",
	  "false",
	  "mfa_active",
	  "false",
	  "access_key_1_active",
	  "true",
	  "access_key_1_last_rotated",
	  "2024-01-31T12:00:00+00:00",
	  "access_key_2_active",
	  "false",
	  "cert_1_active",
	  "false",
	  "cert_2_active",
	  "false",
	  NULL },
	/* two keys, both used; a name with a comma (and a quote) is quoted */
	{ "user",
	  "carol, the \"admin\"",
	  "arn",
	  ACCOUNT "user/carol",
	  "user_creation_time",
	  "2019-03-04T05:06:07+00:00",
	  "password_enabled",
	  "TRUE",
	  "password_last_used",
	  "2024-06-01T10:00:00+00:00",
	  "mfa_active",
	  "TRUE",
	  "access_key_1_active",
	  "TRUE",
	  "access_key_1_last_rotated",
	  "2019-03-04T05:06:07+00:00",
	  "access_key_1_last_used_date",
	  "2024-06-01T10:00:00+00:00",
	  "access_key_1_last_used_region",
	  "us-east-1",
	  "access_key_1_last_used_service",
	  "iam",
	  "access_key_2_active",
	  "FALSE",
	  "access_key_2_last_rotated",
	  "2023-11-15T09:30:00+00:00",
	  "access_key_2_last_used_date",
	  "2024-05-01T08:00:00+00:00",
	  "access_key_2_last_used_region",
	  "eu-west-1",
	  "access_key_2_last_used_service",
	  "s3",
	  "cert_1_active",
	  "false",
	  "cert_2_active",
	  "false",
	  NULL },
	/* only key 2, used with a region of N/A (a global service) */
	{ "user",
	  "dave",
	  "arn",
	  ACCOUNT "user/dave",
	  "user_creation_time",
	  "2024-05-01T08:00:00Z",
	  "password_enabled",
	  "false",
	  "mfa_active",
	  "false",
	  "access_key_1_active",
	  "false",
	  "access_key_2_active",
	  "true",
	  "access_key_2_last_rotated",
	  "2024-05-01T08:00:00+00:00",
	  "access_key_2_last_used_date",
	  "2024-06-01T10:00:00+00:00",
	  "access_key_2_last_used_service",
	  "sts",
	  "cert_1_active",
	  "false",
	  "cert_2_active",
	  "false",
	  NULL },
};

static void check_key(const struct cr_key *k, enum cr_bool active, long long rotated,
		      long long used, const char *region, const char *service)
{
	assert_int_equal(k->active, active);
	assert_int_equal((long long)k->last_rotated, rotated);
	assert_int_equal((long long)k->last_used, used);
	if (region)
		assert_string_equal(k->last_used_region, region);
	else
		assert_null(k->last_used_region);
	if (service)
		assert_string_equal(k->last_used_service, service);
	else
		assert_null(k->last_used_service);
}

static void check_user(const struct cr_user *u, const char *user, const char *arn,
		       long long created, int is_root, enum cr_bool password, enum cr_bool mfa)
{
	assert_string_equal(u->user, user);
	assert_string_equal(u->arn, arn);
	assert_int_equal(u->user_creation_time, created);
	assert_int_equal(u->is_root, is_root);
	assert_int_equal(u->password_enabled, password);
	assert_int_equal(u->mfa_active, mfa);
}

static void check_users(const struct cred_report *r, int have_optional)
{
	const struct cr_user *u;
	enum cr_bool t = have_optional ? CR_TRUE : CR_NA, f = have_optional ? CR_FALSE : CR_NA;

	assert_int_equal(r->nusers, ARRAY_SIZE(users));

	u = &r->users[0];
	/* password_enabled: not_supported */
	check_user(u, "<root_account>", ACCOUNT "root", 1435149900, 1, CR_NA, t);
	check_key(&u->keys[0], CR_FALSE, 0, 0, NULL, NULL);
	check_key(&u->keys[1], CR_FALSE, 0, 0, NULL, NULL);

	u = &r->users[1];
	check_user(u, "alice", ACCOUNT "user/alice", 1706702400, 0, t, f);
	check_key(&u->keys[0], CR_FALSE, 0, 0, NULL, NULL);
	check_key(&u->keys[1], CR_FALSE, 0, 0, NULL, NULL);

	u = &r->users[2];
	check_user(u, "bob", ACCOUNT "user/engineering/bob", 1700040600, 0, f, f);
	check_key(&u->keys[0], CR_TRUE, 1706702400, 0, NULL, NULL);
	check_key(&u->keys[1], CR_FALSE, 0, 0, NULL, NULL);

	u = &r->users[3];
	check_user(u, "carol, the \"admin\"", ACCOUNT "user/carol", 1551675967, 0, t, t);
	check_key(&u->keys[0], CR_TRUE, 1551675967, 1717236000, "us-east-1", "iam");
	check_key(&u->keys[1], CR_FALSE, 1700040600, 1714550400, "eu-west-1", "s3");

	u = &r->users[4];
	assert_string_equal(u->user, "dave");
	assert_int_equal(u->user_creation_time, 1714550400);
	assert_int_equal(u->is_root, 0);
	check_key(&u->keys[0], CR_FALSE, 0, 0, NULL, NULL);
	check_key(&u->keys[1], CR_TRUE, 1714550400, 1717236000, NULL, "sts");
}

static void build_report(struct strbuf *csv, const struct columns *cols, const char *eol,
			 int final_eol)
{
	size_t i;

	add_row(csv, cols, NULL, eol);
	for (i = 0; i < ARRAY_SIZE(users); i++)
		add_row(csv, cols, users[i], i + 1 < ARRAY_SIZE(users) || final_eol ? eol : "");
}

/*
 * A test's report: its columns (the real header's to start with), the CSV text it
 * builds, what parsing gave (r, err) and the error it expects (want). report_setup
 * makes it, report_teardown releases it.
 */
struct report_test {
	struct columns cols;
	struct strbuf csv, err, want;
	struct cred_report r;
};

static int report_setup(void **state)
{
	struct report_test *t = xcalloc(1, sizeof(*t));

	t->cols = real;
	strbuf_init(&t->csv, 0);
	strbuf_init(&t->err, 0);
	strbuf_init(&t->want, 0);
	*state = t;
	return 0;
}

static int report_teardown(void **state)
{
	struct report_test *t = *state;

	cred_report_release(&t->r);
	strbuf_release(&t->csv);
	strbuf_release(&t->err);
	strbuf_release(&t->want);
	free(t);
	return 0;
}

#define REPORT_TEST(fn) cmocka_unit_test_setup_teardown(fn, report_setup, report_teardown)

/* Empties what the last case built and parsed, for the next one (the columns stay). */
static void report_reset(struct report_test *t)
{
	cred_report_release(&t->r);
	strbuf_reset(&t->csv);
	strbuf_reset(&t->err);
	strbuf_reset(&t->want);
}

/* t->csv parses, with nothing appended to t->err (emptied first). */
static void parse_ok(struct report_test *t)
{
	cred_report_release(&t->r);
	strbuf_reset(&t->err);
	if (cred_report_parse(t->csv.buf, t->csv.len, &t->r, &t->err))
		fail_msg("%s", t->err.buf);
	assert_int_equal(t->err.len, 0);
}

/* The report of build_report(t->cols, EOL, FINAL_EOL) parses into check_users' users. */
static void expect_users(struct report_test *t, const char *eol, int final_eol, int have_optional)
{
	build_report(&t->csv, &t->cols, eol, final_eol);
	parse_ok(t);
	check_users(&t->r, have_optional);
}

/* t->csv is refused with the error WANT (a printf format), and t->r left empty. */
__attribute__((format(printf, 2, 3))) static void expect_refused(struct report_test *t,
								 const char *want, ...)
{
	va_list ap;

	va_start(ap, want);
	strbuf_vaddf(&t->want, want, ap);
	va_end(ap);
	assert_int_equal(cred_report_parse(t->csv.buf, t->csv.len, &t->r, &t->err), -1);
	assert_string_equal(t->err.buf, t->want.buf);
	assert_null(t->r.users);
	assert_int_equal(t->r.nusers, 0);
}

static void test_real_header(void **state)
{
	struct report_test *t = *state;

	assert_int_equal(real.nr, 22);
	/* the header exactly as in the file, then the rows */
	strbuf_addbuf(&t->csv, &header_text);
	if (t->csv.len && t->csv.buf[t->csv.len - 1] != '\n')
		strbuf_addch(&t->csv, '\n');
	for (size_t i = 0; i < ARRAY_SIZE(users); i++)
		add_row(&t->csv, &real, users[i], "\n");
	parse_ok(t);
	check_users(&t->r, 1);
	cred_report_release(&t->r);
	assert_null(t->r.users);
	assert_int_equal(t->r.nusers, 0);
	cred_report_release(&t->r); /* twice is fine */
	cred_report_release(NULL);
}

static void test_line_endings(void **state)
{
	static const char *const eols[] = { "\n", "\r\n" };
	struct report_test *t = *state;
	size_t e;
	int final;

	for (e = 0; e < ARRAY_SIZE(eols); e++) {
		for (final = 0; final < 2; final++) {
			report_reset(t);
			expect_users(t, eols[e], final, 1);
		}
	}
}

static void test_reordered_and_extra_columns(void **state)
{
	struct report_test *t = *state;
	size_t i;

	/* reversed, with two columns AWS might add one day */
	t->cols.nr = 0;
	t->cols.name[t->cols.nr++] = "future_column";
	for (i = real.nr; i-- > 0;) {
		t->cols.name[t->cols.nr++] = real.name[i];
		if (i == 10)
			t->cols.name[t->cols.nr++] = "access_key_1_last_used_ip";
	}
	expect_users(t, "\n", 1, 1);
}

static void test_extra_column_values(void **state)
{
	struct report_test *t = *state;
	static row_spec odd = { "user",
				"erin",
				"arn",
				ACCOUNT "user/erin",
				"user_creation_time",
				"2024-01-31T12:00:00.123456Z",
				"password_enabled",
				"false",
				"mfa_active",
				"false",
				"access_key_1_active",
				"false",
				"access_key_2_active",
				"false",
				"notes",
				"a, \"b\"\nand a new line",
				NULL };

	t->cols.name[t->cols.nr++] = "notes";
	add_row(&t->csv, &t->cols, NULL, "\n");
	add_row(&t->csv, &t->cols, odd, "\n");
	add_row(&t->csv, &t->cols, odd, "\n");
	parse_ok(t);
	assert_int_equal(t->r.nusers, 2);
	assert_string_equal(t->r.users[1].user, "erin");
	assert_int_equal(t->r.users[1].user_creation_time, 1706702400);
}

static void test_optional_columns_absent(void **state)
{
	struct report_test *t = *state;
	size_t i;

	t->cols.nr = 0;
	for (i = 0; i < real.nr; i++)
		if (strcmp(real.name[i], "password_enabled") && strcmp(real.name[i], "mfa_active"))
			t->cols.name[t->cols.nr++] = real.name[i];
	expect_users(t, "\n", 1, 0);
}

/* The columns a report must have. */
static const char *const required[] = {
	"user",
	"arn",
	"user_creation_time",
	"access_key_1_active",
	"access_key_1_last_rotated",
	"access_key_1_last_used_date",
	"access_key_1_last_used_region",
	"access_key_1_last_used_service",
	"access_key_2_active",
	"access_key_2_last_rotated",
	"access_key_2_last_used_date",
	"access_key_2_last_used_region",
	"access_key_2_last_used_service",
};

static void test_minimal_columns(void **state)
{
	struct report_test *t = *state;
	size_t i;

	/* exactly the required columns, nothing else, last to first */
	t->cols.nr = 0;
	for (i = ARRAY_SIZE(required); i-- > 0;)
		t->cols.name[t->cols.nr++] = required[i];
	expect_users(t, "\r\n", 0, 0);
}

static void test_missing_required_column(void **state)
{
	struct report_test *t = *state;
	size_t i, c;

	for (i = 0; i < ARRAY_SIZE(required); i++) {
		report_reset(t);
		t->cols.nr = 0;
		for (c = 0; c < real.nr; c++)
			if (strcmp(real.name[c], required[i]))
				t->cols.name[t->cols.nr++] = real.name[c];
		assert_int_equal(t->cols.nr, real.nr - 1);
		build_report(&t->csv, &t->cols, "\n", 1);
		expect_refused(t, "credential report has no '%s' column", required[i]);
		/* a header only is just as wrong */
		strbuf_reset(&t->csv);
		add_row(&t->csv, &t->cols, NULL, "\n");
		assert_int_equal(cred_report_parse(t->csv.buf, t->csv.len, &t->r, NULL), -1);
	}
}
/*
 * A bad value in a column of the third line (bob, the second user): the
 * message is "credential report line 3, column '<col>': invalid value
 * '<shown>'", shown being the value as the message prints it.
 */
static const struct {
	const char *col, *value, *shown;
} bad_values[] = {
	{ "mfa_active", "yes", "yes" },
	{ "mfa_active", "", "" },
	{ "mfa_active", "1", "1" },
	{ "mfa_active", " true", " true" },
	{ "mfa_active", "truee", "truee" },
	{ "mfa_active", "N/A,", "N/A," },
	{ "password_enabled", "n/a", "n/a" },
	{ "password_enabled", "NOT_SUPPORTED", "NOT_SUPPORTED" },
	{ "access_key_1_active", "Active", "Active" },
	{ "access_key_2_active", "2024-01-31T12:00:00+00:00", "2024-01-31T12:00:00+00:00" },
	{ "user_creation_time", "2024-13-01T00:00:00+00:00", "2024-13-01T00:00:00+00:00" },
	{ "user_creation_time", "", "" },
	{ "access_key_1_last_rotated", "yesterday", "yesterday" },
	{ "access_key_1_last_rotated", "2023-02-29T00:00:00+00:00", "2023-02-29T00:00:00+00:00" },
	{ "access_key_1_last_used_date", "2024-01-31", "2024-01-31" },
	{ "access_key_2_last_rotated", "TRUE", "TRUE" },
	{ "access_key_2_last_used_date", "N/A ", "N/A " },
	{ "access_key_2_last_used_date", "2024-01-31T12:00:00+00:00\nx",
	  "2024-01-31T12:00:00+00:00?x" },
	{ "user", "", "" },
	{ "access_key_1_last_used_date",
	  "0123456789012345678901234567890123456789012345678901234567890123456789",
	  "0123456789012345678901234567890123456789012345678901234567890123..." },
};

static void test_invalid_values(void **state)
{
	struct report_test *t = *state;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_values); i++) {
		const char *spec[2 * MAX_COLS + 1];
		size_t n = 0, j;

		/* bob with one value replaced */
		spec[n++] = bad_values[i].col;
		spec[n++] = bad_values[i].value;
		for (j = 0; users[2][j]; j++)
			spec[n++] = users[2][j];
		spec[n] = NULL;
		report_reset(t);
		add_row(&t->csv, &real, NULL, "\n");
		add_row(&t->csv, &real, users[0], "\n");
		add_row(&t->csv, &real, spec, "\n");
		add_row(&t->csv, &real, users[1], "\n");
		expect_refused(t, "credential report line 3, column '%s': invalid value '%s'",
			       bad_values[i].col, bad_values[i].shown);
	}
}

/* t->csv: the real header, then the one user SPEC. */
static void one_user(struct report_test *t, const char *const *spec)
{
	report_reset(t);
	add_row(&t->csv, &real, NULL, "\n");
	add_row(&t->csv, &real, spec, "\n");
	parse_ok(t);
}

static void test_placeholders(void **state)
{
	/* N/A, no_information and not_supported mean "none" in any bool or date column */
	static const char *const placeholders[] = { "N/A", "no_information", "not_supported" };
	struct report_test *t = *state;
	size_t p;

	for (p = 0; p < ARRAY_SIZE(placeholders); p++) {
		const char *v = placeholders[p];
		row_spec spec = { "user",
				  "frank",
				  "arn",
				  ACCOUNT "user/frank",
				  "user_creation_time",
				  v,
				  "password_enabled",
				  v,
				  "mfa_active",
				  v,
				  "access_key_1_active",
				  v,
				  "access_key_1_last_rotated",
				  v,
				  "access_key_1_last_used_date",
				  v,
				  "access_key_2_active",
				  v,
				  "access_key_2_last_rotated",
				  v,
				  "access_key_2_last_used_date",
				  v,
				  NULL };

		one_user(t, spec);
		assert_int_equal(t->r.nusers, 1);
		assert_int_equal(t->r.users[0].user_creation_time, 0);
		assert_int_equal(t->r.users[0].password_enabled, CR_NA);
		assert_int_equal(t->r.users[0].mfa_active, CR_NA);
		check_key(&t->r.users[0].keys[0], CR_NA, 0, 0, NULL, NULL);
		check_key(&t->r.users[0].keys[1], CR_NA, 0, 0, NULL, NULL);
	}
}

static void test_booleans_any_case(void **state)
{
	static const struct {
		const char *v;
		enum cr_bool want;
	} vals[] = { { "true", CR_TRUE },   { "TRUE", CR_TRUE },   { "True", CR_TRUE },
		     { "false", CR_FALSE }, { "FALSE", CR_FALSE }, { "False", CR_FALSE } };
	struct report_test *t = *state;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vals); i++) {
		row_spec spec = { "user",
				  "gina",
				  "arn",
				  ACCOUNT "user/gina",
				  "user_creation_time",
				  "2024-01-31T12:00:00+00:00",
				  "password_enabled",
				  vals[i].v,
				  "mfa_active",
				  vals[i].v,
				  "access_key_1_active",
				  vals[i].v,
				  "access_key_2_active",
				  vals[i].v,
				  NULL };

		one_user(t, spec);
		assert_int_equal(t->r.users[0].password_enabled, vals[i].want);
		assert_int_equal(t->r.users[0].mfa_active, vals[i].want);
		assert_int_equal(t->r.users[0].keys[0].active, vals[i].want);
		assert_int_equal(t->r.users[0].keys[1].active, vals[i].want);
	}
}

static void test_wrong_field_count(void **state)
{
	struct report_test *t = *state;
	struct strbuf row = STRBUF_INIT;
	row_spec spec = { "user",
			  "hal",
			  "arn",
			  ACCOUNT "user/hal",
			  "user_creation_time",
			  "2024-01-31T12:00:00+00:00",
			  "access_key_1_active",
			  "false",
			  "access_key_2_active",
			  "false",
			  "notes",
			  "one\ntwo\nthree",
			  NULL };

	/* one field short, on the third line */
	add_row(&row, &real, users[1], "");
	add_row(&t->csv, &real, NULL, "\n");
	add_row(&t->csv, &real, users[0], "\n");
	strbuf_add(&t->csv, row.buf, (size_t)(strrchr(row.buf, ',') - row.buf));
	strbuf_addch(&t->csv, '\n');
	add_row(&t->csv, &real, users[2], "\n");
	expect_refused(t, "credential report line 3: expected 22 fields, found 21");

	/* one too many, on the last line without a final line break */
	report_reset(t);
	add_row(&t->csv, &real, NULL, "\n");
	add_row(&t->csv, &real, users[0], "\n");
	add_row(&t->csv, &real, users[1], "\n");
	add_row(&t->csv, &real, users[2], ",extra");
	expect_refused(t, "credential report line 4: expected 22 fields, found 23");

	/* lines are physical lines: a quoted line break counts */
	report_reset(t);
	t->cols.name[t->cols.nr++] = "notes";
	add_row(&t->csv, &t->cols, NULL, "\n");
	add_row(&t->csv, &t->cols, spec, "\n");
	strbuf_addstr(&t->csv, "just,three,fields\n");
	expect_refused(t, "credential report line 5: expected 23 fields, found 3");
	strbuf_release(&row);
}

static void test_bad_value_line_after_multiline(void **state)
{
	struct report_test *t = *state;
	row_spec a = { "user",
		       "ivy",
		       "arn",
		       ACCOUNT "user/ivy",
		       "user_creation_time",
		       "2024-01-31T12:00:00+00:00",
		       "access_key_1_active",
		       "false",
		       "access_key_2_active",
		       "false",
		       "notes",
		       "x\r\ny",
		       NULL };
	row_spec b = { "user",
		       "jon",
		       "arn",
		       ACCOUNT "user/jon",
		       "user_creation_time",
		       "2024-01-31T12:00:00+00:00",
		       "access_key_1_active",
		       "maybe",
		       "access_key_2_active",
		       "false",
		       NULL };

	t->cols.name[t->cols.nr++] = "notes";
	add_row(&t->csv, &t->cols, NULL, "\r\n");
	add_row(&t->csv, &t->cols, a, "\r\n");
	add_row(&t->csv, &t->cols, b, "\r\n");
	expect_refused(t, "credential report line 4, column 'access_key_1_active': "
			  "invalid value 'maybe'");
}

static void test_empty_and_header_only(void **state)
{
	struct report_test *t = *state;

	expect_refused(t, "credential report is empty");

	add_row(&t->csv, &real, NULL, "\n");
	parse_ok(t);
	assert_int_equal(t->r.nusers, 0);

	/* header without a final line break */
	strbuf_reset(&t->csv);
	add_row(&t->csv, &real, NULL, "");
	parse_ok(t);
	assert_int_equal(t->r.nusers, 0);
}

static void test_csv_errors(void **state)
{
	struct report_test *t = *state;

	add_row(&t->csv, &real, NULL, "\n");
	add_row(&t->csv, &real, users[0], "\n");
	strbuf_addstr(&t->csv, "\"never closed,arn\n");
	expect_refused(t, "credential report: CSV line 3: unterminated quoted field");

	report_reset(t);
	strbuf_addstr(&t->csv, "user,a\"rn\n");
	expect_refused(t, "credential report: CSV line 1: quote inside unquoted field");

	/* read one record at a time: the first error in the text wins */
	report_reset(t);
	add_row(&t->csv, &real, NULL, "\n");
	strbuf_addstr(&t->csv, "short row\n\"never closed,arn\n");
	assert_int_equal(cred_report_parse(t->csv.buf, t->csv.len, &t->r, &t->err), -1);
	assert_true(!strncmp(t->err.buf, "credential report line 2: expected ", 35));
	assert_null(t->r.users);

	/* NULL err is fine */
	assert_int_equal(cred_report_parse("user,a\"rn\n", 10, &t->r, NULL), -1);
	assert_int_equal(cred_report_parse("", 0, &t->r, NULL), -1);
	assert_int_equal(cred_report_parse("user\n", 5, &t->r, NULL), -1);
}

static void test_duplicate_column(void **state)
{
	struct report_test *t = *state;

	t->cols.name[t->cols.nr++] = "mfa_active";
	build_report(&t->csv, &t->cols, "\n", 1);
	expect_refused(t, "credential report has more than one 'mfa_active' column");
}

static void test_blank_lines_and_bom(void **state)
{
	struct report_test *t = *state;
	size_t i;

	strbuf_addstr(&t->csv, "\xEF\xBB\xBF");
	add_row(&t->csv, &real, NULL, "\n");
	for (i = 0; i < ARRAY_SIZE(users); i++) {
		add_row(&t->csv, &real, users[i], "\n");
		strbuf_addstr(&t->csv, i % 2 ? "\n" : "\r\n");
	}
	parse_ok(t);
	check_users(&t->r, 1);
}

static void test_appends_to_err(void **state)
{
	struct report_test *t = *state;

	strbuf_addstr(&t->err, "audit: ");
	assert_int_equal(cred_report_parse("", 0, &t->r, &t->err), -1);
	assert_string_equal(t->err.buf, "audit: credential report is empty");
}

static const struct CMUnitTest tests[] = {
	REPORT_TEST(test_real_header),
	REPORT_TEST(test_line_endings),
	REPORT_TEST(test_reordered_and_extra_columns),
	REPORT_TEST(test_extra_column_values),
	REPORT_TEST(test_optional_columns_absent),
	REPORT_TEST(test_minimal_columns),
	REPORT_TEST(test_missing_required_column),
	REPORT_TEST(test_invalid_values),
	REPORT_TEST(test_placeholders),
	REPORT_TEST(test_booleans_any_case),
	REPORT_TEST(test_wrong_field_count),
	REPORT_TEST(test_bad_value_line_after_multiline),
	REPORT_TEST(test_empty_and_header_only),
	REPORT_TEST(test_csv_errors),
	REPORT_TEST(test_duplicate_column),
	REPORT_TEST(test_blank_lines_and_bom),
	REPORT_TEST(test_appends_to_err),
};

UNIT_TEST_MAIN_GROUP(tests, load_header, free_header)
