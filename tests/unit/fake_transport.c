#include "core/compat.h"
#include "fake_transport.h"
#include "core/strbuf.h"
#include "aws/client.h"
#include "aws/credentials.h"

#include <setjmp.h>
#include <cmocka.h>

struct fake_transport {
	struct http_transport base;
	const struct fake_step *steps;
	size_t nsteps, next;
	struct fake_request *reqs;
	size_t nreqs, alloc;
};

static const char *header_of(const struct http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nheaders; i++)
		if (!strcasecmp(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}

const char *fake_request_header(const struct fake_request *r, const char *name)
{
	size_t i;

	for (i = 0; r && i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

static void record(struct fake_transport *t, const struct http_request *req)
{
	struct fake_request *r;
	size_t i;

	ALLOC_GROW(t->reqs, t->nreqs + 1, t->alloc);
	r = &t->reqs[t->nreqs++];
	r->method = xstrdup(req->method);
	r->url = xstrdup(req->url);
	r->body = xmemdupz(req->body ? req->body : "", req->body_len);
	r->body_len = req->body_len;
	r->nheaders = req->nheaders;
	r->headers = xcalloc(req->nheaders + 1, sizeof(*r->headers));
	for (i = 0; i < req->nheaders; i++) {
		r->headers[i].name = xstrdup(req->headers[i].name);
		r->headers[i].value = xstrdup(req->headers[i].value);
	}
}

static void check_request(const struct fake_step *s, size_t n, const struct http_request *req)
{
	char *body = xmemdupz(req->body ? req->body : "", req->body_len);
	size_t i;

	if (s->method)
		assert_string_equal(req->method, s->method);
	if (s->url)
		assert_string_equal(req->url, s->url);
	if (s->body)
		assert_string_equal(body, s->body);
	for (i = 0; i < FAKE_MAX && s->body_contains[i]; i++)
		if (!strstr(body, s->body_contains[i]))
			fail_msg("request %zu: body '%s' lacks '%s'", n, body, s->body_contains[i]);
	for (i = 0; i < FAKE_MAX && s->body_lacks[i]; i++)
		if (strstr(body, s->body_lacks[i]))
			fail_msg("request %zu: body '%s' has '%s'", n, body, s->body_lacks[i]);
	for (i = 0; i < FAKE_MAX && s->headers[i]; i++) {
		const char *colon = strchr(s->headers[i], ':');
		char *name;
		const char *want, *got;

		assert_non_null(colon);
		name = xmemdupz(s->headers[i], (size_t)(colon - s->headers[i]));
		want = colon + 1;
		while (*want == ' ')
			want++;
		got = header_of(req, name);
		if (!got)
			fail_msg("request %zu: no %s header", n, name);
		if (strncmp(got, want, strlen(want)))
			fail_msg("request %zu: header %s is '%s', expected it to start with '%s'",
				 n, name, got, want);
		free(name);
	}
	for (i = 0; i < FAKE_MAX && s->headers_absent[i]; i++)
		if (header_of(req, s->headers_absent[i]))
			fail_msg("request %zu: unexpected %s header", n, s->headers_absent[i]);
	free(body);
}

static int fake_perform(struct http_transport *base, const struct http_request *req,
			struct http_response *resp)
{
	struct fake_transport *t = (struct fake_transport *)base;
	const struct fake_step *s;
	size_t i;

	http_response_reset(resp);
	record(t, req);
	if (t->next >= t->nsteps)
		fail_msg("unexpected request %zu (only %zu scripted): %s %s", t->next + 1,
			 t->nsteps, req->method, req->url);
	s = &t->steps[t->next++];
	check_request(s, t->next, req);
	fake_clock_now += (time_t)s->clock_advance_s;

	if (s->error != HTTP_OK) {
		http_response_set_error(resp, s->error,
					s->error_text ? s->error_text : "fake transport error");
		return -1;
	}
	resp->status = s->status ? s->status : 200;
	for (i = 0; i < FAKE_MAX && s->reply_headers[i]; i++) {
		const char *h = s->reply_headers[i], *colon = strchr(h, ':'), *v;

		assert_non_null(colon);
		v = colon + 1;
		while (*v == ' ')
			v++;
		http_response_add_header(resp, h, (size_t)(colon - h), v, strlen(v));
	}
	if (s->reply_body)
		strbuf_addstr(&resp->body, s->reply_body);
	return 0;
}

static void fake_destroy(struct http_transport *base)
{
	struct fake_transport *t = (struct fake_transport *)base;
	size_t i, j;

	for (i = 0; i < t->nreqs; i++) {
		struct fake_request *r = &t->reqs[i];

		free(r->method);
		free(r->url);
		free(r->body);
		for (j = 0; j < r->nheaders; j++) {
			free(r->headers[j].name);
			free(r->headers[j].value);
		}
		free(r->headers);
	}
	free(t->reqs);
	free(t);
}

static const struct http_transport_vtable fake_vtable = {
	fake_perform,
	fake_destroy,
};

struct http_transport *fake_transport_new(const struct fake_step *steps, size_t nsteps)
{
	struct fake_transport *t = xcalloc(1, sizeof(*t));

	t->base.vt = &fake_vtable;
	t->steps = steps;
	t->nsteps = nsteps;
	return &t->base;
}

size_t fake_transport_count(struct http_transport *t)
{
	return ((struct fake_transport *)t)->nreqs;
}

const struct fake_request *fake_transport_request(struct http_transport *base, size_t i)
{
	struct fake_transport *t = (struct fake_transport *)base;

	return i < t->nreqs ? &t->reqs[i] : NULL;
}

void fake_transport_assert_done(struct http_transport *base)
{
	struct fake_transport *t = (struct fake_transport *)base;

	if (t->next != t->nsteps)
		fail_msg("%zu of %zu scripted requests were made", t->next, t->nsteps);
}

time_t fake_clock_now;

time_t fake_clock(void)
{
	return fake_clock_now;
}

const char *fake_getenv(void *ctx, const char *name)
{
	const char *const *env = ctx;
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

void fake_sleep_ms(void *ctx, long ms)
{
	struct fake_sleeps *s = ctx;

	if (s->n < (int)ARRAY_SIZE(s->ms))
		s->ms[s->n] = ms;
	s->n++;
}

double fake_random_fixed(void *ctx)
{
	return *(const double *)ctx;
}

struct forward_transport {
	struct http_transport base;
	struct http_transport *to;
};

static int forward_perform(struct http_transport *t, const struct http_request *req,
			   struct http_response *resp)
{
	return http_perform(((struct forward_transport *)t)->to, req, resp);
}

static void forward_destroy(struct http_transport *t)
{
	free(t);
}

static const struct http_transport_vtable forward_vt = { forward_perform, forward_destroy };

struct http_transport *fake_forward_new(struct http_transport *to)
{
	struct forward_transport *t = xcalloc(1, sizeof(*t));

	t->base.vt = &forward_vt;
	t->to = to;
	return &t->base;
}

struct aws_client *fake_client_new(const struct fake_step *steps, size_t n, const char *const *env,
				   time_t (*now)(void), const char *token,
				   struct fake_sleeps *sleeps, double *jitter)
{
	struct aws_credentials creds = { 0 };
	struct aws_client_config cfg = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct aws_client *c;

	creds.access_key_id = xstrdup(FAKE_ACCESS_KEY_ID);
	creds.secret_access_key = xstrdup(FAKE_SECRET_ACCESS_KEY);
	creds.session_token = xstrdup_or_null(token);
	cfg.creds = cred_provider_static_new(&creds);
	aws_credentials_release(&creds);
	cfg.http = fake_transport_new(steps, n);
	cfg.getenv_fn = fake_getenv;
	cfg.getenv_ctx = (void *)env;
	cfg.now = now;
	c = aws_client_new_config(&cfg, &err);
	if (!c)
		fail_msg("aws_client_new_config: %s", err.buf);
	if (sleeps) {
		memset(sleeps, 0, sizeof(*sleeps));
		c->retry.sleep_ms = fake_sleep_ms;
		c->retry.sleep_ctx = sleeps;
		c->retry.random01 = fake_random_fixed;
		c->retry.random_ctx = jitter;
	}
	strbuf_release(&err);
	return c;
}
