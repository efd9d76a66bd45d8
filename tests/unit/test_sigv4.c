/*
 * SigV4 against the public test suites (read at run time from
 * tests/data/sigv4/) and a few vectors
 * computed with botocore. Every case directory found is one cmocka test;
 * the number of cases per suite is asserted so none is silently skipped.
 */
#include "core/compat.h"
#include "core/sigv4.h"
#include "core/timeutil.h"

#include <dirent.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include "testdata.h"

#define TEST_AKID "AKIDEXAMPLE"
#define TEST_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define AWS_C_AUTH_CASES 38
#define CLASSIC_CASES 34
#define SMITHY_CASES 1

/* ---- helpers --------------------------------------------------------- */

/* "2015-08-30T12:36:00Z" or "20150830T123600Z". 0 / -1. */
static int parse_time(const char *s, time_t *out)
{
	int y, mo, d, h, mi, sec, n = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 && !s[n]) {
		*out = utc_from_civil(y, mo, d, h, mi, sec);
		return 0;
	}
	n = 0;
	if (sscanf(s, "%4d%2d%2dT%2d%2d%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 && !s[n]) {
		*out = utc_from_civil(y, mo, d, h, mi, sec);
		return 0;
	}
	return -1;
}

/* Reads a whole file. 0 / -1 (sb untouched on error). */
static int read_whole_file(const char *path, struct strbuf *sb)
{
	struct strbuf got = STRBUF_INIT;

	if (test_read_file(path, &got)) {
		strbuf_release(&got);
		return -1;
	}
	strbuf_add(sb, got.buf, got.len);
	strbuf_release(&got);
	return 0;
}

static int is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* ---- raw HTTP request files ------------------------------------------ */

struct raw_request {
	char *method;
	char *path;  /* raw, may hold spaces and UTF-8 */
	char *query; /* NULL when the request line has no '?' */
	char **names;
	char **values;
	size_t nr, alloc, valloc;
	struct strbuf body;
};

static void raw_request_release(struct raw_request *r)
{
	size_t i;

	free(r->method);
	free(r->path);
	free(r->query);
	for (i = 0; i < r->nr; i++) {
		free(r->names[i]);
		free(r->values[i]);
	}
	free(r->names);
	free(r->values);
	strbuf_release(&r->body);
	memset(r, 0, sizeof(*r));
}

static void raw_request_add(struct raw_request *r, const char *name, size_t nlen, const char *value,
			    size_t vlen)
{
	ALLOC_GROW(r->names, r->nr + 1, r->alloc);
	ALLOC_GROW(r->values, r->nr + 1, r->valloc);
	r->names[r->nr] = xmemdupz(name, nlen);
	r->values[r->nr] = xmemdupz(value, vlen);
	r->nr++;
}

/* Removes every header called name (any case); returns the last value (caller frees). */
static char *raw_request_take(struct raw_request *r, const char *name)
{
	char *last = NULL;
	size_t i, j = 0;

	for (i = 0; i < r->nr; i++) {
		if (!strcasecmp(r->names[i], name)) {
			free(last);
			last = r->values[i];
			free(r->names[i]);
			continue;
		}
		r->names[j] = r->names[i];
		r->values[j] = r->values[i];
		j++;
	}
	r->nr = j;
	return last;
}

static const char *raw_request_get(const struct raw_request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nr; i++)
		if (!strcasecmp(r->names[i], name))
			return r->values[i];
	return NULL;
}

/*
 * "METHOD target[ HTTP/1.1]" then "Name:value" lines (a line starting with
 * whitespace continues the previous header, joined with one space) up to
 * the first empty line; the body is everything after it. 0 / -1.
 */
static int parse_raw_request(const char *text, size_t len, struct raw_request *r)
{
	const char *p = text, *end = text + len, *eol, *sp, *target_end, *q;

	memset(r, 0, sizeof(*r));
	strbuf_init(&r->body, 0);
	eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		eol = end;
	sp = memchr(p, ' ', (size_t)(eol - p));
	if (!sp)
		return -1;
	r->method = xmemdupz(p, (size_t)(sp - p));
	target_end = eol;
	for (q = eol; q > sp; q--) {
		if (!strncmp(q, " HTTP/", 6) && q + 6 <= eol) {
			target_end = q;
			break;
		}
	}
	q = memchr(sp + 1, '?', (size_t)(target_end - sp - 1));
	if (q) {
		r->path = xmemdupz(sp + 1, (size_t)(q - sp - 1));
		r->query = xmemdupz(q + 1, (size_t)(target_end - q - 1));
	} else {
		r->path = xmemdupz(sp + 1, (size_t)(target_end - sp - 1));
	}

	p = eol < end ? eol + 1 : end;
	while (p < end) {
		const char *colon;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if (eol == p) { /* the empty line: the body follows */
			strbuf_add(&r->body, eol + 1, (size_t)(end - eol - 1));
			return 0;
		}
		if (*p == ' ' || *p == '\t') {
			struct strbuf v = STRBUF_INIT;

			if (!r->nr)
				return -1;
			while (p < eol && (*p == ' ' || *p == '\t'))
				p++;
			strbuf_addstr(&v, r->values[r->nr - 1]);
			strbuf_addch(&v, ' ');
			strbuf_add(&v, p, (size_t)(eol - p));
			free(r->values[r->nr - 1]);
			r->values[r->nr - 1] = strbuf_detach(&v, NULL);
		} else {
			colon = memchr(p, ':', (size_t)(eol - p));
			if (!colon)
				return -1;
			raw_request_add(r, p, (size_t)(colon - p), colon + 1,
					(size_t)(eol - colon - 1));
		}
		p = eol < end ? eol + 1 : end;
	}
	return 0;
}

/* headers[] points into r; free() the array only. */
static struct sigv4_header *raw_request_headers(const struct raw_request *r)
{
	struct sigv4_header *h = xcalloc(r->nr + 1, sizeof(*h));
	size_t i;

	for (i = 0; i < r->nr; i++) {
		h[i].name = r->names[i];
		h[i].value = r->values[i];
	}
	return h;
}

