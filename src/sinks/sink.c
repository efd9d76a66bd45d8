#include "core/compat.h"
#include "sinks/sink.h"
#include "core/credparse.h"
#include "core/profile_edit.h"
#include "core/strbuf.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

/*
 * The spec parser, templates, the delivered JSON and small helpers shared
 * by the sinks. One file per sink: sink_file.c, sink_profile.c,
 * sink_secretsmanager.c (with ssm:), sink_exec.c, sink_stdout.c.
 */

/* IAM user names: letters, digits and + = , . @ _ - (and none starts with '.'). */
static int user_name_is_safe(const char *user)
{
	const char *p;
	size_t len = strlen(user);

	if (!len || len > 128 || user[0] == '.')
		return 0;
	for (p = user; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!isalnum(c) && !strchr("+=,.@_-", c))
			return 0;
	}
	return 1;
}

static int account_is_safe(const char *account)
{
	const char *p;
	if (!*account)
		return 0;
	for (p = account; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
	return 1;
}

int sink_expand_template(struct strbuf *out, const char *tmpl, const char *user,
			 const char *account, struct strbuf *err)
{
	const char *p = tmpl;

	while (*p) {
		const char *open = strchr(p, '{'), *close;
		size_t nlen;

		if (!open) {
			strbuf_addstr(out, p);
			break;
		}
		strbuf_add(out, p, (size_t)(open - p));
		close = strchr(open, '}');
		if (!close) {
			strbuf_addstr(err, "unterminated '{' (use {user} or {account})");
			return -1;
		}
		nlen = (size_t)(close - open) + 1;
		if (nlen == 6 && !memcmp(open, "{user}", 6)) {
			if (!user || !*user) {
				strbuf_addstr(err, "{user} is unknown here");
				return -1;
			}
			/* a user name must not move a path elsewhere or split a word */
			if (!user_name_is_safe(user)) {
				strbuf_addf(err, "user name '%s' cannot be used in {user}", user);
				return -1;
			}
			strbuf_addstr(out, user);
		} else if (nlen == 9 && !memcmp(open, "{account}", 9)) {
			if (!account || !*account) {
				strbuf_addstr(err,
					      "{account} is unknown (the account id is not known)");
				return -1;
			}
			if (!account_is_safe(account)) {
				strbuf_addf(err, "account id '%s' cannot be used in {account}",
					    account);
				return -1;
			}
			strbuf_addstr(out, account);
		} else {
			strbuf_addf(err, "unknown placeholder '%.*s' (use {user} or {account})",
				    (int)nlen, open);
			return -1;
		}
		p = close + 1;
	}
	return 0;
}

/* JSON */

void sink_json_string(struct strbuf *out, const char *s)
{
	const unsigned char *p;

	if (!s) {
		strbuf_addstr(out, "null");
		return;
	}
	/* worst case \u00XX for every byte, so the buffer grows once, before the secret goes in */
	strbuf_grow(out, 6 * strlen(s) + 2);
	strbuf_addch(out, '"');
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			strbuf_addstr(out, "\\\"");
			break;
		case '\\':
			strbuf_addstr(out, "\\\\");
			break;
		case '\b':
			strbuf_addstr(out, "\\b");
			break;
		case '\f':
			strbuf_addstr(out, "\\f");
			break;
		case '\n':
			strbuf_addstr(out, "\\n");
			break;
		case '\r':
			strbuf_addstr(out, "\\r");
			break;
		case '\t':
			strbuf_addstr(out, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				strbuf_addf(out, "\\u%04x", *p);
			else
				strbuf_addch(out, (char)*p);
		}
	}
	strbuf_addch(out, '"');
}

static size_t json_len_bound(const char *s)
{
	return s ? 6 * strlen(s) + 2 : 4;
}

