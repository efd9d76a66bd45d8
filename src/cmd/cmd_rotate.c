/*
 * iamkeys rotate: the whole runbook as a reconciler (see rotate.c);
 * iamkeys rotate --self: the caller's own key in its credentials profile;
 * iamkeys rollback: reactivate the old key of a deactivated rotation.
 */
#include "core/compat.h"
#include "aws/readfile.h"
#include "cmd/commands.h"
#include "engine/rotate.h"
#include "cmd/notifycmd.h"
#include "cmd/orgcmd.h"
#include "engine/selfrotate.h"
#include "engine/trace.h"
#include "aws/client.h"
#include "aws/iam.h"
#include "core/awsconfig.h"
#include "core/planfile.h"
#include "core/timeutil.h"
#include "aws/process.h"
#include "sinks/sink.h"

static const char *const step_marks[] = {
	[STEP_PLANNED] = "",	    [STEP_DONE] = "done",	[STEP_FAILED] = "FAILED",
	[STEP_REFUSED] = "REFUSED", [STEP_SKIPPED] = "skipped",
};

struct report_counts {
	size_t users, acted, blocked, nothing, failed, exempt, stopped, not_started;
};

/* Whether the user's line already says the first clause of a step's reason
 * ("key AKIA... is 95 days old" of "key AKIA... is 95 days old: create..."). */
static int reason_said(const struct rotate_user *ru, const struct rot_action *a)
{
	struct strbuf first = STRBUF_INIT;
	int said;

	strbuf_add(&first, a->reason.buf, strcspn(a->reason.buf, ":"));
	said = first.len && strstr(ru->reason.buf, first.buf) != NULL;
	strbuf_release(&first);
	return said;
}

/* The stage a user is in now: the plan's, moved on by the steps done. */
static enum rotation_stage stage_now(const struct rotate_user *ru)
{
	enum rotation_stage stage = ru->stage;
	size_t j;
	for (j = 0; j < ru->nsteps; j++) {
		const struct rotate_step *st = &ru->steps[j];
		struct rotation_tag t;
		struct strbuf e = STRBUF_INIT;
		if (st->state != STEP_DONE)
			continue;
		if (st->a.kind == ROT_TAG && !rotation_tag_parse(st->a.tag_value.buf, &t, &e))
			stage = t.stage;
		else if (st->a.kind == ROT_CREATE)
			stage = STAGE_DELIVERED;
		else if (st->a.kind == ROT_UNTAG)
			stage = STAGE_IDLE;
		strbuf_release(&e);
	}
	return stage;
}

/* One user's line (and its steps); with account, the line starts with it. */
static void print_user(const struct rotate_user *ru, int all, int apply, const char *account,
		       struct report_counts *n)
{
	size_t j;
	const char *what;
	n->users++;
	if (ru->stopped)
		n->stopped++;
	else if (ru->failed)
		n->failed++;
	else if (ru->outcome == ROT_BLOCKED)
		n->blocked++;
	else if (ru->outcome == ROT_ACT)
		n->acted++;
	else if (ru->exempt)
		n->exempt++;
	else
		n->nothing++;
	if (!all && ru->outcome == ROT_NOTHING && !ru->failed)
		return;
	what = ru->stopped		    ? "stopped"
	       : ru->failed		    ? "failed"
	       : ru->outcome == ROT_BLOCKED ? "blocked"
	       : ru->outcome == ROT_ACT	    ? (apply ? "rotated" : "plan")
					    : "nothing to do";
	printf("%s%s%s [%s] %s: %s\n", account ? account : "", account ? " " : "", ru->user,
	       rotation_stage_name(ru->stopped ? stage_now(ru) : ru->stage), what, ru->reason.buf);
	for (j = 0; j < ru->nsteps; j++) {
		const struct rotate_step *st = &ru->steps[j];
		struct strbuf d = STRBUF_INIT;
		rotate_describe_action(&d, &st->a, ru->sink);
		printf("  %zu. %s", j + 1, d.buf);
		/* the step's why, unless the user's line says it already */
		if (st->a.reason.len && !reason_said(ru, &st->a))
			printf(": %s", st->a.reason.buf);
		if (st->state != STEP_PLANNED)
			printf(" -> %s%s%s", step_marks[st->state], st->detail.len ? ": " : "",
			       st->detail.buf);
		putchar('\n');
		strbuf_release(&d);
	}
	/* a run may be stopped (or killed) at any time: what was done is out already */
	fflush(stdout);
}

static void print_users(const struct rotate_report *r, int all, int apply, const char *account,
			struct report_counts *n)
{
	size_t i;
	for (i = 0; i < r->n; i++)
		print_user(&r->users[i], all, apply, account, n);
	n->not_started += r->not_started;
}

static void print_totals(const struct report_counts *n, int apply)
{
	printf("%zu user%s: %zu %s, %zu blocked, %zu failed, %zu exempt, %zu with nothing to do",
	       n->users, n->users == 1 ? "" : "s", n->acted, apply ? "acted on" : "with a plan",
	       n->blocked, n->failed, n->exempt, n->nothing);
	if (n->stopped || n->not_started)
		printf(", %zu stopped, %zu not started", n->stopped, n->not_started);
	printf("%s\n", apply || !n->acted ? "" : " (dry run: nothing changed; add --apply)");
}

static void print_report(const struct rotate_report *r, int all, int apply)
{
	struct report_counts n;
	memset(&n, 0, sizeof(n));
	print_users(r, all, apply, NULL, &n);
	print_totals(&n, apply);
}

