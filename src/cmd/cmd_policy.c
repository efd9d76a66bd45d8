/*
 * iamkeys policy: print the least-privilege IAM policy document a command
 * needs, from the table in core/permissions.c. Calls no AWS API.
 */
#include "core/compat.h"
#include "cmd/commands.h"
#include "core/permissions.h"

int cmd_policy(struct cli *cli, int argc, const char **argv)
{
	struct opt_list rest = { 0 };
	const char *sink = NULL, *command = NULL, *lock = NULL;
	struct opt_list notify = { 0 };
	size_t i;
	int org = 0, root = 0, trace = 0, rc;
	struct option opts[] = {
		{ "to", 0, OPT_STRING, &sink, "SINK",
		  "add the actions of this sink (as create and rotate take it)", 0 },
		{ "org", 0, OPT_BOOL, &org, NULL,
		  "add the --org / --accounts calls (ListAccounts, AssumeRole)", 0 },
		{ "root", 0, OPT_BOOL, &root, NULL,
		  "the root access key modes instead (delete --root) or as well (audit --root-via assume-root): AssumeRoot, ListOrganizationsFeatures",
		  0 },
		{ "lock", 0, OPT_STRING, &lock, "dynamodb:TABLE",
		  "add the calls of this lease table (as --lock takes it)", 0 },
		{ "trace", 0, OPT_BOOL, &trace, NULL,
		  "add the CloudTrail calls of audit --trace (LookupEvents, DescribeRegions; rotate's policy has them)",
		  0 },
		{ "notify", 0, OPT_STRLIST, &notify, "TARGET",
		  "add the calls of this notification target (sns:TOPIC_ARN: sns:Publish; repeatable)",
		  0 },
		OPT_GLOBAL_VERSION(cli->g),
		OPT_TERMINATOR,
	};
	struct strbuf err = STRBUF_INIT;
	json_t *doc;

	rc = cli_parse(cli, opts, argc, argv, &rest, 1);
	if (rc >= 0)
		goto done;
	if (rest.n)
		command = rest.items[0];
	if (lock && strcmp(lock, "local") && (strncmp(lock, "dynamodb:", 9) || !lock[9])) {
		rc = usage_error(cli, "invalid --lock '%s' (local or dynamodb:TABLE)", lock);
		goto done;
	}
	doc = permissions_policy(command, sink, org, root,
				 lock && !strncmp(lock, "dynamodb:", 9) ? lock + 9 : NULL, &err);
	if (!doc) {
		rc = usage_error(cli, "%s", err.buf);
		goto done;
	}
	if (trace)
		permissions_add_trace(doc);
	for (i = 0; i < notify.n; i++)
		if (permissions_add_notify(doc, notify.items[i], &err) < 0) {
			json_decref(doc);
			rc = usage_error(cli, "%s", err.buf);
			goto done;
		}
	rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ? CMD_FAILED
									       : CMD_OK;
	putchar('\n');
	json_decref(doc);
done:
	strbuf_release(&err);
	opt_list_release(&rest);
	opt_list_release(&notify);
	return rc;
}
