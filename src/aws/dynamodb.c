/*
 * DynamoDB item calls (see dynamodb.h): the JSON 1.0 protocol over
 * aws_json_call_ex, replies parsed with jansson.
 */
#include "core/compat.h"
#include "aws/dynamodb.h"
#include "aws/client.h"

int dynamodb_call(struct aws_client *c, const char *action, json_t *request, json_t **out,
		  struct strbuf *err)
{
	struct aws_call_opts opts = { 0 };
	struct strbuf target = STRBUF_INIT, body = STRBUF_INIT;
	char *text = json_dumps(request, JSON_COMPACT);
	int rc = -1;

	if (out)
		*out = NULL;
	if (!text) {
		strbuf_addf(err, "%s: cannot encode the request", action);
		return -1;
	}
	strbuf_addf(&target, "DynamoDB_20120810.%s", action);
	opts.flags = AWS_CALL_IDEMPOTENT;
	if (aws_json_call_ex(c, AWS_SVC_DYNAMODB, target.buf, text, &opts, &body, &c->last_error,
			     err) < 0)
		goto out;
	if (out) {
		json_error_t je;
		*out = json_loadb(body.buf, body.len, 0, &je);
		if (!json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			strbuf_addf(err, "%s: malformed response: ", action);
			strbuf_add_oneline(err, je.text);
			goto out;
		}
	}
	rc = 0;
out:
	free(text);
	strbuf_release(&target);
	strbuf_release(&body);
	return rc;
}

json_t *ddb_s(const char *s)
{
	return json_pack("{s:s}", "S", s);
}

json_t *ddb_n(long long n)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", n);
	return json_pack("{s:s}", "N", buf);
}

const char *ddb_get(json_t *item, const char *name)
{
	json_t *v = json_object_get(item, name);
	const char *s = json_string_value(json_object_get(v, "S"));
	return s ? s : json_string_value(json_object_get(v, "N"));
}
