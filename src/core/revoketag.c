/* The iamkeys:revoked tag and the deny policy's name (see core/revoketag.h). */
#include "core/compat.h"
#include "core/revoketag.h"
#include "core/rotation.h"

static const char *const step_names[] = { "deactivate", "deny", "replace", "delete" };

const char *revoke_step_name(unsigned bit)
{
	size_t i;
	for (i = 0; i < ARRAY_SIZE(step_names); i++)
		if (bit == 1u << i)
			return step_names[i];
	return NULL;
}

/* a key id access_key_id_valid_n takes fits in key_id */
_Static_assert(REVOKE_KEY_ID_MAX >= ROTATION_KEY_ID_MAX, "revoke tag key_id too small");

static int parse_done(const char *s, size_t n, unsigned *out)
{
	*out = 0;
	while (n) {
		const char *plus = memchr(s, '+', n);
		size_t len = plus ? (size_t)(plus - s) : n, i;
		int found = 0;
		for (i = 0; i < ARRAY_SIZE(step_names); i++)
			if (strlen(step_names[i]) == len && !memcmp(s, step_names[i], len)) {
				*out |= 1u << i;
				found = 1;
			}
		if (!found)
			return -1;
		if (!plus)
			break;
		n -= len + 1;
		s = plus + 1;
		if (!n)
			return -1; /* a trailing '+' */
	}
	return 0;
}

static int parse_time_field(const char *s, size_t n, time_t *out)
{
	char buf[17];
	if (n != 16)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return rotation_parse_compact_time(buf, out);
}

int revoke_tag_parse(const char *value, struct revoke_tag *out, struct strbuf *err)
{
	const char *p = value;
	int have_v = 0;

	memset(out, 0, sizeof(*out));
	strbuf_reset(err);
	while (*p) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : 0, vlen = eq ? len - klen - 1 : 0;
		const char *v = eq ? eq + 1 : NULL;

		if (!eq)
			goto bad;
		if (klen == 1 && *p == 'v') {
			if (vlen != 1 || *v != '1')
				goto bad;
			have_v = 1;
		} else if (klen == 3 && !memcmp(p, "key", 3)) {
			if (!access_key_id_valid_n(v, vlen))
				goto bad;
			memcpy(out->key_id, v, vlen);
			out->key_id[vlen] = '\0';
		} else if (klen == 2 && !memcmp(p, "at", 2)) {
			if (parse_time_field(v, vlen, &out->started) < 0)
				goto bad;
		} else if (klen == 4 && !memcmp(p, "done", 4)) {
			if (parse_done(v, vlen, &out->done) < 0)
				goto bad;
		} else if (klen == 6 && !memcmp(p, "policy", 6)) {
			if (parse_time_field(v, vlen, &out->policy_time) < 0)
				goto bad;
		} else {
			goto bad;
		}
		p += len;
		if (*p == ' ')
			p++;
	}
	if (!have_v || !out->key_id[0] || !out->started) {
		strbuf_addf(err, "tag %s: needs v=1, key= and at=", REVOKE_TAG);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
bad:
	strbuf_addf(err, "tag %s: cannot read field at offset %zu", REVOKE_TAG,
		    (size_t)(p - value));
	memset(out, 0, sizeof(*out));
	return -1;
}

void revoke_tag_format(struct strbuf *out, const struct revoke_tag *t)
{
	size_t i;
	int first = 1;

	strbuf_addf(out, "v=1 key=%s at=", t->key_id);
	rotation_format_compact_time(out, t->started);
	if (t->done) {
		strbuf_addstr(out, " done=");
		for (i = 0; i < ARRAY_SIZE(step_names); i++)
			if (t->done & (1u << i)) {
				strbuf_addf(out, "%s%s", first ? "" : "+", step_names[i]);
				first = 0;
			}
	}
	if (t->policy_time) {
		strbuf_addstr(out, " policy=");
		rotation_format_compact_time(out, t->policy_time);
	}
}

void revoke_policy_name(struct strbuf *out, time_t t)
{
	strbuf_addstr(out, REVOKE_POLICY_PREFIX);
	rotation_format_compact_time(out, t);
}

int revoke_policy_time(const char *name, time_t *out)
{
	size_t n = strlen(REVOKE_POLICY_PREFIX);
	if (strncmp(name, REVOKE_POLICY_PREFIX, n))
		return -1;
	return rotation_parse_compact_time(name + n, out);
}
