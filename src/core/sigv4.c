/*
 * AWS Signature Version 4 (header and presigned-URL signing).
 *
 * Pure: the time is a parameter, nothing is read from the environment or
 * from files. The steps follow the AWS documentation ("Create a canonical
 * request", "Create a string to sign", "Calculate the signature"); the
 * exact rules for the awkward corners (path encoding and normalization,
 * header folding and duplicates, query ordering) are pinned by the public
 * test suites of aws-c-auth, botocore and smithy-rs, see tests/unit/test_sigv4.c.
 */
#include "core/compat.h"
#include "core/sigv4.h"
#include "core/timeutil.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SHA256_LEN 32

/* 0000-01-01T00:00:00Z is out of reach anyway: sign from 1970 to 9999. */
#define SIGV4_MAX_TIME ((time_t)253402300799) /* 9999-12-31T23:59:59Z */
#define SIGV4_MAX_EXPIRES 604800L	      /* seven days, the AWS limit */

static const char empty_sha256[] =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/*
 * Headers that are never signed: hop-by-hop headers and headers that
 * proxies or the transport may change (botocore's list, plus connection).
 */
static const char *const unsigned_headers[] = {
	"connection", "expect", "transfer-encoding", "user-agent", "x-amzn-trace-id",
};

static int fail(struct strbuf *err, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int fail(struct strbuf *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		strbuf_vaddf(err, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- time ------------------------------------------------------------ */

/* Writes width decimal digits of v (zero-padded) at p. */
static void put_digits(char *p, unsigned long v, int width)
{
	while (width-- > 0) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

void sigv4_format_time(time_t t, char amz[17], char date[9])
{
	int year, month, day, hour, min, sec;

	/* The format has room for four-digit years only. */
	if (t < 0)
		t = 0;
	if (t > SIGV4_MAX_TIME)
		t = SIGV4_MAX_TIME;
	utc_civil(t, &year, &month, &day, &hour, &min, &sec);

	put_digits(amz, (unsigned long)year, 4);
	put_digits(amz + 4, (unsigned long)month, 2);
	put_digits(amz + 6, (unsigned long)day, 2);
	amz[8] = 'T';
	put_digits(amz + 9, (unsigned long)hour, 2);
	put_digits(amz + 11, (unsigned long)min, 2);
	put_digits(amz + 13, (unsigned long)sec, 2);
	amz[15] = 'Z';
	amz[16] = '\0';
	memcpy(date, amz, 8);
	date[8] = '\0';
}

/* ---- hashing --------------------------------------------------------- */

/* Lowercase hex of len bytes into out[2 * len + 1]. */
static void hex_encode(char *out, const unsigned char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[data[i] >> 4];
		out[2 * i + 1] = hex[data[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const EVP_MD *sha256 = EVP_sha256();

	out[0] = '\0';
	if (!sha256 || (!data && len))
		return -1;
	if (EVP_Digest(data ? data : "", len, md, &mdlen, sha256, NULL) != 1 || mdlen != SHA256_LEN)
		return -1;
	hex_encode(out, md, SHA256_LEN);
	return 0;
}

/* HMAC-SHA256(key, msg) into out[32]. 0 / -1. */
static int hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
		       unsigned char out[SHA256_LEN])
{
	const EVP_MD *sha256 = EVP_sha256();
	unsigned int outlen = 0;

	if (!sha256 || keylen > INT_MAX)
		return -1;
	if (!HMAC(sha256, key, (int)keylen, msg, msglen, out, &outlen) || outlen != SHA256_LEN) {
		OPENSSL_cleanse(out, SHA256_LEN);
		return -1;
	}
	return 0;
}

/*
 * The signing key: HMAC("AWS4" + secret, date) -> region -> service ->
 * "aws4_request". Every intermediate value is wiped. 0 / -1.
 */
static int derive_signing_key(const char *secret, const char *date, const char *region,
			      const char *service, unsigned char key[SHA256_LEN])
{
	struct strbuf k_secret = STRBUF_INIT;
	unsigned char k_date[SHA256_LEN], k_region[SHA256_LEN], k_service[SHA256_LEN];
	int ret = -1;

	strbuf_addstr(&k_secret, "AWS4");
	strbuf_addstr(&k_secret, secret);
	if (hmac_sha256(k_secret.buf, k_secret.len, date, strlen(date), k_date) ||
	    hmac_sha256(k_date, sizeof(k_date), region, strlen(region), k_region) ||
	    hmac_sha256(k_region, sizeof(k_region), service, strlen(service), k_service) ||
	    hmac_sha256(k_service, sizeof(k_service), SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR),
			key))
		goto out;
	ret = 0;
out:
	if (ret)
		OPENSSL_cleanse(key, SHA256_LEN);
	OPENSSL_cleanse(k_date, sizeof(k_date));
	OPENSSL_cleanse(k_region, sizeof(k_region));
	OPENSSL_cleanse(k_service, sizeof(k_service));
	strbuf_release_secret(&k_secret);
	return ret;
}

/* ---- encoding -------------------------------------------------------- */

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Is s[i] the start of a well-formed %XX escape? */
static int is_escape(const char *s, size_t len, size_t i)
{
	return s[i] == '%' && i + 2 < len && hex_value((unsigned char)s[i + 1]) >= 0 &&
	       hex_value((unsigned char)s[i + 2]) >= 0;
}

static void add_escape(struct strbuf *out, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	strbuf_addch(out, '%');
	strbuf_addch(out, hex[c >> 4]);
	strbuf_addch(out, hex[c & 0xf]);
}

void sigv4_uri_encode(struct strbuf *out, const char *s, size_t len, int keep_slash)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c) || (keep_slash && c == '/'))
			strbuf_addch(out, (char)c);
		else
			add_escape(out, c);
	}
}

