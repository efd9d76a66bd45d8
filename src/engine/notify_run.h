#ifndef IAMKEYS_NOTIFY_RUN_H
#define IAMKEYS_NOTIFY_RUN_H
/*
 * Owner notifications after a rotate run (--notify): for each user of the
 * report, the user's state is read again (ListUserTags, ListAccessKeys),
 * core/notify_event.h says which events it calls for, each goes to every
 * target (the command line's and the [user]/[tag] notify setting of
 * --config), and what was sent is recorded in the user tag NOTIFY_TAG.
 * An event is recorded only when every target took it, so a failing
 * target is retried on the next run (the others may then see it twice:
 * at least once). A notification never changes or undoes a rotation step.
 */
#include <time.h>
#include "core/rotconf.h"
#include "core/strbuf.h"
#include "engine/rotate.h"

struct aws_client;
struct notifier;
struct notify_context;

#define NOTIFY_OWNER_TAG_DEFAULT "iamkeys:owner"

struct notify_run_options {
	struct notifier *const *targets; /* the command line's (--notify) */
	size_t ntargets;
	const struct notify_context *ctx; /* for targets from --config */
	const char *owner_tag;		  /* NULL = NOTIFY_OWNER_TAG_DEFAULT */
	long long warn;			  /* due-soon: within this of rotate_after */
	long long rotate_after;
	const struct rotconf *conf; /* may be NULL */
	const char *account;	    /* may be NULL */
	time_t now;
	unsigned kinds; /* only these events (1u << enum notify_kind); 0 = every kind */
};

struct notify_run_result {
	size_t sent;	      /* events sent (to every target) */
	size_t failed;	      /* events some target refused */
	struct strbuf errors; /* one line per failure, "\n"-separated */
};
void notify_run_result_release(struct notify_run_result *res);

/*
 * For audit --notify: the users (NULL-terminated names) with a key expiring
 * soon, as a report notify_after_rotate takes (release with
 * rotate_report_release).
 */
void notify_report_of_users(struct rotate_report *r, const char *const *users, size_t n);

/* 0; -1 when a user's state could not be read (the line is in res->errors too). */
int notify_after_rotate(struct aws_client *c, const struct notify_run_options *o,
			const struct rotate_report *r, struct notify_run_result *res);

#endif
