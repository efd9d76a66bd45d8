#include "core/compat.h"
#include "core/notify_event.h"
#include "core/rotation.h"
#include "core/strbuf.h"

/*
 * libFuzzer target for the notification record (the NOTIFY_TAG value): a
 * value that parses formats back to itself up to the order of its kinds
 * (parse(format(parse(x))) == parse(x)), and always fits an IAM tag value.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct notify_record r, again;
	struct strbuf out = STRBUF_INIT;
	char *text = xmemdupz(data, size);

	if (notify_record_parse(text, &r) == 0) {
		notify_record_format(&out, &r);
		if (notify_record_parse(out.buf, &again) || strcmp(again.key, r.key) ||
		    again.sent != r.sent || out.len > ROTATION_TAG_MAX ||
		    !rotation_tag_value_valid(out.buf))
			abort();
	} else if (r.sent || r.key[0]) {
		abort();
	}
	strbuf_release(&out);
	free(text);
	return 0;
}
