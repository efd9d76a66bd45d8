/*
 * Root access keys of member accounts through AssumeRoot (see rootkeys.h).
 *
 * Each account gets its own short root sessions: one with the audit task
 * policy for the reads, and, only when something is to be changed with
 * --apply, one with the delete task policy for the changes. The sessions'
 * secrets live in their clients' static providers and are wiped with them.
 */
#include "core/compat.h"
#include "engine/rootkeys.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/iam.h"
#include "core/timeutil.h"

/* Preconditions */

void root_preconditions_release(struct root_preconditions *p)
{
	size_t i;

	for (i = 0; i < ROOT_CHECK__COUNT; i++)
		strbuf_release(&p->why[i]);
	FREE_ALL(p->caller_account, p->organization_id);
	memset(p, 0, sizeof(*p));
}

/* AssumeRoot is not served by the global endpoint (sts.amazonaws.com, or aws-global's). */
static int sts_host_is_global(const char *host)
{
	size_t n = strcspn(host, ":");

	return (n == strlen("sts.amazonaws.com") && !strncmp(host, "sts.amazonaws.com", n)) ||
	       !strncmp(host, "sts.aws-global.", strlen("sts.aws-global."));
}

static int is_root_arn(const char *arn)
{
	size_t n = arn ? strlen(arn) : 0;

	return n > 5 && !strcmp(arn + n - 5, ":root");
}

int rootkeys_preconditions(struct aws_client *c, struct root_preconditions *out)
{
	struct sts_caller_identity id = { 0 };
	struct iam_org_features f = { 0 };
	struct strbuf err = STRBUF_INIT;
	const struct aws_endpoint *sts = &c->endpoints[AWS_SVC_STS];
	const char *code;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < ROOT_CHECK__COUNT; i++)
		strbuf_init(&out->why[i], 0);

	/* a regional STS endpoint: from the client's configuration, no call */
	out->ok[ROOT_CHECK_ENDPOINT] = sts->host && !sts_host_is_global(sts->host);
	if (!out->ok[ROOT_CHECK_ENDPOINT])
		strbuf_addf(&out->why[ROOT_CHECK_ENDPOINT],
			    "the STS endpoint %s is the global one: AssumeRoot needs a regional "
			    "endpoint (set --region or AWS_REGION to a region, e.g. us-east-1, and "
			    "no global AWS_ENDPOINT_URL_STS)",
			    sts->url ? sts->url : "(none)");

	/* who calls: an IAM user or role (AWS refuses root credentials) */
	out->ok[ROOT_CHECK_CALLER] = 1;
	if (!out->ok[ROOT_CHECK_ENDPOINT]) {
		/* not asked of an endpoint that will not do: IAM's answer below still says
		 * whether the account may manage root access */
	} else if (sts_get_caller_identity(c, &id, &err) < 0) {
		out->ok[ROOT_CHECK_CALLER] = 0;
		strbuf_addf(&out->why[ROOT_CHECK_CALLER], "cannot tell who is calling: %s",
			    err.buf);
	} else {
		out->caller_account = xstrdup_or_null(id.account);
		if (is_root_arn(id.arn)) {
			out->ok[ROOT_CHECK_CALLER] = 0;
			strbuf_addf(
				&out->why[ROOT_CHECK_CALLER],
				"the caller is the root user of %s: AssumeRoot needs an IAM user "
				"or role of the management or delegated-admin account",
				id.account);
		}
	}

	/* centralized root access, and the account it is managed from */
	strbuf_reset(&err);
	out->ok[ROOT_CHECK_FEATURES] = 0;
	if (iam_list_organizations_features(c, &f, &err) == 0) {
		out->organization_id = xstrdup(f.organization_id);
		out->features = f.features;
		if (f.features & IAM_ORG_ROOT_CREDENTIALS_MANAGEMENT)
			out->ok[ROOT_CHECK_FEATURES] = 1;
		else
			strbuf_addf(&out->why[ROOT_CHECK_FEATURES],
				    "centralized root access is not enabled in %s: "
				    "RootCredentialsManagement is off (enable it with 'aws iam "
				    "enable-organizations-root-credentials-management')",
				    f.organization_id);
	} else {
		code = aws_client_last_error_code(c);
		if (!strcmp(code, "AccountNotManagementOrDelegatedAdministratorException")) {
			if (out->ok[ROOT_CHECK_CALLER]) {
				out->ok[ROOT_CHECK_CALLER] = 0;
				strbuf_addf(
					&out->why[ROOT_CHECK_CALLER],
					"account %s is neither the management account nor the "
					"delegated administrator for centralized root access: run "
					"from one of them",
					out->caller_account ? out->caller_account : "(unknown)");
			}
			strbuf_addstr(&out->why[ROOT_CHECK_FEATURES],
				      "cannot tell whether centralized root access is enabled: "
				      "only the management or delegated-admin account may ask");
		} else if (!strcmp(code, "OrganizationNotFoundException")) {
			strbuf_addf(&out->why[ROOT_CHECK_FEATURES],
				    "account %s is not in an organization: centralized root access "
				    "needs AWS Organizations",
				    out->caller_account ? out->caller_account : "(unknown)");
		} else if (!strcmp(code, "ServiceAccessNotEnabledException")) {
			strbuf_addstr(
				&out->why[ROOT_CHECK_FEATURES],
				"centralized root access is not enabled: IAM's trusted access "
				"in AWS Organizations is off (enable it with 'aws iam "
				"enable-organizations-root-credentials-management')");
		} else {
			strbuf_addf(&out->why[ROOT_CHECK_FEATURES],
				    "cannot tell whether centralized root access is enabled: %s",
				    err.buf);
		}
	}
	iam_org_features_release(&f);
	sts_caller_identity_release(&id);
	strbuf_release(&err);
	for (i = 0; i < ROOT_CHECK__COUNT; i++)
		if (!out->ok[i])
			return -1;
	return 0;
}

