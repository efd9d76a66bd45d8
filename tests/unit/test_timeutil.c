#include "core/compat.h"
#include "core/strbuf.h"
#include "core/timeutil.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

#define T_INT64_MAX ((time_t)INT64_MAX)
#define T_INT64_MIN ((time_t)INT64_MIN)

static const struct {
	const char *in;
	long long want;
} iso_good[] = {
	{ "2024-01-31T12:00:00Z", 1706702400 },
	{ "1970-01-01T00:00:00Z", 0 },
	{ "1969-12-31T23:59:59Z", -1 },
	{ "2024-01-31T12:00:00.123Z", 1706702400 },
	{ "2024-01-31T12:00:00.123456Z", 1706702400 },
	{ "2024-01-31T12:00:00.1Z", 1706702400 },
	{ "2024-01-31T12:00:00.999999999999999999999Z", 1706702400 },
	{ "1969-12-31T23:59:59.5Z", -1 },
	{ "2024-01-31T12:00:00+00:00", 1706702400 },
	{ "2024-01-31T12:00:00-00:00", 1706702400 },
	{ "2024-01-31T12:00:00+0000", 1706702400 },
	{ "2024-01-31T12:00:00-05:00", 1706720400 },
	{ "2024-01-31T12:00:00-0500", 1706720400 },
	{ "2024-01-31T12:00:00+05:30", 1706682600 },
	{ "2024-01-31T12:00:00-08:00", 1706731200 },
	{ "2024-01-31T12:00:00.5+01:00", 1706698800 },
	{ "2024-01-01T00:30:00+01:00", 1704065400 },
	{ "2022-08-31T11:10:33+00:00", 1661944233 },
	{ "2024-02-29T00:00:00Z", 1709164800 },
	{ "2000-02-29T00:00:00Z", 951782400 },
	{ "1600-02-29T12:34:56Z", -11670953104LL },
	{ "1900-03-01T00:00:00Z", -2203891200LL },
	{ "2038-01-19T03:14:08Z", 2147483648LL },
	{ "2100-03-01T00:00:00Z", 4107542400LL },
	{ "2106-02-07T06:28:16Z", 4294967296LL },
	{ "9999-12-31T23:59:59Z", 253402300799LL },
	{ "0000-01-01T00:00:00Z", -62167219200LL },
	{ "0000-01-01T00:00:00+23:59", -62167219200LL - 23 * 3600 - 59 * 60 },
	{ "9999-12-31T23:59:59-23:59", 253402300799LL + 23 * 3600 + 59 * 60 },
};

static const char *const iso_bad[] = {
	"",
	"2024",
	"2024-01-31",
	"2024-01-31T",
	"2024-01-31T12:00Z",
	"2024-01-31T12:00:00",
	"2024-01-31T12:00:00.123",
	"2024-13-01T00:00:00Z",
	"2024-00-01T00:00:00Z",
	"2024-01-00T00:00:00Z",
	"2024-01-32T00:00:00Z",
	"2024-04-31T00:00:00Z",
	"2024-06-31T00:00:00Z",
	"2024-02-30T00:00:00Z",
	"2023-02-29T00:00:00Z",
	"1900-02-29T00:00:00Z",
	"2100-02-29T00:00:00Z",
	"2024-01-31T24:00:00Z",
	"2024-01-31T12:60:00Z",
	"2024-01-31T12:00:60Z",
	"2024-01-31T12:00:00Zjunk",
	"2024-01-31T12:00:00Z ",
	"2024-01-31T12:00:00Z\n",
	" 2024-01-31T12:00:00Z",
	"2024-01-31 12:00:00Z",
	"2024-01-31t12:00:00Z",
	"2024-01-31T12:00:00z",
	"2024-1-31T12:00:00Z",
	"2024-01-1T12:00:00Z",
	"24-01-31T12:00:00Z",
	"+2024-01-31T12:00:00Z",
	"-2024-01-31T12:00:00Z",
	"12024-01-31T12:00:00Z",
	"2024/01/31T12:00:00Z",
	"20240131T120000Z",
	"2024-01-31T1:00:00Z",
	"2024-01-31T12:0:00Z",
	"2024-01-31T12:00:0Z",
	"2024-01-31T12:00:00.Z",
	"2024-01-31T12:00:00.",
	"2024-01-31T12:00:00,123Z",
	"2024-01-31T12:00:00.12a3Z",
	"2024-01-31T12:00:00+5:00",
	"2024-01-31T12:00:00+05",
	"2024-01-31T12:00:00+05:0",
	"2024-01-31T12:00:00+050",
	"2024-01-31T12:00:00+05:00:00",
	"2024-01-31T12:00:00+24:00",
	"2024-01-31T12:00:00+05:60",
	"2024-01-31T12:00:00+05:00Z",
	"2024-01-31T12:00:00Z+05:00",
	"2024-01-31T12:00:00+05:00 ",
	"2024-01-31T12:00:00 +05:00",
	"2024-01-31T12:00:00UTC",
	"2024-01-31T12:00:00GMT",
	"2024-01-31T12:00:00+",
	"2024-01-31T12:00:00-",
	"2024-01-31T12:00:00Z\xff",
	"N/A",
	"not_supported",
	"no_information",
	"\xd9\xa2\xd9\xa0\xd9\xa2\xd9\xa4-01-31T12:00:00Z",
};

