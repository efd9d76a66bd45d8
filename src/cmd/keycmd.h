#ifndef IAMKEYS_KEYCMD_H
#define IAMKEYS_KEYCMD_H
/*
 * The command-line side of the guarded key actions (engine/actions.h):
 * deactivate, delete and update share their options and their run here;
 * create shares the printing of the records.
 */
#include <stdio.h>
#include "cmd/cli.h"
#include "cmd/orgcmd.h"
#include "engine/actions.h"

/* With --output table, each record's line goes to stdout as it is made. */
void actions_stream(struct action_ctx *a, const struct cli *cli);
/* The command's client, o->now from its clock, a set up and streaming; -1 after an error. */
int actions_begin(struct cli *cli, struct action_options *o, struct action_ctx *a);
/* CMD_FAILED if an action failed, else CMD_FINDINGS if one was blocked, else CMD_OK. */
int actions_exit_code(const struct action_ctx *a);
/*
 * Prints every record: table = nothing more (lines were streamed), json =
 * an array of objects, csv = a header and one row each. 0 / -1.
 */
int actions_print(const struct action_ctx *a, enum output_format fmt, const struct out_style *st,
		  FILE *f);
/* The closing note on stderr: "plan only: nothing was changed; ..." when something was planned. */
void actions_print_plan_note(const struct action_ctx *a);

/*
 * The command-line side of deactivate, delete and update (cmd_<name>.c
 * declare the options, key_command_run does the rest).
 */
struct key_command {
	enum key_action_kind kind;
	int single_only;	  /* update: --user and --key are required */
	const char *user;	  /* the user of --key (update: --user) */
	struct opt_list users;	  /* deactivate, delete: --user, repeatable */
	struct opt_list keys;	  /* --key, repeatable */
	long long older_than;	  /* --older-than; -1 = not given */
	long long unused;	  /* --unused (deactivate); -1 = not given */
	struct exemption_opts ex; /* the audit's exemptions */
	int jobs;
	int apply, force;
	long long in_use_window;
	struct org_opts org; /* deactivate, delete: selectors across accounts */
};
void key_command_init(struct key_command *kc, enum key_action_kind kind);
void key_command_release(struct key_command *kc);
/* After cli_parse: checks the arguments, runs the actions, prints; a cmd_result. */
int key_command_run(struct cli *cli, struct key_command *kc);
/* A whole command (deactivate, delete): cli_parse with opts, key_command_run,
 * key_command_release; a cmd_result. */
int key_command_main(struct cli *cli, struct key_command *kc, struct option *opts, int argc,
		     const char **argv);
/* force_help names the guards --force overrides: delete has one more. */
#define FORCE_HELP_STATUS "override the in-use and last-working-key guards"
#define FORCE_HELP_DELETE "override the in-use, Active-key and last-working-key guards"
#define OPT_KEY_ACTION(kc, force_help)                                                             \
	{ "apply",  0,                                                                             \
	  OPT_BOOL, &(kc).apply,                                                                   \
	  NULL,	    "make the changes (without it only the plan is printed)",                      \
	  0 },                                                                                     \
		{ "force", 0, OPT_BOOL, &(kc).force, NULL, force_help, 0 },                        \
	{                                                                                          \
		"in-use-window", 0, OPT_DURATION, &(kc).in_use_window, "DURATION",                 \
			"refuse keys used within this (default 24h; 0 turns it off)", 0            \
	}

#define OPT_KEY_EXEMPTIONS(kc)                                                                           \
	OPT_EXEMPTIONS((kc).ex),                                                                         \
	{                                                                                                \
		"jobs", 'j', OPT_INT, &(kc).jobs, "N",                                                   \
			"concurrent API workers for the scan, lowered while IAM throttles (default 32)", \
			0                                                                                \
	}

/*
 * What deactivate and delete take after their selectors (--user, --key,
 * --older-than...): the exemptions and --jobs, --apply/--force/--in-use-window,
 * --org, --lock and the common options; it ends the table.
 */
#define OPT_KEY_SELECTION_END(kc, cli, force_help)                                                 \
	OPT_KEY_EXEMPTIONS(kc), OPT_KEY_ACTION(kc, force_help), OPT_ORG((kc).org),                 \
		OPT_LOCK((cli)->lock), OPT_COMMON((cli)->g), OPT_TERMINATOR

#endif
