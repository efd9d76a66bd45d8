#ifndef IAMKEYS_AWSCONFIG_H
#define IAMKEYS_AWSCONFIG_H
/*
 * The AWS shared config / credentials file format (pure: text in, structs
 * out). Follows the cross-SDK profile-file test suite in
 * tests/data/aws-config/ (see its README.md for the rules).
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

struct aws_profile_index;
struct aws_profile_set {
	struct aws_profile *profiles;
	size_t nprofiles, alloc;
	struct aws_profile *sso_sessions; /* [sso-session NAME] sections of the config file */
	size_t nsso_sessions, sso_alloc;
	struct aws_profile_index *index; /* private: name lookup table, owned by the set */
};
#define AWS_PROFILE_SET_INIT                                                                       \
	{                                                                                          \
		0                                                                                  \
	}

enum aws_file_kind { AWS_FILE_CONFIG, AWS_FILE_CREDENTIALS };

/*
 * Parses one file's text and merges it into set (call once for config, then
 * once for credentials: the credentials file wins for the same key).
 * Returns 0, or -1 with a one-line message appended to err (may be NULL)
 * naming the file and line: "<filename>: line 3: expected '=' in property".
 * On error set may hold part of the file; the caller still releases it.
 * A NUL byte in text is an error. All values are wiped when the set is released.
 */
int aws_profiles_parse(struct aws_profile_set *set, enum aws_file_kind kind, const char *text,
		       size_t len, const char *filename, struct strbuf *err);
/* Wipes the values, frees everything and leaves *set as AWS_PROFILE_SET_INIT. NULL-safe. */
void aws_profile_set_release(struct aws_profile_set *set);

const struct aws_profile *aws_profile_find(const struct aws_profile_set *set, const char *name);
/* A [sso-session NAME] section of the config file, or NULL. */
const struct aws_profile *aws_sso_session_find(const struct aws_profile_set *set, const char *name);
/* Property value (name compared case-insensitively), or NULL. */
const char *aws_profile_get(const struct aws_profile *p, const char *name);

/*
 * Where the files are and which profile is selected, from an environment
 * lookup function (so tests can pass the case's environment; NULL means the
 * process environment; an empty value counts as unset). platform is "linux" or
 * "windows". Results are malloc'd; the caller frees them with
 * aws_file_locations_release. home_fallback is the OS's idea of home when
 * HOME is unset (may be NULL). Home is HOME, then on windows USERPROFILE,
 * then HOMEDRIVE+HOMEPATH, then home_fallback. AWS_CONFIG_FILE and
 * AWS_SHARED_CREDENTIALS_FILE override the defaults ("~/" expanded);
 * profile_override (--profile) beats AWS_PROFILE beats "default".
 * Returns -1 (err says why) only when a home directory is needed and unknown.
 */
typedef const char *(*aws_getenv_fn)(void *ctx, const char *name);
struct aws_file_locations {
	char *config_file;
	char *credentials_file;
	char *profile;
};
int aws_file_locations_resolve(struct aws_file_locations *out, aws_getenv_fn getenv_fn, void *ctx,
			       const char *platform, const char *home_fallback,
			       const char *profile_override, struct strbuf *err);
void aws_file_locations_release(struct aws_file_locations *loc);
/*
 * The home directory as aws_file_locations_resolve finds it, without a
 * trailing separator, appended to out (for ~/.aws/sso/cache). 0, or -1
 * with err when it is unknown.
 */
int aws_home_dir(struct strbuf *out, aws_getenv_fn getenv_fn, void *ctx, const char *platform,
		 const char *home_fallback, struct strbuf *err);

#endif
