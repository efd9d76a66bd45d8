#include "core/compat.h"
#include "core/profile_edit.h"
#include "core/awsconfig.h"
#include "core/strbuf.h"

/*
 * One pass classifies the lines the way core/awsconfig.c reads them (a
 * section header starts with '[', a continuation with whitespace, a
 * comment with '#' or ';'), noting which lines of [profile] to replace or
 * drop and where to add; a second pass writes the result.
 */

enum prop_kind {
	PROP_ID,
	PROP_SECRET,
	PROP_TOKEN,
	PROP_OTHER,
};

static const char *const prop_names[] = {
	[PROP_ID] = "aws_access_key_id",
	[PROP_SECRET] = "aws_secret_access_key",
};

enum line_action {
	LINE_KEEP,
	LINE_DROP,
	LINE_REPLACE_ID,
	LINE_REPLACE_SECRET,
};

struct line {
	size_t start, end, next;       /* content is [start, end), the line ending [end, next) */
	size_t value_start, value_end; /* properties: the value within the content */
	size_t owner;		       /* continuations of [profile]: the property's line */
	enum prop_kind kind;	       /* properties of [profile] */
	unsigned char action;	       /* enum line_action */
	unsigned char in_profile;      /* property or continuation of [profile] */
	unsigned char is_cont;
};

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char *s, size_t *b, size_t *e)
{
	while (*b < *e && is_ws(s[*b]))
		(*b)++;
	while (*e > *b && is_ws(s[*e - 1]))
		(*e)--;
}

int profile_name_is_valid(const char *name)
{
	const char *p;
	if (!name || !*name)
		return 0;
	for (p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			continue;
		if (!strchr("-/.%@_:+", c))
			return 0;
	}
	return 1;
}

/* Printable ASCII without spaces: nothing the file format could misread. */
static int valid_value(const char *v)
{
	if (!v || !*v)
		return 0;
	for (; *v; v++)
		if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
			return 0;
	return 1;
}

/* Does the section header text[b, e) name profile? (line starts with '[') */
static int header_names(const char *text, size_t b, size_t e, const char *profile)
{
	size_t i, plen = strlen(profile);

	for (i = b; i < e; i++)
		if (text[i] == '#' || text[i] == ';')
			break;
	e = i;
	trim(text, &b, &e);
	if (e - b < 2 || text[e - 1] != ']')
		return 0;
	b++;
	e--;
	trim(text, &b, &e);
	return e - b == plen && !memcmp(text + b, profile, plen);
}

/* Parses the property line l: its kind and the position of its value. 0, or -1 without '='. */
static int parse_property(const char *text, struct line *l)
{
	size_t b = l->start, e = l->end, i, eq, kb, ke;
	char key[32];

	/* a comment starts at '#' or ';' after whitespace */
	for (i = b + 1; i < e; i++)
		if ((text[i] == '#' || text[i] == ';') && is_ws(text[i - 1]))
			break;
	e = i;
	trim(text, &b, &e);
	for (eq = b; eq < e && text[eq] != '='; eq++)
		;
	if (eq == e)
		return -1;
	kb = b;
	ke = eq;
	trim(text, &kb, &ke);

	l->value_start = eq + 1;
	l->value_end = e;
	trim(text, &l->value_start, &l->value_end);
	if (l->value_start == l->value_end)
		l->value_start = l->value_end = eq + 1;

	l->kind = PROP_OTHER;
	if (ke - kb < sizeof(key)) {
		for (i = kb; i < ke; i++)
			key[i - kb] = (char)tolower((unsigned char)text[i]);
		key[ke - kb] = '\0';
		if (!strcmp(key, prop_names[PROP_ID]))
			l->kind = PROP_ID;
		else if (!strcmp(key, prop_names[PROP_SECRET]))
			l->kind = PROP_SECRET;
		else if (!strcmp(key, "aws_session_token") || !strcmp(key, "aws_security_token"))
			l->kind = PROP_TOKEN;
	}
	return 0;
}

