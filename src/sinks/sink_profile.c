#include "core/compat.h"
#include "sinks/sink.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "core/awsconfig.h"
#include "core/profile_edit.h"
#include "core/strbuf.h"

#include <sys/file.h>
#include <openssl/crypto.h>

/*
 * profile:NAME[@FILE]: sets the keys of [NAME] in the shared credentials
 * file (core/profile_edit.c does the editing). Steps:
 *   1. FILE may be a symbolic link to a file in the same directory; one
 *      that leads out of it is refused unless follow_symlinks
 *      (--follow-symlinks): then the file it points to is edited and the
 *      link stays;
 *   2. lock the file's directory (flock, so concurrent iamkeys runs and
 *      threads take turns; no lock file is left behind). The directory
 *      must exist (as for file:);
 *   3. read FILE (missing: start empty; anything but a regular file is
 *      refused), noting its inode, size and mtime;
 *   4. back up the old content to FILE.iamkeys.bak (mode 0600, replaced on
 *      each edit: it holds the file as it was just before the last edit);
 *   5. write the new content to a temporary file with FILE's mode, owner
 *      and group (a new file: 0600), fsync; check that FILE is still what
 *      step 3 read (inode, size, mtime and content: a writer that does not
 *      take our lock, such as the AWS CLI, may have changed it) and rename
 *      over FILE, fsync the directory. FILE changed meanwhile: back to
 *      step 3, at most MAX_ATTEMPTS times, then fail with FILE as the other
 *      writer left it. A FILE with several hard links, or whose owner
 *      cannot be given to a new file (not root), is rewritten in place
 *      instead (same checks, then write, truncate and fsync): the links
 *      and the owner stay, and the backup of step 4 holds the old content
 *      should the rewrite be cut short;
 *   6. read FILE back and check the profile now has exactly the new key.
 * The preflight also refuses the profile the command's own credentials
 * come from (unless own_profile_ok: rotate --self).
 */

#define MAX_CREDENTIALS_FILE (16 * 1024 * 1024)
#define LOCK_WAIT_MS 10000
#define MAX_ATTEMPTS 3

struct profile_sink {
	struct sink base; /* base.arg: the profile's name */
	char *path;
	int follow_symlinks;
	int own_profile_ok;
	struct aws_client *client;
	void (*before_commit)(void *ctx, const char *path);
	void *before_commit_ctx;
};

/*
 * Reads fd into sb (which holds a secret: growing copies and wipes instead
 * of realloc). 0, or -1 with errno (EFBIG past the limit).
 */
static int read_secret_fd(int fd, struct strbuf *sb, size_t hint)
{
	strbuf_grow(sb, hint + 1);
	for (;;) {
		ssize_t n;
		if (sb->alloc - sb->len < 2) {
			struct strbuf bigger = STRBUF_INIT;
			if (sb->len >= MAX_CREDENTIALS_FILE) {
				errno = EFBIG;
				return -1;
			}
			strbuf_grow(&bigger, 2 * sb->alloc + 4096);
			strbuf_add(&bigger, sb->buf, sb->len);
			strbuf_release_secret(sb);
			*sb = bigger;
		}
		n = read(fd, sb->buf + sb->len, sb->alloc - sb->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!n)
			return 0;
		strbuf_setlen(sb, sb->len + (size_t)n);
	}
}

/*
 * 0 and the content and *st (or *exists = 0 and nothing), or -1 with err.
 * O_NONBLOCK: opening a FIFO put there must not hang.
 */
static int read_credentials(const char *what, const char *path, struct strbuf *text, int *exists,
			    struct stat *st, struct strbuf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	*exists = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		strbuf_addf(err, "%s: cannot open '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		strbuf_addf(err, "%s: '%s' is %s, not a regular file", what, path,
			    sink_file_kind(st->st_mode));
		close(fd);
		return -1;
	}
	if (st->st_size > MAX_CREDENTIALS_FILE) {
		strbuf_addf(err, "%s: '%s' is too large", what, path);
		close(fd);
		return -1;
	}
	if (read_secret_fd(fd, text, (size_t)st->st_size)) {
		strbuf_addf(err, "%s: cannot read '%s': %s", what, path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	*exists = 1;
	return 0;
}

/* Opens and locks the directory: the descriptor, or -1. */
static int lock_dir(const char *what, const char *dir, struct strbuf *err)
{
	int fd, waited = 0;

	fd = sink_open_dir(what, dir, err);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		if (errno != EWOULDBLOCK && errno != EINTR) {
			strbuf_addf(err, "%s: cannot lock directory '%s': %s", what, dir,
				    strerror(errno));
			close(fd);
			return -1;
		}
		if (waited >= LOCK_WAIT_MS) {
			strbuf_addf(err, "%s: directory '%s' stayed locked by another process",
				    what, dir);
			close(fd);
			return -1;
		}
		nanosleep(&ts, NULL);
		waited += 50;
	}
	return fd;
}

