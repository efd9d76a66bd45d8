/* CloudTrailEvent strings (see ctevent.h), parsed with jansson. */
#include "core/compat.h"
#include "core/ctevent.h"
#include "core/timeutil.h"

#include <jansson.h>

static char *dup_string(json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));
	return s ? xstrdup(s) : NULL;
}

void ct_event_release(struct ct_event *e)
{
	FREE_ALL(e->event_name, e->event_source, e->region, e->source_ip, e->user_agent,
		 e->access_key_id, e->error_code, e->issued_key);
	memset(e, 0, sizeof(*e));
}

int ct_event_parse(const char *text, size_t len, struct ct_event *out, struct strbuf *err)
{
	json_error_t je;
	json_t *doc, *identity, *creds;
	const char *when;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	doc = json_loadb(text, len, 0, &je);
	if (!doc) {
		strbuf_addstr(err, "not JSON: ");
		strbuf_add_oneline(err, je.text);
		return -1;
	}
	if (!json_is_object(doc)) {
		strbuf_addstr(err, "not a JSON object");
		goto out;
	}
	when = json_string_value(json_object_get(doc, "eventTime"));
	if (!when || iso8601_parse(when, &out->time) < 0) {
		strbuf_addstr(err, when ? "unparseable eventTime" : "no eventTime");
		goto out;
	}
	out->event_name = dup_string(doc, "eventName");
	out->event_source = dup_string(doc, "eventSource");
	if (!out->event_name || !out->event_source) {
		strbuf_addstr(err, out->event_name ? "no eventSource" : "no eventName");
		goto out;
	}
	out->region = dup_string(doc, "awsRegion");
	out->source_ip = dup_string(doc, "sourceIPAddress");
	out->user_agent = dup_string(doc, "userAgent");
	if (!out->user_agent)
		out->user_agent = xstrdup("");
	out->error_code = dup_string(doc, "errorCode");
	identity = json_object_get(doc, "userIdentity");
	if (json_is_object(identity))
		out->access_key_id = dup_string(identity, "accessKeyId");
	creds = json_object_get(json_object_get(doc, "responseElements"), "credentials");
	if (json_is_object(creds))
		out->issued_key = dup_string(creds, "accessKeyId");
	rc = 0;
out:
	json_decref(doc);
	if (rc < 0)
		ct_event_release(out);
	return rc;
}
