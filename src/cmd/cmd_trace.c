/* iamkeys trace: who calls with an access key, from CloudTrail (engine/trace.c). */
#include "core/compat.h"
#include "cmd/commands.h"
#include "aws/client.h"
#include "aws/cloudtrail.h"
#include "aws/iam.h"
#include "core/rotation.h"
#include "core/timeutil.h"
#include "engine/trace.h"
#include "engine/userstate.h"

static const struct out_column caller_columns[] = {
	{ "AccessKeyId", "KEY", 2, NULL },	{ "Source", "SOURCE", 0, NULL },
	{ "UserAgent", "USER AGENT", 0, NULL }, { "Derived", "DERIVED", 4, NULL },
	{ "Regions", "REGIONS", 3, NULL },	{ "EventSources", "SERVICES", 5, NULL },
	{ "TopEvents", "TOP EVENTS", 1, NULL }, { "Events", "EVENTS", 0, NULL },
	{ "Errors", "ERRORS", 6, NULL },	{ "FirstSeen", "FIRST SEEN", 7, NULL },
	{ "LastSeen", "LAST SEEN", 0, NULL },	{ "SessionKeyId", "SESSION KEY", 1, NULL },
};

#define UA_SHORT 40

/* A table shows a user agent's first word ("aws-sdk-java/2.20.1"), cut at UA_SHORT. */
static void short_agent(struct strbuf *sb, const char *ua)
{
	size_t n = strcspn(ua, " ");
	if (n > UA_SHORT)
		n = UA_SHORT;
	strbuf_add(sb, ua, n);
	if (ua[n])
		strbuf_addstr(sb, "…");
}

static void add_callers(struct out_table *t, const char *key, const struct trace_result *r,
			enum output_format fmt)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i, row;

	for (i = 0; i < r->ncallers; i++) {
		const struct trace_caller *c = &r->callers[i];
		row = out_table_add_row(t);
		out_set_str(t, row, 0, key);
		out_set_str(t, row, 1, c->source);
		strbuf_reset(&sb);
		if (fmt == OUTPUT_TABLE)
			short_agent(&sb, c->user_agent);
		else
			strbuf_addstr(&sb, c->user_agent);
		out_set_str(t, row, 2, sb.buf);
		out_set_bool(t, row, 3, c->derived);
		out_set_list(t, row, 4, c->regions);
		out_set_list(t, row, 5, c->event_sources);
		out_set_list(t, row, 6, c->top_events);
		out_set_int(t, row, 7, (long long)c->count);
		out_set_int(t, row, 8, (long long)c->errors);
		strbuf_reset(&sb);
		iso8601_format(&sb, c->first);
		out_set_str(t, row, 9, sb.buf);
		strbuf_reset(&sb);
		iso8601_format(&sb, c->last);
		out_set_str(t, row, 10, sb.buf);
		if (c->session_key)
			out_set_str(t, row, 11, c->session_key);
	}
	strbuf_release(&sb);
}

/* The sums over every traced key's result. */
struct trace_totals {
	size_t ncallers;
	unsigned long events, malformed, calls;
};

/*
 * The checks of trace's options before any AWS call; a --regions list is
 * split into *region_copy, *regions, *nregions. CMD_CONTINUE, or the exit
 * code after a usage error.
 */
static int trace_check_options(struct cli *cli, const struct opt_list *key_args, const char *user,
			       long long since, const char *regions_arg, char **region_copy,
			       const char ***regions, size_t *nregions)
{
	const char *bad = NULL;
	size_t i;

	if (!key_args->n && !user)
		return usage_error(cli, "say which key to trace: --key AKIA... or --user NAME");
	for (i = 0; i < key_args->n; i++)
		if (!access_key_id_valid(key_args->items[i]))
			return usage_error(cli,
					   "invalid --key '%s': an access key id is 16 to "
					   "128 capital letters and digits",
					   key_args->items[i]);
	if (since < 1 || since > CLOUDTRAIL_RETENTION_DAYS * 86400LL)
		return usage_error(cli,
				   "--since must be between 1s and %dd: CloudTrail keeps %d "
				   "days of events",
				   CLOUDTRAIL_RETENTION_DAYS, CLOUDTRAIL_RETENTION_DAYS);
	if (regions_arg && strcmp(regions_arg, "all")) {
		*region_copy = xstrdup(regions_arg);
		if (cli_region_list(*region_copy, regions, nregions, &bad) < 0)
			return usage_error(cli, "invalid --regions '%s': %s%s%s", regions_arg,
					   *bad ? "'" : "no region named", bad,
					   *bad ? "' is not a region name" : "");
	}
	return CMD_CONTINUE;
}

