/*
 * deactivate, delete, update (and create's records): options, checks,
 * the runs in one account or many, and the records printed.
 */
#include "core/compat.h"
#include "cmd/keycmd.h"
#include "aws/client.h"

static void print_record(const struct action_record *r, void *ctx)
{
	struct strbuf line = STRBUF_INIT;
	FILE *f = ctx;

	action_record_format(&line, r);
	fprintf(f, "%s\n", line.buf);
	fflush(f);
	strbuf_release(&line);
}

void actions_stream(struct action_ctx *a, const struct cli *cli)
{
	a->on_record = cli->fmt == OUTPUT_TABLE ? print_record : NULL;
	a->on_record_ctx = stdout;
}

int actions_begin(struct cli *cli, struct action_options *o, struct action_ctx *a)
{
	struct strbuf err = STRBUF_INIT;
	struct aws_client *c = cli_client(cli);

	memset(a, 0, sizeof(*a));
	if (!c)
		return -1;
	/* o->now stays 0: action_ctx_init takes AWS's time from GetCallerIdentity's reply */
	if (action_ctx_init(a, c, o, &err) < 0) {
		error("%s", err.buf);
		action_ctx_release(a);
		strbuf_release(&err);
		return -1;
	}
	actions_stream(a, cli);
	strbuf_release(&err);
	return 0;
}

int actions_exit_code(const struct action_ctx *a)
{
	size_t i;
	int blocked = 0;
	for (i = 0; i < a->nrecs; i++) {
		if (a->recs[i].result == ACTION_FAILED)
			return CMD_FAILED;
		blocked |= a->recs[i].result == ACTION_BLOCKED;
	}
	return blocked ? CMD_FINDINGS : CMD_OK;
}

static const struct out_column action_columns[] = {
	{ "Action", "ACTION", 0, NULL },   { "UserName", "USER", 0, NULL },
	{ "AccessKeyId", "KEY", 0, NULL }, { "Reason", "REASON", 0, NULL },
	{ "Result", "RESULT", 0, NULL },
};

/* A record's columns (action_columns), from column col0 of row. */
static void set_action_row(struct out_table *t, size_t row, size_t col0,
			   const struct action_record *r)
{
	out_set_str(t, row, col0, key_action_name(r->kind));
	out_set_str(t, row, col0 + 1, r->user);
	out_set_str(t, row, col0 + 2, r->key_id);
	out_set_str(t, row, col0 + 3, r->reason);
	out_set_str(t, row, col0 + 4, action_result_name(r->result));
}

int actions_print(const struct action_ctx *a, enum output_format fmt, const struct out_style *st,
		  FILE *f)
{
	struct out_table t;
	size_t i;
	int rc;

	if (fmt == OUTPUT_TABLE)
		return 0; /* streamed */
	out_table_init(&t, action_columns, ARRAY_SIZE(action_columns));
	for (i = 0; i < a->nrecs; i++)
		set_action_row(&t, out_table_add_row(&t), 0, &a->recs[i]);
	rc = out_table_print(&t, fmt, st, f);
	out_table_release(&t);
	return rc;
}

/* Planned records of a, added to *n. */
static void count_planned(const struct action_ctx *a, size_t *n)
{
	size_t i;
	for (i = 0; i < a->nrecs; i++)
		*n += a->recs[i].result == ACTION_PLANNED;
}

static void print_plan_note(size_t n)
{
	if (n)
		msg_line("plan only, nothing was changed: run again with --apply to make %s %zu "
			 "change%s",
			 n == 1 ? "this" : "these", n, n == 1 ? "" : "s");
}

void actions_print_plan_note(const struct action_ctx *a)
{
	size_t n = 0;
	if (a->o.apply)
		return;
	count_planned(a, &n);
	print_plan_note(n);
}

/* deactivate, delete and update */

void key_command_init(struct key_command *kc, enum key_action_kind kind)
{
	memset(kc, 0, sizeof(*kc));
	kc->kind = kind;
	kc->older_than = -1;
	kc->unused = -1;
	kc->jobs = AUDIT_DEFAULT_JOBS;
	kc->in_use_window = DEFAULT_IN_USE_WINDOW;
	strbuf_init(&kc->ex.tagbuf, 0);
}

void key_command_release(struct key_command *kc)
{
	opt_list_release(&kc->keys);
	opt_list_release(&kc->users);
	exemption_opts_release(&kc->ex);
	org_opts_release(&kc->org);
}