/* rotate_options.user_done for the table: each user's line as soon as it is done. */
struct stream_ctx {
	int all, apply;
	struct report_counts n;
};

static void stream_user(void *arg, const struct rotate_user *ru)
{
	struct stream_ctx *s = arg;
	print_user(ru, s->all, s->apply, NULL, &s->n);
}

/* rotate_options.stop: a SIGINT/SIGTERM, or the account's lock no longer certain. */
static int should_stop(void *arg)
{
	return interrupt_signal() || !account_lock_valid(arg);
}

/*
 * After a run that stopped early: one line saying why, where each user
 * stopped, and how to go on. The cmd_result.
 */
static int report_stopped(const struct rotate_report *r, const char *account)
{
	struct strbuf sb = STRBUF_INIT;
	int sig = interrupt_signal();
	size_t i;

	if (sig)
		strbuf_addf(&sb, "interrupted by %s", interrupt_name(sig));
	else
		strbuf_addf(&sb,
			    "the lease of account %s was lost (taken over, or not renewed "
			    "in time)",
			    account ? account : "?");
	strbuf_addstr(&sb, ": stopped before the next step");
	for (i = 0; i < r->n; i++)
		if (r->users[i].stopped)
			strbuf_addf(&sb, "; %s stopped in stage %s", r->users[i].user,
				    rotation_stage_name(stage_now(&r->users[i])));
	strbuf_addf(&sb, "; %zu user%s not started; run 'rotate --apply' again to go on",
		    r->not_started, r->not_started == 1 ? "" : "s");
	error("%s", sb.buf);
	strbuf_release(&sb);
	return sig ? CMD_INTERRUPTED : CMD_FAILED;
}

static int report_exit(const struct rotate_report *r)
{
	size_t i;
	for (i = 0; i < r->n; i++)
		if (r->users[i].failed || r->users[i].outcome == ROT_BLOCKED)
			return CMD_FINDINGS;
	return CMD_OK;
}

static int write_plan(const char *path, json_t *doc, int overwrite, struct strbuf *err)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int rc;
	if (!text) {
		strbuf_addstr(err, "cannot encode the plan");
		return -1;
	}
	/* not secret, but written atomically like everything else */
	rc = sink_write_file(path, text, strlen(text), overwrite, path, err);
	free(text);
	return rc;
}

/* rotate --self: the caller's lock, taken before anything changes */
struct self_ctx {
	struct cli *cli;
	struct account_lock *lk;
};

static void self_client_made(void *ctx, struct aws_client *c)
{
	(void)ctx;
	cli_watch_clock(c);
}

static int self_before_change(void *ctx, struct aws_client *c, const char *account)
{
	struct self_ctx *x = ctx;
	int rc = cli_lock(x->cli, c, account, &x->lk);
	return rc == CMD_OK ? 0 : rc;
}

static json_t *json_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/*
 * rotate --self --output json: one object, the same facts as the text lines
 * (errors too, so a script reads one document); the exit code is the same.
 */
static int print_self_json(const struct self_rotate_result *r, const struct strbuf *err)
{
	static const char *const outcomes[] = { "planned", "done", "blocked", "failed" };
	const char *outcome = r->refused ? "refused" : outcomes[r->outcome];
	json_t *doc = json_object();
	int rc;

	json_object_set_new(doc, "User", json_str_or_null(r->user));
	json_object_set_new(doc, "OldKey", json_str_or_null(r->old_key));
	json_object_set_new(doc, "NewKey", json_str_or_null(r->new_key));
	json_object_set_new(doc, "Target", json_str_or_null(r->target));
	json_object_set_new(doc, "Outcome", json_string(outcome));
	json_object_set_new(doc, "Error",
			    err->len && !r->refused ? json_string(err->buf) : json_null());
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(doc);
	switch (r->outcome) {
	case SELF_PLANNED:
	case SELF_DONE:
		rc = CMD_OK;
		break;
	case SELF_BLOCKED:
		rc = CMD_FINDINGS;
		break;
	default:
		rc = r->refused ? r->refused : CMD_FAILED;
		break;
	}
	return rc;
}

/* rotate --self: the caller's own key, in its credentials profile (engine/selfrotate.c). */
static int rotate_self(struct cli *cli, int apply, long verify_timeout_ms, int follow_symlinks)
{
	struct self_rotate_options o;
	struct self_rotate_result r;
	struct self_ctx x = { cli, NULL };
	struct strbuf err = STRBUF_INIT;
	int rc = CMD_FAILED;

	memset(&o, 0, sizeof(o));
	o.profile = cli->g.profile;
	o.region = cli->g.region;
	o.endpoint_url = cli->g.endpoint_url;
	o.debug = cli->g.debug;
	o.apply = apply;
	o.verify_timeout_ms = verify_timeout_ms;
	o.follow_symlinks = follow_symlinks;
	o.client_made = self_client_made;
	o.before_change = self_before_change;
	o.ctx = &x;
	self_rotate(&o, &r, &err);
	if (cli->fmt == OUTPUT_JSON) {
		rc = print_self_json(&r, &err);
		goto out;
	}
	if (r.planned && r.resumed)
		printf("%s: finish an interrupted rotation of own key: %s holds the new key %s; "
		       "%s%s%s\n",
		       r.user, r.target, r.new_key, r.old_key ? "delete " : "",
		       r.old_key ? r.old_key : "the old key is gone", r.old_key ? " with it" : "");
	else if (r.planned)
		printf("%s: rotate own key %s: create a new key, write %s, wait until it works, "
		       "delete %s with the new key\n",
		       r.user, r.old_key, r.target, r.old_key);
	switch (r.outcome) {
	case SELF_PLANNED:
		printf("dry run: nothing changed; add --apply\n");
		rc = CMD_OK;
		break;
	case SELF_DONE:
		if (r.resumed)
			printf("%s: finished the interrupted rotation: %s in %s; %s\n", r.user,
			       r.new_key, r.target,
			       r.old_key ? "old key deleted" : "old key was gone");
		else
			printf("%s: rotated %s -> %s in %s; old key deleted\n", r.user, r.old_key,
			       r.new_key, r.target);
		rc = CMD_OK;
		break;
	case SELF_BLOCKED:
		error("%s", err.buf);
		rc = CMD_FINDINGS;
		break;
	case SELF_FAILED:
		if (r.refused) {
			rc = r.refused; /* cli_lock printed why */
			break;
		}
		error("%s", err.buf);
		break;
	}
out:
	self_rotate_result_release(&r);
	cli_unlock(x.lk);
	strbuf_release(&err);
	return rc;
}

