#include "core/compat.h"
#include "core/permissions.h"

const struct sink_scheme sink_schemes[] = {
	{ "file", "file:PATH",
	  "a JSON file {AccessKeyId, SecretAccessKey, UserName, CreateDate}, 0600, written atomically" },
	{ "profile", "profile:NAME[@FILE]",
	  "a profile of the shared credentials file, edited in place" },
	{ "secretsmanager", "secretsmanager:NAME", "an AWS Secrets Manager secret" },
	{ "ssm", "ssm:NAME", "an SSM Parameter Store SecureString" },
	{ "exec", "exec:COMMAND", "a command run without a shell, the JSON on its standard input" },
	{ "-", "-", "standard output (only when asked)" },
	{ NULL, NULL, NULL },
};

/*
 * Resources: the IAM calls on a user take the user's ARN; the account-wide
 * reads and sts:AssumeRole's role take "*" and the role ARN. sts:GetCallerIdentity
 * (every mutating command calls it to know its own key) needs no permission.
 */
#define USER_ARN "arn:aws:iam::*:user/*"
#define REPORT_FALLBACK "denied: falls back to --source api"
#define DETAILS_FALLBACK "tags and groups of 1,000 users a call; denied: read per user"
#define SELECTION "--older-than, --unused"
#define SINK_READ                                                                                  \
	"read first: a sink that holds a current key means nothing to do; denied: the key is created anyway"

