#ifndef IAMKEYS_AUDIT_H
#define IAMKEYS_AUDIT_H
/*
 * The audit scan: reads users and their keys (from the credential report
 * plus live re-reads of the candidates, or from the API for everyone),
 * applies core/policy.c, and returns one row per key. Shared by `audit`
 * and the bulk selectors of `deactivate` / `delete`.
 */
#include <time.h>
#include "core/policy.h"
#include "core/strbuf.h"

struct aws_client;
struct trace_result;

enum audit_source { AUDIT_SOURCE_REPORT, AUDIT_SOURCE_API };

struct audit_key {
	char *user;
	char *key_id; /* NULL for the root row (the report has no key ids) */
	int active;
	time_t created;	    /* 0 for the root row */
	time_t last_used;   /* 0 = never */
	char *last_service; /* NULL when never used */
	char *last_region;
	unsigned findings;
	int exempt;
	char *exempt_reason;
	int rotating; /* exempt because iamkeys is rotating the user on schedule */
	int is_root;
	char *quarantine; /* quarantined: the policy AWS attached to the user, else NULL */
	/* audit --trace: the key's callers per CloudTrail (engine/trace.h), most
	 * events first; NULL when not traced */
	struct trace_result *callers;
};

/*
 * A user whose rotation (iamkeys:rotation tag in stage delivered or
 * deactivated) is younger than this is rotating on schedule: its second
 * key and its old key are the rotation's, not findings. Older: overdue or
 * blocked, and its findings count again.
 */
#define AUDIT_ROTATION_ON_SCHEDULE (30 * 86400)

/*
 * A reused credential report may be older than a key change iamkeys made:
 * a user whose tags record one (a rotation stage entered, a create mark, a
 * KEYS_CHANGED_TAG record, core/rotation.h) at or after the report's
 * generation time minus this is read live, not from its row (AWS builds a
 * report from data that may lag by this much).
 */
#define AUDIT_REPORT_LAG (15 * 60)

/* A user left out of the scan: AWS sent data about it that does not parse. */
struct audit_skip {
	char *user;
	char *reason; /* "unparseable LastUsedDate 'x' of key AKIA... (GetAccessKeyLastUsed)" */
};

struct audit_result {
	struct audit_key *keys;
	size_t nkeys, alloc;
	struct audit_skip *skipped; /* in the order of the scan */
	size_t nskipped, alloc_skipped;
	size_t users_scanned;
	size_t keys_scanned;
	unsigned findings_count[FINDING_COUNT]; /* by bit index, non-exempt keys */
	enum audit_source source_used;
	int report_reused;	 /* a report younger than 4 hours was reused */
	size_t report_new_users; /* users newer than a reused report, read live */
	/* users of a reused report whose tags record a key change since it
	 * (AUDIT_REPORT_LAG), read live */
	size_t report_changed_users;
	int report_unparseable; /* the report did not parse: the API source was used */
	time_t report_generated;
	unsigned long api_calls;
	time_t now; /* the time ages and findings were computed at (AWS's) */
};

/*
 * Workers for the live reads. A ceiling: the pool halves its concurrency
 * when IAM throttles and grows back by one per round without throttling.
 */
#define AUDIT_DEFAULT_JOBS 32

struct audit_options {
	struct audit_policy policy;
	enum audit_source source;
	int jobs;		  /* workers for live reads */
	const char *const *users; /* only these users (nusers > 0), or every user */
	size_t nusers;
	int user_may_be_missing; /* with users: no such user is skipped, not an error */
	int all_keys;		 /* keep keys without findings in the result */
	/*
	 * The quarantined finding: ListAttachedUserPolicies of every user with
	 * keys (the report source: of every user whose report row shows a key,
	 * whose keys are then read live when AWS has quarantined it).
	 */
	int quarantine;
	/* while the workers run, after the first second, every 100 ms: done of total
	 * users; once more with total 0 when they are finished. NULL = none. */
	void (*progress)(size_t done, size_t total, void *ctx);
	void *progress_ctx;
	time_t now;	       /* 0 = AWS's time, read after the first response */
	long report_timeout_s; /* give up waiting for GenerateCredentialReport */
	/*
	 * Root keys when the credential report is not used (--source api, or the
	 * report denied or unreadable): with root_caller, a root session of
	 * root_account (AssumeRoot with the audit task policy, signed by
	 * root_caller: engine/rootkeys.h) lists them with their ids and last
	 * use; without, or when that fails (a warning), GetAccountSummary says
	 * only whether there are any.
	 */
	struct aws_client *root_caller;
	const char *root_account;
};

/*
 * Runs the scan with client c (and clones of it for the workers).
 * 0, or -1 with a one-line message in err. Rows are sorted by user name,
 * then creation date.
 */
int audit_run(struct aws_client *c, const struct audit_options *o, struct audit_result *out,
	      struct strbuf *err);
void audit_result_release(struct audit_result *r);

/* audit --trace: the callers a table line and the json name, per key */
#define AUDIT_TRACE_CALLERS 3

struct audit_trace_stats {
	size_t keys;		 /* keys traced */
	unsigned long calls;	 /* LookupEvents requests */
	unsigned long malformed; /* events whose CloudTrailEvent did not parse */
	int denied;		 /* cloudtrail:LookupEvents is denied: nothing traced */
};

/*
 * audit --trace: the CloudTrail callers (engine/trace.h) of every key of r
 * with a finding (root rows aside) between start and end in regions, one
 * key after another, each key's regions at once; one pacer per region,
 * shared by all the keys, keeps to CloudTrail's 2 LookupEvents a second.
 * 0 (a denied LookupEvents included: st->denied, no key traced), or -1
 * with a one-line message in err.
 */
int audit_trace(struct aws_client *c, struct audit_result *r, const char *const *regions,
		size_t nregions, time_t start, time_t end, struct audit_trace_stats *st,
		struct strbuf *err);

#endif
