#ifndef IAMKEYS_ORG_H
#define IAMKEYS_ORG_H
/*
 * Many accounts in one run (docs/scale.md): --org (Organizations
 * ListAccounts, ACTIVE accounts), --accounts or --accounts-file, cut down
 * by --shard I/N; in each account the role from --role-name or --role-arn
 * is assumed from the caller's credentials (the caller's own account uses
 * them as they are), and a command's function runs once per account on a
 * pool of account workers. One account's failure is that account's error
 * line; the others go on.
 */
#include <jansson.h>
#include "core/shard.h"
#include "core/strbuf.h"

struct aws_client;

#define ORG_DEFAULT_ROLE "OrganizationAccountAccessRole"
#define ORG_SESSION_NAME "iamkeys"

struct org_opts {
	/* the options (OPT_ORG in cmd/orgcmd.h) */
	int org;
	const char *accounts;
	const char *accounts_file;
	const char *role_name;
	const char *role_arn; /* a template with {account} */
	const char *external_id;
	const char *shard;
	/* set by the command: fn gets a clone of the caller's client in every account
	 * (no role is assumed; fn makes its own sessions, e.g. AssumeRoot) */
	int caller_client;
	/* filled by org_check (cmd/orgcmd.h) */
	int enabled;		  /* one of --org, --accounts, --accounts-file */
	struct shard sh;	  /* count 0 = no --shard */
	struct account_list list; /* --accounts / --accounts-file */
};

void org_opts_release(struct org_opts *o);

/* The role ARN for an account (partition from the region). 0 / -1 with err. */
int org_role_arn(const struct org_opts *o, const char *region, const char *account,
		 struct strbuf *out, struct strbuf *err);

struct org_account {
	char id[ACCOUNT_ID_LEN + 1];
	int failed;
	struct strbuf error; /* why it failed, one line */
	void *result;	     /* the command's; it frees it */
};

struct org_run {
	struct org_account *accounts; /* sorted by id */
	size_t n;
	size_t nfailed;
	char *caller_account;
};

/*
 * Runs once per account with a client signed as that account's role (its
 * own: free to use from this thread, and to clone for more threads). Sets
 * a->result. 0, or -1 with a one-line message in err: the account failed.
 */
typedef int (*org_account_fn)(void *ctx, struct aws_client *c, struct org_account *a,
			      struct strbuf *err);

/*
 * Selects the accounts (ListAccounts, every page, ACTIVE only; or the
 * given ids), sorted, duplicates dropped, --shard applied, and runs fn for
 * each, `parallel` accounts at once, with clients made from caller. 0 when
 * the accounts ran (some may have failed: run->nfailed), -1 with err when
 * no account could be run (ListAccounts or GetCallerIdentity failed).
 */
int org_run(struct aws_client *caller, const struct org_opts *o, int parallel, org_account_fn fn,
	    void *ctx, struct org_run *run, struct strbuf *err);
/* free_result (may be NULL) is called for every non-NULL result. */
void org_run_release(struct org_run *run, void (*free_result)(void *));

/* [{"AccountId": ..., "Error": ...}] of the failed accounts (new reference). */
json_t *org_failed_json(const struct org_run *run);

#endif
