#ifndef IAMKEYS_TESTDATA_H
#define IAMKEYS_TESTDATA_H
#include <stddef.h>
#include <stdio.h>
/*
 * Where the unit tests find the test vectors copied into the repository
 * (tests/data/, see its README.md): $IAMKEYS_SRCDIR/tests/data when the
 * runner sets it, else tests/data relative to the working directory (the
 * runner's is the repository's top). Nothing outside the tree is read.
 */
const char *test_data_dir(void);
/* test_data_dir()/aws-config/REL, resolved with realpath when it exists
 * (the caller frees it). */
char *test_data_path(const char *rel);
/* getenv over a NULL-terminated array of "NAME=value" strings (ctx). */
const char *test_envp_get(void *ctx, const char *name);
/* A fake environment: vars is a NULL-terminated array of "NAME=value" strings, owned;
 * it starts zeroed ({ { 0 }, 0 }) and empty. */
struct test_env {
	char *vars[16];
	size_t n;
};
void test_env_set(struct test_env *e, const char *name, const char *value);
/* getenv over a struct test_env (ctx). */
const char *test_env_get(void *ctx, const char *name);
void test_env_release(struct test_env *e);
/* Appends the rest of f to out: 0, or -1 on a read error. */
struct strbuf;
int test_read_stream(FILE *f, struct strbuf *out);
/* Appends the whole file at path to out: 0, or -1 (errno says why) when it cannot be
 * opened or read. */
int test_read_file(const char *path, struct strbuf *out);
/* The config file of a botocore profile-chain test vector: its input's "profiles" and
 * "sso_sessions" (objects of objects of strings), appended to text. */
struct json_t;
void test_vector_config(struct strbuf *text, struct json_t *input);
#endif
