/*
 * iamkeys revoke: incident response for an exposed access key: deactivate
 * it at once, deny the session credentials made from it, optionally
 * replace it and delete it (engine/revoke.h). Prints the incident record.
 */
#include "core/compat.h"
#include "cmd/commands.h"
#include "cmd/keycmd.h"
#include "aws/client.h"
#include "aws/cloudtrail.h"
#include "core/timeutil.h"
#include "engine/revoke.h"
#include "sinks/sink.h"

static const struct out_column step_columns[] = {
	{ "Step", "STEP", 0, NULL },
	{ "Result", "RESULT", 0, NULL },
	{ "Time", "TIME", 1, NULL },
	{ "Detail", "DETAIL", 0, NULL },
};

static json_t *time_json(time_t t)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *j;

	if (!t)
		return json_null();
	iso8601_format(&sb, t);
	j = json_string(sb.buf);
	strbuf_release(&sb);
	return j;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The timeline: the persistence calls one by one, then every caller. */
static const struct out_column persistence_columns[] = {
	{ "Time", "TIME", 0, NULL },
	{ "EventName", "PERSISTENCE CALL", 0, NULL },
	{ "SourceIPAddress", "SOURCE", 0, NULL },
	{ "UserAgent", "USER AGENT", 0, NULL },
	{ "Region", "REGION", 2, NULL },
	{ "ErrorCode", "ERROR", 1, NULL },
	{ "SessionKeyId", "SESSION KEY", 3, NULL },
};

static const struct out_column timeline_caller_columns[] = {
	{ "Source", "SOURCE", 0, NULL },
	{ "UserAgent", "USER AGENT", 0, NULL },
	{ "Derived", "DERIVED", 3, NULL },
	{ "Events", "EVENTS", 0, NULL },
	{ "Errors", "ERRORS", 4, NULL },
	{ "FirstSeen", "FIRST SEEN", 5, NULL },
	{ "LastSeen", "LAST SEEN", 0, NULL },
	{ "TopEvents", "TOP EVENTS", 1, NULL },
	{ "SessionKeyId", "SESSION KEY", 2, NULL },
};

static void set_time(struct out_table *t, size_t row, size_t col, time_t when)
{
	struct strbuf sb = STRBUF_INIT;
	iso8601_format(&sb, when);
	out_set_str(t, row, col, sb.buf);
	strbuf_release(&sb);
}

static void timeline_tables(const struct trace_result *tr, struct out_table *pers,
			    struct out_table *callers)
{
	size_t i, row;

	out_table_init(pers, persistence_columns, ARRAY_SIZE(persistence_columns));
	for (i = 0; i < tr->nkept; i++) {
		const struct trace_event *e = &tr->kept[i];
		row = out_table_add_row(pers);
		set_time(pers, row, 0, e->time);
		out_set_str(pers, row, 1, e->name);
		out_set_str(pers, row, 2, e->source);
		out_set_str(pers, row, 3, e->user_agent);
		out_set_str(pers, row, 4, e->region);
		out_set_str(pers, row, 5, e->error_code);
		out_set_str(pers, row, 6, e->session_key);
	}
	out_table_init(callers, timeline_caller_columns, ARRAY_SIZE(timeline_caller_columns));
	for (i = 0; i < tr->ncallers; i++) {
		const struct trace_caller *c = &tr->callers[i];
		row = out_table_add_row(callers);
		out_set_str(callers, row, 0, c->source);
		out_set_str(callers, row, 1, c->user_agent);
		out_set_bool(callers, row, 2, c->derived);
		out_set_int(callers, row, 3, (long long)c->count);
		out_set_int(callers, row, 4, (long long)c->errors);
		set_time(callers, row, 5, c->first);
		set_time(callers, row, 6, c->last);
		out_set_list(callers, row, 7, c->top_events);
		out_set_str(callers, row, 8, c->session_key);
	}
}

/* "timeline of AKIA... in us-east-1 from T to T: N events, N callers (N LookupEvents calls)" */
static void timeline_summary(struct strbuf *sb, const struct revoke_report *r,
			     const struct revoke_options *o)
{
	const struct trace_result *tr = &r->timeline.trace;
	size_t i;

	strbuf_addf(sb, "timeline of %s in ", r->key_id);
	for (i = 0; i < o->nregions; i++)
		strbuf_addf(sb, "%s%s", i ? "," : "", o->regions[i]);
	strbuf_addstr(sb, " from ");
	iso8601_format(sb, r->timeline.start);
	strbuf_addstr(sb, " to ");
	iso8601_format(sb, r->timeline.end);
	strbuf_addf(sb,
		    ": %lu event%s, %zu caller%s, %zu persistence call%s (%lu LookupEvents "
		    "call%s; management events only)",
		    tr->events, tr->events == 1 ? "" : "s", tr->ncallers,
		    tr->ncallers == 1 ? "" : "s", tr->nkept, tr->nkept == 1 ? "" : "s", tr->calls,
		    tr->calls == 1 ? "" : "s");
}