const struct permission permissions[] = {
	{ "users", "iam:ListUsers", "*", "", 0, NULL },

	{ "audit", "iam:GenerateCredentialReport", "*", "--source report (default)", PERM_FALLBACK,
	  REPORT_FALLBACK },
	{ "audit", "iam:GetCredentialReport", "*", "--source report (default)", PERM_FALLBACK,
	  REPORT_FALLBACK },
	{ "audit", "iam:ListUsers", "*", "--source api", 0,
	  "with a reused report when GetAccountAuthorizationDetails is denied: the users created since it (denied: a warning)" },
	{ "audit", "iam:GetAccountSummary", "*", "--source api", 0, "root keys" },
	{ "audit", "iam:GetUser", USER_ARN, "--user", 0, NULL },
	{ "audit", "iam:ListAccessKeys", USER_ARN, "", 0, NULL },
	{ "audit", "iam:GetAccessKeyLastUsed", USER_ARN, "", 0, NULL },
	{ "audit", "iam:ListAttachedUserPolicies", USER_ARN, "", 0,
	  "the quarantined finding, for users with keys" },
	{ "audit", "iam:GetAccountAuthorizationDetails", "*",
	  "many users with a finding, or a reused report", PERM_FALLBACK,
	  "tags and groups of 1,000 users a call (a reused report: every user's, to read live "
	  "those iamkeys changed since it; denied: a warning); denied: read per user" },
	{ "audit", "iam:ListUserTags", USER_ARN, "few users with a finding", 0,
	  "the tag exemption" },
	{ "audit", "iam:ListGroupsForUser", USER_ARN, "--exempt-group", 0, NULL },

	{ "deactivate", "iam:ListAccessKeys", USER_ARN, "", 0, NULL },
	{ "deactivate", "iam:GetAccessKeyLastUsed", USER_ARN, "", 0, "the in-use guard" },
	{ "deactivate", "iam:UpdateAccessKey", USER_ARN, "", 0, NULL },
	{ "deactivate", "iam:ListUsers", "*", SELECTION, 0, NULL },
	{ "deactivate", "iam:GetUser", USER_ARN, "--user with a selector", 0, NULL },
	{ "deactivate", "iam:GetAccountSummary", "*", SELECTION, 0, NULL },
	{ "deactivate", "iam:GetAccountAuthorizationDetails", "*", SELECTION, PERM_FALLBACK,
	  DETAILS_FALLBACK },
	{ "deactivate", "iam:ListUserTags", USER_ARN, SELECTION, 0, "the tag exemption" },
	{ "deactivate", "iam:ListGroupsForUser", USER_ARN, "--exempt-group", 0, NULL },

	{ "update", "iam:ListAccessKeys", USER_ARN, "", 0, NULL },
	{ "update", "iam:GetAccessKeyLastUsed", USER_ARN, "--status Inactive", 0,
	  "the in-use guard" },
	{ "update", "iam:UpdateAccessKey", USER_ARN, "", 0, NULL },

	{ "delete", "iam:ListAccessKeys", USER_ARN, "", 0, NULL },
	{ "delete", "iam:GetAccessKeyLastUsed", USER_ARN, "", 0, "the in-use guard" },
	{ "delete", "iam:DeleteAccessKey", USER_ARN, "", 0, NULL },
	{ "delete", "iam:ListUsers", "*", "--older-than", 0, NULL },
	{ "delete", "iam:GetUser", USER_ARN, "--user with --older-than", 0, NULL },
	{ "delete", "iam:GetAccountSummary", "*", "--older-than", 0, NULL },
	{ "delete", "iam:GetAccountAuthorizationDetails", "*", "--older-than", PERM_FALLBACK,
	  DETAILS_FALLBACK },
	{ "delete", "iam:ListUserTags", USER_ARN, "--older-than", 0, "the tag exemption" },
	{ "delete", "iam:ListGroupsForUser", USER_ARN, "--exempt-group", 0, NULL },

	{ "create", "iam:ListAccessKeys", USER_ARN, "", 0, NULL },
	{ "create", "iam:ListUserTags", USER_ARN, "", 0,
	  "reads the create mark, and reads it back once written" },
	{ "create", "iam:TagUser", USER_ARN, "", 0,
	  "writes the create mark (and iamkeys:changed) before CreateAccessKey" },
	{ "create", "iam:UntagUser", USER_ARN, "", 0,
	  "removes the create mark once the secret is delivered" },
	{ "create", "iam:CreateAccessKey", USER_ARN, "", 0, NULL },
	{ "create", "iam:DeleteAccessKey", USER_ARN, "the sink failed", 0,
	  "removes a key whose delivery failed" },

	{ "revoke", "iam:ListAccessKeys", USER_ARN, "", 0, NULL },
	{ "revoke", "iam:ListUserTags", USER_ARN, "", 0, "the incident record" },
	{ "revoke", "iam:TagUser", USER_ARN, "", 0,
	  "records each finished step (and iamkeys:changed)" },
	{ "revoke", "iam:UpdateAccessKey", USER_ARN, "", 0, "deactivates the key" },
	{ "revoke", "iam:ListUserPolicies", USER_ARN, "", 0, "finds the deny policy" },
	{ "revoke", "iam:PutUserPolicy", USER_ARN, "", 0, "denies the key's session credentials" },
	{ "revoke", "iam:DeleteUserPolicy", USER_ARN, "--cleanup-after", 0, NULL },
	{ "revoke", "iam:CreateAccessKey", USER_ARN, "--replace", 0, NULL },
	{ "revoke", "iam:DeleteAccessKey", USER_ARN, "--delete, --replace", 0, NULL },
	{ "revoke", "cloudtrail:LookupEvents", "*", "", PERM_FALLBACK,
	  "the timeline of what the key did; denied: a warning, no timeline" },
	{ "revoke", "ec2:DescribeRegions", "*", "--regions all, the default", PERM_FALLBACK,
	  "the timeline's regions; denied: the partition's regions that need no opt-in" },

	{ "rotate", "iam:ListUsers", "*", "without --user", 0, NULL },
	{ "rotate", "iam:GetUser", USER_ARN, "--user", 0, NULL },
	{ "rotate", "iam:ListAccessKeys", USER_ARN, "", 0, NULL },
	{ "rotate", "iam:GetAccessKeyLastUsed", USER_ARN, "", 0, NULL },
	{ "rotate", "iam:ListUserTags", USER_ARN, "", 0,
	  "the rotation stage and the tag exemption" },
	{ "rotate", "iam:ListGroupsForUser", USER_ARN, "--exempt-group", 0, NULL },
	{ "rotate", "iam:ListAttachedUserPolicies", USER_ARN, "a user with a step to take", 0,
	  "AWS's quarantine: such a user is not rotated" },
	{ "rotate", "iam:TagUser", USER_ARN, "", 0, "records the rotation stage" },
	{ "rotate", "iam:UntagUser", USER_ARN, "stage deactivated", 0,
	  "removes the stage when done" },
	{ "rotate", "iam:CreateAccessKey", USER_ARN, "stage due", 0, NULL },
	{ "rotate", "iam:UpdateAccessKey", USER_ARN, "stage delivered", 0, NULL },
	{ "rotate", "iam:DeleteAccessKey", USER_ARN, "stage deactivated", 0, NULL },
	{ "rotate", "cloudtrail:LookupEvents", "*", "stage delivered, without --no-trace-gate",
	  PERM_FALLBACK,
	  "the trace gate: the old key's use since delivery; denied: one warning, and GetAccessKeyLastUsed alone" },
	{ "rotate", "ec2:DescribeRegions", "*", "the trace gate, --trace-regions all (the default)",
	  PERM_FALLBACK,
	  "every enabled region; denied: the partition's regions that need no opt-in" },

	{ "trace", "cloudtrail:LookupEvents", "*", "", 0, NULL },
	{ "trace", "iam:ListAccessKeys", USER_ARN, "--user", 0, NULL },
	{ "trace", "ec2:DescribeRegions", "*", "--regions all, the default", PERM_FALLBACK,
	  "denied: the partition's regions that need no opt-in" },

	{ "rollback", "iam:ListAccessKeys", USER_ARN, "", 0, NULL },
	{ "rollback", "iam:GetAccessKeyLastUsed", USER_ARN, "", 0, NULL },
	{ "rollback", "iam:ListUserTags", USER_ARN, "", 0, "the rotation stage" },
	{ "rollback", "iam:TagUser", USER_ARN, "", 0, NULL },
	{ "rollback", "iam:UpdateAccessKey", USER_ARN, "", 0, NULL },

	{ "sink:secretsmanager", "secretsmanager:GetSecretValue", "{sink}", "", PERM_FALLBACK,
	  SINK_READ },
	{ "sink:secretsmanager", "secretsmanager:CreateSecret", "{sink}", "the first delivery", 0,
	  NULL },
	{ "sink:secretsmanager", "secretsmanager:PutSecretValue", "{sink}", "the secret exists", 0,
	  NULL },
	{ "sink:secretsmanager-arn", "secretsmanager:DescribeSecret", "{sink}",
	  "the value cannot be read", 0, "does the secret exist?" },
	{ "sink:ssm", "ssm:GetParameter", "{sink}", "", PERM_FALLBACK, SINK_READ },
	{ "sink:ssm", "ssm:PutParameter", "{sink}", "", 0,
	  "a SecureString with the AWS managed key aws/ssm: no kms: permission" },

	{ "org", "organizations:ListAccounts", "*", "--org", 0, NULL },
	{ "org", "sts:AssumeRole", "arn:aws:iam::*:role/OrganizationAccountAccessRole",
	  "--org, --accounts", 0, "the role of --role-name; it needs the command's own policy" },

	{ "notify:any", "iam:ListUserTags", USER_ARN, "", 0, "the owner and what was sent" },
	{ "notify:any", "iam:ListAccessKeys", USER_ARN, "", 0, NULL },
	{ "notify:any", "iam:GetAccessKeyLastUsed", USER_ARN, "blocked", 0, "the last use" },
	{ "notify:any", "iam:TagUser", USER_ARN, "", 0,
	  "records what was sent (iamkeys:notified)" },
	{ "notify:sns", "sns:Publish", "{topic}", "", 0, "one message per owner notification" },
	{ "cloudtrail", "cloudtrail:LookupEvents", "*", "audit --trace", PERM_FALLBACK,
	  "the callers of a key; denied: a warning, and GetAccessKeyLastUsed alone" },
	{ "cloudtrail", "ec2:DescribeRegions", "*", "audit --trace", PERM_FALLBACK,
	  "every enabled region; denied: the partition's regions that need no opt-in" },
	{ "root", "iam:ListOrganizationsFeatures", "*",
	  "delete --root, audit --root-via assume-root", 0,
	  "checks that centralized root access is enabled" },
	{ "root", "sts:AssumeRoot", "arn:aws:iam::*:root",
	  "delete --root, audit --root-via assume-root", 0,
	  "root sessions in member accounts, limited by the task policies IAMAuditRootUserCredentials and IAMDeleteRootUserCredentials" },

	{ "lock:dynamodb", "dynamodb:PutItem", "{table}", "", 0, "takes the lease" },
	{ "lock:dynamodb", "dynamodb:GetItem", "{table}", "", 0, "who holds it" },
	{ "lock:dynamodb", "dynamodb:UpdateItem", "{table}", "", 0, "renews it" },
	{ "lock:dynamodb", "dynamodb:DeleteItem", "{table}", "", 0, "releases it" },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};

