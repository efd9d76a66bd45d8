#include "compat.h"
#include "core/credreport.h"
#include "core/csv.h"
#include "core/timeutil.h"

enum cr_column {
	COL_USER,
	COL_ARN,
	COL_USER_CREATION_TIME,
	COL_PASSWORD_ENABLED,
	COL_MFA_ACTIVE,
	COL_KEY1_ACTIVE,
	COL_KEY1_LAST_ROTATED,
	COL_KEY1_LAST_USED_DATE,
	COL_KEY1_LAST_USED_REGION,
	COL_KEY1_LAST_USED_SERVICE,
	COL_KEY2_ACTIVE,
	COL_KEY2_LAST_ROTATED,
	COL_KEY2_LAST_USED_DATE,
	COL_KEY2_LAST_USED_REGION,
	COL_KEY2_LAST_USED_SERVICE,
	NR_COLUMNS
};

/* The key 2 columns follow the key 1 columns in the same order. */
#define KEY_COLUMNS (COL_KEY2_ACTIVE - COL_KEY1_ACTIVE)

static const struct {
	const char *name;
	int optional;
} columns[NR_COLUMNS] = {
	[COL_USER] = { "user", 0 },
	[COL_ARN] = { "arn", 0 },
	[COL_USER_CREATION_TIME] = { "user_creation_time", 0 },
	[COL_PASSWORD_ENABLED] = { "password_enabled", 1 },
	[COL_MFA_ACTIVE] = { "mfa_active", 1 },
	[COL_KEY1_ACTIVE] = { "access_key_1_active", 0 },
	[COL_KEY1_LAST_ROTATED] = { "access_key_1_last_rotated", 0 },
	[COL_KEY1_LAST_USED_DATE] = { "access_key_1_last_used_date", 0 },
	[COL_KEY1_LAST_USED_REGION] = { "access_key_1_last_used_region", 0 },
	[COL_KEY1_LAST_USED_SERVICE] = { "access_key_1_last_used_service", 0 },
	[COL_KEY2_ACTIVE] = { "access_key_2_active", 0 },
	[COL_KEY2_LAST_ROTATED] = { "access_key_2_last_rotated", 0 },
	[COL_KEY2_LAST_USED_DATE] = { "access_key_2_last_used_date", 0 },
	[COL_KEY2_LAST_USED_REGION] = { "access_key_2_last_used_region", 0 },
	[COL_KEY2_LAST_USED_SERVICE] = { "access_key_2_last_used_service", 0 },
};

#define ROOT_USER "<root_account>"
#define NO_COLUMN SIZE_MAX

struct cr_parser {
	struct csv_row *row;
	size_t col[NR_COLUMNS]; /* index in the row, or NO_COLUMN */
	struct strbuf *err;
};

/*
 * Placeholders AWS writes instead of a value: N/A (no such thing),
 * no_information (never used, or not since tracking began) and
 * not_supported (the root row's password fields).
 */
static int is_placeholder(const char *s)
{
	return !strcmp(s, "N/A") || !strcmp(s, "no_information") || !strcmp(s, "not_supported");
}

static int invalid_value(struct cr_parser *ps, enum cr_column c)
{
	const char *s = ps->row->fields[ps->col[c]];
	size_t i;

	if (!ps->err)
		return -1;
	strbuf_addf(ps->err, "credential report line %zu, column '%s': invalid value '",
		    ps->row->line, columns[c].name);
	for (i = 0; s[i]; i++) {
		if (i == 64) {
			strbuf_addstr(ps->err, "...");
			break;
		}
		strbuf_addch(ps->err, iscntrl((unsigned char)s[i]) ? '?' : s[i]);
	}
	strbuf_addch(ps->err, '\'');
	return -1;
}

static int get_bool(struct cr_parser *ps, enum cr_column c, enum cr_bool *out)
{
	const char *s;

	if (ps->col[c] == NO_COLUMN) {
		*out = CR_NA;
		return 0;
	}
	s = ps->row->fields[ps->col[c]];
	/* the AWS docs say TRUE/FALSE; real reports have true/false */
	if (!strcasecmp(s, "true"))
		*out = CR_TRUE;
	else if (!strcasecmp(s, "false"))
		*out = CR_FALSE;
	else if (is_placeholder(s))
		*out = CR_NA;
	else
		return invalid_value(ps, c);
	return 0;
}

static int get_date(struct cr_parser *ps, enum cr_column c, time_t *out)
{
	const char *s = ps->row->fields[ps->col[c]];

	if (is_placeholder(s)) {
		*out = 0;
		return 0;
	}
	if (iso8601_parse(s, out))
		return invalid_value(ps, c);
	return 0;
}

/* Takes the field's string from the row (the row is ours to change). */
static char *take_field(struct cr_parser *ps, enum cr_column c)
{
	char **field = &ps->row->fields[ps->col[c]];
	char *s = *field;

	*field = NULL;
	return s;
}