/* --key in order, then --user's keys; each once. The array (NULL-ended) to free. */
static const char **keys_to_trace(const struct opt_list *key_args, const struct user_state *us,
				  size_t *nkeys)
{
	const char **keys = xcalloc(key_args->n + us->nkeys + 1, sizeof(*keys));
	size_t i;

	for (i = 0; i < key_args->n + us->nkeys; i++) {
		const char *k = i < key_args->n ? key_args->items[i] : us->keys[i - key_args->n].id;
		size_t j;

		for (j = 0; j < *nkeys && strcmp(keys[j], k); j++)
			;
		if (j == *nkeys)
			keys[(*nkeys)++] = k;
	}
	return keys;
}

/* Learns AWS's clock with GetCallerIdentity when no reply has told it; 0, or -1 with err set. */
static int learn_clock(struct aws_client *c, struct strbuf *err)
{
	struct sts_caller_identity id = { 0 };

	if (aws_client_clock_known(c))
		return 0;
	if (sts_get_caller_identity(c, &id, err) < 0)
		return -1;
	sts_caller_identity_release(&id);
	return 0;
}

/* The summary line: callers, events, keys, regions, the window and the calls made. */
static void trace_summary_text(struct strbuf *sum, const struct trace_totals *tt, size_t nkeys,
			       const struct trace_options *o)
{
	size_t i;

	strbuf_addf(sum, "%zu caller%s, %lu event%s of %zu key%s in %zu region%s (", tt->ncallers,
		    tt->ncallers == 1 ? "" : "s", tt->events, tt->events == 1 ? "" : "s", nkeys,
		    nkeys == 1 ? "" : "s", o->nregions, o->nregions == 1 ? "" : "s");
	for (i = 0; i < o->nregions; i++)
		strbuf_addf(sum, "%s%s", i ? "," : "", o->regions[i]);
	strbuf_addstr(sum, ") from ");
	iso8601_format(sum, o->start);
	strbuf_addstr(sum, " to ");
	iso8601_format(sum, o->end);
	strbuf_addf(sum,
		    "; %lu LookupEvents calls. CloudTrail's LookupEvents has management "
		    "events only, of the last %d days: data events (S3 object reads and writes, "
		    "Lambda invocations) are not in it",
		    tt->calls, CLOUDTRAIL_RETENTION_DAYS);
}

/* The json "Summary" object. */
static json_t *trace_summary_json(const struct trace_totals *tt, const struct trace_options *o)
{
	struct strbuf when = STRBUF_INIT;
	json_t *s = json_object();

	json_object_set_new(s, "Callers", json_integer((json_int_t)tt->ncallers));
	json_object_set_new(s, "Events", json_integer((json_int_t)tt->events));
	json_object_set_new(s, "Regions", json_integer((json_int_t)o->nregions));
	iso8601_format(&when, o->start);
	json_object_set_new(s, "StartTime", json_string(when.buf));
	strbuf_reset(&when);
	iso8601_format(&when, o->end);
	json_object_set_new(s, "EndTime", json_string(when.buf));
	json_object_set_new(s, "LookupEventsCalls", json_integer((json_int_t)tt->calls));
	json_object_set_new(s, "MalformedEvents", json_integer((json_int_t)tt->malformed));
	json_object_set_new(s, "Note",
			    json_string("management events of the last 90 days "
					"only: no data events"));
	strbuf_release(&when);
	return s;
}

/* Prints the callers of every key and the summary; CMD_OK, or CMD_FAILED when output fails. */
static int print_trace(struct cli *cli, const char **keys, size_t nkeys,
		       const struct trace_result *results, const struct trace_totals *tt,
		       const struct trace_options *o)
{
	struct strbuf sum = STRBUF_INIT;
	struct out_table t;
	size_t i;
	int rc;

	if (tt->malformed)
		warning("%lu event%s whose CloudTrailEvent does not parse %s left out",
			tt->malformed, tt->malformed == 1 ? "" : "s",
			tt->malformed == 1 ? "is" : "are");
	out_table_init(&t, caller_columns, ARRAY_SIZE(caller_columns));
	for (i = 0; i < nkeys; i++)
		add_callers(&t, keys[i], &results[i], cli->fmt);
	trace_summary_text(&sum, tt, nkeys, o);
	if (cli->fmt == OUTPUT_JSON) {
		struct out_json_object jo;
		json_t *s = trace_summary_json(tt, o);
		out_json_begin(&jo, stdout);
		out_json_add(&jo, "Callers", out_table_to_json(&t));
		out_json_add(&jo, "Summary", s);
		rc = out_json_end(&jo) < 0 ? CMD_FAILED : CMD_OK;
		fputc('\n', stdout);
	} else {
		if (t.nrows || cli->fmt == OUTPUT_CSV)
			rc = out_table_print(&t, cli->fmt, &cli->style, stdout) < 0 ? CMD_FAILED
										    : CMD_OK;
		else {
			printf("no event signed with %s\n", nkeys == 1 ? keys[0] : "these keys");
			rc = CMD_OK;
		}
		fprintf(cli->fmt == OUTPUT_CSV ? stderr : stdout, "%s%s\n",
			cli->fmt == OUTPUT_CSV ? "" : "\n", sum.buf);
	}
	out_table_release(&t);
	strbuf_release(&sum);
	return rc;
}

