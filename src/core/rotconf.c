#include "core/compat.h"
#include "core/rotconf.h"
#include "core/shard.h"
#include "core/timeutil.h"

void rotconf_settings_unset(struct rotconf_settings *s)
{
	s->to = NULL;
	s->notify = NULL;
	s->rotate_after = s->deactivate_after = s->delete_after = s->max_grace = -1;
	s->exempt = -1;
}

void rotconf_release(struct rotconf *c)
{
	size_t i;
	for (i = 0; i < c->n; i++)
		FREE_ALL(c->sections[i].name, c->sections[i].tag_value, c->sections[i].s.to,
			 c->sections[i].s.notify);
	free(c->sections);
	memset(c, 0, sizeof(*c));
}

static char *trim_dup(const char *b, const char *e)
{
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	return xmemdupz(b, (size_t)(e - b));
}

static int parse_header(struct rotconf *c, const char *b, const char *e, struct strbuf *msg)
{
	char *inner = trim_dup(b, e);
	struct rotconf_section *s;
	int rc = -1;

	ALLOC_GROW(c->sections, c->n + 1, c->alloc);
	s = &c->sections[c->n];
	memset(s, 0, sizeof(*s));
	rotconf_settings_unset(&s->s);
	if (!strcmp(inner, "default")) {
		s->kind = ROTCONF_DEFAULT;
	} else if (!strcmp(inner, "user") || !strcmp(inner, "tag") || !strcmp(inner, "account")) {
		strbuf_addf(msg, "section '[%s]' needs a name", inner);
		goto out;
	} else if (!strncmp(inner, "user ", 5) || !strncmp(inner, "user\t", 5)) {
		s->kind = ROTCONF_USER;
		s->name = trim_dup(inner + 5, inner + strlen(inner));
	} else if (!strncmp(inner, "account ", 8) || !strncmp(inner, "account\t", 8)) {
		s->kind = ROTCONF_ACCOUNT;
		s->name = trim_dup(inner + 8, inner + strlen(inner));
		if (!account_id_valid(s->name, strlen(s->name))) {
			strbuf_addf(msg, "section '[%.40s]': not a 12-digit account id", inner);
			free(s->name);
			goto out;
		}
	} else if (!strncmp(inner, "tag ", 4) || !strncmp(inner, "tag\t", 4)) {
		char *spec = trim_dup(inner + 4, inner + strlen(inner));
		char *eq = strchr(spec, '=');
		s->kind = ROTCONF_TAG;
		if (eq) {
			s->name = xmemdupz(spec, (size_t)(eq - spec));
			s->tag_value = xstrdup(eq + 1);
		} else {
			s->name = xstrdup(spec);
		}
		free(spec);
	} else {
		strbuf_addf(msg,
			    "unknown section '[%.40s]': use [default], [user NAME], "
			    "[tag KEY=VALUE] or [account ID]",
			    inner);
		goto out;
	}
	if (s->kind != ROTCONF_DEFAULT && (!s->name || !*s->name)) {
		free(s->name);
		free(s->tag_value);
		strbuf_addf(msg, "section '[%.40s]' needs a name", inner);
		goto out;
	}
	c->n++;
	rc = 0;
out:
	free(inner);
	return rc;
}

/* A text setting: *val moves into *dst (and *val is NULL); an empty one is refused. */
static int set_text(char **dst, const char *key, char **val, struct strbuf *msg)
{
	if (!**val) {
		strbuf_addf(msg, "'%s' is empty", key);
		return -1;
	}
	free(*dst);
	*dst = *val;
	*val = NULL;
	return 0;
}

static int set_duration(long long *dst, const char *key, const char *v, struct strbuf *msg)
{
	struct strbuf e = STRBUF_INIT;
	if (duration_parse(v, dst, &e) < 0) {
		strbuf_addf(msg, "%s: %s", key, e.buf);
		strbuf_release(&e);
		return -1;
	}
	strbuf_release(&e);
	return 0;
}

static int parse_property(struct rotconf_section *s, const char *b, const char *e,
			  struct strbuf *msg)
{
	const char *eq = memchr(b, '=', (size_t)(e - b));
	char *key, *val;
	int rc = 0;

