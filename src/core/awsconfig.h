#ifndef IAMKEYS_AWSCONFIG_H
#define IAMKEYS_AWSCONFIG_H
/*
 * The AWS shared config / credentials file format (pure: text in, structs
 * out). Follows the cross-SDK profile-file test suite in
 * ../shared/testdata/aws-config/ (see its README.md for the rules).
 */
#include <stddef.h>
#include "core/strbuf.h"

struct aws_property {
	char *name;  /* lowercased */
	char *value; /* sub-properties kept raw ("\nname = value") */
};

struct aws_profile {
	char *name; /* case-sensitive */
	struct aws_property *props;
	size_t nprops, alloc;
};

struct aws_profile_set {
	struct aws_profile *profiles;
	size_t nprofiles, alloc;
	struct aws_profile *sso_sessions; /* [sso-session NAME] sections of the config file */
	size_t nsso_sessions, sso_alloc;
};
#define AWS_PROFILE_SET_INIT { 0 }

enum aws_file_kind { AWS_FILE_CONFIG, AWS_FILE_CREDENTIALS };

/*
 * Parses one file's text and merges it into set (call once for config, then
 * once for credentials: the credentials file wins for the same key).
 * Returns 0, or -1 with a one-line message in err naming the line number.
 * Secret values are wiped when the set is released.
 */
int aws_profiles_parse(struct aws_profile_set *set, enum aws_file_kind kind, const char *text,
		       size_t len, const char *filename, struct strbuf *err);
void aws_profile_set_release(struct aws_profile_set *set);

const struct aws_profile *aws_profile_find(const struct aws_profile_set *set, const char *name);
/* Property value (name compared case-insensitively), or NULL. */
const char *aws_profile_get(const struct aws_profile *p, const char *name);

/*
 * Where the files are and which profile is selected, from an environment
 * lookup function (so tests can pass the case's environment). platform is
 * "linux" or "windows". Results are malloc'd; the caller frees them.
 * home_fallback is the OS's idea of home when HOME is unset (may be NULL).
 */
typedef const char *(*aws_getenv_fn)(void *ctx, const char *name);
struct aws_file_locations {
	char *config_file;
	char *credentials_file;
	char *profile;
};
int aws_file_locations_resolve(struct aws_file_locations *out, aws_getenv_fn getenv_fn,
			       void *ctx, const char *platform, const char *home_fallback,
			       const char *profile_override, struct strbuf *err);
void aws_file_locations_release(struct aws_file_locations *loc);

#endif
