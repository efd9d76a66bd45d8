/*
 * libFuzzer target for the CSV reader and writer: any input either fails
 * cleanly or parses; a parsed table written back with csv_add_field must
 * parse again into the same table (with LF and with CRLF line ends).
 */
#include "core/compat.h"
#include "core/csv.h"
#include "core/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_table(struct strbuf *out, const struct csv_table *t, const char *eol)
{
	size_t r, f;

	for (r = 0; r < t->nrows; r++) {
		for (f = 0; f < t->rows[r].nfields; f++)
			csv_add_field(out, t->rows[r].fields[f], f == 0);
		strbuf_addstr(out, eol);
	}
}

static void check_same(const struct csv_table *a, const struct csv_table *b)
{
	size_t r, f;

	if (a->nrows != b->nrows)
		abort();
	for (r = 0; r < a->nrows; r++) {
		if (a->rows[r].nfields != b->rows[r].nfields)
			abort();
		for (f = 0; f < a->rows[r].nfields; f++)
			if (strcmp(a->rows[r].fields[f], b->rows[r].fields[f]))
				abort();
		if (r && a->rows[r].line <= a->rows[r - 1].line)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const eols[] = { "\n", "\r\n" };
	struct csv_table t, again;
	struct strbuf err = STRBUF_INIT;
	size_t e;

	if (csv_parse((const char *)data, size, &t, &err)) {
		/* one line, named by its line number; the table is empty */
		if (strncmp(err.buf, "CSV line ", 9) || strchr(err.buf, '\n') || t.nrows || t.rows)
			abort();
		strbuf_release(&err);
		return 0;
	}
	if (err.len)
		abort();
	for (e = 0; e < 2; e++) {
		struct strbuf out = STRBUF_INIT;

		write_table(&out, &t, eols[e]);
		if (csv_parse(out.buf, out.len, &again, NULL))
			abort();
		check_same(&t, &again);
		csv_table_release(&again);
		strbuf_release(&out);
	}
	csv_table_release(&t);
	return 0;
}