static json_t *timeline_json(const struct revoke_report *r, const struct revoke_options *o)
{
	struct out_table pers, callers;
	json_t *j, *regions;
	size_t i;

	if (!r->timeline.read)
		return json_null();
	timeline_tables(&r->timeline.trace, &pers, &callers);
	regions = json_array();
	for (i = 0; i < o->nregions; i++)
		json_array_append_new(regions, json_string(o->regions[i]));
	j = json_object();
	json_object_set_new(j, "StartTime", time_json(r->timeline.start));
	json_object_set_new(j, "EndTime", time_json(r->timeline.end));
	json_object_set_new(j, "Regions", regions);
	json_object_set_new(j, "Events", json_integer((json_int_t)r->timeline.trace.events));
	json_object_set_new(j, "LookupEventsCalls",
			    json_integer((json_int_t)r->timeline.trace.calls));
	json_object_set_new(j, "Persistence", out_table_to_json(&pers));
	json_object_set_new(j, "Callers", out_table_to_json(&callers));
	out_table_release(&pers);
	out_table_release(&callers);
	return j;
}

/* The table format's timeline: a summary line, then its two tables. */
static int print_timeline(const struct revoke_report *r, const struct revoke_options *o,
			  const struct cli *cli)
{
	struct out_table pers, callers;
	struct strbuf sb = STRBUF_INIT;
	int rc = 0;

	if (!r->timeline.read)
		return 0;
	timeline_summary(&sb, r, o);
	printf("\n%s\n", sb.buf);
	strbuf_release(&sb);
	timeline_tables(&r->timeline.trace, &pers, &callers);
	if (pers.nrows) {
		putchar('\n');
		rc |= out_table_print(&pers, cli->fmt, &cli->style, stdout);
	}
	if (callers.nrows) {
		putchar('\n');
		rc |= out_table_print(&callers, cli->fmt, &cli->style, stdout);
	}
	out_table_release(&pers);
	out_table_release(&callers);
	return rc < 0 ? -1 : 0;
}

static int print_report(const struct revoke_report *r, const struct revoke_options *o, int apply,
			const struct cli *cli)
{
	struct out_table t;
	struct strbuf ts = STRBUF_INIT;
	size_t i;
	int rc;

	out_table_init(&t, step_columns, ARRAY_SIZE(step_columns));
	for (i = 0; i < r->nsteps; i++) {
		size_t row = out_table_add_row(&t);
		strbuf_reset(&ts);
		iso8601_format(&ts, r->steps[i].at);
		out_set_str(&t, row, 0, revoke_step_label(r->steps[i].step));
		out_set_str(&t, row, 1, revoke_result_name(r->steps[i].result));
		out_set_str(&t, row, 2, ts.buf);
		out_set_str(&t, row, 3, r->steps[i].detail);
	}
	strbuf_release(&ts);
	if (cli->fmt == OUTPUT_JSON) {
		json_t *doc = json_object();
		json_object_set_new(doc, "UserName", json_string(r->user));
		json_object_set_new(doc, "AccessKeyId", json_string(r->key_id));
		json_object_set_new(doc, "Apply", json_boolean(apply));
		json_object_set_new(doc, "Started", time_json(r->started));
		json_object_set_new(doc, "Finished", time_json(r->finished));
		json_object_set_new(doc, "DenyPolicy", str_or_null(r->policy_name));
		json_object_set_new(doc, "NewAccessKeyId", str_or_null(r->new_key_id));
		json_object_set_new(doc, "Steps", out_table_to_json(&t));
		json_object_set_new(doc, "Timeline", timeline_json(r, o));
		json_object_set_new(doc, "TimelineError", str_or_null(r->timeline.error));
		json_object_set_new(doc, "Outcome", json_string(revoke_outcome(r)));
		rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
				     fputc('\n', stdout) == EOF
			     ? -1
			     : 0;
		json_decref(doc);
	} else {
		rc = out_table_print(&t, cli->fmt, &cli->style, stdout);
		if (!rc)
			rc = print_timeline(r, o, cli);
	}
	out_table_release(&t);
	return rc;
}

/* What revoke's options said. */
struct revoke_args {
	const char *user, *key, *to, *regions_arg;
	int apply, replace, do_delete;
	long long cleanup_after, since;
	/* --regions LIST, split (NULL: all, the enabled regions) */
	char *region_copy;
	const char **regions;
	size_t nregions;
};

