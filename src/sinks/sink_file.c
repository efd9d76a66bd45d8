#include "core/compat.h"
#include "sinks/sink.h"
#include "core/strbuf.h"

#include <openssl/rand.h>

/*
 * file:PATH, and the atomic write that the profile sink uses too. All the
 * work happens relative to a descriptor of the directory (openat, linkat,
 * renameat), so a directory renamed meanwhile cannot redirect the file.
 */

struct file_sink {
	struct sink base; /* base.arg: the file's path */
	int overwrite;
};

/* "dir" and "base" of path: "/a/b" → "/a", "b"; "b" → ".", "b"; "/b" → "/", "b". */
static void split_path(const char *path, char **dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		*dir = xstrdup(".");
		*base = path;
	} else if (slash == path) {
		*dir = xstrdup("/");
		*base = slash + 1;
	} else {
		*dir = xmemdupz(path, (size_t)(slash - path));
		*base = slash + 1;
	}
}

/* Creates a new temporary file next to base in dfd: its name in *tmp, the descriptor or -1. */
static int create_temp(int dfd, const char *base, struct strbuf *tmp)
{
	int tries;

	for (tries = 0; tries < 16; tries++) {
		unsigned char rnd[6];
		int fd;

		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			errno = EIO;
			return -1;
		}
		strbuf_reset(tmp);
		strbuf_addf(tmp, ".%s.tmp-", base);
		strbuf_addhex(tmp, rnd, sizeof(rnd));
		fd = openat(dfd, tmp->buf, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
			    0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int sink_write_file(const char *path, const char *data, size_t len, int overwrite, const char *what,
		    struct strbuf *err)
{
	struct sink_write_options o;

	memset(&o, 0, sizeof(o));
	o.overwrite = overwrite;
	return sink_write_file_with(path, data, len, &o, what, err);
}

int sink_write_file_with(const char *path, const char *data, size_t len,
			 const struct sink_write_options *o, const char *what, struct strbuf *err)
{
	struct strbuf tmp = STRBUF_INIT;
	const char *base;
	struct stat st;
	char *dir;
	int dfd, fd = -1, ret = -1, have_tmp = 0, saved_errno = 0;

	split_path(path, &dir, &base);
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		strbuf_addf(err, "%s: '%s' is not a file name", what, path);
		free(dir);
		return -1;
	}
	dfd = sink_open_dir(what, dir, err);
	if (dfd < 0) {
		free(dir);
		return -1;
	}

	fd = create_temp(dfd, base, &tmp);
	if (fd < 0) {
		strbuf_addf(err, "%s: cannot create a file in '%s': %s", what, dir,
			    strerror(errno));
		goto done;
	}
	have_tmp = 1;
	if (o->set_owner && fchown(fd, o->uid, o->gid)) {
		saved_errno = errno;
		strbuf_addf(err, "%s: cannot give '%s/%s' the owner of '%s': %s", what, dir,
			    tmp.buf, path, strerror(errno));
		goto done;
	}
	/* the mode whatever the umask (it could have taken more than 077 away) */
	if (fchmod(fd, o->mode ? o->mode : 0600) || sink_write_all(fd, data, len, 0) || fsync(fd)) {
		strbuf_addf(err, "%s: cannot write '%s/%s': %s", what, dir, tmp.buf,
			    strerror(errno));
		goto done;
	}
	if (close(fd)) {
		fd = -1;
		strbuf_addf(err, "%s: cannot write '%s/%s': %s", what, dir, tmp.buf,
			    strerror(errno));
		goto done;
	}
	fd = -1;

	/* only a regular file is replaced: not a link, a device, a FIFO, a socket */
	if (o->overwrite && !fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) && !S_ISREG(st.st_mode)) {
		strbuf_addf(err, "%s: '%s' is %s, not a regular file", what, path,
			    sink_file_kind(st.st_mode));
		goto done;
	}
	if (o->before_rename) {
		int r = o->before_rename(o->ctx, dfd, base);
		if (r) {
			ret = r;
			goto done;
		}
	}
	if (o->overwrite) {
		if (renameat(dfd, tmp.buf, dfd, base)) {
			strbuf_addf(err, "%s: cannot rename to '%s': %s", what, path,
				    strerror(errno));
			goto done;
		}
		have_tmp = 0;
	} else {
		/* link() fails atomically when the name exists */
		int r = linkat(dfd, tmp.buf, dfd, base, 0);
		if (r && errno != EEXIST) {
			/* a file system without hard links */
			r = renameat2(dfd, tmp.buf, dfd, base, RENAME_NOREPLACE);
			if (!r)
				have_tmp = 0;
		}
		if (r) {
			if (errno == EEXIST)
				strbuf_addf(err,
					    "%s: already exists (use --overwrite to replace it)",
					    what);
			else
				strbuf_addf(err, "%s: cannot create '%s': %s", what, path,
					    strerror(errno));
			goto done;
		}
	}
	if (fsync(dfd) && errno != EINVAL) {
		strbuf_addf(err, "%s: cannot sync directory '%s': %s", what, dir, strerror(errno));
		goto done;
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlinkat(dfd, tmp.buf, 0); /* after link(), or on failure; gone after a rename */
	close(dfd);
	strbuf_release(&tmp);
	free(dir);
	if (saved_errno)
		errno = saved_errno;
	return ret;
}

static int file_deliver(struct sink *k, const struct new_secret *s, struct strbuf *err)
{
	struct file_sink *f = (struct file_sink *)k;
	struct strbuf json = STRBUF_INIT;
	int ret;

	new_secret_json(&json, s);
	strbuf_addch(&json, '\n');
	ret = sink_write_file(f->base.arg, json.buf, json.len, f->overwrite, k->target, err);
	strbuf_release_secret(&json);
	return ret;
}

/* The AccessKeyId in the first 64 KiB of a regular file, or NULL. */
static char *held_key_in(const char *path)
{
	struct strbuf text = STRBUF_INIT;
	char *id = NULL;
	/* O_NONBLOCK: a FIFO put there meanwhile does not hang us */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	strbuf_grow(&text, 65536); /* never grows again: no stray copy of the secret */
	for (;;) {
		ssize_t n = read(fd, text.buf + text.len, text.alloc - text.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		strbuf_setlen(&text, text.len + (size_t)n);
		if (text.alloc - text.len < 2)
			break;
	}
	close(fd);
	id = new_secret_json_key_id(text.buf, text.len);
	strbuf_release_secret(&text);
	return id;
}

/*
 * Before the key exists: the directory must exist and be writable; an
 * existing file is refused unless --overwrite (as delivery would), and
 * anything but a regular file always (a link, device, FIFO or socket). The
 * key id an existing file holds is reported either way.
 */
static int file_preflight(struct sink *k, char **held_key_id, struct strbuf *err)
{
	struct file_sink *f = (struct file_sink *)k;
	const char *base;
	struct stat st;
	char *dir;
	int ret = 1;

	split_path(f->base.arg, &dir, &base);
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		strbuf_addf(err, "%s: '%s' is not a file name", k->target, f->base.arg);
	} else if (sink_check_dir(k->target, dir, err)) {
		/* why in err */
	} else if (lstat(f->base.arg, &st)) {
		if (errno == ENOENT)
			ret = 0;
		else
			strbuf_addf(err, "%s: cannot check '%s': %s", k->target, f->base.arg,
				    strerror(errno));
	} else {
		if (S_ISREG(st.st_mode))
			*held_key_id = held_key_in(f->base.arg);
		if (!S_ISREG(st.st_mode))
			strbuf_addf(err, "%s: '%s' is %s, not a regular file", k->target,
				    f->base.arg, sink_file_kind(st.st_mode));
		else if (!f->overwrite)
			strbuf_addf(err, "%s: already exists (use --overwrite to replace it)",
				    k->target);
		else
			ret = 0;
	}
	free(dir);
	return ret;
}

static const struct sink_vtable file_vtable = {
	.scheme = "file",
	.deliver = file_deliver,
	.preflight = file_preflight,
};

struct sink *sink_file_new(const char *path, const struct sink_context *ctx, char *target,
			   struct strbuf *err)
{
	struct file_sink *f;
	size_t len = strlen(path);

	if (!len || path[len - 1] == '/') {
		strbuf_addf(err, "%s: not a file name", target);
		free(target);
		return NULL;
	}
	f = sink_alloc(sizeof(*f), &file_vtable, target, path);
	f->overwrite = ctx->overwrite;
	f->base.identity = sink_path_identity("file", path, NULL);
	return &f->base;
}
