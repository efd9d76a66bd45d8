/* iamkeys delete: delete access keys, by default only Inactive ones (runbook step 2.4). */
#include "core/compat.h"
#include "cmd/commands.h"
#include "cmd/keycmd.h"
#include "cmd/rootcmd.h"

int cmd_delete(struct cli *cli, int argc, const char **argv)
{
	struct key_command kc;
	int root = 0;

	key_command_init(&kc, KEY_DELETE);
	{
		struct option opts[] = {
			{ "root", 0, OPT_BOOL, &root, NULL,
			  "the root user's access keys in each account of --org / --accounts, "
			  "through AWS's centralized root access (AssumeRoot)",
			  0 },
			{ "user", 0, OPT_STRLIST, &kc.users, "NAME",
			  "the user of --key; with the selector, only these users (repeatable)",
			  0 },
			{ "key", 0, OPT_STRLIST, &kc.keys, "AKIA...",
			  "delete this key of --user (repeatable)", 0 },
			{ "older-than", 0, OPT_DURATION, &kc.older_than, "DURATION",
			  "select Inactive keys older than this (default 30d, the audit's "
			  "inactive-stale)",
			  0 },
			OPT_KEY_SELECTION_END(kc, cli, FORCE_HELP_DELETE),
		};
		struct opt_list rest = { 0 };
		int rc = cli_parse(cli, opts, argc, argv, &rest, 0);

		opt_list_release(&rest);
		if (rc == CMD_CONTINUE)
			rc = root ? root_delete_run(cli, &kc) : key_command_run(cli, &kc);
		key_command_release(&kc);
		return rc;
	}
}
