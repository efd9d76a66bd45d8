#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

static void add_sections(struct strbuf *text, json_t *sections, const char *kind)
{
	const char *name, *key;
	json_t *props, *value;

	json_object_foreach(sections, name, props)
	{
		strbuf_addf(text, "[%s %s]\n", kind, name);
		json_object_foreach(props, key, value)
			strbuf_addf(text, "%s = %s\n", key, json_string_value(value));
	}
}

void test_vector_config(struct strbuf *text, json_t *input)
{
	add_sections(text, json_object_get(input, "profiles"), "profile");
	add_sections(text, json_object_get(input, "sso_sessions"), "sso-session");
}

void test_env_set(struct test_env *e, const char *name, const char *value)
{
	struct strbuf sb = STRBUF_INIT;

	if (e->n + 1 >= sizeof(e->vars) / sizeof(e->vars[0])) {
		fprintf(stderr, "test_env_set: more than %zu variables\n", e->n);
		abort();
	}
	strbuf_addf(&sb, "%s=%s", name, value);
	e->vars[e->n++] = strbuf_detach(&sb, NULL);
	e->vars[e->n] = NULL;
}

const char *test_env_get(void *ctx, const char *name)
{
	return test_envp_get(((struct test_env *)ctx)->vars, name);
}

void test_env_release(struct test_env *e)
{
	while (e->n)
		free(e->vars[--e->n]);
	e->vars[0] = NULL;
}