static void free_rotate_report(void *p)
{
	rotate_report_release(p);
	free(p);
}

/* What each account's rotation gets: the options, and with --plan the saved plan. */
struct rotate_org_ctx {
	struct cli *cli;
	const struct rotate_options *o;
	json_t *plan; /* --plan: Users rows carrying their AccountId; NULL without */
};

/* The trace gate fell back to GetAccessKeyLastUsed alone: said once per run. */
static void warn_gate_denied(void)
{
	warning("cloudtrail:LookupEvents is denied: old keys were checked with "
		"GetAccessKeyLastUsed alone before deactivation (it can lag by hours)");
}

static int rotate_account(void *ctx, struct aws_client *c, struct org_account *a,
			  struct strbuf *err)
{
	const struct rotate_org_ctx *x = ctx;
	struct rotate_report *r = xcalloc(1, sizeof(*r));
	struct rotate_options o = *x->o;
	struct account_lock *lk = NULL;
	json_t *mine = NULL;
	int rc;

	a->result = r;
	if (o.apply && cli_lock_account(x->cli, a->id, &lk, err) < 0)
		return -1;
	o.stop = should_stop;
	o.stop_arg = lk;
	if (x->plan) {
		/* this account's rows of the plan, and nothing else */
		json_t *users = json_array(), *ju;
		size_t i;
		json_array_foreach(json_object_get(x->plan, "Users"), i,
				   ju) if (!strcmp(json_string_value(json_object_get(ju,
										     "AccountId")),
						   a->id)) json_array_append(users, ju);
		mine = json_pack("{s:i, s:s, s:o}", "Version", 1, "Account", a->id, "Users", users);
		o.plan_in = mine;
	}
	rc = rotate_run(c, &o, r, err);
	json_decref(mine);
	cli_unlock(lk);
	return rc;
}

/* The plan's accounts that were not run (not selected, or no such account): one line each. */
static int plan_accounts_not_run(json_t *plan, const struct org_run *run)
{
	json_t *ju;
	size_t i, j, missing = 0;
	struct strbuf said = STRBUF_INIT;

	json_array_foreach(json_object_get(plan, "Users"), i, ju)
	{
		const char *id = json_string_value(json_object_get(ju, "AccountId"));
		int found = 0;
		for (j = 0; j < run->n && !found; j++)
			found = !strcmp(run->accounts[j].id, id);
		if (found || strstr(said.buf, id))
			continue;
		strbuf_addf(&said, "%s ", id);
		error("account %s: in the plan, but not among the selected accounts: nothing was "
		      "done there",
		      id);
		missing++;
	}
	strbuf_release(&said);
	return missing > 0;
}

/*
 * rotate --org / --accounts: every account in turn of the workers, rows
 * with their account; --plan-out writes the rows of every account, --plan
 * gives each account its own rows.
 */
