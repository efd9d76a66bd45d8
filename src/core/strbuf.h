#ifndef IAMKEYS_STRBUF_H
#define IAMKEYS_STRBUF_H
/*
 * A growable, always NUL-terminated byte buffer (after git's strbuf).
 * STRBUF_INIT gives an empty buffer that owns no memory; buf is never NULL.
 * Allocation failure aborts the process (xmalloc and friends): a tool that
 * cannot allocate a few kilobytes cannot do anything safe anyway.
 */
#include <stddef.h>
#include <stdarg.h>

struct strbuf {
	size_t alloc;
	size_t len;
	char *buf;
};

extern char strbuf_slopbuf[];
#define STRBUF_INIT                                                                                \
	{                                                                                          \
		0, 0, strbuf_slopbuf                                                               \
	}

void strbuf_init(struct strbuf *sb, size_t hint);
/* Frees the memory and leaves sb as STRBUF_INIT. */
void strbuf_release(struct strbuf *sb);
/* As strbuf_release, but wipes the whole allocation first (OPENSSL_cleanse). */
void strbuf_release_secret(struct strbuf *sb);
/* Detaches the buffer: the caller frees it; sb becomes empty. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_setlen(struct strbuf *sb, size_t len);
#define strbuf_reset(sb) strbuf_setlen((sb), 0)
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void strbuf_addbuf(struct strbuf *sb, const struct strbuf *other);
/* Appends the lowercase hex of len bytes. */
void strbuf_addhex(struct strbuf *sb, const unsigned char *data, size_t len);
void strbuf_trim(struct strbuf *sb);
/* Appends s with every control character (a newline in a parser's message
 * quoting its input) replaced by a space: error messages stay one line. */
void strbuf_add_oneline(struct strbuf *sb, const char *s);

/* Allocation helpers that never return NULL (they abort on failure). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* NULL-safe: xstrdup_or_null(NULL) == NULL. */
char *xstrdup_or_null(const char *s);
char *xmemdupz(const void *data, size_t len);
/* Wipes and frees a NUL-terminated secret; NULL is fine. */
void free_secret(char *s);
/*
 * free() each pointer given (NULL ones too), for a release function's fields:
 * FREE_ALL(u->arn, u->path, u->create_date).
 */
#define FREE_ALL(...)                                                                              \
	free_all((void *[]){ __VA_ARGS__ }, sizeof((void *[]){ __VA_ARGS__ }) / sizeof(void *))
void free_all(void *const *p, size_t n);
/* free_secret() each string given: FREE_SECRETS(c->secret_access_key, c->session_token). */
#define FREE_SECRETS(...)                                                                          \
	free_secrets((char *[]){ __VA_ARGS__ }, sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *))
void free_secrets(char *const *s, size_t n);
/* free(v[i]) for each of the n strings of v, then free(v). */
void free_strings(char **v, size_t n);
/* release(&a[i]) for each of the n elements of the array a, then free(a). */
#define FREE_ARRAY(a, n, release)                                                                  \
	do {                                                                                       \
		for (size_t free_array_i_ = 0; free_array_i_ < (n); free_array_i_++)               \
			release(&(a)[free_array_i_]);                                              \
		free(a);                                                                           \
	} while (0)
/* Grow an array: ALLOC_GROW(items, nr + 1, alloc). */
#define ALLOC_GROW(x, nr, alloc)                                                                   \
	do {                                                                                       \
		if ((nr) > (alloc)) {                                                              \
			(alloc) = (alloc) < 8 ? 8 : (alloc)*2;                                     \
			if ((alloc) < (nr))                                                        \
				(alloc) = (nr);                                                    \
			(x) = xrealloc((x), (alloc) * sizeof(*(x)));                               \
		}                                                                                  \
	} while (0)

#endif