/* Splits text into lines (the last one may have no ending); *n lines. */
static struct line *split_lines(const char *text, size_t len, size_t *n)
{
	struct line *lines = NULL;
	size_t nr = 0, alloc = 0, pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		struct line *l;
		ALLOC_GROW(lines, nr + 1, alloc);
		l = &lines[nr++];
		memset(l, 0, sizeof(*l));
		l->start = pos;
		if (nl) {
			l->next = (size_t)(nl - text) + 1;
			l->end = l->next - 1;
			if (l->end > l->start && text[l->end - 1] == '\r')
				l->end--;
		} else {
			l->end = l->next = len;
		}
		pos = l->next;
	}
	*n = nr;
	return lines;
}

static void add_eol_if_needed(struct strbuf *out, const char *eol)
{
	if (out->len && out->buf[out->len - 1] != '\n')
		strbuf_addstr(out, eol);
}

static void add_property(struct strbuf *out, const char *name, const char *value, const char *eol)
{
	add_eol_if_needed(out, eol);
	strbuf_addstr(out, name);
	strbuf_addstr(out, " = ");
	strbuf_addstr(out, value);
	strbuf_addstr(out, eol);
}

/* The edited line l, its value replaced. */
static void add_replaced(struct strbuf *out, const char *text, const struct line *l,
			 const char *value)
{
	size_t i;
	int space = 0;

	if (l->value_start == l->value_end) {
		/* "key =" with no value: mirror the spacing before '=' */
		for (i = l->start; i + 1 < l->value_start; i++)
			if (is_ws(text[i]))
				space = 1;
	}
	strbuf_add(out, text + l->start, l->value_start - l->start);
	if (space)
		strbuf_addch(out, ' ');
	strbuf_addstr(out, value);
	strbuf_add(out, text + l->value_end, l->next - l->value_end);
}

/* Defence in depth: does out parse, with exactly the new keys and no token? */
static int check_result(const struct strbuf *out, const char *profile, const char *key_id,
			const char *secret)
{
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	const struct aws_profile *p;
	const char *v;
	int ok = 0;

	if (aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, out->buf, out->len, NULL, NULL))
		goto done;
	p = aws_profile_find(&set, profile);
	if (!p)
		goto done;
	v = aws_profile_get(p, "aws_access_key_id");
	if (!v || strcmp(v, key_id))
		goto done;
	v = aws_profile_get(p, "aws_secret_access_key");
	if (!v || strcmp(v, secret))
		goto done;
	if (aws_profile_get(p, "aws_session_token") || aws_profile_get(p, "aws_security_token"))
		goto done;
	ok = 1;
done:
	aws_profile_set_release(&set);
	return ok ? 0 : -1;
}

/* Where the profile's lines are, and what becomes of each (mark_lines). */
struct profile_marks {
	size_t last_prop[2]; /* PROP_ID, PROP_SECRET: the line of the last one, or SIZE_MAX */
	size_t last_header;  /* the profile's last [header] line, or SIZE_MAX */
	size_t insert_after; /* the line after which missing properties go */
};

/* Marks every line of profile: replaced, dropped (the session token, continuations) or kept. */
static void mark_lines(const char *text, struct line *lines, size_t n, const char *profile,
		       struct profile_marks *m)
{
	size_t i, cur_prop = SIZE_MAX;
	int in_profile = 0;

	m->last_prop[PROP_ID] = m->last_prop[PROP_SECRET] = SIZE_MAX;
	m->last_header = m->insert_after = SIZE_MAX;
	for (i = 0; i < n; i++) {
		struct line *l = &lines[i];
		size_t b = l->start, e = l->end;
		char c;

		trim(text, &b, &e);
		if (b == e)
			continue; /* blank */
		c = text[l->start];
		if (c == '#' || c == ';')
			continue;
		if (c == '[') {
			in_profile = header_names(text, l->start, l->end, profile);
			cur_prop = SIZE_MAX;
			if (in_profile)
				m->last_header = m->insert_after = i;
			continue;
		}
		if (!in_profile)
			continue;
		if (is_ws(c)) {
			if (cur_prop == SIZE_MAX)
				continue; /* not possible in a file that parses */
			l->in_profile = 1;
			l->is_cont = 1;
			l->owner = cur_prop;
			m->insert_after = i;
			continue;
		}
		if (parse_property(text, l))
			continue; /* not possible in a file that parses */
		l->in_profile = 1;
		cur_prop = i;
		m->insert_after = i;
		if (l->kind == PROP_ID || l->kind == PROP_SECRET)
			m->last_prop[l->kind] = i;
		else if (l->kind == PROP_TOKEN)
			l->action = LINE_DROP;
	}
	if (m->last_prop[PROP_ID] != SIZE_MAX)
		lines[m->last_prop[PROP_ID]].action = LINE_REPLACE_ID;
	if (m->last_prop[PROP_SECRET] != SIZE_MAX)
		lines[m->last_prop[PROP_SECRET]].action = LINE_REPLACE_SECRET;
	/* continuation lines go with their property */
	for (i = 0; i < n; i++)
		if (lines[i].is_cont && lines[lines[i].owner].action != LINE_KEEP)
			lines[i].action = LINE_DROP;
}