int permissions_know_command(const char *command)
{
	const struct permission *p;
	if (!strcmp(command, "org") || !strcmp(command, "root") || !strncmp(command, "sink:", 5) ||
	    !strncmp(command, "lock:", 5) || !strncmp(command, "notify:", 7) ||
	    !strcmp(command, "cloudtrail"))
		return 0;
	for (p = permissions; p->scope; p++)
		if (!strcmp(p->scope, command))
			return 1;
	return 0;
}

json_t *permissions_json(void)
{
	json_t *a = json_array();
	const struct permission *p;
	for (p = permissions; p->scope; p++) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "scope", p->scope, "action",
				      p->action, "resource", p->resource, "when", p->when,
				      "fallback", !!(p->flags & PERM_FALLBACK));
		if (p->note)
			json_object_set_new(o, "note", json_string(p->note));
		json_array_append_new(a, o);
	}
	return a;
}

/* Names of the commands that take --to (their policy includes the sink's). */
static const char *const sink_commands[] = { "create", "rotate", "revoke", NULL };

static int takes_sink(const char *command)
{
	const char *const *c;
	for (c = sink_commands; *c; c++)
		if (!strcmp(*c, command))
			return 1;
	return 0;
}

/* name with every {placeholder} as "*" (a secret or parameter name pattern). */
static void add_name_pattern(struct strbuf *out, const char *name)
{
	for (; *name; name++) {
		const char *close;
		if (*name == '{' && (close = strchr(name, '}'))) {
			strbuf_addch(out, '*');
			name = close;
		} else {
			strbuf_addch(out, *name);
		}
	}
}

