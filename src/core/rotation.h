#ifndef IAMKEYS_ROTATION_H
#define IAMKEYS_ROTATION_H
/*
 * The rotation planner, pure: (one user's live state, policy, now) → the
 * actions that move the user's rotation one stage on. No I/O, no clock.
 *
 * The stage lives in AWS, in the user tag ROTATION_TAG, so any machine can
 * continue a rotation. Its value (IAM's tag character set, < 256 chars):
 *   "v=1 stage=intent old=AKIA... t=20261128T120000Z"
 *   "v=1 stage=delivered old=AKIA... new=AKIA... t=20261128T120005Z"
 *   "v=1 stage=deactivated old=AKIA... new=AKIA... t=20261205T120000Z"
 * t is when the stage was entered. No tag: idle.
 *
 *   idle + active key older than rotate_after (due):
 *       [delete an Inactive key past delete_after to make room]
 *       tag intent → create, verify, deliver → tag delivered
 *   intent (a run died before recording delivery): the key created after
 *       the mark has a lost secret: delete it, then as due
 *   delivered: once the new key is deactivate_after old and the old key
 *       has not been used since delivery (or max_grace has passed):
 *       deactivate old → tag deactivated; else blocked (old key in use)
 *   deactivated: once delete_after has passed and the old key is unused
 *       since: delete old → untag
 *   rolled-back (rollback: the old key is Active again, both keys work):
 *       paused, reported blocked, until rotate --resume (→ delivered,
 *       t = the resume) or rotate --abort (delete the new key → untag)
 */
#include <stddef.h>
#include <time.h>
#include "core/strbuf.h"

#define ROTATION_TAG "iamkeys:rotation"
/*
 * IAM tag values are at most 256 characters of [\p{L}\p{Z}\p{N}_.:/=+\-@]
 * and key ids up to 128, so two key ids cannot share one value: the new
 * key id is stored alone in ROTATION_NEW_TAG. rotation_tag_join/split move
 * between the pair of tags and the one logical value the planner reads
 * ("v=1 stage=... run=... old=... new=... t=..."). A run id (run=, 8 to 16
 * lower-case letters and digits) names the run that wrote an intent mark.
 */
#define ROTATION_NEW_TAG "iamkeys:rotation-new"
#define ROTATION_TAG_MAX 256
#define ROTATION_KEY_ID_MAX 128
#define ROTATION_RUN_ID_MAX 16
/*
 * A run delivers a new key only within ROTATION_DELIVER_BY seconds of
 * writing its intent mark (else it deletes the key it created and stops);
 * another run treats an intent mark with a run id younger than
 * ROTATION_LEASE (+ the policy's skew) as a rotation still in progress and
 * leaves it alone: recovery never races a live run's delivery.
 */
#define ROTATION_DELIVER_BY 600
#define ROTATION_LEASE 900
/* The longest --verify-timeout: verifying, then delivering, must fit in
 * ROTATION_DELIVER_BY (a minute is left for the delivery itself). */
#define ROTATION_VERIFY_MAX (ROTATION_DELIVER_BY - 60)

/*
 * The create mark: before CreateAccessKey, create, rotate --self and revoke
 * --replace tag the user CREATE_MARK_TAG = "v=1 run=ID t=TIME sink=HASH"
 * (TIME in AWS's clock, compact as in the rotation tag; HASH the first
 * CREATE_MARK_SINK_HEX hex digits of SHA-256 of the sink's target) and
 * remove it once the secret is delivered or the key deleted. A mark older
 * than ROTATION_LEASE belongs to a run that died between CreateAccessKey and
 * delivery; only a run with the same sink may recover it.
 */
#define CREATE_MARK_TAG "iamkeys:create"
#define CREATE_MARK_SINK_HEX 16

struct create_mark {
	char run[ROTATION_RUN_ID_MAX + 1];
	time_t t;
	char sink[CREATE_MARK_SINK_HEX + 1];
};

void create_mark_format(struct strbuf *out, const struct create_mark *m);
/* 0, or -1 with a one-line message (every field required, none repeated, none unknown) */
int create_mark_parse(const char *value, struct create_mark *out, struct strbuf *err);

