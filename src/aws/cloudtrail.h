#ifndef IAMKEYS_CLOUDTRAIL_H
#define IAMKEYS_CLOUDTRAIL_H
/*
 * CloudTrail LookupEvents (JSON 1.1) for one access key in the client's
 * region: every NextToken page, 50 events a page. CloudTrail allows 2
 * LookupEvents requests per second per account and region; a pacer per
 * region spaces the requests of all lookups that share it (Throttling is
 * still retried, as every call is).
 */
#include <time.h>
#include "core/strbuf.h"

struct aws_client;

#define CLOUDTRAIL_LOOKUP_INTERVAL_MS 500.0 /* 2 requests per second */
#define CLOUDTRAIL_PAGE 50
#define CLOUDTRAIL_RETENTION_DAYS 90
/* a page still throttled after the call's retries is asked again, a second apart */
#define CLOUDTRAIL_THROTTLE_RETRIES 10

struct cloudtrail_pacer {
	double last_ms; /* aws_monotonic_ms() of the last request; 0: none yet */
};

/* Called with each event's CloudTrailEvent string; non-zero stops the lookup (-1 with err). */
typedef int (*cloudtrail_event_fn)(void *ctx, const char *event, size_t len, struct strbuf *err);

/*
 * The events signed with access key key_id between start and end (epoch
 * seconds), newest first. *calls counts the requests. 0, or -1 with a
 * one-line message (AccessDenied: c's last_error has the code).
 */
int cloudtrail_lookup_key(struct aws_client *c, struct cloudtrail_pacer *pacer, const char *key_id,
			  time_t start, time_t end, cloudtrail_event_fn fn, void *ctx,
			  unsigned long *calls, struct strbuf *err);

#endif
