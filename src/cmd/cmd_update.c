/*
 * iamkeys update: set a key's status (runbook step 2.3). --status Inactive
 * goes through deactivate's guards; --status Active is the rollback and
 * has no in-use guard.
 */
#include "core/compat.h"
#include "cmd/commands.h"
#include "cmd/keycmd.h"

int cmd_update(struct cli *cli, int argc, const char **argv)
{
	struct key_command kc;
	struct opt_list rest = { 0 };
	const char *status = NULL;
	int rc;

	key_command_init(&kc, KEY_DEACTIVATE);
	kc.single_only = 1;
	{
		struct option opts[] = {
			{ "user", 0, OPT_STRING, &kc.user, "NAME", "the user of the key (required)",
			  0 },
			{ "key", 0, OPT_STRLIST, &kc.keys, "AKIA...",
			  "the key to change (required; repeatable)", 0 },
			{ "status", 0, OPT_STRING, &status, "STATUS",
			  "Active (reactivate: the rollback) or Inactive (required)", 0 },
			OPT_KEY_ACTION(kc, FORCE_HELP_STATUS),
			OPT_LOCK(cli->lock),
			OPT_COMMON(cli->g),
			OPT_TERMINATOR,
		};
		rc = cli_parse(cli, opts, argc, argv, &rest, 0);
		if (rc == CMD_CONTINUE) {
			if (!status)
				rc = usage_error(cli, "--status is required: Active or Inactive");
			else if (!strcasecmp(status, "Active"))
				kc.kind = KEY_ACTIVATE;
			else if (!strcasecmp(status, "Inactive"))
				kc.kind = KEY_DEACTIVATE;
			else
				rc = usage_error(cli,
						 "invalid --status '%s': use Active or Inactive",
						 status);
		}
		/* reactivating (the rollback) has no guard to override or widen */
		if (rc == CMD_CONTINUE && kc.kind == KEY_ACTIVATE &&
		    (kc.force || options_seen(opts, "in-use-window")))
			rc = usage_error(cli,
					 "%s is for --status Inactive: reactivating a key has "
					 "no guard",
					 kc.force ? "--force" : "--in-use-window");
	}
	opt_list_release(&rest);
	if (rc == CMD_CONTINUE)
		rc = key_command_run(cli, &kc);
	key_command_release(&kc);
	return rc;
}
