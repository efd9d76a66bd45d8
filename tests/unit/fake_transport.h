#ifndef IAMKEYS_FAKE_TRANSPORT_H
#define IAMKEYS_FAKE_TRANSPORT_H
/*
 * A scripted HTTP transport for unit tests (after Fluent Bit's
 * aws_client_mock.h): each step says what the next request must look like
 * and what to answer. Every request is checked (cmocka assertions) as it
 * arrives and recorded for later inspection. Linked into every unit-test
 * binary: every symbol starts with fake_.
 */
#include <time.h>
#include "aws/http.h"

#define FAKE_MAX 8

struct fake_step {
	/* Expectations; NULL = not checked. */
	const char *method;
	const char *url;
	const char *body;		     /* the exact body */
	const char *body_contains[FAKE_MAX]; /* substrings the body must contain */
	const char *body_lacks[FAKE_MAX];    /* substrings it must not contain */
	/* "Name: prefix": the header is present and its value starts with prefix
	 * ("Name:" alone: just present). Names compare case-insensitively. */
	const char *headers[FAKE_MAX];
	const char *headers_absent[FAKE_MAX]; /* header names */

	/* The reply: a transport error, or a response. */
	enum http_transport_error error;     /* HTTP_OK = answer with a response */
	const char *error_text;		     /* NULL = "fake transport error" */
	long status;			     /* 0 = 200 */
	const char *reply_headers[FAKE_MAX]; /* "Name: value" */
	const char *reply_body;		     /* NULL = "" */
	long clock_advance_s;		     /* fake_clock_now moves on this much meanwhile */
};

/* A recorded request (owned by the transport). */
struct fake_request {
	char *method;
	char *url;
	char *body;
	size_t body_len;
	struct http_header *headers;
	size_t nheaders;
};

/* steps are borrowed (they must outlive the transport). Destroy with
 * http_transport_destroy (an aws_client does it for the transport it owns). */
struct http_transport *fake_transport_new(const struct fake_step *steps, size_t nsteps);
/* How many requests arrived so far. */
size_t fake_transport_count(struct http_transport *t);
/* The i-th request (0-based), or NULL. */
const struct fake_request *fake_transport_request(struct http_transport *t, size_t i);
/* Asserts every scripted step was consumed. */
void fake_transport_assert_done(struct http_transport *t);
/* A request header's value (case-insensitive name), or NULL. */
const char *fake_request_header(const struct fake_request *r, const char *name);

/* An environment for aws_getenv_fn: ctx is a NULL-terminated array of "NAME=value". */
const char *fake_getenv(void *ctx, const char *name);

/* A clock for aws_client_config.now: fake_clock_now, which a step's
 * clock_advance_s moves on while the request is "in flight". */
extern time_t fake_clock_now;
time_t fake_clock(void);

/* A sleep_ms that records instead of sleeping. */
struct fake_sleeps {
	long ms[64];
	int n;
};
void fake_sleep_ms(void *ctx, long ms);
/* A random01 returning *(double *)ctx. */
double fake_random_fixed(void *ctx);

/* A transport that forwards every request to another (borrowed; outlives it). */
struct http_transport *fake_forward_new(struct http_transport *to);

/* The AWS documentation's example credentials. */
#define FAKE_ACCESS_KEY_ID "AKIDEXAMPLE"
#define FAKE_SECRET_ACCESS_KEY "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

/*
 * A client signing with the example credentials (and token, unless NULL)
 * over fake_transport_new(steps, n), reading env (NULL-terminated
 * "NAME=value") and the clock now. With sleeps, its retries record their
 * waits there instead of sleeping, with the jitter fixed at *jitter. Fails
 * the test when it cannot be made.
 */
struct aws_client;
struct aws_client *fake_client_new(const struct fake_step *steps, size_t n, const char *const *env,
				   time_t (*now)(void), const char *token,
				   struct fake_sleeps *sleeps, double *jitter);

#endif