static void test_iso8601_parse_good(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(iso_good); i++) {
		time_t t = 42;
		if (iso8601_parse(iso_good[i].in, &t))
			fail_msg("rejected '%s'", iso_good[i].in);
		if ((long long)t != iso_good[i].want)
			fail_msg("'%s': got %lld, want %lld", iso_good[i].in, (long long)t,
				 iso_good[i].want);
	}
}

static void test_iso8601_parse_bad(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(iso_bad); i++) {
		time_t t = 42;
		if (!iso8601_parse(iso_bad[i], &t))
			fail_msg("accepted '%s' as %lld", iso_bad[i], (long long)t);
		assert_int_equal(t, 42); /* untouched on error */
	}
	assert_int_equal(iso8601_parse(NULL, NULL), -1);
}

static void test_iso8601_parse_all_days(void **state)
{
	/* every day of a leap cycle and a half, checked against the epoch */
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	long long want = -2203891200LL - 59 * 86400LL; /* 1900-01-01 */
	int y, m, d;

	for (y = 1900; y <= 2110; y++) {
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		for (m = 1; m <= 12; m++) {
			int n = mdays[m - 1] + (m == 2 && leap);
			for (d = 1; d <= n + 1; d++) {
				char buf[64];
				time_t t;
				int ok;

				snprintf(buf, sizeof(buf), "%04d-%02d-%02dT00:00:00Z", y, m, d);
				ok = !iso8601_parse(buf, &t);
				if (d > n) {
					if (ok)
						fail_msg("accepted '%s'", buf);
					continue;
				}
				if (!ok || (long long)t != want)
					fail_msg("'%s': ok %d, got %lld, want %lld", buf, ok,
						 (long long)t, want);
				want += 86400;
			}
		}
	}
}

/* A value and the text a formatter appends for it. */
struct format_case {
	long long value;
	const char *want;
};

/* FORMAT appends each of the N CASES' text to what the buffer already holds. */
static void check_formatter(void (*format)(struct strbuf *, long long),
			    const struct format_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addstr(&sb, "> ");
		format(&sb, cases[i].value);
		assert_memory_equal(sb.buf, "> ", 2);
		assert_string_equal(sb.buf + 2, cases[i].want);
		strbuf_release(&sb);
	}
}

