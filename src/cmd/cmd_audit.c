/* iamkeys audit: find old, unused and risky access keys (runbook step 2). */
#include "core/compat.h"
#include "cmd/commands.h"
#include "cmd/notifycmd.h"
#include "aws/client.h"
#include "engine/audit.h"
#include "engine/trace.h"
#include "cmd/orgcmd.h"
#include "cmd/rootcmd.h"
#include "aws/cloudtrail.h"
#include "core/timeutil.h"

#include <jansson.h>

static const struct out_column audit_columns[] = {
	{ "UserName", "USER", 0, NULL },
	{ "AccessKeyId", "KEY", 0, NULL },
	{ "Status", "STATUS", 0, NULL },
	{ "CreateDate", "CREATED", 3, NULL },
	{ "AgeDays", "AGE", 0, "d" },
	{ "LastUsedDate", "LAST USED", 0, NULL },
	{ "LastUsedService", "SERVICE", 2, NULL },
	{ "LastUsedRegion", "REGION", 1, NULL },
	{ "Exempt", "EXEMPT", 4, NULL },
	{ "Findings", "FINDINGS", 0, NULL },
};

/*
 * The output rows of one or more results, made one at a time (out_rows)
 * rather than copied into an out_table: a large account has thousands.
 * With accounts set, an AccountId column comes first and the others move
 * one right.
 */
struct key_rows {
	const struct audit_result **results;
	const char **accounts; /* results[i]'s account id; NULL without --org */
	size_t nresults;
	enum output_format fmt;
	size_t cur, first; /* results[cur] holds rows first.. (rows come in order) */
	int csv_callers;   /* audit --trace --output csv: the trace_csv_columns too */
};

/* audit --trace --output csv: after audit_columns, a traced key's events and top callers. */
static const struct out_column trace_csv_columns[] = {
	{ "CallerEvents", "CALLER EVENTS", 0, NULL },
	{ "Callers", "CALLERS", 0, NULL },
};

static const struct audit_key *key_at(struct key_rows *kr, size_t i)
{
	if (i < kr->first)
		kr->cur = kr->first = 0;
	while (i - kr->first >= kr->results[kr->cur]->nkeys)
		kr->first += kr->results[kr->cur++]->nkeys;
	return &kr->results[kr->cur]->keys[i - kr->first];
}

static void fill_key_row(void *ctx, size_t i, struct out_table *t)
{
	struct key_rows *kr = ctx;
	struct strbuf sb = STRBUF_INIT;
	const struct audit_key *k = key_at(kr, i);
	size_t b = kr->accounts ? 1 : 0;

	if (kr->accounts)
		out_set_str(t, 0, 0, kr->accounts[kr->cur]);
	out_set_str(t, 0, b + 0, k->user);
	out_set_str(t, 0, b + 1, k->key_id);
	out_set_str(t, 0, b + 2, k->active ? "Active" : "Inactive");
	if (k->created) {
		iso8601_format(&sb, k->created);
		out_set_str(t, 0, b + 3, sb.buf);
		out_set_int(t, 0, b + 4, days_between(k->created, kr->results[kr->cur]->now));
	}
	if (k->last_used) {
		strbuf_reset(&sb);
		iso8601_format(&sb, k->last_used);
		out_set_str(t, 0, b + 5, sb.buf);
	} else if (!k->is_root) {
		out_set_str(t, 0, b + 5, kr->fmt == OUTPUT_JSON ? NULL : "never");
	}
	out_set_str(t, 0, b + 6, k->last_service);
	out_set_str(t, 0, b + 7, k->last_region);
	if (kr->fmt == OUTPUT_JSON)
		out_set_str(t, 0, b + 8, k->exempt ? k->exempt_reason : NULL);
	else
		out_set_str(t, 0, b + 8, k->exempt ? k->exempt_reason : "no");
	strbuf_reset(&sb);
	findings_format(&sb, k->findings);
	out_set_list(t, 0, b + 9, sb.buf);
	if (kr->csv_callers && k->callers) {
		out_set_int(t, 0, b + 10, (long long)k->callers->events);
		strbuf_reset(&sb);
		trace_callers_describe(&sb, k->callers, AUDIT_TRACE_CALLERS);
		out_set_str(t, 0, b + 11, sb.buf);
	}
	strbuf_release(&sb);
}

