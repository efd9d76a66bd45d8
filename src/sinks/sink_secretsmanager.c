#include "core/compat.h"
#include "sinks/sink.h"
#include "aws/client.h"
#include "core/strbuf.h"

/*
 * secretsmanager:NAME  CreateSecret {Name, SecretString, ClientRequestToken};
 *                      when the secret exists (ResourceExistsException),
 *                      PutSecretValue {SecretId, SecretString, ClientRequestToken}
 *                      adds a new version (AWSCURRENT moves to it). NAME
 *                      may be the ARN of an existing secret: PutSecretValue only.
 *                      A name is checked against CreateSecret's rules at once
 *                      (1 to 512 of letters, digits and / _ + = . @ -); an ARN
 *                      must name a secret that exists (the preflight asks).
 * ssm:NAME             PutParameter {Name, Value, Type: SecureString, Overwrite: true}
 *                      The name is checked against PutParameter's rules at
 *                      once: letters, digits and _ . - /, not beginning with
 *                      "aws" or "ssm" (any case, after a leading '/'), a name
 *                      with '/' beginning with '/', no empty level, at most 15
 *                      levels, and the parameter's ARN at most 1011 characters.
 * Both over JSON 1.1 (aws_json_call) on the service's own endpoint, the
 * SecretString / Value being the JSON document of new_secret_json. The
 * ClientRequestToken (a fresh UUID v4 per call) makes the Secrets Manager
 * calls idempotent, so they are retried like any read. Request bodies hold
 * the secret: each is sized up front (so it never reallocates) and wiped.
 */

struct remote_sink {
	struct sink base; /* base.arg: the secret's or parameter's name */
	struct aws_client *client;
};

/* The size of the body: the secret's JSON escaped once more, plus the rest. */
static void body_init(struct strbuf *body, const struct strbuf *json, const char *name)
{
	strbuf_grow(body, 6 * json->len + 6 * strlen(name) + 256);
}

static int no_client(struct sink *k, struct strbuf *err)
{
	strbuf_addf(err, "%s: no AWS client to deliver with", k->target);
	return -1;
}

/* A call failed (why: its message, may be empty): "<target>: <what><why>" in err; -1. */
static int call_failed(const struct sink *k, const char *what, const struct strbuf *why,
		       struct strbuf *err)
{
	strbuf_addf(err, "%s: %s%s", k->target, what, why->len ? why->buf : "request failed");
	return -1;
}

static const struct sink_vtable secretsmanager_vtable;

static int sm_call(struct remote_sink *r, const char *target, const char *id_member,
		   const struct strbuf *json, struct aws_error *aerr, struct strbuf *err)
{
	struct strbuf body = STRBUF_INIT, resp = STRBUF_INIT;
	char token[37];
	int ret;

	if (sink_uuid_v4(token)) {
		strbuf_addf(err, "%s: cannot make a random request token", r->base.target);
		return -1;
	}
	body_init(&body, json, r->base.arg);
	strbuf_addf(&body, "{\"%s\":", id_member);
	sink_json_string(&body, r->base.arg);
	strbuf_addstr(&body, ",\"SecretString\":");
	sink_json_string(&body, json->buf);
	strbuf_addf(&body, ",\"ClientRequestToken\":\"%s\"}", token);
	ret = aws_json_call(r->client, AWS_SVC_SECRETS_MANAGER, target, body.buf,
			    AWS_CALL_IDEMPOTENT, &resp, aerr, err);
	strbuf_release_secret(&body);
	strbuf_release_secret(&resp);
	return ret;
}

/* Secrets Manager: CreateSecret, or PutSecretValue when it exists (an ARN: it must). */
static int sm_put(struct remote_sink *r, const struct strbuf *json, struct aws_error *aerr,
		  struct strbuf *why)
{
	int ret;

	/* an ARN names an existing secret: CreateSecret would only refuse it */
	if (!strncmp(r->base.arg, "arn:", 4))
		ret = -1;
	else
		ret = sm_call(r, "secretsmanager.CreateSecret", "Name", json, aerr, why);
	if (!strncmp(r->base.arg, "arn:", 4) ||
	    (ret && aerr->code && !strcmp(aerr->code, "ResourceExistsException"))) {
		strbuf_reset(why);
		ret = sm_call(r, "secretsmanager.PutSecretValue", "SecretId", json, aerr, why);
	}
	return ret;
}

/* Parameter Store: PutParameter, a SecureString, overwritten. */
static int ssm_put(struct remote_sink *r, const struct strbuf *json, struct aws_error *aerr,
		   struct strbuf *why)
{
	struct strbuf body = STRBUF_INIT, resp = STRBUF_INIT;
	int ret;

