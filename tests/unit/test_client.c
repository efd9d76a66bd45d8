#include "core/compat.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/iam.h"
#include "aws/dynamodb.h"
#include "core/strbuf.h"
#include "fake_transport.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

/*
 * The request layer against the scripted fake transport: the exact bytes
 * of awsQuery forms, SigV4 headers at a fixed clock, pagination, error
 * one-liners for XML and JSON errors, and the retry rules (above all: a
 * CreateAccessKey that may have reached AWS is never sent again).
 */

#define FIXED_NOW 1440938160 /* 2015-08-30T12:36:00Z */
#define FORM_CT "application/x-www-form-urlencoded; charset=utf-8"
#define IAM_URL "https://iam.amazonaws.com/"
#define IAM_NS "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\""

static time_t fixed_now(void)
{
	return FIXED_NOW;
}

static struct fake_sleeps sleeps;
static double half = 0.5;
static const char *const no_env[] = { NULL };

static struct aws_client *client_env(const struct fake_step *steps, size_t n,
				     const char *const *env, const char *token)
{
	return fake_client_new(steps, n, env, fixed_now, token, &sleeps, &half);
}

static struct aws_client *client(const struct fake_step *steps, size_t n)
{
	return client_env(steps, n, no_env, NULL);
}

static void done(struct aws_client *c)
{
	fake_transport_assert_done(c->http);
	aws_client_free(c);
}

/* ---- form encoding -------------------------------------------------- */

static void test_form_encode(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	aws_form_encode(&sb, "a+b=c&d \xc3\xa9");
	assert_string_equal(sb.buf, "a%2Bb%3Dc%26d%20%C3%A9");
	strbuf_reset(&sb);
	aws_form_encode(&sb, "AZaz09-._~/*%!'()");
	assert_string_equal(sb.buf, "AZaz09-._~%2F%2A%25%21%27%28%29");
	strbuf_reset(&sb);
	aws_form_encode(&sb, "");
	assert_string_equal(sb.buf, "");
	strbuf_release(&sb);
}

static void test_form_body_exact(void **state)
{
	static const struct fake_step steps[] = {
		{
			.method = "POST",
			.url = IAM_URL,
			.body = "Action=ListAccessKeys&Version=2010-05-08&"
				"UserName=a%2Bb%3Dc%26d%20%C3%A9&MaxItems=1000",
			.headers = { "Content-Type: " FORM_CT, "Host: iam.amazonaws.com" },
			.reply_body =
				"<ListAccessKeysResponse " IAM_NS "><ListAccessKeysResult>"
				"<UserName>a+b=c&amp;d \xc3\xa9</UserName><AccessKeyMetadata/>"
				"<IsTruncated>false</IsTruncated></ListAccessKeysResult>"
				"</ListAccessKeysResponse>",
		},
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_access_key_page keys;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_access_keys(c, "a+b=c&d \xc3\xa9", &keys, &err), 0);
	assert_int_equal(keys.nkeys, 0);
	iam_access_key_page_release(&keys);
	done(c);
	strbuf_release(&err);
}

static void test_null_params_left_out(void **state)
{
	static const struct aws_param params[] = {
		{ "A", NULL },
		{ "B", "x y" },
		{ "C", "" },
	};
	static const struct fake_step steps[] = {
		{ .body = "Action=GetUser&Version=2010-05-08&B=x%20y&C=", .reply_body = "<x/>" },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct strbuf body = STRBUF_INIT, err = STRBUF_INIT;
	struct aws_error e = { 0 };

	assert_int_equal(aws_query_call(c, AWS_SVC_IAM, "GetUser", params, ARRAY_SIZE(params),
					AWS_CALL_IDEMPOTENT, &body, &e, &err),
			 0);
	assert_string_equal(body.buf, "<x/>");
	assert_null(e.code);
	done(c);
	strbuf_release(&body);
	strbuf_release(&err);
}

/* ---- signing ----------------------------------------------------------- */

static void test_signature_iam(void **state)
{
	static const struct fake_step steps[] = {
		{
			.method = "POST",
			.url = IAM_URL,
			.body = "Action=ListUsers&Version=2010-05-08&MaxItems=1000",
			.reply_body = "<ListUsersResponse " IAM_NS "><ListUsersResult><Users/>"
				      "<IsTruncated>false</IsTruncated></ListUsersResult>"
				      "</ListUsersResponse>",
		},
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;
	const struct fake_request *r;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), 0);
	r = fake_transport_request(c->http, 0);
	assert_non_null(r);
	assert_string_equal(fake_request_header(r, "X-Amz-Date"), "20150830T123600Z");
	assert_string_equal(fake_request_header(r, "Host"), "iam.amazonaws.com");
	assert_string_equal(
		fake_request_header(r, "Authorization"),
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/"
		"aws4_request, SignedHeaders=content-type;host;x-amz-date, "
		"Signature=ba728439f9b6fa1f8a982dc91852f492f292cd0a690a86886cb953c2f290e7be");
	assert_null(fake_request_header(r, "X-Amz-Security-Token"));
	iam_user_list_release(&users);
	done(c);
	strbuf_release(&err);
}

static void test_signature_session_token(void **state)
{
	static const struct fake_step steps[] = {
		{
			.headers = { "X-Amz-Security-Token: TOKEN",
				     "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015" },
			.reply_body = "<ListUsersResponse " IAM_NS "><ListUsersResult><Users/>"
				      "<IsTruncated>false</IsTruncated></ListUsersResult>"
				      "</ListUsersResponse>",
		},
	};
	struct aws_client *c = client_env(steps, ARRAY_SIZE(steps), no_env, "TOKEN");
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), 0);
	assert_string_equal(fake_request_header(fake_transport_request(c->http, 0),
						"Authorization"),
			    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/"
			    "aws4_request, SignedHeaders=content-type;host;x-amz-date;"
			    "x-amz-security-token, Signature="
			    "1241fe6f82fb1b4e8ffc7fde2944ef531802900a3f2b919855cb114b9feafef4");
	iam_user_list_release(&users);
	done(c);
	strbuf_release(&err);
}

static void test_signature_sts_regional(void **state)
{
	static const struct fake_step steps[] = {
		{
			.url = "https://sts.eu-west-1.amazonaws.com/",
			.body = "Action=GetCallerIdentity&Version=2011-06-15",
			.headers = { "Host: sts.eu-west-1.amazonaws.com",
				     "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
				     "20150830/eu-west-1/sts/aws4_request, SignedHeaders="
				     "content-type;host;x-amz-date, Signature=d9ce7d87516e54d16bc"
				     "e0dfaec690a00a86d0c6a4505e7fbaf9081d93ffcbc1f" },
			.reply_body =
				"<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/"
				"doc/2011-06-15/\"><GetCallerIdentityResult>"
				"<Arn>arn:aws:iam::123456789012:user/alice</Arn>"
				"<UserId>AIDA1</UserId><Account>123456789012</Account>"
				"</GetCallerIdentityResult></GetCallerIdentityResponse>",
		},
	};
	static const char *const env[] = { "AWS_REGION=eu-west-1", NULL };
	struct aws_client *c = client_env(steps, ARRAY_SIZE(steps), env, NULL);
	struct sts_caller_identity id;
	struct strbuf err = STRBUF_INIT;

	assert_string_equal(c->region, "eu-west-1");
	assert_int_equal(sts_get_caller_identity(c, &id, &err), 0);
	assert_string_equal(id.account, "123456789012");
	assert_string_equal(id.arn, "arn:aws:iam::123456789012:user/alice");
	sts_caller_identity_release(&id);
	done(c);
	strbuf_release(&err);
}

/* ---- pagination -------------------------------------------------------- */