/*
 * The checks of revoke's options before any AWS call, --to's sink made once
 * to see it parses (sctx: the sink's context so far). CMD_CONTINUE, or the
 * exit code after a usage error.
 */
static int revoke_check_options(struct cli *cli, struct revoke_args *v, struct sink_context *sctx)
{
	struct strbuf err = STRBUF_INIT;
	const char *bad = NULL;
	struct sink *sink;
	int rc;

	if (v->regions_arg && strcmp(v->regions_arg, "all")) {
		v->region_copy = xstrdup(v->regions_arg);
		if (cli_region_list(v->region_copy, &v->regions, &v->nregions, &bad) < 0)
			return usage_error(cli, "invalid --regions '%s': %s%s%s", v->regions_arg,
					   *bad ? "'" : "no region named", bad,
					   *bad ? "' is not a region name" : "");
	}

	if (!v->user || !*v->user)
		return usage_error(cli, "--user is required: the user of the exposed key");
	if (!v->key || !*v->key)
		return usage_error(cli, "--key is required: the exposed access key (AKIA...)");
	if (!access_key_id_is_valid(v->key))
		return usage_error(cli, "invalid --key '%s': not an access key id", v->key);
	if (strncmp(v->key, "AKIA", 4))
		return usage_error(cli,
				   "invalid --key '%s': session credentials cannot be "
				   "deactivated; revoke the AKIA key that made them",
				   v->key);
	if (v->since < 1 || v->since > CLOUDTRAIL_RETENTION_DAYS * 86400LL)
		return usage_error(cli,
				   "--since must be between 1s and %dd: CloudTrail keeps %d "
				   "days of events",
				   CLOUDTRAIL_RETENTION_DAYS, CLOUDTRAIL_RETENTION_DAYS);
	if (v->replace && !v->to)
		return usage_error(cli, "--replace needs --to SINK: where the new secret goes");
	if (v->to && !v->replace)
		return usage_error(cli, "--to is for --replace: add --replace to create a new key");
	if (v->to && !strcmp(v->to, "-"))
		return usage_error(cli, "--to -: revoke prints the incident record on standard "
					"output; deliver the new secret to another sink");
	memset(sctx, 0, sizeof(*sctx));
	sctx->user = v->user;
	sctx->account = "000000000000";
	if (v->to) {
		sink = sink_new(v->to, sctx, &err);
		if (!sink) {
			rc = usage_error(cli, "invalid --to: %s", err.buf);
			strbuf_release(&err);
			return rc;
		}
		sink_free(sink);
	}
	return CMD_CONTINUE;
}

/* --regions' lists: the split list, or the enabled regions (all) unless own is used. */
static void regions_release(struct revoke_args *v, const char **own, char **all)
{
	if (v->regions != own)
		free(v->regions);
	free(v->region_copy);
	trace_regions_free(all, all ? v->nregions : 0);
	v->regions = NULL;
	v->region_copy = NULL;
}

/*
 * The timeline's regions without --regions: every enabled one, as iamkeys
 * trace (an attacker's calls may be anywhere), into v; the command's own
 * (in own) with a warning when they cannot be listed. The list to free.
 */
static char **enabled_regions(struct aws_client *c, struct revoke_args *v, const char **own)
{
	struct strbuf note = STRBUF_INIT, err = STRBUF_INIT;
	char **all = NULL;

	if (trace_enabled_regions(c, &all, &v->regions, &v->nregions, &note, &err) < 0) {
		warning("cannot list the account's regions (%s): the timeline searches %s only",
			err.buf, c->region);
		own[0] = c->region;
		v->regions = own;
		v->nregions = 1;
	} else if (note.len) {
		warning("%s", note.buf);
	}
	strbuf_release(&note);
	strbuf_release(&err);
	return all;
}

/* The warning or error line about a timeline revoke could not read in full. */
static void timeline_warnings(const struct revoke_report *r, const char *key)
{
	if (r->timeline.denied)
		warning("cloudtrail:LookupEvents is denied: no timeline of what %s did (%s)", key,
			r->timeline.error);
	else if (r->timeline.error)
		error("timeline of %s: %s", key, r->timeline.error);
	if (r->timeline.trace.malformed)
		warning("%lu event%s whose CloudTrailEvent does not parse %s left out of the "
			"timeline",
			r->timeline.trace.malformed, r->timeline.trace.malformed == 1 ? "" : "s",
			r->timeline.trace.malformed == 1 ? "is" : "are");
}

/* The exit code of a revoke whose record printed with rc (CMD_OK or CMD_FAILED). */
static int revoke_exit_code(const struct revoke_report *r, int rc)
{
	const char *outcome = revoke_outcome(r);

	if (rc == CMD_OK) {
		if (!strcmp(outcome, "failed") || (r->timeline.error && !r->timeline.denied))
			rc = CMD_FAILED;
		else if (!strcmp(outcome, "refused"))
			rc = CMD_FINDINGS;
	}
	return rc;
}

