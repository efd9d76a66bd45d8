#ifndef IAMKEYS_TESTDATA_H
#define IAMKEYS_TESTDATA_H
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
#endif