static int rotate_accounts(struct cli *cli, struct org_opts *org, const struct rotate_options *o,
			   int jobs, int all, const char *plan_out, int plan_overwrite)
{
	struct org_run run;
	struct report_counts n;
	struct rotate_org_ctx x = { cli, o, o->plan_in };
	json_t *doc = NULL, *users = NULL;
	struct strbuf err = STRBUF_INIT;
	int rc = CMD_OK, missing = 0, stopped = 0, denied = 0;
	size_t i, j;

	if (org_run_cli(cli, org, jobs, rotate_account, &x, &run) < 0)
		return CMD_FAILED;
	memset(&n, 0, sizeof(n));
	if (cli->fmt == OUTPUT_JSON || plan_out) {
		struct strbuf sb = STRBUF_INIT;
		iso8601_format(&sb, aws_client_now(cli->client));
		doc = json_object();
		users = json_array();
		json_object_set_new(doc, "Version", json_integer(1));
		json_object_set_new(doc, "GeneratedAt", json_string(sb.buf));
		strbuf_release(&sb);
	}
	for (i = 0; i < run.n; i++) {
		const struct rotate_report *r = run.accounts[i].result;
		if (run.accounts[i].failed)
			continue;
		if (report_exit(r) != CMD_OK)
			rc = CMD_FINDINGS;
		if (users) {
			json_t *one = rotate_report_json(r, r->now), *ju;
			json_array_foreach(json_object_get(one, "Users"), j, ju)
			{
				json_t *row = json_object();
				json_object_set_new(row, "AccountId",
						    json_string(run.accounts[i].id));
				json_object_update(row, ju);
				json_array_append_new(users, row);
			}
			json_decref(one);
		}
		if (cli->fmt != OUTPUT_JSON)
			print_users(r, all, o->apply, run.accounts[i].id, &n);
	}
	for (i = 0; i < run.n; i++) {
		const struct rotate_report *r = run.accounts[i].result;
		if (!run.accounts[i].failed && r && r->stopped)
			stopped = report_stopped(r, run.accounts[i].id);
		if (!run.accounts[i].failed && r)
			denied |= r->trace_gate_denied;
	}
	if (denied)
		warn_gate_denied();
	org_report_failures(&run);
	if (o->plan_in)
		missing = plan_accounts_not_run(o->plan_in, &run);
	if (doc) {
		json_object_set_new(doc, "Users", users);
		json_object_set_new(doc, "FailedAccounts", org_failed_json(&run));
		if (plan_out && write_plan(plan_out, doc, plan_overwrite, &err) < 0) {
			error("cannot write the plan: %s", err.buf);
			rc = CMD_FAILED;
		}
		if (cli->fmt == OUTPUT_JSON) {
			struct rotate_report gate = { .trace_gate = o->ntrace_regions > 0 ||
								    o->trace_all_regions,
						      .trace_gate_denied = denied };
			json_object_set_new(doc, "DeactivateGate",
					    json_string(rotate_gate_name(&gate)));
			json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
		}
		json_decref(doc);
	}
	if (cli->fmt != OUTPUT_JSON) {
		org_print_count(&run);
		printf(", ");
		print_totals(&n, o->apply);
	}
	if (rc != CMD_FAILED) {
		rc = org_exit_code(&run, rc);
		if (missing && rc != CMD_FAILED)
			rc = CMD_PARTIAL;
	}
	if (stopped)
		rc = stopped;
	strbuf_release(&err);
	org_run_release(&run, free_rotate_report);
	return rc;
}

/* The first section of c with a 'to' setting, as "[user NAME]"; 0 if none has one. */
static int conf_section_with_to(const struct rotconf *c, struct strbuf *out)
{
	static const char *const kinds[] = { "default", "account", "tag", "user" };
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct rotconf_section *sec = &c->sections[i];
		if (!sec->s.to)
			continue;
		strbuf_addf(out, "[%s", kinds[sec->kind]);
		if (sec->name)
			strbuf_addf(out, " %s%s%s", sec->name, sec->tag_value ? "=" : "",
				    sec->tag_value ? sec->tag_value : "");
		strbuf_addch(out, ']');
		return 1;
	}
	return 0;
}

/* What rotate's options set, and what its run holds until cmd_rotate returns. */
struct rotate_cmd {
	struct cli *cli;
	const struct option *opts;
	struct rotate_options o;
	struct opt_list users, rest;
	struct exemption_opts ex;
	const char *config, *plan_out, *plan_in;
	char *default_config;
	long long verify_timeout;
	int apply, self, all, overwrite, jobs, resume, abort_, force;
	int follow_symlinks, trace_gate, no_trace_gate;
	const char *trace_regions_arg;
	char *trace_regions_copy;
	const char **trace_regions;
	size_t ntrace;
	struct notify_opts notify;
	long long warn;
	struct org_opts org;
	struct rotconf conf;
	struct rotate_report r;
	struct strbuf err, text;
	json_t *plan_doc;
	struct account_lock *lk;
};

/* The modes (--plan, --plan-out, --abort, --resume, --self) and where secrets go; 0 or -1 (said). */
static int check_modes(struct rotate_cmd *x)
{
	struct cli *cli = x->cli;
	struct rotate_options *o = &x->o;

	if (cli->fmt == OUTPUT_CSV) {
		usage_error(cli, "rotate prints a table or json, not csv");
		return -1;
	}
	if (x->plan_in && !x->apply) {
		usage_error(cli,
			    "--plan FILE is for --apply (without it, run rotate to see a plan)");
		return -1;
	}
	if (x->plan_in && x->plan_out) {
		usage_error(cli, "--plan and --plan-out do not go together");
		return -1;
	}
	if (x->plan_in && x->users.n) {
		usage_error(cli,
			    "--plan takes no --user: a plan names its users (drop rows to leave "
			    "users out)");
		return -1;
	}
	if (x->abort_ && x->resume) {
		usage_error(cli, "--abort and --resume do not go together");
		return -1;
	}
	if (x->force && !x->abort_) {
		usage_error(cli, "--force is for --abort");
		return -1;
	}
	if ((x->abort_ || x->resume) && (x->users.n != 1 || x->plan_in || x->plan_out || x->self)) {
		usage_error(cli, "--%s needs one --user NAME, and no --self or plan files",
			    x->abort_ ? "abort" : "resume");
		return -1;
	}
	if (x->self && (x->users.n || x->plan_in || x->plan_out || o->cli.to || x->config)) {
		usage_error(cli, "--self takes no --user, --to, --config or plan files");
		return -1;
	}
	if (!x->config && !o->cli.to && !x->self) {
		/* unattended runs: the per-user, then the system configuration file */
		x->default_config = cli_default_config("rotate.conf");
		x->config = x->default_config;
	}
	if (!x->self && !x->plan_in && !x->abort_ && !x->resume && !o->cli.to && !x->config) {
		usage_error(cli,
			    "say where new secrets go: --to SINK, or --config FILE with a 'to' "
			    "setting (or ~/.config/iamkeys/rotate.conf, /etc/iamkeys/rotate.conf)");
		return -1;
	}
	if (o->cli.to && !strcmp(o->cli.to, "-") && !x->users.n) {
		usage_error(cli, "--to - prints secrets on standard output: name the users with "
				 "--user (every due user's secret would be printed)");
		return -1;
	}
	if (x->overwrite && !x->plan_out) {
		usage_error(cli, "--overwrite is for --plan-out (sinks always replace the user's "
				 "secret)");
		return -1;
	}
	if (x->plan_out && !x->overwrite && access(x->plan_out, F_OK) == 0) {
		usage_error(cli, "--plan-out '%s' exists: add --overwrite to replace it",
			    x->plan_out);
		return -1;
	}
	return 0;
}