/* One account */

static void root_key_release(struct root_key *k)
{
	FREE_ALL(k->key_id, k->create_date, k->last_used_date, k->last_used_service, k->reason);
}

void root_account_free(struct root_account *r)
{
	if (!r)
		return;
	FREE_ARRAY(r->keys, r->nkeys, root_key_release);
	free(r);
}

/* "IAMAuditRootUserCredentials" of its ARN, for messages. */
static const char *policy_name(const char *arn)
{
	const char *slash = strrchr(arn, '/');
	return slash ? slash + 1 : arn;
}

/* A client signed with a root session of account, limited by policy. NULL with err. */
static struct aws_client *root_session(struct aws_client *caller, const char *account,
				       const char *policy, int duration, struct strbuf *err)
{
	struct aws_credentials creds = { 0 };
	struct strbuf why = STRBUF_INIT;
	struct cred_provider *prov;
	struct aws_client *c;

	if (sts_assume_root(caller, account, policy, duration, &creds, &why) < 0) {
		const char *msg = why.buf;

		if (!strncmp(msg, "AssumeRoot: ", strlen("AssumeRoot: ")))
			msg += strlen("AssumeRoot: ");
		strbuf_addf(err, "AssumeRoot (%s): %s", policy_name(policy), msg);
		strbuf_release(&why);
		return NULL;
	}
	strbuf_release(&why);
	prov = cred_provider_static_new(&creds);
	aws_credentials_release(&creds);
	c = aws_client_new(prov, caller->region, caller->endpoint_url, NULL, err);
	if (c) {
		aws_client_copy_settings(c, caller);
		aws_client_copy_clock(c, caller);
	}
	return c;
}

static void set_reason(struct root_key *k, const char *s)
{
	free(k->reason);
	k->reason = s && *s ? xstrdup(s) : NULL;
}