static const struct format_case iso_fmt[] = {
	{ 0, "1970-01-01T00:00:00Z" },
	{ -1, "1969-12-31T23:59:59Z" },
	{ 1706702400, "2024-01-31T12:00:00Z" },
	{ 1661944233, "2022-08-31T11:10:33Z" },
	{ 1709164800, "2024-02-29T00:00:00Z" },
	{ 2147483647LL, "2038-01-19T03:14:07Z" },
	{ 2147483648LL, "2038-01-19T03:14:08Z" },
	{ 4294967296LL, "2106-02-07T06:28:16Z" },
	{ -2147483648LL, "1901-12-13T20:45:52Z" },
	{ -11670953104LL, "1600-02-29T12:34:56Z" },
	{ 253402300799LL, "9999-12-31T23:59:59Z" },
	{ 253402300800LL, "10000-01-01T00:00:00Z" },
	{ -62167219200LL, "0000-01-01T00:00:00Z" },
	{ -62167219201LL, "-0001-12-31T23:59:59Z" },
	{ INT64_MAX, "292277026596-12-04T15:30:07Z" },
	{ INT64_MIN, "-292277022657-01-27T08:29:52Z" },
};

static void format_iso8601(struct strbuf *sb, long long t)
{
	iso8601_format(sb, (time_t)t);
}

static void test_iso8601_format(void **state)
{
	check_formatter(format_iso8601, iso_fmt, ARRAY_SIZE(iso_fmt));
}

static void test_iso8601_roundtrip(void **state)
{
	long long t;

	/* format then parse gives the same second, before 1970 and past 2038 */
	for (t = -62167219200LL; t <= 253402300799LL; t += 7777777 + 13) {
		struct strbuf sb = STRBUF_INIT;
		time_t back;

		iso8601_format(&sb, (time_t)t);
		if (iso8601_parse(sb.buf, &back) || (long long)back != t)
			fail_msg("%lld -> '%s' does not parse back", t, sb.buf);
		strbuf_release(&sb);
	}
}

static const struct {
	long long t;
	int y, mo, d, h, mi, s;
} civil[] = {
	{ 0, 1970, 1, 1, 0, 0, 0 },
	{ -1, 1969, 12, 31, 23, 59, 59 },
	{ -86400, 1969, 12, 31, 0, 0, 0 },
	{ -86401, 1969, 12, 30, 23, 59, 59 },
	{ 1706702400, 2024, 1, 31, 12, 0, 0 },
	{ 1709164800, 2024, 2, 29, 0, 0, 0 },
	{ 951782400, 2000, 2, 29, 0, 0, 0 },
	{ 2147483648LL, 2038, 1, 19, 3, 14, 8 },
	{ 4107542400LL, 2100, 3, 1, 0, 0, 0 },
	{ -2203891200LL, 1900, 3, 1, 0, 0, 0 },
	{ -11670953104LL, 1600, 2, 29, 12, 34, 56 },
	{ 253402300799LL, 9999, 12, 31, 23, 59, 59 },
	{ -62167219200LL, 0, 1, 1, 0, 0, 0 },
	{ -62167219201LL, -1, 12, 31, 23, 59, 59 },
};

static void test_utc_civil(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(civil); i++) {
		int y, mo, d, h, mi, s;

		utc_civil((time_t)civil[i].t, &y, &mo, &d, &h, &mi, &s);
		if (y != civil[i].y || mo != civil[i].mo || d != civil[i].d || h != civil[i].h ||
		    mi != civil[i].mi || s != civil[i].s)
			fail_msg("%lld: got %d-%d-%d %d:%d:%d", civil[i].t, y, mo, d, h, mi, s);
		assert_int_equal((long long)utc_from_civil(civil[i].y, civil[i].mo, civil[i].d,
							   civil[i].h, civil[i].mi, civil[i].s),
				 civil[i].t);
	}
}

static void test_utc_civil_extremes(void **state)
{
	int y, mo, d, h, mi, s;

	utc_civil(T_INT64_MAX, &y, &mo, &d, &h, &mi, &s);
	assert_int_equal(y, INT_MAX); /* clamped */
	assert_int_equal(mo, 12);
	assert_int_equal(d, 4);
	assert_int_equal(h, 15);
	assert_int_equal(mi, 30);
	assert_int_equal(s, 7);
	utc_civil(T_INT64_MIN, &y, &mo, &d, &h, &mi, &s);
	assert_true(y == INT_MIN);
	assert_int_equal(mo, 1);
	assert_int_equal(d, 27);
	assert_int_equal(h, 8);
	assert_int_equal(mi, 29);
	assert_int_equal(s, 52);
}

