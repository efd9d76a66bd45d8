/* libFuzzer: the saved rotation plan (rotate --plan FILE), for one and for several accounts. */
#include "core/compat.h"
#include "core/planfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int several;
	for (several = 0; several < 2; several++) {
		struct strbuf err = STRBUF_INIT;
		json_t *doc = plan_file_parse((const char *)data, size, several, &err);
		if (doc ? err.len != 0 : (!err.len || strchr(err.buf, '\n')))
			abort(); /* accepted without a word, or refused in one line */
		if (doc && plan_file_check(doc, several, &err) < 0)
			abort(); /* what is accepted stays accepted */
		json_decref(doc);
		strbuf_release(&err);
	}
	return 0;
}
