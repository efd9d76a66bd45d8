/*
 * The libcurl HTTP transport, and the response helpers every transport uses.
 *
 * One easy handle per transport, reset (which keeps its live connections,
 * DNS and TLS session caches) and set up again for every request. TLS peer
 * and host verification are never turned off. Proxies: CURLOPT_PROXY is
 * never set, so libcurl reads http_proxy, https_proxy / HTTPS_PROXY,
 * all_proxy and no_proxy / NO_PROXY itself when connecting. Nothing is
 * logged here: no verbose output, no request bodies, no headers.
 * Not thread-safe: one transport per thread.
 */
#include "core/compat.h"
#include "aws/readfile.h"
#include "aws/http.h"
#include "aws/process.h"

#include <sys/socket.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

void http_response_reset(struct http_response *r)
{
	size_t i;

	if (r->body.alloc)
		OPENSSL_cleanse(r->body.buf, r->body.len);
	strbuf_reset(&r->body);
	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	r->nheaders = 0;
	r->status = 0;
	r->error = HTTP_OK;
	strbuf_reset(&r->error_text);
}

void http_response_release(struct http_response *r)
{
	if (!r)
		return;
	http_response_reset(r);
	free(r->headers);
	r->headers = NULL;
	r->alloc = 0;
	strbuf_release_secret(&r->body);
	strbuf_release(&r->error_text);
}

const char *http_response_header(const struct http_response *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

void http_response_add_header(struct http_response *r, const char *name, size_t name_len,
			      const char *value, size_t value_len)
{
	struct http_header *h;
	size_t i;

	ALLOC_GROW(r->headers, r->nheaders + 1, r->alloc);
	h = &r->headers[r->nheaders++];
	h->name = xmemdupz(name, name_len);
	for (i = 0; i < name_len; i++)
		h->name[i] = (char)tolower((unsigned char)h->name[i]);
	h->value = xmemdupz(value, value_len);
}

void http_response_set_error(struct http_response *r, enum http_transport_error error,
			     const char *text)
{
	size_t i;

	r->error = error;
	strbuf_reset(&r->error_text);
	strbuf_addstr(&r->error_text, text && *text ? text : "unknown error");
	for (i = 0; i < r->error_text.len; i++)
		if (iscntrl((unsigned char)r->error_text.buf[i]))
			r->error_text.buf[i] = ' ';
	strbuf_trim(&r->error_text);
}

struct curl_transport {
	struct http_transport base;
	CURL *curl;
	long connect_timeout_ms;
	long total_timeout_ms;
	long read_timeout_ms;
	char *ca_bundle;
	char *user_agent;
	int fds_marked; /* the handle's own descriptors are close-on-exec */
	/* per request */
	struct http_response *resp;
	int body_too_large;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct curl_transport *t = userdata;
	size_t n = size * nmemb;

	if (n > LIMIT_HTTP_BODY || t->resp->body.len > LIMIT_HTTP_BODY - n) {
		t->body_too_large = 1;
		return 0; /* CURLE_WRITE_ERROR */
	}
	strbuf_add(&t->resp->body, data, n);
	return n;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct curl_transport *t = userdata;
	struct http_response *r = t->resp;
	size_t n = size * nmemb, len = n;
	const char *colon, *v, *end;

	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len >= 5 && !memcmp(data, "HTTP/", 5)) {
		/* a new response (after 100 Continue, a redirect...): start over */
		size_t i;

		for (i = 0; i < r->nheaders; i++) {
			free(r->headers[i].name);
			free(r->headers[i].value);
		}
		r->nheaders = 0;
		return n;
	}
	if (!len)
		return n;
	if ((*data == ' ' || *data == '\t') && r->nheaders) {
		/* obsolete line folding: append to the previous value */
		struct http_header *h = &r->headers[r->nheaders - 1];
		struct strbuf sb = STRBUF_INIT;

		while (len && (*data == ' ' || *data == '\t')) {
			data++;
			len--;
		}
		strbuf_addstr(&sb, h->value);
		strbuf_addch(&sb, ' ');
		strbuf_add(&sb, data, len);
		strbuf_trim(&sb);
		free(h->value);
		h->value = strbuf_detach(&sb, NULL);
		return n;
	}
	colon = memchr(data, ':', len);
	if (!colon || colon == data)
		return n;
	v = colon + 1;
	end = data + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	http_response_add_header(r, data, colon - data, v, end - v);
	return n;
}

