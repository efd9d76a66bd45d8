/*
 * libFuzzer target for revoke_tag_parse and revoke_policy_time (the input as
 * a NUL-terminated string): a tag that parses formats back to a value that
 * parses to the same record, within IAM's 256 characters.
 */
#include "core/compat.h"
#include "core/revoketag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmemdupz((const char *)data, size);
	struct strbuf err = STRBUF_INIT, fmt = STRBUF_INIT;
	struct revoke_tag t, u;
	time_t pt;

	if (revoke_tag_parse(s, &t, &err) == 0) {
		revoke_tag_format(&fmt, &t);
		if (fmt.len > 256 || revoke_tag_parse(fmt.buf, &u, &err) < 0 ||
		    strcmp(t.key_id, u.key_id) || t.started != u.started || t.done != u.done ||
		    t.policy_time != u.policy_time)
			abort();
	} else if (!err.len || strchr(err.buf, '\n')) {
		abort();
	}
	(void)revoke_policy_time(s, &pt);
	strbuf_release(&err);
	strbuf_release(&fmt);
	free(s);
	return 0;
}