#define USER(n)                                                                                    \
	"<member><UserId>AID" n "</UserId><Path>/</Path><UserName>" n "</UserName>"                \
	"<Arn>arn:aws:iam::123456789012:user/" n "</Arn>"                                          \
	"<CreateDate>2020-01-01T00:00:00Z</CreateDate></member>"
#define LIST_USERS(members, tail)                                                                  \
	"<ListUsersResponse " IAM_NS "><ListUsersResult><Users>" members "</Users>" tail           \
	"</ListUsersResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>"        \
	"</ListUsersResponse>"

static void test_list_users_three_pages(void **state)
{
	static const struct fake_step steps[] = {
		{
			.body = "Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fops%2F&"
				"MaxItems=1000",
			.reply_body =
				LIST_USERS(USER("u1") USER("u2"), "<IsTruncated>true</IsTruncated>"
								  "<Marker>m1/+=</Marker>"),
		},
		{
			.body = "Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fops%2F&"
				"Marker=m1%2F%2B%3D&MaxItems=1000",
			.reply_body = LIST_USERS(USER("u3"), "<IsTruncated>true</IsTruncated>"
							     "<Marker>m2</Marker>"),
		},
		{
			.body = "Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fops%2F&"
				"Marker=m2&MaxItems=1000",
			.reply_body = LIST_USERS(USER("u4"), "<IsTruncated>false</IsTruncated>"),
		},
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, "/ops/", &users, &err), 0);
	assert_int_equal(users.pages, 3);
	assert_int_equal(users.nusers, 4);
	assert_string_equal(users.users[0].user_name, "u1");
	assert_string_equal(users.users[1].user_name, "u2");
	assert_string_equal(users.users[2].user_name, "u3");
	assert_string_equal(users.users[3].user_name, "u4");
	assert_int_equal(c->calls, 3);
	assert_int_equal(c->retries, 0);
	iam_user_list_release(&users);
	done(c);
	strbuf_release(&err);
}

static void test_list_users_repeated_marker(void **state)
{
	static const struct fake_step steps[] = {
		{ .reply_body = LIST_USERS(USER("u1"), "<IsTruncated>true</IsTruncated>"
						       "<Marker>same</Marker>") },
		{ .body_contains = { "Marker=same" },
		  .reply_body = LIST_USERS(USER("u2"), "<IsTruncated>true</IsTruncated>"
						       "<Marker>same</Marker>") },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), -1);
	assert_string_equal(err.buf,
			    "ListUsers: malformed response: the same Marker was returned twice");
	assert_int_equal(users.nusers, 0);
	assert_null(users.users);
	done(c);
	strbuf_release(&err);
}

#define KEY(id, status)                                                                            \
	"<member><UserName>bob</UserName><AccessKeyId>" id "</AccessKeyId><Status>" status         \
	"</Status><CreateDate>2021-01-01T00:00:00Z</CreateDate></member>"
#define LIST_KEYS(members, tail)                                                                   \
	"<ListAccessKeysResponse " IAM_NS "><ListAccessKeysResult><UserName>bob</UserName>"        \
	"<AccessKeyMetadata>" members "</AccessKeyMetadata>" tail "</ListAccessKeysResult>"        \
	"<ResponseMetadata><RequestId>rk</RequestId></ResponseMetadata></ListAccessKeysResponse>"

static void test_list_access_keys_pages(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = "Action=ListAccessKeys&Version=2010-05-08&UserName=bob&MaxItems=1000",
		  .reply_body = LIST_KEYS(KEY("AKIA1", "Active"), "<IsTruncated>true</IsTruncated>"
								  "<Marker>k</Marker>") },
		{ .body = "Action=ListAccessKeys&Version=2010-05-08&UserName=bob&Marker=k&"
			  "MaxItems=1000",
		  .reply_body =
			  LIST_KEYS(KEY("AKIA2", "Inactive"), "<IsTruncated>false</IsTruncated>") },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_access_key_page keys;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_access_keys(c, "bob", &keys, &err), 0);
	assert_int_equal(keys.nkeys, 2);
	assert_string_equal(keys.keys[0].access_key_id, "AKIA1");
	assert_string_equal(keys.keys[1].access_key_id, "AKIA2");
	assert_string_equal(keys.keys[1].status, "Inactive");
	assert_last_page(keys, "rk");
	iam_access_key_page_release(&keys);
	done(c);
	strbuf_release(&err);
}

/* ---- error one-liners -------------------------------------------------- */

static void test_xml_error_shapes(void **state)
{
	static const struct fake_step steps[] = {
		{
			.status = 404,
			.reply_body = "<ErrorResponse " IAM_NS "><Error><Type>Sender</Type>"
				      "<Code>NoSuchEntity</Code><Message>The user with name nobody "
				      "cannot be found.</Message></Error>"
				      "<RequestId>req-1</RequestId></ErrorResponse>",
		},
		{
			.status = 400,
			.reply_body = "<Response><Errors><Error><Code>InvalidAction</Code>"
				      "<Message>Bad\naction</Message></Error></Errors>"
				      "<RequestID>req-2</RequestID></Response>",
		},
		{
			.status = 403,
			.reply_headers = { "x-amzn-RequestId: req-3" },
			.reply_body = "<html><body>Forbidden</body></html",
		},
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user u;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_get_user(c, "nobody", &u, &err), -1);
	assert_string_equal(err.buf, "GetUser: NoSuchEntity: The user with name nobody cannot be "
				     "found. (request id req-1)");
	assert_string_equal(aws_client_last_error_code(c), "NoSuchEntity");
	assert_int_equal(c->last_error.http_status, 404);
	assert_string_equal(c->last_error.request_id, "req-1");
	assert_string_equal(c->last_error.type, "Sender");

	strbuf_reset(&err);
	assert_int_equal(iam_get_user(c, "x", &u, &err), -1);
	assert_string_equal(err.buf, "GetUser: InvalidAction: Bad action (request id req-2)");
	assert_int_equal(c->last_error.http_status, 400);

	strbuf_reset(&err);
	assert_int_equal(iam_get_user(c, "x", &u, &err), -1);
	assert_string_equal(err.buf, "GetUser: HTTP 403 (request id req-3)");
	assert_string_equal(aws_client_last_error_code(c), "HTTP 403");
	assert_int_equal(c->retries, 0);
	done(c);
	strbuf_release(&err);
}

static void test_query_aerr_filled(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 409,
		  .reply_body = "<ErrorResponse><Error><Code>LimitExceeded</Code><Message>Cannot "
				"exceed quota for AccessKeysPerUser: 2</Message></Error>"
				"<RequestId>q</RequestId></ErrorResponse>" },
	};
	static const struct aws_param params[] = { { "UserName", "bob" } };
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct strbuf body = STRBUF_INIT, err = STRBUF_INIT;
	struct aws_error e = { 0 };

	/* a quota error is not retried, even for an idempotent call */
	assert_int_equal(aws_query_call(c, AWS_SVC_IAM, "UpdateAccessKey", params, 1,
					AWS_CALL_IDEMPOTENT, &body, &e, &err),
			 -1);
	assert_string_equal(e.code, "LimitExceeded");
	assert_string_equal(e.request_id, "q");
	assert_int_equal(e.http_status, 409);
	assert_string_equal(err.buf, "UpdateAccessKey: LimitExceeded: Cannot exceed quota for "
				     "AccessKeysPerUser: 2 (request id q)");
	aws_error_release(&e);
	done(c);
	strbuf_release(&body);
	strbuf_release(&err);
}

/* ---- DynamoDB (JSON 1.0) --------------------------------------------- */