/* The ARN pattern of a secretsmanager: or ssm: sink, or -1 (another scheme: no AWS calls). */
static int sink_arn(const char *sink, const char **scope, const char **scope2, struct strbuf *arn,
		    struct strbuf *err)
{
	const struct sink_scheme *k;
	size_t len = strcspn(sink, ":");
	const char *name = sink[len] ? sink + len + 1 : "";

	for (k = sink_schemes; k->scheme; k++)
		if (strlen(k->scheme) == len && !strncmp(k->scheme, sink, len))
			break;
	if (!k->scheme) {
		strbuf_addf(err,
			    "unknown sink '%s' (use file:PATH, profile:NAME[@FILE], "
			    "secretsmanager:NAME, ssm:NAME, exec:COMMAND or -)",
			    sink);
		return -1;
	}
	if (strcmp(sink, "-") && !*name) {
		strbuf_addf(err, "%s: empty target", sink);
		return -1;
	}
	if (!strcmp(k->scheme, "secretsmanager") && !strncmp(name, "arn:", 4)) {
		/* the ARN of an existing secret: that resource, and DescribeSecret */
		*scope = "sink:secretsmanager";
		*scope2 = "sink:secretsmanager-arn";
		add_name_pattern(arn, name);
	} else if (!strcmp(k->scheme, "secretsmanager")) {
		*scope = "sink:secretsmanager";
		strbuf_addstr(arn, "arn:aws:secretsmanager:*:*:secret:");
		add_name_pattern(arn, name);
		/* Secrets Manager appends "-" and six random characters */
		strbuf_addstr(arn, "-??????");
	} else if (!strcmp(k->scheme, "ssm")) {
		*scope = "sink:ssm";
		strbuf_addstr(arn, "arn:aws:ssm:*:*:parameter");
		if (*name != '/')
			strbuf_addch(arn, '/');
		add_name_pattern(arn, name);
	} else {
		*scope = NULL;
	}
	return 0;
}

