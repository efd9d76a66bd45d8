/*
 * iamkeys: check and rotate the access keys of AWS IAM users.
 * main.c only sets up the process, finds the command in the table and maps
 * its result to the exit code:
 *   0  success (audit: no finding at or above --fail-on)
 *   1  runtime or AWS error
 *   2  usage error (bad option, value or argument)
 *   3  findings at or above --fail-on, or a blocked/failed rotation step
 *   4  --org/--accounts: some accounts failed, the others ran (docs/scale.md)
 */
#include "core/compat.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "aws/http.h"
#include "core/ssotoken.h"

#include <malloc.h>
#include <poll.h>

static const struct command commands[] = {
	{ "users", cmd_users, "List every IAM user (runbook step 1).",
	  "iamkeys users [--path-prefix PREFIX] [options]" },
	{ "audit", cmd_audit, "Find old, unused and risky access keys (runbook step 2).",
	  "iamkeys audit [--source report|api] [--max-age 90d] [--unused 45d] [options]" },
	{ "deactivate", cmd_deactivate,
	  "Deactivate old or unused access keys, or one key (runbook step 2.1).",
	  "iamkeys deactivate (--user NAME --key AKIA... | --older-than 90d | --unused 45d) [--apply] [options]" },
	{ "create", cmd_create,
	  "Create an access key and deliver its secret to a sink (runbook step 2.2).",
	  "iamkeys create --user NAME --to SINK [--apply] [options]" },
	{ "update", cmd_update,
	  "Set a key's status, Active (rollback) or Inactive (runbook step 2.3).",
	  "iamkeys update --user NAME --key AKIA... --status Active|Inactive [--apply] [options]" },
	{ "delete", cmd_delete,
	  "Delete access keys, by default only Inactive ones (runbook step 2.4).",
	  "iamkeys delete [--user NAME --key AKIA... | --older-than 30d] [--apply] [options]" },
	{ "rotate", cmd_rotate,
	  "Rotate keys: create, verify, deliver, deactivate, delete (the whole rotation).",
	  "iamkeys rotate [--to SINK] [--config FILE] [--user NAME] [--apply] [options]" },
	{ "rollback", cmd_rollback,
	  "Reactivate the old key of a rotation in stage deactivated.",
	  "iamkeys rollback --user NAME [--apply]" },
};

static const int exit_codes[] = {
	[CMD_OK] = 0,
	[CMD_FAILED] = 1,
	[CMD_USAGE] = 2,
	[CMD_FINDINGS] = 3,
	[CMD_PARTIAL] = 4,
};

#define EXIT_STDOUT_CLOSED 141 /* 128 + SIGPIPE */

/* Standard output is a pipe or socket whose reading end is closed. */
static int stdout_reader_gone(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

static void print_main_help(FILE *f)
{
	size_t i;
	fprintf(f, "usage: iamkeys <command> [options]\n\n"
		   "Check and rotate the access keys of AWS IAM users. Nothing is changed\n"
		   "unless a command is given --apply.\n\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-12s%s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nglobal:\n"
		   "  -h, --help    show this help ('iamkeys <command> --help' for a command)\n"
		   "      --version print the version\n"
		   "\nexit codes: 0 ok, 1 runtime or AWS error, 2 usage error,\n"
		   "            3 findings at or above --fail-on (audit), blocked steps (rotate),\n"
		   "              or an action refused by a guard (deactivate, create, update, delete),\n"
		   "            4 some accounts failed and the others ran (--org, --accounts)\n");
}

int main(int argc, const char **argv)
{
	struct cli cli;
	size_t i;
	int rc, flush_err;

	if (argc < 2) {
		print_main_help(stderr);
		return exit_codes[CMD_USAGE];
	}
	if (!strcmp(argv[1], "help") && argc > 2 && argv[2][0] != '-') {
		/* iamkeys help CMD: the command's own help */
		static const char *help_argv[] = { NULL, NULL, "--help", NULL };

		help_argv[1] = argv[2];
		return main(3, help_argv);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		print_main_help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		/* `iamkeys version`: with the libraries, as curl -V */
		cli_print_version(stdout, !strcmp(argv[1], "version"));
		return fflush(stdout) ? exit_codes[CMD_FAILED] : 0;
	}
	/*
	 * Peak RSS of an audit of 5,000 users (docs/benchmarks.md). glibc
	 * raises its trim threshold to twice the largest mmapped block freed
	 * so far (a 2 MB credential report, a large response), and from then
	 * on keeps the free top of the heap for good: a fixed threshold (which
	 * also fixes the mmap threshold at 128 KB) gives it back, 1.1 MB less.
	 * Two arenas rather than one per worker thread: 0.3 MB less with
	 * --jobs 32, and no slower (the workers mostly wait on the network).
	 */
#ifdef M_TRIM_THRESHOLD
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif
#ifdef M_ARENA_MAX
	mallopt(M_ARENA_MAX, 2);
#endif
	json_wipe_on_free();
	memset(&cli, 0, sizeof(cli));
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			cli.cmd = &commands[i];
	if (!cli.cmd) {
		if (argv[1][0] == '-')
			usage_error(NULL, "unknown option '%s' before the command", argv[1]);
		else
			usage_error(NULL, "unknown command '%s'", argv[1]);
		return exit_codes[CMD_USAGE];
	}
	if (http_global_init() < 0) {
		error("cannot initialise libcurl");
		return exit_codes[CMD_FAILED];
	}
	rc = cli.cmd->fn(&cli, argc - 2, argv + 2);
	cli_release(&cli);
	http_global_cleanup();
	if (rc < 0 || rc >= (int)ARRAY_SIZE(exit_codes))
		rc = CMD_FAILED;
	flush_err = fflush(stdout) ? errno : 0;
	if (flush_err || ferror(stdout)) {
		/*
		 * A reader that went away (`iamkeys users | head -1`) is no
		 * error of ours: end quietly with 141, the status of a process
		 * killed by SIGPIPE (as git's); a command's own failure to
		 * write its output is this too. Findings (3) and partial
		 * runs (4) keep their codes. The work itself was not cut
		 * short: a rotation half done because nobody read its output
		 * would be worse.
		 */
		if (flush_err == EPIPE || stdout_reader_gone()) {
			if (rc == CMD_OK || rc == CMD_FAILED)
				return EXIT_STDOUT_CLOSED;
		} else {
			error("cannot write to standard output");
			rc = CMD_FAILED;
		}
	}
	return exit_codes[rc];
}