/*
 * The file actually edited: path, or what the symbolic link path points
 * to when that is in the link's own directory (or follow is set). NULL
 * with err.
 */
static char *resolve_path(const char *what, const char *path, int follow, struct strbuf *err)
{
	struct stat st;
	char *real, *link_dir, *real_dir, *target_dir;
	int outside;

	if (lstat(path, &st) || !S_ISLNK(st.st_mode))
		return xstrdup(path);
	real = realpath(path, NULL);
	if (!real) {
		strbuf_addf(err, "%s: cannot follow the symbolic link '%s': %s", what, path,
			    strerror(errno));
		return NULL;
	}
	if (follow)
		return real;
	link_dir = sink_dir_of(path);
	real_dir = realpath(link_dir, NULL);
	target_dir = sink_dir_of(real);
	outside = !real_dir || strcmp(real_dir, target_dir);
	free(link_dir);
	free(real_dir);
	free(target_dir);
	if (outside) {
		strbuf_addf(err,
			    "%s: '%s' is a symbolic link to '%s', outside its directory (use "
			    "--follow-symlinks to edit that file)",
			    what, path, real);
		free(real);
		return NULL;
	}
	return real;
}

/* Reads the file back: does [name] hold exactly the new key? */
static int verify(const char *what, const char *path, const char *name, const struct new_secret *s,
		  struct strbuf *err)
{
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf text = STRBUF_INIT;
	const struct aws_profile *p;
	const char *id, *secret;
	struct stat st;
	int exists, ret = -1;

	if (read_credentials(what, path, &text, &exists, &st, err))
		goto done;
	if (!exists ||
	    aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, text.buf, text.len, path, NULL)) {
		strbuf_addf(err, "%s: '%s' does not parse after the edit", what, path);
		goto done;
	}
	p = aws_profile_find(&set, name);
	id = aws_profile_get(p, "aws_access_key_id");
	secret = aws_profile_get(p, "aws_secret_access_key");
	if (!id || strcmp(id, s->access_key_id) || !secret ||
	    strcmp(secret, s->secret_access_key) || aws_profile_get(p, "aws_session_token") ||
	    aws_profile_get(p, "aws_security_token")) {
		strbuf_addf(err, "%s: '%s' does not hold the new key after the edit", what, path);
		goto done;
	}
	ret = 0;
done:
	aws_profile_set_release(&set);
	strbuf_release_secret(&text);
	return ret;
}

/* What was read (step 3), for the check before the commit (step 5). */
struct as_read {
	struct profile_sink *ps;
	const char *path;
	const struct strbuf *text;
	int exists;
	struct stat st;
};

/* Is fd (NULL: -1, the file is gone) still the file that r read? */
static int still_as_read(const struct as_read *r, int fd)
{
	struct strbuf now = STRBUF_INIT;
	struct stat st;
	int same;

	if (fd < 0)
		return !r->exists && errno == ENOENT;
	if (!r->exists || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_dev != r->st.st_dev ||
	    st.st_ino != r->st.st_ino || st.st_size != r->st.st_size ||
	    st.st_mtim.tv_sec != r->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != r->st.st_mtim.tv_nsec)
		return 0;
	/* mtime may not have moved (coarse clocks): the content decides */
	same = lseek(fd, 0, SEEK_SET) == 0 && !read_secret_fd(fd, &now, r->text->len) &&
	       now.len == r->text->len && !memcmp(now.buf, r->text->buf, now.len);
	strbuf_release_secret(&now);
	return same;
}