/* Reads root's keys and their last use into r. 0 / -1 with err. */
static int read_keys(struct aws_client *c, struct root_account *r, struct strbuf *err)
{
	struct iam_access_key_page page = { 0 };
	struct strbuf why = STRBUF_INIT;
	size_t i;
	int rc = -1;

	if (iam_list_access_keys(c, NULL, &page, &why) < 0) {
		strbuf_addbuf(err, &why);
		goto out;
	}
	r->keys = xcalloc(page.nkeys + 1, sizeof(*r->keys));
	for (i = 0; i < page.nkeys; i++) {
		struct root_key *k = &r->keys[r->nkeys];
		const struct iam_access_key *ak = &page.keys[i];
		struct iam_key_last_used lu = { 0 };

		if (!ak->access_key_id)
			continue;
		r->nkeys++;
		k->key_id = xstrdup(ak->access_key_id);
		k->active = ak->status && !strcmp(ak->status, "Active");
		k->create_date = xstrdup_or_null(ak->create_date);
		k->result = ACTION_NOTHING;
		strbuf_reset(&why);
		if (iam_get_access_key_last_used(c, k->key_id, &lu, &why) < 0) {
			strbuf_addf(err, "%s: %s", k->key_id, why.buf);
			iam_key_last_used_release(&lu);
			goto out;
		}
		if (lu.last_used_date) {
			if (iso8601_parse(lu.last_used_date, &k->last_used)) {
				strbuf_addf(err,
					    "GetAccessKeyLastUsed %s: LastUsedDate is not an "
					    "ISO 8601 time",
					    k->key_id);
				iam_key_last_used_release(&lu);
				goto out;
			}
			k->last_used_date = xstrdup(lu.last_used_date);
			k->last_used_service = xstrdup_or_null(lu.service_name);
		}
		iam_key_last_used_release(&lu);
	}
	rc = 0;
out:
	iam_access_key_page_release(&page);
	strbuf_release(&why);
	return rc;
}

/* The guard of each key (no last-key guard: removing every root key is the point). */
static size_t plan_keys(struct root_account *r, const struct action_options *ao)
{
	struct strbuf why = STRBUF_INIT;
	size_t i, planned = 0;

	for (i = 0; i < r->nkeys; i++) {
		struct root_key *k = &r->keys[i];
		struct guard_input in = { 0 };

		in.kind = k->active ? KEY_DEACTIVATE : KEY_DELETE;
		in.user = "root";
		in.key_id = k->key_id;
		in.found = 1;
		in.active = k->active;
		in.last_used = k->last_used;
		in.other_active = 1;
		strbuf_reset(&why);
		if (key_guard_check(&in, ao, &why) == GUARD_GO) {
			k->result = ACTION_PLANNED;
			planned++;
		} else {
			k->result = ACTION_BLOCKED;
		}
		set_reason(k, why.buf);
	}
	strbuf_release(&why);
	return planned;
}

/* Deactivates, then deletes, each planned key. 0 / -1 with err (the first failure). */
static int apply_keys(struct aws_client *c, struct root_account *r, struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < r->nkeys; i++) {
		struct root_key *k = &r->keys[i];

		if (k->result != ACTION_PLANNED)
			continue;
		strbuf_reset(&why);
		if (k->active && iam_update_access_key(c, NULL, k->key_id, "Inactive", &why) < 0) {
			k->result = ACTION_FAILED;
		} else {
			k->active = 0;
			if (iam_delete_access_key(c, NULL, k->key_id, &why) < 0)
				k->result = ACTION_FAILED;
			else
				k->result = ACTION_DONE;
		}
		if (k->result == ACTION_FAILED) {
			set_reason(k, why.buf);
			if (!rc)
				strbuf_addf(err, "%s: %s", k->key_id, why.buf);
			rc = -1;
		}
	}
	strbuf_release(&why);
	return rc;
}

int rootkeys_account(struct aws_client *caller, const char *account, const struct root_options *o,
		     struct root_account **out, struct strbuf *err)
{
	struct root_account *r = xcalloc(1, sizeof(*r));
	struct aws_client *audit, *del = NULL;
	struct action_options ao = o->act;
	size_t i;
	int rc = -1;

	*out = r;
	if (o->skip_account && !strcmp(account, o->skip_account)) {
		r->skipped = 1;
		return 0;
	}
	audit = root_session(caller, account, ROOT_TASK_AUDIT_POLICY, o->duration_seconds, err);
	if (!audit)
		return -1;
	if (read_keys(audit, r, err) < 0)
		goto out;
	r->now = aws_client_now(audit);
	if (o->mode == ROOT_READ) {
		rc = 0;
		goto out;
	}
	ao.now = r->now;
	if (!plan_keys(r, &ao) || !ao.apply) {
		rc = 0;
		goto out;
	}
	del = root_session(caller, account, ROOT_TASK_DELETE_POLICY, o->duration_seconds, err);
	if (!del) {
		for (i = 0; i < r->nkeys; i++)
			if (r->keys[i].result == ACTION_PLANNED) {
				r->keys[i].result = ACTION_FAILED;
				set_reason(&r->keys[i], err->buf);
			}
		goto out;
	}
	rc = apply_keys(del, r, err);
out:
	aws_client_free(audit);
	aws_client_free(del);
	return rc;
}
