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
#include "cmd/cli.h"
#include "core/shard.h"

struct aws_client;

#define ORG_DEFAULT_ROLE "OrganizationAccountAccessRole"
#define ORG_SESSION_NAME "iamkeys"

struct org_opts {
	/* the options (OPT_ORG) */
	int org;
	const char *accounts;
	const char *accounts_file;
	const char *role_name;
	const char *role_arn; /* a template with {account} */
	const char *external_id;
	const char *shard;
	/* filled by org_check */
	int enabled;		  /* one of --org, --accounts, --accounts-file */
	struct shard sh;	  /* count 0 = no --shard */
	struct account_list list; /* --accounts / --accounts-file */
};

#define OPT_ORG(o)                                                                                  \
	{ "org", 0, OPT_BOOL, &(o).org, NULL, "every ACTIVE account of the organization (run from the management account)", 0 }, \
	{ "accounts", 0, OPT_STRING, &(o).accounts, "ID,...", "these accounts (12-digit ids, comma-separated)", 0 }, \
	{ "accounts-file", 0, OPT_STRING, &(o).accounts_file, "FILE", "the accounts in FILE (one id a line, # comments)", 0 }, \
	{ "role-name", 0, OPT_STRING, &(o).role_name, "NAME", "role assumed in each account (default " ORG_DEFAULT_ROLE ")", 0 }, \
	{ "role-arn", 0, OPT_STRING, &(o).role_arn, "TEMPLATE", "role ARN with {account}, instead of --role-name", 0 }, \
	{ "external-id", 0, OPT_STRING, &(o).external_id, "ID", "ExternalId for AssumeRole", 0 }, \
	{ "shard", 0, OPT_STRING, &(o).shard, "I/N", "only shard I of N of the accounts (a stable hash of the id)", 0 }

/*
 * Checks the options before any AWS call and reads --accounts-file.
 * Returns -1 to go on (as cli_parse), or CMD_USAGE after printing one line.
 */
int org_check(struct cli *cli, struct org_opts *o);
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
 * each, `parallel` accounts at once. 0 when the accounts ran (some may have
 * failed: run->nfailed), -1 after printing the error when no account could
 * be run (no credentials, ListAccounts or GetCallerIdentity failed).
 */
int org_run(struct cli *cli, const struct org_opts *o, int parallel, org_account_fn fn,
	    void *ctx, struct org_run *run);
/* One "iamkeys: error: account ID: ..." line per failed account, in account order. */
void org_report_failures(const struct org_run *run);
/* CMD_FAILED when every account failed, CMD_PARTIAL when some did, else rc. */
int org_exit_code(const struct org_run *run, int rc);
/* free_result (may be NULL) is called for every non-NULL result. */
void org_run_release(struct org_run *run, void (*free_result)(void *));

/* {"AccountId", "ACCOUNT"} followed by cols[0..n). Caller frees. */
struct out_column *org_columns(const struct out_column *cols, size_t n);
/* [{"AccountId": ..., "Error": ...}] of the failed accounts (new reference). */
json_t *org_failed_json(const struct org_run *run);

#endif
