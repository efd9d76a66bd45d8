#ifndef IAMKEYS_USERSTATE_H
#define IAMKEYS_USERSTATE_H
/*
 * A user's live state, as AWS has it now: the one reader of ListAccessKeys,
 * GetAccessKeyLastUsed, ListUserTags, ListGroupsForUser and
 * ListAttachedUserPolicies outside src/aws/.
 * audit, actions (deactivate, update, delete, create), rotate and rotate
 * --self all decide on a struct user_state.
 *
 * Dates are parsed here, once. A date AWS sends that does not parse
 * (CreateDate, LastUsedDate) is an error, USER_STATE_INVALID, with a line
 * naming the field, the value and the key: the caller skips that user and
 * changes nothing for them. A LastUsedDate that is absent (AWS's "N/A",
 * made absent by core/iamxml.c) is "never used".
 */
#include <stdbool.h>
#include <time.h>
#include "core/iamxml.h"
#include "core/rotation.h"
#include "core/strbuf.h"

struct aws_client;

/* What user_state_read reads (or reads again): any combination. */
enum user_state_what {
	USER_STATE_KEYS = 1u << 0,	/* ListAccessKeys */
	USER_STATE_LAST_USED = 1u << 1, /* GetAccessKeyLastUsed of every key (reads keys first) */
	USER_STATE_TAGS = 1u << 2,	/* ListUserTags, and the rotation tag */
	USER_STATE_GROUPS = 1u << 3,	/* ListGroupsForUser */
	USER_STATE_POLICIES = 1u << 4,	/* ListAttachedUserPolicies, and the quarantine */
};

/* The return of a read whose answer held a date that does not parse. */
#define USER_STATE_INVALID (-2)

struct user_key {
	char *id;
	char *status; /* as sent: "Active" or "Inactive" */
	bool active;
	time_t created;
	bool last_used_read; /* GetAccessKeyLastUsed was asked */
	time_t last_used;    /* 0 = never used (or not read) */
	char *service;	     /* NULL when never used */
	char *region;	     /* NULL when never used */
};

struct user_state {
	char *user;
	struct user_key *keys; /* in ListAccessKeys' order */
	size_t nkeys;
	struct iam_tag *tags;
	size_t ntags;
	char **groups;
	size_t ngroups;
	char **attached; /* attached managed policy ARNs */
	size_t nattached;
	/* the name of the AWSCompromisedKeyQuarantine policy AWS attached after
	 * it found a key of the user exposed (core/policy.h), in attached; NULL:
	 * none (or not read) */
	const char *quarantine;
	/* the logical rotation tag (user_state_rotation_value: ROTATION_TAG
	 * with ROTATION_NEW_TAG's key put back; owned, NULL = absent) and,
	 * when it parses, the parsed tag (rotation_valid) */
	char *rotation_value;
	struct rotation_tag rotation;
	bool rotation_valid;
	unsigned long calls; /* API calls made for this state (each paged list counts one) */
};

#define USER_STATE_INIT                                                                            \
	{                                                                                          \
		0                                                                                  \
	}

/*
 * The logical rotation tag of a user's tags: ROTATION_TAG's value with the
 * new key id stored in ROTATION_NEW_TAG put back (rotation_tag_join); an
 * empty ROTATION_NEW_TAG counts as absent. NULL when ROTATION_TAG is
 * absent; the caller frees it.
 */
char *user_state_rotation_value(const struct iam_tag *tags, size_t ntags);

/*
 * Reads the parts in what of user's live state into st. st is zeroed
 * (USER_STATE_INIT) or holds an earlier read of the same user: the parts
 * asked for are replaced, the others kept. 0; -1 with err when a call
 * failed (the AWS error code in c's last_error: NoSuchEntity, ...);
 * USER_STATE_INVALID with err naming the field when a date does not parse.
 * On failure the parts asked for are released.
 */
int user_state_read(struct aws_client *c, const char *user, unsigned what, struct user_state *st,
		    struct strbuf *err);
/* GetAccessKeyLastUsed of st->keys[i] only: 0, -1 or USER_STATE_INVALID as user_state_read. */
int user_state_read_last_used(struct aws_client *c, struct user_state *st, size_t i,
			      struct strbuf *err);
void user_state_release(struct user_state *st);

/* The value of the tag key ("" when it has none), or NULL when absent (or tags not read). */
const char *user_state_tag(const struct user_state *st, const char *key);
/* Drops st->keys[i] from st (a key planned to be deleted, in a dry run). */
void user_state_remove_key(struct user_state *st, size_t i);
/* The key with this id, or NULL. */
const struct user_key *user_state_find_key(const struct user_state *st, const char *id);
/* "AKIA..:Active,AKIA..:Inactive" in the order read. */
void user_state_keys_summary(struct strbuf *out, const struct user_state *st);

#endif
