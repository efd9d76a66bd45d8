#include "core/compat.h"
#include "cmd/output.h"
#include "core/strbuf.h"
#include "core/csv.h"

const char *const output_format_names[] = {
	[OUTPUT_TABLE] = "table",
	[OUTPUT_JSON] = "json",
	[OUTPUT_CSV] = "csv",
	NULL,
};

int output_format_parse(const char *s, enum output_format *out)
{
	int i;
	for (i = 0; output_format_names[i]; i++)
		if (!strcmp(s, output_format_names[i])) {
			*out = (enum output_format)i;
			return 0;
		}
	return -1;
}

void out_table_init(struct out_table *t, const struct out_column *cols, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = ncols;
}

void out_table_release(struct out_table *t)
{
	size_t i;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].text);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

size_t out_table_add_row(struct out_table *t)
{
	size_t need = t->nrows + 1;
	if (need > t->alloc_rows) {
		size_t a = t->alloc_rows ? t->alloc_rows * 2 : 64;
		t->cells = xrealloc(t->cells, a * t->ncols * sizeof(*t->cells));
		t->alloc_rows = a;
	}
	memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof(*t->cells));
	return t->nrows++;
}

static struct cell *cell_at(struct out_table *t, size_t row, size_t col)
{
	struct cell *c = &t->cells[row * t->ncols + col];
	free(c->text);
	c->text = NULL;
	return c;
}

void out_set_str(struct out_table *t, size_t row, size_t col, const char *s)
{
	struct cell *c = cell_at(t, row, col);
	c->type = s ? CELL_STR : CELL_NULL;
	c->text = s ? xstrdup(s) : NULL;
}

void out_set_int(struct out_table *t, size_t row, size_t col, long long v)
{
	struct cell *c = cell_at(t, row, col);
	struct strbuf sb = STRBUF_INIT;
	c->type = CELL_INT;
	c->num = v;
	strbuf_addf(&sb, "%lld", v);
	c->text = strbuf_detach(&sb, NULL);
}

void out_set_bool(struct out_table *t, size_t row, size_t col, int v)
{
	struct cell *c = cell_at(t, row, col);
	c->type = CELL_BOOL;
	c->num = !!v;
	c->text = xstrdup(v ? "yes" : "no");
}

void out_set_list(struct out_table *t, size_t row, size_t col, const char *s)
{
	struct cell *c = cell_at(t, row, col);
	c->type = CELL_STRLIST;
	c->text = xstrdup(s ? s : "");
}

/* Display width of a UTF-8 string: code points, control bytes shown as one. */
static size_t display_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