/* --trace-regions LIST into x->trace_regions ('all' waits for the client); 0 or -1 (said). */
static int parse_trace_regions(struct rotate_cmd *x)
{
	const char *bad = NULL;

	if (x->trace_gate && x->no_trace_gate) {
		usage_error(x->cli, "--trace-gate and --no-trace-gate do not go together");
		return -1;
	}
	if (x->no_trace_gate && x->trace_regions_arg) {
		usage_error(x->cli, "--trace-regions is for the trace gate (drop --no-trace-gate)");
		return -1;
	}
	x->trace_gate = !x->no_trace_gate; /* on by default */
	if (x->trace_regions_arg && strcmp(x->trace_regions_arg, "all")) {
		x->trace_regions_copy = xstrdup(x->trace_regions_arg);
		if (cli_region_list(x->trace_regions_copy, &x->trace_regions, &x->ntrace, &bad) <
		    0) {
			if (*bad)
				usage_error(x->cli,
					    "invalid --trace-regions '%s': '%s' is not a region",
					    x->trace_regions_arg, bad);
			else
				usage_error(x->cli, "invalid --trace-regions '%s': no region",
					    x->trace_regions_arg);
			return -1;
		}
	}
	x->o.trace_regions = x->trace_regions;
	x->o.ntrace_regions = x->ntrace;
	return 0;
}

/* Exemptions, --notify, --warn, --all, --follow-symlinks, --verify-timeout, --trace-regions
 * into x->o; 0 or -1 (said). */
static int check_settings(struct rotate_cmd *x)
{
	struct cli *cli = x->cli;
	struct rotate_options *o = &x->o;

	if (cli_exemptions(cli, &o->exempt, &x->ex) != CMD_CONTINUE)
		return -1;
	if (x->notify.targets.n &&
	    (x->self || x->org.enabled || x->abort_ || x->resume || !x->apply)) {
		usage_error(cli, "--notify is for rotate --apply of one account (no --self, "
				 "--abort or --resume)");
		return -1;
	}
	if (notify_opts_check(cli, &x->notify) != CMD_CONTINUE)
		return -1;
	if (options_seen(x->opts, "warn") && !x->notify.targets.n) {
		usage_error(cli, "--warn is for --notify (audit --warn shows expiring keys)");
		return -1;
	}
	if (x->all && cli->fmt == OUTPUT_JSON) {
		usage_error(cli, "--all is for table output (json lists every user)");
		return -1;
	}
	if (x->follow_symlinks && o->cli.to && !x->config && strncmp(o->cli.to, "profile:", 8)) {
		usage_error(cli, "--follow-symlinks is for a profile: sink");
		return -1;
	}
	o->users = x->users.items;
	o->nusers = x->users.n;
	o->apply = x->apply;
	o->follow_symlinks = x->follow_symlinks;
	if (x->verify_timeout < 1 || x->verify_timeout > ROTATION_VERIFY_MAX) {
		usage_error(cli,
			    "--verify-timeout must be between 1s and %ds: a new key is "
			    "verified and delivered within %ds of the intent mark, or deleted",
			    ROTATION_VERIFY_MAX, ROTATION_DELIVER_BY);
		return -1;
	}
	o->verify_timeout_ms = (long)x->verify_timeout * 1000;
	return parse_trace_regions(x);
}

/* --org / --accounts against the other options, and --to's syntax; CMD_CONTINUE or the exit code. */
static int check_accounts(struct rotate_cmd *x)
{
	struct cli *cli = x->cli;
	struct rotate_options *o = &x->o;
	int rc;

	rc = org_check(cli, &x->org);
	if (rc != CMD_CONTINUE)
		return rc;
	if (!x->org.enabled && options_seen(x->opts, "parallel-accounts"))
		return usage_error(cli, "--parallel-accounts needs --org, --accounts or "
					"--accounts-file");
	if (x->org.enabled && x->notify.targets.n)
		return usage_error(cli,
				   "--notify is for rotate --apply of one account (no --org or "
				   "--accounts)");
	if (x->org.enabled && (x->self || x->abort_ || x->resume))
		return usage_error(cli, "--org, --accounts and --accounts-file take no --self, "
					"--abort or --resume");
	if (x->org.enabled && o->cli.to &&
	    (!strncmp(o->cli.to, "file:", 5) || !strncmp(o->cli.to, "profile:", 8)) &&
	    !strstr(o->cli.to, "{account}"))
		return usage_error(cli,
				   "--to '%s' needs {account} with several accounts: users of "
				   "the same name would share it",
				   o->cli.to);
	o->skip_missing_users = x->org.enabled;
	o->local_sinks_need_account = x->org.enabled;
	if (o->cli.to) {
		/* the spec's syntax (and an ssm: or secretsmanager: name's), before any AWS call */
		struct sink_context probe;
		struct sink *k;
		memset(&probe, 0, sizeof(probe));
		probe.user = "user";
		probe.account = "123456789012";
		k = sink_new(o->cli.to, &probe, &x->err);
		if (!k)
			return usage_error(cli, "invalid --to '%s': %s", o->cli.to, x->err.buf);
		sink_free(k);
	}
	return CMD_CONTINUE;
}