/* Decodes %XX escapes; a '%' that starts no escape stays literal. */
static void percent_decode(struct strbuf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (is_escape(s, len, i)) {
			strbuf_addch(out, (char)(hex_value((unsigned char)s[i + 1]) << 4 |
						 hex_value((unsigned char)s[i + 2])));
			i += 2;
		} else {
			strbuf_addch(out, s[i]);
		}
	}
}

/* ---- canonical URI --------------------------------------------------- */

struct segment {
	const char *s;
	size_t len;
};

/*
 * Removes "." and ".." segments and empty segments (duplicate slashes);
 * the result starts with '/' and ends with one when path did.
 */
static void normalize_path(struct strbuf *out, const char *path)
{
	struct segment *segs = NULL;
	size_t nsegs = 0, alloc = 0, i;
	const char *p = path;
	size_t pathlen = strlen(path);

	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);

		if (!len || (len == 1 && p[0] == '.')) {
			; /* duplicate slash or "." */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (nsegs)
				nsegs--;
		} else {
			ALLOC_GROW(segs, nsegs + 1, alloc);
			segs[nsegs].s = p;
			segs[nsegs].len = len;
			nsegs++;
		}
		p = *end ? end + 1 : end;
	}

	strbuf_addch(out, '/');
	for (i = 0; i < nsegs; i++) {
		if (i)
			strbuf_addch(out, '/');
		strbuf_add(out, segs[i].s, segs[i].len);
	}
	if (nsegs && pathlen && path[pathlen - 1] == '/')
		strbuf_addch(out, '/');
	free(segs);
}

/*
 * The path is taken literally: every byte but unreserved characters and
 * '/' is percent-encoded, so an already-encoded path is encoded a second
 * time ("%3A" -> "%253A"), as every service but S3 expects. With
 * single_encode_path (S3) well-formed %XX escapes are kept as they are and
 * only the remaining bytes (spaces, UTF-8...) are encoded.
 */
static int canonical_uri(struct strbuf *out, const char *path, const struct sigv4_params *p,
			 struct strbuf *err)
{
	struct strbuf norm = STRBUF_INIT;
	const char *src;
	size_t len, i;

	if (!path || !*path)
		path = "/";
	if (*path != '/')
		return fail(err, "request path '%s' does not start with '/'", path);
	if (p->normalize_path) {
		normalize_path(&norm, path);
		src = norm.buf;
		len = norm.len;
	} else {
		src = path;
		len = strlen(path);
	}

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (p->single_encode_path && is_escape(src, len, i)) {
			strbuf_add(out, src + i, 3);
			i += 2;
		} else if (c == '/' || is_unreserved(c)) {
			strbuf_addch(out, (char)c);
		} else {
			add_escape(out, c);
		}
	}
	strbuf_release(&norm);
	return 0;
}