void new_secret_json(struct strbuf *out, const struct new_secret *s)
{
	strbuf_grow(out, 128 + json_len_bound(s->access_key_id) +
				 json_len_bound(s->secret_access_key) +
				 json_len_bound(s->user_name) + json_len_bound(s->create_date));
	strbuf_addstr(out, "{\"AccessKeyId\":");
	sink_json_string(out, s->access_key_id);
	strbuf_addstr(out, ",\"SecretAccessKey\":");
	sink_json_string(out, s->secret_access_key);
	strbuf_addstr(out, ",\"UserName\":");
	sink_json_string(out, s->user_name);
	strbuf_addstr(out, ",\"CreateDate\":");
	sink_json_string(out, s->create_date);
	strbuf_addch(out, '}');
}

char *new_secret_json_key_id(const char *text, size_t len)
{
	static const char name[] = "AccessKeyId";
	const size_t nlen = sizeof(name) - 1;
	size_t i;

	for (i = 0; i + nlen <= len; i++) {
		size_t j = i + nlen, start;
		int colon = 0;

		if (memcmp(text + i, name, nlen))
			continue;
		/* the member name's closing quote (escaped or not), ':' and the value's opening quote */
		while (j < len &&
		       (text[j] == '"' || text[j] == '\\' || text[j] == ':' || text[j] == ' ' ||
			text[j] == '\t' || text[j] == '\r' || text[j] == '\n')) {
			colon += text[j] == ':';
			j++;
		}
		if (colon != 1)
			continue;
		start = j;
		while (j < len &&
		       (isupper((unsigned char)text[j]) || isdigit((unsigned char)text[j])))
			j++;
		if (j - start < 16 || j - start > 128 || j >= len ||
		    (text[j] != '"' && text[j] != '\\'))
			continue;
		return xmemdupz(text + start, j - start);
	}
	return NULL;
}

int sink_uuid_v4(char out[37])
{
	unsigned char b[16];
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

/* exec: words */

void sink_argv_free(char **argv)
{
	cred_argv_free(argv); /* the same NULL-terminated shape; it also wipes the words */
}

int sink_split_command(const char *cmd, char ***argv, size_t *argc, struct strbuf *err)
{
	static const struct argv_syntax exec_words = { " \t\n\r\v\f", "\"\\", " in command",
						       " in command" };

	return argv_split(cmd, &exec_words, argv, argc, err);
}

/* sink_new */

static char *make_target(const char *scheme, const char *rest)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s:%s", scheme, rest);
	return strbuf_detach(&sb, NULL);
}

/* Expands tmpl into out; on error "<spec>: <why>" in err. */
static int expand(struct strbuf *out, const char *tmpl, const char *spec,
		  const struct sink_context *ctx, struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	if (!sink_expand_template(out, tmpl, ctx->user, ctx->account, &why))
		return 0;
	strbuf_addf(err, "%s: %s", spec, why.buf);
	strbuf_release(&why);
	return -1;
}

static struct sink *new_profile(const char *spec, const char *rest, const struct sink_context *ctx,
				struct strbuf *err)
{
	struct strbuf name = STRBUF_INIT, file = STRBUF_INIT, target = STRBUF_INIT;
	const char *at;
	size_t name_len = strlen(rest);
	struct sink *k = NULL;

	/* NAME@FILE only when FILE is a path: '@' may be part of the name */
	for (at = strchr(rest, '@'); at; at = strchr(at + 1, '@'))
		if (at[1] == '/' || at[1] == '~' || at[1] == '.') {
			name_len = (size_t)(at - rest);
			break;
		}
	if (!name_len) {
		strbuf_addf(err, "%s: no profile name", spec);
		return NULL;
	}
	{
		char *tmpl = xmemdupz(rest, name_len);
		int r = expand(&name, tmpl, spec, ctx, err);
		free(tmpl);
		if (r)
			goto done;
	}
	if (!profile_name_is_valid(name.buf)) {
		strbuf_addf(
			err,
			"%s: invalid profile name '%s' (use letters, digits and - / . %% @ _ : +)",
			spec, name.buf);
		goto done;
	}
	if (at && expand(&file, at + 1, spec, ctx, err))
		goto done;
	strbuf_addf(&target, "profile:%s", name.buf);
	if (at)
		strbuf_addf(&target, "@%s", file.buf);
	k = sink_profile_new(name.buf, at ? file.buf : NULL, ctx, strbuf_detach(&target, NULL),
			     err);
done:
	strbuf_release(&name);
	strbuf_release(&file);
	strbuf_release(&target);
	return k;
}