/* Reads and checks --config (or the default file) into x->conf; CMD_CONTINUE or CMD_USAGE. */
static int read_config(struct rotate_cmd *x)
{
	const char *config = x->config;

	if (read_file_or_error(config, LIMIT_ROTATE_CONFIG, NULL, &x->text, &x->err) < 0 ||
	    rotconf_parse(&x->conf, x->text.buf, x->text.len, config, &x->err) < 0) {
		error("%s", x->err.buf);
		return CMD_USAGE;
	}
	x->o.conf = &x->conf;
	strbuf_reset(&x->text);
	if (x->o.cli.to && conf_section_with_to(&x->conf, &x->text))
		/* the command line wins: the file's sinks would never be used */
		return usage_error(x->cli,
				   "--to and the 'to' of %s in '%s' do not go together: "
				   "--to would replace it for every user",
				   x->text.buf, config);
	if (!x->o.cli.to && !x->self && !x->plan_in && !x->abort_ && !x->resume &&
	    !conf_section_with_to(&x->conf, &x->text))
		return usage_error(x->cli,
				   "say where new secrets go: '%s' has no 'to' setting "
				   "(add 'to = SINK' to it, or give --to SINK)",
				   config);
	return CMD_CONTINUE;
}

/* Reads --plan FILE into x->plan_doc and x->o.plan_in; CMD_CONTINUE or CMD_USAGE. */
static int read_plan(struct rotate_cmd *x)
{
	strbuf_reset(&x->text);
	strbuf_reset(&x->err);
	if (read_file_or_error(x->plan_in, LIMIT_PLAN_FILE, "plan", &x->text, &x->err) < 0) {
		error("%s", x->err.buf);
		return CMD_USAGE;
	}
	x->plan_doc = plan_file_parse(x->text.buf, x->text.len, x->org.enabled, &x->err);
	if (!x->plan_doc) {
		error("cannot read the plan '%s': %s", x->plan_in, x->err.buf);
		return CMD_USAGE;
	}
	x->o.plan_in = x->plan_doc;
	return CMD_CONTINUE;
}

/*
 * The trace gate's regions: a --trace-regions list as given; by default and
 * with 'all', every region enabled for the account, which the engine reads
 * (DescribeRegions, with each account's own credentials under --org) when
 * the first old key is checked. 0 or -1.
 */
static int resolve_trace_regions(struct rotate_cmd *x, struct aws_client *c)
{
	(void)c;
	if (x->trace_gate && !x->ntrace)
		x->o.trace_all_regions = 1;
	x->o.trace_regions = x->trace_regions;
	x->o.ntrace_regions = x->ntrace;
	return 0;
}

/* Prints r as rotate's json document. */
static void print_report_json(const struct rotate_report *r)
{
	json_t *doc = rotate_report_json(r, r->now);
	json_object_set_new(doc, "DeactivateGate", json_string(rotate_gate_name(r)));
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(doc);
}

/* rotate --abort / --resume of the one --user, printed; the exit code. */
static int abort_or_resume(struct rotate_cmd *x, struct aws_client *c)
{
	if ((x->abort_ ? rotate_abort : rotate_resume)(c, &x->o, &x->r, &x->err) < 0) {
		error("%s", x->err.buf);
		return CMD_FAILED;
	}
	if (x->cli->fmt == OUTPUT_JSON)
		print_report_json(&x->r);
	else
		print_report(&x->r, 1, x->apply);
	return report_exit(&x->r);
}

/* --notify after a run of one account: each user's owner told; rc as the notifications leave it. */
static int notify_owners(struct rotate_cmd *x, struct aws_client *c, int rc)
{
	struct notify_run_options no = { 0 };

	no.warn = x->warn;
	no.rotate_after =
		x->o.cli.rotate_after >= 0 ? x->o.cli.rotate_after : x->o.policy.rotate_after;
	no.conf = x->o.conf;
	no.account = x->r.account;
	no.now = x->r.now ? x->r.now : aws_client_now(c);
	return notify_opts_run(&x->notify, c, &no, &x->r, rc);
}

/* rotate of the client's account: locked with --apply, run, --plan-out written, printed,
 * owners notified; the exit code. */
