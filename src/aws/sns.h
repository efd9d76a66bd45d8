#ifndef IAMKEYS_SNS_H
#define IAMKEYS_SNS_H
/*
 * Amazon SNS Publish (awsQuery, version 2010-03-31), for --notify
 * sns:TOPIC_ARN. A topic can only be published to in its own region: the
 * call goes to the SNS endpoint of the ARN's region (AWS_ENDPOINT_URL_SNS
 * or --endpoint-url when set), signed for it.
 */
#include <stddef.h>
#include "core/strbuf.h"

struct aws_client;

struct sns_attribute {
	const char *name;  /* "iamkeys.event" */
	const char *value; /* a String attribute; non-empty */
};

/*
 * Checks an SNS topic ARN: arn:<partition>:sns:<region>:<12 digits>:<name>,
 * the name 1 to 256 letters, digits, '-' and '_' (".fifo" may end it).
 * 0 and the region in *region (caller frees; may be NULL), or -1.
 */
int sns_topic_arn_parse(const char *arn, char **region);

/*
 * Publishes message (with subject, when not NULL: ASCII, under 100
 * characters) and attrs[0..nattrs) as String message attributes to
 * topic_arn. Retried as the SDKs do (a retried publish may deliver twice:
 * subscribers see at-least-once). 0, or -1 with the one-line message in err.
 */
int sns_publish(struct aws_client *c, const char *topic_arn, const char *subject,
		const char *message, const struct sns_attribute *attrs, size_t nattrs,
		struct strbuf *err);

#endif
