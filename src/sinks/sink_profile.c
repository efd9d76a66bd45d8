#include "core/compat.h"
#include "sinks/sink.h"
#include "core/awsconfig.h"
#include "core/profile_edit.h"
#include "core/strbuf.h"

#include <sys/file.h>
#include <openssl/crypto.h>

/*
 * profile:NAME[@FILE]: sets the keys of [NAME] in the shared credentials
 * file (core/profile_edit.c does the editing). Steps:
 *   1. lock the file's directory (flock, so concurrent iamkeys runs and
 *      threads take turns; no lock file is left behind);
 *   2. read FILE (missing: start empty; a missing parent directory is
 *      created 0700, as ~/.aws would be); a symbolic link is followed, so
 *      the file it points to is edited and the link stays;
 *   3. back up the old content to FILE.iamkeys.bak (mode 0600, replaced on
 *      each edit: it holds the file as it was just before the last edit);
 *   4. write the new content to a temporary file, fsync, rename over FILE
 *      (mode 0600), fsync the directory;
 *   5. read FILE back and check the profile now has exactly the new key.
 */

#define MAX_CREDENTIALS_FILE (16 * 1024 * 1024)
#define LOCK_WAIT_MS 10000

struct profile_sink {
	struct sink base;
	char *name;
	char *path;
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

/* 0 and the content (or *exists = 0 and nothing), or -1 with err. */
static int read_credentials(const char *what, const char *path, struct strbuf *text, int *exists,
			    struct strbuf *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*exists = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		strbuf_addf(err, "%s: cannot open '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		strbuf_addf(err, "%s: '%s' is not a regular file", what, path);
		close(fd);
		return -1;
	}
	if (st.st_size > MAX_CREDENTIALS_FILE) {
		strbuf_addf(err, "%s: '%s' is too large", what, path);
		close(fd);
		return -1;
	}
	if (read_secret_fd(fd, text, (size_t)st.st_size)) {
		strbuf_addf(err, "%s: cannot read '%s': %s", what, path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	*exists = 1;
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xmemdupz(path, (size_t)(slash - path));
}

/* Opens (creating it 0700 if missing) and locks the directory: the descriptor, or -1. */
static int lock_dir(const char *what, const char *dir, struct strbuf *err)
{
	int fd, waited = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (mkdir(dir, 0700) && errno != EEXIST) {
			strbuf_addf(err, "%s: cannot create directory '%s': %s", what, dir,
				    strerror(errno));
			return -1;
		}
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0) {
		strbuf_addf(err, "%s: cannot open directory '%s': %s", what, dir, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		struct timespec ts = {0, 50 * 1000 * 1000};
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

/* The file actually edited: path, or what the symbolic link path points to. */
static char *resolve_path(const char *what, const char *path, struct strbuf *err)
{
	struct stat st;
	char *real;

	if (lstat(path, &st) || !S_ISLNK(st.st_mode))
		return xstrdup(path);
	real = realpath(path, NULL);
	if (!real) {
		strbuf_addf(err, "%s: cannot follow the symbolic link '%s': %s", what, path,
			    strerror(errno));
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
	int exists, ret = -1;

	if (read_credentials(what, path, &text, &exists, err))
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

static int profile_deliver(struct sink *k, const struct new_secret *s, struct strbuf *err)
{
	struct profile_sink *ps = (struct profile_sink *)k;
	struct strbuf old = STRBUF_INIT, edited = STRBUF_INIT, why = STRBUF_INIT;
	struct strbuf backup = STRBUF_INIT;
	char *path, *dir = NULL;
	int lock_fd = -1, exists, ret = -1;

	path = resolve_path(k->target, ps->path, err);
	if (!path)
		return -1;
	dir = dir_of(path);
	lock_fd = lock_dir(k->target, dir, err);
	if (lock_fd < 0)
		goto done;
	if (read_credentials(k->target, path, &old, &exists, err))
		goto done;
	/* the real file name in parse errors */
	{
		struct aws_profile_set set = AWS_PROFILE_SET_INIT;
		int r =
		    aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, old.buf, old.len, path, &why);
		aws_profile_set_release(&set);
		if (r) {
			strbuf_addf(err, "%s: cannot edit %s", k->target, why.buf);
			goto done;
		}
	}
	if (profile_edit_set_keys(old.buf, old.len, ps->name, s->access_key_id,
				  s->secret_access_key, &edited, &why)) {
		strbuf_addf(err, "%s: %s", k->target, why.buf);
		goto done;
	}
	if (exists) {
		strbuf_addf(&backup, "%s.iamkeys.bak", path);
		if (sink_write_file(backup.buf, old.buf, old.len, 1, k->target, err))
			goto done;
	}
	if (sink_write_file(path, edited.buf, edited.len, 1, k->target, err))
		goto done;
	if (verify(k->target, path, ps->name, s, err))
		goto done;
	ret = 0;
done:
	if (lock_fd >= 0)
		close(lock_fd); /* releases the lock */
	strbuf_release_secret(&old);
	strbuf_release_secret(&edited);
	strbuf_release(&why);
	strbuf_release(&backup);
	free(path);
	free(dir);
	return ret;
}

/*
 * Before the key exists: the file must parse (else the edit would fail);
 * the profile's current aws_access_key_id is reported. A missing file is
 * fine (delivery creates it).
 */
static int profile_preflight(struct sink *k, char **held_key_id, struct strbuf *err)
{
	struct profile_sink *ps = (struct profile_sink *)k;
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf text = STRBUF_INIT, why = STRBUF_INIT;
	const struct aws_profile *p;
	int exists, ret = 1;
	char *path;

	path = resolve_path(k->target, ps->path, err);
	if (!path)
		return 1;
	if (read_credentials(k->target, path, &text, &exists, err))
		goto done;
	if (exists &&
	    aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, text.buf, text.len, path, &why)) {
		strbuf_addf(err, "%s: cannot edit %s", k->target, why.buf);
		goto done;
	}
	p = exists ? aws_profile_find(&set, ps->name) : NULL;
	if (p && aws_profile_get(p, "aws_access_key_id") && *aws_profile_get(p, "aws_access_key_id"))
		*held_key_id = xstrdup(aws_profile_get(p, "aws_access_key_id"));
	ret = 0;
done:
	aws_profile_set_release(&set);
	strbuf_release_secret(&text);
	strbuf_release(&why);
	free(path);
	return ret;
}

static void profile_destroy(struct sink *k)
{
	struct profile_sink *ps = (struct profile_sink *)k;
	free(ps->name);
	free(ps->path);
	free(k->target);
	free(ps);
}

static const struct sink_vtable profile_vtable = {
    .scheme = "profile",
    .deliver = profile_deliver,
    .destroy = profile_destroy,
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
	ps = xcalloc(1, sizeof(*ps));
	ps->base.vt = &profile_vtable;
	ps->base.target = target;
	ps->name = xstrdup(name);
	ps->path = path;
	return &ps->base;
}