/* ---- canonical query ------------------------------------------------- */

struct query_param {
	char *key;   /* encoded, owned */
	char *value; /* encoded, owned (may hold a session token: wiped) */
};

struct query_list {
	struct query_param *items;
	size_t nr, alloc;
};

static void query_list_release(struct query_list *q)
{
	size_t i;

	for (i = 0; i < q->nr; i++)
		FREE_SECRETS(q->items[i].key, q->items[i].value);
	free(q->items);
	memset(q, 0, sizeof(*q));
}

/* Adds a parameter whose key and value are plain (not encoded) text. */
static void query_add_plain(struct query_list *q, const char *key, size_t keylen, const char *value,
			    size_t valuelen)
{
	struct strbuf k = STRBUF_INIT, v = STRBUF_INIT;

	sigv4_uri_encode(&k, key, keylen, 0);
	sigv4_uri_encode(&v, value, valuelen, 0);
	ALLOC_GROW(q->items, q->nr + 1, q->alloc);
	q->items[q->nr].key = strbuf_detach(&k, NULL);
	q->items[q->nr].value = strbuf_detach(&v, NULL);
	q->nr++;
}

static int query_param_cmp(const void *a, const void *b)
{
	const struct query_param *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

/* Is the plain-text key one of the parameters presigning adds? */
static int is_presign_key(const char *key, size_t len, int with_token)
{
	static const char *const keys[] = {
		"X-Amz-Algorithm", "X-Amz-Credential",	  "X-Amz-Date",
		"X-Amz-Expires",   "X-Amz-SignedHeaders", "X-Amz-Signature",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (strlen(keys[i]) == len && !memcmp(keys[i], key, len))
			return 1;
	return with_token && len == 20 && !memcmp(key, "X-Amz-Security-Token", 20);
}

/*
 * Splits the raw query on '&' (empty pieces are dropped); a piece without
 * '=' is a key with an empty value. Keys and values are percent-decoded
 * and then RFC 3986-encoded; '+' is a literal plus, not a space.
 */
static int query_parse(struct query_list *q, const char *query, int presign, int with_token,
		       struct strbuf *err)
{
	struct strbuf k = STRBUF_INIT, v = STRBUF_INIT;
	const char *p = query;
	int ret = 0;

	if (!p)
		return 0;
	while (*p) {
		const char *end = strchrnul(p, '&');
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *kend = eq ? eq : end;

		if (end > p) {
			strbuf_reset(&k);
			strbuf_reset(&v);
			percent_decode(&k, p, (size_t)(kend - p));
			if (eq)
				percent_decode(&v, eq + 1, (size_t)(end - eq - 1));
			if (presign && is_presign_key(k.buf, k.len, with_token)) {
				ret = fail(err, "query already has a '%s' parameter", k.buf);
				break;
			}
			query_add_plain(q, k.buf, k.len, v.buf, v.len);
		}
		p = *end ? end + 1 : end;
	}
	strbuf_release(&k);
	strbuf_release_secret(&v);
	return ret;
}

static void query_join(struct strbuf *out, const struct query_list *q)
{
	size_t i;

	for (i = 0; i < q->nr; i++) {
		if (i)
			strbuf_addch(out, '&');
		strbuf_addstr(out, q->items[i].key);
		strbuf_addch(out, '=');
		strbuf_addstr(out, q->items[i].value);
	}
}

/* ---- canonical headers ----------------------------------------------- */

struct canon_header {
	char *name;  /* lowercase, owned */
	char *value; /* trimmed, runs of whitespace collapsed; owned, wiped */
	size_t seq;  /* original position: duplicates keep their order */
};

struct header_list {
	struct canon_header *items;
	size_t nr, alloc;
};

static void header_list_release(struct header_list *h)
{
	size_t i;

	for (i = 0; i < h->nr; i++) {
		free(h->items[i].name);
		free_secret(h->items[i].value);
	}
	free(h->items);
	memset(h, 0, sizeof(*h));
}

static int is_lws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A header name is a non-empty RFC 9110 token. */
static int valid_header_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
			return 0;
	}
	return 1;
}

