#ifndef IAMKEYS_REVOKETAG_H
#define IAMKEYS_REVOKETAG_H
/*
 * The record of an incident response (iamkeys revoke), pure: the user tag
 * REVOKE_TAG, so that a crashed or repeated run continues where the last
 * one stopped. Its value (IAM's tag character set, at most 256 characters):
 *   "v=1 key=AKIA... at=20261203T070500Z done=deactivate+deny policy=20261203T070501Z"
 * key is the revoked key, at when the response started, done the steps
 * finished (in any order), policy the aws:TokenIssueTime of the deny
 * policy (its name is REVOKE_POLICY_PREFIX + that time).
 */
#include <time.h>
#include "core/strbuf.h"

#define REVOKE_TAG "iamkeys:revoked"
#define REVOKE_POLICY_PREFIX "iamkeys-revoke-"
#define REVOKE_KEY_ID_MAX 128

enum revoke_step_bit {
	REVOKE_STEP_DEACTIVATE = 1u << 0,
	REVOKE_STEP_DENY = 1u << 1,
	REVOKE_STEP_REPLACE = 1u << 2,
	REVOKE_STEP_DELETE = 1u << 3,
};

struct revoke_tag {
	char key_id[REVOKE_KEY_ID_MAX + 1];
	time_t started;
	unsigned done;	    /* enum revoke_step_bit */
	time_t policy_time; /* 0 = no deny policy yet */
};

/* "deactivate", "deny", "replace", "delete"; NULL for anything else. */
const char *revoke_step_name(unsigned bit);

/* 0, or -1 with a one-line err naming what is wrong (out zeroed). */
int revoke_tag_parse(const char *value, struct revoke_tag *out, struct strbuf *err);
/* Appends the value (always within IAM's 256 characters for a valid key id). */
void revoke_tag_format(struct strbuf *out, const struct revoke_tag *t);

/* REVOKE_POLICY_PREFIX + compact time; and back (-1 for any other name). */
void revoke_policy_name(struct strbuf *out, time_t t);
int revoke_policy_time(const char *name, time_t *out);

#endif