static void test_dynamodb_call(void **state)
{
	static const struct fake_step steps[] = {
		{
			.method = "POST",
			.url = "https://dynamodb.eu-west-1.amazonaws.com/",
			.body = "{\"TableName\":\"locks\",\"Key\":{\"LockID\":{\"S\":\"iamkeys/1\"}},"
				"\"ConsistentRead\":true}",
			.headers = { "Content-Type: application/x-amz-json-1.0",
				     "X-Amz-Target: DynamoDB_20120810.GetItem",
				     "Host: dynamodb.eu-west-1.amazonaws.com",
				     "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
				     "20150830/eu-west-1/dynamodb/aws4_request, "
				     "SignedHeaders=content-type;host;x-amz-date;x-amz-target, " },
			.reply_headers = { "Content-Type: application/x-amz-json-1.0" },
			.reply_body =
				"{\"Item\":{\"LockID\":{\"S\":\"iamkeys/1\"},\"Expires\":{\"N\":\"42\"}}}",
		},
		{
			.headers = { "X-Amz-Target: DynamoDB_20120810.PutItem" },
			.status = 400,
			.reply_headers = { "x-amzn-RequestId: d-1",
					   "Content-Type: application/x-amz-json-1.0" },
			.reply_body =
				"{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
				"ConditionalCheckFailedException\",\"message\":\"The conditional "
				"request failed\"}",
		},
	};
	static const char *const env[] = { "AWS_DEFAULT_REGION=eu-west-1", NULL };
	struct aws_client *c = client_env(steps, ARRAY_SIZE(steps), env, NULL);
	struct strbuf err = STRBUF_INIT;
	json_t *req = json_pack("{s:s, s:{s:o}, s:b}", "TableName", "locks", "Key", "LockID",
				ddb_s("iamkeys/1"), "ConsistentRead", 1);
	json_t *out = NULL;

	assert_int_equal(dynamodb_call(c, "GetItem", req, &out, &err), 0);
	assert_string_equal(ddb_get(json_object_get(out, "Item"), "Expires"), "42");
	assert_string_equal(ddb_get(json_object_get(out, "Item"), "LockID"), "iamkeys/1");
	assert_null(ddb_get(json_object_get(out, "Item"), "Owner"));
	json_decref(out);
	assert_int_equal(dynamodb_call(c, "PutItem", req, NULL, &err), -1);
	assert_string_equal(aws_client_last_error_code(c), DDB_CONDITION_FAILED);
	assert_string_equal(err.buf, "PutItem: ConditionalCheckFailedException: The conditional "
				     "request failed (request id d-1)");
	/* a condition that failed is an answer: not retried */
	assert_int_equal(fake_transport_count(c->http), 2);
	json_decref(req);
	done(c);
	strbuf_release(&err);
}

/* ---- JSON 1.1 ---------------------------------------------------------- */

static void test_json_call(void **state)
{
	static const struct fake_step steps[] = {
		{
			.method = "POST",
			.url = "https://secretsmanager.eu-west-1.amazonaws.com/",
			.body = "{\"Name\":\"x\"}",
			.headers = { "Content-Type: application/x-amz-json-1.1",
				     "X-Amz-Target: secretsmanager.CreateSecret",
				     "Host: secretsmanager.eu-west-1.amazonaws.com",
				     "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
				     "20150830/eu-west-1/secretsmanager/aws4_request, "
				     "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
				     "Signature=04e43e21ac5dde434b29d67b9313b0df1b7bfdd3ee183e8ea02"
				     "f278f766f536b" },
			.reply_body = "{\"ARN\":\"arn:x\",\"Name\":\"x\"}",
		},
		{
			.status = 400,
			.reply_headers = { "x-amzn-RequestId: jr-1",
					   "x-amzn-ErrorType: ResourceExistsException:http://"
					   "internal.amazon.com/coral/com.amazon.coral.validate/" },
			.reply_body = "{\"__type\":\"com.amazonaws.secretsmanager#Other\","
				      "\"message\":\"The secret x already exists.\"}",
		},
		{
			.status = 400,
			.reply_headers = { "X-Amzn-RequestId: jr-2" },
			.reply_body = "{\"__type\":\"com.amazonaws.secretsmanager#"
				      "ResourceNotFoundException\",\"Message\":\"Secrets Manager "
				      "can't find the specified secret.\"}",
		},
		{
			.status = 400,
			.reply_body = "{\"code\":\"aws.protocoltests#ValidationException:extra\"}",
		},
		{
			.status = 404,
			.reply_body = "not json",
		},
	};
	static const char *const env[] = { "AWS_DEFAULT_REGION=eu-west-1", NULL };
	struct aws_client *c = client_env(steps, ARRAY_SIZE(steps), env, NULL);
	struct strbuf body = STRBUF_INIT, err = STRBUF_INIT;
	struct aws_error e = { 0 };

	assert_int_equal(aws_json_call(c, AWS_SVC_SECRETS_MANAGER, "secretsmanager.CreateSecret",
				       "{\"Name\":\"x\"}", AWS_CALL_NOT_IDEMPOTENT, &body, &e,
				       &err),
			 0);
	assert_string_equal(body.buf, "{\"ARN\":\"arn:x\",\"Name\":\"x\"}");

	assert_int_equal(aws_json_call(c, AWS_SVC_SECRETS_MANAGER, "secretsmanager.CreateSecret",
				       "{}", AWS_CALL_NOT_IDEMPOTENT, &body, &e, &err),
			 -1);
	assert_string_equal(e.code, "ResourceExistsException");
	assert_string_equal(e.message, "The secret x already exists.");
	assert_string_equal(e.request_id, "jr-1");
	assert_int_equal(e.http_status, 400);
	assert_string_equal(err.buf, "CreateSecret: ResourceExistsException: The secret x already "
				     "exists. (request id jr-1)");

	strbuf_reset(&err);
	assert_int_equal(aws_json_call(c, AWS_SVC_SECRETS_MANAGER, "secretsmanager.DescribeSecret",
				       NULL, AWS_CALL_IDEMPOTENT, &body, &e, &err),
			 -1);
	assert_string_equal(err.buf, "DescribeSecret: ResourceNotFoundException: Secrets Manager "
				     "can't find the specified secret. (request id jr-2)");

	strbuf_reset(&err);
	assert_int_equal(aws_json_call(c, AWS_SVC_SECRETS_MANAGER, "secretsmanager.DescribeSecret",
				       NULL, AWS_CALL_IDEMPOTENT, &body, &e, &err),
			 -1);
	assert_string_equal(e.code, "ValidationException");
	assert_null(e.message);
	assert_string_equal(err.buf, "DescribeSecret: ValidationException");

	strbuf_reset(&err);
	assert_int_equal(aws_json_call(c, AWS_SVC_SECRETS_MANAGER, "secretsmanager.DescribeSecret",
				       NULL, AWS_CALL_IDEMPOTENT, &body, &e, &err),
			 -1);
	assert_string_equal(err.buf, "DescribeSecret: HTTP 404");
	aws_error_release(&e);
	done(c);
	strbuf_release(&body);
	strbuf_release(&err);
}

