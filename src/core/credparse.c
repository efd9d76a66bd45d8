#include "core/compat.h"
#include "core/credparse.h"
#include "core/awscreds.h"
#include "core/strbuf.h"
#include "core/timeutil.h"

/* A flat JSON object parser (RFC 8259), strict, secret-safe. */

#define JSON_MAX_DEPTH 64

enum jv_type { JV_STRING, JV_NUMBER, JV_TRUE, JV_FALSE, JV_NULL, JV_NESTED };

struct jparser {
	const char *s;
	size_t len, pos;
};

/* A member of interest: its decoded value lands in *dst (malloc'd, wiped when freed). */
struct jfield {
	const char *name;
	enum jv_type want; /* JV_STRING or JV_NUMBER */
	char **dst;
	int seen;
};

static void skip_ws(struct jparser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int peek(const struct jparser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int hex4(struct jparser *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	if (p->len - p->pos < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		int c = (unsigned char)p->s[p->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void add_utf8(struct strbuf *out, unsigned cp)
{
	if (cp < 0x80) {
		strbuf_addch(out, (int)cp);
	} else if (cp < 0x800) {
		strbuf_addch(out, (int)(0xc0 | (cp >> 6)));
		strbuf_addch(out, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addch(out, (int)(0xe0 | (cp >> 12)));
		strbuf_addch(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(out, (int)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(out, (int)(0xf0 | (cp >> 18)));
		strbuf_addch(out, (int)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_addch(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(out, (int)(0x80 | (cp & 0x3f)));
	}
}

/*
 * A string at p->pos (the opening quote); decoded into out (reset first),
 * which must be secret-safe: it is grown once to the string's raw length,
 * so it never reallocates (and leaves no unwiped copy behind).
 */
static int parse_string(struct jparser *p, struct strbuf *out)
{
	size_t end;

	if (peek(p) != '"')
		return -1;
	p->pos++;
	/* the raw length bounds the decoded length */
	for (end = p->pos; end < p->len && p->s[end] != '"'; end++)
		if (p->s[end] == '\\')
			end++;
	if (out->alloc < end - p->pos + 2)
		strbuf_release_secret(out);
	strbuf_reset(out);
	strbuf_grow(out, end - p->pos + 1);
	while (p->pos < p->len) {
		int c = (unsigned char)p->s[p->pos++];
		unsigned cp, lo;

		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			strbuf_addch(out, c);
			continue;
		}
		if (p->pos >= p->len)
			return -1;
		c = (unsigned char)p->s[p->pos++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			strbuf_addch(out, c);
			break;
		case 'b':
			strbuf_addch(out, '\b');
			break;
		case 'f':
			strbuf_addch(out, '\f');
			break;
		case 'n':
			strbuf_addch(out, '\n');
			break;
		case 'r':
			strbuf_addch(out, '\r');
			break;
		case 't':
			strbuf_addch(out, '\t');
			break;
		case 'u':
			if (hex4(p, &cp))
				return -1;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p->len - p->pos < 6 || p->s[p->pos] != '\\' ||
				    p->s[p->pos + 1] != 'u')
					return -1;
				p->pos += 2;
				if (hex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (!cp) /* a NUL would cut the value short */
				return -1;
			add_utf8(out, cp);
			break;
		default:
			return -1;
		}
	}
	return -1;
}

static int parse_number(struct jparser *p, struct strbuf *out)
{
	size_t start = p->pos;

	if (peek(p) == '-')
		p->pos++;
	if (peek(p) == '0') {
		p->pos++;
	} else if (peek(p) >= '1' && peek(p) <= '9') {
		while (peek(p) >= '0' && peek(p) <= '9')
			p->pos++;
	} else {
		return -1;
	}
	if (peek(p) == '.') {
		p->pos++;
		if (!(peek(p) >= '0' && peek(p) <= '9'))
			return -1;
		while (peek(p) >= '0' && peek(p) <= '9')
			p->pos++;
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (!(peek(p) >= '0' && peek(p) <= '9'))
			return -1;
		while (peek(p) >= '0' && peek(p) <= '9')
			p->pos++;
	}
	strbuf_reset(out);
	strbuf_add(out, p->s + start, p->pos - start);
	return 0;
}

static int parse_literal(struct jparser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
		return -1;
	p->pos += n;
	return 0;
}

static int parse_value(struct jparser *p, int depth, enum jv_type *type, struct strbuf *out);

/* An object or array, skipped (its strings decoded into scratch, then wiped). */
static int skip_nested(struct jparser *p, int depth, struct strbuf *scratch)
{
	int close = peek(p) == '{' ? '}' : ']';
	int first = 1;
	enum jv_type t;

	if (depth >= JSON_MAX_DEPTH)
		return -1;
	p->pos++;
	for (;;) {
		skip_ws(p);
		if (first && peek(p) == close) {
			p->pos++;
			return 0;
		}
		if (close == '}') {
			if (parse_string(p, scratch))
				return -1;
			skip_ws(p);
			if (peek(p) != ':')
				return -1;
			p->pos++;
			skip_ws(p);
		}
		if (parse_value(p, depth + 1, &t, scratch))
			return -1;
		skip_ws(p);
		if (peek(p) == ',') {
			p->pos++;
			first = 0;
			continue;
		}
		if (peek(p) != close)
			return -1;
		p->pos++;
		return 0;
	}
}

static int parse_value(struct jparser *p, int depth, enum jv_type *type, struct strbuf *out)
{
	switch (peek(p)) {
	case '"':
		*type = JV_STRING;
		return parse_string(p, out);
	case 't':
		*type = JV_TRUE;
		return parse_literal(p, "true");
	case 'f':
		*type = JV_FALSE;
		return parse_literal(p, "false");
	case 'n':
		*type = JV_NULL;
		return parse_literal(p, "null");
	case '{':
	case '[':
		*type = JV_NESTED;
		return skip_nested(p, depth, out);
	default:
		*type = JV_NUMBER;
		return parse_number(p, out);
	}
}

/*
 * Parses one object, filling the fields it names. 0, or -1 with err (the
 * fields' values are then freed by the caller). A null member counts as
 * absent; a member of the wrong type, or named twice, is an error.
 */
static int parse_object(const char *text, size_t len, struct jfield *fields, size_t nfields,
			struct strbuf *err)
{
	struct jparser p = { text, len, 0 };
	struct strbuf key = STRBUF_INIT, value = STRBUF_INIT;
	int first = 1, ret = -1;
	size_t i;

	skip_ws(&p);
	if (peek(&p) != '{') {
		strbuf_addstr(err, p.pos < len ? "not a JSON object" : "empty output");
		goto out;
	}
	p.pos++;
	for (;;) {
		enum jv_type t;
		struct jfield *f = NULL;

		skip_ws(&p);
		if (first && peek(&p) == '}') {
			p.pos++;
			break;
		}
		if (parse_string(&p, &key))
			goto syntax;
		skip_ws(&p);
		if (peek(&p) != ':')
			goto syntax;
		p.pos++;
		skip_ws(&p);
		if (parse_value(&p, 1, &t, &value))
			goto syntax;
		for (i = 0; i < nfields; i++)
			if (!strcmp(fields[i].name, key.buf) && strlen(key.buf) == key.len)
				f = &fields[i];
		if (f && t != JV_NULL) {
			if (f->seen) {
				strbuf_addf(err, "%s appears twice", f->name);
				goto out;
			}
			if (t != f->want) {
				strbuf_addf(err, "%s is not a %s", f->name,
					    f->want == JV_STRING ? "string" : "number");
				goto out;
			}
			f->seen = 1;
			*f->dst = xmemdupz(value.buf, value.len);
		}
		strbuf_release_secret(&value);
		skip_ws(&p);
		if (peek(&p) == ',') {
			p.pos++;
			first = 0;
			continue;
		}
		if (peek(&p) != '}')
			goto syntax;
		p.pos++;
		break;
	}
	skip_ws(&p);
	if (p.pos != len)
		goto syntax;
	ret = 0;
	goto out;
syntax:
	strbuf_addf(err, "not valid JSON at offset %zu", p.pos);
out:
	strbuf_release_secret(&key);
	strbuf_release_secret(&value);
	return ret;
}

/* Appends at most 40 printable characters of s, for messages about non-secret values. */
static void add_excerpt(struct strbuf *sb, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < 40; i++)
		strbuf_addch(sb, isprint((unsigned char)s[i]) ? s[i] : '?');
	if (s[i])
		strbuf_addstr(sb, "...");
}

int cred_json_parse(enum cred_json_format format, const char *text, size_t len,
		    struct aws_credentials *out, struct strbuf *err)
{
	char *version = NULL, *id = NULL, *secret = NULL, *token = NULL, *expiration = NULL,
	     *account = NULL, *code = NULL;
	int process = format == CRED_JSON_PROCESS;
	struct jfield fields[] = {
		{ "AccessKeyId", JV_STRING, &id, 0 },
		{ "SecretAccessKey", JV_STRING, &secret, 0 },
		{ process ? "SessionToken" : "Token", JV_STRING, &token, 0 },
		{ "Expiration", JV_STRING, &expiration, 0 },
		{ "AccountId", JV_STRING, &account, 0 },
		{ process ? "Version" : "Code", process ? JV_NUMBER : JV_STRING,
		  process ? &version : &code, 0 },
	};
	size_t nfields = ARRAY_SIZE(fields) - (format == CRED_JSON_CONTAINER);
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (parse_object(text, len, fields, nfields, err))
		goto out;
	if (process) {
		if (!version) {
			strbuf_addstr(err, "no Version (it must be 1)");
			goto out;
		}
		if (strtod(version, NULL) != 1.0) {
			strbuf_addstr(err, "Version is ");
			add_excerpt(err, version);
			strbuf_addstr(err, ", not 1");
			goto out;
		}
	}
	if (code && strcmp(code, "Success")) {
		strbuf_addstr(err, "Code is '");
		add_excerpt(err, code);
		strbuf_addstr(err, "', not 'Success'");
		goto out;
	}
	if (!id || !*id) {
		strbuf_addstr(err, "no AccessKeyId");
		goto out;
	}
	if (!secret || !*secret) {
		strbuf_addstr(err, "no SecretAccessKey");
		goto out;
	}
	if (expiration && iso8601_parse(expiration, &out->expiration)) {
		strbuf_addstr(err, "Expiration '");
		add_excerpt(err, expiration);
		strbuf_addstr(err, "' is not an ISO 8601 time");
		goto out;
	}
	out->access_key_id = id;
	out->secret_access_key = secret;
	out->session_token = token && *token ? token : NULL;
	out->account_id = account && *account ? account : NULL;
	id = secret = NULL;
	if (out->session_token)
		token = NULL;
	if (out->account_id)
		account = NULL;
	ret = 0;
out:
	if (ret)
		memset(out, 0, sizeof(*out));
	free_secret(id);
	free_secret(secret);
	free_secret(token);
	free_secret(account);
	free(version);
	free(expiration);
	free(code);
	return ret;
}

int cred_json_string(const char *text, size_t len, const char *name, char **out)
{
	struct strbuf err = STRBUF_INIT;
	struct jfield f = { name, JV_STRING, out, 0 };
	int ret;

	*out = NULL;
	ret = parse_object(text, len, &f, 1, &err);
	strbuf_release(&err);
	if (ret || !*out) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Command lines */

void cred_argv_free(char **argv)
{
	size_t i;

	if (!argv)
		return;
	for (i = 0; argv[i]; i++)
		free_secret(argv[i]);
	free(argv);
}

int argv_split(const char *line, const struct argv_syntax *syn, char ***argv_out, size_t *argc_out,
	       struct strbuf *err)
{
	struct strbuf word = STRBUF_INIT;
	char **argv = NULL;
	size_t argc = 0, alloc = 0;
	const char *s = line;
	int in_word = 0;

	*argv_out = NULL;
	*argc_out = 0;
	for (;;) {
		char c = *s;

		if (!c || strchr(syn->blanks, c)) {
			if (in_word) {
				ALLOC_GROW(argv, argc + 2, alloc);
				argv[argc++] = strbuf_detach(&word, NULL);
				argv[argc] = NULL;
				in_word = 0;
			}
			if (!c)
				break;
			s++;
			continue;
		}
		in_word = 1;
		if (c == '\'') {
			const char *end = strchr(s + 1, '\'');

			if (!end) {
				strbuf_addf(err, "unterminated '%s", syn->where_quote);
				goto fail;
			}
			strbuf_add(&word, s + 1, (size_t)(end - s - 1));
			s = end + 1;
		} else if (c == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1] && strchr(syn->dq_escapes, s[1]))
					s++;
				strbuf_addch(&word, *s);
			}
			if (!*s) {
				strbuf_addf(err, "unterminated \"%s", syn->where_quote);
				goto fail;
			}
			s++;
		} else if (c == '\\') {
			if (!s[1]) {
				strbuf_addf(err, "trailing backslash%s", syn->where);
				goto fail;
			}
			strbuf_addch(&word, s[1]);
			s += 2;
		} else {
			strbuf_addch(&word, c);
			s++;
		}
	}
	if (!argc) {
		strbuf_addstr(err, "empty command");
		goto fail;
	}
	*argv_out = argv;
	*argc_out = argc;
	return 0;
fail:
	strbuf_release_secret(&word);
	cred_argv_free(argv);
	return -1;
}

int cred_argv_split(const char *line, char ***argv, size_t *argc, struct strbuf *err)
{
	static const struct argv_syntax shell = { " \t\n\r", "\"\\$`", " quote", "" };

	return argv_split(line, &shell, argv, argc, err);
}