static void header_add(struct header_list *h, const char *name, const char *value)
{
	struct strbuf n = STRBUF_INIT, v = STRBUF_INIT;
	const char *p;
	int pending_space = 0;

	for (p = name; *p; p++)
		strbuf_addch(&n, tolower((unsigned char)*p));
	/* Trim, and collapse every run of whitespace (incl. obs-fold) to one space. */
	for (p = value; *p; p++) {
		if (is_lws((unsigned char)*p)) {
			pending_space = v.len > 0;
			continue;
		}
		if (pending_space)
			strbuf_addch(&v, ' ');
		pending_space = 0;
		strbuf_addch(&v, *p);
	}
	ALLOC_GROW(h->items, h->nr + 1, h->alloc);
	h->items[h->nr].name = strbuf_detach(&n, NULL);
	h->items[h->nr].value = strbuf_detach(&v, NULL);
	h->items[h->nr].seq = h->nr;
	h->nr++;
}

static int header_cmp(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int is_unsigned_header(const char *lower)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(unsigned_headers); i++)
		if (!strcmp(lower, unsigned_headers[i]))
			return 1;
	return 0;
}

/*
 * Sorts by name (stable) and writes "name:v1,v2\n" lines into canon and
 * "name;name2" into signed_names.
 */
static void headers_canonicalize(struct header_list *h, struct strbuf *canon,
				 struct strbuf *signed_names)
{
	size_t i;

	if (h->nr)
		qsort(h->items, h->nr, sizeof(*h->items), header_cmp);
	for (i = 0; i < h->nr; i++) {
		if (i && !strcmp(h->items[i].name, h->items[i - 1].name)) {
			strbuf_addch(canon, ',');
			strbuf_addstr(canon, h->items[i].value);
			continue;
		}
		if (i) {
			strbuf_addch(canon, '\n');
			strbuf_addch(signed_names, ';');
		}
		strbuf_addstr(canon, h->items[i].name);
		strbuf_addch(canon, ':');
		strbuf_addstr(canon, h->items[i].value);
		strbuf_addstr(signed_names, h->items[i].name);
	}
	if (h->nr)
		strbuf_addch(canon, '\n');
}

/* ---- signing --------------------------------------------------------- */

static int valid_scope_part(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return 0;
	return 1;
}

static int valid_access_key(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s) || *s == '/' || *s == ',')
			return 0;
	return 1;
}

static void add_output_header(struct sigv4_signed *out, const char *name, const char *value)
{
	out->add_headers[out->nadd_headers].name = xstrdup(name);
	out->add_headers[out->nadd_headers].value = xstrdup(value);
	out->nadd_headers++;
}

static int check_inputs(const struct sigv4_request *req, const struct sigv4_params *p, int presign,
			struct strbuf *err)
{
	const struct aws_credentials *c;

	if (!req || !p)
		return fail(err, "sigv4: no request or parameters");
	c = p->creds;
	if (!c)
		return fail(err, "sigv4: no credentials");
	if (!valid_access_key(c->access_key_id))
		return fail(err, "sigv4: missing or malformed access key id");
	if (!c->secret_access_key || !*c->secret_access_key)
		return fail(err, "sigv4: missing secret access key");
	if (!valid_scope_part(p->region))
		return fail(err, "sigv4: invalid region '%s'", p->region ? p->region : "");
	if (!valid_scope_part(p->service))
		return fail(err, "sigv4: invalid service '%s'", p->service ? p->service : "");
	if (!req->method || !*req->method)
		return fail(err, "sigv4: no request method");
	if (req->nheaders && !req->headers)
		return fail(err, "sigv4: no header array for %zu headers", req->nheaders);
	if (req->body_len && !req->body)
		return fail(err, "sigv4: no body for %zu bytes", req->body_len);
	if (p->now < 0 || p->now > SIGV4_MAX_TIME)
		return fail(err, "sigv4: time %lld out of range", (long long)p->now);
	if (presign && (p->expires < 1 || p->expires > SIGV4_MAX_EXPIRES))
		return fail(err, "sigv4: expires %ld not in 1..%ld seconds", p->expires,
			    SIGV4_MAX_EXPIRES);
	return 0;
}