/* audit --trace, table: "  callers per CloudTrail (N events): ..." under a traced key. */
static void callers_line(void *ctx, size_t i, struct strbuf *line)
{
	const struct audit_key *k = key_at(ctx, i);
	const struct trace_result *tr = k->callers;

	if (!tr)
		return;
	if (!tr->ncallers) {
		strbuf_addstr(line, "  callers per CloudTrail: none");
		return;
	}
	strbuf_addf(line, "  callers per CloudTrail (%lu event%s): ", tr->events,
		    tr->events == 1 ? "" : "s");
	trace_callers_describe(line, tr, AUDIT_TRACE_CALLERS);
}

/* audit --trace, json: the key's "Callers". */
static void callers_member(void *ctx, size_t i, json_t *row)
{
	const struct audit_key *k = key_at(ctx, i);

	if (k->callers)
		json_object_set_new(row, "Callers",
				    trace_callers_json(k->callers, AUDIT_TRACE_CALLERS));
}

static void key_rows_init(struct out_rows *rows, struct key_rows *kr, const struct out_column *cols,
			  size_t ncols)
{
	size_t i;

	kr->cur = kr->first = 0;
	rows->cols = cols;
	rows->ncols = ncols;
	rows->nrows = 0;
	for (i = 0; i < kr->nresults; i++)
		rows->nrows += kr->results[i]->nkeys;
	rows->fill = fill_key_row;
	rows->ctx = kr;
	rows->below = callers_line;
	rows->extend = callers_member;
}

/* Users with an exempt row (an exempt key with a finding, or any key with
 * --all); rows are sorted by user. */
static size_t users_where(const struct audit_result *r, int rotating)
{
	size_t i, n = 0;

	for (i = 0; i < r->nkeys; i++)
		if (r->keys[i].exempt && r->keys[i].rotating == rotating &&
		    (i == 0 || strcmp(r->keys[i].user, r->keys[i - 1].user)))
			n++;
	return n;
}

static size_t exempt_users(const struct audit_result *r)
{
	return users_where(r, 0);
}

/* Users iamkeys is rotating on schedule (their rows are exempt, "rotating (…)"). */
static size_t rotating_users(const struct audit_result *r)
{
	return users_where(r, 1);
}

/* "1 user, 2 keys scanned (source: api" — the caller closes the parenthesis. */
static void summary_scanned_text(struct strbuf *sb, size_t users, size_t keys, const char *source)
{
	strbuf_addf(sb, "%zu user%s, %zu key%s scanned (source: %s", users, users == 1 ? "" : "s",
		    keys, keys == 1 ? "" : "s", source);
}

/* "; 2 exempt users; 1 user rotating on schedule; findings: old=3, unused=1; 12 API calls" */
static void summary_findings_text(struct strbuf *sb, const struct audit_result *r, size_t exempt,
				  size_t rotating)
{
	size_t b;
	int first = 1;
	if (exempt)
		strbuf_addf(sb, "; %zu exempt user%s", exempt, exempt == 1 ? "" : "s");
	if (rotating)
		strbuf_addf(sb, "; %zu user%s rotating on schedule", rotating,
			    rotating == 1 ? "" : "s");
	strbuf_addstr(sb, "; findings:");
	for (b = FINDING_COUNT; b-- > 0;) {
		if (!r->findings_count[b])
			continue;
		strbuf_addf(sb, "%s %s=%u", first ? "" : ",", finding_name(1u << b),
			    r->findings_count[b]);
		first = 0;
	}
	if (first)
		strbuf_addstr(sb, " none");
	strbuf_addf(sb, "; %lu API calls", r->api_calls);
}

/* "3h 12m", "45m", "20s" */
static void age_text(struct strbuf *sb, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 3600)
		strbuf_addf(sb, "%lldh %02lldm", secs / 3600, secs / 60 % 60);
	else if (secs >= 60)
		strbuf_addf(sb, "%lldm", secs / 60);
	else
		strbuf_addf(sb, "%llds", secs);
}

