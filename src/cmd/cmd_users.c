/* iamkeys users: list every IAM user, every page (runbook step 1). */
#include "core/compat.h"
#include "cmd/commands.h"
#include "cmd/orgcmd.h"
#include "aws/iam.h"

static const struct out_column user_columns[] = {
	{ "UserName", "USER", 0, NULL },
	{ "UserId", "USER ID", 2, NULL },
	{ "Arn", "ARN", 1, NULL },
	{ "Path", "PATH", 0, NULL },
	{ "CreateDate", "CREATED", 0, NULL },
	{ "PasswordLastUsed", "PASSWORD LAST USED", 3, NULL },
};

/* Rows from column base on (1 with an AccountId column first, else 0). */
static void add_rows(struct out_table *t, const struct iam_user_list *users, size_t base,
		     const char *account)
{
	size_t i;
	for (i = 0; i < users->nusers; i++) {
		const struct iam_user *u = &users->users[i];
		size_t r = out_table_add_row(t);
		if (account)
			out_set_str(t, r, 0, account);
		out_set_str(t, r, base + 0, u->user_name);
		out_set_str(t, r, base + 1, u->user_id);
		out_set_str(t, r, base + 2, u->arn);
		out_set_str(t, r, base + 3, u->path);
		out_set_str(t, r, base + 4, u->create_date);
		out_set_str(t, r, base + 5, u->password_last_used);
	}
}

static void free_user_list(void *p)
{
	iam_user_list_release(p);
	free(p);
}

static int list_account_users(void *ctx, struct aws_client *c, struct org_account *a,
			      struct strbuf *err)
{
	struct iam_user_list *users = xcalloc(1, sizeof(*users));
	a->result = users;
	return iam_list_users(c, ctx, users, err);
}

/* users --org / --accounts: every account's users, with an AccountId column. */
static int users_of_accounts(struct cli *cli, struct org_opts *org, const char *path_prefix,
			     int jobs)
{
	struct org_run run;
	struct out_column *cols;
	struct out_table t;
	size_t i;
	int rc;

	/* one worker per account: --parallel-accounts accounts at once */
	if (org_run_cli(cli, org, jobs, list_account_users, (void *)path_prefix, &run) < 0)
		return CMD_FAILED;
	cols = org_columns(user_columns, ARRAY_SIZE(user_columns));
	out_table_init(&t, cols, ARRAY_SIZE(user_columns) + 1);
	for (i = 0; i < run.n; i++)
		if (!run.accounts[i].failed)
			add_rows(&t, run.accounts[i].result, 1, run.accounts[i].id);
	org_report_failures(&run);
	rc = out_table_print(&t, cli->fmt, &cli->style, stdout) < 0 ? CMD_FAILED : CMD_OK;
	rc = org_exit_code(&run, rc);
	out_table_release(&t);
	free(cols);
	org_run_release(&run, free_user_list);
	return rc;
}

int cmd_users(struct cli *cli, int argc, const char **argv)
{
	const char *path_prefix = NULL;
	struct org_opts org;
	int jobs = 8;
	struct option opts[] = {
		{ "path-prefix", 0, OPT_STRING, &path_prefix, "PREFIX",
		  "only users whose path starts with PREFIX (e.g. /engineering/)", 0 },
		OPT_ORG(org),
		{ "parallel-accounts", 0, OPT_INT, &jobs, "N",
		  "accounts at once with --org/--accounts (default 8)", 0 },
		OPT_COMMON(cli->g),
		OPT_TERMINATOR,
	};
	struct opt_list rest = { 0 };
	struct iam_user_list users = { 0 };
	struct out_table t;
	struct strbuf err = STRBUF_INIT;
	struct aws_client *c;
	int rc;

	memset(&org, 0, sizeof(org));
	rc = cli_parse(cli, opts, argc, argv, &rest, 0);
	opt_list_release(&rest);
	if (rc != CMD_CONTINUE)
		return rc;
	if (path_prefix && (path_prefix[0] != '/' || path_prefix[strlen(path_prefix) - 1] != '/'))
		return usage_error(cli,
				   "invalid --path-prefix '%s': it must start and end with '/'",
				   path_prefix);
	rc = org_check(cli, &org);
	if (rc != CMD_CONTINUE)
		return rc;
	if (!org.enabled && options_seen(opts, "parallel-accounts"))
		return usage_error(cli, "--parallel-accounts needs --org, --accounts or "
					"--accounts-file");
	if (org.enabled) {
		rc = users_of_accounts(cli, &org, path_prefix, jobs);
		org_opts_release(&org);
		return rc;
	}
	c = cli_client(cli);
	if (!c)
		return CMD_FAILED;
	if (iam_list_users(c, path_prefix, &users, &err) < 0) {
		error("%s", err.buf);
		strbuf_release(&err);
		iam_user_list_release(&users);
		return CMD_FAILED;
	}
	out_table_init(&t, user_columns, ARRAY_SIZE(user_columns));
	add_rows(&t, &users, 0, NULL);
	rc = out_table_print(&t, cli->fmt, &cli->style, stdout) < 0 ? CMD_FAILED : CMD_OK;
	out_table_release(&t);
	iam_user_list_release(&users);
	strbuf_release(&err);
	return rc;
}
