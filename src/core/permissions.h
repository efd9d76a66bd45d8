#ifndef IAMKEYS_PERMISSIONS_H
#define IAMKEYS_PERMISSIONS_H
/*
 * Which AWS actions each command and each sink calls, in one table: `iamkeys
 * policy` prints a least-privilege IAM policy from it, and the README's
 * permission list and the man pages are generated from it (scripts/gendoc.py
 * through `iamkeys --dump-options`). tests/cli/test_policy.py runs every
 * command against the emulator with exactly the printed actions, and with
 * each one taken away, so the table cannot drift from what the code calls.
 */
#include "core/strbuf.h"

#include <jansson.h>

/* A sink scheme of --to (src/sinks/sink.c): "secretsmanager", "secretsmanager:NAME". */
struct sink_scheme {
	const char *scheme; /* "-" for stdout */
	const char *form;   /* "secretsmanager:NAME" */
	const char *help;
};
/* Terminated by an entry with scheme NULL. */
extern const struct sink_scheme sink_schemes[];

enum permission_flags {
	/* Denied, the command goes on another way (see note) instead of failing. */
	PERM_FALLBACK = 1u << 0,
};

struct permission {
	const char *scope;    /* a command, "sink:SCHEME", "org" (--org / --accounts), "root"
			       * (delete --root, audit --root-via assume-root) or "cloudtrail"
			       * (audit --trace) */
	const char *action;   /* "iam:ListUsers" */
	const char *resource; /* "*", an ARN pattern; "{sink}": the sink's ARN */
	const char *when;     /* the options that make the command call it ("" = always) */
	unsigned flags;
	const char *note; /* why, for the README; NULL if obvious */
};
/* Terminated by an entry with scope NULL. */
extern const struct permission permissions[];

/*
 * The IAM policy document (a JSON object) for command (NULL: every
 * command), with the actions
 * of the sink spec (NULL: none; "secretsmanager:app/{user}") and with org
 * the --org / --accounts calls, with root the calls of the root access key
 * modes (delete --root: instead of delete's own; audit: as well; another
 * command: an error). Statements are grouped by resource, actions
 * sorted. Returns NULL with a one-line error in err for an unknown command
 * or sink. Caller owns the result.
 */
json_t *permissions_policy(const char *command, const char *sink, int org, int root,
			   const char *lock_table, struct strbuf *err);
/*
 * Adds the actions of a --notify target to a policy of permissions_policy:
 * every target the reads and the tag of the record (iamkeys:notified), and
 * sns:TOPIC_ARN sns:Publish on the topic.
 * 0, or -1 with a one-line error for an sns: target that is not an ARN.
 */
int permissions_add_notify(json_t *policy, const char *target, struct strbuf *err);
/* Adds the CloudTrail calls of audit --trace (LookupEvents,
 * DescribeRegions) to a policy of permissions_policy. */
void permissions_add_trace(json_t *policy);
/* The whole table as a JSON array (for iamkeys --dump-options). */
json_t *permissions_json(void);
/* 1 if command is a command the table names (not "org" or "sink:..."), else 0. */
int permissions_know_command(const char *command);

#endif
