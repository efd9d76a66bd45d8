/*
 * iamkeys: check and rotate the access keys of AWS IAM users.
 * main.c only sets up the process, finds the command in the table and maps
 * its result to the exit code (exit_codes below: `iamkeys --help`, the man
 * page and the README's table are printed from it).
 *
 * `iamkeys --dump-options` (hidden) prints the command table, every
 * command's option table, the exit codes, the sinks and the IAM actions as
 * one JSON document: scripts/gendoc.py makes the man pages, the shell
 * completions and the README's generated blocks from it.
 */
#include "core/compat.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "aws/http.h"
#include "aws/process.h"
#include "core/ssotoken.h"

#include <malloc.h>
#include <poll.h>
#include <signal.h>

static const struct command commands[] = {
	{ "users", cmd_users, NEEDS_CREDS, "List every IAM user (runbook step 1).",
	  "iamkeys users [--path-prefix PREFIX] [options]" },
	{ "audit", cmd_audit, NEEDS_CREDS,
	  "Find old, unused and risky access keys (runbook step 2).",
	  "iamkeys audit [--source report|api] [--max-age 90d] [--unused 45d] [options]" },
	{ "deactivate", cmd_deactivate, NEEDS_CREDS | MUTATES,
	  "Deactivate old or unused keys, or one key (runbook step 2.1).",
	  "iamkeys deactivate (--user NAME --key AKIA... | --older-than 90d | --unused 45d) [--apply] [options]" },
	{ "create", cmd_create, NEEDS_CREDS | MUTATES,
	  "Create a key and deliver its secret to a sink (runbook step 2.2).",
	  "iamkeys create --user NAME --to SINK [--apply] [options]" },
	{ "update", cmd_update, NEEDS_CREDS | MUTATES,
	  "Set a key's status: Active (rollback) or Inactive (step 2.3).",
	  "iamkeys update --user NAME --key AKIA... --status Active|Inactive [--apply] [options]" },
	{ "delete", cmd_delete, NEEDS_CREDS | MUTATES,
	  "Delete keys, by default only Inactive ones (runbook step 2.4).",
	  "iamkeys delete [--user NAME --key AKIA... | --older-than 30d] [--apply] [options]" },
	{ "rotate", cmd_rotate, NEEDS_CREDS | MUTATES,
	  "Rotate keys: create, verify, deliver, deactivate, delete.",
	  "iamkeys rotate [--to SINK] [--config FILE] [--user NAME] [--apply] [options]" },
	{ "rollback", cmd_rollback, NEEDS_CREDS | MUTATES,
	  "Put a rotation's old key back and pause the rotation.",
	  "iamkeys rollback --user NAME [--apply]" },
	{ "trace", cmd_trace, NEEDS_CREDS,
	  "Who calls with an access key: its CloudTrail events, by caller.",
	  "iamkeys trace (--key AKIA... | --user NAME) [--since 30d] [--regions LIST] [options]" },
	{ "revoke", cmd_revoke, NEEDS_CREDS | MUTATES,
	  "Incident response: deactivate a leaked key, deny its sessions.",
	  "iamkeys revoke --user NAME --key AKIA... [--replace --to SINK] [--delete] [--cleanup-after 36h] [--apply]" },
	{ "policy", cmd_policy, 0, "Print the least-privilege IAM policy a command needs (JSON).",
	  "iamkeys policy [COMMAND] [--to SINK] [--org]" },
};

#define EXIT_STDOUT_CLOSED 141 /* 128 + SIGPIPE */

struct exit_code {
	int code;
	const char *meaning;
};
static const struct exit_code exit_codes[] = {
	[CMD_OK] = { 0, "success; audit: no finding at or above --fail-on" },
	[CMD_FAILED] = { 1, "runtime or AWS error (one line on stderr: action, AWS code, message, "
			    "request id)" },
	[CMD_USAGE] = { 2, "usage error (unknown option, bad value, missing value, bad "
			   "configuration file)" },
	[CMD_FINDINGS] = { 3, "audit: findings at or above --fail-on (default old); "
			      "rotate/rollback: a user blocked (a paused rotation too), or a step "
			      "failed or refused (a saved plan's user too), or a --notify target "
			      "failed (unless --notify-best-effort); "
			      "deactivate/create/update/delete: an action refused by a guard; "
			      "revoke: a step refused (the key iamkeys runs with, a user with two "
			      "keys, a deny policy too young for --cleanup-after)" },
	[CMD_PARTIAL] = { 4, "--org/--accounts: some accounts failed, the others ran (takes "
			     "precedence over 3; every account failing is 1)" },
	[CMD_LOCKED] = { 5, "another iamkeys run holds the lock of the account (see --lock); "
			    "nothing was changed" },
	[CMD_INTERRUPTED] = { 130, "stopped by SIGINT before the next step (a change in flight "
				   "completes; the next run continues)" },
};
/* Not a command's result (128 + a signal): documented with the table. */
static const struct exit_code exit_signals[] = {
	{ 128 + SIGTERM, "stopped by SIGTERM, as 130" },
	{ EXIT_STDOUT_CLOSED,
	  "standard output was closed before iamkeys finished writing "
	  "(iamkeys users | head -1); nothing is printed about it, and the "
	  "work itself ran to its end (a secret for --to - that cannot be "
	  "written is a failed delivery: its new key is deleted, exit 1 or 3)" },
};

