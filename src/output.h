#ifndef IAMKEYS_OUTPUT_H
#define IAMKEYS_OUTPUT_H
/*
 * Tabular results printed as an aligned table, JSON or CSV (--output).
 * A table owns copies of every cell.
 */
#include <stdio.h>
#include <jansson.h>

enum output_format { OUTPUT_TABLE, OUTPUT_JSON, OUTPUT_CSV };
/* "table" | "json" | "csv"; 0 / -1. */
int output_format_parse(const char *s, enum output_format *out);

enum cell_type { CELL_NULL, CELL_STR, CELL_INT, CELL_BOOL, CELL_STRLIST };

struct cell {
	enum cell_type type;
	char *text;     /* CELL_STR, and the rendered form of every type */
	long long num;  /* CELL_INT, CELL_BOOL */
};

struct out_column {
	const char *key;   /* JSON key and CSV header: "UserName" */
	const char *title; /* table header: "USER" */
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
	int color;      /* bold headers; only when stdout is a TTY and NO_COLOR is unset */
};

/* Renders to f. JSON: an array of objects. */
int out_table_print(const struct out_table *t, enum output_format fmt, const struct out_style *st,
		    FILE *f);
/* JSON array of row objects (new reference). */
json_t *out_table_to_json(const struct out_table *t);

#endif