/* The value of header name in raw header text (e.g. a .creq or .sreq), or NULL. */
static char *find_header_line(const char *text, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = text;

	while (*p) {
		const char *eol = strchrnul(p, '\n');

		if ((size_t)(eol - p) > nlen && !strncasecmp(p, name, nlen) && p[nlen] == ':') {
			const char *v = p + nlen + 1;

			while (*v == ' ')
				v++;
			return xmemdupz(v, (size_t)(eol - v));
		}
		p = *eol ? eol + 1 : eol;
	}
	return NULL;
}

/*
 * A query in canonical form for comparing parameter sets: each key and
 * value decoded, re-encoded, sorted.
 */
static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void query_normalize(struct strbuf *out, const char *query)
{
	char **items = NULL;
	size_t nr = 0, alloc = 0, i;
	const char *p = query;

	while (*p) {
		const char *end = strchrnul(p, '&');
		const char *eq = memchr(p, '=', (size_t)(end - p));
		struct strbuf one = STRBUF_INIT, dec = STRBUF_INIT;
		const char *s;

		for (s = p; s < end; s++) {
			if (*s == '%' && s + 2 < end && isxdigit((unsigned char)s[1]) &&
			    isxdigit((unsigned char)s[2])) {
				char hex[3] = { s[1], s[2], 0 };

				strbuf_addch(&dec, (char)strtol(hex, NULL, 16));
				s += 2;
			} else if (s == eq) {
				sigv4_uri_encode(&one, dec.buf, dec.len, 0);
				strbuf_addch(&one, '=');
				strbuf_reset(&dec);
			} else {
				strbuf_addch(&dec, *s);
			}
		}
		sigv4_uri_encode(&one, dec.buf, dec.len, 0);
		if (!eq)
			strbuf_addch(&one, '=');
		ALLOC_GROW(items, nr + 1, alloc);
		items[nr++] = strbuf_detach(&one, NULL);
		strbuf_release(&dec);
		p = *end ? end + 1 : end;
	}
	if (nr)
		qsort(items, nr, sizeof(*items), str_ptr_cmp);
	for (i = 0; i < nr; i++) {
		if (i)
			strbuf_addch(out, '&');
		strbuf_addstr(out, items[i]);
		free(items[i]);
	}
	free(items);
}

/* ---- comparing ------------------------------------------------------- */

/* Appends a mismatch report to errs. */
static void expect_equal(struct strbuf *errs, const char *what, const char *want, size_t want_len,
			 const char *got, size_t got_len)
{
	if (want_len == got_len && !memcmp(want, got, got_len))
		return;
	strbuf_addf(errs, "  %s differs\n  --- expected\n%.*s\n  --- got\n%.*s\n", what,
		    (int)want_len, want, (int)got_len, got);
}

/* Compares with the contents of dir/file (exactly, or minus one trailing LF). */
static void expect_file(struct strbuf *errs, const char *dir, const char *file, const char *got,
			int strip_newline)
{
	struct strbuf path = STRBUF_INIT, want = STRBUF_INIT;

	strbuf_addf(&path, "%s/%s", dir, file);
	if (read_whole_file(path.buf, &want)) {
		strbuf_addf(errs, "  cannot read '%s'\n", path.buf);
	} else {
		if (strip_newline && want.len && want.buf[want.len - 1] == '\n')
			strbuf_setlen(&want, want.len - 1);
		expect_equal(errs, file, want.buf, want.len, got, strlen(got));
	}
	strbuf_release(&path);
	strbuf_release(&want);
}

/*
 * Every header of the signed request that the unsigned one lacks must be
 * one the signer returned in add_headers, with the same value, and the
 * other way round. skip_authorization: don't compare Authorization.
 */
static void expect_added_headers(struct strbuf *errs, const struct raw_request *unsigned_req,
				 const struct raw_request *signed_req,
				 const struct sigv4_signed *out, int skip_authorization)
{
	size_t i, j, expected = 0;

	for (i = 0; i < signed_req->nr; i++) {
		const char *name = signed_req->names[i];
		const char *value = signed_req->values[i];
		int found = 0;

		if (raw_request_get(unsigned_req, name))
			continue;
		expected++;
		if (skip_authorization && !strcasecmp(name, "authorization"))
			continue;
		while (*value == ' ')
			value++;
		for (j = 0; j < out->nadd_headers; j++)
			if (!strcasecmp(out->add_headers[j].name, name) &&
			    !strcmp(out->add_headers[j].value, value))
				found = 1;
		if (!found)
			strbuf_addf(errs, "  header '%s: %s' not in add_headers\n", name, value);
	}
	if (expected != out->nadd_headers)
		strbuf_addf(errs, "  %zu headers added, the signed request has %zu more\n",
			    out->nadd_headers, expected);
}

/* ---- the suites ------------------------------------------------------ */

enum suite { SUITE_AWS_C_AUTH, SUITE_CLASSIC, SUITE_SMITHY };

struct sig_case {
	enum suite suite;
	int presign;
	char *name; /* "aws-c-auth/header/get-vanilla" */
	char *dir;  /* the case directory */
	char *stem; /* classic: the file name stem (the directory's name) */
};

struct case_list {
	struct sig_case *items;
	size_t nr, alloc;
	size_t found[3]; /* case directories per suite */
};

static void case_add(struct case_list *l, enum suite suite, int presign, const char *name,
		     const char *dir, const char *stem)
{
	ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	l->items[l->nr].suite = suite;
	l->items[l->nr].presign = presign;
	l->items[l->nr].name = xstrdup(name);
	l->items[l->nr].dir = xstrdup(dir);
	l->items[l->nr].stem = xstrdup(stem);
	l->nr++;
}

/* The sorted names of the subdirectories of dir (caller frees). */
static char **list_subdirs(const char *dir, size_t *nr)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t alloc = 0;

	*nr = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		struct strbuf path = STRBUF_INIT;

		if (e->d_name[0] == '.')
			continue;
		strbuf_addf(&path, "%s/%s", dir, e->d_name);
		if (is_dir(path.buf)) {
			ALLOC_GROW(names, *nr + 1, alloc);
			names[(*nr)++] = xstrdup(e->d_name);
		}
		strbuf_release(&path);
	}
	closedir(d);
	if (*nr)
		qsort(names, *nr, sizeof(*names), str_ptr_cmp);
	return names;
}