static void test_utc_civil_every_day(void **state)
{
	/* walk day by day from 0000-01-01 to 2500-12-31 */
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	long long day = -719528; /* 0000-01-01 */
	int y = 0, m = 1, d = 1;

	while (y <= 2500) {
		int gy, gm, gd, h, mi, s, leap, n;
		long long t = day * 86400 + 86399;

		utc_civil((time_t)t, &gy, &gm, &gd, &h, &mi, &s);
		if (gy != y || gm != m || gd != d || h != 23 || mi != 59 || s != 59)
			fail_msg("day %lld: got %d-%d-%d, want %d-%d-%d", day, gy, gm, gd, y, m, d);
		if ((long long)utc_from_civil(y, m, d, 23, 59, 59) != t)
			fail_msg("utc_from_civil(%d-%d-%d) is wrong", y, m, d);
		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		n = mdays[m - 1] + (m == 2 && leap);
		day++;
		if (++d > n) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
}

static void test_utc_from_civil_normalises(void **state)
{
	assert_int_equal((long long)utc_from_civil(2024, 13, 1, 0, 0, 0),
			 (long long)utc_from_civil(2025, 1, 1, 0, 0, 0));
	assert_int_equal((long long)utc_from_civil(2024, 0, 1, 0, 0, 0),
			 (long long)utc_from_civil(2023, 12, 1, 0, 0, 0));
	assert_int_equal((long long)utc_from_civil(2024, -11, 1, 0, 0, 0),
			 (long long)utc_from_civil(2023, 1, 1, 0, 0, 0));
	assert_int_equal((long long)utc_from_civil(2024, 3, 0, 0, 0, 0),
			 (long long)utc_from_civil(2024, 2, 29, 0, 0, 0));
	assert_int_equal((long long)utc_from_civil(2024, 1, 1, 25, 0, 0),
			 (long long)utc_from_civil(2024, 1, 2, 1, 0, 0));
	assert_int_equal((long long)utc_from_civil(2024, 1, 1, 0, 0, -1),
			 (long long)utc_from_civil(2023, 12, 31, 23, 59, 59));
	assert_int_equal((long long)utc_from_civil(1970, 1, 1, 0, 0, 0), 0);
}

static const struct {
	long long a, b;
	long want;
} days[] = {
	{ 0, 0, 0 },
	{ 0, 86399, 0 },
	{ 0, 86400, 1 },
	{ 86399, 86400, 0 },
	{ 0, -1, -1 },
	{ 0, -86400, -1 },
	{ 0, -86401, -2 },
	{ 86400, 0, -1 },
	{ 1, 0, -1 },
	{ -86400, 0, 1 },
	{ -1, 86398, 0 },
	{ -1, 86399, 1 },
	{ 1706702400, 1706702400 + 90 * 86400, 90 },
	{ 1706702400, 1706702400 + 90 * 86400 - 1, 89 },
	{ 1706702400 + 90 * 86400, 1706702400, -90 },
	{ 1706702400 + 90 * 86400 - 1, 1706702400, -90 },
	{ 0, 4294967296LL, 49710 },
	{ -2203891200LL, 4107542400LL, 73049 },
	{ INT64_MIN, INT64_MAX, 213503982334601L },
	{ INT64_MAX, INT64_MIN, -213503982334602L },
	{ INT64_MAX, INT64_MAX, 0 },
	{ INT64_MIN, INT64_MIN, 0 },
};

static void test_days_between(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(days); i++) {
		long got = days_between((time_t)days[i].a, (time_t)days[i].b);
		if (got != days[i].want)
			fail_msg("days_between(%lld, %lld) = %ld, want %ld", days[i].a, days[i].b,
				 got, days[i].want);
	}
}