/*
 * The lasting record of a key change: the same TagUser that writes the
 * create mark (create, rotate --self) also writes KEYS_CHANGED_TAG =
 * "v=1 t=TIME" (TIME as in the mark), and nothing removes it, so it still
 * says when iamkeys last created a key for the user after the mark is gone.
 * audit reads a user whose record is newer than a reused credential report
 * live instead of from the report.
 */
#define KEYS_CHANGED_TAG "iamkeys:changed"

void keys_changed_format(struct strbuf *out, time_t t);
/* 0 (*t set), or -1 with a one-line message (v and t required, nothing else) */
int keys_changed_parse(const char *value, time_t *t, struct strbuf *err);

enum rotation_stage {
	STAGE_IDLE = 0,
	STAGE_INTENT,
	STAGE_DELIVERED,
	STAGE_DEACTIVATED,
	STAGE_ROLLED_BACK, /* paused by rollback until rotate --resume or --abort */
};

struct rotation_tag {
	enum rotation_stage stage;
	char old_key[ROTATION_KEY_ID_MAX + 1];
	char new_key[ROTATION_KEY_ID_MAX + 1]; /* "" for intent */
	char run[ROTATION_RUN_ID_MAX + 1];     /* "" when not recorded */
	time_t t;
};
/* Parses a tag value; -1 with a one-line reason for anything malformed. */
int rotation_tag_parse(const char *value, struct rotation_tag *out, struct strbuf *err);
/* Formats the logical tag value. */
void rotation_tag_format(struct strbuf *out, const struct rotation_tag *t);
/*
 * The stored pair → the logical value: main (ROTATION_TAG, NULL = absent)
 * and new_id (ROTATION_NEW_TAG, NULL = absent). NULL when main is absent
 * (a lone ROTATION_NEW_TAG is ignored); caller frees.
 */
char *rotation_tag_join(const char *main, const char *new_id);
/*
 * The logical value → the stored pair: *main is the value without its
 * "new=" field, *new_id the new key id or NULL. -1 with a reason when
 * either would not be a valid IAM tag value. Caller frees both.
 */
int rotation_tag_split(const char *value, char **main, char **new_id, struct strbuf *err);
/* 1 when s has an access key id's shape: 16 to ROTATION_KEY_ID_MAX capital
 * letters and digits ("AKIA...", "ASIA..."). */
int access_key_id_valid(const char *s);
/* The same for the n bytes at s (no NUL needed). */
int access_key_id_valid_n(const char *s, size_t n);
/* 1 when s is a valid IAM tag value (length and character set). */
int rotation_tag_value_valid(const char *s);
const char *rotation_stage_name(enum rotation_stage s);

struct rot_key {
	const char *id;
	int active;
	time_t created;
	time_t last_used;	  /* 0 = never */
	const char *last_service; /* for messages; may be NULL */
	const char *last_region;
};

struct rot_user {
	const char *name;
	const char *tag_value; /* the ROTATION_TAG value, NULL when absent */
	const struct rot_key *keys;
	size_t nkeys;
	/*
	 * Which key the user's sink holds, asked when recovering an intent
	 * mark: sink_known 0 = cannot tell (sink_why says why; then no key
	 * created after the mark is deleted), 1 = sink_key (NULL: none).
	 */
	int sink_known;
	const char *sink_key;
	const char *sink_why;
};

struct rot_policy {
	long long rotate_after;	    /* default 90d */
	long long deactivate_after; /* default 7d: new key this old before the old one goes */
	long long delete_after;	    /* default 7d inactive before deletion */
	long long max_grace;	    /* 0 = none: deactivate anyway this long after delivery */
	long long in_use_window;    /* default 24h: a key used this recently is in use */
	long long skew;		    /* allowance between our clock and AWS's, default 300 s */
};
void rot_policy_defaults(struct rot_policy *p);