static int rotate_single(struct rotate_cmd *x, struct aws_client *c)
{
	struct rotate_options *o = &x->o;
	struct rotate_report *r = &x->r;
	struct stream_ctx stream;
	int rc = CMD_FAILED;
	size_t i;

	if (x->apply) {
		struct sts_caller_identity id = { 0 };
		if (sts_get_caller_identity(c, &id, &x->err) < 0) {
			error("%s", x->err.buf);
			return CMD_FAILED;
		}
		rc = cli_lock(x->cli, c, id.account, &x->lk);
		sts_caller_identity_release(&id);
		if (rc != CMD_OK)
			return rc;
		rc = CMD_FAILED; /* o.now stays 0: AWS's time, read after any wait for the lock */
	}
	o->stop = should_stop;
	o->stop_arg = x->lk;
	memset(&stream, 0, sizeof(stream));
	if (x->cli->fmt == OUTPUT_TABLE) {
		stream.all = x->all;
		stream.apply = x->apply;
		o->user_done = stream_user;
		o->user_done_arg = &stream;
	}
	if (rotate_run(c, o, r, &x->err) < 0) {
		error("%s", x->err.buf);
		return r->bad_plan ? CMD_USAGE : rc;
	}
	if (x->plan_out) {
		json_t *doc = rotate_report_json(r, r->now);
		strbuf_reset(&x->err);
		if (write_plan(x->plan_out, doc, x->overwrite, &x->err) < 0) {
			json_decref(doc);
			error("cannot write the plan: %s", x->err.buf);
			return rc;
		}
		json_decref(doc);
	}
	if (r->trace_gate_denied)
		warn_gate_denied();
	if (x->cli->fmt == OUTPUT_JSON) {
		print_report_json(r);
	} else {
		stream.n.not_started = r->not_started;
		print_totals(&stream.n, x->apply);
	}
	rc = report_exit(r);
	for (i = 0; i < r->n && x->apply; i++)
		if (r->users[i].failed)
			rc = CMD_FINDINGS;
	if (x->notify.targets.n)
		rc = notify_owners(x, c, rc);
	if (r->stopped)
		rc = report_stopped(r, r->account);
	return rc;
}

/* Frees what rotate's options and its run hold (the account's lock released). */
static void rotate_cmd_release(struct rotate_cmd *x)
{
	notify_opts_release(&x->notify);
	cli_unlock(x->lk);
	org_opts_release(&x->org);
	rotate_report_release(&x->r);
	FREE_ALL(x->trace_regions, x->trace_regions_copy);
	rotconf_release(&x->conf);
	free(x->default_config);
	json_decref(x->plan_doc);
	opt_list_release(&x->users);
	exemption_opts_release(&x->ex);
	opt_list_release(&x->rest);
	strbuf_release(&x->err);
	strbuf_release(&x->text);
}

