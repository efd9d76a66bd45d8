#include "core/compat.h"
#include "sinks/notify.h"
#include "aws/client.h"
#include "aws/http.h"

#include <ctype.h>

#define WEBHOOK_TIMEOUT_MS 30000

struct webhook_notifier {
	struct notifier base;	     /* base.arg: the URL */
	struct http_transport *http; /* made on first use */
};

static int webhook_send(struct notifier *n, const struct notify_event *ev, const char *json,
			struct strbuf *err)
{
	struct webhook_notifier *w = (struct webhook_notifier *)n;
	static const struct http_request_header headers[] = {
		{ "Content-Type", "application/json" },
	};
	struct http_request req = { 0 };
	struct http_response resp = HTTP_RESPONSE_INIT;
	int ret = -1;

	if (!w->http) {
		struct http_options opts = { 0 };
		struct aws_client *c = n->ctx ? n->ctx->client : NULL;

		opts.total_timeout_ms = WEBHOOK_TIMEOUT_MS;
		opts.ca_bundle = c ? aws_getenv(c->getenv_fn, c->getenv_ctx, "AWS_CA_BUNDLE")
				   : aws_getenv(NULL, NULL, "AWS_CA_BUNDLE");
		opts.user_agent = "iamkeys/" IAMKEYS_VERSION;
		w->http = http_curl_new(&opts);
		if (!w->http) {
			strbuf_addstr(err, "cannot initialise libcurl");
			return -1;
		}
	}
	req.method = "POST";
	req.url = n->arg;
	req.headers = headers;
	req.nheaders = ARRAY_SIZE(headers);
	req.body = json;
	req.body_len = strlen(json);
	http_perform(w->http, &req, &resp);
	if (resp.error != HTTP_OK)
		strbuf_addf(err, "POST failed: %s", resp.error_text.buf);
	else if (resp.status / 100 != 2)
		strbuf_addf(err, "POST answered HTTP %ld", resp.status);
	else
		ret = 0;
	http_response_release(&resp);
	return ret;
}

static void webhook_release(struct notifier *n)
{
	http_transport_destroy(((struct webhook_notifier *)n)->http);
}

static const struct notifier_vtable webhook_vtable = {
	.scheme = "webhook",
	.send = webhook_send,
	.release = webhook_release,
};

struct notifier *notifier_webhook_new(const char *url, struct strbuf *err)
{
	struct strbuf name = STRBUF_INIT;
	const char *host = url + 8, *p;
	size_t hlen;

	if (strncmp(url, "https://", 8)) {
		strbuf_addstr(err, "webhook: the URL must start with https://");
		return NULL;
	}
	hlen = strcspn(host, "/?#");
	if (!hlen || memchr(host, '@', hlen)) {
		strbuf_addstr(err, "webhook: the URL needs a host (and no user name)");
		return NULL;
	}
	for (p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127) {
			strbuf_addstr(err, "webhook: the URL has a space or control character");
			return NULL;
		}
	/* the path of a Slack or Teams webhook URL is its credential */
	strbuf_addf(&name, "webhook:https://%.*s/...", (int)hlen, host);
	return notifier_alloc(sizeof(struct webhook_notifier), &webhook_vtable, url,
			      strbuf_detach(&name, NULL));
}
