#ifndef IAMKEYS_TIMEUTIL_H
#define IAMKEYS_TIMEUTIL_H
/* Pure UTC time helpers (no gmtime/localtime, no TZ). */
#include <time.h>
#include "core/strbuf.h"

/*
 * Parses ISO 8601 / RFC 3339 as AWS sends it: "2024-01-31T12:00:00Z",
 * with fractional seconds of any length ("...00.123Z", truncated), or with
 * an offset ("+00:00", "-05:00", "+0000"). Returns 0 and *out (seconds since
 * the epoch, UTC) or -1. Strict: exactly YYYY-MM-DDTHH:MM:SS, an upper-case
 * 'T' and 'Z', a real calendar date (no Feb 29 outside leap years), hour
 * 0-23, second 0-59 (no leap second), nothing after the zone; NULL is -1.
 */
int iso8601_parse(const char *s, time_t *out);
/*
 * Appends t as "2024-01-31T12:00:00Z". Any time_t works: years before 0
 * are written "-0001-...", years past 9999 with more digits.
 */
void iso8601_format(struct strbuf *out, time_t t);
/*
 * Broken-down UTC without gmtime (proleptic Gregorian, any time_t; mon
 * 1-12, mday 1-31; a year beyond the range of int is clamped).
 */
void utc_civil(time_t t, int *year, int *mon, int *mday, int *hour, int *min, int *sec);
/*
 * The inverse of utc_civil. Fields out of range are carried over (month 13
 * is January of the next year, mday 0 the last day of the month before).
 */
time_t utc_from_civil(int year, int mon, int mday, int hour, int min, int sec);
/*
 * Whole days from a to b: floor((b - a) / 86400), so one second before a
 * is -1. Never overflows, whatever a and b are.
 */
long days_between(time_t a, time_t b);

/*
 * Durations: "90d", "12h", "2w", "30m", "45s", or plain days ("90").
 * Digits then at most one lower-case unit, nothing else: "0d" and "0" are
 * valid (zero). Anything else (empty, sign, space, fraction, unknown or
 * repeated unit, compound "1d12h", more than DURATION_MAX_SECONDS) is -1
 * with a one-line message appended to err (when err is not NULL) naming
 * the text, e.g. "invalid duration '90x': use a number followed by s, m,
 * h, d or w (plain numbers are days)".
 */
#define DURATION_MAX_SECONDS (1000000LL * 86400) /* a million days */
int duration_parse(const char *s, long long *seconds, struct strbuf *err);
/*
 * Appends "90d", "12h", "1d12h", "45s" style text, for messages (days, hours,
 * minutes, seconds; no weeks). 0 is "0s"; negative values get a '-'.
 */
void duration_format(struct strbuf *out, long long seconds);

#endif