static void summary_text(struct strbuf *sb, const struct audit_result *r, time_t now,
			 int named_users)
{
	summary_scanned_text(sb, r->users_scanned, r->keys_scanned,
			     r->source_used == AUDIT_SOURCE_REPORT ? "report" : "api");
	if (r->source_used == AUDIT_SOURCE_REPORT && r->report_generated) {
		strbuf_addf(sb, ", %s ",
			    r->report_reused ? "reused report generated" : "generated");
		age_text(sb, (long long)(now - r->report_generated));
		strbuf_addstr(sb, " ago");
	}
	if (r->report_new_users)
		strbuf_addf(sb, ", %zu user%s newer than the report read live", r->report_new_users,
			    r->report_new_users == 1 ? "" : "s");
	if (r->report_changed_users)
		strbuf_addf(sb, ", %zu user%s changed since the report read live",
			    r->report_changed_users, r->report_changed_users == 1 ? "" : "s");
	if (named_users)
		strbuf_addstr(sb, ": --user reads the named users live");
	strbuf_addch(sb, ')');
	summary_findings_text(sb, r, exempt_users(r), rotating_users(r));
}

static json_t *summary_json(const struct audit_result *r)
{
	json_t *o = json_object(), *f = json_object();
	size_t b;
	json_object_set_new(o, "UsersScanned", json_integer((json_int_t)r->users_scanned));
	json_object_set_new(o, "KeysScanned", json_integer((json_int_t)r->keys_scanned));
	json_object_set_new(o, "Source",
			    json_string(r->source_used == AUDIT_SOURCE_REPORT ? "report" : "api"));
	json_object_set_new(o, "ExemptUsers", json_integer((json_int_t)exempt_users(r)));
	json_object_set_new(o, "RotatingUsers", json_integer((json_int_t)rotating_users(r)));
	if (r->source_used == AUDIT_SOURCE_REPORT) {
		json_object_set_new(o, "UsersNewerThanReport",
				    json_integer((json_int_t)r->report_new_users));
		json_object_set_new(o, "UsersChangedSinceReport",
				    json_integer((json_int_t)r->report_changed_users));
	}
	for (b = FINDING_COUNT; b-- > 0;)
		json_object_set_new(f, finding_name(1u << b), json_integer(r->findings_count[b]));
	json_object_set_new(o, "Findings", f);
	json_object_set_new(o, "ApiCalls", json_integer((json_int_t)r->api_calls));
	f = json_object();
	for (b = 0; b < r->nkeys; b++)
		if (r->keys[b].quarantine)
			json_object_set_new(f, r->keys[b].user, json_string(r->keys[b].quarantine));
	json_object_set_new(o, "Quarantined", f);
	return o;
}

/* One line per active key of a quarantined user: the policy, and the revoke to run. */
static void print_quarantined(const struct audit_result *r, const char *account, FILE *f)
{
	size_t i;

	for (i = 0; i < r->nkeys; i++) {
		const struct audit_key *k = &r->keys[i];
		if (!k->quarantine || !k->active || !k->key_id)
			continue;
		fprintf(f,
			"%s%s%suser %s is quarantined: AWS has attached %s (it found a key of "
			"the user exposed): iamkeys revoke --user %s --key %s --apply\n",
			account ? "account " : "", account ? account : "", account ? ": " : "",
			k->user, k->quarantine, k->user, k->key_id);
	}
}

static void free_audit_result(void *p)
{
	audit_result_release(p);
	free(p);
}

struct audit_org_ctx {
	const struct audit_options *o;
	struct aws_client *root_caller; /* --root-via assume-root: signs AssumeRoot */
	const char *caller_account;	/* its own account: no AssumeRoot there */
};

static int audit_account(void *ctx, struct aws_client *c, struct org_account *a, struct strbuf *err)
{
	const struct audit_org_ctx *x = ctx;
	struct audit_result *r = xcalloc(1, sizeof(*r));
	struct audit_options ao = *x->o;
	struct aws_client *root = NULL;
	int rc;

	a->result = r;
	if (x->root_caller && !(x->caller_account && !strcmp(a->id, x->caller_account))) {
		root = aws_client_clone(x->root_caller, err);
		if (!root)
			return -1;
		ao.root_caller = root;
		ao.root_account = a->id;
	}
	rc = audit_run(c, &ao, r, err);
	aws_client_free(root);
	return rc;
}

