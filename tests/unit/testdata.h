#ifndef IAMKEYS_TESTDATA_H
#define IAMKEYS_TESTDATA_H
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
/* Appends the rest of f to out: 0, or -1 on a read error. */
struct strbuf;
int test_read_stream(FILE *f, struct strbuf *out);
/* Appends the whole file at path to out: 0, or -1 (errno says why) when it cannot be
 * opened or read. */
int test_read_file(const char *path, struct strbuf *out);
#endif
