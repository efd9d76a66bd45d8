#include "core/compat.h"
#include "sinks/notify.h"
#include "aws/sns.h"

struct sns_notifier {
	struct notifier base;
	char *arn;
};

static int sns_send(struct notifier *n, const struct notify_event *ev, const char *json,
		    struct strbuf *err)
{
	struct sns_notifier *s = (struct sns_notifier *)n;
	struct sns_attribute attrs[3];
	struct strbuf subject = STRBUF_INIT;
	size_t na = 0;
	int ret;

	if (!n->ctx || !n->ctx->client) {
		strbuf_addstr(err, "no AWS client to publish with");
		return -1;
	}
	attrs[na++] = (struct sns_attribute){ "iamkeys.event", notify_kind_name(ev->kind) };
	attrs[na++] = (struct sns_attribute){ "iamkeys.user", ev->user };
	if (ev->owner && *ev->owner)
		attrs[na++] = (struct sns_attribute){ "iamkeys.owner", ev->owner };
	/* SNS: ASCII, no control characters, under 100 characters */
	strbuf_addf(&subject, "iamkeys %s %s", notify_kind_name(ev->kind), ev->user);
	for (size_t i = 0; i < subject.len; i++)
		if ((unsigned char)subject.buf[i] < 32 || (unsigned char)subject.buf[i] > 126)
			subject.buf[i] = '?';
	if (subject.len > 99)
		strbuf_setlen(&subject, 99);
	ret = sns_publish(n->ctx->client, s->arn, subject.buf, json, attrs, na, err);
	strbuf_release(&subject);
	return ret;
}

static void sns_destroy(struct notifier *n)
{
	struct sns_notifier *s = (struct sns_notifier *)n;
	free(s->arn);
	free(s);
}

static const struct notifier_vtable sns_vtable = {
	.scheme = "sns",
	.send = sns_send,
	.destroy = sns_destroy,
};

struct notifier *notifier_sns_new(const char *arn, struct strbuf *err)
{
	struct sns_notifier *s;
	struct strbuf name = STRBUF_INIT;

	if (sns_topic_arn_parse(arn, NULL)) {
		strbuf_addf(err, "sns:%s: not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
			    arn);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->base.vt = &sns_vtable;
	s->arn = xstrdup(arn);
	strbuf_addf(&name, "sns:%s", arn);
	s->base.name = strbuf_detach(&name, NULL);
	return &s->base;
}