/* Adds r's counts to total; 1 when r's source differs from what total has seen. */
/* The progress bar on stderr: "scanning users: 120/5000", cleared at the end. */
static void print_progress(size_t done, size_t total, void *ctx)
{
	(void)ctx;
	if (total)
		fprintf(stderr, "\rscanning users: %zu/%zu", done, total);
	else
		fprintf(stderr, "\r%*s\r", 40, "");
}

/* One error line per user the scan left out (account may be NULL); CMD_FAILED if any. */
static int report_skipped(const struct audit_result *r, const char *account, int rc)
{
	size_t i;

	for (i = 0; i < r->nskipped; i++) {
		if (account)
			error("account %s: user '%s' skipped: %s", account, r->skipped[i].user,
			      r->skipped[i].reason);
		else
			error("user '%s' skipped: %s", r->skipped[i].user, r->skipped[i].reason);
		rc = CMD_FAILED;
	}
	return rc;
}

static int add_counts(struct audit_result *total, const struct audit_result *r, int first)
{
	size_t b;
	total->users_scanned += r->users_scanned;
	total->keys_scanned += r->keys_scanned;
	total->api_calls += r->api_calls;
	total->report_new_users += r->report_new_users;
	total->report_changed_users += r->report_changed_users;
	for (b = 0; b < FINDING_COUNT; b++)
		total->findings_count[b] += r->findings_count[b];
	if (first)
		total->source_used = r->source_used;
	return !first && total->source_used != r->source_used;
}

/* audit --org / --accounts: every account's keys, with an AccountId column. */
static int audit_accounts(struct cli *cli, struct org_opts *org, struct audit_options *o,
			  int account_jobs, unsigned fail_mask, struct audit_org_ctx *x)
{
	struct org_run run;
	struct audit_result total;
	struct out_column *cols = org_columns(audit_columns, ARRAY_SIZE(audit_columns));
	struct key_rows kr = { 0 };
	struct out_rows rows;
	json_t *per_account = json_array();
	int jobs = o->jobs, rc = CMD_OK, mixed = 0, first = 1;
	size_t i, j, ok = 0, exempt_total = 0, rotating_total = 0;

	/* each account gets up to --account-jobs workers; --jobs caps them all */
	o->jobs = account_jobs < jobs ? account_jobs : jobs;
	o->progress = NULL;
	x->o = o;
	if (org_run_cli(cli, org, jobs / o->jobs, audit_account, x, &run) < 0) {
		free(cols);
		json_decref(per_account);
		return CMD_FAILED;
	}
	memset(&total, 0, sizeof(total));
	kr.results = xcalloc(run.n + 1, sizeof(*kr.results));
	kr.accounts = xcalloc(run.n + 1, sizeof(*kr.accounts));
	kr.fmt = cli->fmt;
	for (i = 0; i < run.n; i++) {
		const struct audit_result *r = run.accounts[i].result;
		json_t *s;
		if (run.accounts[i].failed)
			continue;
		ok++;
		kr.results[kr.nresults] = r;
		kr.accounts[kr.nresults++] = run.accounts[i].id;
		mixed |= add_counts(&total, r, first);
		exempt_total += exempt_users(r);
		rotating_total += rotating_users(r);
		first = 0;
		s = summary_json(r);
		json_object_set_new(s, "AccountId", json_string(run.accounts[i].id));
		json_array_append_new(per_account, s);
		for (j = 0; j < r->nkeys; j++)
			if (!r->keys[j].exempt && (r->keys[j].findings & fail_mask))
				rc = CMD_FINDINGS;
	}
	org_report_failures(&run);
	for (i = 0; i < run.n; i++)
		if (!run.accounts[i].failed)
			rc = report_skipped(run.accounts[i].result, run.accounts[i].id, rc);
	key_rows_init(&rows, &kr, cols, ARRAY_SIZE(audit_columns) + 1);
	if (cli->fmt == OUTPUT_JSON) {
		struct out_json_object doc;
		json_t *sum = summary_json(&total);
		json_object_set_new(sum, "ExemptUsers", json_integer((json_int_t)exempt_total));
		json_object_set_new(sum, "RotatingUsers", json_integer((json_int_t)rotating_total));
		if (mixed)
			json_object_set_new(sum, "Source", json_string("mixed"));
		json_object_set_new(sum, "AccountsScanned", json_integer((json_int_t)ok));
		json_object_set_new(sum, "Accounts", per_account);
		json_object_set_new(sum, "FailedAccounts", org_failed_json(&run));
		out_json_begin(&doc, stdout);
		out_json_add_rows(&doc, "Keys", &rows);
		out_json_add(&doc, "Summary", sum);
		out_json_end(&doc);
		fputc('\n', stdout);
	} else {
		struct strbuf sum = STRBUF_INIT;
		json_decref(per_account);
		if (rows.nrows || cli->fmt != OUTPUT_TABLE)
			out_rows_print(&rows, cli->fmt, &cli->style, stdout);
		else
			printf("no key with a finding\n");
		strbuf_addf(&sum, "%zu account%s", ok, ok == 1 ? "" : "s");
		if (run.nfailed)
			strbuf_addf(&sum, " (%zu failed)", run.nfailed);
		strbuf_addstr(&sum, ", ");
		summary_scanned_text(&sum, total.users_scanned, total.keys_scanned,
				     mixed					? "mixed"
				     : total.source_used == AUDIT_SOURCE_REPORT ? "report"
										: "api");
		strbuf_addch(&sum, ')');
		summary_findings_text(&sum, &total, exempt_total, rotating_total);
		if (cli->fmt == OUTPUT_TABLE)
			printf("\n%s\n", sum.buf);
		else
			fprintf(stderr, "%s\n", sum.buf);
		for (i = 0; i < kr.nresults; i++)
			print_quarantined(kr.results[i], kr.accounts[i],
					  cli->fmt == OUTPUT_TABLE ? stdout : stderr);
		strbuf_release(&sum);
	}
	rc = org_exit_code(&run, rc);
	free(kr.results);
	free(kr.accounts);
	free(cols);
	org_run_release(&run, free_audit_result);
	return rc;
}