/* Directories holding request.txt: one case each (two for aws-c-auth). */
static void discover_request_txt(struct case_list *l, enum suite suite, const char *dir,
				 const char *label)
{
	size_t nr, i;
	char **names = list_subdirs(dir, &nr);

	for (i = 0; i < nr; i++) {
		struct strbuf sub = STRBUF_INIT, req = STRBUF_INIT, name = STRBUF_INIT;

		strbuf_addf(&sub, "%s/%s", dir, names[i]);
		strbuf_addf(&req, "%s/request.txt", sub.buf);
		if (is_file(req.buf)) {
			l->found[suite]++;
			strbuf_addf(&name, "%s/header/%s", label, names[i]);
			case_add(l, suite, 0, name.buf, sub.buf, names[i]);
			if (suite == SUITE_AWS_C_AUTH) {
				strbuf_reset(&name);
				strbuf_addf(&name, "%s/query/%s", label, names[i]);
				case_add(l, suite, 1, name.buf, sub.buf, names[i]);
			}
		}
		strbuf_release(&sub);
		strbuf_release(&req);
		strbuf_release(&name);
		free(names[i]);
	}
	free(names);
}

/* A directory D holding D/<D>.req is a classic case; other directories are searched. */
static void discover_classic(struct case_list *l, const char *dir, const char *prefix)
{
	size_t nr, i;
	char **names = list_subdirs(dir, &nr);

	for (i = 0; i < nr; i++) {
		struct strbuf sub = STRBUF_INIT, req = STRBUF_INIT, name = STRBUF_INIT;

		strbuf_addf(&sub, "%s/%s", dir, names[i]);
		strbuf_addf(&req, "%s/%s.req", sub.buf, names[i]);
		strbuf_addf(&name, "%s/%s", prefix, names[i]);
		if (is_file(req.buf)) {
			l->found[SUITE_CLASSIC]++;
			case_add(l, SUITE_CLASSIC, 0, name.buf, sub.buf, names[i]);
		} else {
			discover_classic(l, sub.buf, name.buf);
		}
		strbuf_release(&sub);
		strbuf_release(&req);
		strbuf_release(&name);
		free(names[i]);
	}
	free(names);
}

static struct case_list cases;

static void discover_cases(void)
{
	struct strbuf dir = STRBUF_INIT;
	const char *base = test_data_dir();

	strbuf_addf(&dir, "%s/sigv4/aws-signing-test-suite/v4", base);
	discover_request_txt(&cases, SUITE_AWS_C_AUTH, dir.buf, "aws-c-auth");
	strbuf_reset(&dir);
	strbuf_addf(&dir, "%s/sigv4/aws4_testsuite", base);
	discover_classic(&cases, dir.buf, "aws4_testsuite");
	strbuf_reset(&dir);
	strbuf_addf(&dir, "%s/sigv4/smithy-rs-extra/v4", base);
	discover_request_txt(&cases, SUITE_SMITHY, dir.buf, "smithy-rs");
	strbuf_release(&dir);
}

static void free_cases(void)
{
	size_t i;

	for (i = 0; i < cases.nr; i++) {
		free(cases.items[i].name);
		free(cases.items[i].dir);
		free(cases.items[i].stem);
	}
	free(cases.items);
	memset(&cases, 0, sizeof(cases));
}

/* Everything one case needs; released in one place whatever happened. */
struct case_run {
	struct raw_request req, signed_req;
	struct sigv4_header *headers;
	struct aws_credentials creds;
	struct sigv4_params params;
	struct sigv4_signed out;
	struct strbuf text, err, errs;
	json_t *ctx;
	char *amz_date;
};

static void case_run_release(struct case_run *r)
{
	raw_request_release(&r->req);
	raw_request_release(&r->signed_req);
	free(r->headers);
	aws_credentials_release(&r->creds);
	sigv4_signed_release(&r->out);
	strbuf_release(&r->text);
	strbuf_release(&r->err);
	strbuf_release(&r->errs);
	if (r->ctx)
		json_decref(r->ctx);
	free(r->amz_date);
}

/* Reads dir/file and parses it as an HTTP request. 0 / -1 (reported). */
static int load_request(struct case_run *r, const char *dir, const char *file,
			struct raw_request *out)
{
	struct strbuf path = STRBUF_INIT;
	int ret = 0;

	strbuf_addf(&path, "%s/%s", dir, file);
	strbuf_reset(&r->text);
	if (read_whole_file(path.buf, &r->text) ||
	    parse_raw_request(r->text.buf, r->text.len, out)) {
		strbuf_addf(&r->errs, "  cannot read or parse '%s'\n", path.buf);
		ret = -1;
	}
	strbuf_release(&path);
	return ret;
}

static int do_sign(struct case_run *r, int presign)
{
	struct sigv4_request sreq = { 0 };

	free(r->headers);
	r->headers = raw_request_headers(&r->req);
	sreq.method = r->req.method;
	sreq.path = r->req.path;
	sreq.query = r->req.query;
	sreq.headers = r->headers;
	sreq.nheaders = r->req.nr;
	sreq.body = r->req.body.buf;
	sreq.body_len = r->req.body.len;
	r->params.creds = &r->creds;
	if ((presign ? sigv4_presign : sigv4_sign)(&sreq, &r->params, &r->out, &r->err)) {
		strbuf_addf(&r->errs, "  signing failed: %s\n", r->err.buf);
		return -1;
	}
	return 0;
}