static void test_json_throttling_retried(void **state)
{
	static const struct fake_step steps[] = {
		{ .url = "https://ssm.us-east-1.amazonaws.com/",
		  .headers = { "X-Amz-Target: AmazonSSM.PutParameter" },
		  .status = 400,
		  .reply_body =
			  "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}" },
		{ .reply_body = "{\"Version\":1}" },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct strbuf body = STRBUF_INIT, err = STRBUF_INIT;

	assert_int_equal(aws_json_call(c, AWS_SVC_SSM, "AmazonSSM.PutParameter", "{}",
				       AWS_CALL_NOT_IDEMPOTENT, &body, NULL, &err),
			 0);
	assert_int_equal(c->retries, 1);
	assert_string_equal(body.buf, "{\"Version\":1}");
	done(c);
	strbuf_release(&body);
	strbuf_release(&err);
}

/* ---- retries and idempotency ------------------------------------------- */

#define CREATE_KEY_OK                                                                              \
	"<CreateAccessKeyResponse " IAM_NS "><CreateAccessKeyResult><AccessKey>"                   \
	"<UserName>bob</UserName><AccessKeyId>AKIANEW</AccessKeyId><Status>Active</Status>"        \
	"<SecretAccessKey>secret/new</SecretAccessKey></AccessKey></CreateAccessKeyResult>"        \
	"<ResponseMetadata><RequestId>ck</RequestId></ResponseMetadata>"                           \
	"</CreateAccessKeyResponse>"
#define THROTTLED                                                                                  \
	"<ErrorResponse " IAM_NS "><Error><Type>Sender</Type><Code>Throttling</Code>"              \
	"<Message>Rate exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>"
#define SERVER_ERROR                                                                               \
	"<ErrorResponse " IAM_NS "><Error><Type>Receiver</Type><Code>ServiceFailure</Code>"        \
	"<Message>internal</Message></Error><RequestId>s</RequestId></ErrorResponse>"

static void test_create_key_timeout_outcome_unknown(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = "Action=CreateAccessKey&Version=2010-05-08&UserName=bob",
		  .error = HTTP_ERR_TIMEOUT,
		  .error_text = "Operation timed out after 60000 milliseconds" },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_access_key k;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_create_access_key(c, "bob", &k, &err), -1);
	assert_int_equal(fake_transport_count(c->http), 1);
	assert_int_equal(c->retries, 0);
	assert_int_equal(sleeps.n, 0);
	assert_string_equal(aws_client_last_error_code(c), AWS_OUTCOME_UNKNOWN);
	assert_string_equal(err.buf, "CreateAccessKey: outcome unknown: cannot reach "
				     "iam.amazonaws.com: Operation timed out after 60000 "
				     "milliseconds; the access key may have been created: list the "
				     "user's access keys to find out");
	assert_null(k.access_key_id);
	done(c);
	strbuf_release(&err);
}

static void test_create_key_ambiguous_outcomes(void **state)
{
	static const struct fake_step steps[] = {
		{ .error = HTTP_ERR_RECV, .error_text = "Connection reset by peer" },
		{ .status = 500, .reply_body = SERVER_ERROR },
		{ .status = 503, .reply_body = "" },
		{ .reply_body = "<CreateAccessKeyResponse " IAM_NS "><CreateAccessKeyResult>"
				"<AccessKey><UserName>bob</UserName><AccessKeyId>AKIA" },
		{ .error = HTTP_ERR_OTHER, .error_text = "SSL certificate problem" },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_access_key k;
	struct strbuf err = STRBUF_INIT;
	int i;

	for (i = 0; i < 5; i++) {
		strbuf_reset(&err);
		assert_int_equal(iam_create_access_key(c, "bob", &k, &err), -1);
		assert_string_equal(aws_client_last_error_code(c), AWS_OUTCOME_UNKNOWN);
		assert_non_null(strstr(err.buf, "the access key may have been created"));
		assert_int_equal(fake_transport_count(c->http), (size_t)i + 1);
	}
	assert_int_equal(c->retries, 0);
	done(c);
	strbuf_release(&err);
}

static void test_create_key_throttled_then_ok(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 400, .reply_body = THROTTLED },
		{ .error = HTTP_ERR_CONNECT, .error_text = "Could not connect to server" },
		{ .body = "Action=CreateAccessKey&Version=2010-05-08&UserName=bob",
		  .reply_body = CREATE_KEY_OK },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_access_key k;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_create_access_key(c, "bob", &k, &err), 0);
	assert_int_equal(fake_transport_count(c->http), 3);
	assert_int_equal(c->retries, 2);
	assert_string_equal(k.access_key_id, "AKIANEW");
	assert_string_equal(k.secret_access_key, "secret/new");
	assert_int_equal(sleeps.n, 2);
	assert_int_equal(sleeps.ms[0], 50);  /* 0.5 * 100 */
	assert_int_equal(sleeps.ms[1], 100); /* 0.5 * 200 */
	assert_string_equal(aws_client_last_error_code(c), "");
	iam_access_key_release(&k);
	done(c);
	strbuf_release(&err);
}

static void test_create_key_throttled_once(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 400, .reply_body = THROTTLED },
		{ .reply_body = CREATE_KEY_OK },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_access_key k;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_create_access_key(c, "bob", &k, &err), 0);
	assert_int_equal(fake_transport_count(c->http), 2);
	assert_int_equal(c->retries, 1);
	iam_access_key_release(&k);
	done(c);
	strbuf_release(&err);
}

static void test_create_key_refused(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 409,
		  .reply_body = "<ErrorResponse><Error><Code>LimitExceeded</Code><Message>Cannot "
				"exceed quota for AccessKeysPerUser: 2</Message></Error>"
				"<RequestId>l</RequestId></ErrorResponse>" },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_access_key k;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_create_access_key(c, "bob", &k, &err), -1);
	assert_string_equal(aws_client_last_error_code(c), "LimitExceeded");
	assert_string_equal(err.buf, "CreateAccessKey: LimitExceeded: Cannot exceed quota for "
				     "AccessKeysPerUser: 2 (request id l)");
	done(c);
	strbuf_release(&err);
}

static void test_list_users_500_500_200(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 500, .reply_body = SERVER_ERROR },
		{ .status = 500, .reply_body = SERVER_ERROR },
		{ .reply_body = LIST_USERS(USER("u1"), "<IsTruncated>false</IsTruncated>") },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), 0);
	assert_int_equal(fake_transport_count(c->http), 3);
	assert_int_equal(c->retries, 2);
	assert_int_equal(c->calls, 1);
	assert_int_equal(users.nusers, 1);
	assert_int_equal(users.pages, 1);
	assert_int_equal(sleeps.n, 2);
	iam_user_list_release(&users);
	done(c);
	strbuf_release(&err);
}

static void test_list_users_malformed_then_ok(void **state)
{
	static const struct fake_step steps[] = {
		{ .reply_body = "<ListUsersResponse " IAM_NS "><ListUsersResult><Users><member>" },
		{ .reply_body =
			  LIST_USERS(USER("u1") USER("u2"), "<IsTruncated>false</IsTruncated>") },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), 0);
	assert_int_equal(fake_transport_count(c->http), 2);
	assert_int_equal(c->retries, 1);
	assert_int_equal(users.nusers, 2);
	iam_user_list_release(&users);
	done(c);
	strbuf_release(&err);
}

static void test_list_users_malformed_every_time(void **state)
{
	static const struct fake_step steps[] = {
		{ .reply_body = "<ListUsersResponse" },
		{ .reply_body = "<ListUsersResponse" },
		/* truncated without a marker: would never end */
		{ .reply_body = LIST_USERS(USER("u1"), "<IsTruncated>true</IsTruncated>") },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), -1);
	assert_int_equal(fake_transport_count(c->http), 3);
	/* the parser's message (iam.c checks the same in case a parser does not) */
	assert_string_equal(err.buf, "ListUsers: malformed response: ListUsers response is "
				     "truncated but has no Marker");
	assert_string_equal(aws_client_last_error_code(c), AWS_MALFORMED_RESPONSE);
	assert_int_equal(c->last_error.http_status, 200);
	assert_int_equal(users.nusers, 0);
	done(c);
	strbuf_release(&err);
}

static void test_max_attempts_exhausted(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 400, .reply_body = THROTTLED },
		{ .status = 400, .reply_body = THROTTLED },
		{ .status = 400, .reply_body = THROTTLED },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), -1);
	assert_int_equal(fake_transport_count(c->http), 3);
	assert_int_equal(c->retries, 2);
	assert_string_equal(err.buf, "ListUsers: Throttling: Rate exceeded (request id t)");
	assert_string_equal(aws_client_last_error_code(c), "Throttling");
	done(c);
	strbuf_release(&err);
}

