#ifndef IAMKEYS_CTEVENT_H
#define IAMKEYS_CTEVENT_H
/*
 * One CloudTrail event: the JSON string LookupEvents returns as each event's
 * CloudTrailEvent (pure: no I/O). Only the fields iamkeys reports are kept.
 */
#include <time.h>
#include "core/strbuf.h"

struct ct_event {
	char *event_name;    /* "ListBuckets" */
	char *event_source;  /* "s3.amazonaws.com" */
	char *region;	     /* awsRegion */
	char *source_ip;     /* sourceIPAddress: an IP, or the AWS service that called */
	char *user_agent;    /* "" when absent */
	char *access_key_id; /* userIdentity.accessKeyId; NULL when absent */
	char *error_code;    /* NULL on success */
	/* the access key id of credentials the call handed out
	 * (GetSessionToken, AssumeRole...: responseElements.credentials), or NULL */
	char *issued_key;
	time_t time; /* eventTime */
};

/*
 * Parses one CloudTrailEvent string. 0, or -1 with a one-line reason ("not
 * JSON: ...", "no eventTime") and *out left empty. eventName, eventSource
 * and eventTime are required; the others may be missing.
 */
int ct_event_parse(const char *text, size_t len, struct ct_event *out, struct strbuf *err);
void ct_event_release(struct ct_event *e);

#endif
