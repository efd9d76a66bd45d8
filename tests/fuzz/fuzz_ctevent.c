/* libFuzzer: a CloudTrailEvent string (iamkeys trace). */
#include "core/compat.h"
#include "core/ctevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf err = STRBUF_INIT;
	struct ct_event e;

	if (ct_event_parse((const char *)data, size, &e, &err) == 0) {
		if (err.len || !e.event_name || !e.event_source || !e.user_agent)
			abort(); /* what is accepted has the required fields, without a word */
		ct_event_release(&e);
	} else if (!err.len || strchr(err.buf, '\n')) {
		abort(); /* refused in one line */
	}
	strbuf_release(&err);
	return 0;
}
