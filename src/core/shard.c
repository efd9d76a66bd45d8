#include "core/compat.h"
#include "core/shard.h"

uint64_t fnv1a64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* Decimal digits only, no sign, no leading '+', at most 9 digits. */
static int parse_uint(const char *s, size_t len, unsigned *out)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = (unsigned)v;
	return 0;
}

int shard_parse(const char *s, struct shard *out, struct strbuf *err)
{
	const char *slash = strchr(s, '/');
	unsigned i, n;

	if (!slash || parse_uint(s, (size_t)(slash - s), &i) < 0 ||
	    parse_uint(slash + 1, strlen(slash + 1), &n) < 0) {
		strbuf_addf(err, "invalid --shard '%s': use I/N, e.g. 0/4", s);
		return -1;
	}
	if (n < 1 || n > SHARD_MAX) {
		strbuf_addf(err, "invalid --shard '%s': N must be from 1 to %d", s, SHARD_MAX);
		return -1;
	}
	if (i >= n) {
		strbuf_addf(err, "invalid --shard '%s': I must be from 0 to N-1 (%u)", s, n - 1);
		return -1;
	}
	out->index = i;
	out->count = n;
	return 0;
}

unsigned shard_of(const char *account_id, unsigned n)
{
	return (unsigned)(fnv1a64(account_id, strlen(account_id)) % (n ? n : 1));
}

int shard_keeps(const struct shard *s, const char *account_id)
{
	return !s->count || shard_of(account_id, s->count) == s->index;
}

int account_id_valid(const char *s, size_t len)
{
	size_t i;

	if (len != ACCOUNT_ID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

void account_list_release(struct account_list *l)
{
	free(l->ids);
	memset(l, 0, sizeof(*l));
}

void account_list_add(struct account_list *l, const char *id)
{
	ALLOC_GROW(l->ids, l->n + 1, l->alloc);
	memcpy(l->ids[l->n], id, ACCOUNT_ID_LEN);
	l->ids[l->n][ACCOUNT_ID_LEN] = '\0';
	l->n++;
}

static int cmp_ids(const void *a, const void *b)
{
	return memcmp(a, b, ACCOUNT_ID_LEN);
}

void account_list_sort_unique(struct account_list *l)
{
	size_t i, out = 0;

	if (!l->n)
		return;
	qsort(l->ids, l->n, sizeof(*l->ids), cmp_ids);
	for (i = 0; i < l->n; i++)
		if (!out || memcmp(l->ids[out - 1], l->ids[i], ACCOUNT_ID_LEN))
			memmove(l->ids[out++], l->ids[i], sizeof(*l->ids));
	l->n = out;
}

void account_list_shard(struct account_list *l, const struct shard *s)
{
	size_t i, out = 0;

	for (i = 0; i < l->n; i++)
		if (shard_keeps(s, l->ids[i]))
			memmove(l->ids[out++], l->ids[i], sizeof(*l->ids));
	l->n = out;
}

/* Shows at most 40 bytes of a bad value, control characters as '?'. */
static void add_shown(struct strbuf *sb, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < 40; i++)
		strbuf_addch(sb, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
	if (len > 40)
		strbuf_addstr(sb, "...");
}

static void trim_span(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

int account_list_parse(struct account_list *l, const char *csv, struct strbuf *err)
{
	const char *p = csv;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *item = p;

		trim_span(&item, &len);
		if (!account_id_valid(item, len)) {
			strbuf_addstr(err, "invalid account id '");
			add_shown(err, item, len);
			strbuf_addstr(err, "' in --accounts: an account id is 12 digits");
			return -1;
		}
		account_list_add(l, item);
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

int account_file_parse(struct account_list *l, const char *text, size_t len, const char *path,
		       struct strbuf *err)
{
	size_t pos = 0, lineno = 0;

	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		const char *hash;

		pos += llen + (nl ? 1 : 0);
		lineno++;
		hash = memchr(line, '#', llen);
		if (hash)
			llen = (size_t)(hash - line);
		trim_span(&line, &llen);
		if (!llen)
			continue;
		if (!account_id_valid(line, llen)) {
			strbuf_addf(err, "'%s' line %zu: invalid account id '", path, lineno);
			add_shown(err, line, llen);
			strbuf_addstr(err, "': an account id is 12 digits");
			return -1;
		}
		account_list_add(l, line);
	}
	return 0;
}