/* The bulk selection from the arguments; CMD_CONTINUE to go on, or CMD_USAGE. */
static int build_selection(struct cli *cli, struct key_command *kc, struct key_selection *sel)
{
	struct audit_options *o = &sel->audit;

	memset(sel, 0, sizeof(*sel));
	audit_policy_defaults(&o->policy);
	o->policy.warn = 0;
	o->source = AUDIT_SOURCE_API; /* live data: never a report up to 4 hours old */
	o->jobs = kc->jobs;
	if (kc->users.n) {
		o->users = kc->users.items;
		o->nusers = kc->users.n;
	} else if (kc->user) {
		o->users = &kc->user;
		o->nusers = 1;
	}
	if (kc->kind == KEY_DEACTIVATE) {
		if (kc->older_than < 0 && kc->unused < 0)
			return usage_error(cli,
					   "say which keys to deactivate: --key AKIA... (with "
					   "--user), --older-than DURATION or --unused DURATION");
		if (kc->older_than >= 0) {
			o->policy.max_age = kc->older_than;
			sel->findings |= FINDING_OLD;
		}
		if (kc->unused >= 0) {
			o->policy.unused = kc->unused;
			sel->findings |= FINDING_UNUSED;
		}
	} else {
		/* delete: Inactive keys older than --older-than (the audit's inactive-stale) */
		if (kc->older_than >= 0)
			o->policy.inactive_grace = kc->older_than;
		sel->findings = FINDING_INACTIVE_STALE;
	}
	return cli_exemptions(cli, &o->policy, &kc->ex);
}

static int check_key_args(struct cli *cli, struct key_command *kc)
{
	size_t i;
	if (kc->keys.n && kc->users.n > 1)
		return usage_error(cli, "--key names keys of one user: give one --user (several "
					"are for --older-than/--unused)");
	if (kc->users.n == 1)
		kc->user = kc->users.items[0];
	for (i = 0; i < kc->keys.n; i++)
		if (!access_key_id_is_valid(kc->keys.items[i]))
			return usage_error(cli,
					   "invalid access key id '%.64s': expected AKIA or ASIA "
					   "and 16 upper-case letters or digits",
					   kc->keys.items[i]);
	if (kc->single_only && (!kc->user || !kc->keys.n))
		return usage_error(cli, "give the key to change: --user NAME --key AKIA...");
	if (kc->keys.n) {
		if (!kc->user)
			return usage_error(cli, "--key needs --user (the user the key belongs to)");
		if (kc->older_than >= 0 || kc->unused >= 0)
			return usage_error(cli, "--key cannot be combined with --older-than or "
						"--unused: name keys, or select them");
		if (exemption_opts_given(&kc->ex))
			return usage_error(cli, "exemptions apply to --older-than/--unused "
						"selection, not to keys named with --key");
	}
	return CMD_CONTINUE;
}

/* Workers for each account's scan with --org / --accounts (--jobs is the total). */
#define KEY_ACCOUNT_JOBS 4

struct key_account_ctx {
	struct cli *cli;
	enum key_action_kind kind;
	struct action_options o;
	struct key_selection sel;
};

static void free_action_ctx(void *p)
{
	action_ctx_release(p);
	free(p);
}

static int key_account(void *ctx, struct aws_client *c, struct org_account *acc, struct strbuf *err)
{
	const struct key_account_ctx *k = ctx;
	struct action_ctx *a = xcalloc(1, sizeof(*a));
	struct key_selection sel = k->sel;
	struct account_lock *lk = NULL;
	size_t selected;
	int rc;

	acc->result = a;
	if (action_ctx_init(a, c, &k->o, err) < 0)
		return -1;
	sel.audit.now = a->o.now; /* this account's AWS time */
	if (k->o.apply && cli_lock_account(k->cli, acc->id, &lk, err) < 0)
		return -1;
	rc = action_run_selection(a, k->kind, &sel, &selected, err);
	cli_unlock(lk);
	return rc;
}

