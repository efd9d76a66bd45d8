#ifndef IAMKEYS_SHARD_H
#define IAMKEYS_SHARD_H
/*
 * Account ids and shards, pure (no I/O).
 *
 * --shard I/N keeps the accounts whose stable hash lands in shard I:
 *   shard_of(id, N) = FNV-1a 64 (the 12 ASCII digits of the id) mod N.
 * The hash depends on nothing but the id (not on the order, the number of
 * accounts or the machine), so N machines running shards 0..N-1 of the
 * same selection cover it exactly once. Documented in docs/scale.md.
 */
#include <stddef.h>
#include <stdint.h>
#include "core/strbuf.h"

#define ACCOUNT_ID_LEN 12

/* FNV-1a, 64 bits (offset basis 0xcbf29ce484222325, prime 0x100000001b3). */
uint64_t fnv1a64(const void *data, size_t len);

struct shard {
	unsigned index; /* 0 <= index < count */
	unsigned count; /* 0 = no sharding: every account */
};
#define SHARD_MAX 100000

/* "I/N" with 0 <= I < N <= SHARD_MAX, decimal digits only. 0 / -1 with a usage message. */
int shard_parse(const char *s, struct shard *out, struct strbuf *err);
/* The shard (0..n-1) of an account id; n >= 1. */
unsigned shard_of(const char *account_id, unsigned n);
/* Does the shard keep this account? Always 1 when count is 0. */
int shard_keeps(const struct shard *s, const char *account_id);

/* Exactly 12 decimal digits. */
int account_id_valid(const char *s, size_t len);

/* A set of account ids, kept as NUL-terminated strings. */
struct account_list {
	char (*ids)[ACCOUNT_ID_LEN + 1];
	size_t n, alloc;
};
void account_list_release(struct account_list *l);
/* Appends one id (must be valid). */
void account_list_add(struct account_list *l, const char *id);
/* Sorts the ids and drops duplicates. */
void account_list_sort_unique(struct account_list *l);
/* Keeps the ids of one shard (count 0: all of them). */
void account_list_shard(struct account_list *l, const struct shard *s);
/*
 * "111111111111,222222222222" (blanks around ids allowed, empty items are
 * an error). Appends to l; 0, or -1 with "invalid account id 'x' in
 * --accounts: ..." in err.
 */
int account_list_parse(struct account_list *l, const char *csv, struct strbuf *err);
/*
 * An --accounts-file: one id per line; blank lines and '#' comments (whole
 * line or after the id) are skipped; CRLF is fine. Appends to l; 0, or -1
 * with "'path' line N: ..." in err. An empty file is not an error here.
 */
int account_file_parse(struct account_list *l, const char *text, size_t len, const char *path,
		       struct strbuf *err);

#endif