static void test_transport_errors_exhausted(void **state)
{
	static const struct fake_step steps[] = {
		{ .error = HTTP_ERR_CONNECT,
		  .error_text = "Could not resolve host: iam.amazonaws.com" },
		{ .error = HTTP_ERR_TIMEOUT, .error_text = "timed out" },
		{ .error = HTTP_ERR_CONNECT,
		  .error_text = "Failed to connect to iam.amazonaws.com port 443\nafter 5 ms" },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user u;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_get_user(c, NULL, &u, &err), -1);
	assert_string_equal(err.buf, "GetUser: cannot reach iam.amazonaws.com: Failed to connect "
				     "to iam.amazonaws.com port 443 after 5 ms");
	assert_string_equal(aws_client_last_error_code(c), "RequestFailed");
	assert_int_equal(c->last_error.http_status, 0);
	done(c);
	strbuf_release(&err);
}

static void test_max_attempts_one(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 500, .reply_body = SERVER_ERROR },
	};
	static const char *const env[] = { "AWS_MAX_ATTEMPTS=1", NULL };
	struct aws_client *c = client_env(steps, ARRAY_SIZE(steps), env, NULL);
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(c->retry.max_attempts, 1);
	assert_int_equal(iam_list_users(c, NULL, &users, &err), -1);
	assert_int_equal(fake_transport_count(c->http), 1);
	assert_int_equal(c->retries, 0);
	assert_string_equal(err.buf, "ListUsers: ServiceFailure: internal (request id s)");
	done(c);
	strbuf_release(&err);
}

static void test_max_attempts_five(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 503 },
		{ .status = 502 },
		{ .status = 504 },
		{ .status = 500 },
		{ .reply_body = LIST_USERS("", "<IsTruncated>false</IsTruncated>") },
	};
	static const char *const env[] = { "AWS_MAX_ATTEMPTS=5", "AWS_RETRY_MODE=standard", NULL };
	struct aws_client *c = client_env(steps, ARRAY_SIZE(steps), env, NULL);
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), 0);
	assert_int_equal(c->retries, 4);
	assert_int_equal(sleeps.n, 4);
	assert_int_equal(sleeps.ms[3], 400); /* 0.5 * 800 */
	iam_user_list_release(&users);
	done(c);
	strbuf_release(&err);
}

static void test_bad_retry_config(void **state)
{
	static const char *const bad[][3] = {
		{ "AWS_MAX_ATTEMPTS=0", NULL,
		  "invalid AWS_MAX_ATTEMPTS '0': expected an integer "
		  "from 1 to 100" },
		{ "AWS_MAX_ATTEMPTS=abc", NULL,
		  "invalid AWS_MAX_ATTEMPTS 'abc': expected an "
		  "integer from 1 to 100" },
		{ "AWS_MAX_ATTEMPTS=3x", NULL, NULL },
		{ "AWS_MAX_ATTEMPTS=-2", NULL, NULL },
		{ "AWS_MAX_ATTEMPTS=101", NULL, NULL },
		{ "AWS_MAX_ATTEMPTS= 3", NULL, NULL },
		{ "AWS_RETRY_MODE=fast", NULL,
		  "invalid AWS_RETRY_MODE 'fast': expected legacy, "
		  "standard or adaptive" },
		{ "AWS_REGION=US-EAST-1", NULL, "invalid region 'US-EAST-1' (from AWS_REGION)" },
		{ "AWS_ENDPOINT_URL=ftp://x", NULL, NULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct aws_client_config cfg = { 0 };
		struct strbuf err = STRBUF_INIT;
		const char *env[2] = { bad[i][0], NULL };
		struct aws_credentials creds = { 0 };

		creds.access_key_id = xstrdup("AKID");
		creds.secret_access_key = xstrdup("secret");
		cfg.creds = cred_provider_static_new(&creds);
		aws_credentials_release(&creds);
		cfg.http = fake_transport_new(NULL, 0);
		cfg.getenv_fn = fake_getenv;
		cfg.getenv_ctx = env;
		assert_null(aws_client_new_config(&cfg, &err));
		assert_true(err.len > 0);
		assert_null(strchr(err.buf, '\n'));
		if (bad[i][2])
			assert_string_equal(err.buf, bad[i][2]);
		strbuf_release(&err);
	}
}

static void test_retry_config_ok(void **state)
{
	static const char *const env[] = { "AWS_MAX_ATTEMPTS=7", "AWS_RETRY_MODE=adaptive", NULL };
	static const char *const env2[] = { "AWS_MAX_ATTEMPTS=", "AWS_RETRY_MODE=legacy", NULL };
	struct aws_client *c = client_env(NULL, 0, env, NULL);

	assert_int_equal(c->retry.max_attempts, 7);
	assert_int_equal(c->retry.adaptive, 1);
	aws_client_free(c);
	c = client_env(NULL, 0, env2, NULL);
	assert_int_equal(c->retry.max_attempts, 3);
	assert_int_equal(c->retry.adaptive, 0);
	aws_client_free(c);
}

static void test_region_precedence(void **state)
{
	static const char *const both[] = { "AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-2",
					    NULL };
	static const char *const dflt[] = { "AWS_DEFAULT_REGION=eu-west-2", NULL };
	struct aws_client_config cfg = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct aws_client *c;

	cfg.http = fake_transport_new(NULL, 0);
	cfg.getenv_fn = fake_getenv;
	cfg.getenv_ctx = (void *)both;
	cfg.region = "ap-south-1";
	cfg.profile_region = "sa-east-1";
	c = aws_client_new_config(&cfg, &err);
	assert_non_null(c);
	assert_string_equal(c->region, "ap-south-1");
	assert_string_equal(c->endpoints[AWS_SVC_STS].url, "https://sts.ap-south-1.amazonaws.com");
	aws_client_free(c);

	cfg.http = fake_transport_new(NULL, 0);
	cfg.region = NULL;
	c = aws_client_new_config(&cfg, &err);
	assert_string_equal(c->region, "eu-west-1");
	aws_client_free(c);

	cfg.http = fake_transport_new(NULL, 0);
	cfg.getenv_ctx = (void *)dflt;
	c = aws_client_new_config(&cfg, &err);
	assert_string_equal(c->region, "eu-west-2");
	aws_client_free(c);

	cfg.http = fake_transport_new(NULL, 0);
	cfg.getenv_ctx = (void *)no_env;
	c = aws_client_new_config(&cfg, &err);
	assert_string_equal(c->region, "sa-east-1");
	aws_client_free(c);

	cfg.http = fake_transport_new(NULL, 0);
	cfg.profile_region = NULL;
	c = aws_client_new_config(&cfg, &err);
	assert_string_equal(c->region, "us-east-1");
	aws_client_free(c);
	strbuf_release(&err);
}

static void test_endpoint_override_in_requests(void **state)
{
	static const struct fake_step steps[] = {
		{ .url = "http://localhost:4566/",
		  .headers = { "Host: localhost:4566",
			       "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"
			       "us-east-1/iam/aws4_request" },
		  .reply_body = LIST_USERS("", "<IsTruncated>false</IsTruncated>") },
		{ .url = "http://localhost:4566/",
		  .headers = { "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"
			       "eu-central-1/sts/aws4_request" },
		  .reply_body = "<GetCallerIdentityResponse><GetCallerIdentityResult>"
				"<Arn>arn:aws:iam::1:user/a</Arn><UserId>U</UserId>"
				"<Account>1</Account></GetCallerIdentityResult>"
				"</GetCallerIdentityResponse>" },
	};
	static const char *const env[] = { "AWS_ENDPOINT_URL=http://localhost:4566/",
					   "AWS_REGION=eu-central-1", NULL };
	struct aws_client *c = client_env(steps, ARRAY_SIZE(steps), env, NULL);
	struct iam_user_list users;
	struct sts_caller_identity id;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), 0);
	iam_user_list_release(&users);
	assert_int_equal(sts_get_caller_identity(c, &id, &err), 0);
	sts_caller_identity_release(&id);
	done(c);
	strbuf_release(&err);
}

