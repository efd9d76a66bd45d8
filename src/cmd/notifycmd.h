#ifndef IAMKEYS_NOTIFYCMD_H
#define IAMKEYS_NOTIFYCMD_H
/*
 * The command-line side of owner notifications (engine/notify_run.h) for
 * rotate and audit: the options, the targets parsed before any AWS call, and
 * the run after the command's own work with its failures printed.
 */
#include "cmd/cli.h"
#include "engine/notify_run.h"
#include "sinks/notify.h"

struct notify_opts {
	struct opt_list targets;     /* --notify TARGET (repeatable) */
	int best_effort;	     /* --notify-best-effort */
	const char *owner_tag;	     /* --owner-tag KEY */
	struct notifier **notifiers; /* one per target (notify_opts_check) */
	struct notify_context ctx;
};

#define OPT_NOTIFY(n, help)                                                                        \
	{ "notify", 0, OPT_STRLIST, &(n).targets, "TARGET", help, 0 },                             \
		{ "notify-best-effort",                                                            \
		  0,                                                                               \
		  OPT_BOOL,                                                                        \
		  &(n).best_effort,                                                                \
		  NULL,                                                                            \
		  "a notification that fails does not change the exit code",                       \
		  0 },                                                                             \
	{                                                                                          \
		"owner-tag", 0, OPT_STRING, &(n).owner_tag, "KEY",                                 \
			"the user tag naming the owner in notifications (default iamkeys:owner)",  \
			0                                                                          \
	}

/*
 * --notify-best-effort and --owner-tag need --notify; parses every target
 * (nothing is sent). CMD_CONTINUE to go on, or CMD_USAGE after one line.
 */
int notify_opts_check(struct cli *cli, struct notify_opts *n);
/*
 * Sends what the state after the command calls for (notify_after_rotate with
 * o, whose targets, context and owner tag this fills in); prints one line per
 * failure. Returns rc, or CMD_FINDINGS instead of CMD_OK when a target failed
 * without --notify-best-effort.
 */
int notify_opts_run(struct notify_opts *n, struct aws_client *c, struct notify_run_options *o,
		    const struct rotate_report *r, int rc);
void notify_opts_release(struct notify_opts *n);

#endif
