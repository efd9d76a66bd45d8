#ifndef IAMKEYS_LOCK_H
#define IAMKEYS_LOCK_H
/*
 * One iamkeys run at a time per AWS account (docs/safety.md, "Locking and
 * process hardening"). Every command that changes keys takes the lock of
 * each account it changes, after it knows the account and before it reads
 * the state it decides on, and holds it to the end of that account:
 *
 *   - always, a local lock: flock(2) on DIR/account-ID.lock (0600), where
 *     DIR is --lock-dir, else IAMKEYS_LOCK_DIR, else /run/lock/iamkeys for
 *     root and ~/.cache/iamkeys/locks (the home directory of the user's
 *     passwd entry) for anyone else; DIR must be a directory owned by the
 *     user and writable by nobody else. The kernel drops the lock when the
 *     process ends, however it ends. The file records the holder
 *     ("pid=N host=H since=ISO command=rotate") for the message of the run
 *     that finds it taken;
 *   - with --lock dynamodb:TABLE, also a lease in DynamoDB, for several
 *     hosts: the item {LockID "iamkeys/ACCOUNT", Owner (random id), Expires
 *     (epoch seconds), Since, Host, Pid, Command}, written with PutItem on
 *     the condition "attribute_not_exists(LockID) OR Expires < :now",
 *     renewed every lease/3 from a thread with UpdateItem on the condition
 *     "Owner = :me", deleted at the end with DeleteItem on the same
 *     condition. A holder that dies is taken over once its lease expired.
 *     A holder whose renewals fail (or find another owner) stops before its
 *     next change once two thirds of its lease have passed unrenewed.
 */
#include "core/strbuf.h"

struct aws_client;

struct lock_options {
	const char *lock; /* --lock: NULL / "local", or "dynamodb:TABLE" */
	const char *dir;  /* --lock-dir (else IAMKEYS_LOCK_DIR, else the default) */
	long long wait;	  /* --lock-wait, seconds; 0 = fail at once */
	long long lease;  /* --lock-lease, seconds; -1 = LOCK_DEFAULT_LEASE */
};
#define LOCK_DEFAULT_LEASE 60
#define LOCK_MIN_LEASE 3

#define OPT_LOCK(l)                                                                                                               \
	{ "lock",                                                                                                                 \
	  0,                                                                                                                      \
	  OPT_STRING,                                                                                                             \
	  &(l).lock,                                                                                                              \
	  "local|dynamodb:TABLE",                                                                                                 \
	  "mutual exclusion per account: this host (default), or also a lease in a DynamoDB table for several hosts",             \
	  0 },                                                                                                                    \
		{ "lock-dir",                                                                                                     \
		  0,                                                                                                              \
		  OPT_STRING,                                                                                                     \
		  &(l).dir,                                                                                                       \
		  "DIR",                                                                                                          \
		  "where the local locks are (default IAMKEYS_LOCK_DIR, /run/lock/iamkeys as root, else ~/.cache/iamkeys/locks)", \
		  0 },                                                                                                            \
		{ "lock-wait",                                                                                                    \
		  0,                                                                                                              \
		  OPT_DURATION,                                                                                                   \
		  &(l).wait,                                                                                                      \
		  "DURATION",                                                                                                     \
		  "wait this long for another run's lock (default 0: exit 5 at once)",                                            \
		  0 },                                                                                                            \
	{                                                                                                                         \
		"lock-lease", 0, OPT_DURATION, &(l).lease, "DURATION",                                                            \
			"--lock dynamodb: how long a lease lasts unrenewed (default 60s)", 0                                      \
	}

void lock_options_init(struct lock_options *o);
/* The options' values, before any AWS call: 0, or -1 with a one-line usage error in err. */
int lock_options_check(const struct lock_options *o, struct strbuf *err);

struct account_lock;

#define LOCK_HELD 1    /* account_lock_take: another run holds it */
#define LOCK_STOPPED 2 /* account_lock_take: a SIGINT/SIGTERM came while waiting */

/*
 * Takes the lock of account for command ("rotate", ...), waiting up to
 * o->wait. c is the caller's client: the DynamoDB lease is written with a
 * clone of it (its region, its credentials), from this thread and then the
 * renewal thread. 0 and *out; LOCK_HELD with "another iamkeys run holds the
 * lock for account A since T (pid N, host H)" in err; LOCK_STOPPED; or -1
 * with a one-line error in err (the lock directory, DynamoDB errors).
 */
int account_lock_take(const struct lock_options *o, struct aws_client *c, const char *account,
		      const char *command, struct account_lock **out, struct strbuf *err);
/* 1 while the lock is certainly ours; 0 once a lease was lost or went unrenewed too long. */
int account_lock_valid(struct account_lock *l);
/*
 * Stops the renewals, deletes the lease (only if still ours), unlocks and
 * frees; NULL-safe. 0, or -1 with a one-line warning in err (the lease was
 * taken over, or could not be deleted: it expires by itself).
 */
int account_lock_release(struct account_lock *l, struct strbuf *err);

#endif