static const struct {
	const char *in;
	long long want;
} dur_good[] = {
	{ "90d", 90 * 86400LL },
	{ "12h", 12 * 3600 },
	{ "2w", 14 * 86400 },
	{ "30m", 1800 },
	{ "45s", 45 },
	{ "90", 90 * 86400LL },
	{ "1", 86400 },
	{ "0", 0 },
	{ "0d", 0 },
	{ "0s", 0 },
	{ "0w", 0 },
	{ "007d", 7 * 86400 },
	{ "00000000000000000000000000001s", 1 },
	{ "1000000d", DURATION_MAX_SECONDS },
	{ "1000000", DURATION_MAX_SECONDS },
	{ "86400000000s", DURATION_MAX_SECONDS },
	{ "1440000000m", DURATION_MAX_SECONDS },
	{ "24000000h", DURATION_MAX_SECONDS },
	{ "142857w", 142857 * 7 * 86400LL },
};

#define SYNTAX ": use a number followed by s, m, h, d or w (plain numbers are days)"
#define TOO_LARGE ": too large (at most 1000000 days)"

static const struct text_case dur_bad[] = {
	{ "", "invalid duration ''" SYNTAX },
	{ "-1d", "invalid duration '-1d'" SYNTAX },
	{ "+1d", "invalid duration '+1d'" SYNTAX },
	{ "-0", "invalid duration '-0'" SYNTAX },
	{ "1.5d", "invalid duration '1.5d'" SYNTAX },
	{ "1,5d", "invalid duration '1,5d'" SYNTAX },
	{ "d", "invalid duration 'd'" SYNTAX },
	{ "h", "invalid duration 'h'" SYNTAX },
	{ "90x", "invalid duration '90x'" SYNTAX },
	{ "90dd", "invalid duration '90dd'" SYNTAX },
	{ "90ds", "invalid duration '90ds'" SYNTAX },
	{ " 90d", "invalid duration ' 90d'" SYNTAX },
	{ "90d ", "invalid duration '90d '" SYNTAX },
	{ "90 d", "invalid duration '90 d'" SYNTAX },
	{ "90D", "invalid duration '90D'" SYNTAX },
	{ "90H", "invalid duration '90H'" SYNTAX },
	{ "1d12h", "invalid duration '1d12h'" SYNTAX },
	{ "0x10", "invalid duration '0x10'" SYNTAX },
	{ "1e3", "invalid duration '1e3'" SYNTAX },
	{ "90days", "invalid duration '90days'" SYNTAX },
	{ "9\n", "invalid duration '9?'" SYNTAX },
	{ "99999999999999999999d", "invalid duration '99999999999999999999d'" TOO_LARGE },
	{ "99999999999999999999", "invalid duration '99999999999999999999'" TOO_LARGE },
	{ "9223372036854775807s", "invalid duration '9223372036854775807s'" TOO_LARGE },
	{ "9223372036854775808s", "invalid duration '9223372036854775808s'" TOO_LARGE },
	{ "1000001d", "invalid duration '1000001d'" TOO_LARGE },
	{ "1000001", "invalid duration '1000001'" TOO_LARGE },
	{ "86400000001s", "invalid duration '86400000001s'" TOO_LARGE },
	{ "142858w", "invalid duration '142858w'" TOO_LARGE },
	{ "99999999999999999999x", "invalid duration '99999999999999999999x'" SYNTAX },
};

static void test_duration_parse_good(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dur_good); i++) {
		struct strbuf err = STRBUF_INIT;
		long long secs = -1;

		if (duration_parse(dur_good[i].in, &secs, &err))
			fail_msg("rejected '%s': %s", dur_good[i].in, err.buf);
		if (secs != dur_good[i].want)
			fail_msg("'%s': got %lld, want %lld", dur_good[i].in, secs,
				 dur_good[i].want);
		assert_int_equal(err.len, 0);
		strbuf_release(&err);
	}
}