enum rot_action_kind {
	ROT_DELETE_KEY, /* key_id */
	ROT_TAG,	/* tag_value (replaces expect_tag) */
	ROT_CREATE,	/* create, verify, deliver, then tag delivered (apply fills new id) */
	ROT_DEACTIVATE, /* key_id */
	ROT_REACTIVATE, /* key_id (rollback) */
	ROT_UNTAG,
};

struct rot_action {
	enum rot_action_kind kind;
	char key_id[ROTATION_KEY_ID_MAX + 1];
	struct strbuf tag_value; /* ROT_TAG: the new value */
	struct strbuf reason;	 /* human-readable, one line */
	/* precondition checked live before the step when applying */
	int expect_active;     /* ROT_DELETE_KEY/DEACTIVATE: the key's status (-1 any) */
	int in_use_guard;      /* refuse if the key was used within in_use_window */
	time_t not_used_since; /* refuse if used after this (0 = no check) */
	int sink_guard;	       /* ROT_DELETE_KEY: refuse unless the user's sink proves it
				     does not hold key_id (rotate --abort) */
};

enum rot_outcome {
	ROT_NOTHING, /* nothing to do now (reason says why / when) */
	ROT_ACT,     /* actions to carry out */
	ROT_BLOCKED, /* something prevents progress; reason says what */
};

struct rot_plan {
	enum rot_outcome outcome;
	enum rotation_stage stage; /* the stage found */
	struct strbuf reason;	   /* NOTHING/BLOCKED: why; ACT: summary */
	struct rot_action *actions;
	size_t nactions, alloc;
	struct rotation_tag tag; /* parsed tag (stage != IDLE) */
	time_t next_due;	 /* when something will be due (0 = unknown), for messages */
};
void rot_plan_init(struct rot_plan *p);
void rot_plan_release(struct rot_plan *p);

/* Plans one user. Always fills plan (outcome, reason). 0, or -1 only on
 * programming errors. */
int rotation_plan_user(const struct rot_user *u, const struct rot_policy *p, time_t now,
		       struct rot_plan *plan);

/*
 * Plans a rollback: stage delivered or deactivated → [reactivate old] → tag
 * rolled-back (t=now): the rotation pauses with the old key Active. In stage
 * rolled-back with the old key Active: nothing to do (a rollback is
 * idempotent).
 */
int rotation_plan_rollback(const struct rot_user *u, time_t now, struct rot_plan *plan);
/* Plans rotate --resume: stage rolled-back → tag delivered (t=now). */
int rotation_plan_resume(const struct rot_user *u, time_t now, struct rot_plan *plan);

/*
 * A use of a new key this soon after its creation is the rotation's own
 * verification (STS GetCallerIdentity signed with it), not an application.
 */
#define ROT_VERIFY_WINDOW 600

/*
 * Plans rotate --abort: give up a rotation and keep the old key.
 *   intent: delete the keys created after the mark (a key that never got
 *       created: nothing to delete) → untag
 *   delivered, rolled-back, deactivated: [reactivate old] → delete new →
 *       untag
 * Each key to delete carries not_used_since = created + ROT_VERIFY_WINDOW
 * (refused if an application used it), unless force, and sink_guard (the
 * caller must prove the user's sink does not hold it, unless force).
 * Never leaves the user without an Active key.
 */
int rotation_plan_abort(const struct rot_user *u, const struct rot_policy *p, time_t now, int force,
			struct rot_plan *plan);

/* "DeleteKey", "Tag", "CreateKey", ... (the plan file's names); NULL if unknown. */
const char *rot_action_kind_name(enum rot_action_kind k);
/* The kind of a plan file's name: 0, or -1 if unknown. */
int rot_action_kind_parse(const char *name, enum rot_action_kind *out);
/* STAGE_* of "idle", "intent", ...: 0, or -1 if unknown. */
int rotation_stage_parse(const char *name, enum rotation_stage *out);

/* "2026-11-28T12:00:00Z" style, compact: "20261128T120000Z" (tag-safe). */
void rotation_format_compact_time(struct strbuf *out, time_t t);
/* "20261128T120000Z" -> time; -1 when it is not exactly that form. */
int rotation_parse_compact_time(const char *s, time_t *out);

#endif
