/*
 * delete --root: root access keys of member accounts, through AssumeRoot
 * (see rootcmd.h; the work is in engine/rootkeys.c).
 */
#include "core/compat.h"
#include "aws/msg.h"
#include "cmd/rootcmd.h"
#include "engine/lock.h"

/* Accounts at once: each makes its own few calls one after another. */
#define ROOT_ACCOUNT_JOBS 4

int root_preconditions_cli(struct aws_client *c, char **caller_account)
{
	struct root_preconditions p;
	int rc = CMD_CONTINUE;
	size_t i;

	if (caller_account)
		*caller_account = NULL;
	if (rootkeys_preconditions(c, &p) < 0) {
		for (i = 0; i < ROOT_CHECK__COUNT; i++)
			if (!p.ok[i])
				error("%s", p.why[i].buf);
		rc = CMD_FAILED;
	} else if (caller_account) {
		*caller_account = p.caller_account;
		p.caller_account = NULL;
	}
	root_preconditions_release(&p);
	return rc;
}

static void format_last_used(struct strbuf *out, const struct root_key *k, time_t now)
{
	if (!k->last_used) {
		strbuf_addstr(out, "never used");
		return;
	}
	strbuf_addstr(out, "last used ");
	format_ago(out, k->last_used, now);
	if (k->last_used_service)
		strbuf_addf(out, " (%s)", k->last_used_service);
}

static const char *key_verb(const struct root_key *k, enum root_mode mode)
{
	if (mode == ROOT_READ)
		return "root key";
	switch (k->result) {
	case ACTION_PLANNED:
		return k->active ? "would deactivate and delete" : "would delete";
	case ACTION_DONE:
		return "deleted";
	case ACTION_BLOCKED:
		return "blocked";
	case ACTION_FAILED:
		return "failed";
	default:
		return "root key";
	}
}

void root_account_format(struct strbuf *out, const struct root_account *r, enum root_mode mode)
{
	size_t i;

	if (r->skipped) {
		strbuf_addstr(out,
			      "skipped: the caller's own account (AssumeRoot reaches the other "
			      "accounts; its root keys are in its credential report)");
		return;
	}
	if (!r->nkeys) {
		strbuf_addstr(out, "no root access key");
		return;
	}
	for (i = 0; i < r->nkeys; i++) {
		const struct root_key *k = &r->keys[i];

		if (i)
			strbuf_addstr(out, "; ");
		strbuf_addf(out, "%s %s (", key_verb(k, mode), k->key_id);
		if (k->result != ACTION_DONE)
			strbuf_addstr(out, k->active ? "Active, " : "Inactive, ");
		format_last_used(out, k, r->now);
		strbuf_addch(out, ')');
		if (k->reason)
			strbuf_addf(out, ": %s", k->reason);
	}
}

static const struct out_column root_columns[] = {
	{ "AccountId", "ACCOUNT", 0, NULL },	   { "AccessKeyId", "KEY", 0, NULL },
	{ "Status", "STATUS", 0, NULL },	   { "LastUsedDate", "LAST USED", 0, NULL },
	{ "LastUsedService", "SERVICE", 0, NULL }, { "Result", "RESULT", 0, NULL },
	{ "Reason", "REASON", 0, NULL },
};

static void add_account_rows(struct out_table *t, const struct org_account *a)
{
	const struct root_account *r = a->result;
	size_t i, row;

	if (a->failed && (!r || !r->nkeys)) {
		row = out_table_add_row(t);
		out_set_str(t, row, 0, a->id);
		out_set_str(t, row, 5, "failed");
		out_set_str(t, row, 6, a->error.buf);
		return;
	}
	if (!r)
		return;
	if (r->skipped || !r->nkeys) {
		row = out_table_add_row(t);
		out_set_str(t, row, 0, a->id);
		out_set_str(t, row, 5, r->skipped ? "skipped" : "nothing-to-do");
		out_set_str(t, row, 6,
			    r->skipped ? "the caller's own account" : "no root access key");
		return;
	}
	for (i = 0; i < r->nkeys; i++) {
		const struct root_key *k = &r->keys[i];

		row = out_table_add_row(t);
		out_set_str(t, row, 0, a->id);
		out_set_str(t, row, 1, k->key_id);
		out_set_str(t, row, 2,
			    k->result == ACTION_DONE ? "Deleted"
			    : k->active		     ? "Active"
						     : "Inactive");
		out_set_str(t, row, 3, k->last_used_date);
		out_set_str(t, row, 4, k->last_used_service);
		out_set_str(t, row, 5, action_result_name(k->result));
		out_set_str(t, row, 6, k->reason);
	}
}

