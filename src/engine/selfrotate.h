#ifndef IAMKEYS_SELFROTATE_H
#define IAMKEYS_SELFROTATE_H
/*
 * rotate --self: the caller's own long-lived key, in its credentials
 * profile. The create path of actions.c (the live re-read, the two-key
 * guard, CreateAccessKey with its OutcomeUnknown clean-up, the delivery to
 * the profile and the new key's deletion when that fails), then: wait
 * until the new key works (on failure the old key goes back into the
 * profile and the new key is deleted), and delete the old key signed with
 * the new one.
 */
#include "core/strbuf.h"

struct aws_client;

struct self_rotate_options {
	const char *profile; /* NULL: AWS_PROFILE or default */
	const char *region;
	const char *endpoint_url;
	int debug;
	int apply;
	long verify_timeout_ms;
	int follow_symlinks; /* the profile sink may edit a link's target outside its directory */
	/* the client, as soon as it is made (the command watches its clock); may be NULL */
	void (*client_made)(void *ctx, struct aws_client *c);
	/*
	 * With apply, after the caller's account is known and before anything
	 * changes (the command takes the account's lock): 0 to go on, else a
	 * value that self_rotate leaves in r->refused and stops. May be NULL.
	 */
	int (*before_change)(void *ctx, struct aws_client *c, const char *account);
	void *ctx;
};

enum self_rotate_outcome {
	SELF_PLANNED, /* without apply: what would be done */
	SELF_DONE,
	SELF_BLOCKED, /* refused by a guard (the user has two keys); err says why */
	SELF_FAILED,  /* err says what happened and what is left to do */
};

struct self_rotate_result {
	enum self_rotate_outcome outcome;
	int planned; /* the plan was made (user, keys and target known) */
	char *user;
	char *old_key;
	char *new_key; /* SELF_DONE */
	char *target;  /* "profile:NAME@FILE" */
	int refused;   /* before_change's value when it stopped the rotation (SELF_FAILED) */
	int resumed;   /* a --self that died after writing the profile is finished: new_key
			* is the profile's key, old_key the one deleted (NULL: it was gone) */
};

/* 0 with r->outcome (SELF_BLOCKED with err), or -1 with err (SELF_FAILED). Never prints. */
int self_rotate(const struct self_rotate_options *o, struct self_rotate_result *r,
		struct strbuf *err);
void self_rotate_result_release(struct self_rotate_result *r);

#endif