int cmd_rotate(struct cli *cli, int argc, const char **argv)
{
	struct rotate_cmd x = {
		.cli = cli,
		.ex = EXEMPTION_OPTS_INIT,
		.verify_timeout = 120,
		.jobs = 8,
		.warn = 14 * 86400,
		.err = STRBUF_INIT,
		.text = STRBUF_INIT,
	};
	struct option opts[] = {
		{ "apply", 0, OPT_BOOL, &x.apply, NULL,
		  "carry out the plan (default: print it only)", 0 },
		{ "to", 0, OPT_STRING, &x.o.cli.to, "SINK",
		  "where new secrets go: file:PATH, profile:NAME[@FILE], secretsmanager:NAME, ssm:NAME, exec:CMD ({user}, {account}), or - (standard output, with --user)",
		  0 },
		{ "config", 0, OPT_STRING, &x.config, "FILE",
		  "defaults and per-user / per-tag overrides (INI)", 0 },
		{ "user", 0, OPT_STRLIST, &x.users, "NAME", "only this user (repeatable)", 0 },
		{ "rotate-after", 0, OPT_DURATION, &x.o.cli.rotate_after, "DURATION",
		  "rotate active keys older than this (default 90d)", 0 },
		{ "deactivate-after", 0, OPT_DURATION, &x.o.cli.deactivate_after, "DURATION",
		  "deactivate the old key once the new one is this old (default 7d)", 0 },
		{ "delete-after", 0, OPT_DURATION, &x.o.cli.delete_after, "DURATION",
		  "delete the old key after this long inactive (default 7d)", 0 },
		{ "max-grace", 0, OPT_DURATION, &x.o.cli.max_grace, "DURATION",
		  "deactivate the old key this long after delivery even if still used", 0 },
		{ "in-use-window", 0, OPT_DURATION, &x.o.policy.in_use_window, "DURATION",
		  "a key used this recently is in use (default 24h)", 0 },
		{ "trace-gate", 0, OPT_BOOL, &x.trace_gate, NULL,
		  "before deactivating an old key, also ask CloudTrail for its use since delivery (the default; needs cloudtrail:LookupEvents, else GetAccessKeyLastUsed alone decides, with a warning; about one call per user and region)",
		  0 },
		{ "no-trace-gate", 0, OPT_BOOL, &x.no_trace_gate, NULL,
		  "do not ask CloudTrail before deactivating: GetAccessKeyLastUsed alone decides",
		  0 },
		{ "trace-regions", 0, OPT_STRING, &x.trace_regions_arg, "all|LIST",
		  "the trace gate's regions to ask, all (the default: every region enabled for the account, from ec2:DescribeRegions, read once the first old key is checked) or a comma-separated list",
		  0 },
		{ "verify-timeout", 0, OPT_DURATION, &x.verify_timeout, "DURATION",
		  "how long to wait for a new key to work (default 120s, at most 540s)", 0 },
		{ "plan-out", 0, OPT_STRING, &x.plan_out, "FILE", "write the plan as JSON", 0 },
		{ "plan", 0, OPT_STRING, &x.plan_in, "FILE",
		  "with --apply: carry out exactly this saved plan", 0 },
		{ "self", 0, OPT_BOOL, &x.self, NULL,
		  "rotate the caller's own key in its credentials profile", 0 },
		{ "resume", 0, OPT_BOOL, &x.resume, NULL,
		  "with --user: continue a rotation paused by rollback", 0 },
		{ "abort", 0, OPT_BOOL, &x.abort_, NULL,
		  "with --user: give up the rotation, delete its new key, keep the old one", 0 },
		{ "force", 0, OPT_BOOL, &x.force, NULL,
		  "with --abort: even if the new key was used or the sink holds it", 0 },
		OPT_NOTIFY(
			x.notify,
			"with --apply: tell the key's owner about each stage: sns:TOPIC_ARN, webhook:https://..., exec:CMD (repeatable)"),
		{ "warn", 0, OPT_DURATION, &x.warn, "DURATION",
		  "--notify: due-soon when a key is this close to --rotate-after (default 14d)",
		  0 },
		OPT_EXEMPTIONS(x.ex),
		{ "all", 'a', OPT_BOOL, &x.all, NULL,
		  "table: also list users with nothing to do (json lists every user)", 0 },
		{ "overwrite", 0, OPT_BOOL, &x.overwrite, NULL,
		  "--plan-out may replace an existing file", 0 },
		{ "follow-symlinks", 0, OPT_BOOL, &x.follow_symlinks, NULL,
		  "profile: edit the file a symbolic link points to outside its directory", 0 },
		OPT_ORG(x.org),
		{ "parallel-accounts", 0, OPT_INT, &x.jobs, "N",
		  "accounts at once with --org/--accounts (default 8)", 0 },
		OPT_LOCK(cli->lock),
		OPT_COMMON_NO_CSV(cli->g),
		OPT_TERMINATOR,
	};
	struct aws_client *c;
	int rc;

	x.opts = opts;
	rot_policy_defaults(&x.o.policy);
	rotconf_settings_unset(&x.o.cli);
	audit_policy_defaults(&x.o.exempt);
	rc = cli_parse(cli, opts, argc, argv, &x.rest, 0);
	if (rc != CMD_CONTINUE)
		goto done;
	rc = CMD_USAGE;
	if (check_modes(&x) < 0 || check_settings(&x) < 0)
		goto done;
	rc = check_accounts(&x);
	if (rc != CMD_CONTINUE)
		goto done;
	if (x.config && (rc = read_config(&x)) != CMD_CONTINUE)
		goto done;
	if (x.plan_in && (rc = read_plan(&x)) != CMD_CONTINUE)
		goto done;
	rc = CMD_FAILED;
	if (x.self) {
		rc = rotate_self(cli, x.apply, x.o.verify_timeout_ms, x.follow_symlinks);
		goto done;
	}
	if (x.o.cli.to && !strcmp(x.o.cli.to, "-") && cli_stdout_for_secret_only() < 0)
		goto done;
	c = cli_client(cli);
	if (!c || resolve_trace_regions(&x, c) < 0)
		goto done;
	x.o.force = x.force;
	if (x.abort_ || x.resume)
		rc = abort_or_resume(&x, c);
	else if (x.org.enabled)
		rc = rotate_accounts(cli, &x.org, &x.o, x.jobs, x.all, x.plan_out, x.overwrite);
	else
		rc = rotate_single(&x, c);
done:
	rotate_cmd_release(&x);
	return rc;
}

int cmd_rollback(struct cli *cli, int argc, const char **argv)
{
	const char *user = NULL;
	int apply = 0, rc;
	struct option opts[] = {
		{ "user", 0, OPT_STRING, &user, "NAME",
		  "the user whose rotation to roll back (required)", 0 },
		{ "apply", 0, OPT_BOOL, &apply, NULL, "carry it out (default: print the plan)", 0 },
		OPT_LOCK(cli->lock),
		OPT_COMMON_NO_CSV(cli->g),
		OPT_TERMINATOR,
	};
	struct opt_list rest = { 0 };
	struct rotate_report r;
	struct strbuf err = STRBUF_INIT;
	struct aws_client *c;
	struct account_lock *lk = NULL;

	memset(&r, 0, sizeof(r));
	rc = cli_parse(cli, opts, argc, argv, &rest, 0);
	opt_list_release(&rest);
	if (rc != CMD_CONTINUE)
		return rc;
	if (!user)
		return usage_error(cli, "rollback needs --user NAME");
	if (cli->fmt == OUTPUT_CSV)
		return usage_error(cli, "rollback prints a table or json, not csv");
	c = cli_client(cli);
	if (!c)
		return CMD_FAILED;
	if (apply) {
		struct sts_caller_identity id = { 0 };
		if (sts_get_caller_identity(c, &id, &err) < 0) {
			error("%s", err.buf);
			strbuf_release(&err);
			return CMD_FAILED;
		}
		rc = cli_lock(cli, c, id.account, &lk);
		sts_caller_identity_release(&id);
		if (rc != CMD_OK)
			return rc;
	}
	if (rotate_rollback(c, user, apply, 0, &r, &err) < 0) {
		error("%s", err.buf);
		strbuf_release(&err);
		rotate_report_release(&r);
		cli_unlock(lk);
		return CMD_FAILED;
	}
	if (cli->fmt == OUTPUT_JSON) {
		json_t *doc = rotate_report_json(&r, r.now);
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		print_report(&r, 1, apply);
	}
	rc = report_exit(&r);
	rotate_report_release(&r);
	strbuf_release(&err);
	cli_unlock(lk);
	return rc;
}