/* The edited file into out, as the marks say; a new profile at the end when there was none. */
static void write_lines(const char *text, const struct line *lines, size_t n,
			const struct profile_marks *m, const char *profile, const char *key_id,
			const char *secret, const char *eol, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct line *l = &lines[i];
		switch (l->action) {
		case LINE_KEEP:
			strbuf_add(out, text + l->start, l->next - l->start);
			break;
		case LINE_DROP:
			break;
		case LINE_REPLACE_ID:
			add_replaced(out, text, l, key_id);
			break;
		case LINE_REPLACE_SECRET:
			add_replaced(out, text, l, secret);
			break;
		}
		if (i == m->insert_after) {
			if (m->last_prop[PROP_ID] == SIZE_MAX)
				add_property(out, prop_names[PROP_ID], key_id, eol);
			if (m->last_prop[PROP_SECRET] == SIZE_MAX)
				add_property(out, prop_names[PROP_SECRET], secret, eol);
		}
	}
	if (m->last_header == SIZE_MAX) {
		/* a new profile at the end, after a blank line */
		int blank = 0;
		add_eol_if_needed(out, eol);
		if (n) {
			const struct line *l = &lines[n - 1];
			size_t b = l->start, e = l->end;
			trim(text, &b, &e);
			blank = b == e;
		}
		if (n && !blank)
			strbuf_addstr(out, eol);
		strbuf_addf(out, "[%s]%s", profile, eol);
		add_property(out, prop_names[PROP_ID], key_id, eol);
		add_property(out, prop_names[PROP_SECRET], secret, eol);
	}
}

int profile_edit_set_keys(const char *text, size_t len, const char *profile, const char *key_id,
			  const char *secret, struct strbuf *out, struct strbuf *err)
{
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct profile_marks m;
	struct line *lines = NULL;
	size_t n = 0, bound;
	const char *eol = "\n";
	const char *nl;
	int ret = -1;

	if (!profile_name_is_valid(profile)) {
		strbuf_addf(err, "invalid profile name '%s'", profile ? profile : "");
		return -1;
	}
	if (!valid_value(key_id)) {
		strbuf_addstr(err, "invalid access key id (empty, or not printable ASCII)");
		return -1;
	}
	if (!valid_value(secret)) {
		strbuf_addstr(err, "invalid secret access key (empty, or not printable ASCII)");
		return -1;
	}
	/* Only a file the parser reads is edited (also rejects NUL bytes). */
	if (aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, text, len, NULL, err)) {
		aws_profile_set_release(&set);
		return -1;
	}
	aws_profile_set_release(&set);

	nl = len ? memchr(text, '\n', len) : NULL;
	if (nl && nl > text && nl[-1] == '\r')
		eol = "\r\n";

	lines = split_lines(text, len, &n);
	mark_lines(text, lines, n, profile, &m);

	/* Room for everything up front: out never moves, so never leaves a copy behind. */
	bound = len + 2 * (strlen(profile) + strlen(key_id) + strlen(secret)) + 256;
	strbuf_release_secret(out);
	strbuf_grow(out, bound);
	write_lines(text, lines, n, &m, profile, key_id, secret, eol, out);

	if (check_result(out, profile, key_id, secret)) {
		strbuf_addf(err,
			    "internal error: the edited credentials file does not hold the "
			    "new key of profile '%s'",
			    profile);
		strbuf_release_secret(out);
		goto done;
	}
	ret = 0;
done:
	free(lines);
	return ret;
}
