/*
 * libFuzzer target for duration_parse and iso8601_parse (the input as a
 * NUL-terminated string), with round-trip checks through the formatters
 * and utc_civil / utc_from_civil / days_between on the parsed values.
 */
#include "core/compat.h"
#include "core/strbuf.h"
#include "core/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_duration(const char *s)
{
	struct strbuf err = STRBUF_INIT, fmt = STRBUF_INIT;
	long long secs = -1;

	if (duration_parse(s, &secs, &err)) {
		if (strncmp(err.buf, "invalid duration '", 18) || strchr(err.buf, '\n'))
			abort();
		strbuf_release(&err);
		return;
	}
	if (err.len || secs < 0 || secs > DURATION_MAX_SECONDS)
		abort();
	duration_format(&fmt, secs);
	if (!fmt.len)
		abort();
	strbuf_release(&fmt);
}

static void check_time(time_t t)
{
	struct strbuf sb = STRBUF_INIT;
	int y, mo, d, h, mi, s;
	time_t back;

	utc_civil(t, &y, &mo, &d, &h, &mi, &s);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
	    s > 59)
		abort();
	if (y > INT_MIN && y < INT_MAX && utc_from_civil(y, mo, d, h, mi, s) != t)
		abort();
	iso8601_format(&sb, t);
	if (y >= 0 && y <= 9999 && (iso8601_parse(sb.buf, &back) || back != t))
		abort();
	strbuf_release(&sb);
	if (days_between(t, t) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmemdupz(data, size);
	time_t t;

	check_duration(s);
	if (!iso8601_parse(s, &t))
		check_time(t);
	/* any 8 bytes are a time_t to format and take apart */
	if (size >= sizeof(int64_t)) {
		int64_t raw, raw2 = 0;
		long d;

		memcpy(&raw, data, sizeof(raw));
		check_time((time_t)raw);
		if (size >= 2 * sizeof(int64_t))
			memcpy(&raw2, data + sizeof(raw), sizeof(raw2));
		d = days_between((time_t)raw, (time_t)raw2);
		if ((raw2 >= raw) != (d >= 0))
			abort();
	}
	free(s);
	return 0;
}
