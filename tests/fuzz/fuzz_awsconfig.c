#include "core/compat.h"
#include "core/awsconfig.h"
#include "core/strbuf.h"

/*
 * libFuzzer target for the shared config / credentials parser. The first
 * byte picks the files: config only, credentials only, or both (the second
 * byte says where the input is split). After a successful parse it checks
 * the set's invariants and feeds the [default] profile to
 * aws_file_locations_resolve as an environment.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-/.%@_:+", *s))
			return 0;
	return 1;
}

static void check_sections(const struct aws_profile_set *set, const struct aws_profile *sections,
			   size_t n, int sso)
{
	size_t i, j;
	for (i = 0; i < n; i++) {
		const struct aws_profile *p = &sections[i];
		const struct aws_profile *found =
			sso ? aws_sso_session_find(set, p->name) : aws_profile_find(set, p->name);
		if (found != p || !valid_name(p->name))
			abort();
		for (j = 0; j < p->nprops; j++) {
			const char *c;
			if (!valid_name(p->props[j].name) || !p->props[j].value)
				abort();
			for (c = p->props[j].name; *c; c++)
				if (isupper((unsigned char)*c))
					abort();
			if (aws_profile_get(p, p->props[j].name) != p->props[j].value)
				abort();
		}
	}
}

static const char *profile_getenv(void *ctx, const char *name)
{
	return aws_profile_get(ctx, name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf err = STRBUF_INIT;
	const char *text;
	size_t len, split;
	int mode, ret = 0;

	if (size < 2)
		return 0;
	mode = data[0] % 3;
	text = (const char *)data + 2;
	len = size - 2;
	split = mode == 2 ? len * data[1] / 256 : len;

	if (mode != 1)
		ret = aws_profiles_parse(&set, AWS_FILE_CONFIG, text, split, "config", &err);
	if (!ret && mode != 0)
		ret = aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, text + (mode == 2 ? split : 0),
					 mode == 2 ? len - split : len, "credentials", &err);
	if (ret) {
		/* one line naming the file and line */
		if (!err.len || strchr(err.buf, '\n') || !strstr(err.buf, ": line "))
			abort();
	} else {
		const struct aws_profile *def = aws_profile_find(&set, "default");
		check_sections(&set, set.profiles, set.nprofiles, 0);
		check_sections(&set, set.sso_sessions, set.nsso_sessions, 1);
		if (def) {
			struct aws_file_locations loc;
			struct strbuf lerr = STRBUF_INIT;
			const char *platform = data[1] & 1 ? "windows" : "linux";
			if (!aws_file_locations_resolve(&loc, profile_getenv, (void *)def, platform,
							NULL, NULL, &lerr)) {
				if (!loc.config_file || !loc.credentials_file || !loc.profile)
					abort();
				aws_file_locations_release(&loc);
			} else if (!lerr.len) {
				abort();
			}
			strbuf_release(&lerr);
		}
	}
	aws_profile_set_release(&set);
	strbuf_release(&err);
	return 0;
}