	body_init(&body, json, r->base.arg);
	strbuf_addstr(&body, "{\"Name\":");
	sink_json_string(&body, r->base.arg);
	strbuf_addstr(&body, ",\"Value\":");
	sink_json_string(&body, json->buf);
	strbuf_addstr(&body, ",\"Type\":\"SecureString\",\"Overwrite\":true}");
	/* Overwrite makes a repeat harmless: retried like a read */
	ret = aws_json_call(r->client, AWS_SVC_SSM, "AmazonSSM.PutParameter", body.buf,
			    AWS_CALL_IDEMPOTENT, &resp, aerr, why);
	strbuf_release_secret(&body);
	strbuf_release_secret(&resp);
	return ret;
}

static int remote_deliver(struct sink *k, const struct new_secret *s, struct strbuf *err)
{
	struct remote_sink *r = (struct remote_sink *)k;
	struct strbuf json = STRBUF_INIT, why = STRBUF_INIT;
	struct aws_error aerr;
	int ret;

	if (!r->client)
		return no_client(k, err);
	memset(&aerr, 0, sizeof(aerr));
	new_secret_json(&json, s);
	if (k->vt == &secretsmanager_vtable)
		ret = sm_put(r, &json, &aerr, &why);
	else
		ret = ssm_put(r, &json, &aerr, &why);
	if (ret)
		call_failed(k, "", &why, err);
	strbuf_release_secret(&json);
	strbuf_release(&why);
	aws_error_release(&aerr);
	return ret;
}

/*
 * GetSecretValue said ResourceNotFound for an ARN: a secret without a
 * current version, or none at all? DescribeSecret tells. 0 it exists, 1 it
 * does not (with err), -1 could not tell (with err).
 */
static int sm_secret_exists(struct remote_sink *r, struct strbuf *err)
{
	struct strbuf body = STRBUF_INIT, resp = STRBUF_INIT, why = STRBUF_INIT;
	struct aws_error aerr;
	int ret;

	memset(&aerr, 0, sizeof(aerr));
	strbuf_addstr(&body, "{\"SecretId\":");
	sink_json_string(&body, r->base.arg);
	strbuf_addch(&body, '}');
	ret = aws_json_call(r->client, AWS_SVC_SECRETS_MANAGER, "secretsmanager.DescribeSecret",
			    body.buf, AWS_CALL_IDEMPOTENT, &resp, &aerr, &why);
	if (!ret) {
		ret = 0;
	} else if (aerr.code && !strcmp(aerr.code, "ResourceNotFoundException")) {
		strbuf_addf(err,
			    "%s: no such secret (an ARN must name an existing secret; give a "
			    "name to create one)",
			    r->base.target);
		ret = 1;
	} else {
		ret = call_failed(&r->base, "cannot read the current value: ", &why, err);
	}
	strbuf_release(&body);
	strbuf_release(&resp);
	strbuf_release(&why);
	aws_error_release(&aerr);
	return ret;
}

/*
 * Before the key exists: which key does the secret / parameter hold now?
 * GetSecretValue {SecretId} or GetParameter {Name, WithDecryption}; the
 * response holds the old secret, so it is wiped and only the AccessKeyId
 * is taken (new_secret_json_key_id). Not found: 0 and nothing held.
 * Another error (no permission to read back, say): -1, delivery may still
 * work.
 */
static int remote_preflight(struct sink *k, char **held_key_id, struct strbuf *err)
{
	struct remote_sink *r = (struct remote_sink *)k;
	struct strbuf body = STRBUF_INIT, resp = STRBUF_INIT, why = STRBUF_INIT;
	struct aws_error aerr;
	int sm = k->vt == &secretsmanager_vtable, ret;

	if (!r->client)
		return no_client(k, err);
	memset(&aerr, 0, sizeof(aerr));
	strbuf_addstr(&body, sm ? "{\"SecretId\":" : "{\"Name\":");
	sink_json_string(&body, r->base.arg);
	strbuf_addstr(&body, sm ? "}" : ",\"WithDecryption\":true}");
	ret = aws_json_call(r->client, sm ? AWS_SVC_SECRETS_MANAGER : AWS_SVC_SSM,
			    sm ? "secretsmanager.GetSecretValue" : "AmazonSSM.GetParameter",
			    body.buf, AWS_CALL_IDEMPOTENT, &resp, &aerr, &why);
	if (!ret) {
		*held_key_id = new_secret_json_key_id(resp.buf, resp.len);
	} else if (sm && !strncmp(r->base.arg, "arn:", 4) && aerr.code &&
		   !strcmp(aerr.code, "ResourceNotFoundException")) {
		/* delivery to an ARN is PutSecretValue only: the secret must exist */
		ret = sm_secret_exists(r, err);
	} else if (aerr.code && (!strcmp(aerr.code, "ResourceNotFoundException") ||
				 !strcmp(aerr.code, "ParameterNotFound"))) {
		ret = 0;
	} else {
		ret = call_failed(k, "cannot read the current value: ", &why, err);
	}
	strbuf_release(&body);
	strbuf_release_secret(&resp);
	strbuf_release(&why);
	aws_error_release(&aerr);
	return ret;
}