static struct sink *new_exec(const char *spec, const char *rest, const struct sink_context *ctx,
			     struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT, expanded = STRBUF_INIT;
	char **argv;
	size_t argc, i;

	if (sink_split_command(rest, &argv, &argc, &why)) {
		strbuf_addf(err, "%s: %s", spec, why.buf);
		strbuf_release(&why);
		return NULL;
	}
	/* words first, then placeholders: {user} cannot add or split a word */
	for (i = 0; i < argc; i++) {
		struct strbuf w = STRBUF_INIT;
		if (expand(&w, argv[i], spec, ctx, err)) {
			strbuf_release(&w);
			sink_argv_free(argv);
			return NULL;
		}
		free(argv[i]);
		argv[i] = strbuf_detach(&w, NULL);
	}
	strbuf_addstr(&expanded, "exec:");
	if (expand(&expanded, rest, spec, ctx, err)) {
		strbuf_release(&expanded);
		sink_argv_free(argv);
		return NULL;
	}
	return sink_exec_new(argv, ctx, strbuf_detach(&expanded, NULL), err);
}

struct sink *sink_new(const char *spec, const struct sink_context *ctx, struct strbuf *err)
{
	static const struct sink_context no_ctx;
	struct strbuf expanded = STRBUF_INIT;
	const char *colon, *rest;
	struct sink *k = NULL;
	char *scheme;

	if (!ctx)
		ctx = &no_ctx;
	if (!spec || !*spec) {
		strbuf_addstr(err, "empty sink (use file:PATH, profile:NAME[@FILE], "
				   "secretsmanager:NAME, ssm:NAME, exec:COMMAND or -)");
		return NULL;
	}
	if (!strcmp(spec, "-"))
		return sink_stdout_new(xstrdup("-"), err);
	colon = strchr(spec, ':');
	if (!colon) {
		strbuf_addf(err,
			    "unknown sink '%s' (use file:PATH, profile:NAME[@FILE], "
			    "secretsmanager:NAME, ssm:NAME, exec:COMMAND or -)",
			    spec);
		return NULL;
	}
	scheme = xmemdupz(spec, (size_t)(colon - spec));
	rest = colon + 1;
	if (strcmp(scheme, "file") && strcmp(scheme, "profile") &&
	    strcmp(scheme, "secretsmanager") && strcmp(scheme, "ssm") && strcmp(scheme, "exec")) {
		strbuf_addf(err,
			    "unknown sink '%s' (use file:, profile:, secretsmanager:, ssm:, "
			    "exec: or -)",
			    scheme);
		goto done;
	}
	if (!*rest) {
		strbuf_addf(err, "%s: empty target", spec);
		goto done;
	}

	if (!strcmp(scheme, "profile")) {
		k = new_profile(spec, rest, ctx, err);
	} else if (!strcmp(scheme, "exec")) {
		k = new_exec(spec, rest, ctx, err);
	} else {
		if (expand(&expanded, rest, spec, ctx, err))
			goto done;
		if (!strcmp(scheme, "file"))
			k = sink_file_new(expanded.buf, ctx, make_target(scheme, expanded.buf),
					  err);
		else if (!strcmp(scheme, "secretsmanager"))
			k = sink_secretsmanager_new(expanded.buf, ctx,
						    make_target(scheme, expanded.buf), err);
		else
			k = sink_ssm_new(expanded.buf, ctx, make_target(scheme, expanded.buf), err);
	}
done:
	strbuf_release(&expanded);
	free(scheme);
	return k;
}

int sink_deliver(struct sink *k, const struct new_secret *s, struct strbuf *err)
{
	if (!s->access_key_id || !*s->access_key_id || !s->secret_access_key ||
	    !*s->secret_access_key) {
		strbuf_addf(err, "%s: nothing to deliver (no access key)", k->target);
		return -1;
	}
	return k->vt->deliver(k, s, err);
}

