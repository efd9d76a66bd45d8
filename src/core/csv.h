#ifndef IAMKEYS_CSV_H
#define IAMKEYS_CSV_H
/*
 * RFC 4180 CSV (quoted fields, "" escapes, commas and line breaks inside
 * quotes, CRLF or LF records). Pure. Also the writer used by --output csv.
 *
 * Reading: a record ends at CRLF, LF or a lone CR outside quotes, or at the
 * end of the text; the last line may lack its line break, and a final line
 * break does not start another record. A blank line in the middle is a
 * record with one empty field. Line breaks inside quotes are kept verbatim.
 * Fields are never trimmed. Rows may have different numbers of fields.
 */
#include <stddef.h>
#include "core/strbuf.h"

struct csv_row {
	char **fields; /* malloc'd; a caller may take one and set it to NULL */
	size_t nfields;
	size_t line; /* physical line (1-based) where the record starts */
};
struct csv_table {
	struct csv_row *rows;
	size_t nrows, alloc;
};
/*
 * Parses len bytes of text into *out, which is overwritten (not freed
 * first). 0, or -1 with *out left empty and one message appended to err
 * (when not NULL), N being the physical line:
 *   "CSV line N: unterminated quoted field" (N: where the quote opened)
 *   "CSV line N: quote inside unquoted field"
 *   "CSV line N: unexpected character after closing quote"
 *   "CSV line N: NUL byte in field"
 * Linear in len.
 */
int csv_parse(const char *text, size_t len, struct csv_table *out, struct strbuf *err);
void csv_table_release(struct csv_table *t);

/*
 * The same, one record at a time, when the rows need not all exist at once
 * (csv_parse is built on it):
 *
 *	csv_reader_init(&r, text, len, err);
 *	while ((ret = csv_reader_next(&r, &row)) > 0) {
 *		...
 *		csv_row_release(&row);
 *	}
 *	csv_reader_release(&r); // ret is 0 at the end, -1 with the message in err
 *
 * csv_reader_next returns 1 with the next record in *row (overwritten, not
 * freed first), 0 at the end of the text, or -1 with *row empty and one
 * message (csv_parse's) appended to err (when not NULL). Do not call it
 * again after -1.
 */
struct csv_reader {
	const char *p, *end;
	size_t line;
	struct strbuf field;
	struct strbuf *err;
};
void csv_reader_init(struct csv_reader *r, const char *text, size_t len, struct strbuf *err);
int csv_reader_next(struct csv_reader *r, struct csv_row *row);
void csv_reader_release(struct csv_reader *r);
/* Frees the fields (any taken ones set to NULL) and leaves row empty. */
void csv_row_release(struct csv_row *row);
/*
 * Appends one field, preceded by ',' unless first. The field is quoted
 * (with " doubled) when it holds , " CR or LF, or starts or ends with a
 * space or tab (which spreadsheets would otherwise trim). NULL is an
 * empty field. The caller ends each record with "\r\n" or "\n".
 */
void csv_add_field(struct strbuf *out, const char *s, int first);

#endif