static const struct sink_vtable secretsmanager_vtable = {
	.scheme = "secretsmanager",
	.deliver = remote_deliver,
	.preflight = remote_preflight,
};

static const struct sink_vtable ssm_vtable = {
	.scheme = "ssm",
	.deliver = remote_deliver,
	.preflight = remote_preflight,
};

static struct sink *remote_new(const struct sink_vtable *vt, const char *name,
			       const struct sink_context *ctx, char *target, struct strbuf *err)
{
	struct remote_sink *r;
	struct strbuf id = STRBUF_INIT;

	r = sink_alloc(sizeof(*r), vt, target, name);
	r->client = ctx->client;
	strbuf_addf(&id, "%s:%s", vt->scheme, name);
	r->base.identity = strbuf_detach(&id, NULL);
	return &r->base;
}

static struct sink *refuse(char *target, struct strbuf *err, const char *fmt, ...)
	PRINTF_LIKE(3, 4);
static struct sink *refuse(char *target, struct strbuf *err, const char *fmt, ...)
{
	va_list ap;
	strbuf_addf(err, "%s: ", target);
	va_start(ap, fmt);
	strbuf_vaddf(err, fmt, ap);
	va_end(ap);
	free(target);
	return NULL;
}

struct sink *sink_secretsmanager_new(const char *name, const struct sink_context *ctx, char *target,
				     struct strbuf *err)
{
	const char *p;

	if (!strncmp(name, "arn:", 4)) {
		if (strlen(name) > 2048)
			return refuse(target, err, "ARN longer than 2048 characters");
		for (p = name; *p; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
				return refuse(target, err,
					      "the ARN contains a space or control character");
		return remote_new(&secretsmanager_vtable, name, ctx, target, err);
	}
	if (strlen(name) > 512)
		return refuse(target, err, "a secret name has at most 512 characters");
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+=.@-", *p))
			return refuse(target, err,
				      "a secret name holds only letters, digits and / _ + = . @ -, "
				      "not '%c'",
				      *p);
	return remote_new(&secretsmanager_vtable, name, ctx, target, err);
}

/* The longest parameter ARN PutParameter takes (the "1011 characters" of its Name). */
#define SSM_MAX_ARN 1011

struct sink *sink_ssm_new(const char *name, const struct sink_context *ctx, char *target,
			  struct strbuf *err)
{
	const char *first = name[0] == '/' ? name + 1 : name, *p;
	const char *region = ctx->client && ctx->client->region ? ctx->client->region : "us-east-1";
	size_t levels = 0, arn;

	if (!strncasecmp(first, "aws", 3) || !strncasecmp(first, "ssm", 3))
		return refuse(target, err,
			      "a parameter name may not begin with '%.3s' ('aws' and "
			      "'ssm' are reserved, in any case)",
			      first);
	for (p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("_.-/", *p))
			return refuse(target, err,
				      "a parameter name holds only letters, digits and _ . - /, "
				      "not '%c'",
				      *p);
		levels += *p == '/';
	}
	if (levels && name[0] != '/')
		return refuse(target, err,
			      "a parameter name with '/' must begin with '/' (the full path)");
	if (strstr(name, "//") || name[strlen(name) - 1] == '/')
		return refuse(target, err, "a parameter name has no empty level");
	if (levels > 15)
		return refuse(target, err, "a parameter name has at most 15 levels, not %zu",
			      levels);
	/* arn:aws:ssm:REGION:ACCOUNT:parameter/NAME (NAME's leading '/' is the separator) */
	arn = strlen("arn:aws:ssm:") + strlen(region) + 1 +
	      (ctx->account ? strlen(ctx->account) : 12) + strlen(":parameter/") + strlen(first);
	if (arn > SSM_MAX_ARN)
		return refuse(target, err,
			      "the parameter's ARN would be %zu characters, more than %d", arn,
			      SSM_MAX_ARN);
	return remote_new(&ssm_vtable, name, ctx, target, err);
}
