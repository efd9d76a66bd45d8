#ifndef IAMKEYS_CSV_H
#define IAMKEYS_CSV_H
/*
 * RFC 4180 CSV (quoted fields, "" escapes, commas and line breaks inside
 * quotes, CRLF or LF records). Pure. Also the writer used by --output csv.
 */
#include <stddef.h>
#include "core/strbuf.h"

struct csv_row {
	char **fields;
	size_t nfields;
};
struct csv_table {
	struct csv_row *rows;
	size_t nrows, alloc;
};
/* 0, or -1 with "CSV line N: unterminated quoted field" style messages. */
int csv_parse(const char *text, size_t len, struct csv_table *out, struct strbuf *err);
void csv_table_release(struct csv_table *t);
/* Appends one field, quoted when it holds , " CR or LF. */
void csv_add_field(struct strbuf *out, const char *s, int first);

#endif