int cmd_revoke(struct cli *cli, int argc, const char **argv)
{
	struct revoke_args v = { .since = CLOUDTRAIL_RETENTION_DAYS * 86400LL };
	struct option opts[] = {
		{ "user", 0, OPT_STRING, &v.user, "NAME", "the user of the exposed key (required)",
		  0 },
		{ "key", 0, OPT_STRING, &v.key, "AKIA...", "the exposed access key (required)", 0 },
		{ "replace", 0, OPT_BOOL, &v.replace, NULL,
		  "create, deliver (--to) and verify a new key for the user", 0 },
		{ "to", 0, OPT_STRING, &v.to, "SINK",
		  "--replace: the new secret's destination: file:PATH, profile:NAME[@FILE], "
		  "secretsmanager:NAME, ssm:NAME or exec:COMMAND",
		  0 },
		{ "delete", 0, OPT_BOOL, &v.do_delete, NULL,
		  "delete the exposed key once the other steps are done", 0 },
		{ "since", 0, OPT_DURATION, &v.since, "DURATION",
		  "the timeline of what the key did: its CloudTrail events this far back "
		  "(default 90d, at most 90d: what CloudTrail keeps)",
		  0 },
		{ "regions", 0, OPT_STRING, &v.regions_arg, "all|LIST",
		  "the timeline's regions: all (the default: every region enabled for the "
		  "account, from ec2:DescribeRegions) or a comma-separated list",
		  0 },
		{ "cleanup-after", 0, OPT_DURATION, &v.cleanup_after, "DURATION",
		  "remove the user's deny policies older than this (36h: the longest session)", 0 },
		{ "apply", 0, OPT_BOOL, &v.apply, NULL,
		  "make the changes (without it only the plan is printed)", 0 },
		OPT_LOCK(cli->lock),
		OPT_COMMON_NO_CSV(cli->g),
		OPT_TERMINATOR,
	};
	struct opt_list rest = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct action_options o;
	struct action_ctx a;
	struct sink_context sctx;
	struct sink *sink = NULL;
	struct revoke_options ro;
	struct revoke_report r;
	struct account_lock *lk = NULL;
	char **all_regions = NULL;
	const char *own[1];
	int rc;

	rc = cli_parse(cli, opts, argc, argv, &rest, 0);
	opt_list_release(&rest);
	if (rc != CMD_CONTINUE)
		return rc;
	rc = revoke_check_options(cli, &v, &sctx);
	if (rc != CMD_CONTINUE) {
		regions_release(&v, own, NULL);
		return rc;
	}

	memset(&o, 0, sizeof(o));
	o.apply = v.apply;
	if (actions_begin(cli, &o, &a) < 0) {
		regions_release(&v, own, NULL);
		return CMD_FAILED;
	}
	a.on_record = NULL; /* the steps are printed as one record */
	if (!v.regions)
		all_regions = enabled_regions(a.c, &v, own);
	if (v.apply) {
		rc = cli_lock(cli, a.c, a.self.account, &lk);
		if (rc != CMD_OK) {
			action_ctx_release(&a);
			regions_release(&v, own, all_regions);
			return rc;
		}
	}
	if (v.to) {
		sctx.account = a.self.account;
		sctx.client = a.c;
		sink = sink_new(v.to, &sctx, &err);
		if (!sink) {
			rc = usage_error(cli, "invalid --to: %s", err.buf);
			goto out;
		}
	}
	memset(&ro, 0, sizeof(ro));
	ro.user = v.user;
	ro.key_id = v.key;
	ro.sink = sink;
	ro.do_delete = v.do_delete;
	ro.cleanup_after = v.cleanup_after;
	ro.verify_timeout_ms = 60000;
	ro.since = v.since;
	ro.regions = v.regions;
	ro.nregions = v.nregions;
	if (revoke_run(&a, &ro, &r, &err) < 0) {
		error("revoke: %s", err.buf);
		rc = CMD_FAILED;
		goto out;
	}
	timeline_warnings(&r, v.key);
	rc = print_report(&r, &ro, v.apply, cli) < 0 ? CMD_FAILED : CMD_OK;
	rc = revoke_exit_code(&r, rc);
	if (!v.apply && !strcmp(revoke_outcome(&r), "planned"))
		msg_line("plan only, nothing was changed: run again with --apply to revoke %s",
			 v.key);
	revoke_report_release(&r);
out:
	regions_release(&v, own, all_regions);
	sink_free(sink);
	action_ctx_release(&a);
	strbuf_release(&err);
	cli_unlock(lk);
	return rc;
}