int sink_preflight(struct sink *k, char **held_key_id, struct strbuf *err)
{
	*held_key_id = NULL;
	if (!k->vt->preflight)
		return 0;
	return k->vt->preflight(k, held_key_id, err);
}

void sink_free(struct sink *k)
{
	if (!k)
		return;
	if (k->vt->release)
		k->vt->release(k);
	FREE_ALL(k->target, k->identity, k->arg);
	free(k);
}

void *sink_alloc(size_t size, const struct sink_vtable *vt, char *target, const char *arg)
{
	struct sink *k = xcalloc(1, size);

	k->vt = vt;
	k->target = target;
	k->arg = xstrdup_or_null(arg);
	return k;
}

struct grouped {
	const char *identity;
	size_t index;
};

static int by_identity(const void *a, const void *b)
{
	const struct grouped *x = a, *y = b;
	int c = strcmp(x->identity, y->identity);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

void sink_group_shared(struct sink *const *sinks, size_t n, size_t *group)
{
	struct grouped *order = xcalloc(n + 1, sizeof(*order));
	size_t m = 0, i;

	for (i = 0; i < n; i++) {
		group[i] = i;
		if (sinks[i] && sinks[i]->identity) {
			order[m].identity = sinks[i]->identity;
			order[m++].index = i;
		}
	}
	qsort(order, m, sizeof(*order), by_identity);
	/* sorted by identity, then index: each run's first is its smallest index */
	for (i = 1; i < m; i++)
		if (!strcmp(order[i].identity, order[i - 1].identity))
			group[order[i].index] = group[order[i - 1].index];
	free(order);
}

int sink_write_all(int fd, const char *data, size_t len, int at_start)
{
	off_t off = 0;

	while (len) {
		ssize_t n = at_start ? pwrite(fd, data, len, off) : write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

const char *sink_file_kind(mode_t mode)
{
	static const struct {
		mode_t type;
		const char *name;
	} kinds[] = {
		{ S_IFREG, "a regular file" },	{ S_IFDIR, "a directory" },
		{ S_IFLNK, "a symbolic link" }, { S_IFCHR, "a character device" },
		{ S_IFBLK, "a block device" },	{ S_IFIFO, "a FIFO" },
		{ S_IFSOCK, "a socket" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		if ((mode & S_IFMT) == kinds[i].type)
			return kinds[i].name;
	return "not a regular file";
}

char *sink_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xmemdupz(path, (size_t)(slash - path));
}

int sink_check_dir(const char *what, const char *dir, struct strbuf *err)
{
	struct stat st;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		strbuf_addf(err, "%s: directory '%s' does not exist", what, dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK)) {
		strbuf_addf(err, "%s: cannot create a file in '%s': %s", what, dir,
			    strerror(errno));
		return -1;
	}
	return 0;
}

int sink_open_dir(const char *what, const char *dir, struct strbuf *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			strbuf_addf(err, "%s: directory '%s' does not exist", what, dir);
		else
			strbuf_addf(err, "%s: cannot open directory '%s': %s", what, dir,
				    strerror(errno));
	}
	return fd;
}

char *sink_canonical_path(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char *dir = sink_dir_of(path), *real = realpath(dir, NULL);
	struct stat st;

	if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
		char *target = realpath(path, NULL);
		if (target) {
			free(dir);
			free(real);
			return target;
		}
	}
	if (real) {
		strbuf_addf(&sb, "%s%s%s", real, strcmp(real, "/") ? "/" : "", base);
	} else if (path[0] == '/') {
		strbuf_addstr(&sb, path);
	} else {
		char cwd[PATH_MAX];
		strbuf_addf(&sb, "%s/%s", getcwd(cwd, sizeof(cwd)) ? cwd : ".", path);
	}
	free(dir);
	free(real);
	return strbuf_detach(&sb, NULL);
}

char *sink_path_identity(const char *scheme, const char *path, const char *name)
{
	struct strbuf id = STRBUF_INIT;
	char *canon = sink_canonical_path(path);

	strbuf_addf(&id, "%s:%s", scheme, canon);
	if (name)
		strbuf_addf(&id, "\n%s", name);
	free(canon);
	return strbuf_detach(&id, NULL);
}