/* sink_write_file_with's before_rename: 0 when the file is as read, else 1 (retry). */
static int unchanged_before_rename(void *ctx, int dfd, const char *base)
{
	const struct as_read *r = ctx;
	int fd, same;

	if (r->ps->before_commit)
		r->ps->before_commit(r->ps->before_commit_ctx, r->path);
	fd = openat(dfd, base, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	same = still_as_read(r, fd);
	if (fd >= 0)
		close(fd);
	return same ? 0 : 1;
}

/*
 * Step 5 for a file with hard links or an owner we cannot give: the same
 * inode rewritten. 0, 1 (changed since read: retry), or -1 with err.
 */
static int rewrite_in_place(const struct as_read *r, const struct strbuf *edited,
			    struct strbuf *err)
{
	const char *what = r->ps->base.target;
	int fd, ret = -1;

	if (r->ps->before_commit)
		r->ps->before_commit(r->ps->before_commit_ctx, r->path);
	fd = open(r->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		strbuf_addf(err, "%s: cannot open '%s' for writing: %s", what, r->path,
			    strerror(errno));
		return -1;
	}
	if (!still_as_read(r, fd)) {
		close(fd);
		return 1;
	}
	if (sink_write_all(fd, edited->buf, edited->len, 1) || ftruncate(fd, (off_t)edited->len) ||
	    fsync(fd))
		strbuf_addf(err,
			    "%s: cannot rewrite '%s': %s (its old content is in %s.iamkeys.bak)",
			    what, r->path, strerror(errno), r->path);
	else
		ret = 0;
	if (close(fd) && !ret) {
		strbuf_addf(err,
			    "%s: cannot rewrite '%s': %s (its old content is in %s.iamkeys.bak)",
			    what, r->path, strerror(errno), r->path);
		ret = -1;
	}
	return ret;
}

/* Steps 3 to 5 once: 0 written, 1 the file changed meanwhile, -1 error. */
static int edit_once(struct profile_sink *ps, const char *path, const struct new_secret *s,
		     struct strbuf *err)
{
	const char *what = ps->base.target;
	struct strbuf old = STRBUF_INIT, edited = STRBUF_INIT, why = STRBUF_INIT;
	struct strbuf backup = STRBUF_INIT;
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct sink_write_options o;
	struct as_read r;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	r.ps = ps;
	r.path = path;
	r.text = &old;
	if (read_credentials(what, path, &old, &r.exists, &r.st, err))
		goto done;
	/* the real file name in parse errors */
	if (aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, old.buf, old.len, path, &why)) {
		strbuf_addf(err, "%s: cannot edit %s", what, why.buf);
		goto done;
	}
	if (profile_edit_set_keys(old.buf, old.len, ps->base.arg, s->access_key_id,
				  s->secret_access_key, &edited, &why)) {
		strbuf_addf(err, "%s: %s", what, why.buf);
		goto done;
	}
	if (r.exists) {
		strbuf_addf(&backup, "%s.iamkeys.bak", path);
		if (sink_write_file(backup.buf, old.buf, old.len, 1, what, err))
			goto done;
	}
	if (r.exists && r.st.st_nlink > 1) {
		ret = rewrite_in_place(&r, &edited, err);
		goto done;
	}
	memset(&o, 0, sizeof(o));
	o.overwrite = r.exists;
	o.mode = r.exists ? (r.st.st_mode & 07777) : 0600;
	o.set_owner = r.exists && (r.st.st_uid != geteuid() || r.st.st_gid != getegid());
	o.uid = r.st.st_uid;
	o.gid = r.st.st_gid;
	o.before_rename = unchanged_before_rename;
	o.ctx = &r;
	{
		size_t err_len = err->len;
		ret = sink_write_file_with(path, edited.buf, edited.len, &o, what, err);
		if (ret < 0 && o.set_owner && errno == EPERM) {
			/* not root: the owner stays only if the file itself is rewritten */
			strbuf_setlen(err, err_len);
			ret = rewrite_in_place(&r, &edited, err);
		}
	}
done:
	aws_profile_set_release(&set);
	strbuf_release_secret(&old);
	strbuf_release_secret(&edited);
	strbuf_release(&why);
	strbuf_release(&backup);
	return ret;
}

static int profile_deliver(struct sink *k, const struct new_secret *s, struct strbuf *err)
{
	struct profile_sink *ps = (struct profile_sink *)k;
	char *path, *dir = NULL;
	int lock_fd = -1, ret = -1, attempt, r = 1;

	path = resolve_path(k->target, ps->path, ps->follow_symlinks, err);
	if (!path)
		return -1;
	dir = sink_dir_of(path);
	lock_fd = lock_dir(k->target, dir, err);
	if (lock_fd < 0)
		goto done;
	for (attempt = 0; attempt < MAX_ATTEMPTS && r > 0; attempt++)
		r = edit_once(ps, path, s, err);
	if (r > 0) {
		strbuf_addf(err,
			    "%s: '%s' was changed by another program while being edited (%d "
			    "times): left as that program wrote it",
			    k->target, path, MAX_ATTEMPTS);
		goto done;
	}
	if (r < 0 || verify(k->target, path, ps->base.arg, s, err))
		goto done;
	ret = 0;
done:
	if (lock_fd >= 0)
		close(lock_fd); /* releases the lock */
	free(path);
	free(dir);
	return ret;
}

/* Is [name] of path what this command's own credentials come from? */
static int is_own_profile(const struct profile_sink *ps, const char *path)
{
	char *file = NULL, **profiles = NULL;
	struct stat a, b;
	int own = 0;
	size_t i;

	if (!ps->client || !ps->client->creds ||
	    cred_provider_profile_origin(ps->client->creds, &file, &profiles))
		return 0;
	for (i = 0; profiles[i]; i++)
		if (!strcmp(profiles[i], ps->base.arg))
			own = 1;
	if (own) {
		char *x = sink_canonical_path(file), *y = sink_canonical_path(path);
		own = !strcmp(x, y) || (!stat(file, &a) && !stat(path, &b) &&
					a.st_dev == b.st_dev && a.st_ino == b.st_ino);
		free(x);
		free(y);
	}
	for (i = 0; profiles[i]; i++)
		free(profiles[i]);
	free(profiles);
	free(file);
	return own;
}

