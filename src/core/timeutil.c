#include "core/compat.h"
#include "core/timeutil.h"

/*
 * Calendar arithmetic after Howard Hinnant, "chrono-Compatible Low-Level
 * Date Algorithms" (days_from_civil / civil_from_days): proleptic Gregorian,
 * exact for every year, no tables, no gmtime. Day 0 is 1970-01-01.
 * Everything is done in long long so that every 64-bit time_t works.
 */

#define SECS_PER_DAY 86400LL

static long long floor_div(long long a, long long b)
{
	long long q = a / b;
	if ((a % b) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static long long floor_mod(long long a, long long b)
{
	long long r = a % b;
	if (r && ((r < 0) != (b < 0)))
		r += b;
	return r;
}

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = (unsigned)(y - era * 400);		       /* [0, 399] */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	       /* [0, 146096] */
	return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *year, unsigned *mon, unsigned *mday)
{
	long long era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = (unsigned)(z - era * 146097);			     /* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);		     /* [0, 365] */
	mp = (5 * doy + 2) / 153;				     /* [0, 11] */
	*mday = doy - (153 * mp + 2) / 5 + 1;			     /* [1, 31] */
	*mon = mp < 10 ? mp + 3 : mp - 9;			     /* [1, 12] */
	*year = (long long)yoe + era * 400 + (*mon <= 2);
}

static int is_leap(long long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(long long y, unsigned m)
{
	static const unsigned char mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/*
 * Splits t into whole days since the epoch and the second of the day,
 * without multiplying (t may be anywhere in the time_t range).
 */
static void split_time(time_t t, long long *days, long long *secs)
{
	long long tt = (long long)t;
	*secs = floor_mod(tt, SECS_PER_DAY);
	*days = tt / SECS_PER_DAY - (tt % SECS_PER_DAY < 0);
}

static void utc_civil_ll(time_t t, long long *year, int *mon, int *mday, int *hour, int *min,
			 int *sec)
{
	long long days, secs;
	unsigned m, d;

	split_time(t, &days, &secs);
	civil_from_days(days, year, &m, &d);
	*mon = (int)m;
	*mday = (int)d;
	*hour = (int)(secs / 3600);
	*min = (int)(secs / 60 % 60);
	*sec = (int)(secs % 60);
}

void utc_civil(time_t t, int *year, int *mon, int *mday, int *hour, int *min, int *sec)
{
	long long y;

	utc_civil_ll(t, &y, mon, mday, hour, min, sec);
	if (y > INT_MAX)
		y = INT_MAX;
	else if (y < INT_MIN)
		y = INT_MIN;
	*year = (int)y;
}

time_t utc_from_civil(int year, int mon, int mday, int hour, int min, int sec)
{
	/* Normalise the month so that e.g. month 13 is January of the next year. */
	long long y = (long long)year + floor_div((long long)mon - 1, 12);
	unsigned m = (unsigned)floor_mod((long long)mon - 1, 12) + 1;
	long long days = days_from_civil(y, m, 1) + (long long)mday - 1;

	return (time_t)(days * SECS_PER_DAY + (long long)hour * 3600 + (long long)min * 60 + sec);
}

long days_between(time_t a, time_t b)
{
	long long da, sa, db, sb, d;

	/* floor((b - a) / 86400) without computing b - a, which can overflow */
	split_time(a, &da, &sa);
	split_time(b, &db, &sb);
	d = db - da - (sb < sa);
	if (d > LONG_MAX)
		return LONG_MAX;
	if (d < LONG_MIN)
		return LONG_MIN;
	return (long)d;
}

void iso8601_format(struct strbuf *out, time_t t)
{
	long long year;
	int mon, mday, hour, min, sec;

	utc_civil_ll(t, &year, &mon, &mday, &hour, &min, &sec);
	if (year < 0)
		strbuf_addf(out, "-%04lld", -year);
	else
		strbuf_addf(out, "%04lld", year);
	strbuf_addf(out, "-%02d-%02dT%02d:%02d:%02dZ", mon, mday, hour, min, sec);
}

/* Reads exactly n digits at *p (advancing it); -1 if any is not a digit. */
static int read_digits(const char **p, int n, int *out)
{
	int v = 0;

	while (n--) {
		unsigned char c = (unsigned char)**p;
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

int iso8601_parse(const char *s, time_t *out)
{
	const char *p = s;
	int year, mon, mday, hour, min, sec, off = 0;
	long long t;

	if (!s)
		return -1;
	if (read_digits(&p, 4, &year) || expect(&p, '-') || read_digits(&p, 2, &mon) ||
	    expect(&p, '-') || read_digits(&p, 2, &mday) || expect(&p, 'T') ||
	    read_digits(&p, 2, &hour) || expect(&p, ':') || read_digits(&p, 2, &min) ||
	    expect(&p, ':') || read_digits(&p, 2, &sec))
		return -1;
	if (mon < 1 || mon > 12 || mday < 1 || hour > 23 || min > 59 || sec > 59)
		return -1;
	if ((unsigned)mday > days_in_month(year, (unsigned)mon))
		return -1;

	/* fractional seconds: any number of digits, truncated */
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}

	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;

		if (read_digits(&p, 2, &oh))
			return -1;
		if (*p == ':')
			p++;
		if (read_digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return -1;
	}
	if (*p)
		return -1;

	/* local time = UTC + offset */
	t = (long long)utc_from_civil(year, mon, mday, hour, min, sec) - off;
	if ((long long)(time_t)t != t)
		return -1;
	*out = (time_t)t;
	return 0;
}

/*
 * Appends s to sb for an error message: at most 64 bytes, control
 * characters shown as '?', so the message stays on one line.
 */
static void add_printable(struct strbuf *sb, const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (i == 64) {
			strbuf_addstr(sb, "...");
			break;
		}
		strbuf_addch(sb, iscntrl((unsigned char)s[i]) ? '?' : s[i]);
	}
}

static long long unit_seconds(char unit)
{
	switch (unit) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return SECS_PER_DAY;
	case 'w':
		return 7 * SECS_PER_DAY;
	}
	return 0;
}

int duration_parse(const char *s, long long *seconds, struct strbuf *err)
{
	const char *p = s, *digits_end;
	long long n = 0, mult = SECS_PER_DAY;

	if (!s)
		s = p = "";
	while (isdigit((unsigned char)*p))
		p++;
	digits_end = p;
	if (p == s)
		goto syntax;
	if (*p) {
		mult = unit_seconds(*p++);
		if (!mult || *p)
			goto syntax;
	}
	for (p = s; p < digits_end; p++) {
		int digit = *p - '0';
		if (n > (DURATION_MAX_SECONDS - digit) / 10)
			goto too_large;
		n = n * 10 + digit;
	}
	if (n > DURATION_MAX_SECONDS / mult)
		goto too_large;
	*seconds = n * mult;
	return 0;

syntax:
	if (err) {
		strbuf_addstr(err, "invalid duration '");
		add_printable(err, s);
		strbuf_addstr(err, "': use a number followed by s, m, h, d or w "
				   "(plain numbers are days)");
	}
	return -1;
too_large:
	if (err) {
		strbuf_addstr(err, "invalid duration '");
		add_printable(err, s);
		strbuf_addf(err, "': too large (at most %lld days)",
			    DURATION_MAX_SECONDS / SECS_PER_DAY);
	}
	return -1;
}

void duration_format(struct strbuf *out, long long seconds)
{
	static const struct {
		char unit;
		long long secs;
	} parts[] = { { 'd', SECS_PER_DAY }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	unsigned long long left;
	size_t i;

	if (!seconds) {
		strbuf_addstr(out, "0s");
		return;
	}
	if (seconds < 0) {
		strbuf_addch(out, '-');
		left = 0ULL - (unsigned long long)seconds;
	} else {
		left = (unsigned long long)seconds;
	}
	for (i = 0; i < ARRAY_SIZE(parts); i++) {
		unsigned long long n = left / (unsigned long long)parts[i].secs;
		if (!n)
			continue;
		strbuf_addf(out, "%llu%c", n, parts[i].unit);
		left -= n * (unsigned long long)parts[i].secs;
	}
}
