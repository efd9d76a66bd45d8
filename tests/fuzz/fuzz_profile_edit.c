#include "core/compat.h"
#include "core/awsconfig.h"
#include "core/profile_edit.h"
#include "core/strbuf.h"

/*
 * libFuzzer target for profile_edit_set_keys. The input's first line is
 * the profile name (at most 64 bytes, else "default"), the rest the
 * credentials file. Checks, whenever the text parses and the name is valid:
 *   - the edit succeeds;
 *   - every other profile parses to exactly what it was;
 *   - the edited profile keeps its other properties, gains the new keys and
 *     loses its session token;
 *   - editing the result again changes nothing (idempotence).
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY_ID "AKIAFUZZFUZZFUZZFUZZ"
#define SECRET "fuzz/secret+value0123456789abcdefghijklmn"

static int is_edited_key(const char *name)
{
	return !strcmp(name, "aws_access_key_id") || !strcmp(name, "aws_secret_access_key") ||
	       !strcmp(name, "aws_session_token") || !strcmp(name, "aws_security_token");
}

/* Every property of a (but the edited keys when skip_keys) is in b with the same value. */
static void check_props(const struct aws_profile *a, const struct aws_profile *b, int skip_keys)
{
	size_t i;
	for (i = 0; i < a->nprops; i++) {
		const char *v;
		if (skip_keys && is_edited_key(a->props[i].name))
			continue;
		v = aws_profile_get(b, a->props[i].name);
		if (!v || strcmp(v, a->props[i].value))
			abort();
	}
}

static void check(const struct aws_profile_set *before, const struct aws_profile_set *after,
		  const char *profile)
{
	const struct aws_profile *p, *q;
	size_t i;

	for (i = 0; i < before->nprofiles; i++) {
		p = &before->profiles[i];
		q = aws_profile_find(after, p->name);
		if (!q)
			abort();
		if (strcmp(p->name, profile)) {
			if (p->nprops != q->nprops)
				abort();
			check_props(p, q, 0);
		} else {
			check_props(p, q, 1);
		}
	}
	if (after->nprofiles != before->nprofiles + !aws_profile_find(before, profile))
		abort();
	q = aws_profile_find(after, profile);
	if (!q)
		abort();
	/* nothing new but the two keys */
	for (i = 0; i < q->nprops; i++)
		if (!is_edited_key(q->props[i].name) &&
		    !aws_profile_get(aws_profile_find(before, profile), q->props[i].name))
			abort();
	if (strcmp(aws_profile_get(q, "aws_access_key_id"), KEY_ID) ||
	    strcmp(aws_profile_get(q, "aws_secret_access_key"), SECRET) ||
	    aws_profile_get(q, "aws_session_token") || aws_profile_get(q, "aws_security_token"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_profile_set before = AWS_PROFILE_SET_INIT, after = AWS_PROFILE_SET_INIT;
	struct strbuf out = STRBUF_INIT, again = STRBUF_INIT, err = STRBUF_INIT;
	const char *text = (const char *)data, *nl = memchr(data, '\n', size);
	char *profile;
	size_t len = size;
	int parses, r;

	if (nl && nl - text <= 64) {
		profile = xmemdupz(text, (size_t)(nl - text));
		len -= (size_t)(nl - text) + 1;
		text = nl + 1;
	} else {
		profile = xstrdup("default");
	}

	parses = !aws_profiles_parse(&before, AWS_FILE_CREDENTIALS, text, len, NULL, NULL);
	r = profile_edit_set_keys(text, len, profile, KEY_ID, SECRET, &out, &err);
	if (r) {
		/* only an unreadable file or a bad name is refused, with one line */
		if (parses && profile_name_is_valid(profile))
			abort();
		if (!err.len || strchr(err.buf, '\n') ||
		    (strstr(err.buf, SECRET) && !strstr(profile, SECRET)))
			abort();
		goto done;
	}
	if (!parses || !profile_name_is_valid(profile) || err.len)
		abort();
	if (aws_profiles_parse(&after, AWS_FILE_CREDENTIALS, out.buf, out.len, NULL, NULL))
		abort();
	check(&before, &after, profile);

	if (profile_edit_set_keys(out.buf, out.len, profile, KEY_ID, SECRET, &again, &err))
		abort();
	if (again.len != out.len || memcmp(again.buf, out.buf, out.len))
		abort();
done:
	aws_profile_set_release(&before);
	aws_profile_set_release(&after);
	strbuf_release_secret(&out);
	strbuf_release_secret(&again);
	strbuf_release(&err);
	free(profile);
	return 0;
}
