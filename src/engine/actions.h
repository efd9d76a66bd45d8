#ifndef IAMKEYS_ACTIONS_H
#define IAMKEYS_ACTIONS_H
/*
 * Guarded changes to access keys, shared by deactivate, create, update and
 * delete (runbook steps 2.1-2.4) and by rotate. docs/actions.md describes
 * the behaviour; this header the code.
 *
 * One run is one struct action_ctx: it knows who is calling (the key it
 * signs with, from the credentials, and GetCallerIdentity), the options
 * (--apply, --force, --in-use-window) and keeps one record per action:
 *
 *   planned   would be done; only without --apply
 *   done      was done (--apply)
 *   nothing   nothing to do: already in the wanted state
 *   blocked   refused by a guard; the reason says how to override
 *   exempt    selected, but the user is exempt (bulk selectors)
 *   failed    AWS or delivery failed (the reason has the error)
 *
 * Every change is preceded by a live re-read of the user's keys
 * (ListAccessKeys) and of the key's last use (GetAccessKeyLastUsed); the
 * guards (key_guard_check, pure) then decide:
 *   - a key that is the caller's own is never deactivated or deleted
 *     (unless allow_self: rotate's self-rotation);
 *   - an Active key is deleted only with --force;
 *   - a key used within --in-use-window (+15 minutes: AWS records last use
 *     at about that granularity) is deactivated or deleted only with --force;
 *   - a user's last Active key is deactivated or deleted only with --force.
 * Without --apply, the effects of the actions planned so far are laid over
 * the live state (so two planned deactivations of the same user's only two
 * active keys block the second, as applying them would).
 *
 * Each record is handed to on_record as it is made (the command prints it:
 * cmd/keycmd.c); the engine never prints.
 */
#include <stdio.h>
#include <time.h>
#include "core/strbuf.h"
#include "engine/audit.h"

struct aws_client;
struct sink;

enum key_action_kind { KEY_DEACTIVATE, KEY_ACTIVATE, KEY_DELETE, KEY_CREATE };
enum action_result {
	ACTION_PLANNED,
	ACTION_DONE,
	ACTION_NOTHING,
	ACTION_BLOCKED,
	ACTION_EXEMPT,
	ACTION_FAILED,
};

/* "deactivate", "activate", "delete", "create" (the JSON Action). */
const char *key_action_name(enum key_action_kind kind);
/* "planned", "done", "nothing-to-do", "skipped", "exempt", "failed" (the JSON Result). */
const char *action_result_name(enum action_result r);

/* AKIA or ASIA, then 16 to 124 upper-case letters and digits (IAM's 16..128). */
int access_key_id_is_valid(const char *s);

/* AWS records last use with about this granularity: added to --in-use-window. */
#define LAST_USED_GRANULARITY (15 * 60)
#define DEFAULT_IN_USE_WINDOW (24 * 3600)

struct action_options {
	int apply;		 /* --apply: change things; else plan only */
	int force;		 /* --force: override the in-use, Active and last-key guards */
	long long in_use_window; /* seconds; 0 turns the in-use guard off */
	int allow_self;		 /* the caller's own key may change (rotate's self-rotation) */
	time_t now;		 /* 0 = AWS's time, set by action_ctx_init */
};

/* The facts the guards decide on (all live, plus this run's planned effects). */
struct guard_input {
	enum key_action_kind kind; /* KEY_DEACTIVATE, KEY_ACTIVATE or KEY_DELETE */
	const char *user;
	const char *key_id;
	int found;	  /* the user has this key */
	int active;	  /* its status */
	time_t last_used; /* 0 = never */
	int other_active; /* the user's other Active keys (after this run's earlier actions) */
	int is_self;	  /* the key the caller signs with */
};

enum guard_verdict {
	GUARD_GO,      /* do it (forced overrides noted in why) */
	GUARD_NOTHING, /* already as wanted (or gone, for delete) */
	GUARD_BLOCK,   /* refused: why says why and how to override */
	GUARD_MISSING, /* the user has no such key (an error for deactivate / activate) */
};

/*
 * The guards, pure. Appends to why the reason of a refusal, of "nothing",
 * or the guards overridden by --force ("--force: used 3 hours ago, within
 * --in-use-window 24h"); nothing when there is nothing to say.
 */
enum guard_verdict key_guard_check(const struct guard_input *in, const struct action_options *o,
				   struct strbuf *why);

/* "3 hours ago", "12 minutes ago", "5 days ago" (now - t >= 0). */
void format_ago(struct strbuf *out, time_t t, time_t now);

struct action_record {
	enum key_action_kind kind;
	enum action_result result;
	char *user;
	char *key_id; /* NULL for a create not (yet) made */
	char *reason;
};

/* A planned effect that is not live yet (without --apply). */
struct planned_effect {
	char *user;
	char *key_id; /* NULL for a planned new key */
	enum key_action_kind kind;
};

struct caller_identity {
	char *account; /* "111111111111" */
	char *arn;     /* "arn:aws:iam::111111111111:user/admin" */
	char *user;    /* "admin"; NULL when the caller is not an IAM user */
	char *key_id;  /* the access key id this run signs with */
};