/*
 * Collects the request's headers (minus the unsigned ones) and, in header
 * mode, the ones the signer adds. Rejects a request that already carries
 * a header the signer sets.
 */
static int collect_headers(struct header_list *h, const struct sigv4_request *req,
			   const struct sigv4_params *p, int presign, const char *amz,
			   const char *payload_hash, struct strbuf *err)
{
	const char *token = p->creds->session_token;
	int with_token = token && *token;
	int has_host = 0;
	size_t i;

	for (i = 0; i < req->nheaders; i++) {
		const struct sigv4_header *hd = &req->headers[i];
		const char *lower;

		if (!hd->name || !valid_header_name(hd->name))
			return fail(err, "sigv4: invalid header name '%s'",
				    hd->name ? hd->name : "");
		if (!hd->value)
			return fail(err, "sigv4: header '%s' has no value", hd->name);
		header_add(h, hd->name, hd->value);
		lower = h->items[h->nr - 1].name;
		if (!strcmp(lower, "host")) {
			has_host = 1;
		} else if (!strcmp(lower, "authorization") || !strcmp(lower, "x-amz-date") ||
			   (!presign && with_token && !strcmp(lower, "x-amz-security-token")) ||
			   (!presign && p->add_content_sha256 &&
			    !strcmp(lower, "x-amz-content-sha256"))) {
			return fail(err, "sigv4: request already has a '%s' header", hd->name);
		} else if (is_unsigned_header(lower)) {
			free(h->items[h->nr - 1].name);
			free_secret(h->items[h->nr - 1].value);
			h->nr--;
		}
	}
	if (!has_host)
		return fail(err, "sigv4: request has no host header");
	if (presign)
		return 0;
	header_add(h, "x-amz-date", amz);
	if (with_token && !p->omit_session_token)
		header_add(h, "x-amz-security-token", token);
	if (p->add_content_sha256)
		header_add(h, "x-amz-content-sha256", payload_hash);
	return 0;
}

static int sign(const struct sigv4_request *req, const struct sigv4_params *p, int presign,
		struct sigv4_signed *out, struct strbuf *err)
{
	struct header_list headers = { 0 };
	struct query_list query = { 0 };
	struct strbuf canon_headers = STRBUF_INIT, signed_names = STRBUF_INIT;
	struct strbuf scope = STRBUF_INIT, credential = STRBUF_INIT;
	char amz[17], date[9], payload_hash[65], creq_hash[65];
	unsigned char key[SHA256_LEN], mac[SHA256_LEN];
	const char *token;
	int with_token, ret = -1;

	if (!out)
		return fail(err, "sigv4: no output");
	sigv4_signed_release(out);
	if (check_inputs(req, p, presign, err))
		return -1;
	token = p->creds->session_token;
	with_token = token && *token;

	sigv4_format_time(p->now, amz, date);
	strbuf_addf(&scope, "%s/%s/%s/%s", date, p->region, p->service, SIGV4_TERMINATOR);
	strbuf_addf(&credential, "%s/%s", p->creds->access_key_id, scope.buf);

	if (p->unsigned_body)
		memcpy(payload_hash, empty_sha256, sizeof(empty_sha256));
	else if (sigv4_sha256_hex(req->body, req->body_len, payload_hash)) {
		fail(err, "sigv4: cannot hash the payload");
		goto out;
	}

	if (collect_headers(&headers, req, p, presign, amz, payload_hash, err))
		goto out;
	headers_canonicalize(&headers, &canon_headers, &signed_names);

	if (query_parse(&query, req->query, presign, with_token, err))
		goto out;
	if (presign) {
		char expires[32];

		snprintf(expires, sizeof(expires), "%ld", p->expires);
		query_add_plain(&query, "X-Amz-Algorithm", 15, SIGV4_ALGORITHM,
				strlen(SIGV4_ALGORITHM));
		query_add_plain(&query, "X-Amz-Credential", 16, credential.buf, credential.len);
		query_add_plain(&query, "X-Amz-Date", 10, amz, strlen(amz));
		query_add_plain(&query, "X-Amz-Expires", 13, expires, strlen(expires));
		query_add_plain(&query, "X-Amz-SignedHeaders", 19, signed_names.buf,
				signed_names.len);
		if (with_token && !p->omit_session_token)
			query_add_plain(&query, "X-Amz-Security-Token", 20, token, strlen(token));
	}
	if (query.nr)
		qsort(query.items, query.nr, sizeof(*query.items), query_param_cmp);

