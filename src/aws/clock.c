/*
 * Our clock. Plus the offset learnt from AWS's Date headers (aws_client_now
 * in client.c), it signs requests and dates every decision.
 *
 * Test-only knobs, read at every call, compiled in only with IAMKEYS_TESTING
 * (make, make check; not make release):
 *   IAMKEYS_TEST_NOW=2024-01-31T12:00:00Z  a fixed time (ISO 8601, as
 *                                          iso8601_parse accepts it)
 *   IAMKEYS_TEST_CLOCK_OFFSET=-3600        seconds added to the real time
 * IAMKEYS_TEST_NOW wins when both are set. An invalid value is ignored.
 * Neither is documented for users: a wrong clock breaks SigV4.
 */
#include "core/compat.h"
#include "aws/client.h"
#include "core/timeutil.h"

time_t aws_clock_now(void)
{
#ifdef IAMKEYS_TESTING
	const char *fixed = getenv("IAMKEYS_TEST_NOW");
	const char *offset = getenv("IAMKEYS_TEST_CLOCK_OFFSET");
#else
	const char *fixed = NULL, *offset = NULL;
#endif
	time_t now;

	if (fixed && *fixed && !iso8601_parse(fixed, &now))
		return now;
	now = time(NULL);
	if (offset && *offset) {
		char *end;
		long long off;

		errno = 0;
		off = strtoll(offset, &end, 10);
		if (!errno && !*end && off > -(1LL << 40) && off < (1LL << 40))
			now += (time_t)off;
	}
	return now;
}

void aws_sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

double aws_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void aws_monotonic_deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}
