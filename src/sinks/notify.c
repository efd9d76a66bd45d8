#include "core/compat.h"
#include "sinks/notify.h"

struct notifier *notifier_new(const char *spec, const struct notify_context *ctx,
			      struct strbuf *err)
{
	static const struct {
		const char *prefix;
		struct notifier *(*make)(const char *rest, struct strbuf *err);
	} kinds[] = {
		{ "sns:", notifier_sns_new },
		{ "webhook:", notifier_webhook_new },
		{ "exec:", notifier_exec_new },
	};
	struct strbuf why = STRBUF_INIT;
	struct notifier *n = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strncmp(spec, kinds[i].prefix, strlen(kinds[i].prefix)))
			break;
	if (i == ARRAY_SIZE(kinds)) {
		/* the spec itself is not echoed: it may be a webhook URL, a credential */
		const char *colon = strchr(spec, ':');
		strbuf_addf(err,
			    "invalid --notify target: unknown kind '%.*s' (expected "
			    "sns:TOPIC_ARN, webhook:https://... or exec:COMMAND)",
			    colon ? (int)(colon - spec) : 0, spec);
		return NULL;
	}
	n = kinds[i].make(spec + strlen(kinds[i].prefix), &why);
	if (!n) {
		strbuf_addf(err, "invalid --notify target: %s", why.buf);
		strbuf_release(&why);
		return NULL;
	}
	strbuf_release(&why);
	n->ctx = ctx;
	n->spec = xstrdup(spec);
	return n;
}

int notifier_send(struct notifier *n, const struct notify_event *ev, struct strbuf *err)
{
	struct strbuf json = STRBUF_INIT, why = STRBUF_INIT;
	int ret;

	if (notify_event_json(&json, ev)) {
		strbuf_addf(err, "%s: cannot build the %s event", n->name,
			    notify_kind_name(ev->kind));
		strbuf_release(&json);
		return -1;
	}
	ret = n->vt->send(n, ev, json.buf, &why);
	if (ret)
		strbuf_addf(err, "%s: %s", n->name, why.buf);
	strbuf_release(&why);
	strbuf_release(&json);
	return ret;
}

void notifier_free(struct notifier *n)
{
	if (!n)
		return;
	if (n->vt->release)
		n->vt->release(n);
	FREE_ALL(n->spec, n->name, n->arg);
	free(n);
}

void *notifier_alloc(size_t size, const struct notifier_vtable *vt, const char *arg, char *name)
{
	struct notifier *n = xcalloc(1, size);
	struct strbuf sb = STRBUF_INIT;

	n->vt = vt;
	n->arg = xstrdup(arg);
	if (!name) {
		strbuf_addf(&sb, "%s:%s", vt->scheme, arg);
		name = strbuf_detach(&sb, NULL);
	}
	n->name = name;
	return n;
}
