/* Whole files with a limit (see readfile.h). */
#include "core/compat.h"
#include "aws/readfile.h"

#include <sys/stat.h>

static int fail(const char *path, const char *what, const char *why, struct strbuf *err)
{
	if (what)
		strbuf_addf(err, "cannot read the %s '%s': %s", what, path, why);
	else
		strbuf_addf(err, "cannot read '%s': %s", path, why);
	return -1;
}

int read_file(const char *path, size_t max, const char *what, struct strbuf *out,
	      struct strbuf *err)
{
	struct stat st;
	size_t len = out->len, start = out->len;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		return fail(path, what, strerror(errno), err);
	}
	if (fstat(fd, &st) < 0) {
		fail(path, what, strerror(errno), err);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fail(path, what, "is a directory", err);
		goto out;
	}
	strbuf_grow(out, max + 1);
	for (;;) {
		ssize_t n = read(fd, out->buf + len, start + max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(path, what, strerror(errno), err);
			goto out;
		}
		if (!n)
			break;
		len += (size_t)n;
		if (len - start > max) {
			struct strbuf why = STRBUF_INIT;
			strbuf_addf(&why, "larger than %zu bytes", max);
			fail(path, what, why.buf, err);
			strbuf_release(&why);
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	strbuf_setlen(out, len);
	return rc;
}

int read_file_or_error(const char *path, size_t max, const char *what, struct strbuf *out,
		       struct strbuf *err)
{
	int rc = read_file(path, max, what, out, err);

	if (rc > 0)
		rc = fail(path, what, strerror(ENOENT), err);
	return rc;
}
