/* CloudTrail LookupEvents (see cloudtrail.h). */
#include "core/compat.h"
#include "aws/cloudtrail.h"
#include "aws/client.h"

#include <jansson.h>

#define TARGET "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"

/*
 * The time between two LookupEvents of a region: CloudTrail's 2 a second.
 * Test builds only (IAMKEYS_TESTING): IAMKEYS_TEST_CLOUDTRAIL_TPS=N (1 to
 * 10000) paces at N a second, for the tests of other things than the rate
 * (the crash and concurrency matrices) against an emulator told the same.
 */
static double lookup_interval_ms(void)
{
#ifdef IAMKEYS_TESTING
	const char *v = getenv("IAMKEYS_TEST_CLOUDTRAIL_TPS");
	char *end;
	long n;

	if (v && *v) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (!errno && !*end && n >= 1 && n <= 10000)
			return 1000.0 / (double)n;
	}
#endif
	return CLOUDTRAIL_LOOKUP_INTERVAL_MS;
}

static void pace(struct cloudtrail_pacer *p)
{
	double now = aws_monotonic_ms(), interval = lookup_interval_ms();

	if (p->last_ms && now - p->last_ms < interval)
		aws_sleep_ms((long)(interval - (now - p->last_ms)) + 1);
	p->last_ms = aws_monotonic_ms();
}

/* One page: its events to fn, the next token (or NULL) in *next. */
static int one_page(struct aws_client *c, json_t *req, char **next, cloudtrail_event_fn fn,
		    void *ctx, struct strbuf *err)
{
	struct strbuf body = STRBUF_INIT;
	char *text = json_dumps(req, JSON_COMPACT);
	json_t *doc = NULL, *events, *ev;
	json_error_t je;
	size_t i;
	int rc = -1;

	*next = NULL;
	if (aws_json_call_ex(c, AWS_SVC_CLOUDTRAIL, TARGET, text, NULL, &body, &c->last_error,
			     err) < 0)
		goto out;
	doc = json_loadb(body.buf, body.len, 0, &je);
	events = json_object_get(doc, "Events");
	if (!json_is_object(doc) || (events && !json_is_array(events))) {
		strbuf_addstr(err, "LookupEvents: malformed response");
		goto out;
	}
	json_array_foreach(events, i, ev)
	{
		json_t *s = json_object_get(ev, "CloudTrailEvent");
		if (!json_is_string(s)) {
			strbuf_addstr(err, "LookupEvents: an event without its CloudTrailEvent");
			goto out;
		}
		if (fn(ctx, json_string_value(s), json_string_length(s), err))
			goto out;
	}
	if (json_is_string(json_object_get(doc, "NextToken")))
		*next = xstrdup(json_string_value(json_object_get(doc, "NextToken")));
	rc = 0;
out:
	free(text);
	json_decref(doc);
	strbuf_release(&body);
	return rc;
}

int cloudtrail_lookup_key(struct aws_client *c, struct cloudtrail_pacer *pacer, const char *key_id,
			  time_t start, time_t end, cloudtrail_event_fn fn, void *ctx,
			  unsigned long *calls, struct strbuf *err)
{
	json_t *req =
		json_pack("{s:[{s:s,s:s}],s:I,s:I,s:i}", "LookupAttributes", "AttributeKey",
			  "AccessKeyId", "AttributeValue", key_id, "StartTime", (json_int_t)start,
			  "EndTime", (json_int_t)end, "MaxResults", CLOUDTRAIL_PAGE);
	char *token = NULL;
	int rc, throttled = 0;

	for (;;) {
		size_t err_len = err->len;

		if (token)
			json_object_set_new(req, "NextToken", json_string(token));
		free(token);
		token = NULL;
		pace(pacer);
		(*calls)++;
		rc = one_page(c, req, &token, fn, ctx, err);
		if (rc < 0 && throttled < CLOUDTRAIL_THROTTLE_RETRIES &&
		    !strcmp(aws_client_last_error_code(c), "ThrottlingException")) {
			/* the call's own retries ran out: another client shares the
			 * account's 2 per second; wait a second and ask again */
			const char *next = json_string_value(json_object_get(req, "NextToken"));
			token = next ? xstrdup(next) : NULL;
			strbuf_setlen(err, err_len);
			throttled++;
			aws_sleep_ms(1000);
			continue;
		}
		if (rc < 0 || !token)
			break;
	}
	free(token);
	json_decref(req);
	return rc;
}
