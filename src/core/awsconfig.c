#include "core/compat.h"
#include "core/awsconfig.h"
#include "core/strbuf.h"

/*
 * The profile-file parser of the cross-SDK test suite (see
 * tests/data/aws-config/README.md). One pass over the lines; a
 * property is stored when the next line that is not one of its
 * continuations starts, so continuation lines only ever append.
 */

/*
 * Name lookup: an open-addressing hash table from (owner, name) to an array
 * index. Owner 0 holds profile names, 1 sso-session names, 2 + 2i the
 * properties of profile i and 3 + 2i those of sso-session i. The names are
 * borrowed from the structs they index (their char * never moves).
 */
struct aws_name_slot {
	const char *name; /* NULL: free slot */
	size_t owner;
	size_t idx;
};

struct aws_profile_index {
	struct aws_name_slot *slots;
	size_t cap, nr; /* cap is 0 or a power of two */
};

#define OWNER_PROFILES 0
#define OWNER_SSO 1
#define OWNER_PROFILE_PROPS(i) (2 + 2 * (i))
#define OWNER_SSO_PROPS(i) (3 + 2 * (i))

static uint64_t name_hash(size_t owner, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint64_t o = owner;
	int i;
	for (i = 0; i < 8; i++) {
		h ^= (o >> (8 * i)) & 0xff;
		h *= 0x100000001b3ULL;
	}
	for (; *name; name++) {
		h ^= (unsigned char)*name;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static const struct aws_name_slot *index_find(const struct aws_profile_index *ix, size_t owner,
					      const char *name)
{
	size_t mask, i;
	if (!ix || !ix->cap)
		return NULL;
	mask = ix->cap - 1;
	for (i = (size_t)name_hash(owner, name) & mask; ix->slots[i].name; i = (i + 1) & mask)
		if (ix->slots[i].owner == owner && !strcmp(ix->slots[i].name, name))
			return &ix->slots[i];
	return NULL;
}

static void index_put(struct aws_profile_index *ix, size_t owner, const char *name, size_t idx);

static void index_grow(struct aws_profile_index *ix)
{
	struct aws_profile_index old = *ix;
	size_t i;
	ix->cap = old.cap ? old.cap * 2 : 64;
	ix->slots = xcalloc(ix->cap, sizeof(*ix->slots));
	ix->nr = 0;
	for (i = 0; i < old.cap; i++)
		if (old.slots[i].name)
			index_put(ix, old.slots[i].owner, old.slots[i].name, old.slots[i].idx);
	free(old.slots);
}

/* name must not be in the table yet. */
static void index_put(struct aws_profile_index *ix, size_t owner, const char *name, size_t idx)
{
	size_t mask, i;
	if ((ix->nr + 1) * 2 > ix->cap)
		index_grow(ix);
	mask = ix->cap - 1;
	for (i = (size_t)name_hash(owner, name) & mask; ix->slots[i].name; i = (i + 1) & mask)
		;
	ix->slots[i].name = name;
	ix->slots[i].owner = owner;
	ix->slots[i].idx = idx;
	ix->nr++;
}

static void index_free(struct aws_profile_index *ix)
{
	if (!ix)
		return;
	free(ix->slots);
	free(ix);
}

/* Sets name (already lowercased) to value in p, replacing an older value. */
static void profile_set(struct aws_profile_index *ix, size_t owner, struct aws_profile *p,
			const char *name, const char *value, size_t vlen)
{
	const struct aws_name_slot *slot = index_find(ix, owner, name);
	struct aws_property *prop;

	if (slot) {
		prop = &p->props[slot->idx];
		free_secret(prop->value);
		prop->value = xmemdupz(value, vlen);
		return;
	}
	ALLOC_GROW(p->props, p->nprops + 1, p->alloc);
	prop = &p->props[p->nprops];
	prop->name = xstrdup(name);
	prop->value = xmemdupz(value, vlen);
	index_put(ix, owner, prop->name, p->nprops);
	p->nprops++;
}

static void profile_release(struct aws_profile *p)
{
	size_t i;
	for (i = 0; i < p->nprops; i++) {
		free(p->props[i].name);
		free_secret(p->props[i].value);
	}
	FREE_ALL(p->props, p->name);
	memset(p, 0, sizeof(*p));
}

/* Index of the profile (sso == 0) or sso-session (sso == 1) called name, created if new. */
static size_t section_get(struct aws_profile_set *set, int sso, const char *name)
{
	size_t owner = sso ? OWNER_SSO : OWNER_PROFILES;
	const struct aws_name_slot *slot;
	struct aws_profile *p;
	size_t idx;

	if (!set->index)
		set->index = xcalloc(1, sizeof(*set->index));
	slot = index_find(set->index, owner, name);
	if (slot)
		return slot->idx;
	if (sso) {
		ALLOC_GROW(set->sso_sessions, set->nsso_sessions + 1, set->sso_alloc);
		idx = set->nsso_sessions++;
		p = &set->sso_sessions[idx];
	} else {
		ALLOC_GROW(set->profiles, set->nprofiles + 1, set->alloc);
		idx = set->nprofiles++;
		p = &set->profiles[idx];
	}
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(name);
	index_put(set->index, owner, p->name, idx);
	return idx;
}

enum section_kind {
	SECTION_NONE,	      /* no section line yet */
	SECTION_IGNORED,      /* a bare [NAME] in config, an invalid name, a typo */
	SECTION_PROFILE,      /* set->profiles[section] */
	SECTION_SSO,	      /* set->sso_sessions[section] */
	SECTION_BARE_DEFAULT, /* [default] in the config file: parser.bare_default */
};

struct parser {
	struct aws_profile_set *set;
	enum aws_file_kind kind;
	const char *filename;
	struct strbuf *err;
	size_t lineno;

	enum section_kind section;
	size_t section_idx;

	/* The property that continuation lines extend. */
	int in_prop;
	int prop_dropped; /* invalid name or ignored section: checked, then dropped */
	int sub_props;	  /* its value was empty: continuations are "name = value" */
	struct strbuf key;
	struct strbuf value; /* grown once to the text length so it never moves */

	/* The config file's [default] counts only without a [profile default]. */
	struct aws_profile bare_default;
	struct aws_profile_index bare_ix;
	int bare_default_seen, profile_default_seen;
};

PRINTF_LIKE(2, 3) static int parse_error(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	if (!p->err)
		return -1;
	strbuf_addf(p->err, "%s: line %zu: ", p->filename, p->lineno);
	va_start(ap, fmt);
	strbuf_vaddf(p->err, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_ws(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_ws((*s)[*len - 1]))
		(*len)--;
}

/* Profile, sso-session and property names: ASCII letters, digits and - / . % @ _ : + */
static int valid_identifier(const char *s, size_t len)
{
	size_t i;
	if (!len)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			continue;
		if (!c || !strchr("-/.%@_:+", c))
			return 0;
	}
	return 1;
}

static int has_prefix_word(const char *s, size_t len, const char *word, const char **rest,
			   size_t *rest_len)
{
	size_t wl = strlen(word);
	if (len <= wl || memcmp(s, word, wl) || !is_ws(s[wl]))
		return 0;
	*rest = s + wl;
	*rest_len = len - wl;
	trim(rest, rest_len);
	return 1;
}

/* Stores the open property, if any, and closes it. */
static void close_property(struct parser *p)
{
	if (p->in_prop && !p->prop_dropped) {
		struct aws_profile_set *set = p->set;
		switch (p->section) {
		case SECTION_PROFILE:
			profile_set(set->index, OWNER_PROFILE_PROPS(p->section_idx),
				    &set->profiles[p->section_idx], p->key.buf, p->value.buf,
				    p->value.len);
			break;
		case SECTION_SSO:
			profile_set(set->index, OWNER_SSO_PROPS(p->section_idx),
				    &set->sso_sessions[p->section_idx], p->key.buf, p->value.buf,
				    p->value.len);
			break;
		case SECTION_BARE_DEFAULT:
			profile_set(&p->bare_ix, OWNER_PROFILE_PROPS(0), &p->bare_default,
				    p->key.buf, p->value.buf, p->value.len);
			break;
		default:
			break;
		}
	}
	p->in_prop = 0;
	strbuf_reset(&p->key);
	strbuf_reset(&p->value);
}

static void enter_section(struct parser *p, enum section_kind kind, const char *name, size_t len)
{
	p->section = kind;
	if (kind == SECTION_PROFILE || kind == SECTION_SSO) {
		char *n = xmemdupz(name, len);
		p->section_idx = section_get(p->set, kind == SECTION_SSO, n);
		free(n);
	}
}

static int section_line(struct parser *p, const char *line, size_t len)
{
	const char *inner, *name;
	size_t ilen, nlen, i;

	close_property(p);
	/* On a section line a comment may start anywhere. */
	for (i = 0; i < len; i++)
		if (line[i] == '#' || line[i] == ';')
			break;
	len = i;
	trim(&line, &len);
	if (len < 2 || line[len - 1] != ']')
		return parse_error(p, "profile definition must end with ']'");
	inner = line + 1;
	ilen = len - 2;
	trim(&inner, &ilen);

	if (p->kind == AWS_FILE_CREDENTIALS) {
		if (valid_identifier(inner, ilen))
			enter_section(p, SECTION_PROFILE, inner, ilen);
		else
			enter_section(p, SECTION_IGNORED, NULL, 0);
		return 0;
	}
	if (ilen == 7 && !memcmp(inner, "default", 7)) {
		p->bare_default_seen = 1;
		enter_section(p, SECTION_BARE_DEFAULT, NULL, 0);
	} else if (has_prefix_word(inner, ilen, "profile", &name, &nlen) &&
		   valid_identifier(name, nlen)) {
		if (nlen == 7 && !memcmp(name, "default", 7))
			p->profile_default_seen = 1;
		enter_section(p, SECTION_PROFILE, name, nlen);
	} else if (has_prefix_word(inner, ilen, "sso-session", &name, &nlen) &&
		   valid_identifier(name, nlen)) {
		enter_section(p, SECTION_SSO, name, nlen);
	} else {
		enter_section(p, SECTION_IGNORED, NULL, 0);
	}
	return 0;
}

static int property_line(struct parser *p, const char *line, size_t len)
{
	const char *eq, *key, *value;
	size_t klen, vlen, i;

	close_property(p);
	if (p->section == SECTION_NONE)
		return parse_error(p, "expected a profile definition before a property");
	/* On a property line a comment starts only after whitespace. */
	for (i = 1; i < len; i++)
		if ((line[i] == '#' || line[i] == ';') && is_ws(line[i - 1]))
			break;
	len = i;
	trim(&line, &len);
	eq = memchr(line, '=', len);
	if (!eq)
		return parse_error(p, "expected '=' in property");
	key = line;
	klen = (size_t)(eq - line);
	trim(&key, &klen);
	if (!klen)
		return parse_error(p, "property has no name");
	value = eq + 1;
	vlen = (size_t)(line + len - value);
	trim(&value, &vlen);

	p->in_prop = 1;
	p->sub_props = !vlen;
	p->prop_dropped = p->section == SECTION_IGNORED || !valid_identifier(key, klen);
	for (i = 0; i < klen; i++)
		strbuf_addch(&p->key, tolower((unsigned char)key[i]));
	strbuf_add(&p->value, value, vlen);
	return 0;
}

static int continuation_line(struct parser *p, const char *line, size_t len)
{
	if (p->section == SECTION_NONE)
		return parse_error(p, "expected a profile definition before a continuation");
	if (!p->in_prop)
		return parse_error(p, "expected a property definition, found continuation");
	/* Comments are not stripped in continuations. */
	trim(&line, &len);
	if (p->sub_props) {
		const char *eq = memchr(line, '=', len);
		const char *key = line;
		size_t klen;
		if (!eq)
			return parse_error(p, "expected '=' in sub-property");
		klen = (size_t)(eq - line);
		trim(&key, &klen);
		if (!klen)
			return parse_error(p, "sub-property has no name");
	}
	strbuf_addch(&p->value, '\n');
	strbuf_add(&p->value, line, len);
	return 0;
}

static int parse_line(struct parser *p, const char *line, size_t len)
{
	const char *t = line;
	size_t tlen = len;

	trim(&t, &tlen);
	if (!tlen)
		return 0; /* blank lines are ignored everywhere, even between sub-properties */
	if (line[0] == '#' || line[0] == ';')
		return 0;
	if (line[0] == '[')
		return section_line(p, line, len);
	if (is_ws(line[0]))
		return continuation_line(p, line, len);
	return property_line(p, line, len);
}

/* The config file's [default], unless it also has a [profile default]. */
static void merge_bare_default(struct parser *p)
{
	struct aws_profile_set *set = p->set;
	size_t i, idx;

	if (!p->bare_default_seen || p->profile_default_seen)
		return;
	idx = section_get(set, 0, "default");
	for (i = 0; i < p->bare_default.nprops; i++) {
		const struct aws_property *prop = &p->bare_default.props[i];
		profile_set(set->index, OWNER_PROFILE_PROPS(idx), &set->profiles[idx], prop->name,
			    prop->value, strlen(prop->value));
	}
}

int aws_profiles_parse(struct aws_profile_set *set, enum aws_file_kind kind, const char *text,
		       size_t len, const char *filename, struct strbuf *err)
{
	struct parser p;
	const char *line = text, *end = text + len, *nul;
	int ret = 0;

	memset(&p, 0, sizeof(p));
	p.set = set;
	p.kind = kind;
	p.filename = filename ? filename : (kind == AWS_FILE_CONFIG ? "config" : "credentials");
	p.err = err;
	strbuf_init(&p.key, 0);
	strbuf_init(&p.value, len + 1);
	if (!set->index)
		set->index = xcalloc(1, sizeof(*set->index));

	nul = len ? memchr(text, '\0', len) : NULL;
	if (nul) {
		const char *s;
		p.lineno = 1;
		for (s = text; s < nul; s++)
			p.lineno += *s == '\n';
		ret = parse_error(&p, "unexpected NUL byte");
		goto done;
	}
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end;
		p.lineno++;
		ret = parse_line(&p, line, (size_t)(eol - line));
		if (ret)
			goto done;
		line = nl ? nl + 1 : end;
	}
	close_property(&p);
	merge_bare_default(&p);
done:
	profile_release(&p.bare_default);
	free(p.bare_ix.slots);
	strbuf_release(&p.key);
	strbuf_release_secret(&p.value);
	return ret;
}

void aws_profile_set_release(struct aws_profile_set *set)
{
	size_t i;
	if (!set)
		return;
	for (i = 0; i < set->nprofiles; i++)
		profile_release(&set->profiles[i]);
	for (i = 0; i < set->nsso_sessions; i++)
		profile_release(&set->sso_sessions[i]);
	FREE_ALL(set->profiles, set->sso_sessions);
	index_free(set->index);
	memset(set, 0, sizeof(*set));
}

static const struct aws_profile *section_find(const struct aws_profile_set *set, int sso,
					      const char *name)
{
	const struct aws_name_slot *slot;
	if (!set || !name)
		return NULL;
	slot = index_find(set->index, sso ? OWNER_SSO : OWNER_PROFILES, name);
	if (!slot)
		return NULL;
	return sso ? &set->sso_sessions[slot->idx] : &set->profiles[slot->idx];
}

const struct aws_profile *aws_profile_find(const struct aws_profile_set *set, const char *name)
{
	return section_find(set, 0, name);
}

const struct aws_profile *aws_sso_session_find(const struct aws_profile_set *set, const char *name)
{
	return section_find(set, 1, name);
}

const char *aws_profile_get(const struct aws_profile *p, const char *name)
{
	size_t i;
	if (!p || !name)
		return NULL;
	for (i = 0; i < p->nprops; i++)
		if (!strcasecmp(p->props[i].name, name))
			return p->props[i].value;
	return NULL;
}

/* File locations */

static const char *env_get(aws_getenv_fn getenv_fn, void *ctx, const char *name)
{
	/* the one concession to the process: a NULL lookup function means its environment */
	const char *v = getenv_fn ? getenv_fn(ctx, name) : getenv(name);
	return v && *v ? v : NULL;
}

/* "~/x" (or "~\x" on windows) is home + "/x"; anything else is kept. */
static int expand_path(char **out, const char *path, const char *home, int windows)
{
	if (path[0] == '~' && (!path[1] || path[1] == '/' || (windows && path[1] == '\\'))) {
		struct strbuf sb = STRBUF_INIT;
		if (!home)
			return -1;
		strbuf_addstr(&sb, home);
		strbuf_addstr(&sb, path + 1);
		*out = strbuf_detach(&sb, NULL);
		return 0;
	}
	*out = xstrdup(path);
	return 0;
}

/* The home directory into home (left empty when unknown), without a trailing separator. */
static void find_home(struct strbuf *home, aws_getenv_fn getenv_fn, void *ctx, int windows,
		      const char *home_fallback)
{
	const char *sep = windows ? "\\" : "/";
	const char *h;

	if ((h = env_get(getenv_fn, ctx, "HOME"))) {
		strbuf_addstr(home, h);
	} else if (windows && (h = env_get(getenv_fn, ctx, "USERPROFILE"))) {
		strbuf_addstr(home, h);
	} else if (windows && env_get(getenv_fn, ctx, "HOMEDRIVE") &&
		   env_get(getenv_fn, ctx, "HOMEPATH")) {
		strbuf_addstr(home, env_get(getenv_fn, ctx, "HOMEDRIVE"));
		strbuf_addstr(home, env_get(getenv_fn, ctx, "HOMEPATH"));
	} else if (home_fallback && *home_fallback) {
		strbuf_addstr(home, home_fallback);
	}
	/* "/home/u/" + ".aws" must not give "//" */
	while (home->len > 1 && home->buf[home->len - 1] == sep[0])
		strbuf_setlen(home, home->len - 1);
}

static void no_home_error(struct strbuf *err, int windows)
{
	if (err)
		strbuf_addstr(err, windows ? "cannot find the home directory (HOME, USERPROFILE "
					     "and HOMEDRIVE/HOMEPATH are not set)"
					   : "cannot find the home directory (HOME is not set)");
}

int aws_home_dir(struct strbuf *out, aws_getenv_fn getenv_fn, void *ctx, const char *platform,
		 const char *home_fallback, struct strbuf *err)
{
	int windows = platform && !strcmp(platform, "windows");
	struct strbuf home = STRBUF_INIT;

	find_home(&home, getenv_fn, ctx, windows, home_fallback);
	if (!home.len) {
		strbuf_release(&home);
		no_home_error(err, windows);
		return -1;
	}
	strbuf_addbuf(out, &home);
	strbuf_release(&home);
	return 0;
}

/*
 * One of the two files: given (from the environment) with ~ expanded, or
 * home's .aws/name when not given. -1 when that needs a home there is not.
 */
static int locate_file(char **out, const char *given, const char *name, const char *home,
		       int windows)
{
	const char *sep = windows ? "\\" : "/";
	struct strbuf sb = STRBUF_INIT;

	if (given)
		return expand_path(out, given, home, windows);
	if (!home)
		return -1;
	strbuf_addf(&sb, "%s%s.aws%s%s", home, sep, sep, name);
	*out = strbuf_detach(&sb, NULL);
	return 0;
}

int aws_file_locations_resolve(struct aws_file_locations *out, aws_getenv_fn getenv_fn, void *ctx,
			       const char *platform, const char *home_fallback,
			       const char *profile_override, struct strbuf *err)
{
	int windows = platform && !strcmp(platform, "windows");
	const char *config = env_get(getenv_fn, ctx, "AWS_CONFIG_FILE");
	const char *creds = env_get(getenv_fn, ctx, "AWS_SHARED_CREDENTIALS_FILE");
	const char *profile = env_get(getenv_fn, ctx, "AWS_PROFILE");
	struct strbuf home = STRBUF_INIT;
	const char *h;

	memset(out, 0, sizeof(*out));
	find_home(&home, getenv_fn, ctx, windows, home_fallback);
	h = home.len ? home.buf : NULL;

	if (locate_file(&out->config_file, config, "config", h, windows) ||
	    locate_file(&out->credentials_file, creds, "credentials", h, windows))
		goto no_home;
	if (profile_override && *profile_override)
		profile = profile_override;
	out->profile = xstrdup(profile ? profile : "default");
	strbuf_release(&home);
	return 0;

no_home:
	strbuf_release(&home);
	aws_file_locations_release(out);
	no_home_error(err, windows);
	return -1;
}

void aws_file_locations_release(struct aws_file_locations *loc)
{
	if (!loc)
		return;
	FREE_ALL(loc->config_file, loc->credentials_file, loc->profile);
	memset(loc, 0, sizeof(*loc));
}