int cmd_trace(struct cli *cli, int argc, const char **argv)
{
	const char *user = NULL, *regions_arg = NULL;
	struct opt_list key_args = { 0 };
	long long since = 30 * 86400;
	struct option opts[] = {
		{ "key", 0, OPT_STRLIST, &key_args, "AKIA...",
		  "an access key to trace (repeatable)", 0 },
		{ "user", 0, OPT_STRING, &user, "NAME", "trace every access key of this user", 0 },
		{ "since", 0, OPT_DURATION, &since, "DURATION",
		  "how far back (default 30d, at most 90d: what CloudTrail keeps)", 0 },
		{ "regions", 0, OPT_STRING, &regions_arg, "all|LIST",
		  "the regions to search: all (the default: every region enabled for the account, from ec2:DescribeRegions) or a comma-separated list",
		  0 },
		OPT_COMMON(cli->g),
		OPT_TERMINATOR,
	};
	struct opt_list rest = { 0 };
	struct user_state us = USER_STATE_INIT;
	struct strbuf err = STRBUF_INIT, note = STRBUF_INIT;
	struct trace_result *results = NULL;
	const char **keys = NULL, **regions = NULL;
	char *region_copy = NULL, **all_regions = NULL;
	struct cloudtrail_pacer *pacers = NULL;
	size_t nkeys = 0, nregions = 0, i;
	struct trace_totals tt = { 0 };
	struct trace_options o;
	struct aws_client *c;
	time_t now;
	int rc;

	rc = cli_parse(cli, opts, argc, argv, &rest, 0);
	opt_list_release(&rest);
	if (rc != CMD_CONTINUE)
		goto out;
	rc = trace_check_options(cli, &key_args, user, since, regions_arg, &region_copy, &regions,
				 &nregions);
	if (rc != CMD_CONTINUE)
		goto out;
	rc = CMD_FAILED;
	c = cli_client(cli);
	if (!c)
		goto out;
	if (!region_copy) {
		if (trace_enabled_regions(c, &all_regions, &regions, &nregions, &note, &err) < 0) {
			error("%s", err.buf);
			goto out;
		}
		if (note.len)
			warning("%s", note.buf);
	}
	if (user && user_state_read(c, user, USER_STATE_KEYS, &us, &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	keys = keys_to_trace(&key_args, &us, &nkeys);
	/* the window is in AWS's time: learn its clock first when no reply has told it */
	if (learn_clock(c, &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	now = aws_client_now(c);
	memset(&o, 0, sizeof(o));
	o.start = now - (time_t)since;
	o.end = now;
	o.regions = regions;
	o.nregions = nregions;
	/* one pacer per region for every key: all requests keep to 2 per second */
	pacers = xcalloc(nregions, sizeof(*pacers));
	o.pacers = pacers;
	results = xcalloc(nkeys + 1, sizeof(*results));
	for (i = 0; i < nkeys; i++) {
		o.key_id = keys[i];
		if (trace_key(c, &o, &results[i], &err) < 0) {
			error("trace of %s: %s", keys[i], err.buf);
			goto out;
		}
		tt.ncallers += results[i].ncallers;
		tt.events += results[i].events;
		tt.malformed += results[i].malformed;
		tt.calls += results[i].calls;
	}
	rc = print_trace(cli, keys, nkeys, results, &tt, &o);
out:
	for (i = 0; results && i < nkeys; i++)
		trace_result_release(&results[i]);
	free(results);
	free(keys);
	free(regions);
	free(region_copy);
	trace_regions_free(all_regions, nregions);
	free(pacers);
	user_state_release(&us);
	opt_list_release(&key_args);
	strbuf_release(&err);
	strbuf_release(&note);
	return rc;
}
