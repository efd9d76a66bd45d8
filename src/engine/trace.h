#ifndef IAMKEYS_TRACE_H
#define IAMKEYS_TRACE_H
/*
 * Who calls with an access key: its CloudTrail management events
 * (LookupEvents) over a time window in a list of regions, one thread per
 * region, grouped by caller (source IP or calling AWS service, and user
 * agent). Temporary credentials the key obtained (GetSessionToken and the
 * like: their ASIA... key id in the event's response) are followed, and
 * their calls are grouped apart, marked derived. Never prints.
 */
#include <time.h>
#include <jansson.h>
#include "core/strbuf.h"

struct aws_client;
struct cloudtrail_pacer;

#define TRACE_TOP_EVENTS 3

struct trace_caller {
	char *source;	     /* sourceIPAddress: an IP, or the AWS service that called */
	char *user_agent;    /* "" when none */
	char *regions;	     /* "eu-west-1,us-east-1" (sorted) */
	char *event_sources; /* "iam.amazonaws.com,s3.amazonaws.com" (sorted) */
	char *top_events;    /* the TRACE_TOP_EVENTS most frequent: "ListBuckets:12,GetUser:3" */
	unsigned long count;
	unsigned long errors; /* events with an errorCode */
	time_t first, last;
	int derived;	   /* signed with temporary credentials obtained with the key */
	char *session_key; /* derived: their key id (GetSessionToken, AssumeRole,
			    * GetFederationToken); NULL otherwise */
};

/* One event kept whole (trace_options.keep): the calls a caller wants one by one. */
struct trace_event {
	char *name;	   /* eventName */
	char *source;	   /* sourceIPAddress, "(unknown)" when none */
	char *user_agent;  /* "" when none */
	char *region;	   /* awsRegion, "?" when none */
	char *error_code;  /* NULL on success */
	char *session_key; /* signed with a derived key: its id; NULL: the key itself */
	time_t time;
};

struct trace_options {
	const char *key_id;
	time_t start, end; /* the window, epoch seconds */
	const char *const *regions;
	size_t nregions;
	/* one per region, kept by a caller that traces several keys in a row so
	 * that all its requests keep to 2 per second per region; NULL: fresh ones */
	struct cloudtrail_pacer *pacers;
	/* event names whose events are also returned one by one (trace_result.kept) */
	const char *const *keep;
	size_t nkeep;
};

struct trace_result {
	struct trace_caller *callers; /* most events first */
	size_t ncallers;
	unsigned long events;	 /* counted events (signed with the key or a derived one) */
	unsigned long malformed; /* events whose CloudTrailEvent did not parse: left out */
	char **derived_keys;	 /* the temporary key ids followed */
	size_t nderived;
	unsigned long calls;	  /* LookupEvents requests */
	int denied;		  /* AccessDenied for cloudtrail:LookupEvents */
	struct trace_event *kept; /* the events named in keep, oldest first */
	size_t nkept;
};

/*
 * The regions of "--regions all": those enabled for the account (EC2
 * DescribeRegions), or, when ec2:DescribeRegions is denied, the ones of the
 * client's partition that need no opt-in, with a one-line note (naming the
 * permission) in note. *regions: n strings, sorted; trace_regions_free().
 * view, when not NULL: a new array of the same n pointers, for the
 * trace_options (the caller frees the array only). 0, or -1 with a
 * one-line message in err.
 */
int trace_enabled_regions(struct aws_client *c, char ***regions, const char ***view, size_t *n,
			  struct strbuf *note, struct strbuf *err);
void trace_regions_free(char **regions, size_t n);

/* 0, or -1 with a one-line message in err (r->denied set on AccessDenied). */
int trace_key(struct aws_client *c, const struct trace_options *o, struct trace_result *r,
	      struct strbuf *err);
void trace_result_release(struct trace_result *r);
/* trace_result_release, then free(r); NULL is fine. */
void trace_result_free(struct trace_result *r);

/*
 * The first max callers of r for a line: "10.0.3.7 aws-sdk-java/2.20.1 last
 * 2026-12-01T10:00:00Z; 10.0.9.1 Boto3/1.34 last ..." (the user agent's
 * first word, "-" when none).
 */
void trace_callers_describe(struct strbuf *sb, const struct trace_result *r, size_t max);
/* The same as a JSON array of {Source, UserAgent (in full), LastSeen, Events, Derived}. */
json_t *trace_callers_json(const struct trace_result *r, size_t max);

#endif
