#include "core/compat.h"
#include "aws/sns.h"
#include "aws/client.h"

#include <ctype.h>

#define MAX_ATTRIBUTES 10 /* SNS's limit per message */

int sns_topic_arn_parse(const char *arn, char **region)
{
	const char *p, *reg, *acct, *name;
	size_t i, n;

	if (region)
		*region = NULL;
	if (!arn || strncmp(arn, "arn:", 4))
		return -1;
	p = strchr(arn + 4, ':');
	if (!p || p == arn + 4 || strncmp(p, ":sns:", 5))
		return -1;
	reg = p + 5;
	p = strchr(reg, ':');
	if (!p)
		return -1;
	n = (size_t)(p - reg);
	acct = p + 1;
	for (i = 0; i < 12; i++)
		if (!isdigit((unsigned char)acct[i]))
			return -1;
	if (acct[12] != ':')
		return -1;
	name = acct + 13;
	if (!*name || strlen(name) > 256)
		return -1;
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    !(*p == '.' && !strcmp(p, ".fifo") && p != name))
			return -1;
	{
		char *r = xmemdupz(reg, n);
		int ok = aws_region_valid(r);
		if (!ok || !region)
			free(r);
		else
			*region = r;
		return ok ? 0 : -1;
	}
}

int sns_publish(struct aws_client *c, const char *topic_arn, const char *subject,
		const char *message, const struct sns_attribute *attrs, size_t nattrs,
		struct strbuf *err)
{
	struct aws_param params[3 + 3 * MAX_ATTRIBUTES];
	char names[3 * MAX_ATTRIBUTES][48];
	struct strbuf body = STRBUF_INIT;
	struct aws_error aerr = { 0 };
	struct aws_client *rc = c;
	char *region = NULL;
	size_t n = 0, i;
	int ret;

	if (nattrs > MAX_ATTRIBUTES) {
		strbuf_addf(err, "Publish: at most %d message attributes", MAX_ATTRIBUTES);
		return -1;
	}
	if (sns_topic_arn_parse(topic_arn, &region)) {
		strbuf_addf(err, "Publish: invalid topic ARN '%s'", topic_arn);
		return -1;
	}
	if (strcmp(region, c->region)) {
		/* a topic takes messages in its own region only */
		rc = aws_client_clone(c, err);
		if (!rc) {
			free(region);
			return -1;
		}
		aws_client_copy_settings(rc, c);
		aws_endpoint_release(&rc->endpoints[AWS_SVC_SNS]);
		if (aws_endpoint_resolve(&rc->endpoints[AWS_SVC_SNS], AWS_SVC_SNS, region,
					 rc->endpoint_url, rc->getenv_fn, rc->getenv_ctx,
					 err) < 0) {
			aws_client_free(rc);
			free(region);
			return -1;
		}
	}
	free(region);
	params[n++] = (struct aws_param){ "TopicArn", topic_arn };
	params[n++] = (struct aws_param){ "Message", message };
	if (subject)
		params[n++] = (struct aws_param){ "Subject", subject };
	for (i = 0; i < nattrs; i++) {
		snprintf(names[3 * i], sizeof(names[0]), "MessageAttributes.entry.%zu.Name", i + 1);
		snprintf(names[3 * i + 1], sizeof(names[0]),
			 "MessageAttributes.entry.%zu.Value.DataType", i + 1);
		snprintf(names[3 * i + 2], sizeof(names[0]),
			 "MessageAttributes.entry.%zu.Value.StringValue", i + 1);
		params[n++] = (struct aws_param){ names[3 * i], attrs[i].name };
		params[n++] = (struct aws_param){ names[3 * i + 1], "String" };
		params[n++] = (struct aws_param){ names[3 * i + 2], attrs[i].value };
	}
	ret = aws_query_call(rc, AWS_SVC_SNS, "Publish", params, n, AWS_CALL_IDEMPOTENT, &body,
			     &aerr, err);
	if (rc != c) {
		c->calls += rc->calls;
		c->retries += rc->retries;
		c->throttles += rc->throttles;
		aws_client_free(rc);
	}
	aws_error_release(&aerr);
	strbuf_release(&body);
	return ret;
}