/* deactivate / delete with a selector in every account of --org / --accounts. */
static int key_command_accounts(struct cli *cli, struct key_command *kc,
				const struct key_selection *sel)
{
	struct key_account_ctx k;
	struct org_run run;
	struct out_column *cols = org_columns(action_columns, ARRAY_SIZE(action_columns));
	struct out_table t;
	struct strbuf line = STRBUF_INIT;
	int rc = CMD_OK, parallel = kc->jobs / KEY_ACCOUNT_JOBS;
	size_t i, j, planned = 0, nrows = 0;

	memset(&k, 0, sizeof(k));
	k.cli = cli;
	k.kind = kc->kind;
	k.o.apply = kc->apply;
	k.o.force = kc->force;
	k.o.in_use_window = kc->in_use_window;
	k.sel = *sel;
	k.sel.audit.jobs = kc->jobs < KEY_ACCOUNT_JOBS ? kc->jobs : KEY_ACCOUNT_JOBS;
	k.sel.audit.user_may_be_missing = 1; /* --user: the accounts that have it */
	if (org_run_cli(cli, &kc->org, parallel < 1 ? 1 : parallel, key_account, &k, &run) < 0) {
		free(cols);
		return CMD_FAILED;
	}
	out_table_init(&t, cols, ARRAY_SIZE(action_columns) + 1);
	for (i = 0; i < run.n; i++) {
		const struct action_ctx *a = run.accounts[i].result;
		int arc;

		if (run.accounts[i].failed || !a)
			continue;
		arc = actions_exit_code(a);
		if (arc == CMD_FAILED || (arc == CMD_FINDINGS && rc == CMD_OK))
			rc = arc;
		count_planned(a, &planned);
		nrows += a->nrecs;
		for (j = 0; j < a->nrecs; j++) {
			size_t row;

			if (cli->fmt == OUTPUT_TABLE) {
				strbuf_reset(&line);
				action_record_format(&line, &a->recs[j]);
				printf("%s: %s\n", run.accounts[i].id, line.buf);
				continue;
			}
			row = out_table_add_row(&t);
			out_set_str(&t, row, 0, run.accounts[i].id);
			set_action_row(&t, row, 1, &a->recs[j]);
		}
	}
	if (cli->fmt == OUTPUT_TABLE && !nrows)
		printf("nothing to do: no key matches\n");
	if (org_print_result(cli, &run, &t) < 0)
		rc = CMD_FAILED;
	if (!kc->apply)
		print_plan_note(planned);
	rc = org_exit_code(&run, rc);
	out_table_release(&t);
	free(cols);
	strbuf_release(&line);
	org_run_release(&run, free_action_ctx);
	return rc;
}

int key_command_run(struct cli *cli, struct key_command *kc)
{
	struct action_options o;
	struct action_ctx a;
	struct key_selection sel;
	struct strbuf err = STRBUF_INIT;
	struct account_lock *lk = NULL;
	int rc;
	size_t i, selected = 0;

	rc = check_key_args(cli, kc);
	if (rc != CMD_CONTINUE)
		return rc;
	rc = org_check(cli, &kc->org);
	if (rc != CMD_CONTINUE)
		return rc;
	if (kc->org.enabled && kc->keys.n)
		return usage_error(cli, "--key names a key of one account: select keys with "
					"--older-than or --unused across accounts");
	if (!kc->keys.n) {
		rc = build_selection(cli, kc, &sel);
		if (rc != CMD_CONTINUE)
			return rc;
	}
	if (kc->org.enabled)
		return key_command_accounts(cli, kc, &sel);
	memset(&o, 0, sizeof(o));
	o.apply = kc->apply;
	o.force = kc->force;
	o.in_use_window = kc->in_use_window;
	if (actions_begin(cli, &o, &a) < 0)
		return CMD_FAILED;
	if (!kc->keys.n)
		sel.audit.now = a.o.now;
	if (kc->apply) {
		rc = cli_lock(cli, a.c, a.self.account, &lk);
		if (rc != CMD_OK) {
			action_ctx_release(&a);
			strbuf_release(&err);
			return rc;
		}
	}
	rc = CMD_OK;
	if (kc->keys.n) {
		for (i = 0; i < kc->keys.n; i++)
			action_change_key(&a, kc->kind, kc->user, kc->keys.items[i], NULL);
	} else if (action_run_selection(&a, kc->kind, &sel, &selected, &err) < 0) {
		error("%s", err.buf);
		rc = CMD_FAILED;
	} else if (!selected && cli->fmt == OUTPUT_TABLE) {
		printf("nothing to do: no key matches\n");
	}
	if (actions_print(&a, cli->fmt, &cli->style, stdout) < 0)
		rc = CMD_FAILED;
	if (rc == CMD_OK)
		rc = actions_exit_code(&a);
	actions_print_plan_note(&a);
	action_ctx_release(&a);
	strbuf_release(&err);
	cli_unlock(lk);
	return rc;
}

int key_command_main(struct cli *cli, struct key_command *kc, struct option *opts, int argc,
		     const char **argv)
{
	struct opt_list rest = { 0 };
	int rc = cli_parse(cli, opts, argc, argv, &rest, 0);

	opt_list_release(&rest);
	if (rc == CMD_CONTINUE)
		rc = key_command_run(cli, kc);
	key_command_release(kc);
	return rc;
}
