#ifndef IAMKEYS_OUTPUT_H
#define IAMKEYS_OUTPUT_H
/*
 * Tabular results printed as an aligned table, JSON or CSV (--output).
 * A table owns copies of every cell.
 */
#include <stdio.h>
#include <jansson.h>

struct strbuf;

enum output_format { OUTPUT_TABLE, OUTPUT_JSON, OUTPUT_CSV };
/* "table" | "json" | "csv"; 0 / -1. */
int output_format_parse(const char *s, enum output_format *out);
/* The --output values, indexed by enum output_format, NULL-terminated. */
extern const char *const output_format_names[];

enum cell_type { CELL_NULL, CELL_STR, CELL_INT, CELL_BOOL, CELL_STRLIST };

struct cell {
	enum cell_type type;
	char *text;    /* CELL_STR, and the rendered form of every type */
	long long num; /* CELL_INT, CELL_BOOL */
};

struct out_column {
	const char *key;   /* JSON key and CSV header: "UserName" */
	const char *title; /* table header: "USER" */
	/* Tables on a terminal narrower than the table: columns with a drop
	 * rank are left out, rank 1 first, until the table fits (0: always
	 * shown). */
	unsigned char drop;
	const char *unit; /* a table shows numbers with it: "d" → "95d" */
};

struct out_table {
	const struct out_column *cols;
	size_t ncols;
	struct cell *cells; /* row-major */
	size_t nrows, alloc_rows;
};

void out_table_init(struct out_table *t, const struct out_column *cols, size_t ncols);
void out_table_release(struct out_table *t);
/* Starts a new row; cells default to CELL_NULL. Returns its index. */
size_t out_table_add_row(struct out_table *t);
void out_set_str(struct out_table *t, size_t row, size_t col, const char *s); /* NULL → null */
void out_set_int(struct out_table *t, size_t row, size_t col, long long v);
void out_set_bool(struct out_table *t, size_t row, size_t col, int v);
/* A list shown joined with "," in table/CSV and as a JSON array; items split on ','. */
void out_set_list(struct out_table *t, size_t row, size_t col, const char *comma_separated);

struct out_style {
	int no_headers; /* --no-headers (table and CSV) */
	int color;	/* bold headers; only when stdout is a TTY and NO_COLOR is unset */
	/* A table wider than this shows dates as dates and leaves out the
	 * columns with a drop rank until it fits; 0 = no limit (not a
	 * terminal, or --wide). */
	size_t width;
};

/* Renders to f. JSON: an array of objects. */
int out_table_print(const struct out_table *t, enum output_format fmt, const struct out_style *st,
		    FILE *f);
/* JSON array of row objects (new reference). */
json_t *out_table_to_json(const struct out_table *t);

/*
 * Rows made one at a time, for results too large to copy into an out_table:
 * fill(ctx, i, row) sets row 0 of row, a one-row table with cols whose cells
 * are reset to CELL_NULL before each call. Rows are asked for in order, from
 * 0 to nrows - 1; the table format goes over them twice (widths first).
 */
struct out_rows {
	const struct out_column *cols;
	size_t ncols;
	size_t nrows;
	void (*fill)(void *ctx, size_t i, struct out_table *row);
	void *ctx;
	/*
	 * Optional (NULL: none), called after fill(ctx, i, ...): below adds
	 * to line what a table prints on the line under row i (nothing when
	 * it adds nothing); extend adds members to row i's JSON object.
	 */
	void (*below)(void *ctx, size_t i, struct strbuf *line);
	void (*extend)(void *ctx, size_t i, json_t *row);
};

/* As out_table_print, with the same output. */
int out_rows_print(const struct out_rows *rows, enum output_format fmt, const struct out_style *st,
		   FILE *f);

/*
 * A JSON object written one member at a time, byte for byte as
 * json_dumpf(object, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) would write
 * it whole (without a final newline):
 *
 *	struct out_json_object o;
 *	out_json_begin(&o, f);
 *	out_json_add_rows(&o, "Keys", &rows);
 *	out_json_add(&o, "Summary", summary);
 *	rc = out_json_end(&o);
 *
 * out_json_add_rows writes the rows' array one row at a time; out_json_add
 * steals the reference to value; out_json_end returns 0, or -1 when
 * something could not be written.
 */
struct out_json_object {
	FILE *f;
	size_t nmembers;
	int failed;
};
void out_json_begin(struct out_json_object *o, FILE *f);
void out_json_add(struct out_json_object *o, const char *key, json_t *value);
void out_json_add_rows(struct out_json_object *o, const char *key, const struct out_rows *rows);
int out_json_end(struct out_json_object *o);

#endif
