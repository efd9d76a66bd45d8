#ifndef IAMKEYS_REVOKE_H
#define IAMKEYS_REVOKE_H
/*
 * Incident response for an exposed access key (iamkeys revoke). The order
 * is the opposite of a rotation: stop the key now, kill what was derived
 * from it, then replace it.
 *
 *   deactivate  UpdateAccessKey Inactive at once: no in-use window, no
 *               last-key guard; never the key this run signs with
 *   deny        inline policy REVOKE_POLICY_PREFIX<T> denying * on * when
 *               aws:TokenIssueTime is before T (AWS's time, one second
 *               after the deactivation): the session credentials made
 *               from the key (GetSessionToken lives up to 36 h) stop
 *   timeline    what the key did: trace_key (engine/trace.h) over --since
 *               in the given regions, with the calls that make persistence
 *               (revoke_persistence_events) kept one by one; a read, so
 *               done in a dry run too; a failure is a warning, not a step
 *   replace     --replace --to SINK: action_create_key_secret (the create
 *               path of iamkeys create: sink preflight, create, deliver,
 *               cleanup on failure), then the new key is verified
 *   delete      --delete: DeleteAccessKey of the revoked key, once the
 *               steps asked before it are done
 *   cleanup     --cleanup-after D: DeleteUserPolicy of every deny policy
 *               of the user older than D (a later run)
 *
 * Each step first looks at the live state (ListAccessKeys, ListUserTags,
 * ListUserPolicies; for replace, what the sink holds), so a step done by a
 * run that died before recording it is recognised, not repeated; each
 * finished step is recorded in the user tag REVOKE_TAG (core/revoketag.h).
 * Without apply nothing changes: the steps are planned.
 */
#include <time.h>
#include "core/strbuf.h"
#include "engine/trace.h"

struct action_ctx;
struct sink;

enum revoke_step {
	REVOKE_DEACTIVATE,
	REVOKE_DENY,
	REVOKE_REPLACE,
	REVOKE_DELETE,
	REVOKE_CLEANUP,
};

enum revoke_result {
	REVOKE_PLANNED, /* would be done (without apply) */
	REVOKE_DONE,	/* done by this run */
	REVOKE_ALREADY, /* done before (an earlier run, or already so) */
	REVOKE_REFUSED, /* not done: detail says why and what to do */
	REVOKE_FAILED,	/* AWS or the sink failed: detail has the error */
};

/* "deactivate", "deny-sessions", "replace", "delete", "cleanup". */
const char *revoke_step_label(enum revoke_step s);
/* "planned", "done", "already-done", "refused", "failed". */
const char *revoke_result_name(enum revoke_result r);

struct revoke_options {
	const char *user;
	const char *key_id;
	struct sink *sink;	    /* --replace --to SINK; NULL: no replacement */
	int do_delete;		    /* --delete */
	long long cleanup_after;    /* seconds; 0: no cleanup */
	long verify_timeout_ms;	    /* how long a new key may take to work */
	long long since;	    /* the timeline's window, seconds back; 0: no timeline */
	const char *const *regions; /* the timeline's regions */
	size_t nregions;
};

/* The calls that create persistence, flagged first in the timeline. */
extern const char *const revoke_persistence_events[];
extern const size_t revoke_npersistence_events;

/* What the key did: its CloudTrail events (a read: with and without apply). */
struct revoke_timeline {
	int read;		   /* trace_key answered: trace holds the callers */
	int denied;		   /* AccessDenied for cloudtrail:LookupEvents */
	char *error;		   /* why there is no timeline (one line), or NULL */
	time_t start, end;	   /* the window, AWS's time */
	struct trace_result trace; /* trace.kept: the persistence calls, oldest first */
};

struct revoke_step_record {
	enum revoke_step step;
	enum revoke_result result;
	time_t at; /* AWS's time when the step was decided */
	char *detail;
};

struct revoke_report {
	char *user;
	char *key_id;
	time_t started;	   /* when the response began (the tag's at=, or now) */
	time_t finished;   /* AWS's time at the end */
	char *policy_name; /* the deny policy, NULL when none (yet) */
	char *new_key_id;  /* --replace: the key in the sink, NULL otherwise */
	struct revoke_step_record *steps;
	size_t nsteps, alloc;
	struct revoke_timeline timeline;
};

/* "done" (every asked step done), "planned", "refused", "failed". */
const char *revoke_outcome(const struct revoke_report *r);

/*
 * Runs the response for o->user's key o->key_id with a's client, options
 * (a->o.apply) and identity. Fills r (release it). 0 when it ran (see the
 * steps' results), -1 with err when it could not start (user or key not
 * found, live state unreadable): nothing was changed then.
 */
int revoke_run(struct action_ctx *a, const struct revoke_options *o, struct revoke_report *r,
	       struct strbuf *err);
void revoke_report_release(struct revoke_report *r);

#endif
