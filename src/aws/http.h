#ifndef IAMKEYS_HTTP_H
#define IAMKEYS_HTTP_H
/*
 * The HTTP transport is a vtable, so unit tests plug in a scripted fake
 * (tests/unit/fake_transport.[ch]) that checks each request and returns a
 * canned reply. The real one is libcurl (http_curl.c).
 */
#include <stddef.h>
#include "core/strbuf.h"

/* A response header (owned by the response). */
struct http_header {
	char *name;
	char *value;
};

/* A request header (borrowed; no CR or LF in either, no ':' in the name). */
struct http_request_header {
	const char *name;
	const char *value;
};

/* Everything borrowed from the caller for the duration of http_perform. */
struct http_request {
	const char *method;
	const char *url; /* full URL, query included */
	const struct http_request_header *headers;
	size_t nheaders;
	const char *body;
	size_t body_len;
	/*
	 * Use a new connection. For requests that must never be sent twice
	 * (CreateAccessKey): on a reused connection that dies before the
	 * reply, libcurl silently sends the request again on a fresh one.
	 */
	int fresh_connection;
};

enum http_transport_error {
	HTTP_OK = 0,	  /* a complete response was received (any status) */
	HTTP_ERR_CONNECT, /* could not connect: the request was never sent */
	HTTP_ERR_TIMEOUT, /* timed out: the request may have been processed */
	HTTP_ERR_RECV,	  /* connection reset / truncated body after sending */
	HTTP_ERR_OTHER,	  /* TLS, bad URL, ... */
};

/*
 * A response, or the transport error that prevented one. The body is wiped
 * when released or reset (it may hold a new secret access key).
 */
struct http_response {
	long status;
	struct strbuf body;
	struct http_header *headers; /* names lowercased */
	size_t nheaders, alloc;
	enum http_transport_error error;
	struct strbuf error_text; /* one line, when error != HTTP_OK */
};
#define HTTP_RESPONSE_INIT                                                                         \
	{                                                                                          \
		0, STRBUF_INIT, NULL, 0, 0, HTTP_OK, STRBUF_INIT                                   \
	}
void http_response_release(struct http_response *r);
/* Back to HTTP_RESPONSE_INIT's state, keeping allocations. */
void http_response_reset(struct http_response *r);
/* Case-insensitive header lookup, or NULL (the first one of that name). */
const char *http_response_header(const struct http_response *r, const char *name);
/* Appends a header (copies; the name is lowercased). */
void http_response_add_header(struct http_response *r, const char *name, size_t name_len,
			      const char *value, size_t value_len);
/* Sets error and a one-line error_text (newlines become spaces). */
void http_response_set_error(struct http_response *r, enum http_transport_error error,
			     const char *text);

struct http_transport;
struct http_transport_vtable {
	/* Always fills resp (error or status); returns 0 if a response arrived, -1 otherwise. */
	int (*perform)(struct http_transport *t, const struct http_request *req,
		       struct http_response *resp);
	void (*destroy)(struct http_transport *t);
};
struct http_transport {
	const struct http_transport_vtable *vt;
};

struct http_options {
	long connect_timeout_ms; /* 0 = 5000; -1 = none (see http_curl_connect_timeout) */
	long total_timeout_ms;	 /* default 60000; -1 = none */
	/* No byte received for this long ends the transfer (a peer that
	 * accepts but never answers); 0 = no such limit. */
	long read_timeout_ms;
	const char *ca_bundle;	/* AWS_CA_BUNDLE, or NULL */
	const char *user_agent; /* "iamkeys/<version>" */
};
/*
 * libcurl transport: one easy handle reused across calls (keep-alive), TLS
 * verification always on, proxies from the usual environment variables
 * (http_proxy, https_proxy / HTTPS_PROXY, all_proxy, no_proxy / NO_PROXY,
 * read by libcurl itself; like curl, uppercase HTTP_PROXY is ignored).
 * Response bodies over 64 MiB are an error. Not thread-safe: one transport
 * per thread. opts NULL = defaults; strings are copied. NULL on failure.
 * The caller frees it with http_transport_destroy.
 */
struct http_transport *http_curl_new(const struct http_options *opts);
/*
 * Global init (curl_global_init); call once from main before any thread
 * starts. The transport sets CURLOPT_NOSIGNAL (required with threads), so
 * this also ignores SIGPIPE, as libcurl's documentation asks. 0 / -1.
 */
int http_global_init(void);
/*
 * The CURLOPT_CONNECTTIMEOUT_MS value for an http_options connect timeout
 * already defaulted (> 0: that many ms; < 0: none). libcurl reads 0 as its
 * built-in 300 s, so "none" is the largest value it takes (INT_MAX ms,
 * 24 days): the connect then waits as long as the system's TCP connect
 * does, as the AWS CLI's --cli-connect-timeout 0 (blocking).
 */
long http_curl_connect_timeout(long ms);
void http_global_cleanup(void);

static inline int http_perform(struct http_transport *t, const struct http_request *req,
			       struct http_response *resp)
{
	return t->vt->perform(t, req, resp);
}
static inline void http_transport_destroy(struct http_transport *t)
{
	if (t)
		t->vt->destroy(t);
}

#endif