static void run_aws_c_auth(const struct sig_case *c, struct case_run *r)
{
	const char *mode = c->presign ? "query" : "header";
	struct strbuf path = STRBUF_INIT, file = STRBUF_INIT;
	json_error_t jerr;
	json_t *creds;
	const char *akid = NULL, *secret = NULL, *token = NULL, *region = NULL;
	const char *service = NULL, *timestamp = NULL;
	int normalize = 1, sign_body = 0, omit = 0;
	json_int_t expires = 0;

	if (load_request(r, c->dir, "request.txt", &r->req))
		goto out;
	strbuf_addf(&path, "%s/context.json", c->dir);
	r->ctx = json_load_file(path.buf, 0, &jerr);
	if (!r->ctx ||
	    json_unpack_ex(r->ctx, &jerr, 0, "{s:o, s:s, s:s, s:s, s:I, s:b, s:b, s?b}",
			   "credentials", &creds, "region", &region, "service", &service,
			   "timestamp", &timestamp, "expiration_in_seconds", &expires, "normalize",
			   &normalize, "sign_body", &sign_body, "omit_session_token", &omit) ||
	    json_unpack_ex(creds, &jerr, 0, "{s:s, s:s, s?s}", "access_key_id", &akid,
			   "secret_access_key", &secret, "token", &token)) {
		strbuf_addf(&r->errs, "  bad '%s': %s\n", path.buf, jerr.text);
		goto out;
	}
	r->creds.access_key_id = xstrdup(akid);
	r->creds.secret_access_key = xstrdup(secret);
	r->creds.session_token = xstrdup_or_null(token);
	r->params.region = region;
	r->params.service = service;
	if (parse_time(timestamp, &r->params.now)) {
		strbuf_addf(&r->errs, "  bad timestamp '%s'\n", timestamp);
		goto out;
	}
	r->params.normalize_path = normalize;
	r->params.single_encode_path = 0;
	r->params.unsigned_body = !sign_body;
	r->params.add_content_sha256 = sign_body && !c->presign;
	r->params.omit_session_token = omit;
	r->params.expires = (long)expires;
	/* The signer adds X-Amz-Date; request.txt has none, but never sign it twice. */
	r->amz_date = raw_request_take(&r->req, "X-Amz-Date");

	if (do_sign(r, c->presign))
		goto out;
	strbuf_addf(&file, "%s-canonical-request.txt", mode);
	expect_file(&r->errs, c->dir, file.buf, r->out.canonical_request.buf, 0);
	strbuf_reset(&file);
	strbuf_addf(&file, "%s-string-to-sign.txt", mode);
	expect_file(&r->errs, c->dir, file.buf, r->out.string_to_sign.buf, 0);
	strbuf_reset(&file);
	strbuf_addf(&file, "%s-signature.txt", mode);
	expect_file(&r->errs, c->dir, file.buf, r->out.signature, 0);

	strbuf_reset(&file);
	strbuf_addf(&file, "%s-signed-request.txt", mode);
	if (load_request(r, c->dir, file.buf, &r->signed_req))
		goto out;
	if (c->presign) {
		struct strbuf want = STRBUF_INIT, got = STRBUF_INIT;

		query_normalize(&want, r->signed_req.query ? r->signed_req.query : "");
		query_normalize(&got, r->out.presigned_query.buf);
		expect_equal(&r->errs, "presigned query (as a set)", want.buf, want.len, got.buf,
			     got.len);
		strbuf_release(&want);
		strbuf_release(&got);
		if (r->out.nadd_headers || r->out.authorization.len)
			strbuf_addstr(&r->errs, "  presign returned headers\n");
	} else {
		expect_added_headers(&r->errs, &r->req, &r->signed_req, &r->out, 0);
		if (r->out.presigned_query.len)
			strbuf_addstr(&r->errs, "  header signing returned a query\n");
	}
out:
	strbuf_release(&path);
	strbuf_release(&file);
}

static void run_classic(const struct sig_case *c, struct case_run *r)
{
	struct strbuf file = STRBUF_INIT, creq = STRBUF_INIT, sreq = STRBUF_INIT;
	char *token = NULL, *authz_sig;

	strbuf_addf(&file, "%s.req", c->stem);
	if (load_request(r, c->dir, file.buf, &r->req))
		goto out;
	strbuf_reset(&file);
	strbuf_addf(&file, "%s/%s.creq", c->dir, c->stem);
	if (read_whole_file(file.buf, &creq)) {
		strbuf_addf(&r->errs, "  cannot read '%s'\n", file.buf);
		goto out;
	}
	strbuf_reset(&file);
	strbuf_addf(&file, "%s/%s.sreq", c->dir, c->stem);
	if (read_whole_file(file.buf, &sreq) ||
	    parse_raw_request(sreq.buf, sreq.len, &r->signed_req)) {
		strbuf_addf(&r->errs, "  cannot read or parse '%s'\n", file.buf);
		goto out;
	}

	/* The .req is already dated: pass the time instead of signing the header twice. */
	r->amz_date = raw_request_take(&r->req, "X-Amz-Date");
	if (!r->amz_date || parse_time(r->amz_date, &r->params.now)) {
		strbuf_addf(&r->errs, "  .req has no usable X-Amz-Date\n");
		goto out;
	}
	if (r->params.now != utc_from_civil(2015, 8, 30, 12, 36, 0))
		strbuf_addf(&r->errs, "  unexpected X-Amz-Date '%s'\n", r->amz_date);
	/*
	 * The session token, if any, comes with the credentials: from the
	 * .req, else the .creq (signed), else the .sreq (added after signing).
	 */
	token = raw_request_take(&r->req, "X-Amz-Security-Token");
	if (!token)
		token = find_header_line(creq.buf, "x-amz-security-token");
	if (!token)
		token = find_header_line(sreq.buf, "x-amz-security-token");
	r->params.omit_session_token = token && !strstr(creq.buf, "\nx-amz-security-token:");

	r->creds.access_key_id = xstrdup(TEST_AKID);
	r->creds.secret_access_key = xstrdup(TEST_SECRET);
	r->creds.session_token = token;
	token = NULL;
	r->params.region = "us-east-1";
	r->params.service = "service";
	r->params.normalize_path = 1;

	if (do_sign(r, 0))
		goto out;
	expect_equal(&r->errs, ".creq", creq.buf, creq.len, r->out.canonical_request.buf,
		     r->out.canonical_request.len);
	strbuf_reset(&file);
	strbuf_addf(&file, "%s.sts", c->stem);
	expect_file(&r->errs, c->dir, file.buf, r->out.string_to_sign.buf, 0);
	strbuf_reset(&file);
	strbuf_addf(&file, "%s.authz", c->stem);
	expect_file(&r->errs, c->dir, file.buf, r->out.authorization.buf, 0);
	authz_sig = strstr(r->out.authorization.buf, "Signature=");
	if (!authz_sig || strcmp(authz_sig + 10, r->out.signature))
		strbuf_addstr(&r->errs, "  Authorization does not end with the signature\n");
	/*
	 * The headers the .sreq has beyond the .req minus X-Amz-Date and the
	 * token must be the ones returned; its Authorization is compared
	 * through the .authz (one upstream .sreq has a stale signature).
	 */
	expect_added_headers(&r->errs, &r->req, &r->signed_req, &r->out, 1);
out:
	free(token);
	strbuf_release(&file);
	strbuf_release(&creq);
	strbuf_release(&sreq);
}