/* Prints text wrapped at width columns, every line after the first indented by indent. */
static void print_wrapped(FILE *f, const char *text, size_t indent, size_t width)
{
	size_t col = indent;
	while (*text) {
		size_t n = strcspn(text, " ");
		if (col > indent && col + 1 + n > width) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, n, f);
		col += n;
		text += n;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

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
		   "\nexit codes:\n");
	for (i = 0; i < ARRAY_SIZE(exit_codes); i++) {
		fprintf(f, "  %-3d  ", exit_codes[i].code);
		print_wrapped(f, exit_codes[i].meaning, 7, 79);
	}
	for (i = 0; i < ARRAY_SIZE(exit_signals); i++) {
		fprintf(f, "  %-3d  ", exit_signals[i].code);
		print_wrapped(f, exit_signals[i].meaning, 7, 79);
	}
}

/* iamkeys --dump-options: see the comment at the top. */
static int dump_options(void)
{
	json_t *doc = json_object(), *cmds = json_array(), *codes = json_array();
	struct cli cli;
	size_t i;
	int rc = 0;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		static const char *no_args[] = { NULL };
		memset(&cli, 0, sizeof(cli));
		cli.cmd = &commands[i];
		cli.dump = cmds;
		if (commands[i].fn(&cli, 0, no_args) != CMD_OK)
			rc = error("cannot dump the options of '%s'", commands[i].name);
		cli_release(&cli);
	}
	for (i = 0; i < ARRAY_SIZE(exit_codes); i++)
		json_array_append_new(codes, json_pack("{s:i, s:s}", "code", exit_codes[i].code,
						       "meaning", exit_codes[i].meaning));
	for (i = 0; i < ARRAY_SIZE(exit_signals); i++)
		json_array_append_new(codes, json_pack("{s:i, s:s}", "code", exit_signals[i].code,
						       "meaning", exit_signals[i].meaning));
	json_object_set_new(doc, "program", json_string("iamkeys"));
	json_object_set_new(doc, "version", json_string(IAMKEYS_VERSION));
	json_object_set_new(doc, "commands", cmds);
	json_object_set_new(doc, "exit_codes", codes);
	cli_dump_tables(doc);
	if (!rc && json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER) < 0)
		rc = -1;
	json_decref(doc);
	putchar('\n');
	return rc < 0 ? exit_codes[CMD_FAILED].code : 0;
}

int main(int argc, const char **argv)
{
	struct cli cli;
	size_t i;
	int rc, flush_err;

	/* before anything holds a secret: no core dumps, no ptrace by the same user */
	if (process_harden() < 0)
		warning("cannot turn off core dumps: %s", strerror(errno));
	/* stdout is read by people and by log collectors: whole lines, at once */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		print_main_help(stderr);
		return exit_codes[CMD_USAGE].code;
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
		return fflush(stdout) ? exit_codes[CMD_FAILED].code : 0;
	}
	if (!strcmp(argv[1], "--dump-options"))
		return dump_options();
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
	lock_options_init(&cli.lock);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			cli.cmd = &commands[i];
	if (!cli.cmd) {
		if (argv[1][0] == '-')
			usage_error(NULL, "unknown option '%s' before the command", argv[1]);
		else
			usage_error(NULL, "unknown command '%s'", argv[1]);
		return exit_codes[CMD_USAGE].code;
	}
	/* a change in flight completes; the command stops before the next one */
	if (cli.cmd->flags & MUTATES)
		interrupt_install();
	if (http_global_init() < 0) {
		error("cannot initialise libcurl");
		return exit_codes[CMD_FAILED].code;
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
	if (rc == CMD_INTERRUPTED || (interrupt_signal() && rc != CMD_USAGE))
		return 128 + (interrupt_signal() ? interrupt_signal() : SIGINT);
	return exit_codes[rc].code;
}
