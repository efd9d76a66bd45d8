#ifndef IAMKEYS_DYNAMODB_H
#define IAMKEYS_DYNAMODB_H
/*
 * Amazon DynamoDB, the four item calls the lease of --lock dynamodb:TABLE
 * needs (JSON 1.0: X-Amz-Target DynamoDB_20120810.<Action>, content type
 * application/x-amz-json-1.0). Requests and replies are jansson objects in
 * the API's own shapes: an item is {"Name": {"S": "text"}, "N2": {"N": "42"}}.
 * Endpoint: https://dynamodb.<region>.<suffix>, or AWS_ENDPOINT_URL_DYNAMODB.
 */
#include <jansson.h>
#include "core/strbuf.h"

struct aws_client;

/* A failed ConditionExpression (aws_client_last_error_code). */
#define DDB_CONDITION_FAILED "ConditionalCheckFailedException"

/*
 * One call: action is "PutItem", "GetItem", "UpdateItem" or "DeleteItem";
 * request the whole request object (borrowed). On success 0 and, when out
 * is not NULL, the reply in *out (new reference). On failure -1, the
 * one-line message in err, and the AWS error code in c->last_error
 * (DDB_CONDITION_FAILED when the condition did not hold). Retried as the
 * SDKs do (throttling, 5xx, timeouts): a conditional write retried after a
 * lost reply may fail its condition against its own first attempt, so
 * callers re-read the item (GetItem) before concluding anything.
 */
int dynamodb_call(struct aws_client *c, const char *action, json_t *request, json_t **out,
		  struct strbuf *err);

/* {"S": s} and {"N": "<n>"} (new references). */
json_t *ddb_s(const char *s);
json_t *ddb_n(long long n);
/* The string of attribute name of item ({"name": {"S"|"N": ...}}), or NULL. */
const char *ddb_get(json_t *item, const char *name);

#endif
