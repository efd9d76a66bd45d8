/* libFuzzer: the rotate config parser and the rotation tag parser. */
#include "core/compat.h"
#include "core/rotconf.h"
#include "core/rotation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rotconf c = { 0 };
	struct strbuf err = STRBUF_INIT, tag = STRBUF_INIT, again = STRBUF_INIT;
	struct rotation_tag t, t2;
	const char *keys[1] = { "team" }, *vals[1] = { "payments" };
	struct rotconf_settings s;

	if (rotconf_parse(&c, (const char *)data, size, "fuzz", &err) == 0) {
		rotconf_settings_unset(&s);
		rotconf_resolve(&c, "111111111111", "alice", keys, vals, 1, &s);
	} else if (!err.len || strchr(err.buf, '\n')) {
		abort(); /* errors are one line */
	}
	rotconf_release(&c);

	strbuf_add(&tag, data, size);
	strbuf_reset(&err);
	if (rotation_tag_parse(tag.buf, &t, &err) == 0) {
		/* what parses formats back to something that parses the same */
		rotation_tag_format(&again, &t);
		if (rotation_tag_parse(again.buf, &t2, &err) || t2.stage != t.stage ||
		    t2.t != t.t || strcmp(t2.old_key, t.old_key) || strcmp(t2.new_key, t.new_key))
			abort();
	}
	strbuf_release(&err);
	strbuf_release(&tag);
	strbuf_release(&again);
	return 0;
}
