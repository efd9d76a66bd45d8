/* iamkeys deactivate: deactivate old or unused access keys (runbook step 2.1). */
#include "core/compat.h"
#include "cmd/commands.h"
#include "cmd/keycmd.h"

int cmd_deactivate(struct cli *cli, int argc, const char **argv)
{
	struct key_command kc;

	key_command_init(&kc, KEY_DEACTIVATE);
	{
		struct option opts[] = {
			{ "user", 0, OPT_STRLIST, &kc.users, "NAME",
			  "the user of --key; with a selector, only these users (repeatable)", 0 },
			{ "key", 0, OPT_STRLIST, &kc.keys, "AKIA...",
			  "deactivate this key of --user (repeatable)", 0 },
			{ "older-than", 0, OPT_DURATION, &kc.older_than, "DURATION",
			  "select Active keys older than this (the audit's old)", 0 },
			{ "unused", 0, OPT_DURATION, &kc.unused, "DURATION",
			  "select Active keys not used for this long (the audit's unused)", 0 },
			OPT_KEY_SELECTION_END(kc, cli, FORCE_HELP_STATUS),
		};
		return key_command_main(cli, &kc, opts, argc, argv);
	}
}
