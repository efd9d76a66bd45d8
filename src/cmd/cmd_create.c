/*
 * iamkeys create: create an access key for a user and deliver its secret
 * to a sink (runbook step 2.2). The secret goes only to the sink: never to
 * argv, logs or standard output unless --to - is given.
 */
#include "core/compat.h"
#include "cmd/commands.h"
#include "cmd/keycmd.h"
#include "aws/client.h"
#include "sinks/sink.h"

int cmd_create(struct cli *cli, int argc, const char **argv)
{
	const char *user = NULL, *to = NULL;
	int apply = 0, overwrite = 0, follow_symlinks = 0;
	struct create_options co = { .max_age = 90LL * 86400 };
	struct option opts[] = {
		{ "user", 0, OPT_STRING, &user, "NAME", "the user to create the key for (required)",
		  0 },
		{ "to", 0, OPT_STRING, &to, "SINK",
		  "the secret's destination (required): file:PATH, profile:NAME[@FILE], "
		  "secretsmanager:NAME, ssm:NAME, exec:COMMAND or -",
		  0 },
		{ "overwrite", 0, OPT_BOOL, &overwrite, NULL, "file: replace an existing file", 0 },
		{ "follow-symlinks", 0, OPT_BOOL, &follow_symlinks, NULL,
		  "profile: edit the file a symbolic link points to outside its directory", 0 },
		{ "max-age", 0, OPT_DURATION, &co.max_age, "DURATION",
		  "nothing to do if the sink holds an Active key of the user younger than this "
		  "(default 90d; 0: always create; exec: and - cannot tell)",
		  0 },
		{ "apply", 0, OPT_BOOL, &apply, NULL,
		  "create the key (without it only the plan is printed)", 0 },
		OPT_LOCK(cli->lock),
		OPT_COMMON(cli->g),
		OPT_TERMINATOR,
	};
	struct opt_list rest = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct action_options o;
	struct action_ctx a;
	struct sink_context sctx;
	struct sink *sink;
	struct aws_client *c;
	struct account_lock *lk = NULL;
	int rc;

	rc = cli_parse(cli, opts, argc, argv, &rest, 0);
	opt_list_release(&rest);
	if (rc != CMD_CONTINUE)
		return rc;
	if (!user || !*user)
		return usage_error(cli, "--user is required: the user to create a key for");
	if (!to)
		return usage_error(cli, "--to is required: file:PATH, profile:NAME[@FILE], "
					"secretsmanager:NAME, ssm:NAME, exec:COMMAND or -");
	/* the spec's syntax, before any AWS call (the real account comes later) */
	memset(&sctx, 0, sizeof(sctx));
	sctx.user = user;
	sctx.account = "000000000000";
	sctx.overwrite = overwrite;
	sctx.follow_symlinks = follow_symlinks;
	sink = sink_new(to, &sctx, &err);
	if (!sink) {
		rc = usage_error(cli, "invalid --to: %s", err.buf);
		strbuf_release(&err);
		return rc;
	}
	rc = CMD_CONTINUE;
	if (overwrite && strcmp(sink->vt->scheme, "file"))
		rc = usage_error(cli, "--overwrite is for a file: sink (--to file:PATH)");
	else if (follow_symlinks && strcmp(sink->vt->scheme, "profile"))
		rc = usage_error(cli, "--follow-symlinks is for a profile: sink (--to "
				      "profile:NAME[@FILE])");
	else if (options_seen(opts, "max-age") && co.max_age > 0 &&
		 (!strcmp(sink->vt->scheme, "exec") || !sink->vt->preflight || !strcmp(to, "-")))
		rc = usage_error(cli,
				 "--max-age needs a sink that can say which key it holds: "
				 "--to %s cannot",
				 to);
	sink_free(sink);
	if (rc != CMD_CONTINUE)
		return rc;
	if (!strcmp(to, "-") && cli_stdout_for_secret_only() < 0)
		return CMD_FAILED;

	memset(&o, 0, sizeof(o));
	o.apply = apply;
	if (actions_begin(cli, &o, &a) < 0)
		return CMD_FAILED;
	c = a.c;
	if (apply) {
		rc = cli_lock(cli, c, a.self.account, &lk);
		if (rc != CMD_OK) {
			action_ctx_release(&a);
			strbuf_release(&err);
			return rc;
		}
	}
	sctx.account = a.self.account;
	sctx.client = c;
	sink = sink_new(to, &sctx, &err);
	if (!sink) {
		rc = usage_error(cli, "invalid --to: %s", err.buf);
	} else {
		action_create_key(&a, user, sink, &co, NULL);
		rc = actions_print(&a, cli->fmt, &cli->style, stdout) < 0 ? CMD_FAILED
									  : actions_exit_code(&a);
		actions_print_plan_note(&a);
	}
	sink_free(sink);
	action_ctx_release(&a);
	strbuf_release(&err);
	cli_unlock(lk);
	return rc;
}