	/* Canonical request. */
	strbuf_addstr(&out->canonical_request, req->method);
	strbuf_addch(&out->canonical_request, '\n');
	if (canonical_uri(&out->canonical_request, req->path, p, err))
		goto out;
	strbuf_addch(&out->canonical_request, '\n');
	query_join(&out->canonical_request, &query);
	strbuf_addch(&out->canonical_request, '\n');
	strbuf_addbuf(&out->canonical_request, &canon_headers);
	strbuf_addch(&out->canonical_request, '\n');
	strbuf_addbuf(&out->canonical_request, &signed_names);
	strbuf_addch(&out->canonical_request, '\n');
	strbuf_addstr(&out->canonical_request, payload_hash);

	/* String to sign. */
	if (sigv4_sha256_hex(out->canonical_request.buf, out->canonical_request.len, creq_hash)) {
		fail(err, "sigv4: cannot hash the canonical request");
		goto out;
	}
	strbuf_addf(&out->string_to_sign, "%s\n%s\n%s\n%s", SIGV4_ALGORITHM, amz, scope.buf,
		    creq_hash);

	/* Signature. */
	if (derive_signing_key(p->creds->secret_access_key, date, p->region, p->service, key) ||
	    hmac_sha256(key, sizeof(key), out->string_to_sign.buf, out->string_to_sign.len, mac)) {
		fail(err, "sigv4: hmac-sha256 failed");
		goto out;
	}
	hex_encode(out->signature, mac, sizeof(mac));

	if (presign) {
		query_join(&out->presigned_query, &query);
		if (with_token && p->omit_session_token) {
			strbuf_addstr(&out->presigned_query, out->presigned_query.len ? "&" : "");
			strbuf_addstr(&out->presigned_query, "X-Amz-Security-Token=");
			sigv4_uri_encode(&out->presigned_query, token, strlen(token), 0);
		}
		strbuf_addf(&out->presigned_query, "%sX-Amz-Signature=%s",
			    out->presigned_query.len ? "&" : "", out->signature);
	} else {
		strbuf_addf(&out->authorization, "%s Credential=%s, SignedHeaders=%s, Signature=%s",
			    SIGV4_ALGORITHM, credential.buf, signed_names.buf, out->signature);
		add_output_header(out, "X-Amz-Date", amz);
		if (with_token)
			add_output_header(out, "X-Amz-Security-Token", token);
		if (p->add_content_sha256)
			add_output_header(out, "x-amz-content-sha256", payload_hash);
		add_output_header(out, "Authorization", out->authorization.buf);
	}
	ret = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(mac, sizeof(mac));
	header_list_release(&headers);
	query_list_release(&query);
	strbuf_release_secret(&canon_headers);
	strbuf_release(&signed_names);
	strbuf_release(&scope);
	strbuf_release(&credential);
	if (ret)
		sigv4_signed_release(out);
	return ret;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
	       struct sigv4_signed *out, struct strbuf *err)
{
	return sign(req, p, 0, out, err);
}

int sigv4_presign(const struct sigv4_request *req, const struct sigv4_params *p,
		  struct sigv4_signed *out, struct strbuf *err)
{
	return sign(req, p, 1, out, err);
}

void sigv4_signed_release(struct sigv4_signed *s)
{
	size_t i;

	if (!s)
		return;
	strbuf_release_secret(&s->canonical_request);
	strbuf_release_secret(&s->string_to_sign);
	strbuf_release_secret(&s->authorization);
	strbuf_release_secret(&s->presigned_query);
	for (i = 0; i < s->nadd_headers && i < ARRAY_SIZE(s->add_headers); i++) {
		free(s->add_headers[i].name);
		free_secret(s->add_headers[i].value);
		s->add_headers[i].name = NULL;
		s->add_headers[i].value = NULL;
	}
	s->nadd_headers = 0;
	OPENSSL_cleanse(s->signature, sizeof(s->signature));
}