/*
 * audit --trace: the callers of each key with a finding over the last
 * `since` seconds, in every enabled region (warnings for what it cannot
 * do). 0, or -1 after an error line.
 */
static int audit_trace_cli(struct aws_client *c, struct audit_result *r, long long since,
			   char ***regions, size_t *nregions, time_t *start, time_t *end,
			   struct audit_trace_stats *ts)
{
	struct strbuf note = STRBUF_INIT, err = STRBUF_INIT;
	int rc = -1;

	if (trace_enabled_regions(c, regions, NULL, nregions, &note, &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	if (note.len)
		warning("%s", note.buf);
	*end = r->now ? r->now : aws_client_now(c);
	*start = *end - (time_t)since;
	if (audit_trace(c, r, (const char *const *)*regions, *nregions, *start, *end, ts, &err) <
	    0) {
		error("%s", err.buf);
		goto out;
	}
	if (ts->denied)
		warning("cloudtrail:LookupEvents is denied: no callers; the last use shown is "
			"GetAccessKeyLastUsed's");
	if (ts->malformed)
		warning("%lu event%s whose CloudTrailEvent does not parse %s left out",
			ts->malformed, ts->malformed == 1 ? "" : "s",
			ts->malformed == 1 ? "is" : "are");
	rc = 0;
out:
	strbuf_release(&note);
	strbuf_release(&err);
	return rc;
}

static json_t *trace_summary_json(const struct audit_trace_stats *ts, size_t nregions, time_t start,
				  time_t end)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	json_t *o;

	iso8601_format(&a, start);
	iso8601_format(&b, end);
	o = json_pack("{s:I,s:I,s:I,s:s,s:s,s:b}", "Keys", (json_int_t)ts->keys, "Regions",
		      (json_int_t)nregions, "LookupEventsCalls", (json_int_t)ts->calls, "StartTime",
		      a.buf, "EndTime", b.buf, "Denied", ts->denied);
	strbuf_release(&a);
	strbuf_release(&b);
	return o;
}

/* What audit's options said, and the --trace results. */
struct audit_cmd {
	struct audit_options o;
	struct opt_list users;
	struct exemption_opts ex;
	const char *source, *fail_on, *root_via;
	int all, no_progress, account_jobs, trace;
	long long trace_since;
	unsigned fail_mask;
	struct notify_opts notify;
	struct org_opts org;
	struct audit_trace_stats ts;
	char **trace_regions;
	size_t ntrace_regions;
	time_t trace_start, trace_end;
};

/*
 * The checks of audit's options before any AWS call; they fill a->o.
 * CMD_CONTINUE, or the exit code after a usage error.
 */
static int audit_check_options(struct cli *cli, const struct option *opts, struct audit_cmd *a)
{
	struct audit_options *o = &a->o;
	int rc = CMD_USAGE;

	o->users = a->users.items;
	o->nusers = a->users.n;
	if (strcmp(a->source, "report") && strcmp(a->source, "api")) {
		usage_error(cli, "invalid --source '%s': use report or api", a->source);
		return rc;
	}
	o->source = !strcmp(a->source, "api") ? AUDIT_SOURCE_API : AUDIT_SOURCE_REPORT;
	if (fail_on_parse(a->fail_on, &a->fail_mask) < 0) {
		usage_error(cli,
			    "invalid --fail-on '%s': use a finding (quarantined, root-key, old, "
			    "two-active, unused, inactive-stale, expiring), any or none",
			    a->fail_on);
		return rc;
	}
	if (o->policy.warn > o->policy.max_age) {
		struct strbuf w = STRBUF_INIT, m = STRBUF_INIT;

		if (!options_seen(opts, "warn")) {
			/* the default warning window does not fit: no warning */
			o->policy.warn = 0;
		} else {
			duration_format(&w, o->policy.warn);
			duration_format(&m, o->policy.max_age);
			usage_error(cli, "--warn %s is longer than --max-age %s", w.buf, m.buf);
			strbuf_release(&w);
			strbuf_release(&m);
			return rc;
		}
	}
	if (cli_exemptions(cli, &o->policy, &a->ex) != CMD_CONTINUE)
		return rc;
	o->all_keys = a->all;
	o->quarantine = 1;
	o->progress =
		!a->no_progress && !cli->g.quiet && isatty(STDERR_FILENO) ? print_progress : NULL;
	rc = org_check(cli, &a->org);
	if (rc != CMD_CONTINUE)
		return rc;
	rc = CMD_USAGE;
	if (!a->org.enabled && options_seen(opts, "account-jobs")) {
		usage_error(cli, "--account-jobs needs --org, --accounts or --accounts-file");
		return rc;
	}
	if (strcmp(a->root_via, "report") && strcmp(a->root_via, "assume-root")) {
		usage_error(cli, "invalid --root-via '%s': use report or assume-root", a->root_via);
		return rc;
	}
	if (!strcmp(a->root_via, "assume-root") && !a->org.enabled) {
		usage_error(cli,
			    "--root-via assume-root needs --org, --accounts or --accounts-file "
			    "(AssumeRoot reaches member accounts)");
		return rc;
	}

	if (a->trace_since >= 0 && !a->trace) {
		usage_error(cli, "--trace-since is for --trace");
		return rc;
	}
	if (a->trace_since < 0)
		a->trace_since = 30 * 86400LL;
	if (a->trace_since < 1 || a->trace_since > CLOUDTRAIL_RETENTION_DAYS * 86400LL) {
		usage_error(cli,
			    "--trace-since must be between 1s and %dd: CloudTrail keeps %d days "
			    "of events",
			    CLOUDTRAIL_RETENTION_DAYS, CLOUDTRAIL_RETENTION_DAYS);
		return rc;
	}
	if (a->trace && a->org.enabled) {
		usage_error(cli, "--trace is for one account (no --org or --accounts)");
		return rc;
	}
	if (a->notify.targets.n && a->org.enabled) {
		usage_error(cli, "--notify is for one account (no --org or --accounts)");
		return rc;
	}
	if (notify_opts_check(cli, &a->notify) != CMD_CONTINUE)
		return rc;
	return CMD_CONTINUE;
}

/* Prints one account's keys, its summary and its quarantined users. */
static void print_audit(struct cli *cli, const struct audit_cmd *a, const struct audit_result *r)
{
	const struct audit_result *rp = r;
	struct key_rows kr = { 0 };
	struct out_rows rows;
	struct out_column cols[ARRAY_SIZE(audit_columns) + ARRAY_SIZE(trace_csv_columns)];
	size_t ncols = ARRAY_SIZE(audit_columns);

	kr.results = &rp;
	kr.nresults = 1;
	kr.fmt = cli->fmt;
	memcpy(cols, audit_columns, sizeof(audit_columns));
	if (a->trace && cli->fmt == OUTPUT_CSV) {
		memcpy(cols + ncols, trace_csv_columns, sizeof(trace_csv_columns));
		ncols += ARRAY_SIZE(trace_csv_columns);
		kr.csv_callers = 1;
	}
	key_rows_init(&rows, &kr, cols, ncols);
	if (cli->fmt == OUTPUT_JSON) {
		struct out_json_object doc;
		out_json_begin(&doc, stdout);
		out_json_add_rows(&doc, "Keys", &rows);
		json_t *sum = summary_json(r);
		if (a->trace)
			json_object_set_new(sum, "Trace",
					    trace_summary_json(&a->ts, a->ntrace_regions,
							       a->trace_start, a->trace_end));
		out_json_add(&doc, "Summary", sum);
		out_json_end(&doc);
		fputc('\n', stdout);
	} else {
		struct strbuf sum = STRBUF_INIT;
		if (rows.nrows || cli->fmt != OUTPUT_TABLE)
			out_rows_print(&rows, cli->fmt, &cli->style, stdout);
		else
			printf("no key with a finding\n");
		summary_text(&sum, r, a->o.now, a->o.nusers > 0);
		if (a->trace && !a->ts.denied)
			strbuf_addf(&sum,
				    "; callers of %zu key%s from CloudTrail in %zu region%s "
				    "(%lu LookupEvents calls; management events only)",
				    a->ts.keys, a->ts.keys == 1 ? "" : "s", a->ntrace_regions,
				    a->ntrace_regions == 1 ? "" : "s", a->ts.calls);
		if (cli->fmt == OUTPUT_TABLE)
			printf("\n%s\n", sum.buf);
		else
			fprintf(stderr, "%s\n", sum.buf);
		print_quarantined(r, NULL, cli->fmt == OUTPUT_TABLE ? stdout : stderr);
		strbuf_release(&sum);
	}
}

/* audit --notify: tells the owners of expiring keys; the exit code from rc on. */
static int audit_notify(struct audit_cmd *a, struct aws_client *c, const struct audit_result *r,
			int rc)
{
	struct notify_run_options no = { 0 };
	struct rotate_report nr;
	const char **names = xcalloc(r->nkeys + 1, sizeof(*names));
	size_t i, nn = 0;

	for (i = 0; i < r->nkeys; i++)
		if (!r->keys[i].exempt && r->keys[i].key_id &&
		    (r->keys[i].findings & FINDING_EXPIRING) &&
		    (!nn || strcmp(names[nn - 1], r->keys[i].user)))
			names[nn++] = r->keys[i].user;
	notify_report_of_users(&nr, names, nn);
	free(names);
	no.warn = a->o.policy.warn;
	no.rotate_after = a->o.policy.max_age;
	no.now = r->now ? r->now : aws_client_now(c);
	no.kinds = 1u << NOTIFY_DUE_SOON;
	rc = notify_opts_run(&a->notify, c, &no, &nr, rc);
	rotate_report_release(&nr);
	return rc;
}

int cmd_audit(struct cli *cli, int argc, const char **argv)
{
	struct audit_cmd a = {
		.ex = EXEMPTION_OPTS_INIT,
		.source = "report",
		.fail_on = "old",
		.root_via = "report",
		.account_jobs = 4,
		.trace_since = -1,
	};
	struct opt_list rest = { 0 };
	char *caller_account = NULL;
	struct audit_org_ctx x = { 0 };
	struct option opts[] = {
		{ "max-age", 0, OPT_DURATION, &a.o.policy.max_age, "DURATION",
		  "active keys older than this are old (default 90d)", 0 },
		{ "warn", 0, OPT_DURATION, &a.o.policy.warn, "DURATION",
		  "keys within this of --max-age are expiring (default 7d)", 0 },
		{ "unused", 0, OPT_DURATION, &a.o.policy.unused, "DURATION",
		  "active keys not used for this long are unused (default 45d)", 0 },
		{ "inactive-grace", 0, OPT_DURATION, &a.o.policy.inactive_grace, "DURATION",
		  "inactive keys older than this are inactive-stale (default 30d)", 0 },
		OPT_EXEMPTIONS(a.ex),
		{ "source", 0, OPT_STRING, &a.source, "SOURCE",
		  "report (default: credential report + live re-reads) or api", 0 },
		{ "jobs", 'j', OPT_INT, &a.o.jobs, "N",
		  "concurrent API workers, lowered while IAM throttles (default 32)", 0 },
		{ "user", 0, OPT_STRLIST, &a.users, "NAME",
		  "audit only this user (repeatable; read live, not from the report)", 0 },
		{ "all", 'a', OPT_BOOL, &a.all, NULL, "list every key, not only keys with findings",
		  0 },
		{ "trace", 0, OPT_BOOL, &a.trace, NULL,
		  "name the top 3 callers of each key with a finding over --trace-since, from CloudTrail in every enabled region (needs cloudtrail:LookupEvents; 2 calls a second per region)",
		  0 },
		{ "trace-since", 0, OPT_DURATION, &a.trace_since, "DURATION",
		  "with --trace: how far back (default 30d, at most 90d: what CloudTrail keeps)",
		  0 },
		OPT_NOTIFY(
			a.notify,
			"tell the owner of each expiring key (due-soon, once): sns:TOPIC_ARN, webhook:https://..., exec:CMD (repeatable)"),
		{ "fail-on", 0, OPT_STRING, &a.fail_on, "FINDING",
		  "exit 3 on this finding or a more severe one (default old; any, none)", 0 },
		{ "no-progress", 0, OPT_BOOL, &a.no_progress, NULL, "no progress bar on stderr",
		  0 },
		OPT_ORG(a.org),
		{ "account-jobs", 0, OPT_INT, &a.account_jobs, "N",
		  "workers per account with --org/--accounts (default 4; --jobs is the total)", 0 },
		{ "root-via", 0, OPT_STRING, &a.root_via, "HOW",
		  "root keys without a credential report: report (default: GetAccountSummary says whether there are any) or assume-root (each key, through centralized root access; with --org/--accounts)",
		  0 },
		OPT_COMMON(cli->g),
		OPT_TERMINATOR,
	};
	struct audit_result r;
	struct strbuf err = STRBUF_INIT;
	struct aws_client *c;
	int rc;
	size_t i;

	audit_policy_defaults(&a.o.policy);
	a.o.jobs = AUDIT_DEFAULT_JOBS;
	a.o.report_timeout_s = 300;
	rc = cli_parse(cli, opts, argc, argv, &rest, 0);
	if (rc != CMD_CONTINUE)
		goto done;
	rc = audit_check_options(cli, opts, &a);
	if (rc != CMD_CONTINUE)
		goto done;

	rc = CMD_FAILED;
	c = cli_client(cli);
	if (!c)
		goto done;
	if (a.org.enabled) {
		/* an account without --user's user has nothing to report */
		a.o.user_may_be_missing = 1;
		if (!strcmp(a.root_via, "assume-root")) {
			rc = root_preconditions_cli(c, &caller_account);
			if (rc != CMD_CONTINUE)
				goto done;
			x.root_caller = c;
			x.caller_account = caller_account;
		}
		rc = audit_accounts(cli, &a.org, &a.o, a.account_jobs, a.fail_mask, &x);
		goto done;
	}
	if (audit_run(c, &a.o, &r, &err) < 0) {
		error("%s", err.buf);
		goto done;
	}
	if (a.trace && audit_trace_cli(c, &r, a.trace_since, &a.trace_regions, &a.ntrace_regions,
				       &a.trace_start, &a.trace_end, &a.ts) < 0) {
		audit_result_release(&r);
		goto done;
	}
	print_audit(cli, &a, &r);
	rc = CMD_OK;
	for (i = 0; i < r.nkeys; i++)
		if (!r.keys[i].exempt && (r.keys[i].findings & a.fail_mask))
			rc = CMD_FINDINGS;
	if (a.notify.targets.n)
		rc = audit_notify(&a, c, &r, rc);
	rc = report_skipped(&r, NULL, rc);
	audit_result_release(&r);
done:
	trace_regions_free(a.trace_regions, a.ntrace_regions);
	notify_opts_release(&a.notify);
	free(caller_account);
	org_opts_release(&a.org);
	exemption_opts_release(&a.ex);
	opt_list_release(&a.users);
	opt_list_release(&rest);
	strbuf_release(&err);
	return rc;
}
