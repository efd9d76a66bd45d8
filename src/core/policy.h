#ifndef IAMKEYS_POLICY_H
#define IAMKEYS_POLICY_H
/*
 * The audit policy, pure: which findings apply to an access key, and
 * whether a user is exempt. No clock: `now` is an argument.
 *
 * Findings, from least to most severe (--fail-on takes a name and fails on
 * that finding or any more severe one):
 *   expiring        an active key within --warn of --max-age
 *   inactive-stale  an inactive key older than --inactive-grace (delete it)
 *   unused          an active key not used for --unused (never-used keys
 *                   older than --unused included)          CIS 1.12
 *   two-active      the user has two active keys           CIS 1.13
 *   old             an active key older than --max-age     CIS 1.14, IAM.3
 *   root-key        the account root has an active key     CIS 1.4
 *   quarantined     AWS found a key of the user exposed and attached its
 *                   AWSCompromisedKeyQuarantine policy (every key of the user)
 */
#include <stddef.h>
#include <time.h>
#include "core/strbuf.h"

enum finding {
	FINDING_EXPIRING = 1u << 0,
	FINDING_INACTIVE_STALE = 1u << 1,
	FINDING_UNUSED = 1u << 2,
	FINDING_TWO_ACTIVE = 1u << 3,
	FINDING_OLD = 1u << 4,
	FINDING_ROOT_KEY = 1u << 5,
	FINDING_QUARANTINED = 1u << 6,
};
#define FINDING_COUNT 7

/* Name of one finding bit ("old"), or NULL. */
const char *finding_name(unsigned bit);
/* Comma-separated names of the bits in most-severe-first order, into out. */
void findings_format(struct strbuf *out, unsigned bits);
/*
 * --fail-on: a finding name (that one and the more severe ones fail),
 * "any" (every finding) or "none" (never fail). Sets *mask. 0 / -1.
 */
int fail_on_parse(const char *s, unsigned *mask);

struct audit_policy {
	long long max_age;	  /* seconds, default 90d */
	long long warn;		  /* default 7d */
	long long unused;	  /* default 45d */
	long long inactive_grace; /* default 30d */
	const char **exclude;	  /* user-name globs (fnmatch) */
	size_t nexclude;
	const char **exempt_paths; /* path prefixes */
	size_t nexempt_paths;
	const char *exempt_tag_key;   /* default "iamkeys:exempt"; NULL = off */
	const char *exempt_tag_value; /* default "true" (case-insensitive) */
	const char **exempt_groups;
	size_t nexempt_groups;
};
void audit_policy_defaults(struct audit_policy *p);

/*
 * 1 when arn is one of the managed policies AWS attaches to a user whose
 * key it found exposed (arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine
 * and its versions ...V2, ...V3, ...V4: any V<digits>; any partition), else 0.
 */
int policy_is_quarantine_arn(const char *arn);

struct key_facts {
	int active;
	time_t created;
	time_t last_used; /* 0 = never used */
};

/* The findings of one key; active_keys is how many active keys the user has. */
unsigned policy_key_findings(const struct audit_policy *p, const struct key_facts *k,
			     int active_keys, time_t now);

struct user_facts {
	const char *name;
	const char *path;
	const char *const *tag_keys; /* NULL when tags were not read */
	const char *const *tag_values;
	size_t ntags;
	const char *const *groups; /* NULL when groups were not read */
	size_t ngroups;
};

/* Exemptions that need only the name and path (no extra API call). */
int policy_exempt_by_name(const struct audit_policy *p, const char *name, const char *path,
			  struct strbuf *reason);
/*
 * Whether u is exempt; if so, reason gets "tag iamkeys:exempt=true",
 * "excluded by --exclude 'ci-*'", "path /system/", "group breakglass".
 */
int policy_user_exempt(const struct audit_policy *p, const struct user_facts *u,
		       struct strbuf *reason);
/* Does the policy need the user's tags / groups (so the caller reads them)? */
int policy_needs_tags(const struct audit_policy *p);
int policy_needs_groups(const struct audit_policy *p);

#endif