	if (!eq) {
		strbuf_addstr(msg, "expected 'key = value'");
		return -1;
	}
	key = trim_dup(b, eq);
	val = trim_dup(eq + 1, e);
	if (!strcmp(key, "to")) {
		rc = set_text(&s->s.to, key, &val, msg);
	} else if (!strcmp(key, "notify")) {
		rc = set_text(&s->s.notify, key, &val, msg);
	} else if (!strcmp(key, "rotate_after")) {
		rc = set_duration(&s->s.rotate_after, key, val, msg);
	} else if (!strcmp(key, "deactivate_after")) {
		rc = set_duration(&s->s.deactivate_after, key, val, msg);
	} else if (!strcmp(key, "delete_after")) {
		rc = set_duration(&s->s.delete_after, key, val, msg);
	} else if (!strcmp(key, "max_grace")) {
		rc = set_duration(&s->s.max_grace, key, val, msg);
	} else if (!strcmp(key, "exempt")) {
		if (!strcasecmp(val, "true") || !strcmp(val, "1") || !strcasecmp(val, "yes"))
			s->s.exempt = 1;
		else if (!strcasecmp(val, "false") || !strcmp(val, "0") || !strcasecmp(val, "no"))
			s->s.exempt = 0;
		else {
			strbuf_addf(msg, "exempt must be true or false, not '%.40s'", val);
			rc = -1;
		}
	} else {
		strbuf_addf(msg, "unknown key '%.40s'", key);
		rc = -1;
	}
	free(key);
	free(val);
	return rc;
}

int rotconf_parse(struct rotconf *c, const char *text, size_t len, const char *filename,
		  struct strbuf *err)
{
	const char *p = text, *end = text + len;
	struct strbuf msg = STRBUF_INIT;
	int line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *b = p, *e = le;
		line++;
		p = nl ? nl + 1 : end;
		if (memchr(b, '\0', (size_t)(e - b))) {
			strbuf_addstr(&msg, "NUL byte");
			goto fail;
		}
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (b == e || *b == '#' || *b == ';')
			continue;
		if (*b == '[') {
			const char *close = memchr(b, ']', (size_t)(e - b));
			const char *after;
			if (!close) {
				strbuf_addstr(&msg, "missing ']'");
				goto fail;
			}
			for (after = close + 1; after < e; after++)
				if (!isspace((unsigned char)*after)) {
					if (*after == '#' || *after == ';')
						break;
					strbuf_addstr(&msg, "text after ']'");
					goto fail;
				}
			if (parse_header(c, b + 1, close, &msg) < 0)
				goto fail;
			continue;
		}
		if (!c->n) {
			strbuf_addstr(&msg, "property before any section");
			goto fail;
		}
		if (parse_property(&c->sections[c->n - 1], b, e, &msg) < 0)
			goto fail;
	}
	strbuf_release(&msg);
	return 0;
fail:
	strbuf_addf(err, "%s: line %d: %s", filename ? filename : "config", line, msg.buf);
	strbuf_release(&msg);
	return -1;
}

static void fill(struct rotconf_settings *out, const struct rotconf_settings *s)
{
	if (!out->to && s->to)
		out->to = s->to;
	if (!out->notify && s->notify)
		out->notify = s->notify;
	if (out->rotate_after < 0)
		out->rotate_after = s->rotate_after;
	if (out->deactivate_after < 0)
		out->deactivate_after = s->deactivate_after;
	if (out->delete_after < 0)
		out->delete_after = s->delete_after;
	if (out->max_grace < 0)
		out->max_grace = s->max_grace;
	if (out->exempt < 0)
		out->exempt = s->exempt;
}

void rotconf_resolve(const struct rotconf *c, const char *account, const char *user,
		     const char *const *tag_keys, const char *const *tag_values, size_t ntags,
		     struct rotconf_settings *out)
{
	size_t i, j;
	/* most specific first; within a kind, the later section wins */
	for (i = c->n; i-- > 0;)
		if (c->sections[i].kind == ROTCONF_USER && !strcmp(c->sections[i].name, user))
			fill(out, &c->sections[i].s);
	for (i = c->n; i-- > 0;) {
		const struct rotconf_section *s = &c->sections[i];
		if (s->kind != ROTCONF_TAG)
			continue;
		for (j = 0; j < ntags; j++)
			if (!strcmp(tag_keys[j], s->name) &&
			    (!s->tag_value ||
			     !strcmp(tag_values[j] ? tag_values[j] : "", s->tag_value))) {
				fill(out, &s->s);
				break;
			}
	}
	for (i = c->n; i-- > 0 && account;)
		if (c->sections[i].kind == ROTCONF_ACCOUNT && !strcmp(c->sections[i].name, account))
			fill(out, &c->sections[i].s);
	for (i = c->n; i-- > 0;)
		if (c->sections[i].kind == ROTCONF_DEFAULT)
			fill(out, &c->sections[i].s);
}
