/*
 * The command-line side of --org / --accounts / --accounts-file (see
 * orgcmd.h; the accounts run in engine/org.c).
 */
#include "core/compat.h"
#include "aws/readfile.h"
#include "cmd/orgcmd.h"

/* IAM role names and paths: letters, digits and +=,.@_- with '/' between path parts. */
static int role_name_valid(const char *s)
{
	size_t len = strlen(s);
	const char *p;

	if (!len || len > 512 || s[0] == '/' || s[len - 1] == '/')
		return 0;
	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("+=,.@_-/", *p))
			return 0;
	return !strstr(s, "//");
}

int org_check(struct cli *cli, struct org_opts *o)
{
	struct strbuf err = STRBUF_INIT, text = STRBUF_INIT, arn = STRBUF_INIT;
	int sources = !!o->org + !!o->accounts + !!o->accounts_file;
	int rc = CMD_USAGE;

	o->enabled = sources > 0;
	if (sources > 1)
		return usage_error(cli, "--org, --accounts and --accounts-file do not go together");
	if (!o->enabled) {
		const struct {
			const char *value, *name;
		} needs_accounts[] = {
			{ o->role_name, "--role-name" },
			{ o->role_arn, "--role-arn" },
			{ o->external_id, "--external-id" },
			{ o->shard, "--shard" },
		};
		size_t i;
		for (i = 0; i < ARRAY_SIZE(needs_accounts); i++)
			if (needs_accounts[i].value)
				return usage_error(cli,
						   "%s needs --org, --accounts or --accounts-file",
						   needs_accounts[i].name);
		return CMD_CONTINUE;
	}
	if (o->role_name && o->role_arn)
		return usage_error(cli, "--role-name and --role-arn do not go together");
	if (o->role_name && !role_name_valid(o->role_name))
		return usage_error(cli,
				   "invalid --role-name '%s': a role name (with an optional "
				   "path, e.g. audit/iamkeys)",
				   o->role_name);
	if (o->role_arn) {
		if (strncmp(o->role_arn, "arn:", 4) || !strstr(o->role_arn, "{account}") ||
		    !strstr(o->role_arn, ":role/"))
			return usage_error(cli,
					   "invalid --role-arn '%s': use a role ARN with "
					   "{account}, e.g. arn:aws:iam::{account}:role/Audit",
					   o->role_arn);
		if (org_role_arn(o, NULL, "123456789012", &arn, &err) < 0) {
			usage_error(cli, "%s", err.buf);
			goto out;
		}
	}
	if (o->external_id && (strlen(o->external_id) < 2 || strlen(o->external_id) > 1224))
		return usage_error(cli, "invalid --external-id: 2 to 1224 characters");
	if ((o->shard && shard_parse(o->shard, &o->sh, &err) < 0) ||
	    (o->accounts && account_list_parse(&o->list, o->accounts, &err) < 0)) {
		usage_error(cli, "%s", err.buf);
		goto out;
	}
	if (o->accounts_file) {
		if (read_file_or_error(o->accounts_file, LIMIT_ACCOUNTS_FILE, "accounts file",
				       &text, &err) < 0) {
			/* no --help hint: the option was right, the file is not */
			error("%s", err.buf);
			goto out;
		}
		if (account_file_parse(&o->list, text.buf, text.len, o->accounts_file, &err) < 0) {
			error("%s", err.buf);
			goto out;
		}
		if (!o->list.n) {
			error("the accounts file '%s' lists no account", o->accounts_file);
			goto out;
		}
	}
	account_list_sort_unique(&o->list);
	rc = CMD_CONTINUE;
out:
	if (rc != CMD_CONTINUE)
		account_list_release(&o->list);
	strbuf_release(&err);
	strbuf_release(&text);
	strbuf_release(&arn);
	return rc;
}

int org_run_cli(struct cli *cli, const struct org_opts *o, int parallel, org_account_fn fn,
		void *ctx, struct org_run *run)
{
	struct strbuf err = STRBUF_INIT;
	struct aws_client *caller = cli_client(cli);
	int rc;

	if (!caller) {
		memset(run, 0, sizeof(*run));
		return -1;
	}
	rc = org_run(caller, o, parallel, fn, ctx, run, &err);
	if (rc < 0)
		error("%s", err.buf);
	strbuf_release(&err);
	return rc;
}

void org_print_count(const struct org_run *run)
{
	size_t ok = run->n - run->nfailed;

	printf("%zu account%s", ok, ok == 1 ? "" : "s");
	if (run->nfailed)
		printf(" (%zu failed)", run->nfailed);
}

void org_report_failures(const struct org_run *run)
{
	size_t i;
	for (i = 0; i < run->n; i++)
		if (run->accounts[i].failed)
			error("account %s: %s", run->accounts[i].id, run->accounts[i].error.buf);
}

int org_print_result(const struct cli *cli, const struct org_run *run, const struct out_table *t)
{
	int ret = 0;

	if (cli->fmt == OUTPUT_TABLE) {
		org_print_count(run);
		printf("\n");
	} else if (out_table_print(t, cli->fmt, &cli->style, stdout) < 0) {
		ret = -1;
	}
	fflush(stdout);
	org_report_failures(run);
	return ret;
}

int org_exit_code(const struct org_run *run, int rc)
{
	if (run->nfailed && run->nfailed == run->n)
		return CMD_FAILED;
	if (run->nfailed)
		return CMD_PARTIAL;
	return rc;
}

struct out_column *org_columns(const struct out_column *cols, size_t n)
{
	struct out_column *all = xcalloc(n + 1, sizeof(*all));
	all[0].key = "AccountId";
	all[0].title = "ACCOUNT";
	memcpy(all + 1, cols, n * sizeof(*cols));
	return all;
}
