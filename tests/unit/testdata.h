#ifndef IAMKEYS_TESTDATA_H
#define IAMKEYS_TESTDATA_H
/*
 * Where the unit tests find the test vectors copied into the repository
 * (tests/data/, see its README.md): $IAMKEYS_SRCDIR/tests/data when the
 * runner sets it, else tests/data relative to the working directory (the
 * runner's is the repository's top). Nothing outside the tree is read.
 */
const char *test_data_dir(void);
#endif