/* As take_field, but NULL for N/A. */
static char *take_text(struct cr_parser *ps, enum cr_column c)
{
	if (!strcmp(ps->row->fields[ps->col[c]], "N/A"))
		return NULL;
	return take_field(ps, c);
}

static void cr_user_release(struct cr_user *u)
{
	int k;

	free(u->user);
	free(u->arn);
	for (k = 0; k < 2; k++) {
		free(u->keys[k].last_used_region);
		free(u->keys[k].last_used_service);
	}
	memset(u, 0, sizeof(*u));
}

static int parse_key(struct cr_parser *ps, int k, struct cr_key *key)
{
	int off = k * KEY_COLUMNS;

	if (get_bool(ps, COL_KEY1_ACTIVE + off, &key->active) ||
	    get_date(ps, COL_KEY1_LAST_ROTATED + off, &key->last_rotated) ||
	    get_date(ps, COL_KEY1_LAST_USED_DATE + off, &key->last_used))
		return -1;
	key->last_used_region = take_text(ps, COL_KEY1_LAST_USED_REGION + off);
	key->last_used_service = take_text(ps, COL_KEY1_LAST_USED_SERVICE + off);
	return 0;
}

static int parse_user(struct cr_parser *ps, struct cr_user *u)
{
	int k;

	memset(u, 0, sizeof(*u));
	if (!*ps->row->fields[ps->col[COL_USER]])
		return invalid_value(ps, COL_USER);
	if (get_date(ps, COL_USER_CREATION_TIME, &u->user_creation_time) ||
	    get_bool(ps, COL_PASSWORD_ENABLED, &u->password_enabled) ||
	    get_bool(ps, COL_MFA_ACTIVE, &u->mfa_active))
		return -1;
	for (k = 0; k < 2; k++) {
		if (parse_key(ps, k, &u->keys[k])) {
			cr_user_release(u);
			return -1;
		}
	}
	u->user = take_field(ps, COL_USER);
	u->arn = take_field(ps, COL_ARN);
	u->is_root = !strcmp(u->user, ROOT_USER);
	return 0;
}

static int find_columns(struct cr_parser *ps, const struct csv_row *header)
{
	size_t i;
	int c;

	for (c = 0; c < NR_COLUMNS; c++)
		ps->col[c] = NO_COLUMN;
	for (i = 0; i < header->nfields; i++) {
		for (c = 0; c < NR_COLUMNS; c++) {
			if (strcmp(header->fields[i], columns[c].name))
				continue;
			if (ps->col[c] != NO_COLUMN)
				goto duplicate;
			ps->col[c] = i;
		}
	}
	for (c = 0; c < NR_COLUMNS; c++) {
		if (ps->col[c] == NO_COLUMN && !columns[c].optional) {
			if (ps->err)
				strbuf_addf(ps->err, "credential report has no '%s' column",
					    columns[c].name);
			return -1;
		}
	}
	return 0;

duplicate:
	if (ps->err)
		strbuf_addf(ps->err, "credential report has more than one '%s' column",
			    columns[c].name);
	return -1;
}

static int is_blank_row(const struct csv_row *row)
{
	return row->nfields == 1 && !*row->fields[0];
}

int cred_report_parse(const char *csv, size_t len, struct cred_report *out, struct strbuf *err)
{
	struct csv_table t;
	struct cr_parser ps;
	struct strbuf csv_err = STRBUF_INIT;
	size_t i;

	memset(out, 0, sizeof(*out));
	ps.err = err;
	/* a UTF-8 byte order mark is not part of the first column's name */
	if (len >= 3 && !memcmp(csv, "\xEF\xBB\xBF", 3)) {
		csv += 3;
		len -= 3;
	}
	if (csv_parse(csv, len, &t, &csv_err)) {
		if (err)
			strbuf_addf(err, "credential report: %s", csv_err.buf);
		strbuf_release(&csv_err);
		return -1;
	}
	strbuf_release(&csv_err);
	if (!t.nrows) {
		if (err)
			strbuf_addstr(err, "credential report is empty");
		goto fail;
	}
	if (find_columns(&ps, &t.rows[0]))
		goto fail;

	out->users = xcalloc(t.nrows - 1, sizeof(*out->users));
	for (i = 1; i < t.nrows; i++) {
		ps.row = &t.rows[i];
		if (is_blank_row(ps.row))
			continue;
		if (ps.row->nfields != t.rows[0].nfields) {
			if (err)
				strbuf_addf(err, "credential report line %zu: "
						 "expected %zu fields, found %zu",
					    ps.row->line, t.rows[0].nfields, ps.row->nfields);
			goto fail;
		}
		if (parse_user(&ps, &out->users[out->nusers]))
			goto fail;
		out->nusers++;
	}
	csv_table_release(&t);
	return 0;

fail:
	csv_table_release(&t);
	cred_report_release(out);
	return -1;
}

void cred_report_release(struct cred_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nusers; i++)
		cr_user_release(&r->users[i]);
	free(r->users);
	r->users = NULL;
	r->nusers = 0;
}