static void test_clock_skew_corrected(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 403,
		  .reply_headers = { "Date: Sun, 30 Aug 2015 13:36:00 GMT" },
		  .reply_body = "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>"
				"Signature expired</Message></Error></ErrorResponse>" },
		{ .headers = { "X-Amz-Date: 20150830T133600Z",
			       "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/" },
		  .reply_body = LIST_USERS("", "<IsTruncated>false</IsTruncated>") },
		/* later calls keep the offset */
		{ .headers = { "X-Amz-Date: 20150830T133600Z" },
		  .reply_body = LIST_USERS("", "<IsTruncated>false</IsTruncated>") },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), 0);
	assert_int_equal(c->clock_skew, 3600);
	iam_user_list_release(&users);
	assert_int_equal(iam_list_users(c, NULL, &users, &err), 0);
	iam_user_list_release(&users);
	done(c);
	strbuf_release(&err);
}

static void test_signature_error_without_skew_not_retried(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 403,
		  .reply_headers = { "Date: Sun, 30 Aug 2015 12:36:30 GMT" },
		  .reply_body = "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>"
				"bad secret</Message></Error><RequestId>x</RequestId>"
				"</ErrorResponse>" },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user u;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_get_user(c, NULL, &u, &err), -1);
	assert_string_equal(err.buf, "GetUser: SignatureDoesNotMatch: bad secret (request id x)");
	/* the offset is learnt, but 30 s cannot explain the refusal: no retry */
	assert_int_equal(c->clock_skew, 30);
	done(c);
	strbuf_release(&err);
}

/* ---- AWS's clock from every response's Date ------------------------- */

#define USERS_OK LIST_USERS("", "<IsTruncated>false</IsTruncated>")

static struct aws_client *clock_client(const struct fake_step *steps, size_t n)
{
	struct aws_client *c = client(steps, n);

	fake_clock_now = FIXED_NOW;
	c->now = fake_clock;
	return c;
}

static void list_users_ok(struct aws_client *c)
{
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), 0);
	iam_user_list_release(&users);
	strbuf_release(&err);
}

static void test_clock_learnt_from_a_success(void **state)
{
	static const struct fake_step steps[] = {
		{ .headers = { "X-Amz-Date: 20150830T123600Z" },
		  .reply_headers = { "Date: Sun, 30 Aug 2015 13:36:00 GMT" },
		  .reply_body = USERS_OK },
		/* the next request is signed in AWS's time too */
		{ .headers = { "X-Amz-Date: 20150830T133600Z" }, .reply_body = USERS_OK },
	};
	struct aws_client *c = clock_client(steps, ARRAY_SIZE(steps));

	assert_false(aws_client_clock_known(c));
	assert_int_equal(aws_client_now(c), FIXED_NOW);
	list_users_ok(c);
	assert_true(aws_client_clock_known(c));
	assert_int_equal(c->clock_skew, 3600);
	assert_int_equal(aws_client_now(c), FIXED_NOW + 3600);
	list_users_ok(c); /* no Date: the estimate stays */
	assert_int_equal(c->clock_samples, 1);
	assert_int_equal(aws_client_now(c), FIXED_NOW + 3600);
	done(c);
}

static void test_clock_round_trip_and_narrowing(void **state)
{
	static const struct fake_step steps[] = {
		/* a slow reply (10 s): AWS wrote 13:36:05 somewhere in those 10 s */
		{ .clock_advance_s = 10,
		  .reply_headers = { "Date: Sun, 30 Aug 2015 13:36:05 GMT" },
		  .reply_body = USERS_OK },
		/* a quick one narrows it down */
		{ .headers = { "X-Amz-Date: 20150830T133610Z" },
		  .reply_headers = { "Date: Sun, 30 Aug 2015 13:36:11 GMT" },
		  .reply_body = USERS_OK },
		/* a clock was stepped (AWS's, or ours): start over from this one */
		{ .headers = { "X-Amz-Date: 20150830T133611Z" },
		  .reply_headers = { "Date: Sun, 30 Aug 2015 10:36:10 GMT" },
		  .reply_body = USERS_OK },
		{ .headers = { "X-Amz-Date: 20150830T103610Z" }, .reply_body = USERS_OK },
	};
	struct aws_client *c = clock_client(steps, ARRAY_SIZE(steps));

	list_users_ok(c);
	/* sent at +0, received at +10: 13:36:05 - [12:36:10, 12:36:01] */
	assert_int_equal(c->clock_lo, 3594);
	assert_int_equal(c->clock_hi, 3606);
	assert_int_equal(c->clock_skew, 3600);
	list_users_ok(c);
	assert_int_equal(c->clock_lo, 3600);
	assert_int_equal(c->clock_hi, 3602);
	assert_int_equal(c->clock_skew, 3601);
	list_users_ok(c);
	assert_int_equal(c->clock_lo, -7201);
	assert_int_equal(c->clock_hi, -7199);
	assert_int_equal(c->clock_skew, -7200);
	assert_int_equal(aws_client_now(c), FIXED_NOW + 10 - 7200);
	list_users_ok(c);
	assert_int_equal(c->clock_samples, 3);
	done(c);
}

static void test_clock_ignores_bad_dates(void **state)
{
	static const struct fake_step steps[] = {
		{ .reply_headers = { "Date: yesterday" }, .reply_body = USERS_OK },
		{ .reply_headers = { "Date: Sun, 30 Aug 2015 13:36:00" }, .reply_body = USERS_OK },
		{ .reply_headers = { "Date: Sun, 31 Foo 2015 13:36:00 GMT" },
		  .reply_body = USERS_OK },
		/* a transport error has no Date at all */
		{ .error = HTTP_ERR_CONNECT },
		{ .reply_headers = { "Date: Sun, 30 Aug 2015 12:36:00 GMT" },
		  .reply_body = USERS_OK },
	};
	struct aws_client *c = clock_client(steps, ARRAY_SIZE(steps));

	list_users_ok(c);
	list_users_ok(c);
	list_users_ok(c);
	assert_false(aws_client_clock_known(c));
	assert_int_equal(aws_client_now(c), FIXED_NOW);
	list_users_ok(c); /* connect error, then retried */
	assert_true(aws_client_clock_known(c));
	assert_int_equal(c->clock_skew, 0);
	assert_int_equal(aws_client_learn_clock(c, NULL, FIXED_NOW, FIXED_NOW), 0);
	/* our clock went backwards during the request: nothing to learn */
	assert_int_equal(aws_client_learn_clock(c, "Sun, 30 Aug 2015 12:36:00 GMT", FIXED_NOW,
						FIXED_NOW - 5),
			 0);
	assert_int_equal(c->clock_samples, 1);
	done(c);
}

static int warn_calls;
static long warn_offset;

static void count_warning(void *ctx, long offset)
{
	assert_ptr_equal(ctx, &warn_calls);
	warn_calls++;
	warn_offset = offset;
}

static void test_clock_warning_once(void **state)
{
	static const struct fake_step steps[] = {
		{ .reply_headers = { "Date: Sun, 30 Aug 2015 12:36:59 GMT" },
		  .reply_body = USERS_OK },
		{ .reply_headers = { "Date: Sun, 30 Aug 2015 09:36:00 GMT" },
		  .reply_body = USERS_OK },
		{ .reply_headers = { "Date: Sun, 30 Aug 2015 09:36:00 GMT" },
		  .reply_body = USERS_OK },
	};
	struct aws_client *c = clock_client(steps, ARRAY_SIZE(steps));
	struct aws_client *w = clock_client(NULL, 0);

	warn_calls = 0;
	c->clock_warn = count_warning;
	c->clock_warn_ctx = &warn_calls;
	list_users_ok(c); /* 59 s: within a minute, no warning */
	assert_int_equal(c->clock_skew, 59);
	assert_int_equal(warn_calls, 0);
	list_users_ok(c); /* we are 3 h ahead */
	assert_int_equal(warn_calls, 1);
	assert_int_equal(warn_offset, -10800);
	list_users_ok(c);
	assert_int_equal(warn_calls, 1);
	/* a client of the same AWS starts from what c learnt, warning included */
	aws_client_copy_clock(w, c);
	assert_true(aws_client_clock_known(w));
	assert_int_equal(aws_client_now(w), FIXED_NOW - 10800);
	assert_int_equal(aws_client_learn_clock(w, "Sun, 30 Aug 2015 09:36:00 GMT", FIXED_NOW,
						FIXED_NOW),
			 1);
	assert_int_equal(warn_calls, 1);
	done(w);
	done(c);
}