static void run_smithy(const struct sig_case *c, struct case_run *r)
{
	char *authz = NULL;

	if (load_request(r, c->dir, "request.txt", &r->req) ||
	    load_request(r, c->dir, "header-signed-request.txt", &r->signed_req))
		return;
	r->amz_date = raw_request_take(&r->req, "X-Amz-Date");
	if (!r->amz_date || parse_time(r->amz_date, &r->params.now) ||
	    r->params.now != utc_from_civil(2021, 5, 11, 15, 40, 45)) {
		strbuf_addstr(&r->errs, "  request.txt has no X-Amz-Date 20210511T154045Z\n");
		return;
	}
	r->creds.access_key_id = xstrdup(TEST_AKID);
	r->creds.secret_access_key = xstrdup(TEST_SECRET);
	r->params.region = "us-east-2";
	r->params.service = "lambda";
	r->params.normalize_path = 1;
	if (do_sign(r, 0))
		return;
	expect_file(&r->errs, c->dir, "header-canonical-request.txt", r->out.canonical_request.buf,
		    0);
	/* This file alone ends with a newline that is not part of the string to sign. */
	expect_file(&r->errs, c->dir, "header-string-to-sign.txt", r->out.string_to_sign.buf, 1);
	authz = xstrdup_or_null(raw_request_get(&r->signed_req, "Authorization"));
	if (!authz) {
		strbuf_addstr(&r->errs, "  no Authorization in header-signed-request.txt\n");
		return;
	}
	expect_equal(&r->errs, "Authorization", authz + strspn(authz, " "),
		     strlen(authz + strspn(authz, " ")), r->out.authorization.buf,
		     r->out.authorization.len);
	if (strcmp(r->out.signature,
		   "4b93abbcc68be32bd64c18e2c71150660ab4c29bbd6c32a383a7517a88fc1804"))
		strbuf_addf(&r->errs, "  signature %s\n", r->out.signature);
	free(authz);
}

static void test_case(void **state)
{
	const struct sig_case *c = *state;
	struct case_run r;

	memset(&r, 0, sizeof(r));
	strbuf_init(&r.text, 0);
	strbuf_init(&r.err, 0);
	strbuf_init(&r.errs, 0);
	r.out = (struct sigv4_signed)SIGV4_SIGNED_INIT;
	switch (c->suite) {
	case SUITE_AWS_C_AUTH:
		run_aws_c_auth(c, &r);
		break;
	case SUITE_CLASSIC:
		run_classic(c, &r);
		break;
	case SUITE_SMITHY:
		run_smithy(c, &r);
		break;
	}
	if (r.errs.len) {
		print_error("case %s (%s):\n%s", c->name, c->dir, r.errs.buf);
		case_run_release(&r);
		fail_msg("case %s failed", c->name);
	}
	case_run_release(&r);
}

static void test_suite_counts(void **state)
{
	if (cases.found[SUITE_AWS_C_AUTH] != AWS_C_AUTH_CASES ||
	    cases.found[SUITE_CLASSIC] != CLASSIC_CASES ||
	    cases.found[SUITE_SMITHY] != SMITHY_CASES)
		fail_msg("cases found under %s/sigv4: aws-c-auth %zu (want %d), "
			 "aws4_testsuite %zu (want %d), smithy-rs %zu (want %d)",
			 test_data_dir(), cases.found[SUITE_AWS_C_AUTH], AWS_C_AUTH_CASES,
			 cases.found[SUITE_CLASSIC], CLASSIC_CASES, cases.found[SUITE_SMITHY],
			 SMITHY_CASES);
	print_message("sigv4 cases found: aws-c-auth %zu (x2: header and query), "
		      "aws4_testsuite %zu, smithy-rs %zu\n",
		      cases.found[SUITE_AWS_C_AUTH], cases.found[SUITE_CLASSIC],
		      cases.found[SUITE_SMITHY]);
}

/* ---- unit tests ------------------------------------------------------ */

static void check_encode(const char *in, size_t len, int keep_slash, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "x"); /* appends */
	sigv4_uri_encode(&sb, in, len, keep_slash);
	assert_string_equal(sb.buf + 1, want);
	assert_int_equal(sb.len, strlen(want) + 1);
	strbuf_release(&sb);
}

static void test_uri_encode(void **state)
{
	check_encode("", 0, 0, "");
	check_encode("-._~09AZaz", 10, 0, "-._~09AZaz");
	check_encode("a b/c", 5, 0, "a%20b%2Fc");
	check_encode("a b/c", 5, 1, "a%20b/c");
	check_encode("\xe1\x88\xb4", 3, 0, "%E1%88%B4");
	check_encode("%3A", 3, 1, "%253A");
	check_encode("+*=&;:,!$'()@?#[]", 17, 0,
		     "%2B%2A%3D%26%3B%3A%2C%21%24%27%28%29%40%3F%23%5B%5D");
	check_encode("a\0b", 3, 0, "a%00b");
	check_encode("\x7f\xff", 2, 0, "%7F%FF");
	check_encode("abc", 1, 0, "a"); /* len, not the NUL, ends it */
}

