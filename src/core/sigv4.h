#ifndef IAMKEYS_SIGV4_H
#define IAMKEYS_SIGV4_H
/*
 * AWS Signature Version 4, pure: no clock, no I/O. The caller passes the
 * time. Every OpenSSL return code is checked; derived keys are wiped.
 */
#include <stddef.h>
#include <time.h>
#include "core/strbuf.h"
#include "core/awscreds.h"

struct sigv4_header {
	const char *name;  /* any case; canonicalised to lowercase */
	const char *value; /* raw; trimmed and inner runs of spaces collapsed */
};

/*
 * The request to sign; nothing here is modified or kept.
 *
 * path is taken literally and must start with '/' ("" or NULL means "/").
 * Every byte but A-Za-z0-9-._~ and '/' is percent-encoded in the canonical
 * URI, so a space becomes %20, UTF-8 becomes %E1%88%B4 and, unless
 * single_encode_path, an escape already in the path is encoded again
 * ("%3A" -> "%253A": what every service but S3 expects when the path on
 * the wire is "%3A"). With single_encode_path (S3) well-formed %XX escapes
 * are kept as they are.
 *
 * query is split on '&'; each key and value is percent-decoded and then
 * RFC 3986-encoded ('+' is a literal plus); "key" without '=' has an empty
 * value; parameters are sorted by encoded key, then value.
 *
 * Every header is signed except connection, expect, transfer-encoding,
 * user-agent and x-amzn-trace-id (they may change in transit). A request
 * that already has Authorization or X-Amz-Date (or X-Amz-Security-Token
 * when the credentials carry a token, or x-amz-content-sha256 with
 * add_content_sha256, in header mode) is refused.
 */
struct sigv4_request {
	const char *method;
	const char *path;  /* raw, not encoded (may hold spaces/UTF-8/%XX); "" means "/" */
	const char *query; /* raw query string after '?', or NULL */
	const struct sigv4_header *headers; /* must contain host */
	size_t nheaders;
	const void *body; /* may be NULL when body_len is 0 */
	size_t body_len;
};

struct sigv4_params {
	const struct aws_credentials *creds;
	const char *region;
	const char *service;
	time_t now;		/* 1970-01-01 .. 9999-12-31, UTC */
	int normalize_path;	/* remove . and .. segments, collapse // */
	int single_encode_path; /* 1 for S3; 0 = double-encode (every other service) */
	int add_content_sha256; /* sign an x-amz-content-sha256 header */
	int omit_session_token; /* sign without the token, add it afterwards */
	int unsigned_body;	/* payload hash = sha256("") (aws-c-auth sign_body=false) */
	long expires;		/* presign only: X-Amz-Expires seconds, 1..604800 */
};

/*
 * The result of signing. Header mode: add_headers lists the headers the
 * caller must add to the request (X-Amz-Date, optional X-Amz-Security-Token,
 * optional x-amz-content-sha256, Authorization), names and values owned here.
 * The token header is listed whether or not it was signed (omit_session_token).
 * Presign mode: presigned_query is the full query string to send (the
 * original parameters plus X-Amz-* and X-Amz-Signature), already encoded:
 * the canonical query, then X-Amz-Security-Token when omit_session_token,
 * then X-Amz-Signature. In presign mode add_content_sha256 is ignored.
 * Everything is owned by the struct; sigv4_signed_release() wipes and frees it.
 */
struct sigv4_signed {
	struct strbuf canonical_request;
	struct strbuf string_to_sign;
	char signature[65];
	struct strbuf authorization;   /* header mode: the Authorization value */
	struct strbuf presigned_query; /* presign mode */
	struct {
		char *name;
		char *value;
	} add_headers[4];
	size_t nadd_headers;
};
#define SIGV4_SIGNED_INIT                                                                          \
	{                                                                                          \
		STRBUF_INIT, STRBUF_INIT, "", STRBUF_INIT, STRBUF_INIT, { { 0, 0 } }, 0            \
	}

/*
 * Signs with the Authorization header. out must be SIGV4_SIGNED_INIT or a
 * result signed before (it is released first). 0 on success; -1 with a
 * one-line message appended to err (err may be NULL) and out released.
 */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
	       struct sigv4_signed *out, struct strbuf *err);
/* Presigns (query-string signing). Same contract as sigv4_sign(). */
int sigv4_presign(const struct sigv4_request *req, const struct sigv4_params *p,
		  struct sigv4_signed *out, struct strbuf *err);
/* Wipes and frees; leaves *s as SIGV4_SIGNED_INIT. NULL-safe. */
void sigv4_signed_release(struct sigv4_signed *s);

/* Lowercase hex SHA-256 of data into out[65]. 0 / -1. */
int sigv4_sha256_hex(const void *data, size_t len, char out[65]);
/*
 * "20150830T123600Z" into amz[17] and "20150830" into date[9] for t (UTC).
 * t is clamped to 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
 */
void sigv4_format_time(time_t t, char amz[17], char date[9]);
/*
 * Appends the RFC 3986 percent-encoding (uppercase hex) of len bytes of s:
 * everything but unreserved (A-Za-z0-9-._~), and '/' when keep_slash.
 */
void sigv4_uri_encode(struct strbuf *out, const char *s, size_t len, int keep_slash);

#endif
