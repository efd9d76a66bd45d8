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
	time_t now;
	int normalize_path;        /* remove . and .. segments, collapse // */
	int single_encode_path;    /* 1 for S3; 0 = double-encode (every other service) */
	int add_content_sha256;    /* sign an x-amz-content-sha256 header */
	int omit_session_token;    /* sign without the token, add it afterwards */
	int unsigned_body;         /* payload hash = sha256("") (aws-c-auth sign_body=false) */
	long expires;              /* presign only: X-Amz-Expires seconds */
};

/*
 * The result of signing. Header mode: add_headers lists the headers the
 * caller must add to the request (X-Amz-Date, optional X-Amz-Security-Token,
 * optional x-amz-content-sha256, Authorization), names and values owned here.
 * Presign mode: presigned_query is the full query string to send (the
 * original parameters plus X-Amz-* and X-Amz-Signature), already encoded.
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
#define SIGV4_SIGNED_INIT { STRBUF_INIT, STRBUF_INIT, "", STRBUF_INIT, STRBUF_INIT, {{0, 0}}, 0 }

/* Signs with the Authorization header. 0 on success, -1 with err set. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
	       struct sigv4_signed *out, struct strbuf *err);
/* Presigns (query-string signing). 0 on success, -1 with err set. */
int sigv4_presign(const struct sigv4_request *req, const struct sigv4_params *p,
		  struct sigv4_signed *out, struct strbuf *err);
void sigv4_signed_release(struct sigv4_signed *s);

/* Lowercase hex SHA-256 of data into out[65]. 0 / -1. */
int sigv4_sha256_hex(const void *data, size_t len, char out[65]);
/* "20150830T123600Z" into out[17] and "20150830" into date[9] for t (UTC). */
void sigv4_format_time(time_t t, char amz[17], char date[9]);
/* RFC 3986 percent-encoding of everything but unreserved (A-Za-z0-9-._~). */
void sigv4_uri_encode(struct strbuf *out, const char *s, size_t len, int keep_slash);

#endif