static void test_clock_skew_on_create_not_resent(void **state)
{
	/* CreateAccessKey is never re-sent, but its refusal still teaches the clock */
	static const struct fake_step steps[] = {
		{ .status = 403,
		  .reply_headers = { "Date: Sun, 30 Aug 2015 13:36:00 GMT" },
		  .reply_body = "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>"
				"Signature expired</Message></Error></ErrorResponse>" },
	};
	struct aws_client *c = clock_client(steps, ARRAY_SIZE(steps));
	struct iam_access_key k = { 0 };
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_create_access_key(c, "bob", &k, &err), -1);
	assert_int_equal(c->clock_skew, 3600);
	iam_access_key_release(&k);
	strbuf_release(&err);
	done(c);
}

static void test_explicit_credentials_no_retry(void **state)
{
	static const struct fake_step steps[] = {
		{ .headers = { "Authorization: AWS4-HMAC-SHA256 Credential=AKIANEW/20150830/us-east-1/"
			       "sts/aws4_request" },
		  .status = 403,
		  .reply_body = "<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>"
				"The security token included in the request is invalid."
				"</Message></Error></ErrorResponse>" },
		{ .status = 500 },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct aws_credentials fresh = { 0 };
	struct sts_caller_identity id;
	struct strbuf err = STRBUF_INIT;

	fresh.access_key_id = xstrdup("AKIANEW");
	fresh.secret_access_key = xstrdup("secret/new");
	assert_int_equal(sts_get_caller_identity_with(c, &fresh, &id, &err), -1);
	assert_string_equal(aws_client_last_error_code(c), "InvalidClientTokenId");
	assert_null(strstr(err.buf, "secret/new"));
	strbuf_reset(&err);
	assert_int_equal(sts_get_caller_identity_with(c, &fresh, &id, &err), -1);
	assert_string_equal(err.buf, "GetCallerIdentity: HTTP 500");
	assert_int_equal(c->retries, 0);
	aws_credentials_release(&fresh);
	done(c);
	strbuf_release(&err);
}

static void test_expired_token_retried(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 403,
		  .reply_body = "<ErrorResponse><Error><Code>ExpiredToken</Code><Message>The "
				"security token included in the request is expired</Message>"
				"</Error></ErrorResponse>" },
		{ .reply_body = LIST_USERS("", "<IsTruncated>false</IsTruncated>") },
	};
	struct aws_client *c = client_env(steps, ARRAY_SIZE(steps), no_env, "TOKEN");
	struct iam_user_list users;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(iam_list_users(c, NULL, &users, &err), 0);
	assert_int_equal(c->retries, 1);
	iam_user_list_release(&users);
	done(c);
	strbuf_release(&err);
}

/* ---- the other typed calls -------------------------------------------- */

static void test_simple_writes(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = "Action=UpdateAccessKey&Version=2010-05-08&UserName=bob&AccessKeyId=AKIA1&"
			  "Status=Inactive",
		  .reply_body = "<UpdateAccessKeyResponse><ResponseMetadata><RequestId>u"
				"</RequestId></ResponseMetadata></UpdateAccessKeyResponse>" },
		{ .body = "Action=DeleteAccessKey&Version=2010-05-08&UserName=bob&AccessKeyId=AKIA1",
		  .reply_body = "<DeleteAccessKeyResponse " IAM_NS "><ResponseMetadata><RequestId>"
				"d</RequestId></ResponseMetadata></DeleteAccessKeyResponse>" },
		{ .body = "Action=TagUser&Version=2010-05-08&UserName=bob&Tags.member.1.Key=owner&"
			  "Tags.member.1.Value=a%20b&Tags.member.2.Key=iamkeys%3Arotated&"
			  "Tags.member.2.Value=",
		  .reply_body = "<TagUserResponse " IAM_NS "><ResponseMetadata><RequestId>t"
				"</RequestId></ResponseMetadata></TagUserResponse>" },
		{ .body = "Action=UntagUser&Version=2010-05-08&UserName=bob&TagKeys.member.1=a&"
			  "TagKeys.member.2=b",
		  .reply_body = "<UntagUserResponse " IAM_NS "><ResponseMetadata><RequestId>t"
				"</RequestId></ResponseMetadata></UntagUserResponse>" },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct strbuf err = STRBUF_INIT;
	struct iam_tag tags[] = { { (char *)"owner", (char *)"a b" },
				  { (char *)"iamkeys:rotated", NULL } };
	const char *const keys[] = { "a", "b" };

	assert_int_equal(iam_update_access_key(c, "bob", "AKIA1", "Inactive", &err), 0);
	assert_int_equal(iam_delete_access_key(c, "bob", "AKIA1", &err), 0);
	assert_int_equal(iam_tag_user(c, "bob", tags, 2, &err), 0);
	assert_int_equal(iam_untag_user(c, "bob", keys, 2, &err), 0);
	assert_int_equal(err.len, 0);
	done(c);
	strbuf_release(&err);
}

static void test_credential_report(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = "Action=GenerateCredentialReport&Version=2010-05-08",
		  .reply_body =
			  "<GenerateCredentialReportResponse " IAM_NS ">"
			  "<GenerateCredentialReportResult><Description>No report exists."
			  "</Description><State>STARTED</State>"
			  "</GenerateCredentialReportResult></GenerateCredentialReportResponse>" },
		{ .status = 410,
		  .reply_body = "<ErrorResponse><Error><Code>ReportNotPresent</Code><Message>No "
				"report</Message></Error></ErrorResponse>" },
		{ .body = "Action=GetCredentialReport&Version=2010-05-08",
		  .reply_body =
			  "<GetCredentialReportResponse " IAM_NS "><GetCredentialReportResult>"
			  "<Content>dXNlcixhcm4KYWxpY2UsYXJuOmF3czppYW06OjE6dXNlci9hbGljZQo="
			  "</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>"
			  "2024-01-02T03:04:05Z</GeneratedTime></GetCredentialReportResult>"
			  "</GetCredentialReportResponse>" },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct strbuf err = STRBUF_INIT, csv = STRBUF_INIT;
	struct aws_error aerr = { 0 };
	char *state_s = NULL, *when = NULL;

	assert_int_equal(iam_generate_credential_report(c, &state_s, &err), 0);
	assert_string_equal(state_s, "STARTED");
	free(state_s);
	assert_int_equal(iam_get_credential_report_ex(c, &csv, &when, &aerr, &err), -1);
	assert_string_equal(aerr.code, "ReportNotPresent");
	assert_int_equal(aerr.http_status, 410);
	assert_null(when);
	strbuf_reset(&err);
	assert_int_equal(iam_get_credential_report(c, &csv, &when, &err), 0);
	assert_string_equal(csv.buf, "user,arn\nalice,arn:aws:iam::1:user/alice\n");
	assert_string_equal(when, "2024-01-02T03:04:05Z");
	free(when);
	aws_error_release(&aerr);
	done(c);
	strbuf_release(&err);
	strbuf_release(&csv);
}

