#include "core/compat.h"
#include "sinks/notify.h"
#include "aws/sns.h"

static int sns_send(struct notifier *n, const struct notify_event *ev, const char *json,
		    struct strbuf *err)
{
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
	ret = sns_publish(n->ctx->client, n->arg, subject.buf, json, attrs, na, err);
	strbuf_release(&subject);
	return ret;
}

static const struct notifier_vtable sns_vtable = {
	.scheme = "sns",
	.send = sns_send,
};

struct notifier *notifier_sns_new(const char *arn, struct strbuf *err)
{
	if (sns_topic_arn_parse(arn, NULL)) {
		strbuf_addf(err, "sns:%s: not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
			    arn);
		return NULL;
	}
	return notifier_alloc(sizeof(struct notifier), &sns_vtable, arn, NULL);
}