static int cmp_json_string(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

/* Adds action to the statement of resource in stmts (one statement per resource, in
 * order), before the first action that sorts after it. */
static void add_action(json_t *stmts, const char *resource, const char *action)
{
	size_t i, j;
	json_t *s, *actions;
	json_array_foreach(stmts, i, s)
	{
		int cmp = 0;

		if (strcmp(json_string_value(json_object_get(s, "Resource")), resource))
			continue;
		actions = json_object_get(s, "Action");
		for (j = 0; j < json_array_size(actions); j++) {
			cmp = strcmp(json_string_value(json_array_get(actions, j)), action);
			if (cmp >= 0)
				break;
		}
		if (j < json_array_size(actions) && !cmp)
			return;
		json_array_insert_new(actions, j, json_string(action));
		return;
	}
	json_array_append_new(stmts, json_pack("{s:s, s:[s], s:s}", "Effect", "Allow", "Action",
					       action, "Resource", resource));
}

/* The commands with a --root mode; delete --root calls none of delete's own actions. */
static int root_mode_of(const char *command, int *replaces)
{
	*replaces = command && !strcmp(command, "delete");
	return !command || !strcmp(command, "delete") || !strcmp(command, "audit");
}

json_t *permissions_policy(const char *command, const char *sink, int org, int root,
			   const char *lock_table, struct strbuf *err)
{
	struct strbuf table = STRBUF_INIT;
	struct strbuf arn = STRBUF_INIT;
	const char *sink_scope = NULL, *sink_scope2 = NULL;
	const struct permission *p;
	json_t *stmts, *s;
	size_t i;
	int root_replaces = 0;

	if (command && !permissions_know_command(command)) {
		strbuf_addf(err, "unknown command '%s'", command);
		return NULL;
	}
	if (sink && command && !takes_sink(command)) {
		strbuf_addf(err, "'%s' takes no sink (--to is for create and rotate)", command);
		return NULL;
	}
	if (root && !root_mode_of(command, &root_replaces)) {
		strbuf_addf(err,
			    "'%s' has no root access key mode (--root is for delete and audit)",
			    command);
		return NULL;
	}
	if (sink && sink_arn(sink, &sink_scope, &sink_scope2, &arn, err) < 0) {
		strbuf_release(&arn);
		return NULL;
	}
	if (lock_table)
		/* the table is in the run's region, in the caller's own account */
		strbuf_addf(&table, "arn:aws:dynamodb:*:*:table/%s", lock_table);
	stmts = json_array();
	for (p = permissions; p->scope; p++) {
		int is_command = strcmp(p->scope, "org") && strcmp(p->scope, "root") &&
				 strncmp(p->scope, "sink:", 5) && strncmp(p->scope, "lock:", 5) &&
				 strncmp(p->scope, "notify:", 7) && strcmp(p->scope, "cloudtrail");
		if ((is_command && !(root && root_replaces) &&
		     (!command || !strcmp(p->scope, command))) ||
		    (org && !strcmp(p->scope, "org") &&
		     !(root && root_replaces && !strcmp(p->action, "sts:AssumeRole"))) ||
		    (root && !strcmp(p->scope, "root")))
			add_action(stmts, p->resource, p->action);
		else if (lock_table && !strcmp(p->scope, "lock:dynamodb"))
			add_action(stmts, table.buf, p->action);
		else if ((sink_scope && !strcmp(p->scope, sink_scope)) ||
			 (sink_scope2 && !strcmp(p->scope, sink_scope2)))
			add_action(stmts, arn.buf, p->action);
	}
	json_array_foreach(stmts, i, s)
	{
		json_t *actions = json_object_get(s, "Action");
		size_t n = json_array_size(actions), j;
		json_t **v = xcalloc(n + 1, sizeof(*v));
		for (j = 0; j < n; j++)
			v[j] = json_incref(json_array_get(actions, j));
		qsort(v, n, sizeof(*v), cmp_json_string);
		json_array_clear(actions);
		for (j = 0; j < n; j++)
			json_array_append_new(actions, v[j]);
		free(v);
	}
	strbuf_release(&arn);
	strbuf_release(&table);
	return json_pack("{s:s, s:o}", "Version", "2012-10-17", "Statement", stmts);
}

void permissions_add_trace(json_t *policy)
{
	json_t *stmts = json_object_get(policy, "Statement");
	const struct permission *p;

	for (p = permissions; p->scope; p++)
		if (!strcmp(p->scope, "cloudtrail"))
			add_action(stmts, p->resource, p->action);
}

int permissions_add_notify(json_t *policy, const char *target, struct strbuf *err)
{
	json_t *stmts = json_object_get(policy, "Statement");
	const struct permission *p;

	int sns = !strncmp(target, "sns:", 4);

	if (sns && (strncmp(target + 4, "arn:", 4) || !strstr(target + 4, ":sns:"))) {
		strbuf_addf(err, "invalid --notify target: sns:%s: not an SNS topic ARN",
			    target + 4);
		return -1;
	}
	for (p = permissions; p->scope; p++)
		if (!strcmp(p->scope, "notify:any"))
			add_action(stmts, p->resource, p->action);
		else if (sns && !strcmp(p->scope, "notify:sns"))
			add_action(stmts, target + 4,
				   p->action); /* webhook:, exec: call no AWS API */
	return 0;
}