/*
 * Before the key exists: everything delivery would refuse (a link out of
 * the directory, a missing or unwritable directory, not a regular file, a
 * file that does not parse, the command's own profile); the profile's
 * current aws_access_key_id is reported. A missing file is fine (delivery
 * creates it).
 */
static int profile_preflight(struct sink *k, char **held_key_id, struct strbuf *err)
{
	struct profile_sink *ps = (struct profile_sink *)k;
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf text = STRBUF_INIT, why = STRBUF_INIT;
	const struct aws_profile *p;
	struct stat st;
	int exists, ret = 1;
	char *path, *dir = NULL;

	path = resolve_path(k->target, ps->path, ps->follow_symlinks, err);
	if (!path)
		return 1;
	dir = sink_dir_of(path);
	if (sink_check_dir(k->target, dir, err))
		goto done;
	if (read_credentials(k->target, path, &text, &exists, &st, err))
		goto done;
	if (exists &&
	    aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, text.buf, text.len, path, &why)) {
		strbuf_addf(err, "%s: cannot edit %s", k->target, why.buf);
		goto done;
	}
	if (!ps->own_profile_ok && is_own_profile(ps, path)) {
		strbuf_addf(err,
			    "%s: profile '%s' of '%s' holds the credentials this command runs with "
			    "(use rotate --self for those)",
			    k->target, ps->base.arg, path);
		goto done;
	}
	p = exists ? aws_profile_find(&set, ps->base.arg) : NULL;
	if (p && aws_profile_get(p, "aws_access_key_id") &&
	    *aws_profile_get(p, "aws_access_key_id"))
		*held_key_id = xstrdup(aws_profile_get(p, "aws_access_key_id"));
	ret = 0;
done:
	aws_profile_set_release(&set);
	strbuf_release_secret(&text);
	strbuf_release(&why);
	free(path);
	free(dir);
	return ret;
}

static void profile_release(struct sink *k)
{
	free(((struct profile_sink *)k)->path);
}

static const struct sink_vtable profile_vtable = {
	.scheme = "profile",
	.deliver = profile_deliver,
	.release = profile_release,
	.preflight = profile_preflight,
};

static const char *getenv_adapter(void *ctx, const char *name)
{
	return getenv(name);
}

struct sink *sink_profile_new(const char *name, const char *file, const struct sink_context *ctx,
			      char *target, struct strbuf *err)
{
	struct profile_sink *ps;
	char *path = NULL;

	if (!profile_name_is_valid(name)) {
		strbuf_addf(err, "%s: invalid profile name '%s'", target, name);
		free(target);
		return NULL;
	}
	if (file && (file[0] != '~' || (file[1] && file[1] != '/'))) {
		path = xstrdup(file);
	} else {
		/* "~", "~/x", or the default location: both need $HOME */
		struct aws_file_locations loc;
		struct strbuf why = STRBUF_INIT;
		const char *home = getenv("HOME");

		if (file) {
			struct strbuf sb = STRBUF_INIT;
			if (!home || !*home) {
				strbuf_addf(err, "%s: cannot expand '~' (HOME is not set)", target);
				free(target);
				return NULL;
			}
			strbuf_addf(&sb, "%s%s", home, file + 1);
			path = strbuf_detach(&sb, NULL);
		} else if (aws_file_locations_resolve(&loc, getenv_adapter, NULL, "linux", NULL,
						      NULL, &why)) {
			strbuf_addf(err, "%s: %s", target, why.buf);
			strbuf_release(&why);
			free(target);
			return NULL;
		} else {
			path = loc.credentials_file;
			loc.credentials_file = NULL;
			aws_file_locations_release(&loc);
		}
	}
	if (!*path || path[strlen(path) - 1] == '/') {
		strbuf_addf(err, "%s: '%s' is not a file name", target, path);
		free(path);
		free(target);
		return NULL;
	}
	ps = sink_alloc(sizeof(*ps), &profile_vtable, target, name);
	ps->path = path;
	ps->follow_symlinks = ctx->follow_symlinks;
	ps->own_profile_ok = ctx->own_profile_ok;
	ps->client = ctx->client;
	ps->before_commit = ctx->before_commit;
	ps->before_commit_ctx = ctx->before_commit_ctx;
	ps->base.identity = sink_path_identity("profile", path, name);
	return &ps->base;
}
