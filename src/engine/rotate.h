#ifndef IAMKEYS_ROTATE_H
#define IAMKEYS_ROTATE_H
/*
 * The rotation reconciler: reads each user's live state, plans with the
 * pure core/rotation.c, and (with apply) carries the plan out, checking
 * live state again before every change.
 */
#include <time.h>
#include <jansson.h>
#include "core/policy.h"
#include "core/rotation.h"
#include "core/rotconf.h"
#include "core/strbuf.h"
#include "core/awscreds.h"

struct aws_client;
struct trace_result;

struct rotate_user;

struct rotate_options {
	struct rot_policy policy;    /* built-in defaults or command-line values */
	struct rotconf_settings cli; /* what the command line gave explicitly (-1/NULL = not) */
	const struct rotconf *conf;  /* --config, may be NULL */
	struct audit_policy exempt;  /* the audit's exemptions */
	const char *const *users;    /* --user (NULL = every user) */
	size_t nusers;
	int apply;
	int follow_symlinks;	/* profile sinks may edit a link's target outside its directory */
	long verify_timeout_ms; /* how long to wait for a new key to work */
	time_t now;		/* 0 = AWS's time once GetCallerIdentity answered */
	json_t *plan_in;	/* --plan FILE, checked by plan_file_check: carry out a
				       user's saved steps only where they equal a fresh plan's */
	int force;		/* rotate --abort: even a used key, or one the sink holds */
	/*
	 * The deactivate gate's second witness: before an old key is
	 * deactivated, CloudTrail LookupEvents in these regions must show no
	 * event signed with it since delivery (GetAccessKeyLastUsed lags by
	 * hours). ntrace_regions 0: GetAccessKeyLastUsed only, unless
	 * trace_all_regions: every region enabled for the account, read
	 * (ec2:DescribeRegions, with this run's client) when the first old key
	 * is checked.
	 */
	const char *const *trace_regions;
	size_t ntrace_regions;
	int trace_all_regions;
	/* several accounts in one run (--org, --accounts): */
	int skip_missing_users;	      /* a --user that is not in this account is skipped */
	int local_sinks_need_account; /* file: and profile: sinks must contain {account} */
	/* asked before each user and each step: non-zero = stop there (SIGINT,
	 * SIGTERM, a lost lock); NULL = never. The step in flight completes. */
	int (*stop)(void *arg);
	void *stop_arg;
	/* called when a user is finished, so its line can go out at once; may be NULL */
	void (*user_done)(void *arg, const struct rotate_user *ru);
	void *user_done_arg;
};

enum rotate_step_state { STEP_PLANNED, STEP_DONE, STEP_FAILED, STEP_REFUSED, STEP_SKIPPED };

struct rotate_step {
	struct rot_action a;
	enum rotate_step_state state;
	struct strbuf detail; /* what happened / why refused */
};

struct rotate_user {
	char *user;
	enum rotation_stage stage;
	enum rot_outcome outcome;
	struct strbuf reason;
	char *sink; /* the expanded --to, or NULL */
	char *tag;  /* the tag value read */
	char *keys; /* "AKIA..:Active,AKIA..:Inactive" as read */
	struct rotate_step *steps;
	size_t nsteps;
	int failed; /* a step failed or was refused */
	int traced; /* the plan asked CloudTrail about the old key (the deactivate gate) */
	int exempt;
	int stopped; /* the run stopped before this user's next step (o->stop) */
	/* the old key's callers since delivery per CloudTrail (engine/trace.h),
	 * most events first, when the trace gate found it still in use; NULL
	 * otherwise. The line names the top ROTATE_CALLERS; json has them too. */
	struct trace_result *callers;
};

#define ROTATE_CALLERS 3

struct rotate_report {
	struct rotate_user *users;
	size_t n, alloc;
	char *account;
	int bad_plan;	    /* rotate_run refused the whole --plan file (exit 2) */
	time_t now;	    /* the time the plan was made with (AWS's) */
	int stopped;	    /* o->stop ended the run early */
	size_t not_started; /* the users it did not come to */
	/* cloudtrail:LookupEvents was denied: the deactivate gate fell back
	 * to GetAccessKeyLastUsed alone */
	int trace_gate_denied;
	int trace_gate; /* the gate asks CloudTrail (o->ntrace_regions) */
};

/* 0, or -1 with a one-line message (listing users, reading the caller...). */
int rotate_run(struct aws_client *c, const struct rotate_options *o, struct rotate_report *r,
	       struct strbuf *err);
/* Rollback of one user (stage deactivated → old key Active, stage delivered);
 * now 0 = AWS's time, as in rotate_options. */
int rotate_rollback(struct aws_client *c, const char *user, int apply, time_t now,
		    struct rotate_report *r, struct strbuf *err);
/*
 * rotate --resume (stage rolled-back → delivered) and rotate --abort (delete
 * the new key, keep the old one, untag) of the one user o->users[0]; abort
 * asks the user's sink (o->cli.to or o->conf) whether it holds the key to
 * delete. 0, or -1 with a one-line message.
 */
int rotate_resume(struct aws_client *c, const struct rotate_options *o, struct rotate_report *r,
		  struct strbuf *err);
int rotate_abort(struct aws_client *c, const struct rotate_options *o, struct rotate_report *r,
		 struct strbuf *err);
void rotate_report_release(struct rotate_report *r);
/* The plan (and results) as JSON, for --output json and --plan-out. */
/* The deactivate gate the run used: "last-used+cloudtrail", or "last-used" (--no-trace-gate,
 * or cloudtrail:LookupEvents denied); --output json's DeactivateGate (not in plan files: the
 * gate is decided live). */
const char *rotate_gate_name(const struct rotate_report *r);
json_t *rotate_report_json(const struct rotate_report *r, time_t now);
/*
 * STS GetCallerIdentity signed with nc until it works (IAM propagates a new
 * key after a while), with backoff, for at most timeout_ms; it must
 * authenticate as user. 0, or -1 with a one-line reason in err.
 */
int rotate_verify_key(struct aws_client *c, const char *user, const struct aws_credentials *nc,
		      long timeout_ms, struct strbuf *err);
/* Describes one action for people: "deactivate AKIA...", "tag stage=intent". */
void rotate_describe_action(struct strbuf *out, const struct rot_action *a, const char *sink);

#endif
