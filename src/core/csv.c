#include "core/compat.h"
#include "core/csv.h"

/*
 * One pass over the text, byte by byte. Unquoted fields are copied straight
 * from the input; quoted ones are unescaped into a reused buffer. Every
 * record terminator (CRLF, LF or a lone CR) outside quotes ends a record;
 * line breaks inside quotes count towards the physical line number too.
 */
static int csv_error(struct csv_reader *ps, size_t line, const char *what)
{
	if (ps->err)
		strbuf_addf(ps->err, "CSV line %zu: %s", line, what);
	return -1;
}

static int is_eol(char c)
{
	return c == '\n' || c == '\r';
}

/* Consumes one line break (CRLF, LF or CR) at ps->p. */
static void skip_eol(struct csv_reader *ps)
{
	if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
		ps->p++;
	ps->p++;
	ps->line++;
}

static int parse_quoted(struct csv_reader *ps, char **out)
{
	size_t start_line = ps->line;
	const char *run;

	strbuf_reset(&ps->field);
	run = ++ps->p; /* the opening quote */
	for (;;) {
		if (ps->p == ps->end)
			return csv_error(ps, start_line, "unterminated quoted field");
		if (*ps->p == '"') {
			strbuf_add(&ps->field, run, (size_t)(ps->p - run));
			ps->p++;
			if (ps->p < ps->end && *ps->p == '"') {
				/* "" is one quote; it starts the next run */
				run = ps->p++;
				continue;
			}
			break;
		}
		if (!*ps->p)
			return csv_error(ps, ps->line, "NUL byte in field");
		if (is_eol(*ps->p)) {
			/* kept verbatim, CRLF included */
			if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
				ps->p++;
			ps->p++;
			ps->line++;
			continue;
		}
		ps->p++;
	}
	if (ps->p < ps->end && *ps->p != ',' && !is_eol(*ps->p))
		return csv_error(ps, ps->line, "unexpected character after closing quote");
	*out = xmemdupz(ps->field.buf, ps->field.len);
	return 0;
}

static int parse_unquoted(struct csv_reader *ps, char **out)
{
	const char *start = ps->p;

	for (; ps->p < ps->end; ps->p++) {
		char c = *ps->p;
		if (c == ',' || c == '\n' || c == '\r')
			break;
		if (c == '"')
			return csv_error(ps, ps->line, "quote inside unquoted field");
		if (!c)
			return csv_error(ps, ps->line, "NUL byte in field");
	}
	*out = xmemdupz(start, (size_t)(ps->p - start));
	return 0;
}

void csv_row_release(struct csv_row *row)
{
	free_strings(row->fields, row->nfields);
	row->fields = NULL;
	row->nfields = 0;
}

/* Parses one record at ps->p (which is before the end) and its terminator. */
static int parse_record(struct csv_reader *ps, struct csv_row *row)
{
	size_t alloc = 0;

	row->fields = NULL;
	row->nfields = 0;
	row->line = ps->line;
	for (;;) {
		char *field;
		int ret;

		if (ps->p < ps->end && *ps->p == '"')
			ret = parse_quoted(ps, &field);
		else
			ret = parse_unquoted(ps, &field);
		if (ret) {
			csv_row_release(row);
			return -1;
		}
		ALLOC_GROW(row->fields, row->nfields + 1, alloc);
		row->fields[row->nfields++] = field;

		if (ps->p == ps->end)
			break;
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		skip_eol(ps); /* parse_* stop only at ',', a line break or the end */
		break;
	}
	if (alloc > row->nfields)
		row->fields = xrealloc(row->fields, row->nfields * sizeof(*row->fields));
	return 0;
}

void csv_reader_init(struct csv_reader *r, const char *text, size_t len, struct strbuf *err)
{
	r->p = text;
	r->end = text + len;
	r->line = 1;
	r->err = err;
	strbuf_init(&r->field, 0);
}

int csv_reader_next(struct csv_reader *r, struct csv_row *row)
{
	memset(row, 0, sizeof(*row));
	if (r->p >= r->end)
		return 0;
	return parse_record(r, row) < 0 ? -1 : 1;
}

void csv_reader_release(struct csv_reader *r)
{
	strbuf_release(&r->field);
}

int csv_parse(const char *text, size_t len, struct csv_table *out, struct strbuf *err)
{
	struct csv_reader r;
	struct csv_row row;
	int ret;

	memset(out, 0, sizeof(*out));
	csv_reader_init(&r, text, len, err);
	while ((ret = csv_reader_next(&r, &row)) > 0) {
		ALLOC_GROW(out->rows, out->nrows + 1, out->alloc);
		out->rows[out->nrows++] = row;
	}
	csv_reader_release(&r);
	if (ret < 0) {
		csv_table_release(out);
		return -1;
	}
	return 0;
}

void csv_table_release(struct csv_table *t)
{
	if (!t)
		return;
	FREE_ARRAY(t->rows, t->nrows, csv_row_release);
	memset(t, 0, sizeof(*t));
}

static int needs_quotes(const char *s)
{
	size_t len = strlen(s);

	if (!len)
		return 0;
	if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t')
		return 1;
	return s[strcspn(s, ",\"\r\n")] != '\0';
}

void csv_add_field(struct strbuf *out, const char *s, int first)
{
	if (!first)
		strbuf_addch(out, ',');
	if (!s)
		return;
	if (!needs_quotes(s)) {
		strbuf_addstr(out, s);
		return;
	}
	strbuf_addch(out, '"');
	for (;;) {
		const char *q = strchr(s, '"');
		if (!q) {
			strbuf_addstr(out, s);
			break;
		}
		strbuf_add(out, s, (size_t)(q - s + 1));
		strbuf_addch(out, '"');
		s = q + 1;
	}
	strbuf_addch(out, '"');
}