static enum http_transport_error map_curl_code(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return HTTP_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_ERR_TIMEOUT;
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
		return HTTP_ERR_RECV;
	default:
		return HTTP_ERR_OTHER;
	}
}

/*
 * Sockets close on exec: a child (credential_process, an exec sink) never
 * inherits a connection to AWS. libcurl's own socket() call has no
 * SOCK_CLOEXEC, so this opens them. The first time, it also marks what
 * libcurl made before connecting without the flag: the wakeup socket pair
 * of the handle's multi, made by the first perform, kept for good.
 */
static curl_socket_t open_socket_cb(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct curl_transport *t = ctx;
	(void)purpose;
	if (!t->fds_marked) {
		process_cloexec_all();
		t->fds_marked = 1;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int has_newline(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

/*
 * The request's headers as a curl list in *headers (freed, and wiped, by
 * the caller): 0, or -1 with resp's error set. Header values may be
 * secrets (tokens): line is grown once, so it is wiped at the end.
 */
static int build_headers(const struct http_request *req, struct curl_slist **headers,
			 struct strbuf *line, struct http_response *resp)
{
	struct curl_slist *tmp;
	size_t i, max = 0;

	for (i = 0; i < req->nheaders; i++) {
		size_t n = strlen(req->headers[i].name) + strlen(req->headers[i].value) + 3;

		if (n > max)
			max = n;
	}
	strbuf_grow(line, max + 1);
	for (i = 0; i < req->nheaders; i++) {
		const struct http_request_header *h = &req->headers[i];

		if (has_newline(h->name) || has_newline(h->value) || strchr(h->name, ':')) {
			http_response_set_error(resp, HTTP_ERR_OTHER, "invalid request header");
			return -1;
		}
		strbuf_reset(line);
		if (*h->value)
			strbuf_addf(line, "%s: %s", h->name, h->value);
		else
			strbuf_addf(line, "%s;", h->name); /* curl's syntax for an empty value */
		tmp = curl_slist_append(*headers, line->buf);
		if (!tmp)
			goto oom;
		*headers = tmp;
	}
	/* no "Expect: 100-continue" round trip for large bodies */
	tmp = curl_slist_append(*headers, "Expect:");
	if (!tmp)
		goto oom;
	*headers = tmp;
	return 0;
oom:
	http_response_set_error(resp, HTTP_ERR_OTHER, "out of memory");
	return -1;
}

/* Every option of one transfer on the reset handle: CURLE_OK, or the code and *failed_opt. */
static CURLcode set_options(struct curl_transport *t, const struct http_request *req,
			    struct curl_slist *headers, const char **failed_opt)
{
	CURL *c = t->curl;
	CURLcode rc;

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if ((rc = curl_easy_setopt(c, opt, val)) != CURLE_OK) {                            \
			*failed_opt = #opt;                                                        \
			return rc;                                                                 \
		}                                                                                  \
	} while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
	SET(CURLOPT_OPENSOCKETDATA, t);
	SET(CURLOPT_VERBOSE, 0L);
	SET(CURLOPT_ERRORBUFFER, t->errbuf);
	SET(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (t->ca_bundle)
		SET(CURLOPT_CAINFO, t->ca_bundle);
	SET(CURLOPT_CONNECTTIMEOUT_MS, http_curl_connect_timeout(t->connect_timeout_ms));
	SET(CURLOPT_TIMEOUT_MS, t->total_timeout_ms > 0 ? t->total_timeout_ms : 0L);
	if (t->read_timeout_ms > 0) {
		/* less than 1 byte a second over the read timeout: nothing came */
		SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
		SET(CURLOPT_LOW_SPEED_TIME, (t->read_timeout_ms + 999) / 1000);
	}
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	/* each worker's handle keeps its receive buffer: 4 KB, not 16 (peak RSS) */
	/* Only a memory saving: libcurl 7.88 refuses it on a handle whose
	 * last transfer failed to resolve the host (the retry then reported
	 * "a libcurl function was given a bad argument"), so a refusal is not
	 * an error. */
	(void)curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 4096L);
	/* on a reused connection libcurl may re-send a request whose reply was lost */
	SET(CURLOPT_FRESH_CONNECT, req->fresh_connection ? 1L : 0L);
	SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	if (t->user_agent)
		SET(CURLOPT_USERAGENT, t->user_agent);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, t);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, t);
	if (!strcmp(req->method, "GET")) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(req->method, "POST"))
			SET(CURLOPT_CUSTOMREQUEST, req->method);
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SET(CURLOPT_POSTFIELDS, req->body_len ? req->body : "");
	}
