#ifndef IAMKEYS_ORGCMD_H
#define IAMKEYS_ORGCMD_H
/*
 * The command-line side of many accounts in one run (engine/org.h): the
 * options, their checks, the run with this command's client, the failed
 * accounts' lines and the exit code.
 */
#include "cmd/cli.h"
#include "engine/org.h"

#define OPT_ORG(o)                                                                                 \
	{ "org",    0,                                                                             \
	  OPT_BOOL, &(o).org,                                                                      \
	  NULL,	    "every ACTIVE account of the organization (run from the management account)",  \
	  0 },                                                                                     \
		{ "accounts", 0,                                                                   \
		  OPT_STRING, &(o).accounts,                                                       \
		  "ID,...",   "these accounts (12-digit ids, comma-separated)",                    \
		  0 },                                                                             \
		{ "accounts-file",                                                                 \
		  0,                                                                               \
		  OPT_STRING,                                                                      \
		  &(o).accounts_file,                                                              \
		  "FILE",                                                                          \
		  "the accounts in FILE (one id a line, # comments)",                              \
		  0 },                                                                             \
		{ "role-name",                                                                     \
		  0,                                                                               \
		  OPT_STRING,                                                                      \
		  &(o).role_name,                                                                  \
		  "NAME",                                                                          \
		  "role assumed in each account (default " ORG_DEFAULT_ROLE ")",                   \
		  0 },                                                                             \
		{ "role-arn", 0,                                                                   \
		  OPT_STRING, &(o).role_arn,                                                       \
		  "TEMPLATE", "role ARN with {account}, instead of --role-name",                   \
		  0 },                                                                             \
		{ "external-id",                                                                   \
		  0,                                                                               \
		  OPT_STRING,                                                                      \
		  &(o).external_id,                                                                \
		  "ID",                                                                            \
		  "ExternalId for AssumeRole",                                                     \
		  0 },                                                                             \
	{                                                                                          \
		"shard", 0, OPT_STRING, &(o).shard, "I/N",                                         \
			"only shard I of N of the accounts (a stable hash of the id)", 0           \
	}

/*
 * Checks the options before any AWS call and reads --accounts-file.
 * Returns CMD_CONTINUE to go on (as cli_parse), or CMD_USAGE after printing one line.
 */
int org_check(struct cli *cli, struct org_opts *o);
/* org_run with the command's client; -1 after printing the error. */
int org_run_cli(struct cli *cli, const struct org_opts *o, int parallel, org_account_fn fn,
		void *ctx, struct org_run *run);
/* "N accounts" and " (K failed)" when some did, on stdout without a newline. */
void org_print_count(const struct org_run *run);
/*
 * The end of an --org run's output: the count line (org_print_count) after
 * the table format's lines, or the rows of t in the other formats; then
 * org_report_failures. -1 when t cannot be printed.
 */
int org_print_result(const struct cli *cli, const struct org_run *run, const struct out_table *t);
/* One "iamkeys: error: account ID: ..." line per failed account, in account order. */
void org_report_failures(const struct org_run *run);
/* CMD_FAILED when every account failed, CMD_PARTIAL when some did, else rc. */
int org_exit_code(const struct org_run *run, int rc);
/* {"AccountId", "ACCOUNT"} followed by cols[0..n). Caller frees. */
struct out_column *org_columns(const struct out_column *cols, size_t n);

#endif