static void test_duration_parse_bad(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dur_bad); i++) {
		struct strbuf err = STRBUF_INIT;
		long long secs = 42;

		if (!duration_parse(dur_bad[i].in, &secs, &err))
			fail_msg("accepted '%s' as %lld", dur_bad[i].in, secs);
		assert_string_equal(err.buf, dur_bad[i].want);
		assert_null(strchr(err.buf, '\n'));
		assert_int_equal(secs, 42);
		/* a NULL err is fine too */
		assert_int_equal(duration_parse(dur_bad[i].in, &secs, NULL), -1);
		strbuf_release(&err);
	}
}

static void test_duration_parse_long_text(void **state)
{
	struct strbuf in = STRBUF_INIT, err = STRBUF_INIT, want = STRBUF_INIT;
	long long secs;
	int i;

	for (i = 0; i < 100; i++)
		strbuf_addch(&in, 'x');
	assert_int_equal(duration_parse(in.buf, &secs, &err), -1);
	/* the text is cut after 64 bytes to keep the message readable */
	strbuf_addf(&want, "invalid duration '%.64s...'" SYNTAX, in.buf);
	assert_string_equal(err.buf, want.buf);
	strbuf_release(&want);
	strbuf_reset(&err);
	strbuf_addstr(&err, "earlier: ");
	assert_int_equal(duration_parse("", &secs, &err), -1);
	assert_string_equal(err.buf, "earlier: invalid duration ''" SYNTAX);
	assert_int_equal(duration_parse(NULL, &secs, NULL), -1);
	strbuf_release(&in);
	strbuf_release(&err);
}

static const struct format_case dur_fmt[] = {
	{ 0, "0s" },
	{ 1, "1s" },
	{ 45, "45s" },
	{ 60, "1m" },
	{ 1800, "30m" },
	{ 3600, "1h" },
	{ 43200, "12h" },
	{ 86400, "1d" },
	{ 90 * 86400LL, "90d" },
	{ 14 * 86400LL, "14d" },
	{ 129600, "1d12h" },
	{ 90061, "1d1h1m1s" },
	{ 86401, "1d1s" },
	{ 3661, "1h1m1s" },
	{ DURATION_MAX_SECONDS, "1000000d" },
	{ -45, "-45s" },
	{ -129600, "-1d12h" },
	{ INT64_MAX, "106751991167300d15h30m7s" },
	{ INT64_MIN, "-106751991167300d15h30m8s" },
};

static void test_duration_format(void **state)
{
	check_formatter(duration_format, dur_fmt, ARRAY_SIZE(dur_fmt));
}

static void test_duration_roundtrip(void **state)
{
	/* every single-unit format parses back */
	static const long long secs[] = { 0,	1,     59,	     60,
					  3600, 86400, 90 * 86400LL, DURATION_MAX_SECONDS };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(secs); i++) {
		struct strbuf sb = STRBUF_INIT;
		long long back = -1;

		duration_format(&sb, secs[i]);
		assert_int_equal(duration_parse(sb.buf, &back, NULL), 0);
		assert_int_equal(back, secs[i]);
		strbuf_release(&sb);
	}
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_iso8601_parse_good),
	cmocka_unit_test(test_iso8601_parse_bad),
	cmocka_unit_test(test_iso8601_parse_all_days),
	cmocka_unit_test(test_iso8601_format),
	cmocka_unit_test(test_iso8601_roundtrip),
	cmocka_unit_test(test_utc_civil),
	cmocka_unit_test(test_utc_civil_extremes),
	cmocka_unit_test(test_utc_civil_every_day),
	cmocka_unit_test(test_utc_from_civil_normalises),
	cmocka_unit_test(test_days_between),
	cmocka_unit_test(test_duration_parse_good),
	cmocka_unit_test(test_duration_parse_bad),
	cmocka_unit_test(test_duration_parse_long_text),
	cmocka_unit_test(test_duration_format),
	cmocka_unit_test(test_duration_roundtrip),
};

UNIT_TEST_MAIN(tests)
