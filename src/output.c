#include "compat.h"
#include "output.h"
#include "core/strbuf.h"
#include "core/csv.h"

int output_format_parse(const char *s, enum output_format *out)
{
	if (!strcmp(s, "table"))
		*out = OUTPUT_TABLE;
	else if (!strcmp(s, "json"))
		*out = OUTPUT_JSON;
	else if (!strcmp(s, "csv"))
		*out = OUTPUT_CSV;
	else
		return -1;
	return 0;
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

static void print_table(const struct out_table *t, const struct out_style *st, FILE *f)
{
	size_t *width = xcalloc(t->ncols, sizeof(*width));
	struct strbuf line = STRBUF_INIT;
	size_t r, c;

	for (c = 0; c < t->ncols; c++)
		width[c] = st->no_headers ? 0 : display_width(t->cols[c].title);
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			const struct cell *cl = &t->cells[r * t->ncols + c];
			size_t w = cl->text ? display_width(cl->text) : 1;
			if (w > width[c])
				width[c] = w;
		}
	if (!st->no_headers) {
		if (st->color)
			strbuf_addstr(&line, "\033[1m");
		for (c = 0; c < t->ncols; c++) {
			strbuf_addstr(&line, t->cols[c].title);
			if (c + 1 < t->ncols)
				strbuf_addf(&line, "%*s", (int)(width[c] - display_width(t->cols[c].title) + 2), "");
		}
		if (st->color)
			strbuf_addstr(&line, "\033[0m");
		fprintf(f, "%s\n", line.buf);
	}
	for (r = 0; r < t->nrows; r++) {
		strbuf_reset(&line);
		for (c = 0; c < t->ncols; c++) {
			const struct cell *cl = &t->cells[r * t->ncols + c];
			const char *txt = cl->text ? cl->text : "-";
			size_t before = line.len;
			add_table_text(&line, txt);
			if (c + 1 < t->ncols)
				strbuf_addf(&line, "%*s",
					    (int)(width[c] - display_width(line.buf + before) + 2), "");
		}
		fprintf(f, "%s\n", line.buf);
	}
	strbuf_release(&line);
	free(width);
}

static void print_csv(const struct out_table *t, const struct out_style *st, FILE *f)
{
	struct strbuf line = STRBUF_INIT;
	size_t r, c;
	if (!st->no_headers) {
		for (c = 0; c < t->ncols; c++)
			csv_add_field(&line, t->cols[c].key, c == 0);
		fprintf(f, "%s\r\n", line.buf);
	}
	for (r = 0; r < t->nrows; r++) {
		strbuf_reset(&line);
		for (c = 0; c < t->ncols; c++) {
			const struct cell *cl = &t->cells[r * t->ncols + c];
			csv_add_field(&line, cl->text ? cl->text : "", c == 0);
		}
		fprintf(f, "%s\r\n", line.buf);
	}
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

json_t *out_table_to_json(const struct out_table *t)
{
	json_t *arr = json_array();
	size_t r, c;
	for (r = 0; r < t->nrows; r++) {
		json_t *o = json_object();
		for (c = 0; c < t->ncols; c++)
			json_object_set_new(o, t->cols[c].key, cell_to_json(&t->cells[r * t->ncols + c]));
		json_array_append_new(arr, o);
	}
	return arr;
}

int out_table_print(const struct out_table *t, enum output_format fmt, const struct out_style *st,
		    FILE *f)
{
	switch (fmt) {
	case OUTPUT_TABLE:
		print_table(t, st, f);
		break;
	case OUTPUT_CSV:
		print_csv(t, st, f);
		break;
	case OUTPUT_JSON: {
		json_t *arr = out_table_to_json(t);
		int rc = json_dumpf(arr, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(arr);
		fputc('\n', f);
		if (rc < 0)
			return -1;
		break;
	}
	}
	return ferror(f) ? -1 : 0;
}
