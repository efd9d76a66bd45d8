#include "core/compat.h"
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

/*
 * The users' strings, copied into large blocks: a 5,000-user report has
 * some 20,000 of them, most shorter than malloc's overhead for each.
 */
#define STRINGS_BLOCK (64 * 1024)

struct cr_strings {
	struct cr_strings *next;
	size_t used, size;
	char data[];
};

static char *strings_add(struct cr_strings **head, const char *s)
{
	size_t len = strlen(s) + 1;
	struct cr_strings *b = *head;

	if (!b || b->size - b->used < len) {
		size_t size = len > STRINGS_BLOCK ? len : STRINGS_BLOCK;
		b = xmalloc(sizeof(*b) + size);
		b->next = *head;
		b->used = 0;
		b->size = size;
		*head = b;
	}
	memcpy(b->data + b->used, s, len);
	b->used += len;
	return b->data + b->used - len;
}

/* Region and service names: a few dozen values in any account, stored once. */
#define MAX_INTERNED 64

struct cr_parser {
	struct csv_row *row;
	size_t col[NR_COLUMNS]; /* index in the row, or NO_COLUMN */
	struct strbuf *err;
	struct cred_report *out;
	char *interned[MAX_INTERNED];
	size_t ninterned;
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

/* A copy of the field's string, kept with the report. */
static char *copy_field(struct cr_parser *ps, enum cr_column c)
{
	return strings_add(&ps->out->strings, ps->row->fields[ps->col[c]]);
}

/* As copy_field, but NULL for N/A, and each value stored once. */
static char *copy_name(struct cr_parser *ps, enum cr_column c)
{
	const char *s = ps->row->fields[ps->col[c]];
	char *copy;
	size_t i;

	if (!strcmp(s, "N/A"))
		return NULL;
	for (i = 0; i < ps->ninterned; i++)
		if (!strcmp(ps->interned[i], s))
			return ps->interned[i];
	copy = strings_add(&ps->out->strings, s);
	if (ps->ninterned < MAX_INTERNED)
		ps->interned[ps->ninterned++] = copy;
	return copy;
}

static int parse_key(struct cr_parser *ps, int k, struct cr_key *key)
{
	int off = k * KEY_COLUMNS;

	if (get_bool(ps, COL_KEY1_ACTIVE + off, &key->active) ||
	    get_date(ps, COL_KEY1_LAST_ROTATED + off, &key->last_rotated) ||
	    get_date(ps, COL_KEY1_LAST_USED_DATE + off, &key->last_used))
		return -1;
	key->last_used_region = copy_name(ps, COL_KEY1_LAST_USED_REGION + off);
	key->last_used_service = copy_name(ps, COL_KEY1_LAST_USED_SERVICE + off);
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
		/* strings already copied are freed with the report */
		if (parse_key(ps, k, &u->keys[k])) {
			memset(u, 0, sizeof(*u));
			return -1;
		}
	}
	u->user = copy_field(ps, COL_USER);
	u->arn = copy_field(ps, COL_ARN);
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

/* At least the number of records: one more than the line breaks. */
static size_t max_records(const char *csv, size_t len)
{
	size_t i, n = 1;

	for (i = 0; i < len; i++)
		n += csv[i] == '\n' || (csv[i] == '\r' && (i + 1 == len || csv[i + 1] != '\n'));
	return n;
}

static void csv_failed(struct strbuf *err, const struct strbuf *csv_err)
{
	if (err)
		strbuf_addf(err, "credential report: %s", csv_err->buf);
}

/*
 * One CSV record at a time: only the users' own strings are kept, never
 * the whole table of fields (a 5,000-user report has 100,000 of them).
 */
int cred_report_parse(const char *csv, size_t len, struct cred_report *out, struct strbuf *err)
{
	struct csv_reader r;
	struct csv_row header, row;
	struct cr_parser ps;
	struct strbuf csv_err = STRBUF_INIT;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(&row, 0, sizeof(row));
	ps.err = err;
	ps.row = &row;
	ps.out = out;
	ps.ninterned = 0;
	/* a UTF-8 byte order mark is not part of the first column's name */
	if (len >= 3 && !memcmp(csv, "\xEF\xBB\xBF", 3)) {
		csv += 3;
		len -= 3;
	}
	csv_reader_init(&r, csv, len, &csv_err);
	ret = csv_reader_next(&r, &header);
	if (ret < 0) {
		csv_failed(err, &csv_err);
		goto fail;
	}
	if (!ret) {
		if (err)
			strbuf_addstr(err, "credential report is empty");
		goto fail;
	}
	if (find_columns(&ps, &header))
		goto fail;

	out->users = xcalloc(max_records(csv, len), sizeof(*out->users));
	while ((ret = csv_reader_next(&r, &row)) > 0) {
		if (is_blank_row(&row)) {
			csv_row_release(&row);
			continue;
		}
		if (row.nfields != header.nfields) {
			if (err)
				strbuf_addf(err,
					    "credential report line %zu: "
					    "expected %zu fields, found %zu",
					    row.line, header.nfields, row.nfields);
			goto fail;
		}
		if (parse_user(&ps, &out->users[out->nusers]))
			goto fail;
		out->nusers++;
		csv_row_release(&row);
	}
	if (ret < 0) {
		csv_failed(err, &csv_err);
		goto fail;
	}
	if (out->nusers)
		out->users = xrealloc(out->users, out->nusers * sizeof(*out->users));
	csv_row_release(&header);
	csv_reader_release(&r);
	strbuf_release(&csv_err);
	return 0;

fail:
	csv_row_release(&row);
	csv_row_release(&header);
	csv_reader_release(&r);
	strbuf_release(&csv_err);
	cred_report_release(out);
	return -1;
}

void cred_report_release(struct cred_report *r)
{
	if (!r)
		return;
	while (r->strings) {
		struct cr_strings *next = r->strings->next;
		free(r->strings);
		r->strings = next;
	}
	free(r->users);
	r->users = NULL;
	r->nusers = 0;
}
