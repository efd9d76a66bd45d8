/*
 * libFuzzer target for rotation_tag_parse, create_mark_parse and
 * keys_changed_parse (the input as a NUL-terminated string): a value that
 * parses formats back to one that parses to the same record, within IAM's
 * 256 characters; a value that does not gets a one-line message.
 */
#include "core/compat.h"
#include "core/rotation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * RC is what a parse of the input returned, with its message in ERR: whether it gave a
 * record. A refusal must come with a one-line message. ERR and FMT are emptied for what
 * follows.
 */
static int parsed(int rc, struct strbuf *err, struct strbuf *fmt)
{
	if (rc < 0 && (!err->len || strchr(err->buf, '\n')))
		abort();
	strbuf_reset(err);
	strbuf_reset(fmt);
	return rc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmemdupz((const char *)data, size);
	struct strbuf err = STRBUF_INIT, fmt = STRBUF_INIT;
	struct rotation_tag t, u;
	struct create_mark m, n;
	time_t ct, cu;

	if (parsed(rotation_tag_parse(s, &t, &err), &err, &fmt)) {
		rotation_tag_format(&fmt, &t);
		if (rotation_tag_parse(fmt.buf, &u, &err) < 0 || t.stage != u.stage || t.t != u.t ||
		    strcmp(t.old_key, u.old_key) || strcmp(t.new_key, u.new_key) ||
		    strcmp(t.run, u.run))
			abort();
	}
	if (parsed(create_mark_parse(s, &m, &err), &err, &fmt)) {
		create_mark_format(&fmt, &m);
		if (fmt.len > 256 || create_mark_parse(fmt.buf, &n, &err) < 0 ||
		    strcmp(m.run, n.run) || m.t != n.t || strcmp(m.sink, n.sink))
			abort();
	}
	if (parsed(keys_changed_parse(s, &ct, &err), &err, &fmt)) {
		keys_changed_format(&fmt, ct);
		if (fmt.len > 256 || keys_changed_parse(fmt.buf, &cu, &err) < 0 || ct != cu)
			abort();
	}
	strbuf_release(&err);
	strbuf_release(&fmt);
	free(s);
	return 0;
}