#undef SET
	return CURLE_OK;
}

/* What a finished curl_easy_perform says, into resp. */
static void take_result(struct curl_transport *t, CURLcode rc, struct http_response *resp)
{
	CURL *c = t->curl;
	enum http_transport_error e;
	long status = 0, proxy_status = 0;

	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		resp->status = status;
		return;
	}
	if (t->body_too_large) {
		http_response_set_error(resp, HTTP_ERR_OTHER, "response body larger than 64 MiB");
		return;
	}
	e = map_curl_code(rc);
	/* a proxy refused the tunnel: nothing reached AWS */
	if (curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &proxy_status) == CURLE_OK &&
	    proxy_status >= 300)
		e = HTTP_ERR_CONNECT;
	http_response_set_error(resp, e, t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
}

static int curl_perform(struct http_transport *base, const struct http_request *req,
			struct http_response *resp)
{
	struct curl_transport *t = (struct curl_transport *)base;
	struct curl_slist *headers = NULL, *tmp;
	struct strbuf line = STRBUF_INIT;
	CURL *c = t->curl;
	CURLcode rc;
	const char *failed_opt = "";

	http_response_reset(resp);
	/*
	 * Room for a typical reply up front, so a secret is not left in a
	 * freed block: replies carrying one (CreateAccessKey, AssumeRole with
	 * its session token, GetRoleCredentials, GetSecretValue) are 1-3 KB.
	 */
	strbuf_grow(&resp->body, 8192);
	t->resp = resp;
	t->body_too_large = 0;
	t->errbuf[0] = '\0';

	if (has_newline(req->url) || has_newline(req->method)) {
		http_response_set_error(resp, HTTP_ERR_OTHER, "invalid request line");
		goto out;
	}
	if (build_headers(req, &headers, &line, resp) < 0)
		goto out;
	curl_easy_reset(c);
	rc = set_options(t, req, headers, &failed_opt);
	if (rc != CURLE_OK) {
		strbuf_reset(&line);
		strbuf_addf(&line, "libcurl refused %s: %s", failed_opt, curl_easy_strerror(rc));
		http_response_set_error(resp, HTTP_ERR_OTHER, line.buf);
		goto out;
	}
	take_result(t, curl_easy_perform(c), resp);
out:
	/* the handle must not point at freed memory between calls */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	for (tmp = headers; tmp; tmp = tmp->next)
		OPENSSL_cleanse(tmp->data, strlen(tmp->data));
	curl_slist_free_all(headers);
	strbuf_release_secret(&line);
	t->resp = NULL;
	return resp->error == HTTP_OK ? 0 : -1;
}

static void curl_destroy(struct http_transport *base)
{
	struct curl_transport *t = (struct curl_transport *)base;

	curl_easy_cleanup(t->curl);
	FREE_ALL(t->ca_bundle, t->user_agent);
	free(t);
}

long http_curl_connect_timeout(long ms)
{
	return ms > 0 ? ms : (long)INT_MAX;
}

static const struct http_transport_vtable curl_vtable = {
	curl_perform,
	curl_destroy,
};

struct http_transport *http_curl_new(const struct http_options *opts)
{
	struct curl_transport *t = xcalloc(1, sizeof(*t));

	t->base.vt = &curl_vtable;
	t->curl = curl_easy_init();
	if (!t->curl) {
		free(t);
		return NULL;
	}
	t->connect_timeout_ms = opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : 5000;
	t->total_timeout_ms = opts && opts->total_timeout_ms ? opts->total_timeout_ms : 60000;
	t->read_timeout_ms = opts ? opts->read_timeout_ms : 0;
	if (opts && opts->ca_bundle && *opts->ca_bundle)
		t->ca_bundle = xstrdup(opts->ca_bundle);
	t->user_agent = xstrdup(opts && opts->user_agent ? opts->user_agent : "iamkeys");
	return &t->base;
}

int http_global_init(void)
{
	/* CURLOPT_NOSIGNAL: a peer closing the connection must not kill us */
	signal(SIGPIPE, SIG_IGN);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}
