#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "testdata.h"

const char *test_data_dir(void)
{
	static char dir[4096];
	const char *src = getenv("IAMKEYS_SRCDIR");

	if (!dir[0])
		snprintf(dir, sizeof(dir), "%s/tests/data", src && *src ? src : ".");
	return dir;
}

char *test_data_path(const char *rel)
{
	struct strbuf sb = STRBUF_INIT;
	char *abs;

	strbuf_addf(&sb, "%s/aws-config/%s", test_data_dir(), rel);
	abs = realpath(sb.buf, NULL);
	if (!abs)
		return strbuf_detach(&sb, NULL);
	strbuf_release(&sb);
	return abs;
}

const char *test_envp_get(void *ctx, const char *name)
{
	const char *const *e = ctx;
	size_t n = strlen(name);

	for (; *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

int test_read_stream(FILE *f, struct strbuf *out)
{
	char buf[8192];
	size_t n;

	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(out, buf, n);
	return ferror(f) ? -1 : 0;
}

int test_read_file(const char *path, struct strbuf *out)
{
	FILE *f = fopen(path, "rb");
	int ret;

	if (!f)
		return -1;
	ret = test_read_stream(f, out);
	fclose(f);
	return ret;
}
