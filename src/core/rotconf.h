#ifndef IAMKEYS_ROTCONF_H
#define IAMKEYS_ROTCONF_H
/*
 * The rotate config file (--config), INI like the AWS files, pure:
 *
 *   [default]
 *   to = secretsmanager:iamkeys/{account}/{user}
 *   rotate_after = 90d
 *   [tag team=payments]        ; users with this tag (KEY=VALUE, or KEY for any value)
 *   to = ssm:/payments/{user}
 *   [user alice]
 *   to = file:/srv/keys/alice.json
 *   deactivate_after = 14d
 *   exempt = true
 *   [account 222222222222]     ; every user of this account (--org, --accounts)
 *   rotate_after = 30d
 *
 * Keys: to, rotate_after, deactivate_after, delete_after, max_grace, exempt,
 * notify (a --notify target for the section's users, in addition to those
 * of the command line: "notify = webhook:https://hooks.example.com/...").
 * Precedence: an option given on the command line, then [user], then
 * [tag], then [account], then [default], then the built-in default.
 * Comments: # or ;.
 */
#include <stddef.h>
#include "core/strbuf.h"

enum rotconf_kind { ROTCONF_DEFAULT, ROTCONF_ACCOUNT, ROTCONF_TAG, ROTCONF_USER };

struct rotconf_settings {
	char *to;
	char *notify;							   /* one --notify target */
	long long rotate_after, deactivate_after, delete_after, max_grace; /* -1 = unset */
	int exempt;							   /* -1 = unset */
};

/* Every field unset: to NULL, durations and exempt -1. */
void rotconf_settings_unset(struct rotconf_settings *s);

struct rotconf_section {
	enum rotconf_kind kind;
	char *name;	 /* user name, tag key, or 12-digit account id */
	char *tag_value; /* NULL: any value */
	struct rotconf_settings s;
};

struct rotconf {
	struct rotconf_section *sections;
	size_t n, alloc;
};

/* 0, or -1 with "<file>: line N: ..." in err. */
int rotconf_parse(struct rotconf *c, const char *text, size_t len, const char *filename,
		  struct strbuf *err);
void rotconf_release(struct rotconf *c);

/*
 * The effective settings for a user of account (may be NULL): fields of out that are unset (-1 /
 * NULL) are filled from the sections that apply, most specific first (the
 * caller pre-fills out with the options given on the command line).
 * out->to points into c (not copied).
 */
void rotconf_resolve(const struct rotconf *c, const char *account, const char *user,
		     const char *const *tag_keys, const char *const *tag_values, size_t ntags,
		     struct rotconf_settings *out);

#endif