struct root_run_ctx {
	struct cli *cli;
	struct root_options o;
};

static void free_root_account(void *p)
{
	root_account_free(p);
}

static int root_account_fn(void *ctx, struct aws_client *c, struct org_account *a,
			   struct strbuf *err)
{
	const struct root_run_ctx *k = ctx;
	struct root_account *r = NULL;
	struct account_lock *lk = NULL;
	int rc;

	if (k->o.act.apply && !(k->o.skip_account && !strcmp(a->id, k->o.skip_account)) &&
	    cli_lock_account(k->cli, a->id, &lk, err) < 0)
		return -1;
	rc = rootkeys_account(c, a->id, &k->o, &r, err);
	a->result = r;
	cli_unlock(lk);
	return rc;
}

/* The options that make no sense with --root: one line, exit 2. */
static int check_root_args(struct cli *cli, const struct key_command *kc)
{
	const struct {
		int given;
		const char *name;
	} other[] = {
		{ kc->users.n > 0, "--user" },
		{ kc->keys.n > 0, "--key" },
		{ kc->older_than >= 0, "--older-than" },
		{ exemption_opts_given(&kc->ex), "exemptions" },
		{ kc->org.role_name != NULL, "--role-name" },
		{ kc->org.role_arn != NULL, "--role-arn" },
		{ kc->org.external_id != NULL, "--external-id" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(other); i++)
		if (other[i].given)
			return usage_error(
				cli,
				"%s does not go with --root (root keys are found "
				"with AssumeRoot, in each account of --org or --accounts)",
				other[i].name);
	if (!kc->org.enabled)
		return usage_error(cli, "--root needs --org, --accounts or --accounts-file: the "
					"member accounts whose root access keys to delete");
	return CMD_CONTINUE;
}

int root_delete_run(struct cli *cli, struct key_command *kc)
{
	struct root_run_ctx k;
	struct org_run run;
	struct out_table t;
	struct strbuf line = STRBUF_INIT;
	struct aws_client *c;
	char *caller_account = NULL;
	int rc, parallel = kc->jobs / ROOT_ACCOUNT_JOBS;
	size_t i, j, planned = 0, blocked = 0;

	rc = org_check(cli, &kc->org);
	if (rc != CMD_CONTINUE)
		return rc;
	rc = check_root_args(cli, kc);
	if (rc != CMD_CONTINUE)
		return rc;
	c = cli_client(cli);
	if (!c)
		return CMD_FAILED;
	rc = root_preconditions_cli(c, &caller_account);
	if (rc != CMD_CONTINUE)
		return rc;

	memset(&k, 0, sizeof(k));
	k.cli = cli;
	k.o.mode = ROOT_DELETE;
	k.o.act.apply = kc->apply;
	k.o.act.force = kc->force;
	k.o.act.in_use_window = kc->in_use_window;
	k.o.skip_account = caller_account;
	kc->org.caller_client = 1;
	if (org_run_cli(cli, &kc->org, parallel < 1 ? 1 : parallel, root_account_fn, &k, &run) <
	    0) {
		free(caller_account);
		return CMD_FAILED;
	}
	rc = CMD_OK;
	out_table_init(&t, root_columns, ARRAY_SIZE(root_columns));
	for (i = 0; i < run.n; i++) {
		const struct org_account *a = &run.accounts[i];
		const struct root_account *r = a->result;

		for (j = 0; r && j < r->nkeys; j++) {
			planned += r->keys[j].result == ACTION_PLANNED;
			blocked += r->keys[j].result == ACTION_BLOCKED;
		}
		if (cli->fmt != OUTPUT_TABLE) {
			add_account_rows(&t, a);
			continue;
		}
		if (!r || (a->failed && !r->nkeys))
			continue; /* the error line below */
		strbuf_reset(&line);
		root_account_format(&line, r, ROOT_DELETE);
		printf("%s: %s\n", a->id, line.buf);
	}
	if (org_print_result(cli, &run, &t) < 0)
		rc = CMD_FAILED;
	if (!kc->apply && planned)
		msg_line("plan only, nothing was changed: run again with --apply to make %s %zu "
			 "change%s",
			 planned == 1 ? "this" : "these", planned, planned == 1 ? "" : "s");
	if (blocked && rc == CMD_OK)
		rc = CMD_FINDINGS;
	rc = org_exit_code(&run, rc);
	out_table_release(&t);
	strbuf_release(&line);
	org_run_release(&run, free_root_account);
	free(caller_account);
	return rc;
}