static void test_tags_and_groups_pages(void **state)
{
	static const struct fake_step steps[] = {
		{ .body = "Action=ListUserTags&Version=2010-05-08&UserName=bob&MaxItems=1000",
		  .reply_body =
			  "<ListUserTagsResponse " IAM_NS "><ListUserTagsResult><Tags><member>"
			  "<Key>a</Key><Value>1</Value></member></Tags><IsTruncated>true"
			  "</IsTruncated><Marker>t2</Marker></ListUserTagsResult>"
			  "</ListUserTagsResponse>" },
		{ .body = "Action=ListUserTags&Version=2010-05-08&UserName=bob&Marker=t2&"
			  "MaxItems=1000",
		  .reply_body =
			  "<ListUserTagsResponse " IAM_NS "><ListUserTagsResult><Tags><member>"
			  "<Key>b</Key><Value>2</Value></member></Tags><IsTruncated>false"
			  "</IsTruncated></ListUserTagsResult></ListUserTagsResponse>" },
		{ .body = "Action=ListGroupsForUser&Version=2010-05-08&UserName=bob&MaxItems=1000",
		  .reply_body = "<ListGroupsForUserResponse " IAM_NS "><ListGroupsForUserResult>"
				"<Groups><member><Path>/</Path><GroupName>admins</GroupName>"
				"<GroupId>G1</GroupId><Arn>arn:aws:iam::1:group/admins</Arn>"
				"<CreateDate>2020-01-01T00:00:00Z</CreateDate></member></Groups>"
				"<IsTruncated>false</IsTruncated></ListGroupsForUserResult>"
				"</ListGroupsForUserResponse>" },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct strbuf err = STRBUF_INIT;
	struct iam_tag_page tags;
	struct iam_group_page groups;

	assert_int_equal(iam_list_user_tags(c, "bob", &tags, &err), 0);
	assert_int_equal(tags.ntags, 2);
	assert_string_equal(tags.tags[0].key, "a");
	assert_string_equal(tags.tags[1].value, "2");
	assert_int_equal(tags.is_truncated, 0);
	iam_tag_page_release(&tags);
	assert_int_equal(iam_list_groups_for_user(c, "bob", &groups, &err), 0);
	assert_int_equal(groups.ngroups, 1);
	assert_string_equal(groups.group_names[0], "admins");
	iam_group_page_release(&groups);
	done(c);
	strbuf_release(&err);
}

static void test_debug_log_has_no_secrets(void **state)
{
	static const struct fake_step steps[] = {
		{ .status = 503 },
		{ .reply_body = LIST_USERS("", "<IsTruncated>false</IsTruncated>") },
		{ .status = 400, .reply_body = THROTTLED },
		{ .reply_body = CREATE_KEY_OK },
	};
	struct aws_client *c = client(steps, ARRAY_SIZE(steps));
	struct iam_user_list users;
	struct iam_access_key k;
	struct strbuf err = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *tmp = tmpfile();
	int saved = dup(2);

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	c->verbose = 1;
	assert_int_equal(iam_list_users(c, NULL, &users, &err), 0);
	assert_int_equal(iam_create_access_key(c, "bob", &k, &err), 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	assert_non_null(strstr(buf, "iamkeys: debug: ListUsers: retry 1/2 after 50ms: HTTP 503\n"));
	assert_non_null(strstr(buf, "iamkeys: debug: POST https://iam.amazonaws.com/ ListUsers -> "
				    "200 ("));
	assert_non_null(strstr(buf, "iamkeys: debug: CreateAccessKey: retry 1/2 after 50ms: "
				    "Throttling: Rate exceeded (request id t)\n"));
	assert_null(strstr(buf, "secret/new"));
	assert_null(strstr(buf, "wJalrXUtnFEMI"));
	assert_null(strstr(buf, "Signature="));
	assert_null(strstr(buf, "UserName=bob"));
	iam_user_list_release(&users);
	iam_access_key_release(&k);
	done(c);
	strbuf_release(&err);
}

static void test_clock_knobs(void **state)
{
	time_t before = time(NULL), now;

	unsetenv("IAMKEYS_TEST_NOW");
	unsetenv("IAMKEYS_TEST_CLOCK_OFFSET");
	now = aws_clock_now();
	assert_true(now >= before && now <= time(NULL));
	setenv("IAMKEYS_TEST_NOW", "2015-08-30T12:36:00Z", 1);
	assert_int_equal(aws_clock_now(), FIXED_NOW);
	setenv("IAMKEYS_TEST_CLOCK_OFFSET", "-86400", 1);
	assert_int_equal(aws_clock_now(), FIXED_NOW); /* a fixed time wins */
	unsetenv("IAMKEYS_TEST_NOW");
	before = time(NULL);
	now = aws_clock_now();
	assert_true(now >= before - 86400 && now <= time(NULL) - 86400);
	setenv("IAMKEYS_TEST_CLOCK_OFFSET", "12x", 1); /* invalid: ignored */
	before = time(NULL);
	now = aws_clock_now();
	assert_true(now >= before && now <= time(NULL));
	setenv("IAMKEYS_TEST_NOW", "yesterday", 1);
	now = aws_clock_now();
	assert_true(now >= before && now <= time(NULL));
	unsetenv("IAMKEYS_TEST_NOW");
	unsetenv("IAMKEYS_TEST_CLOCK_OFFSET");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_form_encode),
	cmocka_unit_test(test_form_body_exact),
	cmocka_unit_test(test_null_params_left_out),
	cmocka_unit_test(test_signature_iam),
	cmocka_unit_test(test_signature_session_token),
	cmocka_unit_test(test_signature_sts_regional),
	cmocka_unit_test(test_list_users_three_pages),
	cmocka_unit_test(test_list_users_repeated_marker),
	cmocka_unit_test(test_list_access_keys_pages),
	cmocka_unit_test(test_xml_error_shapes),
	cmocka_unit_test(test_query_aerr_filled),
	cmocka_unit_test(test_json_call),
	cmocka_unit_test(test_dynamodb_call),
	cmocka_unit_test(test_json_throttling_retried),
	cmocka_unit_test(test_create_key_timeout_outcome_unknown),
	cmocka_unit_test(test_create_key_ambiguous_outcomes),
	cmocka_unit_test(test_create_key_throttled_then_ok),
	cmocka_unit_test(test_create_key_throttled_once),
	cmocka_unit_test(test_create_key_refused),
	cmocka_unit_test(test_list_users_500_500_200),
	cmocka_unit_test(test_list_users_malformed_then_ok),
	cmocka_unit_test(test_list_users_malformed_every_time),
	cmocka_unit_test(test_max_attempts_exhausted),
	cmocka_unit_test(test_transport_errors_exhausted),
	cmocka_unit_test(test_max_attempts_one),
	cmocka_unit_test(test_max_attempts_five),
	cmocka_unit_test(test_bad_retry_config),
	cmocka_unit_test(test_retry_config_ok),
	cmocka_unit_test(test_region_precedence),
	cmocka_unit_test(test_endpoint_override_in_requests),
	cmocka_unit_test(test_clock_skew_corrected),
	cmocka_unit_test(test_signature_error_without_skew_not_retried),
	cmocka_unit_test(test_clock_learnt_from_a_success),
	cmocka_unit_test(test_clock_round_trip_and_narrowing),
	cmocka_unit_test(test_clock_ignores_bad_dates),
	cmocka_unit_test(test_clock_warning_once),
	cmocka_unit_test(test_clock_skew_on_create_not_resent),
	cmocka_unit_test(test_explicit_credentials_no_retry),
	cmocka_unit_test(test_expired_token_retried),
	cmocka_unit_test(test_simple_writes),
	cmocka_unit_test(test_credential_report),
	cmocka_unit_test(test_tags_and_groups_pages),
	cmocka_unit_test(test_debug_log_has_no_secrets),
	cmocka_unit_test(test_clock_knobs),
};

UNIT_TEST_MAIN(tests)