static void check_time(time_t t, const char *want)
{
	char amz[17], date[9];

	memset(amz, '!', sizeof(amz));
	memset(date, '!', sizeof(date));
	sigv4_format_time(t, amz, date);
	assert_string_equal(amz, want);
	assert_int_equal(strlen(date), 8);
	assert_memory_equal(date, want, 8);
}

static void test_format_time(void **state)
{
	time_t t;
	int64_t day;

	check_time(0, "19700101T000000Z");
	check_time(1440938160, "20150830T123600Z");
	check_time(946684799, "19991231T235959Z");
	check_time(951825600, "20000229T120000Z");  /* 2000 is a leap year */
	check_time(1483228799, "20161231T235959Z"); /* day 366 of a leap year */
	check_time(1709251198, "20240229T235958Z");
	check_time((time_t)2147483647, "20380119T031407Z");
	if (sizeof(time_t) >= 8) {
		check_time((time_t)2147483648LL, "20380119T031408Z"); /* past int32 */
		check_time((time_t)4107542399LL, "21000228T235959Z"); /* 2100 is not leap */
		check_time((time_t)4107542400LL, "21000301T000000Z");
		check_time((time_t)13574563201LL, "24000229T000001Z"); /* 2400 is */
		check_time((time_t)253402300799LL, "99991231T235959Z");
		check_time((time_t)253402300800LL, "99991231T235959Z"); /* clamped */
	}
	check_time(-1, "19700101T000000Z"); /* clamped */

	/* Every day 1970..2600 round-trips through core/timeutil's utc_from_civil. */
	for (day = 0; day < utc_from_civil(2600, 1, 1, 0, 0, 0) / 86400; day++) {
		char amz[17], date[9];
		int y, m, d, h, mi, s;

		t = (time_t)(day * 86400 + 86399);
		sigv4_format_time(t, amz, date);
		assert_int_equal(sscanf(amz, "%4d%2d%2dT%2d%2d%2dZ", &y, &m, &d, &h, &mi, &s), 6);
		assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
		assert_true(utc_from_civil(y, m, d, h, mi, s) == t);
	}
}

