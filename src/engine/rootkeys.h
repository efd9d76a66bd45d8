#ifndef IAMKEYS_ROOTKEYS_H
#define IAMKEYS_ROOTKEYS_H
/*
 * Root access keys of member accounts, through AWS's centralized root
 * access: from the management or delegated-admin account, STS AssumeRoot
 * gives a short root session in a member account, limited by an AWS
 * managed task policy (IAMAuditRootUserCredentials to read root's keys,
 * IAMDeleteRootUserCredentials to deactivate and delete them).
 *
 * rootkeys_preconditions checks, before anything else, what AssumeRoot
 * needs; rootkeys_account reads (and for delete plans, then with --apply
 * deactivates and deletes) one account's root keys. The in-use guard is
 * the one of the other key actions (key_guard_check, engine/actions.h),
 * decided on AWS's time. Results are returned; nothing is printed.
 */
#include <time.h>
#include "core/strbuf.h"
#include "engine/actions.h"

struct aws_client;

/* The checks, in the order they are made and reported. */
enum root_check {
	ROOT_CHECK_ENDPOINT, /* a regional STS endpoint (AssumeRoot refuses the global one) */
	ROOT_CHECK_CALLER,   /* an IAM principal of the management or delegated-admin account */
	ROOT_CHECK_FEATURES, /* centralized root access (RootCredentialsManagement) enabled */
	ROOT_CHECK__COUNT
};

struct root_preconditions {
	int ok[ROOT_CHECK__COUNT];
	struct strbuf why[ROOT_CHECK__COUNT]; /* one line each: what failed and what to do */
	char *caller_account;
	char *organization_id; /* from ListOrganizationsFeatures, when it answered */
	unsigned features;     /* IAM_ORG_* bits */
};

/*
 * Makes every check (GetCallerIdentity, unless the STS endpoint is the
 * global one, and ListOrganizationsFeatures; no failure stops the others). 0 when all passed, -1 when some failed (out->ok and
 * out->why say which). Release out in both cases.
 */
int rootkeys_preconditions(struct aws_client *c, struct root_preconditions *out);
void root_preconditions_release(struct root_preconditions *p);

enum root_mode {
	ROOT_READ,   /* list the keys and their last use (audit) */
	ROOT_DELETE, /* and plan (and with apply: deactivate, then delete) each */
};

struct root_options {
	enum root_mode mode;
	struct action_options act; /* apply, force, in_use_window; now is set per account */
	int duration_seconds;	   /* of each root session; 0 = 900 */
	/* the caller's own account: not run (AssumeRoot reaches other accounts), skipped */
	const char *skip_account;
};

struct root_key {
	char *key_id;
	int active;
	char *create_date;    /* as AWS sent it, or NULL */
	char *last_used_date; /* NULL = never used */
	char *last_used_service;
	time_t last_used; /* 0 = never */
	/* ROOT_DELETE: planned, done, blocked or failed; ROOT_READ: ACTION_NOTHING */
	enum action_result result;
	char *reason; /* why blocked or failed, what --force overrode; may be NULL */
};

struct root_account {
	int skipped; /* skip_account: nothing was asked */
	time_t now;  /* AWS's time in the account's session */
	struct root_key *keys;
	size_t nkeys;
};

/*
 * One member account: AssumeRoot with the audit task policy, ListAccessKeys
 * of root and GetAccessKeyLastUsed of each key; for ROOT_DELETE the guard
 * of each key and, with apply, AssumeRoot with the delete task policy,
 * UpdateAccessKey (Inactive) of an Active key, then DeleteAccessKey.
 * caller signs AssumeRoot. *out is always set (free with
 * root_account_free). 0, or -1 with one line in err: the account failed
 * (AssumeRoot or a read refused, or a change failed; the keys done so far
 * are in *out).
 */
int rootkeys_account(struct aws_client *caller, const char *account, const struct root_options *o,
		     struct root_account **out, struct strbuf *err);
void root_account_free(struct root_account *r);

#endif