struct action_ctx {
	struct aws_client *c;
	struct action_options o;
	struct caller_identity self;
	/* called with each record as it is made; NULL = none */
	void (*on_record)(const struct action_record *r, void *ctx);
	void *on_record_ctx;
	struct action_record *recs;
	size_t nrecs, alloc_recs;
	struct planned_effect *effects;
	size_t neffects, alloc_effects;
};

/*
 * Sets up a run: copies o, finds the caller (the signing key id from the
 * client's credentials, then GetCallerIdentity). 0, or -1 with err (the
 * context is then safe to release).
 */
int action_ctx_init(struct action_ctx *a, struct aws_client *c, const struct action_options *o,
		    struct strbuf *err);
void action_ctx_release(struct action_ctx *a);

/* Adds a record (and hands it to a->on_record). Strings are copied; NULL ok. */
void action_record_add(struct action_ctx *a, enum key_action_kind kind, enum action_result r,
		       const char *user, const char *key_id, const char *reason);
/* One line: "deactivate AKIA... of alice: old (120 days), last used ...". */
void action_record_format(struct strbuf *out, const struct action_record *r);

/*
 * Deactivates, reactivates or deletes key_id of user: the live re-read,
 * the guards, then (with --apply) UpdateAccessKey / DeleteAccessKey. why
 * is the selection reason ("old (120 days)") or NULL; the live facts (last
 * use) are added to it. Records the outcome and returns it.
 */
enum action_result action_change_key(struct action_ctx *a, enum key_action_kind kind,
				     const char *user, const char *key_id, const char *why);

struct create_options {
	/* The sink already holds an Active key of the user younger than this:
	 * nothing to do. 0 = always create. */
	long long max_age;
	/* The caller records its intent itself and deletes what an interrupted
	 * run of it created (revoke's tag): no create mark is written. */
	int own_intent_record;
	/* rotate --self: the create mark outlives the delivery until the caller
	 * has deleted the old key (see struct create_self); NULL otherwise. */
	struct create_self *self;
};

/*
 * rotate --self's part of the create mark. On ACTION_DONE, mark is the mark
 * still on the user (owned): the caller removes it with create_mark_remove
 * once the old key is gone. A mark left by a --self that died after its
 * delivery (the profile holds a key created after the mark, and the command
 * runs with it) is resumed: ACTION_NOTHING with resumed set, old_key the key
 * of before the mark still to delete (NULL when it is gone too) and mark
 * the mark to remove afterwards.
 */
struct create_self {
	char *mark;
	int resumed;
	char *old_key;
};
void create_self_release(struct create_self *cs);
/* Removes the create mark value from user if it is still there: 0, or -1 with err. */
int create_mark_remove(struct aws_client *c, const char *user, const char *value,
		       struct strbuf *err);

/*
 * Creates a key for user and delivers it to sink:
 *   0. ListAccessKeys and ListUserTags: a create mark (CREATE_MARK_TAG) left
 *      by a create that died is recovered first (create_mark_recover), a
 *      live run's blocks the user;
 *   2. sink_preflight: the sink already holds a current key of the user
 *      (Active, younger than max_age): nothing to do; a sink that would
 *      refuse the delivery (file exists): blocked;
 *   3. without --apply: planned;
 *   4. TagUser: the create mark of this run, read back (ListUserTags): a
 *      mark of another run there instead blocks the user;
 *   5. CreateAccessKey. OutcomeUnknown: ListAccessKeys again, delete any
 *      key that was not there before (its secret is lost), failed;
 *   6. sink_deliver (within ROTATION_DELIVER_BY of the mark). Failure:
 *      DeleteAccessKey of the new key, failed;
 *   7. UntagUser of the mark if it is still this run's (ListUserTags first);
 *      when it cannot be removed the key is kept, the result is failed.
 * Records the outcome and returns it; *new_key_id (may be NULL) gets the
 * new key's id when done (caller frees).
 */
enum action_result action_create_key(struct action_ctx *a, const char *user, struct sink *sink,
				     const struct create_options *co, char **new_key_id);
/* The same, and when done *nk holds the new key with its secret (released, and the
 * secret wiped, by iam_access_key_release; zeroed otherwise). */
struct iam_access_key;
enum action_result action_create_key_secret(struct action_ctx *a, const char *user,
					    struct sink *sink, const struct create_options *co,
					    struct iam_access_key *nk);

/* Bulk selection (deactivate, delete): the audit scan and what to take from it. */
struct key_selection {
	struct audit_options audit; /* source API, policy thresholds, exemptions, user, jobs */
	unsigned findings;	    /* keys with any of these findings are selected */
};

/*
 * Runs the audit scan and applies kind to every selected key, in the
 * scan's order (user, then creation date): exempt users' keys are
 * recorded as exempt, users the scan skipped (their live state does not
 * parse) as failed. *selected: how many were selected. 0, or -1 with err
 * when the scan failed.
 */
int action_run_selection(struct action_ctx *a, enum key_action_kind kind,
			 const struct key_selection *sel, size_t *selected, struct strbuf *err);

#endif