static void test_sha256_hex(void **state)
{
	char hex[65];

	assert_int_equal(sigv4_sha256_hex("", 0, hex), 0);
	assert_string_equal(hex, EMPTY_SHA256);
	assert_int_equal(sigv4_sha256_hex(NULL, 0, hex), 0);
	assert_string_equal(hex, EMPTY_SHA256);
	assert_int_equal(sigv4_sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(sigv4_sha256_hex(NULL, 1, hex), -1);
}

/* A minimal signable request and parameters. */
static struct aws_credentials test_creds = { (char *)TEST_AKID, (char *)TEST_SECRET, NULL, 0,
					     NULL };
static const struct sigv4_header host_only[] = { { "Host", "example.amazonaws.com" } };

static struct sigv4_params base_params(void)
{
	struct sigv4_params p = { 0 };

	p.creds = &test_creds;
	p.region = "us-east-1";
	p.service = "service";
	p.now = 1440938160;
	p.normalize_path = 1;
	p.expires = 3600;
	return p;
}

/* Line n (0-based) of the canonical request for path/query, signed with p. */
static void canonical_line(const char *path, const char *query, const struct sigv4_params *p,
			   int line, struct strbuf *out)
{
	struct sigv4_request req = { "GET", path, query, host_only, 1, NULL, 0 };
	struct sigv4_signed s = SIGV4_SIGNED_INIT;
	struct strbuf err = STRBUF_INIT;
	const char *b, *e;

	if (sigv4_sign(&req, p, &s, &err))
		fail_msg("sign '%s': %s", path, err.buf);
	b = s.canonical_request.buf;
	while (line-- > 0)
		b = strchr(b, '\n') + 1;
	e = strchrnul(b, '\n');
	strbuf_reset(out);
	strbuf_add(out, b, (size_t)(e - b));
	sigv4_signed_release(&s);
	strbuf_release(&err);
}

static void check_uri(const char *path, int normalize, int single, const char *want)
{
	struct sigv4_params p = base_params();
	struct strbuf got = STRBUF_INIT;

	p.normalize_path = normalize;
	p.single_encode_path = single;
	canonical_line(path, NULL, &p, 1, &got);
	if (strcmp(got.buf, want))
		fail_msg("path '%s' (normalize %d, single %d): got '%s', want '%s'", path,
			 normalize, single, got.buf, want);
	strbuf_release(&got);
}

static void test_canonical_uri(void **state)
{
	check_uri("", 1, 0, "/");
	check_uri("/", 1, 0, "/");
	check_uri("//", 1, 0, "/");
	check_uri("//", 0, 0, "//");
	check_uri("/a/b/../", 1, 0, "/a/");
	check_uri("/a/b/..", 1, 0, "/a");
	check_uri("/a/./b//c/", 1, 0, "/a/b/c/");
	check_uri("/../..", 1, 0, "/");
	check_uri("/a/./b", 0, 0, "/a/./b");
	check_uri("/a b/\xe1\x88\xb4", 1, 0, "/a%20b/%E1%88%B4");
	check_uri("/arn%3Aaws/x", 1, 0, "/arn%253Aaws/x");
	check_uri("/arn%3Aaws/a b", 0, 1, "/arn%3Aaws/a%20b");
	check_uri("/100%/%zz", 0, 1, "/100%25/%25zz");
	check_uri("/my-object//example//photo.user", 0, 1, "/my-object//example//photo.user");
	check_uri("/$delete", 1, 0, "/%24delete");
}

static void check_query(const char *query, const char *want)
{
	struct sigv4_params p = base_params();
	struct strbuf got = STRBUF_INIT;

	canonical_line("/", query, &p, 2, &got);
	if (strcmp(got.buf, want))
		fail_msg("query '%s': got '%s', want '%s'", query, got.buf, want);
	strbuf_release(&got);
}

static void test_canonical_query(void **state)
{
	check_query(NULL, "");
	check_query("", "");
	check_query("b=2&a=1&a=0&c", "a=0&a=1&b=2&c=");
	check_query("&&a=1&", "a=1");
	check_query("a%20b=c%2fd/e", "a%20b=c%2Fd%2Fe");
	check_query("x=a+b", "x=a%2Bb");
	check_query("k=100%", "k=100%25");
	check_query("k==v", "k=%3Dv");
	check_query("B=1&a=2", "B=1&a=2");
}

static void test_headers(void **state)
{
	static const struct sigv4_header h[] = {
		{ "Host", "example.amazonaws.com" },
		{ "User-Agent", "iamkeys/0.1" },
		{ "X-B", "  two\r\n\tlines  here " },
		{ "x-a", "1" },
		{ "X-A", "0" },
		{ "X-Empty", "   " },
	};
	struct sigv4_request req = { "GET", "/", NULL, h, ARRAY_SIZE(h), NULL, 0 };
	struct sigv4_params p = base_params();
	struct sigv4_signed s = SIGV4_SIGNED_INIT;

	assert_int_equal(sigv4_sign(&req, &p, &s, NULL), 0);
	assert_string_equal(s.canonical_request.buf,
			    "GET\n/\n\n"
			    "host:example.amazonaws.com\n"
			    "x-a:1,0\n"
			    "x-amz-date:20150830T123600Z\n"
			    "x-b:two lines here\n"
			    "x-empty:\n"
			    "\n"
			    "host;x-a;x-amz-date;x-b;x-empty\n" EMPTY_SHA256);
	assert_int_equal(s.nadd_headers, 2);
	assert_string_equal(s.add_headers[0].name, "X-Amz-Date");
	assert_string_equal(s.add_headers[0].value, "20150830T123600Z");
	assert_string_equal(s.add_headers[1].name, "Authorization");
	assert_string_equal(s.add_headers[1].value, s.authorization.buf);
	/* Re-signing into the same result releases the old one. */
	assert_int_equal(sigv4_presign(&req, &p, &s, NULL), 0);
	assert_int_equal(s.nadd_headers, 0);
	assert_int_equal(s.authorization.len, 0);
	assert_non_null(strstr(s.presigned_query.buf, "X-Amz-SignedHeaders=host%3Bx-a%3Bx-b"));
	sigv4_signed_release(&s);
	sigv4_signed_release(&s);
	sigv4_signed_release(NULL);
}

/* sigv4_sign (or presign) must fail, leave out empty and say why in err. */
static void expect_error(const struct sigv4_request *req, const struct sigv4_params *p, int presign,
			 const char *needle)
{
	struct sigv4_signed s = SIGV4_SIGNED_INIT;
	struct strbuf err = STRBUF_INIT;
	int ret = (presign ? sigv4_presign : sigv4_sign)(req, p, &s, &err);

	if (ret != -1 || !strstr(err.buf, needle) || strchr(err.buf, '\n') ||
	    s.canonical_request.len || s.nadd_headers || s.signature[0])
		fail_msg("want an error with '%s', got %d '%s'", needle, ret, err.buf);
	strbuf_release(&err);
	sigv4_signed_release(&s);
}

static void test_errors(void **state)
{
	static const struct sigv4_header no_host[] = { { "X-A", "1" } };
	static const struct sigv4_header dated[] = { { "Host", "h" }, { "X-Amz-Date", "x" } };
	static const struct sigv4_header authz[] = { { "Host", "h" }, { "authorization", "x" } };
	static const struct sigv4_header bad_name[] = { { "Host", "h" }, { "Bad Name", "x" } };
	static const struct sigv4_header null_value[] = { { "Host", "h" }, { "X-A", NULL } };
	static const struct sigv4_header tok[] = { { "Host", "h" },
						   { "X-Amz-Security-Token", "t" } };
	struct aws_credentials no_secret = { (char *)TEST_AKID, NULL, NULL, 0, NULL };
	struct aws_credentials bad_akid = { (char *)"AK/ID", (char *)TEST_SECRET, NULL, 0, NULL };
	struct aws_credentials with_token = { (char *)TEST_AKID, (char *)TEST_SECRET, (char *)"t",
					      0, NULL };
	struct sigv4_request req = { "GET", "/", NULL, host_only, 1, NULL, 0 };
	struct sigv4_request r2;
	struct sigv4_params p = base_params(), p2;
	struct sigv4_signed s = SIGV4_SIGNED_INIT;

	p2 = p;
	p2.creds = NULL;
	expect_error(&req, &p2, 0, "no credentials");
	expect_error(&req, &p2, 1, "no credentials");
	p2.creds = &no_secret;
	expect_error(&req, &p2, 0, "secret access key");
	p2.creds = &bad_akid;
	expect_error(&req, &p2, 0, "access key id");
	p2 = p;
	p2.region = NULL;
	expect_error(&req, &p2, 0, "invalid region");
	p2.region = "us-east-1/x";
	expect_error(&req, &p2, 0, "invalid region");
	p2 = p;
	p2.service = "";
	expect_error(&req, &p2, 0, "invalid service");
	p2 = p;
	p2.now = -1;
	expect_error(&req, &p2, 0, "out of range");
	p2 = p;
	p2.expires = 0;
	expect_error(&req, &p2, 1, "expires");
	p2.expires = 604801;
	expect_error(&req, &p2, 1, "expires");
	expect_error(NULL, &p, 0, "no request");
	expect_error(&req, NULL, 0, "no request");
	assert_int_equal(sigv4_sign(&req, &p, NULL, NULL), -1);

	r2 = req;
	r2.method = NULL;
	expect_error(&r2, &p, 0, "method");
	r2 = req;
	r2.path = "relative";
	expect_error(&r2, &p, 0, "does not start with '/'");
	r2 = req;
	r2.body_len = 3;
	expect_error(&r2, &p, 0, "no body");
	r2 = req;
	r2.headers = no_host;
	expect_error(&r2, &p, 0, "no host header");
	r2.nheaders = 0;
	expect_error(&r2, &p, 0, "no host header");
	r2.headers = NULL;
	r2.nheaders = 1;
	expect_error(&r2, &p, 0, "no header array");
	r2 = req;
	r2.headers = dated;
	r2.nheaders = 2;
	expect_error(&r2, &p, 0, "already has a 'X-Amz-Date' header");
	r2.headers = authz;
	expect_error(&r2, &p, 1, "already has a 'authorization' header");
	r2.headers = bad_name;
	expect_error(&r2, &p, 0, "invalid header name 'Bad Name'");
	r2.headers = null_value;
	expect_error(&r2, &p, 0, "has no value");
	r2 = req;
	r2.query = "a=1&X-Amz-Signature=x";
	expect_error(&r2, &p, 1, "already has a 'X-Amz-Signature' parameter");

	/* A token header is an ordinary header, unless the credentials bring one. */
	r2 = req;
	r2.headers = tok;
	r2.nheaders = 2;
	assert_int_equal(sigv4_sign(&r2, &p, &s, NULL), 0);
	assert_non_null(strstr(s.canonical_request.buf, "\nx-amz-security-token:t\n"));
	sigv4_signed_release(&s);
	p2 = p;
	p2.creds = &with_token;
	expect_error(&r2, &p2, 0, "already has a 'X-Amz-Security-Token' header");

	/* The error is appended, and a failure releases an earlier result. */
	{
		struct strbuf err = STRBUF_INIT;

		strbuf_addstr(&err, "prefix: ");
		assert_int_equal(sigv4_sign(&req, &p, &s, &err), 0);
		assert_int_equal(err.len, 8);
		assert_int_equal(sigv4_sign(NULL, &p, &s, &err), -1);
		assert_int_equal(strncmp(err.buf, "prefix: sigv4: ", 15), 0);
		assert_int_equal(s.canonical_request.len, 0);
		assert_int_equal(s.nadd_headers, 0);
		strbuf_release(&err);
	}
}

/*
 * An IAM call as the client sends it: form body, real payload hash, no
 * x-amz-content-sha256. Expected values from botocore 1.29 SigV4Auth
 * (service iam, region us-east-1, time 2024-02-29T23:59:58Z).
 */
static void test_iam_post_botocore(void **state)
{
	static const char body[] = "Action=ListAccessKeys&UserName=alice&Version=2010-05-08";
	static const struct sigv4_header h[] = {
		{ "Host", "iam.amazonaws.com" },
		{ "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
	};
	struct aws_credentials tok = { (char *)TEST_AKID, (char *)TEST_SECRET,
				       (char *)"FwoGZXIvYXdzEXAMPLETOKEN+/==", 0, NULL };
	struct sigv4_request req = { "POST", "/", NULL, h, ARRAY_SIZE(h), body, strlen(body) };
	struct sigv4_params p = base_params();
	struct sigv4_signed s = SIGV4_SIGNED_INIT;
	struct strbuf err = STRBUF_INIT;

	p.region = "us-east-1";
	p.service = "iam";
	p.now = utc_from_civil(2024, 2, 29, 23, 59, 58);
	assert_int_equal(p.now, 1709251198);
	if (sigv4_sign(&req, &p, &s, &err))
		fail_msg("%s", err.buf);
	assert_string_equal(s.canonical_request.buf,
			    "POST\n/\n\n"
			    "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
			    "host:iam.amazonaws.com\n"
			    "x-amz-date:20240229T235958Z\n\n"
			    "content-type;host;x-amz-date\n"
			    "a41becadf1ba587fff1a2736a3b4d32bdedb0ca868dca990cef3371001c55067");
	assert_string_equal(s.string_to_sign.buf,
			    "AWS4-HMAC-SHA256\n20240229T235958Z\n"
			    "20240229/us-east-1/iam/aws4_request\n"
			    "6a9a7017f1c9d83ae8ccb2a8377b20a642fa782fa5f85792fc29650c634deffe");
	assert_string_equal(s.signature,
			    "255772652e5ca4f3b71c044a992002362bea79ca30c9bc5b85dcffb475e58526");
	assert_string_equal(
		s.authorization.buf,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240229/us-east-1/iam/"
		"aws4_request, SignedHeaders=content-type;host;x-amz-date, "
		"Signature=255772652e5ca4f3b71c044a992002362bea79ca30c9bc5b85dcffb475e58526");

	/* With a session token, signed (botocore's default). */
	p.creds = &tok;
	if (sigv4_sign(&req, &p, &s, &err))
		fail_msg("%s", err.buf);
	assert_string_equal(s.signature,
			    "80daee033210fbcdf261a19f7ba291b93f92a44ce39beec742ab208fecf67a22");
	assert_int_equal(s.nadd_headers, 3);
	assert_string_equal(s.add_headers[1].name, "X-Amz-Security-Token");
	assert_string_equal(s.add_headers[1].value, "FwoGZXIvYXdzEXAMPLETOKEN+/==");
	assert_non_null(strstr(s.authorization.buf,
			       "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"));
	sigv4_signed_release(&s);
	strbuf_release(&err);
}

int main(void)
{
	static const struct CMUnitTest unit[] = {
		cmocka_unit_test(test_suite_counts),	  cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_format_time),	  cmocka_unit_test(test_sha256_hex),
		cmocka_unit_test(test_canonical_uri),	  cmocka_unit_test(test_canonical_query),
		cmocka_unit_test(test_headers),		  cmocka_unit_test(test_errors),
		cmocka_unit_test(test_iam_post_botocore),
	};
	struct CMUnitTest *tests;
	size_t i, n;
	int failed;

	discover_cases();
	n = ARRAY_SIZE(unit) + cases.nr;
	tests = xcalloc(n, sizeof(*tests));
	memcpy(tests, unit, sizeof(unit));
	for (i = 0; i < cases.nr; i++) {
		struct CMUnitTest *t = &tests[ARRAY_SIZE(unit) + i];

		t->name = cases.items[i].name;
		t->test_func = test_case;
		t->initial_state = &cases.items[i];
	}
	failed = _cmocka_run_group_tests("sigv4", tests, n, NULL, NULL);
	free(tests);
	free_cases();
	return failed;
}