/* Table cells are single-line: control characters become '?'. */
static void add_table_text(struct strbuf *out, const char *s)
{
	for (; *s; s++)
		strbuf_addch(out, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/*
 * The printers read rows through an out_rows: a table's rows are copied
 * into the one-row scratch table one at a time, like any other source's.
 */
static void fill_from_table(void *ctx, size_t i, struct out_table *row)
{
	const struct out_table *t = ctx;
	size_t c;

	for (c = 0; c < t->ncols; c++) {
		const struct cell *from = &t->cells[i * t->ncols + c];
		row->cells[c] = *from;
		row->cells[c].text = xstrdup_or_null(from->text);
	}
}

static void rows_of_table(struct out_rows *rows, const struct out_table *t)
{
	rows->cols = t->cols;
	rows->ncols = t->ncols;
	rows->nrows = t->nrows;
	rows->fill = fill_from_table;
	rows->ctx = (void *)t;
	rows->below = NULL;
	rows->extend = NULL;
}

static void scratch_init(struct out_table *row, const struct out_rows *rows)
{
	out_table_init(row, rows->cols, rows->ncols);
	out_table_add_row(row);
}

/* Row i's cells, filled into the scratch row. */
static const struct cell *get_row(const struct out_rows *rows, struct out_table *row, size_t i)
{
	size_t c;

	for (c = 0; c < row->ncols; c++) {
		free(row->cells[c].text);
		memset(&row->cells[c], 0, sizeof(row->cells[c]));
	}
	rows->fill(rows->ctx, i, row);
	return row->cells;
}

/* "2026-11-12T18:50:19Z" (or with milliseconds): an ISO 8601 UTC time. */
static int is_iso_time(const char *s)
{
	return s && strlen(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' &&
	       isdigit((unsigned char)s[0]) && s[strlen(s) - 1] == 'Z';
}

/* What a table shows in a cell: "-" for null, the column's unit after a
 * number, and with compact the date alone of a time ("2026-11-12"). */
static void table_text(struct strbuf *out, const struct out_column *col, const struct cell *cl,
		       int compact)
{
	if (!cl->text) {
		strbuf_addch(out, '-');
	} else if (compact && is_iso_time(cl->text)) {
		strbuf_add(out, cl->text, 10);
	} else {
		add_table_text(out, cl->text);
		if (col->unit && cl->type == CELL_INT)
			strbuf_addstr(out, col->unit);
	}
}

/* The columns' widths (0 for a column left out), and the table's. */
static size_t table_widths(const struct out_rows *rows, const struct out_style *st,
			   struct out_table *row, int compact, size_t *width)
{
	struct strbuf sb = STRBUF_INIT;
	size_t r, c, total = 0, shown = 0;

	for (c = 0; c < rows->ncols; c++)
		width[c] = st->no_headers ? 0 : display_width(rows->cols[c].title);
	for (r = 0; r < rows->nrows; r++) {
		const struct cell *cells = get_row(rows, row, r);
		for (c = 0; c < rows->ncols; c++) {
			strbuf_reset(&sb);
			table_text(&sb, &rows->cols[c], &cells[c], compact);
			if (display_width(sb.buf) > width[c])
				width[c] = display_width(sb.buf);
		}
	}
	strbuf_release(&sb);
	for (c = 0; c < rows->ncols; c++) {
		total += width[c];
		shown++;
	}
	return total + 2 * (shown ? shown - 1 : 0);
}

static void print_table(const struct out_rows *rows, const struct out_style *st, FILE *f)
{
	size_t *width = xcalloc(rows->ncols, sizeof(*width));
	int *hidden = xcalloc(rows->ncols + 1, sizeof(*hidden));
	struct strbuf line = STRBUF_INIT;
	struct out_table row;
	size_t r, c, last, total;
	int compact = 0;

	scratch_init(&row, rows);
	total = table_widths(rows, st, &row, 0, width);
	if (st->width && total > st->width) {
		/* a narrow terminal: dates as dates, then fewer columns */
		unsigned rank;

		compact = 1;
		total = table_widths(rows, st, &row, 1, width);
		for (rank = 1; rank < 256 && total > st->width; rank++)
			for (c = 0; c < rows->ncols; c++)
				if (rows->cols[c].drop == rank && !hidden[c]) {
					hidden[c] = 1;
					total -= width[c] + 2;
				}
	}
	for (last = rows->ncols; last > 0 && hidden[last - 1]; last--)
		;
	if (!st->no_headers) {
		if (st->color)
			strbuf_addstr(&line, "\033[1m");
		for (c = 0; c < last; c++) {
			if (hidden[c])
				continue;
			strbuf_addstr(&line, rows->cols[c].title);
			if (c + 1 < last)
				strbuf_addf(&line, "%*s",
					    (int)(width[c] - display_width(rows->cols[c].title) +
						  2),
					    "");
		}
		if (st->color)
			strbuf_addstr(&line, "\033[0m");
		fprintf(f, "%s\n", line.buf);
	}
	for (r = 0; r < rows->nrows; r++) {
		const struct cell *cells = get_row(rows, &row, r);
		strbuf_reset(&line);
		for (c = 0; c < last; c++) {
			size_t before = line.len;

			if (hidden[c])
				continue;
			table_text(&line, &rows->cols[c], &cells[c], compact);
			if (c + 1 < last)
				strbuf_addf(&line, "%*s",
					    (int)(width[c] - display_width(line.buf + before) + 2),
					    "");
		}
		fprintf(f, "%s\n", line.buf);
		if (rows->below) {
			strbuf_reset(&line);
			rows->below(rows->ctx, r, &line);
			if (line.len)
				fprintf(f, "%s\n", line.buf);
		}
	}
	out_table_release(&row);
	strbuf_release(&line);
	free(hidden);
	free(width);
}

static void print_csv(const struct out_rows *rows, const struct out_style *st, FILE *f)
{
	struct strbuf line = STRBUF_INIT;
	struct out_table row;
	size_t r, c;

	scratch_init(&row, rows);
	if (!st->no_headers) {
		for (c = 0; c < rows->ncols; c++)
			csv_add_field(&line, rows->cols[c].key, c == 0);
		fprintf(f, "%s\r\n", line.buf);
	}
	for (r = 0; r < rows->nrows; r++) {
		const struct cell *cells = get_row(rows, &row, r);
		strbuf_reset(&line);
		for (c = 0; c < rows->ncols; c++)
			csv_add_field(&line, cells[c].text ? cells[c].text : "", c == 0);
		fprintf(f, "%s\r\n", line.buf);
	}
	out_table_release(&row);
	strbuf_release(&line);
}

static json_t *cell_to_json(const struct cell *cl)
{
	switch (cl->type) {
	case CELL_STR:
		return json_string(cl->text);
	case CELL_INT:
		return json_integer(cl->num);
	case CELL_BOOL:
		return json_boolean(cl->num);
	case CELL_STRLIST: {
		json_t *a = json_array();
		const char *p = cl->text;
		while (p && *p) {
			const char *comma = strchr(p, ',');
			size_t len = comma ? (size_t)(comma - p) : strlen(p);
			json_array_append_new(a, json_stringn(p, len));
			p = comma ? comma + 1 : NULL;
		}
		return a;
	}
	default:
		return json_null();
	}
}

static json_t *row_to_json(const struct out_column *cols, size_t ncols, const struct cell *cells)
{
	json_t *o = json_object();
	size_t c;

	for (c = 0; c < ncols; c++)
		json_object_set_new(o, cols[c].key, cell_to_json(&cells[c]));
	return o;
}

json_t *out_table_to_json(const struct out_table *t)
{
	json_t *arr = json_array();
	size_t r;
	for (r = 0; r < t->nrows; r++)
		json_array_append_new(arr, row_to_json(t->cols, t->ncols, &t->cells[r * t->ncols]));
	return arr;
}

#define JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER)

/*
 * Writes v as json_dumpf would inside a document, nested depth levels
 * deep: every line after the first indented by 2 * depth more spaces.
 * Strings never hold a raw line break (jansson escapes it). Steals v.
 */
static int dump_nested(json_t *v, size_t depth, FILE *f)
{
	char *text = v ? json_dumps(v, JSON_FLAGS | JSON_ENCODE_ANY) : NULL;
	const char *p, *nl;

	json_decref(v);
	if (!text)
		return -1;
	for (p = text; (nl = strchr(p, '\n')); p = nl + 1) {
		fwrite(p, 1, (size_t)(nl + 1 - p), f);
		fprintf(f, "%*s", (int)(2 * depth), "");
	}
	fputs(p, f);
	free(text);
	return 0;
}

/* A JSON array of the rows at this depth, one row object at a time. */
static int print_json_rows(const struct out_rows *rows, size_t depth, FILE *f)
{
	struct out_table row;
	size_t r;
	int rc = 0;

	if (!rows->nrows) {
		fputs("[]", f);
		return 0;
	}
	scratch_init(&row, rows);
	fputc('[', f);
	for (r = 0; r < rows->nrows; r++) {
		const struct cell *cells = get_row(rows, &row, r);
		json_t *obj = row_to_json(rows->cols, rows->ncols, cells);

		if (rows->extend)
			rows->extend(rows->ctx, r, obj);
		fprintf(f, "%s\n%*s", r ? "," : "", (int)(2 * (depth + 1)), "");
		if (dump_nested(obj, depth + 1, f) < 0)
			rc = -1;
	}
	fprintf(f, "\n%*s]", (int)(2 * depth), "");
	out_table_release(&row);
	return rc;
}

void out_json_begin(struct out_json_object *o, FILE *f)
{
	o->f = f;
	o->nmembers = 0;
	o->failed = 0;
	fputc('{', f);
}

static void add_key(struct out_json_object *o, const char *key)
{
	fputs(o->nmembers++ ? ",\n  " : "\n  ", o->f);
	if (dump_nested(json_string(key), 1, o->f) < 0)
		o->failed = 1;
	fputs(": ", o->f);
}

void out_json_add(struct out_json_object *o, const char *key, json_t *value)
{
	add_key(o, key);
	if (dump_nested(value, 1, o->f) < 0)
		o->failed = 1;
}

void out_json_add_rows(struct out_json_object *o, const char *key, const struct out_rows *rows)
{
	add_key(o, key);
	if (print_json_rows(rows, 1, o->f) < 0)
		o->failed = 1;
}

int out_json_end(struct out_json_object *o)
{
	fputs(o->nmembers ? "\n}" : "}", o->f);
	return o->failed || ferror(o->f) ? -1 : 0;
}

int out_rows_print(const struct out_rows *rows, enum output_format fmt, const struct out_style *st,
		   FILE *f)
{
	switch (fmt) {
	case OUTPUT_TABLE:
		print_table(rows, st, f);
		break;
	case OUTPUT_CSV:
		print_csv(rows, st, f);
		break;
	case OUTPUT_JSON: {
		int rc = print_json_rows(rows, 0, f);
		fputc('\n', f);
		if (rc < 0)
			return -1;
		break;
	}
	}
	return ferror(f) ? -1 : 0;
}

int out_table_print(const struct out_table *t, enum output_format fmt, const struct out_style *st,
		    FILE *f)
{
	struct out_rows rows;

	rows_of_table(&rows, t);
	return out_rows_print(&rows, fmt, st, f);
}
